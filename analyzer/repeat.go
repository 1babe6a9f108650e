package analyzer

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/headroom-sh/headroom/model"
)

// Repeatability summarises the breaking points of the same ramp run
// several times: their mean ± standard deviation, range and reasons, and
// whether the runs agree within their own uncertainties. The analyses are
// not modified.
func Repeatability(analyses []model.Analysis) model.Repeatability {
	r := model.Repeatability{Runs: []model.RepeatRun{}, Reasons: map[string]int{}}
	var rps []float64
	covered := true
	for _, a := range analyses {
		run := model.RepeatRun{RunID: a.RunID, TestedUpToRPS: a.TestedUpToRPS}
		if b := a.BreakingPoint; b != nil {
			run.Broke, run.Reason, run.RPS, run.RPSUncertainty, run.VUs = true, b.Reason, b.RPS, b.RPSUncertainty, b.VUs
			r.Broke++
			r.Reasons[b.Reason]++
			rps = append(rps, b.RPS)
		}
		r.Runs = append(r.Runs, run)
	}
	n := len(analyses)
	if len(rps) > 0 {
		r.MeanRPS = stat.Mean(rps, nil)
		r.MinRPS, r.MaxRPS = minMax(rps)
		if r.MeanRPS > 0 {
			r.SpreadRatio = (r.MaxRPS - r.MinRPS) / r.MeanRPS
		}
	}
	if len(rps) >= 2 {
		r.SDRPS = stat.StdDev(rps, nil)
		// Do the runs' own intervals overlap the mean?
		for _, run := range r.Runs {
			if run.Broke && math.Abs(run.RPS-r.MeanRPS) > run.RPSUncertainty {
				covered = false
			}
		}
	}

	var v strings.Builder
	switch {
	case n == 0:
		v.WriteString("No runs.")
	case r.Broke == 0:
		top := 0.0
		for _, run := range r.Runs {
			top = math.Max(top, run.TestedUpToRPS)
		}
		fmt.Fprintf(&v, "None of %d runs broke (tested up to %s RPS).", n, fnum(top))
	case r.Broke == 1:
		fmt.Fprintf(&v, "1 of %d runs broke, at %s RPS: too few to measure a spread.", n, fnum(r.MeanRPS))
	default:
		fmt.Fprintf(&v, "Breaking point over %d runs: %s ± %s RPS (mean ± sd), %s–%s RPS, a spread of %s of the mean",
			r.Broke, fnum(r.MeanRPS), fpm(r.SDRPS), fnum(r.MinRPS), fnum(r.MaxRPS), fpct(r.SpreadRatio))
		if r.Broke < n {
			fmt.Fprintf(&v, "; %d of %d runs did not break", n-r.Broke, n)
		}
		v.WriteString("; reasons: " + reasonCounts(r.Reasons) + ".")
		if !covered {
			v.WriteString(" The runs differ by more than their own uncertainties: the host or the system is noisier than one run shows, so plan from the lower end or test with longer stages on a quieter machine.")
		} else {
			v.WriteString(" Each run's uncertainty covers the mean.")
		}
	}
	r.Verdict = v.String()
	return r
}

// reasonCounts writes "saturation ×3, latency_slo ×1", most frequent first.
func reasonCounts(m map[string]int) string {
	type rc struct {
		r string
		n int
	}
	var rs []rc
	for k, n := range m {
		rs = append(rs, rc{k, n})
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].n != rs[j].n {
			return rs[i].n > rs[j].n
		}
		return rs[i].r < rs[j].r
	})
	var parts []string
	for _, x := range rs {
		parts = append(parts, fmt.Sprintf("%s ×%d", x.r, x.n))
	}
	return strings.Join(parts, ", ")
}
