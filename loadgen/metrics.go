package loadgen

import (
	"github.com/prometheus/client_golang/prometheus"
)

// durationBuckets are the classic buckets of the request duration histogram in
// seconds: 1 ms to 60 s, dense between 50 ms and 1 s where latency targets
// usually sit.
var durationBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3,
	0.4, 0.5, 0.6, 0.75, 1, 1.5, 2, 2.5, 5, 10, 30, 60,
}

// metrics are the runner's series under the metric contract of
// ARCHITECTURE.md, in the runner's own registry.
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	dropped     *prometheus.CounterVec
	checks      *prometheus.CounterVec
	stageActive *prometheus.GaugeVec
}

// newMetrics registers the contract's series. Every series carries the
// run_id, scenario and shard labels. vus and rate are read at gather time;
// rate is nil when no executor is open-model.
func newMetrics(runID, scenario, shard string, vus, rate func() float64) (*metrics, error) {
	reg := prometheus.NewRegistry()
	r := prometheus.WrapRegistererWith(prometheus.Labels{
		"run_id":   runID,
		"scenario": scenario,
		"shard":    shard,
	}, reg)
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRequests,
			Help: "HTTP requests sent by the load generator, by stage, endpoint, method and status (code or \"error\").",
		}, []string{"stage", "endpoint", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            MetricRequestDuration,
			Help:                            "HTTP request duration in seconds, measured from the intended start (coordinated-omission free in open-model executors).",
			Buckets:                         durationBuckets,
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: 0,
		}, []string{"stage", "endpoint", "method"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricDroppedIterations,
			Help: "Open-model iterations that could not start because every VU up to maxVUs was busy.",
		}, []string{"stage"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricChecks,
			Help: "Check results by check and result (pass or fail).",
		}, []string{"check", "result"}),
		stageActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricStageActive,
			Help: "1 while a stage runs, 0 before and after.",
		}, []string{"stage"}),
	}
	cs := []prometheus.Collector{
		m.requests, m.duration, m.dropped, m.checks, m.stageActive,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricVUs,
			Help: "Active virtual users.",
		}, vus),
	}
	if rate != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricTargetArrivalRate,
			Help: "Target arrival rate of open-model executors in iterations per second (this shard's part).",
		}, rate))
	}
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
