package collector

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
)

// poolServer is a system under test whose handler needs one of four
// "connections" for 20 ms; it exports pgxpool's metrics for them.
type poolServer struct {
	*httptest.Server
	metrics  *httptest.Server
	sem      chan struct{}
	acquired atomic.Int64
	waitNs   atomic.Int64
}

const poolSize = 4

func newPoolServer(t *testing.T) *poolServer {
	t.Helper()
	ps := &poolServer{sem: make(chan struct{}, poolSize)}
	ps.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case ps.sem <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		ps.waitNs.Add(int64(time.Since(start)))
		ps.acquired.Add(1)
		time.Sleep(20 * time.Millisecond) // the query holding the connection
		ps.acquired.Add(-1)
		<-ps.sem
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(ps.Close)
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pgxpool_acquired_conns", Help: "Acquired connections."}, func() float64 { return float64(ps.acquired.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pgxpool_max_conns", Help: "Pool size."}, func() float64 { return poolSize }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pgxpool_acquire_duration_seconds_total", Help: "Time spent acquiring."}, func() float64 { return float64(ps.waitNs.Load()) / 1e9 }),
	)
	ps.metrics = httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(ps.metrics.Close)
	return ps
}

// runAgainstPool runs a stepped ramp (1, 4, 8, 16 VUs, 3 s each) against
// the pool server with the store as the runner's sink and the server's
// metrics scraped every second.
func runAgainstPool(t *testing.T) (*Store, *model.Run) {
	t.Helper()
	ps := newPoolServer(t)
	store := openTestStore(t, t.TempDir())
	sc, err := store.StartScraper(context.Background(), ScrapeConfig{
		Targets:  []ScrapeTarget{{URL: ps.metrics.URL + "/metrics", Job: "checkout"}},
		Interval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	d := model.Duration(3 * time.Second)
	scenario := &model.Scenario{
		Name:   "pool",
		Target: ps.URL,
		Flows:  []model.Flow{{Name: "work", Steps: []model.Step{{Method: "GET", Path: "/work/1", Endpoint: "GET /work/{id}"}}}},
		Executors: []model.Executor{{
			Type: model.ExecutorRampingVUs, StartVUs: 1, GracefulRampDown: model.Duration(time.Second),
			Stages: []model.Stage{
				{Name: "one", Duration: d, Target: 1},
				{Name: "four", Duration: d, Target: 4},
				{Name: "eight", Duration: d, Target: 8},
				{Name: "sixteen", Duration: d, Target: 16},
			},
		}},
	}
	r, err := loadgen.NewRunner(loadgen.Config{
		Scenario: scenario, Sinks: []loadgen.Sink{store},
		FlushInterval: 500 * time.Millisecond, SeriesInterval: time.Second, GracePeriod: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// One more scrape after the run, then stop.
	time.Sleep(1100 * time.Millisecond)
	sc.Stop()
	return store, run
}

// testBuckets are the runner's classic bucket bounds.
var testBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1, 1.5, 2, 2.5, 5, 10, 30, 60}

// bucketWidth is the width in ms of the runner's bucket holding ms.
func bucketWidth(ms float64) float64 {
	lo := 0.0
	for _, ub := range testBuckets {
		if ms/1000 <= ub {
			return (ub - lo) * 1000
		}
		lo = ub
	}
	return math.Inf(1)
}

func TestObserveARealRunInTheEmbeddedStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs load for 12 seconds")
	}
	store, run := runAgainstPool(t)
	cfg := ObserveConfig{
		RunID: run.RunID, Start: run.Start, End: run.End, Stages: run.Stages,
		Step: time.Second, RateWindow: 2 * time.Second,
		Selector:  `{job="checkout"}`,
		Selectors: Selectors{RateWindow: 3 * time.Second},
	}
	obs, err := Observe(context.Background(), store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if obs.LoadModel != model.LoadClosed || obs.Scenario != "pool" || len(obs.Shards) != 1 || obs.Shards[0] != "0/1" {
		t.Errorf("load model %q, scenario %q, shards %v", obs.LoadModel, obs.Scenario, obs.Shards)
	}
	if len(obs.Stages) != len(run.Stages) {
		t.Fatalf("%d stages, want %d", len(obs.Stages), len(run.Stages))
	}
	rows, _, _ := analyzer.StageTable(obs.Stages)
	for i, want := range run.Stages {
		got := rows[i]
		// Counters are read exactly.
		if got.Requests != want.Requests || got.Errors != want.Errors {
			t.Errorf("stage %s: %d requests, %d errors; run.json %d, %d", want.Name, got.Requests, got.Errors, want.Requests, want.Errors)
		}
		// Quantiles from buckets agree within the bucket's width.
		for _, q := range []struct {
			name      string
			got, want float64
		}{{"p50", got.P50Ms, want.P50Ms}, {"p95", got.P95Ms, want.P95Ms}, {"p99", got.P99Ms, want.P99Ms}} {
			if math.Abs(q.got-q.want) > bucketWidth(q.want)+1 {
				t.Errorf("stage %s %s = %.1f ms from the histogram, run.json %.1f ms: further apart than a bucket", want.Name, q.name, q.got, q.want)
			}
		}
		// The VU gauge is sampled at flushes: a VU added at the stage's
		// boundary may count in either stage.
		if got.VUs < want.VUs || got.VUs > want.VUs+1 {
			t.Errorf("stage %s: %d VUs, run.json %d", want.Name, got.VUs, want.VUs)
		}
		if len(got.Endpoints) != 1 || got.Endpoints[0].Endpoint != "GET /work/{id}" || got.Endpoints[0].Requests != want.Requests {
			t.Errorf("stage %s endpoints = %+v", want.Name, got.Endpoints)
		}
	}
	// The series add up to the run's requests, but for the run's first and
	// last second, which no whole rate window covers (up to ~250 requests
	// at 1 s resolution in a 12-second run).
	sum, maxVUs := 0.0, 0.0
	for _, p := range obs.Series {
		sum += p.RPS * cfg.Step.Seconds()
		maxVUs = math.Max(maxVUs, p.VUs)
	}
	if total := float64(run.Total.Requests); math.Abs(sum-total) > 0.25*total {
		t.Errorf("series hold %.0f requests, run.json %.0f", sum, total)
	}
	if maxVUs < 12 || maxVUs > 16.5 {
		t.Errorf("series VUs peak at %v, want near 16", maxVUs)
	}
	if len(obs.EndpointSeries) != 1 || obs.EndpointSeries[0].Endpoint != "GET /work/{id}" {
		t.Errorf("endpoint series = %d", len(obs.EndpointSeries))
	}
	// The pool is found and fills up.
	var pool *model.ResourceObservation
	for i := range obs.Resources {
		if obs.Resources[i].Kind == model.KindDBPool {
			pool = &obs.Resources[i]
		}
	}
	if pool == nil || pool.Family != "pgxpool" {
		t.Fatalf("resources = %+v, want the pgxpool pool", obs.Resources)
	}
	maxU, queued := 0.0, 0
	for _, p := range pool.Points {
		if !p.HasLimit || p.Limit != poolSize {
			t.Fatalf("pool point %+v lacks its limit", p)
		}
		maxU = math.Max(maxU, p.Utilization)
		if p.HasSaturation {
			queued++
		}
	}
	if queued < len(pool.Points)/2 {
		t.Errorf("only %d of %d pool points measure queueing", queued, len(pool.Points))
	}
	if maxU < 0.9 {
		t.Errorf("pool utilization peaks at %v, want it full at 16 VUs", maxU)
	}
	foundMissing := false
	for _, m := range obs.Missing {
		if m.Kind == model.KindRedis && len(m.LookedFor) > 0 {
			foundMissing = true
		}
	}
	if !foundMissing {
		t.Errorf("missing = %+v, want Redis listed with what was looked for", obs.Missing)
	}

	// The analysis runs on what was observed. Which resource it blames
	// depends on latency, which a busy machine distorts (stalls of half a
	// second were seen here); the deterministic end-to-end check of the
	// blame is cmd/headroom's TestAnalyzeARunFromItsEmbeddedStore.
	a, err := analyzer.Analyze(obs, analyzer.Options{SLOP95: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verdict: %s", a.Verdict)
	t.Logf("bottleneck: %s (%s): %s", a.Bottleneck.Resource, a.Bottleneck.Confidence, a.Bottleneck.Evidence)
	for i, st := range rows {
		t.Logf("stage %s: %d req, p95 %.1f ms (run.json %.1f ms)", st.Name, st.Requests, st.P95Ms, run.Stages[i].P95Ms)
	}
	if p := findResource(a.Resources, model.KindDBPool); p == nil || !p.Saturated {
		t.Errorf("resources = %+v, want the pool (16 VUs on 4 connections) found saturated", a.Resources)
	}

	// Without run.json's stages, the windows come from headroom_stage_active.
	cfg.Stages = nil
	cfg.RunID = ""
	obs2, err := Observe(context.Background(), store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if obs2.RunID != run.RunID {
		t.Errorf("run id = %q, want the only run's %q", obs2.RunID, run.RunID)
	}
	var names []string
	var reqs int64
	for _, s := range obs2.Stages {
		names = append(names, s.Name)
		reqs += int64(math.Round(s.Requests))
	}
	if strings.Join(names, ",") != "one,four,eight,sixteen" || reqs != run.Total.Requests {
		t.Errorf("derived stages %v with %d requests, want one,four,eight,sixteen with %d", names, reqs, run.Total.Requests)
	}

	// A window that starts halfway through a stage counts only its part.
	eight := run.Stages[2]
	cfg.Start = eight.Start.Add(eight.End.Sub(eight.Start) / 2)
	obs3, err := Observe(context.Background(), store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs3.Stages) != 2 || obs3.Stages[0].Name != "eight" {
		t.Fatalf("stages of the cut window = %+v", obs3.Stages)
	}
	// Counters are sampled at flushes (every 0.5 s here, a sixth of the
	// stage), so the cut is known to a flush: the last 1.5 s, plus up to
	// the 0.5 s before the first flush inside the window.
	full := float64(eight.Requests)
	if got := obs3.Stages[0].Requests; got < 0.4*full || got > 0.75*full {
		t.Errorf("the second half of stage eight holds %v requests, want about half of its %d", got, eight.Requests)
	}
	if got, want := obs3.Stages[1].Requests, float64(run.Stages[3].Requests); got != want {
		t.Errorf("stage sixteen holds %v requests, want all %v", got, want)
	}
}

func findResource(rs []model.ResourceAnalysis, kind string) *model.ResourceAnalysis {
	for i := range rs {
		if rs[i].Kind == kind {
			return &rs[i]
		}
	}
	return nil
}

// writeServerTraffic writes ten minutes of an HTTP server's OpenTelemetry
// histogram into the store, every 5 s: throughput rises from 20 to 200 RPS
// over GET /orders/{id} (¾) and POST /orders (¼); POST latency grows with
// load and 2% of POSTs fail with 500 above 150 RPS. CPU usage is 0.4 cores
// per 100 RPS out of 2.
func writeServerTraffic(t *testing.T, s *Store, start time.Time) {
	t.Helper()
	reg := prometheus.NewRegistry()
	r := prometheus.WrapRegistererWith(prometheus.Labels{"job": "checkout"}, reg)
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_server_request_duration_seconds", Help: "Server latency.", Buckets: testBuckets,
	}, []string{"http_request_method", "http_route", "http_response_status_code"})
	cpu := prometheus.NewCounter(prometheus.CounterOpts{Name: "process_cpu_seconds_total", Help: "CPU."})
	procs := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_sched_gomaxprocs_threads", Help: "GOMAXPROCS."})
	r.MustRegister(h, cpu, procs)
	procs.Set(2)
	for k := 0; k <= 120; k++ {
		ts := start.Add(time.Duration(k) * 5 * time.Second)
		rps := 20 + 180*float64(k)/120
		n := int(rps * 5)
		for i := 0; i < n; i++ {
			if i%4 != 0 {
				h.WithLabelValues("GET", "/orders/{id}", "200").Observe(0.010)
				continue
			}
			code := "201"
			if rps > 150 && i%200 < 8 {
				code = "500"
			}
			h.WithLabelValues("POST", "/orders", code).Observe(0.02 + rps/1000*float64(i%10)/10)
		}
		cpu.Add(0.004 * rps * 5)
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(context.Background(), ts, fams); err != nil {
			t.Fatal(err)
		}
	}
}

func TestObserveHTTPServerMetricsWithoutARun(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	start := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	writeServerTraffic(t, s, start)
	obs, err := Observe(context.Background(), s, ObserveConfig{
		Start: start, End: start.Add(10 * time.Minute), Selector: `{job="checkout"}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if obs.LoadModel != model.LoadUnknown || !strings.HasPrefix(obs.LoadSource, "http_server_request_duration_seconds") {
		t.Errorf("load model %q from %q", obs.LoadModel, obs.LoadSource)
	}
	if len(obs.Stages) != 10 {
		t.Fatalf("%d windows, want 10 of a minute", len(obs.Stages))
	}
	rows, _, _ := analyzer.StageTable(obs.Stages)
	for i, r := range rows {
		// The middle of window i is at 30 + 60i s: 20 + 180·t/600 RPS.
		want := 20 + 180*(30+60*float64(i))/600
		if math.Abs(r.RPS-want) > 0.1*want {
			t.Errorf("window %s: %.1f RPS, want ~%.1f", r.Name, r.RPS, want)
		}
		names := map[string]bool{}
		for _, e := range r.Endpoints {
			names[e.Endpoint] = true
		}
		if !names["GET /orders/{id}"] || !names["POST /orders"] {
			t.Errorf("window %s endpoints = %v", r.Name, names)
		}
		if i < 7 && r.Errors != 0 {
			t.Errorf("window %s: %d errors before the load reached 150 RPS", r.Name, r.Errors)
		}
	}
	if rows[9].Errors == 0 {
		t.Error("the last window has no 5xx errors")
	}
	last := obs.Series[len(obs.Series)-1]
	if math.Abs(last.RPS-195) > 15 || last.VUs != 0 {
		t.Errorf("last series point %+v, want ~195 RPS and no VUs", last)
	}
	var cpu *model.ResourceObservation
	for i := range obs.Resources {
		if obs.Resources[i].Kind == model.KindCPU {
			cpu = &obs.Resources[i]
		}
	}
	if cpu == nil {
		t.Fatalf("no CPU resource in %+v", obs.Resources)
	}
	lp := cpu.Points[len(cpu.Points)-1]
	if !lp.HasLimit || lp.Limit != 2 || math.Abs(lp.Utilization-0.4) > 0.05 {
		t.Errorf("last CPU point %+v, want ~0.8 of 2 cores", lp)
	}
	a, err := analyzer.Analyze(obs, analyzer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.BreakingPoint != nil || !strings.HasPrefix(a.Verdict, "No breaking point up to 19") {
		t.Errorf("verdict %q", a.Verdict)
	}
}

func TestObserveErrors(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	start := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	_, err := Observe(context.Background(), s, ObserveConfig{Start: start, End: start.Add(time.Minute), Selector: `{job="checkout"}`})
	if !errors.Is(err, ErrNoLoadMetrics) || !strings.Contains(err.Error(), "http_server_request_duration_seconds") {
		t.Errorf("empty store: %v, want ErrNoLoadMetrics naming what was looked for", err)
	}
	if _, err := Observe(context.Background(), s, ObserveConfig{Start: start, End: start}); err == nil {
		t.Error("an empty window was accepted")
	}
	if _, err := Observe(context.Background(), s, ObserveConfig{Start: start, End: start.Add(time.Minute), Selector: `job="x"`}); !errors.Is(err, ErrBadSelector) {
		t.Errorf("bad selector: %v", err)
	}
}
