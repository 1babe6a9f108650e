// Package collector reads load and system series for a time window from a
// metrics Source — a Prometheus-compatible HTTP API or the embedded store
// (Prometheus's tsdb and promql packages in-process) — and detects the
// resources of the system under test with the built-in resource catalog.
package collector
