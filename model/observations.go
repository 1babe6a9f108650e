package model

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Load models of a run.
const (
	LoadClosed  = "closed"  // VUs drive load (ramping-vus, constant-vus)
	LoadOpen    = "open"    // arrival rate drives load
	LoadUnknown = "unknown" // production traffic, or a run made elsewhere
)

// Observations are what the collector read for one window: the load side
// (the runner's metrics, or an HTTP server's), per stage and over time, and
// each detected resource over time. The analyzer turns them into an
// Analysis without doing any I/O.
type Observations struct {
	RunID    string    `json:"run_id,omitempty"`
	Scenario string    `json:"scenario,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// StepMs is the resolution of Series and resource points in milliseconds.
	StepMs float64 `json:"step_ms"`
	// LoadModel is closed, open or unknown.
	LoadModel string `json:"load_model"`
	// LoadSource says where the load series came from, e.g.
	// "headroom_request_duration_seconds" or "http_server_request_duration_seconds{job=\"checkout\"}".
	LoadSource string `json:"load_source,omitempty"`
	// Shards lists the shard labels seen ("0/3", "1/3", ...); ShardsExpected
	// is n from "i/n" (0 when unsharded or unknown).
	Shards         []string `json:"shards,omitempty"`
	ShardsExpected int      `json:"shards_expected,omitempty"`
	// ShardDetails is what each shard reported (sharded runs only): the
	// analyzer finds a dead or late shard and the load it did not send.
	ShardDetails []ShardObservation `json:"shard_details,omitempty"`
	// Stages in start order, with the histogram buckets over each window.
	Stages []StageObservation `json:"stages"`
	// Series is the whole run at StepMs resolution.
	Series []LoadPoint `json:"series"`
	// EndpointSeries is Series per endpoint (for latency attribution).
	EndpointSeries []EndpointSeries `json:"endpoint_series,omitempty"`
	// Resources are the detected resources, in catalog order.
	Resources []ResourceObservation `json:"resources"`
	// Looked lists, when a resource kind was not found, the families looked for.
	Missing []MissingResource `json:"missing,omitempty"`
}

// Bucket is one cumulative histogram bucket: Count observations ≤ UpperBound
// seconds. The last bucket's UpperBound is math.Inf(1), written in JSON as
// the string "+Inf" (as Prometheus writes its le label), since JSON numbers
// have no infinity.
type Bucket struct {
	UpperBound float64 `json:"le"`
	Count      float64 `json:"count"`
}

type jsonBucket struct {
	Le    json.RawMessage `json:"le"`
	Count float64         `json:"count"`
}

// MarshalJSON writes an infinite upper bound as "+Inf".
func (b Bucket) MarshalJSON() ([]byte, error) {
	le := json.RawMessage(`"+Inf"`)
	switch {
	case math.IsInf(b.UpperBound, 1):
	case math.IsNaN(b.UpperBound) || math.IsInf(b.UpperBound, -1):
		return nil, fmt.Errorf("bucket upper bound %v: expected a number or +Inf", b.UpperBound)
	default:
		le = strconv.AppendFloat(nil, b.UpperBound, 'g', -1, 64)
	}
	return json.Marshal(jsonBucket{Le: le, Count: b.Count})
}

// UnmarshalJSON reads an upper bound written as a number or as a string
// ("0.25", "+Inf").
func (b *Bucket) UnmarshalJSON(data []byte) error {
	var j jsonBucket
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	b.Count = j.Count
	var s string
	if err := json.Unmarshal(j.Le, &s); err != nil {
		return json.Unmarshal(j.Le, &b.UpperBound)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) {
		return fmt.Errorf("bucket le %q: expected a number or \"+Inf\"", s)
	}
	b.UpperBound = v
	return nil
}

// StageObservation is one stage's window and what happened in it.
type StageObservation struct {
	Name     string    `json:"name"`
	Executor string    `json:"executor,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// VUs is the maximum of headroom_vus in the window; TargetRate the
	// arrival rate at its end (open model), in iterations/s.
	VUs        float64 `json:"vus"`
	TargetRate float64 `json:"target_rate,omitempty"`
	// Requests and Errors are increases over the window.
	Requests float64 `json:"requests"`
	Errors   float64 `json:"errors"`
	Dropped  float64 `json:"dropped,omitempty"`
	// SumSeconds is the increase of the duration histogram's sum.
	SumSeconds float64 `json:"sum_seconds"`
	// Buckets are the increases of the classic buckets over the window.
	Buckets   []Bucket              `json:"buckets"`
	Endpoints []EndpointObservation `json:"endpoints,omitempty"`
}

// EndpointObservation is one endpoint's share of a stage.
type EndpointObservation struct {
	Endpoint   string   `json:"endpoint"`
	Requests   float64  `json:"requests"`
	Errors     float64  `json:"errors"`
	SumSeconds float64  `json:"sum_seconds"`
	Buckets    []Bucket `json:"buckets"`
}

// LoadPoint is the load and its latency at one instant, computed over the
// preceding step (rates and quantiles over [t − step, t]). A quantity that
// had no samples is NaN in Go and omitted from JSON by the writer.
type LoadPoint struct {
	Time  time.Time `json:"time"`
	Stage string    `json:"stage,omitempty"`
	VUs   float64   `json:"vus"`
	// RPS is completed requests per second.
	RPS float64 `json:"rps"`
	// TargetRate is the open-model arrival rate in iterations/s.
	TargetRate float64 `json:"target_rate,omitempty"`
	P50Ms      float64 `json:"p50_ms"`
	P95Ms      float64 `json:"p95_ms"`
	P99Ms      float64 `json:"p99_ms"`
	MeanMs     float64 `json:"mean_ms"`
	ErrorRate  float64 `json:"error_rate"`
	// InFlight is the mean number of requests in flight (Little's law:
	// RPS × mean latency), the concurrency of open-model runs.
	InFlight float64 `json:"in_flight"`
	// DroppedRate is the open-model iterations per second the runner could
	// not start (no free VU): a sign that the offered rate is not carried.
	DroppedRate float64 `json:"dropped_rate,omitempty"`
}

// EndpointSeries is one endpoint's load over time.
type EndpointSeries struct {
	Endpoint string      `json:"endpoint"`
	Points   []LoadPoint `json:"points"`
}

// ResourceObservation is one detected resource over the window.
type ResourceObservation struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Family string `json:"family"`
	Unit   string `json:"unit,omitempty"`
	// SaturationUnit describes Saturation, e.g. "seconds waited per second".
	SaturationUnit string `json:"saturation_unit,omitempty"`
	// LimitSource says where the limit comes from: "catalog", a source
	// such as "GOMAXPROCS (go_sched_gomaxprocs_threads)", or "configured".
	LimitSource string          `json:"limit_source,omitempty"`
	Points      []ResourcePoint `json:"points"`
}

// ResourcePoint is a resource at one instant. Limit is 0 when unknown;
// Utilization is Usage/Limit (a fraction); Saturation measures queueing or
// waiting (0 when idle). Gaps are absent points, never zeros.
type ResourcePoint struct {
	Time        time.Time `json:"time"`
	Usage       float64   `json:"usage"`
	Limit       float64   `json:"limit,omitempty"`
	Utilization float64   `json:"utilization"`
	Saturation  float64   `json:"saturation"`
	// HasLimit and HasSaturation say whether the family measures them.
	HasLimit      bool `json:"has_limit"`
	HasSaturation bool `json:"has_saturation"`
}

// MissingResource is a catalog kind that no family matched.
type MissingResource struct {
	Kind      string   `json:"kind"`
	Name      string   `json:"name"`
	LookedFor []string `json:"looked_for"`
	// Candidates are metric names seen in the window that look like this
	// kind of resource (pools, connections, CPU, queues) but that no
	// family of the catalog reads, e.g. "shop_db_connections_in_use".
	Candidates []string `json:"candidates,omitempty"`
	// CatalogSnippet is a --catalog file that would declare the
	// candidates as a family of this kind; empty without candidates.
	CatalogSnippet string `json:"catalog_snippet,omitempty"`
}
