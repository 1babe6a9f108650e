package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/model"
)

func init() {
	register(&command{
		name:    "compare",
		summary: "compare a run with a baseline and fail (exit 99) on a significant latency or error-rate regression",
		usage:   "--baseline a.json --current b.json [--max-p95-regression 20%] [--max-p99-regression 30%] [--max-error-rate-increase 1%] [--format table|json]",
		example: `# In CI: fail the build when p95 got more than 20% worse, significantly:
headroom compare --baseline baseline/run.json --current run.json --max-p95-regression 20%

# Keep the verdict for the pull request, as JSON:
headroom compare --baseline main.json --current pr.json --format json --out comparison.json`,
		run: runCompare,
	})
}

func runCompare(ctx context.Context, e *env, args []string) error {
	c := commands["compare"]
	fs := newFlagSet(e, c)
	baseline := fs.String("baseline", "", "`run.json` of the baseline run")
	current := fs.String("current", "", "`run.json` of the run to judge")
	p95 := fs.String("max-p95-regression", "20%", "allowed relative p95 increase, e.g. 20% or 0.2")
	p99 := fs.String("max-p99-regression", "30%", "allowed relative p99 increase")
	errInc := fs.String("max-error-rate-increase", "1%", "allowed absolute error-rate increase, e.g. 1% (one percentage point)")
	minMs := fs.Float64("min-latency-increase-ms", analyzer.DefaultMinLatencyIncreaseMs, "smallest latency increase in ms that can count as a regression")
	alpha := fs.Float64("alpha", analyzer.DefaultCompareAlpha, "significance level of the one-sided tests")
	format := fs.String("format", "table", "output format: table or json")
	out := fs.String("out", "", "also write the comparison as JSON to `FILE`")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("compare: unexpected argument %q; pass the runs with --baseline and --current (see 'headroom compare --help')", fs.Arg(0))
	}
	if *baseline == "" || *current == "" {
		return errors.New("compare: --baseline and --current are required: the run.json of each run (see 'headroom compare --help')")
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("compare: --format %q: expected table or json", *format)
	}
	var opts analyzer.CompareOptions
	for _, p := range []struct {
		flag string
		v    string
		out  *float64
	}{{"max-p95-regression", *p95, &opts.MaxP95Regression}, {"max-p99-regression", *p99, &opts.MaxP99Regression}, {"max-error-rate-increase", *errInc, &opts.MaxErrorRateIncrease}} {
		v, err := parseFraction(p.v)
		if err != nil || v < 0 {
			return fmt.Errorf("compare: --%s %q: expected a non-negative fraction such as 0.2 or a percentage such as 20%%", p.flag, p.v)
		}
		*p.out = v
	}
	opts.MinLatencyIncreaseMs, opts.Alpha = *minMs, *alpha
	if err := opts.Validate(); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	if opts.Alpha == 0 {
		return errors.New("compare: --alpha 0: expected a significance level between 0 and 1 such as 0.05")
	}
	if *out != "" {
		if err := checkWritableDir(*out); err != nil {
			return fmt.Errorf("compare: --out: %w", err)
		}
	}
	b, err := readRunFile(*baseline)
	if err != nil {
		return fmt.Errorf("compare: --baseline: %w", err)
	}
	cur, err := readRunFile(*current)
	if err != nil {
		return fmt.Errorf("compare: --current: %w", err)
	}
	cmp := analyzer.Compare(b, cur, opts)
	if *out != "" {
		if err := writeJSONFile(*out, cmp); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cmp); err != nil {
			return err
		}
	} else {
		writeComparison(e.stdout, &cmp)
	}
	if cmp.Regressed {
		return &ExitError{Code: ExitCheckFailed, Err: fmt.Errorf("compare: %s", regressionSummary(&cmp))}
	}
	return nil
}

// regressionSummary lists what regressed in one line.
func regressionSummary(c *model.Comparison) string {
	var parts []string
	for _, r := range c.Rows {
		if r.Regressed {
			parts = append(parts, fmt.Sprintf("%s %s %s", r.Scope, r.Metric, fmtChange(r)))
		}
	}
	return "regression: " + strings.Join(parts, ", ")
}

func fmtChange(r model.ComparisonRow) string {
	if r.Metric == analyzer.MetricErrorRate {
		return fmt.Sprintf("%+.2f pp", r.Change*100)
	}
	return fmt.Sprintf("%+.1f%%", r.Change*100)
}

// writeComparison prints the comparison as a table with what regressed
// marked ✗.
func writeComparison(w io.Writer, c *model.Comparison) {
	fmt.Fprintf(w, "Comparison of run %s against baseline %s (allowed: p95 +%s, p99 +%s, error rate +%.2f pp; α = %g)\n\n",
		orDash(c.CurrentRunID, "?"), orDash(c.BaselineRunID, "?"), fmtPercent(c.Limits.MaxP95Regression), fmtPercent(c.Limits.MaxP99Regression),
		c.Limits.MaxErrorRateIncrease*100, c.Limits.Alpha)
	t := &mdTable{header: []string{"", "Scope", "Metric", "Baseline", "Current", "Change", "p", "Test"}, right: []bool{false, false, false, true, true, true, true, false}}
	for _, r := range c.Rows {
		mark := "✓"
		if r.Regressed {
			mark = "✗"
		}
		val := func(v float64) string {
			if r.Metric == analyzer.MetricErrorRate {
				return fmtPercent(v)
			}
			return fmtMillis(v)
		}
		p := "—"
		if r.Test != analyzer.TestNone {
			p = fmt.Sprintf("%.3g", r.PValue)
		}
		t.add(mark, r.Scope, r.Metric, val(r.Baseline), val(r.Current), fmtChange(r), p, r.Test)
	}
	t.write(w)
	fmt.Fprintln(w)
	if c.Regressed {
		fmt.Fprintln(w, "Regressed:")
		for _, r := range c.Rows {
			if r.Regressed {
				fmt.Fprintf(w, "- %s %s: %s\n", r.Scope, r.Metric, r.Verdict)
			}
		}
	} else {
		fmt.Fprintln(w, "No significant regression beyond the allowed changes.")
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "- note: %s\n", n)
	}
}
