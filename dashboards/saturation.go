package dashboards

//lint:file-ignore SA1019 The v1 dashboard schema is deliberate: it is what Grafana's /api/dashboards/db, its file provisioning and Grafana before 12 accept; dashboardv2 needs Grafana 12's Kubernetes-style API.

import (
	"fmt"
	"github.com/headroom-sh/headroom/internal/selector"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/headroom-sh/headroom/model"
)

// saturationDashboard is "headroom / Saturation": each catalog resource's
// utilization and queueing against the load, with the saturation threshold
// and the limit drawn as lines.
func saturationDashboard(cfg *Config) (*dashboard.DashboardBuilder, error) {
	d := newBoard(cfg)
	x := d.x
	res, err := catalogExprs(cfg.Catalog, cfg.Scope, x)
	if err != nil {
		return nil, err
	}
	b := d.dashboard(SaturationUID, "headroom / Saturation",
		fmt.Sprintf("Every resource of the catalog against the load: utilization (usage / limit) with the %s saturation line "+
			"and the limit, and queueing where the metrics measure it. The first resource to reach its limit as load grows "+
			"is the bottleneck. Families of metrics are tried in catalog order; the legend names the one measuring.",
			percent(cfg.Saturation)), "now-30m")
	vars, err := selectorVariables(d, cfg.Scope)
	if err != nil {
		return nil, err
	}
	for _, v := range vars {
		b.WithVariable(v)
	}
	runs := matcher(labels.MatchRegexp, "run_id", "$run_id")
	b.WithVariable(multiVar(d.queryVar("run_id", "load run", "label_values("+model.MetricRequests+", run_id)"), ".+").
		Sort(dashboard.VariableSortAlphabeticalDesc)).
		Annotation(d.stagesAnnotation(runs))

	limitSteps := thresholds("green", step{cfg.Saturation, "orange"}, step{1, "red"})
	var all parser.Expr
	for i := range res {
		r := &res[i]
		if r.utilization == nil {
			continue
		}
		e := withLabel(r.utilization, "resource", r.res.Kind)
		if all == nil {
			all = e
		} else {
			all = union(all, e)
		}
	}
	if all != nil {
		m, props := loadOverlayOverride("B")
		b.WithPanel(d.timeseries("Utilization of every resource",
			"Usage as a share of the limit, for every resource that has one. The first to reach 100% as load grows is the bottleneck.",
			"percentunit", size{w: 24, h: 10},
			query{expr: x.str(all), legend: "{{resource}} ({{family}})"}, d.loadOverlay()).
			Min(0).
			AxisSoftMax(1).
			Thresholds(limitSteps).
			ThresholdsStyle(thresholdLines()).
			WithOverride(m, props))
	}

	for i := range res {
		r := &res[i]
		b.WithRow(d.row(r.name()))
		w := uint32(24)
		if r.saturation != nil {
			w = 12
		}
		m, props := loadOverlayOverride("B")
		if r.utilization != nil {
			b.WithPanel(d.timeseries(r.name()+": utilization", resourceDescription(r, "Usage as a share of the limit."),
				"percentunit", size{w: w, h: 8},
				query{expr: x.str(r.utilization), legend: "{{family}}"}, d.loadOverlay()).
				Min(0).
				AxisSoftMax(1).
				Thresholds(limitSteps).
				ThresholdsStyle(thresholdLines()).
				WithOverride(m, props))
		} else {
			b.WithPanel(d.timeseries(r.name()+": usage", resourceDescription(r, "The resource has no fixed limit: growth without more throughput shows queueing."),
				unitOf(r.units), size{w: w, h: 8},
				query{expr: x.str(r.usage), legend: "{{family}}"}, d.loadOverlay()).
				Min(0).
				WithOverride(m, props))
		}
		if r.saturation != nil {
			b.WithPanel(d.timeseries(r.name()+": queueing", resourceDescription(r, "Work waiting for the resource, in "+strings.Join(r.saturationUnits, " or ")+"."),
				unitOf(r.saturationUnits), size{w: 12, h: 8},
				query{expr: x.str(r.saturation), legend: "{{family}}"}, d.loadOverlay()).
				Min(0).
				WithOverride(m, props))
		}
	}
	if x.err != nil {
		return nil, x.err
	}
	return b, nil
}

// resourceDescription is a panel description: the catalog's description of
// the resource, then what the panel shows.
func resourceDescription(r *resourceExprs, what string) string {
	var parts []string
	if r.res.Description != "" {
		parts = append(parts, strings.TrimSpace(r.res.Description))
	}
	parts = append(parts, what, "Measured by the first family of "+familyNames(r.res)+" whose metrics exist.")
	return strings.Join(parts, " ")
}

func familyNames(r *model.CatalogResource) string {
	names := make([]string, len(r.Families))
	for i, f := range r.Families {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// unitOf is the Grafana unit of a panel whose families share a unit, else
// a plain number.
func unitOf(units []string) string {
	if len(units) == 1 {
		return grafanaUnit(units[0])
	}
	return "short"
}

// selectorVariables defines the template variables the scope's selectors
// use, e.g. job for {job=~"$job"}: a query variable listing the values of
// the label the matcher is on.
func selectorVariables(d *board, s Scope) ([]*dashboard.QueryVariableBuilder, error) {
	sels := []string{s.Selector}
	for _, k := range sortedKeys(s.SelectorFor) {
		sels = append(sels, s.SelectorFor[k])
	}
	seen := map[string]bool{}
	var out []*dashboard.QueryVariableBuilder
	for _, sel := range sels {
		ms, err := selector.Parse(sel)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			for _, name := range variableNames(m.Value) {
				if seen[name] || builtinVariable(name) || name == "run_id" || name == "datasource" {
					continue
				}
				seen[name] = true
				v := d.queryVar(name, name, fmt.Sprintf("label_values(up, %s)", m.Name))
				if m.Type == labels.MatchRegexp || m.Type == labels.MatchNotRegexp {
					// Without a current value Grafana starts from the
					// first value: one system rather than all of them.
					v.Multi(true).IncludeAll(true).AllValue(".+")
				}
				out = append(out, v)
			}
		}
	}
	return out, nil
}
