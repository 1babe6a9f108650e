package analyzer

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/headroom-sh/headroom/model"
)

// Breaking-point constants.
const (
	// sustainLookahead is how many following points are checked for a
	// crossing to count as sustained; more than half must also cross.
	sustainLookahead = 3
	// minIntervalRequests is the fewest requests in a series interval for
	// its error rate to be judged.
	minIntervalRequests = 5
	// retrogradeMinDrop is the smallest relative fall of throughput after
	// its peak that counts as retrograde (beyond noise, see retrograde).
	retrogradeMinDrop = 0.05
	// retrogradeClearDrop is the fall (of the tail's mean below the peak)
	// from which a retrograde curve is reported as such even when the
	// throughput also has a plateau; a smaller sag is the plateau's.
	retrogradeClearDrop = 0.15
	// maxCurveBins bounds the points of a binned throughput curve.
	maxCurveBins = 20
)

// reasonOrder breaks ties between breaking points at the same load.
var reasonOrder = map[string]int{
	model.ReasonSaturation: 0, model.ReasonLatencySLO: 1, model.ReasonErrorRate: 2,
	model.ReasonRetrograde: 3, model.ReasonThroughputPeak: 4,
}

// crossing is where a quantity first crossed a limit in the load points.
type crossing struct {
	at model.LoadPoint // interpolated between the last point below and the first above
	// first is true when the quantity was already above the limit at the
	// first judged point.
	first bool
	// last is true when the crossing is at the last judged point (the run
	// ended there), so it could not be confirmed as sustained.
	last bool
	// excursions are earlier points above the limit that did not last.
	excursions []model.LoadPoint
	value      float64 // the quantity at the first point above
	peak       float64 // the largest quantity from there on
	// lo and hi are the judged points that bracket the crossing: the last
	// at or below the limit (nil when there is none) and the first above.
	lo, hi *model.LoadPoint
}

// crossIdx is where a quantity first crossed a limit in a sequence of
// judged values, by index: between prev (the last index at or below the
// limit, −1 when there is none) and at, a fraction f of the way.
type crossIdx struct {
	prev, at int
	f        float64
	first    bool
	last     bool
	value    float64
	// peak is the largest (smoothed) value from the crossing on.
	peak       float64
	excursions []int
}

// crossIndex returns the first sustained crossing of limit (value >
// limit) in the values of indices 0..n−1. value returns an index's
// quantity and whether it may be judged. With smooth, the judged values
// are first replaced by their centred running median of 3 (Tukey 1977),
// so that one noisy sample neither makes nor hides a crossing while a step
// in load stays where it happened. A value above the limit
// is a sustained crossing when more than half of the next judged values
// (up to sustainLookahead) are above it too, or when it is the last judged
// value. The crossing is placed by linear interpolation between the last
// judged value at or below the limit and the first above it; value is the
// (smoothed) quantity at the first above.
func crossIndex(n int, limit float64, smooth bool, value func(i int) (float64, bool)) (crossIdx, bool) {
	type jv struct {
		i int
		v float64
	}
	var js []jv
	for i := 0; i < n; i++ {
		if v, ok := value(i); ok && finite(v) {
			js = append(js, jv{i, v})
		}
	}
	if smooth && len(js) >= 3 {
		vs := make([]float64, len(js))
		for k, j := range js {
			vs[k] = j.v
		}
		for k, v := range runningMedian3(vs) {
			js[k].v = v
		}
	}
	var c crossIdx
	for k, j := range js {
		if !(j.v > limit) {
			continue
		}
		ahead := js[k+1 : min(len(js), k+1+sustainLookahead)]
		above := 0
		for _, x := range ahead {
			if x.v > limit {
				above++
			}
		}
		if len(ahead) > 0 && 2*above <= len(ahead) {
			c.excursions = append(c.excursions, j.i)
			continue
		}
		c.last = len(ahead) == 0
		c.value = j.v
		c.peak = j.v
		for _, x := range js[k:] {
			c.peak = math.Max(c.peak, x.v)
		}
		c.at, c.prev, c.f = j.i, -1, 1
		if k == 0 {
			c.first = true
			return c, true
		}
		prev := js[k-1]
		c.prev = prev.i
		if j.v > prev.v {
			c.f = math.Max(0, math.Min(1, (limit-prev.v)/(j.v-prev.v)))
		}
		return c, true
	}
	return c, false
}

// runningMedian3 replaces every value but the first and the last with the
// median of itself and its two neighbours.
func runningMedian3(v []float64) []float64 {
	out := append([]float64(nil), v...)
	for i := 1; i+1 < len(v); i++ {
		a, b, c := v[i-1], v[i], v[i+1]
		out[i] = math.Max(math.Min(a, b), math.Min(math.Max(a, b), c))
	}
	return out
}

// findCrossing runs crossIndex over load points and interpolates the load
// at the crossing.
func findCrossing(pts []model.LoadPoint, limit float64, smooth bool, value func(model.LoadPoint) (float64, bool)) (crossing, bool) {
	ci, ok := crossIndex(len(pts), limit, smooth, func(i int) (float64, bool) { return value(pts[i]) })
	c := crossing{first: ci.first, last: ci.last, value: ci.value, peak: ci.peak}
	for _, i := range ci.excursions {
		c.excursions = append(c.excursions, pts[i])
	}
	if !ok {
		return c, false
	}
	hi := pts[ci.at]
	c.hi = &hi
	if ci.prev < 0 {
		c.at = pts[ci.at]
	} else {
		lo := pts[ci.prev]
		c.lo = &lo
		c.at = lerpPoint(pts[ci.prev], pts[ci.at], ci.f)
	}
	return c, true
}

// breakingPoints evaluates every criterion, fits the USL and the knee,
// looks for a saturation plateau (or an open-model overload), and picks
// the earliest breaking point by load.
func (a *analysis) breakingPoints() {
	a.testedRange()
	var bps []model.BreakingPoint
	if bp, ok := a.latencyBreak(); ok {
		bps = append(bps, bp)
	}
	errBP, hasErr := a.errorBreak()
	peak, hasPeak := a.throughputBreak()
	sat, hasSat := a.plateauBreak(ptrIf(&errBP, hasErr))
	if hasErr {
		bps = append(bps, errBP)
	}
	retro, hasRetro := a.retrograde()
	if hasSat && a.retroFromPlateau {
		// The plateau search saw a fall: one retrograde breaking point,
		// the binned test's when it found one too.
		if !hasRetro {
			retro, hasRetro = sat, true
			a.retroFall = 1 - a.plat.fellTo/a.plat.level
		}
		a.plat, hasSat = nil, false
	}
	switch {
	case hasRetro && (hasSat || a.shedding) && a.retroFall < retrogradeClearDrop:
		// Throughput sagged a little past a plateau (or past the level a
		// service sheds load at): the plateau, which says so, is the
		// better account.
		a.note("throughput fell %s past its peak, too little to call the curve retrograde next to its plateau", fpct(a.retroFall))
		if hasPeak {
			a.note("the USL fit peaks at N = %s inside the tested range, but throughput has a plateau there, which gives the capacity", fnum(peak.Concurrency))
		}
	case hasRetro:
		if hasPeak {
			retro.Evidence += fmt.Sprintf("; the USL fit agrees: it peaks at N* = %s %s with %s successful RPS (κ = %.3g)", fnum(peak.Concurrency), a.concurrencyUnit(), fnum(peak.Value), a.out.USL.Kappa)
		}
		bps = append(bps, retro)
		if hasSat {
			// A plateau that falls is the retrograde curve's top, not a
			// ceiling.
			a.plat, hasSat = nil, false
		}
	case hasSat && hasPeak:
		a.note("the USL fit peaks at N = %s inside the tested range, but throughput has a plateau there, which gives the capacity: a hard ceiling is not the USL's shape, so its peak is not counted as a breaking point", fnum(peak.Concurrency))
	case hasPeak:
		bps = append(bps, peak)
	}
	if hasSat {
		bps = append(bps, sat)
	}
	if u := a.out.USL; u != nil && u.R2 < r2Low {
		msg := fmt.Sprintf("the USL fit describes throughput poorly (R² %.2f over %d concurrency levels), so its extrapolation is not to be trusted", u.R2, u.Points)
		if hasSat {
			msg += "; the breaking point comes from the throughput plateau, not from the fit"
		}
		a.warn(model.Warning{Kind: "poor_fit", Message: msg})
	}
	sort.SliceStable(bps, func(i, j int) bool {
		ki, kj := a.bpKey(bps[i]), a.bpKey(bps[j])
		if ki != kj {
			return ki < kj
		}
		ti, tj := bpTime(bps[i]), bpTime(bps[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return reasonOrder[bps[i].Reason] < reasonOrder[bps[j].Reason]
	})
	a.out.BreakingPoints = append(a.out.BreakingPoints, bps...)
	if len(bps) > 0 {
		b := bps[0]
		a.brk = &b
		a.out.BreakingPoint = &b
	}
}

// ptrIf returns p when ok, else nil.
func ptrIf[T any](p *T, ok bool) *T {
	if ok {
		return p
	}
	return nil
}

func bpTime(b model.BreakingPoint) time.Time {
	if b.Time == nil {
		return time.Time{}
	}
	return *b.Time
}

// testedRange finds the highest sustained throughput: the largest centred
// 3-point moving average of RPS (of single points when there are fewer
// than three), and the most VUs.
func (a *analysis) testedRange() {
	pts := a.pts
	best, bestI := -1.0, -1
	for i := range pts {
		a.out.TestedUpToVUs = math.Max(a.out.TestedUpToVUs, nz(pts[i].VUs))
		lo, hi := i, i
		if len(pts) >= 3 {
			if i == 0 || i == len(pts)-1 {
				continue
			}
			lo, hi = i-1, i+1
		}
		s := 0.0
		for j := lo; j <= hi; j++ {
			s += nz(pts[j].RPS)
		}
		if m := s / float64(hi-lo+1); m > best {
			best, bestI = m, i
		}
	}
	if bestI >= 0 {
		a.out.TestedUpToRPS = best
		a.peak = pts[bestI]
	}
}

// judge runs findCrossing over the load points and, when it finds nothing
// there and the points are a series, over the stage rows.
func (a *analysis) judge(limit float64, value func(model.LoadPoint) (float64, bool)) (crossing, bool, bool) {
	if c, ok := findCrossing(a.pts, limit, !a.fromStages, value); ok {
		return c, a.fromStages, true
	}
	if a.fromStages {
		return crossing{}, false, false
	}
	c, ok := findCrossing(stagePoints(a.obs.Stages), limit, false, value)
	return c, true, ok
}

func (a *analysis) latencyBreak() (model.BreakingPoint, bool) {
	slo := a.out.SLO.P95Ms
	c, staged, ok := a.judge(slo, func(p model.LoadPoint) (float64, bool) { return p.P95Ms, true })
	a.excursions("p95", c.excursions, func(p model.LoadPoint) string { return fms(p.P95Ms) }, fms(slo))
	if !ok {
		return model.BreakingPoint{}, false
	}
	bp := a.crossingPoint(model.ReasonLatencySLO, c, staged)
	bp.Value, bp.Limit = c.value, slo
	bp.RPSUncertainty = a.crossingUncertainty(c)
	switch {
	case c.first:
		bp.Evidence = fmt.Sprintf("p95 was already %s, above the %s SLO, at the lightest load tested (%s)", fms(c.value), fms(slo), a.loadPhrase(bp))
	default:
		bp.Evidence = fmt.Sprintf("p95 crossed the %s SLO at %s and reached %s", fms(slo), a.loadPhrase(bp), fms(c.peak))
	}
	bp.Evidence += a.crossingCaveat(c, staged)
	return bp, true
}

func (a *analysis) errorBreak() (model.BreakingPoint, bool) {
	limit := a.opts.MaxErrorRate
	step := a.stepSec
	c, staged, ok := a.judge(limit, func(p model.LoadPoint) (float64, bool) {
		if step > 0 && p.RPS*step < minIntervalRequests && !a.fromStages {
			return 0, false
		}
		return p.ErrorRate, true
	})
	a.excursions("error rate", c.excursions, func(p model.LoadPoint) string { return fpct(p.ErrorRate) }, fpct(limit))
	if !ok {
		return model.BreakingPoint{}, false
	}
	bp := a.crossingPoint(model.ReasonErrorRate, c, staged)
	bp.Value, bp.Limit = c.value, limit
	bp.RPSUncertainty = a.crossingUncertainty(c)
	if c.first {
		bp.Evidence = fmt.Sprintf("the error rate was already %s, above the %s limit, at the lightest load tested (%s)", fpct(c.value), fpct(limit), a.loadPhrase(bp))
	} else {
		bp.Evidence = fmt.Sprintf("the error rate crossed %s at %s and reached %s", fpct(limit), a.loadPhrase(bp), fpct(c.peak))
	}
	if total := nz(c.at.RPS); total > bp.RPS*1.005 {
		bp.Evidence += fmt.Sprintf(" (%s RPS in all, %s of them successful)", fnum(total), fnum(bp.RPS))
	}
	bp.Evidence += a.crossingCaveat(c, staged)
	return bp, true
}

// excursions records crossings that did not last as one warning.
func (a *analysis) excursions(what string, ex []model.LoadPoint, val func(model.LoadPoint) string, limitS string) {
	if len(ex) == 0 {
		return
	}
	var parts []string
	for i, p := range ex {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(ex)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("%s at %s", val(p), p.Time.UTC().Format("15:04:05")))
	}
	a.warn(model.Warning{
		Kind:    "excursion",
		Message: fmt.Sprintf("%s exceeded %s briefly and recovered (%s): not counted as the breaking point", what, limitS, strings.Join(parts, ", ")),
	})
}

// crossingPoint turns a crossing into a breaking point's load fields.
func (a *analysis) crossingPoint(reason string, c crossing, staged bool) model.BreakingPoint {
	p := c.at
	t := p.Time
	bp := model.BreakingPoint{
		Reason:      reason,
		VUs:         nz(p.VUs),
		RPS:         goodput(p),
		TargetRate:  nz(p.TargetRate),
		Concurrency: nz(a.concurrency(p)),
		Time:        &t,
		Stage:       p.Stage,
		Confidence:  model.ConfidenceHigh,
	}
	if c.first || c.last || staged {
		bp.Confidence = model.ConfidenceMedium
	}
	return bp
}

func (a *analysis) crossingCaveat(c crossing, staged bool) string {
	var s []string
	if staged {
		s = append(s, "judged from stage rows, interpolated between stages")
	}
	if c.last {
		s = append(s, "at the last point of the window, so it could not be confirmed as sustained")
	}
	if c.first {
		s = append(s, "the breaking point is at or below this load")
	}
	if len(s) == 0 {
		return ""
	}
	return "; " + strings.Join(s, "; ")
}

// loadPhrase writes a breaking point's load: "350 VUs / 520 RPS".
func (a *analysis) loadPhrase(bp model.BreakingPoint) string {
	return loadPhrase(bp.VUs, bp.RPS, bp.TargetRate, a.axis)
}

func loadPhrase(vus, rps, target float64, axis loadAxis) string {
	switch {
	case axis == axisTarget && target > 0:
		return fmt.Sprintf("%s iterations/s offered, %s RPS", fnum(target), fnum(rps))
	case vus > 0 && axis == axisVUs:
		return fmt.Sprintf("%s VUs / %s RPS", fnum(vus), fnum(rps))
	}
	return fnum(rps) + " RPS"
}

// concurrency is USL's N for a point: VUs in closed-model runs, else the
// requests in flight (Little's law, N = X × mean latency).
func (a *analysis) concurrency(p model.LoadPoint) float64 {
	if a.axis == axisVUs {
		return p.VUs
	}
	if finite(p.InFlight) && p.InFlight > 0 {
		return p.InFlight
	}
	if finite(p.MeanMs) && p.MeanMs > 0 {
		return p.RPS * p.MeanMs / 1000
	}
	return math.NaN()
}

// goodput is the throughput of successful requests.
func goodput(p model.LoadPoint) float64 {
	e := p.ErrorRate
	if !finite(e) || e < 0 {
		e = 0
	}
	return nz(p.RPS) * (1 - math.Min(1, e))
}

// curvePoint is one bin of a throughput curve.
type curvePoint struct {
	l, x, rps float64
	n         int
}

// binCurve averages (l, x) pairs: exactly equal l values form one bin when
// exact is set; otherwise the pairs, sorted by l, are cut into at most
// maxCurveBins bins of equal count. The result is sorted by l.
func binCurve(ls, xs, rps []float64, exact bool) []curvePoint {
	idx := make([]int, 0, len(ls))
	for i := range ls {
		if finite(ls[i]) && ls[i] > 0 && finite(xs[i]) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return ls[idx[a]] < ls[idx[b]] })
	var out []curvePoint
	add := func(group []int) {
		var c curvePoint
		for _, i := range group {
			c.l += ls[i]
			c.x += xs[i]
			c.rps += rps[i]
		}
		c.n = len(group)
		k := float64(c.n)
		c.l, c.x, c.rps = c.l/k, c.x/k, c.rps/k
		out = append(out, c)
	}
	if exact {
		distinct := 0
		for i := range idx {
			if i == 0 || ls[idx[i]] != ls[idx[i-1]] {
				distinct++
			}
		}
		exact = distinct <= maxCurveBins
	}
	if exact {
		for i := 0; i < len(idx); {
			j := i
			for j < len(idx) && ls[idx[j]] == ls[idx[i]] {
				j++
			}
			add(idx[i:j])
			i = j
		}
		return out
	}
	per := max(1, int(math.Ceil(float64(len(idx))/maxCurveBins)))
	for i := 0; i < len(idx); i += per {
		add(idx[i:min(len(idx), i+per)])
	}
	// Equal-count bins of a narrow range may share l; merge them so the
	// curve has distinct x values.
	merged := out[:0]
	for _, c := range out {
		if len(merged) > 0 && merged[len(merged)-1].l == c.l {
			m := &merged[len(merged)-1]
			t := float64(m.n + c.n)
			m.x = (m.x*float64(m.n) + c.x*float64(c.n)) / t
			m.rps = (m.rps*float64(m.n) + c.rps*float64(c.n)) / t
			m.n += c.n
			continue
		}
		merged = append(merged, c)
	}
	return merged
}

// throughputCurve is goodput against concurrency, binned.
func (a *analysis) throughputCurve() []curvePoint {
	var ns, xs, rps []float64
	for _, p := range a.pts {
		ns = append(ns, a.concurrency(p))
		xs = append(xs, goodput(p))
		rps = append(rps, nz(p.RPS))
	}
	return binCurve(ns, xs, rps, a.axis == axisVUs)
}

// throughputBreak fits the USL and finds the knee of the throughput curve;
// the USL's peak is a breaking point when it lies inside the tested range
// and the fit's confidence is not low.
func (a *analysis) throughputBreak() (model.BreakingPoint, bool) {
	if a.axis == axisVUs {
		a.out.Concurrency = "vus"
	} else {
		a.out.Concurrency = "in_flight"
	}
	curve := a.throughputCurve()
	ns := make([]float64, len(curve))
	xs := make([]float64, len(curve))
	pts := make([]Point, len(curve))
	for i, c := range curve {
		ns[i], xs[i] = c.l, c.x
		pts[i] = Point{N: c.l, X: c.x}
	}
	if k, ok := FindKnee(ns, xs, Concave); ok {
		a.out.Knee = &k
	}
	u, err := FitUSL(pts)
	if err != nil {
		switch {
		case errors.Is(err, ErrTooFewPoints):
			a.out.USLError = fmt.Sprintf("not fitted: %d distinct concurrency levels; the USL needs at least 3 (run more stages)", len(curve))
		default:
			a.out.USLError = "not fitted: " + err.Error()
		}
		return model.BreakingPoint{}, false
	}
	a.out.USL = &u
	if a.axis != axisVUs {
		a.note("USL's N is the number of requests in flight (Little's law: throughput × mean latency), as the run is not driven by VUs")
	}
	a.note("throughput in the USL fit, the knee and the retrograde test counts successful requests only")
	if u.PeakN == nil || len(curve) == 0 || *u.PeakN > curve[len(curve)-1].l {
		return model.BreakingPoint{}, false
	}
	nStar, xStar := *u.PeakN, *u.PeakX
	if u.Confidence == model.ConfidenceLow {
		a.note("the USL fit peaks at N = %s (%s successful RPS) inside the tested range, but with low confidence, so it is not counted as a breaking point", fnum(nStar), fnum(xStar))
		return model.BreakingPoint{}, false
	}
	c, ok := findCrossing(a.pts, nStar, false, func(p model.LoadPoint) (float64, bool) {
		n := a.concurrency(p)
		return n, finite(n)
	})
	if !ok {
		// N* equals the largest concurrency: take that point.
		c = crossing{at: a.pts[len(a.pts)-1]}
		for _, p := range a.pts {
			if a.concurrency(p) >= nStar {
				c.at = p
				break
			}
		}
	}
	bp := a.crossingPoint(model.ReasonThroughputPeak, c, a.fromStages)
	bp.Concurrency = nStar
	if a.axis == axisVUs {
		bp.VUs = nStar
	}
	bp.Value = xStar
	// The scatter of the curve about the fit.
	ss := 0.0
	for _, c := range curve {
		r := c.x - u.Throughput(c.l)
		ss += r * r
	}
	if len(curve) > 3 {
		bp.RPSUncertainty = z95 * math.Sqrt(ss/float64(len(curve)-3))
	}
	bp.Confidence = u.Confidence
	bp.Evidence = fmt.Sprintf("the USL fit (R² %.3f, %d concurrency levels) peaks at N* = %s %s with %s successful RPS (σ = %.3g, κ = %.3g)",
		u.R2, u.Points, fnum(nStar), a.concurrencyUnit(), fnum(xStar), u.Sigma, u.Kappa)
	if a.out.Knee != nil {
		bp.Evidence += fmt.Sprintf("; the throughput curve's knee is at %s %s / %s RPS", fnum(a.out.Knee.X), a.concurrencyUnit(), fnum(a.out.Knee.Y))
	}
	return bp, true
}

func (a *analysis) concurrencyUnit() string {
	if a.axis == axisVUs {
		return "VUs"
	}
	return "requests in flight"
}

// retrograde flags throughput that falls while load keeps rising. The
// curve is goodput against the load axis (VUs; the offered rate; else
// requests in flight), binned and smoothed with a 3-point moving average.
// Throughput is retrograde when, after its smoothed peak, the mean of the
// later half of the bins after it lies more than retrogradeMinDrop below
// the peak, the fall is larger than three standard errors (from the noise
// of one interval, see goodputNoise), and neither of the last two bins
// recovers to the peak.
func (a *analysis) retrograde() (model.BreakingPoint, bool) {
	var ls, xs, rps []float64
	for _, p := range a.pts {
		var l float64
		switch a.axis {
		case axisVUs:
			l = p.VUs
		case axisTarget:
			l = p.TargetRate
		default:
			l = a.concurrency(p)
		}
		ls = append(ls, l)
		xs = append(xs, goodput(p))
		rps = append(rps, nz(p.RPS))
	}
	curve := binCurve(ls, xs, rps, a.axis == axisVUs)
	n := len(curve)
	if n < 4 {
		return model.BreakingPoint{}, false
	}
	x := make([]float64, n)
	for i, c := range curve {
		x[i] = c.x
	}
	sm := movingAverage(x, 3)
	p := 0
	for i := range sm {
		if sm[i] > sm[p] {
			p = i
		}
	}
	// The noise of one bin: the scatter of one interval (robust to the
	// curve's own shape) over the points a bin averages.
	perBin := float64(len(a.pts)) / float64(n)
	noise := a.goodputNoise() / math.Sqrt(math.Max(1, perBin))
	// Bins of several points locate the peak themselves; the smoothed
	// curve only finds its neighbourhood.
	if perBin >= 3 {
		for _, q := range []int{p - 1, p + 1} {
			if q >= 0 && q < n && x[q] > x[p] {
				p = q
			}
		}
	}
	if p >= n-2 {
		return model.BreakingPoint{}, false
	}
	peak := sm[p]
	if perBin >= 3 {
		peak = x[p]
	}
	// The tail: the later half of the bins after the peak, at least two.
	k := max(2, (n-1-p)/2)
	tail := x[n-k:]
	tailMean := stat.Mean(tail, nil)
	lastTwo := math.Max(x[n-1], x[n-2])
	drop := peak - tailMean
	// The peak is (about) a mean of three bins and the tail of k.
	se := noise * math.Sqrt(1/float64(k)+1.0/3)
	if !(tailMean < peak*(1-retrogradeMinDrop)) || !(lastTwo < peak) || !(drop > 3*se) || !(curve[n-1].l > curve[p].l) {
		return model.BreakingPoint{}, false
	}
	// The load where throughput peaked, located in time.
	lp := curve[p].l
	c, ok := findCrossing(a.pts, lp, false, func(q model.LoadPoint) (float64, bool) {
		switch a.axis {
		case axisVUs:
			return q.VUs + 1e-9, true // reach lp, not exceed it
		case axisTarget:
			return q.TargetRate + 1e-9, true
		}
		v := a.concurrency(q)
		return v + 1e-9, finite(v)
	})
	if !ok {
		c = crossing{at: a.pts[0]}
	}
	bp := a.crossingPoint(model.ReasonRetrograde, c, a.fromStages)
	switch a.axis {
	case axisVUs:
		bp.VUs = lp
	case axisTarget:
		bp.TargetRate = lp
	}
	bp.RPS = peak
	bp.Value = peak
	bp.RPSUncertainty = z95 * noise
	fall := (peak - x[n-1]) / peak
	a.retroFall = (peak - tailMean) / peak
	unit := map[loadAxis]string{axisVUs: "VUs", axisTarget: "iterations/s offered", axisRPS: "requests in flight"}[a.axis]
	bp.Evidence = fmt.Sprintf("successful throughput peaked at %s RPS at %s %s and fell to %s RPS at %s %s (−%s) while load kept rising",
		fnum(peak), fnum(lp), unit, fnum(x[n-1]), fnum(curve[n-1].l), unit, fpct(fall))
	bp.Confidence = model.ConfidenceHigh
	if n-1-p < 3 || a.fromStages {
		bp.Confidence = model.ConfidenceMedium
	}
	return bp, true
}

// verdict writes the conclusion. Its first line is the breaking point —
// where throughput stopped scaling, or the criterion met first — with the
// bottleneck; the second line names the criteria met later (or says that
// the SLO held); a last line says when the signals disagree.
func (a *analysis) verdict() {
	var lines []string
	if b := a.brk; b != nil {
		lines = append(lines, a.headline(*b)+a.bottleneckPhrase()+".")
		if l := a.laterLine(*b); l != "" {
			lines = append(lines, l)
		}
	} else {
		lines = append(lines, a.noBreakLine())
	}
	if len(a.disagree) > 0 {
		lines = append(lines, "Signals disagree: "+strings.Join(a.disagree, "; ")+".")
	}
	a.out.Verdict = strings.Join(lines, "\n")
}

// headline says where the system breaks and why.
func (a *analysis) headline(b model.BreakingPoint) string {
	pm := ""
	if b.RPSUncertainty >= 0.5 {
		pm = fmt.Sprintf(" (±%s)", fpm(b.RPSUncertainty))
	}
	switch b.Reason {
	case model.ReasonSaturation:
		if a.plat != nil && a.plat.open {
			return fmt.Sprintf("The system saturates at ~%s RPS%s: throughput falls behind the offered rate from %s iterations/s offered", fnum(b.RPS), pm, fnum(b.TargetRate))
		}
		from := a.loadPhrase(b)
		if a.axis == axisVUs {
			from = fnum(b.VUs) + " VUs"
		} else if b.Concurrency > 0 {
			from = fnum(b.Concurrency) + " requests in flight"
		}
		return fmt.Sprintf("The system saturates at ~%s RPS%s from %s: throughput stops scaling there while load keeps rising", fnum(b.RPS), pm, from)
	case model.ReasonRetrograde:
		return fmt.Sprintf("Throughput peaks at ~%s RPS%s at %s and falls beyond it (retrograde)", fnum(b.RPS), pm, a.retroLoad(b))
	}
	why := map[string]string{
		model.ReasonLatencySLO:     fmt.Sprintf("p95 crosses the %s SLO", fms(a.out.SLO.P95Ms)),
		model.ReasonErrorRate:      fmt.Sprintf("the error rate crosses %s", fpct(a.out.SLO.MaxErrorRate)),
		model.ReasonThroughputPeak: "throughput peaks (USL)",
	}[b.Reason]
	if b.Reason == model.ReasonErrorRate && a.shedding {
		why += " while successful throughput stays flat (the service sheds load)"
	}
	return fmt.Sprintf("The system breaks at ~%s%s: %s", a.loadPhrase(b), pm, why)
}

// retroLoad writes the load of a retrograde peak.
func (a *analysis) retroLoad(b model.BreakingPoint) string {
	switch {
	case a.axis == axisVUs && b.VUs > 0:
		return fnum(b.VUs) + " VUs"
	case a.axis == axisTarget && b.TargetRate > 0:
		return fnum(b.TargetRate) + " iterations/s offered"
	case b.Concurrency > 0:
		return fnum(b.Concurrency) + " requests in flight"
	}
	return fnum(b.RPS) + " RPS"
}

// bottleneckPhrase names the bottleneck for the headline.
func (a *analysis) bottleneckPhrase() string {
	bn := a.out.Bottleneck
	switch bn.Resource {
	case model.BottleneckUnknown:
		return "; bottleneck unknown"
	case model.BottleneckNone, "":
		return ""
	}
	v := fmt.Sprintf("; bottleneck: %s", bn.Name)
	if bn.SaturatedAtRPS != nil {
		v += fmt.Sprintf(", saturated from %s RPS", fnum(*bn.SaturatedAtRPS))
	}
	return v
}

// laterLine names the criteria met after the breaking point, and says
// whether the latency SLO held when it is not the breaking point.
func (a *analysis) laterLine(b model.BreakingPoint) string {
	var parts []string
	seen := map[string]bool{b.Reason: true}
	for _, o := range a.out.BreakingPoints {
		if seen[o.Reason] {
			continue
		}
		seen[o.Reason] = true
		at := a.loadPhrase(o)
		switch o.Reason {
		case model.ReasonLatencySLO:
			parts = append(parts, fmt.Sprintf("p95 crosses the %s SLO at %s", fms(a.out.SLO.P95Ms), at))
		case model.ReasonErrorRate:
			parts = append(parts, fmt.Sprintf("the error rate crosses %s at %s", fpct(a.out.SLO.MaxErrorRate), at))
		case model.ReasonSaturation:
			parts = append(parts, fmt.Sprintf("throughput stops scaling at ~%s RPS (saturation) from %s", fnum(o.RPS), at))
		case model.ReasonRetrograde:
			parts = append(parts, fmt.Sprintf("throughput peaks at ~%s RPS at %s and falls beyond it", fnum(o.RPS), a.retroLoad(o)))
		case model.ReasonThroughputPeak:
			parts = append(parts, fmt.Sprintf("the USL fit peaks at %s", at))
		}
	}
	if len(parts) > 0 {
		s := strings.Join(parts, "; ")
		return "Then " + s + "."
	}
	if b.Reason != model.ReasonLatencySLO {
		top := math.Inf(-1)
		for _, p := range a.pts {
			if finite(p.P95Ms) {
				top = math.Max(top, p.P95Ms)
			}
		}
		switch {
		case finite(top) && top <= a.out.SLO.P95Ms:
			return fmt.Sprintf("p95 stays within the %s SLO over the whole test (%s at most).", fms(a.out.SLO.P95Ms), fms(top))
		case finite(top):
			return fmt.Sprintf("p95 went above the %s SLO only briefly (%s at most), not for long enough to count.", fms(a.out.SLO.P95Ms), fms(top))
		}
	}
	return ""
}

// noBreakLine says that nothing broke, how far the test went and what the
// USL extrapolates.
func (a *analysis) noBreakLine() string {
	v := fmt.Sprintf("No breaking point up to %s RPS", fnum(a.out.TestedUpToRPS))
	if a.axis == axisVUs && a.out.TestedUpToVUs > 0 {
		v += fmt.Sprintf(" (%s VUs)", fnum(a.out.TestedUpToVUs))
	}
	if a.axis == axisTarget {
		top := 0.0
		for _, p := range a.pts {
			top = math.Max(top, nz(p.TargetRate))
		}
		v += fmt.Sprintf(" (%s iterations/s offered)", fnum(top))
	}
	u := a.out.USL
	switch {
	case u == nil:
		v += "; too few load levels to extrapolate a limit"
	case u.PeakN != nil:
		v += fmt.Sprintf("; USL extrapolates ~%s RPS at N = %s, %s confidence", fnum(*u.PeakX), fnum(*u.PeakN), u.Confidence)
	case u.Sigma > 0:
		v += fmt.Sprintf("; USL shows no peak, throughput levelling off towards ~%s RPS, %s confidence", fnum(u.Lambda/u.Sigma), u.Confidence)
	default:
		v += "; USL shows linear scaling in the tested range, so it cannot extrapolate a limit"
	}
	return v + "."
}
