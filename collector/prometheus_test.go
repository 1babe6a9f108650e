package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/internal/testenv"
)

// promTarget is a /metrics endpoint a test Prometheus scrapes.
type promTarget struct {
	Job string
	URL string // http://127.0.0.1:PORT/metrics
}

// startTestPrometheus runs a throwaway Prometheus (the prometheus binary on
// PATH or /usr/bin/prometheus) on a free loopback port, scraping targets
// every second, and returns its base URL, which includes prefix (e.g.
// "/select/0/prometheus") when one is given. The process is killed when
// the test ends. Without a prometheus binary it falls back to the shared
// test environment's Prometheus (scripts/testenv.sh) and registers the
// targets through its file_sd directory; prefix is then ignored.
func startTestPrometheus(t *testing.T, prefix string, targets ...promTarget) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/prometheus"); serr == nil {
			bin = "/usr/bin/prometheus"
		}
	}
	if bin == "" {
		return sharedTestPrometheus(t, targets)
	}
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nscrape_configs:\n")
	for _, tg := range targets {
		u := parseTestURL(t, tg.URL)
		fmt.Fprintf(&cfg, "  - job_name: %q\n    metrics_path: %q\n    static_configs:\n      - targets: [%q]\n", tg.Job, u.Path, u.Host)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	base := "http://" + addr + strings.TrimRight(prefix, "/")
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--web.external-url="+base+"/",
		"--web.enable-remote-write-receiver",
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("could not start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		logFile.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("prometheus exited early:\n%s", log)
		case <-ctx.Done():
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("prometheus at %s was not ready within a minute:\n%s", base, log)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sharedTestPrometheus registers targets with the test environment's
// Prometheus through a file_sd file.
func sharedTestPrometheus(t *testing.T, targets []promTarget) string {
	base := testenv.Require(t, testenv.PrometheusURL)
	sdDir := testenv.Require(t, testenv.PromFileSDDir)
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	var groups []group
	for _, tg := range targets {
		u := parseTestURL(t, tg.URL)
		groups = append(groups, group{Targets: []string{u.Host}, Labels: map[string]string{"job": tg.Job, "__metrics_path__": u.Path}})
	}
	b, _ := json.Marshal(groups)
	path := filepath.Join(sdDir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return base
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// poolApp is an instrumented application: a real /metrics endpoint built
// with client_golang, exporting a pgx pool's series and the process and Go
// collectors. While fail is set, /metrics answers 503, so scrapes fail and
// the application's series go stale.
type poolApp struct {
	*httptest.Server
	fail     atomic.Bool
	acquired prometheus.Gauge
}

func newPoolApp(t *testing.T) *poolApp {
	t.Helper()
	reg := prometheus.NewRegistry()
	app := &poolApp{}
	app.acquired = prometheus.NewGauge(prometheus.GaugeOpts{Name: "pgxpool_acquired_conns", Help: "Acquired connections."})
	app.acquired.Set(7)
	maxConns := prometheus.NewGauge(prometheus.GaugeOpts{Name: "pgxpool_max_conns", Help: "Pool size."})
	maxConns.Set(20)
	total := prometheus.NewGauge(prometheus.GaugeOpts{Name: "pgxpool_total_conns", Help: "Open connections."})
	total.Set(10)
	acquireDur := prometheus.NewCounter(prometheus.CounterOpts{Name: "pgxpool_acquire_duration_seconds_total", Help: "Time spent acquiring."})
	reg.MustRegister(app.acquired, maxConns, total, acquireDur,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	app.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if app.fail.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		acquireDur.Add(0.5) // Half a second of waiting per scrape.
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(app.Close)
	return app
}

// newPostgresExporterFake serves fixed gauges the way postgres_exporter names them.
func newPostgresExporterFake(t *testing.T) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	maxConns := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pg_settings_max_connections", Help: "max_connections."}, []string{"server"})
	maxConns.WithLabelValues("127.0.0.1:5432").Set(100)
	activity := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pg_stat_activity_count", Help: "Backends by state."}, []string{"datname", "state", "server"})
	activity.WithLabelValues("checkout", "active", "127.0.0.1:5432").Set(12)
	activity.WithLabelValues("checkout", "idle", "127.0.0.1:5432").Set(13)
	reg.MustRegister(maxConns, activity)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return srv
}

// waitForQuery polls query until ok accepts its value, for at most a minute.
func waitForQuery(t *testing.T, src Source, what, query string, ok func(pmodel.Value) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last error
	for {
		v, err := src.Query(ctx, query, time.Now())
		if err == nil && ok(v) {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s (%s): last value %v, last error %v", what, query, v, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// valueAtLeast accepts a vector whose first sample is at least n.
func valueAtLeast(n float64) func(pmodel.Value) bool {
	return func(v pmodel.Value) bool {
		vec, ok := v.(pmodel.Vector)
		return ok && len(vec) > 0 && float64(vec[0].Value) >= n
	}
}

func newPromSource(t *testing.T, cfg PrometheusConfig) *Prometheus {
	t.Helper()
	p, err := NewPrometheus(cfg)
	if err != nil {
		t.Fatalf("NewPrometheus: %v", err)
	}
	return p
}

func TestPrometheusAgainstARealServer(t *testing.T) {
	app := newPoolApp(t)
	// A path prefix, as VictoriaMetrics' vmselect serves the API under,
	// must be kept in every request.
	base := startTestPrometheus(t, "/select/0/prometheus", promTarget{Job: "app", URL: app.URL + "/metrics"})
	src := newPromSource(t, PrometheusConfig{URL: base})
	ctx := context.Background()
	waitForQuery(t, src, "three scrapes of the app", `count_over_time(pgxpool_max_conns{job="app"}[1m])`, valueAtLeast(3))

	t.Run("an instant query returns a vector", func(t *testing.T) {
		v, err := src.Query(ctx, `up{job="app"}`, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		vec, ok := v.(pmodel.Vector)
		if !ok || len(vec) != 1 || vec[0].Value != 1 || vec[0].Metric["job"] != "app" {
			t.Fatalf("up{job=\"app\"} = %v; want one sample of 1", v)
		}
	})
	t.Run("an instant query of a number returns a scalar", func(t *testing.T) {
		v, err := src.Query(ctx, `1 + 1`, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := v.(*pmodel.Scalar); !ok || s.Value != 2 {
			t.Fatalf("1 + 1 = %#v; want the scalar 2", v)
		}
	})
	t.Run("a range query returns every step of the window", func(t *testing.T) {
		end := time.Now()
		m, err := src.QueryRange(ctx, `pgxpool_max_conns{job="app"}`, Range{Start: end.Add(-2 * time.Second), End: end, Step: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 1 || len(m[0].Values) != 3 {
			t.Fatalf("range query = %v; want one series of 3 points", m)
		}
		for _, p := range m[0].Values {
			if p.Value != 20 {
				t.Fatalf("pgxpool_max_conns = %v; want 20", p.Value)
			}
		}
	})
	t.Run("series lists the label sets in the window", func(t *testing.T) {
		end := time.Now()
		sets, err := src.Series(ctx, []string{`pgxpool_max_conns`, `pgxpool_total_conns`}, end.Add(-time.Minute), end)
		if err != nil {
			t.Fatal(err)
		}
		if len(sets) != 2 {
			t.Fatalf("series = %v; want 2", sets)
		}
		for _, ls := range sets {
			if ls["job"] != "app" {
				t.Errorf("series %v lacks job=\"app\"", ls)
			}
		}
	})
	t.Run("a query matching nothing says there are no samples", func(t *testing.T) {
		_, err := src.Query(ctx, `headroom_no_such_metric`, time.Now())
		if !errors.Is(err, ErrNoSamples) {
			t.Fatalf("error = %v; want ErrNoSamples", err)
		}
		end := time.Now()
		m, err := src.QueryRange(ctx, `headroom_no_such_metric`, Range{Start: end.Add(-time.Minute), End: end, Step: 10 * time.Second})
		if !errors.Is(err, ErrNoSamples) || len(m) != 0 {
			t.Fatalf("range query = %v, %v; want an empty matrix and ErrNoSamples", m, err)
		}
	})
	t.Run("a query the server rejects names the URL and the query and is marked as rejected", func(t *testing.T) {
		_, err := src.Query(ctx, `sum(rate(up[1m])`, time.Now())
		if err == nil {
			t.Fatal("want an error")
		}
		for _, want := range []string{"could not query Prometheus at " + base, `query "sum(rate(up[1m])"`, "bad_data"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if !errors.Is(err, ErrBadQuery) {
			t.Errorf("error %v does not wrap ErrBadQuery", err)
		}
		if strings.Contains(err.Error(), "attempts") {
			t.Errorf("a rejected query was retried: %v", err)
		}
	})
}

// fakePromAPI serves the Prometheus HTTP API's envelope, for faults a real
// server cannot be made to produce on demand. handle returns the status and
// body of the n-th request (from 1).
type fakePromAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	times    []time.Time
}

func newFakePromAPI(t *testing.T, handle func(n int, w http.ResponseWriter, r *http.Request)) *fakePromAPI {
	t.Helper()
	f := &fakePromAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		f.requests = append(f.requests, r)
		f.times = append(f.times, time.Now())
		n := len(f.requests)
		f.mu.Unlock()
		handle(n, w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakePromAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

const promVectorOK = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"app"},"value":[1700000000,"1"]}]}}`

func writeAPIJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func TestPrometheusFaults(t *testing.T) {
	ctx := context.Background()

	t.Run("a server that is down is named in the error after the retries", func(t *testing.T) {
		addr := freeLoopbackAddr(t) // Nothing listens there any more.
		src := newPromSource(t, PrometheusConfig{URL: "http://" + addr, Retries: 2, Backoff: time.Millisecond})
		_, err := src.Query(ctx, "up", time.Now())
		if err == nil {
			t.Fatal("want an error")
		}
		for _, want := range []string{"could not query Prometheus at http://" + addr, `query "up"`, "connection refused", "gave up after 3 attempts"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	})

	t.Run("a slow server times out every attempt and each attempt is retried", func(t *testing.T) {
		release := make(chan struct{})
		f := newFakePromAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		defer close(release)
		src := newPromSource(t, PrometheusConfig{URL: f.URL, Timeout: 100 * time.Millisecond, Retries: 2, Backoff: time.Millisecond})
		_, err := src.Query(ctx, "up", time.Now())
		if err == nil || !strings.Contains(err.Error(), "no answer within 100ms") || !strings.Contains(err.Error(), "gave up after 3 attempts") {
			t.Fatalf("error = %v; want a timeout after 3 attempts", err)
		}
		if got := f.count(); got != 3 {
			t.Fatalf("the server saw %d requests; want 3 (1 + 2 retries)", got)
		}
	})

	t.Run("a 5xx answer is retried until the server succeeds", func(t *testing.T) {
		f := newFakePromAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n <= 2 {
				writeAPIJSON(w, http.StatusServiceUnavailable, "overloaded")
				return
			}
			writeAPIJSON(w, http.StatusOK, promVectorOK)
		})
		src := newPromSource(t, PrometheusConfig{URL: f.URL, Backoff: time.Millisecond})
		v, err := src.Query(ctx, "up", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if vec, ok := v.(pmodel.Vector); !ok || len(vec) != 1 {
			t.Fatalf("result = %v", v)
		}
		if got := f.count(); got != 3 {
			t.Fatalf("the server saw %d requests; want 3", got)
		}
	})

	// The body is not repeated: errors are stored in documents that
	// read-only users see, and a body is whatever answered.
	t.Run("a 5xx that persists names the status, not the body", func(t *testing.T) {
		f := newFakePromAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			writeAPIJSON(w, http.StatusBadGateway, "upstream store unavailable")
		})
		src := newPromSource(t, PrometheusConfig{URL: f.URL, Retries: 1, Backoff: time.Millisecond})
		_, err := src.QueryRange(ctx, "up", Range{Start: time.Now().Add(-time.Minute), End: time.Now(), Step: time.Second})
		if err == nil || !strings.Contains(err.Error(), "502") || strings.Contains(err.Error(), "upstream store unavailable") || !strings.Contains(err.Error(), `range query "up"`) {
			t.Fatalf("error = %v", err)
		}
		if got := f.count(); got != 2 {
			t.Fatalf("the server saw %d requests; want 2", got)
		}
	})

	t.Run("a bad query (400) is not retried and the error names the query", func(t *testing.T) {
		f := newFakePromAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			writeAPIJSON(w, http.StatusBadRequest, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:4: parse error: unclosed left parenthesis"}`)
		})
		src := newPromSource(t, PrometheusConfig{URL: f.URL, Backoff: time.Millisecond})
		_, err := src.Query(ctx, "sum(", time.Now())
		if !errors.Is(err, ErrBadQuery) || !strings.Contains(err.Error(), `query "sum("`) || !strings.Contains(err.Error(), "unclosed left parenthesis") {
			t.Fatalf("error = %v; want ErrBadQuery naming the query and the reason", err)
		}
		if got := f.count(); got != 1 {
			t.Fatalf("the server saw %d requests; want 1", got)
		}
	})

	t.Run("a 429 is retried after the Retry-After the server asked for", func(t *testing.T) {
		f := newFakePromAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				writeAPIJSON(w, http.StatusTooManyRequests, "slow down")
				return
			}
			writeAPIJSON(w, http.StatusOK, promVectorOK)
		})
		src := newPromSource(t, PrometheusConfig{URL: f.URL, Backoff: time.Millisecond})
		if _, err := src.Query(ctx, "up", time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := f.count(); got != 2 {
			t.Fatalf("the server saw %d requests; want 2", got)
		}
		// A lower bound only: a busy machine can only make the gap longer,
		// while ignoring Retry-After would retry after about a millisecond.
		if gap := f.times[1].Sub(f.times[0]); gap < 900*time.Millisecond {
			t.Fatalf("retried after %s; want the 1s the server asked for", gap)
		}
	})

	t.Run("a 429 asking for a wait longer than the timeout is not retried", func(t *testing.T) {
		f := newFakePromAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			writeAPIJSON(w, http.StatusTooManyRequests, "quota exhausted")
		})
		src := newPromSource(t, PrometheusConfig{URL: f.URL, Timeout: 5 * time.Second, Backoff: time.Millisecond})
		_, err := src.Query(ctx, "up", time.Now())
		if err == nil || !strings.Contains(err.Error(), "429") {
			t.Fatalf("error = %v; want the 429", err)
		}
		if got := f.count(); got != 1 {
			t.Fatalf("the server saw %d requests; want 1", got)
		}
	})

	t.Run("a cancelled context stops the retries", func(t *testing.T) {
		f := newFakePromAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			writeAPIJSON(w, http.StatusServiceUnavailable, "down")
		})
		src := newPromSource(t, PrometheusConfig{URL: f.URL, Retries: 100, Backoff: time.Hour})
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			for f.count() == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err := src.Query(cctx, "up", time.Now())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v; want context.Canceled", err)
		}
		if got := f.count(); got != 1 {
			t.Fatalf("the server saw %d requests; want 1", got)
		}
	})
}

func TestPrometheusSendsAuthenticationHeadersAndKeepsThePathPrefix(t *testing.T) {
	ctx := context.Background()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  PrometheusConfig
		want map[string]string
	}{
		{
			name: "a bearer token file is read and sent without its newline",
			cfg:  PrometheusConfig{BearerTokenFile: tokenFile},
			want: map[string]string{"Authorization": "Bearer s3cret"},
		},
		{
			name: "a bearer token is sent as is",
			cfg:  PrometheusConfig{BearerToken: "abc"},
			want: map[string]string{"Authorization": "Bearer abc"},
		},
		{
			name: "basic auth and extra headers are sent",
			cfg:  PrometheusConfig{Username: "u", Password: "p", Headers: map[string]string{"X-Scope-OrgID": "tenant-1"}},
			want: map[string]string{"Authorization": "Basic dTpw", "X-Scope-Orgid": "tenant-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePromAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					writeAPIJSON(w, http.StatusServiceUnavailable, "retry me")
					return
				}
				writeAPIJSON(w, http.StatusOK, promVectorOK)
			})
			tt.cfg.URL = f.URL + "/prometheus/"
			tt.cfg.Backoff = time.Millisecond
			src := newPromSource(t, tt.cfg)
			if _, err := src.Query(ctx, "up", time.Now()); err != nil {
				t.Fatal(err)
			}
			for i, r := range f.requests {
				if r.URL.Path != "/prometheus/api/v1/query" {
					t.Errorf("request %d went to %s; want /prometheus/api/v1/query", i+1, r.URL.Path)
				}
				if r.Form.Get("query") != "up" {
					t.Errorf("request %d sent query %q", i+1, r.Form.Get("query"))
				}
				for k, v := range tt.want {
					if got := r.Header.Get(k); got != v {
						t.Errorf("request %d header %s = %q; want %q (retries must send it too)", i+1, k, got, v)
					}
				}
			}
		})
	}
}

func TestPrometheusLogsWarningsAtDebugLevel(t *testing.T) {
	f := newFakePromAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeAPIJSON(w, http.StatusOK, `{"status":"success","warnings":["PromQL info: metric might not be a counter"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"3"]}]}}`)
	})
	var logs bytes.Buffer
	src := newPromSource(t, PrometheusConfig{URL: f.URL, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if _, err := src.Query(context.Background(), "rate(x[1m])", time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=DEBUG") || !strings.Contains(logs.String(), "metric might not be a counter") {
		t.Fatalf("logs = %q; want the warning at debug level", logs.String())
	}
}

func TestPrometheusConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  PrometheusConfig
		want string
	}{
		{"an empty URL is refused", PrometheusConfig{}, "the Prometheus URL is empty"},
		{"a URL without a scheme is refused", PrometheusConfig{URL: "127.0.0.1:9090"}, "expected http:// or https://"},
		{"a URL with a query is refused", PrometheusConfig{URL: "http://h:9090/?x=1"}, "without a query"},
		{"a token and a token file together are refused", PrometheusConfig{URL: "http://h", BearerToken: "a", BearerTokenFile: "b"}, "not both"},
		{"a token and basic auth together are refused", PrometheusConfig{URL: "http://h", BearerToken: "a", Username: "u"}, "bearer token or basic auth"},
		{"a password without a username is refused", PrometheusConfig{URL: "http://h", Password: "p"}, "needs a username"},
		{"TLS settings with a custom client are refused", PrometheusConfig{URL: "https://h", HTTPClient: http.DefaultClient, TLS: TLSConfig{InsecureSkipVerify: true}}, "custom HTTP client"},
		{"a certificate without a key is refused", PrometheusConfig{URL: "https://h", TLS: TLSConfig{CertFile: "c.pem"}}, "both a certificate file and a key file"},
		{"a missing CA file is named", PrometheusConfig{URL: "https://h", TLS: TLSConfig{CAFile: "/nonexistent/ca.pem"}}, "could not read CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPrometheus(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrBadConfig) {
				t.Fatalf("NewPrometheus(%+v) error = %v; want ErrBadConfig containing %q", tt.cfg, err, tt.want)
			}
		})
	}
}

func TestPrometheusURLHidesThePassword(t *testing.T) {
	p := newPromSource(t, PrometheusConfig{URL: "http://user:hunter2@127.0.0.1:9/"})
	if strings.Contains(p.URL(), "hunter2") {
		t.Fatalf("URL() = %q shows the password", p.URL())
	}
}

func TestRetryAfterReadsSecondsAndDates(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, header string
		want         time.Duration
		ok           bool
	}{
		{"delay-seconds are read", "3", 3 * time.Second, true},
		{"an HTTP date is read relative to now", now.Add(2 * time.Second).Format(http.TimeFormat), 2 * time.Second, true},
		{"a date in the past means now", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"an empty header is absent", "", 0, false},
		{"garbage is ignored", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := retryAfter(tt.header, now)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("retryAfter(%q) = %s, %v; want %s, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func parseTestURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPrometheusTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeAPIJSON(w, http.StatusOK, promVectorOK)
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("a server whose certificate the CA file signs is trusted", func(t *testing.T) {
		src := newPromSource(t, PrometheusConfig{URL: srv.URL, TLS: TLSConfig{CAFile: caFile}})
		if _, err := src.Query(context.Background(), "up", time.Now()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an unknown certificate fails at once without retries", func(t *testing.T) {
		src := newPromSource(t, PrometheusConfig{URL: srv.URL, Backoff: time.Millisecond})
		_, err := src.Query(context.Background(), "up", time.Now())
		if err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "attempts") {
			t.Fatalf("error = %v; want a certificate error without retries", err)
		}
	})
}
