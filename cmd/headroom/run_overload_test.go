package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAnOverloadedRunWithDefaultFlagsWarnsAndExits99(t *testing.T) {
	// A server that completes at most 100 requests/s (2 at a time, 20 ms
	// each) is offered 300/s with every VU flag at its default: the VU cap
	// binds and about a third of the iterations are dropped. Before, the
	// run passed (exit 0) and the drop showed only in the headline.
	slots := make(chan struct{}, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		time.Sleep(20 * time.Millisecond)
		<-slots
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "run.json")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"run", "--url", srv.URL + "/work", "--executor", "constant-arrival-rate",
		"--rate", "300", "--duration", "3s", "--out", out, "--quiet"}, strings.NewReader(""), &stdout, &stderr)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitCheckFailed {
		t.Fatalf("err %v, want exit 99; stderr:\n%s", err, stderr.String())
	}
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	r := readRun(t, out)
	if r.DroppedShare < 0.1 || len(r.Stages) != 1 || r.Stages[0].DroppedShare < 0.1 {
		t.Errorf("run.json dropped share %.3f, stages %+v: want about a third dropped, per stage too", r.DroppedShare, r.Stages)
	}
	if r.Total.ScheduleCorrected == nil || r.Total.ScheduleCorrected.P99Ms <= r.Total.P99Ms {
		t.Errorf("run.json corrected view %+v against as-sent p99 %.0fms", r.Total.ScheduleCorrected, r.Total.P99Ms)
	}
	for _, w := range []string{"Dropped", "p99 as sent", "p99 corrected", "✗ dropped_iterations share<=0.01", "default limit"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
		}
	}
	for _, w := range []string{"warning:", "were dropped because every VU up to the cap was busy", "--max-vus", "--max-dropped-share"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
		}
	}
}

func TestARunAgainstARefusedPortFailsClearlyAndBacksOff(t *testing.T) {
	// A port nobody listens on: before, 2 VUs made tens of thousands of
	// failed requests a second and the run exited 0 as completed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out := filepath.Join(t.TempDir(), "run.json")
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"run", "--url", "http://" + addr + "/", "--vus", "2", "--duration", "2s", "--out", out, "--quiet"},
		strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "not one of the") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err %v, want a clear error naming the target", err)
	}
	if code := exitCode(err, &bytes.Buffer{}); code != ExitError1 {
		t.Errorf("exit code %d, want 1", code)
	}
	r := readRun(t, out)
	// Backoff from about 10 ms doubling to 1 s: a VU makes 8 or so
	// attempts in 2 s.
	if r.Total.Requests == 0 || r.Total.Requests > 60 {
		t.Errorf("%d requests in 2 s from 2 VUs; want a few, backing off", r.Total.Requests)
	}
	if !strings.Contains(stderr.String(), "connection refused") {
		t.Errorf("stderr does not name the failure:\n%s", stderr.String())
	}
}
