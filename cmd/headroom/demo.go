package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/examples/checkout"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/scenario"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "the whole pipeline on the checkout demo: staged load, metrics, breaking point and bottleneck",
		usage:   "[--out DIR] [--report DIR] [--pool N] [--order-db-ms MS] [--time-scale F] | --target URL --prometheus URL --selector S",
		example: `# Everything in-process, only Go needed: the checkout demo on its simulated
# backend (pool 20, 40 ms per order: capacity 500 orders/s), the launch ramp
# 10 → 50 → 200 → 500 VUs, the embedded metrics store, the analysis:
headroom demo

# A quicker run (stages at a third of their length) with a bigger pool:
headroom demo --time-scale 0.33 --pool 40 --out /tmp/demo

# The same story against a real deployment whose Prometheus scrapes it and
# accepts remote write:
headroom demo --target http://127.0.0.1:8080 --prometheus http://127.0.0.1:9090 --selector '{job="checkout"}'`,
		run: runDemo,
	})
}

// demoStages is the launch story's ramp compressed to about two minutes.
var demoStages = []model.Stage{
	{Name: "warm-up", Duration: model.Duration(15 * time.Second), Target: 10},
	{Name: "ramp-50", Duration: model.Duration(15 * time.Second), Target: 50},
	{Name: "ramp-200", Duration: model.Duration(20 * time.Second), Target: 200},
	{Name: "ramp-500", Duration: model.Duration(20 * time.Second), Target: 500},
	{Name: "sustain-500", Duration: model.Duration(30 * time.Second), Target: 500},
	{Name: "ramp-down", Duration: model.Duration(10 * time.Second), Target: 0},
}

// demoScenario logs each VU in once and has it create orders with a short
// think time, so that load grows with VUs until the order pool saturates.
func demoScenario(target string, scale float64) *model.Scenario {
	stages := make([]model.Stage, len(demoStages))
	for i, s := range demoStages {
		s.Duration = model.Duration(math.Round(float64(s.Duration) * scale))
		stages[i] = s
	}
	return &model.Scenario{
		Name:   "checkout-launch",
		Target: target,
		Headers: map[string]string{
			"Content-Type": "application/json",
		},
		Auth: &model.Auth{Step: model.Step{
			Method:  "POST",
			Path:    "/api/auth/login",
			Body:    map[string]any{"username": "user{{vu()}}", "password": checkout.UserPassword},
			Capture: map[string]string{"token": "$.token"},
		}},
		Flows: []model.Flow{{
			Name: "order",
			Steps: []model.Step{{
				Method: "POST",
				Path:   "/api/orders/create",
				Body:   map[string]any{},
				Checks: []model.Check{{Name: "order created", Status: []int{201}}},
				Think: &model.Think{
					Distribution: model.ThinkUniform,
					Min:          model.Duration(150 * time.Millisecond),
					Max:          model.Duration(350 * time.Millisecond),
				},
			}},
		}},
		Executors: []model.Executor{{
			Name:             "launch",
			Type:             model.ExecutorRampingVUs,
			Stages:           stages,
			GracefulRampDown: model.Duration(5 * time.Second),
		}},
	}
}

type demoFlags struct {
	out, target, prometheus, selector, report string
	pool                                      int
	orderDBMs                                 int
	timeScale                                 float64
	sloP95                                    time.Duration
	quiet                                     bool
}

func runDemo(ctx context.Context, e *env, args []string) error {
	c := commands["demo"]
	fs := newFlagSet(e, c)
	var f demoFlags
	fs.StringVar(&f.out, "out", "demo-out", "`DIR` for scenario.yaml, run.json, the metrics store (run.tsdb), analysis.json and report/ (report.html, report.md, report.json)")
	fs.IntVar(&f.pool, "pool", checkout.DefaultPoolSize, "in-process demo: DB connection pool size")
	fs.IntVar(&f.orderDBMs, "order-db-ms", int(checkout.DefaultOrderDBHold/time.Millisecond), "in-process demo: milliseconds each order holds its DB connection")
	fs.Float64Var(&f.timeScale, "time-scale", 1, "multiply every stage's duration by this factor, from 0.1 to 10 (1 is about 2 minutes)")
	fs.DurationVar(&f.sloP95, "slo-p95", analyzer.DefaultSLOP95, "p95 latency limit for the breaking point")
	fs.StringVar(&f.target, "target", "", "run against this deployment instead of the in-process demo (needs --prometheus)")
	fs.StringVar(&f.prometheus, "prometheus", "", "with --target: the Prometheus that scrapes the target and accepts remote write")
	fs.StringVar(&f.selector, "selector", `{job="checkout"}`, "with --target: label selector of the target's series")
	fs.StringVar(&f.report, "report", "", "`DIR` for report.md, report.json and report.html (default: OUT/report)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected argument %q (see 'headroom demo --help')", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	switch {
	case f.timeScale < 0.1 || f.timeScale > 10 || math.IsNaN(f.timeScale):
		return fmt.Errorf("demo: --time-scale %v: expected a factor from 0.1 to 10", f.timeScale)
	case (f.target == "") != (f.prometheus == ""):
		return errors.New("demo: --target and --prometheus go together: the runner remote-writes to that Prometheus, which must scrape the target")
	case f.target != "" && (set["pool"] || set["order-db-ms"]):
		return errors.New("demo: --pool and --order-db-ms configure the in-process demo and cannot be used with --target")
	case f.pool < 1:
		return fmt.Errorf("demo: --pool %d: expected at least 1", f.pool)
	case f.orderDBMs < 1:
		return fmt.Errorf("demo: --order-db-ms %d: expected at least 1", f.orderDBMs)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("demo: --out: %w", err)
	}
	runFile := filepath.Join(f.out, "run.json")
	// A previous demo's store would mix two runs; each demo starts afresh.
	if err := os.RemoveAll(filepath.Join(f.out, "run.tsdb")); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	target := f.target
	var expected float64
	if target == "" {
		srv, addr, err := startDemoCheckout(ctx, e, f.pool, time.Duration(f.orderDBMs)*time.Millisecond)
		if err != nil {
			return err
		}
		defer srv.Close()
		target = "http://" + addr
		expected = srv.OrderCapacity()
		fmt.Fprintf(e.stdout, "Checkout demo (simulated PostgreSQL and Redis) on %s: DB pool %d, %d ms per order → capacity %.0f orders/s\n\n",
			target, f.pool, f.orderDBMs, expected)
	}

	sc := demoScenario(target, f.timeScale)
	scFile := filepath.Join(f.out, "scenario.yaml")
	data, err := scenario.Marshal(sc)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(scFile, data, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	runArgs := []string{scFile, "--out", runFile}
	if f.quiet {
		runArgs = append(runArgs, "--quiet")
	}
	if f.prometheus != "" {
		runArgs = append(runArgs, "--prometheus", f.prometheus, "--selector", f.selector)
	} else {
		runArgs = append(runArgs, "--scrape", "checkout="+target+"/metrics")
	}
	if err := runRun(ctx, e, runArgs); err != nil {
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitCheckFailed {
			return fmt.Errorf("demo: %w", err)
		}
	}

	af := analyzeFlags{runFile: runFile, sloP95: f.sloP95, maxErrorRate: "5%", saturation: "90%", out: filepath.Join(f.out, "analysis.json")}
	if f.prometheus == "" {
		// The embedded store gets the runner's metrics every second and
		// scrapes the demo every second, so short windows are exact enough
		// and keep load and resources aligned through fast ramps.
		af.step, af.rateWindow = 2*time.Second, 4*time.Second
	}
	opts, err := analyzeOptions(&af)
	if err != nil {
		return err
	}
	a, obs, run, err := analyzeWindowObs(ctx, e, &af, opts)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := writeJSONFile(af.out, a); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(e.stdout)
	writeAnalysisText(e.stdout, &a)
	if expected > 0 {
		found := demoCapacity(&a)
		fmt.Fprintf(e.stdout, "\nExpected capacity (pool size / hold time): %.0f orders/s; found %.0f requests/s (%+.1f%%).\n",
			expected, found, 100*(found/expected-1))
	}
	reportDir := f.report
	if reportDir == "" {
		reportDir = filepath.Join(f.out, "report")
	}
	in := model.ReportInput{Title: "Checkout demo: capacity report", Service: "checkout", GeneratedAt: time.Now().UTC(), Analysis: &a, Observations: obs, Run: run}
	if err := writeReport(reportDir, in); err != nil {
		return fmt.Errorf("demo: --report: %w", err)
	}
	fmt.Fprintf(e.stdout, "\nWrote %s, %s, %s (metrics store), %s and the report %s.\n",
		scFile, runFile, filepath.Join(f.out, "run.tsdb"), af.out, filepath.Join(reportDir, reportHTMLFile))
	return nil
}

// demoCapacity is the throughput the analysis found the system carries:
// the breaking point's, or the most it was seen to carry.
func demoCapacity(a *model.Analysis) float64 {
	if a.BreakingPoint != nil {
		return a.BreakingPoint.RPS
	}
	return a.TestedUpToRPS
}

// startDemoCheckout serves the checkout demo on its simulated backend on a
// free loopback port.
func startDemoCheckout(ctx context.Context, e *env, pool int, hold time.Duration) (*checkout.Server, string, error) {
	srv, err := checkout.New(ctx, checkout.Config{
		Backend:     checkout.BackendSim,
		PoolSize:    pool,
		OrderDBHold: hold,
		Logger:      quietLogger(e),
	})
	if err != nil {
		return nil, "", fmt.Errorf("demo: could not start the checkout demo: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, "", fmt.Errorf("demo: %w", err)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !strings.Contains(err.Error(), "closed") {
			e.log.Error("checkout demo stopped", "err", err)
		}
	}()
	return srv, ln.Addr().String(), nil
}
