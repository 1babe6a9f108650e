package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/report"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

func init() {
	register(&command{
		name:    "analyze",
		summary: "find where the system breaks and which resource saturates first, from a run or any Prometheus window",
		usage:   "(--run run.json | --prometheus URL --from T --to T --selector S) [--slo-p95 800ms] [--max-error-rate 5%] [--out analysis.json] [--format table|json|markdown] [--report DIR] [--push-gauges URL --service NAME]",
		example: `# Analyze a finished run from the metrics it recorded (embedded store or Prometheus):
headroom analyze --run run.json --out analysis.json

# Any window of a Prometheus: a k6 run, production traffic, a run made elsewhere.
# Load comes from headroom's metrics when present, else from the selector's
# HTTP server histograms:
headroom analyze --prometheus http://127.0.0.1:9090 --selector '{job="checkout"}' \
  --from 2026-01-02T15:00:00Z --to 2026-01-02T15:30:00Z --slo-p95 500ms

# For scripts: the breaking point's RPS and the bottleneck's kind
headroom analyze --run run.json --format json | jq '.breaking_point.rps, .bottleneck.resource'

# The report a lead can forward, and the service gauges for the alerts:
headroom analyze --run run.json --report report/ --service checkout --peak-rps 180 \
  --push-gauges http://127.0.0.1:9090/api/v1/write`,
		run: runAnalyze,
	})
}

// analyzeFlags are the flags of `headroom analyze`.
type analyzeFlags struct {
	runFile, selector, from, to, catalog, format, out, runID string
	maxErrorRate, saturation                                 string
	selectorFor, limitFor                                    stringList
	prom                                                     promFlags
	report, service                                          string
	push                                                     pushFlags
	peakRPS, targetHeadroom                                  float64
	sloP95, step, rateWindow                                 time.Duration
}

func runAnalyze(ctx context.Context, e *env, args []string) error {
	c := commands["analyze"]
	fs := newFlagSet(e, c)
	var f analyzeFlags
	fs.StringVar(&f.runFile, "run", "", "analyze the run in `run.json`: its window, stages and metrics location")
	f.prom.register(fs, "base `URL` of a Prometheus-compatible API (default: the run's metrics location)")
	fs.StringVar(&f.selector, "selector", "", "label `SELECTOR` of the system under test, e.g. '{job=\"checkout\"}' (default: the run's)")
	fs.Var(&f.selectorFor, "selector-for", "`KIND[/FAMILY]=SELECTOR` for one resource, e.g. db_server_connections='{job=\"postgres\"}' (repeatable)")
	fs.Var(&f.limitFor, "limit-for", "`KIND[/FAMILY]=N` a limit the metrics do not know, e.g. cpu=4 or memory=8GiB (repeatable)")
	fs.StringVar(&f.from, "from", "", "window start: RFC 3339 or now-DURATION (default: the run's start)")
	fs.StringVar(&f.to, "to", "", "window end: RFC 3339 or now (default: the run's end)")
	fs.StringVar(&f.runID, "run-id", "", "analyze the runner series of this run id (default: the run's, else the only run in the window)")
	fs.DurationVar(&f.sloP95, "slo-p95", app.DefaultAnalyzeOptions().SLOP95, "p95 latency limit: the load where p95 crosses it is a breaking point")
	fs.StringVar(&f.maxErrorRate, "max-error-rate", "5%", "error-rate limit, a fraction or a percentage: the load where it is crossed is a breaking point")
	fs.StringVar(&f.saturation, "saturation", "90%", "share of its limit at which a resource counts as saturated")
	fs.StringVar(&f.catalog, "catalog", "", "YAML `FILE` merged into the built-in resource catalog")
	fs.StringVar(&f.out, "out", "", "also write the analysis as JSON to `FILE` (analysis.json)")
	fs.StringVar(&f.format, "format", "table", "output format: table, json or markdown")
	fs.DurationVar(&f.step, "step", 0, "resolution of the series (default 5s)")
	fs.DurationVar(&f.rateWindow, "rate-window", 0, "range of the load series' rates (default: twice the step, at least 10s; 30s over HTTP server metrics)")
	fs.StringVar(&f.report, "report", "", "write report.md, report.json and report.html (charts, no network needed) to `DIR`")
	f.push.register(fs)
	fs.StringVar(&f.service, "service", "", "`name` the report and the gauges are filed under (the gauges' service label; required with --push-gauges)")
	fs.Float64Var(&f.peakRPS, "peak-rps", 0, "with --push-gauges: the service's observed peak traffic in requests/s, for headroom_headroom_ratio")
	fs.Float64Var(&f.targetHeadroom, "target-headroom", model.DefaultTargetHeadroomRatio, "with --push-gauges: the spare capacity wanted over the peak (0.20 = 20%)")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("analyze: unexpected argument %q; pass the run with --run (see 'headroom analyze --help')", fs.Arg(0))
	}
	switch f.format {
	case "table", "json", "markdown":
	default:
		return fmt.Errorf("analyze: --format %q: expected table, json or markdown", f.format)
	}
	opts, err := analyzeOptions(&f)
	if err != nil {
		return err
	}
	if f.out != "" {
		if err := checkWritableDir(f.out); err != nil {
			return fmt.Errorf("analyze: --out: %w", err)
		}
	}
	if f.push.url != "" && strings.TrimSpace(f.service) == "" {
		return errors.New("analyze: --push-gauges needs --service NAME: the gauges are filed under a service label")
	}
	if !(f.peakRPS >= 0) || math.IsInf(f.peakRPS, 0) {
		return fmt.Errorf("analyze: --peak-rps %v: expected requests/s ≥ 0", f.peakRPS)
	}
	if !(f.targetHeadroom > 0) || f.targetHeadroom > 10 {
		return fmt.Errorf("analyze: --target-headroom %v: expected a fraction greater than 0 such as 0.2 (20%% spare capacity)", f.targetHeadroom)
	}
	rw, err := f.push.config(e, "analyze")
	if err != nil {
		return err
	}
	a, obs, run, err := analyzeWindowObs(ctx, e, &f, opts)
	if err != nil {
		return err
	}
	if f.out != "" {
		if err := writeJSONFile(f.out, a); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		e.log.Info("wrote the analysis", "path", f.out)
	}
	if f.report != "" {
		in := model.ReportInput{Service: f.service, GeneratedAt: time.Now().UTC(), Analysis: &a, Observations: obs, Run: run}
		if _, err := writeReport(ctx, f.report, app.ReportRequest{Input: in}); err != nil {
			return fmt.Errorf("analyze: --report: %w", err)
		}
		e.log.Info("wrote the report", "path", filepath.Join(f.report, reportHTMLFile))
	}
	if rw.URL != "" {
		g, _, err := app.AnalysisGauges(app.GaugeInput{Service: f.service, Analysis: &a, PeakRPS: f.peakRPS, TargetHeadroomRatio: f.targetHeadroom})
		if err == nil {
			err = f.push.push(ctx, rw, app.GaugeFamilies(g))
		}
		if err != nil {
			return fmt.Errorf("analyze: --push-gauges: %w", err)
		}
		e.log.Info("pushed the service gauges", "url", rw.URL, "service", f.service)
	}
	switch f.format {
	case "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(a)
	case "markdown":
		md, err := report.AnalysisMarkdown(&a, run, f.service)
		if err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		_, err = e.stdout.Write(md)
		return err
	default:
		writeAnalysisText(e.stdout, &a)
	}
	return nil
}

// analyzeOptions reads the judgement and resolution flags.
func analyzeOptions(f *analyzeFlags) (app.AnalyzeOptions, error) {
	o := app.AnalyzeOptions{SLOP95: f.sloP95, Step: f.step, RateWindow: f.rateWindow}
	if f.sloP95 <= 0 {
		return o, fmt.Errorf("analyze: --slo-p95 %s: expected a positive duration such as 800ms", f.sloP95)
	}
	v, err := parseFraction(f.maxErrorRate)
	if err != nil || v <= 0 || v > 1 {
		return o, fmt.Errorf("analyze: --max-error-rate %q: expected a fraction such as 0.05 or a percentage such as 5%%, above 0 and at most 100%%", f.maxErrorRate)
	}
	o.MaxErrorRate = v
	if v, err = parseFraction(f.saturation); err != nil || v <= 0 || v > 1 {
		return o, fmt.Errorf("analyze: --saturation %q: expected a fraction such as 0.9 or a percentage such as 90%%, above 0 and at most 100%%", f.saturation)
	}
	o.Saturation = v
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("analyze: --%s", strings.ReplaceAll(err.Error(), "_", "-"))
	}
	return o, nil
}

// parseFraction reads "0.05", "5%" or "+20%".
func parseFraction(s string) (float64, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "+")
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}

// analyzeWindowObs reads the run (if any) and analyzes its window, or the
// window of --prometheus; it also returns the series the analysis was made
// from and the run (nil without --run), for the report.
func analyzeWindowObs(ctx context.Context, e *env, f *analyzeFlags, opts app.AnalyzeOptions) (model.Analysis, *model.Observations, *model.Run, error) {
	req := &app.AnalyzeRequest{RunID: f.runID, Options: opts, Logger: e.log}
	var err error
	if req.Prometheus, err = f.prom.options(e, "analyze"); err != nil {
		return model.Analysis{}, nil, nil, err
	}
	if f.runFile != "" {
		if req.Run, err = readRunFile(f.runFile); err != nil {
			return model.Analysis{}, nil, nil, fmt.Errorf("analyze: --run: %w", err)
		}
		req.RunDir = filepath.Dir(f.runFile)
	} else if f.prom.url == "" {
		return model.Analysis{}, nil, nil, errors.New("analyze: nothing to analyze: pass --run run.json, or --prometheus URL with --from and --to (see 'headroom analyze --help')")
	}
	if req.Start, req.End, err = analyzeWindowBounds(f, req.Run, time.Now()); err != nil {
		return model.Analysis{}, nil, nil, err
	}
	if req.Selectors, err = analyzeSelectors(f, req.Run); err != nil {
		return model.Analysis{}, nil, nil, err
	}
	if f.catalog != "" {
		if req.Catalog, err = collector.LoadCatalog(f.catalog); err != nil {
			return model.Analysis{}, nil, nil, fmt.Errorf("analyze: --catalog: %w", err)
		}
	}
	a, obs, err := app.Analyze(ctx, req)
	switch {
	case errors.Is(err, app.ErrNoMetrics):
		return model.Analysis{}, nil, nil, fmt.Errorf("analyze: --run %s records no metrics location (neither a Prometheus URL nor a store); pass --prometheus URL", f.runFile)
	case err != nil:
		return model.Analysis{}, nil, nil, fmt.Errorf("analyze: %w", err)
	}
	return a, obs, req.Run, nil
}

// analyzeWindowBounds decides the window: the flags, else the run's.
func analyzeWindowBounds(f *analyzeFlags, run *model.Run, now time.Time) (start, end time.Time, err error) {
	if run != nil {
		start, end = run.Start, run.End
	} else {
		end = now
	}
	parse := func(name, v string) (time.Time, error) {
		t, err := parseTimeFlag(name, v, now)
		if err != nil {
			return t, fmt.Errorf("analyze: --%s %q: expected now, now-DURATION such as now-15m, or an RFC 3339 time such as 2026-01-02T15:04:05Z", name, v)
		}
		return t, nil
	}
	if f.from != "" {
		if start, err = parse("from", f.from); err != nil {
			return start, end, err
		}
	}
	if f.to != "" {
		if end, err = parse("to", f.to); err != nil {
			return start, end, err
		}
	}
	switch {
	case start.IsZero() && run == nil:
		return start, end, errors.New("analyze: --from is required with --prometheus (and --to, default now)")
	case start.IsZero() || end.IsZero():
		return start, end, fmt.Errorf("analyze: the run %s has no start or end; pass --from and --to", f.runFile)
	case !end.After(start):
		return start, end, fmt.Errorf("analyze: the window ends (%s) before it starts (%s)", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	return start, end, nil
}

// analyzeSelectors reads --selector, --selector-for and --limit-for; the
// run's selector is the default.
func analyzeSelectors(f *analyzeFlags, run *model.Run) (collector.Selectors, error) {
	def := f.selector
	if def == "" && run != nil && run.Metrics != nil {
		def = run.Metrics.Selector
	}
	return selectorFlags("analyze", def, f.selectorFor, f.limitFor)
}

// selectorFlags reads the selector flags that analyze, resources and
// review share: --selector, --selector-for KIND[/FAMILY]=SELECTOR and
// --limit-for KIND[/FAMILY]=N. Errors name the command and the flag.
func selectorFlags(cmd, def string, selectorFor, limitFor []string) (collector.Selectors, error) {
	// This machine's cores as a CPU limit are app's rule (app.LocalScope),
	// never a flag's: analyses and listings get them, reviews never.
	sel := collector.Selectors{Scope: model.Scope{Selector: strings.TrimSpace(def)}}
	if _, err := collector.ParseSelector(sel.Selector); err != nil {
		return sel, fmt.Errorf("%s: --selector: %w", cmd, err)
	}
	for _, s := range selectorFor {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return sel, fmt.Errorf("%s: --selector-for %q: expected KIND[/FAMILY]=SELECTOR such as db_server_connections='{job=\"postgres\"}'", cmd, s)
		}
		if _, err := collector.ParseSelector(v); err != nil {
			return sel, fmt.Errorf("%s: --selector-for %s: %w", cmd, k, err)
		}
		if sel.SelectorFor == nil {
			sel.SelectorFor = map[string]string{}
		}
		sel.SelectorFor[k] = strings.TrimSpace(v)
	}
	for _, s := range limitFor {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return sel, fmt.Errorf("%s: --limit-for %q: expected KIND[/FAMILY]=N such as cpu=4", cmd, s)
		}
		n, err := parseQuantity(v)
		if err != nil || n <= 0 {
			return sel, fmt.Errorf("%s: --limit-for %s: %q is not a positive number (plain, or bytes with a unit such as 512MiB, 8GiB, 2GB)", cmd, k, v)
		}
		if sel.LimitFor == nil {
			sel.LimitFor = map[string]float64{}
		}
		sel.LimitFor[k] = n
	}
	return sel, nil
}

// ---- text output, shared with `headroom demo` ----

// writeAnalysisText prints an analysis for people: the verdict, the stage
// table, the breaking points, the scalability fit, the bottleneck with its
// evidence, the ranked resources, the slowest endpoints and the warnings.
func writeAnalysisText(w io.Writer, a *model.Analysis) {
	heading := func(title string) string { return title + ":" }
	fmt.Fprintln(w, analysisHeadline(a))
	fmt.Fprintln(w)
	fmt.Fprintln(w, a.Verdict)

	fmt.Fprintln(w)
	fmt.Fprintln(w, heading("Stages"))
	writeStageTable(w, &model.Run{Stages: a.Stages, Total: a.Total})

	fmt.Fprintln(w)
	fmt.Fprintln(w, heading(fmt.Sprintf("Breaking points (p95 SLO %s, error-rate limit %s)", fmtMillis(a.SLO.P95Ms), fmtPercent(a.SLO.MaxErrorRate))))
	if len(a.BreakingPoints) == 0 {
		fmt.Fprintf(w, "- none up to %s RPS\n", fmtRate(a.TestedUpToRPS))
	}
	for i, b := range a.BreakingPoints {
		mark := " "
		if i == 0 {
			mark = "→"
		}
		pm := ""
		if b.RPSUncertainty > 0 {
			pm = fmt.Sprintf(" (±%s RPS)", fmtRate(b.RPSUncertainty))
		}
		fmt.Fprintf(w, "%s %s at %s%s — %s (%s confidence)\n", mark, b.Reason, bpLoad(b), pm, b.Evidence, b.Confidence)
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, heading("Scalability"))
	writeScalability(w, a)

	fmt.Fprintln(w)
	fmt.Fprintln(w, heading("Bottleneck"))
	writeBottleneck(w, a)

	if len(a.Resources) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, heading("Resources"))
		writeResourceRanking(w, a)
	}
	if len(a.SlowestEndpoints) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, heading(fmt.Sprintf("Slowest endpoints at peak load (stage %s)", a.SlowestEndpoints[0].Stage)))
		t := &mdTable{header: []string{"Endpoint", "RPS", "p95", "p99", "p99 at lightest load", "Explained by"}, right: []bool{false, true, true, true, true, false}}
		for _, ep := range a.SlowestEndpoints {
			by := "—"
			if ep.Resource != "" {
				by = fmt.Sprintf("%s %s (%s)", ep.ResourceName, signalWord(ep.Signal), fmtPercent(ep.Explains))
			}
			t.add(ep.Endpoint, fmtRate(ep.RPS), fmtMillis(ep.P95Ms), fmtMillis(ep.P99Ms), fmtMillis(ep.BaselineP99Ms), by)
		}
		t.write(w)
	}
	if len(a.Warnings) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, heading("Warnings"))
		for _, x := range a.Warnings {
			fmt.Fprintf(w, "- %s: %s\n", x.Kind, x.Message)
		}
	}
	if len(a.Missing) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, heading("Not measured"))
		for _, m := range a.Missing {
			if len(m.LookedFor) == 0 {
				fmt.Fprintf(w, "- %s: no family in the catalog\n", orDash(m.Name, m.Kind))
			} else {
				fmt.Fprintf(w, "- %s: looked for %s\n", orDash(m.Name, m.Kind), strings.Join(m.LookedFor, ", "))
			}
			writeCandidates(w, m.Candidates, m.CatalogSnippet)
		}
	}
	if len(a.Notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, heading("Notes"))
		for _, n := range a.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// analysisHeadline names what was analyzed.
func analysisHeadline(a *model.Analysis) string {
	var parts []string
	if a.RunID != "" {
		parts = append(parts, "Run "+a.RunID)
	} else {
		parts = append(parts, "Window")
	}
	if a.Scenario != "" {
		parts = append(parts, "scenario "+a.Scenario)
	}
	d := a.Window.End.Sub(a.Window.Start).Round(time.Second)
	parts = append(parts, fmt.Sprintf("%s to %s (%s)", a.Window.Start.UTC().Format(time.RFC3339), a.Window.End.UTC().Format("15:04:05"), d))
	lm := a.LoadModel + " model"
	if a.LoadSource != "" {
		lm += ", load from " + a.LoadSource
	}
	parts = append(parts, lm)
	return strings.Join(parts, " — ")
}

// bpLoad writes a breaking point's load.
func bpLoad(b model.BreakingPoint) string {
	switch {
	case b.TargetRate > 0:
		return fmt.Sprintf("%s it/s offered, %s RPS", fmtRate(b.TargetRate), fmtRate(b.RPS))
	case b.VUs > 0:
		return fmt.Sprintf("%s VUs / %s RPS", numfmt.Round(b.VUs, 1), fmtRate(b.RPS))
	}
	return fmtRate(b.RPS) + " RPS"
}

func writeScalability(w io.Writer, a *model.Analysis) {
	n := "VUs"
	if a.Concurrency == "in_flight" {
		n = "requests in flight"
	}
	u := a.USL
	if u == nil {
		fmt.Fprintf(w, "- USL: %s\n", orDash(a.USLError, "not fitted"))
	} else {
		fmt.Fprintf(w, "- USL fit of successful RPS against %s (%d levels): σ = %.4g, κ = %.4g, λ = %.4g RPS, R² = %.4f, %s confidence\n",
			n, u.Points, u.Sigma, u.Kappa, u.Lambda, u.R2, u.Confidence)
		if u.PeakN != nil {
			fmt.Fprintf(w, "- peak: N* = %s %s → %s RPS\n", numfmt.Round(*u.PeakN, 1), n, fmtRate(*u.PeakX))
		} else {
			fmt.Fprintln(w, "- peak: none (no coherency penalty in the fit)")
		}
		for _, note := range u.Notes {
			fmt.Fprintf(w, "- note: %s\n", note)
		}
	}
	if a.Knee != nil {
		fmt.Fprintf(w, "- knee of the throughput curve: %s %s / %s RPS\n", numfmt.Round(a.Knee.X, 1), n, fmtRate(a.Knee.Y))
	}
}

func writeBottleneck(w io.Writer, a *model.Analysis) {
	b := a.Bottleneck
	name := b.Resource
	if b.Name != "" {
		name = fmt.Sprintf("%s (%s", b.Name, b.Resource)
		if b.Family != "" {
			name += ", " + b.Family
		}
		name += ")"
	}
	fmt.Fprintf(w, "%s — %s confidence\n", name, b.Confidence)
	if b.SaturatedAtRPS != nil {
		at := fmtRate(*b.SaturatedAtRPS) + " RPS"
		if b.SaturatedAtVUs != nil {
			at = numfmt.Round(*b.SaturatedAtVUs, 1) + " VUs / " + at
		}
		line := "- saturated from " + at
		if a.BreakingPoint != nil {
			line += "; the system breaks at " + bpLoad(*a.BreakingPoint)
		}
		fmt.Fprintln(w, line)
	}
	for _, part := range strings.Split(b.Evidence, "; ") {
		fmt.Fprintf(w, "- %s\n", part)
	}
	if b.Contender != "" {
		fmt.Fprintf(w, "- contender: %s (%s)\n", orDash(b.ContenderName, b.Contender), b.Contender)
	}
	if e := b.Experiment; e != nil {
		fmt.Fprintf(w, "- experiment: %s\n", e.Text)
	}
}

func writeResourceRanking(w io.Writer, a *model.Analysis) {
	t := &mdTable{header: []string{"#", "Resource", "Family", "Saturated", "Util. at break", "Util. max", "Queueing"}, right: []bool{true, false, false, false, true, true, false}}
	for _, r := range a.Resources {
		sat := "no"
		if r.Saturated {
			sat = "yes, " + r.SaturatedBy
			if r.SaturatedAtRPS != nil {
				sat += " from " + fmtRate(*r.SaturatedAtRPS) + " RPS"
			}
			if r.NotLimiting {
				sat += "; not limiting yet"
				if r.GoodputAfterRPS != nil {
					sat += " (goodput rose to " + fmtRate(*r.GoodputAfterRPS) + " RPS)"
				}
			}
		}
		q := "—"
		if tr := r.SaturationTrend; tr != nil {
			q = "flat"
			if tr.Growing {
				q = fmt.Sprintf("grows (%s)", orDash(r.SaturationUnit, "saturation"))
			}
		}
		t.add(strconv.Itoa(r.Rank), r.Name, r.Family, sat, fmtUtil(r.UtilizationAtBreak), fmtUtil(r.MaxUtilization), q)
	}
	t.write(w)
	for _, r := range a.Resources {
		fmt.Fprintf(w, "- %s: %s\n", r.Name, r.Evidence)
	}
}

func fmtUtil(u *float64) string {
	if u == nil {
		return "—"
	}
	return fmtPercent(*u)
}

func signalWord(s string) string {
	if s == "saturation" {
		return "queueing"
	}
	return s
}

func orDash(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
