package collector

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/model"
)

// The expositions in testdata/exposition/real were scraped from real
// programs nobody here wrote (trimmed to the families a hint reads; the
// README there says which version and how): Miniflux v2.3.5, Prometheus
// 2.42, postgres_exporter 0.11.1, redis_exporter 1.45 and node_exporter
// 1.5. Each is scraped into the embedded store as the run's scraper does.

// realExposition reads one of them.
func realExposition(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "exposition", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scrapeReal scrapes the named expositions, each as a job of its own name,
// into a store, and returns it with the window of the scrapes.
func scrapeReal(t *testing.T, files ...string) (*Store, time.Time, time.Time) {
	t.Helper()
	var targets []ScrapeTarget
	for _, f := range files {
		srv := metricsServer(t, realExposition(t, f))
		targets = append(targets, ScrapeTarget{URL: srv.URL + "/metrics", Job: strings.TrimSuffix(f, ".txt")})
	}
	start := time.Now()
	s, _ := startScrape(t, 3, 250*time.Millisecond, targets...)
	return s, start, time.Now().Add(time.Second)
}

// exposedTypes reads the # TYPE of every family of an exposition, and the
// names of its samples (a histogram's parts, a counter's _total).
func exposedTypes(t *testing.T, body string) map[string]pmodel.MetricType {
	t.Helper()
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]pmodel.MetricType{}
	for name, mf := range fams {
		typ := dtoType(mf.GetType())
		out[name] = typ
		for _, suf := range []string{"_sum", "_count", "_bucket"} {
			out[name+suf] = typ
		}
	}
	return out
}

// snippetField returns the query of one field of a snippet ("" when the
// snippet has no such line).
func snippetField(snippet, field string) string {
	for _, line := range strings.Split(snippet, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+": "); ok {
			return v
		}
	}
	return ""
}

// hintCase is what a real exposition must be suggested.
type hintCase struct {
	files []string
	// want lists, by kind, the candidates that must be listed first, in
	// this order; an empty list means the kind gets no candidates.
	want map[string][]string
	// snippet lists, by kind, the snippet lines it must hold ("limit: -"
	// means no limit line).
	snippet map[string][]string
	// never lists names that no kind may offer.
	never []string
}

func TestHintsOnRealExpositions(t *testing.T) {
	cases := map[string]hintCase{
		"Miniflux's pool is declared with in_use as usage and its wait count as a rate, and a running count is never its limit": {
			files: []string{"miniflux.txt"},
			want: map[string][]string{
				model.KindDBPool: {"miniflux_db_connections_in_use", "miniflux_db_connections_wait_count"},
			},
			snippet: map[string][]string{model.KindDBPool: {
				"detect: miniflux_db_connections_in_use",
				"usage: sum(miniflux_db_connections_in_use)",
				"limit: -",
				"# pass --limit-for db_pool=N with the size the application is configured with,",
				"saturation: sum(rate(miniflux_db_connections_wait_count[30s]))",
				"saturationUnit: waits per second",
				"# not used: miniflux_db_connections_max_idle_closed (a running count, not a level)",
			}},
		},
		"Prometheus's scrape pools are not a DB pool, and its notification queue is a queue with a capacity": {
			files: []string{"prometheus.txt"},
			want: map[string][]string{
				model.KindDBPool:    {},
				model.KindRedisPool: {},
				KindQueue:           {"prometheus_notifications_queue_length", "prometheus_notifications_queue_capacity"},
			},
			snippet: map[string][]string{KindQueue: {
				"usage: sum(prometheus_notifications_queue_length)",
				"limit: sum(prometheus_notifications_queue_capacity)",
			}},
			never: []string{"prometheus_target_scrape_pool_targets", "prometheus_target_scrape_pools_total"},
		},
		"postgres_exporter's settings are not a pool nor a queue": {
			files: []string{"postgres_exporter.txt"},
			want:  map[string][]string{model.KindDBPool: {}, KindQueue: {}},
			never: []string{"pg_settings_log_connections", "pg_settings_superuser_reserved_connections", "pg_settings_gin_pending_list_limit_bytes"},
		},
		"redis_exporter's server counts are not a client pool, its replication backlog not a queue": {
			files: []string{"redis_exporter.txt"},
			want:  map[string][]string{model.KindDBPool: {}, model.KindRedisPool: {}, KindQueue: {}},
			never: []string{"redis_cluster_connections", "redis_connections_received_total", "redis_repl_backlog_is_active"},
		},
		"node_exporter's pressure stalls are not a queue": {
			files: []string{"node_exporter.txt"},
			want:  map[string][]string{model.KindDBPool: {}, KindQueue: {}},
			never: []string{"node_pressure_io_waiting_seconds_total"},
		},
		"Miniflux scraped with its database's and host's exporters: only Miniflux's names are a DB pool": {
			files: []string{"miniflux.txt", "postgres_exporter.txt", "node_exporter.txt"},
			want: map[string][]string{
				model.KindDBPool: {"miniflux_db_connections_in_use", "miniflux_db_connections_wait_count"},
			},
			snippet: map[string][]string{model.KindDBPool: {"usage: sum(miniflux_db_connections_in_use)"}},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, start, end := scrapeReal(t, c.files...)
			found, err := Discover(context.Background(), s, DefaultCatalog(), Selectors{}, start, end)
			if err != nil {
				t.Fatal(err)
			}
			types := map[string]pmodel.MetricType{}
			for _, f := range c.files {
				for n, typ := range exposedTypes(t, realExposition(t, f)) {
					types[n] = typ
				}
			}
			byKind := map[string]Detected{}
			for _, d := range found {
				byKind[d.Kind] = d
				for _, n := range d.Candidates {
					if slices.Contains(c.never, n) {
						t.Errorf("%s offers %s", d.Kind, n)
					}
				}
				if d.CatalogSnippet == "" {
					continue
				}
				// A running count is never a limit nor a level.
				for _, field := range []string{"limit", "usage", "detect"} {
					q := snippetField(d.CatalogSnippet, field)
					for n, typ := range types {
						if strings.Contains(q, n) && (typ == pmodel.MetricTypeCounter || strings.Contains(q, "rate(")) &&
							(field != "usage" || d.Kind != model.KindCPU) {
							t.Errorf("%s's %s reads the counter %s: %s", d.Kind, field, n, q)
						}
					}
				}
				if _, err := parseCatalogSnippet(t, d.CatalogSnippet); err != nil {
					t.Errorf("%s's snippet does not load: %v\n%s", d.Kind, err, d.CatalogSnippet)
				}
			}
			for kind, want := range c.want {
				got := byKind[kind].Candidates
				if len(want) == 0 {
					if len(got) > 0 {
						t.Errorf("%s candidates = %q; want none", kind, got)
					}
					continue
				}
				if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
					t.Errorf("%s candidates = %q; want them to begin with %q", kind, got, want)
				}
			}
			for kind, lines := range c.snippet {
				sn := byKind[kind].CatalogSnippet
				for _, line := range lines {
					if f, ok := strings.CutSuffix(line, ": -"); ok {
						if v := snippetField(sn, f); v != "" {
							t.Errorf("%s snippet has %s: %s; want none", kind, f, v)
						}
						continue
					}
					if !strings.Contains(sn, line) {
						t.Errorf("%s snippet lacks %q:\n%s", kind, line, sn)
					}
				}
			}
		})
	}
}

// parseCatalogSnippet loads a snippet as --catalog does.
func parseCatalogSnippet(t *testing.T, snippet string) (*model.Catalog, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := writeFile(path, snippet); err != nil {
		t.Fatal(err)
	}
	return LoadCatalog(path)
}

// TestMinifluxSnippetFindsThePool: the snippet suggested for Miniflux,
// given back as --catalog with the pool size Miniflux does not export
// (--limit-for db_pool=4), finds the pool with its limit and reads its
// utilization.
func TestMinifluxSnippetFindsThePool(t *testing.T) {
	s, start, end := scrapeReal(t, "miniflux.txt", "postgres_exporter.txt")
	found, err := Discover(context.Background(), s, DefaultCatalog(), Selectors{}, start, end)
	if err != nil {
		t.Fatal(err)
	}
	d := findDetected(t, found, model.KindDBPool)
	if d.Found() || d.CatalogSnippet == "" {
		t.Fatalf("db_pool = %+v; want it missing, with a snippet", d)
	}
	snippet := d.CatalogSnippet
	cat, err := parseCatalogSnippet(t, snippet)
	if err != nil {
		t.Fatalf("the snippet does not load: %v\n%s", err, d.CatalogSnippet)
	}
	sel := Selectors{Scope: model.Scope{LimitFor: map[string]float64{model.KindDBPool: 4}}}
	found, err = Discover(context.Background(), s, cat, sel, start, end)
	if err != nil {
		t.Fatal(err)
	}
	d = findDetected(t, found, model.KindDBPool)
	if d.Family != "miniflux_db" || d.LimitSource != "configured" {
		t.Fatalf("with the snippet, db_pool = %+v; want family miniflux_db with limit 4", d)
	}
	if len(d.Candidates) != 0 {
		t.Errorf("a found pool lists candidates %q", d.Candidates)
	}
	checkMinifluxPool(t, s, found, start, end)

	// The other way the snippet offers: the size declared in the file.
	declared := strings.Replace(snippet, "# or declare it here as  limit: vector(N)", "limit: vector(4)", 1)
	if declared == snippet {
		t.Fatalf("the snippet does not offer limit: vector(N):\n%s", snippet)
	}
	if cat, err = parseCatalogSnippet(t, declared); err != nil {
		t.Fatalf("the snippet with its limit does not load: %v\n%s", err, declared)
	}
	if found, err = Discover(context.Background(), s, cat, Selectors{}, start, end); err != nil {
		t.Fatal(err)
	}
	if d = findDetected(t, found, model.KindDBPool); d.LimitSource != "catalog" {
		t.Fatalf("with limit: vector(4), db_pool = %+v", d)
	}
	checkMinifluxPool(t, s, found, start, end)
}

// checkMinifluxPool checks the pool read through the snippet.
func checkMinifluxPool(t *testing.T, s *Store, found []Detected, start, end time.Time) {
	t.Helper()
	rs := collectOne(t, s, found, model.KindDBPool, Range{Start: start, End: end, Step: 250 * time.Millisecond})
	// The exposition has 4 connections in use of the pool's 4 (it was scraped under load).
	if u := model.SeriesStats(rs.Utilization); u.Present == 0 || math.Abs(u.Max-1) > 1e-9 {
		t.Errorf("utilization %+v; want 4 of 4 connections", u)
	}
	if sat := model.SeriesStats(rs.Saturation); sat.Present == 0 {
		t.Errorf("saturation %+v; want the rate of waits", sat)
	}
}

// TestCountersAreNeverLevels: by its metadata (a counter without _total),
// by its name (_closed, _count) or by its help ("The total number of"), a
// running count is only ever read as a rate of waits.
func TestCountersAreNeverLevels(t *testing.T) {
	rule := hintRules[model.KindDBPool]
	for _, c := range []struct {
		m    metricInfo
		role hintRole
		cum  bool
	}{
		{metricInfo{name: "go_sql_stats_connections_blocked_seconds", md: Metadata{Type: pmodel.MetricTypeCounter}}, roleSaturation, true},
		{metricInfo{name: "app_db_connections_max_open", md: Metadata{Type: pmodel.MetricTypeCounter}}, roleOther, true},
		{metricInfo{name: "app_db_connections_max_open"}, roleLimit, false},
		{metricInfo{name: "miniflux_db_connections_max_idle_closed", md: Metadata{Type: pmodel.MetricTypeGauge}}, roleOther, true},
		{metricInfo{name: "app_db_pool_max_idle"}, roleOther, false},
		{metricInfo{name: "miniflux_db_connections_wait_count", md: Metadata{Type: pmodel.MetricTypeGauge}}, roleSaturation, true},
		{metricInfo{name: "app_db_waits", md: Metadata{Type: pmodel.MetricTypeGauge, Help: "The total number of connections waited for"}}, roleSaturation, true},
		{metricInfo{name: "pgxpool_total_conns", md: Metadata{Type: pmodel.MetricTypeGauge, Help: "Total number of resources currently in the pool."}}, roleOther, false},
		{metricInfo{name: "app_db_connections_in_use"}, roleUsage, false},
		{metricInfo{name: "app_db_pool_busy"}, roleUsage, false},
		{metricInfo{name: "app_db_pool_size"}, roleLimit, false},
		{metricInfo{name: "app_db_connections_waiting"}, roleSaturation, false},
	} {
		role, cum := rule.classify(c.m)
		if role != c.role || cum != c.cum {
			t.Errorf("classify(%s, %+v) = role %d, running count %v; want %d, %v", c.m.name, c.m.md, role, cum, c.role, c.cum)
		}
	}
}

// TestStoreKeepsScrapedMetadata: the types and help texts the scraper saw
// survive closing the store and opening it read-only, as `headroom
// analyze` does after `headroom run`.
func TestStoreKeepsScrapedMetadata(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	srv := metricsServer(t, realExposition(t, "miniflux.txt"))
	sc, err := s.StartScraper(context.Background(), ScrapeConfig{Targets: []ScrapeTarget{{URL: srv.URL + "/metrics", Job: "miniflux"}}, testInterval: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "2 scrapes", allScraped(sc, 2))
	sc.Stop()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenStore(StoreConfig{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	md, err := ro.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := md["miniflux_db_connections_wait_count"]
	if got.Type != pmodel.MetricTypeGauge || !strings.Contains(got.Help, "total number of connections waited for") {
		t.Errorf("metadata of miniflux_db_connections_wait_count = %+v", got)
	}
	if got := md["process_cpu_seconds_total"]; got.Type != pmodel.MetricTypeCounter {
		t.Errorf("metadata of process_cpu_seconds_total = %+v", got)
	}
}

// TestHintsThroughARealPrometheus: a real Prometheus scraping Miniflux's
// exposition gives the same suggestion as the embedded store, its
// /api/v1/metadata giving the types and help texts.
func TestHintsThroughARealPrometheus(t *testing.T) {
	app := metricsServer(t, realExposition(t, "miniflux.txt"))
	start := time.Now()
	base := startTestPrometheus(t, "", promTarget{Job: "miniflux", URL: app.URL + "/metrics"})
	src := newPromSource(t, PrometheusConfig{URL: base})
	waitForQuery(t, src, "two scrapes of Miniflux", `count_over_time(miniflux_db_connections_in_use{job="miniflux"}[1m])`, valueAtLeast(2))
	ctx := context.Background()
	md, err := src.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := md["miniflux_db_connections_max_idle_closed"]; m.Type != pmodel.MetricTypeGauge || !strings.HasPrefix(m.Help, "The total number of connections closed") {
		t.Errorf("Prometheus's metadata of miniflux_db_connections_max_idle_closed = %+v", m)
	}
	found, err := Discover(ctx, src, DefaultCatalog(), Selectors{Scope: model.Scope{Selector: `{job="miniflux"}`}}, start, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d := findDetected(t, found, model.KindDBPool)
	if want := []string{"miniflux_db_connections_in_use", "miniflux_db_connections_wait_count"}; len(d.Candidates) < 2 || !slices.Equal(d.Candidates[:2], want) {
		t.Errorf("candidates = %q; want them to begin with %q", d.Candidates, want)
	}
	for _, line := range []string{"usage: sum(miniflux_db_connections_in_use)", "saturation: sum(rate(miniflux_db_connections_wait_count[30s]))"} {
		if !strings.Contains(d.CatalogSnippet, line) {
			t.Errorf("snippet lacks %q:\n%s", line, d.CatalogSnippet)
		}
	}
	if v := snippetField(d.CatalogSnippet, "limit"); v != "" {
		t.Errorf("snippet has limit %s; Miniflux exports no pool size", v)
	}
}
