// Package loadgen executes a Scenario against a target and measures what
// happened: executors (closed and open model), flows, checks, thresholds and
// latency histograms, exported under the metric contract of ARCHITECTURE.md
// to any Sink.
//
// A Runner compiles the scenario once (templates, JSON paths, thresholds,
// label-bound metric observers) and runs its executors side by side, as k6
// does: ramping-vus and constant-vus keep a number of VUs looping over
// iterations; constant-arrival-rate and ramping-arrival-rate start
// iterations on a schedule computed from the rate integral, on idle VUs up
// to maxVUs, and count the iterations that find every VU busy as dropped.
// Open-model latency is measured from each iteration's scheduled start, so
// a stalled server or a saturated generator shows in the percentiles
// instead of being hidden (coordinated omission).
//
// Plain-HTTP targets are driven by a small HTTP/1.1 client in which each VU
// owns its connection and sends from its own goroutine; HTTPS targets and a
// caller's http.Client go through net/http.
//
// Statistics are kept twice: in HDR histograms (1% relative error) for
// run.json and thresholds, and in the runner's Prometheus registry (classic
// and native histogram buckets) for /metrics and the sinks.
package loadgen
