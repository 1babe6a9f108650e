package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/headroom-sh/headroom/model"
)

func TestRampingVUsFollowTheStages(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
	})
	sc := getScenario(srv.URL, "/")
	sc.Flows[0].Steps[0].Think = &model.Think{Duration: dur(50 * time.Millisecond)}
	sc.Executors = []model.Executor{{
		Type:             model.ExecutorRampingVUs,
		GracefulRampDown: dur(time.Second),
		Stages: []model.Stage{
			{Name: "up", Duration: dur(2 * time.Second), Target: 10},
			{Name: "hold", Duration: dur(2 * time.Second), Target: 10},
			{Name: "down", Duration: dur(2 * time.Second), Target: 0},
		},
	}}
	r, err := NewRunner(Config{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	// Sample the live VU count while the run goes on, then compare each
	// sample with the planned count at the time it was taken.
	type sample struct {
		at  time.Duration
		vus int
	}
	var samples []sample
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for range tk.C {
			ls := r.Live()
			if ls.Running {
				samples = append(samples, sample{ls.Elapsed, ls.VUs})
			}
			if r.done.Load() {
				return
			}
		}
	}()
	run, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	<-done
	planned := func(at time.Duration) float64 {
		s := at.Seconds()
		switch {
		case s < 2:
			return 5 * s
		case s < 4:
			return 10
		case s < 6:
			return 10 - 5*(s-4)
		}
		return 0
	}
	// A sample may trail the plan a little: removed VUs count until their
	// iteration ends, and the sampler itself may run late on a busy machine.
	bad := 0
	for _, s := range samples {
		ok := false
		for lag := time.Duration(0); lag <= 300*time.Millisecond; lag += 50 * time.Millisecond {
			ok = ok || within(float64(s.vus), planned(s.at-lag), 2)
		}
		if !ok {
			bad++
			t.Logf("at %v: %d VUs, planned %.1f", s.at, s.vus, planned(s.at))
		}
	}
	if len(samples) < 20 || bad > len(samples)/10 {
		t.Errorf("%d of %d samples are more than 2 VUs off the plan", bad, len(samples))
	}
	if got := stageByName(t, run, "hold").VUs; got != 10 {
		t.Errorf("the hold stage peaked at %d VUs, want 10", got)
	}
	if run.Status != model.RunCompleted {
		t.Errorf("status %q, want completed", run.Status)
	}
	// Stage boundaries are contiguous and in order.
	for i := 1; i < len(run.Stages); i++ {
		if !run.Stages[i].Start.Equal(run.Stages[i-1].End) {
			t.Errorf("stage %s starts at %v, the previous ended at %v", run.Stages[i].Name, run.Stages[i].Start, run.Stages[i-1].End)
		}
	}
	if got, want := run.Total.Requests, srv.hits.Load(); got != want {
		t.Errorf("the run counted %d requests, the server saw %d", got, want)
	}
}

func TestConstantArrivalRateStartsTheScheduledIterations(t *testing.T) {
	srv := newCountingServer(t, nil)
	// maxVUs is ample so that no iteration is dropped even on a busy machine.
	sc := getScenario(srv.URL, "/items/{{randomInt(1, 100)}}", constantRate(50, 4*time.Second, 5, 100))
	_, run := mustRun(t, Config{Scenario: sc})
	if got := srv.hits.Load(); got < 198 || got > 202 {
		t.Errorf("50 it/s for 4s made %d requests, want 200 ± 2", got)
	}
	if run.Total.Iterations != srv.hits.Load() {
		t.Errorf("the run counted %d iterations, the server saw %d requests", run.Total.Iterations, srv.hits.Load())
	}
	if run.DroppedIterations != 0 {
		t.Errorf("%d iterations dropped against a fast server", run.DroppedIterations)
	}
	if run.SchedulingLag == nil || run.SchedulingLag.Iterations != run.Total.Iterations {
		t.Errorf("scheduling lag %+v, want one measurement per iteration (%d)", run.SchedulingLag, run.Total.Iterations)
	}
	if len(run.Endpoints) != 1 || run.Endpoints[0].Endpoint != "GET /items/{randomInt}" {
		t.Errorf("endpoints %+v, want one named GET /items/{randomInt}", run.Endpoints)
	}
	st := run.Stages[0]
	if st.TargetRate != 50 {
		t.Errorf("stage target rate %v, want 50", st.TargetRate)
	}
}

func TestIterationsThatFindEveryVUBusyAreDropped(t *testing.T) {
	release := make(chan struct{})
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	sc := getScenario(srv.URL, "/", constantRate(20, 2*time.Second, 2, 3))
	sc.Timeout = dur(5 * time.Second)
	r, err := NewRunner(Config{Scenario: sc, GracePeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The server holds every request, so 3 VUs start 3 iterations and the
	// other 37 of 40 are dropped. Interrupt after the schedule to end.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for r.Live().Elapsed < 2100*time.Millisecond {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	run, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if run.DroppedIterations != 37 {
		t.Errorf("dropped %d iterations, want 37 (40 scheduled, 3 VUs)", run.DroppedIterations)
	}
	if got := srv.hits.Load(); got != 3 {
		t.Errorf("the server saw %d requests, want 3", got)
	}
	if got := metricValue(t, r, model.MetricDroppedIterations, map[string]string{"stage": run.Stages[0].Name}); got != 37 {
		t.Errorf("%s = %v, want 37", model.MetricDroppedIterations, got)
	}
}

func TestCapturesFeedLaterSteps(t *testing.T) {
	var (
		mu      sync.Mutex
		orders  = map[string]bool{}
		nextID  atomic.Int64
		unknown atomic.Int64
		badQty  atomic.Int64
	)
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/orders":
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			// A body string that is exactly one template keeps its JSON type.
			if q, ok := body["qty"].(float64); !ok || q < 1 || q > 5 {
				badQty.Add(1)
			}
			id := strconv.FormatInt(nextID.Add(1)+1000, 10)
			mu.Lock()
			orders[id] = true
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"order":{"id":%s,"items":[{"sku":"sku-%s"}]}}`, id, id)
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/orders/"):
			id := strings.TrimPrefix(r.URL.Path, "/orders/")
			mu.Lock()
			ok := orders[id]
			mu.Unlock()
			if !ok || r.URL.Query().Get("sku") != "sku-"+id {
				unknown.Add(1)
				http.Error(w, "unknown order", 404)
				return
			}
			fmt.Fprintf(w, `{"id":%s,"status":"paid"}`, id)
		default:
			http.NotFound(w, r)
		}
	})
	sc := &model.Scenario{
		Name:   "orders",
		Target: srv.URL,
		Flows: []model.Flow{{Name: "buy", Steps: []model.Step{
			{Method: "POST", Path: "/orders", Body: map[string]any{"qty": "{{randomInt(1, 5)}}", "note": "vu {{vu()}}"},
				Capture: map[string]string{"orderId": "$.order.id", "sku": "order.items[0].sku"}},
			{Method: "GET", Path: "/orders/{{orderId}}?sku={{sku}}", Checks: []model.Check{
				{Status: []int{200}},
				{JSONPath: "$.status", Equals: "paid"},
			}},
		}}},
		Executors: []model.Executor{constantVUs(4, 2*time.Second)},
	}
	_, run := mustRun(t, Config{Scenario: sc})
	if unknown.Load() != 0 || badQty.Load() != 0 {
		t.Errorf("%d GETs of unknown orders, %d bodies with a bad qty", unknown.Load(), badQty.Load())
	}
	if run.Total.Requests < 20 || run.Total.Errors != 0 {
		t.Errorf("%d requests, %d errors; want a clean run", run.Total.Requests, run.Total.Errors)
	}
	names := map[string]model.CheckStats{}
	for _, c := range run.Checks {
		names[c.Name] = c
	}
	for _, n := range []string{"GET /orders/{orderId} status 200", "GET /orders/{orderId} $.status == paid", "POST /orders capture orderId"} {
		c, ok := names[n]
		if !ok || c.Fails != 0 || c.Passes == 0 {
			t.Errorf("check %q: %+v (present %v), want passes only; checks: %+v", n, c, ok, run.Checks)
		}
	}
}

func TestAMissingCaptureIsCountedAndTheStepUsingItFails(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"nothing":"here"}`))
	})
	sc := &model.Scenario{
		Name:   "missing",
		Target: srv.URL,
		Flows: []model.Flow{{Name: "f", Steps: []model.Step{
			{Method: "GET", Path: "/login", Capture: map[string]string{"id": "$.id"}},
			{Method: "GET", Path: "/things/{{id}}"},
		}}},
		Executors: []model.Executor{constantRate(20, time.Second, 2, 20)},
	}
	r, run := mustRun(t, Config{Scenario: sc})
	var things model.EndpointStats
	for _, e := range run.Endpoints {
		if e.Endpoint == "GET /things/{id}" {
			things = e
		}
	}
	if things.Requests != 20 || things.Errors != 20 || things.Status["error"] != 20 {
		t.Errorf("GET /things/{id}: %+v, want 20 requests, all errors", things)
	}
	if srv.hits.Load() != 20 {
		t.Errorf("the server saw %d requests, want only the 20 logins", srv.hits.Load())
	}
	if n := r.Errors()["GET /things/{id}: missing variable id"]; n != 20 {
		t.Errorf("errors %v, want 20 × missing variable id", r.Errors())
	}
	if len(run.Checks) != 1 || run.Checks[0].Fails != 20 {
		t.Errorf("checks %+v, want the capture counted as failed 20 times", run.Checks)
	}
}

func TestAuthLogsInOncePerVUAndAgainOn401(t *testing.T) {
	var (
		mu      sync.Mutex
		tokens  = map[string]int{} // token → uses left
		logins  atomic.Int64
		expired atomic.Int64
		ok      atomic.Int64
		tokenN  atomic.Int64
	)
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			logins.Add(1)
			tok := fmt.Sprintf("tok-%d", tokenN.Add(1))
			mu.Lock()
			tokens[tok] = 5
			mu.Unlock()
			fmt.Fprintf(w, `{"access_token":%q}`, tok)
			return
		}
		tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		left, known := tokens[tok]
		if known && left > 0 {
			tokens[tok] = left - 1
		}
		mu.Unlock()
		if !found || !known || left == 0 {
			expired.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ok.Add(1)
	})
	sc := getScenario(srv.URL, "/data", constantVUs(3, 1500*time.Millisecond))
	sc.Flows[0].Steps[0].Think = &model.Think{Duration: dur(10 * time.Millisecond)}
	sc.Auth = &model.Auth{Step: model.Step{Method: "POST", Path: "/login", Capture: map[string]string{"token": "$.access_token"}}}
	_, run := mustRun(t, Config{Scenario: sc})

	// Each token serves 5 requests; the 6th gets 401, which triggers one
	// login and one retry. So logins = 3 first logins + one per 401, and
	// every 401 is followed by a successful retry.
	if expired.Load() == 0 {
		t.Fatalf("no token expired; the test did not exercise refresh (ok %d)", ok.Load())
	}
	if got, want := logins.Load(), 3+expired.Load(); got != want {
		t.Errorf("%d logins, want 3 + %d refreshes", got, expired.Load())
	}
	if got := ok.Load(); got < 5*expired.Load() {
		t.Errorf("%d successful requests for %d refreshes; retries after a refresh should succeed", got, expired.Load())
	}
	var data model.EndpointStats
	for _, e := range run.Endpoints {
		if e.Endpoint == "GET /data" {
			data = e
		}
	}
	if data.Status["401"] != expired.Load() || data.Status["200"] != ok.Load() {
		t.Errorf("GET /data statuses %v, want 401×%d and 200×%d", data.Status, expired.Load(), ok.Load())
	}
}

func TestAnAbortOnFailThresholdStopsTheRun(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
	})
	sc := getScenario(srv.URL, "/", constantRate(50, 30*time.Second, 5, 10))
	sc.Thresholds = map[string][]model.Threshold{
		"http_req_failed":   {{Expr: "rate<0.1", AbortOnFail: true, DelayAbortEval: dur(time.Second)}},
		"http_req_duration": {{Expr: "p(95)<5000"}},
	}
	start := time.Now()
	_, run := mustRun(t, Config{Scenario: sc})
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the aborted run took %v, want a stop soon after the 1s delay", took)
	}
	if run.Status != model.RunAborted {
		t.Errorf("status %q, want aborted", run.Status)
	}
	if run.Passed() {
		t.Errorf("thresholds passed: %+v", run.Thresholds)
	}
	var failed model.ThresholdResult
	for _, th := range run.Thresholds {
		if th.Metric == "http_req_failed" {
			failed = th
		}
	}
	if !failed.Aborted || failed.Passed || failed.Observed != 1 {
		t.Errorf("http_req_failed result %+v, want observed 1, failed, aborted", failed)
	}
	if len(run.Stages) != 1 || run.Stages[0].End.Sub(run.Stages[0].Start) > 10*time.Second {
		t.Errorf("stages %+v, want one stage ended at the abort", run.Stages)
	}
}

// stallServer answers at once, except that, once, 1.5 s after the first
// request, it stalls every request for a second.
func stallServer(t *testing.T) *countingServer {
	var (
		once       sync.Once
		first      time.Time
		stallUntil atomic.Int64
		mu         sync.Mutex
	)
	return newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		mu.Lock()
		if first.IsZero() {
			first = now
		}
		f := first
		mu.Unlock()
		if now.Sub(f) > 1500*time.Millisecond {
			once.Do(func() { stallUntil.Store(now.Add(time.Second).UnixNano()) })
		}
		if until := time.Unix(0, stallUntil.Load()); now.Before(until) {
			time.Sleep(until.Sub(now))
		}
	})
}

func TestOpenModelLatencyIncludesTheTimeIterationsWaitedForAStalledServer(t *testing.T) {
	// Open model: 100 it/s keep arriving during the 1 s stall; each is
	// measured from its scheduled start, so about a quarter of the requests
	// show up to a second of latency.
	open := stallServer(t)
	_, openRun := mustRun(t, Config{Scenario: getScenario(open.URL, "/", constantRate(100, 4*time.Second, 20, 200))})

	// Closed model at about the same throughput: 1 VU with 10 ms think
	// time. During the stall it simply waits, so one request is slow.
	closed := stallServer(t)
	sc := getScenario(closed.URL, "/", constantVUs(1, 4*time.Second))
	sc.Flows[0].Steps[0].Think = &model.Think{Duration: dur(10 * time.Millisecond)}
	_, closedRun := mustRun(t, Config{Scenario: sc})

	o, c := openRun.Total, closedRun.Total
	t.Logf("open: %d requests p99 %.1fms max %.1fms; closed: %d requests p99 %.1fms max %.1fms", o.Requests, o.P99Ms, o.MaxMs, c.Requests, c.P99Ms, c.MaxMs)
	// With more than about 50 requests the single stalled one is above the
	// 99th percentile.
	if c.Requests < 60 {
		t.Fatalf("the closed run made only %d requests; too few to compare percentiles", c.Requests)
	}
	if o.P99Ms < 500 {
		t.Errorf("open-model p99 %.1fms hides the 1 s stall; want ≥ 500ms", o.P99Ms)
	}
	if c.MaxMs < 500 {
		t.Errorf("closed-model max %.1fms; the stall should show in max", c.MaxMs)
	}
	if c.P99Ms >= o.P99Ms/2 {
		t.Errorf("closed-model p99 %.1fms is not well below the open-model p99 %.1fms", c.P99Ms, o.P99Ms)
	}
}

func TestAnInterruptedRunIsCompleteUpToTheInterruption(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
	})
	sc := getScenario(srv.URL, "/", model.Executor{
		Type: model.ExecutorRampingVUs,
		Stages: []model.Stage{
			{Name: "warm", Duration: dur(time.Second), Target: 3},
			{Name: "long", Duration: dur(time.Minute), Target: 3},
			{Name: "never", Duration: dur(time.Minute), Target: 0},
		},
	})
	r, err := NewRunner(Config{Scenario: sc, GracePeriod: 2 * time.Second, SeriesInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			ls := r.Live()
			if ls.Stage == "long" && ls.Requests > 100 && ls.Elapsed > 1500*time.Millisecond {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	run, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the interrupted run took %v", took)
	}
	if run.Status != model.RunInterrupted {
		t.Errorf("status %q, want interrupted", run.Status)
	}
	if len(run.Stages) != 2 || run.Stages[0].Name != "warm" || run.Stages[1].Name != "long" {
		t.Fatalf("stages %+v, want warm and long", run.Stages)
	}
	long := run.Stages[1]
	if d := long.End.Sub(long.Start); d <= 0 || d > 20*time.Second {
		t.Errorf("the interrupted stage lasted %v, want it to end at the interruption", d)
	}
	if run.End.Before(long.End) || long.Requests == 0 || len(run.Series) == 0 {
		t.Errorf("run end %v, stage end %v, %d requests, %d series points", run.End, long.End, long.Requests, len(run.Series))
	}
	if got, want := run.Total.Requests, srv.hits.Load(); got != want {
		t.Errorf("the run counted %d requests, the server saw %d", got, want)
	}
}

func TestATargetThatGoesAwayYieldsCountedErrors(t *testing.T) {
	var srv *countingServer
	var closing sync.Once
	srv = newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if srv.hits.Load() == 50 {
			closing.Do(func() {
				go func() {
					srv.CloseClientConnections()
					srv.Close()
				}()
			})
		}
	})
	sc := getScenario(srv.URL, "/", constantVUs(3, 1500*time.Millisecond))
	sc.Flows[0].Steps[0].Think = &model.Think{Duration: dur(5 * time.Millisecond)}
	_, run := mustRun(t, Config{Scenario: sc})
	if run.Status != model.RunCompleted {
		t.Errorf("status %q", run.Status)
	}
	if run.Total.Status["error"] == 0 || run.Total.Errors < run.Total.Status["error"] {
		t.Errorf("statuses %v, errors %d: want transport errors counted", run.Total.Status, run.Total.Errors)
	}
	if run.Total.Status["200"] < 40 {
		t.Errorf("statuses %v: want the requests before the server went away", run.Total.Status)
	}
}

func TestTheRegistryExposesTheMetricContract(t *testing.T) {
	srv := newCountingServer(t, nil)
	sc := getScenario(srv.URL, "/orders/{{seq()}}", constantRate(40, time.Second, 3, 30))
	sc.Flows[0].Steps[0].Checks = []model.Check{{Status: []int{200}}}
	r, _ := mustRun(t, Config{Scenario: sc, RunID: "run-42", Shard: Shard{Index: 1, Count: 3}})
	fams, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["run_id"] != "run-42" || labels["scenario"] != "test" || labels["shard"] != "1/3" {
				t.Errorf("%s series %v lacks the run_id, scenario or shard label", f.GetName(), labels)
			}
		}
	}
	for _, n := range []string{model.MetricRequests, model.MetricRequestDuration, model.MetricVUs, model.MetricTargetArrivalRate, model.MetricDroppedIterations, model.MetricChecks, model.MetricStageActive} {
		if byName[n] == nil {
			if n == model.MetricDroppedIterations {
				continue // no iteration was dropped, so no series exists yet
			}
			t.Errorf("metric %s is missing", n)
		}
	}
	req := byName[model.MetricRequests].Metric[0]
	want := map[string]string{"stage": "constant-arrival-rate", "endpoint": "GET /orders/{seq}", "method": "GET", "status": "200"}
	for _, l := range req.Label {
		if w, ok := want[l.GetName()]; ok && w != l.GetValue() {
			t.Errorf("%s label %s=%q, want %q", model.MetricRequests, l.GetName(), l.GetValue(), w)
		}
	}
	// Shard 1 of 3 runs every third of the 40 iterations.
	if got := req.GetCounter().GetValue(); got < 12 || got > 14 {
		t.Errorf("shard 1/3 made %v requests, want about 13", got)
	}
	h := byName[model.MetricRequestDuration].Metric[0].GetHistogram()
	if len(h.GetBucket()) < 20 {
		t.Errorf("the duration histogram has %d classic buckets", len(h.GetBucket()))
	}
	if h.Schema == nil || len(h.GetPositiveSpan()) == 0 {
		t.Errorf("the duration histogram has no native buckets (schema %v, spans %v)", h.Schema, h.GetPositiveSpan())
	}
	if got := metricValue(t, r, model.MetricChecks, map[string]string{"result": "pass"}); got < 12 {
		t.Errorf("%s{result=pass} = %v", model.MetricChecks, got)
	}
	if got := metricValue(t, r, model.MetricStageActive, nil); got != 0 {
		t.Errorf("%s = %v after the run, want 0", model.MetricStageActive, got)
	}
}

// metricValue sums the counter or gauge series of a family matching labels.
func metricValue(t *testing.T, r *Runner, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.Metric {
			for k, v := range labels {
				found := false
				for _, l := range m.Label {
					if l.GetName() == k && l.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// recordingSink keeps what it was given.
type recordingSink struct {
	mu     sync.Mutex
	writes int
	last   []*dto.MetricFamily
	times  []time.Time
}

func (s *recordingSink) Write(_ context.Context, ts time.Time, fams []*dto.MetricFamily) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.last = fams
	s.times = append(s.times, ts)
	return nil
}

func TestTheFinalSnapshotIsStampedWithTheRunsEnd(t *testing.T) {
	srv := newCountingServer(t, nil)
	sink := &recordingSink{}
	// A run shorter than the flush interval: the final snapshot is its only
	// one, and a window [start, end] of run.json must hold it.
	sc := getScenario(srv.URL, "/", constantRate(20, 600*time.Millisecond, 2, 4))
	_, run := mustRun(t, Config{Scenario: sc, Sinks: []Sink{sink}, FlushInterval: time.Hour})
	if len(sink.times) != 1 {
		t.Fatalf("the sink got %d snapshots, want the final one only", len(sink.times))
	}
	if got := sink.times[0]; !got.Equal(run.End) {
		t.Errorf("the final snapshot is stamped %s, run.json ends %s (%s apart)", got.Format(time.RFC3339Nano), run.End.Format(time.RFC3339Nano), got.Sub(run.End))
	}
	// With periodic snapshots, the stamps only ever move forward by 1 ms
	// or more (Prometheus rejects a sample older than or as old as the
	// last).
	sink = &recordingSink{}
	_, run = mustRun(t, Config{Scenario: getScenario(srv.URL, "/", constantRate(20, 600*time.Millisecond, 2, 4)), Sinks: []Sink{sink}, FlushInterval: 100 * time.Millisecond})
	for i := 1; i < len(sink.times); i++ {
		if d := sink.times[i].Sub(sink.times[i-1]); d < time.Millisecond {
			t.Errorf("snapshot %d is stamped %s after the one before, want at least 1ms", i, d)
		}
	}
	if last := sink.times[len(sink.times)-1]; last.Before(run.End) || last.Sub(run.End) > 5*time.Millisecond {
		t.Errorf("the final snapshot is stamped %s, run.json ends %s", last.Format(time.RFC3339Nano), run.End.Format(time.RFC3339Nano))
	}
}

func TestSinksGetASnapshotEveryIntervalAndAtTheEnd(t *testing.T) {
	srv := newCountingServer(t, nil)
	sink := &recordingSink{}
	sc := getScenario(srv.URL, "/", constantRate(20, 1200*time.Millisecond, 2, 4))
	_, run := mustRun(t, Config{Scenario: sc, Sinks: []Sink{sink}, FlushInterval: 500 * time.Millisecond})
	if sink.writes < 2 {
		t.Errorf("the sink got %d snapshots, want at least 2 (one per interval and a final one)", sink.writes)
	}
	var total float64
	for _, f := range sink.last {
		if f.GetName() == model.MetricRequests {
			for _, m := range f.Metric {
				total += m.GetCounter().GetValue()
			}
		}
	}
	if int64(total) != run.Total.Requests {
		t.Errorf("the final snapshot has %v requests, the run %d", total, run.Total.Requests)
	}
}

func TestRunJSONRoundTrips(t *testing.T) {
	srv := newCountingServer(t, nil)
	_, run := mustRun(t, Config{Scenario: getScenario(srv.URL, "/", constantVUs(1, 300*time.Millisecond)), SeriesInterval: 100 * time.Millisecond})
	b, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	var back model.Run
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Total.Requests != run.Total.Requests || len(back.Series) != len(run.Series) || back.Stages[0].Start.IsZero() {
		t.Errorf("run.json did not round-trip: %s", b)
	}
	var sum int64
	for _, p := range run.Series {
		sum += p.Requests
	}
	if sum != run.Total.Requests {
		t.Errorf("the series adds up to %d requests, the run has %d", sum, run.Total.Requests)
	}
}

func TestExecutorsRunSideBySideFromTheirStartTime(t *testing.T) {
	srv := newCountingServer(t, nil)
	sc := getScenario(srv.URL, "/", constantRate(20, 2*time.Second, 2, 10), constantRate(20, time.Second, 2, 10))
	sc.Executors[0].Name = "base"
	sc.Executors[1].Name = "late"
	sc.Executors[1].StartTime = dur(700 * time.Millisecond)
	_, run := mustRun(t, Config{Scenario: sc})
	base, late := stageByName(t, run, "base"), stageByName(t, run, "late")
	if d := late.Start.Sub(base.Start); d != 700*time.Millisecond {
		t.Errorf("the late executor started %v after the base one, want 700ms", d)
	}
	if base.Iterations != 40 || late.Iterations != 20 {
		t.Errorf("iterations: base %d, late %d; want 40 and 20", base.Iterations, late.Iterations)
	}
	if run.Stages[0].Name != "base" || run.Stages[1].Name != "late" {
		t.Errorf("stages are not in the order they started: %s, %s", run.Stages[0].Name, run.Stages[1].Name)
	}
}

func TestThresholdsFilterByTag(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(500)
		}
	})
	sc := &model.Scenario{
		Name:   "tags",
		Target: srv.URL,
		Flows: []model.Flow{
			{Name: "good", Steps: []model.Step{{Method: "GET", Path: "/good", Checks: []model.Check{{Name: "good is 200", Status: []int{200}}}}}},
			{Name: "bad", Steps: []model.Step{{Method: "GET", Path: "/bad", Checks: []model.Check{{Name: "bad is 200", Status: []int{200}}}}}},
		},
		Executors: []model.Executor{constantRate(40, time.Second, 2, 20)},
		Thresholds: map[string][]model.Threshold{
			"http_req_failed{endpoint:GET /good}": {{Expr: "rate==0"}},
			"http_req_failed{endpoint:GET /bad}":  {{Expr: "rate==1"}},
			"http_req_failed{flow:bad}":           {{Expr: "rate<0.5"}},
			"http_reqs{status:500}":               {{Expr: "count>0"}},
			"http_reqs{status:500,method:GET}":    {{Expr: "rate>5"}},
			"http_reqs":                           {{Expr: "count==40"}},
			"checks{check:good is 200}":           {{Expr: "rate==1"}},
			"checks":                              {{Expr: "rate<0.99"}},
			"iteration_duration{flow:good}":       {{Expr: "max<5000"}},
			"http_req_duration{status:200}":       {{Expr: "p(99)<5000"}, {Expr: "avg>0"}},
			"dropped_iterations":                  {{Expr: "count==0"}},
		},
	}
	_, run := mustRun(t, Config{Scenario: sc})
	for _, th := range run.Thresholds {
		wantPass := th.Metric != "http_req_failed{flow:bad}"
		if th.Passed != wantPass {
			t.Errorf("%s %s: observed %v, passed %v; want passed %v", th.Metric, th.Expr, th.Observed, th.Passed, wantPass)
		}
	}
	if len(run.Thresholds) != 12 {
		t.Errorf("%d threshold results, want 12", len(run.Thresholds))
	}
}

func TestProgressIsALineEveryIntervalOrOneLineRedrawnOnATTY(t *testing.T) {
	srv := newCountingServer(t, nil)
	for _, tty := range []bool{false, true} {
		var buf syncBuffer
		sc := getScenario(srv.URL, "/", constantRate(20, 1200*time.Millisecond, 2, 10))
		mustRun(t, Config{Scenario: sc, Progress: &buf, ProgressTTY: tty, ProgressInterval: 500 * time.Millisecond})
		out := buf.String()
		if tty {
			if !strings.Contains(out, "\r\033[K") || strings.Count(out, "\n") != 0 || !strings.HasSuffix(out, "\r\033[K") {
				t.Errorf("TTY progress %q: want lines redrawn in place and cleared at the end", out)
			}
		} else if n := strings.Count(out, "\n"); n < 2 || !strings.Contains(out, "vus ") || !strings.Contains(out, "target 20.0 it/s") {
			t.Errorf("plain progress: %d lines %q", n, out)
		}
	}
}

// syncBuffer is a strings.Builder safe for the progress goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTheCallersScenarioIsNotChanged(t *testing.T) {
	srv := newCountingServer(t, nil)
	sc := getScenario(srv.URL, "/x/{{seq()}}", constantRate(10, 300*time.Millisecond, 0, 0))
	sc.Flows[0].Steps[0].Body = map[string]any{"a": "{{vu()}}"}
	before, _ := json.Marshal(sc)
	mustRun(t, Config{Scenario: sc, Target: srv.URL + "/"})
	after, _ := json.Marshal(sc)
	if string(before) != string(after) {
		t.Errorf("the scenario changed:\nbefore %s\nafter  %s", before, after)
	}
}

func TestNewRunnerReportsWhatIsWrong(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"a missing scenario", Config{}, "no scenario"},
		{"a bad shard", Config{Scenario: getScenario("http://127.0.0.1:1", "/", constantVUs(1, time.Second)), Shard: Shard{Index: 3, Count: 2}}, "shard 3/2"},
		{"no target", Config{Scenario: getScenario("", "/", constantVUs(1, time.Second))}, "target"},
		{"no executors", Config{Scenario: getScenario("http://127.0.0.1:1", "/")}, "executors"},
		{"a bad template", Config{Scenario: getScenario("http://127.0.0.1:1", "/{{nope(}}", constantVUs(1, time.Second))}, "flows[0].steps[0].path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewRunner(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want one mentioning %q", err, c.want)
			}
		})
	}
}
