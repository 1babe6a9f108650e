package dashboards

//lint:file-ignore SA1019 The v1 dashboard schema is deliberate: it is what Grafana's /api/dashboards/db, its file provisioning and Grafana before 12 accept; dashboardv2 needs Grafana 12's Kubernetes-style API.

import (
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/headroom-sh/headroom/model"
)

// ReviewAnnotationTags are the tags of the Grafana annotations the
// Capacity dashboard shows as capacity reviews: a service that posts one
// per review (POST /api/annotations) has them on the dashboard.
var ReviewAnnotationTags = []string{Tag, "capacity-review"}

// capacityDashboard is "headroom / Capacity": each service's capacity
// against its observed and target traffic, its headroom over time, and
// what the last plan recommends, from the service gauges of headroom serve.
func capacityDashboard(cfg *Config) (*dashboard.DashboardBuilder, error) {
	d := newBoard(cfg)
	x := d.x
	svc := matcher(labels.MatchRegexp, "service", "$service")
	g := func(metric string) string { return x.q(metric, svc) }
	perService := func(metric string) parser.Expr { return x.tree(`max by (service) (`+metric+`)`, svc) }

	b := d.dashboard(CapacityUID, "headroom / Capacity",
		"Capacity of each service against its observed peak and its target traffic, the headroom "+
			"(capacity / peak - 1) over time, the bottleneck and what the last plan recommends. "+
			"From the gauges of headroom serve; reviews are annotations.", "now-7d").
		WithVariable(multiVar(d.queryVar("service", "service", "label_values(headroom_capacity_rps, service)"), ".+")).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("Capacity reviews").
			Datasource(d.ds).
			Enable(true).
			IconColor("rgba(255, 152, 48, 1)").
			Expr(x.str(binary(parser.MUL, perService(`headroom_last_review_timestamp_seconds`), &parser.NumberLiteral{Val: 1000}))).
			UseValueForTime(true).
			TitleFormat("capacity review of {{service}}").
			TagKeys("service").
			Step("1m")).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("Review notes").
			Datasource(common.DataSourceRef{Type: ptr("grafana"), Uid: ptr(grafanaDatasourceUID)}).
			Enable(true).
			IconColor("rgba(163, 82, 204, 1)").
			Target(variants.NewUnknownDataqueryBuilderFromObject(variants.UnknownDataquery{
				"type": "tags", "tags": ReviewAnnotationTags, "matchAny": false, "limit": 100,
			})))

	statSize := size{w: 4, h: 4}
	half := size{w: 12, h: 9}
	headroomSteps := thresholds("red", step{0, "orange"}, step{cfg.TargetHeadroom, "green"})

	b.WithRow(d.row("Now")).
		WithPanel(d.stat("Headroom", "Capacity over the observed peak: capacity / peak - 1. Green at the default target of "+
			percent(cfg.TargetHeadroom)+" or more, red when the peak exceeds the capacity.", "percentunit", statSize,
			query{expr: g(`headroom_headroom_ratio`), legend: "{{service}}"}).
			Thresholds(headroomSteps).
			ColorMode(common.BigValueColorModeBackground)).
		WithPanel(d.stat("Capacity", "Estimated capacity: the throughput the service sustains before it breaks.", "reqps", statSize,
			query{expr: g(`headroom_capacity_rps`), legend: "{{service}}"})).
		WithPanel(d.stat("Observed peak", "The peak traffic the service has served.", "reqps", statSize,
			query{expr: g(`headroom_peak_rps`), legend: "{{service}}"})).
		WithPanel(d.stat("Target traffic", "The traffic the service must carry, e.g. the expected peak of the next season.", "reqps", statSize,
			query{expr: g(`headroom_target_rps`), legend: "{{service}}"})).
		WithPanel(d.stat("Bottleneck", "The resource that runs out first, from the last review.", "", statSize,
			query{expr: g(`headroom_bottleneck_info`), legend: "{{service}}: {{resource}}", instant: true}).
			TextMode(common.BigValueTextModeName).
			GraphMode(common.BigValueGraphModeNone).
			ColorMode(common.BigValueColorModeNone)).
		WithPanel(d.stat("Last review", "Time since the last capacity review; red past "+model.FormatDuration(cfg.ReviewStale)+".", "dtdurations", statSize,
			query{expr: g(`time() - headroom_last_review_timestamp_seconds`), legend: "{{service}}"}).
			GraphMode(common.BigValueGraphModeNone).
			Thresholds(thresholds("green", step{cfg.ReviewStale.Seconds(), "red"})))

	dashed := []dashboard.DynamicConfigValue{{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}}}
	b.WithRow(d.row("Over time")).
		WithPanel(d.timeseries("Capacity and traffic", "Estimated capacity against the observed peak and the target traffic (dashed).", "reqps", half,
			query{expr: g(`headroom_capacity_rps`), legend: "{{service}} capacity"},
			query{expr: g(`headroom_peak_rps`), legend: "{{service}} peak"},
			query{expr: g(`headroom_target_rps`), legend: "{{service}} target"}).
			Min(0).
			OverrideByQuery("C", dashed)).
		WithPanel(d.timeseries("Headroom", "Headroom (capacity / peak - 1) against the target headroom (dashed). Below 0 the peak exceeds the capacity.", "percentunit", half,
			query{expr: g(`headroom_headroom_ratio`), legend: "{{service}} headroom"},
			query{expr: g(`headroom_target_headroom_ratio`), legend: "{{service}} target"}).
			Thresholds(thresholds("red", step{0, "green"})).
			ThresholdsStyle(thresholdLines()).
			OverrideByQuery("B", dashed))

	// What the plan asks for: the capacity the target traffic needs with
	// the target headroom, and the factor by which capacity must grow.
	needed := func() parser.Expr {
		withTarget := binary(parser.MUL, perService(`headroom_target_rps`),
			binary(parser.ADD, &parser.NumberLiteral{Val: 1}, perService(`headroom_target_headroom_ratio`)))
		withDefault := binary(parser.MUL, perService(`headroom_target_rps`), &parser.NumberLiteral{Val: 1 + cfg.TargetHeadroom})
		return union(withTarget, withDefault)
	}
	plan := []query{
		{expr: x.str(perService(`headroom_capacity_rps`))},
		{expr: x.str(perService(`headroom_peak_rps`))},
		{expr: x.str(perService(`headroom_target_rps`))},
		{expr: x.str(perService(`headroom_headroom_ratio`))},
		{expr: x.str(perService(`headroom_target_headroom_ratio`))},
		{expr: x.str(needed())},
		{expr: x.str(binary(parser.DIV, needed(), perService(`headroom_capacity_rps`)))},
	}
	columns := map[string]string{
		"A": "Capacity", "B": "Peak", "C": "Target", "D": "Headroom", "E": "Target headroom",
		"F": "Needed for target", "G": "Scale capacity by",
	}
	unit := func(u string) []dashboard.DynamicConfigValue {
		return []dashboard.DynamicConfigValue{{Id: "unit", Value: u}}
	}
	b.WithRow(d.row("Plan")).
		WithPanel(d.table("Capacity plan", "Per service: the capacity the target traffic needs with the target headroom "+
			"(target × (1 + target headroom)), and the factor by which capacity must grow to reach it (above 1: scale up).",
			size{w: 16, h: 8}, columns, nil, plan...).
			Decimals(2).
			OverrideByName("Capacity", unit("reqps")).
			OverrideByName("Peak", unit("reqps")).
			OverrideByName("Target", unit("reqps")).
			OverrideByName("Needed for target", unit("reqps")).
			OverrideByName("Headroom", unit("percentunit")).
			OverrideByName("Target headroom", unit("percentunit")).
			OverrideByName("Scale capacity by", append(unit("suffix:×"),
				dashboard.DynamicConfigValue{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
				dashboard.DynamicConfigValue{Id: "thresholds", Value: map[string]any{"mode": "absolute", "steps": []map[string]any{
					{"color": "green", "value": nil}, {"color": "red", "value": 1},
				}}}))).
		WithPanel(d.table("Bottleneck by service", "The resource each service's last review named as the bottleneck.",
			size{w: 8, h: 8}, nil, []string{"Value"},
			query{expr: x.str(x.tree(`max by (service, resource) (headroom_bottleneck_info)`, svc))}))

	if x.err != nil {
		return nil, x.err
	}
	return b, nil
}

// grafanaDatasourceUID is Grafana's built-in datasource of annotations.
const grafanaDatasourceUID = "-- Grafana --"

func ptr[T any](v T) *T { return &v }
