package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const serveTestToken = "serve-test-token-0123456789"

func TestServeHelp(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"serve", "--help"}, strings.NewReader(""), &out, &errb)
	if !errors.Is(err, errHelp) {
		t.Fatalf("serve --help: %v", err)
	}
	for _, w := range []string{"Example:", "--allow-target", "--data-dir", "--database-url", "--token-file", "--config", "--prometheus", "HEADROOM_API_TOKENS"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("serve --help does not mention %s", w)
		}
	}
}

func TestServeNeedsTokens(t *testing.T) {
	t.Setenv("HEADROOM_API_TOKENS", "")
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"serve", "--data-dir", t.TempDir()}, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "HEADROOM_API_TOKENS") || !strings.Contains(err.Error(), "--token-file") {
		t.Errorf("serve without tokens: %v", err)
	}
	t.Setenv("HEADROOM_API_TOKENS", "short")
	err = run(context.Background(), []string{"serve", "--data-dir", t.TempDir()}, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "HEADROOM_API_TOKENS: token 1") || strings.Contains(err.Error(), "short\"") {
		t.Errorf("serve with a short token: %v", err)
	}
}

// TestServeConfigLayers: the config file sets everything, flags that are
// given win, and tokens come from the environment and the token file.
func TestServeConfigLayers(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokens"), []byte("ro:read-only-token-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(conf, []byte("listen: 127.0.0.1:9999\ndata_dir: /from/config\ntoken_file: tokens\nallow_targets: [a.example]\nlimits: {max_vus: 50, max_concurrent_runs: 4}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{getenv: func(k string) string {
		if k == "HEADROOM_API_TOKENS" {
			return "admin:" + serveTestToken
		}
		return ""
	}}
	f := &serveFlags{listen: "127.0.0.1:8090", dataDir: "headroom-data", config: conf, allow: stringList{"b.example"}, maxVUs: 20}
	cfg, err := serveConfig(e, f, map[string]bool{"data-dir": true, "allow-target": true, "max-vus": true, "config": true})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9999" || cfg.DataDir != "headroom-data" || len(cfg.AllowTargets) != 1 || cfg.AllowTargets[0] != "b.example" ||
		cfg.Limits.MaxVUs != 20 || cfg.Limits.MaxConcurrentRuns != 4 || len(cfg.Tokens) != 2 || !cfg.Tokens[0].Admin || cfg.Tokens[1].Admin {
		t.Errorf("config = %+v", cfg)
	}
	f.config = filepath.Join(dir, "missing.yaml")
	if _, err := serveConfig(e, f, nil); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("a missing config file: %v", err)
	}
}

// TestServeStartsAndStops runs the command: it serves the API with the
// token from the environment and stops cleanly when its context ends.
func TestServeStartsAndStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("HEADROOM_API_TOKENS", "ro:"+serveTestToken)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--data-dir", t.TempDir()}, strings.NewReader(""), &out, &errb)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/runs", nil)
	req.Header.Set("Authorization", "Bearer "+serveTestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /api/v1/runs with the read-only token: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	if strings.Contains(errb.String(), serveTestToken) {
		t.Error("the logs show the token")
	}
	if !strings.Contains(errb.String(), "serving") {
		t.Errorf("no start-up log line: %s", errb.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
