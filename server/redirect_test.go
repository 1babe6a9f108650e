package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

// secretBody is what a host outside the allowlist answers: it must never
// reach a run, a review or an error text.
const secretBody = "SECRET-7f3a internal admin page"

// forbiddenHost is a server on 127.0.0.1 that counts its requests and
// answers secretBody; tests allow only "localhost", so it is outside the
// allowlist although it runs on the same machine.
func forbiddenHost(t *testing.T, status int) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(status)
		w.Write([]byte(secretBody + "\n"))
	}))
	t.Cleanup(hs.Close)
	return hs, &n
}

// onLocalhost is a server's URL with its host written as localhost.
func onLocalhost(hs *httptest.Server) string {
	return "http://localhost:" + hs.URL[strings.LastIndex(hs.URL, ":")+1:]
}

// TestScrapeRedirectOutsideAllowlist: a scrape URL on an allowed host that
// redirects to a host outside the allowlist is not followed, and the run's
// scrape report does not show what that host would answer.
func TestScrapeRedirectOutsideAllowlist(t *testing.T) {
	forbidden, hits := forbiddenHost(t, http.StatusOK)
	redirector := httptest.NewServer(http.RedirectHandler(forbidden.URL+"/metrics", http.StatusFound))
	t.Cleanup(redirector.Close)
	target, _ := countingTarget(t)

	ts := newTestServer(t, "", func(c *Config) { c.AllowTargets = []string{"localhost"} })
	var r RunResource
	ts.mustDo(t, "POST", "/api/v1/runs", adminToken, map[string]any{
		"scenario_yaml": quickScenario(1, "1500ms"),
		"target":        onLocalhost(target),
		"options":       map[string]any{"scrape": []string{"app=" + onLocalhost(redirector) + "/metrics"}},
	}, http.StatusCreated, &r)
	done := ts.waitRun(t, r.ID, func(r RunResource) bool { return r.Status != StatusRunning })
	_, raw := ts.do(t, "GET", "/api/v1/runs/"+r.ID, roToken, nil)
	if strings.Contains(string(raw), "SECRET") {
		t.Errorf("the run shows the answer of a host outside the allowlist: %s", raw)
	}
	if got := hits.Load(); got != 0 {
		t.Errorf("the scraper followed a redirect to a host outside the allowlist %d times", got)
	}
	var run model.Run
	if err := json.Unmarshal(done.Run, &run); err != nil {
		t.Fatalf("run document: %v", err)
	}
	if run.Metrics == nil || len(run.Metrics.Scrape) != 1 {
		t.Fatalf("scrape report: %+v", run.Metrics)
	}
	rep := run.Metrics.Scrape[0]
	if rep.Failures == 0 || !strings.Contains(rep.LastError, "allowlist") {
		t.Errorf("scrape report %+v: want failures naming the allowlist", rep)
	}
}

// TestPrometheusRedirectToAnotherHost: the service's Prometheus client
// follows no redirect to another host, and an answer's body never shows
// in a review's error.
func TestPrometheusRedirectToAnotherHost(t *testing.T) {
	forbidden, hits := forbiddenHost(t, http.StatusOK)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, forbidden.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	failing, _ := forbiddenHost(t, http.StatusBadGateway)

	for _, c := range []struct{ name, prom string }{
		{"a redirect to another host", onLocalhost(redirector)},
		{"an error page", failing.URL},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, "", func(cfg *Config) {
				cfg.Prometheus.URL = c.prom
				cfg.AllowTargets = []string{"localhost"}
			})
			ts.mustDo(t, "PUT", "/api/v1/reviews/svc", adminToken, reviewSpec("0 6 * * *"), 200, nil)
			var rec model.ReviewRecord
			ts.mustDo(t, "POST", "/api/v1/reviews/svc/run", adminToken, nil, 201, &rec)
			if rec.Error == "" {
				t.Fatalf("the review against %s succeeded", c.prom)
			}
			if strings.Contains(rec.Error, "SECRET") {
				t.Errorf("the review's error shows an answer's body: %s", rec.Error)
			}
			t.Logf("review error: %s", rec.Error)
		})
	}
	if got := hits.Load(); got != 0 {
		t.Errorf("the Prometheus client followed a redirect to another host %d times", got)
	}
}
