package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

func TestRunRejectsBadFlagsNamingTheFlagAndTheExpectedForm(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(file, []byte("name: s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u := "http://127.0.0.1:1/x"
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"a scenario file and --url together are refused", []string{file, "--url", u, "--vus", "1", "--duration", "1s"}, []string{"either a scenario file", "--url", "not both"}},
		{"no scenario at all asks for a file or --url", nil, []string{"no scenario", "--url"}},
		{"two scenario files are refused", []string{file, file}, []string{"at most one scenario file"}},
		{"--vus without --duration asks for --duration", []string{"--url", u, "--vus", "10"}, []string{"--duration"}},
		{"a shard index beyond the count names --shard and the range", []string{"--url", u, "--vus", "1", "--duration", "1s", "--shard", "3/2"}, []string{"--shard", "from 0 to 1"}},
		{"a shard without a slash names the INDEX/COUNT form", []string{"--url", u, "--vus", "1", "--duration", "1s", "--shard", "two"}, []string{"--shard", "INDEX/COUNT"}},
		{"a header without a colon names the Name: value form", []string{"--url", u, "--vus", "1", "--duration", "1s", "-H", "X-Token"}, []string{"-H", "'Name: value'"}},
		{"a stage without a target names the DURATION:TARGET form", []string{"--url", u, "--stage", "30s"}, []string{"--stage", "DURATION:TARGET"}},
		{"a duration that is not one names the flag", []string{"--url", u, "--vus", "1", "--duration", "soon"}, []string{"-duration", "soon"}},
		{"quick-mode flags with a scenario file are refused", []string{file, "--vus", "5", "--stage", "1s:5"}, []string{"--vus", "--stage", "only work with --url"}},
		{"a threshold without an expression names METRIC:EXPRESSION", []string{"--url", u, "--vus", "1", "--duration", "1s", "--threshold", "p(95)<800"}, []string{"--threshold", "METRIC:EXPRESSION"}},
		{"an unknown flag is named", []string{"--url", u, "--bogus"}, []string{"-bogus", "headroom run --help"}},
		{"a zero remote-write interval is refused", []string{"--url", u, "--vus", "1", "--duration", "1s", "--remote-write-interval", "0s"}, []string{"--remote-write-interval", "greater than 0"}},
		{"a relative --url names the expected absolute URL", []string{"--url", "/x", "--vus", "1", "--duration", "1s"}, []string{"URL", "absolute"}},
		{"a bad remote-write URL names --remote-write", []string{"--url", u, "--vus", "1", "--duration", "1s", "--remote-write", "ftp://x"}, []string{"--remote-write", "http"}},
		{"--rate without an arrival-rate executor names --rate", []string{"--url", u, "--vus", "1", "--duration", "1s", "--rate", "5", "--executor", "constant-vus"}, []string{"--rate"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), append([]string{"run", "--out", ""}, c.args...), strings.NewReader(""), &out, &errb)
			if err == nil {
				t.Fatalf("no error; stdout %q", out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if exitCode(err, &bytes.Buffer{}) != ExitError1 {
				t.Errorf("exit code %d, want 1", exitCode(err, &bytes.Buffer{}))
			}
		})
	}
}

func TestRunHelpShowsBothModes(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"run", "--help"}, strings.NewReader(""), &out, &bytes.Buffer{})
	if !errors.Is(err, errHelp) {
		t.Fatalf("err %v, want help", err)
	}
	for _, w := range []string{"headroom run checkout.yaml", "--url", "--vus 50 --duration 30s", "--stage", "--shard"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("help lacks %q", w)
		}
	}
}

const abortScenario = `name: failing
target: %TARGET%
flows:
  - name: hit
    steps:
      - method: GET
        path: /boom
executors:
  - type: constant-arrival-rate
    rate: 50
    duration: 1m
    preAllocatedVUs: 5
thresholds:
  http_req_failed:
    - threshold: rate<0.05
      abortOnFail: true
      delayAbortEval: 1s
`

func TestRunExits99AfterAnAbortOnFailThresholdStopsTheRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "failing.yaml")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(abortScenario, "%TARGET%", srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run.json")
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err := run(context.Background(), []string{"run", file, "--out", out, "--quiet"}, strings.NewReader(""), &stdout, &stderr)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the run took %v; abortOnFail should stop it soon after 1s", took)
	}
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitCheckFailed {
		t.Fatalf("err %v, want an ExitError with code 99; stderr:\n%s", err, stderr.String())
	}
	r := readRun(t, out)
	if r.Status != model.RunAborted || r.Passed() {
		t.Errorf("run.json status %q, passed %v; want aborted and failed", r.Status, r.Passed())
	}
	for _, w := range []string{"| Stage", "| Endpoint", "GET /boom", "Thresholds:", "✗ http_req_failed rate<0.05", "aborted the run"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
		}
	}
}

func TestAnInterruptedRunStillWritesRunJSONAndExits1(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(time.Millisecond)
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "run.json")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for hits.Load() < 50 {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"run", "--url", srv.URL + "/x", "--vus", "2", "--duration", "5m", "--out", out, "--quiet"}, strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err %v, want an interrupted error", err)
	}
	if code := exitCode(err, &bytes.Buffer{}); code != ExitError1 {
		t.Errorf("exit code %d, want 1", code)
	}
	r := readRun(t, out)
	if r.Status != model.RunInterrupted || r.Total.Requests < 50 || len(r.Stages) != 1 {
		t.Errorf("run.json: status %q, %d requests, %d stages", r.Status, r.Total.Requests, len(r.Stages))
	}
	if !strings.Contains(stdout.String(), "| quick") && !strings.Contains(stdout.String(), "| constant-vus") {
		t.Errorf("stdout lacks the stage table:\n%s", stdout.String())
	}
}

func TestAQuickRunThatPassesExits0(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "run.json")
	var stdout, stderr bytes.Buffer
	args := []string{"run", "--url", srv.URL + "/api/items", "--stage", "500ms:3", "--stage", "500ms:3:hold", "--threshold", "http_req_failed:rate<0.01", "--run-id", "r1", "--shard", "0/2", "--out", out, "--quiet"}
	if err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	r := readRun(t, out)
	if r.RunID != "r1" || r.Shard != "0/2" || r.Status != model.RunCompleted || len(r.Stages) != 2 || r.Stages[1].Name != "hold" {
		t.Errorf("run.json: %+v", r)
	}
	if !strings.Contains(stdout.String(), "✓ http_req_failed rate<0.01") {
		t.Errorf("stdout lacks the passed threshold:\n%s", stdout.String())
	}
}

func readRun(t *testing.T, path string) *model.Run {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("run.json was not written: %v", err)
	}
	var r model.Run
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("run.json does not parse: %v", err)
	}
	return &r
}

func TestRunServesMetricsAndRemoteWritesThem(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var writes atomic.Int64
	var badWrites atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Prometheus-Remote-Write-Version") == "" {
			badWrites.Add(1)
		}
		writes.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	// A free port for --metrics-addr.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	scraped := make(chan string, 1)
	go func() {
		for i := 0; i < 200; i++ {
			resp, err := http.Get("http://" + addr + "/metrics")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(b), "headroom_requests_total") {
					scraped <- string(b)
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		scraped <- ""
	}()
	var stdout, stderr bytes.Buffer
	args := []string{"run", "--url", srv.URL + "/x", "--vus", "2", "--duration", "1500ms", "--metrics-addr", addr,
		"--remote-write", receiver.URL + "/api/v1/write", "--remote-write-interval", "500ms", "--run-id", "m1", "--out", "", "--quiet"}
	if err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	body := <-scraped
	for _, w := range []string{`headroom_requests_total{`, `run_id="m1"`, `shard="0/1"`, `headroom_vus{`, `headroom_request_duration_seconds_bucket{`} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %q:\n%.2000s", w, body)
		}
	}
	if writes.Load() < 2 || badWrites.Load() != 0 {
		t.Errorf("the receiver got %d writes (%d not remote-write 1.0), want at least 2", writes.Load(), badWrites.Load())
	}
}
