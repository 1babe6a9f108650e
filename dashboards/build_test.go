package dashboards

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func testConfig() Config {
	return Config{Catalog: testCatalog()}
}

func buildTest(t *testing.T, cfg Config) map[string]Dashboard {
	t.Helper()
	ds, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Dashboard{}
	for _, d := range ds {
		out[d.UID] = d
	}
	return out
}

func TestGoldenDashboardsFromATestCatalog(t *testing.T) {
	ds, err := Build(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 {
		t.Fatalf("got %d dashboards, want 3", len(ds))
	}
	for _, d := range ds {
		t.Run(d.UID, func(t *testing.T) {
			if d.File != d.UID+".json" {
				t.Errorf("file %q, want %s.json", d.File, d.UID)
			}
			golden(t, d.JSON)
		})
	}
}

// panel is the part of a panel the structure tests read.
type panel struct {
	ID         int               `json:"id"`
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Datasource map[string]string `json:"datasource"`
	Targets    []struct {
		RefID      string            `json:"refId"`
		Expr       string            `json:"expr"`
		Legend     string            `json:"legendFormat"`
		Datasource map[string]string `json:"datasource"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit       string `json:"unit"`
			Thresholds struct {
				Steps []struct {
					Value *float64 `json:"value"`
					Color string   `json:"color"`
				} `json:"steps"`
			} `json:"thresholds"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

type boardJSON struct {
	UID        string   `json:"uid"`
	Title      string   `json:"title"`
	Tags       []string `json:"tags"`
	Panels     []panel  `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name string `json:"name"`
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

func decode(t *testing.T, d Dashboard) boardJSON {
	t.Helper()
	var b boardJSON
	if err := json.Unmarshal(d.JSON, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b boardJSON) panel(t *testing.T, title string) panel {
	t.Helper()
	for _, p := range b.Panels {
		if p.Title == title {
			return p
		}
	}
	t.Fatalf("no panel %q in %s", title, b.UID)
	return panel{}
}

func (b boardJSON) variables() []string {
	var out []string
	for _, v := range b.Templating.List {
		out = append(out, v.Name)
	}
	return out
}

func TestDashboardsShape(t *testing.T) {
	ds := buildTest(t, testConfig())

	t.Run("every dashboard is tagged, has a datasource variable and panels that use it", func(t *testing.T) {
		for uid, d := range ds {
			b := decode(t, d)
			if b.UID != uid || !reflect.DeepEqual(b.Tags, []string{Tag}) || !strings.HasPrefix(b.Title, "headroom / ") {
				t.Errorf("%s: uid %q, tags %v, title %q", uid, b.UID, b.Tags, b.Title)
			}
			if vs := b.variables(); len(vs) == 0 || vs[0] != "datasource" {
				t.Errorf("%s: variables %v, want datasource first", uid, vs)
			}
			for _, p := range b.Panels {
				if p.Type == "row" {
					continue
				}
				if p.Datasource["uid"] != "${datasource}" {
					t.Errorf("%s: panel %q uses datasource %v", uid, p.Title, p.Datasource)
				}
				for _, tg := range p.Targets {
					if tg.Datasource["uid"] != "${datasource}" || tg.Expr == "" || tg.RefID == "" {
						t.Errorf("%s: panel %q target %+v", uid, p.Title, tg)
					}
				}
			}
		}
	})

	t.Run("the load dashboard is templated by run and shard and marks stages", func(t *testing.T) {
		b := decode(t, ds[LoadUID])
		if got := b.variables(); !reflect.DeepEqual(got, []string{"datasource", "run_id", "shard", "endpoint"}) {
			t.Errorf("variables %v", got)
		}
		rps := b.panel(t, "Throughput").Targets[0].Expr
		if rps != `sum(rate(headroom_requests_total{run_id="$run_id",shard=~"$shard"}[$__rate_interval]))` {
			t.Errorf("throughput query %s", rps)
		}
		lat := b.panel(t, "Latency")
		if len(lat.Targets) != 4 || !strings.HasPrefix(lat.Targets[2].Expr, `histogram_quantile(0.95, sum(rate(headroom_request_duration_seconds{`) {
			t.Errorf("latency targets %+v", lat.Targets)
		}
		if len(b.Annotations.List) != 1 || b.Annotations.List[0].Name != "Stages" ||
			!strings.Contains(b.Annotations.List[0].Expr, "headroom_stage_active") {
			t.Errorf("annotations %+v", b.Annotations.List)
		}
		byEndpoint := b.panel(t, "Requests/s by endpoint").Targets[0]
		if !strings.Contains(byEndpoint.Expr, `endpoint=~"$endpoint"`) || byEndpoint.Legend != "{{endpoint}}" {
			t.Errorf("per-endpoint target %+v", byEndpoint)
		}
	})

	t.Run("the saturation dashboard has a panel per resource with the threshold lines", func(t *testing.T) {
		b := decode(t, ds[SaturationUID])
		if got := b.variables(); !reflect.DeepEqual(got, []string{"datasource", "job", "run_id"}) {
			t.Errorf("variables %v", got)
		}
		u := b.panel(t, "DB connection pool: utilization")
		steps := u.FieldConfig.Defaults.Thresholds.Steps
		if u.FieldConfig.Defaults.Unit != "percentunit" || len(steps) != 3 || *steps[1].Value != 0.8 || *steps[2].Value != 1 {
			t.Errorf("utilization panel unit %q, thresholds %+v", u.FieldConfig.Defaults.Unit, steps)
		}
		if len(u.Targets) != 2 || !strings.Contains(u.Targets[0].Expr, `pgxpool_acquired_conns{job=~"$job"}`) ||
			!strings.Contains(u.Targets[1].Expr, "headroom_requests_total") {
			t.Errorf("utilization targets %+v", u.Targets)
		}
		q := b.panel(t, "DB connection pool: queueing")
		if !strings.Contains(q.Targets[0].Expr, "pgxpool_acquire_duration_seconds_total") || !strings.Contains(q.Targets[0].Expr, "hikaricp_connections_pending") {
			t.Errorf("queueing targets %+v", q.Targets)
		}
		if p := b.panel(t, "HTTP requests in flight: usage"); p.FieldConfig.Defaults.Unit != "suffix: requests" {
			t.Errorf("usage panel unit %q", p.FieldConfig.Defaults.Unit)
		}
		all := b.panel(t, "Utilization of every resource").Targets[0].Expr
		for _, kind := range []string{"db_pool", "cpu", "db_server_connections", "kafka_consumer"} {
			if !strings.Contains(all, `"resource", "`+kind+`"`) {
				t.Errorf("the overview lacks %s: %s", kind, all)
			}
		}
		if strings.Contains(all, `"http_inflight"`) {
			t.Errorf("the overview has http_inflight, which has no limit: %s", all)
		}
	})

	t.Run("the capacity dashboard reads the service gauges", func(t *testing.T) {
		b := decode(t, ds[CapacityUID])
		if got := b.variables(); !reflect.DeepEqual(got, []string{"datasource", "service"}) {
			t.Errorf("variables %v", got)
		}
		var exprs []string
		for _, p := range b.Panels {
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
		}
		joined := strings.Join(exprs, "\n")
		for _, g := range []string{"headroom_capacity_rps", "headroom_peak_rps", "headroom_target_rps", "headroom_headroom_ratio",
			"headroom_target_headroom_ratio", "headroom_bottleneck_info", "headroom_last_review_timestamp_seconds"} {
			if !strings.Contains(joined, g+`{service=~"$service"}`) {
				t.Errorf("no panel reads %s", g)
			}
		}
		steps := b.panel(t, "Headroom").FieldConfig.Defaults.Thresholds.Steps
		if len(steps) != 3 || *steps[2].Value != DefaultTargetHeadroom {
			t.Errorf("headroom thresholds %+v", steps)
		}
	})
}

func TestDashboardsFollowTheirSettings(t *testing.T) {
	cfg := testConfig()
	cfg.Scope = Scope{Selector: `{namespace="shop"}`, SelectorFor: map[string]string{"db_server_connections": `{job=~"$pgjob"}`}}
	cfg.Saturation, cfg.TargetHeadroom = 0.9, 0.3
	cfg.DatasourceUID = "prom-main"
	ds := buildTest(t, cfg)

	sat := decode(t, ds[SaturationUID])
	if got := sat.variables(); !reflect.DeepEqual(got, []string{"datasource", "pgjob", "run_id"}) {
		t.Errorf("a baked-in selector needs no job variable, a variable in a selector gets one: %v", got)
	}
	u := sat.panel(t, "DB connection pool: utilization")
	if !strings.Contains(u.Targets[0].Expr, `pgxpool_acquired_conns{namespace="shop"}`) || *u.FieldConfig.Defaults.Thresholds.Steps[1].Value != 0.9 {
		t.Errorf("utilization panel %+v", u)
	}
	if e := sat.panel(t, "PostgreSQL server connections: utilization").Targets[0].Expr; !strings.Contains(e, `pg_stat_activity_count{job=~"$pgjob"}`) {
		t.Errorf("the resource's own selector was not used: %s", e)
	}
	if !strings.Contains(string(ds[LoadUID].JSON), `"value": "prom-main"`) {
		t.Error("the datasource variable does not default to prom-main")
	}
	// Panels name the datasource variable, so the dashboards stand whatever
	// its default.
	if err := Validate(ds[LoadUID].JSON, ValidateOptions{}); err != nil {
		t.Error(err)
	}
}

func TestDashboardsRefuseBadSettings(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
		want   string
		is     error
	}{
		{"dashboards without a catalog are refused", func(c *Config) { c.Catalog = nil }, "no resource catalog", ErrNoCatalog},
		{"a saturation of 0 or less is refused", func(c *Config) { c.Saturation = -1 }, "saturation -1", ErrBadConfig},
		{"a selector that does not parse is refused", func(c *Config) { c.Scope.Selector = `{job=}` }, "invalid label selector", ErrBadSelector},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			c.change(&cfg)
			_, err := Build(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, c.is) {
				t.Fatalf("err = %v, want %v containing %q", err, c.is, c.want)
			}
		})
	}
}

func TestBuildDoesNotChangeItsInput(t *testing.T) {
	cfg := testConfig()
	if _, err := Build(cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, testConfig()) {
		t.Error("Build changed the config or the catalog it was given")
	}
}
