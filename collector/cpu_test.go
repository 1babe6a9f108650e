package collector

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
)

// startScrape opens an embedded store scraping targets every interval and
// waits for n scrapes of each.
func startScrape(t *testing.T, n int, interval time.Duration, targets ...ScrapeTarget) (*Store, *Scraper) {
	t.Helper()
	s := openTestStore(t, t.TempDir())
	sc, err := s.StartScraper(context.Background(), ScrapeConfig{Targets: targets, testInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Stop() })
	waitFor(t, fmt.Sprintf("%d scrapes of every target", n), allScraped(sc, n))
	return s, sc
}

// idleCPUs counts node_cpu_seconds_total's idle-mode series in an
// exporter's own exposition: one per CPU.
func idleCPUs(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "node_cpu_seconds_total{") && strings.Contains(l, `mode="idle"`) {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s exports no idle-mode node_cpu_seconds_total series", url)
	}
	return n
}

func collectOne(t *testing.T, src Source, found []Detected, kind string, r Range) ResourceSeries {
	t.Helper()
	rs, err := CollectResources(context.Background(), src, found, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rs {
		if s.Kind == kind {
			return s
		}
	}
	t.Fatalf("%s was not collected", kind)
	return ResourceSeries{}
}

// TestHostCPUFromTheRealNodeExporter reads the host's CPU and its core
// count from the real node_exporter, scraped into the embedded store.
func TestHostCPUFromTheRealNodeExporter(t *testing.T) {
	node := testenv.Require(t, testenv.NodeExporterURL)
	cores := idleCPUs(t, node)
	start := time.Now()
	s, _ := startScrape(t, 10, 250*time.Millisecond, ScrapeTarget{URL: node, Job: "node"})
	end := time.Now()
	// The application's selector matches nothing of node_exporter's: the
	// only target exporting it is used, and the notes say so.
	sel := Selectors{Scope: model.Scope{Selector: `{job="checkout"}`}, RateWindow: 2 * time.Second}
	found, err := Discover(context.Background(), s, DefaultCatalog(), sel, start, end)
	if err != nil {
		t.Fatal(err)
	}
	d := findDetected(t, found, model.KindHostCPU)
	if d.Family != "node_exporter" {
		t.Fatalf("host_cpu found through %q; want node_exporter (tried %+v)", d.Family, d.Tried)
	}
	if !strings.Contains(d.LimitSource, "node_exporter") {
		t.Errorf("limit source = %q; want it to name node_exporter", d.LimitSource)
	}
	if len(d.Notes) == 0 || !strings.Contains(d.Notes[0], `job="node"`) {
		t.Errorf("notes = %q; want them to say the only exporting target was used", d.Notes)
	}
	rs := collectOne(t, s, found, model.KindHostCPU, Range{Start: start, End: end, Step: 250 * time.Millisecond})
	lim := model.SeriesStats(rs.Limit)
	if lim.Present == 0 || lim.Min != float64(cores) || lim.Max != float64(cores) {
		t.Errorf("host CPU limit %+v; want the exporter's %d idle-mode series", lim, cores)
	}
	// The kernel counts CPU time in ticks and a scrape is not taken at the
	// instant it is stamped, so a rate over 2s may pass the cores a little.
	if u := model.SeriesStats(rs.Usage); u.Present == 0 || u.Min < 0 || u.Max > 1.15*float64(cores) {
		t.Errorf("host CPU usage %+v; want busy cores between 0 and %d", u, cores)
	}
	if rs.LimitSource != d.LimitSource {
		t.Errorf("collected limit source %q; want the detected one %q", rs.LimitSource, d.LimitSource)
	}
}

// TestRedisCPUFromTheRealRedisExporter loads the real Redis with a
// CPU-heavy Lua script and checks that the redis resource reads its CPU
// from the real redis_exporter against a limit of one core, agreeing with
// Redis's own INFO cpu counters over the same time.
func TestRedisCPUFromTheRealRedisExporter(t *testing.T) {
	addr := testenv.Require(t, testenv.RedisAddr)
	exporter := testenv.Require(t, testenv.RedisExporterURL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s: %v", addr, err)
	}
	// The exporter runs a dozen commands per scrape, each waiting for the
	// script in progress: scrape twice a second.
	s, sc := startScrape(t, 2, 500*time.Millisecond, ScrapeTarget{URL: exporter, Job: "redis"})

	// Short calls back to back for 6 seconds, so that the exporter's
	// commands are not held up behind a long script.
	const script = `local i = 0 while i < tonumber(ARGV[1]) do i = i + 1 end return i`
	mainCPU := func() float64 {
		info, err := rdb.Info(context.Background(), "cpu").Result()
		if err != nil {
			t.Fatal(err)
		}
		return infoCPU(t, info)
	}
	cpu0, t0 := mainCPU(), time.Now()
	done := make(chan error, 1)
	go func() {
		for time.Since(t0) < 6*time.Second {
			if err := rdb.Eval(ctx, script, nil, 20000).Err(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatalf("EVAL: %v", err)
	}
	cpu1, t1 := mainCPU(), time.Now()
	want := (cpu1 - cpu0) / t1.Sub(t0).Seconds()
	after := sc.Status()[0].Scrapes
	waitFor(t, "two scrapes after the load", func() bool { return sc.Status()[0].Scrapes >= after+2 })
	// On an idle machine Redis takes nearly a core; on a busy one it gets
	// its share, which the exporter must report all the same.
	if want < 0.05 {
		t.Fatalf("Redis used only %.2f cores under the Lua loop; the machine is too busy for this test", want)
	}

	sel := Selectors{Scope: model.Scope{Selector: `{job="redis"}`}, RateWindow: 3 * time.Second}
	found, err := Discover(ctx, s, DefaultCatalog(), sel, t0, t1)
	if err != nil {
		t.Fatal(err)
	}
	d := findDetected(t, found, model.KindRedis)
	if d.Family != "redis_exporter" || d.Unit != "cores" {
		t.Fatalf("redis = %+v", d)
	}
	if d.Queries.Limit != "vector(1)" || !strings.Contains(d.LimitSource, "one core") {
		t.Errorf("redis limit %q from %q; want one core, said so", d.Queries.Limit, d.LimitSource)
	}
	// The load's middle, away from the rate window's edges.
	rs := collectOne(t, s, found, model.KindRedis, Range{Start: t0.Add(3500 * time.Millisecond), End: t1.Add(-250 * time.Millisecond), Step: 250 * time.Millisecond})
	u, util := model.SeriesStats(rs.Usage), model.SeriesStats(rs.Utilization)
	if u.Present < 4 {
		t.Fatalf("redis usage has %d points; want the load's middle (notes %q, scrapes %+v)", u.Present, rs.Notes, sc.Status())
	}
	t.Logf("Redis main-thread CPU over the load: %.3f cores from redis_exporter, %.3f from INFO cpu", u.Avg, want)
	if math.Abs(u.Avg-want) > math.Max(0.08, 0.3*want) {
		t.Errorf("redis CPU from the exporter averaged %.2f cores; INFO cpu says %.2f over the load", u.Avg, want)
	}
	if math.Abs(util.Avg-u.Avg) > 1e-9 {
		t.Errorf("utilization %.3f differs from usage %.3f against one core", util.Avg, u.Avg)
	}
}

var infoLine = regexp.MustCompile(`(?m)^used_cpu_(sys|user)_main_thread:([0-9.]+)`)

// infoCPU adds the main thread's system and user CPU seconds of INFO cpu.
func infoCPU(t *testing.T, info string) float64 {
	t.Helper()
	ms := infoLine.FindAllStringSubmatch(info, -1)
	if len(ms) != 2 {
		t.Fatalf("INFO cpu has no main-thread counters:\n%s", info)
	}
	sum := 0.0
	for _, m := range ms {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	return sum
}

// metricsServer serves a fixed Prometheus exposition.
func metricsServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCPULimitOfATargetOnThisMachine(t *testing.T) {
	// A process that exports its CPU time and nothing that tells its cores.
	const body = "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\n"
	app := metricsServer(t, body)
	far := metricsServer(t, body)
	start := time.Now()
	s, _ := startScrape(t, 3, 250*time.Millisecond,
		ScrapeTarget{URL: app.URL + "/metrics", Job: "app"},
		ScrapeTarget{URL: far.URL + "/metrics", Job: "far", Labels: map[string]string{"instance": "db-host.internal:9100"}})
	// Detection evaluates on a grid of at least a second.
	end := time.Now().Add(time.Second)
	tests := []struct {
		name, selector string
		local          int
		wantLimit      string
		wantSource     string
	}{
		{"a target on 127.0.0.1 gets this machine's cores, and says so", `{job="app"}`, 6, "vector(6)", "this machine's 6 cores (the target 127.0.0.1:"},
		{"a target on another host does not", `{job="far"}`, 6, "", ""},
		{"without the local core count there is no limit", `{job="app"}`, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, err := Discover(context.Background(), s, DefaultCatalog(), Selectors{Scope: model.Scope{Selector: tt.selector}, LocalCores: tt.local}, start, end)
			if err != nil {
				t.Fatal(err)
			}
			d := findDetected(t, found, model.KindCPU)
			if d.Family != "process" {
				t.Fatalf("cpu = %+v", d)
			}
			if d.Queries.Limit != tt.wantLimit || !strings.HasPrefix(d.LimitSource, tt.wantSource) {
				t.Errorf("limit %q from %q; want %q from %q…", d.Queries.Limit, d.LimitSource, tt.wantLimit, tt.wantSource)
			}
			if tt.wantLimit == "" && (len(d.Notes) == 0 || !strings.Contains(strings.Join(d.Notes, " "), "--limit-for cpu=N")) {
				t.Errorf("notes = %q; want them to say how to state the limit", d.Notes)
			}
		})
	}
}

func TestLoopbackInstances(t *testing.T) {
	for inst, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:9090": true, "[::1]:8080": true, "127.0.0.2:80": true,
		"10.0.0.5:8080": false, "db-host:9100": false, "": false, "localhost": true,
	} {
		if got := loopbackInstance(inst); got != want {
			t.Errorf("loopbackInstance(%q) = %v; want %v", inst, got, want)
		}
	}
}

// TestUnknownPoolMetricsAreOfferedWithACatalogSnippet: an application whose
// pool metrics have their own names gets them listed, and the snippet it is
// shown, saved as a --catalog file, finds the pool.
func TestUnknownPoolMetricsAreOfferedWithACatalogSnippet(t *testing.T) {
	const body = `# TYPE shop_db_connections_in_use gauge
shop_db_connections_in_use 3
# TYPE shop_db_connections_max gauge
shop_db_connections_max 4
# TYPE shop_db_connection_wait_seconds_total counter
shop_db_connection_wait_seconds_total 1.5
# TYPE shop_jobs_queue_depth gauge
shop_jobs_queue_depth 7
# TYPE http_requests_total counter
http_requests_total 10
# TYPE go_sql_unrelated_pool_gauge gauge
go_sql_unrelated_pool_gauge 1
`
	app := metricsServer(t, body)
	start := time.Now()
	s, _ := startScrape(t, 3, 250*time.Millisecond, ScrapeTarget{URL: app.URL + "/metrics", Job: "shop"})
	end := time.Now().Add(time.Second)
	sel := Selectors{Scope: model.Scope{Selector: `{job="shop"}`}}
	found, err := Discover(context.Background(), s, DefaultCatalog(), sel, start, end)
	if err != nil {
		t.Fatal(err)
	}
	d := findDetected(t, found, model.KindDBPool)
	if d.Found() {
		t.Fatalf("db_pool found through %s", d.Family)
	}
	// Ranked: usage, limit, then waiting.
	want := []string{"shop_db_connections_in_use", "shop_db_connections_max", "shop_db_connection_wait_seconds_total"}
	if strings.Join(d.Candidates, ",") != strings.Join(want, ",") {
		t.Errorf("candidates = %q; want %q (the go_ runtime's names are noise)", d.Candidates, want)
	}
	for _, line := range []string{
		"usage: sum(shop_db_connections_in_use)",
		"limit: sum(shop_db_connections_max)",
		"saturation: sum(rate(shop_db_connection_wait_seconds_total[30s]))",
	} {
		if !strings.Contains(d.CatalogSnippet, line) {
			t.Errorf("snippet lacks %q:\n%s", line, d.CatalogSnippet)
		}
	}
	if q := findDetected(t, found, KindQueue); strings.Join(q.Candidates, ",") != "shop_jobs_queue_depth" || !strings.Contains(q.CatalogSnippet, "kind: queue") {
		t.Errorf("queue hint = %+v", q)
	}

	path := t.TempDir() + "/catalog.yaml"
	if err := writeFile(path, d.CatalogSnippet); err != nil {
		t.Fatal(err)
	}
	cat, err := LoadCatalog(path)
	if err != nil {
		t.Fatalf("the snippet does not load as a catalog: %v\n%s", err, d.CatalogSnippet)
	}
	found, err = Discover(context.Background(), s, cat, sel, start, end)
	if err != nil {
		t.Fatal(err)
	}
	d = findDetected(t, found, model.KindDBPool)
	if d.Family != "shop_db" || d.Queries.Limit != `sum(shop_db_connections_max{job="shop"})` {
		t.Errorf("with the snippet, db_pool = %+v", d)
	}
	rs := collectOne(t, s, found, model.KindDBPool, Range{Start: start, End: end, Step: 250 * time.Millisecond})
	if u := model.SeriesStats(rs.Utilization); u.Present == 0 || math.Abs(u.Max-0.75) > 1e-9 {
		t.Errorf("utilization %+v; want 3 of 4 connections", u)
	}
}

func writeFile(path, s string) error {
	return os.WriteFile(path, []byte(s), 0o644)
}
