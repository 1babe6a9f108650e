package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is the checkout API: its store, its handlers and its metrics
// registry.
type Server struct {
	cfg     Config
	store   Store
	reg     *prometheus.Registry
	handler http.Handler
	http    *http.Server

	closeStore sync.Once
}

// New opens the backend named by cfg.Backend (for "real": connects to
// PostgreSQL and Redis, creates the database if it can, migrates and seeds
// it) and returns a server ready to Serve.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	var (
		store Store
		err   error
	)
	switch cfg.Backend {
	case BackendSim:
		store = newSimStore(cfg)
	default:
		if store, err = openRealStore(ctx, cfg); err != nil {
			return nil, fmt.Errorf("could not open the real backend: %w", err)
		}
	}
	s, err := newServer(cfg, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	return s, nil
}

// newServer wires handlers and metrics around an open store.
func newServer(cfg Config, store Store) (*Server, error) {
	reg := prometheus.NewRegistry()
	collect := append([]prometheus.Collector{
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	}, store.Collectors()...)
	for _, c := range collect {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("could not register collector: %w", err)
		}
	}
	hm, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("could not register HTTP metrics: %w", err)
	}
	tokens := &tokenIssuer{secret: []byte(cfg.JWTSecret), ttl: cfg.TokenTTL, now: time.Now}
	h, err := newHandlers(store, tokens, cfg.Logger, reg)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	h.register(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		Registry:          reg,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}))
	handler := hm.wrap(mux)

	return &Server{
		cfg:     cfg,
		store:   store,
		reg:     reg,
		handler: handler,
		http: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		},
	}, nil
}

// Handler returns the instrumented HTTP handler of every route, for
// httptest servers or embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Registry returns the registry served at /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Config returns the configuration in use, defaults applied.
func (s *Server) Config() Config { return s.cfg }

// OrderCapacity returns the order rate at which the database pool
// saturates, in orders/s: PoolSize / OrderDBHold (500 with the defaults).
// Beyond it orders queue for a connection.
func (s *Server) OrderCapacity() float64 {
	if s.cfg.OrderDBHold <= 0 {
		return 0
	}
	return float64(s.cfg.PoolSize) / s.cfg.OrderDBHold.Seconds()
}

// Serve serves HTTP on ln until Shutdown or Close, then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	s.cfg.Logger.Info("checkout listening", "addr", ln.Addr().String(), "backend", s.cfg.Backend,
		"pool_size", s.cfg.PoolSize, "order_db_hold", s.cfg.OrderDBHold, "order_capacity_per_s", s.OrderCapacity())
	if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("could not serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

// ListenAndServe listens on Config.Listen and serves like Serve.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("could not listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ln)
}

// Shutdown stops accepting requests, waits for those in flight until ctx
// ends, and closes the backends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.closeStore.Do(s.store.Close)
	if err != nil {
		return fmt.Errorf("could not shut down gracefully: %w", err)
	}
	return nil
}

// Close stops the server at once and closes the backends.
func (s *Server) Close() error {
	err := s.http.Close()
	s.closeStore.Do(s.store.Close)
	return err
}
