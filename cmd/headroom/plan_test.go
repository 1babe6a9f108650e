package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/scenario"
)

// runPlanCmd runs `headroom NAME args...` and returns its output.
func runPlanCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func planTestFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func fp(v float64) *float64 { return &v }

// launchAnalysisJSON is the launch story's analysis.json: break at 520 RPS
// on 3 pods, the DB pool (60 connections) full from 380 RPS, CPU 41%.
func launchAnalysisJSON(t *testing.T) string {
	t.Helper()
	bp := &model.BreakingPoint{Reason: model.ReasonLatencySLO, VUs: 160, RPS: 520, Value: 800, Limit: 800, Confidence: model.ConfidenceHigh}
	a := model.Analysis{
		RunID: "run-launch", Scenario: "checkout", LoadModel: model.LoadClosed,
		SLO:           model.SLO{P95Ms: 800, MaxErrorRate: 0.05},
		Stages:        []model.StageStats{{Name: "stage-1", RPS: 400, P95Ms: 320, Requests: 48000}},
		BreakingPoint: bp, BreakingPoints: []model.BreakingPoint{*bp}, TestedUpToRPS: 540,
		Endpoints: []model.EndpointStats{
			{Endpoint: "GET /api/products", RPS: 260, MeanMs: 60},
			{Endpoint: "POST /api/cart/add", RPS: 130, MeanMs: 45},
			{Endpoint: "POST /api/orders/create", RPS: 70, MeanMs: 140},
			{Endpoint: "GET /api/orders/{id}", RPS: 60, MeanMs: 60},
		},
		Bottleneck: model.Bottleneck{Resource: model.KindDBPool, Name: "DB connection pool", SaturatedAtRPS: fp(380), Confidence: model.ConfidenceHigh},
		Resources: []model.ResourceAnalysis{
			{Kind: model.KindDBPool, Name: "DB connection pool", Limit: 60, Saturated: true, SaturatedBy: model.SaturatedByUtilization,
				SaturatedAtRPS: fp(380), UtilizationAtBreak: fp(1), UtilizationAtPeak: fp(1)},
			{Kind: model.KindCPU, Name: "CPU", Limit: 3, UtilizationAtBreak: fp(0.41), UtilizationAtPeak: fp(0.43)},
			{Kind: model.KindRedis, Name: "Redis server", Limit: 1, UtilizationAtBreak: fp(0.22), UtilizationAtPeak: fp(0.23)},
		},
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return planTestFile(t, "analysis.json", string(b))
}

const exampleTopology = "../../examples/topology.yaml"

func TestPlanWritesPlanMarkdownAndJSONForTheLaunchStory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plans")
	out, _, err := runPlanCmd(t, "plan", "--analysis", launchAnalysisJSON(t), "--topology", exampleTopology, "--target-multiplier", "3", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "+$200.02 a month ($385.44 → $585.46)") || !strings.Contains(out, "plan.json") {
		t.Errorf("stdout = %q", out)
	}
	md, err := os.ReadFile(filepath.Join(dir, "plan.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Change | What | Monthly Cost Delta |", "| DB pool | Raise the DB pool from 20 to 24 connections per pod | $0.00 |", "## Assumptions"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("plan.md lacks %q", want)
		}
	}
	js, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p model.Plan
	if err := json.Unmarshal(js, &p); err != nil {
		t.Fatal(err)
	}
	if p.Totals.NewMonthly != 585.46 || p.Proposed.API.Pods != 4 || p.Proposed.Database.InstanceClass != "db.r5.xlarge" {
		t.Errorf("plan.json: %+v / %+v", p.Totals, p.Proposed.API)
	}
}

func TestPlanReportHoldsTheAnalysisChartsAndThePlan(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "report")
	if _, _, err := runPlanCmd(t, "plan", "--analysis", launchAnalysisJSON(t), "--topology", exampleTopology, "--target-multiplier", "3", "--report", dir); err != nil {
		t.Fatal(err)
	}
	var r model.Report
	js, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatal(err)
	}
	if r.Service != "checkout" {
		t.Errorf("report.json service = %q, want the topology's checkout", r.Service)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "db.r5.xlarge", "585.46"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q (the charts and the plan's changes and costs)", want)
		}
	}
}

func TestPlanPrintsJSONOrMarkdownToStdout(t *testing.T) {
	a := launchAnalysisJSON(t)
	out, _, err := runPlanCmd(t, "plan", "--analysis", a, "--topology", exampleTopology, "--target-rps", "540", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var p model.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Target.TargetRPS != 540 {
		t.Errorf("stdout is not the plan as JSON: %v", err)
	}
	out, _, err = runPlanCmd(t, "plan", "--analysis", a, "--topology", exampleTopology, "--target-rps", "540", "--slo-p95", "500ms", "--target-headroom", "0.3")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "# Capacity plan: checkout") || !strings.Contains(out, "| SLO | p95 < 500 ms") || !strings.Contains(out, "| Headroom | 30% → plan for 702 RPS |") {
		t.Errorf("markdown = %s", out)
	}
}

func TestPlanPricesFileChangesTheCosts(t *testing.T) {
	prices := planTestFile(t, "ours.yaml", `currency: USD
entries:
  - {kind: compute, name: m6i.large, vcpu: 2, memory_gib: 8, price: 0.05, unit: hour, as_of: "2026-11-01", source: "savings plan"}
`)
	out, _, err := runPlanCmd(t, "plan", "--analysis", launchAnalysisJSON(t), "--topology", exampleTopology, "--target-multiplier", "3", "--prices", prices, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var p model.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Changes {
		// 0.25 × 0.05 × 730 = 9.125 → 9.13.
		if c.ID == model.ChangeIDPods && c.MonthlyCostDelta != 9.13 {
			t.Errorf("pod delta = %v, want 9.13", c.MonthlyCostDelta)
		}
	}
}

func TestPlanErrorsNameTheFileLineFieldOrFlag(t *testing.T) {
	a := launchAnalysisJSON(t)
	badTopo := planTestFile(t, "topology.yaml", "service: x\napi:\n  pods: three\n")
	badPrices := planTestFile(t, "prices.yaml", "currency: USD\nentries:\n  - {kind: compute, name: m6i.large, vcpu: 2, memory_gib: 8, price: cheap, unit: hour, as_of: \"2026-01-01\", source: x}\n")
	noPriceTopo := planTestFile(t, "topology.yaml", strings.Replace(mustRead(t, exampleTopology), "instance_type: m6i.large", "instance_type: m9.huge", 1))
	badAnalysis := planTestFile(t, "analysis.json", "{\n  \"tested_up_to_rps\": \"lots\"\n}\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a topology with a word for a number names file, line and field", []string{"--analysis", a, "--topology", badTopo, "--target-multiplier", "3"}, `topology.yaml:3:9: api.pods: expected a whole number, got "three"`},
		{"a price file with a word for a price names file, line and field", []string{"--analysis", a, "--topology", exampleTopology, "--target-multiplier", "3", "--prices", badPrices}, `prices.yaml:3:69: entries[0].price: expected a number, got "cheap"`},
		{"an instance type without a price names the field", []string{"--analysis", a, "--topology", noPriceTopo, "--target-multiplier", "3"}, `api.instance_type "m9.huge" has no compute price`},
		{"an analysis of the wrong shape names the field", []string{"--analysis", badAnalysis, "--topology", exampleTopology, "--target-multiplier", "3"}, `field tested_up_to_rps: expected float64`},
		{"both targets are refused", []string{"--analysis", a, "--topology", exampleTopology, "--target-multiplier", "3", "--target-rps", "540"}, "exactly one of --target-multiplier"},
		{"no target is refused", []string{"--analysis", a, "--topology", exampleTopology}, "exactly one of --target-multiplier"},
		{"a missing analysis flag is named", []string{"--topology", exampleTopology, "--target-multiplier", "3"}, "--analysis is required"},
		{"a zero headroom is refused", []string{"--analysis", a, "--topology", exampleTopology, "--target-multiplier", "3", "--target-headroom", "0"}, "--target-headroom 0"},
		{"an unknown format is refused", []string{"--analysis", a, "--topology", exampleTopology, "--target-multiplier", "3", "--format", "pdf"}, `unknown --format "pdf"`},
		{"a missing analysis file is named", []string{"--analysis", "nope.json", "--topology", exampleTopology, "--target-multiplier", "3"}, `could not read analysis "nope.json"`},
		{"a baseline query without Prometheus asks for one", []string{"--analysis", a, "--topology", planTestFile(t, "t.yaml", strings.Replace(mustRead(t, exampleTopology), "  rps: 180\n", "  rps_query: vector(180)\n", 1)), "--target-multiplier", "3"}, "pass --prometheus URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runPlanCmd(t, append([]string{"plan"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if exitCode(err, &bytes.Buffer{}) != ExitError1 {
				t.Errorf("exit code %d, want 1", exitCode(err, &bytes.Buffer{}))
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPlanReadsTheBaselineFromPrometheus evaluates the topology's baseline
// queries on the real Prometheus of scripts/testenv.sh.
func TestPlanReadsTheBaselineFromPrometheus(t *testing.T) {
	url := testenv.Require(t, testenv.PrometheusURL)
	topo := strings.Replace(mustRead(t, exampleTopology), "  rps: 180\n  peak_rps: 210\n", "  rps_query: vector(180)\n  peak_query: scalar(vector(210))\n", 1)
	if !strings.Contains(topo, "rps_query") {
		t.Fatal("could not rewrite the example topology")
	}
	out, _, err := runPlanCmd(t, "plan", "--analysis", launchAnalysisJSON(t), "--topology", planTestFile(t, "topology.yaml", topo),
		"--target-multiplier", "3", "--prometheus", url, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var p model.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if p.Target.BaselineRPS != 180 || p.Target.BaselinePeakRPS != 210 || p.Target.TargetRPS != 540 {
		t.Errorf("baseline %v peak %v target %v", p.Target.BaselineRPS, p.Target.BaselinePeakRPS, p.Target.TargetRPS)
	}
	// A query returning several series is refused with a hint.
	topo2 := strings.Replace(topo, "vector(180)", `label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")`, 1)
	_, _, err = runPlanCmd(t, "plan", "--analysis", launchAnalysisJSON(t), "--topology", planTestFile(t, "topology.yaml", topo2),
		"--target-multiplier", "3", "--prometheus", url)
	if err == nil || !strings.Contains(err.Error(), "returned 2 series: expected exactly one number") {
		t.Errorf("err = %v", err)
	}
}

func TestPricesPrintsTheCatalogAsTableJSONAndYAML(t *testing.T) {
	out, _, err := runPlanCmd(t, "prices")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "AWS us-east-1 on-demand — USD, 730 hours a month") || !strings.Contains(out, "db.r5.large") || !strings.Contains(out, "182.50") {
		t.Errorf("table = %s", out)
	}
	out, _, err = runPlanCmd(t, "prices", "--format", "json", "--kind", "cache")
	if err != nil {
		t.Fatal(err)
	}
	var c model.PriceCatalog
	if err := json.Unmarshal([]byte(out), &c); err != nil || len(c.Entries) == 0 {
		t.Fatalf("json: %v", err)
	}
	for _, e := range c.Entries {
		if e.Kind != model.PriceCache {
			t.Errorf("--kind cache listed %s %s", e.Kind, e.Name)
		}
	}
	out, _, err = runPlanCmd(t, "prices", "--format", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "# headroom's built-in price catalog") {
		t.Errorf("yaml should be the shipped file with its comments: %.80s", out)
	}
	user := planTestFile(t, "ours.yaml", "currency: USD\nentries:\n  - {kind: database, engine: postgres, name: db.r5.large, vcpu: 2, memory_gib: 16, price: 0.2, unit: hour, as_of: \"2026-11-01\", source: contract}\n")
	out, _, err = runPlanCmd(t, "prices", "--prices", user, "--kind", "database")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "0.2/hour") || !strings.Contains(out, "contract") {
		t.Errorf("override not shown: %s", out)
	}
	if _, _, err := runPlanCmd(t, "prices", "--kind", "gpu"); err == nil || !strings.Contains(err.Error(), `unknown --kind "gpu"`) {
		t.Errorf("err = %v", err)
	}
}

func TestVerifyWritesTheScenarioK6ScriptSmokeProfileAndReadme(t *testing.T) {
	planDir := filepath.Join(t.TempDir(), "plans")
	if _, _, err := runPlanCmd(t, "plan", "--analysis", launchAnalysisJSON(t), "--topology", exampleTopology, "--target-multiplier", "3", "--out", planDir); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "verify")
	stdout, _, err := runPlanCmd(t, "verify", "--plan", filepath.Join(planDir, "plan.json"), "--scenario", "../../examples/scenarios/checkout.yaml", "--soak", "20m", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"verify.yaml", "verify.k6.js", "smoke.yaml", "README.md"} {
		if !strings.Contains(stdout, filepath.Join(out, f)) {
			t.Errorf("stdout does not list %s: %s", f, stdout)
		}
	}
	ver, err := scenario.ReadFile(filepath.Join(out, "verify.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ex := ver.Executors[0]
	if ex.Type != model.ExecutorRampingArrivalRate || ex.Stages[1].Name != "soak" || ex.Stages[1].Duration.D().Minutes() != 20 {
		t.Errorf("verify executor = %+v", ex)
	}
	if len(ver.Flows) != 3 || ver.Auth == nil {
		t.Errorf("the checkout scenario's flows and login were not kept: %d flows", len(ver.Flows))
	}
	// The rate times the requests per iteration is 120% of 540 RPS.
	rate := ex.Stages[1].Target
	var k, w float64
	for _, f := range ver.Flows {
		k += f.Weight * float64(len(f.Steps))
		w += f.Weight
	}
	if got := rate * k / w; got < 647 || got > 649 {
		t.Errorf("verification drives %.1f RPS, want 648", got)
	}
	smoke, err := scenario.ReadFile(filepath.Join(out, "smoke.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if smoke.Executors[0].Type != model.ExecutorConstantVUs || smoke.Executors[0].VUs != 100 {
		t.Errorf("smoke = %+v", smoke.Executors[0])
	}
	k6 := mustRead(t, filepath.Join(out, "verify.k6.js"))
	if !strings.Contains(k6, `executor: "ramping-arrival-rate"`) || !strings.Contains(k6, `"http_req_failed": ["rate<0.01"]`) {
		t.Errorf("k6 script:\n%.1500s", k6)
	}
	readme := mustRead(t, filepath.Join(out, "README.md"))
	if !strings.Contains(readme, "headroom run smoke.yaml --target \"$TARGET\" --out current.json && headroom compare --baseline baseline.json --current current.json") {
		t.Errorf("README lacks the CI line:\n%s", readme)
	}
}

func TestVerifyErrorsNameTheFileOrFlag(t *testing.T) {
	badPlan := planTestFile(t, "plan.json", `{"target": {"target_rps": 0, "slo": {"p95_ms": 800}}}`)
	planDir := filepath.Join(t.TempDir(), "plans")
	if _, _, err := runPlanCmd(t, "plan", "--analysis", launchAnalysisJSON(t), "--topology", exampleTopology, "--target-multiplier", "3", "--out", planDir); err != nil {
		t.Fatal(err)
	}
	goodPlan := filepath.Join(planDir, "plan.json")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a missing --plan is named", []string{}, "--plan is required"},
		{"a plan without a target names the field", []string{"--plan", badPlan}, "target.target_rps"},
		{"a plan that is not JSON is named", []string{"--plan", planTestFile(t, "plan.json", "target: 1")}, `could not read plan`},
		{"a bad scenario names its file and line", []string{"--plan", goodPlan, "--scenario", planTestFile(t, "s.yaml", "name: x\nflows: 3\n")}, `s.yaml:2:8: flows: `},
		{"a target that is not a URL is refused", []string{"--plan", badPlan, "--target", "staging"}, "--target"},
		{"zero smoke VUs are refused", []string{"--plan", badPlan, "--smoke-vus", "0"}, "--smoke-vus 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runPlanCmd(t, append([]string{"verify"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPlanPricesAndVerifyHelpShowAnExample(t *testing.T) {
	for _, name := range []string{"plan", "prices", "verify"} {
		out, _, err := runPlanCmd(t, name, "--help")
		if !errors.Is(err, errHelp) {
			t.Errorf("%s --help: err = %v", name, err)
		}
		if !strings.Contains(out, "Example:") || !strings.Contains(out, "headroom "+name) {
			t.Errorf("%s --help lacks an example:\n%s", name, out)
		}
	}
}
