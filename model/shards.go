package model

import "time"

// ShardObservation is what one runner of a sharded run reported in an
// observed window: when its series began and ended, how often it wrote, and
// its part of each stage. The collector reads it from the shard label of the
// runner's series (collector.ObserveShards); the analyzer compares the
// shards to find one that never reported, started late or stopped early
// (its runner died, or lost its way to Prometheus), and estimates the load
// that was then missing (analyzer.ShardWarnings).
type ShardObservation struct {
	// Shard is the shard label, "i/n".
	Shard string `json:"shard"`
	// Reported is false for a shard that n in "i/n" says should exist but
	// that has no series in the window.
	Reported bool `json:"reported"`
	// First and Last are the times of the shard's first and last samples
	// in the window, to the resolution of the observation's step.
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
	// IntervalMs is the median time between the shard's samples in
	// milliseconds: its remote-write flush interval (0 when unknown).
	IntervalMs float64 `json:"interval_ms,omitempty"`
	// Stages are the shard's part of each stage of the observation, in the
	// same order as Observations.Stages.
	Stages []ShardStage `json:"stages,omitempty"`
}

// ShardStage is one shard's part of one stage.
type ShardStage struct {
	Name string `json:"name"`
	// VUs is the most VUs the shard had active during the stage.
	VUs float64 `json:"vus"`
	// TargetRate is the shard's arrival rate at the end of the stage in
	// iterations/s (open model; 0 otherwise).
	TargetRate float64 `json:"target_rate,omitempty"`
	// Requests is how many requests the shard completed in the stage.
	Requests float64 `json:"requests"`
}
