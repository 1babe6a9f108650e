package collector

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/internal/testenv"
)

// testScrapeInterval keeps scrape tests short; the public Interval is held
// to 1–5 s.
const testScrapeInterval = 50 * time.Millisecond

// waitFor polls cond until it holds, failing the test after a generous
// deadline. It waits for scrapes to happen, not for time to pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newRegistryServer serves reg with promhttp. accept, when set, replaces the
// scraper's Accept header, to stand for a server that only speaks one format.
func newRegistryServer(t *testing.T, reg *prometheus.Registry, accept *string) *httptest.Server {
	t.Helper()
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if accept != nil {
			r.Header.Set("Accept", *accept)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newFileServer serves a file of testdata/exposition with a content type.
func newFileServer(t *testing.T, name, contentType string) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "exposition", name))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hostOf(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func startTestScraper(t *testing.T, s *Store, targets ...ScrapeTarget) *Scraper {
	t.Helper()
	sc, err := s.StartScraper(context.Background(), ScrapeConfig{Targets: targets, testInterval: testScrapeInterval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Stop() })
	return sc
}

func allScraped(sc *Scraper, n int) func() bool {
	return func() bool {
		for _, st := range sc.Status() {
			if st.Scrapes < n {
				return false
			}
		}
		return true
	}
}

func queryVector(t *testing.T, s *Store, q string, ts time.Time) pmodel.Vector {
	t.Helper()
	v, err := s.Query(context.Background(), q, ts)
	if err != nil && !errors.Is(err, ErrNoSamples) {
		t.Fatalf("Query(%s): %v", q, err)
	}
	return v.(pmodel.Vector)
}

func TestScraperNegotiatesEveryExpositionFormatOfPromhttp(t *testing.T) {
	run := newTestRun(t)
	run.step(1)
	text, openMetrics := "text/plain;version=0.0.4", "application/openmetrics-text;version=1.0.0"
	proto := newRegistryServer(t, run.reg, nil)
	plain := newRegistryServer(t, run.reg, &text)
	om := newRegistryServer(t, run.reg, &openMetrics)

	s := openTestStore(t, t.TempDir())
	sc := startTestScraper(t, s,
		ScrapeTarget{URL: proto.URL + "/metrics", Job: "proto"},
		ScrapeTarget{URL: plain.URL + "/metrics", Job: "text"},
		ScrapeTarget{URL: om.URL + "/metrics", Job: "om", Labels: map[string]string{"env": "test"}},
	)
	waitFor(t, "three scrapes of every target", allScraped(sc, 3))
	statuses := sc.Stop()
	now := time.Now()

	for _, st := range statuses {
		if !st.Up || st.Failures != 0 || st.Samples == 0 {
			t.Errorf("status %+v, want up with samples and no failures", st)
		}
	}
	for _, job := range []string{"proto", "text", "om"} {
		if got := queryScalar(t, s, `up{job="`+job+`"}`, now); got != 1 {
			t.Errorf("up{job=%q} = %g, want 1", job, got)
		}
		if got := queryScalar(t, s, `x_total{job="`+job+`",endpoint="GET /a"}`, now); got != 10 {
			t.Errorf("x_total{job=%q} = %g, want 10", job, got)
		}
		if got := queryScalar(t, s, `h_count{job="`+job+`"}`, now); got != 1000 {
			t.Errorf("h_count{job=%q} = %g, want 1000", job, got)
		}
		if got := queryScalar(t, s, `scrape_samples_scraped{job="`+job+`"}`, now); got == 0 {
			t.Errorf("scrape_samples_scraped{job=%q} = 0", job)
		}
		if got := queryScalar(t, s, `count(h_bucket{job="`+job+`"})`, now); got != 11 {
			t.Errorf("classic buckets of job %q = %g, want 11", job, got)
		}
	}

	t.Run("only protobuf carries the native histogram", func(t *testing.T) {
		vec := queryVector(t, s, `h`, now)
		if len(vec) != 1 || vec[0].Histogram == nil || vec[0].Metric["job"] != "proto" {
			t.Fatalf("h = %v, want one native histogram from job proto", vec)
		}
		if got := float64(vec[0].Histogram.Count); got != 1000 {
			t.Errorf("native count = %g, want 1000", got)
		}
	})
	t.Run("targets carry job, instance and their extra labels", func(t *testing.T) {
		vec := queryVector(t, s, `vus{job="om"}`, now)
		want := pmodel.Metric{"__name__": "vus", "job": "om", "instance": pmodel.LabelValue(hostOf(t, om)), "env": "test"}
		if len(vec) != 1 || !vec[0].Metric.Equal(want) {
			t.Errorf("vus{job=om} = %v, want %v", vec, want)
		}
	})
}

func TestScraperReadsStaticExpositions(t *testing.T) {
	om := newFileServer(t, "openmetrics.txt", "application/openmetrics-text; version=1.0.0; charset=utf-8")
	prom := newFileServer(t, "prometheus.txt", "text/plain; version=0.0.4; charset=utf-8")
	bare := newFileServer(t, "prometheus.txt", "")

	s := openTestStore(t, t.TempDir())
	sc := startTestScraper(t, s,
		ScrapeTarget{URL: om.URL + "/metrics", Job: "checkout"},
		ScrapeTarget{URL: prom.URL + "/metrics", Job: "pg"},
		ScrapeTarget{URL: bare.URL + "/metrics", Job: "bare"},
	)
	waitFor(t, "two scrapes of every target", allScraped(sc, 2))
	for _, st := range sc.Stop() {
		if !st.Up || st.Failures != 0 {
			t.Errorf("status %+v, want up without failures", st)
		}
	}
	now := time.Now()

	tests := []struct {
		name  string
		query string
		want  float64
	}{
		{"an OpenMetrics counter keeps its _total name", `checkout_orders_total{status="ok"}`, 1027},
		{"an OpenMetrics gauge is read", `sum(pool_connections{job="checkout"})`, 20},
		{"an OpenMetrics histogram is read as classic buckets", `latency_seconds_bucket{le="0.5"}`, 80},
		{"an OpenMetrics summary quantile is read", `rpc_seconds{quantile="0.99"}`, 0.9},
		{"OpenMetrics _created series are not stored", `count(checkout_orders_created) or vector(0)`, 0},
		{"a Prometheus text gauge is read", `sum(pg_stat_activity_count{job="pg"})`, 20},
		{"a Prometheus text counter is read", `process_cpu_seconds_total{job="pg"}`, 42.5},
		{"a Prometheus text histogram is read", `http_request_duration_seconds_bucket{job="pg",le="0.1"}`, 33444},
		{"an exposed job label is kept as exported_job", `exporter_build_info{job="pg",exported_job="inner"}`, 1},
		{"a blank content type is read as Prometheus text", `pg_settings_max_connections{job="bare"}`, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := queryScalar(t, s, tt.query, now); got != tt.want {
				t.Errorf("%s = %g, want %g", tt.query, got, tt.want)
			}
		})
	}
}

func TestATargetThatDiesIsMarkedDownAndItsSeriesEnd(t *testing.T) {
	runA, runB := newTestRun(t), newTestRun(t)
	runA.count.WithLabelValues("GET /a").Add(5)
	runB.count.WithLabelValues("GET /a").Add(7)
	srvA := newRegistryServer(t, runA.reg, nil)
	srvB := newRegistryServer(t, runB.reg, nil)

	s := openTestStore(t, t.TempDir())
	sc := startTestScraper(t, s, ScrapeTarget{URL: srvA.URL, Job: "a"}, ScrapeTarget{URL: srvB.URL, Job: "b"})
	waitFor(t, "three scrapes of both targets", allScraped(sc, 3))
	srvA.Close()
	bAtDeath := sc.Status()[1].Scrapes
	waitFor(t, "two failed scrapes of a and three more of b", func() bool {
		st := sc.Status()
		return st[0].Failures >= 2 && st[1].Scrapes >= bAtDeath+3
	})
	statuses := sc.Stop()
	now := time.Now()

	a, b := statuses[0], statuses[1]
	if a.Up || a.Failures < 2 || !strings.Contains(a.LastError, "connection refused") {
		t.Errorf("status of the dead target = %+v, want down with a connection-refused error", a)
	}
	if !b.Up || b.Failures != 0 {
		t.Errorf("status of the live target = %+v, want up without failures", b)
	}
	if got := queryScalar(t, s, `up{job="a"}`, now); got != 0 {
		t.Errorf(`up{job="a"} = %g, want 0`, got)
	}
	if got := queryScalar(t, s, `up{job="b"}`, now); got != 1 {
		t.Errorf(`up{job="b"} = %g, want 1`, got)
	}
	if vec := queryVector(t, s, `x_total{job="a"}`, now); len(vec) != 0 {
		t.Errorf(`x_total{job="a"} = %v after the target died, want no sample (a staleness marker ends it)`, vec)
	}
	if got := queryScalar(t, s, `x_total{job="b",endpoint="GET /a"}`, now); got != 7 {
		t.Errorf(`x_total{job="b"} = %g, want 7`, got)
	}
	if got := queryScalar(t, s, `min_over_time(x_total{job="a",endpoint="GET /a"}[1m])`, now); got != 5 {
		t.Errorf(`min_over_time(x_total{job="a"}) = %g, want 5: no zero may be written for a dead target`, got)
	}
}

func TestMalformedExpositionMarksTheTargetDownWithoutWritingItsSeries(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "exposition", "prometheus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := os.ReadFile(filepath.Join("testdata", "exposition", "malformed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		if broken.Load() {
			_, _ = w.Write(bad)
			return
		}
		_, _ = w.Write(good)
	}))
	t.Cleanup(srv.Close)

	s := openTestStore(t, t.TempDir())
	sc := startTestScraper(t, s, ScrapeTarget{URL: srv.URL + "/metrics", Job: "pg"})
	waitFor(t, "two good scrapes", allScraped(sc, 2))
	broken.Store(true)
	waitFor(t, "two failed scrapes", func() bool { return sc.Status()[0].Failures >= 2 })
	st := sc.Stop()[0]
	now := time.Now()

	if st.Up || !strings.Contains(st.LastError, "could not parse the text/plain exposition") {
		t.Errorf("status = %+v, want down with a parse error", st)
	}
	// The status is stored and shown to read-only users: the body, which
	// may come from anywhere the target redirected to, is not repeated.
	if strings.Contains(st.LastError, `code=`) || strings.Contains(st.LastError, "500") {
		t.Errorf("LastError %q repeats the body", st.LastError)
	}
	if got := queryScalar(t, s, `up{job="pg"}`, now); got != 0 {
		t.Errorf(`up = %g, want 0`, got)
	}
	if got, err := s.Series(context.Background(), []string{`requests_total`}, now.Add(-time.Minute), now); err != nil || len(got) != 0 {
		t.Errorf("series of the malformed exposition = %v, %v; want none stored, not even the lines before the error", got, err)
	}
	if vec := queryVector(t, s, `pg_settings_max_connections`, now); len(vec) != 0 {
		t.Errorf("pg_settings_max_connections = %v after the exposition broke, want no sample", vec)
	}
	if got := queryScalar(t, s, `min_over_time(pg_settings_max_connections[1m])`, now); got != 100 {
		t.Errorf("min_over_time(pg_settings_max_connections) = %g, want 100: no zero may be written", got)
	}
}

func TestScraperReportsHTTPErrorsAndTimeouts(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })

	s := openTestStore(t, t.TempDir())
	sc, err := s.StartScraper(context.Background(), ScrapeConfig{
		Targets:      []ScrapeTarget{{URL: failing.URL, Job: "failing"}, {URL: slow.URL, Job: "slow"}},
		Timeout:      100 * time.Millisecond,
		testInterval: testScrapeInterval,
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failure of both", func() bool {
		st := sc.Status()
		return st[0].Failures >= 1 && st[1].Failures >= 1
	})
	st := sc.Stop()
	if !strings.Contains(st[0].LastError, "500 Internal Server Error") {
		t.Errorf("LastError of the failing target = %q, want the HTTP status", st[0].LastError)
	}
	if !strings.Contains(st[1].LastError, "timed out") {
		t.Errorf("LastError of the slow target = %q, want a timeout", st[1].LastError)
	}
}

func TestStopReturnsStatusesAndIsIdempotent(t *testing.T) {
	srv := newRegistryServer(t, newTestRun(t).reg, nil)
	s := openTestStore(t, t.TempDir())
	sc := startTestScraper(t, s, ScrapeTarget{URL: srv.URL, Job: "app"})
	waitFor(t, "a scrape", allScraped(sc, 1))
	first := sc.Stop()
	second := sc.Stop()
	if len(first) != 1 || first[0] != second[0] {
		t.Errorf("Stop twice = %+v then %+v, want the same status", first, second)
	}
	if first[0].URL != srv.URL+"/metrics" || first[0].Job != "app" || first[0].Instance != hostOf(t, srv) {
		t.Errorf("status = %+v, want the target's URL, job and instance", first[0])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartScraper(context.Background(), ScrapeConfig{Targets: []ScrapeTarget{{URL: srv.URL}}}); !errors.Is(err, ErrStoreClosed) {
		t.Errorf("StartScraper on a closed store = %v, want ErrStoreClosed", err)
	}
}

func TestClosingTheStoreStopsItsScrapers(t *testing.T) {
	srv := newRegistryServer(t, newTestRun(t).reg, nil)
	s, err := OpenStore(StoreConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := s.StartScraper(context.Background(), ScrapeConfig{Targets: []ScrapeTarget{{URL: srv.URL}}, testInterval: testScrapeInterval})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a scrape", allScraped(sc, 1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := sc.Status()[0].Scrapes
	if after := sc.Stop()[0].Scrapes; after != before {
		t.Errorf("scrapes went on after Close: %d → %d", before, after)
	}
}

func TestParseScrapeFlag(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ScrapeTarget
		wantErr string
	}{
		{"a bare URL is job app", "http://127.0.0.1:8080/metrics", ScrapeTarget{URL: "http://127.0.0.1:8080/metrics", Job: "app"}, ""},
		{"a named URL sets the job", "checkout=http://127.0.0.1:8080/metrics", ScrapeTarget{URL: "http://127.0.0.1:8080/metrics", Job: "checkout"}, ""},
		{"a URL without a path scrapes /metrics", "pg=http://127.0.0.1:9187", ScrapeTarget{URL: "http://127.0.0.1:9187/metrics", Job: "pg"}, ""},
		{"an = in the query string is part of the URL", "https://app.internal/metrics?format=prometheus", ScrapeTarget{URL: "https://app.internal/metrics?format=prometheus", Job: "app"}, ""},
		{"a URL without a scheme is an error naming the value", "127.0.0.1:8080/metrics", ScrapeTarget{}, `invalid --scrape "127.0.0.1:8080/metrics"`},
		{"a non-HTTP URL is an error", "ftp://host/metrics", ScrapeTarget{}, "must start with http:// or https://"},
		{"an empty job is an error", "=http://127.0.0.1:8080/metrics", ScrapeTarget{}, `job ""`},
		{"a job with spaces is an error", "my app=http://127.0.0.1:8080/metrics", ScrapeTarget{}, `job "my app"`},
		{"a job without a URL is an error", "checkout=", ScrapeTarget{}, "expected [job=]http://host:port/path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScrapeFlag(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseScrapeFlag(%q) = %+v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != tt.want.URL || got.Job != tt.want.Job {
				t.Errorf("ParseScrapeFlag(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestScrapeConfigIsValidated(t *testing.T) {
	target := ScrapeTarget{URL: "http://127.0.0.1:8080/metrics"}
	tests := []struct {
		name    string
		cfg     ScrapeConfig
		wantErr string
	}{
		{"an interval under 1s is refused", ScrapeConfig{Targets: []ScrapeTarget{target}, Interval: 500 * time.Millisecond}, "scrape interval 500ms is outside 1s to 5s"},
		{"an interval over 5s is refused", ScrapeConfig{Targets: []ScrapeTarget{target}, Interval: 15 * time.Second}, "scrape interval 15s is outside 1s to 5s"},
		{"a timeout over the interval is refused", ScrapeConfig{Targets: []ScrapeTarget{target}, Interval: 2 * time.Second, Timeout: 3 * time.Second}, "scrape timeout 3s must be positive and at most the interval 2s"},
		{"no targets is refused", ScrapeConfig{}, "no scrape targets"},
		{"two targets writing the same series are refused", ScrapeConfig{Targets: []ScrapeTarget{target, target}}, "scrape targets 1 and 2"},
		{"a job label among the labels is refused", ScrapeConfig{Targets: []ScrapeTarget{{URL: target.URL, Labels: map[string]string{"job": "x"}}}}, `label "job"`},
		{"an invalid label name is refused", ScrapeConfig{Targets: []ScrapeTarget{{URL: target.URL, Labels: map[string]string{"a-b": "x"}}}}, `label name "a-b" is not valid`},
		{"a bad URL is refused with its position", ScrapeConfig{Targets: []ScrapeTarget{target, {URL: "localhost:9000"}}}, "scrape target 2 (localhost:9000)"},
	}
	s := openTestStore(t, t.TempDir())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := s.StartScraper(context.Background(), tt.cfg)
			if err == nil {
				sc.Stop()
				t.Fatalf("StartScraper accepted %+v", tt.cfg)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
	t.Run("the same URL under two jobs is accepted", func(t *testing.T) {
		sc, err := s.StartScraper(context.Background(), ScrapeConfig{Targets: []ScrapeTarget{target, {URL: target.URL, Job: "other"}}})
		if err != nil {
			t.Fatal(err)
		}
		sc.Stop()
	})
}

func TestScraperReadsRealExporters(t *testing.T) {
	pg := testenv.Require(t, testenv.PGExporterURL)
	redis := testenv.Require(t, testenv.RedisExporterURL)
	node := testenv.Require(t, testenv.NodeExporterURL)

	s := openTestStore(t, t.TempDir())
	sc, err := s.StartScraper(context.Background(), ScrapeConfig{
		Targets: []ScrapeTarget{
			{URL: pg, Job: "postgres"},
			{URL: redis, Job: "redis"},
			{URL: node, Job: "node"},
		},
		testInterval: 250 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Stop() })
	waitFor(t, "three scrapes of every exporter", allScraped(sc, 3))
	for _, st := range sc.Stop() {
		if !st.Up || st.Failures != 0 || st.Samples == 0 {
			t.Errorf("status %+v, want up with samples and no failures", st)
		}
	}
	now := time.Now()
	tests := []struct {
		name, query string
	}{
		{"PostgreSQL's connection limit is read", `pg_settings_max_connections{job="postgres"} > 0`},
		{"PostgreSQL's connections are read", `sum(pg_stat_activity_count{job="postgres"}) >= 0`},
		{"Redis's connected clients are read", `redis_connected_clients{job="redis"} >= 1`},
		{"the node's CPU time has a rate", `sum(rate(node_cpu_seconds_total{job="node"}[1m])) > 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if vec := queryVector(t, s, tt.query, now); len(vec) == 0 {
				t.Errorf("%s returned nothing", tt.query)
			}
		})
	}
}
