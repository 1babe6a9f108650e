package loadgen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
	pmodel "github.com/prometheus/common/model"
)

// latencyShapes are the distributions whose percentiles must survive
// storage, each drawn from a seeded generator.
var latencyShapes = []struct {
	name string
	draw func(rng *rand.Rand, i, n int) time.Duration
}{
	// A fast API: log-normal around 2 ms, 1 to 5 ms for the most part.
	{"fast", func(rng *rand.Rand, _, _ int) time.Duration {
		return time.Duration(2e6 * math.Exp(0.35*rng.NormFloat64()))
	}},
	// A cache in front of a database: 70% hits near 5 ms, 30% misses near
	// 300 ms.
	{"bimodal", func(rng *rand.Rand, _, _ int) time.Duration {
		if rng.Float64() < 0.7 {
			return time.Duration((5 + 0.5*rng.NormFloat64()) * 1e6)
		}
		return time.Duration((300 + 20*rng.NormFloat64()) * 1e6)
	}},
	// Overload under a rising arrival rate: the queue grows faster and
	// faster, latency ramping from 50 ms to 60 s along a parabola, so most
	// requests are fast-ish and the tail is long.
	{"overload", func(rng *rand.Rand, i, n int) time.Duration {
		x := float64(i) / float64(n)
		base := 0.05 + 60*x*x
		return time.Duration(base * (1 + 0.02*rng.NormFloat64()) * 1e9)
	}},
}

// nativeTolerance is how far a percentile read back from stored native
// histograms may be from run.json's: schema 5 buckets are 2.2% wide and
// interpolation within one lands within about a quarter of it (0.55%).
// The classic buckets alone (9% wide) miss it: the overload p50 was 7.4%
// off with the old ones.
const nativeTolerance = 0.0055

func TestPercentilesReadFromTheStoreAgreeWithTheRunnersHistograms(t *testing.T) {
	store, err := collector.OpenStore(collector.StoreConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	checkStoredPercentiles(t, store, store, time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), nativeTolerance)
}

func TestPercentilesReadFromRealPrometheusAgreeWithTheRunnersHistograms(t *testing.T) {
	// The same runs through remote write into the Prometheus of
	// scripts/testenv.sh (2.42, --enable-feature=native-histograms), read
	// back as `headroom analyze --prometheus` does, through the HTTP API.
	//
	// Prometheus 2.42 stores the native histograms (schema 5, 2.2% wide
	// buckets) and returns them from an instant selector, but its
	// *_over_time functions skip histogram samples (last_over_time is a
	// float 0): analyze then reads them with the plain selector, and
	// agrees with run.json as closely as it does from the embedded store.
	url := testenv.Require(t, testenv.PrometheusURL)
	w, err := NewRemoteWriter(RemoteWriteConfig{URL: url + "/api/v1/write", Logger: rwTestLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	prom, err := collector.NewPrometheus(collector.PrometheusConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	// Samples a minute old and newer, which Prometheus's head accepts.
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	run := checkStoredPercentiles(t, w, prom, t0, nativeTolerance)
	if !w.NativeHistograms() {
		t.Fatal("the testenv's Prometheus refused native histograms")
	}
	for i, shape := range latencyShapes {
		st := run.Stages[i]
		q := fmt.Sprintf(`sum(%s{run_id=%q,stage=%q})`, model.MetricRequestDuration, run.RunID, st.Name)
		v, err := prom.Query(context.Background(), q, st.End)
		if err != nil {
			t.Fatal(err)
		}
		vec, _ := v.(pmodel.Vector)
		if len(vec) != 1 || vec[0].Histogram == nil {
			t.Fatalf("%s: %s holds no native histogram: %v", shape.name, q, v)
		}
		h := vec[0].Histogram
		var bs []model.Bucket
		cum := 0.0
		for _, b := range h.Buckets {
			cum += float64(b.Count)
			bs = append(bs, model.Bucket{UpperBound: float64(b.Upper), Count: cum})
		}
		bs = append(bs, model.Bucket{UpperBound: math.Inf(1), Count: float64(h.Count)})
		if w := float64(h.Buckets[len(h.Buckets)/2].Upper/h.Buckets[len(h.Buckets)/2].Lower) - 1; w > 0.022 {
			t.Errorf("%s: native buckets %.1f%% wide, want schema 5 (2.2%%)", shape.name, 100*w)
		}
		for _, p := range []struct {
			q    float64
			want float64
		}{{0.5, st.P50Ms}, {0.9, st.P90Ms}, {0.95, st.P95Ms}, {0.99, st.P99Ms}} {
			got := 1000 * analyzer.BucketQuantile(p.q, bs)
			rel := math.Abs(got-p.want) / p.want
			t.Logf("%-8s p%g from the stored native histogram: run.json %.2fms, Prometheus %.2fms (%.2f%%)", shape.name, 100*p.q, p.want, got, 100*rel)
			if rel > 0.005 || math.IsNaN(rel) {
				t.Errorf("%s p%g: %.2fms from the native histogram in Prometheus is %.2f%% from run.json's %.2fms; want within 0.5%%", shape.name, 100*p.q, got, 100*rel, p.want)
			}
		}
	}
}

// checkStoredPercentiles records each of latencyShapes as one 10 s stage
// starting at t0 through the runner's own recording (the HDR histograms
// of run.json and the metrics), the metrics into sink, and compares the
// stage table analyze computes from src's stored series with run.json's
// percentiles: each within tol, relative.
func checkStoredPercentiles(t *testing.T, sink Sink, src collector.Source, t0 time.Time, tol float64) *model.Run {
	t.Helper()
	var stages []model.Stage
	for _, s := range latencyShapes {
		stages = append(stages, model.Stage{Name: s.name, Duration: dur(10 * time.Second), Target: 1})
	}
	sc := getScenario("http://127.0.0.1:9", "/x", model.Executor{Type: model.ExecutorRampingVUs, StartVUs: 1, Stages: stages})
	now := t0
	r, err := NewRunner(Config{Scenario: sc, Sinks: []Sink{sink}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	r.startMono, r.startWall = time.Now(), t0
	r.win = newWindows(r.startMono)
	r.ready.Store(true)
	ctx := context.Background()
	e := r.execs[0]
	v := r.newVU(e)
	step := e.flows[0].steps[0]
	rng := rand.New(rand.NewPCG(16, 2026))
	const n = 20000
	for i, shape := range latencyShapes {
		r.enterStage(e, i)
		st := e.stages[i]
		now = t0.Add(time.Duration(i)*10*time.Second + time.Second)
		r.flush(ctx, false)
		for k := 0; k < n; k++ {
			v.record(step, st, result{status: 200, timed: true, dur: shape.draw(rng, k, n)})
		}
		now = now.Add(8 * time.Second)
		st.active.Set(0)
		r.flush(ctx, false)
	}
	r.endWall = t0.Add(30 * time.Second)
	r.flush(ctx, true)
	run := r.report(model.RunCompleted, r.startMono.Add(30*time.Second), nil)

	obs, err := collector.Observe(ctx, src, collector.ObserveConfig{RunID: r.RunID(), Start: run.Start, End: run.End, Stages: run.Stages, Step: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, _ := analyzer.StageTable(obs.Stages)
	if len(rows) != len(latencyShapes) {
		t.Fatalf("analyze found %d stages, want %d", len(rows), len(latencyShapes))
	}
	for i, shape := range latencyShapes {
		want, got := run.Stages[i], rows[i]
		for _, p := range []struct {
			name      string
			want, got float64
		}{
			{"p50", want.P50Ms, got.P50Ms}, {"p90", want.P90Ms, got.P90Ms},
			{"p95", want.P95Ms, got.P95Ms}, {"p99", want.P99Ms, got.P99Ms},
		} {
			rel := math.Abs(p.got-p.want) / p.want
			t.Logf("%-8s %s: run.json %.2fms, analyze %.2fms (%.2f%%)", shape.name, p.name, p.want, p.got, 100*rel)
			if rel > tol || math.IsNaN(rel) {
				t.Errorf("%s %s: analyze %.2fms is %.2f%% from run.json's %.2fms; want within %.2f%%", shape.name, p.name, p.got, 100*rel, p.want, 100*tol)
			}
		}
	}
	return run
}

func TestTheClassicBucketsBoundTheRelativeErrorFrom1msTo60s(t *testing.T) {
	if lo, hi := durationBuckets[0], durationBuckets[len(durationBuckets)-1]; lo > 0.001 || hi < 60 {
		t.Fatalf("the buckets cover %gs to %gs, want 1 ms to 60 s at least", lo, hi)
	}
	for i := 1; i < len(durationBuckets); i++ {
		// A quantile interpolated inside a bucket is off by at most its
		// width over its lower bound.
		if w := durationBuckets[i]/durationBuckets[i-1] - 1; w > 0.0906 {
			t.Errorf("bucket (%g, %g] is %.1f%% wide, want at most 9.05%%", durationBuckets[i-1], durationBuckets[i], 100*w)
		}
	}
}
