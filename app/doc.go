// Package app holds the pipeline's operations once, for every front end:
// record a run's metrics (RunMetrics), open the metrics source of a run or
// a Prometheus (OpenSource, PrometheusOptions), observe and analyze a run
// or a window (Analyze, AnalyzeOptions), build a report (BuildReport), and
// encode the service gauges (GaugeFamilies). The CLI (cmd/headroom) and the service (server) turn
// their flags or JSON into these calls, so that the same run analysed from
// either gives the same analysis.
package app
