package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// talksToPrometheus are the commands that read from or write to a
// Prometheus-compatible API. Each must take the whole --prometheus* set.
var talksToPrometheus = []string{"analyze", "demo", "plan", "report", "resources", "review", "run", "serve"}

// promFlagHelp returns the --prometheus* flags a command's help lists,
// with their usage lines (--prometheus's own usage says what the URL means
// to the command and is left out).
func promFlagHelp(t *testing.T, name string) map[string]string {
	return flagHelp(t, name, "prometheus")
}

// flagHelp returns the flags named prefix* that a command's help lists,
// with their usage lines.
func flagHelp(t *testing.T, name, prefix string) map[string]string {
	t.Helper()
	stdout, _, _ := runHeadroom(t, name, "--help")
	lines := strings.Split(stdout, "\n")
	flagLine := regexp.MustCompile(`^  -(` + prefix + `[a-z-]*)\b`)
	out := map[string]string{}
	for i, l := range lines {
		m := flagLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		usage := ""
		if i+1 < len(lines) {
			usage = strings.TrimSpace(lines[i+1])
		}
		if m[1] == "prometheus" {
			usage = ""
		}
		out[m[1]] = strings.TrimSpace(l) + " " + usage
	}
	return out
}

// TestEveryCommandThatTalksToPrometheusTakesTheSameFlags: every command that
// talks to Prometheus registers the one set of connection flags, listed
// alike; no other command does.
func TestEveryCommandThatTalksToPrometheusTakesTheSameFlags(t *testing.T) {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var want map[string]string
	var with []string
	for _, name := range names {
		got := promFlagHelp(t, name)
		if len(got) == 0 {
			continue
		}
		with = append(with, name)
		var flags []string
		for f := range got {
			flags = append(flags, f)
		}
		sort.Strings(flags)
		all := slices.Clone(promFlagNames)
		sort.Strings(all)
		if !slices.Equal(flags, all) {
			t.Errorf("headroom %s takes %v; want the whole set %v", name, flags, all)
			continue
		}
		if want == nil {
			want = got
			continue
		}
		for f, u := range got {
			if u != want[f] {
				t.Errorf("headroom %s lists -%s as %q; other commands as %q", name, f, u, want[f])
			}
		}
	}
	if !slices.Equal(with, talksToPrometheus) {
		t.Errorf("commands with the --prometheus* flags: %v; want %v", with, talksToPrometheus)
	}
}

// TestEveryCommandThatPushesGaugesTakesTheSameFlags: --push-gauges and
// --push-gauges-header are one set (pushflags.go), listed alike.
func TestEveryCommandThatPushesGaugesTakesTheSameFlags(t *testing.T) {
	var names, with []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var want map[string]string
	for _, name := range names {
		got := flagHelp(t, name, "push-gauges")
		if len(got) == 0 {
			continue
		}
		with = append(with, name)
		if want == nil {
			want = got
		}
		if len(got) != 2 {
			t.Errorf("headroom %s takes %v; want --push-gauges and --push-gauges-header", name, got)
		}
		for f, u := range got {
			if u != want[f] {
				t.Errorf("headroom %s lists -%s as %q; other commands as %q", name, f, u, want[f])
			}
		}
	}
	if want := []string{"analyze", "report", "review"}; !slices.Equal(with, want) {
		t.Errorf("commands with --push-gauges: %v; want %v", with, want)
	}
}

// fakePrometheus records, for every request, its path and the headers
// that carry a tenant and credentials; it accepts remote writes and
// answers queries with one sample of 0.
type fakePrometheus struct {
	mu   sync.Mutex
	seen []promRequest
}

type promRequest struct{ path, tenant, auth string }

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, promRequest{r.URL.Path, r.Header.Get("X-Scope-OrgID"), r.Header.Get("Authorization")})
	f.mu.Unlock()
	switch r.URL.Path {
	case "/api/v1/write":
		w.WriteHeader(http.StatusNoContent)
	case "/api/v1/query":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"0"]}]}}`, time.Now().Unix())
	default:
		http.NotFound(w, r)
	}
}

func (f *fakePrometheus) requests() []promRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

// TestRunSendsThePrometheusOptionsWithItsWritesAndQueries: a shard of a
// sharded run remote-writes its series to --prometheus and judges its
// thresholds there; both the writes and the queries carry the tenant
// header and the bearer token of the --prometheus-* flags.
func TestRunSendsThePrometheusOptionsWithItsWritesAndQueries(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer target.Close()
	fake := &fakePrometheus{}
	prom := httptest.NewServer(fake)
	defer prom.Close()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"run", "--url", target.URL + "/api/items", "--stage", "1s:2", "--threshold", "http_req_failed:rate<0.01",
		"--shard", "0/2", "--remote-write-interval", "200ms", "--out", filepath.Join(dir, "run.json"), "--quiet",
		"--prometheus", prom.URL, "--prometheus-header", "X-Scope-OrgID: t1", "--prometheus-bearer-token-file", tokenFile}
	if err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	reqs := fake.requests()
	count := map[string]int{}
	for _, r := range reqs {
		count[r.path]++
		if r.tenant != "t1" || r.auth != "Bearer s3cret-token" {
			t.Errorf("%s came with X-Scope-OrgID %q and Authorization %q; want t1 and the token of --prometheus-bearer-token-file", r.path, r.tenant, r.auth)
		}
	}
	if count["/api/v1/write"] == 0 || count["/api/v1/query"] == 0 {
		t.Errorf("Prometheus got %v; want remote writes and threshold queries", count)
	}
}

// TestPromFlagsPassOnWhatWasSet: demo runs `run` with the connection flags
// it was given (promFlags.args); read back, they are the same options.
func TestPromFlagsPassOnWhatWasSet(t *testing.T) {
	given := []string{"--prometheus", "https://mimir.example:8443/prometheus", "--prometheus-timeout", "7s",
		"--prometheus-username", "u", "--prometheus-password", "p", "--prometheus-header", "X-Scope-OrgID: t1",
		"--prometheus-header", "X-Other: 2", "--prometheus-ca-file", "ca.pem", "--prometheus-cert-file", "c.pem",
		"--prometheus-key-file", "k.pem", "--prometheus-insecure-skip-verify"}
	parse := func(args []string) (*promFlags, map[string]bool) {
		t.Helper()
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var p promFlags
		p.register(fs, "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		return &p, set
	}
	e := &env{getenv: func(string) string { return "" }}
	first, set := parse(given)
	want, err := first.options(e, "t")
	if err != nil {
		t.Fatal(err)
	}
	second, _ := parse(first.args(set))
	got, err := second.options(e, "t")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("passed on as %v:\n got %+v\nwant %+v", first.args(set), got, want)
	}
	// Only what was set is passed on: the defaults stay the callee's.
	bare, bareSet := parse([]string{"--prometheus", "http://127.0.0.1:9090"})
	if args := bare.args(bareSet); !slices.Equal(args, []string{"--prometheus", "http://127.0.0.1:9090"}) {
		t.Errorf("a bare --prometheus is passed on as %v", args)
	}
}
