package analyzer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/headroom-sh/headroom/model"
)

// This file finds saturation: throughput that stops rising while load keeps
// rising. In a closed-model run (or production traffic, with the requests in
// flight as the load) it is a plateau of successful throughput against the
// load, found by a segmented ("hinge") regression; in an open-model run it is
// achieved throughput falling behind the offered arrival rate. It also holds
// the uncertainty of breaking points and the final step that corroborates
// them with the saturated resources.

// Saturation constants.
const (
	// plateauMinGrowth is the least growth of the load across a plateau
	// (largest load / load at the knee) for it to count: load must grow
	// substantially while throughput stays flat.
	plateauMinGrowth = 1.3
	// plateauMinPoints is the fewest load points on a plateau (stage points
	// count as points when the analysis has only stage rows).
	plateauMinPoints = 3
	// plateauMaxRise is the relative rise (or fall) of throughput across the
	// plateau, from its Theil–Sen trend, that counts as flat beyond twice
	// the trend's standard error; plateauHardRise is the most that noise
	// can excuse.
	plateauMaxRise  = 0.05
	plateauHardRise = 0.20
	// plateauLongGrowth and plateauFlatCV make a plateau long and flat
	// enough for medium confidence on its own: load grown by half, and a
	// coefficient of variation of throughput along it of at most 8%.
	plateauLongGrowth = 1.5
	plateauFlatCV     = 0.08
	// flatMaxCV is the most scatter (robust coefficient of variation)
	// throughput may have for a run to count as flat from its lightest
	// load: the noise of a busy 2-core host with pauses, not a trend.
	flatMaxCV = 0.15
	// hingeAlpha is the significance level at which a bend must beat a
	// straight line. The knee is chosen from the data, which inflates the F
	// statistic (Davies 1987), so the real level is looser; the plateau's
	// length, flatness and Little's law guard against a chance bend.
	hingeAlpha = 0.01
	// hingeCandidates is the number of evenly spaced knees tried across the
	// load range besides every distinct load.
	hingeCandidates = 80
	// littleMinShare is the least share of the latency growth that
	// Little's law (J. D. C. Little, Operations Research 9(3), 1961)
	// requires at flat throughput (Δ(R+Z) = ΔN/X for a closed system of N
	// users with think time Z) that must be observed for a plateau to be
	// the system's.
	littleMinShare = 0.5
	// overloadMinShortfall is the least relative shortfall of achieved
	// against offered throughput that counts as falling behind (and the
	// least share of offered iterations dropped); the noise of the ratio
	// at light load can raise the shortfall's limit up to overloadMaxLimit.
	overloadMinShortfall = 0.05
	overloadMaxLimit     = 0.2
	// bootstrapResamples and bootstrapSeed set the bootstrap over intervals.
	bootstrapResamples = 200
	bootstrapSeed      = 13
	// z95 is the two-sided 95% normal quantile.
	z95 = 1.959963984540054
)

// plateau is a detected saturation plateau, or an open-model overload.
type plateau struct {
	// open is true for an open-model overload (offered rate not carried).
	open bool
	// kneeKey is the load-axis value where the plateau begins and endKey
	// the largest on it.
	kneeKey, endKey float64
	// at is the load when the load first reached the knee; end the last
	// point on the plateau.
	at, end model.LoadPoint
	// level and sd are the mean and standard deviation of successful
	// throughput along the plateau, in requests/s; n its points.
	level, sd float64
	n         int
	// rise is the relative rise of throughput across the plateau from its
	// Theil–Sen trend; fellTo, when it fell by more than plateauMaxRise,
	// the throughput at its heaviest load (0 otherwise).
	rise, fellTo float64
	// falls is true when throughput fell past the plateau significantly
	// and by more than retrogradeClearDrop: the curve is retrograde.
	falls bool
	// first is true when the plateau begins at the lightest load tested.
	first bool
	// p95From and p95To are the p95 (ms) at the start and the end of the
	// plateau; meanFrom and meanTo the mean latency.
	p95From, p95To, meanFrom, meanTo float64
	// littleExpectedMs is the growth of mean latency that Little's law
	// requires across the plateau; littleOK says whether it was seen.
	littleExpectedMs float64
	littleOK         bool
	// errFrom and errTo are the error rates at the start and the end.
	errFrom, errTo float64
	// offeredTo and droppedTo are, for an overload, the offered rate and
	// dropped iterations at the end (iterations/s); perIteration the
	// requests per iteration.
	offeredTo, droppedTo, perIteration float64
	// uncertainty is the half-width of a 95% interval of level.
	uncertainty float64
	// base is the confidence of the plateau on its own.
	base string
	// bp is the breaking point made from it, when it was one.
	bp *model.BreakingPoint
}

// hingeFit is a continuous two-segment fit x = C + b·min(0, l − k): a line
// rising with slope b up to the knee k, then flat at level C.
type hingeFit struct {
	knee, level, slope float64
	sse, lineSSE       float64
	// p is the p-value of the F test of the hinge against a straight line.
	p float64
}

// fitHinge fits the hinge by least squares: a continuous segmented
// regression with one breakpoint (the model of V. M. R. Muggeo,
// "Estimating regression models with unknown break-points", Statistics
// in Medicine 22, 2003), here with the breakpoint profiled out by a grid
// search, since for a fixed breakpoint the fit is linear. It tries knees
// across the load range (every distinct load and an even grid, then a
// finer grid around the best), with at least two points below the knee and
// plateauMinPoints at or above it, and a rising first segment. It is false
// when no knee qualifies. For a fixed knee the fit is a simple linear
// regression of x on z = min(0, l − k), whose sums come from prefix sums
// over the points sorted by load, so each knee costs O(log n).
func fitHinge(ls, xs []float64) (hingeFit, bool) {
	n := len(ls)
	var h hingeFit
	if n < 2+plateauMinPoints {
		return h, false
	}
	hs := newHingeSums(ls, xs)
	sorted := hs.l
	lo, hi := sorted[1], sorted[n-plateauMinPoints]
	if !(hi > lo) {
		return h, false
	}
	var cands []float64
	for i := 1; i <= n-plateauMinPoints; i++ {
		if i == 1 || sorted[i] != sorted[i-1] {
			cands = append(cands, sorted[i])
		}
	}
	for i := 0; i <= hingeCandidates; i++ {
		cands = append(cands, lo+(hi-lo)*float64(i)/hingeCandidates)
	}
	h.sse = math.Inf(1)
	try := func(k float64) {
		c, b, s, ok := hs.at(k)
		if ok && s < h.sse {
			h.knee, h.level, h.slope, h.sse = k, c, b, s
		}
	}
	for _, k := range cands {
		try(k)
	}
	if math.IsInf(h.sse, 0) {
		return h, false
	}
	// Refine between the neighbouring candidates.
	d := (hi - lo) / hingeCandidates
	for i := -10; i <= 10; i++ {
		if k := h.knee + d*float64(i)/10; k >= lo && k <= hi {
			try(k)
		}
	}
	// The straight line x = α + βl.
	if sll := hs.sll - hs.sl*hs.sl/float64(n); sll > 0 {
		slx := hs.slx - hs.sl*hs.sx/float64(n)
		h.lineSSE = math.Max(0, hs.sxxTot-slx*slx/sll)
	} else {
		h.lineSSE = hs.sxxTot
	}
	h.p = 1
	df := float64(n - 3)
	switch {
	case h.sse <= 0 && h.lineSSE > 0:
		h.p = 0
	case h.sse > 0 && h.lineSSE > h.sse:
		f := (h.lineSSE - h.sse) / (h.sse / df)
		h.p = distuv.F{D1: 1, D2: df}.Survival(f)
	}
	return h, true
}

// hingeSums holds the points sorted by load with prefix sums of l, l², x
// and l·x, and the totals.
type hingeSums struct {
	l                        []float64
	pl, pll, px, plx         []float64 // prefix sums: element i covers points 0..i−1
	sl, sll, sx, slx, sxxTot float64   // totals; sxxTot = Σ(x − x̄)²
}

func newHingeSums(ls, xs []float64) *hingeSums {
	n := len(ls)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ls[idx[a]] < ls[idx[b]] })
	h := &hingeSums{l: make([]float64, n), pl: make([]float64, n+1), pll: make([]float64, n+1), px: make([]float64, n+1), plx: make([]float64, n+1)}
	for k, i := range idx {
		l, x := ls[i], xs[i]
		h.l[k] = l
		h.pl[k+1] = h.pl[k] + l
		h.pll[k+1] = h.pll[k] + l*l
		h.px[k+1] = h.px[k] + x
		h.plx[k+1] = h.plx[k] + l*x
	}
	h.sl, h.sll, h.sx, h.slx = h.pl[n], h.pll[n], h.px[n], h.plx[n]
	mx := h.sx / float64(n)
	for _, x := range xs {
		h.sxxTot += (x - mx) * (x - mx)
	}
	return h
}

// at fits x = C + b·min(0, l − k) for a fixed knee k: it is false when
// fewer than two points lie below k or plateauMinPoints at or above it,
// or when b is not positive.
func (h *hingeSums) at(k float64) (level, slope, sse float64, ok bool) {
	n := len(h.l)
	m := sort.SearchFloat64s(h.l, k) // points with l < k
	if m < 2 || n-m < plateauMinPoints {
		return 0, 0, 0, false
	}
	fm, fn := float64(m), float64(n)
	// z = l − k below the knee, 0 above.
	sz := h.pl[m] - k*fm
	szz := h.pll[m] - 2*k*h.pl[m] + k*k*fm
	szx := h.plx[m] - k*h.px[m]
	czz := szz - sz*sz/fn
	czx := szx - sz*h.sx/fn
	if !(czz > 0) {
		return 0, 0, 0, false
	}
	slope = czx / czz
	if !(slope > 0) {
		return 0, 0, 0, false
	}
	level = h.sx/fn - slope*sz/fn
	sse = math.Max(0, h.sxxTot-slope*czx)
	return level, slope, sse, true
}

// plateauKey is the load a plateau is looked for against: VUs in a
// closed-model run, requests in flight otherwise.
func (a *analysis) plateauKey(p model.LoadPoint) float64 {
	if a.axis == axisVUs {
		return nz(p.VUs)
	}
	return a.concurrency(p)
}

// findPlateau looks for a plateau of successful throughput against the
// load (closed model: VUs; production: requests in flight). A plateau is
// a significant bend of a hinge fit after which the load grows by at least
// plateauMinGrowth over at least plateauMinPoints points while throughput
// stays flat (its trend rises less than plateauMaxRise, or less than twice
// its standard error up to plateauHardRise). It also applies Little's law:
// at flat throughput X, a closed system's response time plus think time is
// N/X, so mean latency must grow by about ΔN/X.
func (a *analysis) findPlateau() (*plateau, bool) {
	var ls, xs []float64
	var ps []model.LoadPoint
	for _, p := range a.pts {
		l, x := a.plateauKey(p), goodput(p)
		if finite(l) && l > 0 && finite(x) {
			ls, xs, ps = append(ls, l), append(xs, x), append(ps, p)
		}
	}
	if len(ls) < 2+plateauMinPoints {
		return nil, false
	}
	pl := &plateau{}
	h, ok := fitHinge(ls, xs)
	lmin, lmax := minMax(ls)
	switch {
	case ok && h.p < hingeAlpha && h.knee > lmin:
		pl.kneeKey = h.knee
	case flatThroughout(ls, xs):
		// Flat from the lightest load: saturated before the test began.
		pl.kneeKey, pl.first = lmin, true
	default:
		return nil, false
	}
	pl.endKey = lmax
	if pl.endKey < plateauMinGrowth*pl.kneeKey {
		return nil, false
	}
	var on []int
	for i, l := range ls {
		if l >= pl.kneeKey {
			on = append(on, i)
		}
	}
	if len(on) < plateauMinPoints {
		return nil, false
	}
	sort.SliceStable(on, func(x, y int) bool { return ls[on[x]] < ls[on[y]] })
	px, pls := make([]float64, len(on)), make([]float64, len(on))
	for j, i := range on {
		px[j], pls[j] = xs[i], ls[i]
	}
	pl.n = len(on)
	pl.level, pl.sd = stat.MeanStdDev(px, nil)
	if !(pl.level > 0) {
		return nil, false
	}
	span := lmax - pl.kneeKey
	// The rise's standard error two ways: from the robust scatter about
	// the trend (sensitive, to see a fall) and from the plain scatter of
	// the plateau (lenient, so that noise does not make a plateau rise).
	slope, seSlope := theilSenSE(pls, px)
	pl.rise = slope * span / pl.level
	seRise := seSlope * span / pl.level
	seLenient := seRise
	if _, sxx := meanSxx(pls); sxx > 0 {
		seLenient = math.Max(seRise, pl.sd/math.Sqrt(sxx)*span/pl.level)
	}
	// A plateau that still rises is not one; one that falls is (a strong,
	// significant fall is retrograde, judged separately), and its level is
	// then the capacity right after the knee, before the fall.
	if pl.rise > 0 && !flatEnough(pl.rise, seLenient) {
		return nil, false
	}
	if pl.rise < -plateauMaxRise {
		pl.fellTo = median(px[len(px)-max(1, len(px)/3):])
		// A fall beyond noise and beyond a sag is retrograde.
		pl.falls = pl.rise < -(plateauMaxRise + 2*seRise)
		mid := pl.kneeKey + span/2
		var early []float64
		for j := range px {
			if pls[j] <= mid {
				early = append(early, px[j])
			}
		}
		if len(early) < 2 {
			early = px[:max(1, len(px)/2)]
		}
		pl.level, pl.sd = stat.MeanStdDev(early, nil)
		pl.falls = pl.falls && pl.fellTo < pl.level*(1-retrogradeClearDrop)
	}

	// The start and the end of the plateau: medians of its first and last
	// thirds by load.
	third := max(1, len(on)/3)
	head, tail := on[:third], on[len(on)-third:]
	med := func(idx []int, f func(model.LoadPoint) float64) float64 {
		var v []float64
		for _, i := range idx {
			if x := f(ps[i]); finite(x) {
				v = append(v, x)
			}
		}
		return median(v)
	}
	meanLat := func(p model.LoadPoint) float64 {
		if finite(p.MeanMs) && p.MeanMs > 0 {
			return p.MeanMs
		}
		return p.P50Ms
	}
	pl.p95From, pl.p95To = med(head, func(p model.LoadPoint) float64 { return p.P95Ms }), med(tail, func(p model.LoadPoint) float64 { return p.P95Ms })
	pl.meanFrom, pl.meanTo = med(head, meanLat), med(tail, meanLat)
	pl.errFrom, pl.errTo = med(head, func(p model.LoadPoint) float64 { return p.ErrorRate }), med(tail, func(p model.LoadPoint) float64 { return p.ErrorRate })
	nFrom := med(head, func(p model.LoadPoint) float64 { return a.plateauKey(p) })
	nTo := med(tail, func(p model.LoadPoint) float64 { return a.plateauKey(p) })
	pl.littleOK = true
	if a.axis == axisVUs {
		// Δ(R + Z) = ΔN / X at flat throughput X (Little's law, N = X·(R + Z)).
		pl.littleExpectedMs = (nTo - nFrom) / pl.level * 1000
		grew := pl.meanTo - pl.meanFrom
		pl.littleOK = finite(grew) && grew >= littleMinShare*pl.littleExpectedMs
	}
	pl.end = ps[on[len(on)-1]]
	pl.at = a.reachLoad(pl.kneeKey, a.plateauKey)
	pl.uncertainty = bootstrapPlateau(ls, xs, pl.level, pl.first, pl.fellTo > 0)

	pl.base = model.ConfidenceLow
	if pl.endKey >= plateauLongGrowth*pl.kneeKey && pl.sd/pl.level <= plateauFlatCV && !pl.first {
		pl.base = model.ConfidenceMedium
	}
	return pl, true
}

// flatThroughout reports whether throughput is flat over the whole range
// while load grows by plateauMinGrowth: the system was saturated from the
// lightest load tested.
func flatThroughout(ls, xs []float64) bool {
	lmin, lmax := minMax(ls)
	if lmax < plateauMinGrowth*lmin {
		return false
	}
	// Robust level and spread: an interval the host paused in must not
	// hide a plateau.
	m, sd := median(xs), mad(xs)
	if !(m > 0) {
		return false
	}
	slope, seSlope := theilSenSE(ls, xs)
	rise := slope * (lmax - lmin) / m
	se := seSlope * (lmax - lmin) / m
	if _, sxx := meanSxx(ls); sxx > 0 {
		se = math.Max(se, sd/math.Sqrt(sxx)*(lmax-lmin)/m)
	}
	return flatEnough(rise, se) && sd/m <= flatMaxCV
}

// theilSenSE returns the Theil–Sen slope of y on x and an approximate
// standard error: the robust scatter (MAD) of the residuals about the
// line through the median intercept, over √Σ(x − x̄)² as for least
// squares.
func theilSenSE(xs, ys []float64) (slope, se float64) {
	slope = theilSen(xs, ys)
	if len(xs) < 3 {
		return slope, 0
	}
	r := make([]float64, len(xs))
	for i := range xs {
		r[i] = ys[i] - slope*xs[i]
	}
	b := median(r)
	for i := range r {
		r[i] -= b
	}
	if _, sxx := meanSxx(xs); sxx > 0 {
		se = mad(r) / math.Sqrt(sxx)
	}
	return slope, se
}

// flatEnough judges the relative rise of throughput across a plateau
// (from its trend, with standard error se): flat unless it rises or falls
// by more than plateauMaxRise beyond twice its standard error, and never
// when it moves by more than plateauHardRise.
func flatEnough(rise, se float64) bool {
	return math.Abs(rise) <= plateauHardRise && math.Abs(rise) <= plateauMaxRise+2*se
}

// theilSen is the Theil–Sen slope of y on x (Sen 1968): the median of the
// slopes between all pairs of points with different x, robust to the
// occasional interval a busy host slows down. Long series are thinned to
// at most 300 evenly spaced points first.
func theilSen(xs, ys []float64) float64 {
	n := len(xs)
	stride := max(1, n/300)
	var slopes []float64
	for i := 0; i < n; i += stride {
		for j := i + stride; j < n; j += stride {
			if dx := xs[j] - xs[i]; dx != 0 {
				slopes = append(slopes, (ys[j]-ys[i])/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return 0
	}
	return median(slopes)
}

// bootstrapPlateau is the half-width of a 95% percentile bootstrap
// interval of the plateau level: the intervals are resampled with
// replacement (seeded), the hinge refitted and the level re-measured.
func bootstrapPlateau(ls, xs []float64, level float64, first, early bool) float64 {
	rng := rand.New(rand.NewPCG(bootstrapSeed, uint64(len(ls))))
	n := len(ls)
	bl, bx := make([]float64, n), make([]float64, n)
	var levels []float64
	for r := 0; r < bootstrapResamples; r++ {
		for i := range bl {
			j := rng.IntN(n)
			bl[i], bx[i] = ls[j], xs[j]
		}
		knee := math.Inf(-1)
		if !first {
			h, ok := fitHinge(bl, bx)
			if !ok {
				continue
			}
			knee = h.knee
		}
		upTo := math.Inf(1)
		if early {
			// The level of a plateau that falls is taken over the first
			// half of its load span.
			_, hi := minMax(bl)
			upTo = knee + (hi-knee)/2
		}
		s, c := 0.0, 0
		for i := range bl {
			if bl[i] >= knee && bl[i] <= upTo {
				s += bx[i]
				c++
			}
		}
		if c > 0 {
			levels = append(levels, s/float64(c))
		}
	}
	if len(levels) < bootstrapResamples/2 {
		return 0
	}
	sort.Float64s(levels)
	lo := stat.Quantile(0.025, stat.Empirical, levels, nil)
	hi := stat.Quantile(0.975, stat.Empirical, levels, nil)
	return math.Max(hi-level, level-lo)
}

// reachLoad returns the load point, interpolated in time, where the load
// first reached k.
func (a *analysis) reachLoad(k float64, key func(model.LoadPoint) float64) model.LoadPoint {
	c, ok := findCrossing(a.pts, k, false, func(p model.LoadPoint) (float64, bool) {
		v := key(p)
		return v + 1e-9*math.Max(1, math.Abs(k)), finite(v)
	})
	if ok {
		return c.at
	}
	for _, p := range a.pts {
		if key(p) >= k {
			return p
		}
	}
	return a.pts[len(a.pts)-1]
}

// plateauBreak turns a plateau into a saturation breaking point. A plateau
// whose latency did not grow as Little's law requires is not the system's
// saturation: when errors crossed their limit on it, the service shed load
// and the error-rate breaking point says so; otherwise the signals
// disagree, which is warned about.
func (a *analysis) plateauBreak(errBP *model.BreakingPoint) (model.BreakingPoint, bool) {
	if a.axis == axisTarget {
		return a.overloadBreak()
	}
	pl, ok := a.findPlateau()
	if !ok {
		return model.BreakingPoint{}, false
	}
	unit := a.plateauUnit()
	flat := fmt.Sprintf("successful throughput flat at %s ± %s RPS from %s to %s %s", fnum(pl.level), fpm(pl.sd), fnum(pl.kneeKey), fnum(pl.endKey), unit)
	if !pl.littleOK {
		if errBP != nil && a.bpKey(*errBP) <= a.key(pl.end)*(1+breakTolerance) {
			errBP.Evidence += fmt.Sprintf("; the service sheds load: %s while the error rate rose from %s to %s and p95 stayed near %s, so its capacity is that successful throughput",
				flat, fpct(pl.errFrom), fpct(pl.errTo), fms(pl.p95To))
			// The crossing of a ramp lies on the knee's rounded shoulder,
			// or between two stages; the plateau it sheds at is the
			// capacity.
			errBP.RPS, errBP.RPSUncertainty = pl.level, pl.uncertainty
			a.shedding = true
			return model.BreakingPoint{}, false
		}
		msg := fmt.Sprintf("%s, but mean latency grew by %s where Little's law requires about %s at that throughput: the extra %s did not wait in the system, so the load generator (or pacing) may be the limit; not counted as a breaking point",
			flat, fms(math.Max(0, pl.meanTo-pl.meanFrom)), fms(pl.littleExpectedMs), unit)
		a.warn(model.Warning{Kind: "signals_disagree", Message: msg})
		a.disagree = append(a.disagree, "throughput is flat but latency did not grow as it must if the system were saturated; the load generator may be the limit")
		return model.BreakingPoint{}, false
	}
	c := crossing{at: pl.at}
	if pl.falls {
		// Too few or too noisy points for the retrograde test's bins, but
		// the plateau's own trend shows the fall.
		bp := a.crossingPoint(model.ReasonRetrograde, c, a.fromStages)
		if a.axis == axisVUs {
			bp.VUs = pl.kneeKey
		}
		bp.Concurrency = pl.kneeKey
		bp.RPS, bp.Value, bp.RPSUncertainty = pl.level, pl.level, pl.uncertainty
		bp.Evidence = fmt.Sprintf("successful throughput peaked at %s ± %s RPS from %s %s and fell to %s RPS by %s %s (−%s) while load kept rising",
			fnum(pl.level), fpm(pl.sd), fnum(pl.kneeKey), unit, fnum(pl.fellTo), fnum(pl.endKey), unit, fpct(1-pl.fellTo/pl.level))
		bp.Confidence = model.ConfidenceMedium
		a.retroFromPlateau = true
		a.plat = pl
		return bp, true
	}
	bp := a.crossingPoint(model.ReasonSaturation, c, a.fromStages)
	if a.axis == axisVUs {
		bp.VUs = pl.kneeKey
	}
	bp.Concurrency = pl.kneeKey
	bp.RPS, bp.Value = pl.level, pl.level
	bp.RPSUncertainty = pl.uncertainty
	bp.Evidence = fmt.Sprintf("throughput flat at %s ± %s RPS from %s to %s %s while p95 rose from %s to %s",
		fnum(pl.level), fpm(pl.sd), fnum(pl.kneeKey), fnum(pl.endKey), unit, fms(pl.p95From), fms(pl.p95To))
	if pl.fellTo > 0 {
		bp.Evidence = fmt.Sprintf("throughput stopped rising at %s ± %s RPS from %s %s and fell to %s RPS by %s %s while p95 rose from %s to %s",
			fnum(pl.level), fpm(pl.sd), fnum(pl.kneeKey), unit, fnum(pl.fellTo), fnum(pl.endKey), unit, fms(pl.p95From), fms(pl.p95To))
	}
	if a.axis == axisVUs && pl.littleExpectedMs > 0 {
		bp.Evidence += fmt.Sprintf(" (mean latency +%s, where Little's law requires +%s at flat throughput)", fms(pl.meanTo-pl.meanFrom), fms(pl.littleExpectedMs))
	}
	if pl.first {
		bp.Evidence += "; throughput was already flat at the lightest load tested, so the system saturates at or below it"
	}
	if pl.errTo > pl.errFrom+0.01 {
		bp.Evidence += fmt.Sprintf("; errors rose from %s to %s", fpct(pl.errFrom), fpct(pl.errTo))
	}
	bp.Confidence = pl.base
	pl.bp = &bp
	a.plat = pl
	return bp, true
}

func (a *analysis) plateauUnit() string {
	if a.axis == axisVUs {
		return "VUs"
	}
	return "requests in flight"
}

// overloadBreak finds where an open-model run's achieved throughput fell
// behind the offered arrival rate: the completed requests per iteration
// are measured at the lighter half of the offered range, and the run falls
// behind when the smoothed ratio of completed to offered requests drops
// more than overloadMinShortfall (or three times its noise) below 1 and
// stays there. The breaking point is at the offered rate where it fell
// behind; its RPS is the successful throughput actually carried from there
// on.
func (a *analysis) overloadBreak() (model.BreakingPoint, bool) {
	var idx []int
	maxT := 0.0
	for i, p := range a.pts {
		if p.TargetRate > 0 && finite(p.TargetRate) && finite(p.RPS) {
			idx = append(idx, i)
			maxT = math.Max(maxT, p.TargetRate)
		}
	}
	if len(idx) < 3 {
		return model.BreakingPoint{}, false
	}
	// Requests per iteration, from the lighter half of the offered range.
	var per []float64
	for _, i := range idx {
		if p := a.pts[i]; p.TargetRate <= maxT/2 {
			per = append(per, p.RPS/p.TargetRate)
		}
	}
	fromLight := len(per) >= 2
	if !fromLight {
		per = per[:0]
		for _, i := range idx[:min(3, len(idx))] {
			per = append(per, a.pts[i].RPS/a.pts[i].TargetRate)
		}
	}
	k := median(per)
	if !(k > 0) {
		return model.BreakingPoint{}, false
	}
	// Requests per iteration are whole numbers in most scenarios; a ratio
	// just under one is the lag of the rate window, not a shortfall. When
	// no light load shows the ratio (a constant rate, already too much),
	// it is taken as a whole number of at least one.
	switch r := math.Round(k); {
	case r >= 1 && math.Abs(k-r) <= 0.1*r:
		k = r
	case !fromLight:
		k = math.Max(1, r)
	}
	noise := 0.0
	if len(per) >= 3 {
		noise = mad(per) / k
	}
	limit := math.Min(overloadMaxLimit, math.Max(overloadMinShortfall, 2*noise))
	// Falling behind shows as completed requests short of the offered
	// ones, or as iterations the runner could not start (dropped), which
	// no noise makes.
	short := func(p model.LoadPoint) (float64, bool) {
		if !(p.TargetRate > 0) || !finite(p.RPS) {
			return 0, false
		}
		return 1 - p.RPS/(k*p.TargetRate), true
	}
	drop := func(p model.LoadPoint) (float64, bool) {
		if !(p.TargetRate > 0) {
			return 0, false
		}
		return nz(p.DroppedRate) / p.TargetRate, true
	}
	c, ok := a.lastingCrossing(limit, short)
	if cd, okd := a.lastingCrossing(overloadMinShortfall, drop); okd && (!ok || cd.at.Time.Before(c.at.Time)) {
		c, ok = cd, true
	}
	if !ok {
		return model.BreakingPoint{}, false
	}
	pl := &plateau{open: true, perIteration: k, at: c.at, first: c.first}
	pl.kneeKey = c.at.TargetRate
	// What it carried from there on.
	var carried, p95s, drops []float64
	after := false
	for _, p := range a.pts {
		if !after && !p.Time.Before(c.at.Time) {
			after = true
		}
		if !after {
			continue
		}
		carried = append(carried, goodput(p))
		pl.end = p
		pl.endKey = math.Max(pl.endKey, nz(p.TargetRate))
		p95s = append(p95s, p.P95Ms)
		drops = append(drops, nz(p.DroppedRate))
	}
	if len(carried) == 0 {
		return model.BreakingPoint{}, false
	}
	pl.n = len(carried)
	pl.level = median(carried)
	_, pl.sd = stat.MeanStdDev(carried, nil)
	if len(carried) < 2 {
		pl.sd = 0
	}
	pl.uncertainty = z95 * pl.sd / math.Sqrt(float64(len(carried)))
	pl.offeredTo = nz(pl.end.TargetRate)
	pl.droppedTo = median(drops[len(drops)-max(1, len(drops)/3):])
	pl.p95To = median(p95s[len(p95s)-max(1, len(p95s)/3):])
	// p95 at light load: the lighter half of the offered rates.
	var light []float64
	for _, i := range idx {
		if p := a.pts[i]; p.TargetRate <= maxT/2 && finite(p.P95Ms) {
			light = append(light, p.P95Ms)
		}
	}
	pl.p95From = median(light)

	bp := a.crossingPoint(model.ReasonSaturation, c, a.fromStages)
	bp.RPS, bp.Value = pl.level, pl.level
	bp.RPSUncertainty = pl.uncertainty
	offered := k * pl.offeredTo
	bp.Evidence = fmt.Sprintf("achieved throughput fell behind the offered rate at %s iterations/s offered: it carried %s ± %s successful RPS from there while up to %s iterations/s (%s RPS) were offered (−%s)",
		fnum(pl.kneeKey), fnum(pl.level), fpm(pl.sd), fnum(pl.offeredTo), fnum(offered), fpct(math.Max(0, 1-pl.level/offered)))
	signals := 1
	if pl.droppedTo > 0 {
		bp.Evidence += fmt.Sprintf("; %s iterations/s were dropped (no free VU)", fnum(pl.droppedTo))
		signals++
	}
	if finite(pl.p95From) && finite(pl.p95To) && pl.p95To > 1.5*pl.p95From {
		bp.Evidence += fmt.Sprintf("; p95 rose from %s to %s as requests queued", fms(pl.p95From), fms(pl.p95To))
		signals++
	}
	if c.first {
		bp.Evidence += "; it was already behind at the lightest offered rate, so the capacity is at most this"
	}
	bp.Evidence += a.crossingCaveat(c, a.fromStages)
	pl.base = model.ConfidenceLow
	if signals >= 2 && !c.last && !c.first {
		pl.base = model.ConfidenceMedium
	}
	bp.Confidence = pl.base
	pl.bp = &bp
	a.plat = pl
	return bp, true
}

// lastingCrossing finds the first sustained crossing of limit (see
// crossIndex) that also lasts: the median of the quantity from there to
// the end of the window stays above the limit, as it does once a ramp
// has overloaded the system. Earlier crossings that did not last are
// skipped.
func (a *analysis) lastingCrossing(limit float64, value func(model.LoadPoint) (float64, bool)) (crossing, bool) {
	pts := a.pts
	for len(pts) > 0 {
		c, ok := findCrossing(pts, limit, !a.fromStages, value)
		if !ok || c.hi == nil {
			return c, ok
		}
		var later []float64
		next := len(pts)
		for i, p := range pts {
			if p.Time.Before(c.hi.Time) {
				continue
			}
			if next == len(pts) {
				next = i + 1
			}
			if v, ok := value(p); ok && finite(v) {
				later = append(later, v)
			}
		}
		if median(later) > limit {
			return c, true
		}
		pts = pts[next:]
	}
	return crossing{}, false
}

// crossingUncertainty is the half-width of an approximate 95% interval of
// the successful throughput at a crossing: half the throughput between the
// bracketing points (the resolution of the ramp there) combined with the
// throughput noise of one point.
func (a *analysis) crossingUncertainty(c crossing) float64 {
	res := 0.0
	if c.lo != nil && c.hi != nil {
		res = math.Abs(goodput(*c.hi)-goodput(*c.lo)) / 2
	}
	noise := a.goodputNoise()
	return math.Hypot(res, z95*noise)
}

// goodputNoise is a robust standard deviation of the successful
// throughput of one interval: the residuals r = x(i) − (x(i−1) + x(i+1))/2
// in time order remove a locally linear trend and have 1.5 times the
// points' variance for independent noise; their MAD makes it robust to the
// curve's bends and to hiccups.
func (a *analysis) goodputNoise() float64 {
	if a.noise != nil {
		return *a.noise
	}
	var xs []float64
	for _, p := range a.pts {
		if x := goodput(p); finite(x) {
			xs = append(xs, x)
		}
	}
	v := 0.0
	if len(xs) >= 5 {
		r := make([]float64, 0, len(xs)-2)
		for i := 1; i+1 < len(xs); i++ {
			r = append(r, xs[i]-(xs[i-1]+xs[i+1])/2)
		}
		v = mad(r) / math.Sqrt(1.5)
	}
	a.noise = &v
	return v
}

// corroborate runs after the resources were judged. Confidence is high
// only when two independent signals agree: a plateau (or an overload) and
// a resource saturated by then; an SLO or error crossing and a resource
// saturated by then, or a plateau (queueing) that began before it. When a
// plateau has no saturated resource behind it, the signals disagree, which
// the warnings and the verdict say.
func (a *analysis) corroborate() {
	bps := a.out.BreakingPoints
	for i := range bps {
		b := &bps[i]
		res := a.saturatedBy(*b)
		switch b.Reason {
		case model.ReasonSaturation:
			pl := a.plat
			if res != "" {
				b.Evidence += "; " + res + " saturated with it"
				b.Confidence = raise(b.Confidence)
				continue
			}
			b.Confidence = lower(b.Confidence, model.ConfidenceMedium)
			what := "no measured resource saturated"
			if busy := a.busiestOut(); busy != "" {
				what += " (highest utilization: " + busy + ")"
			}
			if len(a.out.Resources) == 0 {
				what = "no resource metrics were read to say what saturated"
			}
			msg := fmt.Sprintf("throughput stopped scaling at %s RPS from %s but %s: the limit may be in something not measured (a lock, a downstream service, a thread or worker pool without metrics, the load generator)",
				fnum(b.RPS), a.loadPhrase(*b), what)
			if pl != nil && pl.open {
				msg = fmt.Sprintf("the offered rate was not carried beyond %s RPS but %s: the limit may be in something not measured (a lock, a downstream service, a worker pool without metrics, the load generator)", fnum(b.RPS), what)
			}
			a.warn(model.Warning{Kind: "signals_disagree", Message: msg})
			a.disagree = append(a.disagree, "throughput is flat but "+what)
		case model.ReasonLatencySLO, model.ReasonErrorRate, model.ReasonRetrograde:
			queued := a.plat != nil && a.plat.bp != nil && a.bpKey(*a.plat.bp) <= a.bpKey(*b)*(1+breakTolerance)
			shed := b.Reason == model.ReasonErrorRate && a.shedding
			if res != "" || queued || shed {
				// Two signals: the criterion and what explains it.
				if b.Confidence == model.ConfidenceMedium && !strings.Contains(b.Evidence, "could not be confirmed") && !strings.Contains(b.Evidence, "judged from stage rows") && !strings.Contains(b.Evidence, "at or below this load") {
					b.Confidence = model.ConfidenceHigh
				}
			} else {
				b.Confidence = lower(b.Confidence, model.ConfidenceMedium)
			}
		case model.ReasonThroughputPeak:
			if res == "" {
				b.Confidence = lower(b.Confidence, model.ConfidenceMedium)
			}
		}
	}
	if a.brk != nil && len(bps) > 0 {
		*a.brk = bps[0]
	}
}

// saturatedBy names the saturated resources that corroborate a breaking
// point: saturated at or before its load (within breakTolerance); for a
// plateau, by the first quarter of its load span or the next load level.
func (a *analysis) saturatedBy(b model.BreakingPoint) string {
	limit := a.bpKey(b) * (1 + breakTolerance)
	if b.Reason == model.ReasonSaturation && a.plat != nil {
		pl := a.plat
		endKey := a.key(pl.end)
		upTo := a.bpKey(b) + (endKey-a.bpKey(b))/4
		limit = math.Max(limit, math.Min(endKey, upTo))
		// The next load level above the knee, for coarse ramps.
		next := math.Inf(1)
		for _, p := range a.pts {
			if k := a.key(p); k > a.bpKey(b)*(1+breakTolerance) && k < next {
				next = k
			}
		}
		if finite(next) {
			limit = math.Max(limit, math.Min(next, endKey))
		}
	}
	var names []string
	for _, r := range a.out.Resources {
		// A resource full while throughput still rose does not explain
		// where it stopped.
		if !r.Saturated || r.SaturatedAt == nil || r.NotLimiting {
			continue
		}
		lp, ok := a.loadAt(*r.SaturatedAt)
		if !ok || a.key(lp) > limit {
			continue
		}
		names = append(names, r.Name)
	}
	return strings.Join(names, " and ")
}

// busiestOut lists up to three resources by utilization at the breaking
// point, else at peak: "CPU 62%, DB connection pool 30%".
func (a *analysis) busiestOut() string {
	type ru struct {
		name string
		u    float64
	}
	var rs []ru
	for _, r := range a.out.Resources {
		u := r.UtilizationAtBreak
		if u == nil {
			u = r.UtilizationAtPeak
		}
		if u != nil {
			rs = append(rs, ru{r.Name, *u})
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].u > rs[j].u })
	var parts []string
	for i, r := range rs {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s", r.name, fpct(r.u)))
	}
	return strings.Join(parts, ", ")
}

// blameUpTo is the load up to which a resource may saturate and still be
// blamed for the breaking point: just past it for a crossing; for a plateau
// the same reach as saturatedBy, since the knee of a ramp is located only
// to within a load step.
func (a *analysis) blameUpTo() float64 {
	b := a.brk
	limit := a.bpKey(*b) * (1 + breakTolerance)
	if b.Reason != model.ReasonSaturation || a.plat == nil {
		return limit
	}
	endKey := a.key(a.plat.end)
	limit = math.Max(limit, math.Min(endKey, a.bpKey(*b)+(endKey-a.bpKey(*b))/4))
	next := math.Inf(1)
	for _, p := range a.pts {
		if k := a.key(p); k > a.bpKey(*b)*(1+breakTolerance) && k < next {
			next = k
		}
	}
	if finite(next) {
		limit = math.Max(limit, math.Min(next, endKey))
	}
	return limit
}

var confRank = map[string]int{model.ConfidenceLow: 0, model.ConfidenceMedium: 1, model.ConfidenceHigh: 2}

// raise lifts a confidence by one level.
func raise(c string) string {
	switch c {
	case model.ConfidenceLow:
		return model.ConfidenceMedium
	}
	return model.ConfidenceHigh
}

// lower caps a confidence at most.
func lower(c, most string) string {
	if confRank[c] > confRank[most] {
		return most
	}
	return c
}

func minMax(xs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// meanSxx returns the mean of xs and Σ(x − x̄)².
func meanSxx(xs []float64) (float64, float64) {
	m := stat.Mean(xs, nil)
	s := 0.0
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return m, s
}

// fpm formats a spread or an uncertainty: whole numbers from 10 up, one
// decimal below.
func fpm(v float64) string {
	if !finite(v) {
		return "?"
	}
	if math.Abs(v) >= 10 {
		return fnum(math.Round(v))
	}
	return trimZeros(strconv.FormatFloat(v, 'f', 1, 64))
}
