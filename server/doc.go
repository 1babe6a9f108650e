// Package server is headroom's service, `headroom serve`: a REST API (echo)
// that starts load runs against allow-listed targets, analyses them, plans
// capacity, compares runs and reviews production capacity on a schedule;
// it keeps everything in SQLite or PostgreSQL, publishes the service gauges
// on /metrics and serves the web UI.
//
// Runs record into an embedded metrics store under the data directory (or
// remote-write to a configured Prometheus) so that their analyses take the
// same code path as `headroom analyze`. The package composes the others
// (loadgen, collector, analyzer, planner, report); cmd/headroom only turns
// flags into a Config.
package server
