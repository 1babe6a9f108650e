package dashboards

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

// validDashboard is a small dashboard that passes Validate; the cases below
// break one thing each.
func validDashboard() map[string]any {
	ds := map[string]any{"type": "prometheus", "uid": "${datasource}"}
	return map[string]any{
		"uid":   "test",
		"title": "test",
		"templating": map[string]any{"list": []any{
			map[string]any{"name": "datasource", "type": "datasource", "query": "prometheus",
				"current": map[string]any{"text": "headroom Prometheus", "value": DatasourceUID}},
			map[string]any{"name": "run_id", "type": "query", "datasource": ds,
				"query": "label_values(headroom_requests_total, run_id)"},
			map[string]any{"name": "shard", "type": "query", "datasource": ds,
				"query": map[string]any{"query": `label_values(headroom_requests_total{run_id="$run_id"}, shard)`, "refId": "A"}},
			map[string]any{"name": "quantile", "type": "custom", "query": "0.5,0.95",
				"current": map[string]any{"text": "0.95", "value": "0.95"}},
			map[string]any{"name": "window", "type": "interval", "query": "1m,5m",
				"current": map[string]any{"text": "5m", "value": "5m"}},
		}},
		"annotations": map[string]any{"list": []any{
			map[string]any{"name": "Annotations & Alerts", "builtIn": 1.0,
				"datasource": map[string]any{"type": "grafana", "uid": "-- Grafana --"}},
			map[string]any{"name": "Stages", "datasource": ds,
				"expr": `max by (stage) (headroom_stage_active{run_id="$run_id"}) > 0`, "titleFormat": "{{stage}}"},
		}},
		"panels": []any{
			map[string]any{"id": 1.0, "type": "row", "title": "Load", "gridPos": map[string]any{"x": 0.0, "w": 24.0},
				"panels": []any{}},
			map[string]any{"id": 2.0, "type": "timeseries", "title": "Latency of $run_id", "datasource": ds,
				"gridPos": map[string]any{"x": 0.0, "w": 12.0},
				"targets": []any{
					map[string]any{"refId": "A", "datasource": ds, "legendFormat": "p${quantile}",
						"expr": `histogram_quantile($quantile, sum by (le) (rate(headroom_request_duration_seconds_bucket{run_id="$run_id",shard=~"${shard:regex}"}[$__rate_interval])))`},
					map[string]any{"refId": "B",
						"expr": `sum(increase(headroom_requests_total{run_id="[[run_id]]"}[$window])) / $__range_s`},
				}},
			map[string]any{"id": 3.0, "type": "text", "title": "Notes", "gridPos": map[string]any{"x": 12.0, "w": 12.0}},
			map[string]any{"id": 4.0, "type": "timeseries", "title": "Direct", "gridPos": map[string]any{"x": 0.0, "w": 24.0},
				"datasource": map[string]any{"type": "prometheus", "uid": DatasourceUID},
				"targets":    []any{map[string]any{"refId": "A", "expr": "up"}}},
		},
	}
}

func validate(t *testing.T, d map[string]any, opts ValidateOptions) error {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return Validate(b, opts)
}

// at walks a path of map keys and list indexes.
func at(d any, path ...any) map[string]any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			d = d.(map[string]any)[k]
		case int:
			d = d.([]any)[k]
		}
	}
	return d.(map[string]any)
}

func TestAValidDashboardPasses(t *testing.T) {
	if err := validate(t, validDashboard(), ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	wrapped := map[string]any{"dashboard": validDashboard(), "overwrite": true}
	if err := validate(t, wrapped, ValidateOptions{}); err != nil {
		t.Errorf("the API's wrapper: %v", err)
	}
}

func TestValidateFindsEachProblem(t *testing.T) {
	cases := []struct {
		name   string
		change func(d map[string]any)
		path   string
		msg    string
	}{
		{"a dashboard without a title", func(d map[string]any) { delete(d, "title") },
			"title", "missing"},
		{"a panel naming a datasource uid that does not exist", func(d map[string]any) {
			at(d, "panels", 3)["datasource"] = map[string]any{"type": "prometheus", "uid": "gone"}
		}, "panels[3].datasource.uid", `no datasource with uid "gone"`},
		{"a target naming an undefined datasource variable", func(d map[string]any) {
			at(d, "panels", 1, "targets", 0)["datasource"] = map[string]any{"type": "prometheus", "uid": "${prom}"}
		}, "panels[1].targets[0].datasource.uid", "$prom is not a template variable"},
		{"a datasource named by a query variable", func(d map[string]any) {
			at(d, "panels", 3)["datasource"] = map[string]any{"type": "prometheus", "uid": "$run_id"}
		}, "panels[3].datasource.uid", "$run_id is a query variable, not a datasource variable"},
		{"a datasource given by name", func(d map[string]any) { at(d, "panels", 3)["datasource"] = "Prometheus" },
			"panels[3].datasource", `named by a string`},
		{"a target without any datasource", func(d map[string]any) { delete(at(d, "panels", 3), "datasource") },
			"panels[3].targets[0].datasource", "neither the target nor the panel names a datasource"},
		{"a query using an undefined variable", func(d map[string]any) {
			at(d, "panels", 1, "targets", 0)["expr"] = `sum(rate(headroom_requests_total{scenario="$scenario"}[5m]))`
		}, "panels[1].targets[0].expr", "$scenario is not a template variable"},
		{"a legend using an undefined variable", func(d map[string]any) { at(d, "panels", 1, "targets", 0)["legendFormat"] = "[[q]]" },
			"panels[1].targets[0].legendFormat", "$q is not a template variable"},
		{"a title using an undefined variable", func(d map[string]any) { at(d, "panels", 1)["title"] = "Latency of ${run}" },
			"panels[1].title", "$run is not a template variable"},
		{"PromQL that does not parse", func(d map[string]any) {
			at(d, "panels", 1, "targets", 0)["expr"] = `sum(rate(headroom_requests_total{run_id="$run_id"}[$__rate_interval])`
		}, "panels[1].targets[0].expr", "parse error"},
		{"an empty Prometheus query", func(d map[string]any) { at(d, "panels", 3, "targets", 0)["expr"] = " " },
			"panels[3].targets[0].expr", "without an expression"},
		{"an annotation whose PromQL does not parse", func(d map[string]any) { at(d, "annotations", "list", 1)["expr"] = "max by (stage (x)" },
			"annotations.list[1].expr", "parse error"},
		{"a variable query whose selector does not parse", func(d map[string]any) {
			at(d, "templating", "list", 1)["query"] = `label_values(headroom_requests_total{run_id=}, run_id)`
		}, "templating.list[1].query", "parse error"},
		{"a variable query that is not one of Grafana's", func(d map[string]any) { at(d, "templating", "list", 1)["query"] = "values(run_id)" },
			"templating.list[1].query", "is not a Prometheus variable query"},
		{"a variable query using an undefined variable", func(d map[string]any) {
			at(d, "templating", "list", 2)["query"] = `label_values(headroom_requests_total{scenario="$scenario"}, shard)`
		}, "templating.list[2].query", "$scenario is not a template variable"},
		{"a variable defined twice", func(d map[string]any) {
			l := at(d, "templating")["list"].([]any)
			at(d, "templating")["list"] = append(l, map[string]any{"name": "run_id", "type": "constant", "query": "x"})
		}, "templating.list[5].name", `variable "run_id" is defined twice`},
		{"two panels with one id", func(d map[string]any) { at(d, "panels", 3)["id"] = 2.0 },
			"panels[3].id", `panel id 2 of "Direct" is also the id of "Latency of $run_id"`},
		{"a panel that does not fit the grid", func(d map[string]any) { at(d, "panels", 2, "gridPos")["x"] = 18.0 },
			"panels[2].gridPos", "spans columns 18 to 30"},
		{"a problem inside a collapsed row", func(d map[string]any) {
			at(d, "panels", 0)["panels"] = []any{map[string]any{"id": 9.0, "type": "stat", "title": "In a row",
				"datasource": map[string]any{"type": "prometheus", "uid": "${datasource}"},
				"targets":    []any{map[string]any{"refId": "A", "expr": "sum("}}}}
		}, "panels[0].panels[0].targets[0].expr", "parse error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := validDashboard()
			c.change(d)
			err := validate(t, d, ValidateOptions{})
			var ves model.ValidationErrors
			if !errors.As(err, &ves) {
				t.Fatalf("err = %v, want ValidationErrors", err)
			}
			for _, fe := range ves {
				if fe.Path == c.path && strings.Contains(fe.Msg, c.msg) {
					return
				}
			}
			t.Errorf("no problem at %s containing %q; got:\n%v", c.path, c.msg, err)
		})
	}
}

func TestValidateKnowsOtherDatasourcesWhenTold(t *testing.T) {
	d := validDashboard()
	at(d, "panels", 3)["datasource"] = map[string]any{"type": "prometheus", "uid": "prom-main"}
	if err := validate(t, d, ValidateOptions{}); err == nil {
		t.Fatal("an unknown datasource passed")
	}
	if err := validate(t, d, ValidateOptions{Datasources: []string{DatasourceUID, "prom-main"}}); err != nil {
		t.Errorf("a datasource named in the options was refused: %v", err)
	}
}

func TestValidateRefusesWhatIsNotADashboard(t *testing.T) {
	for _, in := range []string{`[1, 2]`, `{"title": `, ``} {
		if err := Validate([]byte(in), ValidateOptions{}); err == nil || !strings.Contains(err.Error(), "not a dashboard") {
			t.Errorf("Validate(%q) = %v, want not a dashboard", in, err)
		}
	}
}

func TestVariableSubstitution(t *testing.T) {
	v := &validator{vars: map[string]variable{
		"run_id": {kind: "query", value: "x"},
		"window": {kind: "interval", value: "5m"},
	}}
	got := v.substitute(`rate(a{run_id="$run_id",b="${run_id:regex}",c="[[run_id]]"}[$__rate_interval]) / $__range_s + rate(b[$window])`)
	want := `rate(a{run_id="x",b="x",c="x"}[1m]) / 60 + rate(b[5m])`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
