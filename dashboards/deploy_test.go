package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/headroom-sh/headroom/internal/testenv"
)

// The files of deploy/ this package generates or goes with.
var (
	rulesFile     = filepath.Join("deploy", "prometheus", "rules", "headroom.rules.yml")
	rulesTestFile = filepath.Join("deploy", "prometheus", "rules", "headroom.rules.test.yml")
	datasources   = filepath.Join("deploy", "grafana", "datasources", "prometheus.yaml")
	providers     = filepath.Join("deploy", "grafana", "dashboards", "headroom.yaml")
	alertmanager  = filepath.Join("deploy", "alertmanager", "alertmanager.yml")
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	root := testenv.Root()
	if root == "" {
		t.Fatal("no repository root (go.mod) above the working directory")
	}
	return filepath.Join(root, rel)
}

func readYAML(t *testing.T, rel string, v any) {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

func TestProvisioningMatchesTheDashboards(t *testing.T) {
	var dsFile struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, Access, URL string
			IsDefault                    bool           `yaml:"isDefault"`
			Editable                     bool           `yaml:"editable"`
			JSONData                     map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, datasources, &dsFile)
	if dsFile.APIVersion != 1 || len(dsFile.Datasources) != 1 {
		t.Fatalf("%s: %+v", datasources, dsFile)
	}
	ds := dsFile.Datasources[0]
	if ds.UID != DatasourceUID || ds.Name != DatasourceName || ds.Type != DatasourceType || ds.Access != "proxy" || ds.URL != DefaultDatasourceURL {
		t.Errorf("%s: datasource %+v, want uid %s, name %q, type %s at %s", datasources, ds, DatasourceUID, DatasourceName, DatasourceType, DefaultDatasourceURL)
	}

	var provFile struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Type, Folder    string
			OrgID                 int    `yaml:"orgId"`
			FolderUID             string `yaml:"folderUid"`
			AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
			DisableDeletion       bool   `yaml:"disableDeletion"`
			UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
			Options               struct {
				Path                      string
				FoldersFromFilesStructure bool `yaml:"foldersFromFilesStructure"`
			}
		}
	}
	readYAML(t, providers, &provFile)
	if provFile.APIVersion != 1 || len(provFile.Providers) != 1 {
		t.Fatalf("%s: %+v", providers, provFile)
	}
	p := provFile.Providers[0]
	if p.Type != "file" || p.Folder != FolderTitle || p.FolderUID != FolderUID || p.Options.Path == "" {
		t.Errorf("%s: provider %+v, want a file provider into folder %s (uid %s)", providers, p, FolderTitle, FolderUID)
	}

	// The checked-in dashboards are what the provider reads: they must use
	// only the provisioned datasource.
	files, err := filepath.Glob("*.json")
	if err != nil || len(files) != 3 {
		t.Fatalf("checked-in dashboards: %v %v, want 3 files", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(b, ValidateOptions{Datasources: []string{ds.UID}}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestTheCheckedInRulesValidate(t *testing.T) {
	b, err := os.ReadFile(repoFile(t, rulesFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckRules(b); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	promtool := testenv.Require(t, testenv.Promtool)
	out, err := exec.Command(promtool, "check", "rules", "--lint=all", "--lint-fatal", repoFile(t, rulesFile)).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// TestPrometheusLoadsTheRulesButNotTheirTests reads the rule_files globs
// of deploy/prometheus/prometheus.yml: they must load headroom.rules.yml and
// must not load headroom.rules.test.yml, which is promtool's test file and
// makes Prometheus refuse the whole configuration.
func TestPrometheusLoadsTheRulesButNotTheirTests(t *testing.T) {
	var cfg struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	b, err := os.ReadFile(repoFile(t, filepath.Join("deploy", "prometheus", "prometheus.yml")))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	loaded := map[string]bool{}
	for _, pattern := range cfg.RuleFiles {
		files, err := filepath.Glob(filepath.Join(repoFile(t, filepath.Join("deploy", "prometheus")), pattern))
		if err != nil {
			t.Fatalf("rule_files %q: %v", pattern, err)
		}
		for _, f := range files {
			loaded[filepath.Base(f)] = true
		}
	}
	if !loaded[filepath.Base(rulesFile)] {
		t.Errorf("deploy/prometheus/prometheus.yml: rule_files %v do not load %s", cfg.RuleFiles, rulesFile)
	}
	if loaded[filepath.Base(rulesTestFile)] {
		t.Errorf("deploy/prometheus/prometheus.yml: rule_files %v load the unit tests %s, which Prometheus refuses "+
			"(field tests not found in type rulefmt.RuleGroups); use rules/*.rules.yml", cfg.RuleFiles, rulesTestFile)
	}
}

// TestTheRuleUnitTestsPass runs the promtool unit tests of the checked-in
// rules: each alert fires when it should and stays silent when it should not.
func TestTheRuleUnitTestsPass(t *testing.T) {
	promtool := testenv.Require(t, testenv.Promtool)
	out, err := exec.Command(promtool, "test", "rules", repoFile(t, rulesTestFile)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// TestTheRuleUnitTestsCatchBrokenRules breaks the checked-in rules one way
// at a time and checks that the unit tests then fail, in the test that
// covers what was broken (failing is what promtool prints about it).
func TestTheRuleUnitTestsCatchBrokenRules(t *testing.T) {
	promtool := testenv.Require(t, testenv.Promtool)
	rules, err := os.ReadFile(repoFile(t, rulesFile))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(repoFile(t, rulesTestFile))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, from, to, failing string
	}{
		{"a saturation threshold of 70% fires at 75%", `{resource="db_pool"} > 0.8`, `{resource="db_pool"} > 0.7`,
			"name: saturation approaching stays silent at 75 percent of a limit"},
		{"a headroom alert after 14 minutes fires too early", "for: 15m", "for: 14m",
			"name: headroom below target fires after 15 minutes"},
		{"a headroom alert that ignores the default target misses search", "headroom_headroom_ratio < 0.2", "headroom_headroom_ratio < 0.1",
			"name: headroom below target fires after 15 minutes"},
		{"a review staleness of 8 days does not fire at 7", "> 604800", "> 691200",
			"name: capacity review stale fires after seven days"},
		{"failed requests without transport errors are undercounted", `status=~"error|[45].."`, `status=~"[45].."`,
			`expr: "headroom:requests_failed:ratio_rate1m"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(rules, []byte(c.from)) {
				t.Fatalf("the rules do not contain %q", c.from)
			}
			dir := t.TempDir()
			broken := bytes.ReplaceAll(rules, []byte(c.from), []byte(c.to))
			if err := os.WriteFile(filepath.Join(dir, "headroom.rules.yml"), broken, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "headroom.rules.test.yml"), tests, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(promtool, "test", "rules", filepath.Join(dir, "headroom.rules.test.yml")).CombinedOutput()
			if err == nil {
				t.Fatalf("the unit tests passed with broken rules:\n%s", out)
			}
			if !strings.Contains(string(out), c.failing) {
				t.Errorf("the failure is not in %q:\n%s", c.failing, out)
			}
		})
	}
}

// TestARealPrometheusAcceptsEveryDashboardQuery sends every query of the
// checked-in dashboards, variables replaced as Validate replaces them, to
// the Prometheus of the test environment (Debian's 2.42): the parser this
// package uses is newer, and users run older servers.
func TestARealPrometheusAcceptsEveryDashboardQuery(t *testing.T) {
	base := testenv.Require(t, testenv.PrometheusURL)
	files, err := filepath.Glob("*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no checked-in dashboards: %v", err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		v := &validator{known: map[string]bool{}, vars: map[string]variable{}}
		v.dashboard(d)
		var exprs []string
		for _, a := range listAt(d, "annotations", "list") {
			if e, ok := a.(map[string]any)["expr"].(string); ok {
				exprs = append(exprs, e)
			}
		}
		var walk func(ps []any)
		walk = func(ps []any) {
			for _, rp := range ps {
				p := rp.(map[string]any)
				if nested, ok := p["panels"].([]any); ok {
					walk(nested)
				}
				targets, _ := p["targets"].([]any)
				for _, rt := range targets {
					if e, ok := rt.(map[string]any)["expr"].(string); ok {
						exprs = append(exprs, e)
					}
				}
			}
		}
		walk(d["panels"].([]any))
		for _, e := range exprs {
			q := v.substitute(e)
			resp, err := http.PostForm(strings.TrimRight(base, "/")+"/api/v1/query", map[string][]string{"query": {q}})
			if err != nil {
				t.Fatal(err)
			}
			var answer struct {
				Status, Error string
			}
			err = json.NewDecoder(resp.Body).Decode(&answer)
			resp.Body.Close()
			if err != nil || answer.Status != "success" {
				t.Errorf("%s: Prometheus refused %s: %v %s", f, q, err, answer.Error)
			}
			n++
		}
	}
	t.Logf("%d queries accepted", n)
}

// alertmanagerBinary finds Debian's prometheus-alertmanager, which
// scripts/install-deps.sh installs: under CI its absence fails the test.
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	if p := testenv.Get("HEADROOM_TEST_ALERTMANAGER"); p != "" {
		return p
	}
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testenv.InCI() {
		t.Fatal("prometheus-alertmanager is not installed: scripts/install-deps.sh (make test) installs it")
	}
	t.Skip("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager) and HEADROOM_TEST_ALERTMANAGER is not set")
	return ""
}

// TestAlertmanagerRoutesHeadroomAlerts starts a real Alertmanager with the
// example configuration, its webhooks pointed at a test server, posts one
// alert of each kind and checks which receiver each reaches.
func TestAlertmanagerRoutesHeadroomAlerts(t *testing.T) {
	bin := alertmanagerBinary(t)
	if amtool, err := exec.LookPath("amtool"); err == nil {
		if out, err := exec.Command(amtool, "check-config", repoFile(t, alertmanager)).CombinedOutput(); err != nil {
			t.Fatalf("amtool check-config: %v\n%s", err, out)
		}
	}

	type delivery struct {
		path, receiver string
		alerts         []map[string]string
	}
	deliveries := make(chan delivery, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Receiver string `json:"receiver"`
			Alerts   []struct {
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			t.Errorf("webhook: %v", err)
		}
		d := delivery{path: r.URL.Path, receiver: msg.Receiver}
		for _, a := range msg.Alerts {
			d.alerts = append(d.alerts, a.Labels)
		}
		deliveries <- d
	}))
	defer hook.Close()

	// The example configuration, with its webhooks sent to the test server
	// and the grouping waits shortened.
	var cfg map[string]any
	readYAML(t, alertmanager, &cfg)
	for _, r := range cfg["receivers"].([]any) {
		for _, wh := range r.(map[string]any)["webhook_configs"].([]any) {
			w := wh.(map[string]any)
			path := w["url"].(string)[strings.LastIndex(w["url"].(string), "/"):]
			w["url"] = hook.URL + path
		}
	}
	route := cfg["route"].(map[string]any)
	route["group_wait"], route["group_interval"] = "1s", "1s"
	for _, sub := range route["routes"].([]any) {
		sub.(map[string]any)["group_wait"] = "1s"
	}
	dir := t.TempDir()
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgFile, b, 0o644); err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgFile, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitOnce sync.Once
	stop := func() {
		waitOnce.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	defer stop()
	base := "http://" + addr
	waitReady(t, ctx, base+"/-/ready", &logs)

	now := time.Now().UTC().Format(time.RFC3339)
	alerts := []map[string]any{
		{"labels": map[string]string{"alertname": "HeadroomBelowTarget", "service": "checkout", "severity": "warning"}, "startsAt": now},
		{"labels": map[string]string{"alertname": "SaturationApproaching", "resource": "db_pool", "family": "pgxpool", "severity": "warning"}, "startsAt": now},
		{"labels": map[string]string{"alertname": "DiskFilling", "severity": "warning"}, "startsAt": now},
	}
	body, _ := json.Marshal(alerts)
	resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting alerts: %s", resp.Status)
	}

	want := map[string]struct{ receiver, alertname string }{
		"/capacity-planning": {"capacity-planning", "HeadroomBelowTarget"},
		"/on-call":           {"on-call", "SaturationApproaching"},
		"/default":           {"default", "DiskFilling"},
	}
	got := map[string]delivery{}
	deadline := time.After(time.Minute)
	for len(got) < len(want) {
		select {
		case d := <-deliveries:
			got[d.path] = d
		case <-deadline:
			t.Fatalf("after a minute, deliveries reached %d of %d receivers: %+v\nalertmanager log:\n%s", len(got), len(want), got, logs.String())
		}
	}
	for path, w := range want {
		d := got[path]
		if d.receiver != w.receiver || len(d.alerts) != 1 || d.alerts[0]["alertname"] != w.alertname {
			t.Errorf("%s got %+v, want receiver %s with %s", path, d, w.receiver, w.alertname)
		}
	}
}

// freeAddr returns a local address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// waitReady polls a readiness URL until it answers 200 or ctx ends.
func waitReady(t *testing.T, ctx context.Context, url string, logs fmt.Stringer) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never became ready: %v\n%s", url, ctx.Err(), logs.String())
		case <-tick.C:
		}
	}
}
