package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/scenario/k6"
	"os"
	"path/filepath"

	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/planner"
	"github.com/headroom-sh/headroom/scenario"

	"github.com/headroom-sh/headroom/internal/readfile"
)

func init() {
	register(&command{
		name:    "verify",
		summary: "write the pre-launch verification test and CI smoke profile for a plan",
		usage:   "--plan plan.json [--scenario scenario.yaml] [--soak 30m] [--out DIR] [flags]",
		example: `# verify.yaml, verify.k6.js, smoke.yaml and README.md in verify/, reusing the
# flows of the scenario the analysis was made from:
headroom verify --plan plans/plan.json --scenario examples/scenarios/checkout.yaml --out verify/

# Then, against staging shaped like the plan:
headroom run verify/verify.yaml --target https://staging.example.com --out verify-run.json

# And in CI, against a stored baseline run:
headroom run verify/smoke.yaml --out current.json && headroom compare --baseline baseline.json --current current.json`,
		run: runVerify,
	})
}

func runVerify(ctx context.Context, e *env, args []string) error {
	c := commands["verify"]
	fs := newFlagSet(e, c)
	planFile := fs.String("plan", "", "plan.json `file` written by 'headroom plan'")
	scenarioFile := fs.String("scenario", "", "the tested scenario `file` whose flows to reuse (default: one flow per endpoint of the plan's workload)")
	target := fs.String("target", "", "base `URL` of the system to verify (default: the scenario's, else http://127.0.0.1:8080)")
	out := fs.String("out", "verify", "`directory` to write verify.yaml, verify.k6.js, smoke.yaml and README.md to")
	factor := fs.Float64("factor", planner.DefaultVerifyFactor, "rate to drive as a `multiple` of the plan's target")
	var soak, ramp, smokeDur durationValue
	fs.Var(&soak, "soak", "`duration` of the soak at the verification rate (default 30m)")
	fs.Var(&ramp, "ramp", "`duration` of the ramp to the verification rate (default 5m)")
	fs.Var(&smokeDur, "smoke-duration", "`duration` of the CI smoke profile (default 5m)")
	smokeVUs := fs.Int("smoke-vus", planner.DefaultSmokeVUs, "`VUs` of the CI smoke profile")
	maxErr := fs.Float64("max-error-rate", planner.DefaultVerifyMaxErrorRate, "error-rate `limit` of the verification as a fraction")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("verify: unexpected argument %q (see 'headroom verify --help')", fs.Arg(0))
	}
	if *planFile == "" {
		return errors.New("verify: --plan is required: the plan.json written by 'headroom plan --out DIR' (see 'headroom verify --help')")
	}
	if *smokeVUs < 1 {
		return fmt.Errorf("verify: --smoke-vus %d: expected at least 1", *smokeVUs)
	}
	if *factor <= 0 {
		return fmt.Errorf("verify: --factor %v: expected a multiple of the target greater than 0, such as 1.2", *factor)
	}
	if *maxErr <= 0 || *maxErr > 1 {
		return fmt.Errorf("verify: --max-error-rate %v: expected a fraction between 0 and 1, such as 0.01", *maxErr)
	}
	for name, d := range map[string]durationValue{"--soak": soak, "--ramp": ramp, "--smoke-duration": smokeDur} {
		if d.set && d.d <= 0 {
			return fmt.Errorf("verify: %s must be greater than 0", name)
		}
	}
	if *target != "" {
		if err := model.ValidateTarget(*target); err != nil {
			return fmt.Errorf("verify: --target: %w", err)
		}
	}

	p, err := verifyReadPlan(*planFile)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	opts := planner.VerifyOptions{
		Target: *target, Factor: *factor, MaxErrorRate: *maxErr,
		Soak: soak.d, Ramp: ramp.d, SmokeVUs: *smokeVUs, SmokeDuration: smokeDur.d,
	}
	if *scenarioFile != "" {
		s, err := scenario.ReadFile(*scenarioFile)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if *target != "" {
			s.Target = *target
		}
		opts.Scenario = s
	}
	v, err := planner.Verify(p, opts)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	files := planner.VerifyFiles{Verify: "verify.yaml", K6: "verify.k6.js", Smoke: "smoke.yaml"}
	verifyYAML, err := scenario.Marshal(v.Verify)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	smokeYAML, err := scenario.Marshal(v.Smoke)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	k6Script, err := k6.Script(v.Verify, k6.ScriptOptions{Source: "headroom verify --plan " + filepath.Base(*planFile)})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	header := fmt.Sprintf("# Pre-launch verification written by 'headroom verify' from %s:\n# %s RPS (%.0f%% of the plan's %.0f RPS target), p95 < %.0f ms.\n",
		filepath.Base(*planFile), verifyFmtRPS(v.RateRPS), *factor*100, p.Target.TargetRPS, p.Target.SLO.P95Ms)
	smokeHeader := "# CI smoke profile written by 'headroom verify': run it and compare with a stored baseline run.\n"
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("verify: could not create %q: %w", *out, err)
	}
	write := []struct {
		name string
		data []byte
	}{
		{files.Verify, append([]byte(header), verifyYAML...)},
		{files.K6, k6Script},
		{files.Smoke, append([]byte(smokeHeader), smokeYAML...)},
		{"README.md", planner.VerifyReadme(p, v, files)},
	}
	for _, w := range write {
		path := filepath.Join(*out, w.name)
		if err := os.WriteFile(path, w.data, 0o644); err != nil {
			return fmt.Errorf("verify: could not write %q: %w", path, err)
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", path)
	}
	for _, n := range v.Notes {
		e.log.Info(n)
	}
	return nil
}

// verifyReadPlan reads plan.json.
func verifyReadPlan(path string) (*model.Plan, error) {
	data, err := readfile.Read(path, readfile.Document)
	if err != nil {
		return nil, fmt.Errorf("could not read plan %q: %w", path, err)
	}
	var p model.Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("could not read plan %q: %w (expected the plan.json written by 'headroom plan')", path, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("plan %q:\n%w", path, err)
	}
	return &p, nil
}

func verifyFmtRPS(v float64) string { return fmt.Sprintf("%.0f", v) }
