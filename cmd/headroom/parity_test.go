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
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/planner"
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
	hs := serveForTest(t, s)
	call := func(method, path string, body any, wantStatus int, out any) {
		t.Helper()
		data := apiCall(ctx, t, hs.URL, token, method, path, body, wantStatus)
		if raw, ok := out.(*[]byte); ok {
			*raw = data
		} else if out != nil {
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

	// A plan from that analysis for the example topology at 3× its
	// baseline: `headroom plan` and POST /api/v1/plans give the same plan.
	topoYAML, err := os.ReadFile(exampleTopology)
	if err != nil {
		t.Fatal(err)
	}
	topo, err := planner.ParseTopology(topoYAML, exampleTopology)
	if err != nil {
		t.Fatal(err)
	}
	var planViaAPI server.PlanResource
	call("POST", "/api/v1/plans", map[string]any{"analysis_id": viaAPI.ID, "topology": topo, "target_multiplier": 3}, http.StatusCreated, &planViaAPI)
	planOut, err := runCLI(t, "plan", "--analysis", cliFile, "--topology", exampleTopology, "--target-multiplier", "3", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var apiPlan bytes.Buffer
	if err := json.Indent(&apiPlan, planViaAPI.Plan, "", "  "); err != nil {
		t.Fatal(err)
	}
	apiPlan.WriteByte('\n')
	if apiPlan.String() != planOut {
		t.Errorf("the CLI and the API planned differently:\n%s", firstDifference(apiPlan.String(), planOut))
	}
	planFile := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(planFile, []byte(planOut), 0o644); err != nil {
		t.Fatal(err)
	}

	// The reports of that analysis, alone and with its plan: `headroom
	// report --run run.json` (which reads the run's series again from its
	// store) and GET .../report.{md,json,html} (which keeps the series the
	// analysis was made from) give the same report.md, report.json and
	// report.html, but for the time each was generated.
	for _, tc := range []struct {
		name, api string
		cli       []string
	}{
		{"analysis", "/api/v1/analyses/" + viaAPI.ID, nil},
		{"plan", "/api/v1/plans/" + planViaAPI.ID, []string{"--plan", planFile}},
	} {
		t.Run("the reports of the "+tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"report", "--analysis", cliFile, "--run", runFile, "--out", dir}, tc.cli...)
			if _, stderr, err := runHeadroom(t, args...); err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			} else if strings.Contains(stderr, "resource charts are left out") {
				t.Fatalf("the CLI could not read the run's series again:\n%s", stderr)
			}
			for _, file := range []string{reportMarkdownFile, reportJSONFile, reportHTMLFile} {
				cli, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				var api []byte
				call("GET", tc.api+"/"+file, nil, http.StatusOK, &api)
				if a, c := withoutGeneratedAt(api), withoutGeneratedAt(cli); a != c {
					t.Errorf("%s: the CLI and the API wrote different reports:\n%s", file, firstDifference(a, c))
				}
			}
		})
	}
	// The report has what a report is for: the resource charts, drawn
	// from the run's series.
	var rep model.Report
	var raw []byte
	call("GET", "/api/v1/plans/"+planViaAPI.ID+"/report.json", nil, http.StatusOK, &raw)
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	resourceCharts := 0
	for _, c := range rep.Charts {
		if strings.HasPrefix(c.ID, "resource:") {
			resourceCharts++
		}
	}
	if rep.Plan == nil || rep.GeneratedAt == nil || resourceCharts == 0 {
		t.Errorf("report with plan %v, generated at %v and %d resource charts (skipped %+v); want a plan, a time and resource charts", rep.Plan != nil, rep.GeneratedAt, resourceCharts, rep.Skipped)
	}
}

// generatedAt matches the time a report was generated, in report.md and
// report.html ("Generated 2026-01-02 15:04 UTC") and report.json.
var generatedAt = regexp.MustCompile(`Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC|"generated_at": "[^"]*"`)

// withoutGeneratedAt is a report with the time it was generated blanked:
// the CLI stamps the time it runs, the service the time the analysis or
// plan was made.
func withoutGeneratedAt(b []byte) string {
	return generatedAt.ReplaceAllString(string(b), "Generated (time)")
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

// TestTheCLIAndTheAPIReviewAlike reviews one recorded production day
// through both front ends: `headroom review`, and PUT
// /api/v1/reviews/{service} then POST .../run on a service whose clock
// stands at the same end. The day's process CPU comes from a target on
// 127.0.0.1 with no CPU limit in its metrics, which is where the two used
// to differ (the CLI took this machine's cores as the limit). Without a
// stated limit the CPU sets no capacity in either; with one (--limit-for
// cpu=N, limit_for {cpu: N}) it does in both. The reviews must be the
// same, and so must the service gauges the CLI writes and the service
// exports.
func TestTheCLIAndTheAPIReviewAlike(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const job = "review-parity"
	base := startReviewPrometheusWith(t, job, true)
	end := reviewTestDay.Add(24 * time.Hour)
	selector := fmt.Sprintf(`{job=%q}`, job)

	const token = "parity-admin-token-0123456789"
	s, err := server.New(server.Config{
		DataDir: t.TempDir(), Tokens: []server.Token{{Value: token, Admin: true}},
		Prometheus: server.PrometheusConfig{PrometheusOptions: app.PrometheusOptions{URL: base}},
		Clock:      func() time.Time { return end },
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := serveForTest(t, s)
	call := func(t *testing.T, method, path string, body any, wantStatus int) []byte {
		t.Helper()
		return apiCall(ctx, t, hs.URL, token, method, path, body, wantStatus)
	}

	for _, tc := range []struct {
		name, service string
		cpuLimit      float64 // 0: none stated
	}{
		{"no CPU limit is invented", "checkout-parity", 0},
		{"a stated CPU limit counts in both", "checkout-parity-limit", 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gaugesFile := filepath.Join(t.TempDir(), "gauges.prom")
			args := []string{"review", "--prometheus", base, "--service", tc.service, "--selector", selector,
				"--slo-p95", "300ms", "--lookback", "1d", "--end", end.Format(time.RFC3339), "--format", "json", "--gauges-file", gaugesFile}
			spec := map[string]any{"selector": selector, "lookback": "1d", "slo": map[string]any{"p95_ms": 300}}
			if tc.cpuLimit > 0 {
				args = append(args, "--limit-for", fmt.Sprintf("cpu=%g", tc.cpuLimit))
				spec["limit_for"] = map[string]float64{"cpu": tc.cpuLimit}
			}
			stdout, stderr, err := runHeadroom(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			var viaCLI model.Review
			if err := json.Unmarshal([]byte(stdout), &viaCLI); err != nil {
				t.Fatalf("stdout is not a review: %v\n%s", err, stdout)
			}
			call(t, "PUT", "/api/v1/reviews/"+tc.service, spec, http.StatusOK)
			var rec model.ReviewRecord
			if err := json.Unmarshal(call(t, "POST", "/api/v1/reviews/"+tc.service+"/run", nil, http.StatusCreated), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Error != "" {
				t.Fatalf("the service's review failed: %s", rec.Error)
			}
			cli, _ := json.MarshalIndent(viaCLI, "", "  ")
			api, _ := json.MarshalIndent(rec.Review, "", "  ")
			if !bytes.Equal(cli, api) {
				t.Errorf("the CLI and the API reviewed %s differently:\n%s", tc.service, firstDifference(string(api), string(cli)))
			}
			// They agree on something worth agreeing on.
			var cpu *model.ReviewResource
			for i := range viaCLI.Resources {
				if viaCLI.Resources[i].Kind == model.KindCPU {
					cpu = &viaCLI.Resources[i]
				}
			}
			switch {
			case viaCLI.CapacityRPS <= 0:
				t.Errorf("no capacity found: %+v", viaCLI)
			case tc.cpuLimit == 0 && (viaCLI.LimitedBy != model.KindDBPool || (cpu != nil && cpu.SaturationRPS != nil)):
				t.Errorf("limited by %q, cpu %+v; want the pool, and no saturation for a CPU whose limit nothing states", viaCLI.LimitedBy, cpu)
			case tc.cpuLimit > 0 && (viaCLI.LimitedBy != model.KindCPU || cpu == nil || cpu.SaturationRPS == nil):
				// 1 ms per request against 0.5 cores saturates at 90% near
				// 450 RPS, before the pool's 900.
				t.Errorf("limited by %q at %.0f RPS, cpu %+v; want the stated CPU limit", viaCLI.LimitedBy, viaCLI.CapacityRPS, cpu)
			}

			// The gauges: the CLI's file and the service's /metrics carry
			// the same headroom_* series.
			fromFile, err := os.ReadFile(gaugesFile)
			if err != nil {
				t.Fatal(err)
			}
			exported := string(call(t, "GET", "/metrics", nil, http.StatusOK))
			want := gaugeLines(string(fromFile), tc.service)
			if len(want) == 0 {
				t.Fatalf("the CLI's gauges file has no series of %s:\n%s", tc.service, fromFile)
			}
			if got := gaugeLines(exported, tc.service); !slices.Equal(got, want) {
				t.Errorf("the service exports\n%s\nthe CLI wrote\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// gaugeLines are the sample lines of a service's gauges in a text
// exposition, sorted, without timestamps.
func gaugeLines(text, service string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "headroom_server_") || !strings.Contains(l, `service="`+service+`"`) {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		out = append(out, f[0]+" "+f[1])
	}
	sort.Strings(out)
	return out
}

// serveForTest serves s's API on a test server, closed and shut down when
// the test ends.
func serveForTest(t *testing.T, s *server.Server) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		_ = s.Shutdown(sctx)
	})
	return hs
}

// apiCall sends body as JSON (none when nil) to base+path with the bearer
// token, fails the test unless the answer has wantStatus, and gives the
// answer's body.
func apiCall(ctx context.Context, t *testing.T, base, token, method, path string, body any, wantStatus int) []byte {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
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
	return data
}
