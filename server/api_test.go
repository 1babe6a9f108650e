package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
)

// TestRunAnalysePlan drives the whole API against the real checkout demo:
// a run with live statistics, its stage table, an analysis read back from
// the run's embedded store, the HTML report, a plan and a comparison — on
// SQLite and on PostgreSQL.
func TestRunAnalysePlan(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		target := startCheckout(t)
		ts := newTestServer(t, dbURL, nil)
		body := map[string]any{
			"scenario_yaml": checkoutScenario("      - {duration: 1500ms, target: 2, name: warm}\n      - {duration: 1500ms, target: 6, name: load}\n      - {duration: 1500ms, target: 6, name: hold}\n"),
			"target":        target,
			"options":       map[string]any{"scrape": []string{"checkout=" + target + "/metrics"}, "grace_ms": 1000},
		}
		var created RunResource
		ts.mustDo(t, "POST", "/api/v1/runs", adminToken, body, http.StatusCreated, &created)
		if created.Status != StatusRunning || created.ID == "" || created.Scenario != "serve-test" || created.Target != target {
			t.Fatalf("created run = %+v", created)
		}
		live := ts.waitRun(t, created.ID, func(r RunResource) bool {
			return r.Status != StatusRunning || (r.Live != nil && r.Live.Requests > 0)
		})
		if live.Status == StatusRunning && (live.Live == nil || !live.Live.Running || live.Live.TotalMs <= 0) {
			t.Errorf("live statistics of a running run = %+v", live.Live)
		}
		done := ts.waitRun(t, created.ID, func(r RunResource) bool { return r.Status != StatusRunning })
		if done.Status != model.RunCompleted || done.EndedAt == nil {
			t.Fatalf("finished run: status %s, ended %v, error %q", done.Status, done.EndedAt, done.Error)
		}
		var run model.Run
		if err := json.Unmarshal(done.Run, &run); err != nil {
			t.Fatalf("run document: %v", err)
		}
		if len(run.Stages) != 3 || run.Stages[1].Name != "load" || run.Total.Requests == 0 || run.Metrics == nil || run.Metrics.Store != storeSubdir {
			t.Fatalf("stage table: %d stages, %d requests, metrics %+v", len(run.Stages), run.Total.Requests, run.Metrics)
		}
		if _, err := os.Stat(filepath.Join(ts.cfg.DataDir, "runs", created.ID, "run.json")); err != nil {
			t.Errorf("run.json beside the store: %v", err)
		}

		var list struct{ Runs []RunResource }
		ts.mustDo(t, "GET", "/api/v1/runs", roToken, nil, 200, &list)
		if len(list.Runs) != 1 || list.Runs[0].ID != created.ID || (len(list.Runs[0].Run) > 0 && string(list.Runs[0].Run) != "null") {
			t.Errorf("run list = %+v", list.Runs)
		}

		var an AnalysisResource
		ts.mustDo(t, "POST", "/api/v1/analyses", adminToken, map[string]any{"run_id": created.ID}, http.StatusCreated, &an)
		var a model.Analysis
		if err := json.Unmarshal(an.Analysis, &a); err != nil {
			t.Fatal(err)
		}
		if an.RunID != created.ID || a.RunID != created.ID || len(a.Stages) != 3 || a.TestedUpToRPS <= 0 {
			t.Fatalf("analysis: run %q, %d stages, tested up to %v RPS", a.RunID, len(a.Stages), a.TestedUpToRPS)
		}
		found := false
		for _, r := range a.Resources {
			if r.Kind == "db_pool" {
				found = true
			}
		}
		if !found {
			t.Errorf("the analysis found no db_pool resource in the scraped demo metrics: %+v", a.Resources)
		}
		var got AnalysisResource
		ts.mustDo(t, "GET", "/api/v1/analyses/"+an.ID, roToken, nil, 200, &got)
		if got.ID != an.ID || len(got.Analysis) == 0 {
			t.Errorf("GET analysis = %+v", got)
		}
		code, page := ts.do(t, "GET", "/api/v1/analyses/"+an.ID+"/report.html", roToken, nil)
		if code != 200 || !strings.Contains(string(page), "<svg") || !strings.Contains(string(page), created.ID) {
			t.Errorf("report.html: status %d, %d bytes, svg %v", code, len(page), strings.Contains(string(page), "<svg"))
		}

		topo, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "topology.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		topoJSON, err := yaml.YAMLToJSON(topo)
		if err != nil {
			t.Fatal(err)
		}
		var plan PlanResource
		ts.mustDo(t, "POST", "/api/v1/plans", adminToken, map[string]any{"analysis_id": an.ID, "topology": json.RawMessage(topoJSON), "target_multiplier": 2}, http.StatusCreated, &plan)
		var p model.Plan
		if err := json.Unmarshal(plan.Plan, &p); err != nil {
			t.Fatal(err)
		}
		if plan.AnalysisID != an.ID || p.Service != "checkout" || p.Target.TargetRPS <= 0 {
			t.Errorf("plan: analysis %q, service %q, target %v", plan.AnalysisID, p.Service, p.Target.TargetRPS)
		}
		code, page = ts.do(t, "GET", "/api/v1/plans/"+plan.ID+"/report.html", roToken, nil)
		if code != 200 || !strings.Contains(string(page), "<svg") {
			t.Errorf("plan report.html: status %d", code)
		}
		var plans struct{ Plans []PlanResource }
		ts.mustDo(t, "GET", "/api/v1/plans", roToken, nil, 200, &plans)
		if len(plans.Plans) != 1 {
			t.Errorf("plan list has %d plans", len(plans.Plans))
		}
		ts.wantError(t, "POST", "/api/v1/plans", adminToken, map[string]any{"analysis_id": an.ID, "topology": json.RawMessage(topoJSON)}, 422, "target_rps", "target_multiplier")

		var cmp model.Comparison
		ts.mustDo(t, "POST", "/api/v1/compare", adminToken, map[string]any{"baseline": an.ID, "candidate": created.ID}, 200, &cmp)
		if cmp.Regressed || cmp.BaselineRunID != created.ID || len(cmp.Rows) == 0 {
			t.Errorf("a run compared with itself: regressed %v, baseline %q, %d rows", cmp.Regressed, cmp.BaselineRunID, len(cmp.Rows))
		}
		ts.wantError(t, "POST", "/api/v1/compare", adminToken, map[string]any{"baseline": "nope", "candidate": created.ID}, 404, "baseline", "nope")
		ts.wantError(t, "POST", "/api/v1/analyses", adminToken, map[string]any{"window": map[string]any{"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}, "selector": `{job="x"}`}, 422, "window", "Prometheus")
	})
}

// TestAuth: the API needs a token, writes need an admin token, and
// health, readiness, metrics and the OpenAPI document need none.
func TestAuth(t *testing.T) {
	ts := newTestServer(t, "", nil)
	ts.wantError(t, "GET", "/api/v1/runs", "", nil, 401, "bearer token")
	ts.wantError(t, "GET", "/api/v1/runs", "not-a-token-at-all-1234", nil, 401, "invalid")
	ts.wantError(t, "POST", "/api/v1/runs", "", `{}`, 401)
	ts.wantError(t, "POST", "/api/v1/runs", roToken, `{}`, 403, "read-only")
	ts.wantError(t, "PUT", "/api/v1/reviews/checkout", roToken, `{}`, 403, "read-only")
	ts.wantError(t, "DELETE", "/api/v1/runs/x", roToken, nil, 403, "read-only")
	ts.mustDo(t, "GET", "/api/v1/runs", roToken, nil, 200, nil)
	ts.mustDo(t, "GET", "/api/v1/runs", adminToken, nil, 200, nil)
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/openapi.yaml"} {
		if code, body := ts.do(t, "GET", p, "", nil); code != 200 {
			t.Errorf("GET %s without a token: %d %s", p, code, body)
		}
	}
	ts.wantError(t, "GET", "/api/v1/nothing", roToken, nil, 404, "no route")
	// A token in the query string or a Basic header is not accepted.
	req, _ := http.NewRequest("GET", ts.url+"/api/v1/runs?token="+adminToken, nil)
	req.SetBasicAuth("x", adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("basic auth: %d, want 401", resp.StatusCode)
	}
}

// countingTarget is a target that counts the requests it gets.
func countingTarget(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(hs.Close)
	return hs, &n
}

func quickScenario(vus int, duration string) string {
	return "name: quick\nflows:\n  - steps:\n      - {method: GET, path: /}\nexecutors:\n  - {type: constant-vus, vus: " + itoa(vus) + ", duration: " + duration + ", gracefulStop: 1s}\n"
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestAllowlist: a target outside the allowlist is refused before any
// request is sent, also when a step names it as an absolute URL, and an
// --allow-target pattern admits its host.
func TestAllowlist(t *testing.T) {
	hs, n := countingTarget(t)
	port := hs.URL[strings.LastIndex(hs.URL, ":")+1:]

	ts := newTestServer(t, "", func(c *Config) { c.AllowTargets = []string{"localhost", "*.staging.internal"} })
	msg := ts.wantError(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": quickScenario(1, "1s"), "target": hs.URL}, 403, "target", "127.0.0.1", "allowlist")
	if strings.Contains(msg, adminToken) {
		t.Error("an error repeats the token")
	}
	ts.wantError(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": quickScenario(1, "1s"), "target": "http://example.com"}, 403, `"example.com"`)
	ts.wantError(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": quickScenario(1, "1s"), "target": "http://evil-staging.internal"}, 403, "evil-staging.internal")
	// A step with an absolute URL to another host.
	abs := "name: abs\nflows:\n  - steps:\n      - {method: GET, path: \"" + hs.URL + "/x\"}\nexecutors:\n  - {type: constant-vus, vus: 1, duration: 1s}\n"
	ts.wantError(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": abs, "target": "http://localhost:" + port}, 403, "flows[0].steps[0].path", "127.0.0.1")
	// A redirect from an allowed target to a host outside the list is
	// caught per request: the run happens, but no request reaches it.
	redirector := httptest.NewServer(http.RedirectHandler(hs.URL+"/x", http.StatusFound))
	defer redirector.Close()
	rport := redirector.URL[strings.LastIndex(redirector.URL, ":")+1:]
	var r RunResource
	ts.mustDo(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": quickScenario(1, "500ms"), "target": "http://localhost:" + rport}, 201, &r)
	done := ts.waitRun(t, r.ID, func(r RunResource) bool { return r.Status != StatusRunning })
	var run model.Run
	if err := json.Unmarshal(done.Run, &run); err != nil {
		t.Fatal(err)
	}
	if run.Total.Requests == 0 || run.Total.Errors != run.Total.Requests {
		t.Errorf("redirected to a host outside the allowlist: %d requests, %d errors: want all refused", run.Total.Requests, run.Total.Errors)
	}
	if got := n.Load(); got != 0 {
		t.Fatalf("the target outside the allowlist got %d requests", got)
	}

	// Allowing the host and port admits it.
	ts2 := newTestServer(t, "", func(c *Config) { c.AllowTargets = []string{"127.0.0.1:" + port} })
	ts2.mustDo(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": quickScenario(1, "500ms"), "target": hs.URL}, 201, &r)
	ts2.waitRun(t, r.ID, func(r RunResource) bool { return r.Status == model.RunCompleted })
	if n.Load() == 0 {
		t.Error("the allowed target got no requests")
	}
	ts2.wantError(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": quickScenario(1, "1s"), "target": "http://127.0.0.1:1"}, 403, "127.0.0.1:1")
}

// TestValidationAndLimits: bad bodies and requests over the limits get a
// clear 4xx naming the field.
func TestValidationAndLimits(t *testing.T) {
	hs, _ := countingTarget(t)
	ts := newTestServer(t, "", func(c *Config) {
		c.Limits = Limits{MaxVUs: 5, MaxArrivalRate: 50, MaxRunDuration: 10e9, MaxConcurrentRuns: 1, MaxBodyBytes: 64 << 10}
	})
	post := func(body any, code int, words ...string) {
		t.Helper()
		ts.wantError(t, "POST", "/api/v1/runs", adminToken, body, code, words...)
	}
	post(`{"scenario_yaml": `, 400, "not valid JSON")
	post(`{"scenario_yml": "x"}`, 400, `"scenario_yml"`)
	post(`{"target": 5}`, 400, "target")
	post(map[string]any{"target": hs.URL}, 422, "scenario")
	post(map[string]any{"scenario_yaml": "name: x\nflows: []\n", "target": hs.URL}, 422, "flows")
	post(map[string]any{"scenario_yaml": quickScenario(6, "1s"), "target": hs.URL}, 422, "scenario.executors[0].vus", "limit of 5")
	post(map[string]any{"scenario_yaml": quickScenario(1, "11s"), "target": hs.URL}, 422, "scenario.executors[0].stages", "max run duration")
	rate := "name: r\nflows:\n  - steps: [{method: GET, path: /}]\nexecutors:\n  - {type: constant-arrival-rate, rate: 60, duration: 1s, preAllocatedVUs: 2}\n"
	post(map[string]any{"scenario_yaml": rate, "target": hs.URL}, 422, "scenario.executors[0].rate", "limit of 50")
	post(map[string]any{"scenario_yaml": quickScenario(1, "1s"), "target": "ftp://127.0.0.1"}, 422, "target")
	post(map[string]any{"scenario": map[string]any{"name": "j", "flows": []any{map[string]any{"steps": []any{map[string]any{"method": "GET", "path": "/"}}}}, "executors": []any{map[string]any{"type": "constant-vus", "vus": 1, "duration": 3}}}, "target": hs.URL}, 422, "scenario.executors.duration")
	post(map[string]any{"scenario_yaml": quickScenario(1, "1s"), "target": hs.URL, "options": map[string]any{"selector": "job=x"}}, 422, "options.selector")
	// A service that records into Prometheus lets Prometheus scrape: the
	// same rule as the CLI's, from app.StartRunMetrics.
	withProm := newTestServer(t, "", func(c *Config) { c.Prometheus.URL = hs.URL })
	withProm.wantError(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": quickScenario(1, "1s"), "target": hs.URL, "options": map[string]any{"scrape": []string{"x=" + hs.URL + "/metrics"}}}, 422, "options.scrape", "let your Prometheus scrape")
	big := `{"scenario_yaml": "` + strings.Repeat("x", 70<<10) + `"}`
	post(big, 413, "limit")

	// The JSON form of a scenario runs as well as the YAML form; one run
	// at a time here, so a second gets 429; DELETE stops the first with its
	// partial results kept.
	sc := map[string]any{"name": "json", "flows": []any{map[string]any{"steps": []any{map[string]any{"method": "GET", "path": "/"}}}},
		"executors": []any{map[string]any{"type": "constant-vus", "vus": 1, "duration": "8s", "graceful_stop": "1s"}}}
	var r RunResource
	ts.mustDo(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario": sc, "target": hs.URL, "options": map[string]any{"grace_ms": 500}}, 201, &r)
	post(map[string]any{"scenario_yaml": quickScenario(1, "1s"), "target": hs.URL}, 429, "1 runs are in progress")
	ts.waitRun(t, r.ID, func(r RunResource) bool { return r.Live != nil && r.Live.Requests > 0 })
	var stopped RunResource
	ts.mustDo(t, "DELETE", "/api/v1/runs/"+r.ID, adminToken, nil, 200, &stopped)
	var run model.Run
	if err := json.Unmarshal(stopped.Run, &run); err != nil {
		t.Fatalf("stopped run has no results: %v", err)
	}
	if stopped.Status != StatusStopped || run.Status != model.RunInterrupted || run.Total.Requests == 0 || len(run.Stages) == 0 {
		t.Errorf("stopped run: status %s, run status %s, %d requests, %d stages", stopped.Status, run.Status, run.Total.Requests, len(run.Stages))
	}
	if d := run.End.Sub(run.Start); d > 6e9 {
		t.Errorf("the stopped run lasted %s of its 8s", d)
	}
	ts.wantError(t, "GET", "/api/v1/runs/nope", roToken, nil, 404, `"nope"`)
	ts.wantError(t, "GET", "/api/v1/runs?limit=0", roToken, nil, 400, "limit")
	ts.wantError(t, "POST", "/api/v1/analyses", adminToken, `{}`, 422, "run_id")
	ts.wantError(t, "POST", "/api/v1/analyses", adminToken, map[string]any{"run_id": "nope"}, 404, "run_id", `"nope"`)
}

// TestRunIntoPrometheus: with a Prometheus configured, a run remote-writes
// its series there and its analysis reads them back from it.
func TestRunIntoPrometheus(t *testing.T) {
	prom := testenv.Require(t, testenv.PrometheusURL)
	hs, _ := countingTarget(t)
	ts := newTestServer(t, "", func(c *Config) { c.Prometheus.URL = prom })
	sc := "name: prom-run\nflows:\n  - steps: [{method: GET, path: /}]\nexecutors:\n  - type: ramping-vus\n    gracefulStop: 1s\n    stages: [{duration: 2s, target: 2}, {duration: 2s, target: 4}]\n"
	var r RunResource
	ts.mustDo(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": sc, "target": hs.URL}, 201, &r)
	done := ts.waitRun(t, r.ID, func(r RunResource) bool { return r.Status != StatusRunning })
	var run model.Run
	if err := json.Unmarshal(done.Run, &run); err != nil || done.Status != model.RunCompleted {
		t.Fatalf("run: %s %v", done.Status, err)
	}
	if run.Metrics == nil || run.Metrics.Prometheus != prom || run.Metrics.Store != "" {
		t.Fatalf("run metrics = %+v, want the Prometheus", run.Metrics)
	}
	var an AnalysisResource
	ts.mustDo(t, "POST", "/api/v1/analyses", adminToken, map[string]any{"run_id": r.ID}, 201, &an)
	var a model.Analysis
	if err := json.Unmarshal(an.Analysis, &a); err != nil {
		t.Fatal(err)
	}
	if a.RunID != r.ID || len(a.Stages) != 2 || a.TestedUpToRPS <= 0 {
		t.Errorf("analysis from Prometheus: run %q, %d stages, %v RPS", a.RunID, len(a.Stages), a.TestedUpToRPS)
	}
}
