package planner

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/headroom-sh/headroom/model"
)

// builtinPrices is the built-in catalog: AWS us-east-1 on-demand prices,
// each entry with the date it was taken and its source.
//
//go:embed prices.yaml
var builtinPrices []byte

var (
	defaultOnce    sync.Once
	defaultCatalog *model.PriceCatalog
)

// DefaultPrices returns a copy of the built-in price catalog (AWS
// us-east-1 on-demand, USD, 730 hours a month).
func DefaultPrices() *model.PriceCatalog {
	defaultOnce.Do(func() {
		c, err := ParsePrices(builtinPrices, "planner/prices.yaml")
		if err != nil {
			// The file is compiled in and tested; a failure is a bug.
			panic(err)
		}
		defaultCatalog = c
	})
	return clonePrices(defaultCatalog)
}

// BuiltinPricesYAML returns the built-in catalog's YAML as shipped, with
// its comments, for users to copy and edit.
func BuiltinPricesYAML() []byte { return append([]byte(nil), builtinPrices...) }

// ParsePrices decodes a price catalog (YAML, or JSON), applies
// model.PriceCatalog.SetDefaults and Validate, and returns the catalog or a
// *DocumentError naming filename, line and field of every problem. It does
// no I/O: the caller reads the file.
func ParsePrices(data []byte, filename string) (*model.PriceCatalog, error) {
	if filename == "" {
		filename = "prices"
	}
	c := &model.PriceCatalog{}
	if err := parseDocument(data, filename, ErrInvalidPrices, c, c.SetDefaults, c.Validate); err != nil {
		return nil, err
	}
	return c, nil
}

// MergePrices lays a user's catalog (read from file) over base: an entry
// with the same kind, name and engine replaces base's, others are added,
// and the user's name, region and hours per month win when set. With
// replace: true the user's catalog is used alone. Catalogs in different
// currencies cannot be merged. Neither argument is modified.
func MergePrices(base, user *model.PriceCatalog, file string) (*model.PriceCatalog, error) {
	if user == nil {
		return clonePrices(base), nil
	}
	if base == nil || user.Replace {
		out := clonePrices(user)
		out.Replace = false
		return out, nil
	}
	if user.Currency != base.Currency {
		return nil, &DocumentError{File: file, Kind: ErrInvalidPrices, Items: []DocumentErrorItem{{
			Path: "currency",
			Msg: fmt.Sprintf("%s differs from the built-in catalog's %s: give prices in %s, or set replace: true to use only this file's entries",
				user.Currency, base.Currency, base.Currency),
		}}}
	}
	out := clonePrices(base)
	if user.Name != "" {
		out.Name = user.Name
	} else {
		out.Name = base.Name + " with " + file
	}
	if user.Region != "" {
		out.Region = user.Region
	}
	if user.HoursPerMonth != 0 {
		out.HoursPerMonth = user.HoursPerMonth
	}
	index := map[string]int{}
	for i, e := range out.Entries {
		index[e.Key()] = i
	}
	for _, e := range user.Entries {
		if i, ok := index[e.Key()]; ok {
			out.Entries[i] = e
			continue
		}
		index[e.Key()] = len(out.Entries)
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}

// MarshalPrices writes a catalog as YAML in the shape ParsePrices reads.
func MarshalPrices(c *model.PriceCatalog) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("could not write price catalog: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("could not write price catalog: %w", err)
	}
	return buf.Bytes(), nil
}

func clonePrices(c *model.PriceCatalog) *model.PriceCatalog {
	if c == nil {
		return nil
	}
	out := *c
	out.Entries = append([]model.PriceEntry(nil), c.Entries...)
	return &out
}
