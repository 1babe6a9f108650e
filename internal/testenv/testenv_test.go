package testenv_test

// These smoke tests check the environment scripts/testenv.sh up starts: every
// component answers, Prometheus scrapes the exporters and the file_sd targets
// tests drop, and its remote-write receiver stores float samples and native
// histograms. They need the environment (they skip without it, and fail under
// CI).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	"github.com/redis/go-redis/v9"

	"github.com/headroom-sh/headroom/internal/testenv"
)

// waitFor bounds every poll: generous, for a busy 2-core machine where
// Prometheus scrapes every second and rereads file_sd files every second.
const waitFor = 60 * time.Second

var httpClient = &http.Client{Timeout: 10 * time.Second}

// probeID returns a label value no earlier run has used, since Prometheus
// keeps its data between runs.
func probeID(t *testing.T) string {
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
}

// eventually polls cond until it returns true or the deadline passes, then
// fails with the last reason cond gave.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	var last string
	for {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s; last: %s", what, waitFor, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  []json.RawMessage `json:"value"`
}

// query runs an instant query against the Prometheus HTTP API.
func query(promURL, q string) ([]sample, error) {
	resp, err := httpClient.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, fmt.Errorf("could not query %q: %w", q, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("could not read the answer to %q: %w", q, err)
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []sample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("could not decode the answer to %q (HTTP %d): %w: %s", q, resp.StatusCode, err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q failed (HTTP %d): %s", q, resp.StatusCode, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q gave a %s, want a vector", q, r.Data.ResultType)
	}
	return r.Data.Result, nil
}

// value returns the float value of a vector sample.
func (s sample) value() (float64, error) {
	if len(s.Value) != 2 {
		return 0, fmt.Errorf("sample %v has no float value", s.Metric)
	}
	var v string
	if err := json.Unmarshal(s.Value[1], &v); err != nil {
		return 0, err
	}
	return strconv.ParseFloat(v, 64)
}

func TestPrometheusIsReady(t *testing.T) {
	promURL := testenv.Require(t, testenv.PrometheusURL)
	resp, err := httpClient.Get(promURL + "/-/ready")
	if err != nil {
		t.Fatalf("Prometheus at %s does not answer: %v", promURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/-/ready: HTTP %d, want 200", promURL, resp.StatusCode)
	}
}

func TestPrometheusScrapesTheExporters(t *testing.T) {
	t.Parallel()
	promURL := testenv.Require(t, testenv.PrometheusURL)
	// The exporters' own view of their backends, as Prometheus stored it.
	for _, q := range []string{
		`up{job="postgres"} == 1`,
		`up{job="redis"} == 1`,
		`up{job="node"} == 1`,
		`pg_up{job="postgres"} == 1`,
		`redis_up{job="redis"} == 1`,
		`count(node_cpu_seconds_total{job="node",mode="idle"}) > 0`,
	} {
		eventually(t, fmt.Sprintf("Prometheus has %s", q), func() (bool, string) {
			res, err := query(promURL, q)
			if err != nil {
				return false, err.Error()
			}
			return len(res) > 0, fmt.Sprintf("%d series", len(res))
		})
	}
}

func TestPostgresAcceptsConnections(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tests := []struct {
		name, key, wantDB string
	}{
		{"the test URL connects to the headroom_test database", testenv.PostgresURL, "headroom_test"},
		{"the admin URL connects as a superuser", testenv.PostgresAdminURL, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := testenv.Require(t, tt.key)
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatalf("could not connect with %s: %v", tt.key, err)
			}
			defer conn.Close(ctx)
			var db string
			var super bool
			if err := conn.QueryRow(ctx, `select current_database(), current_setting('is_superuser') = 'on'`).Scan(&db, &super); err != nil {
				t.Fatalf("could not query with %s: %v", tt.key, err)
			}
			if tt.wantDB != "" && db != tt.wantDB {
				t.Errorf("%s connects to database %q, want %q", tt.key, db, tt.wantDB)
			}
			if tt.key == testenv.PostgresAdminURL && !super {
				t.Errorf("%s does not connect as a superuser", tt.key)
			}
		})
	}

	// Tests may create tables in the test database.
	conn, err := pgx.Connect(ctx, testenv.Require(t, testenv.PostgresURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		`create temporary table testenv_smoke (id int)`,
		`insert into testenv_smoke values (1), (2)`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("could not %s: %v", stmt, err)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `select count(*) from testenv_smoke`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("a temporary table holds %d rows after inserting 2", n)
	}
}

func TestRedisAnswers(t *testing.T) {
	addr := testenv.Require(t, testenv.RedisAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	if got, err := rdb.Ping(ctx).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING %s: %q, %v; want PONG", addr, got, err)
	}
	key := "headroom:testenv:" + probeID(t)
	if err := rdb.Set(ctx, key, "ok", time.Minute).Err(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
	defer rdb.Del(ctx, key)
	if got, err := rdb.Get(ctx, key).Result(); err != nil || got != "ok" {
		t.Errorf("GET %s: %q, %v; want \"ok\"", key, got, err)
	}
}

func TestExportersExposeTheirFamilies(t *testing.T) {
	tests := []struct {
		name, key, family string
		wantGauge         float64 // the first series' value when the family is a gauge
	}{
		{"postgres_exporter reaches PostgreSQL", testenv.PGExporterURL, "pg_up", 1},
		{"redis_exporter reaches Redis", testenv.RedisExporterURL, "redis_up", 1},
		{"node_exporter reports CPU time", testenv.NodeExporterURL, "node_cpu_seconds_total", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := testenv.Require(t, tt.key)
			resp, err := httpClient.Get(u)
			if err != nil {
				t.Fatalf("GET %s: %v", u, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: HTTP %d", u, resp.StatusCode)
			}
			p := expfmt.NewTextParser(pmodel.UTF8Validation)
			fams, err := p.TextToMetricFamilies(resp.Body)
			if err != nil {
				t.Fatalf("could not parse %s: %v", u, err)
			}
			fam, ok := fams[tt.family]
			if !ok || len(fam.GetMetric()) == 0 {
				t.Fatalf("%s has no %s series (%d families)", u, tt.family, len(fams))
			}
			if fam.GetType() == dto.MetricType_GAUGE {
				if got := fam.GetMetric()[0].GetGauge().GetValue(); got != tt.wantGauge {
					t.Errorf("%s = %v, want %v", tt.family, got, tt.wantGauge)
				}
			}
		})
	}
}

// TestFileSDTargetsAreScraped drops a file_sd file for an httptest server, as
// the load tests do for the checkout app, and waits for its series to appear
// under the job named in the file. A classic histogram keeps its _bucket
// series although Prometheus runs with native histograms on (see
// scripts/testenv.sh).
func TestFileSDTargetsAreScraped(t *testing.T) {
	t.Parallel()
	promURL := testenv.Require(t, testenv.PrometheusURL)
	dir := testenv.Require(t, testenv.PromFileSDDir)

	id := probeID(t)
	reg := prometheus.NewRegistry()
	probes := prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "headroom_smoke_probes_total",
		Help:        "Probes of the testenv smoke test.",
		ConstLabels: prometheus.Labels{"probe": id},
	})
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:        "headroom_smoke_latency_seconds",
		Help:        "A classic histogram of the testenv smoke test.",
		Buckets:     []float64{0.1, 1},
		ConstLabels: prometheus.Labels{"probe": id},
	})
	reg.MustRegister(probes, latency)
	probes.Add(7)
	latency.Observe(0.5)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	target, err := json.Marshal([]map[string]any{{
		"targets": []string{srv.Listener.Addr().String()},
		"labels":  map[string]string{"job": "smoke"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Write then rename, so Prometheus never reads a half-written file.
	file := filepath.Join(dir, id+".json")
	if err := os.WriteFile(file+".tmp", target, 0o644); err != nil {
		t.Fatalf("could not write a file_sd target: %v", err)
	}
	if err := os.Rename(file+".tmp", file); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(file) })

	for _, c := range []struct{ q, want string }{
		{fmt.Sprintf(`headroom_smoke_probes_total{job="smoke",probe=%q}`, id), "7"},
		// Scraped in the protobuf format (native histograms are on), "le"
		// is stored as "1.0"; from the text format it would be "1".
		{fmt.Sprintf(`headroom_smoke_latency_seconds_bucket{job="smoke",probe=%q,le=~"1(\\.0)?"}`, id), "1"},
		{fmt.Sprintf(`up{job="smoke",instance=%q}`, srv.Listener.Addr().String()), "1"},
	} {
		eventually(t, fmt.Sprintf("%s = %s", c.q, c.want), func() (bool, string) {
			res, err := query(promURL, c.q)
			if err != nil {
				return false, err.Error()
			}
			if len(res) != 1 {
				return false, fmt.Sprintf("%d series", len(res))
			}
			v, err := res[0].value()
			if err != nil {
				return false, err.Error()
			}
			want, _ := strconv.ParseFloat(c.want, 64)
			return v == want, fmt.Sprintf("value %v", v)
		})
	}
}

// remoteWrite sends req to Prometheus's remote-write receiver (protocol 1.0).
func remoteWrite(t *testing.T, promURL string, req *prompb.WriteRequest) {
	t.Helper()
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	hreq, err := http.NewRequest(http.MethodPost, promURL+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		t.Fatal(err)
	}
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := httpClient.Do(hreq)
	if err != nil {
		t.Fatalf("remote write to %s: %v", promURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("remote write to %s: HTTP %d: %s", promURL, resp.StatusCode, body)
	}
}

func TestRemoteWriteIsQueryable(t *testing.T) {
	t.Parallel()
	promURL := testenv.Require(t, testenv.PrometheusURL)
	id := probeID(t)
	now := time.Now().UnixMilli()
	native := &histogram.Histogram{
		Schema:          0,
		Count:           3,
		Sum:             2.5,
		ZeroThreshold:   1e-128,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 2}},
		PositiveBuckets: []int64{1, 1}, // deltas: 1 in (0.5, 1], 2 in (1, 2]
	}
	remoteWrite(t, promURL, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{
			Labels: []prompb.Label{
				{Name: "__name__", Value: "headroom_smoke_remote_write"},
				{Name: "probe", Value: id},
			},
			Samples: []prompb.Sample{{Value: 42, Timestamp: now}},
		},
		{
			Labels: []prompb.Label{
				{Name: "__name__", Value: "headroom_smoke_remote_write_seconds"},
				{Name: "probe", Value: id},
			},
			Histograms: []prompb.Histogram{prompb.FromIntHistogram(now, native)},
		},
	}})

	for _, c := range []struct {
		name, q string
		want    float64
	}{
		{"a float sample", fmt.Sprintf(`headroom_smoke_remote_write{probe=%q}`, id), 42},
		{"a native histogram", fmt.Sprintf(`histogram_count(headroom_smoke_remote_write_seconds{probe=%q})`, id), 3},
	} {
		res, err := query(promURL, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 {
			t.Fatalf("%s written remotely: %s gives %d series, want 1", c.name, c.q, len(res))
		}
		got, err := res[0].value()
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s written remotely: %s = %v, want %v", c.name, c.q, got, c.want)
		}
	}
}

func TestToolsAreExecutable(t *testing.T) {
	for _, tt := range []struct{ key, arg string }{
		{testenv.Promtool, "--version"},
		{testenv.Wrk, "--version"},
	} {
		path := testenv.Require(t, tt.key)
		// wrk --version prints its version and exits 1; only "could not run"
		// is a failure.
		out, err := exec.Command(path, tt.arg).CombinedOutput()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Errorf("could not run %s (%s): %v", path, tt.key, err)
		}
		if len(out) == 0 {
			t.Errorf("%s %s printed nothing", path, tt.arg)
		}
	}
}
