package planner

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/headroom-sh/headroom/model"
)

// Markdown renders a plan as plan.md: the target, what the test showed,
// the changes as a Change | What | Monthly Cost Delta table with the reason
// for each, the totals and cost breakdown, the assumptions and the prices
// used.
func Markdown(p *model.Plan) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cur := p.Totals.Currency
	title := "Capacity plan"
	if p.Service != "" {
		title += ": " + p.Service
	}
	w("# %s\n\n", title)
	w("%s\n\n", p.Verdict)

	t := p.Target
	w("## Target\n\n")
	w("| | |\n|---|---|\n")
	w("| Production today | %s RPS, peak %s RPS |\n", rps(t.BaselineRPS), rps(t.BaselinePeakRPS))
	w("| Target | %s RPS (%s× today), peak %s RPS |\n", rps(t.TargetRPS), num2(t.Multiplier), rps(t.TargetPeakRPS))
	w("| Headroom | %s → plan for %s RPS |\n", pct(t.HeadroomRatio), rps(t.RequiredRPS))
	w("| SLO | p95 < %s ms, errors < %s |\n\n", num(t.SLO.P95Ms), pctFine(t.SLO.MaxErrorRate))

	m := p.Measured
	w("## What the test showed\n\n")
	switch m.CapacitySource {
	case "breaking_point":
		w("- It broke at **%s RPS** on %d pod%s (%s) → %s RPS per pod (%s).\n", rps(m.CapacityRPS), m.TestedPods, plural(m.TestedPods), reasonText(m.BreakReason), rps(m.PerPodRPS), perPodText(m.PerPodSource))
	case "stage_table":
		w("- Within the plan's SLO it carried **%s RPS** on %d pod%s → %s RPS per pod (%s).\n", rps(m.CapacityRPS), m.TestedPods, plural(m.TestedPods), rps(m.PerPodRPS), perPodText(m.PerPodSource))
	case "usl_peak":
		w("- Nothing broke; the USL fit peaks at **%s RPS** on %d pod%s (extrapolated) → %s RPS per pod.\n", rps(m.CapacityRPS), m.TestedPods, plural(m.TestedPods), rps(m.PerPodRPS))
	default:
		w("- Nothing broke up to **%s RPS** on %d pod%s → at least %s RPS per pod.\n", rps(m.CapacityRPS), m.TestedPods, plural(m.TestedPods), rps(m.PerPodRPS))
	}
	if m.Bottleneck != "" && m.Bottleneck != model.BottleneckNone {
		name := m.BottleneckName
		if name == "" {
			name = m.Bottleneck
		}
		line := fmt.Sprintf("- Bottleneck: %s (`%s`)", name, m.Bottleneck)
		if m.SaturatedAtRPS > 0 {
			line += fmt.Sprintf(", saturated at %s RPS", rps(m.SaturatedAtRPS))
		}
		w("%s.\n", line)
		if e := m.BottleneckExperiment; e != nil {
			w("- %s saturated with it; before relying on this plan, %s.\n", orName(m.BottleneckContender, e.ResourceName), e.Text)
		}
	}
	var facts []string
	if m.ConnectionHoldMs > 0 {
		facts = append(facts, fmt.Sprintf("a request holds a DB connection %s ms on average", num(m.ConnectionHoldMs)))
	}
	if m.CPUAtBreak > 0 {
		facts = append(facts, fmt.Sprintf("pod CPU %s at that load", pct(m.CPUAtBreak)))
	}
	if m.ReadShare > 0 {
		facts = append(facts, fmt.Sprintf("reads (GET) %s of request time", pct(m.ReadShare)))
	}
	if len(facts) > 0 {
		w("- %s\n", sentence(strings.Join(facts, "; ")))
	}
	w("- Production today carries about %s RPS: %s headroom over its %s RPS peak.\n\n", rps(m.ProductionCapacityRPS), signedPct(m.CurrentHeadroomRatio), rps(t.BaselinePeakRPS))

	w("## Changes\n\n")
	if len(p.Changes) == 0 {
		w("None: production already carries the target with its headroom.\n\n")
	} else {
		w("| Change | What | Monthly Cost Delta |\n|---|---|---:|\n")
		for _, c := range p.Changes {
			what := c.What
			if c.Assumption {
				what += " *(assumption)*"
			}
			title := c.Title
			if c.Optional {
				title += " *(optional)*"
			}
			w("| %s | %s | %s |\n", cell(title), cell(what), deltaMoney(c.MonthlyCostDelta, cur))
		}
		w("\n### Why\n\n")
		for i, c := range p.Changes {
			w("%d. **%s.** %s\n", i+1, c.Title, c.Why)
			if c.AssumptionNote != "" {
				w("   *Assumption:* %s\n", c.AssumptionNote)
			}
		}
		w("\n")
	}

	tt := p.Totals
	w("## Totals\n\n")
	w("| | Current | New |\n|---|---:|---:|\n")
	w("| Monthly cost | %s | %s |\n", money(tt.CurrentMonthly, cur), money(tt.NewMonthly, cur))
	w("| Change | | %s |\n", deltaMoney(tt.DeltaMonthly, cur))
	w("| Cost per 1,000 RPS | %s at %s RPS | %s at %s RPS |\n", money(tt.CostPer1kRPSBefore, cur), rps(t.BaselineRPS), money(tt.CostPer1kRPSAfter, cur), rps(t.TargetRPS))
	limit := ""
	if tt.ExpectedLimit != "" {
		limit = " (limited by " + tt.ExpectedLimit + ")"
	}
	w("| Capacity | %s RPS | %s RPS%s |\n", rps(tt.CurrentCapacityRPS), rps(tt.ExpectedCapacityRPS), limit)
	w("| Headroom at the target | %s | %s (wanted %s) |\n\n", signedPct(tt.CurrentCapacityRPS/t.TargetRPS-1), signedPct(tt.ExpectedHeadroomRatio), pct(t.HeadroomRatio))
	if tt.OptionalMonthly != 0 {
		w("The optional changes would add %s a month.\n\n", signedMoney(tt.OptionalMonthly, cur))
	}
	w("### Cost breakdown\n\n")
	w("| Item | Current | New | Current / month | New / month |\n|---|---|---|---:|---:|\n")
	for _, l := range tt.Lines {
		w("| %s | %s | %s | %s | %s |\n", cell(l.Item), cell(l.Current), cell(l.New), money(l.CurrentMonthly, cur), money(l.NewMonthly, cur))
	}
	w("| **Total** | | | **%s** | **%s** |\n\n", money(tt.CurrentMonthly, cur), money(tt.NewMonthly, cur))

	w("## Assumptions\n\n")
	for _, a := range p.Assumptions {
		w("- %s\n", a)
	}
	w("\n## Prices\n\n")
	pr := p.Prices
	w("%s, %s, %s hours a month.\n\n", orName(pr.Name, "Price catalog"), pr.Currency, num(pr.HoursPerMonth))
	w("| Kind | Name | Engine | Price | Monthly | As of | Source |\n|---|---|---|---:|---:|---|---|\n")
	for _, e := range pr.Used {
		w("| %s | %s | %s | %s / %s | %s | %s | %s |\n", e.Kind, e.Name, orName(e.Engine, "—"),
			priceText(e.Price, cur), e.Unit, money(e.Monthly(pr.HoursPerMonth), cur), e.AsOf, cell(e.Source))
	}
	return b.Bytes()
}

func reasonText(r string) string {
	switch r {
	case model.ReasonLatencySLO:
		return "p95 latency crossed the SLO"
	case model.ReasonErrorRate:
		return "the error rate crossed its limit"
	case model.ReasonThroughputPeak:
		return "throughput peaked"
	case model.ReasonRetrograde:
		return "throughput fell as load rose"
	case model.ReasonSaturation:
		return "throughput stopped rising as load rose (saturation)"
	case "":
		return "reason not given"
	}
	return r
}

func perPodText(s string) string {
	switch s {
	case "cpu_extrapolated":
		return "extrapolated from CPU"
	case "usl_extrapolated":
		return "extrapolated by the USL"
	}
	return s
}

func deltaMoney(v float64, cur string) string {
	if v == 0 {
		return money(0, cur)
	}
	return signedMoney(v, cur)
}

// priceText formats a unit price with up to four decimals.
func priceText(v float64, cur string) string {
	s := fmt.Sprintf("%.4f", v)
	s = strings.TrimRight(s, "0")
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 < 2 {
		s += strings.Repeat("0", 2-(len(s)-i-1))
	}
	switch cur {
	case "USD", "":
		return "$" + s
	case "EUR":
		return "€" + s
	case "GBP":
		return "£" + s
	}
	return s + " " + cur
}

func pctFine(v float64) string {
	if v*100 == float64(int(v*100)) {
		return pct(v)
	}
	return fmt.Sprintf("%.1f%%", v*100)
}

// cell escapes a value for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
