package dashboards

//lint:file-ignore SA1019 The v1 dashboard schema is deliberate: it is what Grafana's /api/dashboards/db, its file provisioning and Grafana before 12 accept; dashboardv2 needs Grafana 12's Kubernetes-style API.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/headroom-sh/headroom/model"
)

// The provisioned Prometheus datasource (deploy/grafana/datasources) and the
// folder the dashboards live in.
const (
	DatasourceUID  = "headroom-prometheus"
	DatasourceName = "headroom Prometheus"
	DatasourceType = "prometheus"
	FolderTitle    = "headroom"
	FolderUID      = "headroom"
)

// UIDs of the dashboards; links and the push use them.
const (
	LoadUID       = "headroom-load"
	SaturationUID = "headroom-saturation"
	CapacityUID   = "headroom-capacity"
)

// Tag is on every headroom dashboard; their links list the dashboards with it.
const Tag = "headroom"

// DefaultDashboardSelector scopes the Saturation dashboard when
// Config.Scope.Selector is empty: the system is chosen in the dashboard with
// its job variable.
const DefaultDashboardSelector = `{job=~"$job"}`

// ErrBadConfig is wrapped by every error about a dashboards Config.
var ErrBadConfig = errors.New("invalid dashboards configuration")

// Config says what dashboards to build.
type Config struct {
	// Catalog is the resource catalog behind the Saturation dashboard;
	// required.
	Catalog *model.Catalog
	// Scope scopes the catalog's queries. An empty selector means
	// DefaultDashboardSelector ({job=~"$job"}, chosen in the dashboard);
	// "{}" selects every series.
	Scope Scope
	// Saturation is the share of a limit drawn as the warning line on
	// utilization panels (default 0.8, the SaturationApproaching threshold).
	Saturation float64
	// TargetHeadroom colours the headroom of a service that publishes no
	// target (default 0.20).
	TargetHeadroom float64
	// ReviewStale turns the age of the last review red (default 7 days).
	ReviewStale time.Duration
	// DatasourceUID and DatasourceName are the default of each dashboard's
	// datasource variable (default the provisioned headroom-prometheus).
	DatasourceUID, DatasourceName string
}

func (c *Config) defaults() error {
	if c.Catalog == nil {
		return fmt.Errorf("%w: %w", ErrBadConfig, ErrNoCatalog)
	}
	if c.Scope.Selector == "" {
		c.Scope.Selector = DefaultDashboardSelector
	}
	if c.Saturation == 0 {
		c.Saturation = DefaultSaturation
	}
	if c.TargetHeadroom == 0 {
		c.TargetHeadroom = DefaultTargetHeadroom
	}
	if c.ReviewStale == 0 {
		c.ReviewStale = DefaultReviewStale
	}
	if c.DatasourceUID == "" {
		c.DatasourceUID = DatasourceUID
	}
	if c.DatasourceName == "" {
		c.DatasourceName = DatasourceName
		if c.DatasourceUID != DatasourceUID {
			c.DatasourceName = c.DatasourceUID
		}
	}
	switch {
	case math.IsNaN(c.Saturation) || c.Saturation <= 0 || c.Saturation > 1:
		return fmt.Errorf("%w: saturation %v: expected a share of the limit above 0 and at most 1, such as 0.8", ErrBadConfig, c.Saturation)
	case math.IsNaN(c.TargetHeadroom) || math.IsInf(c.TargetHeadroom, 0) || c.TargetHeadroom < 0:
		return fmt.Errorf("%w: target headroom %v: expected a ratio of 0 or more, such as 0.20", ErrBadConfig, c.TargetHeadroom)
	case c.ReviewStale < 0:
		return fmt.Errorf("%w: review staleness %s is negative", ErrBadConfig, c.ReviewStale)
	}
	return nil
}

// Dashboard is one generated dashboard.
type Dashboard struct {
	UID   string
	Title string
	// File is its file name in the dashboards/ directory, e.g.
	// "headroom-load.json".
	File string
	// JSON is the dashboard model, indented, ending in a newline: what
	// Grafana's file provisioning reads and what the push sends.
	JSON []byte
}

// Build renders the three dashboards: Load run, Saturation and Capacity.
// Each is checked with Validate before it is returned.
func Build(cfg Config) ([]Dashboard, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	builders := []struct {
		uid   string
		build func(*Config) (*dashboard.DashboardBuilder, error)
	}{
		{LoadUID, loadDashboard},
		{SaturationUID, saturationDashboard},
		{CapacityUID, capacityDashboard},
	}
	known := []string{cfg.DatasourceUID}
	out := make([]Dashboard, 0, len(builders))
	for _, b := range builders {
		db, err := b.build(&cfg)
		if err != nil {
			return nil, fmt.Errorf("could not build dashboard %s: %w", b.uid, err)
		}
		d, err := db.Build()
		if err != nil {
			return nil, fmt.Errorf("could not build dashboard %s: %w", b.uid, err)
		}
		js, err := marshalJSON(d)
		if err != nil {
			return nil, fmt.Errorf("could not render dashboard %s: %w", b.uid, err)
		}
		if err := Validate(js, ValidateOptions{Datasources: known}); err != nil {
			return nil, fmt.Errorf("dashboard %s does not validate: %w", b.uid, err)
		}
		title := ""
		if d.Title != nil {
			title = *d.Title
		}
		out = append(out, Dashboard{UID: b.uid, Title: title, File: b.uid + ".json", JSON: js})
	}
	return out, nil
}

// marshalJSON writes v indented, without HTML escaping (PromQL is full of
// < and >), ending in a newline.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// board holds what every panel of one dashboard shares: the datasource,
// the next panel id and the expression builder.
type board struct {
	cfg    *Config
	ds     common.DataSourceRef
	nextID uint32
	x      *exprs
}

func newBoard(cfg *Config) *board {
	return &board{
		cfg:    cfg,
		ds:     common.DataSourceRef{Type: cog.ToPtr(DatasourceType), Uid: cog.ToPtr("${datasource}")},
		nextID: 1,
		x:      &exprs{},
	}
}

// id returns the next panel id.
func (d *board) id() uint32 {
	id := d.nextID
	d.nextID++
	return id
}

// dashboard starts a dashboard with the shared settings: tag, links to the
// other headroom dashboards, and the datasource variable.
func (d *board) dashboard(uid, title, description, from string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{Tag}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time(from, "now").
		Timezone(common.TimeZoneBrowser).
		Refresh("30s").
		Link(dashboard.NewDashboardLinkBuilder("headroom").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).
			AsDropdown(false).
			IncludeVars(false).
			KeepTime(true)).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Prometheus").
			Type(DatasourceType).
			Current(option(d.cfg.DatasourceName, d.cfg.DatasourceUID)))
}

// option is a variable's current value.
func option(text, value string) dashboard.VariableOption {
	return dashboard.VariableOption{
		Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr(text)},
		Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(value)},
	}
}

// allOption is the current value of a multi-value variable set to All.
func allOption() dashboard.VariableOption {
	return dashboard.VariableOption{
		Text:  dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
		Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
	}
}

// queryVar is a query variable over the datasource.
func (d *board) queryVar(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(d.ds).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
}

// multiVar makes a query variable multi-valued with an All option that
// matches any value (allValue is a regular expression).
func multiVar(v *dashboard.QueryVariableBuilder, allValue string) *dashboard.QueryVariableBuilder {
	return v.Multi(true).IncludeAll(true).AllValue(allValue).Current(allOption())
}

// query is one target of a panel.
type query struct {
	expr, legend string
	// instant asks for the value at the end of the range only.
	instant bool
	// table returns the result as a table (one row per series).
	table bool
}

// targets turns queries into Prometheus targets with ref ids A, B, ….
func (d *board) targets(qs []query) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(qs))
	for i, q := range qs {
		t := prometheus.NewDataqueryBuilder().
			Datasource(d.ds).
			RefId(string(rune('A' + i))).
			Expr(q.expr).
			EditorMode(prometheus.QueryEditorModeCode)
		if q.legend != "" {
			t.LegendFormat(q.legend)
		}
		if q.instant {
			t.Instant()
		} else {
			t.Range()
		}
		if q.table {
			t.Format(prometheus.PromQueryFormatTable)
		}
		out[i] = t
	}
	return out
}

// size is a panel's width (of 24 columns) and height (in rows of 30px).
type size struct{ w, h uint32 }

// timeseries is a time series panel with a legend, a shared tooltip and
// the given unit.
func (d *board) timeseries(title, description, unit string, sz size, qs ...query) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Id(d.id()).
		Title(title).
		Description(description).
		Datasource(d.ds).
		Targets(d.targets(qs)).
		Unit(unit).
		Span(sz.w).
		Height(sz.h).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			ShowLegend(true).
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
}

// stat is a single-value panel showing each series' last value.
func (d *board) stat(title, description, unit string, sz size, qs ...query) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Id(d.id()).
		Title(title).
		Description(description).
		Datasource(d.ds).
		Targets(d.targets(qs)).
		Unit(unit).
		Span(sz.w).
		Height(sz.h).
		GraphMode(common.BigValueGraphModeArea).
		ColorMode(common.BigValueColorModeValue).
		TextMode(common.BigValueTextModeAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}

// table is a table panel over instant queries returned as tables, merged
// into one row per label set. columns renames value columns: by ref id
// ("A" for "Value #A") when there are several queries, "Value" for a single
// one. Time and the hidden columns are left out.
func (d *board) table(title, description string, sz size, columns map[string]string, hidden []string, qs ...query) *table.PanelBuilder {
	for i := range qs {
		qs[i].instant, qs[i].table = true, true
	}
	rename := map[string]any{}
	for ref, name := range columns {
		if len(qs) > 1 {
			ref = "Value #" + ref
		}
		rename[ref] = name
	}
	exclude := map[string]any{"Time": true}
	for _, h := range hidden {
		exclude[h] = true
	}
	return table.NewPanelBuilder().
		Id(d.id()).
		Title(title).
		Description(description).
		Datasource(d.ds).
		Targets(d.targets(qs)).
		Span(sz.w).
		Height(sz.h).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": exclude,
			"renameByName":  rename,
		}})
}

// row starts a row of panels.
func (d *board) row(title string) *dashboard.RowBuilder {
	return dashboard.NewRowBuilder(title).Id(d.id())
}

// step is a threshold: from value at on, the colour is color.
type step struct {
	at    float64
	color string
}

// thresholds are colour steps: base is the colour below the first step.
func thresholds(base string, steps ...step) *dashboard.ThresholdsConfigBuilder {
	ts := []dashboard.Threshold{{Value: nil, Color: base}}
	for _, s := range steps {
		ts = append(ts, dashboard.Threshold{Value: cog.ToPtr(s.at), Color: s.color})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(ts)
}

// thresholdLines draws a panel's thresholds as dashed lines.
func thresholdLines() *common.GraphThresholdsStyleConfigBuilder {
	return common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)
}

// loadOverlay is the load of the runs chosen by the run_id variable, drawn
// on a right-hand axis so resources can be read against it.
func (d *board) loadOverlay() query {
	return query{
		expr:   d.x.q(`sum(rate(`+model.MetricRequests+`[1m]))`, matcher(labels.MatchRegexp, "run_id", "$run_id")),
		legend: "load (requests/s)",
	}
}

// loadOverlayOverride puts the query with the given ref id on the right
// axis in requests per second, as a dashed line without thresholds.
func loadOverlayOverride(ref string) (dashboard.MatcherConfig, []dashboard.DynamicConfigValue) {
	return dashboard.MatcherConfig{Id: "byFrameRefID", Options: ref}, []dashboard.DynamicConfigValue{
		{Id: "custom.axisPlacement", Value: "right"},
		{Id: "unit", Value: "reqps"},
		{Id: "custom.fillOpacity", Value: 0},
		{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
		{Id: "custom.thresholdsStyle", Value: map[string]any{"mode": "off"}},
		{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "text"}},
	}
}

// grafanaUnit maps a catalog unit to a Grafana unit.
func grafanaUnit(unit string) string {
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "":
		return "short"
	case "bytes":
		return "bytes"
	case "seconds", "s":
		return "s"
	}
	if strings.HasPrefix(strings.ToLower(unit), "seconds") {
		return "s"
	}
	return "suffix: " + unit
}
