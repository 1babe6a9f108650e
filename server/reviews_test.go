package server

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
)

// fakeReviews is an injected review function: capacity grows by 10 RPS
// with each review, over a peak of 80 RPS.
type fakeReviews struct{ n atomic.Int64 }

func (f *fakeReviews) review(ctx context.Context, spec model.ReviewSpec, end time.Time) (model.Review, error) {
	if spec.Service == "failing" {
		return model.Review{}, errors.New("no traffic series matched")
	}
	n := f.n.Add(1)
	capacity := 100 + 10*float64(n)
	return model.Review{
		Service: spec.Service, At: end, PeakRPS: 80, CapacityRPS: capacity, HeadroomRatio: capacity/80 - 1,
		TargetHeadroomRatio: spec.TargetHeadroom, BelowTarget: capacity/80-1 < spec.TargetHeadroom,
		Bottleneck: "db_pool", LimitedBy: "db_pool", Confidence: "high", Points: 100,
	}, nil
}

func reviewSpec(schedule string) map[string]any {
	return map[string]any{"schedule": schedule, "selector": `{job="checkout"}`, "lookback": "1h", "step": "1m", "slo": map[string]any{"p95_ms": 300}}
}

// metricValue reads one sample of /metrics, or -1 when absent.
func metricValue(t *testing.T, ts *testServer, series string) float64 {
	t.Helper()
	code, body := ts.do(t, "GET", "/metrics", "", nil)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)`)
	m := re.FindStringSubmatch(string(body))
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReviews: specs are validated (a bad cron names "schedule"), run on
// their schedule and on request, stored with a capacity trend, and
// published as the service gauges, which survive a restart.
func TestReviews(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		fake := &fakeReviews{}
		dir := t.TempDir()
		mut := func(c *Config) { c.DataDir, c.ReviewFunc = dir, fake.review }
		ts := newTestServer(t, dbURL, mut)

		ts.wantError(t, "PUT", "/api/v1/reviews/checkout", adminToken, reviewSpec("every day at 6"), 422, "schedule", "every day at 6")
		ts.wantError(t, "PUT", "/api/v1/reviews/checkout", adminToken, reviewSpec("61 * * * *"), 422, "schedule")
		ts.wantError(t, "PUT", "/api/v1/reviews/checkout", adminToken, map[string]any{"slo": map[string]any{"p95_ms": 300}}, 422, "selector")
		ts.wantError(t, "PUT", "/api/v1/reviews/checkout", adminToken, map[string]any{"selector": `{job="x"}`, "slo": map[string]any{"p95_ms": -1}}, 422, "slo.p95_ms")
		ts.wantError(t, "PUT", "/api/v1/reviews/bad%20name", adminToken, reviewSpec(""), 422, "service")
		// Stated limits and selectors are checked when given: a kind the
		// catalog lacks is named with the known ones, a limit must be > 0.
		ts.wantError(t, "PUT", "/api/v1/reviews/checkout", adminToken, map[string]any{"selector": `{job="x"}`, "limit_for": map[string]any{"cpuu": 4}}, 422, "limit for cpuu", "known kinds")
		ts.wantError(t, "PUT", "/api/v1/reviews/checkout", adminToken, map[string]any{"selector": `{job="x"}`, "limit_for": map[string]any{"cpu": 0}}, 422, "limit_for.cpu")
		ts.wantError(t, "PUT", "/api/v1/reviews/checkout", adminToken, map[string]any{"selector": `{job="x"}`, "selector_for": map[string]any{"db_pool": "job=x"}}, 422, "selector_for.db_pool")
		ts.wantError(t, "PUT", "/api/v1/reviews/checkout", adminToken, `{"schedul": "@daily"}`, 400, "schedul")
		ts.wantError(t, "GET", "/api/v1/reviews/checkout", roToken, nil, 404, "checkout")

		var d ReviewDetail
		ts.mustDo(t, "PUT", "/api/v1/reviews/checkout", adminToken, reviewSpec("@every 1s"), 200, &d)
		if d.Spec.Service != "checkout" || d.Spec.TargetHeadroom != model.DefaultTargetHeadroomRatio || d.NextAt == nil || len(d.Trend) != 0 || d.Last != nil {
			t.Fatalf("stored spec = %+v", d)
		}
		// The schedule runs it: wait for two scheduled reviews.
		deadline := time.Now().Add(pollFor)
		for {
			ts.mustDo(t, "GET", "/api/v1/reviews/checkout", roToken, nil, 200, &d)
			if len(d.Trend) >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("scheduled reviews did not run: trend %+v", d.Trend)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// Stop the schedule so the numbers below are stable.
		ts.mustDo(t, "PUT", "/api/v1/reviews/checkout", adminToken, reviewSpec(""), 200, &d)
		if d.NextAt != nil {
			t.Errorf("an unscheduled review has a next time %v", d.NextAt)
		}
		var rec model.ReviewRecord
		ts.mustDo(t, "POST", "/api/v1/reviews/checkout/run", adminToken, nil, 201, &rec)
		if rec.Error != "" || rec.Review.CapacityRPS < 120 || rec.ID == "" {
			t.Fatalf("review run now = %+v", rec)
		}
		ts.mustDo(t, "GET", "/api/v1/reviews/checkout", roToken, nil, 200, &d)
		if d.Last == nil || d.Last.ID != rec.ID || d.Trend[len(d.Trend)-1].CapacityRPS != rec.Review.CapacityRPS {
			t.Fatalf("last = %+v, trend %+v, want the review just run", d.Last, d.Trend)
		}
		for i := 1; i < len(d.Trend); i++ {
			if d.Trend[i].At.Before(d.Trend[i-1].At) || d.Trend[i].CapacityRPS <= d.Trend[i-1].CapacityRPS {
				t.Errorf("trend is not in time order with growing capacity: %+v", d.Trend)
			}
		}
		want := rec.Review.CapacityRPS
		if got := metricValue(t, ts, `headroom_capacity_rps{service="checkout"}`); got != want {
			t.Errorf("headroom_capacity_rps = %v, want %v", got, want)
		}
		if got := metricValue(t, ts, `headroom_headroom_ratio{service="checkout"}`); fmt.Sprintf("%.6f", got) != fmt.Sprintf("%.6f", want/80-1) {
			t.Errorf("headroom_headroom_ratio = %v, want %v", got, want/80-1)
		}
		for _, series := range []string{`headroom_peak_rps{service="checkout"}`, `headroom_target_headroom_ratio{service="checkout"}`, `headroom_bottleneck_info{resource="db_pool",service="checkout"}`, `headroom_last_review_timestamp_seconds{service="checkout"}`} {
			if metricValue(t, ts, series) <= 0 {
				t.Errorf("/metrics lacks %s", series)
			}
		}

		// A failing review is stored with its error and counted; it sets no
		// gauges.
		ts.mustDo(t, "PUT", "/api/v1/reviews/failing", adminToken, reviewSpec(""), 200, nil)
		ts.mustDo(t, "POST", "/api/v1/reviews/failing/run", adminToken, nil, 201, &rec)
		if !strings.Contains(rec.Error, "no traffic series") {
			t.Errorf("failed review record = %+v", rec)
		}
		if metricValue(t, ts, `headroom_server_review_failures_total{service="failing"}`) != 1 || metricValue(t, ts, `headroom_capacity_rps{service="failing"}`) != -1 {
			t.Error("a failed review is not counted, or set gauges")
		}
		var list struct{ Reviews []ReviewSummary }
		ts.mustDo(t, "GET", "/api/v1/reviews", roToken, nil, 200, &list)
		if len(list.Reviews) != 2 || list.Reviews[0].Service != "checkout" || list.Reviews[1].Last == nil || list.Reviews[1].Last.Error == "" {
			t.Errorf("review list = %+v", list.Reviews)
		}
		ts.mustDo(t, "DELETE", "/api/v1/reviews/failing", adminToken, nil, 204, nil)
		ts.wantError(t, "DELETE", "/api/v1/reviews/failing", adminToken, nil, 404, "failing")
		ts.wantError(t, "POST", "/api/v1/reviews/failing/run", adminToken, nil, 404, "failing")

		// The gauges come back after a restart, from the stored reviews.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		ts2 := newTestServer(t, dbURL, mut)
		if got := metricValue(t, ts2, `headroom_capacity_rps{service="checkout"}`); got != want {
			t.Errorf("after a restart headroom_capacity_rps = %v, want %v", got, want)
		}
	})
}

// TestReviewAgainstPrometheus runs one review with the real review
// functions against the test Prometheus, reviewing Prometheus's own HTTP
// API: the result is stored whichever way the fit goes.
func TestReviewAgainstPrometheus(t *testing.T) {
	prom := testenv.Require(t, testenv.PrometheusURL)
	ts := newTestServer(t, "", func(c *Config) { c.Prometheus.URL = prom })
	spec := map[string]any{
		"lookback":      "10m",
		"step":          "30s",
		"traffic_query": `sum(rate(prometheus_http_requests_total[1m]))`,
		"latency_query": `histogram_quantile(0.95, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[1m])))`,
		"slo":           map[string]any{"p95_ms": 100},
	}
	ts.mustDo(t, "PUT", "/api/v1/reviews/prometheus", adminToken, spec, 200, nil)
	var rec model.ReviewRecord
	ts.mustDo(t, "POST", "/api/v1/reviews/prometheus/run", adminToken, nil, 201, &rec)
	if strings.Contains(rec.Error, "no Prometheus configured") {
		t.Fatalf("the review did not use the configured Prometheus: %s", rec.Error)
	}
	if rec.Error == "" && (rec.Review.PeakRPS <= 0 || rec.Review.Points == 0) {
		t.Errorf("review of Prometheus's own traffic: %+v", rec.Review)
	}
	t.Logf("review: error %q, peak %.3g RPS, capacity %.3g RPS, confidence %s", rec.Error, rec.Review.PeakRPS, rec.Review.CapacityRPS, rec.Review.Confidence)

	// Without a Prometheus the default review explains what is missing.
	ts2 := newTestServer(t, "", nil)
	ts2.mustDo(t, "PUT", "/api/v1/reviews/prometheus", adminToken, spec, 200, nil)
	ts2.mustDo(t, "POST", "/api/v1/reviews/prometheus/run", adminToken, nil, 201, &rec)
	if !strings.Contains(rec.Error, "no Prometheus configured") {
		t.Errorf("review without Prometheus: error %q", rec.Error)
	}
}

// TestReviewLockAcrossReplicas: on a shared PostgreSQL only one replica at
// a time may run a service's scheduled review.
func TestReviewLockAcrossReplicas(t *testing.T) {
	dbURL := freshPostgres(t)
	ctx := context.Background()
	a, err := openStore(ctx, dbURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := openStore(ctx, dbURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ok, release, err := a.tryServiceLock(ctx, "checkout")
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if ok, _, err := b.tryServiceLock(ctx, "checkout"); err != nil || ok {
		t.Fatalf("a second replica got the lock held by the first: %v %v", ok, err)
	}
	ok2, release2, err := b.tryServiceLock(ctx, "payments")
	if err != nil || !ok2 {
		t.Fatalf("another service's lock: %v %v", ok2, err)
	}
	release2()
	release()
	ok, release, err = b.tryServiceLock(ctx, "checkout")
	if err != nil || !ok {
		t.Fatalf("the lock after release: %v %v", ok, err)
	}
	release()
}
