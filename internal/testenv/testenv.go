// Package testenv gives tests the addresses of the real components started
// by scripts/testenv.sh (Prometheus, PostgreSQL, Redis and the exporters).
//
// scripts/testenv.sh up writes KEY=VALUE lines to .testenv/env at the
// repository root; variables already set in the environment win. A test that
// needs a component calls Require: when the component is not configured the
// test fails under CI (CI is set) and is skipped with a hint otherwise, so a
// real-component test is never silently skipped in CI.
package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Keys written by scripts/testenv.sh.
const (
	PrometheusURL    = "HEADROOM_TEST_PROMETHEUS_URL"     // http://127.0.0.1:PORT, remote-write receiver on
	PromFileSDDir    = "HEADROOM_TEST_FILE_SD_DIR"        // drop <name>.json file_sd target files here
	PostgresURL      = "HEADROOM_TEST_PG_URL"             // postgres://... a database tests may create tables in
	PostgresAdminURL = "HEADROOM_TEST_PG_ADMIN_URL"       // postgres://... superuser, for CREATE DATABASE
	RedisAddr        = "HEADROOM_TEST_REDIS_ADDR"         // 127.0.0.1:PORT
	PGExporterURL    = "HEADROOM_TEST_PG_EXPORTER_URL"    // http://127.0.0.1:PORT/metrics
	RedisExporterURL = "HEADROOM_TEST_REDIS_EXPORTER_URL" // http://127.0.0.1:PORT/metrics
	NodeExporterURL  = "HEADROOM_TEST_NODE_EXPORTER_URL"  // http://127.0.0.1:PORT/metrics
	Promtool         = "HEADROOM_TEST_PROMTOOL"           // path to promtool
	Wrk              = "HEADROOM_TEST_WRK"                // path to wrk
)

var (
	once sync.Once
	file map[string]string
)

// Root returns the repository root (the directory holding go.mod), or "".
func Root() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func load() {
	file = map[string]string{}
	root := Root()
	if root == "" {
		return
	}
	f, err := os.Open(filepath.Join(root, ".testenv", "env"))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			file[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
}

// Get returns the value for key from the environment or .testenv/env.
func Get(key string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	once.Do(load)
	return file[key]
}

// ChromiumEnv names a browser binary tests use instead of Debian's chromium.
const ChromiumEnv = "HEADROOM_TEST_CHROMIUM"

// Chromium returns the browser that tests open pages in: ChromiumEnv, else
// Debian's chromium (scripts/install-browser.sh installs it; make test runs
// it). Without one the test fails under CI and is skipped elsewhere, like
// the other real-component tests.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", ChromiumEnv, p, err)
		}
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "Chromium is not installed: run scripts/install-browser.sh (or set " + ChromiumEnv + ")"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// InCI reports whether the tests run under CI.
func InCI() bool { return os.Getenv("CI") != "" }

// Require returns the value of key, or ends the test: a failure under CI, a
// skip with a hint elsewhere.
func Require(t testing.TB, key string) string {
	t.Helper()
	v := Get(key)
	if v != "" {
		return v
	}
	if InCI() {
		t.Fatalf("%s is not set: scripts/testenv.sh up must run before the tests in CI (make test does it)", key)
	}
	t.Skipf("%s is not set: run scripts/testenv.sh up (make test does) to run this test against the real component", key)
	return ""
}
