package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/examples/checkout"
	"github.com/headroom-sh/headroom/internal/testenv"
)

// Tokens of the tests: an admin and a read-only one.
const (
	adminToken = "admin-token-0123456789abcdef"
	roToken    = "read-only-token-0123456789"
)

// pollFor bounds every poll: generous for a busy 2-core machine.
const pollFor = 45 * time.Second

// testLogger logs to the test's output when -v is given.
func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return nil
}

// testServer is a Server behind an httptest server.
type testServer struct {
	*Server
	url string
	hs  *httptest.Server
}

// newTestServer starts a server on the given database ("" for SQLite in
// a temporary data directory).
func newTestServer(t *testing.T, databaseURL string, mutate func(*Config)) *testServer {
	t.Helper()
	cfg := Config{
		DataDir:     t.TempDir(),
		DatabaseURL: databaseURL,
		Tokens:      []Token{{Value: adminToken, Admin: true}, {Value: roToken}},
		Logger:      testLogger(t),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	return startTestServer(t, cfg)
}

func startTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(s.Handler())
	ts := &testServer{Server: s, url: hs.URL, hs: hs}
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return ts
}

// do sends a request and returns the status and the body.
func (ts *testServer) do(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, ts.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// mustDo is do that expects a status and decodes the JSON answer into out.
func (ts *testServer) mustDo(t *testing.T, method, path, token string, body any, want int, out any) {
	t.Helper()
	code, data := ts.do(t, method, path, token, body)
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// wantError checks an error answer: its status and that its message
// mentions each of the words.
func (ts *testServer) wantError(t *testing.T, method, path, token string, body any, want int, words ...string) string {
	t.Helper()
	code, data := ts.do(t, method, path, token, body)
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(data, &e); err != nil || e.Error == "" {
		t.Fatalf("%s %s: expected {\"error\": ...}, got %d %s", method, path, code, data)
	}
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, e.Error)
	}
	for _, w := range words {
		if !strings.Contains(e.Error, w) {
			t.Errorf("%s %s: error %q does not mention %q", method, path, e.Error, w)
		}
	}
	return e.Error
}

// forEachDB runs f against SQLite and against a fresh PostgreSQL database.
func forEachDB(t *testing.T, f func(t *testing.T, databaseURL string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, "") })
	t.Run("postgres", func(t *testing.T) { f(t, freshPostgres(t)) })
}

// freshPostgres creates a database for this test and drops it afterwards.
func freshPostgres(t *testing.T) string {
	t.Helper()
	admin := testenv.Require(t, testenv.PostgresAdminURL)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "headroom_server_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("could not create a test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("could not drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// startCheckout serves the checkout demo on its simulated backend.
func startCheckout(t *testing.T) string {
	t.Helper()
	srv, err := checkout.New(context.Background(), checkout.Config{
		Backend: checkout.BackendSim, PoolSize: 4, OrderDBHold: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// checkoutScenario is a short ramp of order creation against the demo.
func checkoutScenario(stages string) string {
	return `name: serve-test
headers:
  Content-Type: application/json
auth:
  step:
    method: POST
    path: /api/auth/login
    body: {username: "user{{vu()}}", password: secret}
    capture: {token: $.token}
flows:
  - name: order
    steps:
      - method: POST
        path: /api/orders/create
        body: {}
        checks: [{name: created, status: [201]}]
        think: {distribution: uniform, min: 20ms, max: 60ms}
executors:
  - name: ramp
    type: ramping-vus
    gracefulRampDown: 1s
    gracefulStop: 1s
    stages:
` + stages
}

// waitRun polls a run until cond holds.
func (ts *testServer) waitRun(t *testing.T, id string, cond func(RunResource) bool) RunResource {
	t.Helper()
	deadline := time.Now().Add(pollFor)
	for {
		var r RunResource
		ts.mustDo(t, "GET", "/api/v1/runs/"+id, roToken, nil, 200, &r)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: condition not met within %s; last: status %s live %+v", id, pollFor, r.Status, r.Live)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
