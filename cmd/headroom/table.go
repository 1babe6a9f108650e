package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

// This file renders a run's results as markdown tables. The functions take a
// model.Run so that `headroom run`, `analyze` and `demo` print the same
// tables.

// writeRunSummary prints the headline, the stage table, the endpoint table,
// the checks and the thresholds of a run.
func writeRunSummary(w io.Writer, run *model.Run) {
	fmt.Fprintln(w, runHeadline(run))
	fmt.Fprintln(w)
	writeStageTable(w, run)
	if len(run.Endpoints) > 0 {
		fmt.Fprintln(w)
		writeEndpointTable(w, run.Endpoints, run.End.Sub(run.Start))
	}
	if len(run.Checks) > 0 {
		fmt.Fprintln(w)
		writeChecks(w, run.Checks)
	}
	if len(run.Thresholds) > 0 {
		fmt.Fprintln(w)
		writeThresholds(w, run.Thresholds)
	}
	if lag := run.SchedulingLag; lag != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Scheduling lag: p50 %s, p99 %s, max %s over %d iterations\n",
			fmtMillis(lag.P50Ms), fmtMillis(lag.P99Ms), fmtMillis(lag.MaxMs), lag.Iterations)
	}
}

// runHeadline is one line naming the run.
func runHeadline(run *model.Run) string {
	d := run.End.Sub(run.Start).Round(100 * time.Millisecond)
	s := fmt.Sprintf("Run %s — scenario %s — %s in %s against %s", run.RunID, run.Scenario, run.Status, d, run.Target)
	if run.Shard != "" && run.Shard != "0/1" {
		s += " — shard " + run.Shard
	}
	if run.DroppedIterations > 0 {
		s += fmt.Sprintf(" — %d iterations dropped", run.DroppedIterations)
	}
	return s
}

// writeStageTable prints one row per stage and a Total row. A run that
// dropped iterations gets a Dropped column, and the latency columns say
// which view they are: "as sent" (the requests that ran, timed from their
// scheduled start) beside the schedule-corrected view.
func writeStageTable(w io.Writer, run *model.Run) {
	dropped := run.DroppedIterations > 0
	corrected := run.Total.ScheduleCorrected != nil && dropped
	header := []string{"Stage", "VUs", "RPS", "p50", "p95", "p99", "Error Rate"}
	if corrected {
		header = []string{"Stage", "VUs", "RPS", "p50 as sent", "p95 as sent", "p99 as sent", "Error Rate"}
	}
	if dropped {
		header = append(header, "Dropped")
	}
	if corrected {
		header = append(header, "p50 corrected", "p99 corrected")
	}
	right := make([]bool, len(header))
	for i := 1; i < len(right); i++ {
		right[i] = true
	}
	t := &mdTable{header: header, right: right}
	row := func(s model.StageStats, name string) {
		cells := []string{name, strconv.Itoa(s.VUs), fmtRate(s.RPS), fmtMillis(s.P50Ms), fmtMillis(s.P95Ms), fmtMillis(s.P99Ms), fmtPercent(s.ErrorRate)}
		if dropped {
			cells = append(cells, fmt.Sprintf("%d (%s)", s.DroppedIterations, fmtPercent(s.DroppedShare)))
		}
		if corrected {
			if c := s.ScheduleCorrected; c != nil {
				cells = append(cells, fmtMillis(c.P50Ms), fmtMillis(c.P99Ms))
			} else {
				cells = append(cells, "", "")
			}
		}
		t.add(cells...)
	}
	for _, s := range run.Stages {
		row(s, s.Name)
	}
	row(run.Total, "Total")
	t.write(w)
	if corrected {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Latency views: \"as sent\" covers the requests that ran, each iteration's first request timed from its scheduled start;")
		fmt.Fprintln(w, "dropped iterations are not in it. \"corrected\" serves every scheduled iteration, dropped ones included, in schedule")
		fmt.Fprintln(w, "order by the next free VU, as wrk2 does; iterations still waiting at the end are estimated.")
	}
}

// writeEndpointTable prints one row per endpoint.
func writeEndpointTable(w io.Writer, eps []model.EndpointStats, _ time.Duration) {
	t := &mdTable{header: []string{"Endpoint", "Requests", "RPS", "p50", "p95", "p99", "Errors"}, right: []bool{false, true, true, true, true, true, true}}
	for _, e := range eps {
		errs := strconv.FormatInt(e.Errors, 10)
		if e.Requests > 0 {
			errs += " (" + fmtPercent(e.ErrorRate) + ")"
		}
		t.add(e.Endpoint, strconv.FormatInt(e.Requests, 10), fmtRate(e.RPS), fmtMillis(e.P50Ms), fmtMillis(e.P95Ms), fmtMillis(e.P99Ms), errs)
	}
	t.write(w)
}

// writeChecks prints each check with ✓ when every evaluation passed.
func writeChecks(w io.Writer, checks []model.CheckStats) {
	fmt.Fprintln(w, "Checks:")
	for _, c := range checks {
		mark := "✓"
		if c.Fails > 0 {
			mark = "✗"
		}
		total := c.Passes + c.Fails
		rate := 0.0
		if total > 0 {
			rate = float64(c.Passes) / float64(total)
		}
		fmt.Fprintf(w, "  %s %s — %s passed (%d/%d)\n", mark, c.Name, fmtPercent(rate), c.Passes, total)
	}
}

// writeThresholds prints each threshold with ✓ or ✗ and the observed value.
func writeThresholds(w io.Writer, ts []model.ThresholdResult) {
	fmt.Fprintln(w, "Thresholds:")
	for _, t := range ts {
		mark := "✓"
		if !t.Passed {
			mark = "✗"
		}
		note := ""
		if t.Aborted {
			note = " — aborted the run"
		}
		if t.Default {
			note += " (default limit; --max-dropped-share)"
		}
		fmt.Fprintf(w, "  %s %s %s — observed %s%s\n", mark, t.Metric, t.Expr, fmtObserved(t), note)
	}
}

// fmtObserved formats a threshold's observed value in the unit of its
// metric: ms for durations, a percentage for rates of failures and checks,
// a plain number for counts and per-second rates.
func fmtObserved(t model.ThresholdResult) string {
	metric := t.Metric
	if i := strings.IndexByte(metric, '{'); i >= 0 {
		metric = metric[:i]
	}
	switch metric {
	case "http_req_duration", "iteration_duration":
		return fmtMillis(t.Observed)
	case "http_req_failed", "errors", "checks":
		return fmtPercent(t.Observed)
	case "http_reqs", "dropped_iterations":
		if strings.HasPrefix(strings.TrimSpace(t.Expr), "rate") {
			return fmtRate(t.Observed) + "/s"
		}
		if strings.HasPrefix(strings.TrimSpace(t.Expr), "share") {
			return fmtPercent(t.Observed)
		}
	}
	return numfmt.Plain(t.Observed)
}

// fmtMillis formats milliseconds with precision that suits their size.
func fmtMillis(ms float64) string {
	switch {
	case ms == 0:
		return "0ms"
	case ms >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	case ms >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	default:
		return strconv.FormatFloat(ms, 'f', 2, 64) + "ms"
	}
}

func fmtRate(r float64) string { return strconv.FormatFloat(r, 'f', 1, 64) }

// fmtPercent formats a fraction as a percentage. Small and nearly full
// percentages get two decimals, and a fraction below 1 never prints as 100%.
func fmtPercent(f float64) string {
	p := f * 100
	switch {
	case p == 0:
		return "0%"
	case f == 1:
		return "100%"
	case p >= 10 && p <= 90:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	case f < 1 && p > 99.99:
		return "99.99%"
	default:
		return strconv.FormatFloat(p, 'f', 2, 64) + "%"
	}
}

// mdTable is a markdown table with padded columns.
type mdTable struct {
	header []string
	// right marks right-aligned columns.
	right []bool
	rows  [][]string
}

func (t *mdTable) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *mdTable) write(w io.Writer) {
	width := make([]int, len(t.header))
	for i, h := range t.header {
		width[i] = displayWidth(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			if n := displayWidth(c); n > width[i] {
				width[i] = n
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-displayWidth(c))
			b.WriteString(" ")
			if t.right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
			b.WriteString(" |")
		}
		fmt.Fprintln(w, b.String())
	}
	line(t.header)
	var b strings.Builder
	b.WriteString("|")
	for i := range t.header {
		if t.right[i] {
			b.WriteString(" " + strings.Repeat("-", width[i]-1) + ": |")
		} else {
			b.WriteString(" " + strings.Repeat("-", width[i]) + " |")
		}
	}
	fmt.Fprintln(w, b.String())
	for _, r := range t.rows {
		line(r)
	}
}

func displayWidth(s string) int { return len([]rune(s)) }
