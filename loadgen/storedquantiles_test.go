package loadgen

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
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

func TestPercentilesReadFromTheStoreAgreeWithTheRunnersHistograms(t *testing.T) {
	// Each shape is one 10 s stage. Its requests go through the runner's
	// own recording (the HDR histograms of run.json and the metrics), the
	// metrics into the embedded store, and the stage table is what analyze
	// computes from the stored series.
	var stages []model.Stage
	for _, s := range latencyShapes {
		stages = append(stages, model.Stage{Name: s.name, Duration: dur(10 * time.Second), Target: 1})
	}
	sc := getScenario("http://127.0.0.1:9", "/x", model.Executor{Type: model.ExecutorRampingVUs, StartVUs: 1, Stages: stages})
	store, err := collector.OpenStore(collector.StoreConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	r, err := NewRunner(Config{Scenario: sc, Sinks: []Sink{store}, Clock: func() time.Time { return now }})
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

	obs, err := collector.Observe(ctx, store, collector.ObserveConfig{RunID: r.RunID(), Start: run.Start, End: run.End, Stages: run.Stages, Step: time.Second})
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
			if rel > 0.05 || math.IsNaN(rel) {
				t.Errorf("%s %s: analyze %.2fms is %.1f%% from run.json's %.2fms; want within 5%%", shape.name, p.name, p.got, 100*rel, p.want)
			}
		}
	}
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
