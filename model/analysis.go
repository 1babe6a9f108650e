package model

import "time"

// This file holds the results of the analyzer: fitted models and detected
// knees, and the Analysis document that gathers them for a run, with the
// Comparison of two runs.

// Confidence levels of a fitted model.
const (
	ConfidenceHigh   = "high"
	ConfidenceMedium = "medium"
	ConfidenceLow    = "low"
)

// USL is a fitted Universal Scalability Law model
//
//	X(N) = λN / (1 + σ(N−1) + κN(N−1))
//
// (N. J. Gunther, Guerrilla Capacity Planning, Springer 2007, ch. 4;
// B. Schwartz, Practical Scalability Analysis with the Universal Scalability
// Law, 2015, eq. 3), where N is the concurrency (VUs, in-flight requests,
// processors) and X the throughput.
//
// Intervals are 95% confidence intervals from the linearised covariance
// s²(JᵀJ)⁻¹ at the optimum and the Student t quantile with points − 3
// degrees of freedom. When the points leave no degrees of freedom or do not
// identify a parameter, its interval is [−math.MaxFloat64, math.MaxFloat64]
// (unbounded; JSON cannot carry infinities). Intervals are not clipped at
// the bounds σ, κ ≥ 0 (as in R), so a κ of 0 has an interval around 0.
type USL struct {
	// Sigma σ is the contention coefficient (dimensionless, ≥ 0): the
	// serialised fraction of the work.
	Sigma float64 `json:"sigma"`
	// Kappa κ is the coherency coefficient (dimensionless, ≥ 0): the
	// pairwise crosstalk penalty that makes throughput retrograde.
	Kappa float64 `json:"kappa"`
	// Lambda λ is the throughput of one unit of concurrency, in the units
	// of X (requests/s for headroom's curves).
	Lambda float64 `json:"lambda"`
	// PeakN is the concurrency of peak throughput N* = √((1−σ)/κ), where
	// dX/dN = 0 (Gunther 2007, ch. 4; Schwartz 2015, eq. 4); nil when κ = 0
	// (throughput never falls) or σ ≥ 1 (it falls from the start).
	PeakN *float64 `json:"peak_n"`
	// PeakX is the throughput at PeakN, X(N*), in the units of X; nil with PeakN.
	PeakX *float64 `json:"peak_x"`
	// R2 is the coefficient of determination 1 − SSE/SST of the fit.
	R2 float64 `json:"r2"`
	// Points is the number of (N, X) points the model was fitted to.
	Points int `json:"points"`
	// SigmaCI, KappaCI and LambdaCI are 95% confidence intervals [low, high].
	SigmaCI  [2]float64 `json:"sigma_ci"`
	KappaCI  [2]float64 `json:"kappa_ci"`
	LambdaCI [2]float64 `json:"lambda_ci"`
	// Confidence is "high", "medium" or "low"; Notes say why when it is
	// not high.
	Confidence string `json:"confidence"`
	// Notes explain constraints that were applied and doubts about the fit,
	// e.g. "no coherency penalty: the unconstrained fit gave κ < 0, κ fixed at 0".
	Notes []string `json:"notes,omitempty"`
}

// Throughput returns the model's throughput X(N) at concurrency n, in the
// units of Lambda.
func (u USL) Throughput(n float64) float64 {
	return u.Lambda * n / (1 + u.Sigma*(n-1) + u.Kappa*n*(n-1))
}

// Knee is the point of a curve where it bends most sharply, found by the
// Kneedle algorithm (Satopää et al., 2011).
type Knee struct {
	// X and Y are the curve's values at the knee, in the curve's units
	// (e.g. concurrency and requests/s, or requests/s and ms).
	X float64 `json:"x"`
	Y float64 `json:"y"`
	// Index is the knee's position in the input slices.
	Index int `json:"index"`
}

// Reasons a system is said to break, in Analysis.BreakingPoint.Reason.
const (
	// ReasonLatencySLO: the p95 latency crossed the SLO.
	ReasonLatencySLO = "latency_slo"
	// ReasonErrorRate: the error rate crossed its limit.
	ReasonErrorRate = "error_rate"
	// ReasonThroughputPeak: the USL fit of throughput against concurrency
	// peaks inside the tested range.
	ReasonThroughputPeak = "throughput_peak"
	// ReasonSaturation: throughput stopped rising while load kept rising —
	// a plateau in successful throughput as VUs (or requests in flight)
	// grew, or, in an open-model run, achieved throughput falling behind
	// the offered arrival rate. The breaking point is where the plateau
	// begins and its RPS is the plateau's level: the capacity.
	ReasonSaturation = "saturation"
	// ReasonRetrograde: throughput fell while load kept rising.
	ReasonRetrograde = "retrograde"
)

// Bottleneck resources that are not catalog kinds.
const (
	// BottleneckUnknown: the system broke (or resources were looked for)
	// but no measured resource explains it.
	BottleneckUnknown = "unknown"
	// BottleneckNone: nothing broke and no resource saturated in the
	// tested range.
	BottleneckNone = "none"
)

// How a resource was found saturated, in ResourceAnalysis.SaturatedBy.
const (
	SaturatedByUtilization = "utilization" // usage reached the utilization threshold of its limit
	SaturatedByQueueing    = "queueing"    // work waiting for it grew with load
)

// Analysis is analysis.json: what `headroom analyze` concluded about one
// window of load — the stage table, where the system breaks and why, the
// scalability model, which resource saturates first, and warnings. The JSON
// names are relied on by users' scripts and by the planner.
//
// Loads are given as VUs (closed-model runs) and RPS (completed requests
// per second); every number is finite (JSON has no NaN), and a value that
// could not be measured is null or omitted.
type Analysis struct {
	RunID    string `json:"run_id,omitempty"`
	Scenario string `json:"scenario,omitempty"`
	// Window is the analysed time range.
	Window Window `json:"window"`
	// LoadModel is closed, open or unknown (see Observations).
	LoadModel  string `json:"load_model"`
	LoadSource string `json:"load_source,omitempty"`
	// SLO holds the criteria the breaking point was judged by.
	SLO SLO `json:"slo"`
	// Options are the settings the analysis ran with, so that the planner
	// and later readers judge by the same limits; null in documents written
	// before they were recorded.
	Options *AnalysisOptions `json:"options"`
	// Stages is the stage table computed from the metrics, in the shape of
	// run.json's stages; Total covers the whole window.
	Stages []StageStats `json:"stages"`
	Total  StageStats   `json:"total"`
	// Endpoints are whole-window rows per endpoint, slowest p99 first.
	Endpoints []EndpointStats `json:"endpoints,omitempty"`
	// SlowestEndpoints are the endpoints with the highest p99 at peak load,
	// each with the resource that best explains its latency growth.
	SlowestEndpoints []EndpointAttribution `json:"slowest_endpoints,omitempty"`
	// BreakingPoint is the earliest (by load) of BreakingPoints; null when
	// nothing broke within the tested range.
	BreakingPoint *BreakingPoint `json:"breaking_point"`
	// TestedUpToRPS and TestedUpToVUs are the highest sustained load of the
	// window: a lower bound on capacity when BreakingPoint is null.
	TestedUpToRPS float64 `json:"tested_up_to_rps"`
	TestedUpToVUs float64 `json:"tested_up_to_vus,omitempty"`
	// BreakingPoints lists each criterion that was met, separately, with
	// its evidence, earliest by load first.
	BreakingPoints []BreakingPoint `json:"breaking_points"`
	// Verdict says where the system breaks and why, or that it did not
	// break and how far the test went. Its first line is the breaking point
	// (where throughput stopped scaling, or the criterion met first);
	// further lines, separated by "\n", name the other criteria and say
	// when the signals disagree.
	Verdict string `json:"verdict"`
	// USL is the fit of throughput against concurrency; null when it could
	// not be fitted (USLError says why).
	USL      *USL   `json:"usl"`
	USLError string `json:"usl_error,omitempty"`
	// Concurrency names USL's N: "vus" or "in_flight" (Little's law).
	Concurrency string `json:"concurrency,omitempty"`
	// Knee is the Kneedle knee of the same throughput curve (N, X); null
	// when the curve has none.
	Knee *Knee `json:"knee"`
	// Bottleneck is the resource that saturated first at or before the
	// breaking point.
	Bottleneck Bottleneck `json:"bottleneck"`
	// Resources are every detected resource, ranked: the bottleneck first,
	// then other saturated resources by the load they saturated at, then
	// the rest by utilization at the breaking point.
	Resources []ResourceAnalysis `json:"resources"`
	// Missing lists the resource kinds no family matched, with what was
	// looked for.
	Missing []MissingResource `json:"missing,omitempty"`
	// Warnings are soak drift and data-quality findings.
	Warnings []Warning `json:"warnings,omitempty"`
	// Notes explain choices and doubts of the analysis.
	Notes []string `json:"notes,omitempty"`
}

// Window is a time range.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// SLO is what the system must meet for a load to count as carried.
type SLO struct {
	// P95Ms is the 95th percentile latency limit in milliseconds.
	P95Ms float64 `json:"p95_ms" yaml:"p95_ms"`
	// MaxErrorRate is the error-rate limit (a fraction).
	MaxErrorRate float64 `json:"max_error_rate" yaml:"max_error_rate"`
}

// AnalysisOptions are the settings an analysis ran with.
type AnalysisOptions struct {
	// SLOP95Ms is the p95 latency limit in milliseconds.
	SLOP95Ms float64 `json:"slo_p95_ms"`
	// MaxErrorRate is the error-rate limit (a fraction).
	MaxErrorRate float64 `json:"max_error_rate"`
	// SaturationUtilization is the share of its limit (a fraction) at which
	// a resource counts as saturated.
	SaturationUtilization float64 `json:"saturation_utilization"`
	// SaturationFloors are the smallest queueing growth, per resource kind
	// in the family's saturation unit, that counts as saturating.
	SaturationFloors map[string]float64 `json:"saturation_floors,omitempty"`
	// StepMs is the resolution of the load series in milliseconds.
	StepMs float64 `json:"step_ms"`
	// TrendAlpha is the significance level of trend tests.
	TrendAlpha float64 `json:"trend_alpha"`
	// SoakMinDurationMs is the shortest constant-load stage checked for
	// drift, in milliseconds.
	SoakMinDurationMs float64 `json:"soak_min_duration_ms"`
	// SlowestEndpoints is how many endpoints were attributed.
	SlowestEndpoints int `json:"slowest_endpoints"`
}

// BreakingPoint is the load at which one criterion was first met.
type BreakingPoint struct {
	// Reason is latency_slo, error_rate, throughput_peak, saturation or
	// retrograde.
	Reason string `json:"reason"`
	// VUs and RPS are the load at the breaking point, interpolated between
	// samples. RPS is successful requests per second (goodput): the
	// capacity the point stands for. For saturation it is the plateau's
	// level, for an open-model overload the rate actually carried.
	VUs float64 `json:"vus"`
	RPS float64 `json:"rps"`
	// RPSUncertainty is the half-width of an approximate 95% interval of
	// RPS in requests/s, from the scatter of the points around the
	// breaking point (and, for a plateau, a seeded bootstrap over the
	// intervals); 0 when it could not be estimated.
	RPSUncertainty float64 `json:"rps_uncertainty"`
	// TargetRate is the offered arrival rate (open model), iterations/s.
	TargetRate float64 `json:"target_rate,omitempty"`
	// Concurrency is USL's N at the point (VUs or in-flight requests).
	Concurrency float64 `json:"concurrency,omitempty"`
	// Time is when the load first reached the point; Stage the stage then.
	Time  *time.Time `json:"time,omitempty"`
	Stage string     `json:"stage,omitempty"`
	// Value is the criterion's value there (p95 ms, error rate, peak
	// throughput in requests/s) and Limit the limit it crossed (0 when the
	// criterion has none).
	Value float64 `json:"value"`
	Limit float64 `json:"limit,omitempty"`
	// Evidence says, with numbers, what was seen.
	Evidence string `json:"evidence"`
	// Confidence is high, medium or low.
	Confidence string `json:"confidence"`
}

// Bottleneck is the resource blamed for the breaking point.
type Bottleneck struct {
	// Resource is a catalog kind (db_pool, cpu, redis, ...), "unknown"
	// when no measured resource explains the break, or "none" when nothing
	// broke and nothing saturated.
	Resource string `json:"resource"`
	// Name is the resource's human name; Family the metric family measured.
	Name   string `json:"name,omitempty"`
	Family string `json:"family,omitempty"`
	// Evidence says, with numbers, why this resource is blamed.
	Evidence string `json:"evidence"`
	// Confidence is high, medium or low.
	Confidence string `json:"confidence"`
	// SaturatedAtRPS and SaturatedAtVUs are the load at which the resource
	// saturated (it may be well below the breaking point); null when no
	// resource is blamed.
	SaturatedAtRPS *float64   `json:"saturated_at_rps"`
	SaturatedAtVUs *float64   `json:"saturated_at_vus"`
	SaturatedAt    *time.Time `json:"saturated_at,omitempty"`
	// BreakingRPS and BreakingVUs repeat the breaking point's load so that
	// both loads are read in one place; 0 when nothing broke.
	BreakingRPS float64 `json:"breaking_rps,omitempty"`
	BreakingVUs float64 `json:"breaking_vus,omitempty"`
	// LookedFor lists, when the resource is unknown, the metric families
	// that were looked for; add an exporter for one of them.
	LookedFor []string `json:"looked_for,omitempty"`
	// Contender is the kind of another resource that saturated together
	// with the bottleneck, so that the evidence favours the bottleneck
	// without ruling the contender out; ContenderName is its human name.
	Contender     string `json:"contender,omitempty"`
	ContenderName string `json:"contender_name,omitempty"`
	// Experiment is a short run that would tell the bottleneck from its
	// contender; null when there is no contender.
	Experiment *Experiment `json:"experiment,omitempty"`
}

// Experiment is a short load run that separates two suspects: change one
// resource and see whether throughput moves.
type Experiment struct {
	// Resource is the kind to change and ResourceName its human name.
	Resource     string `json:"resource"`
	ResourceName string `json:"resource_name"`
	// From and To are its limit before and during the experiment, in Unit;
	// 0 when the change is not a number (e.g. "move the database off the host").
	From float64 `json:"from,omitempty"`
	To   float64 `json:"to,omitempty"`
	Unit string  `json:"unit,omitempty"`
	// Change says what to do, e.g. "raise the DB connection pool from 4 to
	// 8 connections".
	Change string `json:"change"`
	// AtRPS is the load to repeat, in requests/s: the bottleneck's
	// saturation point, where the two suspects part.
	AtRPS float64 `json:"at_rps,omitempty"`
	// IfMoves and IfFlat say what each outcome means.
	IfMoves string `json:"if_moves"`
	IfFlat  string `json:"if_flat"`
	// Text is the whole experiment in one sentence.
	Text string `json:"text"`
}

// ResourceAnalysis is one detected resource aligned to load.
type ResourceAnalysis struct {
	Kind           string `json:"kind"`
	Name           string `json:"name"`
	Family         string `json:"family"`
	Unit           string `json:"unit,omitempty"`
	SaturationUnit string `json:"saturation_unit,omitempty"`
	// Rank orders the resources: 1 is the bottleneck (when one is blamed).
	Rank int `json:"rank"`
	// Saturated reports whether the resource reached the utilization
	// threshold or queued more and more with load; SaturatedBy says which
	// (utilization, queueing or both, comma-separated).
	Saturated   bool   `json:"saturated"`
	SaturatedBy string `json:"saturated_by,omitempty"`
	// SaturatedAtRPS, SaturatedAtVUs and SaturatedAt are the load and time
	// it saturated at; null when it did not.
	SaturatedAtRPS *float64   `json:"saturated_at_rps"`
	SaturatedAtVUs *float64   `json:"saturated_at_vus"`
	SaturatedAt    *time.Time `json:"saturated_at,omitempty"`
	// NotLimiting is true for a resource that saturated while goodput kept
	// rising significantly at higher load: "saturated, not limiting yet".
	// Such a resource is not blamed for the breaking point.
	// GoodputAtSaturationRPS is the goodput (successful requests/s) where
	// it was full and GoodputAfterRPS the highest goodput reached beyond
	// that load; both null when it did not saturate.
	NotLimiting            bool     `json:"not_limiting"`
	GoodputAtSaturationRPS *float64 `json:"goodput_at_saturation_rps,omitempty"`
	GoodputAfterRPS        *float64 `json:"goodput_after_rps,omitempty"`
	// Limit is the resource's limit in Unit (the largest seen); 0 when
	// unknown. LimitSource says where it comes from, e.g. "GOMAXPROCS
	// (go_sched_gomaxprocs_threads)" or "configured".
	Limit       float64 `json:"limit,omitempty"`
	LimitSource string  `json:"limit_source,omitempty"`
	// UtilizationAtBreak is usage/limit at the breaking point; null when
	// nothing broke or the resource has no limit. UtilizationAtPeak is the
	// same at the highest tested load; MaxUtilization the largest seen.
	UtilizationAtBreak *float64 `json:"utilization_at_break"`
	UtilizationAtPeak  *float64 `json:"utilization_at_peak"`
	MaxUtilization     *float64 `json:"max_utilization"`
	// UsageAtBreak and MaxUsage are in Unit.
	UsageAtBreak *float64 `json:"usage_at_break,omitempty"`
	MaxUsage     float64  `json:"max_usage"`
	// SaturationAtBreak and MaxSaturation are in SaturationUnit; null when
	// the family measures no queueing.
	SaturationAtBreak *float64 `json:"saturation_at_break,omitempty"`
	MaxSaturation     *float64 `json:"max_saturation,omitempty"`
	// SaturationTrend is how queueing grows with load (per RPS); null when
	// the family measures no queueing or there are too few points.
	SaturationTrend *Trend `json:"saturation_trend"`
	// ExplainsP95 is the share (R², 0–1) of the overall p95's variation that
	// a linear regression on this resource's queueing (or utilization)
	// explains; null when it could not be computed.
	ExplainsP95 *float64 `json:"explains_p95,omitempty"`
	// Evidence says, with numbers, what the resource did.
	Evidence string `json:"evidence"`
	// Notes explain gaps and doubts.
	Notes []string `json:"notes,omitempty"`
}

// Trend is a least-squares line y = Intercept + Slope·x with its
// significance.
type Trend struct {
	// Slope is in the unit of y per unit of x (Per names x's unit).
	Slope     float64 `json:"slope"`
	Intercept float64 `json:"intercept"`
	Per       string  `json:"per"`
	// R2 is the coefficient of determination; PValue the two-sided p-value
	// of the slope's t test (1 when it could not be computed).
	R2     float64 `json:"r2"`
	PValue float64 `json:"p_value"`
	// Points is the number of (x, y) pairs.
	Points int `json:"points"`
	// Growing is true when the slope is positive and significant and y
	// rose by a material amount over the range of x.
	Growing bool `json:"growing"`
}

// EndpointAttribution is one of the slowest endpoints at peak load and the
// resource whose saturation best explains its latency growth.
type EndpointAttribution struct {
	Endpoint string `json:"endpoint"`
	// Stage is the stage of peak load; P95Ms, P99Ms and RPS are the
	// endpoint's there.
	Stage string  `json:"stage,omitempty"`
	RPS   float64 `json:"rps"`
	P95Ms float64 `json:"p95_ms" yaml:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	// BaselineP99Ms is its p99 in the lightest stage.
	BaselineP99Ms float64 `json:"baseline_p99_ms"`
	// Resource is the catalog kind that best explains the endpoint's p95
	// over time; empty when none explains at least half of it.
	Resource     string `json:"resource,omitempty"`
	ResourceName string `json:"resource_name,omitempty"`
	// Signal is "saturation" or "utilization": which of the resource's
	// series explained it.
	Signal string `json:"signal,omitempty"`
	// Explains is the R² (0–1) of the endpoint's p95 regressed on the
	// resource's signal.
	Explains float64 `json:"explains"`
	// Evidence is a sentence such as "POST /orders: DB connection pool
	// queueing explains 87% of its p95 variation".
	Evidence string `json:"evidence"`
}

// Warning is a finding that does not change the breaking point but should
// be read: soak drift (latency creeping up at constant load, memory
// growth, pools filling, errors appearing late) and data problems.
type Warning struct {
	// Kind is latency_drift, memory_growth, usage_drift, saturation_drift,
	// late_errors, missing_shards, load_below_plan, few_points, excursion,
	// poor_fit (a fitted model describes the points badly),
	// signals_disagree (e.g. throughput flat but no resource saturated, or
	// a saturated resource while throughput still rises) or
	// host_cpu_contention (the host's CPU is saturated while the service's
	// own processes are not).
	Kind     string `json:"kind"`
	Stage    string `json:"stage,omitempty"`
	Resource string `json:"resource,omitempty"`
	Message  string `json:"message"`
	// Slope is the trend in SlopeUnit (e.g. "ms/h", "bytes/h"); 0 when the
	// warning has none.
	Slope     float64 `json:"slope,omitempty"`
	SlopeUnit string  `json:"slope_unit,omitempty"`
	PValue    float64 `json:"p_value,omitempty"`
}

// Comparison is what `headroom compare` concluded about a current run
// against a baseline: per metric and endpoint, the change, whether it is
// significant, and whether it is a regression (both significant and beyond
// the allowed change).
type Comparison struct {
	BaselineRunID string `json:"baseline_run_id"`
	CurrentRunID  string `json:"current_run_id"`
	// Regressed is true when any row regressed.
	Regressed bool `json:"regressed"`
	// Limits are the allowed changes the rows were judged by.
	Limits CompareLimits `json:"limits"`
	// Rows hold the overall rows first, then each endpoint's.
	Rows []ComparisonRow `json:"rows"`
	// Notes explain what could not be compared.
	Notes []string `json:"notes,omitempty"`
}

// CompareLimits are the allowed changes of a comparison.
type CompareLimits struct {
	// MaxP95Regression and MaxP99Regression are relative increases
	// (0.20 = +20%).
	MaxP95Regression float64 `json:"max_p95_regression"`
	MaxP99Regression float64 `json:"max_p99_regression"`
	// MaxErrorRateIncrease is an absolute increase of the error rate
	// (0.01 = one percentage point).
	MaxErrorRateIncrease float64 `json:"max_error_rate_increase"`
	// MinLatencyIncreaseMs is the smallest latency increase, in ms, that
	// can count as a regression.
	MinLatencyIncreaseMs float64 `json:"min_latency_increase_ms"`
	// Alpha is the significance level of the one-sided tests.
	Alpha float64 `json:"alpha"`
}

// ComparisonRow is one metric of one scope in a comparison.
type ComparisonRow struct {
	// Scope is "overall" or an endpoint name.
	Scope string `json:"scope"`
	// Metric is p95_ms, p99_ms or error_rate.
	Metric   string  `json:"metric"`
	Baseline float64 `json:"baseline"`
	Current  float64 `json:"current"`
	// Change is relative for latencies (0.25 = +25%) and absolute for the
	// error rate (0.02 = +2 percentage points).
	Change float64 `json:"change"`
	// Limit is the allowed change, in Change's terms.
	Limit float64 `json:"limit"`
	// Test names the significance test, e.g. "mann_whitney_u" or
	// "van_elteren" (stratified by stage); "none" when there were too few
	// samples.
	Test string `json:"test"`
	// PValue is the one-sided p-value for "current is worse"; 1 when not tested.
	PValue float64 `json:"p_value"`
	// BaselineSamples and CurrentSamples count the samples tested.
	BaselineSamples int  `json:"baseline_samples"`
	CurrentSamples  int  `json:"current_samples"`
	Significant     bool `json:"significant"`
	Regressed       bool `json:"regressed"`
	// Verdict says in words what the row found.
	Verdict string `json:"verdict"`
}
