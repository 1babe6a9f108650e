package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// TestShutdownInterruptsRuns: cancelling Serve's context stops a run in
// progress cleanly; after a restart it shows as interrupted with its
// partial results.
func TestShutdownInterruptsRuns(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		hs, _ := countingTarget(t)
		cfg := Config{
			DataDir: t.TempDir(), DatabaseURL: dbURL, Instance: "test-a",
			Tokens: []Token{{Value: adminToken, Admin: true}, {Value: roToken}}, Logger: testLogger(t),
		}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- s.Serve(ctx, ln) }()
		ts := &testServer{Server: s, url: "http://" + ln.Addr().String()}
		var r RunResource
		ts.mustDo(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": quickScenario(2, "30s"), "target": hs.URL, "options": map[string]any{"grace_ms": 500}}, 201, &r)
		ts.waitRun(t, r.ID, func(r RunResource) bool { return r.Live != nil && r.Live.Requests > 0 })
		began := time.Now()
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(pollFor):
			t.Fatal("Serve did not return after its context was cancelled")
		}
		if d := time.Since(began); d > 10*time.Second {
			t.Errorf("the shutdown took %s", d)
		}
		if _, err := http.Get(ts.url + "/healthz"); err == nil {
			t.Error("the server still accepts requests after the shutdown")
		}

		s2 := startTestServer(t, cfg)
		var got RunResource
		s2.mustDo(t, "GET", "/api/v1/runs/"+r.ID, roToken, nil, 200, &got)
		var run model.Run
		if err := json.Unmarshal(got.Run, &run); err != nil {
			t.Fatalf("the interrupted run has no results: %v (%+v)", err, got)
		}
		if got.Status != model.RunInterrupted || run.Status != model.RunInterrupted || run.Total.Requests == 0 || got.EndedAt == nil {
			t.Errorf("after restart: status %s, run status %s, %d requests, ended %v", got.Status, run.Status, run.Total.Requests, got.EndedAt)
		}
	})
}

// TestRestartMarksAbandonedRunsInterrupted: runs left "running" by a
// process that died are marked interrupted when their instance restarts
// or their heartbeat is stale, and keep their stored progress; another
// replica's live run is left alone.
func TestRestartMarksAbandonedRunsInterrupted(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		dir := t.TempDir()
		ctx := context.Background()
		st, err := openStore(ctx, dbURL, dir)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		live := []byte(`{"stage":"s2","elapsed_ms":5000,"total_ms":60000,"vus":3,"requests":1234,"running":true}`)
		for _, r := range []struct {
			id, instance string
			heartbeat    time.Time
		}{
			{"mine", "test-a", now.Add(-time.Second)},
			{"stale", "test-b", now.Add(-10 * time.Minute)},
			{"alive", "test-b", now},
		} {
			row := &runRow{ID: r.id, Status: StatusRunning, Scenario: "s", Target: "http://127.0.0.1:1", StartedAt: now.Add(-time.Hour), Instance: r.instance, Request: []byte(`{}`)}
			if err := st.insertRun(ctx, row); err != nil {
				t.Fatal(err)
			}
			if err := st.heartbeatRun(ctx, r.id, live, r.heartbeat); err != nil {
				t.Fatal(err)
			}
		}
		st.Close()

		ts := newTestServer(t, dbURL, func(c *Config) { c.DataDir, c.Instance = dir, "test-a" })
		for id, want := range map[string]string{"mine": model.RunInterrupted, "stale": model.RunInterrupted, "alive": StatusRunning} {
			var r RunResource
			ts.mustDo(t, "GET", "/api/v1/runs/"+id, roToken, nil, 200, &r)
			if r.Status != want {
				t.Errorf("run %s: status %s, want %s", id, r.Status, want)
			}
			if want == model.RunInterrupted && (r.Live == nil || r.Live.Requests != 1234 || r.EndedAt == nil || r.Error == "") {
				t.Errorf("run %s lost its progress: live %+v, ended %v, error %q", id, r.Live, r.EndedAt, r.Error)
			}
		}
		// The live run of another replica cannot be stopped from here.
		ts.wantError(t, "DELETE", "/api/v1/runs/alive", adminToken, nil, 409, "test-b")
		ts.wantError(t, "POST", "/api/v1/analyses", adminToken, map[string]any{"run_id": "mine"}, 409, "no results")
	})
}

// TestReadyz: /readyz fails once the database is gone.
func TestReadyz(t *testing.T) {
	ts := newTestServer(t, "", nil)
	ts.mustDo(t, "GET", "/readyz", "", nil, 200, nil)
	ts.db.Close()
	code, body := ts.do(t, "GET", "/readyz", "", nil)
	if code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database closed: %d %s", code, body)
	}
	if err := ts.db.ready(context.Background()); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("ready() = %v", err)
	}
}

// TestShutdownTimeoutShorterThanGrace: a run whose grace period is longer
// than the shutdown's timeout, with requests that never get an answer, is
// still stored interrupted with its partial results before the database
// closes.
func TestShutdownTimeoutShorterThanGrace(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		release := make(chan struct{})
		var served atomic.Int64
		hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if served.Add(1) <= 20 {
				w.Write([]byte(`{"ok":true}`))
				return
			}
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(hang.Close)
		t.Cleanup(func() { close(release) })
		cfg := Config{
			DataDir: t.TempDir(), DatabaseURL: dbURL, Instance: "test-a",
			Tokens: []Token{{Value: adminToken, Admin: true}, {Value: roToken}}, Logger: testLogger(t),
		}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s.Handler())
		defer hs.Close()
		ts := &testServer{Server: s, url: hs.URL}
		// Requests, the executor and the run all wait two minutes for
		// answers that never come.
		const patient = "name: patient\ntimeout: 120s\nflows:\n  - steps:\n      - {method: GET, path: /}\n" +
			"executors:\n  - {type: constant-vus, vus: 2, duration: 60s, gracefulStop: 120s}\n"
		var r RunResource
		ts.mustDo(t, "POST", "/api/v1/runs", adminToken, map[string]any{"scenario_yaml": patient, "target": hang.URL, "options": map[string]any{"grace_ms": 120000}}, 201, &r)
		ts.waitRun(t, r.ID, func(r RunResource) bool { return r.Live != nil && r.Live.Requests >= 20 })

		const timeout = 3 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		began := time.Now()
		err = s.Shutdown(ctx)
		if d := time.Since(began); d > timeout+2*time.Second {
			t.Errorf("the shutdown took %s with a timeout of %s", d, timeout)
		}
		t.Logf("shutdown: %v", err)

		// Another instance, so that reading the run does not mark it
		// interrupted itself.
		cfg2 := cfg
		cfg2.Instance, cfg2.StaleAfter = "test-b", time.Hour
		s2 := startTestServer(t, cfg2)
		var got RunResource
		s2.mustDo(t, "GET", "/api/v1/runs/"+r.ID, roToken, nil, 200, &got)
		if got.Status != model.RunInterrupted {
			t.Fatalf("after a shutdown shorter than the run's grace period the run is %s, want interrupted", got.Status)
		}
		var run model.Run
		if err := json.Unmarshal(got.Run, &run); err != nil {
			t.Fatalf("the interrupted run has no results: %v", err)
		}
		if run.Status != model.RunInterrupted || run.Total.Requests < 20 || got.EndedAt == nil {
			t.Errorf("stored run: status %s, %d requests, ended %v", run.Status, run.Total.Requests, got.EndedAt)
		}
	})
}
