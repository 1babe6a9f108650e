package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/headroom-sh/headroom/model"
)

// ErrNoAnalysis is returned when a report or gauges are asked for without
// an analysis.
var ErrNoAnalysis = errors.New("no analysis to report on")

// DefaultTitle heads a report whose input has no title.
const DefaultTitle = "Capacity report"

// Capacity sources of ReportSummary.CapacitySource and of the gauges.
const (
	CapacityBreakingPoint = "breaking_point" // measured: the system broke there
	CapacityTestedUpTo    = "tested_up_to"   // a lower bound: nothing broke up to there
	CapacityPlan          = "plan"           // the production capacity a plan derived
)

// Build makes report.json's document from the input: the summary, each
// chart's data, and notes on the charts that could not be drawn. It does not
// modify the input.
func Build(in model.ReportInput) (*model.Report, error) {
	a := in.Analysis
	if a == nil {
		return nil, ErrNoAnalysis
	}
	r := &model.Report{
		Title:    in.Title,
		Service:  in.Service,
		RunID:    a.RunID,
		Scenario: a.Scenario,
		Window:   a.Window,
		Summary:  summarize(a, in.Plan),
		Analysis: *a,
		Plan:     in.Plan,
	}
	if r.Title == "" {
		r.Title = DefaultTitle
	}
	if r.Service == "" && in.Plan != nil {
		r.Service = in.Plan.Service
	}
	if !in.GeneratedAt.IsZero() {
		t := in.GeneratedAt
		r.GeneratedAt = &t
	}
	if run := in.Run; run != nil {
		r.Run = &model.ReportRun{
			RunID: run.RunID, Status: run.Status, Target: run.Target, Shard: run.Shard,
			Start: run.Start, End: run.End, DroppedIterations: run.DroppedIterations,
			DroppedShare: run.DroppedShare, Checks: run.Checks, Thresholds: run.Thresholds,
			Warnings: run.Warnings,
		}
		if run.DroppedIterations > 0 || run.Total.ScheduleCorrected != nil {
			for _, st := range run.Stages {
				r.Run.Stages = append(r.Run.Stages, runStage(st))
			}
			t := runStage(run.Total)
			r.Run.Total = &t
		}
		if r.RunID == "" {
			r.RunID = run.RunID
		}
	}
	r.Charts, r.Skipped = charts(in)
	return r, nil
}

// runStage is what a report keeps of one of run.json's stage rows.
func runStage(st model.StageStats) model.ReportRunStage {
	out := model.ReportRunStage{Name: st.Name, Iterations: st.Iterations, DroppedIterations: st.DroppedIterations, DroppedShare: st.DroppedShare}
	if c := st.ScheduleCorrected; c != nil {
		cp := *c
		out.ScheduleCorrected = &cp
	}
	return out
}

// DefaultMaxDroppedShare is the share of scheduled iterations a run may
// drop before its report warns that the figures describe less load than
// was offered, when the run's thresholds do not judge dropped iterations
// themselves. It is the runner's default limit (loadgen's
// DefaultMaxDroppedShare).
const DefaultMaxDroppedShare = 0.01

// overloaded says whether the run dropped more of its scheduled iterations
// than its limit, and the limit as words: the failed dropped_iterations
// threshold's, or DefaultMaxDroppedShare when no threshold judged them.
func overloaded(run *model.ReportRun) (bool, string) {
	if run == nil || run.DroppedIterations == 0 {
		return false, ""
	}
	judged := false
	for _, t := range run.Thresholds {
		if t.Metric != "dropped_iterations" && !strings.HasPrefix(t.Metric, "dropped_iterations{") {
			continue
		}
		judged = true
		if !t.Passed {
			return true, "the run's limit, " + t.Expr
		}
	}
	if !judged && run.DroppedShare > DefaultMaxDroppedShare {
		return true, "the default limit of " + fmtPct(DefaultMaxDroppedShare)
	}
	return false, ""
}

// JSON renders report.json: Build's document, indented, with a final newline.
func JSON(in model.ReportInput) ([]byte, error) {
	r, err := Build(in)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("could not encode the report: %w", err)
	}
	return append(b, '\n'), nil
}

// Capacity is the capacity an analysis found, in requests/s, and where it
// comes from: the breaking point's throughput when the system broke, else
// the highest load tested (CapacityTestedUpTo), which is a lower bound.
func Capacity(a *model.Analysis) (rps float64, source string) {
	if a.BreakingPoint != nil {
		return a.BreakingPoint.RPS, CapacityBreakingPoint
	}
	return a.TestedUpToRPS, CapacityTestedUpTo
}

func summarize(a *model.Analysis, p *model.Plan) model.ReportSummary {
	s := model.ReportSummary{
		Verdict:              a.Verdict,
		Bottleneck:           a.Bottleneck.Resource,
		BottleneckName:       a.Bottleneck.Name,
		BottleneckConfidence: a.Bottleneck.Confidence,
		SaturatedAtRPS:       a.Bottleneck.SaturatedAtRPS,
		TestedUpToRPS:        a.TestedUpToRPS,
	}
	s.CapacityRPS, s.CapacitySource = Capacity(a)
	if bp := a.BreakingPoint; bp != nil {
		s.Broke = true
		s.BreakReason, s.BreakVUs, s.BreakRPS = bp.Reason, bp.VUs, bp.RPS
	}
	if u := a.USL; u != nil && u.PeakN != nil && u.PeakX != nil {
		n, x := *u.PeakN, *u.PeakX
		s.USLPeakN, s.USLPeakRPS = &n, &x
	}
	for _, st := range a.Stages {
		if finite(st.P95Ms) {
			s.MaxP95Ms = math.Max(s.MaxP95Ms, st.P95Ms)
		}
	}
	if p != nil {
		s.TargetRPS = p.Target.TargetRPS
		s.ExpectedCapacityRPS = p.Totals.ExpectedCapacityRPS
		s.ExpectedHeadroomRatio = p.Totals.ExpectedHeadroomRatio
		meets := p.Totals.MeetsTarget
		s.MeetsTarget = &meets
		s.DeltaMonthly = p.Totals.DeltaMonthly
		s.Currency = p.Totals.Currency
	}
	return s
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
