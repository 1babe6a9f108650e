package model

import "time"

// This file holds the report: what a report is made from (ReportInput) and
// report.json (Report), the same content as report.md and report.html,
// with each chart's data, for scripts.

// ReportInput is what `headroom analyze`, `plan`, `demo` and `report` make
// a report from: an analysis, and whatever else is at hand. Only Analysis
// is required; a chart whose data is absent is left out with a note.
type ReportInput struct {
	// Title heads the report; empty means "Capacity report".
	Title string `json:"title,omitempty"`
	// Service is the name the report is filed under (optional).
	Service string `json:"service,omitempty"`
	// GeneratedAt is printed in the report when set; the renderers never
	// read the clock, so that the same input gives the same bytes.
	GeneratedAt time.Time `json:"generated_at,omitzero"`
	// Analysis is the analysed window. Required.
	Analysis *Analysis `json:"analysis"`
	// Observations are the series the analysis was made from: the load
	// curves at full resolution and each resource over time. Without them
	// the load charts are drawn from Run's series (or, lacking those, one
	// point per stage) and the resource charts are left out.
	Observations *Observations `json:"observations,omitempty"`
	// Run is the run that was analysed (run.json), when there is one.
	Run *Run `json:"run,omitempty"`
	// Plan is the capacity plan made from the analysis, when there is one.
	Plan *Plan `json:"plan,omitempty"`
}

// Report is report.json: the report's summary, its charts' data and the
// documents it was made from. The JSON names are relied on by users'
// scripts.
type Report struct {
	Title       string     `json:"title"`
	Service     string     `json:"service,omitempty"`
	GeneratedAt *time.Time `json:"generated_at,omitempty"`
	RunID       string     `json:"run_id,omitempty"`
	Scenario    string     `json:"scenario,omitempty"`
	Window      Window     `json:"window"`
	// Summary holds the headline numbers.
	Summary ReportSummary `json:"summary"`
	// Charts are the charts of report.html, in page order, with their data.
	Charts []Chart `json:"charts"`
	// Skipped lists the charts that could not be drawn, and why.
	Skipped []SkippedChart `json:"skipped,omitempty"`
	// Analysis and Plan are the documents the report shows.
	Analysis Analysis `json:"analysis"`
	Plan     *Plan    `json:"plan,omitempty"`
	// Run summarises the run, when there was one (its series are in the
	// charts).
	Run *ReportRun `json:"run,omitempty"`
}

// ReportSummary is a report's headline.
type ReportSummary struct {
	// Verdict is the analysis's one-sentence verdict.
	Verdict string `json:"verdict"`
	// Broke is true when the system broke within the tested range.
	Broke bool `json:"broke"`
	// CapacityRPS is the tested system's capacity in requests/s and
	// CapacitySource where it comes from: breaking_point (measured), or
	// tested_up_to (nothing broke, so the highest load tested: a lower
	// bound).
	CapacityRPS    float64 `json:"capacity_rps"`
	CapacitySource string  `json:"capacity_source"`
	// BreakReason is the earliest breaking point's reason; BreakVUs and
	// BreakRPS its load (0 when nothing broke).
	BreakReason string  `json:"break_reason,omitempty"`
	BreakVUs    float64 `json:"break_vus,omitempty"`
	BreakRPS    float64 `json:"break_rps,omitempty"`
	// Bottleneck is the blamed resource's kind (or unknown, none),
	// BottleneckName its human name, BottleneckConfidence how sure the
	// analysis is, and SaturatedAtRPS the load it saturated at.
	Bottleneck           string   `json:"bottleneck"`
	BottleneckName       string   `json:"bottleneck_name,omitempty"`
	BottleneckConfidence string   `json:"bottleneck_confidence,omitempty"`
	SaturatedAtRPS       *float64 `json:"saturated_at_rps"`
	// TestedUpToRPS is the highest sustained load of the window.
	TestedUpToRPS float64 `json:"tested_up_to_rps"`
	// USLPeakN and USLPeakRPS are the USL fit's peak concurrency N* and
	// its throughput; null when the fit has no peak.
	USLPeakN   *float64 `json:"usl_peak_n"`
	USLPeakRPS *float64 `json:"usl_peak_rps"`
	// MaxP95Ms is the highest stage p95 in milliseconds.
	MaxP95Ms float64 `json:"max_p95_ms"`
	// TargetRPS, ExpectedCapacityRPS, ExpectedHeadroomRatio, MeetsTarget,
	// DeltaMonthly and Currency repeat the plan's totals; zero without a
	// plan.
	TargetRPS             float64 `json:"target_rps,omitempty"`
	ExpectedCapacityRPS   float64 `json:"expected_capacity_rps,omitempty"`
	ExpectedHeadroomRatio float64 `json:"expected_headroom_ratio,omitempty"`
	MeetsTarget           *bool   `json:"meets_target,omitempty"`
	DeltaMonthly          float64 `json:"delta_monthly,omitempty"`
	Currency              string  `json:"currency,omitempty"`
}

// ReportRun is what a report shows of run.json besides its series.
type ReportRun struct {
	RunID             string    `json:"run_id"`
	Status            string    `json:"status"`
	Target            string    `json:"target,omitempty"`
	Shard             string    `json:"shard,omitempty"`
	Start             time.Time `json:"start"`
	End               time.Time `json:"end"`
	DroppedIterations int64     `json:"dropped_iterations,omitempty"`
	// DroppedShare is DroppedIterations over every scheduled iteration.
	DroppedShare float64           `json:"dropped_share,omitempty"`
	Checks       []CheckStats      `json:"checks,omitempty"`
	Thresholds   []ThresholdResult `json:"thresholds,omitempty"`
	// Warnings are run.json's warnings, word for word.
	Warnings []string `json:"warnings,omitempty"`
	// Stages and Total are what run.json knows of each stage and of the
	// whole run that the stored series do not: the dropped iterations and
	// the schedule-corrected latency view. Present for open-model runs.
	Stages []ReportRunStage `json:"stages,omitempty"`
	Total  *ReportRunStage  `json:"total,omitempty"`
}

// ReportRunStage is one stage of run.json as a report shows it beside the
// analysis's stage table.
type ReportRunStage struct {
	Name              string            `json:"name"`
	Iterations        int64             `json:"iterations"`
	DroppedIterations int64             `json:"dropped_iterations,omitempty"`
	DroppedShare      float64           `json:"dropped_share,omitempty"`
	ScheduleCorrected *CorrectedLatency `json:"schedule_corrected,omitempty"`
}

// Chart kinds of series and markers.
const (
	// SeriesPoints is a series drawn as dots; SeriesLine as a line through
	// its points in order.
	SeriesPoints = "points"
	SeriesLine   = "line"
	// MarkerX is a vertical line at X; MarkerY a horizontal line at Y;
	// MarkerPoint a labelled point at (X, Y).
	MarkerX     = "x"
	MarkerY     = "y"
	MarkerPoint = "point"
)

// Units of chart axes.
const (
	UnitRPS     = "rps"     // requests per second
	UnitVUs     = "vus"     // virtual users
	UnitMs      = "ms"      // milliseconds
	UnitRatio   = "ratio"   // a fraction, shown as a percentage
	UnitSeconds = "seconds" // seconds since the window's start
)

// Chart is one chart of a report with its data. Charts are drawn on linear
// axes from zero; a value that could not be measured is left out, never
// drawn as zero.
type Chart struct {
	// ID is stable: load_over_time, throughput, latency, errors, or
	// resource:KIND/FAMILY.
	ID string `json:"id"`
	// Title names the chart; Caption says in a sentence what to read in it.
	Title   string `json:"title"`
	Caption string `json:"caption,omitempty"`
	// X and Y are the axes; Y2 is a right-hand axis for series whose Axis
	// is "y2" (nil when none).
	X  ChartAxis  `json:"x"`
	Y  ChartAxis  `json:"y"`
	Y2 *ChartAxis `json:"y2,omitempty"`
	// Series are drawn in order, later over earlier.
	Series []ChartSeries `json:"series"`
	// Markers are reference lines and points: the SLO, the breaking point,
	// N*, a saturation point.
	Markers []ChartMarker `json:"markers,omitempty"`
}

// ChartAxis is an axis: its label and the unit of its values.
type ChartAxis struct {
	Label string `json:"label"`
	// Unit is rps, vus, ms, ratio, seconds, or another unit's name.
	Unit string `json:"unit,omitempty"`
}

// ChartSeries is one series of a chart.
type ChartSeries struct {
	// Name is the legend entry; series that share a name share an entry.
	Name string `json:"name"`
	// Kind is points or line.
	Kind string `json:"kind"`
	// Role picks the series' colour and dash: measured, fit, p50, p95,
	// p99, errors, rps, vus, utilization, queueing.
	Role string `json:"role"`
	// Axis is "y" (default, empty) or "y2".
	Axis string `json:"axis,omitempty"`
	// Points are (x, y) pairs in the axes' units.
	Points [][2]float64 `json:"points"`
}

// ChartMarker is a reference line or point.
type ChartMarker struct {
	// Kind is x (vertical line), y (horizontal line) or point.
	Kind string `json:"kind"`
	// Role picks the marker's colour: slo, limit, break, peak, knee,
	// saturation, stage.
	Role  string  `json:"role"`
	X     float64 `json:"x,omitempty"`
	Y     float64 `json:"y,omitempty"`
	Label string  `json:"label"`
	// Axis is the y axis a y or point marker is on: "y" (default) or "y2".
	Axis string `json:"axis,omitempty"`
}

// SkippedChart is a chart a report could not draw.
type SkippedChart struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Reason string `json:"reason"`
}
