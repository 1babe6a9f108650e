package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/examples"
	"github.com/headroom-sh/headroom/examples/checkout"
	"github.com/headroom-sh/headroom/examples/shapes"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/scenario"

	"github.com/headroom-sh/headroom/internal/readfile"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "the whole pipeline on a demo target: staged load, metrics, breaking point, bottleneck, plan, report, dashboards and alerts",
		usage:   "[--bottleneck pool|cpu|redis|shed|retrograde|slo|flow|none] [--out DIR] [--report DIR] [--pool N] [--order-db-ms MS] [--time-scale F] | --target URL --prometheus URL --selector S",
		example: `# Everything in-process, only Go needed: the checkout demo on its simulated
# backend (pool 20, 40 ms per order: capacity 500 orders/s), the launch ramp
# 10 → 50 → 200 → 500 VUs, the embedded metrics store, the analysis, then
# the costed plan for 3× today's traffic, the report, dashboards and alerts:
headroom demo

# Other ways to break, each on a target of known capacity: a CPU quota, a
# single-threaded Redis (needs redis-server and prometheus-redis-exporter),
# load shedding (503 when full), throughput that falls with concurrency, a
# latency SLO crossed before throughput saturates, one endpoint of three
# on a pool, and nothing breaking at all:
headroom demo --bottleneck cpu
headroom demo --bottleneck redis
headroom demo --bottleneck shed --time-scale 0.5

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
	out, target, selector, report string
	prom                          promFlags
	bottleneck, topology          string
	pool                          int
	orderDBMs                     int
	timeScale, multiplier         float64
	sloP95                        time.Duration
	quiet                         bool
}

// demoBottlenecks are the stories of --bottleneck: pool is the checkout
// demo, the others the targets of examples/shapes.
var demoBottlenecks = []string{"pool", shapes.CPU, shapes.Redis, shapes.Shed, shapes.Retrograde, shapes.SLO, shapes.Flow, shapes.None}

func runDemo(ctx context.Context, e *env, args []string) error {
	n, args, err := repeatArg("demo", args)
	if err != nil {
		return err
	}
	if n > 1 {
		return runRepeated(ctx, e, "demo", args, n)
	}
	c := commands["demo"]
	fs := newFlagSet(e, c)
	fs.Int("repeat", 1, repeatUsage)
	var f demoFlags
	fs.StringVar(&f.bottleneck, "bottleneck", "pool", "the story: "+strings.Join(demoBottlenecks, ", ")+" (pool is the checkout demo)")
	fs.StringVar(&f.topology, "topology", "", "topology.yaml `file` the capacity plan is made for (default: the example checkout topology, examples/topology.yaml)")
	fs.Float64Var(&f.multiplier, "target-multiplier", 3, "plan for this `multiple` of the topology's baseline traffic")
	fs.StringVar(&f.out, "out", "demo-out", "`DIR` for scenario.yaml, run.json, the metrics store (run.tsdb), analysis.json, plan/, report/, dashboards/ and rules/")
	fs.IntVar(&f.pool, "pool", checkout.DefaultPoolSize, "in-process demo: DB connection pool size")
	fs.IntVar(&f.orderDBMs, "order-db-ms", int(checkout.DefaultOrderDBHold/time.Millisecond), "in-process demo: milliseconds each order holds its DB connection")
	fs.Float64Var(&f.timeScale, "time-scale", 1, "multiply every stage's duration by this factor, from 0.1 to 10 (1 is about 2 minutes)")
	fs.DurationVar(&f.sloP95, "slo-p95", analyzer.DefaultSLOP95, "p95 latency limit for the breaking point (default 800ms for pool, "+shapes.DefaultSLOP95.String()+" for the others)")
	fs.StringVar(&f.target, "target", "", "run against this deployment instead of the in-process demo (needs --prometheus)")
	f.prom.register(fs, "with --target: the Prometheus `URL` that scrapes the target and accepts remote write (with the --prometheus-* headers, credentials and TLS settings)")
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
	known := false
	for _, b := range demoBottlenecks {
		known = known || b == f.bottleneck
	}
	shape := ""
	if f.bottleneck != "pool" {
		shape = f.bottleneck
	}
	switch {
	case !known:
		return fmt.Errorf("demo: --bottleneck %q: expected one of %s", f.bottleneck, strings.Join(demoBottlenecks, ", "))
	case shape != "" && f.target != "":
		return fmt.Errorf("demo: --bottleneck %s runs its own target and cannot be used with --target (the checkout story)", f.bottleneck)
	case shape != "" && (set["pool"] || set["order-db-ms"]):
		return fmt.Errorf("demo: --pool and --order-db-ms configure the checkout demo (--bottleneck pool), not --bottleneck %s", f.bottleneck)
	case !(f.multiplier > 0) || math.IsInf(f.multiplier, 0):
		return fmt.Errorf("demo: --target-multiplier %v: expected a multiple greater than 0 such as 3", f.multiplier)
	case f.timeScale < 0.1 || f.timeScale > 10 || math.IsNaN(f.timeScale):
		return fmt.Errorf("demo: --time-scale %v: expected a factor from 0.1 to 10", f.timeScale)
	case (f.target == "") != (f.prom.url == ""):
		return errors.New("demo: --target and --prometheus go together: the runner remote-writes to that Prometheus, which must scrape the target")
	case f.target != "" && (set["pool"] || set["order-db-ms"]):
		return errors.New("demo: --pool and --order-db-ms configure the in-process demo and cannot be used with --target")
	case f.pool < 1:
		return fmt.Errorf("demo: --pool %d: expected at least 1", f.pool)
	case f.orderDBMs < 1:
		return fmt.Errorf("demo: --order-db-ms %d: expected at least 1", f.orderDBMs)
	}
	prom, err := f.prom.options(e, "demo")
	if err != nil {
		return err
	}
	if prom.URL == "" {
		for _, name := range promFlagNames[1:] {
			if set[name] {
				return fmt.Errorf("demo: --%s needs --target and --prometheus URL", name)
			}
		}
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("demo: --out: %w", err)
	}
	runFile := filepath.Join(f.out, "run.json")
	// A previous demo's store would mix two runs; each demo starts afresh.
	if err := os.RemoveAll(filepath.Join(f.out, "run.tsdb")); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	if shape != "" && !set["slo-p95"] {
		f.sloP95 = shapes.DefaultSLOP95
	}
	target := f.target
	// expected is the capacity by construction, in requests/s, and why.
	var expected float64
	var expectedWhy string
	var scrape []string
	var sc *model.Scenario
	selector := f.selector
	if shape != "" {
		st, err := startDemoShape(ctx, e, shape, f.out, f.sloP95)
		if err != nil {
			return err
		}
		defer st.close()
		target = "http://" + st.addr
		cfg := st.srv.Config()
		expected, expectedWhy = cfg.Capacity(f.sloP95), "by construction"
		fmt.Fprintf(e.stdout, "The %s demo on %s: %s\n\n", shape, target, cfg.Describe(f.sloP95))
		ramp := time.Duration(math.Max(float64(10*time.Second), math.Round(float64(shapes.DefaultRamp)*f.timeScale)))
		sc, err = cfg.Scenario(target, shapes.LoadOptions{Style: shapes.Smooth, Model: shapes.Closed, Ramp: ramp})
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		scrape = append(scrape, "shapes="+target+"/metrics")
		if st.redis != nil {
			scrape = append(scrape, "redis="+st.redis.ExporterURL)
		}
		selector = `{job="shapes"}`
	} else {
		if target == "" {
			srv, addr, err := startDemoCheckout(ctx, e, f.pool, time.Duration(f.orderDBMs)*time.Millisecond)
			if err != nil {
				return err
			}
			defer srv.Close()
			target = "http://" + addr
			expected, expectedWhy = srv.OrderCapacity(), "pool size / hold time"
			fmt.Fprintf(e.stdout, "Checkout demo (simulated PostgreSQL and Redis) on %s: DB pool %d, %d ms per order → capacity %.0f orders/s\n\n",
				target, f.pool, f.orderDBMs, expected)
			scrape = append(scrape, "checkout="+target+"/metrics")
		}
		sc = demoScenario(target, f.timeScale)
	}

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
	if f.prom.url != "" {
		runArgs = append(append(runArgs, f.prom.args(set)...), "--selector", f.selector)
	} else {
		for _, s := range scrape {
			runArgs = append(runArgs, "--scrape", s)
		}
	}
	if err := runRun(ctx, e, runArgs); err != nil {
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitCheckFailed {
			return fmt.Errorf("demo: %w", err)
		}
	}

	analysisFile := filepath.Join(f.out, "analysis.json")
	run, err := readRunFile(runFile)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	opts := app.DefaultAnalyzeOptions()
	opts.SLOP95 = f.sloP95
	// The run records where its series are; the connection options apply
	// to it.
	a, obs, err := app.Analyze(ctx, &app.AnalyzeRequest{Run: run, RunDir: f.out, Prometheus: prom.WithURL(""), Options: opts, Logger: e.log})
	if err != nil {
		return fmt.Errorf("demo: analyze: %w", err)
	}
	if err := writeJSONFile(analysisFile, a); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(e.stdout)
	writeAnalysisText(e.stdout, &a)
	if expected > 0 {
		found := demoCapacity(&a)
		switch {
		case shape == shapes.None:
			fmt.Fprintf(e.stdout, "\nExpected: no breaking point (capacity %.0f requests/s by construction, far above the test); ", expected)
			if a.BreakingPoint == nil {
				fmt.Fprintf(e.stdout, "found none up to %.0f requests/s.\n", a.TestedUpToRPS)
			} else {
				fmt.Fprintf(e.stdout, "found %s at %.0f requests/s.\n", a.BreakingPoint.Reason, a.BreakingPoint.RPS)
			}
		case shape == "":
			fmt.Fprintf(e.stdout, "\nExpected capacity (%s): %.0f orders/s; found %.0f requests/s (%+.1f%%).\n",
				expectedWhy, expected, found, 100*(found/expected-1))
		default:
			fmt.Fprintf(e.stdout, "\nExpected capacity (%s): %.0f requests/s; found %.0f requests/s (%+.1f%%).\n",
				expectedWhy, expected, found, 100*(found/expected-1))
		}
	}

	// The rest of the story: what to buy for the launch, the report a lead
	// can forward, the dashboards and the alerts.
	fmt.Fprintln(e.stdout)
	topoFile := f.topology
	if topoFile == "" {
		topoFile = filepath.Join(f.out, "topology.yaml")
		if err := os.WriteFile(topoFile, examples.Topology, 0o644); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	planDir := filepath.Join(f.out, "plan")
	fmt.Fprintf(e.stdout, "Capacity plan for %s× today's traffic (%s):\n", numfmt.Round(f.multiplier, 1), topoFile)
	if err := runPlan(ctx, e, []string{"--analysis", analysisFile, "--topology", topoFile,
		"--target-multiplier", strconv.FormatFloat(f.multiplier, 'g', -1, 64), "--out", planDir}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	reportDir := f.report
	if reportDir == "" {
		reportDir = filepath.Join(f.out, "report")
	}
	service, title := "checkout", "Checkout demo: capacity report"
	if shape != "" {
		service, title = "shapes-"+shape, "The "+shape+" demo: capacity report"
	}
	var plan *model.Plan
	if p, err := readPlanFile(filepath.Join(planDir, "plan.json")); err == nil {
		plan = p
	} else {
		return fmt.Errorf("demo: %w", err)
	}
	in := model.ReportInput{Title: title, Service: service, GeneratedAt: time.Now().UTC(), Analysis: &a, Observations: obs, Run: run, Plan: plan}
	if _, err := writeReport(ctx, reportDir, app.ReportRequest{Input: in}); err != nil {
		return fmt.Errorf("demo: --report: %w", err)
	}
	// dashboards generate lists each file on stdout; the demo sums them up.
	quiet := *e
	quiet.stdout, quiet.log = io.Discard, quietLogger(e)
	dashDir := filepath.Join(f.out, "dashboards")
	if err := runDashboardsGenerate(ctx, &quiet, []string{"--out", dashDir, "--selector", selector}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	rulesFile := filepath.Join(f.out, "rules", "headroom.rules.yml")
	if err := os.MkdirAll(filepath.Dir(rulesFile), 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := runRules(ctx, &quiet, []string{"--out", rulesFile, "--selector", selector}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(e.stdout, "\nWrote %s, %s, %s (metrics store) and %s;\nthe report %s (with the plan); Grafana dashboards in %s; Prometheus rules and alerts in %s.\n",
		scFile, runFile, filepath.Join(f.out, "run.tsdb"), analysisFile, filepath.Join(reportDir, reportHTMLFile), dashDir, rulesFile)
	return nil
}

// readPlanFile reads the plan.json that runPlan wrote.
func readPlanFile(path string) (*model.Plan, error) {
	data, err := readfile.Read(path, readfile.Document)
	if err != nil {
		return nil, fmt.Errorf("could not read the plan %q: %w", path, err)
	}
	var p model.Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("could not read the plan %q: %w", path, err)
	}
	return &p, nil
}

// demoShape is a shapes target served in-process, with its Redis when it
// has one.
type demoShape struct {
	srv   *shapes.Server
	addr  string
	redis *shapes.RedisStack
}

func (d *demoShape) close() {
	d.srv.Close()
	if d.redis != nil {
		d.redis.Stop()
	}
}

// startDemoShape serves the shape on a free loopback port; the redis shape
// first starts its own redis-server and redis_exporter under out/redis.
func startDemoShape(ctx context.Context, e *env, shape, out string, slo time.Duration) (*demoShape, error) {
	d := &demoShape{}
	cfg := shapes.Config{Shape: shape, Logger: quietLogger(e)}
	if shape == shapes.Redis {
		st, err := shapes.StartRedis(ctx, filepath.Join(out, "redis"))
		if err != nil {
			if errors.Is(err, shapes.ErrNoRedis) {
				return nil, fmt.Errorf("demo: --bottleneck redis runs a real redis-server: %w; the other stories need only Go", err)
			}
			return nil, fmt.Errorf("demo: %w", err)
		}
		d.redis = st
		cfg.RedisAddr = st.Addr
	}
	srv, err := shapes.New(ctx, cfg)
	if err != nil {
		if d.redis != nil {
			d.redis.Stop()
		}
		return nil, fmt.Errorf("demo: could not start the %s target: %w", shape, err)
	}
	d.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		d.close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	d.addr = ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil {
			e.log.Error("the demo target stopped", "err", err)
		}
	}()
	return d, nil
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
