package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// closeOnSecondServer answers the first request on each connection and,
// on the second, reads it whole and closes the connection without an
// answer: what a server does when it drops a keep-alive connection while a
// request is on its way. It counts the requests it read.
func closeOnSecondServer(t *testing.T) (url string, seen *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen = new(atomic.Int64)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					seen.Add(1)
					if n == 1 {
						return
					}
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), seen
}

func TestAWrittenPOSTIsNeverSentTwiceButAGETIsReplayed(t *testing.T) {
	for _, c := range []struct {
		method string
		replay bool
	}{{"POST", false}, {"PUT", true}, {"GET", true}} {
		t.Run(c.method, func(t *testing.T) {
			url, seen := closeOnSecondServer(t)
			step := model.Step{Method: c.method, Path: "/orders", Think: &model.Think{Duration: dur(5 * time.Millisecond)}}
			if c.method != "GET" {
				step.Body = `{"qty":1}`
			}
			sc := &model.Scenario{Name: "replay", Target: url, Timeout: dur(2 * time.Second),
				Flows:     []model.Flow{{Name: "f", Steps: []model.Step{step}}},
				Executors: []model.Executor{constantVUs(1, 300*time.Millisecond)}}
			_, run := mustRun(t, Config{Scenario: sc})
			got, sent := run.Total.Requests, seen.Load()
			t.Logf("%s: the run counted %d requests (%v), the server read %d", c.method, got, run.Total.Status, sent)
			if got < 10 {
				t.Fatalf("only %d requests", got)
			}
			if c.replay {
				// Every second request is replayed on a new connection
				// and answered.
				if run.Total.Errors != 0 || sent <= got {
					t.Errorf("%s: %d errors, server read %d for %d counted; want replays and no errors", c.method, run.Total.Errors, sent, got)
				}
				return
			}
			if sent != got {
				t.Errorf("POST: the server read %d requests, the run counted %d: a written POST was sent again", sent, got)
			}
			if run.Total.Status["error"] == 0 {
				t.Errorf("POST: statuses %v, want the unanswered requests counted as errors", run.Total.Status)
			}
		})
	}
}

func TestAResponseBodyAboveTheLimitFailsItsRequest(t *testing.T) {
	body := strings.Repeat("x", 4096)
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			_, _ = io.WriteString(w, body[:2048])
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, body[2048:])
			return
		}
		w.Header().Set("Content-Length", "4096")
		_, _ = io.WriteString(w, body)
	})
	for _, path := range []string{"/length", "/chunked", "https"} {
		t.Run(path, func(t *testing.T) {
			sc := getScenario(srv.URL, path, constantRate(8, 250*time.Millisecond, 1, 1))
			cfg := Config{Scenario: sc, MaxResponseBody: 1024}
			if path == "https" {
				// net/http's path: a client is configured.
				sc.Flows[0].Steps[0].Path = "/length"
				cfg.HTTPClient = &http.Client{}
			}
			r, run := mustRun(t, cfg)
			if run.Total.Requests == 0 || run.Total.Status["error"] != run.Total.Requests {
				t.Errorf("statuses %v, want every request failed", run.Total.Status)
			}
			if msg := fmt.Sprint(r.Errors()); !strings.Contains(msg, ErrBodyTooLarge.Error()) {
				t.Errorf("errors %s, want %q", msg, ErrBodyTooLarge)
			}
		})
	}
	// Within the limit, the same bodies are read.
	_, run := mustRun(t, Config{Scenario: getScenario(srv.URL, "/chunked", constantRate(8, 250*time.Millisecond, 1, 1)), MaxResponseBody: 4096})
	if run.Total.Status["200"] != run.Total.Requests || run.Total.Requests == 0 {
		t.Errorf("statuses %v at a limit of 4096 bytes", run.Total.Status)
	}
}

// FuzzReadH1ResponseAgreesWithNetHTTP parses the same bytes with the
// runner's response parser and with net/http's ReadResponse (the reference).
// Whenever net/http reads a whole HTTP/1.x response with a status from 100
// to 599 (RFC 9110, 15), the runner's parser must read it too, with the same
// status and body; it may be more lenient, never stricter or different.
// net/http also reads other versions (HTTP/0.1) and status 000, which the
// runner refuses as malformed by design. Run it longer with
// go test -run=^$ -fuzz=FuzzReadH1Response -fuzztime=1m ./loadgen/
func FuzzReadH1ResponseAgreesWithNetHTTP(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil the end",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 3\n\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\nboom",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ref, refErr := referenceResponse(data)
		got, err := readH1Response(bytes.NewReader(data), http.MethodGet, true, 1<<20)
		if refErr != nil || ref.major != 1 || ref.status < 100 || ref.status > 599 {
			return
		}
		if err != nil {
			if errors.Is(err, ErrBodyTooLarge) {
				return
			}
			t.Fatalf("net/http read status %d and %d body bytes; the runner failed: %v\n%q", ref.status, len(ref.body), err, data)
		}
		var body []byte
		if got.body != nil {
			body = got.body.Bytes()
		}
		if got.status != ref.status || !bytes.Equal(body, ref.body) {
			t.Fatalf("net/http: status %d body %q; runner: status %d body %q\n%q", ref.status, ref.body, got.status, body, data)
		}
	})
}

type refResponse struct {
	major, status int
	body          []byte
}

// referenceResponse reads a response the way net/http's client sees it:
// interim 1xx responses (but 101) are skipped.
func referenceResponse(data []byte) (refResponse, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	req := &http.Request{Method: http.MethodGet}
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return refResponse{}, err
		}
		if resp.ProtoMajor != 1 {
			// Only HTTP/1.x responses, interim ones included, are compared.
			return refResponse{major: resp.ProtoMajor}, nil
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return refResponse{}, err
		}
		return refResponse{major: resp.ProtoMajor, status: resp.StatusCode, body: body}, nil
	}
}
