package collector

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/storage"
	"google.golang.org/protobuf/proto"
)

// The store is a loadgen.Sink; the interface is spelled out here because the
// collector does not import loadgen.
var _ interface {
	Write(ctx context.Context, ts time.Time, families []*dto.MetricFamily) error
} = (*Store)(nil)

// t0 is the start of the synthetic runs written by the tests.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func openTestStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenStore(StoreConfig{Dir: dir})
	if err != nil {
		t.Fatalf("OpenStore(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// testRun is a registry whose metrics evolve in known steps: every step adds
// 10 to x_total{endpoint="GET /a"} and observes 1,000 durations spread
// evenly over (0, 1] s into the histogram h, which has classic buckets every
// 0.1 s and native buckets; the 95th percentile of h is therefore 0.95 s.
type testRun struct {
	reg   *prometheus.Registry
	count *prometheus.CounterVec
	vus   prometheus.Gauge
	hist  prometheus.Histogram
}

func newTestRun(t *testing.T) *testRun {
	t.Helper()
	r := &testRun{
		reg:   prometheus.NewRegistry(),
		count: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "Requests."}, []string{"endpoint"}),
		vus:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "vus", Help: "Virtual users."}),
		hist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:                        "h",
			Help:                        "Durations.",
			Buckets:                     prometheus.LinearBuckets(0.1, 0.1, 10),
			NativeHistogramBucketFactor: 1.1,
		}),
	}
	r.reg.MustRegister(r.count, r.vus, r.hist)
	r.count.WithLabelValues("GET /a").Add(0)
	return r
}

func (r *testRun) step(i int) {
	r.count.WithLabelValues("GET /a").Add(10)
	r.vus.Set(float64(i))
	for j := 1; j <= 1000; j++ {
		r.hist.Observe(float64(j) / 1000)
	}
}

func (r *testRun) gather(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// writeTestRun writes steps snapshots 5 s apart from t0 and returns the time
// of the last one.
func writeTestRun(t *testing.T, s *Store, steps int) time.Time {
	t.Helper()
	r := newTestRun(t)
	ctx := context.Background()
	var ts time.Time
	for i := range steps {
		if i > 0 {
			r.step(i)
		}
		ts = t0.Add(time.Duration(i) * 5 * time.Second)
		if err := s.Write(ctx, ts, r.gather(t)); err != nil {
			t.Fatalf("Write at step %d: %v", i, err)
		}
	}
	return ts
}

func queryScalar(t *testing.T, s *Store, q string, ts time.Time) float64 {
	t.Helper()
	v, err := s.Query(context.Background(), q, ts)
	if err != nil {
		t.Fatalf("Query(%s): %v", q, err)
	}
	vec, ok := v.(pmodel.Vector)
	if !ok || len(vec) != 1 {
		t.Fatalf("Query(%s) = %v, want one sample", q, v)
	}
	return float64(vec[0].Value)
}

func within(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func TestStoreAnswersPromQLOverWrittenFamilies(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	end := writeTestRun(t, s, 13)

	tests := []struct {
		name  string
		query string
		want  float64
		rel   float64
	}{
		{"the rate of a counter is its known increase per second", `rate(x_total{endpoint="GET /a"}[30s])`, 2, 1e-9},
		{"a gauge reads its last value", `vus`, 12, 0},
		{"the classic histogram's 95th percentile is the observed one", `histogram_quantile(0.95, sum by (le) (rate(h_bucket[30s])))`, 0.95, 0.02},
		{"the native histogram's 95th percentile is the observed one", `histogram_quantile(0.95, sum(rate(h[30s])))`, 0.95, 0.05},
		{"the native histogram counts the observations", `histogram_count(rate(h[30s]))`, 200, 1e-9},
		{"the classic count matches the native count", `rate(h_count[30s])`, 200, 1e-9},
		{"the classic +Inf bucket holds every observation", `increase(h_bucket{le="+Inf"}[1m])`, 12000, 1e-9},
		{"the classic bucket 0.5 holds half of them", `rate(h_bucket{le="0.5"}[30s]) / ignoring(le) rate(h_count[30s])`, 0.5, 0.002},
		{"the sum of the observations is known", `rate(h_sum[30s])`, 200 * 0.5005, 1e-9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := queryScalar(t, s, tt.query, end)
			if !within(got, tt.want, tt.rel) {
				t.Errorf("%s = %g, want %g ± %g%%", tt.query, got, tt.want, tt.rel*100)
			}
		})
	}

	t.Run("a native histogram is returned as a histogram sample", func(t *testing.T) {
		v, err := s.Query(context.Background(), `h`, end)
		if err != nil {
			t.Fatal(err)
		}
		vec := v.(pmodel.Vector)
		if len(vec) != 1 || vec[0].Histogram == nil {
			t.Fatalf("h = %v, want one histogram sample", v)
		}
		if got := float64(vec[0].Histogram.Count); got != 12000 {
			t.Errorf("h count = %g, want 12000", got)
		}
		var sum float64
		for _, b := range vec[0].Histogram.Buckets {
			sum += float64(b.Count)
		}
		if sum != 12000 {
			t.Errorf("h buckets hold %g observations, want 12000", sum)
		}
	})

	t.Run("a range query returns one point per step", func(t *testing.T) {
		m, err := s.QueryRange(context.Background(), `rate(x_total[30s])`, Range{Start: t0.Add(30 * time.Second), End: end, Step: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 1 || len(m[0].Values) != 7 {
			t.Fatalf("got %v, want one series of 7 points", m)
		}
		for _, p := range m[0].Values {
			if !within(float64(p.Value), 2, 1e-9) {
				t.Errorf("rate at %s = %g, want 2", p.Timestamp, p.Value)
			}
		}
	})

	t.Run("a range query over native histograms returns histogram points", func(t *testing.T) {
		m, err := s.QueryRange(context.Background(), `rate(h[30s])`, Range{Start: t0.Add(30 * time.Second), End: end, Step: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 1 || len(m[0].Histograms) != 4 || len(m[0].Values) != 0 {
			t.Fatalf("got %v, want one series of 4 histograms", m)
		}
	})

	t.Run("Series lists what was written", func(t *testing.T) {
		got, err := s.Series(context.Background(), []string{`{__name__=~"x_total|vus|h"}`, `h_bucket{le="+Inf"}`}, t0, end)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ls := range got {
			names = append(names, pmodel.Metric(ls).String())
		}
		want := []string{`h`, `h_bucket{le="+Inf"}`, `vus`, `x_total{endpoint="GET /a"}`}
		if !slices.Equal(names, want) {
			t.Errorf("Series = %q, want %q", names, want)
		}
	})

	t.Run("Series lists every classic series of the histogram", func(t *testing.T) {
		got, err := s.Series(context.Background(), []string{`{__name__=~"h_.*"}`}, t0, end)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 13 { // _count, _sum, 10 buckets and +Inf.
			t.Errorf("got %d series %v, want 13", len(got), got)
		}
	})
}

func TestWriteRefusesBadSamplesAndStoresTheRest(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	ctx := context.Background()
	gauge := func(name string, v float64) *dto.MetricFamily {
		return &dto.MetricFamily{Name: proto.String(name), Type: dto.MetricType_GAUGE.Enum(),
			Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(v)}}}}
	}
	if err := s.Write(ctx, t0.Add(time.Hour), []*dto.MetricFamily{gauge("g", 1)}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		ts       time.Time
		families []*dto.MetricFamily
		wantIs   error
	}{
		{"a sample older than the out-of-order window is refused", t0, []*dto.MetricFamily{gauge("g", 2), gauge("other", 1)}, storage.ErrTooOldSample},
		{"a second value at the same timestamp is refused", t0.Add(time.Hour), []*dto.MetricFamily{gauge("g", 3)}, storage.ErrDuplicateSampleForTimestamp},
		{"a counter without a value is refused, not stored as zero", t0.Add(time.Hour + time.Second), []*dto.MetricFamily{{
			Name: proto.String("c_total"), Type: dto.MetricType_COUNTER.Enum(), Metric: []*dto.Metric{{}},
		}}, errNoValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Stats()
			err := s.Write(ctx, tt.ts, tt.families)
			if !errors.Is(err, ErrSamplesRejected) || !errors.Is(err, tt.wantIs) {
				t.Fatalf("Write = %v, want ErrSamplesRejected and %v", err, tt.wantIs)
			}
			if after := s.Stats(); after.SamplesRejected != before.SamplesRejected+1 {
				t.Errorf("rejected %d → %d, want one more", before.SamplesRejected, after.SamplesRejected)
			}
		})
	}
	t.Run("nil families and metrics are skipped", func(t *testing.T) {
		families := []*dto.MetricFamily{nil, {Name: proto.String("n"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{nil}}}
		if err := s.Write(ctx, t0.Add(2*time.Hour), families); err != nil {
			t.Errorf("Write = %v, want nothing written and no error", err)
		}
	})
	t.Run("the samples beside the refused one are stored", func(t *testing.T) {
		if got := queryScalar(t, s, `other`, t0); got != 1 {
			t.Errorf("other = %g, want 1", got)
		}
	})
	t.Run("the valueless counter has no series", func(t *testing.T) {
		got, err := s.Series(ctx, []string{`c_total`}, t0, t0.Add(2*time.Hour))
		if err != nil || len(got) != 0 {
			t.Errorf("Series(c_total) = %v, %v; want none", got, err)
		}
	})
}

func TestStoreQueryErrors(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	end := writeTestRun(t, s, 3)
	ctx := context.Background()

	tests := []struct {
		name    string
		run     func() error
		wantIs  error
		wantSub string
	}{
		{"a PromQL parse error names the query", func() error {
			_, err := s.Query(ctx, `rate(x_total[30s]`, end)
			return err
		}, ErrBadQuery, `could not parse query "rate(x_total[30s]"`},
		{"a range query's parse error names the query", func() error {
			_, err := s.QueryRange(ctx, `sum by (le) (`, Range{Start: t0, End: end, Step: time.Second})
			return err
		}, ErrBadQuery, `could not parse query "sum by (le) ("`},
		{"an evaluation error is a bad query, as Prometheus answers 422", func() error {
			_, err := s.Query(ctx, `x_total + on() group_left h_bucket`, end)
			return err
		}, ErrBadQuery, `could not evaluate query`},
		{"an instant query that matches nothing is ErrNoSamples", func() error {
			_, err := s.Query(ctx, `absent_metric`, end)
			return err
		}, ErrNoSamples, `absent_metric`},
		{"a range query that matches nothing is ErrNoSamples", func() error {
			_, err := s.QueryRange(ctx, `absent_metric`, Range{Start: t0, End: end, Step: time.Second})
			return err
		}, ErrNoSamples, `absent_metric`},
		{"a range query of more than 11,000 steps is refused like Prometheus does", func() error {
			_, err := s.QueryRange(ctx, `x_total`, Range{Start: t0, End: t0.Add(24 * time.Hour), Step: time.Second})
			return err
		}, ErrBadQuery, `more than the 11000`},
		{"a range query without a step is refused", func() error {
			_, err := s.QueryRange(ctx, `x_total`, Range{Start: t0, End: end})
			return err
		}, ErrBadQuery, `step 0s must be positive`},
		{"a bad series selector is named", func() error {
			_, err := s.Series(ctx, []string{`x_total{`}, t0, end)
			return err
		}, ErrBadQuery, `could not parse series selector "x_total{"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("error %q does not mention %q", err, tt.wantSub)
			}
		})
	}

	t.Run("a scalar query returns a scalar", func(t *testing.T) {
		v, err := s.Query(ctx, `1 + 1`, end)
		if err != nil {
			t.Fatal(err)
		}
		if sc, ok := v.(*pmodel.Scalar); !ok || sc.Value != 2 {
			t.Errorf("1 + 1 = %v, want scalar 2", v)
		}
	})
}

func TestOpenStoreRequiresADirectory(t *testing.T) {
	if _, err := OpenStore(StoreConfig{}); err == nil || !strings.Contains(err.Error(), "directory is required") {
		t.Errorf("OpenStore without Dir = %v, want a missing-directory error", err)
	}
	empty := t.TempDir()
	if _, err := OpenStore(StoreConfig{Dir: empty, ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "holds no metrics store") {
		t.Errorf("OpenStore read-only of an empty directory = %v, want an error saying it holds no store", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("opening an empty directory read-only left %d entries in it", len(entries))
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := OpenStore(StoreConfig{Dir: missing, ReadOnly: true}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("OpenStore read-only of a missing directory = %v, want an error naming it", err)
	}
}

// dirState lists every file of dir with its size and modification time.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out[path] = fmt.Sprintf("%d %s", fi.Size(), fi.ModTime())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAClosedStoreReopensReadOnlyWithAllItsData(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(StoreConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	end := writeTestRun(t, s, 13)
	want := queryScalar(t, s, `histogram_quantile(0.95, sum(rate(h[30s])))`, end)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Write(context.Background(), end, nil); !errors.Is(err, ErrStoreClosed) {
		t.Errorf("Write after Close = %v, want ErrStoreClosed", err)
	}
	if _, err := s.Query(context.Background(), `vus`, end); !errors.Is(err, ErrStoreClosed) {
		t.Errorf("Query after Close = %v, want ErrStoreClosed", err)
	}
	before := dirState(t, dir)

	ro, err := OpenStore(StoreConfig{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := queryScalar(t, ro, `histogram_quantile(0.95, sum(rate(h[30s])))`, end); got != want {
		t.Errorf("native p95 after reopen = %g, want %g", got, want)
	}
	if got := queryScalar(t, ro, `rate(x_total[30s])`, end); !within(got, 2, 1e-9) {
		t.Errorf("rate after reopen = %g, want 2", got)
	}
	m, err := ro.QueryRange(context.Background(), `vus`, Range{Start: t0, End: end, Step: 5 * time.Second})
	if err != nil || len(m) != 1 || len(m[0].Values) != 13 {
		t.Errorf("vus over the run after reopen = %v, %v; want 13 points", m, err)
	}
	if err := ro.Write(context.Background(), end, nil); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Write on a read-only store = %v, want ErrReadOnly", err)
	}
	if _, err := ro.StartScraper(context.Background(), ScrapeConfig{Targets: []ScrapeTarget{{URL: "http://127.0.0.1:1/metrics"}}}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("StartScraper on a read-only store = %v, want ErrReadOnly", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatalf("Close read-only: %v", err)
	}
	if after := dirState(t, dir); !mapsEqual(before, after) {
		t.Errorf("opening read-only changed the store:\nbefore %v\nafter  %v", before, after)
	}

	rw := openTestStore(t, dir)
	if got := queryScalar(t, rw, `vus`, end); got != 12 {
		t.Errorf("vus after writable reopen = %g, want 12", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAStoreStillBeingWrittenOpensReadOnly(t *testing.T) {
	// This is `headroom analyze` during a run, and the state a crashed
	// run leaves: nothing flushed to blocks, everything in the WAL.
	dir := t.TempDir()
	s := openTestStore(t, dir)
	end := writeTestRun(t, s, 7)

	ro, err := OpenStore(StoreConfig{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got := queryScalar(t, ro, `rate(x_total[30s])`, end); !within(got, 2, 1e-9) {
		t.Errorf("rate read from the WAL = %g, want 2", got)
	}
	if got := queryScalar(t, ro, `histogram_count(h)`, end); got != 6000 {
		t.Errorf("native histogram count read from the WAL = %g, want 6000", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadDir(dir)
	if len(after) >= len(entries) {
		t.Errorf("the read-only copy was not removed: %d entries before Close, %d after", len(entries), len(after))
	}
}

func TestStoreConcurrentWritesScrapesAndQueries(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	srv := newRegistryServer(t, newTestRun(t).reg, nil)
	sc, err := s.StartScraper(context.Background(), ScrapeConfig{
		Targets:      []ScrapeTarget{{URL: srv.URL + "/metrics", Job: "sut"}},
		testInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	run := newTestRun(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Add(1)
	go func() {
		defer wg.Done()
		base := time.Now()
		for i := range 50 {
			run.step(i)
			mfs, _ := run.reg.Gather()
			if err := s.Write(ctx, base.Add(time.Duration(i)*10*time.Millisecond), mfs); err != nil {
				errs <- fmt.Errorf("write %d: %w", i, err)
				return
			}
		}
	}()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				_, err := s.QueryRange(ctx, `sum(rate(x_total[10s]))`, Range{Start: time.Now().Add(-time.Minute), End: time.Now(), Step: time.Second})
				if err != nil && !errors.Is(err, ErrNoSamples) {
					errs <- err
					return
				}
				if _, err := s.Series(ctx, []string{`{job="sut"}`}, time.Now().Add(-time.Minute), time.Now()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, "two scrapes", func() bool { return sc.Status()[0].Scrapes >= 2 })
	st := sc.Stop()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st[0].Failures != 0 {
		t.Errorf("scrape failures during concurrent use: %+v", st[0])
	}
	if got := s.Stats(); got.SamplesAppended == 0 || got.SamplesRejected != 0 {
		t.Errorf("stats = %+v, want samples and no rejections", got)
	}
}
