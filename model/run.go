package model

import "time"

// Run statuses.
const (
	RunCompleted   = "completed"   // every executor finished its stages
	RunInterrupted = "interrupted" // stopped by a signal or a caller; results are partial
	RunAborted     = "aborted"     // a threshold with abortOnFail failed
)

// Run is run.json: what one load run did, written by `headroom run` and read
// by every later stage.
type Run struct {
	RunID    string `json:"run_id"`
	Shard    string `json:"shard"` // "i/n"; "0/1" when not sharded
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	// Status is completed, interrupted or aborted.
	Status string    `json:"status"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Executors records the load shape that was asked for.
	Executors []Executor `json:"executors,omitempty"`
	// Stages are in the order they started.
	Stages []StageStats `json:"stages"`
	// Endpoints are whole-run statistics per endpoint.
	Endpoints []EndpointStats `json:"endpoints"`
	// Total is the whole run as one row.
	Total StageStats `json:"total"`
	// Series holds one point per interval (default 5 s).
	Series     []SeriesPoint     `json:"series"`
	IntervalMs float64           `json:"interval_ms"`
	Checks     []CheckStats      `json:"checks,omitempty"`
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
	// DroppedIterations counts open-model iterations that could not start
	// because every VU up to maxVUs was busy.
	DroppedIterations int64 `json:"dropped_iterations"`
	// DroppedShare is DroppedIterations over every scheduled iteration.
	DroppedShare float64 `json:"dropped_share,omitempty"`
	// Warnings say in a sentence each what makes the figures less than they
	// seem: dropped iterations, a VU cap that bound, requests that never
	// got a response.
	Warnings []string `json:"warnings,omitempty"`
	// SchedulingLag is how late open-model iterations started against their
	// schedule (absent for closed-model runs).
	SchedulingLag *LagStats `json:"scheduling_lag,omitempty"`
	// Metrics says where the run's series live so `headroom analyze` can
	// read them again.
	Metrics *MetricsRef `json:"metrics,omitempty"`
}

// MetricsRef points at the run's time series.
type MetricsRef struct {
	// Prometheus is the base URL of a Prometheus-compatible API holding the series.
	Prometheus string `json:"prometheus,omitempty"`
	// Store is the directory of the embedded store's data, relative to run.json.
	Store string `json:"store,omitempty"`
	// Selector scopes the system under test's series, e.g. {job="checkout"}.
	Selector string `json:"selector,omitempty"`
	// SampleIntervalMs is how often the embedded store got samples (the
	// slower of the runner's flush and the scrapes); an analysis reads the
	// store at twice it. 0 in runs recorded before it was kept.
	SampleIntervalMs float64 `json:"sample_interval_ms,omitempty"`
	// Scrape lists the endpoints the embedded store scraped, with how the
	// scrapes went (a target that died mid-run shows failures here and
	// gaps in its series, never zeros).
	Scrape []ScrapeReport `json:"scrape,omitempty"`
}

// ScrapeReport is how scraping one endpoint went during a run.
type ScrapeReport struct {
	URL       string `json:"url"`
	Job       string `json:"job"`
	Scrapes   int    `json:"scrapes"`
	Failures  int    `json:"failures"`
	LastError string `json:"last_error,omitempty"`
	// Up is whether the last scrape succeeded.
	Up bool `json:"up"`
}

// StageStats is one row of the stage table. The JSON names are relied on by
// later stages and by users' scripts.
type StageStats struct {
	Name     string    `json:"name"`
	Executor string    `json:"executor,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// VUs is the maximum number of active VUs during the stage.
	VUs int `json:"vus"`
	// TargetRate is the arrival rate at the end of the stage in iterations/s (open model).
	TargetRate float64 `json:"target_rate,omitempty"`
	// RPS is completed requests per second over the stage.
	RPS    float64 `json:"rps"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
	// ErrorRate is failed requests / requests (status ≥ 400 or transport error).
	ErrorRate float64 `json:"error_rate"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	// Status counts requests by status code, or "error" for transport errors.
	Status            map[string]int64 `json:"status,omitempty"`
	Iterations        int64            `json:"iterations"`
	DroppedIterations int64            `json:"dropped_iterations,omitempty"`
	// DroppedShare is DroppedIterations over the iterations the schedule
	// asked for (open model): the part of the offered load that never ran,
	// and that the latency figures above therefore do not describe.
	DroppedShare float64 `json:"dropped_share,omitempty"`
	// ScheduleCorrected is the latency view of the open model as wrk2
	// measures it: every scheduled iteration, dropped ones included, as if
	// it had waited for the next free VU. Absent without open-model stages.
	ScheduleCorrected *CorrectedLatency `json:"schedule_corrected,omitempty"`
	ChecksPassed      int64             `json:"checks_passed"`
	ChecksFailed      int64             `json:"checks_failed"`
	Endpoints         []EndpointStats   `json:"endpoints,omitempty"`
}

// CorrectedLatency is the schedule-corrected latency view of an open-model
// stage. The figures of StageStats (P50Ms…MaxMs) are the "as sent" view:
// each request that ran, its first one timed from the iteration's
// scheduled start. Iterations dropped because every VU was busy are not in
// that view. Here every scheduled iteration is served in schedule order by
// the next VU that became free, the way wrk2 queues requests behind busy
// connections: the first request of an iteration that ran in a later slot
// carries the wait since the older iteration's scheduled start, and
// iterations still waiting at the end are estimated from the rate VUs
// became free at the end and the recent service time.
type CorrectedLatency struct {
	P50Ms float64 `json:"p50_ms"`
	P90Ms float64 `json:"p90_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// Requests is how many request latencies the view holds; Estimated how
	// many of them belong to iterations that had not been served when the
	// run ended and so are estimates.
	Requests  int64 `json:"requests"`
	Estimated int64 `json:"estimated,omitempty"`
}

// DurationMs is the stage's length in milliseconds.
func (s StageStats) DurationMs() float64 {
	return float64(s.End.Sub(s.Start)) / float64(time.Millisecond)
}

// EndpointStats is one endpoint's row, for a stage or the whole run.
type EndpointStats struct {
	Endpoint  string           `json:"endpoint"` // "METHOD /path/{param}"
	Requests  int64            `json:"requests"`
	Errors    int64            `json:"errors"`
	RPS       float64          `json:"rps"`
	P50Ms     float64          `json:"p50_ms"`
	P90Ms     float64          `json:"p90_ms"`
	P95Ms     float64          `json:"p95_ms"`
	P99Ms     float64          `json:"p99_ms"`
	MaxMs     float64          `json:"max_ms"`
	MeanMs    float64          `json:"mean_ms"`
	ErrorRate float64          `json:"error_rate"`
	Status    map[string]int64 `json:"status,omitempty"`
}

// SeriesPoint summarises one interval of the run.
type SeriesPoint struct {
	Time      time.Time `json:"time"` // end of the interval
	Stage     string    `json:"stage,omitempty"`
	VUs       int       `json:"vus"`
	RPS       float64   `json:"rps"`
	P50Ms     float64   `json:"p50_ms"`
	P95Ms     float64   `json:"p95_ms"`
	P99Ms     float64   `json:"p99_ms"`
	MeanMs    float64   `json:"mean_ms"`
	ErrorRate float64   `json:"error_rate"`
	Requests  int64     `json:"requests"`
	Errors    int64     `json:"errors"`
	// Dropped counts iterations dropped in the interval (open model).
	Dropped int64 `json:"dropped,omitempty"`
}

// CheckStats counts one check's results.
type CheckStats struct {
	Name   string `json:"name"`
	Passes int64  `json:"passes"`
	Fails  int64  `json:"fails"`
}

// ThresholdResult is one evaluated threshold.
type ThresholdResult struct {
	// Metric is the key as written, e.g. `http_req_duration{endpoint:GET /x}`.
	Metric string `json:"metric"`
	Expr   string `json:"threshold"`
	// Observed is the value the expression was evaluated on (ms for
	// durations, a fraction for rates).
	Observed    float64 `json:"observed"`
	Passed      bool    `json:"passed"`
	AbortOnFail bool    `json:"abort_on_fail,omitempty"`
	// Aborted is true on the threshold that stopped the run.
	Aborted bool `json:"aborted,omitempty"`
	// Default is true on the limit headroom applies by itself (the share of
	// dropped iterations of an open-model run), rather than one the
	// scenario or a flag set.
	Default bool `json:"default,omitempty"`
	// Aggregate is true when Observed is over every shard of a sharded run,
	// read from the metrics backend, rather than this runner's own requests.
	Aggregate bool `json:"aggregate,omitempty"`
}

// Passed reports whether every threshold passed.
func (r *Run) Passed() bool {
	for _, t := range r.Thresholds {
		if !t.Passed {
			return false
		}
	}
	return true
}

// Unreachable reports whether the run sent requests and not one of them got
// an HTTP response: the target is down or refuses connections.
func (r *Run) Unreachable() bool {
	return r.Total.Requests > 0 && r.Total.Status["error"] == r.Total.Requests
}

// LagStats summarises scheduling lag in milliseconds.
type LagStats struct {
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// Iterations is how many scheduled iterations were measured.
	Iterations int64 `json:"iterations"`
}

// AuthRefused reports whether every request of the run was answered 401
// or 403: the target refused the credentials (or their absence), so the
// run measured the refusal, not the API.
func (r *Run) AuthRefused() bool {
	t := r.Total
	return t.Requests > 0 && t.Status["401"]+t.Status["403"] == t.Requests
}

// AuthRefusedHint is the warning shown when AuthRefused is true.
const AuthRefusedHint = "every response was 401 or 403: the target refused the run's credentials; " +
	"check the scenario's auth and headers (a token can come from the environment with {{env(NAME)}})"
