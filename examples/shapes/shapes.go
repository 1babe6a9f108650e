package shapes

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/headroom-sh/headroom/examples/internal/poolmetrics"
	"github.com/headroom-sh/headroom/examples/internal/serving"
)

// The shapes.
const (
	Pool       = "pool"
	CPU        = "cpu"
	Redis      = "redis"
	Shed       = "shed"
	Retrograde = "retrograde"
	SLO        = "slo"
	None       = "none"
	Flow       = "flow"
)

// Names lists every shape.
var Names = []string{Pool, CPU, Redis, Shed, Retrograde, SLO, None, Flow}

// Defaults of Config.
const (
	DefaultPoolSize     = 10
	DefaultHold         = 40 * time.Millisecond
	DefaultFlowPoolSize = 5
	DefaultNonePoolSize = 400
	DefaultNoneHold     = 20 * time.Millisecond
	DefaultCPUQuota     = 0.25
	DefaultCPUWork      = 2500 * time.Microsecond
	// DefaultRedisWork is 8 ms so that Redis's one thread is the ceiling
	// on a 2-core host: at 3 ms (333 requests/s) the target, the runner
	// and the exporters needed more than the second core, and the host ran
	// out before Redis did (Redis's thread at 76% while throughput was flat).
	DefaultRedisWork = 8 * time.Millisecond
	DefaultRedisPool = 256
	DefaultJitter    = 0.2
	DefaultSeed      = 1
	// DefaultSigma and DefaultKappa are the retrograde target's contention
	// and coherency coefficients; with DefaultRetroHold the peak is at
	// n* = √(0.98/0.004) ≈ 15.7 queries in flight and about 354 requests/s.
	DefaultSigma     = 0.02
	DefaultKappa     = 0.004
	DefaultRetroHold = 20 * time.Millisecond
	// DefaultSLOHold, DefaultSLOGrowth and DefaultSLORate make the slo
	// target answer in 20 ms + 150 ms · (rate / 150 requests/s)².
	DefaultSLOHold   = 20 * time.Millisecond
	DefaultSLOGrowth = 150 * time.Millisecond
	DefaultSLORate   = 150.0
	// flowSideWork is what the flow's endpoints that use no shared
	// resource take.
	flowSideWork = time.Millisecond
)

// Config configures a target. Zero fields take the defaults above.
type Config struct {
	// Shape is one of Names.
	Shape string
	// PoolSize is the database pool size (pool, shed, flow, none) and Hold
	// how long each query holds its connection on average (retrograde:
	// the hold of a query running alone; slo: the latency at no traffic).
	PoolSize int
	Hold     time.Duration
	// CPUQuota is the cpu target's CPU limit in cores (0.25 is Kubernetes'
	// 250m), enforced per 100 ms period like the kernel's CFS quota, and
	// CPUWork the CPU time each request burns.
	CPUQuota float64
	CPUWork  time.Duration
	// OwnProcess says the target is the only thing running in this process
	// (cmd/shapes): the process's CPU and Go runtime series describe it,
	// and the cpu target reports the process's CPU as its container's.
	OwnProcess bool
	// RedisAddr is the redis-server the redis target works on (required for
	// that shape), RedisWork the time its Lua loop takes per request and
	// RedisPool the client's pool size.
	RedisAddr string
	RedisWork time.Duration
	RedisPool int
	// Sigma and Kappa are the retrograde target's USL coefficients.
	Sigma, Kappa float64
	// SLOGrowth is the latency the slo target adds at SLORate requests/s;
	// it grows with the square of the rate.
	SLOGrowth time.Duration
	SLORate   float64
	// Jitter is the half-width of the uniform spread of service times, as
	// a fraction of their mean; Seed seeds it.
	Jitter float64
	Seed   int64
	// Logger receives start-up information; nil discards it.
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	known := false
	for _, n := range Names {
		known = known || n == c.Shape
	}
	if !known {
		return fmt.Errorf("unknown shape %q: expected one of %v", c.Shape, Names)
	}
	if c.PoolSize == 0 {
		switch c.Shape {
		case Flow:
			c.PoolSize = DefaultFlowPoolSize
		case None:
			c.PoolSize = DefaultNonePoolSize
		default:
			c.PoolSize = DefaultPoolSize
		}
	}
	if c.Hold == 0 {
		switch c.Shape {
		case None:
			c.Hold = DefaultNoneHold
		case Retrograde:
			c.Hold = DefaultRetroHold
		case SLO:
			c.Hold = DefaultSLOHold
		default:
			c.Hold = DefaultHold
		}
	}
	if c.CPUQuota == 0 {
		c.CPUQuota = DefaultCPUQuota
	}
	if c.CPUWork == 0 {
		c.CPUWork = DefaultCPUWork
	}
	if c.RedisWork == 0 {
		c.RedisWork = DefaultRedisWork
	}
	if c.RedisPool == 0 {
		c.RedisPool = DefaultRedisPool
	}
	if c.Sigma == 0 && c.Kappa == 0 {
		c.Sigma, c.Kappa = DefaultSigma, DefaultKappa
	}
	if c.SLOGrowth == 0 {
		c.SLOGrowth = DefaultSLOGrowth
	}
	if c.SLORate == 0 {
		c.SLORate = DefaultSLORate
	}
	if c.Jitter == 0 {
		c.Jitter = DefaultJitter
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.PoolSize < 1:
		return fmt.Errorf("pool size %d: expected at least 1", c.PoolSize)
	case c.Hold < 0 || c.CPUWork < 0 || c.RedisWork < 0 || c.SLOGrowth < 0 || c.SLORate < 0:
		return errors.New("service times must be positive")
	case c.CPUQuota < 0.01 || c.CPUQuota > 64 || math.IsNaN(c.CPUQuota):
		return fmt.Errorf("CPU quota %v cores: expected from 0.01 to 64", c.CPUQuota)
	case c.Jitter < 0 || c.Jitter >= 1:
		return fmt.Errorf("jitter %v: expected a fraction from 0 to below 1", c.Jitter)
	case c.Sigma < 0 || c.Kappa < 0 || c.Sigma >= 1:
		return fmt.Errorf("sigma %v, kappa %v: expected 0 ≤ σ < 1 and κ ≥ 0", c.Sigma, c.Kappa)
	case c.Shape == Redis && c.RedisAddr == "":
		return errors.New("the redis shape needs a redis-server address (RedisAddr)")
	}
	return nil
}

// Server is one target.
type Server struct {
	cfg  Config
	reg  *prometheus.Registry
	mux  *http.ServeMux
	http *http.Server

	db    *sql.DB
	sim   *simConnector
	admit chan struct{} // shed: the connections and as many waiters
	cpu   *cpuWorkers
	rdb   *redis.Client
	redis *redisWork
	rate  *rateMeter

	jmu sync.Mutex
	rng *rand.Rand

	orders atomic.Int64
}

// New builds the target described by cfg. Close releases it.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:  cfg,
		reg:  prometheus.NewRegistry(),
		mux:  http.NewServeMux(),
		rng:  rand.New(rand.NewSource(cfg.Seed)),
		rate: newRateMeter(time.Now),
	}
	if cfg.OwnProcess {
		if err := s.reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return nil, err
		}
		if err := s.reg.Register(collectors.NewGoCollector()); err != nil {
			return nil, err
		}
	}
	inFlight := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "http_server_requests_in_flight",
		Help: "HTTP requests being served.",
	})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_server_requests_total",
		Help: "HTTP requests served, by method, route template and status code.",
	}, []string{"method", "route", "code"})
	if err := registerAll(s.reg, inFlight, requests); err != nil {
		return nil, err
	}

	switch cfg.Shape {
	case Pool, Shed, None, Flow, Retrograde, SLO:
		maxOpen := cfg.PoolSize
		hold := s.fixedHold(cfg.Hold)
		switch cfg.Shape {
		case Retrograde:
			// The pool never fills: the slowdown comes from queries
			// running together, not from waiting for a connection.
			maxOpen = 1000
			hold = s.retrogradeHold
		case SLO:
			maxOpen = 0 // unlimited, as database/sql's default
			hold = s.sloHold
		}
		s.sim = &simConnector{hold: hold}
		s.db = sql.OpenDB(s.sim)
		s.db.SetMaxOpenConns(maxOpen)
		s.db.SetMaxIdleConns(max(maxOpen, 2))
		if err := s.reg.Register(poolmetrics.NewSQLStats("shapes", s.db)); err != nil {
			return nil, err
		}
		if cfg.Shape == Shed {
			// As many may wait for a connection as hold one; beyond
			// that the request is shed.
			s.admit = make(chan struct{}, 2*cfg.PoolSize)
		}
	case CPU:
		w, err := newCPUWorkers(cfg.CPUQuota, cfg.OwnProcess)
		if err != nil {
			return nil, err
		}
		s.cpu = w
		if err := registerAll(s.reg, w.collectors()...); err != nil {
			return nil, err
		}
	case Redis:
		s.rdb = redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, PoolSize: cfg.RedisPool, MaxRetries: -1})
		rw, err := newRedisWork(ctx, s.rdb, cfg.RedisWork)
		if err != nil {
			s.rdb.Close()
			return nil, err
		}
		s.redis = rw
		if err := s.reg.Register(poolmetrics.NewRedisPool(func() poolmetrics.RedisStats { return poolmetrics.RedisStatsOf(s.rdb.PoolStats(), cfg.RedisPool) })); err != nil {
			s.rdb.Close()
			return nil, err
		}
		cfg.Logger.Info("redis work calibrated", "iterations", rw.iterations, "per_request", cfg.RedisWork)
	}

	if cfg.Shape == Flow {
		s.mux.HandleFunc("GET /api/products", s.handleSide)
		s.mux.HandleFunc("POST /api/orders", s.handleWork)
		s.mux.HandleFunc("GET /api/orders/{id}", s.handleSide)
	} else {
		s.mux.HandleFunc("GET /work", s.handleWork)
	}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Inc()
		defer inFlight.Dec()
		rw := serving.NewStatusWriter(w)
		s.mux.ServeHTTP(rw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		requests.WithLabelValues(r.Method, route, strconv.Itoa(rw.Code)).Inc()
	})
	s.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the target's routes and /metrics.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Serve serves HTTP on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops serving and releases the pool and the Redis client.
func (s *Server) Close() error {
	err := s.http.Close()
	if s.db != nil {
		err = errors.Join(err, s.db.Close())
	}
	if s.rdb != nil {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// Config returns the configuration with its defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// WithDefaults returns c with its zero fields set to the defaults, or an
// error naming the field that is out of range.
func (c Config) WithDefaults() (Config, error) {
	err := c.defaults()
	return c, err
}

// Capacity is the target's capacity by construction in requests/s: the
// throughput at which its limiting resource is fully busy (retrograde: at
// the peak of its USL curve; slo: the rate at which the mean latency
// reaches sloP95, 0 when sloP95 is 0; none: the pool's capacity, far above
// what is tested).
// The configuration must have its defaults (WithDefaults).
func (c Config) Capacity(sloP95 time.Duration) float64 {
	switch c.Shape {
	case Pool, Shed, None:
		return float64(c.PoolSize) / c.Hold.Seconds()
	case Flow:
		return 3 * float64(c.PoolSize) / c.Hold.Seconds()
	case CPU:
		return c.CPUQuota / c.CPUWork.Seconds()
	case Redis:
		return 1 / c.RedisWork.Seconds()
	case Retrograde:
		n := math.Sqrt((1 - c.Sigma) / c.Kappa)
		return n / usl(c.Hold, c.Sigma, c.Kappa, n).Seconds()
	case SLO:
		if sloP95 <= c.Hold {
			return 0
		}
		return c.SLORate * math.Sqrt((sloP95-c.Hold).Seconds()/c.SLOGrowth.Seconds())
	}
	return 0
}

// Describe says in one line what limits the target and its capacity. The
// configuration must have its defaults (WithDefaults).
func (c Config) Describe(sloP95 time.Duration) string {
	capa := c.Capacity(sloP95)
	switch c.Shape {
	case Pool:
		return fmt.Sprintf("a database/sql pool of %d connections, %s per query → capacity %.0f requests/s", c.PoolSize, c.Hold, capa)
	case Shed:
		return fmt.Sprintf("a pool of %d connections, %s per query, that answers 503 at once when %d requests already hold or wait for one → capacity %.0f successful requests/s", c.PoolSize, c.Hold, 2*c.PoolSize, capa)
	case None:
		return fmt.Sprintf("a pool of %d connections, %s per query → capacity %.0f requests/s, far above the test", c.PoolSize, c.Hold, capa)
	case Flow:
		return fmt.Sprintf("three endpoints; only POST /api/orders uses the pool of %d connections, %s per query → %.0f orders/s, %.0f requests/s over the flow", c.PoolSize, c.Hold, capa/3, capa)
	case CPU:
		return fmt.Sprintf("%s of CPU per request under a CPU quota of %gm (%g cores) → capacity %.0f requests/s", c.CPUWork, 1000*c.CPUQuota, c.CPUQuota, capa)
	case Redis:
		return fmt.Sprintf("a %s Lua loop per request in redis-server at %s (one thread) → capacity %.0f requests/s", c.RedisWork, c.RedisAddr, capa)
	case Retrograde:
		return fmt.Sprintf("queries of %s that slow down as they run together (σ %.3g, κ %.3g) → throughput peaks at %.0f requests/s with %.0f in flight, then falls",
			c.Hold, c.Sigma, c.Kappa, capa, math.Sqrt((1-c.Sigma)/c.Kappa))
	case SLO:
		return fmt.Sprintf("latency %s + %s · (rate / %g requests/s)², nothing caps throughput → mean latency reaches the %s SLO at %.0f requests/s", c.Hold, c.SLOGrowth, c.SLORate, sloP95, capa)
	}
	return c.Shape
}

// usl is the service time of a query with n running together:
// hold·(1 + σ(n−1) + κn(n−1)), so that n/usl(n) is the USL throughput.
func usl(hold time.Duration, sigma, kappa, n float64) time.Duration {
	return time.Duration(float64(hold) * (1 + sigma*(n-1) + kappa*n*(n-1)))
}

// jitter spreads d uniformly within ±Jitter of itself.
func (s *Server) jitter(d time.Duration) time.Duration {
	s.jmu.Lock()
	u := s.rng.Float64()
	s.jmu.Unlock()
	return time.Duration(float64(d) * (1 + s.cfg.Jitter*(2*u-1)))
}

func (s *Server) fixedHold(d time.Duration) func(active int) time.Duration {
	return func(int) time.Duration { return s.jitter(d) }
}

func (s *Server) retrogradeHold(active int) time.Duration {
	return s.jitter(usl(s.cfg.Hold, s.cfg.Sigma, s.cfg.Kappa, float64(active)))
}

func (s *Server) sloHold(int) time.Duration {
	r := s.rate.rate()
	x := r / s.cfg.SLORate
	return s.jitter(s.cfg.Hold + time.Duration(x*x*float64(s.cfg.SLOGrowth)))
}

// handleWork does one unit of the shape's work.
func (s *Server) handleWork(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s.rate.add()
	var err error
	switch s.cfg.Shape {
	case CPU:
		err = s.cpu.burn(ctx, s.jitter(s.cfg.CPUWork))
	case Redis:
		err = s.redis.run(ctx, s.jitter(s.cfg.RedisWork))
	case Shed:
		select {
		case s.admit <- struct{}{}:
		default:
			http.Error(w, "busy: every connection is in use and the queue is full", http.StatusServiceUnavailable)
			return
		}
		_, err = s.db.ExecContext(ctx, "hold")
		<-s.admit
	default:
		_, err = s.db.ExecContext(ctx, "hold")
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if s.cfg.Shape == Flow {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]int64{"id": s.orders.Add(1)})
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// handleSide serves the flow's endpoints that use no shared resource.
func (s *Server) handleSide(w http.ResponseWriter, r *http.Request) {
	if err := serving.Sleep(r.Context(), s.jitter(flowSideWork)); err != nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
}

// rateMeter counts requests over the last second in ten 100 ms buckets.
type rateMeter struct {
	now func() time.Time

	mu      sync.Mutex
	buckets [10]int64
	last    int64 // index of the newest bucket, in 100 ms since the epoch
}

func newRateMeter(now func() time.Time) *rateMeter { return &rateMeter{now: now} }

func (m *rateMeter) advance() int64 {
	idx := m.now().UnixMilli() / 100
	if gap := idx - m.last; gap > 0 {
		for i := int64(1); i <= min(gap, int64(len(m.buckets))); i++ {
			m.buckets[(m.last+i)%int64(len(m.buckets))] = 0
		}
		m.last = idx
	}
	return idx
}

// add counts one request now.
func (m *rateMeter) add() {
	m.mu.Lock()
	idx := m.advance()
	m.buckets[idx%int64(len(m.buckets))]++
	m.mu.Unlock()
}

// rate is the requests/s over the last second: the nine full buckets and
// the current one, over the time they cover.
func (m *rateMeter) rate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx := m.advance()
	var n int64
	for _, b := range m.buckets {
		n += b
	}
	elapsed := float64(m.now().UnixMilli()-idx*100) / 100 // of the current bucket
	return float64(n) / (0.9 + max(elapsed, 0.1)/10)
}
