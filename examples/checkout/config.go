package checkout

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Backend names accepted in Config.Backend.
const (
	// BackendReal stores data in PostgreSQL and Redis.
	BackendReal = "real"
	// BackendSim stores data in memory behind simulated, bounded pools.
	BackendSim = "sim"
)

// Hold times of the sim backend for work that has no flag of its own.
const (
	// SimOrderReadHold is how long reading an order that is not in the
	// cache holds a simulated database connection in the sim backend.
	SimOrderReadHold = time.Millisecond
	// SimRedisOpHold is how long one cart or cache operation holds a
	// simulated Redis connection in the sim backend (about one round trip
	// to a local Redis).
	SimRedisOpHold = 100 * time.Microsecond
)

// Defaults of Config, also the defaults of the command's flags.
const (
	DefaultListen        = "127.0.0.1:8080"
	DefaultDatabaseURL   = "postgres://postgres@127.0.0.1:5432/checkout?sslmode=disable"
	DefaultRedisAddr     = "127.0.0.1:6379"
	DefaultPoolSize      = 20
	DefaultRedisPoolSize = 20
	DefaultOrderDBHold   = 40 * time.Millisecond
	DefaultTokenTTL      = 15 * time.Minute
	DefaultCartTTL       = 24 * time.Hour
	DefaultOrderCacheTTL = 10 * time.Minute
)

// ErrBadConfig is wrapped by every configuration error returned by New.
var ErrBadConfig = errors.New("invalid checkout configuration")

// Config configures a Server. The zero value, after defaults, is a real
// backend on the local PostgreSQL and Redis with the documented pool sizes.
type Config struct {
	// Listen is the address ListenAndServe binds, host:port.
	Listen string
	// DatabaseURL is the PostgreSQL connection URL (real backend). The
	// database is created when missing if the user may create databases.
	DatabaseURL string
	// RedisAddr is the Redis host:port (real backend).
	RedisAddr string
	// RedisDB is the Redis database number (real backend).
	RedisDB int
	// PoolSize is the database pool size: pgxpool MaxConns, or the size of
	// the simulated pool.
	PoolSize int
	// RedisPoolSize is the Redis pool size: go-redis PoolSize, or the size
	// of the simulated pool.
	RedisPoolSize int
	// OrderDBHold is how long creating an order holds its database
	// connection, measured from acquiring it to committing.
	OrderDBHold time.Duration
	// JWTSecret signs tokens (HS256). Empty means a random secret per
	// process, so tokens do not survive a restart or work across replicas.
	JWTSecret string
	// TokenTTL is how long a login token is valid.
	TokenTTL time.Duration
	// CartTTL is how long an untouched cart is kept.
	CartTTL time.Duration
	// OrderCacheTTL is how long an order read from the database stays in
	// the cache.
	OrderCacheTTL time.Duration
	// Backend is BackendReal or BackendSim; empty means BackendReal.
	Backend string
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
}

// defaults fills unset fields and validates the rest.
func (c *Config) defaults() error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = DefaultDatabaseURL
	}
	if c.RedisAddr == "" {
		c.RedisAddr = DefaultRedisAddr
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.RedisPoolSize == 0 {
		c.RedisPoolSize = DefaultRedisPoolSize
	}
	if c.OrderDBHold == 0 {
		c.OrderDBHold = DefaultOrderDBHold
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.CartTTL == 0 {
		c.CartTTL = DefaultCartTTL
	}
	if c.OrderCacheTTL == 0 {
		c.OrderCacheTTL = DefaultOrderCacheTTL
	}
	if c.Backend == "" {
		c.Backend = BackendReal
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.JWTSecret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("could not generate a JWT secret: %w", err)
		}
		c.JWTSecret = hex.EncodeToString(b)
	}

	switch {
	case c.Backend != BackendReal && c.Backend != BackendSim:
		return fmt.Errorf("%w: backend %q is neither %q nor %q", ErrBadConfig, c.Backend, BackendReal, BackendSim)
	case c.PoolSize < 1:
		return fmt.Errorf("%w: pool size %d is below 1", ErrBadConfig, c.PoolSize)
	case c.RedisPoolSize < 1:
		return fmt.Errorf("%w: redis pool size %d is below 1", ErrBadConfig, c.RedisPoolSize)
	case c.OrderDBHold < 0:
		return fmt.Errorf("%w: order hold %s is negative", ErrBadConfig, c.OrderDBHold)
	case c.TokenTTL < 0, c.CartTTL < 0, c.OrderCacheTTL < 0:
		return fmt.Errorf("%w: token, cart and order cache TTLs must be positive", ErrBadConfig)
	case c.RedisDB < 0:
		return fmt.Errorf("%w: redis db %d is negative", ErrBadConfig, c.RedisDB)
	}
	return nil
}
