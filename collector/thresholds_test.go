package collector

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
)

// writeThresholdRun writes two shards of run "agg" into the store over
// 10 s, one sample a second. Shard 0/2 completes 100 requests of 20 ms
// (status 201, every check passing); shard 1/2 completes 100 of 500 ms,
// half of them with status 500 and a failing check, and drops 4
// iterations.
func writeThresholdRun(t *testing.T, s *Store, start time.Time) {
	t.Helper()
	for i, sh := range []string{"0/2", "1/2"} {
		reg := prometheus.NewRegistry()
		r := prometheus.WrapRegistererWith(prometheus.Labels{"run_id": "agg", "scenario": "thresholds", "shard": sh}, reg)
		req := prometheus.NewCounterVec(prometheus.CounterOpts{Name: model.MetricRequests, Help: "Requests."}, []string{"stage", "endpoint", "method", "status"})
		dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: model.MetricRequestDuration, Help: "Durations.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}}, []string{"stage", "endpoint", "method"})
		checks := prometheus.NewCounterVec(prometheus.CounterOpts{Name: model.MetricChecks, Help: "Checks."}, []string{"check", "result"})
		dropped := prometheus.NewCounterVec(prometheus.CounterOpts{Name: model.MetricDroppedIterations, Help: "Dropped."}, []string{"stage"})
		r.MustRegister(req, dur, checks, dropped)
		dropped.WithLabelValues("hold")
		for k := 0; k <= 10; k++ {
			if k > 0 {
				for j := 0; j < 10; j++ {
					status, secs, check := "201", 0.02, "pass"
					if i == 1 {
						secs = 0.5
						if j%2 == 1 {
							status, check = "500", "fail"
						}
					}
					req.WithLabelValues("hold", "POST /orders", "POST", status).Inc()
					dur.WithLabelValues("hold", "POST /orders", "POST").Observe(secs)
					checks.WithLabelValues("order created", check).Inc()
				}
				if i == 1 && k <= 4 {
					dropped.WithLabelValues("hold").Inc()
				}
			}
			fams, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Write(context.Background(), start.Add(time.Duration(k)*time.Second), fams); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestThresholdsAreEvaluatedOverEveryShard(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	start := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	writeThresholdRun(t, s, start)
	th, err := NewThresholds(ThresholdsConfig{Source: s})
	if err != nil {
		t.Fatal(err)
	}
	at := start.Add(10 * time.Second)
	for _, tc := range []struct {
		name, key, expr string
		want            float64
		samples         int64
	}{
		{"the error rate is the shards' failed requests over all requests", "http_req_failed", "rate<0.1", 0.25, 200},
		{"errors is the same as http_req_failed", "errors", "rate<0.1", 0.25, 200},
		{"a status filter counts only that status", "http_reqs{status:500}", "count<10", 50, 50},
		{"the request rate is per second since the run's start", "http_reqs", "rate>5", 20, 200},
		{"the mean duration weighs every request of every shard", "http_req_duration", "avg<300", 260, 200},
		// Rank 190 of 200 lies in the bucket (0.25, 0.5], 90 of its 100
		// requests in: 0.25 + 0.25 × 0.9 = 0.475 s.
		{"p(95) is interpolated in the summed buckets", "http_req_duration", "p(95)<300", 475, 200},
		{"med is p(50)", "http_req_duration", "med<300", 25, 200},
		{"tags filter the series, methods without regard to case", "http_req_duration{endpoint:POST /orders,method:post,stage:hold}", "p(95)<300", 475, 200},
		{"a tag no series has gives no samples", "http_req_duration{stage:warm-up}", "p(95)<300", 0, 0},
		{"checks are the passes over all results", "checks{check:order created}", "rate>0.9", 0.75, 200},
		{"dropped iterations are summed over shards", "dropped_iterations", "count<1", 4, 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := model.ParseThresholdKey(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			e, err := model.ParseThreshold(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, n, err := th.AggregateThreshold(context.Background(), "agg", start, at, k, e)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-9*math.Max(1, tc.want) || n != tc.samples {
				t.Errorf("%s %s = %g over %d samples, want %g over %d", tc.key, tc.expr, got, n, tc.want, tc.samples)
			}
		})
	}

	t.Run("another run has no samples", func(t *testing.T) {
		k, _ := model.ParseThresholdKey("http_req_failed")
		e, _ := model.ParseThreshold("rate<0.1")
		if v, n, err := th.AggregateThreshold(context.Background(), "other", start, at, k, e); err != nil || n != 0 || v != 0 {
			t.Errorf("= %g, %d, %v; want 0, 0, nil", v, n, err)
		}
	})

	for _, tc := range []struct{ name, key, expr string }{
		{"a histogram keeps no maximum", "http_req_duration", "max<1000"},
		{"a histogram keeps no minimum", "http_req_duration", "min<1000"},
		{"iteration durations are not exported", "iteration_duration", "p(95)<1000"},
		{"no series carries the flow", "http_reqs{flow:order}", "count>0"},
		{"durations carry no status", "http_req_duration{status:200}", "p(95)<1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := model.ParseThresholdKey(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			e, err := model.ParseThreshold(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := th.AggregateThreshold(context.Background(), "agg", start, at, k, e); !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("err = %v, want errors.ErrUnsupported", err)
			}
		})
	}

	if _, err := NewThresholds(ThresholdsConfig{}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("NewThresholds without a source: err = %v, want ErrBadConfig", err)
	}
}

// shardThresholdScenario is 2 VUs for 10 s on GET / with an error-rate
// threshold that aborts, and a maximum duration that a histogram cannot
// answer.
func shardThresholdScenario(target string) *model.Scenario {
	return &model.Scenario{
		Name:   "aggregate",
		Target: target,
		Flows: []model.Flow{{Name: "get", Steps: []model.Step{{Method: "GET", Path: "/",
			Think: &model.Think{Duration: model.Duration(10 * time.Millisecond)}}}}},
		Executors: []model.Executor{{Type: model.ExecutorConstantVUs, VUs: 2, Duration: model.Duration(10 * time.Second)}},
		Thresholds: map[string][]model.Threshold{
			"http_req_failed":   {{Expr: "rate<0.1", AbortOnFail: true, DelayAbortEval: model.Duration(time.Second)}},
			"http_req_duration": {{Expr: "max<60000"}},
		},
	}
}

func thresholdResult(t *testing.T, run *model.Run, metric string) model.ThresholdResult {
	t.Helper()
	for _, th := range run.Thresholds {
		if th.Metric == metric {
			return th
		}
	}
	t.Fatalf("no %s threshold in %+v", metric, run.Thresholds)
	return model.ThresholdResult{}
}

// Two runners of one run write into the store: shard 0/2 to a server that
// never fails, shard 1/2 to one that always does. Judged over both shards
// the error rate is about 0.5, so shard 0 aborts although its own requests
// all pass, and not before the threshold's delayAbortEval.
func TestShardedRunnersAbortOnTheAggregateInTheStore(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	th, err := NewThresholds(ThresholdsConfig{Source: s})
	if err != nil {
		t.Fatal(err)
	}
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(good.Close)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	t.Cleanup(bad.Close)

	runs := make([]*model.Run, 2)
	errs := make(chan error, 2)
	for i, target := range []string{good.URL, bad.URL} {
		r, err := loadgen.NewRunner(loadgen.Config{
			Scenario: shardThresholdScenario(target), RunID: "aggregate-abort", Shard: loadgen.Shard{Index: i, Count: 2},
			Sinks: []loadgen.Sink{s}, FlushInterval: 100 * time.Millisecond,
			Aggregate: th, AggregateInterval: 100 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			run, err := r.Run(ctx)
			runs[i] = run
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, run := range runs {
		failed := thresholdResult(t, run, "http_req_failed")
		d := run.End.Sub(run.Start)
		t.Logf("shard %s: %s after %s; own error rate %.3f of %d requests; judged %.3f", run.Shard, run.Status, d.Round(10*time.Millisecond), run.Total.ErrorRate, run.Total.Requests, failed.Observed)
		if run.Status != model.RunAborted || !failed.Aborted {
			t.Errorf("shard %s: status %s, threshold %+v; want aborted by http_req_failed", run.Shard, run.Status, failed)
		}
		if d < time.Second || d > 5*time.Second {
			t.Errorf("shard %s ran %s; want an abort after the 1s delayAbortEval and soon after it", run.Shard, d)
		}
		if failed.Observed < 0.3 || failed.Observed > 0.7 {
			t.Errorf("shard %s judged an error rate of %.3f, want the aggregate, about 0.5", run.Shard, failed.Observed)
		}
		// The maximum is judged on the shard's own requests.
		if mx := thresholdResult(t, run, "http_req_duration"); !mx.Passed || mx.Observed <= 0 {
			t.Errorf("shard %s: max duration %+v, want its own maximum, passed", run.Shard, mx)
		}
	}
	if runs[0].Total.ErrorRate != 0 {
		t.Errorf("shard 0/2's own error rate is %.3f; the test needs it to pass alone", runs[0].Total.ErrorRate)
	}
}

// When the backend does not answer, a shard judges its thresholds on its
// own requests, and says so.
func TestAShardJudgesItsOwnRequestsWhenTheBackendIsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	src, err := NewPrometheus(PrometheusConfig{URL: down, Retries: -1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	th, err := NewThresholds(ThresholdsConfig{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(good.Close)
	sc := shardThresholdScenario(good.URL)
	sc.Executors[0].Duration = model.Duration(1500 * time.Millisecond)
	sc.Thresholds["http_req_failed"][0].DelayAbortEval = model.Duration(200 * time.Millisecond)
	var logs strings.Builder
	r, err := loadgen.NewRunner(loadgen.Config{
		Scenario: sc, Shard: loadgen.Shard{Index: 0, Count: 2},
		Aggregate: th, AggregateInterval: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	failed := thresholdResult(t, run, "http_req_failed")
	if run.Status != model.RunCompleted || !failed.Passed || failed.Observed != 0 {
		t.Errorf("status %s, threshold %+v; want completed, passed on its own error rate 0", run.Status, failed)
	}
	if n := strings.Count(logs.String(), "could not evaluate thresholds over every shard"); n != 1 {
		t.Errorf("the warning was logged %d times, want once:\n%s", n, logs.String())
	}
}
