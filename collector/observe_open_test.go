package collector

import (
	"context"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
)

// TestObserveAnOpenModelOverload offers 50 → 400 iterations/s to the pool
// server (4 connections × 20 ms: at most 200 requests/s) with at most 8
// VUs, so that beyond ~200/s the runner drops iterations. The series carry
// the offered rate and the dropped iterations, and the analysis finds
// where the run fell behind the offered rate.
func TestObserveAnOpenModelOverload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs load for 12 seconds")
	}
	ps := newPoolServer(t)
	store := openTestStore(t, t.TempDir())
	d := model.Duration(4 * time.Second)
	scenario := &model.Scenario{
		Name:   "open",
		Target: ps.URL,
		Flows:  []model.Flow{{Name: "work", Steps: []model.Step{{Method: "GET", Path: "/work/1", Endpoint: "GET /work/{id}"}}}},
		Executors: []model.Executor{{
			Type: model.ExecutorRampingArrivalRate, StartRate: 50, PreAllocatedVUs: 4, MaxVUs: 8,
			Stages: []model.Stage{
				{Name: "light", Duration: d, Target: 100},
				{Name: "over", Duration: d, Target: 400},
				{Name: "hold", Duration: d, Target: 400},
			},
		}},
	}
	r, err := loadgen.NewRunner(loadgen.Config{
		Scenario: scenario, Sinks: []loadgen.Sink{store},
		FlushInterval: 500 * time.Millisecond, SeriesInterval: time.Second, GracePeriod: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	obs, err := Observe(context.Background(), store, ObserveConfig{
		RunID: run.RunID, Start: run.Start, End: run.End, Stages: run.Stages,
		Step: time.Second, RateWindow: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if obs.LoadModel != model.LoadOpen {
		t.Fatalf("load model %q, want open", obs.LoadModel)
	}
	maxDropped, maxTarget := 0.0, 0.0
	for _, p := range obs.Series {
		maxDropped = max(maxDropped, p.DroppedRate)
		maxTarget = max(maxTarget, p.TargetRate)
	}
	// 400 offered, at most 200 carried: about 200 dropped per second.
	if maxTarget < 300 || maxDropped < 50 {
		t.Errorf("series offer up to %.0f iterations/s and drop up to %.0f/s; want ~400 offered and ~200 dropped", maxTarget, maxDropped)
	}

	a, err := analyzer.Analyze(obs, analyzer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verdict: %s", a.Verdict)
	b := a.BreakingPoint
	// The server carries at most 200 requests/s; a busy host carries less
	// (its 20 ms sleeps overshoot), so only the ceiling is tight.
	if b == nil || b.Reason != model.ReasonSaturation || b.RPS > 220 || b.RPS < 120 {
		t.Fatalf("breaking point %+v, want saturation at no more than ~200 RPS", b)
	}
	if b.TargetRate < 100 || b.TargetRate > 300 {
		t.Errorf("fell behind at %.0f iterations/s offered, want between the light stage and 300", b.TargetRate)
	}
}
