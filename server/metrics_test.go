package server

import (
	"context"
	"math/rand"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// TestServiceMetricLabelsAreBounded: requests with made-up methods and
// paths, rejected or not, add no series to the service's own metrics: a
// method label is one of the standard methods or "other", and a route
// label is a route template, never a path a client chose.
func TestServiceMetricLabelsAreBounded(t *testing.T) {
	ts := newTestServer(t, "", nil)
	rng := rand.New(rand.NewSource(14))
	word := func(n int) string {
		const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[rng.Intn(len(letters))]
		}
		return string(b)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, token string) {
		req, err := http.NewRequest(method, ts.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
	}
	const n = 40
	for i := 0; i < n; i++ {
		m := "X" + word(12)
		send(m, "/api/v1/runs", "")                    // 401 from the auth middleware
		send(m, "/api/v1/runs/"+word(8), roToken)      // 405 on a known route
		send("GET", "/"+strings.ToLower(word(10)), "") // 404 outside the API
		send("GET", "/api/v3/"+strings.ToLower(word(10)), "")
		send("GET", "/ui/"+strings.ToLower(word(10)), "")
		send(m, "/"+strings.ToLower(word(10)), "")
	}
	_, body := ts.do(t, "GET", "/metrics", "", nil)
	series := regexp.MustCompile(`(?m)^headroom_server_http_requests_total\{([^}]*)\}`).FindAllStringSubmatch(string(body), -1)
	if len(series) == 0 {
		t.Fatalf("/metrics has no headroom_server_http_requests_total series:\n%.2000s", body)
	}
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	methods, routes := map[string]bool{}, map[string]bool{}
	for _, s := range series {
		for _, l := range label.FindAllStringSubmatch(s[1], -1) {
			switch l[1] {
			case "method":
				methods[l[2]] = true
			case "route":
				routes[l[2]] = true
			}
		}
	}
	known := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
		"OPTIONS": true, "CONNECT": true, "TRACE": true, "other": true}
	for m := range methods {
		if !known[m] {
			t.Errorf("method label %q is neither a standard method nor \"other\"", m)
		}
	}
	templates := map[string]bool{"unmatched": true, "/metrics": true}
	for _, r := range ts.echo.Routes() {
		templates[r.Path] = true
	}
	for r := range routes {
		if !templates[r] {
			t.Errorf("route label %q is not a route template", r)
		}
	}
	if len(series) > 20 {
		names := make([]string, 0, len(series))
		for _, s := range series {
			names = append(names, s[1])
		}
		sort.Strings(names)
		t.Errorf("%d requests with made-up methods and paths left %d series; want a bounded set:\n%s",
			6*n, len(series), strings.Join(names[:min(len(names), 10)], "\n"))
	}
	t.Logf("%d series, methods %v, routes %v", len(series), methods, routes)
}

// TestDeletedReviewLeavesNoSeries: the service label of the review
// counters only takes the names of stored reviews: deleting a review
// removes its series.
func TestDeletedReviewLeavesNoSeries(t *testing.T) {
	fake := &fakeReviews{}
	ts := newTestServer(t, "", func(c *Config) { c.ReviewFunc = fake.review })
	for _, svc := range []string{"gone", "failing"} {
		ts.mustDo(t, "PUT", "/api/v1/reviews/"+svc, adminToken, reviewSpec("0 6 * * *"), 200, nil)
		ts.mustDo(t, "POST", "/api/v1/reviews/"+svc+"/run", adminToken, nil, 201, nil)
	}
	if got := metricValue(t, ts, `headroom_server_reviews_total{service="gone",trigger="request"}`); got != 1 {
		t.Fatalf("reviews of gone before the delete: %v, want 1", got)
	}
	if got := metricValue(t, ts, `headroom_server_review_failures_total{service="failing"}`); got != 1 {
		t.Fatalf("failures of failing before the delete: %v, want 1", got)
	}
	for _, svc := range []string{"gone", "failing"} {
		ts.mustDo(t, "DELETE", "/api/v1/reviews/"+svc, adminToken, nil, 204, nil)
	}
	_, body := ts.do(t, "GET", "/metrics", "", nil)
	for _, svc := range []string{"gone", "failing"} {
		if strings.Contains(string(body), `service="`+svc+`"`) {
			t.Errorf("/metrics still has series of the deleted review %q", svc)
		}
	}
}

// TestAnUnknownCapacityExportsNoCapacityOrRatio: a review that found no
// limit publishes the peak and the target but no capacity and no headroom
// ratio, which would read 0 and -100% and fire HeadroomBelowTarget on
// nothing; a review that found one publishes both.
func TestAnUnknownCapacityExportsNoCapacityOrRatio(t *testing.T) {
	capacity := map[string]float64{"unknown": 0, "known": 300}
	ts := newTestServer(t, "", func(c *Config) {
		c.ReviewFunc = func(_ context.Context, spec model.ReviewSpec, end time.Time) (model.Review, error) {
			cp := capacity[spec.Service]
			r := model.Review{Service: spec.Service, At: end, PeakRPS: 200, CapacityRPS: cp, TargetHeadroomRatio: 0.2, Bottleneck: model.BottleneckUnknown}
			if cp > 0 {
				r.HeadroomRatio = cp/r.PeakRPS - 1
			}
			return r, nil
		}
	})
	for svc := range capacity {
		ts.mustDo(t, "PUT", "/api/v1/reviews/"+svc, adminToken, reviewSpec("0 6 * * *"), 200, nil)
		ts.mustDo(t, "POST", "/api/v1/reviews/"+svc+"/run", adminToken, nil, 201, nil)
	}
	_, body := ts.do(t, "GET", "/metrics", "", nil)
	for _, absent := range []string{`headroom_capacity_rps{service="unknown"}`, `headroom_headroom_ratio{service="unknown"}`} {
		if strings.Contains(string(body), absent) {
			t.Errorf("/metrics has %s for a review that found no capacity", absent)
		}
	}
	if got := metricValue(t, ts, `headroom_peak_rps{service="unknown"}`); got != 200 {
		t.Errorf("peak of unknown = %v, want 200", got)
	}
	if got := metricValue(t, ts, `headroom_headroom_ratio{service="known"}`); got != 0.5 {
		t.Errorf("headroom ratio of known = %v, want 0.5", got)
	}
}
