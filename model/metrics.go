package model

// Metric names of the load contract: the series loadgen exports for every
// run, which the collector reads back and the dashboards and rules chart.
// Every series carries the labels run_id, scenario and shard.
const (
	// MetricRequests counts requests by stage, endpoint, method and status
	// (a code, or "error" for a transport failure).
	MetricRequests = "headroom_requests_total"
	// MetricRequestDuration is the request latency histogram in seconds, by
	// stage, endpoint and method.
	MetricRequestDuration = "headroom_request_duration_seconds"
	// MetricVUs is the number of running virtual users.
	MetricVUs = "headroom_vus"
	// MetricTargetArrivalRate is the iterations/s an open-model executor aims at.
	MetricTargetArrivalRate = "headroom_target_arrival_rate"
	// MetricDroppedIterations counts iterations an open-model executor could
	// not start in time, by stage.
	MetricDroppedIterations = "headroom_dropped_iterations_total"
	// MetricChecks counts check results by check and result (pass, fail).
	MetricChecks = "headroom_checks_total"
	// MetricStageActive is 1 while a stage runs, by stage.
	MetricStageActive = "headroom_stage_active"
)
