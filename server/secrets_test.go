package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

// TestCredentialsAreUsedAndNeverShown: credentials in the target URL are
// sent as Basic auth, and neither they nor a literal Authorization header
// of the scenario appear in the API's answers or the stored request; a
// run answered only 401 says so; env() is refused by the service, which
// does not hand its environment to scenarios.
func TestCredentialsAreUsedAndNeverShown(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Authorization")+"|"+r.Header.Get("X-Api-Key")]++
		mu.Unlock()
		if r.URL.Path == "/private" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(target.Close)
	ts := newTestServer(t, "", nil)

	withCreds := strings.Replace(target.URL, "http://", "http://ann:pw-secret-1@", 1)
	sc := "name: creds\nheaders:\n  X-Api-Key: key-secret-2\nflows:\n  - steps:\n      - {method: GET, path: /}\n" +
		"executors:\n  - {type: constant-vus, vus: 1, duration: 500ms, gracefulStop: 1s}\n"
	var r RunResource
	ts.mustDo(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": sc, "target": withCreds}, http.StatusCreated, &r)
	ts.waitRun(t, r.ID, func(r RunResource) bool { return r.Status != StatusRunning })
	_, listed := ts.do(t, "GET", "/api/v1/runs", roToken, nil)
	_, got := ts.do(t, "GET", "/api/v1/runs/"+r.ID, roToken, nil)
	row, err := ts.db.getRun(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"the run list": string(listed), "the run": string(got), "the stored request": string(row.Request), "the stored target": row.Target} {
		for _, secret := range []string{"pw-secret-1", "key-secret-2"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds %q", what, secret)
			}
		}
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("ann:pw-secret-1")) + "|key-secret-2"
	mu.Lock()
	if len(seen) != 1 || seen[want] == 0 {
		t.Errorf("the target received %v, want only %q", seen, want)
	}
	mu.Unlock()

	refused := strings.Replace(sc, "path: /}", "path: /private}", 1)
	ts.mustDo(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": refused, "target": target.URL}, http.StatusCreated, &r)
	done := ts.waitRun(t, r.ID, func(r RunResource) bool { return r.Status != StatusRunning })
	if done.Status != model.RunCompleted || !strings.Contains(done.Error, "401 or 403") {
		t.Errorf("a run answered only 401: status %s, error %q; want a warning", done.Status, done.Error)
	}

	fromEnv := strings.Replace(sc, "key-secret-2", "\"{{env(HOME)}}\"", 1)
	ts.wantError(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": fromEnv, "target": target.URL}, http.StatusUnprocessableEntity, "env(HOME)", "not available")
}
