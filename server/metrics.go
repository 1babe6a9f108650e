package server

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/model"
)

// metrics are the service's own metrics and the service gauges of the
// latest review of each service.
type metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	reviewFailures *prometheus.CounterVec
	reviewsTotal   *prometheus.CounterVec
	runsTotal      *prometheus.CounterVec

	mu     sync.Mutex
	gauges map[string]model.ServiceGauges
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), gauges: map[string]model.ServiceGauges{}}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "headroom_server_http_requests_total",
		Help: "HTTP requests the service answered, by route template, method and status code.",
	}, []string{"route", "method", "status"})
	m.reviewFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "headroom_server_review_failures_total",
		Help: "Capacity reviews that failed, by service.",
	}, []string{"service"})
	m.reviewsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "headroom_server_reviews_total",
		Help: "Capacity reviews run, by service and trigger (schedule or request).",
	}, []string{"service", "trigger"})
	m.runsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "headroom_server_runs_total",
		Help: "Load runs finished, by status.",
	}, []string{"status"})
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "headroom_server_runs_in_flight",
		Help: "Load runs in progress in this process.",
	}, func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return float64(len(s.active))
	})
	m.reg.MustRegister(m.requests, m.reviewFailures, m.reviewsTotal, m.runsTotal, inFlight)
	return m
}

// middleware counts requests by route template.
func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err != nil {
			// Render the error now so that its status is counted.
			c.Error(err)
		}
		route := c.Path()
		if route == "" || route == "/api/*" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, methodLabel(c.Request().Method), strconv.Itoa(c.Response().Status)).Inc()
		return nil
	}
}

// methodLabel is the method label of a request: one of the standard
// methods, or "other". A client chooses the method freely, so using it as
// is would let anyone create series without bound.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// setReview publishes a service's gauges from its latest review.
func (m *metrics) setReview(service string, r *model.Review) {
	g := r.Gauges()
	g.Service = service
	m.mu.Lock()
	m.gauges[service] = g
	m.mu.Unlock()
}

// dropReview removes every series of a service whose review was deleted,
// so that the service label only takes the names of stored reviews.
func (m *metrics) dropReview(service string) {
	m.mu.Lock()
	delete(m.gauges, service)
	m.mu.Unlock()
	m.reviewsTotal.DeletePartialMatch(prometheus.Labels{"service": service})
	m.reviewFailures.DeletePartialMatch(prometheus.Labels{"service": service})
}

// gaugeFamilies encodes every service's gauges, one family per name.
func (m *metrics) gaugeFamilies() ([]*dto.MetricFamily, error) {
	m.mu.Lock()
	all := make([]model.ServiceGauges, 0, len(m.gauges))
	for _, g := range m.gauges {
		all = append(all, g)
	}
	m.mu.Unlock()
	return app.GaugeFamilies(all...), nil
}

func (m *metrics) gatherer() prometheus.Gatherer {
	return prometheus.Gatherers{m.reg, prometheus.GathererFunc(m.gaugeFamilies)}
}
