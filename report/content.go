package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// This file lays a report out once — headline, key numbers, sections of
// paragraphs, lists and tables — for the Markdown and HTML renderers.

// page is a report laid out for rendering.
type page struct {
	title   string
	meta    []string
	verdict string
	broke   bool
	// warning, when set, heads the report: the run was overloaded and its
	// figures describe less load than was offered.
	warning string
	cards   []card
	// charts and skipped are drawn in the section whose charts flag is set.
	charts   []model.Chart
	skipped  []model.SkippedChart
	sections []section
}

// card is one key number of the headline.
type card struct {
	label, value, sub string
	// tone is good, bad or empty.
	tone string
}

// section is one part of the report: paragraphs, lists and tables in
// order.
type section struct {
	id, title string
	blocks    []block
	// charts places the charts here, before the blocks.
	charts bool
}

// block is a paragraph, a bulleted list or a table.
type block struct {
	para  string
	items []string
	table *table
}

func (s *section) para(text string) { s.blocks = append(s.blocks, block{para: text}) }

func (s *section) tab(t table) { s.blocks = append(s.blocks, block{table: &t}) }

// item adds items to the list that ends the section, or starts one.
func (s *section) item(items ...string) {
	if len(items) == 0 {
		return
	}
	if n := len(s.blocks); n > 0 && s.blocks[n-1].items != nil {
		s.blocks[n-1].items = append(s.blocks[n-1].items, items...)
		return
	}
	s.blocks = append(s.blocks, block{items: append([]string(nil), items...)})
}

// table is a table with a header; cells marked bad are highlighted. A
// key–value table (kv) has no header and its first column names the rows.
type table struct {
	caption string
	kv      bool
	head    []string
	// nowrap marks columns whose cells must not wrap (short names with
	// hyphens, such as stage names).
	nowrap []bool
	right  []bool
	rows   [][]cell
}

type cell struct {
	text string
	bad  bool
}

func (t *table) add(cells ...any) {
	row := make([]cell, len(cells))
	for i, c := range cells {
		switch v := c.(type) {
		case cell:
			row[i] = v
		case string:
			row[i] = cell{text: v}
		default:
			row[i] = cell{text: fmt.Sprint(v)}
		}
	}
	t.rows = append(t.rows, row)
}

// layout builds the page from the report document and its input.
func layout(r *model.Report) *page {
	a := &r.Analysis
	p := &page{title: r.Title, verdict: a.Verdict, broke: r.Summary.Broke, charts: r.Charts, skipped: r.Skipped}
	if p.verdict == "" {
		p.verdict = "The analysis gives no verdict."
	}
	p.meta = metaLines(r)
	p.warning = overloadWarning(r.Run)
	p.cards = cards(r)
	p.sections = append(p.sections, section{id: "charts", title: "Charts", charts: true})
	p.sections = append(p.sections, bottleneckSection(a))
	p.sections = append(p.sections, breakingSection(a))
	p.sections = append(p.sections, stagesSection(a, r.Run))
	if s, ok := endpointsSection(a); ok {
		p.sections = append(p.sections, s)
	}
	if s, ok := resourcesSection(a); ok {
		p.sections = append(p.sections, s)
	}
	p.sections = append(p.sections, scalabilitySection(a))
	if r.Plan != nil {
		p.sections = append(p.sections, planSection(r.Plan))
	}
	if r.Run != nil {
		p.sections = append(p.sections, runSection(r.Run))
	}
	if len(a.Warnings) > 0 {
		s := section{id: "warnings", title: "Warnings"}
		for _, w := range a.Warnings {
			s.item(w.Kind + ": " + w.Message)
		}
		p.sections = append(p.sections, s)
	}
	if len(a.Missing) > 0 {
		s := section{id: "not-measured", title: "Not measured"}
		s.para("No metrics were found for these resources; an exporter for one of the families looked for would let the analysis judge them.")
		for _, m := range a.Missing {
			s.item(fmt.Sprintf("%s: looked for %s", orDefault(m.Name, m.Kind), strings.Join(m.LookedFor, ", ")))
		}
		p.sections = append(p.sections, s)
	}
	if len(a.Notes) > 0 {
		s := section{id: "notes", title: "Notes"}
		s.item(a.Notes...)
		p.sections = append(p.sections, s)
	}
	return p
}

func metaLines(r *model.Report) []string {
	a := &r.Analysis
	var first []string
	if r.Service != "" {
		first = append(first, "Service "+r.Service)
	}
	if r.RunID != "" {
		first = append(first, "run "+r.RunID)
	}
	if r.Scenario != "" {
		first = append(first, "scenario "+r.Scenario)
	}
	var second []string
	if !a.Window.Start.IsZero() {
		d := a.Window.End.Sub(a.Window.Start).Round(time.Second)
		second = append(second, fmt.Sprintf("%s to %s UTC (%s)", a.Window.Start.UTC().Format("2006-01-02 15:04:05"), a.Window.End.UTC().Format("15:04:05"), d))
	}
	lm := orDefault(a.LoadModel, model.LoadUnknown) + "-model load"
	if a.LoadSource != "" {
		lm += " from " + a.LoadSource
	}
	second = append(second, lm)
	second = append(second, fmt.Sprintf("SLO: p95 ≤ %s, errors ≤ %s", fmtMs(a.SLO.P95Ms), fmtPct(a.SLO.MaxErrorRate)))
	var out []string
	if len(first) > 0 {
		s := strings.Join(first, " · ")
		out = append(out, strings.ToUpper(s[:1])+s[1:])
	}
	out = append(out, strings.Join(second, " · "))
	if r.GeneratedAt != nil {
		out = append(out, "Generated "+r.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC")+" by headroom")
	}
	return out
}

func cards(r *model.Report) []card {
	s, a := r.Summary, &r.Analysis
	var out []card
	if s.Broke {
		out = append(out, card{label: "Capacity", value: fmtRPS(s.CapacityRPS) + " RPS", sub: "where it breaks", tone: "bad"})
		out = append(out, card{label: "Breaks at", value: bpLoad(a.BreakingPoint), sub: reasonText(s.BreakReason)})
	} else {
		out = append(out, card{label: "Capacity", value: "≥ " + fmtRPS(s.CapacityRPS) + " RPS", sub: "nothing broke: a lower bound", tone: "good"})
		out = append(out, card{label: "Breaks at", value: "not reached", sub: "tested up to " + fmtRPS(s.TestedUpToRPS) + " RPS"})
	}
	bn := card{label: "Bottleneck", value: bottleneckName(a.Bottleneck)}
	var sub []string
	if s.SaturatedAtRPS != nil {
		sub = append(sub, "saturated from "+fmtRPS(*s.SaturatedAtRPS)+" RPS")
	}
	if s.BottleneckConfidence != "" {
		sub = append(sub, s.BottleneckConfidence+" confidence")
	}
	bn.sub = strings.Join(sub, " · ")
	out = append(out, bn)
	if s.USLPeakN != nil && s.USLPeakRPS != nil {
		unit := " VUs"
		if a.Concurrency == "in_flight" {
			unit = " in flight"
		}
		out = append(out, card{label: "USL peak", value: "N* = " + fmtCount(*s.USLPeakN) + unit, sub: fmtRPS(*s.USLPeakRPS) + " RPS at most"})
	}
	p95 := card{label: "Worst stage p95", value: fmtMs(s.MaxP95Ms), sub: "SLO " + fmtMs(a.SLO.P95Ms)}
	if a.SLO.P95Ms > 0 && s.MaxP95Ms > a.SLO.P95Ms {
		p95.tone = "bad"
	}
	if run := r.Run; run != nil && run.DroppedIterations > 0 && run.Total != nil {
		// The figure above is the view as sent; the corrected one counts
		// what the dropped iterations would have waited.
		p95.label = "Worst stage p95 as sent"
		worst := 0.0
		for _, st := range run.Stages {
			if c := st.ScheduleCorrected; c != nil && finite(c.P95Ms) {
				worst = max(worst, c.P95Ms)
			}
		}
		if worst > 0 {
			p95.sub += " · corrected " + fmtMs(worst)
			if a.SLO.P95Ms > 0 && worst > a.SLO.P95Ms {
				p95.tone = "bad"
			}
		}
	}
	out = append(out, p95)
	if over, _ := overloaded(r.Run); over {
		out = append(out, card{label: "Dropped", value: fmtPct(r.Run.DroppedShare), sub: fmtThousands(float64(r.Run.DroppedIterations)) + " scheduled iterations never ran", tone: "bad"})
	}
	if pl := r.Plan; pl != nil {
		t := card{label: "Target", value: fmtRPS(s.TargetRPS) + " RPS",
			sub: fmt.Sprintf("expected capacity %s RPS (%s headroom)", fmtRPS(s.ExpectedCapacityRPS), fmtSignedPct(s.ExpectedHeadroomRatio))}
		if s.MeetsTarget != nil {
			t.tone = "good"
			if !*s.MeetsTarget {
				t.tone = "bad"
			}
		}
		out = append(out, t)
		required := 0
		for _, c := range pl.Changes {
			if !c.Optional {
				required++
			}
		}
		out = append(out, card{label: "Plan cost", value: fmtMoney(s.DeltaMonthly, s.Currency, true),
			sub: fmt.Sprintf("a month, for %d required change%s", required, plural(required))})
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func bottleneckSection(a *model.Analysis) section {
	b := a.Bottleneck
	s := section{id: "bottleneck", title: "Bottleneck"}
	head := bottleneckName(b)
	var what []string
	if b.Resource != "" && b.Resource != head {
		what = append(what, b.Resource)
	}
	if b.Family != "" {
		what = append(what, "measured by "+b.Family)
	}
	if len(what) > 0 {
		head += " (" + strings.Join(what, ", ") + ")"
	}
	if b.Confidence != "" {
		head += ", " + b.Confidence + " confidence"
	}
	head += "."
	if b.SaturatedAtRPS != nil {
		at := fmtRPS(*b.SaturatedAtRPS) + " RPS"
		if b.SaturatedAtVUs != nil {
			at = fmtCount(*b.SaturatedAtVUs) + " VUs / " + at
		}
		head += " Saturated from " + at
		if a.BreakingPoint != nil {
			head += "; the system breaks at " + bpLoad(a.BreakingPoint)
		}
		head += "."
	}
	s.para(head)
	for _, part := range strings.Split(b.Evidence, "; ") {
		if strings.TrimSpace(part) != "" {
			s.item(part)
		}
	}
	if e := b.Experiment; e != nil {
		s.para("To tell the suspects apart: " + e.Text + ".")
	}
	if len(b.LookedFor) > 0 {
		s.para("No measured resource explains the break. Looked for: " + strings.Join(b.LookedFor, ", ") + ". Add an exporter for one of them.")
	}
	return s
}

func breakingSection(a *model.Analysis) section {
	s := section{id: "breaking-points", title: "Breaking points"}
	if len(a.BreakingPoints) == 0 {
		s.para(fmt.Sprintf("Nothing broke up to %s RPS: the p95 stayed under %s, errors under %s, and throughput kept rising.",
			fmtRPS(a.TestedUpToRPS), fmtMs(a.SLO.P95Ms), fmtPct(a.SLO.MaxErrorRate)))
		return s
	}
	s.para("Each criterion the load met, earliest by load first; the first is the system's breaking point.")
	t := table{head: []string{"Criterion", "Load", "Stage", "Value", "Limit", "Confidence", "Evidence"}, right: []bool{false, true, false, true, true, false, false}, nowrap: []bool{false, false, true}}
	for _, bp := range a.BreakingPoints {
		val, lim := bpValue(bp.Reason, bp.Value), "—"
		if bp.Limit != 0 {
			lim = bpValue(bp.Reason, bp.Limit)
		}
		load := bpLoad(&bp)
		if bp.RPSUncertainty > 0 {
			load += " ± " + fmtRPS(bp.RPSUncertainty)
		}
		t.add(reasonText(bp.Reason), load, orDash(bp.Stage), val, lim, orDash(bp.Confidence), bp.Evidence)
	}
	s.tab(t)
	return s
}

func bpValue(reason string, v float64) string {
	switch reason {
	case model.ReasonLatencySLO:
		return fmtMs(v)
	case model.ReasonErrorRate:
		return fmtPct(v)
	}
	return fmtRPS(v) + " RPS"
}

// overloadWarning is the report's first line when the run dropped more of
// its scheduled iterations than its limit allows; empty otherwise.
func overloadWarning(run *model.ReportRun) string {
	over, limit := overloaded(run)
	if !over {
		return ""
	}
	w := fmt.Sprintf("Overloaded run: %s of the scheduled iterations (%s) were dropped because every VU was busy, above %s. "+
		"The load offered never ran, and the latencies as sent describe only the iterations that did",
		fmtPct(run.DroppedShare), fmtThousands(float64(run.DroppedIterations)), limit)
	if t := run.Total; t != nil && t.ScheduleCorrected != nil {
		w += fmt.Sprintf("; schedule-corrected, every scheduled iteration counted, p99 is %s", fmtMs(t.ScheduleCorrected.P99Ms))
	}
	return w + ". Raise the VU cap (--max-vus) and run again."
}

// runStageNamed finds a stage of the run's rows by name.
func runStageNamed(run *model.ReportRun, name string) *model.ReportRunStage {
	if run == nil {
		return nil
	}
	for i := range run.Stages {
		if run.Stages[i].Name == name {
			return &run.Stages[i]
		}
	}
	return nil
}

// stagesSection is the stage table. For an open-model run that dropped
// iterations it says which latency view each column is: as sent (the
// analysis's, from the stored series) beside run.json's dropped share and
// its schedule-corrected view.
func stagesSection(a *model.Analysis, run *model.ReportRun) section {
	s := section{id: "stages", title: "Stages"}
	dropped := run != nil && run.DroppedIterations > 0 && run.Total != nil
	corrected := dropped && run.Total.ScheduleCorrected != nil
	head := []string{"Stage", "VUs", "RPS", "p50", "p95", "p99", "Max", "Errors", "Requests"}
	if corrected {
		head = []string{"Stage", "VUs", "RPS", "p50 as sent", "p95 as sent", "p99 as sent", "Max as sent", "Errors", "Requests"}
	}
	if dropped {
		head = append(head, "Dropped")
	}
	if corrected {
		head = append(head, "p50 corrected", "p95 corrected", "p99 corrected")
	}
	right := make([]bool, len(head))
	for i := 1; i < len(right); i++ {
		right[i] = true
	}
	t := table{head: head, right: right, nowrap: []bool{true}}
	_, limit := overloaded(run)
	row := func(st model.StageStats, name string, rs *model.ReportRunStage) {
		p95 := cell{text: fmtMs(st.P95Ms), bad: a.SLO.P95Ms > 0 && st.P95Ms > a.SLO.P95Ms}
		errs := cell{text: fmtPct(st.ErrorRate), bad: a.SLO.MaxErrorRate > 0 && st.ErrorRate > a.SLO.MaxErrorRate}
		vus := strconv.Itoa(st.VUs)
		if st.TargetRate > 0 {
			vus += " (" + fmtRPS(st.TargetRate) + " it/s)"
		}
		cells := []any{name, vus, fmtRPS(st.RPS), fmtMs(st.P50Ms), p95, fmtMs(st.P99Ms), fmtMs(st.MaxMs), errs, fmtThousands(float64(st.Requests))}
		if dropped {
			if rs == nil {
				cells = append(cells, "")
			} else {
				cells = append(cells, cell{
					text: fmt.Sprintf("%s (%s)", fmtThousands(float64(rs.DroppedIterations)), fmtPct(rs.DroppedShare)),
					bad:  rs.DroppedShare > DefaultMaxDroppedShare || (limit != "" && rs.DroppedIterations > 0 && rs == run.Total),
				})
			}
		}
		if corrected {
			if rs == nil || rs.ScheduleCorrected == nil {
				cells = append(cells, "", "", "")
			} else {
				c := rs.ScheduleCorrected
				cells = append(cells, fmtMs(c.P50Ms), cell{text: fmtMs(c.P95Ms), bad: a.SLO.P95Ms > 0 && c.P95Ms > a.SLO.P95Ms}, fmtMs(c.P99Ms))
			}
		}
		t.add(cells...)
	}
	for _, st := range a.Stages {
		row(st, st.Name, runStageNamed(run, st.Name))
	}
	if len(a.Stages) > 0 {
		var total *model.ReportRunStage
		if run != nil {
			total = run.Total
		}
		row(a.Total, "Total", total)
	}
	if len(t.rows) == 0 {
		s.para("The analysis has no stages.")
		return s
	}
	s.para("VUs are the most active in the stage; latencies over the p95 SLO and error rates over the limit are highlighted.")
	if dropped {
		s.para("Dropped is the number of scheduled iterations that never started because every VU was busy, and their share of the iterations the stage scheduled (from run.json); shares over " + fmtPct(DefaultMaxDroppedShare) + " are highlighted.")
	}
	if corrected {
		est := ""
		if n := run.Total.ScheduleCorrected.Estimated; n > 0 {
			est = fmt.Sprintf(" (%s of them, still waiting when the run ended, are estimated)", fmtThousands(float64(n)))
		}
		s.para("Latency views: the columns \"as sent\" cover the requests that ran, each iteration's first request timed from its scheduled start; dropped iterations are not in them. " +
			"The \"corrected\" columns are run.json's schedule-corrected view, as wrk2 measures: every scheduled iteration, dropped ones included, served in schedule order by the next free VU" + est + ".")
	}
	s.tab(t)
	return s
}

func endpointsSection(a *model.Analysis) (section, bool) {
	if len(a.Endpoints) == 0 && len(a.SlowestEndpoints) == 0 {
		return section{}, false
	}
	s := section{id: "endpoints", title: "Endpoints"}
	if len(a.Endpoints) > 0 {
		t := table{caption: "Whole window, slowest p99 first", head: []string{"Endpoint", "Requests", "RPS", "p50", "p95", "p99", "Errors"}, right: []bool{false, true, true, true, true, true, true}}
		for _, e := range a.Endpoints {
			t.add(e.Endpoint, fmtThousands(float64(e.Requests)), fmtRPS(e.RPS), fmtMs(e.P50Ms),
				cell{text: fmtMs(e.P95Ms), bad: a.SLO.P95Ms > 0 && e.P95Ms > a.SLO.P95Ms}, fmtMs(e.P99Ms),
				cell{text: fmtPct(e.ErrorRate), bad: a.SLO.MaxErrorRate > 0 && e.ErrorRate > a.SLO.MaxErrorRate})
		}
		s.tab(t)
	}
	if len(a.SlowestEndpoints) > 0 {
		t := table{caption: "Slowest at peak load (stage " + orDash(a.SlowestEndpoints[0].Stage) + "), with the resource that explains their latency",
			head:  []string{"Endpoint", "RPS", "p95", "p99", "p99 at lightest load", "Explained by"},
			right: []bool{false, true, true, true, true, false}}
		for _, e := range a.SlowestEndpoints {
			by := "—"
			if e.Resource != "" {
				sig := e.Signal
				if sig == "saturation" {
					sig = "queueing"
				}
				by = fmt.Sprintf("%s %s (R² %s)", orDefault(e.ResourceName, e.Resource), sig, fmtPct(e.Explains))
			}
			t.add(e.Endpoint, fmtRPS(e.RPS), fmtMs(e.P95Ms), fmtMs(e.P99Ms), fmtMs(e.BaselineP99Ms), by)
		}
		s.tab(t)
	}
	return s, true
}

func resourcesSection(a *model.Analysis) (section, bool) {
	if len(a.Resources) == 0 {
		return section{}, false
	}
	s := section{id: "resources", title: "Resources"}
	s.para("Every detected resource, ranked: the bottleneck first, then the other saturated ones by the load they saturated at, then the rest by utilization.")
	t := table{head: []string{"#", "Resource", "Family", "Saturated", "Util. at break", "Util. max", "Queueing", "Explains p95"}, right: []bool{true, false, false, false, true, true, false, true}}
	for _, r := range a.Resources {
		sat := cell{text: "no"}
		if r.Saturated {
			sat = cell{text: "yes, by " + strings.ReplaceAll(r.SaturatedBy, ",", " and "), bad: true}
			if r.SaturatedAtRPS != nil {
				sat.text += " from " + fmtRPS(*r.SaturatedAtRPS) + " RPS"
			}
			if r.NotLimiting {
				sat.text += "; not limiting yet"
				if r.GoodputAfterRPS != nil {
					sat.text += " (goodput rose to " + fmtRPS(*r.GoodputAfterRPS) + " RPS)"
				}
			}
		}
		q := "—"
		if tr := r.SaturationTrend; tr != nil {
			q = "flat"
			if tr.Growing {
				q = "grows (" + orDefault(r.SaturationUnit, "queueing") + ")"
			}
		}
		t.add(strconv.Itoa(r.Rank), r.Name, r.Family, sat, fmtUtil(r.UtilizationAtBreak), fmtUtil(r.MaxUtilization), q, fmtUtil(r.ExplainsP95))
	}
	s.tab(t)
	for _, r := range a.Resources {
		s.item(r.Name + ": " + r.Evidence)
	}
	return s, true
}

func scalabilitySection(a *model.Analysis) section {
	s := section{id: "scalability", title: "Scalability"}
	n := "VUs"
	if a.Concurrency == "in_flight" {
		n = "requests in flight"
	}
	u := a.USL
	if u == nil {
		s.para("Universal Scalability Law: " + orDefault(a.USLError, "not fitted") + ".")
	} else {
		s.para(fmt.Sprintf("Universal Scalability Law X(N) = λN / (1 + σ(N−1) + κN(N−1)), fitted to successful throughput against %s at %d levels, %s confidence.", n, u.Points, orDefault(u.Confidence, "unknown")))
		t := table{head: []string{"Parameter", "Value", "95% interval", "Meaning"}, right: []bool{false, true, true, false}}
		t.add("σ (contention)", fmt.Sprintf("%.4g", u.Sigma), ciText(u.SigmaCI), "the serialised share of the work")
		t.add("κ (coherency)", fmt.Sprintf("%.4g", u.Kappa), ciText(u.KappaCI), "the crosstalk penalty that makes throughput fall")
		t.add("λ (one unit)", fmt.Sprintf("%.4g RPS", u.Lambda), ciText(u.LambdaCI), "throughput of one unit of concurrency")
		t.add("R²", fmt.Sprintf("%.4f", u.R2), "—", "share of the throughput's variation the fit explains")
		if u.PeakN != nil && u.PeakX != nil {
			t.add("N*", fmtCount(*u.PeakN)+" "+n, "—", "concurrency of peak throughput, "+fmtRPS(*u.PeakX)+" RPS")
		} else {
			t.add("N*", "none", "—", "no coherency penalty: throughput does not fall within the model")
		}
		s.tab(t)
		s.item(u.Notes...)
	}
	if k := a.Knee; k != nil {
		s.para(fmt.Sprintf("The knee of the throughput curve (Kneedle) is at %s %s / %s RPS: past it, more concurrency buys little throughput.", fmtCount(k.X), n, fmtRPS(k.Y)))
	}
	return s
}

// ciText writes a confidence interval, or "unbounded" when the points did
// not identify the parameter.
func ciText(ci [2]float64) string {
	if ci[0] <= -1e300 || ci[1] >= 1e300 {
		return "unbounded"
	}
	return fmt.Sprintf("%.3g … %.3g", ci[0], ci[1])
}

func planSection(p *model.Plan) section {
	cur := p.Totals.Currency
	s := section{id: "plan", title: "Capacity plan"}
	if p.Verdict != "" {
		s.para(p.Verdict)
	}
	tg := table{caption: "Target", kv: true, head: []string{"", ""}, right: []bool{false, true}}
	tg.add("Baseline traffic today", fmtRPS(p.Target.BaselineRPS)+" RPS")
	tg.add("Baseline peak today", fmtRPS(p.Target.BaselinePeakRPS)+" RPS")
	if p.Target.Multiplier > 0 {
		tg.add("Growth", strconv.FormatFloat(p.Target.Multiplier, 'g', 4, 64)+"×")
	}
	tg.add("Target", fmtRPS(p.Target.TargetRPS)+" RPS")
	tg.add("Headroom wanted", fmtPct(p.Target.HeadroomRatio))
	tg.add("Capacity required", fmtRPS(p.Target.RequiredRPS)+" RPS")
	tg.add("Tested capacity", fmt.Sprintf("%s RPS (%s)", fmtRPS(p.Measured.CapacityRPS), strings.ReplaceAll(p.Measured.CapacitySource, "_", " ")))
	tg.add("Production capacity today", fmt.Sprintf("%s RPS (%s headroom over the peak)", fmtRPS(p.Measured.ProductionCapacityRPS), fmtSignedPct(p.Measured.CurrentHeadroomRatio)))
	tg.add("Expected capacity after the plan", fmt.Sprintf("%s RPS (%s headroom over the target)", fmtRPS(p.Totals.ExpectedCapacityRPS), fmtSignedPct(p.Totals.ExpectedHeadroomRatio)))
	s.tab(tg)
	if len(p.Changes) > 0 {
		ch := table{caption: "Changes, free configuration first", head: []string{"Change", "What", "From", "To", "Why", "Monthly cost"}, right: []bool{false, false, true, true, false, true}}
		for _, c := range p.Changes {
			title := c.Title
			var tags []string
			if c.Optional {
				tags = append(tags, "optional")
			}
			if c.Assumption {
				tags = append(tags, "assumption")
			}
			if len(tags) > 0 {
				title += " (" + strings.Join(tags, ", ") + ")"
			}
			why := c.Why
			if c.AssumptionNote != "" {
				why += " " + c.AssumptionNote
			}
			ch.add(title, c.What, orDash(c.From), orDash(c.To), why, fmtMoney(c.MonthlyCostDelta, cur, true))
		}
		s.tab(ch)
	} else {
		s.para("No change is needed.")
	}
	if len(p.Totals.Lines) > 0 {
		ct := table{caption: "Monthly cost", head: []string{"Item", "Today", "After", "Today / month", "After / month"}, right: []bool{false, false, false, true, true}}
		for _, l := range p.Totals.Lines {
			ct.add(l.Item, l.Current, l.New, fmtMoney(l.CurrentMonthly, cur, false), fmtMoney(l.NewMonthly, cur, false))
		}
		ct.add(cell{text: "Total"}, "", "", fmtMoney(p.Totals.CurrentMonthly, cur, false), fmtMoney(p.Totals.NewMonthly, cur, false)+" ("+fmtMoney(p.Totals.DeltaMonthly, cur, true)+")")
		s.tab(ct)
	}
	if len(p.Assumptions) > 0 {
		s.para("Assumptions the plan could not check:")
		s.item(p.Assumptions...)
	}
	return s
}

func runSection(r *model.ReportRun) section {
	s := section{id: "run", title: "Run"}
	line := "Run " + r.RunID + ": " + orDefault(r.Status, "unknown status")
	if r.Target != "" {
		line += ", against " + r.Target
	}
	if r.Shard != "" && r.Shard != "0/1" {
		line += ", shard " + r.Shard
	}
	if r.DroppedIterations > 0 {
		line += fmt.Sprintf(", %s iterations dropped (every VU was busy)", fmtThousands(float64(r.DroppedIterations)))
		if r.DroppedShare > 0 {
			line = strings.TrimSuffix(line, ")") + fmt.Sprintf("; %s of those scheduled)", fmtPct(r.DroppedShare))
		}
	}
	s.para(line + ".")
	s.item(r.Warnings...)
	if len(r.Thresholds) > 0 {
		t := table{caption: "Thresholds", head: []string{"Metric", "Threshold", "Observed", "Result"}, right: []bool{false, false, true, false}}
		for _, th := range r.Thresholds {
			res := cell{text: "passed"}
			if !th.Passed {
				res = cell{text: "failed", bad: true}
				if th.Aborted {
					res.text = "failed, aborted the run"
				}
			}
			t.add(th.Metric, th.Expr, strconv.FormatFloat(th.Observed, 'g', 4, 64), res)
		}
		s.tab(t)
	}
	if len(r.Checks) > 0 {
		checks := append([]model.CheckStats(nil), r.Checks...)
		sort.SliceStable(checks, func(i, j int) bool { return checks[i].Name < checks[j].Name })
		t := table{caption: "Checks", head: []string{"Check", "Passed", "Failed"}, right: []bool{false, true, true}}
		for _, c := range checks {
			t.add(c.Name, fmtThousands(float64(c.Passes)), cell{text: fmtThousands(float64(c.Fails)), bad: c.Fails > 0})
		}
		s.tab(t)
	}
	return s
}
