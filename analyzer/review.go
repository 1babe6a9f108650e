package analyzer

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/headroom-sh/headroom/model"
)

// Limits of a capacity review.
const (
	// LimitedByLatency and LimitedByErrors name the SLO limits in
	// Review.LimitedBy; a resource limit is named by its kind.
	LimitedByLatency = "latency_slo"
	LimitedByErrors  = "error_rate"

	// reviewMinPoints is the fewest grid points a review fits at all;
	// reviewFewPoints the count below which its reviewConfidence is low. A day
	// at 5m holds 288.
	reviewMinPoints = 8
	reviewFewPoints = 30
	// reviewNarrowSpan and reviewModerateSpan are the traffic spans
	// ((max − min) / max of the RPS fitted) below which the reviewConfidence is
	// low and medium: a fit over a narrow band of traffic says little
	// about the curve's shape.
	reviewNarrowSpan   = 0.3
	reviewModerateSpan = 0.5
	// reviewFarExtrapolation and reviewMidExtrapolation are the ratios of
	// capacity to the highest traffic seen above which the reviewConfidence is
	// low and medium.
	reviewFarExtrapolation = 3.0
	reviewMidExtrapolation = 2.0
	// reviewMaxExtrapolation is the ratio beyond which a limit is not
	// counted at all: a line or a queue fitted over one range of traffic
	// says nothing ten times further out.
	reviewMaxExtrapolation = 10.0
	// reviewWeakFit is the R² below which a fit that sets the capacity
	// lowers the reviewConfidence.
	reviewWeakFit = 0.5
	// reviewPeakQuantile is the quantile of the traffic grid counted as
	// the peak, so that one scrape spike does not count.
	reviewPeakQuantile = 0.99
)

// ErrReviewData is wrapped by every error about observations a review
// cannot fit.
var ErrReviewData = errors.New("cannot review these observations")

// Review estimates a service's capacity from its production traffic.
//
// Production traffic is not a ramp, but a day with a daily peak spreads
// the traffic over a range, and the review fits, against requests/s:
//
//   - the latency the SLO limits, with the M/M/1 queue's sojourn time. In
//     an M/M/1 queue with arrival rate λ and service rate μ, the time in
//     the system is exponential with rate μ − λ (Kleinrock, Queueing
//     Systems vol. 1, 1975, §3.2; Harchol-Balter, Performance Modeling and
//     Design of Computer Systems, 2013, §14), so every quantile, the p95
//     included, is L(λ) = L0 / (1 − λ/C) with C = μ and L0 = −ln(1 − q)/μ.
//     A service's latency also holds work that does not queue (network,
//     downstream calls), so the fit also tries L = a + L0 / (1 − λ/C) and
//     keeps the offset when Akaike's criterion prefers it. The traffic at
//     which the fit crosses the SLO is a capacity;
//   - each resource's utilization, with a line u = a + b·λ (the utilization
//     law U = X·S, Denning and Buzen, "The Operational Analysis of Queueing
//     Network Models", 1978: utilization grows in proportion to
//     throughput), whose crossing of the saturation threshold is a
//     capacity;
//   - the error ratio, with a line, when the SLO limits it and it grows
//     with traffic.
//
// CapacityRPS is the lowest of these, LimitedBy says which; PeakRPS is the
// 99th percentile of the traffic grid, HeadroomRatio = CapacityRPS /
// PeakRPS − 1. The reviewConfidence drops, with a note, when few points were
// fitted, when traffic spanned a narrow range, when the capacity lies far
// beyond the traffic seen, or when the fit that set it is weak.
func Review(spec model.ReviewSpec, obs model.ProductionObservations) (model.Review, error) {
	spec.SetDefaults()
	if err := spec.Validate(); err != nil {
		return model.Review{}, fmt.Errorf("could not review %q: invalid review spec:\n%w", spec.Service, err)
	}
	n := len(obs.RPS)
	if len(obs.LatencyS) != 0 && len(obs.LatencyS) != n {
		return model.Review{}, fmt.Errorf("could not review %q: %w: %d latency points for %d traffic points", spec.Service, ErrReviewData, len(obs.LatencyS), n)
	}
	if len(obs.ErrorRate) != 0 && len(obs.ErrorRate) != n {
		return model.Review{}, fmt.Errorf("could not review %q: %w: %d error-rate points for %d traffic points", spec.Service, ErrReviewData, len(obs.ErrorRate), n)
	}
	for _, r := range obs.Resources {
		if len(r.Utilization) != n {
			return model.Review{}, fmt.Errorf("could not review %q: %w: resource %s has %d utilization points for %d traffic points", spec.Service, ErrReviewData, r.Kind, len(r.Utilization), n)
		}
	}
	rv := model.Review{
		Service: spec.Service, At: obs.End, Window: model.Window{Start: obs.Start, End: obs.End},
		SLO: spec.SLO, TargetHeadroomRatio: spec.TargetHeadroom, TargetRPS: spec.TargetRPS,
		Bottleneck: model.BottleneckUnknown,
	}
	rv.Notes = append(rv.Notes, obs.Notes...)
	var rps []float64
	for _, v := range obs.RPS {
		if finiteValue(v) && v >= 0 {
			rps = append(rps, v)
		}
	}
	rv.Points = len(rps)
	if len(rps) < reviewMinPoints {
		return model.Review{}, fmt.Errorf("could not review %q: %w: %d traffic points with a value, need at least %d", spec.Service, ErrReviewData, len(rps), reviewMinPoints)
	}
	sorted := append([]float64(nil), rps...)
	sort.Float64s(sorted)
	// Hyndman and Fan's type 7 (linear interpolation), as R and NumPy by default.
	rv.PeakRPS = quantileType7(sorted, reviewPeakQuantile)
	minRPS, maxRPS := sorted[0], sorted[len(sorted)-1]
	if rv.PeakRPS <= 0 {
		return model.Review{}, fmt.Errorf("could not review %q: %w: the service carried no traffic in the window", spec.Service, ErrReviewData)
	}

	type limit struct {
		by  string
		rps float64
		r2  float64
	}
	var limits []limit
	plausible := func(x float64) bool { return x > 0 && x <= reviewMaxExtrapolation*maxRPS }

	// Latency against traffic.
	if xs, ys := reviewPairs(obs.RPS, obs.LatencyS); len(xs) >= reviewMinPoints {
		fit, how := reviewLatencyFit(xs, ys, obs)
		rv.Latency = &model.LatencyFit{Model: fit.Model() + how, Params: fit.Params(), R2: fit.R2}
		if slo := spec.SLO.P95Ms / 1000; slo > 0 {
			if x, found := fit.Crossing(slo); found && plausible(x) {
				rv.SLOCrossingRPS = &x
				limits = append(limits, limit{LimitedByLatency, x, fit.R2})
			} else {
				rv.Notes = append(rv.Notes, fmt.Sprintf("latency does not reach the SLO of %s within %gx the traffic seen (%s)", fms(spec.SLO.P95Ms), reviewMaxExtrapolation, reviewRPS(maxRPS)))
			}
		}
	} else if spec.SLO.P95Ms > 0 {
		rv.Notes = append(rv.Notes, fmt.Sprintf("only %d points have both traffic and latency: the latency SLO was not fitted", len(xs)))
	}

	// Error ratio against traffic.
	if spec.SLO.MaxErrorRate > 0 && len(obs.ErrorRate) > 0 {
		if xs, ys := reviewPairs(obs.RPS, obs.ErrorRate); len(xs) >= reviewMinPoints {
			a, b, r2 := reviewLine(xs, ys)
			if mean := stat.Mean(ys, nil); mean > spec.SLO.MaxErrorRate {
				rv.Notes = append(rv.Notes, fmt.Sprintf("the error ratio averaged %s over the window, above the SLO's %s, whatever the traffic", fpct(mean), fpct(spec.SLO.MaxErrorRate)))
			}
			if b > 0 && r2 >= reviewWeakFit {
				if x := (spec.SLO.MaxErrorRate - a) / b; plausible(x) {
					limits = append(limits, limit{LimitedByErrors, math.Max(x, 0), r2})
				}
			}
		}
	}

	// Resources against traffic.
	thr := spec.SaturationUtilization
	for _, r := range obs.Resources {
		xs, ys := reviewPairs(obs.RPS, r.Utilization)
		rr := model.ReviewResource{Kind: r.Kind, Name: r.Name, Family: r.Family, Threshold: thr}
		if len(xs) < reviewMinPoints {
			rr.Fit = fmt.Sprintf("not fitted: %d points", len(xs))
			rv.Resources = append(rv.Resources, rr)
			continue
		}
		a, b, r2 := reviewLine(xs, ys)
		rr.R2 = r2
		rr.PeakUtilization = math.Max(0, a+b*rv.PeakRPS)
		rr.Fit = fmt.Sprintf("linear u = %.4g + %.4g·rps, R² %.2f", a, b, r2)
		if b > 0 {
			if x := (thr - a) / b; plausible(x) {
				x = math.Max(x, 0)
				rr.SaturationRPS = &x
				limits = append(limits, limit{r.Kind, x, r2})
			}
		}
		rv.Resources = append(rv.Resources, rr)
	}
	sort.SliceStable(rv.Resources, func(i, j int) bool {
		a, b := rv.Resources[i].SaturationRPS, rv.Resources[j].SaturationRPS
		switch {
		case a == nil:
			return false
		case b == nil:
			return true
		}
		return *a < *b
	})
	if len(rv.Resources) > 0 {
		if s := rv.Resources[0].SaturationRPS; s != nil {
			rv.Bottleneck = rv.Resources[0].Kind
		} else {
			rv.Bottleneck = model.BottleneckNone
		}
	}

	conf := reviewConfidence{level: 3}
	if len(limits) == 0 {
		rv.Notes = append(rv.Notes, "no limit was reached within the plausible range: the capacity is unknown")
		conf.lower(1, "")
	} else {
		sort.SliceStable(limits, func(i, j int) bool { return limits[i].rps < limits[j].rps })
		best := limits[0]
		rv.CapacityRPS, rv.LimitedBy = best.rps, best.by
		if best.by == LimitedByLatency && rv.Bottleneck == model.BottleneckNone {
			rv.Bottleneck = model.BottleneckUnknown
		}
		if best.r2 < reviewWeakFit {
			conf.lower(1, fmt.Sprintf("the %s fit that sets the capacity is weak (R² %.2f)", best.by, best.r2))
		}
		switch f := best.rps / maxRPS; {
		case f > reviewFarExtrapolation:
			conf.lower(1, fmt.Sprintf("the capacity is %.1fx the highest traffic seen (%s): a far extrapolation", f, reviewRPS(maxRPS)))
		case f > reviewMidExtrapolation:
			conf.lower(2, fmt.Sprintf("the capacity is %.1fx the highest traffic seen (%s)", f, reviewRPS(maxRPS)))
		}
		rv.HeadroomRatio = rv.CapacityRPS/rv.PeakRPS - 1
		rv.BelowTarget = rv.HeadroomRatio < rv.TargetHeadroomRatio
	}
	if rv.Points < reviewFewPoints {
		conf.lower(1, fmt.Sprintf("only %d points were fitted", rv.Points))
	}
	switch span := (maxRPS - minRPS) / maxRPS; {
	case span < reviewNarrowSpan:
		conf.lower(1, fmt.Sprintf("traffic spanned only %s to %s: too narrow a range to see the curve", reviewRPS(minRPS), reviewRPS(maxRPS)))
	case span < reviewModerateSpan:
		conf.lower(2, fmt.Sprintf("traffic spanned only %s to %s", reviewRPS(minRPS), reviewRPS(maxRPS)))
	}
	if len(obs.Missing) > 0 {
		var kinds []string
		for _, m := range obs.Missing {
			kinds = append(kinds, m.Kind)
		}
		rv.Notes = append(rv.Notes, "not found, so not watched: "+strings.Join(kinds, ", "))
	}
	rv.Confidence = conf.String()
	rv.Notes = append(rv.Notes, conf.notes...)
	return rv, nil
}

// reviewLatencyFit fits the SLO's latency quantile against traffic. When
// the mean latency was read (the histogram's _sum over _count), the
// queue's divergence point C is fitted on it and only the level of the
// quantile on the quantile: histogram_quantile interpolates linearly inside
// each bucket, which bends a quantile's curve at every bucket boundary it
// crosses and misleads a fit of C, while the mean has no bucket error. In
// an M/M/1 queue every quantile of the sojourn time and its mean diverge
// at the same C = μ (the sojourn time is exponential with rate μ − λ), so
// C is the queue's, whichever statistic shows it.
func reviewLatencyFit(xs, ys []float64, obs model.ProductionObservations) (QueueLatency, string) {
	if mx, my := reviewPairs(obs.RPS, obs.MeanLatencyS); len(mx) >= reviewMinPoints {
		if mean := FitQueueLatency(mx, my); !math.IsInf(mean.C, 1) && mean.R2 >= reviewWeakFit {
			return FitQueueLatencyAt(xs, ys, mean.C), fmt.Sprintf(" (C from the mean latency, R² %.2f)", mean.R2)
		}
	}
	return FitQueueLatency(xs, ys), ""
}

// reviewConfidence is high (3), medium (2) or low (1), lowered with reasons.
type reviewConfidence struct {
	level int
	notes []string
}

func (c *reviewConfidence) lower(to int, why string) {
	c.level = min(c.level, to)
	if why != "" {
		c.notes = append(c.notes, why)
	}
}

func (c reviewConfidence) String() string {
	switch c.level {
	case 3:
		return model.ConfidenceHigh
	case 2:
		return model.ConfidenceMedium
	}
	return model.ConfidenceLow
}

// finiteValue reports whether v is neither NaN nor infinite.
func finiteValue(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// reviewPairs returns the grid points where both series have a value.
func reviewPairs(x, y model.Samples) (xs, ys []float64) {
	for i := range x {
		if i < len(y) && finiteValue(x[i]) && finiteValue(y[i]) && x[i] >= 0 {
			xs, ys = append(xs, x[i]), append(ys, y[i])
		}
	}
	return xs, ys
}

// reviewLine fits y = a + b·x by ordinary least squares (gonum
// stat.LinearRegression) and returns R² (stat.RSquared).
func reviewLine(xs, ys []float64) (a, b, r2 float64) {
	a, b = stat.LinearRegression(xs, ys, nil, false)
	r2 = stat.RSquared(xs, ys, nil, a, b)
	if !finiteValue(r2) {
		r2 = 0
	}
	return a, b, r2
}

// quantileType7 is the q-quantile of sorted values by linear
// interpolation between order statistics (Hyndman and Fan's type 7).
func quantileType7(s []float64, q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

func reviewRPS(v float64) string { return fmt.Sprintf("%.4g req/s", v) }

// QueueLatency is latency modelled against traffic as an M/M/1 queue's
// sojourn-time quantile plus a constant: L(x) = A + L0 / (1 − x/C), with x
// in requests/s and L, A, L0 in seconds.
type QueueLatency struct {
	// A is the latency that does not queue, seconds (0 when the fit
	// without it was preferred).
	A float64
	// L0 is the queueing part's latency at no load, seconds.
	L0 float64
	// C is the traffic at which the queue's latency diverges, requests/s.
	C float64
	// R2 is the coefficient of determination of the fit.
	R2 float64
	// Offset says whether A was fitted (else it is held at 0).
	Offset bool
}

// Model names the fitted form.
func (q QueueLatency) Model() string {
	if q.Offset {
		return "M/M/1 plus a constant: L = A + L0 / (1 − rps/C)"
	}
	return "M/M/1: L = L0 / (1 − rps/C)"
}

// Params returns the parameters by name, latencies in seconds.
func (q QueueLatency) Params() map[string]float64 {
	p := map[string]float64{"l0_s": q.L0, "c_rps": q.C}
	if q.Offset {
		p["a_s"] = q.A
	}
	return p
}

// At is the modelled latency at x requests/s (+Inf at or past C).
func (q QueueLatency) At(x float64) float64 {
	if x >= q.C {
		return math.Inf(1)
	}
	return q.A + q.L0/(1-x/q.C)
}

// Crossing is the traffic at which the modelled latency reaches limit
// seconds: x = C·(1 − L0/(limit − A)). It is 0 when the latency is at or
// above the limit even at no load; found is false when the model has no
// queueing part.
func (q QueueLatency) Crossing(limit float64) (x float64, found bool) {
	if !(q.C > 0) || math.IsInf(q.C, 1) || !(q.L0 > 0) {
		return 0, false
	}
	if limit <= q.A+q.L0 {
		return 0, true
	}
	return q.C * (1 - q.L0/(limit-q.A)), true
}

// FitQueueLatency fits L(x) = A + L0 / (1 − x/C) to latencies ys (seconds)
// at traffic xs (requests/s) by least squares, with A ≥ 0, L0 ≥ 0 and
// C > max(xs).
//
// For a fixed C the model is linear in A and L0, which are then found in
// closed form (queueFitAt); the sum of squares is profiled over C on a
// logarithmic scale of C − max(xs): a coarse scan, then golden-section
// search around the best point. The fit with A held at 0 (the pure M/M/1
// form) is made the same way, and the one with the lower Akaike
// information criterion (n·ln(SSE/n) + 2k, Akaike 1974) is returned. A
// latency that does not grow with traffic gives C = +Inf (no crossing).
func FitQueueLatency(xs, ys []float64) QueueLatency {
	xmax, valid := queueInputs(xs, ys)
	if !valid {
		return QueueLatency{C: math.Inf(1), A: stat.Mean(ys, nil)}
	}
	// C = xmax · (1 + e^t): t from ln(1e-3) (C just above the traffic
	// seen) to ln(1e3) (a thousand times further out, latency flat).
	cOf := func(t float64) float64 { return xmax * (1 + math.Exp(t)) }
	best := func(offset bool) QueueLatency {
		const lo, hi, steps = -6.9, 6.9, 120
		sseAt := func(t float64) float64 { _, _, s := queueFitAt(xs, ys, cOf(t), offset); return s }
		bt, bs := lo, math.Inf(1)
		for i := 0; i <= steps; i++ {
			t := lo + (hi-lo)*float64(i)/steps
			if s := sseAt(t); s < bs {
				bt, bs = t, s
			}
		}
		// Golden-section search in the bracket around the best scan point.
		h := (hi - lo) / steps
		a, b := math.Max(lo, bt-h), math.Min(hi, bt+h)
		const phi = 0.6180339887498949
		c1, c2 := b-phi*(b-a), a+phi*(b-a)
		f1, f2 := sseAt(c1), sseAt(c2)
		for i := 0; i < 60; i++ {
			if f1 < f2 {
				b, c2, f2 = c2, c1, f1
				c1 = b - phi*(b-a)
				f1 = sseAt(c1)
			} else {
				a, c1, f1 = c1, c2, f2
				c2 = a + phi*(b-a)
				f2 = sseAt(c2)
			}
		}
		t := (a + b) / 2
		q := queueFit(xs, ys, cOf(t), offset)
		if t >= hi-h {
			// The best C is at the edge of the scan: latency does not grow
			// with traffic in a way a queue explains.
			q.C = math.Inf(1)
			q.R2 = queueR2(xs, ys, q)
		}
		return q
	}
	return preferByAIC(xs, ys, best(false), best(true), 1)
}

// FitQueueLatencyAt fits L(x) = A + L0 / (1 − x/C) with C given, e.g.
// found from the mean latency: only A and L0 are fitted (closed form), with
// and without the offset A, and Akaike's criterion chooses.
func FitQueueLatencyAt(xs, ys []float64, c float64) QueueLatency {
	if _, valid := queueInputs(xs, ys); !valid || !(c > 0) || math.IsInf(c, 1) {
		return QueueLatency{C: math.Inf(1), A: stat.Mean(ys, nil)}
	}
	return preferByAIC(xs, ys, queueFit(xs, ys, c, false), queueFit(xs, ys, c, true), 0)
}

// queueInputs returns the largest traffic and whether there is enough to
// fit.
func queueInputs(xs, ys []float64) (xmax float64, valid bool) {
	if len(xs) < 3 || len(xs) != len(ys) {
		return 0, false
	}
	for _, x := range xs {
		xmax = math.Max(xmax, x)
	}
	return xmax, xmax > 0
}

// preferByAIC returns the fit with an offset when Akaike's criterion
// prefers it to the pure form; k is the number of parameters of the pure
// form (the offset adds one).
func preferByAIC(xs, ys []float64, pure, off QueueLatency, k float64) QueueLatency {
	n := float64(len(xs))
	aic := func(q QueueLatency, k float64) float64 {
		var s float64
		for i, x := range xs {
			r := ys[i] - q.at(x)
			s += r * r
		}
		return n*math.Log(math.Max(s, 1e-300)/n) + 2*k
	}
	if off.A > 0 && aic(off, k+2) < aic(pure, k+1) {
		return off
	}
	return pure
}

// at is the model's latency, the no-load value when C is infinite.
func (q QueueLatency) at(x float64) float64 {
	if math.IsInf(q.C, 1) {
		return q.A + q.L0
	}
	return q.A + q.L0/(1-x/q.C)
}

// queueFit is the least-squares fit at a fixed C, with its R².
func queueFit(xs, ys []float64, c float64, offset bool) QueueLatency {
	a, l0, _ := queueFitAt(xs, ys, c, offset)
	q := QueueLatency{A: a, L0: l0, C: c, Offset: offset && a > 0}
	q.R2 = queueR2(xs, ys, q)
	return q
}

// queueR2 is the coefficient of determination of q over the data.
func queueR2(xs, ys []float64, q QueueLatency) float64 {
	ybar := stat.Mean(ys, nil)
	var sse, sst float64
	for i, x := range xs {
		r := ys[i] - q.at(x)
		sse += r * r
		sst += (ys[i] - ybar) * (ys[i] - ybar)
	}
	if sst == 0 {
		return 0
	}
	return 1 - sse/sst
}

// queueFitAt solves, for a fixed C, the linear least squares of y on
// (1, g) (offset) or on g alone, with g = 1 / (1 − x/C), keeping A ≥ 0 and
// L0 ≥ 0, and returns the sum of squared residuals.
func queueFitAt(xs, ys []float64, c float64, offset bool) (a, l0, sse float64) {
	n := float64(len(xs))
	var sg, sgg, sy, syg float64
	for i, x := range xs {
		g := 1 / (1 - x/c)
		sg += g
		sgg += g * g
		sy += ys[i]
		syg += ys[i] * g
	}
	l0 = syg / sgg
	if offset {
		if det := n*sgg - sg*sg; det > 0 {
			l0o := (n*syg - sg*sy) / det
			ao := (sy - l0o*sg) / n
			switch {
			case ao >= 0 && l0o >= 0:
				a, l0 = ao, l0o
			case l0o < 0:
				// Latency falls with traffic: the best fit is flat.
				a, l0 = math.Max(sy/n, 0), 0
			}
		}
	}
	l0 = math.Max(l0, 0)
	for i, x := range xs {
		r := ys[i] - (a + l0/(1-x/c))
		sse += r * r
	}
	return a, l0, sse
}
