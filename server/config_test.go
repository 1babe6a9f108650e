package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTokens(t *testing.T) {
	toks, err := ParseTokens("admin:aaaaaaaaaaaaaaaa, ro:bbbbbbbbbbbbbbbb\n# a comment\ncccccccccccccccc,,", "HEADROOM_API_TOKENS")
	if err != nil {
		t.Fatal(err)
	}
	want := []Token{{"aaaaaaaaaaaaaaaa", true}, {"bbbbbbbbbbbbbbbb", false}, {"cccccccccccccccc", true}}
	if len(toks) != len(want) {
		t.Fatalf("tokens = %v", toks)
	}
	for i := range want {
		if toks[i] != want[i] {
			t.Errorf("token %d = %+v, want %+v", i, toks[i], want[i])
		}
	}
	if s := toks[0].String(); strings.Contains(s, "aaaa") {
		t.Errorf("Token.String shows the secret: %s", s)
	}
	for text, words := range map[string][]string{
		"short":                  {"token 1", "5 characters", "16"},
		"ro:x,ro:short":          {"token 1", "1 characters"},
		"god:aaaaaaaaaaaaaaaaaa": {"token 1", `"god"`},
	} {
		_, err := ParseTokens(text, "HEADROOM_API_TOKENS")
		if err == nil {
			t.Errorf("%q: no error", text)
			continue
		}
		for _, w := range append(words, "HEADROOM_API_TOKENS") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not mention %q", text, err, w)
			}
		}
		if strings.Contains(err.Error(), "short") || strings.Contains(err.Error(), "aaaa") {
			t.Errorf("%q: the error repeats the secret: %v", text, err)
		}
	}
}

func TestLoadConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `listen: 127.0.0.1:9999
token_file: tokens.txt
allow_targets: ["*.staging.internal", "10.0.0.5:8080"]
prometheus: {url: "http://127.0.0.1:9090", headers: {X-Scope-OrgID: t1}}
limits: {max_concurrent_runs: 3, max_run_duration: 30m, max_vus: 200}
reviews:
  - service: checkout
    schedule: "0 6 * * *"
    selector: '{job="checkout"}'
    slo: {p95_ms: 300}
`)
	fc, err := LoadConfigFile(good)
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	fc.Apply(&cfg)
	if cfg.Listen != "127.0.0.1:9999" || cfg.Limits.MaxConcurrentRuns != 3 || cfg.Limits.MaxRunDuration != 30*time.Minute || cfg.Limits.MaxVUs != 200 ||
		len(cfg.AllowTargets) != 2 || cfg.Prometheus.Headers["X-Scope-OrgID"] != "t1" || len(cfg.Reviews) != 1 || fc.TokenFile != filepath.Join(dir, "tokens.txt") {
		t.Errorf("config = %+v, token file %q", cfg, fc.TokenFile)
	}
	if _, err := LoadConfigFile(write("empty.yaml", "")); err != nil {
		t.Errorf("an empty config: %v", err)
	}
	for text, words := range map[string][]string{
		"limits: {max_vus: -1}\n":                     {"bad.yaml:1:19: limits.max_vus"},
		"allow_targets: ['*']\n":                      {"allow_targets[0]", "any host"},
		"allow_targets: ['http://x/']\n":              {"allow_targets[0]", "not a URL"},
		"prometheus: {url: 'localhost:9090'}\n":       {"prometheus.url"},
		"listn: x\n":                                  {"bad.yaml:1:1: listn", `did you mean "listen"`},
		"reviews: [{service: a, schedule: 'nope'}]\n": {"reviews[0]", "schedule"},
		"reviews: [{selector: '{job=\"a\"}'}]\n":      {"reviews[0]", "service"},
		"reviews: [{service: a, selector: '{a=\"b\"}'}, {service: a, selector: '{a=\"b\"}'}]\n": {"reviews[1].service", "twice"},
	} {
		p := write("bad.yaml", text)
		_, err := LoadConfigFile(p)
		if err == nil {
			t.Errorf("%q: no error", text)
			continue
		}
		for _, w := range append(words, "bad.yaml") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not mention %q", text, err, w)
			}
		}
	}
}

func TestNewNeedsTokensAndDataDir(t *testing.T) {
	if _, err := New(Config{DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "HEADROOM_API_TOKENS") {
		t.Errorf("New without tokens: %v", err)
	}
	if _, err := New(Config{Tokens: []Token{{Value: adminToken, Admin: true}}}); err == nil || !strings.Contains(err.Error(), "data directory") {
		t.Errorf("New without a data directory: %v", err)
	}
	if _, err := New(Config{DataDir: t.TempDir(), Tokens: []Token{{Value: adminToken}}, DatabaseURL: "mysql://x"}); err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("New with a MySQL URL: %v", err)
	}
	if got := redactURL("postgres://u:hunter2@db:5432/x"); strings.Contains(got, "hunter2") {
		t.Errorf("redactURL kept the password: %s", got)
	}
}

func TestAllowlistPatterns(t *testing.T) {
	a, err := newAllowlist([]string{"localhost", "*.staging.internal", "10.0.0.5:8080", "[::1]:9000"})
	if err != nil {
		t.Fatal(err)
	}
	for u, ok := range map[string]bool{
		"http://localhost:1234/x":          true,
		"http://LOCALHOST":                 true,
		"https://api.staging.internal":     true,
		"http://a.b.staging.internal:81":   true,
		"http://staging.internal":          false,
		"http://evilstaging.internal":      false,
		"http://10.0.0.5:8080":             true,
		"http://10.0.0.5:8081":             false,
		"http://10.0.0.5":                  false,
		"http://[::1]:9000":                true,
		"http://[::1]:9001":                false,
		"http://localhost.evil.com":        false,
		"http://127.0.0.1":                 false,
		"file:///etc/passwd":               false,
		"http://user@evil.com@localhost/x": true,
	} {
		if err := a.checkString(u); (err == nil) != ok {
			t.Errorf("%s: allowed %v, want %v (%v)", u, err == nil, ok, err)
		}
	}
}
