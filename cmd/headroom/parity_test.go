package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/server"
)

// TestTheCLIAndTheAPIAnalyseARunAlike records a real run through the
// service's API (the checkout demo on its simulated backend, scraped into
// the run's embedded store), then analyses that one recorded run twice:
// with `headroom analyze --run DATA_DIR/runs/ID/run.json` and with
// POST /api/v1/analyses {run_id}. The two analysis.json documents must be
// the same, byte for byte once both are indented alike: the same window,
// stages, step and rate window, SLO and limits.
func TestTheCLIAndTheAPIAnalyseARunAlike(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := &env{stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.DiscardHandler), getenv: func(string) string { return "" }}
	srv, addr, err := startDemoCheckout(ctx, e, 8, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	target := "http://" + addr

	const token = "parity-admin-token-0123456789"
	dataDir := t.TempDir()
	s, err := server.New(server.Config{DataDir: dataDir, Tokens: []server.Token{{Value: token, Admin: true}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer func() {
		hs.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		_ = s.Shutdown(sctx)
	}()
	call := func(method, path string, body any, wantStatus int, out any) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			r = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, hs.URL+path, r)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, wantStatus)
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %v\n%s", method, path, err, data)
			}
		}
	}

	// A short ramp on a pool of 8 connections held 20 ms per order:
	// capacity 400 orders/s, reached by the last stage.
	sc := demoScenario(target, 1)
	sc.Executors[0].Stages = []model.Stage{
		{Name: "s5", Duration: model.Duration(3 * time.Second), Target: 5},
		{Name: "s20", Duration: model.Duration(3 * time.Second), Target: 20},
		{Name: "s60", Duration: model.Duration(4 * time.Second), Target: 60},
	}
	sc.Executors[0].GracefulRampDown = model.Duration(time.Second)
	var created server.RunResource
	call("POST", "/api/v1/runs", map[string]any{
		"scenario": sc, "target": target,
		"options": map[string]any{"scrape": []string{"checkout=" + target + "/metrics"}, "grace_ms": 2000},
	}, http.StatusCreated, &created)
	var got server.RunResource
	for deadline := time.Now().Add(2 * time.Minute); ; {
		call("GET", "/api/v1/runs/"+created.ID, nil, http.StatusOK, &got)
		if got.Status != server.StatusRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still running after 2 minutes", created.ID)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if got.Status != model.RunCompleted {
		t.Fatalf("run %s ended %s: %s", created.ID, got.Status, got.Error)
	}
	runFile := filepath.Join(dataDir, "runs", created.ID, "run.json")
	if _, err := os.Stat(runFile); err != nil {
		t.Fatalf("the service wrote no run.json beside the store: %v", err)
	}

	var viaAPI server.AnalysisResource
	call("POST", "/api/v1/analyses", map[string]any{"run_id": created.ID}, http.StatusCreated, &viaAPI)
	cliFile := filepath.Join(t.TempDir(), "analysis.json")
	if _, err := runCLI(t, "analyze", "--run", runFile, "--out", cliFile); err != nil {
		t.Fatal(err)
	}
	viaCLI, err := os.ReadFile(cliFile)
	if err != nil {
		t.Fatal(err)
	}
	var api bytes.Buffer
	if err := json.Indent(&api, viaAPI.Analysis, "", "  "); err != nil {
		t.Fatal(err)
	}
	api.WriteByte('\n')
	if !bytes.Equal(api.Bytes(), viaCLI) {
		t.Errorf("the CLI and the API analysed run %s differently:\n%s", created.ID, firstDifference(api.String(), string(viaCLI)))
	}
	// The two agree on something worth agreeing on.
	var a model.Analysis
	if err := json.Unmarshal(viaCLI, &a); err != nil {
		t.Fatal(err)
	}
	if a.RunID != created.ID || len(a.Stages) != 3 || a.Total.Requests == 0 {
		t.Errorf("analysis of run %q with %d stages and %d requests; want run %s, 3 stages and requests", a.RunID, len(a.Stages), a.Total.Requests, created.ID)
	}
}

// firstDifference shows the first differing line of two documents with a
// little context.
func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			from := max(0, i-3)
			return fmt.Sprintf("line %d\n  API: %s\n  CLI: %s\n(context before:\n%s)", i+1, x, y, strings.Join(al[from:i], "\n"))
		}
	}
	return "(no line differs)"
}
