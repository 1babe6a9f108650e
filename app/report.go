package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/report"
)

// ReportRequest is one report: an analysis and whatever else is at hand
// (its run, its plan, the series it was made from), as the CLI reads them
// from files and the service from its database.
type ReportRequest struct {
	// Input is what the report is made from; Input.Analysis is required.
	// An empty Service means the plan's.
	Input model.ReportInput
	// Observe, when Input.Observations is nil and the run records its
	// metrics, reads the analysed window's series again from the run's
	// embedded store (in RunDir) or Prometheus (Prometheus's URL, when
	// set, instead of the run's), so that each resource is drawn against
	// load. When that fails the report is made without the resource
	// charts and Report.ObserveError says why.
	Observe    bool
	RunDir     string
	Prometheus PrometheusOptions
	Logger     *slog.Logger
}

// Report is a report in its three forms, rendered from one input.
type Report struct {
	// Input is what the report was made from (with the series read again,
	// when they were).
	Input model.ReportInput
	// Document is report.json's document.
	Document *model.Report
	// Markdown, JSON and HTML are report.md, report.json (indented, with
	// a final newline) and the self-contained report.html.
	Markdown, JSON, HTML []byte
	// ObserveError is why the run's series could not be read again (the
	// resource charts are then left out); nil otherwise.
	ObserveError error
}

// CheckReportInput checks documents read from outside (files, a request)
// before a report is made of them: an analysis that is one (it has
// stages, a breaking point or a tested load), and a valid plan when there
// is one. The error is an *OptionError whose Field is "analysis" or "plan".
func CheckReportInput(in model.ReportInput) error {
	a := in.Analysis
	switch {
	case a == nil:
		return &OptionError{"analysis", "missing: a report is made from an analysis"}
	case a.BreakingPoint == nil && a.TestedUpToRPS == 0 && len(a.Stages) == 0:
		return &OptionError{"analysis", "has no stages, breaking_point or tested_up_to_rps: is it the analysis.json written by 'headroom analyze'?"}
	}
	if in.Plan != nil {
		if err := in.Plan.Validate(); err != nil {
			return &OptionError{"plan", err.Error()}
		}
	}
	return nil
}

// BuildReport makes a report: it reads the analysed window's series again
// when asked (ReportRequest.Observe), and renders
// report.json, report.md and report.html. The renderers never read the
// clock: the same input gives the same bytes, whichever front end asks.
func BuildReport(ctx context.Context, req ReportRequest) (*Report, error) {
	in := req.Input
	if in.Analysis == nil {
		return nil, &OptionError{"analysis", "missing: a report is made from an analysis"}
	}
	if in.Service == "" && in.Plan != nil {
		in.Service = in.Plan.Service
	}
	out := &Report{}
	if req.Observe && in.Observations == nil && in.Run != nil && in.Run.Metrics != nil {
		obs, err := reportObserve(ctx, req)
		if err != nil {
			out.ObserveError = err
		} else {
			in.Observations = obs
		}
	}
	out.Input = in
	doc, err := report.Build(in)
	if err != nil {
		return nil, fmt.Errorf("could not build the report: %w", err)
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("could not encode the report: %w", err)
	}
	out.Document, out.JSON = doc, append(js, '\n')
	if out.Markdown, err = report.Markdown(in); err != nil {
		return nil, fmt.Errorf("could not render the report as Markdown: %w", err)
	}
	if out.HTML, err = report.HTML(in); err != nil {
		return nil, fmt.Errorf("could not render the report as HTML: %w", err)
	}
	return out, nil
}

// reportObserve reads the analysed window's series again from the run's
// metrics, for the charts.
func reportObserve(ctx context.Context, req ReportRequest) (*model.Observations, error) {
	a, run := req.Input.Analysis, req.Input.Run
	r := &AnalyzeRequest{Run: run, RunDir: req.RunDir, Prometheus: req.Prometheus, RunID: a.RunID, Logger: req.Logger}
	if start, end := a.Window.Start, a.Window.End; !start.IsZero() && end.After(start) {
		r.Start, r.End = start, end
	}
	obs, err := Observe(ctx, r)
	if errors.Is(err, ErrNoMetrics) {
		return nil, fmt.Errorf("the run %s records no metrics location", run.RunID)
	}
	return obs, err
}
