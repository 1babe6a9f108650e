package loadgen

import (
	"github.com/headroom-sh/headroom/model"
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// durationBuckets are the classic buckets of the request duration histogram
// in seconds: 2^(k/8) from 2^-10 s (0.98 ms) to 2^6 s (64 s), 129 bounds. Each
// bucket is 9.05% wider than the one below, so a quantile interpolated
// inside a bucket is off by at most 9.05% of its value anywhere in the range,
// where the old layout had no bound between 10 s and 30 s. The bounds are
// those of native histograms of schema 3, so the two views agree, and 0.5 s,
// 1 s and 2 s are among them.
var durationBuckets = func() []float64 {
	const perDoubling, lowest, highest = 8, -10, 6
	out := make([]float64, 0, (highest-lowest)*perDoubling+1)
	for k := lowest * perDoubling; k <= highest*perDoubling; k++ {
		out = append(out, math.Exp2(float64(k)/perDoubling))
	}
	return out
}()

// Native histograms of the request duration use schema 5: 32 buckets per
// doubling, each 2.19% wider than the one below, so quantiles read from
// them (histogram_quantile, and analyze, which prefers them) are within
// about 2% wherever the latency lies. Up to nativeMaxBuckets buckets are
// kept per series (1 ms to an hour at full resolution); beyond that the
// client halves the resolution.
const (
	nativeBucketFactor = 1.022
	nativeMaxBuckets   = 1100
)

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
			Name: model.MetricRequests,
			Help: "HTTP requests sent by the load generator, by stage, endpoint, method and status (code or \"error\").",
		}, []string{"stage", "endpoint", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            model.MetricRequestDuration,
			Help:                            "HTTP request duration in seconds, measured from the intended start (coordinated-omission free in open-model executors).",
			Buckets:                         durationBuckets,
			NativeHistogramBucketFactor:     nativeBucketFactor,
			NativeHistogramMaxBucketNumber:  nativeMaxBuckets,
			NativeHistogramMinResetDuration: 0,
		}, []string{"stage", "endpoint", "method"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: model.MetricDroppedIterations,
			Help: "Open-model iterations that could not start because every VU up to maxVUs was busy.",
		}, []string{"stage"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: model.MetricChecks,
			Help: "Check results by check and result (pass or fail).",
		}, []string{"check", "result"}),
		stageActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: model.MetricStageActive,
			Help: "1 while a stage runs, 0 before and after.",
		}, []string{"stage"}),
	}
	cs := []prometheus.Collector{
		m.requests, m.duration, m.dropped, m.checks, m.stageActive,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: model.MetricVUs,
			Help: "Active virtual users.",
		}, vus),
	}
	if rate != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: model.MetricTargetArrivalRate,
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
