package checkout

import (
	"fmt"
	"strconv"
	"strings"
)

// Sizes of the seeded data.
const (
	// NumProducts is how many products are seeded: prod_1 … prod_500.
	NumProducts = 500
	// NumUsers is how many users are seeded: user1 … user1000.
	NumUsers = 1000
	// UserPassword is the password of every seeded user.
	UserPassword = "secret"
)

// Variants are the sizes every product comes in.
var Variants = []string{"S", "M", "L", "XL"}

// Product is one catalog entry.
type Product struct {
	// ID is "prod_N" with N in 1…NumProducts.
	ID string `json:"id"`
	// Name is a human-readable product name.
	Name string `json:"name"`
	// PriceCents is the unit price in cents.
	PriceCents int64 `json:"price_cents"`
}

// Catalog is the fixed product list both backends serve. It is seeded into
// PostgreSQL by the real backend and loaded back from it at start, so prices
// in orders come from the products table.
type Catalog struct {
	products []Product
	byID     map[string]Product
}

// seedProducts returns the deterministic seed catalog: the same names and
// prices on every start and in both backends.
func seedProducts() []Product {
	adjectives := []string{"Classic", "Organic", "Vintage", "Everyday", "Premium", "Recycled", "Lightweight", "Heavyweight", "Striped", "Washed"}
	materials := []string{"Cotton", "Linen", "Wool", "Denim", "Fleece"}
	garments := []string{"T-Shirt", "Hoodie", "Jacket", "Sweater", "Shirt", "Polo", "Cardigan", "Vest", "Parka", "Tank Top"}
	products := make([]Product, NumProducts)
	for i := range products {
		n := i + 1
		name := fmt.Sprintf("%s %s %s", adjectives[i%len(adjectives)], materials[(i/len(adjectives))%len(materials)], garments[(i/(len(adjectives)*len(materials)))%len(garments)])
		products[i] = Product{
			ID:   "prod_" + strconv.Itoa(n),
			Name: name,
			// Prices from 9.99 to 149.99, spread by a multiplicative hash
			// so that neighbouring products differ.
			PriceCents: 999 + int64((n*7919)%141)*100,
		}
	}
	return products
}

// newCatalog indexes products by ID.
func newCatalog(products []Product) *Catalog {
	c := &Catalog{products: products, byID: make(map[string]Product, len(products))}
	for _, p := range products {
		c.byID[p.ID] = p
	}
	return c
}

// Product returns the product with the given ID.
func (c *Catalog) Product(id string) (Product, bool) {
	p, ok := c.byID[id]
	return p, ok
}

// Len returns the number of products.
func (c *Catalog) Len() int { return len(c.products) }

// At returns the i-th product, 0-based.
func (c *Catalog) At(i int) Product { return c.products[i] }

// validVariant reports whether v is one of Variants.
func validVariant(v string) bool {
	for _, s := range Variants {
		if v == s {
			return true
		}
	}
	return false
}

// userID returns the numeric ID of a seeded user name "userN", or false.
func userID(name string) (int64, bool) {
	digits, ok := strings.CutPrefix(name, "user")
	if !ok || digits == "" || digits[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 1 || n > NumUsers {
		return 0, false
	}
	return n, true
}
