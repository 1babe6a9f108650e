package loadgen

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// oneStep runs a single-step scenario a few times with one VU and returns
// the run.
func oneStep(t *testing.T, target string, step model.Step, iterations int) (*Runner, *model.Run) {
	t.Helper()
	sc := &model.Scenario{
		Name:      "h1",
		Target:    target,
		Timeout:   dur(2 * time.Second),
		Flows:     []model.Flow{{Name: "f", Steps: []model.Step{step}}},
		Executors: []model.Executor{constantRate(float64(iterations)*4, 250*time.Millisecond, 1, 1)},
	}
	return mustRun(t, Config{Scenario: sc})
}

func TestThePlainHTTPClientReadsEveryResponseFraming(t *testing.T) {
	big := strings.Repeat("x", 20000)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		step    model.Step
		status  string
		check   string
	}{
		{
			name: "a chunked body is read to its end and captured",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(`{"id":`))
				w.(http.Flusher).Flush()
				w.Write([]byte(`7,"pad":"` + big + `"}`))
			},
			step:   model.Step{Method: "GET", Path: "/c", Capture: map[string]string{"id": "$.id"}, Checks: []model.Check{{JSONPath: "$.id", Equals: "7"}}},
			status: "200", check: "GET /c $.id == 7",
		},
		{
			name: "a response that closes the connection is read and the next request reconnects",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Connection", "close")
				w.Write([]byte(`{"ok":true}`))
			},
			step:   model.Step{Method: "GET", Path: "/close", Checks: []model.Check{{JSONPath: "$.ok", Equals: "true"}}},
			status: "200", check: "GET /close $.ok == true",
		},
		{
			name: "a HEAD response has no body even with a Content-Length",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1234")
			},
			step:   model.Step{Method: "HEAD", Path: "/h"},
			status: "200",
		},
		{
			name: "a 204 has no body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			},
			step:   model.Step{Method: "DELETE", Path: "/d"},
			status: "204",
		},
		{
			name: "a long header line is read",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Long", strings.Repeat("y", 9000))
				w.Write([]byte(`{"ok":1}`))
			},
			step:   model.Step{Method: "GET", Path: "/long", Checks: []model.Check{{JSONPath: "$.ok"}}},
			status: "200", check: "GET /long $.ok exists",
		},
		{
			name: "a redirect on the same host is followed and a 303 becomes a GET",
			handler: func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/orders" && r.Method == "POST":
					http.Redirect(w, r, "/orders/9", http.StatusSeeOther)
				case r.URL.Path == "/orders/9" && r.Method == "GET":
					w.Write([]byte(`{"id":9}`))
				default:
					http.Error(w, r.Method+" "+r.URL.Path, 400)
				}
			},
			step:   model.Step{Method: "POST", Path: "/orders", Body: map[string]any{"a": 1}, Checks: []model.Check{{JSONPath: "$.id", Equals: "9"}}},
			status: "200", check: "POST /orders $.id == 9",
		},
		{
			name: "a 307 repeats the method and the body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				switch r.URL.Path {
				case "/old":
					http.Redirect(w, r, "/new", http.StatusTemporaryRedirect)
				case "/new":
					if r.Method != "PUT" || string(b) != `{"n":"{\"q\"}"}` {
						http.Error(w, r.Method+" "+string(b), 400)
						return
					}
					w.WriteHeader(201)
				}
			},
			step:   model.Step{Method: "PUT", Path: "/old", Body: map[string]any{"n": `{"q"}`}},
			status: "201",
		},
		{
			name: "a path with spaces and non-ASCII is escaped",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/a b/é" {
					http.Error(w, r.URL.Path, 400)
				}
			},
			step:   model.Step{Method: "GET", Path: "/{{pick('a b')}}/é"},
			status: "200",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			r, run := oneStep(t, srv.URL, c.step, 3)
			if r.h1 == nil {
				t.Fatal("the plain-HTTP client is not in use")
			}
			if run.Total.Requests != 3 || run.Total.Status[c.status] != 3 {
				t.Errorf("statuses %v, want %s × 3; errors %v", run.Total.Status, c.status, r.Errors())
			}
			if c.check != "" && (len(run.Checks) == 0 || run.Checks[0].Name != c.check || run.Checks[0].Fails != 0) {
				t.Errorf("checks %+v, want %q passing", run.Checks, c.check)
			}
		})
	}
}

func TestARedirectToAnotherHostGoesThroughNetHTTP(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"where":"other"}`))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/x", http.StatusFound)
	}))
	defer srv.Close()
	_, run := oneStep(t, srv.URL, model.Step{Method: "GET", Path: "/go", Checks: []model.Check{{JSONPath: "$.where", Equals: "other"}}}, 2)
	if run.Total.Status["200"] != 2 || run.Checks[0].Fails != 0 {
		t.Errorf("statuses %v, checks %+v", run.Total.Status, run.Checks)
	}
}

func TestAConnectionTheServerClosedWhileIdleIsReplacedWithoutAnError(t *testing.T) {
	// Requests 300 ms apart find the connection closed when they write
	// and are retried on a new one; requests 1.2 s apart find it closed by
	// looking before they write.
	for _, gap := range []time.Duration{300 * time.Millisecond, 1200 * time.Millisecond} {
		t.Run(gap.String(), func(t *testing.T) {
			var conns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			srv.Config.IdleTimeout = 100 * time.Millisecond
			srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			sc := getScenario(srv.URL, "/", constantRate(1, 3*gap+gap/2, 1, 1))
			sc.Executors[0].TimeUnit = dur(gap)
			r, run := mustRun(t, Config{Scenario: sc})
			if run.Total.Errors != 0 || run.Total.Requests != 4 {
				t.Errorf("%d requests, %d errors (%v); want 4 clean requests", run.Total.Requests, run.Total.Errors, r.Errors())
			}
			if conns.Load() != 4 {
				t.Errorf("%d connections, want a new one for each of the 4 requests", conns.Load())
			}
		})
	}
}

func TestARequestThatOutlivesTheTimeoutIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	sc := getScenario(srv.URL, "/slow", constantRate(1, time.Second, 1, 1))
	sc.Timeout = dur(200 * time.Millisecond)
	r, run := mustRun(t, Config{Scenario: sc})
	if run.Total.Status["error"] != 1 {
		t.Fatalf("statuses %v, want one error", run.Total.Status)
	}
	msg := fmt.Sprint(r.Errors())
	if !strings.Contains(msg, "timeout after 200ms") {
		t.Errorf("errors %s, want a timeout", msg)
	}
	if run.Total.MaxMs < 190 || run.Total.MaxMs > 1500 {
		t.Errorf("the timed-out request took %.0fms, want about 200ms", run.Total.MaxMs)
	}
}

func TestRequestsInFlightAtAnInterruptAreRecordedAsFailedWithTheirTimeInFlight(t *testing.T) {
	// A target that never answers: before, the run ended with 0 requests
	// and looked as if nothing had been tried.
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	sc := getScenario(srv.URL, "/", constantVUs(2, time.Minute))
	r, err := NewRunner(Config{Scenario: sc, GracePeriod: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	run, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the run took %v after the interrupt", took)
	}
	if run.Status != model.RunInterrupted || run.Total.Requests != 2 || run.Total.Status["error"] != 2 {
		t.Fatalf("status %s, %d requests counted (%v); want the 2 requests in flight counted as failed", run.Status, run.Total.Requests, run.Total.Status)
	}
	// In flight from the start until the grace period after the interrupt
	// at 500 ms ran out: about 700 ms, a lower bound of their latency.
	if run.Total.MaxMs < 650 || run.Total.MaxMs > 5000 {
		t.Errorf("max %.0fms, want about 700ms in flight", run.Total.MaxMs)
	}
	if msg := fmt.Sprint(r.Errors()); !strings.Contains(msg, "interrupted in flight") {
		t.Errorf("errors %s, want the requests named as interrupted in flight", msg)
	}
}

func TestAnHTTPSTargetGoesThroughNetHTTPWithTheSameResults(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			w.Write([]byte(`{"token":"t1"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer t1" || r.Header.Get("User-Agent") != "headroom" {
			w.WriteHeader(401)
			return
		}
		w.Write([]byte(`{"id":5}`))
	}))
	defer srv.Close()
	sc := getScenario(srv.URL, "/items", constantRate(20, 500*time.Millisecond, 2, 5))
	sc.Auth = &model.Auth{Step: model.Step{Method: "POST", Path: "/login", Capture: map[string]string{"token": "$.token"}}}
	sc.Flows[0].Steps[0].Checks = []model.Check{{JSONPath: "$.id", Equals: "5"}}
	r, run := mustRun(t, Config{Scenario: sc, HTTPClient: srv.Client()})
	if r.h1 != nil {
		t.Fatal("the plain-HTTP client is in use for an HTTPS target")
	}
	var items model.EndpointStats
	for _, e := range run.Endpoints {
		if e.Endpoint == "GET /items" {
			items = e
		}
	}
	if items.Requests != 10 || items.Status["200"] != 10 {
		t.Errorf("GET /items: %+v (errors %v)", items, r.Errors())
	}
	for _, c := range run.Checks {
		if c.Fails != 0 {
			t.Errorf("check %+v failed", c)
		}
	}
}

// stallingServer answers the first request of each connection at once and
// never answers the second: the connection stays open, read but silent.
func stallingServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				answered := false
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if !answered && strings.Contains(string(buf[:n]), "\r\n\r\n") {
						answered = true
						_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
					}
				}
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

func TestRequestsToATargetThatStopsAnsweringTimeOutOnKeepAliveConnections(t *testing.T) {
	// The timeout is enforced by the runner's watchdog, not by a deadline
	// set per request: a request that follows a quick one on the same
	// connection must time out all the same, and only the silent ones.
	target := stallingServer(t)
	sc := getScenario(target, "/", constantVUs(2, 1500*time.Millisecond))
	sc.Timeout = dur(200 * time.Millisecond)
	r, run := mustRun(t, Config{Scenario: sc, GracePeriod: time.Second})
	ok, failed := run.Total.Status["200"], run.Total.Status["error"]
	// Each VU: an answer, a 200 ms timeout, a new connection, and so on:
	// about 7 timeouts per VU in 1.5 s.
	if failed < 4 || ok < 4 || ok < failed-2 || ok > failed+2 {
		t.Fatalf("statuses %v, want about as many answers as timeouts, at least 4 each", run.Total.Status)
	}
	for msg := range r.Errors() {
		if !strings.Contains(msg, "timeout after 200ms") {
			t.Errorf("error %q, want only timeouts", msg)
		}
	}
	if run.Total.MaxMs < 190 || run.Total.MaxMs > 1000 {
		t.Errorf("the slowest request took %.0fms, want about 200ms (the timeout)", run.Total.MaxMs)
	}
	if p50 := run.Total.P50Ms; p50 > 190 && ok > failed {
		t.Errorf("p50 %.0fms with more answers than timeouts, want the quick answers below it", p50)
	}
}

func TestAConnectionThatAnswersJustInsideTheTimeoutNeverTimesOut(t *testing.T) {
	// Many requests in a row on one connection, each answered after a
	// third of the timeout: a deadline left over from an earlier request
	// would fail a later one.
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(40 * time.Millisecond)
		_, _ = w.Write([]byte("ok"))
	})
	sc := getScenario(srv.URL, "/", constantVUs(1, 1500*time.Millisecond))
	sc.Timeout = dur(120 * time.Millisecond)
	r, run := mustRun(t, Config{Scenario: sc})
	if run.Total.Requests < 10 || run.Total.Errors != 0 {
		t.Errorf("%d requests, %d errors (%v); want at least 10, none failed", run.Total.Requests, run.Total.Errors, r.Errors())
	}
}
