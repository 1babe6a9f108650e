package checkout

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-sh/headroom/examples/internal/poolmetrics"
)

// redisPoolTimeout is how long a Redis command waits for a pool
// connection in both backends (go-redis's default: read timeout + 1 s).
const redisPoolTimeout = 4 * time.Second

// simStore keeps carts, orders and the order cache in memory. Every
// database operation holds a connection of a simulated database pool and
// every cart or cache operation one of a simulated Redis pool, for fixed
// times, so the store saturates where the real one would.
type simStore struct {
	catalog   *Catalog
	db        *simPool
	redis     *simPool
	orderHold time.Duration
	cartTTL   time.Duration
	cacheTTL  time.Duration

	mu          sync.Mutex
	carts       map[int64]*simCart
	orders      map[int64]Order
	nextOrderID int64
	cache       map[int64]simCached
	cacheWrites int
}

// simCart is a cart in the simulated Redis.
type simCart struct {
	id      string
	qty     map[CartLine]int // keyed by product and variant, Quantity zero
	expires time.Time
}

// simCached is an order in the simulated cache.
type simCached struct {
	order   Order
	expires time.Time
}

// newSimStore returns an empty in-memory store with the configured pools.
func newSimStore(cfg Config) *simStore {
	return &simStore{
		catalog:   newCatalog(seedProducts()),
		db:        newSimPool(cfg.PoolSize, 0),
		redis:     newSimPool(cfg.RedisPoolSize, redisPoolTimeout),
		orderHold: cfg.OrderDBHold,
		cartTTL:   cfg.CartTTL,
		cacheTTL:  cfg.OrderCacheTTL,
		carts:     map[int64]*simCart{},
		orders:    map[int64]Order{},
		cache:     map[int64]simCached{},
	}
}

func (s *simStore) Catalog() *Catalog { return s.catalog }

// redisOp runs fn as one Redis round trip.
func (s *simStore) redisOp(ctx context.Context, fn func() error) error {
	err := s.redis.hold(ctx, SimRedisOpHold, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		return fn()
	})
	if errors.Is(err, errSimPoolTimeout) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// dbOp runs fn as one database transaction holding a connection for hold.
func (s *simStore) dbOp(ctx context.Context, hold time.Duration, fn func() error) error {
	return s.db.hold(ctx, hold, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		return fn()
	})
}

// liveCart returns the user's unexpired cart, or nil. s.mu must be held.
func (s *simStore) liveCart(userID int64, now time.Time) *simCart {
	c := s.carts[userID]
	if c != nil && !now.Before(c.expires) {
		delete(s.carts, userID)
		return nil
	}
	return c
}

func (c *simCart) snapshot() Cart {
	if c == nil {
		return Cart{}
	}
	out := Cart{ID: c.id, Lines: make([]CartLine, 0, len(c.qty))}
	for k, q := range c.qty {
		k.Quantity = q
		out.Lines = append(out.Lines, k)
	}
	sortLines(out.Lines)
	return out
}

func (s *simStore) AddToCart(ctx context.Context, userID int64, line CartLine) (Cart, error) {
	var out Cart
	err := s.redisOp(ctx, func() error {
		now := time.Now()
		c := s.liveCart(userID, now)
		if c == nil {
			c = &simCart{id: uuid.NewString(), qty: map[CartLine]int{}}
			s.carts[userID] = c
		}
		key := CartLine{ProductID: line.ProductID, Variant: line.Variant}
		c.qty[key] += line.Quantity
		c.expires = now.Add(s.cartTTL)
		out = c.snapshot()
		return nil
	})
	return out, err
}

func (s *simStore) Cart(ctx context.Context, userID int64) (Cart, error) {
	var out Cart
	err := s.redisOp(ctx, func() error {
		out = s.liveCart(userID, time.Now()).snapshot()
		return nil
	})
	return out, err
}

func (s *simStore) ClearCart(ctx context.Context, userID int64) error {
	return s.redisOp(ctx, func() error {
		delete(s.carts, userID)
		return nil
	})
}

func (s *simStore) CreateOrder(ctx context.Context, userID int64, lines []CartLine) (Order, error) {
	// Pricing needs no lock: the catalog never changes.
	o := Order{UserID: userID, Status: OrderStatusCreated, Items: make([]OrderItem, 0, len(lines))}
	for _, l := range lines {
		p, ok := s.catalog.Product(l.ProductID)
		if !ok {
			return Order{}, fmt.Errorf("product %q: %w", l.ProductID, ErrNotFound)
		}
		o.Items = append(o.Items, OrderItem{ProductID: l.ProductID, Variant: l.Variant, Quantity: l.Quantity, UnitPriceCents: p.PriceCents})
		o.TotalCents += int64(l.Quantity) * p.PriceCents
	}
	err := s.dbOp(ctx, s.orderHold, func() error {
		s.nextOrderID++
		o.ID = s.nextOrderID
		o.CreatedAt = time.Now().UTC()
		s.orders[o.ID] = o
		return nil
	})
	if err != nil {
		return Order{}, err
	}
	return o, nil
}

func (s *simStore) LoadOrder(ctx context.Context, id int64) (Order, error) {
	var out Order
	err := s.dbOp(ctx, SimOrderReadHold, func() error {
		o, ok := s.orders[id]
		if !ok {
			return fmt.Errorf("order %d: %w", id, ErrNotFound)
		}
		out = o
		return nil
	})
	return out, err
}

func (s *simStore) CachedOrder(ctx context.Context, id int64) (Order, bool, error) {
	var (
		out Order
		hit bool
	)
	err := s.redisOp(ctx, func() error {
		c, ok := s.cache[id]
		switch {
		case !ok:
		case time.Now().Before(c.expires):
			out, hit = c.order, true
		default:
			delete(s.cache, id)
		}
		return nil
	})
	return out, hit, err
}

func (s *simStore) CacheOrder(ctx context.Context, o Order) error {
	return s.redisOp(ctx, func() error {
		now := time.Now()
		s.cache[o.ID] = simCached{order: o, expires: now.Add(s.cacheTTL)}
		// Expire entries now and then, as Redis does, so a long run does
		// not keep every order ever read.
		s.cacheWrites++
		if s.cacheWrites%1024 == 0 {
			for id, c := range s.cache {
				if !now.Before(c.expires) {
					delete(s.cache, id)
				}
			}
		}
		return nil
	})
}

// Ping always succeeds: the simulated backends are in process.
func (s *simStore) Ping(context.Context) error { return nil }

func (s *simStore) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		poolmetrics.NewPgxPool(simDBStats(s.db)),
		poolmetrics.NewRedisPool(simRedisStats(s.redis)),
	}
}

func (s *simStore) Close() {}

// sortLines orders cart lines by product number, then variant order.
func sortLines(lines []CartLine) {
	variantRank := func(v string) int {
		for i, x := range Variants {
			if x == v {
				return i
			}
		}
		return len(Variants)
	}
	sort.Slice(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if a.ProductID != b.ProductID {
			if len(a.ProductID) != len(b.ProductID) {
				return len(a.ProductID) < len(b.ProductID)
			}
			return a.ProductID < b.ProductID
		}
		return variantRank(a.Variant) < variantRank(b.Variant)
	})
}
