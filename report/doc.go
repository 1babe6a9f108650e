// Package report publishes what a capacity analysis found: it renders an
// analysis, with the observations, run and plan at hand, as report.md,
// report.json and a self-contained report.html whose charts are inline SVG,
// and builds the headroom service gauges (headroom_capacity_rps,
// headroom_headroom_ratio, ...) that the alerts and the Capacity dashboard
// read.
//
// The package is pure: it reads no files, no clock and no network, so the
// same input gives the same bytes. Writing the files and pushing the gauges
// is cmd/headroom's job.
package report
