package planner

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

func launchPlan(t *testing.T) *model.Plan {
	t.Helper()
	return mustBuild(t, Input{Analysis: launchAnalysis(), Topology: launchTopology(), Target: Target{Multiplier: 3}})
}

// testedScenario is a two-flow scenario like the one the launch story's
// test ran, with thresholds of its own.
func testedScenario() *model.Scenario {
	s := &model.Scenario{
		Name: "checkout", Target: "http://127.0.0.1:8080",
		Flows: []model.Flow{
			{Name: "browse", Weight: 3, Steps: []model.Step{
				{Method: "GET", Path: "/api/products", Think: &model.Think{Duration: model.Duration(time.Second)}},
			}},
			{Name: "purchase", Weight: 1, Steps: []model.Step{
				{Method: "POST", Path: "/api/cart/add", Body: map[string]any{"sku": "a"}},
				{Method: "POST", Path: "/api/orders/create", Capture: map[string]string{"orderId": "$.id"}},
				{Method: "GET", Path: "/api/orders/{{orderId}}", Endpoint: "GET /api/orders/{id}"},
			}},
		},
		Executors: []model.Executor{{Type: model.ExecutorRampingVUs, Stages: []model.Stage{{Name: "ramp", Duration: model.Duration(time.Minute), Target: 50}}}},
		Thresholds: map[string][]model.Threshold{
			"http_req_duration":                             {{Expr: "p(95)<2000"}},
			"http_req_duration{endpoint:GET /api/products}": {{Expr: "p(95)<300"}},
			"http_req_duration{stage:ramp}":                 {{Expr: "p(95)<900"}},
		},
	}
	s.SetDefaults()
	return s
}

func TestVerifyDrivesTheTargetWithMarginSoaksAndIsStrict(t *testing.T) {
	p := launchPlan(t)
	v, err := Verify(p, VerifyOptions{Scenario: testedScenario()})
	if err != nil {
		t.Fatal(err)
	}
	// 120% of 540 RPS; 3 flows of 1 request to 1 of 3: 1.5 requests per iteration.
	if v.RateRPS != 648 || v.RequestsPerIteration != 1.5 || v.IterationRate != 432 {
		t.Errorf("rate %v RPS = %v it/s × %v", v.RateRPS, v.IterationRate, v.RequestsPerIteration)
	}
	ex := v.Verify.Executors
	if len(ex) != 1 || ex[0].Type != model.ExecutorRampingArrivalRate || len(ex[0].Stages) != 3 {
		t.Fatalf("executors = %+v", ex)
	}
	st := ex[0].Stages
	if st[1].Name != "soak" || st[1].Duration.D() != 30*time.Minute || st[1].Target != 432 || st[0].Duration.D() != 5*time.Minute || st[2].Target != 0 {
		t.Errorf("stages = %+v", st)
	}
	if ex[0].PreAllocatedVUs < 1 || ex[0].MaxVUs < ex[0].PreAllocatedVUs {
		t.Errorf("VUs %d–%d", ex[0].PreAllocatedVUs, ex[0].MaxVUs)
	}
	th := v.Verify.Thresholds
	if th["http_req_duration"][0].Expr != "p(95)<800" || th["http_req_failed"][0].Expr != "rate<0.01" || th["checks"][0].Expr != "rate>0.99" {
		t.Errorf("thresholds = %+v", th)
	}
	if _, ok := th["http_req_duration{endpoint:GET /api/products}"]; !ok {
		t.Error("the scenario's endpoint threshold was dropped")
	}
	if _, ok := th["http_req_duration{stage:ramp}"]; ok {
		t.Error("a threshold on a stage that no longer exists was kept")
	}
	// Steps without think time get one; the one with think keeps it.
	browse, purchase := v.Verify.Flows[0], v.Verify.Flows[1]
	if browse.Steps[0].Think.Duration.D() != time.Second || purchase.Steps[0].Think == nil || purchase.Steps[0].Think.Distribution != model.ThinkUniform {
		t.Errorf("think: %+v / %+v", browse.Steps[0].Think, purchase.Steps[0].Think)
	}
	sm := v.Smoke.Executors
	if len(sm) != 1 || sm[0].Type != model.ExecutorConstantVUs || sm[0].VUs != 100 || sm[0].Duration.D() != 5*time.Minute {
		t.Errorf("smoke = %+v", sm)
	}
	for _, s := range []*model.Scenario{v.Verify, v.Smoke} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		if err := s.CheckRunnable(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	if v.Verify.Name != "checkout-verify" || v.Smoke.Name != "checkout-smoke" {
		t.Errorf("names %q %q", v.Verify.Name, v.Smoke.Name)
	}
}

func TestVerifyWithoutAScenarioBuildsOneFlowPerEndpointByShare(t *testing.T) {
	p := launchPlan(t)
	v, err := Verify(p, VerifyOptions{Soak: 45 * time.Minute, Target: "http://127.0.0.1:9999"})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Verify.Flows) != 4 || v.Verify.Target != "http://127.0.0.1:9999" {
		t.Fatalf("flows = %d, target %s", len(v.Verify.Flows), v.Verify.Target)
	}
	total := 0.0
	for _, f := range v.Verify.Flows {
		total += f.Weight
	}
	// GET /api/products is 260 of 520 RPS.
	if f := v.Verify.Flows[0]; f.Steps[0].Endpoint != "GET /api/products" || math.Abs(f.Weight/total-0.5) > 0.001 {
		t.Errorf("first flow %+v, share %v", f.Steps[0], f.Weight/total)
	}
	var byID *model.Step
	for i := range v.Verify.Flows {
		if v.Verify.Flows[i].Steps[0].Endpoint == "GET /api/orders/{id}" {
			byID = &v.Verify.Flows[i].Steps[0]
		}
	}
	if byID == nil || byID.Path != "/api/orders/{{id}}" || v.Verify.Variables["id"] != "1" {
		t.Errorf("path parameters: %+v %v", byID, v.Verify.Variables)
	}
	if v.Verify.Executors[0].Stages[1].Duration.D() != 45*time.Minute {
		t.Errorf("soak = %s", v.Verify.Executors[0].Stages[1].Duration)
	}
	readme := string(VerifyReadme(p, v, VerifyFiles{}))
	for _, want := range []string{
		"headroom run smoke.yaml --target \"$TARGET\" --out current.json && headroom compare --baseline baseline.json --current current.json",
		"k6 run -e BASE_URL=",
		"648 RPS",
		"4 pods, DB pool 24, db.r5.xlarge with max_connections 130",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README lacks %q:\n%s", want, readme)
		}
	}
	golden(t, ".md", []byte(readme))
}

func TestVerifyRejectsWhatItCannotUse(t *testing.T) {
	p := launchPlan(t)
	noTarget := *p
	noTarget.Target.TargetRPS = 0
	noWorkload := *p
	noWorkload.Workload.Endpoints = nil
	tests := []struct {
		name string
		plan *model.Plan
		opts VerifyOptions
		is   error
		want string
	}{
		{"a plan without a target rate names the field", &noTarget, VerifyOptions{}, ErrBadInput, "target.target_rps"},
		{"a plan without a workload and no scenario asks for the scenario", &noWorkload, VerifyOptions{}, ErrBadVerifyOptions, "--scenario"},
		{"a negative soak is refused", p, VerifyOptions{Soak: -time.Minute}, ErrBadVerifyOptions, "must not be negative"},
		{"a think minimum above its maximum is refused", p, VerifyOptions{ThinkMin: 5 * time.Second, ThinkMax: time.Second}, ErrBadVerifyOptions, "think time minimum"},
		{"a target that is not a URL is refused", p, VerifyOptions{Target: "staging"}, ErrBadVerifyOptions, "staging"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.plan, tc.opts)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
}

func TestVerifyReadsAPlanBackFromJSON(t *testing.T) {
	b, err := json.Marshal(launchPlan(t))
	if err != nil {
		t.Fatal(err)
	}
	var p model.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	v, err := Verify(&p, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.RateRPS != 648 {
		t.Errorf("rate = %v", v.RateRPS)
	}
}

func TestVerifyDoesNotModifyTheScenario(t *testing.T) {
	s := testedScenario()
	before, _ := json.Marshal(s)
	if _, err := Verify(launchPlan(t), VerifyOptions{Scenario: s}); err != nil {
		t.Fatal(err)
	}
	if after, _ := json.Marshal(s); string(after) != string(before) {
		t.Errorf("Verify modified the scenario:\n%s\n%s", before, after)
	}
}

func TestVerifyCarriesTheExperimentThatSeparatesTwoSuspects(t *testing.T) {
	a := launchAnalysis()
	a.Bottleneck.Contender, a.Bottleneck.ContenderName = model.KindCPU, "CPU"
	a.Bottleneck.Experiment = &model.Experiment{
		Resource: model.KindDBPool, ResourceName: "DB connection pool", From: 20, To: 40, Unit: "connections", AtRPS: 480,
		Change:  "raise the DB connection pool from 20 to 40 connections",
		IfMoves: "DB connection pool was the limit after all, not CPU", IfFlat: "DB connection pool is a symptom and CPU is the limit",
		Text: "raise the DB connection pool from 20 to 40 connections in a short run at about 480 RPS: if throughput rises, DB connection pool was the limit after all, not CPU; if it does not move, DB connection pool is a symptom and CPU is the limit",
	}
	p := mustBuild(t, Input{Analysis: a, Topology: launchTopology(), Target: Target{Multiplier: 3}})
	if e := p.Measured.BottleneckExperiment; e == nil || e.Text != a.Bottleneck.Experiment.Text || p.Measured.BottleneckContender != "CPU" {
		t.Fatalf("plan measured = %+v, want the analysis's experiment and contender", p.Measured)
	}
	v, err := Verify(p, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Experiment == nil || v.Experiment.From != 20 || v.Experiment.To != 40 {
		t.Fatalf("verification experiment = %+v, want the pool from 20 to 40", v.Experiment)
	}
	if !strings.Contains(strings.Join(v.Notes, " "), "could not rule out CPU as the bottleneck instead of") {
		t.Errorf("notes %q do not say which suspect is open", v.Notes)
	}
	readme := string(VerifyReadme(p, v, VerifyFiles{}))
	if !strings.Contains(readme, "## First, tell the suspects apart") || !strings.Contains(readme, "raise the DB connection pool from 20 to 40 connections in a short run") {
		t.Errorf("README lacks the experiment:\n%s", readme)
	}
	// A plan without a contender says nothing of it.
	plain, err := Verify(launchPlan(t), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Experiment != nil || strings.Contains(string(VerifyReadme(launchPlan(t), plain, VerifyFiles{})), "suspects") {
		t.Errorf("a plan without a contender got an experiment: %+v", plain.Experiment)
	}
}
