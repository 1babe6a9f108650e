package dashboards

//lint:file-ignore SA1019 The v1 dashboard schema is deliberate: it is what Grafana's /api/dashboards/db, its file provisioning and Grafana before 12 accept; dashboardv2 needs Grafana 12's Kubernetes-style API.

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/headroom-sh/headroom/model"
	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// loadDashboard is "headroom / Load run": one run (and some of its shards)
// of the load generator, from the metrics of the metric contract.
func loadDashboard(cfg *Config) (*dashboard.DashboardBuilder, error) {
	d := newBoard(cfg)
	x := d.x
	run := []*labels.Matcher{
		matcher(labels.MatchEqual, "run_id", "$run_id"),
		matcher(labels.MatchRegexp, "shard", "$shard"),
	}
	ep := append(run[:len(run):len(run)], matcher(labels.MatchRegexp, "endpoint", "$endpoint"))
	ofRun := x.str(&parser.VectorSelector{Name: model.MetricRequests, LabelMatchers: []*labels.Matcher{
		matcher(labels.MatchEqual, pmodel.MetricNameLabel, model.MetricRequests), run[0]}})

	b := d.dashboard(LoadUID, "headroom / Load run",
		"One load run of headroom: throughput, virtual users, latency quantiles from the native histogram "+
			"(classic buckets when the receiver has no native histograms), errors and checks, per endpoint, "+
			"with the run's stages as annotations. Pick the run with run_id.", "now-30m").
		WithVariable(d.queryVar("run_id", "run", "label_values("+model.MetricRequests+", run_id)").
			Sort(dashboard.VariableSortAlphabeticalDesc)).
		WithVariable(multiVar(d.queryVar("shard", "shard", "label_values("+ofRun+", shard)"), ".*")).
		WithVariable(multiVar(d.queryVar("endpoint", "endpoint", "label_values("+ofRun+", endpoint)"), ".*")).
		Annotation(d.stagesAnnotation(run...))

	rps := query{expr: x.q(`sum(rate(`+model.MetricRequests+`[1m]))`, run...), legend: "requests/s"}
	quantiles := func(by []string, legend string, ms []*labels.Matcher) []query {
		var qs []query
		for _, q := range []struct {
			v    float64
			name string
		}{{0.5, "p50"}, {0.9, "p90"}, {0.95, "p95"}, {0.99, "p99"}} {
			qs = append(qs, query{expr: x.str(x.latencyQuantile(q.v, by, ms...)), legend: legend + q.name})
		}
		return qs
	}
	errRatio := query{expr: x.str(x.errorRatio(nil, run...)), legend: "failed share"}
	statSize := size{w: 4, h: 4}
	half := size{w: 12, h: 8}

	b.WithRow(d.row("Overview")).
		WithPanel(d.stat("Requests/s", "Requests per second over the rate window, every endpoint and shard together.", "reqps", statSize, rps)).
		WithPanel(d.stat("Failed requests", "Share of requests that failed: transport errors and HTTP statuses of 400 or more.", "percentunit", statSize, errRatio).
			Thresholds(thresholds("green", step{0.01, "orange"}, step{0.05, "red"}))).
		WithPanel(d.stat("p95 latency", "95th percentile of request duration, measured from the intended start of each request.", "s", statSize,
			query{expr: x.str(x.latencyQuantile(0.95, nil, run...)), legend: "p95"})).
		WithPanel(d.stat("p99 latency", "99th percentile of request duration.", "s", statSize,
			query{expr: x.str(x.latencyQuantile(0.99, nil, run...)), legend: "p99"})).
		WithPanel(d.stat("Virtual users", "Active virtual users over every shard.", "short", statSize,
			query{expr: x.q(`sum(`+model.MetricVUs+`)`, run...), legend: "VUs"})).
		WithPanel(d.stat("Dropped iterations/s", "Open-model iterations that could not start because every VU was busy: the generator, not the system, was the limit.",
			"short", statSize, query{expr: x.q(`sum(rate(`+model.MetricDroppedIterations+`[1m]))`, run...), legend: "dropped/s"}).
			Thresholds(thresholds("green", step{0.001, "red"})))

	b.WithRow(d.row("Load")).
		WithPanel(d.timeseries("Throughput", "Requests per second achieved, against the target arrival rate of open-model executors and the iterations dropped for want of VUs.", "reqps", half,
			rps,
			query{expr: x.q(`sum(`+model.MetricTargetArrivalRate+`)`, run...), legend: "target arrival rate (iterations/s)"},
			query{expr: x.q(`sum(rate(`+model.MetricDroppedIterations+`[1m]))`, run...), legend: "dropped iterations/s"})).
		WithPanel(d.timeseries("Virtual users", "Active virtual users over every shard.", "short", half,
			query{expr: x.q(`sum(`+model.MetricVUs+`)`, run...), legend: "VUs"})).
		WithPanel(d.timeseries("Latency", "Quantiles of request duration over the rate window, from the native histogram when stored, else the classic buckets.", "s", half,
			quantiles(nil, "", run)...)).
		WithPanel(d.timeseries("Failed requests", "Share of requests that failed.", "percentunit", half, errRatio).
			Min(0).
			Thresholds(thresholds("green", step{0.01, "orange"}, step{0.05, "red"})).
			ThresholdsStyle(thresholdLines())).
		WithPanel(d.timeseries("Responses by status", "Responses per second by HTTP status; \"error\" is a transport error (timeout, refused connection).", "reqps", half,
			query{expr: x.q(`sum by (status) (rate(`+model.MetricRequests+`[1m]))`, run...), legend: "{{status}}"}).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(d.timeseries("Failed checks", "Share of failed results of each check.", "percentunit", half,
			query{legend: "{{check}}", expr: x.str(ratioOrZero(
				sumBy([]string{"check"}, x.tree(`rate(`+model.MetricChecks+`[1m])`, append(run[:len(run):len(run)], matcher(labels.MatchEqual, "result", "fail"))...)),
				func() parser.Expr {
					return sumBy([]string{"check"}, x.tree(`rate(`+model.MetricChecks+`[1m])`, run...))
				}))}).
			Min(0))

	byEndpoint := []string{"endpoint"}
	third := size{w: 8, h: 8}
	b.WithRow(d.row("Per endpoint")).
		WithPanel(d.timeseries("Requests/s by endpoint", "", "reqps", third,
			query{expr: x.q(`sum by (endpoint) (rate(`+model.MetricRequests+`[1m]))`, ep...), legend: "{{endpoint}}"})).
		WithPanel(d.timeseries("p95 latency by endpoint", "", "s", third,
			query{expr: x.str(x.latencyQuantile(0.95, byEndpoint, ep...)), legend: "{{endpoint}}"})).
		WithPanel(d.timeseries("Failed requests by endpoint", "", "percentunit", third,
			query{expr: x.str(x.errorRatio(byEndpoint, ep...)), legend: "{{endpoint}}"}).Min(0))

	// The summary table covers the dashboard's whole time range.
	r := &exprs{window: rangeSentinel}
	summary := []query{
		{expr: r.q(`sum by (endpoint) (increase(`+model.MetricRequests+`[1m]))`, ep...)},
		{expr: r.q(`sum by (endpoint) (rate(`+model.MetricRequests+`[1m]))`, ep...)},
		{expr: r.str(r.errorRatio(byEndpoint, ep...))},
		{expr: r.str(r.latencyQuantile(0.5, byEndpoint, ep...))},
		{expr: r.str(r.latencyQuantile(0.95, byEndpoint, ep...))},
		{expr: r.str(r.latencyQuantile(0.99, byEndpoint, ep...))},
	}
	columns := map[string]string{"A": "Requests", "B": "Requests/s", "C": "Failed", "D": "p50", "E": "p95", "F": "p99"}
	unit := func(u string) []dashboard.DynamicConfigValue {
		return []dashboard.DynamicConfigValue{{Id: "unit", Value: u}}
	}
	b.WithPanel(d.table("Endpoints over the time range", "Every endpoint over the dashboard's time range: requests, mean rate, failed share and latency quantiles.",
		size{w: 24, h: 8}, columns, nil, summary...).
		Decimals(3).
		OverrideByName("Requests", append(unit("short"), dashboard.DynamicConfigValue{Id: "decimals", Value: 0})).
		OverrideByName("Requests/s", unit("reqps")).
		OverrideByName("Failed", unit("percentunit")).
		OverrideByName("p50", unit("s")).
		OverrideByName("p95", unit("s")).
		OverrideByName("p99", unit("s")).
		SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("Requests").Desc(true)}))

	if x.err != nil {
		return nil, x.err
	}
	if r.err != nil {
		return nil, r.err
	}
	return b, nil
}

// stagesAnnotation marks the stages of the selected runs as regions.
func (d *board) stagesAnnotation(ms ...*labels.Matcher) *dashboard.AnnotationQueryBuilder {
	return dashboard.NewAnnotationQueryBuilder().
		Name("Stages").
		Datasource(d.ds).
		Enable(true).
		IconColor("rgba(0, 211, 255, 1)").
		Expr(d.x.q(`max by (stage) (`+model.MetricStageActive+`) > 0`, ms...)).
		TitleFormat("stage {{stage}}").
		TagKeys("stage").
		// Stages can be short: a step of the scrape interval's order
		// rather than Grafana's default minute.
		Step("5s")
}
