package collector

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
)

func findDetected(t *testing.T, ds []Detected, kind string) Detected {
	t.Helper()
	for _, d := range ds {
		if d.Kind == kind {
			return d
		}
	}
	t.Fatalf("no %s in the discovered resources", kind)
	return Detected{}
}

// TestDiscoverAgainstARealPrometheus runs the catalog against a real
// Prometheus scraping an application that exports pgxpool_* and the process
// and Go collectors (job="checkout") and a postgres_exporter look-alike
// (job="postgres").
func TestDiscoverAgainstARealPrometheus(t *testing.T) {
	app := newPoolApp(t)
	pg := newPostgresExporterFake(t)
	testStart := time.Now()
	base := startTestPrometheus(t, "",
		promTarget{Job: "checkout", URL: app.URL + "/metrics"},
		promTarget{Job: "postgres", URL: pg.URL + "/metrics"})
	src := newPromSource(t, PrometheusConfig{URL: base})
	ctx := context.Background()
	waitForQuery(t, src, "five scrapes of the app", `count_over_time(process_cpu_seconds_total{job="checkout"}[1m])`, valueAtLeast(5))
	waitForQuery(t, src, "a scrape of the exporter", `count_over_time(pg_settings_max_connections{job="postgres"}[1m])`, valueAtLeast(1))
	cat := DefaultCatalog()
	checkout := Selectors{Scope: model.Scope{Selector: `{job="checkout"}`}, RateWindow: 5 * time.Second}

	found, err := Discover(ctx, src, cat, checkout, testStart, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != len(cat.Resources) {
		t.Fatalf("Discover returned %d resources; want one per catalog resource (%d)", len(found), len(cat.Resources))
	}

	t.Run("the DB pool is found through pgxpool and its queries are scoped", func(t *testing.T) {
		d := findDetected(t, found, model.KindDBPool)
		if d.Family != "pgxpool" || !d.Found() {
			t.Fatalf("db_pool family = %q; tried %+v", d.Family, d.Tried)
		}
		if d.Queries.Usage != `sum(pgxpool_acquired_conns{job="checkout"})` || d.Queries.Limit != `sum(pgxpool_max_conns{job="checkout"})` || d.LimitSource != "catalog" {
			t.Errorf("queries = %+v, limit source %q", d.Queries, d.LimitSource)
		}
		if !strings.Contains(d.Queries.Saturation, `[5s]`) {
			t.Errorf("saturation %q does not use the 5s rate window", d.Queries.Saturation)
		}
		if len(d.Tried) != 1 || d.Tried[0].Series != 1 {
			t.Errorf("tried = %+v; want pgxpool found with one series at the first try", d.Tried)
		}
	})
	t.Run("CPU is found through the process collector with GOMAXPROCS as the limit", func(t *testing.T) {
		d := findDetected(t, found, model.KindCPU)
		if d.Family != "process" || d.Unit != "cores" {
			t.Fatalf("cpu = %+v", d)
		}
		if d.LimitSource != "GOMAXPROCS (go_sched_gomaxprocs_threads)" || !strings.Contains(d.Queries.Limit, "go_sched_gomaxprocs_threads") {
			t.Errorf("cpu limit = %q from %q; want GOMAXPROCS from the Go collector, named as the source", d.Queries.Limit, d.LimitSource)
		}
	})
	t.Run("memory is found but says that no limit was found", func(t *testing.T) {
		d := findDetected(t, found, model.KindMemory)
		if d.Family != "process" || d.Queries.Limit != "" {
			t.Fatalf("memory = %+v", d)
		}
		if len(d.Notes) == 0 || !strings.Contains(d.Notes[0], "no limit found") || !strings.Contains(d.Notes[0], "--limit-for memory=N") {
			t.Errorf("notes = %q; want them to say no limit was found and how to state one", d.Notes)
		}
	})
	t.Run("an exporter outside the selector is used when it is the only target and the notes say so", func(t *testing.T) {
		d := findDetected(t, found, model.KindDBServerConnections)
		if d.Family != "postgres_exporter" || d.Selector != "" {
			t.Fatalf("db_server_connections = %+v", d)
		}
		if d.Queries.Usage != "sum(pg_stat_activity_count)" {
			t.Errorf("usage = %q; want it unscoped", d.Queries.Usage)
		}
		if len(d.Notes) == 0 || !strings.Contains(d.Notes[0], `job="postgres"`) || !strings.Contains(d.Notes[0], "--selector-for db_server_connections") {
			t.Errorf("notes = %q", d.Notes)
		}
	})
	t.Run("a resource without metrics says what was looked for", func(t *testing.T) {
		d := findDetected(t, found, model.KindRedis)
		if d.Found() {
			t.Fatalf("redis found through %s; the test exports no Redis metrics", d.Family)
		}
		if got := d.Missing(); got != "no Redis server metrics found; looked for redis_*" {
			t.Errorf("Missing() = %q", got)
		}
	})

	t.Run("a selector for another job finds no pool and names every family it looked for", func(t *testing.T) {
		other := Selectors{Scope: model.Scope{Selector: `{job="billing"}`, SelectorFor: map[string]string{model.KindDBServerConnections: `{job="billing-db"}`}}}
		ds, err := Discover(ctx, src, cat, other, testStart, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		d := findDetected(t, ds, model.KindDBPool)
		if d.Found() {
			t.Fatalf("db_pool found through %s with job=billing", d.Family)
		}
		if got, want := d.Missing(), "no DB connection pool metrics found; looked for pgxpool_*, go_sql_stats_connections_*, hikaricp_connections_*"; got != want {
			t.Errorf("Missing() = %q; want %q", got, want)
		}
		if len(d.Tried) != 3 || d.Tried[0].Query != `pgxpool_max_conns{job="billing"}` || d.Tried[0].Outcome != "no series in the window" {
			t.Errorf("tried = %+v", d.Tried)
		}
		// A selector set for the resource is never widened.
		if pgd := findDetected(t, ds, model.KindDBServerConnections); pgd.Found() {
			t.Errorf("db_server_connections found through %s despite --selector-for {job=\"billing-db\"}", pgd.Family)
		}
	})

	t.Run("a configured limit wins over the catalog's limit queries", func(t *testing.T) {
		sel := checkout
		sel.LimitFor = map[string]float64{model.KindCPU: 4, model.KindMemory + "/process": 2 << 30}
		ds, err := Discover(ctx, src, cat, sel, testStart, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if d := findDetected(t, ds, model.KindCPU); d.Queries.Limit != "vector(4)" || d.LimitSource != "configured" {
			t.Errorf("cpu limit = %q from %q", d.Queries.Limit, d.LimitSource)
		}
		if d := findDetected(t, ds, model.KindMemory); d.Queries.Limit != "vector(2147483648)" {
			t.Errorf("memory limit = %q", d.Queries.Limit)
		}
	})

	t.Run("resources are collected on one grid, with utilization", func(t *testing.T) {
		end := time.Now().Truncate(time.Second)
		rs, err := CollectResources(ctx, src, found, Range{Start: end.Add(-3 * time.Second), End: end, Step: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var pool *ResourceSeries
		for i := range rs {
			if rs[i].Kind == model.KindDBPool {
				pool = &rs[i]
			}
			if !findDetected(t, found, rs[i].Kind).Found() {
				t.Errorf("resource %s was not found but was collected", rs[i].Kind)
			}
		}
		if pool == nil {
			t.Fatal("db_pool was not collected")
		}
		if len(pool.Times) != 4 || pool.StepMs != 1000 {
			t.Fatalf("grid = %v (step %v ms); want 4 points a second apart", pool.Times, pool.StepMs)
		}
		for name, ss := range map[string][]model.LabeledSeries{"usage": pool.Usage, "limit": pool.Limit, "utilization": pool.Utilization} {
			want := map[string]float64{"usage": 7, "limit": 20, "utilization": 0.35}[name]
			if len(ss) != 1 {
				t.Fatalf("%s has %d series; want 1", name, len(ss))
			}
			for i, v := range ss[0].Values {
				if math.Abs(v-want) > 1e-9 {
					t.Errorf("%s[%d] = %v; want %v", name, i, v, want)
				}
			}
		}
		// Half a second of acquire time per one-second scrape.
		if st := model.SeriesStats(pool.Saturation); st.Present == 0 || math.Abs(st.Avg-0.5) > 0.2 {
			t.Errorf("saturation = %+v; want about 0.5 waiting acquirers", st)
		}
	})

	t.Run("a scrape outage shows as a gap, not as zeros", func(t *testing.T) {
		from := time.Now().Truncate(time.Second)
		app.fail.Store(true)
		waitForQuery(t, src, "three failed scrapes", `count_over_time(up{job="checkout"}[1m]) - sum_over_time(up{job="checkout"}[1m])`, valueAtLeast(3))
		app.fail.Store(false)
		resumed := time.Now()
		// The newest sample is more than a second younger than the
		// resumption: at least two scrapes happened since.
		waitForQuery(t, src, "two scrapes after the outage",
			`timestamp(pgxpool_max_conns{job="checkout"}) - `+formatUnix(resumed), valueAtLeast(1.1))
		to := time.Now().Truncate(time.Second)
		rs, err := CollectResources(ctx, src, found, Range{Start: from.Add(-2 * time.Second), End: to, Step: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Kind != model.KindDBPool {
				continue
			}
			vals := r.Usage[0].Values
			first, last := -1, -1
			gap := false
			for i, v := range vals {
				if math.IsNaN(v) {
					if first >= 0 {
						gap = true
					}
					continue
				}
				if v != 7 {
					t.Errorf("usage[%d] = %v; want 7 wherever there is a sample", i, v)
				}
				if first < 0 {
					first = i
				}
				if gap {
					last = i
				}
			}
			if first < 0 || !gap || last < 0 {
				t.Fatalf("usage = %v; want samples, then a gap, then samples", vals)
			}
			if notes := strings.Join(r.Notes, "; "); !strings.Contains(notes, "usage, limit: ") || !strings.Contains(notes, " points have no sample") {
				t.Errorf("notes = %q; want them to count the points without samples", r.Notes)
			}
			b, err := json.Marshal(r.Usage[0].Values)
			if err != nil || !strings.Contains(string(b), "null") {
				t.Errorf("usage as JSON = %s, %v; want gaps as null", b, err)
			}
			return
		}
		t.Fatal("db_pool was not collected")
	})
}

func formatUnix(t time.Time) string {
	return pmodel.TimeFromUnixNano(t.UnixNano()).String()
}

func TestDiscoverRefusesBadSelectorsAndWindows(t *testing.T) {
	cat := DefaultCatalog()
	src := newPromSource(t, PrometheusConfig{URL: "http://" + freeLoopbackAddr(t)})
	now := time.Now()
	tests := []struct {
		name  string
		sel   Selectors
		start time.Time
		want  string
	}{
		{"a window that ends before it starts is refused", Selectors{}, now.Add(time.Minute), "is not after its start"},
		{"a default selector that does not parse is refused", Selectors{Scope: model.Scope{Selector: `job="x"`}}, now.Add(-time.Minute), `selector: invalid label selector "job=\"x\""`},
		{"a selector for an unknown kind names the known kinds", Selectors{Scope: model.Scope{SelectorFor: map[string]string{"dbpool": `{job="x"}`}}}, now.Add(-time.Minute), `selector for dbpool: no resource kind "dbpool" in the catalog; known kinds: cpu, db_pool`},
		{"a selector for an unknown family names the resource's families", Selectors{Scope: model.Scope{SelectorFor: map[string]string{"cpu/proc": `{job="x"}`}}}, now.Add(-time.Minute), `resource "cpu" has no family "proc"; its families: process, cadvisor`},
		{"a limit that is not positive is refused", Selectors{Scope: model.Scope{LimitFor: map[string]float64{"cpu": 0}}}, now.Add(-time.Minute), "limit for cpu: 0 is not a positive number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Discover(context.Background(), src, cat, tt.sel, tt.start, now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v; want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDiscoverStopsWhenTheSourceIsDown(t *testing.T) {
	addr := freeLoopbackAddr(t)
	src := newPromSource(t, PrometheusConfig{URL: "http://" + addr, Retries: -1})
	now := time.Now()
	_, err := Discover(context.Background(), src, DefaultCatalog(), Selectors{Scope: model.Scope{Selector: `{job="checkout"}`}}, now.Add(-time.Minute), now)
	if err == nil || !strings.Contains(err.Error(), "could not discover resource db_pool") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error = %v; want it to name the resource and the unreachable URL", err)
	}
}

func TestDetectStepStaysWithinPrometheusLimits(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		want   time.Duration
	}{
		{"a minute is read every second", time.Minute, time.Second},
		{"an hour is read at about 500 points", time.Hour, 7 * time.Second},
		{"a day is read every minute", 24 * time.Hour, time.Minute},
		{"a month stays under 11,000 points", 30 * 24 * time.Hour, 259 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Unix(0, 0)
			got := detectStep(start, start.Add(tt.window))
			if got != tt.want {
				t.Errorf("detectStep(%s) = %s; want %s", tt.window, got, tt.want)
			}
			if tt.window/got > 11_000 {
				t.Errorf("%d points", tt.window/got)
			}
		})
	}
}

func TestAlignMatrixMarksGapsAndUtilizationMatchesLabels(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	pt := func(sec int, v float64) pmodel.SamplePair {
		return pmodel.SamplePair{Timestamp: pmodel.TimeFromUnixNano(start.Add(time.Duration(sec) * time.Second).UnixNano()), Value: pmodel.SampleValue(v)}
	}
	usage := alignMatrix(pmodel.Matrix{
		{Metric: pmodel.Metric{"__name__": "x", "instance": "b"}, Values: []pmodel.SamplePair{pt(0, 2), pt(2, 4)}},
		{Metric: pmodel.Metric{"instance": "a"}, Values: []pmodel.SamplePair{pt(0, 1), pt(1, 1), pt(2, 1), pt(99, 1)}},
	}, start, time.Second, 3)
	if len(usage) != 2 || usage[0].Labels["instance"] != "a" || usage[1].Labels["__name__"] != "" {
		t.Fatalf("series = %+v; want them sorted by labels without __name__", usage)
	}
	if v := usage[1].Values; v[0] != 2 || !math.IsNaN(v[1]) || v[2] != 4 {
		t.Fatalf("values = %v; want [2 NaN 4]: the missing point is a gap", v)
	}
	limitOne := alignMatrix(pmodel.Matrix{{Metric: pmodel.Metric{}, Values: []pmodel.SamplePair{pt(0, 4), pt(1, 0), pt(2, 8)}}}, start, time.Second, 3)
	util, unmatched := utilization(usage, limitOne)
	if unmatched != 0 || len(util) != 2 {
		t.Fatalf("utilization = %+v, %d unmatched; a single limit series applies to all", util, unmatched)
	}
	if v := util[1].Values; v[0] != 0.5 || !math.IsNaN(v[1]) || v[2] != 0.5 {
		t.Errorf("utilization = %v; want [0.5 NaN 0.5] (no usage, and a zero limit, are gaps)", v)
	}
	if v := util[0].Values; v[0] != 0.25 || !math.IsNaN(v[1]) {
		t.Errorf("utilization = %v; want [0.25 NaN …]", v)
	}
	limitByInstance := alignMatrix(pmodel.Matrix{
		{Metric: pmodel.Metric{"instance": "a"}, Values: []pmodel.SamplePair{pt(0, 10)}},
		{Metric: pmodel.Metric{"instance": "c"}, Values: []pmodel.SamplePair{pt(0, 10)}},
	}, start, time.Second, 3)
	util, unmatched = utilization(usage, limitByInstance)
	if unmatched != 1 || len(util) != 1 || util[0].Values[0] != 0.1 {
		t.Errorf("utilization = %+v, %d unmatched; want instance a matched and b unmatched", util, unmatched)
	}
}

func TestSamplesWriteGapsAsNullAndReadThemBack(t *testing.T) {
	in := model.Samples{1, math.NaN(), 2.5}
	b, err := json.Marshal(in)
	if err != nil || string(b) != "[1,null,2.5]" {
		t.Fatalf("json = %s, %v; want [1,null,2.5]", b, err)
	}
	var out model.Samples
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[0] != 1 || !math.IsNaN(out[1]) || out[2] != 2.5 {
		t.Fatalf("read back %v", out)
	}
	st := out.Stats()
	if st.Min != 1 || st.Max != 2.5 || st.Avg != 1.75 || st.Present != 2 || st.Gaps != 1 {
		t.Fatalf("stats = %+v", st)
	}
	if st := (model.Samples{math.NaN()}).Stats(); !math.IsNaN(st.Avg) || st.Present != 0 {
		t.Fatalf("stats of only gaps = %+v; want NaN figures", st)
	}
}

// TestDiscoverWithTheRealExporters checks the catalog's exporter families
// against the real postgres_exporter, redis_exporter and node_exporter that
// scripts/testenv.sh runs and its Prometheus scrapes (jobs postgres, redis
// and node).
func TestDiscoverWithTheRealExporters(t *testing.T) {
	base := testenv.Require(t, testenv.PrometheusURL)
	src := newPromSource(t, PrometheusConfig{URL: base})
	ctx := context.Background()
	for _, job := range []string{"postgres", "redis", "node"} {
		waitForQuery(t, src, "five scrapes of "+job, `count_over_time(up{job="`+job+`"}[1m])`, valueAtLeast(5))
	}
	sel := Selectors{
		Scope: model.Scope{
			Selector: `{job="node"}`,
			SelectorFor: map[string]string{
				model.KindDBServerConnections: `{job="postgres"}`,
				model.KindRedis:               `{job="redis"}`,
				// Skip the families that come before node_exporter's.
				model.KindMemory + "/process":  `{job="absent"}`,
				model.KindMemory + "/cadvisor": `{job="absent"}`,
			},
		},
		RateWindow: 5 * time.Second,
	}
	end := time.Now()
	start := end.Add(-time.Minute)
	found, err := Discover(ctx, src, DefaultCatalog(), sel, start, end)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := CollectResources(ctx, src, found, Range{Start: start, End: end, Step: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		model.KindDBServerConnections: "postgres_exporter",
		model.KindRedis:               "redis_exporter",
		model.KindHostCPU:             "node_exporter",
		model.KindMemory:              "node_exporter",
	}
	for kind, family := range want {
		d := findDetected(t, found, kind)
		if d.Family != family {
			t.Errorf("%s found through %q; want %s (tried %+v)", kind, d.Family, family, d.Tried)
			continue
		}
		var series *ResourceSeries
		for i := range rs {
			if rs[i].Kind == kind {
				series = &rs[i]
			}
		}
		if series == nil {
			t.Errorf("%s was not collected", kind)
			continue
		}
		usage, limit, util := model.SeriesStats(series.Usage), model.SeriesStats(series.Limit), model.SeriesStats(series.Utilization)
		if usage.Present == 0 || limit.Present == 0 || util.Present == 0 {
			t.Errorf("%s: usage %+v, limit %+v, utilization %+v; want samples of all three (notes %q)", kind, usage, limit, util, series.Notes)
			continue
		}
		if usage.Min < 0 || limit.Min <= 0 || util.Max > 1.5 {
			t.Errorf("%s: usage %+v, limit %+v, utilization %+v are implausible", kind, usage, limit, util)
		}
	}
	if d := findDetected(t, found, model.KindRedis); d.Queries.Limit != "vector(1)" {
		t.Errorf("redis limit = %q; want one core", d.Queries.Limit)
	}
}
