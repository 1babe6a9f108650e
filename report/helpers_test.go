package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// readJSON reads testdata/launch/NAME.json into v.
func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "launch", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("testdata/launch/%s.json: %v", name, err)
	}
}

// launch is the launch story, measured: the checkout demo (a DB pool of 20,
// 40 ms per order) ramped 10 → 50 → 200 → 500 VUs, analysed at a 2 s step,
// and planned for 3× today's traffic. It breaks at about 500 RPS, pool-bound.
func launch(t testing.TB) model.ReportInput {
	t.Helper()
	var a model.Analysis
	var o model.Observations
	var r model.Run
	var p model.Plan
	readJSON(t, "analysis", &a)
	readJSON(t, "observations", &o)
	readJSON(t, "run", &r)
	readJSON(t, "plan", &p)
	return model.ReportInput{
		Title:        "Checkout launch: capacity report",
		Service:      "checkout",
		GeneratedAt:  time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC),
		Analysis:     &a,
		Observations: &o,
		Run:          &r,
		Plan:         &p,
	}
}

// overloadedLaunch is the launch story as an open-model run that the VU cap
// held back: the last three stages dropped iterations (36% of the whole
// run's), its default limit on dropped iterations failed, and the
// schedule-corrected view shows the queueing the cap hid.
func overloadedLaunch(t testing.TB) model.ReportInput {
	t.Helper()
	in := launch(t)
	run := *in.Run
	run.Stages = append([]model.StageStats(nil), run.Stages...)
	drops := map[string]int64{"ramp-500": 1800, "sustain-500": 9800, "ramp-down": 650}
	var dropped, scheduled int64
	for i := range run.Stages {
		st := &run.Stages[i]
		st.DroppedIterations = drops[st.Name]
		st.DroppedShare = float64(st.DroppedIterations) / float64(st.Iterations+st.DroppedIterations)
		wait := 2000 * st.DroppedShare / 0.4
		st.ScheduleCorrected = &model.CorrectedLatency{
			P50Ms: st.P50Ms + wait, P90Ms: st.P90Ms + 1.6*wait, P95Ms: st.P95Ms + 1.8*wait, P99Ms: st.P99Ms + 2*wait,
			MaxMs: st.MaxMs + 2.2*wait, Requests: st.Requests + st.DroppedIterations,
		}
		dropped += st.DroppedIterations
		scheduled += st.Iterations + st.DroppedIterations
	}
	run.DroppedIterations = dropped
	run.DroppedShare = float64(dropped) / float64(scheduled)
	run.Total.DroppedIterations, run.Total.DroppedShare = dropped, run.DroppedShare
	run.Total.ScheduleCorrected = &model.CorrectedLatency{P50Ms: 640, P90Ms: 3600, P95Ms: 4100, P99Ms: 4700, MaxMs: 5600, Requests: run.Total.Requests + dropped, Estimated: 240}
	run.Thresholds = []model.ThresholdResult{{Metric: "dropped_iterations", Expr: "share<=0.01", Observed: run.DroppedShare, Default: true}}
	run.Warnings = []string{
		"12250 iterations (24.3%) were dropped: every VU up to maxVUs was busy; keeping the schedule needs at least 2400 VUs (Little's law), the cap is 500: raise maxVUs (--max-vus 2400)",
		"the run fails because more than 1% of its scheduled iterations were dropped; allow more with --max-dropped-share (or a dropped_iterations threshold in the scenario)",
	}
	in.Run = &run
	a := *in.Analysis
	a.LoadModel = model.LoadOpen
	in.Analysis = &a
	in.Title = "Checkout launch, capped at 500 VUs: capacity report"
	return in
}
