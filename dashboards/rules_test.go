package dashboards

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/headroom-sh/headroom/internal/testenv"
)

func testRulesConfig() RulesConfig {
	return RulesConfig{
		Catalog: testCatalog(),
		Scope: Scope{
			Selector:    `{job="checkout"}`,
			SelectorFor: map[string]string{"db_pool/hikaricp": `{job="billing"}`},
			LimitFor:    map[string]float64{"cpu": 2},
		},
	}
}

func TestGoldenRulesFromATestCatalog(t *testing.T) {
	rg, err := Rules(testRulesConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalRules(rg, "A test rule file.\n\nIts second paragraph.")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, b)
	if err := CheckRules(b); err != nil {
		t.Errorf("the rule file does not validate: %v", err)
	}
}

func TestRulesShape(t *testing.T) {
	rg, err := Rules(testRulesConfig())
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]rulefmt.RuleGroup{}
	for _, g := range rg.Groups {
		groups[g.Name] = g
	}

	t.Run("every load recording rule is named level:metric:operations", func(t *testing.T) {
		var names []string
		for _, r := range groups[GroupLoad].Rules {
			if r.Record == "" || strings.Count(r.Record, ":") != 2 || !strings.HasPrefix(r.Record, "headroom:") {
				t.Errorf("record %q is not headroom:METRIC:OPERATIONS", r.Record)
			}
			names = append(names, r.Record)
		}
		for _, want := range []string{"headroom:requests:rate1m", "headroom:request_duration_seconds:p95_1m", "headroom:requests_failed:ratio_rate1m"} {
			if !strings.Contains(strings.Join(names, " "), want) {
				t.Errorf("no %s among %v", want, names)
			}
		}
	})

	t.Run("a resource with a limit gets a utilization rule and an alert; one without gets neither", func(t *testing.T) {
		records := map[string]string{}
		alerts := map[string]rulefmt.Rule{}
		for _, r := range groups[GroupResources].Rules {
			switch {
			case r.Record != "":
				records[r.Labels["resource"]] = r.Expr
			case r.Alert == AlertSaturationApproaching:
				alerts[r.Labels["resource"]] = r
			}
		}
		for _, kind := range []string{"db_pool", "cpu", "db_server_connections", "kafka_consumer"} {
			if records[kind] == "" {
				t.Errorf("no %s rule for %s", RecordUtilization, kind)
			}
			if a, ok := alerts[kind]; !ok || a.Expr != RecordUtilization+`{resource="`+kind+`"} > 0.8` || time.Duration(a.For) != DefaultSaturationFor {
				t.Errorf("SaturationApproaching for %s = %+v", kind, a)
			}
		}
		if _, ok := records["http_inflight"]; ok {
			t.Error("http_inflight has no limit but got a utilization rule")
		}
		if _, ok := alerts["http_inflight"]; ok {
			t.Error("http_inflight has no limit but got an alert")
		}
	})

	t.Run("selectors scope the queries the way the collector does", func(t *testing.T) {
		var pool, cpu, pg string
		for _, r := range groups[GroupResources].Rules {
			if r.Record == "" {
				continue
			}
			switch r.Labels["resource"] {
			case "db_pool":
				pool = r.Expr
			case "cpu":
				cpu = r.Expr
			case "db_server_connections":
				pg = r.Expr
			}
		}
		for _, want := range []string{`pgxpool_acquired_conns{job="checkout"}`, `hikaricp_connections_active{job="billing"}`} {
			if !strings.Contains(pool, want) {
				t.Errorf("db_pool rule lacks %s:\n%s", want, pool)
			}
		}
		if !strings.Contains(cpu, "vector(2)") || strings.Contains(cpu, "go_sched_gomaxprocs_threads") {
			t.Errorf("a stated CPU limit of 2 should replace the catalog's limit queries:\n%s", cpu)
		}
		// An exporter's family is tried with the run's selector, then unscoped.
		if !strings.Contains(pg, `pg_stat_activity_count{job="checkout"}`) || !strings.Contains(pg, "sum(pg_stat_activity_count)") {
			t.Errorf("the exporter family should be scoped, then unscoped:\n%s", pg)
		}
	})

	t.Run("the capacity alerts carry summary, description and runbook", func(t *testing.T) {
		got := map[string]rulefmt.Rule{}
		for _, r := range groups[GroupCapacity].Rules {
			got[r.Alert] = r
		}
		for _, name := range []string{AlertHeadroomBelowTarget, AlertCapacityReviewStale} {
			r, ok := got[name]
			if !ok {
				t.Fatalf("no %s alert", name)
			}
			for _, k := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(r.Annotations[k]) == "" {
					t.Errorf("%s has no %s", name, k)
				}
			}
		}
		if r := got[AlertHeadroomBelowTarget]; time.Duration(r.For) != 15*time.Minute || !strings.Contains(r.Expr, "headroom_headroom_ratio < headroom_target_headroom_ratio") {
			t.Errorf("HeadroomBelowTarget = %+v", r)
		}
		if r := got[AlertCapacityReviewStale]; !strings.Contains(r.Expr, "time() - headroom_last_review_timestamp_seconds > 604800") {
			t.Errorf("CapacityReviewStale = %+v", r)
		}
	})
}

func TestRulesFollowTheirSettings(t *testing.T) {
	cfg := testRulesConfig()
	cfg.TargetHeadroom, cfg.Saturation, cfg.ReviewStale, cfg.Window = 0.3, 0.9, 14*24*time.Hour, 2*time.Minute
	cfg.HeadroomFor, cfg.SaturationFor = 30*time.Minute, 10*time.Minute
	rg, err := Rules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalRules(rg, "")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		"record: headroom:requests:rate2m", "[2m]", "headroom:request_duration_seconds:p99_2m",
		"headroom_headroom_ratio < 0.3", "for: 30m",
		`{resource="db_pool"} > 0.9`, "for: 10m", "above 90% of its limit for 10m",
		"> 1209600", "more than 14d",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the rules lack %q", want)
		}
	}
}

func TestRulesRefuseBadSettings(t *testing.T) {
	cases := []struct {
		name   string
		change func(*RulesConfig)
		want   string
		is     error
	}{
		{"rules without a catalog are refused", func(c *RulesConfig) { c.Catalog = nil }, "no resource catalog", ErrNoCatalog},
		{"a saturation above 1 is refused", func(c *RulesConfig) { c.Saturation = 1.5 }, "saturation 1.5", ErrBadRulesConfig},
		{"a negative target headroom is refused", func(c *RulesConfig) { c.TargetHeadroom = -0.1 }, "target headroom -0.1", ErrBadRulesConfig},
		{"a review staleness under an hour is refused", func(c *RulesConfig) { c.ReviewStale = time.Minute }, "review staleness 1m0s", ErrBadRulesConfig},
		{"a template variable in the selector is refused", func(c *RulesConfig) { c.Scope.Selector = `{job=~"$job"}` }, "names a template variable", ErrBadRulesConfig},
		{"a selector that does not parse is refused", func(c *RulesConfig) { c.Scope.Selector = `job="x"` }, "selector: invalid label selector", ErrBadSelector},
		{"a selector for an unknown kind names the known kinds", func(c *RulesConfig) { c.Scope.SelectorFor = map[string]string{"dbpool": `{job="x"}`} },
			`selector for dbpool: no resource kind "dbpool" in the catalog; known kinds: cpu, db_pool, db_server_connections, http_inflight, kafka_consumer`, nil},
		{"a selector for an unknown family names the resource's families", func(c *RulesConfig) { c.Scope.SelectorFor = map[string]string{"db_pool/pgx": `{job="x"}`} },
			`resource "db_pool" has no family "pgx"; its families: pgxpool, hikaricp`, nil},
		{"a limit that is not positive is refused", func(c *RulesConfig) { c.Scope.LimitFor = map[string]float64{"cpu": 0} }, "limit for cpu: 0 is not a positive number", nil},
		{"catalog PromQL that does not parse names its field", func(c *RulesConfig) { c.Catalog.Resources[1].Families[0].Limit = "sum(" },
			"resources[cpu].families[process].limit: invalid PromQL", ErrBadPromQL},
		{"a catalog query returning a range vector is refused", func(c *RulesConfig) { c.Catalog.Resources[0].Families[0].Usage = "pgxpool_acquired_conns[5m]" },
			"resources[db_pool].families[pgxpool].usage: invalid PromQL: the query returns a matrix", ErrBadCatalog},
		{"a catalog that does not validate is refused", func(c *RulesConfig) { c.Catalog.Resources[0].Families[0].Name = "" },
			"invalid resource catalog: resources[db_pool].families[0].name: missing", ErrBadCatalog},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testRulesConfig()
			c.change(&cfg)
			_, err := Rules(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("err = %v, want errors.Is %v", err, c.is)
			}
		})
	}
}

func TestRulesDoNotChangeTheirInput(t *testing.T) {
	cfg := testRulesConfig()
	before := testRulesConfig()
	if _, err := Rules(cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Catalog, before.Catalog) || !reflect.DeepEqual(cfg.Scope, before.Scope) {
		t.Error("Rules changed the catalog or the scope it was given")
	}
}

func TestCheckRulesFindsProblems(t *testing.T) {
	cases := []struct{ name, file, want string }{
		{"an expression that does not parse", "groups:\n  - name: g\n    rules:\n      - record: a:b:c\n        expr: sum(\n", "parse error"},
		{"an unknown field", "groups:\n  - name: g\n    rules:\n      - record: a:b:c\n        expr: up\n        fro: 5m\n", "fro"},
		{"an annotation template that does not parse", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          summary: '{{ $value '\n", "annotation \"summary\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckRules([]byte(c.file))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestPromtoolAcceptsTheGeneratedRules runs Prometheus's own checker (the
// Debian 2.42 promtool of the test environment) on a generated file, which
// catches syntax newer than the Prometheus most users run.
func TestPromtoolAcceptsTheGeneratedRules(t *testing.T) {
	promtool := testenv.Require(t, testenv.Promtool)
	rg, err := Rules(testRulesConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalRules(rg, "generated by a test")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", "--lint=all", "--lint-fatal", file).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Errorf("promtool did not report success:\n%s", out)
	}
}
