package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/headroom-sh/headroom/examples/internal/poolmetrics"
)

// Redis keys and hash fields.
const (
	cartKeyPrefix  = "checkout:cart:"
	orderKeyPrefix = "checkout:order:"
	// cartIDField holds the cart's ID in the cart hash; the other fields
	// are "product_id|variant" → quantity.
	cartIDField = "_id"
)

// realStore keeps orders in PostgreSQL and carts and the order cache in
// Redis.
type realStore struct {
	pool      *pgxpool.Pool
	rdb       *redis.Client
	catalog   *Catalog
	orderHold time.Duration
	cartTTL   time.Duration
	cacheTTL  time.Duration
	redisMax  int
}

// openRealStore connects to PostgreSQL (creating the database when
// possible), migrates and seeds it, loads the catalog and connects to Redis.
func openRealStore(ctx context.Context, cfg Config) (*realStore, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("could not parse the database URL: %w", err)
	}
	pcfg.MaxConns = int32(cfg.PoolSize)
	pool, err := openPool(ctx, pcfg, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s := &realStore{
		pool:      pool,
		orderHold: cfg.OrderDBHold,
		cartTTL:   cfg.CartTTL,
		cacheTTL:  cfg.OrderCacheTTL,
		redisMax:  cfg.RedisPoolSize,
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("could not migrate the database: %w", err)
	}
	if err := seed(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("could not seed the database: %w", err)
	}
	if s.catalog, err = loadCatalog(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s.rdb = redis.NewClient(&redis.Options{
		Addr:        cfg.RedisAddr,
		DB:          cfg.RedisDB,
		PoolSize:    cfg.RedisPoolSize,
		PoolTimeout: redisPoolTimeout,
	})
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		s.Close()
		return nil, fmt.Errorf("could not connect to Redis at %s: %w", cfg.RedisAddr, err)
	}
	return s, nil
}

func (s *realStore) Catalog() *Catalog { return s.catalog }

func cartKey(userID int64) string { return cartKeyPrefix + strconv.FormatInt(userID, 10) }

func orderKey(id int64) string { return orderKeyPrefix + strconv.FormatInt(id, 10) }

// redisErr marks pool timeouts as ErrUnavailable.
func redisErr(err error) error {
	if errors.Is(err, redis.ErrPoolTimeout) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// parseCart reads a cart hash.
func parseCart(h map[string]string) (Cart, error) {
	c := Cart{ID: h[cartIDField]}
	for field, v := range h {
		if field == cartIDField {
			continue
		}
		product, variant, ok := strings.Cut(field, "|")
		q, err := strconv.Atoi(v)
		if !ok || err != nil {
			return Cart{}, fmt.Errorf("malformed cart entry %q = %q", field, v)
		}
		c.Lines = append(c.Lines, CartLine{ProductID: product, Variant: variant, Quantity: q})
	}
	sortLines(c.Lines)
	return c, nil
}

func (s *realStore) AddToCart(ctx context.Context, userID int64, line CartLine) (Cart, error) {
	key := cartKey(userID)
	var all *redis.MapStringStringCmd
	// One round trip: MULTI, create the cart ID if new, add, refresh the
	// TTL, read back, EXEC.
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSetNX(ctx, key, cartIDField, uuid.NewString())
		p.HIncrBy(ctx, key, line.ProductID+"|"+line.Variant, int64(line.Quantity))
		p.Expire(ctx, key, s.cartTTL)
		all = p.HGetAll(ctx, key)
		return nil
	})
	if err != nil {
		return Cart{}, fmt.Errorf("could not update cart %s: %w", key, redisErr(err))
	}
	return parseCart(all.Val())
}

func (s *realStore) Cart(ctx context.Context, userID int64) (Cart, error) {
	h, err := s.rdb.HGetAll(ctx, cartKey(userID)).Result()
	if err != nil {
		return Cart{}, fmt.Errorf("could not read cart: %w", redisErr(err))
	}
	return parseCart(h)
}

func (s *realStore) ClearCart(ctx context.Context, userID int64) error {
	if err := s.rdb.Del(ctx, cartKey(userID)).Err(); err != nil {
		return fmt.Errorf("could not delete cart: %w", redisErr(err))
	}
	return nil
}

// CreateOrder inserts the order and its items in one transaction on one
// connection, then sleeps in PostgreSQL (pg_sleep) for whatever is left of
// the order hold before committing, so the connection is held for the
// hold time at low CPU. The commit is asynchronous (synchronous_commit off)
// so that disk flushes do not add to the hold.
func (s *realStore) CreateOrder(ctx context.Context, userID int64, lines []CartLine) (Order, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return Order{}, fmt.Errorf("could not acquire a database connection: %w", err)
	}
	defer conn.Release()
	start := time.Now()

	o := Order{UserID: userID, Status: OrderStatusCreated}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// The hold, not the disk, is meant to set the pace: an
		// asynchronous commit keeps the fsync out of the hold time.
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return fmt.Errorf("could not configure the transaction: %w", err)
		}
		ids := make([]string, 0, len(lines))
		for _, l := range lines {
			ids = append(ids, l.ProductID)
		}
		rows, err := tx.Query(ctx, `SELECT id, price_cents FROM products WHERE id = ANY($1)`, ids)
		if err != nil {
			return fmt.Errorf("could not price the order: %w", err)
		}
		prices := map[string]int64{}
		var (
			id    string
			price int64
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &price}, func() error { prices[id] = price; return nil }); err != nil {
			return fmt.Errorf("could not price the order: %w", err)
		}

		n := len(lines)
		lineNos, qtys, unit := make([]int32, n), make([]int32, n), make([]int64, n)
		products, variants := make([]string, n), make([]string, n)
		o.Items = make([]OrderItem, n)
		for i, l := range lines {
			p, ok := prices[l.ProductID]
			if !ok {
				return fmt.Errorf("product %q: %w", l.ProductID, ErrNotFound)
			}
			o.Items[i] = OrderItem{ProductID: l.ProductID, Variant: l.Variant, Quantity: l.Quantity, UnitPriceCents: p}
			o.TotalCents += int64(l.Quantity) * p
			lineNos[i], products[i], variants[i], qtys[i], unit[i] = int32(i+1), l.ProductID, l.Variant, int32(l.Quantity), p
		}
		if err := tx.QueryRow(ctx, `INSERT INTO orders (user_id, status, total_cents) VALUES ($1, $2, $3)
			RETURNING id, created_at`, userID, o.Status, o.TotalCents).Scan(&o.ID, &o.CreatedAt); err != nil {
			return fmt.Errorf("could not insert the order: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO order_items (order_id, line, product_id, variant, quantity, unit_price_cents)
			SELECT $1::bigint, * FROM unnest($2::integer[], $3::text[], $4::text[], $5::integer[], $6::integer[])`,
			o.ID, lineNos, products, variants, qtys, unit); err != nil {
			return fmt.Errorf("could not insert the order items: %w", err)
		}
		if rest := s.orderHold - time.Since(start); rest > 0 {
			if _, err := tx.Exec(ctx, `SELECT pg_sleep($1)`, rest.Seconds()); err != nil {
				return fmt.Errorf("could not hold the transaction: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return Order{}, err
	}
	o.CreatedAt = o.CreatedAt.UTC()
	return o, nil
}

func (s *realStore) LoadOrder(ctx context.Context, id int64) (Order, error) {
	o := Order{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT o.user_id, o.status, o.total_cents, o.created_at,
			coalesce(json_agg(json_build_object(
				'product_id', i.product_id, 'variant', i.variant,
				'quantity', i.quantity, 'unit_price_cents', i.unit_price_cents) ORDER BY i.line)
				FILTER (WHERE i.order_id IS NOT NULL), '[]')
		FROM orders o LEFT JOIN order_items i ON i.order_id = o.id
		WHERE o.id = $1
		GROUP BY o.id`, id).Scan(&o.UserID, &o.Status, &o.TotalCents, &o.CreatedAt, &o.Items)
	if errors.Is(err, pgx.ErrNoRows) {
		return Order{}, fmt.Errorf("order %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Order{}, fmt.Errorf("could not read order %d: %w", id, err)
	}
	o.CreatedAt = o.CreatedAt.UTC()
	return o, nil
}

func (s *realStore) CachedOrder(ctx context.Context, id int64) (Order, bool, error) {
	b, err := s.rdb.Get(ctx, orderKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Order{}, false, nil
	}
	if err != nil {
		return Order{}, false, fmt.Errorf("could not read cached order %d: %w", id, redisErr(err))
	}
	var o Order
	if err := json.Unmarshal(b, &o); err != nil {
		return Order{}, false, fmt.Errorf("could not decode cached order %d: %w", id, err)
	}
	return o, true, nil
}

func (s *realStore) CacheOrder(ctx context.Context, o Order) error {
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("could not encode order %d: %w", o.ID, err)
	}
	if err := s.rdb.Set(ctx, orderKey(o.ID), b, s.cacheTTL).Err(); err != nil {
		return fmt.Errorf("could not cache order %d: %w", o.ID, redisErr(err))
	}
	return nil
}

func (s *realStore) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", redisErr(err))
	}
	return nil
}

func (s *realStore) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		poolmetrics.NewPgxPool(func() poolmetrics.PgxStats {
			st := s.pool.Stat()
			return poolmetrics.PgxStats{
				Acquired:                int64(st.AcquiredConns()),
				Idle:                    int64(st.IdleConns()),
				Total:                   int64(st.TotalConns()),
				Max:                     int64(st.MaxConns()),
				Constructing:            int64(st.ConstructingConns()),
				AcquireCount:            st.AcquireCount(),
				CanceledAcquireCount:    st.CanceledAcquireCount(),
				EmptyAcquireCount:       st.EmptyAcquireCount(),
				AcquireDuration:         st.AcquireDuration(),
				EmptyAcquireWaitTime:    st.EmptyAcquireWaitTime(),
				NewConns:                st.NewConnsCount(),
				MaxLifetimeDestroyCount: st.MaxLifetimeDestroyCount(),
				MaxIdleDestroyCount:     st.MaxIdleDestroyCount(),
			}
		}),
		poolmetrics.NewRedisPool(func() poolmetrics.RedisStats {
			return poolmetrics.RedisStatsOf(s.rdb.PoolStats(), s.redisMax)
		}),
	}
}

func (s *realStore) Close() {
	if s.rdb != nil {
		_ = s.rdb.Close()
	}
	s.pool.Close()
}
