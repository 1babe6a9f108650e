package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/planner"
)

// MaxAnalysisWindow bounds a window analysis of the configured Prometheus.
const MaxAnalysisWindow = 7 * 24 * time.Hour

// AnalysisRequest is the body of POST /api/v1/analyses: a run, or a window
// of the configured Prometheus.
type AnalysisRequest struct {
	RunID  string `json:"run_id,omitempty"`
	Window *struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"window,omitempty"`
	Selector     string  `json:"selector,omitempty"`
	SLOP95Ms     float64 `json:"slo_p95_ms,omitempty"`
	MaxErrorRate float64 `json:"max_error_rate,omitempty"`
	Saturation   float64 `json:"saturation,omitempty"`
	// StepMs and RateWindowMs are the series' resolution, as the CLI's
	// --step and --rate-window; 0 derives them from the run, the same way
	// for both (app.Resolution).
	StepMs       float64 `json:"step_ms,omitempty"`
	RateWindowMs float64 `json:"rate_window_ms,omitempty"`
}

// AnalysisResource is a stored analysis.
type AnalysisResource struct {
	ID        string          `json:"id"`
	RunID     string          `json:"run_id,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	Analysis  json.RawMessage `json:"analysis"`
}

// PlanRequest is the body of POST /api/v1/plans.
type PlanRequest struct {
	AnalysisID       string          `json:"analysis_id"`
	Topology         json.RawMessage `json:"topology"`
	TargetRPS        float64         `json:"target_rps,omitempty"`
	TargetMultiplier float64         `json:"target_multiplier,omitempty"`
	SLOP95Ms         float64         `json:"slo_p95_ms,omitempty"`
	MaxErrorRate     float64         `json:"max_error_rate,omitempty"`
	TargetHeadroom   float64         `json:"target_headroom,omitempty"`
}

// PlanResource is a stored plan.
type PlanResource struct {
	ID         string          `json:"id"`
	AnalysisID string          `json:"analysis_id"`
	CreatedAt  time.Time       `json:"created_at"`
	Plan       json.RawMessage `json:"plan"`
}

// CompareRequest is the body of POST /api/v1/compare.
type CompareRequest struct {
	Baseline             string  `json:"baseline"`
	Candidate            string  `json:"candidate"`
	MaxP95Regression     float64 `json:"max_p95_regression,omitempty"`
	MaxP99Regression     float64 `json:"max_p99_regression,omitempty"`
	MaxErrorRateIncrease float64 `json:"max_error_rate_increase,omitempty"`
}

func finitePos(v float64) bool { return v >= 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }

// finishedRun reads a run's document; a run in progress is a conflict.
func (s *Server) finishedRun(ctx context.Context, field, id string) (*model.Run, error) {
	r, err := s.db.getRun(ctx, id)
	if errors.Is(err, errNotFound) {
		return nil, errorf(http.StatusNotFound, "%s: run %q not found", field, id)
	}
	if err != nil {
		return nil, err
	}
	if r.Status == StatusRunning {
		return nil, errorf(http.StatusConflict, "%s: run %q is still running: analyse it once it has finished", field, id)
	}
	if len(r.Run) == 0 {
		return nil, errorf(http.StatusConflict, "%s: run %q (%s) has no results to analyse: %s", field, id, r.Status, r.Error)
	}
	var run model.Run
	if err := json.Unmarshal(r.Run, &run); err != nil {
		return nil, fmt.Errorf("could not read the stored run %s: %w", id, err)
	}
	return &run, nil
}

func (s *Server) createAnalysis(c echo.Context) error {
	var req AnalysisRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	switch {
	case !finitePos(req.SLOP95Ms):
		return errorf(http.StatusUnprocessableEntity, "slo_p95_ms: %v: expected milliseconds > 0 such as 800", req.SLOP95Ms)
	case !finitePos(req.StepMs) || !finitePos(req.RateWindowMs):
		return errorf(http.StatusUnprocessableEntity, "step_ms, rate_window_ms: expected milliseconds ≥ 0 (0: derived from the run)")
	}
	opts := app.AnalyzeOptions{
		SLOP95: ms(req.SLOP95Ms), MaxErrorRate: req.MaxErrorRate, Saturation: req.Saturation,
		Step: ms(req.StepMs), RateWindow: ms(req.RateWindowMs),
	}
	if err := opts.Validate(); err != nil {
		var oe *app.OptionError
		if errors.As(err, &oe) && oe.Field == "slo_p95" {
			oe.Field = "slo_p95_ms"
		}
		return errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	if _, err := collector.ParseSelector(req.Selector); err != nil {
		return errorf(http.StatusUnprocessableEntity, "selector: %v", err)
	}
	ctx := c.Request().Context()
	areq := &app.AnalyzeRequest{Selectors: collector.Selectors{Scope: model.Scope{Selector: req.Selector}}, Options: opts, Logger: s.log}
	switch {
	case req.RunID != "" && req.Window != nil:
		return errorf(http.StatusUnprocessableEntity, "run_id, window: give one, not both")
	case req.RunID != "":
		run, err := s.finishedRun(ctx, "run_id", req.RunID)
		if err != nil {
			return err
		}
		if run.Metrics == nil || (run.Metrics.Prometheus == "" && run.Metrics.Store == "") {
			return errorf(http.StatusUnprocessableEntity, "run_id: run %q records no metrics location", run.RunID)
		}
		areq.Run, areq.RunDir = run, filepath.Join(s.cfg.DataDir, "runs", run.RunID)
		// The run's own Prometheus is read with the service's credentials;
		// never a URL from the request.
		areq.Prometheus = s.cfg.Prometheus.PrometheusOptions.WithURL("")
	case req.Window != nil:
		w := req.Window
		switch {
		case s.prom == nil:
			return errorf(http.StatusUnprocessableEntity, "window: this service has no Prometheus configured (--prometheus): analyse a run by run_id instead")
		case w.Start.IsZero() || w.End.IsZero():
			return errorf(http.StatusUnprocessableEntity, "window: expected start and end as RFC 3339 times")
		case !w.End.After(w.Start):
			return errorf(http.StatusUnprocessableEntity, "window.end: %s is not after window.start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
		case w.End.Sub(w.Start) > MaxAnalysisWindow:
			return errorf(http.StatusUnprocessableEntity, "window: %s is longer than the limit of %s", w.End.Sub(w.Start), MaxAnalysisWindow)
		case req.Selector == "":
			return errorf(http.StatusUnprocessableEntity, "selector: missing: a window analysis needs the system's label selector, such as {job=\"checkout\"}")
		}
		areq.Start, areq.End = w.Start, w.End
		areq.Prometheus = s.cfg.Prometheus.PrometheusOptions
	default:
		return errorf(http.StatusUnprocessableEntity, "run_id: missing: give run_id, or window and selector")
	}
	a, obs, err := app.Analyze(ctx, areq)
	if err != nil {
		return errorf(http.StatusUnprocessableEntity, "could not analyse: %v", err)
	}
	doc, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("could not encode the analysis: %w", err)
	}
	obsDoc, err := json.Marshal(obs)
	if err != nil {
		// The charts are drawn from the run then; the analysis stands.
		s.log.Warn("could not encode the observations", "err", err)
		obsDoc = nil
	}
	now := s.now()
	row := &analysisRow{ID: newID("a-", now), CreatedAt: now, Analysis: doc, Observation: obsDoc}
	if areq.Run != nil {
		row.RunID = areq.Run.RunID
	}
	if err := s.db.insertAnalysis(ctx, row); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, AnalysisResource{ID: row.ID, RunID: row.RunID, CreatedAt: row.CreatedAt, Analysis: doc})
}

func (s *Server) getAnalysis(c echo.Context) error {
	a, err := s.db.getAnalysis(c.Request().Context(), c.Param("id"), false)
	if errors.Is(err, errNotFound) {
		return errorf(http.StatusNotFound, "analysis %q not found", c.Param("id"))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, AnalysisResource{ID: a.ID, RunID: a.RunID, CreatedAt: a.CreatedAt, Analysis: a.Analysis})
}

func (s *Server) listAnalyses(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	rows, err := s.db.listAnalyses(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	out := make([]AnalysisResource, 0, len(rows))
	for _, a := range rows {
		out = append(out, AnalysisResource{ID: a.ID, RunID: a.RunID, CreatedAt: a.CreatedAt, Analysis: a.Analysis})
	}
	return c.JSON(http.StatusOK, map[string]any{"analyses": out})
}

// reportInput gathers an analysis with its observations and run.
func (s *Server) reportInput(ctx context.Context, field, id string) (model.ReportInput, error) {
	in := model.ReportInput{}
	a, err := s.db.getAnalysis(ctx, id, true)
	if errors.Is(err, errNotFound) {
		return in, errorf(http.StatusNotFound, "%s: analysis %q not found", field, id)
	}
	if err != nil {
		return in, err
	}
	in.Analysis = &model.Analysis{}
	if err := json.Unmarshal(a.Analysis, in.Analysis); err != nil {
		return in, fmt.Errorf("could not read the stored analysis %s: %w", id, err)
	}
	in.GeneratedAt = a.CreatedAt
	if len(a.Observation) > 0 {
		var obs model.Observations
		if err := json.Unmarshal(a.Observation, &obs); err == nil {
			in.Observations = &obs
		}
	}
	if a.RunID != "" {
		if r, err := s.db.getRun(ctx, a.RunID); err == nil && len(r.Run) > 0 {
			var run model.Run
			if json.Unmarshal(r.Run, &run) == nil {
				in.Run = &run
			}
		}
	}
	return in, nil
}

func (s *Server) analysisReport(c echo.Context) error {
	in, err := s.reportInput(c.Request().Context(), "id", c.Param("id"))
	if err != nil {
		return err
	}
	return s.sendReport(c, in)
}

// sendReport renders a report (app.BuildReport, as `headroom report`) in
// the form the route names: report.md, report.json or report.html.
func (s *Server) sendReport(c echo.Context, in model.ReportInput) error {
	r, err := app.BuildReport(c.Request().Context(), app.ReportRequest{Input: in, Logger: s.log})
	if err != nil {
		return fmt.Errorf("could not render the report: %w", err)
	}
	switch path.Ext(c.Path()) {
	case ".md":
		return c.Blob(http.StatusOK, "text/markdown; charset=utf-8", r.Markdown)
	case ".json":
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, r.JSON)
	}
	return c.HTMLBlob(http.StatusOK, r.HTML)
}

func (s *Server) createPlan(c echo.Context) error {
	var req PlanRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	switch {
	case req.AnalysisID == "":
		return errorf(http.StatusUnprocessableEntity, "analysis_id: missing: the id of an analysis from POST /api/v1/analyses")
	case len(req.Topology) == 0 || string(req.Topology) == "null":
		return errorf(http.StatusUnprocessableEntity, "topology: missing: what production runs today (topology.yaml as JSON, see examples/topology.yaml)")
	}
	ctx := c.Request().Context()
	in, err := s.reportInput(ctx, "analysis_id", req.AnalysisID)
	if err != nil {
		return err
	}
	topo, err := planner.ParseTopology(req.Topology, "topology")
	if err != nil {
		return errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	// The baseline queries run on the configured Prometheus, never on a
	// URL from the request: the service must not be made to send requests
	// to arbitrary hosts.
	p, err := app.Plan(ctx, app.PlanRequest{
		Analysis: in.Analysis, Topology: topo, Baseline: s.prom, Now: s.now(),
		Target: planner.Target{
			Multiplier: req.TargetMultiplier, RPS: req.TargetRPS,
			SLOP95:       time.Duration(req.SLOP95Ms * float64(time.Millisecond)),
			MaxErrorRate: req.MaxErrorRate, HeadroomRatio: req.TargetHeadroom,
		},
	})
	var oe *app.OptionError
	var be *app.BaselineError
	switch {
	case errors.As(err, &oe):
		field := map[string]string{"target_rps/target_multiplier": "target_rps, target_multiplier", "slo_p95": "slo_p95_ms"}[oe.Field]
		if field == "" {
			field = oe.Field
		}
		return errorf(http.StatusUnprocessableEntity, "%s: %s", field, oe.Msg)
	case errors.Is(err, app.ErrNoBaselineSource):
		return errorf(http.StatusUnprocessableEntity, "topology.baseline: the queries need a Prometheus and this service has none configured (--prometheus); give baseline.rps as a number")
	case errors.As(err, &be):
		return errorf(http.StatusUnprocessableEntity, "%v", err)
	case err != nil:
		return errorf(http.StatusUnprocessableEntity, "could not plan: %v", err)
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("could not encode the plan: %w", err)
	}
	now := s.now()
	row := &planRow{ID: newID("p-", now), AnalysisID: req.AnalysisID, CreatedAt: now, Plan: doc}
	if err := s.db.insertPlan(ctx, row); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, PlanResource{ID: row.ID, AnalysisID: row.AnalysisID, CreatedAt: row.CreatedAt, Plan: doc})
}

func (s *Server) getPlan(c echo.Context) error {
	p, err := s.db.getPlan(c.Request().Context(), c.Param("id"))
	if errors.Is(err, errNotFound) {
		return errorf(http.StatusNotFound, "plan %q not found", c.Param("id"))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, PlanResource{ID: p.ID, AnalysisID: p.AnalysisID, CreatedAt: p.CreatedAt, Plan: p.Plan})
}

func (s *Server) listPlans(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	rows, err := s.db.listPlans(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	out := make([]PlanResource, 0, len(rows))
	for _, p := range rows {
		out = append(out, PlanResource{ID: p.ID, AnalysisID: p.AnalysisID, CreatedAt: p.CreatedAt, Plan: p.Plan})
	}
	return c.JSON(http.StatusOK, map[string]any{"plans": out})
}

func (s *Server) planReport(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := s.db.getPlan(ctx, c.Param("id"))
	if errors.Is(err, errNotFound) {
		return errorf(http.StatusNotFound, "plan %q not found", c.Param("id"))
	}
	if err != nil {
		return err
	}
	in, err := s.reportInput(ctx, "analysis_id", p.AnalysisID)
	if err != nil {
		return err
	}
	in.Plan = &model.Plan{}
	if err := json.Unmarshal(p.Plan, in.Plan); err != nil {
		return fmt.Errorf("could not read the stored plan %s: %w", p.ID, err)
	}
	in.GeneratedAt = p.CreatedAt
	return s.sendReport(c, in)
}

// compareRun finds the run behind an analysis id or a run id.
func (s *Server) compareRun(ctx context.Context, field, id string) (*model.Run, error) {
	if id == "" {
		return nil, errorf(http.StatusUnprocessableEntity, "%s: missing: an analysis id or a run id", field)
	}
	a, err := s.db.getAnalysis(ctx, id, false)
	switch {
	case err == nil && a.RunID == "":
		return nil, errorf(http.StatusUnprocessableEntity, "%s: analysis %q was made from a Prometheus window, not a run: compare needs runs", field, id)
	case err == nil:
		id = a.RunID
	case !errors.Is(err, errNotFound):
		return nil, err
	}
	run, err := s.finishedRun(ctx, field, id)
	var ae *apiError
	if errors.As(err, &ae) && ae.code == http.StatusNotFound {
		return nil, errorf(http.StatusNotFound, "%s: no analysis or run %q", field, id)
	}
	return run, err
}

func (s *Server) compare(c echo.Context) error {
	var req CompareRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	opts := analyzer.CompareOptions{MaxP95Regression: req.MaxP95Regression, MaxP99Regression: req.MaxP99Regression, MaxErrorRateIncrease: req.MaxErrorRateIncrease}
	if err := opts.Validate(); err != nil {
		return errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	ctx := c.Request().Context()
	b, err := s.compareRun(ctx, "baseline", req.Baseline)
	if err != nil {
		return err
	}
	cur, err := s.compareRun(ctx, "candidate", req.Candidate)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, analyzer.Compare(b, cur, opts))
}
