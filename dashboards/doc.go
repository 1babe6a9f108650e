// Package dashboards builds headroom's Grafana dashboards and Prometheus
// rules as code, checks them, and pushes the dashboards to Grafana's HTTP API.
//
// The dashboards ("headroom / Load run", "headroom / Saturation",
// "headroom / Capacity") are built with grafana-foundation-sdk builders and
// rendered to JSON (Build); the rule file (recording rules for the load
// metrics and resource utilizations, and the HeadroomBelowTarget,
// SaturationApproaching and CapacityReviewStale alerts) is built as typed
// rulefmt groups (Rules). Every PromQL expression is built by parsing a
// skeleton with promql/parser and rewriting its syntax tree, never by
// pasting strings together.
//
// The resource catalog is passed in as a *model.Catalog: this package
// imports only model from this repository, so the caller (cmd/headroom)
// loads the built-in or a user's catalog.
//
// Validate checks a dashboard's JSON structurally: datasources, template
// variables and PromQL. Pusher creates the folder and the datasource when
// they are missing and upserts the dashboards idempotently.
package dashboards
