package collector

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/timestamp"
)

// The store's speed goals, checked by `go test -run '^$' -bench . ./collector/`:
//
//   - BenchmarkStoreWrite: the runner's snapshots are ingested at 100,000
//     samples/s or more on one core (GOMAXPROCS is set to 1 for it).
//   - BenchmarkScrapeAppend: the same for a parsed text exposition.
//   - BenchmarkStoreQueryRange: a range query over a 15-minute run at 1 s
//     resolution across 50 series answers in under 200 ms.

// benchRegistry holds metrics shaped like the runner's: per endpoint a
// request counter per status and a duration histogram with classic and
// native buckets, plus gauges.
type benchRegistry struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	vus      prometheus.Gauge
	n        int
}

func newBenchRegistry(endpoints int) *benchRegistry {
	r := &benchRegistry{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "headroom_requests_total", Help: "Requests.",
			ConstLabels: prometheus.Labels{"run_id": "bench", "scenario": "checkout", "shard": "0/1"},
		}, []string{"stage", "endpoint", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "headroom_request_duration_seconds", Help: "Durations.",
			ConstLabels:                    prometheus.Labels{"run_id": "bench", "scenario": "checkout", "shard": "0/1"},
			Buckets:                        prometheus.DefBuckets,
			NativeHistogramBucketFactor:    1.1,
			NativeHistogramMaxBucketNumber: 160,
		}, []string{"stage", "endpoint", "method"}),
		vus: prometheus.NewGauge(prometheus.GaugeOpts{Name: "headroom_vus", Help: "VUs."}),
		n:   endpoints,
	}
	r.reg.MustRegister(r.requests, r.duration, r.vus)
	return r
}

// step adds one second of traffic.
func (r *benchRegistry) step(i int) {
	for e := range r.n {
		ep := fmt.Sprintf("GET /api/items/%d", e)
		r.requests.WithLabelValues("steady", ep, "GET", "200").Add(50)
		r.requests.WithLabelValues("steady", ep, "GET", "500").Add(1)
		for j := range 20 {
			r.duration.WithLabelValues("steady", ep, "GET").Observe(0.001 * float64(1+(i*7+j*13+e)%400))
		}
	}
	r.vus.Set(float64(i % 100))
}

func countSamples(mfs []*dto.MetricFamily) int {
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_HISTOGRAM:
				n += 3 + len(m.GetHistogram().GetBucket()) // native, _count, _sum, buckets (+Inf added)
			case dto.MetricType_SUMMARY:
				n += 2 + len(m.GetSummary().GetQuantile())
			default:
				n++
			}
		}
	}
	return n
}

func BenchmarkStoreWrite(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s, err := OpenStore(StoreConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := newBenchRegistry(25)
	ctx := context.Background()
	start := time.Now()
	samples := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		r.step(i)
		mfs, err := r.reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		samples += countSamples(mfs)
		b.StartTimer()
		if err := s.Write(ctx, start.Add(time.Duration(i)*time.Second), mfs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(samples)/float64(b.N), "samples/op")
}

func BenchmarkScrapeAppend(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s, err := OpenStore(StoreConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := newBenchRegistry(25)
	targets, err := (&ScrapeConfig{Targets: []ScrapeTarget{{URL: "http://127.0.0.1:9/metrics"}}}).defaults(s.logger)
	if err != nil {
		b.Fatal(err)
	}
	l := newScrapeLoop(s, ScrapeConfig{Interval: time.Second, Timeout: time.Second, Logger: s.logger}, targets[0])
	const contentType = "text/plain; version=0.0.4"
	start := time.Now()
	samples := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		r.step(i)
		mfs, err := r.reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		l.iter++
		a := &sampleAppender{app: s.db.AppenderV2(context.Background())}
		n, _, err := l.appendBody(a, buf.Bytes(), contentType, timestamp.FromTime(start.Add(time.Duration(i)*time.Second)))
		if err != nil {
			b.Fatal(err)
		}
		l.markGoneStale(a, timestamp.FromTime(start.Add(time.Duration(i)*time.Second)))
		if err := a.app.Commit(); err != nil {
			b.Fatal(err)
		}
		samples += n
	}
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkStoreQueryRange(b *testing.B) {
	s, err := OpenStore(StoreConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// A 15-minute run sampled every second. 25 endpoints give 50 request
	// counters (two statuses each), 25 native histograms and 25 × 15
	// classic series.
	r := newBenchRegistry(25)
	ctx := context.Background()
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	const seconds = 15 * 60
	for i := 0; i <= seconds; i++ {
		r.step(i)
		mfs, err := r.reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Write(ctx, start.Add(time.Duration(i)*time.Second), mfs); err != nil {
			b.Fatal(err)
		}
	}
	rng := Range{Start: start, End: start.Add(seconds * time.Second), Step: time.Second}
	queries := []struct{ name, q string }{
		{"rate_of_50_counters", `rate(headroom_requests_total[30s])`},
		{"error_ratio_by_endpoint", `sum by (endpoint) (rate(headroom_requests_total{status=~"5.."}[30s])) / sum by (endpoint) (rate(headroom_requests_total[30s]))`},
		{"classic_p95_by_endpoint", `histogram_quantile(0.95, sum by (endpoint, le) (rate(headroom_request_duration_seconds_bucket[30s])))`},
		{"native_p95_by_endpoint", `histogram_quantile(0.95, sum by (endpoint) (rate(headroom_request_duration_seconds[30s])))`},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				m, err := s.QueryRange(ctx, q.q, rng)
				if err != nil {
					b.Fatal(err)
				}
				if len(m) == 0 || len(m[0].Values) < seconds-60 {
					b.Fatalf("%s returned %d series", q.q, len(m))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
		})
	}
}
