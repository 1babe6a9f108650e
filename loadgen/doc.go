// Package loadgen executes a Scenario against a target and measures what
// happened: executors (closed and open model), flows, checks, thresholds and
// latency histograms, exported under the metric contract of ARCHITECTURE.md
// to any Sink.
package loadgen
