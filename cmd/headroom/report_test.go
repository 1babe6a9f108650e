package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/report"
)

// launchDocs copies the report package's launch story (analysis, plan, run
// and observations of the checkout demo breaking at ~500 RPS on its DB
// pool) to a temporary directory and returns the paths by name.
func launchDocs(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{}
	for _, name := range []string{"analysis", "plan", "run", "observations"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "report", "testdata", "launch", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	return paths
}

func readReportJSON(t *testing.T, dir string) model.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r model.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	return r
}

func chartIDs(r model.Report) []string {
	var ids []string
	for _, c := range r.Charts {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestReportWritesMarkdownJSONAndHTML(t *testing.T) {
	d := launchDocs(t)
	out := filepath.Join(t.TempDir(), "nested", "report")
	stdout, err := runCLI(t, "report", "--analysis", d["analysis"], "--plan", d["plan"], "--run", d["run"],
		"--observations", d["observations"], "--title", "Checkout launch", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "DB connection pool") || !strings.Contains(stdout, "report.html") {
		t.Errorf("stdout should give the verdict and the files written:\n%s", stdout)
	}
	r := readReportJSON(t, out)
	if r.Title != "Checkout launch" || r.Service != "checkout" || r.Plan == nil || r.Run == nil || r.GeneratedAt == nil {
		t.Errorf("report.json: title %q, service %q, plan %v, run %v, generated_at %v", r.Title, r.Service, r.Plan != nil, r.Run != nil, r.GeneratedAt)
	}
	if s := r.Summary; !s.Broke || s.Bottleneck != model.KindDBPool || math.Abs(s.CapacityRPS-500) > 25 {
		t.Errorf("summary = %+v, want a pool-bound break near 500 RPS", s)
	}
	ids := strings.Join(chartIDs(r), " ")
	for _, want := range []string{report.ChartThroughput, report.ChartLatency, report.ChartErrors, report.ChartLoadOverTime, "resource:db_pool/pgxpool"} {
		if !strings.Contains(ids, want) {
			t.Errorf("report.json has charts %s, want %s", ids, want)
		}
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), "<svg "); n != len(r.Charts) {
		t.Errorf("report.html has %d SVG charts, report.json %d", n, len(r.Charts))
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(md), "# Checkout launch") || !strings.Contains(string(md), "## Capacity plan") {
		t.Errorf("report.md starts %q and should hold the plan", string(md[:min(80, len(md))]))
	}
	left, _ := filepath.Glob(filepath.Join(out, ".*.tmp"))
	if len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestReportReadsTheRunsSeriesAgain checks that a report made from
// documents alone draws each resource against load from the run's own
// embedded store.
func TestReportReadsTheRunsSeriesAgain(t *testing.T) {
	runFile := writeSyntheticRun(t, poolRun)
	analysis := filepath.Join(t.TempDir(), "analysis.json")
	if _, err := runCLI(t, "analyze", "--run", runFile, "--out", analysis, "--format", "json"); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := runCLI(t, "report", "--analysis", analysis, "--run", runFile, "--out", out); err != nil {
		t.Fatal(err)
	}
	r := readReportJSON(t, out)
	var pool *model.Chart
	for i := range r.Charts {
		if r.Charts[i].ID == "resource:db_pool/pgxpool" {
			pool = &r.Charts[i]
		}
	}
	if pool == nil {
		t.Fatalf("charts %v, skipped %+v: want the pool against load", chartIDs(r), r.Skipped)
	}
	// The pool holds 10 connections and runs full from 40 VUs.
	var full int
	for _, s := range pool.Series {
		if s.Role != "utilization" || s.Kind != model.SeriesPoints {
			continue
		}
		for _, p := range s.Points {
			if p[0] >= 50 && p[1] > 0.95 {
				full++
			}
		}
	}
	if full < 5 {
		t.Errorf("the pool chart shows %d points near 100%% at 50 VUs and more, want the full pool: %+v", full, pool.Series)
	}

	// Without the series (--observe=false) the resource charts are skipped
	// with a reason.
	out2 := t.TempDir()
	if _, err := runCLI(t, "report", "--analysis", analysis, "--run", runFile, "--observe=false", "--out", out2); err != nil {
		t.Fatal(err)
	}
	r2 := readReportJSON(t, out2)
	var reason string
	for _, s := range r2.Skipped {
		if s.ID == report.ChartResources {
			reason = s.Reason
		}
	}
	if !strings.Contains(reason, "observations") {
		t.Errorf("skipped = %+v, want the resource charts with a reason", r2.Skipped)
	}
	if strings.Contains(strings.Join(chartIDs(r2), " "), "resource:") {
		t.Errorf("charts %v drawn without the series", chartIDs(r2))
	}
}

func TestReportRejectsBadInput(t *testing.T) {
	d := launchDocs(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"stages\": [\n    {\"name\": 1}\n  ]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(broken, []byte("{\n  \"verdict\": \"x\",\n  oops\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"a report without an analysis is refused", []string{"--out", out}, []string{"--analysis is required"}},
		{"a report with nowhere to go is refused", []string{"--analysis", d["analysis"]}, []string{"nothing to write", "--out", "--push-gauges"}},
		{"a syntax error names the line", []string{"--analysis", broken, "--out", out}, []string{"--analysis", "line 3"}},
		{"a type error names the field", []string{"--analysis", bad, "--out", out}, []string{"--analysis", "stages.name", "string"}},
		{"a missing plan names the flag", []string{"--analysis", d["analysis"], "--plan", filepath.Join(out, "none.json"), "--out", out}, []string{"--plan", "none.json"}},
		{"a negative peak is refused", []string{"--analysis", d["analysis"], "--gauges-file", filepath.Join(out, "g.prom"), "--service", "x", "--peak-rps", "-3"}, []string{"--peak-rps", "≥ 0"}},
		{"gauges without a service ask for one", []string{"--analysis", d["analysis"], "--gauges-file", filepath.Join(out, "g.prom")}, []string{"--service"}},
		{"a bad remote write URL names the flag", []string{"--analysis", d["analysis"], "--service", "x", "--push-gauges", "ftp://x"}, []string{"--push-gauges", "http"}},
		{"a header without a push is refused", []string{"--analysis", d["analysis"], "--out", out, "--push-gauges-header", "X-A: b"}, []string{"--push-gauges-header needs --push-gauges"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runCLI(t, append([]string{"report"}, tc.args...)...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestReportWritesTheGaugesForTheTextfileCollector(t *testing.T) {
	d := launchDocs(t)
	file := filepath.Join(t.TempDir(), "headroom.prom")
	if _, err := runCLI(t, "report", "--analysis", d["analysis"], "--plan", d["plan"], "--gauges-file", file); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		`headroom_capacity_rps{service="checkout"} 499.`,
		`headroom_peak_rps{service="checkout"} 210`,
		`headroom_target_rps{service="checkout"} 540`,
		`headroom_target_headroom_ratio{service="checkout"} 0.2`,
		`headroom_bottleneck_info{resource="db_pool",service="checkout"} 1`,
		`headroom_headroom_ratio{service="checkout"} 1.37`,
		"# TYPE headroom_last_review_timestamp_seconds gauge",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the gauges file lacks %q:\n%s", want, text)
		}
	}
}

// rwSample is one remote-written sample.
type rwSample struct {
	labels map[string]string
	value  float64
	ts     int64
}

// remoteWriteReceiver is an httptest remote write endpoint that decodes
// what it gets.
func remoteWriteReceiver(t *testing.T) (*httptest.Server, func() []rwSample) {
	t.Helper()
	var mu sync.Mutex
	var got []rwSample
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Prometheus-Remote-Write-Version") == "" {
			http.Error(w, "not remote write 1.0", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, ts := range req.Timeseries {
			ls := map[string]string{}
			for _, l := range ts.Labels {
				ls[l.Name] = l.Value
			}
			for _, s := range ts.Samples {
				got = append(got, rwSample{labels: ls, value: s.Value, ts: s.Timestamp})
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []rwSample {
		mu.Lock()
		defer mu.Unlock()
		return append([]rwSample(nil), got...)
	}
}

func TestReportPushesTheGaugesOverRemoteWrite(t *testing.T) {
	d := launchDocs(t)
	srv, got := remoteWriteReceiver(t)
	before := time.Now()
	stdout, err := runCLI(t, "report", "--analysis", d["analysis"], "--service", "checkout", "--peak-rps", "400", "--target-rps", "600",
		"--push-gauges", srv.URL+"/api/v1/write")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "Pushed the gauges of checkout") {
		t.Errorf("stdout = %q", stdout)
	}
	byName := map[string]rwSample{}
	for _, s := range got() {
		byName[s.labels["__name__"]] = s
		if s.labels["service"] != "checkout" {
			t.Errorf("%s has labels %v, want service=checkout", s.labels["__name__"], s.labels)
		}
		if s.ts < before.UnixMilli()-1000 {
			t.Errorf("%s is stamped %d, before the push", s.labels["__name__"], s.ts)
		}
	}
	var names []string
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{model.GaugeBottleneckInfo, model.GaugeCapacityRPS, model.GaugeHeadroomRatio, model.GaugeLastReview, model.GaugePeakRPS, model.GaugeTargetHeadroomRatio, model.GaugeTargetRPS}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("pushed %v, want %v", names, want)
	}
	// Without a plan the capacity is the breaking point: ~499 RPS.
	capRPS := byName[model.GaugeCapacityRPS].value
	if math.Abs(capRPS-499.5) > 1 {
		t.Errorf("capacity = %v, want the breaking point's 499.5 RPS", capRPS)
	}
	if h := byName[model.GaugeHeadroomRatio].value; math.Abs(h-(capRPS/400-1)) > 1e-9 {
		t.Errorf("headroom ratio = %v, want capacity / peak − 1 = %v", h, capRPS/400-1)
	}
	if v := byName[model.GaugeTargetHeadroomRatio].value; v != model.DefaultTargetHeadroomRatio {
		t.Errorf("target headroom = %v, want the default 0.2", v)
	}
	if r := byName[model.GaugeBottleneckInfo].labels["resource"]; r != model.KindDBPool {
		t.Errorf("bottleneck resource = %q, want db_pool", r)
	}
}

// TestReportPushesTheGaugesToARealPrometheus pushes the gauges to the test
// Prometheus's remote write receiver and reads them back with PromQL, the
// way the alerts and the Capacity dashboard read them.
func TestReportPushesTheGaugesToARealPrometheus(t *testing.T) {
	promURL := testenv.Require(t, testenv.PrometheusURL)
	d := launchDocs(t)
	service := fmt.Sprintf("report-test-%d", time.Now().UnixNano())
	if _, err := runCLI(t, "report", "--analysis", d["analysis"], "--plan", d["plan"], "--service", service,
		"--push-gauges", promURL+"/api/v1/write"); err != nil {
		t.Fatal(err)
	}
	query := func(q string) (map[string]string, float64, bool) {
		t.Helper()
		resp, err := http.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Status string
			Data   struct {
				Result []struct {
					Metric map[string]string
					Value  [2]any
				}
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if body.Status != "success" || len(body.Data.Result) != 1 {
			return nil, 0, false
		}
		var v float64
		fmt.Sscan(fmt.Sprint(body.Data.Result[0].Value[1]), &v)
		return body.Data.Result[0].Metric, v, true
	}
	sel := fmt.Sprintf(`{service=%q}`, service)
	// Remote-written samples are queryable once the write returned; allow
	// a busy machine a few seconds.
	var capRPS float64
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, v, ok := query("headroom_capacity_rps" + sel)
		if ok {
			capRPS = v
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("headroom_capacity_rps%s is not in Prometheus at %s", sel, promURL)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if math.Abs(capRPS-499.5) > 1 {
		t.Errorf("capacity = %v, want the plan's production capacity, 499.5 RPS", capRPS)
	}
	m, _, ok := query("headroom_bottleneck_info" + sel)
	if !ok || m["resource"] != model.KindDBPool {
		t.Errorf("headroom_bottleneck_info%s = %v, want resource db_pool", sel, m)
	}
	// The alert's own expression: with 138% headroom it does not fire.
	if _, _, firing := query(fmt.Sprintf(`headroom_headroom_ratio%s < headroom_target_headroom_ratio%s`, sel, sel)); firing {
		t.Errorf("HeadroomBelowTarget's expression matches for %s, whose headroom is 138%%", service)
	}
	if _, v, ok := query(fmt.Sprintf(`headroom_headroom_ratio%s - on(service) headroom_target_headroom_ratio%s`, sel, sel)); !ok || math.Abs(v-(capRPS/210-1-0.2)) > 1e-6 {
		t.Errorf("headroom − target = %v (found %v), want %v: the two gauges must match one to one", v, ok, capRPS/210-1-0.2)
	}
}
