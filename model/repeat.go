package model

// Repeatability is repeat.json: the breaking points of the same ramp run
// several times (`--repeat N`) and how much they spread.
type Repeatability struct {
	// Runs are the runs in the order they ran.
	Runs []RepeatRun `json:"runs"`
	// Broke is how many runs found a breaking point; Reasons counts them
	// by reason.
	Broke   int            `json:"broke"`
	Reasons map[string]int `json:"reasons,omitempty"`
	// MeanRPS and SDRPS are the mean and sample standard deviation of the
	// breaking points' RPS over the runs that broke, MinRPS and MaxRPS
	// their range, in requests/s; SpreadRatio is (max − min) / mean. All 0
	// when fewer than one (two, for SDRPS) broke.
	MeanRPS     float64 `json:"mean_rps"`
	SDRPS       float64 `json:"sd_rps"`
	MinRPS      float64 `json:"min_rps"`
	MaxRPS      float64 `json:"max_rps"`
	SpreadRatio float64 `json:"spread_ratio"`
	// Verdict says in words how repeatable the breaking point is.
	Verdict string `json:"verdict"`
}

// RepeatRun is one run of a repetition.
type RepeatRun struct {
	RunID string `json:"run_id,omitempty"`
	// Analysis is the path of the run's analysis.json.
	Analysis string `json:"analysis,omitempty"`
	// Reason, RPS, RPSUncertainty and VUs are the run's breaking point;
	// Broke is false (and they are empty) when nothing broke.
	Broke          bool    `json:"broke"`
	Reason         string  `json:"reason,omitempty"`
	RPS            float64 `json:"rps,omitempty"`
	RPSUncertainty float64 `json:"rps_uncertainty,omitempty"`
	VUs            float64 `json:"vus,omitempty"`
	// TestedUpToRPS is the highest sustained load of the run.
	TestedUpToRPS float64 `json:"tested_up_to_rps"`
}
