package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/planner"

	"github.com/headroom-sh/headroom/internal/readfile"
)

func init() {
	register(&command{
		name:    "plan",
		summary: "turn an analysis into a capacity plan: changes, costs and assumptions",
		usage:   "--analysis analysis.json --topology topology.yaml (--target-multiplier N | --target-rps R) [--out DIR] [--report DIR] [flags]",
		example: `# We expect 3× today's traffic; what do we need and what does it cost?
headroom plan --analysis analysis.json --topology examples/topology.yaml --target-multiplier 3

# A target rate, a stricter SLO, negotiated prices, plan.md and plan.json in plans/:
headroom plan --analysis analysis.json --topology topology.yaml --target-rps 540 \
  --slo-p95 500ms --max-error-rate 0.01 --prices our-prices.yaml --out plans/

# The plan with the analysis's charts, as a report a lead can forward:
headroom plan --analysis analysis.json --topology topology.yaml --target-multiplier 3 --report report/

# The plan as JSON on stdout:
headroom plan --analysis analysis.json --topology topology.yaml --target-multiplier 3 --format json | jq .totals`,
		run: runPlan,
	})
}

type planCmdFlags struct {
	analysis, topology, prices, out, format       string
	report                                        string
	prom                                          promFlags
	multiplier, targetRPS, maxErrorRate, headroom float64
	sloP95                                        durationValue
}

func runPlan(ctx context.Context, e *env, args []string) error {
	c := commands["plan"]
	fs := newFlagSet(e, c)
	var f planCmdFlags
	fs.StringVar(&f.analysis, "analysis", "", "analysis.json `file` written by 'headroom analyze'")
	fs.StringVar(&f.topology, "topology", "", "topology.yaml `file`: pods, database, cache, baseline traffic")
	fs.Float64Var(&f.multiplier, "target-multiplier", 0, "plan for this `multiple` of the baseline RPS (3 = 3× today)")
	fs.Float64Var(&f.targetRPS, "target-rps", 0, "plan for this `rate` in requests/s")
	fs.Var(&f.sloP95, "slo-p95", "p95 latency `limit` (default: the analysis's SLO, else 800ms)")
	fs.Float64Var(&f.maxErrorRate, "max-error-rate", 0, "error-rate `limit` as a fraction (default: the analysis's SLO, else 0.05)")
	fs.Float64Var(&f.headroom, "target-headroom", model.DefaultTargetHeadroomRatio, "spare capacity `ratio` wanted over the target (0.20 = 20%)")
	fs.StringVar(&f.prices, "prices", "", "price catalog `file` laid over the built-in AWS us-east-1 prices (see 'headroom prices')")
	fs.StringVar(&f.out, "out", "", "`directory` to write plan.md and plan.json to (default: print to stdout)")
	fs.StringVar(&f.format, "format", "markdown", "stdout `format`: markdown or json")
	f.prom.register(fs, "Prometheus `URL` for the topology's baseline queries (overrides baseline.prometheus)")
	fs.StringVar(&f.report, "report", "", "also write report.md, report.json and report.html (the analysis's charts and the plan) to `DIR`")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("plan: unexpected argument %q (see 'headroom plan --help')", fs.Arg(0))
	}
	if f.analysis == "" {
		return errors.New("plan: --analysis is required: the analysis.json written by 'headroom analyze' (see 'headroom plan --help')")
	}
	if f.topology == "" {
		return errors.New("plan: --topology is required: a topology.yaml describing production (see examples/topology.yaml)")
	}
	target := planner.Target{
		Multiplier: f.multiplier, RPS: f.targetRPS,
		SLOP95: f.sloP95.d, MaxErrorRate: f.maxErrorRate, HeadroomRatio: f.headroom,
	}
	if err := app.CheckPlanTarget(target); err != nil {
		return planFlagError(err)
	}
	if f.headroom == 0 {
		// A flag has no "not given": 0 here is a wish for no headroom at
		// all, which a plan cannot aim at (the service's absent field is
		// the default instead).
		return errors.New("plan: --target-headroom 0: expected a fraction greater than 0 such as 0.2 (20% spare capacity)")
	}
	if f.format != "markdown" && f.format != "json" {
		return fmt.Errorf("plan: unknown --format %q; expected markdown or json", f.format)
	}

	a, err := planReadAnalysis(f.analysis)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	topo, err := planReadTopology(f.topology)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	prom, err := f.prom.options(e, "plan")
	if err != nil {
		return err
	}
	prices, err := planLoadPrices(f.prices)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	baseline, err := planBaselineSource(e, topo, prom, f.topology)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	p, err := app.Plan(ctx, app.PlanRequest{Analysis: a, Topology: topo, Target: target, Prices: prices, Baseline: baseline})
	var be *app.BaselineError
	switch {
	case errors.Is(err, app.ErrNoBaselineSource):
		return fmt.Errorf("plan: topology %q has baseline queries but no Prometheus to run them on: set baseline.prometheus or pass --prometheus URL", f.topology)
	case errors.As(err, &be):
		return fmt.Errorf("plan: topology %q on %s: %w", f.topology, planBaselineURL(topo, prom), err)
	case err != nil:
		return planFlagError(err)
	}
	if baseline != nil {
		e.log.Info("baseline from Prometheus", "rps", topo.Baseline.RPS, "peak_rps", topo.Baseline.PeakRPS)
	}
	e.log.Debug("planned", "target_rps", p.Target.TargetRPS, "changes", len(p.Changes), "delta_monthly", p.Totals.DeltaMonthly)

	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("plan: could not encode the plan: %w", err)
	}
	js = append(js, '\n')
	md := planner.Markdown(p)
	if f.report != "" {
		in := model.ReportInput{Service: topo.Service, GeneratedAt: time.Now().UTC(), Analysis: a, Plan: p}
		if _, err := writeReport(ctx, f.report, app.ReportRequest{Input: in}); err != nil {
			return fmt.Errorf("plan: --report: %w", err)
		}
		e.log.Info("wrote the report", "path", filepath.Join(f.report, reportHTMLFile))
	}
	if f.out != "" {
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return fmt.Errorf("plan: could not create %q: %w", f.out, err)
		}
		for name, data := range map[string][]byte{"plan.md": md, "plan.json": js} {
			path := filepath.Join(f.out, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				return fmt.Errorf("plan: could not write %q: %w", path, err)
			}
		}
		_, err := fmt.Fprintf(e.stdout, "%s\n\nWrote %s and %s.\n", p.Verdict, filepath.Join(f.out, "plan.md"), filepath.Join(f.out, "plan.json"))
		return err
	}
	if f.format == "json" {
		_, err = e.stdout.Write(js)
		return err
	}
	_, err = e.stdout.Write(md)
	return err
}

// planReadAnalysis reads analysis.json.
func planReadAnalysis(path string) (*model.Analysis, error) {
	data, err := readfile.Read(path, readfile.Document)
	if err != nil {
		return nil, fmt.Errorf("could not read analysis %q: %w", path, err)
	}
	var a model.Analysis
	if err := json.Unmarshal(data, &a); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(string(data[:min(int(se.Offset), len(data))]), "\n")
			return nil, fmt.Errorf("could not read analysis %q: line %d: %v (expected the analysis.json written by 'headroom analyze')", path, line, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("could not read analysis %q: field %s: expected %s, got JSON %s", path, te.Field, te.Type, te.Value)
		}
		return nil, fmt.Errorf("could not read analysis %q: %w", path, err)
	}
	if a.BreakingPoint == nil && a.TestedUpToRPS == 0 && len(a.Stages) == 0 {
		return nil, fmt.Errorf("analysis %q has no stages, breaking_point or tested_up_to_rps: is it the analysis.json written by 'headroom analyze'?", path)
	}
	return &a, nil
}

// planReadTopology reads topology.yaml.
func planReadTopology(path string) (*model.Topology, error) {
	data, err := readfile.Read(path, readfile.Config)
	if err != nil {
		return nil, fmt.Errorf("could not read topology %q: %w", path, err)
	}
	return planner.ParseTopology(data, path)
}

// planLoadPrices returns the built-in catalog with the user's file laid over it.
func planLoadPrices(path string) (*model.PriceCatalog, error) {
	base := planner.DefaultPrices()
	if path == "" {
		return base, nil
	}
	data, err := readfile.Read(path, readfile.Config)
	if err != nil {
		return nil, fmt.Errorf("could not read price catalog %q: %w", path, err)
	}
	user, err := planner.ParsePrices(data, path)
	if err != nil {
		return nil, err
	}
	return planner.MergePrices(base, user, path)
}

// planBaselineURL is where the topology's baseline queries run:
// --prometheus, else the topology's baseline.prometheus.
func planBaselineURL(t *model.Topology, prom app.PrometheusOptions) string {
	if prom.URL != "" {
		return prom.URL
	}
	return t.Baseline.Prometheus
}

// planBaselineSource opens the Prometheus the topology's baseline queries
// run on, when it has any and one is given (nil otherwise).
func planBaselineSource(e *env, t *model.Topology, prom app.PrometheusOptions, file string) (collector.Source, error) {
	url := planBaselineURL(t, prom)
	if !app.NeedsBaselineQueries(t) || url == "" {
		return nil, nil
	}
	src, err := app.OpenPrometheus(prom.WithURL(url), e.log)
	if err != nil {
		return nil, fmt.Errorf("baseline queries of %q: %w", file, err)
	}
	return src, nil
}

// planFlagError names the flag of a plan's option error.
func planFlagError(err error) error {
	var oe *app.OptionError
	if !errors.As(err, &oe) {
		return fmt.Errorf("plan: %w", err)
	}
	switch oe.Field {
	case "target_rps/target_multiplier":
		return fmt.Errorf("plan: give exactly one of --target-multiplier (3 = 3× the baseline RPS) and --target-rps (540), greater than 0: %s", oe.Msg)
	case "slo_p95", "max_error_rate", "target_headroom":
		return fmt.Errorf("plan: --%s %s", strings.ReplaceAll(oe.Field, "_", "-"), oe.Msg)
	}
	return fmt.Errorf("plan: %w", err)
}
