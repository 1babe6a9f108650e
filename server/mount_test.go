package server

import (
	"strings"
	"testing"
)

// TestUIMountAndServiceMetrics: / redirects to the UI, the UI's files and
// its client-side routes are served without a token, and /metrics counts
// requests by route template.
func TestUIMountAndServiceMetrics(t *testing.T) {
	ts := newTestServer(t, "", nil)
	code, _ := ts.do(t, "GET", "/", "", nil)
	if code != 302 {
		t.Errorf("GET /: %d, want a redirect to /ui/", code)
	}
	_, index := ts.do(t, "GET", "/ui/", "", nil)
	if !strings.Contains(strings.ToLower(string(index)), "<!doctype html") {
		t.Fatalf("GET /ui/ is not the UI's index.html: %.200s", index)
	}
	for _, p := range []string{"/ui/runs/20260101T000000Z-abcdef", "/ui/reviews/checkout"} {
		code, body := ts.do(t, "GET", p, "", nil)
		if code != 200 || string(body) != string(index) {
			t.Errorf("GET %s: %d, index.html %v", p, code, string(body) == string(index))
		}
	}
	code, body := ts.do(t, "GET", "/ui/app.js", "", nil)
	if code != 200 || string(body) == string(index) {
		t.Errorf("GET /ui/app.js: %d, served index.html instead %v", code, string(body) == string(index))
	}
	// API paths never fall back to the UI.
	ts.wantError(t, "GET", "/api/v2/runs", "", nil, 404, "no route")

	ts.mustDo(t, "GET", "/api/v1/runs/nope", roToken, nil, 404, nil)
	ts.mustDo(t, "GET", "/api/v1/runs/nope", roToken, nil, 404, nil)
	ts.mustDo(t, "GET", "/api/v1/runs", "", nil, 401, nil)
	if got := metricValue(t, ts, `headroom_server_http_requests_total{method="GET",route="/api/v1/runs/:id",status="404"}`); got != 2 {
		t.Errorf("requests counted for GET /api/v1/runs/:id 404: %v, want 2", got)
	}
	if got := metricValue(t, ts, `headroom_server_http_requests_total{method="GET",route="/api/v1/runs",status="401"}`); got != 1 {
		t.Errorf("requests counted for GET /api/v1/runs 401: %v, want 1", got)
	}
	if got := metricValue(t, ts, `headroom_server_runs_in_flight`); got != 0 {
		t.Errorf("runs in flight: %v", got)
	}
	_, m := ts.do(t, "GET", "/metrics", "", nil)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(string(m), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
