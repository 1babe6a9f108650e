package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/headroom-sh/headroom/dashboards"
	"github.com/headroom-sh/headroom/internal/testenv"
)

func TestGoldenCheckedInDashboards(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, err := runCmd(t, "dashboards", "generate", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	files := strings.Fields(stdout)
	if len(files) != 3 {
		t.Fatalf("wrote %v, want 3 files", files)
	}
	for _, f := range files {
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkedIn(t, filepath.Join("dashboards", filepath.Base(f)), got)
	}
}

func TestDashboardsLint(t *testing.T) {
	root := testenv.Root()
	good := filepath.Join(root, "dashboards", dashboards.LoadUID+".json")

	t.Run("the checked-in dashboards pass", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(root, "dashboards", "*.json"))
		stdout, _, err := runCmd(t, append([]string{"dashboards", "lint"}, files...)...)
		if err != nil || stdout != "" {
			t.Errorf("err %v, stdout %q", err, stdout)
		}
	})

	t.Run("a broken dashboard's problems are listed with its file and the count is the error", func(t *testing.T) {
		b, err := os.ReadFile(good)
		if err != nil {
			t.Fatal(err)
		}
		broken := strings.Replace(string(b), `"uid": "${datasource}"`, `"uid": "prom-old"`, 1)
		broken = strings.Replace(broken, `run_id=\"$run_id\"`, `run_id=\"$run\"`, 1)
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, _, err := runCmd(t, "dashboards", "lint", good, bad)
		if err == nil || err.Error() != "dashboards lint: 2 problems in 1 of 2 files" {
			t.Errorf("err = %v", err)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], bad+": ") || !strings.Contains(stdout, `no datasource with uid "prom-old"`) ||
			!strings.Contains(stdout, "$run is not a template variable") {
			t.Errorf("stdout:\n%s", stdout)
		}
		// A datasource that exists elsewhere can be named.
		stdout, _, _ = runCmd(t, "dashboards", "lint", "--datasource-uid", "prom-old", bad)
		if strings.Contains(stdout, "prom-old") {
			t.Errorf("--datasource-uid prom-old did not make it known:\n%s", stdout)
		}
	})

	t.Run("lint without files is refused", func(t *testing.T) {
		if _, _, err := runCmd(t, "dashboards", "lint"); err == nil || !strings.Contains(err.Error(), "no files given") {
			t.Errorf("err = %v", err)
		}
	})
}

// grafanaStub answers a push the way an empty Grafana does and records the
// requests' method, path and Authorization header.
type grafanaStub struct {
	mu       sync.Mutex
	requests []string
	saved    []map[string]any
}

func (g *grafanaStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "GET" && r.URL.Path == "/api/folders":
		io.WriteString(w, `[]`)
	case r.Method == "POST" && r.URL.Path == "/api/folders":
		io.WriteString(w, `{"id":1,"uid":"headroom","title":"headroom"}`)
	case r.Method == "GET":
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"not found"}`)
	case r.Method == "POST" && r.URL.Path == "/api/datasources":
		io.WriteString(w, `{"id":1}`)
	case r.Method == "POST" && r.URL.Path == "/api/dashboards/db":
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		g.saved = append(g.saved, m)
		uid := m["dashboard"].(map[string]any)["uid"].(string)
		io.WriteString(w, `{"id":1,"uid":"`+uid+`","slug":"s","version":1,"status":"success"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func TestDashboardsPush(t *testing.T) {
	t.Run("the token comes from GRAFANA_TOKEN and each dashboard's outcome is printed", func(t *testing.T) {
		g := &grafanaStub{}
		srv := httptest.NewServer(g)
		defer srv.Close()
		t.Setenv("GRAFANA_TOKEN", "from-env")
		stdout, stderr, err := runCmd(t, "dashboards", "push", "--grafana-url", srv.URL, "--datasource-url", "http://prom:9090")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		for _, r := range g.requests {
			if !strings.HasSuffix(r, " Bearer from-env") {
				t.Errorf("request %q without the token", r)
			}
		}
		if len(g.requests) != 10 || len(g.saved) != 3 {
			t.Errorf("requests %v", g.requests)
		}
		want := []string{
			"folder      created   headroom (uid headroom)",
			"dashboard   created   headroom / Load run (uid headroom-load, version 1) " + srv.URL + "/d/headroom-load/s",
			"dashboard   created   headroom / Saturation (uid headroom-saturation, version 1)",
			"dashboard   created   headroom / Capacity (uid headroom-capacity, version 1)",
		}
		for _, w := range want {
			if !strings.Contains(stdout, w) {
				t.Errorf("stdout lacks %q:\n%s", w, stdout)
			}
		}
	})

	t.Run("--from pushes the JSON files of a directory as they are", func(t *testing.T) {
		g := &grafanaStub{}
		srv := httptest.NewServer(g)
		defer srv.Close()
		dir := filepath.Join(testenv.Root(), "dashboards")
		if _, stderr, err := runCmd(t, "dashboards", "push", "--grafana-url", srv.URL, "--grafana-token", "t", "--from", dir); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if len(g.saved) != 3 {
			t.Fatalf("saved %d dashboards", len(g.saved))
		}
		want, err := os.ReadFile(filepath.Join(dir, dashboards.CapacityUID+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var wm any
		_ = json.Unmarshal(want, &wm)
		got, _ := json.Marshal(g.saved[0]["dashboard"])
		wantJSON, _ := json.Marshal(wm)
		if string(got) != string(wantJSON) {
			t.Errorf("the first file (sorted) was not pushed as it is")
		}
	})

	t.Run("a push without a Grafana URL says how to give one", func(t *testing.T) {
		t.Setenv("GRAFANA_URL", "")
		_, _, err := runCmd(t, "dashboards", "push")
		if err == nil || !strings.Contains(err.Error(), "pass --grafana-url") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("Grafana's refusal is the error, with what was done so far on stdout", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"invalid API key"}`)
		}))
		defer srv.Close()
		_, _, err := runCmd(t, "dashboards", "push", "--grafana-url", srv.URL, "--grafana-token", "bad")
		var ge *dashboards.GrafanaError
		if !errors.As(err, &ge) || ge.StatusCode != 401 || !strings.Contains(err.Error(), srv.URL+"/api/folders") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestDashboardsSubcommands(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand is an error that lists them", []string{"dashboards"}, "no subcommand given: expected generate, push or lint"},
		{"an unknown subcommand is an error", []string{"dashboards", "upload"}, `unknown subcommand "upload"`},
		{"a bad flag names the subcommand", []string{"dashboards", "generate", "--outdir", "x"}, "dashboards generate: flag provided but not defined: -outdir"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := runCmd(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
	for _, sub := range []string{"generate", "push", "lint"} {
		stdout, _, err := runCmd(t, "dashboards", sub, "--help")
		if !errors.Is(err, errHelp) || !strings.Contains(stdout, "headroom dashboards "+sub) || !strings.Contains(stdout, "Example:") {
			t.Errorf("dashboards %s --help: err %v\n%s", sub, err, stdout)
		}
	}
}
