package main

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestRunURLCredentialsAndEnvSecrets: credentials in --url are sent as
// Basic auth (they were dropped) and appear neither in the log nor in
// run.json (they did); a header reads a token with env(), an unset one is
// a clear error; a run answered only 401 warns.
func TestRunURLCredentialsAndEnvSecrets(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		mu.Unlock()
		if r.URL.Path == "/private" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	out := filepath.Join(dir, "run.json")
	u := strings.Replace(srv.URL, "http://", "http://ann:pw-secret-1@", 1) + "/"
	_, stderr, err := runCmd(t, "run", "--url", u, "--vus", "1", "--duration", "500ms", "--out", out, "--no-store")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	doc, _ := os.ReadFile(out)
	for what, text := range map[string]string{"the log": stderr, "run.json": string(doc)} {
		if strings.Contains(text, "pw-secret-1") {
			t.Errorf("%s holds the password", what)
		}
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("ann:pw-secret-1"))
	mu.Lock()
	if len(seen) != 1 || seen[want] == 0 {
		t.Errorf("the target received Authorization %v, want only %q", seen, want)
	}
	clear(seen)
	mu.Unlock()

	sc := filepath.Join(dir, "s.yaml")
	os.WriteFile(sc, []byte("name: s\ntarget: "+srv.URL+"\nheaders:\n  Authorization: \"Bearer {{env(HR_TEST_TOKEN_14)}}\"\nflows:\n  - steps:\n      - {method: GET, path: /}\n"+
		"executors:\n  - {type: constant-vus, vus: 1, duration: 300ms}\n"), 0o644)
	t.Setenv("HR_TEST_TOKEN_14", "tok-secret-3")
	if _, stderr, err := runCmd(t, "run", sc, "--out", "", "--no-store"); err != nil {
		t.Fatalf("run with env(): %v\n%s", err, stderr)
	}
	mu.Lock()
	if len(seen) != 1 || seen["Bearer tok-secret-3"] == 0 {
		t.Errorf("with env(): the target received Authorization %v", seen)
	}
	mu.Unlock()
	os.Unsetenv("HR_TEST_TOKEN_14")
	if _, _, err := runCmd(t, "run", sc, "--out", "", "--no-store"); err == nil || !strings.Contains(err.Error(), "HR_TEST_TOKEN_14 is not set") {
		t.Errorf("an unset variable: %v", err)
	}

	_, stderr, _ = runCmd(t, "run", "--url", srv.URL+"/private", "--vus", "1", "--duration", "300ms", "--out", "", "--no-store")
	if !strings.Contains(stderr, "401 or 403") {
		t.Errorf("a run answered only 403 does not warn:\n%s", stderr)
	}
}
