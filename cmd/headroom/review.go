package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
)

func init() {
	register(&command{
		name:    "review",
		summary: "review a service's capacity from its production metrics: peak, capacity, headroom and the bottleneck, without sending load",
		usage:   "--prometheus URL --service NAME --selector S [--slo-p95 300ms] [--lookback 7d] [--traffic-query Q] [--latency-query Q] [--target-headroom 20%] [--format text|json|markdown] [--out review.json] [--push-gauges URL]",
		example: `# Review checkout over the last day of production traffic: fit p95 latency
# and each resource's utilization against requests/s, and say how much more
# traffic it can carry before the SLO is crossed or a resource saturates.
headroom review --prometheus http://127.0.0.1:9090 --service checkout \
  --selector '{job="checkout"}' --slo-p95 300ms --lookback 1d

# Your own PromQL for traffic and latency, a week of history, and the
# headroom gauges remote-written for the HeadroomBelowTarget alert:
headroom review --prometheus http://prometheus:9090 --service checkout \
  --selector '{job="checkout"}' --slo-p95 300ms --lookback 7d \
  --traffic-query 'sum(rate(http_requests_total{job="checkout"}[5m]))' \
  --latency-query 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="checkout"}[5m])))' \
  --push-gauges http://prometheus:9090/api/v1/write

# For scripts: the capacity and the headroom ratio
headroom review --prometheus http://127.0.0.1:9090 --service checkout \
  --selector '{job="checkout"}' --format json | jq '.capacity_rps, .headroom_ratio'`,
		run: runReview,
	})
}

// reviewFlags are the flags of `headroom review`.
type reviewFlags struct {
	service, selector, end, lookback, step                       string
	trafficQuery, latencyQuery, errorQuery, catalog, format, out string
	maxErrorRate, targetHeadroom, saturation, gaugesFile         string
	prom                                                         promFlags
	resources, selectorFor, limitFor                             stringList
	push                                                         pushFlags
	sloP95                                                       time.Duration
	targetRPS                                                    float64
	failBelowTarget                                              bool
}

func runReview(ctx context.Context, e *env, args []string) error {
	c := commands["review"]
	fs := newFlagSet(e, c)
	var f reviewFlags
	f.prom.register(fs, "base `URL` of a Prometheus-compatible API holding the service's metrics (required)")
	fs.StringVar(&f.service, "service", "", "`NAME` the review and its gauges are filed under, e.g. checkout (required)")
	fs.StringVar(&f.selector, "selector", "", "label `SELECTOR` of the service's series, e.g. '{job=\"checkout\"}'; required unless both --traffic-query and --latency-query are given")
	fs.DurationVar(&f.sloP95, "slo-p95", analyzer.DefaultSLOP95, "p95 latency limit: the traffic at which the fitted p95 crosses it is a capacity (0: no latency SLO)")
	fs.StringVar(&f.maxErrorRate, "max-error-rate", "0", "error-ratio limit, a fraction or a percentage; when errors grow with traffic, the traffic at which they cross it is a capacity (0: none)")
	fs.StringVar(&f.lookback, "lookback", "7d", "history to fit, ending at --end: a duration such as 1d, 7d or 36h")
	fs.StringVar(&f.step, "step", "5m", "resolution of the series read")
	fs.StringVar(&f.end, "end", "now", "end of the reviewed window: now, now-DURATION or an RFC 3339 time")
	fs.StringVar(&f.trafficQuery, "traffic-query", "", "PromQL `QUERY` for the service's traffic in requests/s (default: the HTTP server histogram under --selector)")
	fs.StringVar(&f.latencyQuery, "latency-query", "", "PromQL `QUERY` for the latency the SLO limits, in seconds (default: the p95 of the HTTP server histogram under --selector)")
	fs.StringVar(&f.errorQuery, "error-query", "", "PromQL `QUERY` for the error ratio, a fraction (default: the share of 5xx responses, when the histogram has a status label)")
	fs.Var(&f.resources, "resource", "resource `KIND` to watch, e.g. db_pool (repeatable; default: every kind the catalog finds)")
	fs.StringVar(&f.targetHeadroom, "target-headroom", "20%", "spare capacity wanted over the peak, a fraction or a percentage")
	fs.Float64Var(&f.targetRPS, "target-rps", 0, "traffic the service must carry, requests/s, published as headroom_target_rps (0: none)")
	fs.StringVar(&f.saturation, "saturation", "90%", "share of its limit at which a resource counts as saturated")
	fs.StringVar(&f.catalog, "catalog", "", "YAML `FILE` merged into the built-in resource catalog")
	fs.Var(&f.selectorFor, "selector-for", "`KIND[/FAMILY]=SELECTOR` for one resource, e.g. db_server_connections='{job=\"postgres\"}' (repeatable)")
	fs.Var(&f.limitFor, "limit-for", "`KIND[/FAMILY]=N` a limit the metrics do not know, e.g. cpu=4 (repeatable)")
	fs.StringVar(&f.format, "format", "text", "output format: text, json or markdown")
	fs.StringVar(&f.out, "out", "", "also write the review as JSON to `FILE`")
	f.push.register(fs)
	fs.StringVar(&f.gaugesFile, "gauges-file", "", "write the service gauges in the Prometheus text format to `FILE`, e.g. for node_exporter's textfile collector")
	fs.BoolVar(&f.failBelowTarget, "fail-below-target", false, "exit with code 99 when the headroom is below the target")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("review: unexpected argument %q (see 'headroom review --help')", fs.Arg(0))
	}
	spec, end, err := reviewSpecFromFlags(&f, time.Now())
	if err != nil {
		return err
	}
	if f.prom.url == "" {
		return errors.New("review: --prometheus URL is required: the review reads the service's production metrics from it (see 'headroom review --help')")
	}
	switch f.format {
	case "text", "json", "markdown":
	default:
		return fmt.Errorf("review: --format %q: expected text, json or markdown", f.format)
	}
	if f.out != "" {
		if err := checkWritableDir(f.out); err != nil {
			return fmt.Errorf("review: --out: %w", err)
		}
	}
	if f.gaugesFile != "" {
		if err := checkWritableDir(f.gaugesFile); err != nil {
			return fmt.Errorf("review: --gauges-file: %w", err)
		}
	}
	rw, err := f.push.config(e, "review")
	if err != nil {
		return err
	}
	cfg := collector.ProductionConfig{Logger: e.log}
	if cfg.Selectors, err = reviewSelectors(&f); err != nil {
		return err
	}
	if f.catalog != "" {
		if cfg.Catalog, err = collector.LoadCatalog(f.catalog); err != nil {
			return fmt.Errorf("review: --catalog: %w", err)
		}
	}
	src, err := reviewSource(e, &f)
	if err != nil {
		return err
	}
	e.log.Debug("reviewing", "service", spec.Service, "prometheus", src.URL(), "end", end, "lookback", spec.Lookback)
	rv, err := app.Review(ctx, src, spec, end, cfg)
	if err != nil {
		return fmt.Errorf("review: %w", err)
	}
	if f.out != "" {
		if err := writeJSONFile(f.out, rv); err != nil {
			return fmt.Errorf("review: %w", err)
		}
		e.log.Info("wrote the review", "path", f.out)
	}
	switch f.format {
	case "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rv); err != nil {
			return err
		}
	case "markdown":
		writeReview(e.stdout, &rv, func(s string) string { return "## " + s }, "# Capacity review of "+rv.Service)
	default:
		writeReview(e.stdout, &rv, func(s string) string { return s + ":" }, "Capacity review of "+rv.Service)
	}
	fams := app.GaugeFamilies(rv.Gauges())
	if f.gaugesFile != "" {
		if err := writeGaugesFile(f.gaugesFile, fams); err != nil {
			return fmt.Errorf("review: --gauges-file: %w", err)
		}
		e.log.Info("wrote the gauges", "path", f.gaugesFile)
	}
	if rw.URL != "" {
		if err := f.push.push(ctx, rw, fams); err != nil {
			return fmt.Errorf("review: --push-gauges: %w", err)
		}
		e.log.Info("pushed the gauges", "url", rw.URL)
	}
	if f.failBelowTarget && rv.BelowTarget {
		return &ExitError{Code: ExitCheckFailed, Err: fmt.Errorf("review: %s has %s headroom, below its target of %s", rv.Service, fmtPercent(rv.HeadroomRatio), fmtPercent(rv.TargetHeadroomRatio))}
	}
	return nil
}

// reviewSpecFromFlags builds and validates the review spec, and the end of
// the window.
func reviewSpecFromFlags(f *reviewFlags, now time.Time) (model.ReviewSpec, time.Time, error) {
	spec := model.ReviewSpec{
		Service: strings.TrimSpace(f.service), Selector: strings.TrimSpace(f.selector),
		TrafficQuery: f.trafficQuery, LatencyQuery: f.latencyQuery, ErrorQuery: f.errorQuery,
		Resources: f.resources, TargetRPS: f.targetRPS,
	}
	if spec.Service == "" {
		return spec, time.Time{}, errors.New("review: --service NAME is required: the review and its gauges are filed under it (see 'headroom review --help')")
	}
	if f.sloP95 < 0 {
		return spec, time.Time{}, fmt.Errorf("review: --slo-p95 %s: expected a positive duration such as 300ms, or 0 for no latency SLO", f.sloP95)
	}
	spec.SLO.P95Ms = float64(f.sloP95) / float64(time.Millisecond)
	for _, d := range []struct {
		name, v string
		to      *model.Duration
	}{{"lookback", f.lookback, &spec.Lookback}, {"step", f.step, &spec.Step}} {
		v, err := parseLongDuration(d.v)
		if err != nil {
			return spec, time.Time{}, fmt.Errorf("review: --%s %q: expected a duration such as 5m, 36h, 1d or 7d", d.name, d.v)
		}
		*d.to = model.Duration(v)
	}
	for _, fr := range []struct {
		name, v  string
		to       *float64
		zeroOK   bool
		maxValue float64
	}{
		{"max-error-rate", f.maxErrorRate, &spec.SLO.MaxErrorRate, true, 1},
		{"target-headroom", f.targetHeadroom, &spec.TargetHeadroom, false, 10},
		{"saturation", f.saturation, &spec.SaturationUtilization, false, 1},
	} {
		v, err := parseFraction(fr.v)
		if err != nil || v < 0 || v > fr.maxValue || (v == 0 && !fr.zeroOK) {
			return spec, time.Time{}, fmt.Errorf("review: --%s %q: expected a fraction such as 0.2 or a percentage such as 20%%, %s and at most %s", fr.name, fr.v, map[bool]string{true: "at least 0", false: "above 0"}[fr.zeroOK], fmtPercent(fr.maxValue))
		}
		*fr.to = v
	}
	if !(f.targetRPS >= 0) || math.IsInf(f.targetRPS, 0) {
		return spec, time.Time{}, fmt.Errorf("review: --target-rps %v: expected requests/s ≥ 0", f.targetRPS)
	}
	end, err := parseTimeFlag("end", f.end, now)
	if err != nil {
		return spec, time.Time{}, fmt.Errorf("review: --end %q: expected now, now-DURATION such as now-1h, or an RFC 3339 time such as 2026-01-02T15:04:05Z", f.end)
	}
	if err := spec.Validate(); err != nil {
		return spec, time.Time{}, fmt.Errorf("review: %s", reviewFlagNames(err))
	}
	spec.SetDefaults()
	return spec, end, nil
}

// reviewFlagNames rewrites a spec's validation errors in flag names.
func reviewFlagNames(err error) string {
	r := strings.NewReplacer(
		"service:", "--service:", "selector:", "--selector:", "lookback:", "--lookback:", "step:", "--step:",
		"slo.p95_ms:", "--slo-p95 (ms):", "slo.max_error_rate:", "--max-error-rate:", "target_headroom:", "--target-headroom:",
		"target_rps:", "--target-rps:", "saturation_utilization:", "--saturation:", "resources[", "--resource[",
		"traffic_query", "--traffic-query", "latency_query", "--latency-query",
	)
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		lines = append(lines, r.Replace(l))
	}
	return strings.Join(lines, "; ")
}

// parseLongDuration reads Go durations and Prometheus's, which add days and
// weeks ("1d", "7d", "1w", "1d12h").
func parseLongDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := model.ParseDuration(s); err == nil {
		return d, nil
	}
	d, err := pmodel.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return time.Duration(d), nil
}

// reviewSelectors reads --selector, --selector-for and --limit-for.
func reviewSelectors(f *reviewFlags) (collector.Selectors, error) {
	return selectorFlags("review", f.selector, f.selectorFor, f.limitFor)
}

// reviewSource opens the Prometheus API.
func reviewSource(e *env, f *reviewFlags) (*collector.Prometheus, error) {
	o, err := f.prom.options(e, "review")
	if err != nil {
		return nil, err
	}
	p, err := app.OpenPrometheus(o, e.log)
	if err != nil {
		return nil, fmt.Errorf("review: --prometheus: %w", err)
	}
	return p, nil
}

// writeReview prints a review for people: the verdict, the limits found,
// the resources, and what lowered the confidence.
func writeReview(w io.Writer, rv *model.Review, heading func(string) string, title string) {
	fmt.Fprintln(w, title)
	fmt.Fprintf(w, "Window %s – %s, %d points; p95 SLO %s.\n\n", rv.Window.Start.UTC().Format(time.RFC3339), rv.Window.End.UTC().Format(time.RFC3339), rv.Points, fmtMillis(rv.SLO.P95Ms))
	fmt.Fprintln(w, reviewVerdict(rv))
	fmt.Fprintln(w)
	fmt.Fprintln(w, heading("Capacity"))
	t := &mdTable{header: []string{"", "Value"}, right: []bool{false, true}}
	t.add("Peak traffic (p99 of the window)", fmtRate(rv.PeakRPS)+" RPS")
	if rv.CapacityRPS > 0 {
		t.add("Capacity", fmtRate(rv.CapacityRPS)+" RPS")
		t.add("Limited by", reviewLimitName(rv.LimitedBy))
		t.add("Headroom (capacity / peak − 1)", fmtSignedPercent(rv.HeadroomRatio))
	} else {
		t.add("Capacity", "unknown")
	}
	t.add("Target headroom", fmtPercent(rv.TargetHeadroomRatio))
	if rv.TargetRPS > 0 {
		t.add("Target traffic", fmtRate(rv.TargetRPS)+" RPS")
	}
	if rv.SLOCrossingRPS != nil {
		t.add("p95 crosses the SLO at", fmtRate(*rv.SLOCrossingRPS)+" RPS")
	}
	t.add("Bottleneck", rv.Bottleneck)
	t.add("Confidence", rv.Confidence)
	t.write(w)
	if rv.Latency != nil {
		fmt.Fprintf(w, "\nLatency fit: %s, R² %.2f.\n", rv.Latency.Model, rv.Latency.R2)
	}
	if len(rv.Resources) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, heading("Resources"))
		rt := &mdTable{header: []string{"Resource", "Family", "At peak", "Saturates at", "Fit"}, right: []bool{false, false, true, true, false}}
		for _, r := range rv.Resources {
			at := "—"
			if r.SaturationRPS != nil {
				at = fmt.Sprintf("%s RPS (%s)", fmtRate(*r.SaturationRPS), fmtPercent(r.Threshold))
			}
			rt.add(orDash(r.Name, r.Kind), r.Family, fmtPercent(r.PeakUtilization), at, r.Fit)
		}
		rt.write(w)
	}
	if len(rv.Notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, heading("Notes"))
		for _, n := range rv.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// reviewVerdict says in a sentence what the review found.
func reviewVerdict(rv *model.Review) string {
	if rv.CapacityRPS <= 0 {
		return fmt.Sprintf("No limit was found within the plausible range of the traffic seen (peak %s RPS): the capacity is unknown.", fmtRate(rv.PeakRPS))
	}
	state := "above"
	if rv.BelowTarget {
		state = "BELOW"
	}
	return fmt.Sprintf("%s can carry about %s RPS before %s; its peak was %s RPS, so it has %s headroom, %s the %s target (%s confidence).",
		rv.Service, fmtRate(rv.CapacityRPS), reviewLimitPhrase(rv.LimitedBy), fmtRate(rv.PeakRPS), fmtSignedPercent(rv.HeadroomRatio), state, fmtPercent(rv.TargetHeadroomRatio), rv.Confidence)
}

func reviewLimitName(by string) string {
	switch by {
	case analyzer.LimitedByLatency:
		return "p95 latency SLO"
	case analyzer.LimitedByErrors:
		return "error-rate SLO"
	}
	return by
}

func reviewLimitPhrase(by string) string {
	switch by {
	case analyzer.LimitedByLatency:
		return "p95 latency crosses its SLO"
	case analyzer.LimitedByErrors:
		return "errors cross their SLO"
	}
	return by + " saturates"
}

func fmtSignedPercent(f float64) string {
	if f < 0 {
		return "−" + fmtPercent(-f)
	}
	return fmtPercent(f)
}
