package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
)

// buildServer is a build of the system under test: GET /fast answers at
// once, GET /slow after slowMs.
func buildServer(t *testing.T, slowMs int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(time.Duration(slowMs) * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// recordRun drives five one-second stages (10 to 50 iterations/s) of GET
// /fast then GET /slow at target with the real runner and writes run.json
// into dir, with a series point every 250 ms. The load is an arrival
// rate, not a number of VUs, so that every build gets the same number of
// requests per stage: with VUs, a slower GET /slow leaves fewer GET /fast
// per stage, and a p95 of fewer samples sits nearer their maximum, which
// on a busy machine made the unchanged GET /fast look 150% slower.
func recordRun(dir, target string) (string, error) {
	var stages []model.Stage
	for i := 1; i <= 5; i++ {
		stages = append(stages, model.Stage{Name: "rate-" + string(rune('0'+i)), Duration: model.Duration(time.Second), Target: float64(10 * i)})
	}
	sc := &model.Scenario{
		Name: "build", Target: target,
		Flows: []model.Flow{{Name: "browse", Steps: []model.Step{
			{Method: "GET", Path: "/fast"},
			{Method: "GET", Path: "/slow"},
		}}},
		Executors: []model.Executor{{Type: model.ExecutorRampingArrivalRate, StartRate: 10, PreAllocatedVUs: 20, MaxVUs: 100,
			GracefulRampDown: model.Duration(time.Second), Stages: stages}},
	}
	r, err := loadgen.NewRunner(loadgen.Config{Scenario: sc, SeriesInterval: 250 * time.Millisecond, GracePeriod: time.Second})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := r.Run(ctx)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, res.RunID+".json")
	return path, writeJSONFile(path, res)
}

// TestCompareRealRuns records runs with the real runner against httptest
// servers: two runs of the same build are not flagged, a build whose GET
// /slow takes three times as long is, naming it. GET /slow takes 100 ms,
// well above the scheduling jitter of a busy machine, and the three runs
// go at the same time, so that a burst of load on the machine (this one
// is shared) slows them alike instead of looking like a regression: run
// one after the other, two runs of the same build were seen to differ by
// +23% on GET /slow in every stage while other tests loaded the machine.
func TestCompareRealRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("drives load for 5 seconds")
	}
	build, slow := buildServer(t, 100), buildServer(t, 300)
	dir := t.TempDir()
	targets := []string{build.URL, build.URL, slow.URL}
	paths := make([]string, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, target := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = recordRun(dir, target)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	base, same, worse := paths[0], paths[1], paths[2]
	out, err := runCLI(t, "compare", "--baseline", base, "--current", same)
	if err != nil {
		t.Fatalf("two runs of the same build were flagged: %v\n%s", err, out)
	}
	if !strings.Contains(out, "No significant regression") {
		t.Errorf("output:\n%s", out)
	}
	t.Logf("same build:\n%s", out)

	out, err = runCLI(t, "compare", "--baseline", base, "--current", worse)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitCheckFailed {
		t.Fatalf("a three-times-slower build: error %v, want exit 99\n%s", err, out)
	}
	for _, want := range []string{"overall p95_ms", "GET /slow p95_ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "GET /fast") {
		t.Errorf("error %q blames the unchanged GET /fast", err)
	}
	if !strings.Contains(out, "Regressed:") || !strings.Contains(out, "✗") {
		t.Errorf("output does not say what regressed:\n%s", out)
	}
}

// fixtureRun writes a run.json with per-interval p95 values per stage.
func fixtureRun(t *testing.T, id string, p95s []float64) string {
	t.Helper()
	r := &model.Run{RunID: id, Start: synthStart, End: synthStart.Add(time.Minute), IntervalMs: 5000}
	for i, v := range p95s {
		r.Series = append(r.Series, model.SeriesPoint{Time: synthStart.Add(time.Duration(i+1) * 5 * time.Second), Stage: "steady", VUs: 10, RPS: 50, Requests: 250, P95Ms: v, P99Ms: v * 1.3})
	}
	r.Total = model.StageStats{Name: "Total", Requests: int64(250 * len(p95s)), P95Ms: median(p95s), P99Ms: median(p95s) * 1.3}
	path := filepath.Join(t.TempDir(), id+".json")
	if err := writeJSONFile(path, r); err != nil {
		t.Fatal(err)
	}
	return path
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

func TestCompareJSONAndFlags(t *testing.T) {
	base := fixtureRun(t, "base", []float64{100, 102, 98, 101, 99, 100, 103, 97, 100, 101})
	cur := fixtureRun(t, "cur", []float64{131, 129, 133, 130, 128, 132, 130, 131, 129, 130})
	out, err := runCLI(t, "compare", "--baseline", base, "--current", cur, "--format", "json")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitCheckFailed {
		t.Fatalf("+30%%: error %v, want exit 99", err)
	}
	var c model.Comparison
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("stdout is not a comparison: %v", err)
	}
	if !c.Regressed || c.Rows[0].Metric != "p95_ms" || !c.Rows[0].Regressed {
		t.Errorf("comparison = %+v", c.Rows[0])
	}
	// Allowing +40% passes.
	if _, err := runCLI(t, "compare", "--baseline", base, "--current", cur, "--max-p95-regression", "40%", "--max-p99-regression", "0.4"); err != nil {
		t.Errorf("+30%% with +40%% allowed: %v", err)
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"both runs are required", []string{"--baseline", base}, []string{"--baseline and --current are required"}},
		{"a bad percentage is named", []string{"--baseline", base, "--current", cur, "--max-p95-regression", "lots"}, []string{"--max-p95-regression", "20%"}},
		{"an alpha of 1 is refused", []string{"--baseline", base, "--current", cur, "--alpha", "1"}, []string{"Alpha"}},
		{"a missing file is named", []string{"--baseline", base, "--current", filepath.Join(t.TempDir(), "none.json")}, []string{"--current", "none.json"}},
		{"an unknown format is named", []string{"--baseline", base, "--current", cur, "--format", "xml"}, []string{"--format"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCLI(t, append([]string{"compare"}, tc.args...)...)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.As(err, &ee) {
				t.Fatalf("exit %d for bad input, want 1", ee.Code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
