// Command checkout runs the demo checkout API that headroom load tests.
//
//	checkout --backend sim                      # in memory, needs only Go
//	checkout --database-url postgres://... --redis-addr 127.0.0.1:6379
//
// See examples/checkout/README.md for the routes, users and metrics.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/headroom-sh/headroom/examples/checkout"
	"github.com/headroom-sh/headroom/examples/internal/serving"
)

func main() { serving.Main("checkout", run) }

// run parses flags, starts the server and serves until ctx ends.
func run(ctx context.Context, args []string, _ io.Writer, stderr io.Writer) error {
	fs := flag.NewFlagSet("checkout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg     checkout.Config
		orderMS int
		logJSON bool
	)
	fs.StringVar(&cfg.Listen, "listen", checkout.DefaultListen, "HTTP listen address")
	fs.StringVar(&cfg.DatabaseURL, "database-url", checkout.DefaultDatabaseURL, "PostgreSQL URL (real backend); the database is created if missing and allowed")
	fs.StringVar(&cfg.RedisAddr, "redis-addr", checkout.DefaultRedisAddr, "Redis host:port (real backend)")
	fs.IntVar(&cfg.RedisDB, "redis-db", 0, "Redis database number (real backend)")
	fs.IntVar(&cfg.PoolSize, "pool-size", checkout.DefaultPoolSize, "database pool size (pgxpool MaxConns)")
	fs.IntVar(&cfg.RedisPoolSize, "redis-pool-size", checkout.DefaultRedisPoolSize, "Redis pool size")
	fs.IntVar(&orderMS, "order-db-ms", int(checkout.DefaultOrderDBHold/time.Millisecond), "milliseconds an order holds its database connection")
	fs.StringVar(&cfg.JWTSecret, "jwt-secret", os.Getenv("CHECKOUT_JWT_SECRET"), "HS256 secret for tokens (default $CHECKOUT_JWT_SECRET, else random per process)")
	fs.DurationVar(&cfg.TokenTTL, "token-ttl", checkout.DefaultTokenTTL, "lifetime of login tokens")
	fs.DurationVar(&cfg.CartTTL, "cart-ttl", checkout.DefaultCartTTL, "lifetime of an untouched cart")
	fs.StringVar(&cfg.Backend, "backend", checkout.BackendReal, "backend: real (PostgreSQL + Redis) or sim (in memory)")
	fs.BoolVar(&logJSON, "log-json", false, "log JSON instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if orderMS < 1 {
		return fmt.Errorf("--order-db-ms must be at least 1, got %d", orderMS)
	}
	cfg.OrderDBHold = time.Duration(orderMS) * time.Millisecond

	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if logJSON {
		h = slog.NewJSONHandler(stderr, nil)
	}
	cfg.Logger = slog.New(h)

	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	srv, err := checkout.New(startCtx, cfg)
	if err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		_ = srv.Close()
		return err
	case <-ctx.Done():
	}
	cfg.Logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	return <-errc
}
