package checkout

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// dbPoolStats is a database pool snapshot in pgxpool.Stat's terms.
type dbPoolStats struct {
	Acquired, Idle, Total, Max, Constructing int64
	AcquireCount                             int64
	CanceledAcquireCount                     int64
	EmptyAcquireCount                        int64
	AcquireDuration                          time.Duration
	EmptyAcquireWaitTime                     time.Duration
	NewConns                                 int64
	MaxLifetimeDestroyCount                  int64
	MaxIdleDestroyCount                      int64
}

// dbPoolCollector exports a database pool under the names of the common
// pgxpool Prometheus collectors, reading the pool at scrape time. The real
// and sim backends share it, so their series cannot drift apart.
type dbPoolCollector struct {
	stat func() dbPoolStats

	acquired, idle, total, max, constructing               *prometheus.Desc
	acquireCount, canceledAcquireCount, emptyAcquireCount  *prometheus.Desc
	acquireDuration, emptyAcquireWaitTime                  *prometheus.Desc
	newConns, maxLifetimeDestroyCount, maxIdleDestroyCount *prometheus.Desc
}

func newDBPoolCollector(stat func() dbPoolStats) *dbPoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("pgxpool_"+name, help, nil, nil)
	}
	return &dbPoolCollector{
		stat:                    stat,
		acquired:                d("acquired_conns", "Number of connections currently acquired from the pool."),
		idle:                    d("idle_conns", "Number of idle connections in the pool."),
		total:                   d("total_conns", "Total number of connections in the pool: constructing + acquired + idle."),
		max:                     d("max_conns", "Maximum size of the pool."),
		constructing:            d("constructing_conns", "Number of connections being constructed."),
		acquireCount:            d("acquire_count_total", "Cumulative count of successful acquires from the pool."),
		canceledAcquireCount:    d("canceled_acquire_count_total", "Cumulative count of acquires canceled by a context."),
		emptyAcquireCount:       d("empty_acquire_count_total", "Cumulative count of successful acquires that waited for a connection to be released or constructed because the pool was empty."),
		acquireDuration:         d("acquire_duration_seconds_total", "Cumulative time spent waiting to acquire a connection, in seconds, over successful acquires."),
		emptyAcquireWaitTime:    d("empty_acquire_wait_time_seconds_total", "Cumulative time successful acquires waited because the pool was empty, in seconds."),
		newConns:                d("new_conns_count_total", "Cumulative count of new connections opened."),
		maxLifetimeDestroyCount: d("max_lifetime_destroy_count_total", "Cumulative count of connections destroyed because they exceeded MaxConnLifetime."),
		maxIdleDestroyCount:     d("max_idle_destroy_count_total", "Cumulative count of connections destroyed because they exceeded MaxConnIdleTime."),
	}
}

// Describe implements prometheus.Collector.
func (c *dbPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.acquired, c.idle, c.total, c.max, c.constructing,
		c.acquireCount, c.canceledAcquireCount, c.emptyAcquireCount,
		c.acquireDuration, c.emptyAcquireWaitTime,
		c.newConns, c.maxLifetimeDestroyCount, c.maxIdleDestroyCount,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *dbPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.acquired, float64(s.Acquired))
	gauge(c.idle, float64(s.Idle))
	gauge(c.total, float64(s.Total))
	gauge(c.max, float64(s.Max))
	gauge(c.constructing, float64(s.Constructing))
	counter(c.acquireCount, float64(s.AcquireCount))
	counter(c.canceledAcquireCount, float64(s.CanceledAcquireCount))
	counter(c.emptyAcquireCount, float64(s.EmptyAcquireCount))
	counter(c.acquireDuration, s.AcquireDuration.Seconds())
	counter(c.emptyAcquireWaitTime, s.EmptyAcquireWaitTime.Seconds())
	counter(c.newConns, float64(s.NewConns))
	counter(c.maxLifetimeDestroyCount, float64(s.MaxLifetimeDestroyCount))
	counter(c.maxIdleDestroyCount, float64(s.MaxIdleDestroyCount))
}

// redisPoolStats is a Redis pool snapshot in go-redis PoolStats' terms.
type redisPoolStats struct {
	Hits, Misses, Timeouts int64
	WaitCount              int64
	WaitDuration           time.Duration
	Total, Idle, Max       int64
	Stale                  int64
}

// redisPoolCollector exports a Redis client pool under the go_redis_pool_*
// names, reading the pool at scrape time.
type redisPoolCollector struct {
	stat func() redisPoolStats

	hits, misses, timeouts, waitCount, waitDuration *prometheus.Desc
	total, idle, stale, max                         *prometheus.Desc
}

func newRedisPoolCollector(stat func() redisPoolStats) *redisPoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("go_redis_pool_"+name, help, nil, nil)
	}
	return &redisPoolCollector{
		stat:         stat,
		hits:         d("hits_total", "Number of times a free connection was found in the pool."),
		misses:       d("misses_total", "Number of times a free connection was not found in the pool."),
		timeouts:     d("timeouts_total", "Number of times a wait for a connection timed out."),
		waitCount:    d("wait_count_total", "Number of times a caller waited for a connection."),
		waitDuration: d("wait_duration_seconds_total", "Cumulative time callers waited for a connection, in seconds."),
		total:        d("total_conns", "Number of connections in the pool."),
		idle:         d("idle_conns", "Number of idle connections in the pool."),
		stale:        d("stale_conns_total", "Number of stale connections removed from the pool."),
		max:          d("max_conns", "Maximum number of connections in the pool (the configured pool size)."),
	}
}

// Describe implements prometheus.Collector.
func (c *redisPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hits, c.misses, c.timeouts, c.waitCount, c.waitDuration, c.total, c.idle, c.stale, c.max} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *redisPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	counter(c.hits, float64(s.Hits))
	counter(c.misses, float64(s.Misses))
	counter(c.timeouts, float64(s.Timeouts))
	counter(c.waitCount, float64(s.WaitCount))
	counter(c.waitDuration, s.WaitDuration.Seconds())
	gauge(c.total, float64(s.Total))
	gauge(c.idle, float64(s.Idle))
	counter(c.stale, float64(s.Stale))
	gauge(c.max, float64(s.Max))
}

// simDBStats converts a simulated pool's stats to pgxpool's terms.
func simDBStats(p *simPool) func() dbPoolStats {
	return func() dbPoolStats {
		s := p.stats()
		return dbPoolStats{
			Acquired:             int64(s.Acquired),
			Idle:                 int64(s.Idle),
			Total:                int64(s.Total),
			Max:                  int64(s.Max),
			AcquireCount:         s.AcquireCount,
			CanceledAcquireCount: s.CanceledAcquireCount,
			EmptyAcquireCount:    s.EmptyAcquireCount,
			AcquireDuration:      s.AcquireDuration,
			EmptyAcquireWaitTime: s.EmptyAcquireWaitTime,
			NewConns:             s.NewConns,
		}
	}
}

// simRedisStats converts a simulated pool's stats to go-redis's terms.
func simRedisStats(p *simPool) func() redisPoolStats {
	return func() redisPoolStats {
		s := p.stats()
		return redisPoolStats{
			Hits:         s.Hits,
			Misses:       s.Misses,
			Timeouts:     s.Timeouts,
			WaitCount:    s.WaitCount,
			WaitDuration: s.WaitDuration,
			Total:        int64(s.Total),
			Idle:         int64(s.Idle),
			Max:          int64(s.Max),
		}
	}
}

// httpMetrics instruments the HTTP server.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// httpDurationBuckets are classic buckets in seconds, fine around the
// tens of milliseconds an order takes.
var httpDurationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_server_requests_total",
			Help: "HTTP requests served, by method, route template and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_server_request_duration_seconds",
			Help:    "Time to serve an HTTP request, in seconds, by method and route template.",
			Buckets: httpDurationBuckets,
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// unmatchedRoute labels requests that matched no route.
const unmatchedRoute = "unmatched"

// wrap records every request served by mux. The route label is the
// pattern the mux matched, without its method: "/api/orders/{id}".
func (m *httpMetrics) wrap(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		mux.ServeHTTP(rw, r)
		// ServeMux records the matched pattern on the request it was given.
		route := r.Pattern
		if _, path, ok := strings.Cut(route, " "); ok {
			route = path
		}
		if route == "" {
			route = unmatchedRoute
		}
		m.duration.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(rw.code)).Inc()
	})
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
