package checkout

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sentinel errors of Store implementations, mapped to HTTP statuses by the
// handlers.
var (
	// ErrNotFound means the order, cart or product does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrUnavailable means a dependency could not serve the request in
	// time, such as a Redis pool timeout (503).
	ErrUnavailable = errors.New("dependency unavailable")
)

// OrderStatusCreated is the status of a newly created order.
const OrderStatusCreated = "created"

// CartLine is one product variant in a cart.
type CartLine struct {
	// ProductID is "prod_N".
	ProductID string `json:"product_id"`
	// Variant is one of Variants.
	Variant string `json:"variant"`
	// Quantity is the number of units, at least 1.
	Quantity int `json:"quantity"`
}

// Cart is a user's cart as stored: an ID and its lines in a stable order.
type Cart struct {
	// ID identifies the cart; empty when the user has no cart.
	ID string
	// Lines are sorted by product and variant.
	Lines []CartLine
}

// OrderItem is one line of an order, priced when the order was created.
type OrderItem struct {
	ProductID string `json:"product_id"`
	Variant   string `json:"variant"`
	Quantity  int    `json:"quantity"`
	// UnitPriceCents is the product's price when ordered, in cents.
	UnitPriceCents int64 `json:"unit_price_cents"`
}

// Order is a created order.
type Order struct {
	// ID is assigned by the store, increasing from 1.
	ID     int64  `json:"id"`
	UserID int64  `json:"user_id"`
	Status string `json:"status"`
	// TotalCents is the sum of quantity × unit price, in cents.
	TotalCents int64       `json:"total_cents"`
	Items      []OrderItem `json:"items"`
	CreatedAt  time.Time   `json:"created_at"`
}

// Store is what the handlers need from the backends: a cart and order
// cache (Redis, or its simulation) and an order database (PostgreSQL, or its
// simulation). Each method is one unit of work against one of them, so
// both backends spend their pools the same way; the cache-aside and
// cart-to-order logic lives in the handlers and is shared.
type Store interface {
	// Catalog returns the product catalog, loaded when the store opened.
	Catalog() *Catalog
	// AddToCart adds quantity units of a product variant to the user's
	// cart, creating the cart when needed, and returns the cart.
	AddToCart(ctx context.Context, userID int64, line CartLine) (Cart, error)
	// Cart returns the user's cart; a cart with no ID when there is none.
	Cart(ctx context.Context, userID int64) (Cart, error)
	// ClearCart deletes the user's cart.
	ClearCart(ctx context.Context, userID int64) error
	// CreateOrder inserts an order for the lines in one transaction,
	// pricing them from the products table, and holds its database
	// connection for the configured order hold. An unknown product is
	// ErrNotFound.
	CreateOrder(ctx context.Context, userID int64, lines []CartLine) (Order, error)
	// LoadOrder reads an order from the database; ErrNotFound if missing.
	LoadOrder(ctx context.Context, id int64) (Order, error)
	// CachedOrder reads an order from the cache; false on a miss.
	CachedOrder(ctx context.Context, id int64) (Order, bool, error)
	// CacheOrder stores an order in the cache.
	CacheOrder(ctx context.Context, o Order) error
	// Ping checks that the backends answer.
	Ping(ctx context.Context) error
	// Collectors returns the pool collectors of the backends.
	Collectors() []prometheus.Collector
	// Close releases the backends.
	Close()
}
