package checkout

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-sh/headroom/examples/internal/poolmetrics"
	"github.com/headroom-sh/headroom/examples/internal/serving"
)

// simDBStats converts a simulated pool's stats to pgxpool's terms.
func simDBStats(p *simPool) func() poolmetrics.PgxStats {
	return func() poolmetrics.PgxStats {
		s := p.stats()
		return poolmetrics.PgxStats{
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
func simRedisStats(p *simPool) func() poolmetrics.RedisStats {
	return func() poolmetrics.RedisStats {
		s := p.stats()
		return poolmetrics.RedisStats{
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
		rw := serving.NewStatusWriter(w)
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
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(rw.Code)).Inc()
	})
}
