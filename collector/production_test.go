package collector

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
)

// productionDay describes one recorded day of production-like traffic for
// writeProductionDays: a daily cycle from Trough to Peak requests/s (trough
// at 03:00, peak at 15:00 UTC) with 3% noise per scrape.
type productionDay struct {
	Start         time.Time
	Trough, Peak  float64
	Seed1, Seed2  uint64
	ScrapeSeconds int
}

// The system the recorded days come from. Its DB pool holds each
// connection for poolHoldS per request (Little's law: connections in use =
// rps × hold), so it reaches 90% of its poolMax connections at
// 0.9 × 20 / 0.01 = 1800 req/s: the capacity a review must find. Its p95
// latency is latencyBaseS plus an M/M/1-like queue that diverges at
// latencyC req/s, so the 300ms SLO is crossed only at
// 3000 × (1 − 0.02/0.26) ≈ 2769 req/s, after the pool saturates.
const (
	poolMax       = 20.0
	poolHoldS     = 0.01
	trueCapacity  = 0.9 * poolMax / poolHoldS // 1800 req/s
	latencyBaseS  = 0.04
	latencyQueueS = 0.02
	latencyC      = 3000.0
	errorRatio    = 0.001
)

// reviewBuckets are the histogram's upper bounds in seconds.
var reviewBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.75, 1, 2.5}

// dayRPS is the traffic of the daily cycle at t, before noise.
func (d productionDay) rps(t time.Time) float64 {
	h := float64(t.UTC().Hour()) + float64(t.UTC().Minute())/60 + float64(t.UTC().Second())/3600
	return d.Trough + (d.Peak-d.Trough)*(1+math.Cos(2*math.Pi*(h-15)/24))/2
}

// writeProductionDays writes the days as OpenMetrics text with timestamps,
// for `promtool tsdb create-blocks-from openmetrics`: an OpenTelemetry-style
// HTTP server histogram (http_server_request_duration_seconds, 200s and
// 0.1% 500s) and a pgx pool's acquired and max connections, all labelled
// job=job. Latency is a shifted exponential, latencyBaseS + Exp(θ) with
// ln(20)/θ = latencyQueueS / (1 − rps/latencyC), so its p95 is latencyBaseS +
// latencyQueueS / (1 − rps/latencyC) (the exponential's p95 is ln 20 times
// its mean). Ten minutes before the first day are written too, so that the
// first grid point has a rate.
func writeProductionDays(w io.Writer, job string, days []productionDay) error {
	type point struct {
		t             time.Time
		rps, acquired float64
	}
	var pts []point
	for _, d := range days {
		rng := mrand.New(mrand.NewPCG(d.Seed1, d.Seed2))
		step := time.Duration(d.ScrapeSeconds) * time.Second
		from := d.Start
		if len(pts) == 0 {
			from = from.Add(-10 * time.Minute)
		}
		for t := from; t.Before(d.Start.Add(24 * time.Hour)); t = t.Add(step) {
			x := d.rps(t) * (1 + 0.03*rng.NormFloat64())
			// Connections in use at the scrape: Little's law plus one
			// connection of noise, rounded to a whole connection.
			acq := math.Round(x*poolHoldS + rng.NormFloat64())
			pts = append(pts, point{t: t, rps: x, acquired: math.Max(0, math.Min(poolMax, acq))})
		}
	}
	bw := bufio.NewWriter(w)
	const fam = "http_server_request_duration_seconds"
	fmt.Fprintf(bw, "# TYPE %s histogram\n# UNIT %s seconds\n", fam, fam)
	for _, status := range []string{"200", "500"} {
		share := 1 - errorRatio
		if status == "500" {
			share = errorRatio
		}
		ls := fmt.Sprintf(`job=%q,http_request_method="GET",http_route="/api/orders",http_response_status_code=%q`, job, status)
		cum := make([]float64, len(reviewBuckets))
		var count, sum float64
		var prev time.Time
		for i, p := range pts {
			dt := 0.0
			if i > 0 {
				dt = p.t.Sub(prev).Seconds()
			}
			prev = p.t
			n := p.rps * dt * share
			theta := math.Log(20) * (1 - p.rps/latencyC) / latencyQueueS
			for j, le := range reviewBuckets {
				if le > latencyBaseS {
					cum[j] += n * (1 - math.Exp(-theta*(le-latencyBaseS)))
				}
			}
			count += n
			sum += n * (latencyBaseS + 1/theta)
			ts := strconv.FormatInt(p.t.Unix(), 10)
			for j, le := range reviewBuckets {
				fmt.Fprintf(bw, "%s_bucket{%s,le=%q} %s %s\n", fam, ls, strconv.FormatFloat(le, 'g', -1, 64), fnum(cum[j]), ts)
			}
			fmt.Fprintf(bw, "%s_bucket{%s,le=\"+Inf\"} %s %s\n", fam, ls, fnum(count), ts)
			fmt.Fprintf(bw, "%s_count{%s} %s %s\n", fam, ls, fnum(count), ts)
			fmt.Fprintf(bw, "%s_sum{%s} %s %s\n", fam, ls, fnum(sum), ts)
		}
	}
	fmt.Fprintf(bw, "# TYPE pgxpool_acquired_conns gauge\n")
	for _, p := range pts {
		fmt.Fprintf(bw, "pgxpool_acquired_conns{job=%q} %s %d\n", job, fnum(p.acquired), p.t.Unix())
	}
	fmt.Fprintf(bw, "# TYPE pgxpool_max_conns gauge\n")
	for _, p := range pts {
		fmt.Fprintf(bw, "pgxpool_max_conns{job=%q} %s %d\n", job, fnum(poolMax), p.t.Unix())
	}
	fmt.Fprintln(bw, "# EOF")
	return bw.Flush()
}

func fnum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// startBackfilledPrometheus writes the OpenMetrics text into TSDB blocks
// with promtool and starts a private Prometheus on them (no scrape jobs),
// killed when the test ends. The shared test Prometheus cannot hold a
// recorded day: its out-of-order window is 2h and its retention 2d, so the
// test owns its instance and data directory.
func startBackfilledPrometheus(t *testing.T, promtool, openMetrics string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/prometheus"); serr == nil {
			bin = "/usr/bin/prometheus"
		} else if testenv.InCI() {
			t.Fatal("no prometheus binary on PATH or at /usr/bin/prometheus (scripts/install-deps.sh installs it)")
		} else {
			t.Skip("no prometheus binary on PATH or at /usr/bin/prometheus")
		}
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", openMetrics, data).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  evaluation_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=100y", "--web.listen-address="+addr, "--log.level=warn")
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
	base := "http://" + addr
	deadline := time.After(60 * time.Second)
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
		case <-deadline:
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("prometheus at %s was not ready within a minute:\n%s", base, log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestProductionReviewAgainstPrometheus records two days of production-like
// traffic into a real Prometheus, reviews each, and checks that the review
// recovers the DB pool's known capacity, names it the bottleneck, and that
// the HeadroomBelowTarget rule stays silent for the first day and fires for
// the second, whose peak grew.
func TestProductionReviewAgainstPrometheus(t *testing.T) {
	// The shared environment marks that real components are expected
	// (CI fails without it); the recording goes to a private instance.
	testenv.Require(t, testenv.PrometheusURL)
	promtool := testenv.Require(t, testenv.Promtool)

	runID := make([]byte, 4)
	_, _ = rand.Read(runID)
	job := "review-" + hex.EncodeToString(runID)
	day1 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	days := []productionDay{
		{Start: day1, Trough: 360, Peak: 1200, Seed1: 1, Seed2: 2, ScrapeSeconds: 60},
		{Start: day1.Add(24 * time.Hour), Trough: 480, Peak: 1600, Seed1: 3, Seed2: 4, ScrapeSeconds: 60},
	}
	om := filepath.Join(t.TempDir(), "days.om")
	f, err := os.Create(om)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeProductionDays(f, job, days); err != nil {
		t.Fatal(err)
	}
	f.Close()
	base := startBackfilledPrometheus(t, promtool, om)
	src, err := NewPrometheus(PrometheusConfig{URL: base})
	if err != nil {
		t.Fatal(err)
	}
	spec := model.ReviewSpec{
		Service: "checkout-" + hex.EncodeToString(runID), Selector: fmt.Sprintf(`{job=%q}`, job),
		Lookback: model.Duration(24 * time.Hour), Step: model.Duration(5 * time.Minute),
		SLO: model.SLO{P95Ms: 300, MaxErrorRate: 0.01},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var reviews []model.Review
	for i, d := range days {
		end := d.Start.Add(24 * time.Hour)
		obs, err := ObserveProduction(ctx, src, spec, end)
		if err != nil {
			t.Fatalf("day %d: %v", i+1, err)
		}
		checkProductionObservations(t, i+1, d, obs)
		rv, err := analyzer.Review(spec, obs)
		if err != nil {
			t.Fatalf("day %d: %v", i+1, err)
		}
		crossing := math.NaN()
		if rv.SLOCrossingRPS != nil {
			crossing = *rv.SLOCrossingRPS
		}
		t.Logf("day %d: peak %.1f req/s, capacity %.1f req/s (true %.0f) limited by %s, SLO crossing %.0f req/s (true %.0f), latency C %.0f (true %.0f), headroom %.3f, confidence %s",
			i+1, rv.PeakRPS, rv.CapacityRPS, trueCapacity, rv.LimitedBy, crossing, latencyC*(1-latencyQueueS/(0.3-latencyBaseS)), rv.Latency.Params["c_rps"], latencyC, rv.HeadroomRatio, rv.Confidence)
		// 5%: the pool gauge is sampled once a scrape with a connection
		// of noise (5% of the pool) and rounded, and the line is
		// extrapolated from the day's traffic to 1800 req/s; the
		// regression's standard error on the crossing is about 2%.
		if math.Abs(rv.CapacityRPS-trueCapacity) > 0.05*trueCapacity {
			t.Errorf("day %d: capacity = %.1f req/s, want %.0f ± 5%%", i+1, rv.CapacityRPS, trueCapacity)
		}
		if rv.Bottleneck != model.KindDBPool || rv.LimitedBy != model.KindDBPool {
			t.Errorf("day %d: bottleneck %q, limited by %q; want db_pool for both", i+1, rv.Bottleneck, rv.LimitedBy)
		}
		// The p99 of the traffic grid lies within the 3% noise of the
		// cycle's peak.
		if math.Abs(rv.PeakRPS-d.Peak) > 0.05*d.Peak {
			t.Errorf("day %d: peak = %.1f req/s, want %.0f ± 5%%", i+1, rv.PeakRPS, d.Peak)
		}
		// The SLO crossing: the p95 from histogram_quantile is bent at
		// bucket boundaries (linear interpolation inside 25ms buckets), so
		// 10%; the queue's divergence point C comes from the mean latency,
		// which has no bucket error, within 2%.
		trueCrossing := latencyC * (1 - latencyQueueS/(0.3-latencyBaseS))
		if math.IsNaN(crossing) || math.Abs(crossing-trueCrossing) > 0.10*trueCrossing {
			t.Errorf("day %d: SLO crossing = %.0f req/s, want %.0f ± 10%%", i+1, crossing, trueCrossing)
		}
		if c := rv.Latency.Params["c_rps"]; math.Abs(c-latencyC) > 0.02*latencyC {
			t.Errorf("day %d: latency diverges at C = %.0f req/s, want %.0f ± 2%%", i+1, c, latencyC)
		}
		if rv.Confidence != model.ConfidenceHigh {
			t.Errorf("day %d: confidence %s (notes %q), want high", i+1, rv.Confidence, rv.Notes)
		}
		reviews = append(reviews, rv)
	}
	if reviews[0].BelowTarget || !reviews[1].BelowTarget {
		t.Fatalf("below target: day 1 %v (headroom %.3f), day 2 %v (headroom %.3f); want false, true",
			reviews[0].BelowTarget, reviews[0].HeadroomRatio, reviews[1].BelowTarget, reviews[1].HeadroomRatio)
	}
	checkHeadroomAlert(t, promtool, reviews)

	end := days[0].Start.Add(24 * time.Hour)
	t.Run("explicit queries are run as written and only the watched kinds are read", func(t *testing.T) {
		s := spec
		s.TrafficQuery = fmt.Sprintf(`sum(rate(http_server_request_duration_seconds_count{job=%q}[5m]))`, job)
		s.Resources = []string{model.KindDBPool}
		obs, err := ObserveProduction(ctx, src, s, end)
		if err != nil {
			t.Fatal(err)
		}
		if obs.TrafficQuery != s.TrafficQuery || obs.ErrorQuery != "" || len(obs.Missing) != 0 || len(obs.Resources) != 1 {
			t.Errorf("traffic query %q, error query %q, missing %v, %d resources; want the spec's query, no error query, db_pool only",
				obs.TrafficQuery, obs.ErrorQuery, obs.Missing, len(obs.Resources))
		}
		if st := obs.RPS.Stats(); st.Present < 280 || st.Max < 1100 {
			t.Errorf("traffic %+v, want a day of it", st)
		}
	})
	t.Run("a selector without an HTTP server histogram names what was looked for", func(t *testing.T) {
		s := spec
		s.Selector = `{job="no-such-job"}`
		_, err := ObserveProduction(ctx, src, s, end)
		if !errors.Is(err, ErrNoLoadMetrics) || !strings.Contains(err.Error(), "http_server_request_duration_seconds") || !strings.Contains(err.Error(), "no-such-job") {
			t.Errorf("err = %v; want ErrNoLoadMetrics naming the selector and the families", err)
		}
	})
	t.Run("a window without traffic is ErrNoTraffic", func(t *testing.T) {
		s := spec
		s.TrafficQuery = fmt.Sprintf(`sum(rate(http_server_request_duration_seconds_count{job=%q}[5m]))`, job)
		s.LatencyQuery = "vector(0.1)"
		_, err := ObserveProduction(ctx, src, s, end.Add(-72*time.Hour))
		if !errors.Is(err, ErrNoTraffic) || !strings.Contains(err.Error(), base) {
			t.Errorf("err = %v; want ErrNoTraffic naming %s", err, base)
		}
	})
	t.Run("a watched kind the catalog lacks is named", func(t *testing.T) {
		s := spec
		s.Resources = []string{"kafka_lag"}
		_, err := ObserveProduction(ctx, src, s, end)
		if err == nil || !strings.Contains(err.Error(), `resources[0]: no resource kind "kafka_lag"`) {
			t.Errorf("err = %v; want the unknown kind named", err)
		}
	})
	t.Run("bad PromQL names the field", func(t *testing.T) {
		s := spec
		s.LatencyQuery = "histogram_quantile(0.95,"
		_, err := ObserveProduction(ctx, src, s, end)
		if err == nil || !strings.Contains(err.Error(), "latency_query") {
			t.Errorf("err = %v; want latency_query named", err)
		}
	})
	t.Run("an unreachable Prometheus is named with the query", func(t *testing.T) {
		down, err := NewPrometheus(PrometheusConfig{URL: "http://" + freeLoopbackAddr(t), Retries: -1, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		s := spec
		s.TrafficQuery, s.LatencyQuery = "sum(up)", "vector(0.1)"
		_, err = ObserveProduction(ctx, down, s, end)
		if err == nil || !strings.Contains(err.Error(), down.URL()) || !strings.Contains(err.Error(), "sum(up)") {
			t.Errorf("err = %v; want the URL and the query named", err)
		}
	})
}

// checkProductionObservations checks the series read back against the
// recorded truth.
func checkProductionObservations(t *testing.T, day int, d productionDay, obs model.ProductionObservations) {
	t.Helper()
	if len(obs.Times) != 289 || len(obs.RPS) != 289 || len(obs.LatencyS) != 289 {
		t.Fatalf("day %d: %d times, %d rps, %d latency points; want 289 each (24h at 5m, both ends)", day, len(obs.Times), len(obs.RPS), len(obs.LatencyS))
	}
	if !strings.Contains(obs.TrafficQuery, "http_server_request_duration_seconds_count") || !strings.Contains(obs.LatencyQuery, "histogram_quantile(0.95") {
		t.Errorf("day %d: queries %q, %q; want the catalog defaults over the HTTP server histogram", day, obs.TrafficQuery, obs.LatencyQuery)
	}
	// Traffic: each grid point is the rate over the 5 minutes before it,
	// within the 3% per-scrape noise (averaged over 4 intervals) and the
	// cycle's change over 5 minutes.
	bad := 0
	for i, ts := range obs.Times {
		want := (d.rps(ts) + d.rps(ts.Add(-5*time.Minute))) / 2
		if math.IsNaN(obs.RPS[i]) || math.Abs(obs.RPS[i]-want) > 0.06*want {
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("day %d: %d of 289 traffic points are more than 6%% off the recorded cycle", day, bad)
	}
	// The error ratio is the recorded 0.1%.
	if st := obs.ErrorRate.Stats(); math.Abs(st.Avg-errorRatio) > 0.0002 {
		t.Errorf("day %d: mean error ratio %g, want %g", day, st.Avg, errorRatio)
	}
	var pool *model.ProductionResource
	for i := range obs.Resources {
		if obs.Resources[i].Kind == model.KindDBPool {
			pool = &obs.Resources[i]
		}
	}
	if pool == nil || pool.Family != "pgxpool" || pool.Limit != poolMax {
		t.Fatalf("day %d: db_pool = %+v; want pgxpool with a limit of %g", day, pool, poolMax)
	}
	if st := pool.Utilization.Stats(); st.Present < 280 || st.Max > 1 {
		t.Errorf("day %d: pool utilization %+v; want ~289 points in [0, 1]", day, st)
	}
}

// checkHeadroomAlert writes a promtool rule test from the reviews' gauges
// (each day's values held for 30 minutes, as headroom serve would publish
// them, with the job and instance labels a scrape adds) against
// deploy/prometheus/rules/headroom.rules.yml, and runs it: HeadroomBelowTarget
// must stay silent on day 1 and fire after 15 minutes on day 2.
func checkHeadroomAlert(t *testing.T, promtool string, reviews []model.Review) {
	t.Helper()
	root := testenv.Root()
	rulesPath := filepath.Join(root, "deploy", "prometheus", "rules", "headroom.rules.yml")
	runbook := testenv.AlertAnnotation(t, rulesPath, "HeadroomBelowTarget", "runbook")
	// humanizePercentage in Prometheus's templates is %.4g of v × 100.
	pct := func(v float64) string { return fmt.Sprintf("%.4g%%", v*100) }
	type sample struct {
		Labels string `yaml:"labels,omitempty"`
		Value  string `yaml:"value,omitempty"`
	}
	type expAlert struct {
		ExpLabels      map[string]string `yaml:"exp_labels"`
		ExpAnnotations map[string]string `yaml:"exp_annotations"`
	}
	type alertTest struct {
		EvalTime  string     `yaml:"eval_time"`
		Alertname string     `yaml:"alertname"`
		ExpAlerts []expAlert `yaml:"exp_alerts"`
	}
	type series struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	}
	type group struct {
		Name        string      `yaml:"name"`
		Interval    string      `yaml:"interval"`
		InputSeries []series    `yaml:"input_series"`
		Alerts      []alertTest `yaml:"alert_rule_test"`
	}
	var groups []group
	for i, rv := range reviews {
		g := group{Name: fmt.Sprintf("day %d review", i+1), Interval: "1m"}
		var ratio float64
		for _, gv := range rv.GaugeValues() {
			var ls []string
			for _, k := range []string{"instance", "job", "resource", "service"} {
				v, ok := gv.Labels[k]
				switch k {
				case "instance":
					v, ok = "headroom:8090", true
				case "job":
					v, ok = "headroom", true
				}
				if ok {
					ls = append(ls, fmt.Sprintf("%s=%q", k, v))
				}
			}
			g.InputSeries = append(g.InputSeries, series{
				Series: gv.Name + "{" + strings.Join(ls, ",") + "}",
				Values: strconv.FormatFloat(gv.Value, 'g', -1, 64) + "+0x30",
			})
			if gv.Name == model.GaugeHeadroomRatio {
				ratio = gv.Value
			}
		}
		g.Alerts = append(g.Alerts, alertTest{EvalTime: "14m", Alertname: "HeadroomBelowTarget", ExpAlerts: []expAlert{}})
		at := alertTest{EvalTime: "20m", Alertname: "HeadroomBelowTarget", ExpAlerts: []expAlert{}}
		if rv.BelowTarget {
			at.ExpAlerts = append(at.ExpAlerts, expAlert{
				ExpLabels: map[string]string{"severity": "warning", "job": "headroom", "instance": "headroom:8090", "service": rv.Service},
				ExpAnnotations: map[string]string{
					"summary":     fmt.Sprintf("%s has %s headroom, below its target of %s", rv.Service, pct(ratio), pct(rv.TargetHeadroomRatio)),
					"description": fmt.Sprintf("The estimated capacity of %s leaves %s over its observed peak traffic (headroom_headroom_ratio = capacity / peak - 1), less than the target of %s, for 15m. A negative value means the peak already exceeds the capacity.", rv.Service, pct(ratio), pct(rv.TargetHeadroomRatio)),
					"runbook":     runbook,
				},
			})
		}
		g.Alerts = append(g.Alerts, at)
		groups = append(groups, g)
	}
	doc := map[string]any{"rule_files": []string{rulesPath}, "evaluation_interval": "1m", "tests": groups}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	testFile := filepath.Join(t.TempDir(), "review.rules.test.yml")
	if err := os.WriteFile(testFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "test", "rules", testFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules %s: %v\n%s\n--- test file ---\n%s", testFile, err, out, b)
	}
	// The test must be able to fail: the same file with day 1's
	// expectations swapped for day 2's is rejected.
	swapped := strings.Replace(string(b), "day 1 review", "day 1 review (swapped)", 1)
	var d map[string]any
	if err := yaml.Unmarshal([]byte(swapped), &d); err != nil {
		t.Fatal(err)
	}
	tests := d["tests"].([]any)
	t1, t2 := tests[0].(map[string]any), tests[1].(map[string]any)
	t1["alert_rule_test"], t2["alert_rule_test"] = t2["alert_rule_test"], t1["alert_rule_test"]
	b2, _ := yaml.Marshal(d)
	if err := os.WriteFile(testFile, b2, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "test", "rules", testFile).CombinedOutput(); err == nil {
		t.Errorf("promtool accepted swapped expectations:\n%s", out)
	} else {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Errorf("promtool: %v", err)
		}
	}
}
