package app

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
)

func reportAnalysis() *model.Analysis {
	t0 := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	return &model.Analysis{
		RunID: "r-1", Verdict: "Tested up to 120 RPS.", TestedUpToRPS: 120,
		Window: model.Window{Start: t0, End: t0.Add(time.Minute)},
	}
}

// TestBuildReportRendersTheSameBytesForTheSameInput: the renderers never
// read the clock, so two calls on one input give the same three files, and
// the report is filed under the plan's service when none is given.
func TestBuildReportRendersTheSameBytesForTheSameInput(t *testing.T) {
	in := model.ReportInput{GeneratedAt: time.Date(2026, 1, 2, 16, 0, 0, 0, time.UTC), Analysis: reportAnalysis(), Plan: &model.Plan{Service: "checkout"}}
	a, err := BuildReport(context.Background(), ReportRequest{Input: in})
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildReport(context.Background(), ReportRequest{Input: in})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		a, b []byte
	}{{"report.md", a.Markdown, b.Markdown}, {"report.json", a.JSON, b.JSON}, {"report.html", a.HTML, b.HTML}} {
		if len(f.a) == 0 || !bytes.Equal(f.a, f.b) {
			t.Errorf("%s: %d bytes, then %d different bytes; want the same non-empty bytes", f.name, len(f.a), len(f.b))
		}
	}
	if a.Document.Service != "checkout" || a.Input.Service != "checkout" || !strings.Contains(string(a.Markdown), "checkout") {
		t.Errorf("service %q (input %q); want the plan's, checkout", a.Document.Service, a.Input.Service)
	}
	if !bytes.HasSuffix(a.JSON, []byte("}\n")) {
		t.Errorf("report.json does not end with a newline")
	}
}

// TestBuildReportWithoutTheRunsSeriesStillReports: a run whose store is
// gone gives a report without the resource charts, and says why.
func TestBuildReportWithoutTheRunsSeriesStillReports(t *testing.T) {
	a := reportAnalysis()
	run := &model.Run{RunID: "r-1", Start: a.Window.Start, End: a.Window.End, Metrics: &model.MetricsRef{Store: "metrics"}}
	r, err := BuildReport(context.Background(), ReportRequest{
		Input: model.ReportInput{Analysis: a, Run: run}, Observe: true, RunDir: filepath.Join(t.TempDir(), "gone"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.ObserveError == nil || r.Input.Observations != nil || len(r.HTML) == 0 {
		t.Errorf("observe error %v, observations %v, %d bytes of HTML; want an error, none and a report", r.ObserveError, r.Input.Observations != nil, len(r.HTML))
	}
	if _, err := BuildReport(context.Background(), ReportRequest{}); err == nil {
		t.Error("a report without an analysis was built")
	}
}

func TestCheckReportInputNamesTheDocument(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    model.ReportInput
		field string
	}{
		{"no analysis", model.ReportInput{}, "analysis"},
		{"an empty analysis", model.ReportInput{Analysis: &model.Analysis{}}, "analysis"},
		{"an invalid plan", model.ReportInput{Analysis: reportAnalysis(), Plan: &model.Plan{}}, "plan"},
		{"a good analysis", model.ReportInput{Analysis: reportAnalysis()}, ""},
	} {
		err := CheckReportInput(tc.in)
		var oe *OptionError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &oe) || oe.Field != tc.field):
			t.Errorf("%s: %v; want an OptionError on %s", tc.name, err, tc.field)
		}
	}
}

// TestThisMachinesCoresAreOneRule: analyses and resource listings take
// this machine's cores as the CPU limit of a target on it (a stated count
// is kept); a review never does.
func TestThisMachinesCoresAreOneRule(t *testing.T) {
	if got := LocalScope(collector.Selectors{}).LocalCores; got != runtime.NumCPU() {
		t.Errorf("LocalScope: %d cores; want this machine's %d", got, runtime.NumCPU())
	}
	if got := LocalScope(collector.Selectors{LocalCores: 3}).LocalCores; got != 3 {
		t.Errorf("LocalScope of 3 stated cores: %d", got)
	}
	a := reportAnalysis()
	req := &AnalyzeRequest{Run: &model.Run{RunID: "r-1", Start: a.Window.Start, End: a.Window.End}}
	cfg, err := req.ObserveConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Selectors.LocalCores != runtime.NumCPU() {
		t.Errorf("an analysis: %d cores; want this machine's %d", cfg.Selectors.LocalCores, runtime.NumCPU())
	}
	if got := ReviewSelectors(model.ReviewSpec{}, LocalScope(collector.Selectors{})).LocalCores; got != 0 {
		t.Errorf("a review: %d cores; want none", got)
	}
}
