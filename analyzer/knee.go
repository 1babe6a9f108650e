package analyzer

import (
	"math"
	"sort"

	"github.com/headroom-sh/headroom/model"
)

// KneeCurve is the shape of increasing curve a knee is looked for in.
type KneeCurve int

const (
	// Concave is an increasing curve that flattens, such as throughput
	// against offered load: the knee is where extra load stops paying off.
	Concave KneeCurve = iota + 1
	// Convex is an increasing curve that steepens, such as latency against
	// load: the knee is where latency starts rising fast.
	Convex
)

// String names the curve shape.
func (c KneeCurve) String() string {
	switch c {
	case Concave:
		return "concave"
	case Convex:
		return "convex"
	}
	return "unknown"
}

// DefaultKneeSensitivity is Kneedle's S for offline data; Satopää et al.
// (2011) report that S = 1 works well when the whole curve is known.
const DefaultKneeSensitivity = 1.0

// KneeOptions tune FindKnees.
type KneeOptions struct {
	// Curve is the shape looked for; required.
	Curve KneeCurve
	// Sensitivity is Kneedle's S: how far, in mean normalised x steps, the
	// difference curve must fall below a local maximum for it to count as a
	// knee. Values ≤ 0 mean DefaultKneeSensitivity.
	Sensitivity float64
	// SmoothWindow, when 3 or more, smooths y with a centred moving average
	// of that many points (made odd) before the search. The paper smooths
	// with a spline; a moving average keeps the points' x values and is
	// enough for stage-level data. 0 or 1 turns smoothing off (the default).
	SmoothWindow int
}

// FindKnee returns the first knee (smallest x) of an increasing concave or
// convex curve, found by Kneedle with S = 1 and no smoothing; false when the
// curve has none (a straight line, too few points, NaNs, repeated x values,
// mismatched lengths). The slices are not modified and need not be sorted;
// Knee.Index is the knee's position in them.
func FindKnee(xs, ys []float64, curve KneeCurve) (model.Knee, bool) {
	knees := FindKnees(xs, ys, KneeOptions{Curve: curve})
	if len(knees) == 0 {
		return model.Knee{}, false
	}
	return knees[0], true
}

// FindKnees returns every knee Kneedle detects, in increasing x.
//
// Kneedle (V. Satopää, J. Albrecht, D. Irwin, B. Raghavan, "Finding a
// 'Kneedle' in a Haystack: Detecting Knee Points in System Behavior",
// ICDCS Workshops 2011) normalises the curve to the unit square, takes the
// difference curve D = y_n − x_n, and declares a knee at a local maximum of D
// when D falls below the threshold T = D_max − S·mean(Δx_n) before D starts
// rising again (where the paper resets the threshold). A convex increasing
// curve is first rotated by 180° in the unit square, (x, y) → (1−x, 1−y),
// which makes it concave increasing — the transformation the kneed library
// applies by flipping. This implementation also requires D > 0 at a knee, so
// that a knee lies above the chord of the shape asked for.
func FindKnees(xs, ys []float64, opts KneeOptions) []model.Knee {
	n := len(xs)
	if n != len(ys) || n < 3 || (opts.Curve != Concave && opts.Curve != Convex) {
		return nil
	}
	s := opts.Sensitivity
	if !(s > 0) || math.IsInf(s, 0) {
		s = DefaultKneeSensitivity
	}
	order := make([]int, n)
	for i := range order {
		if math.IsNaN(xs[i]) || math.IsInf(xs[i], 0) || math.IsNaN(ys[i]) || math.IsInf(ys[i], 0) {
			return nil
		}
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return xs[order[a]] < xs[order[b]] })
	x := make([]float64, n)
	y := make([]float64, n)
	for k, i := range order {
		x[k], y[k] = xs[i], ys[i]
		if k > 0 && x[k] == x[k-1] {
			return nil
		}
	}
	if opts.SmoothWindow >= 3 {
		y = movingAverage(y, opts.SmoothWindow)
	}

	// Normalise to the unit square.
	xmin, xmax := x[0], x[n-1]
	ymin, ymax := y[0], y[0]
	for _, v := range y {
		ymin = math.Min(ymin, v)
		ymax = math.Max(ymax, v)
	}
	if !(xmax > xmin) || !(ymax > ymin) || math.IsInf(xmax-xmin, 0) || math.IsInf(ymax-ymin, 0) {
		return nil
	}
	d := make([]float64, n) // difference curve, in scan order
	pos := make([]int, n)   // scan position → position in x, y
	for k := 0; k < n; k++ {
		src := k
		if opts.Curve == Convex {
			src = n - 1 - k // rotated: scan from the largest x down
		}
		xn := (x[src] - xmin) / (xmax - xmin)
		yn := (y[src] - ymin) / (ymax - ymin)
		if opts.Curve == Convex {
			xn, yn = 1-xn, 1-yn
		}
		d[k] = yn - xn
		pos[k] = src
	}

	// The mean step of the normalised x is 1/(n−1) (paper, eq. for T_lmx).
	drop := s / float64(n-1)
	var knees []model.Knee
	for i := 1; i < n-1; i++ {
		if !(d[i] > d[i-1] && d[i] >= d[i+1] && d[i] > 0) {
			continue
		}
		threshold := d[i] - drop
		for j := i + 1; j < n; j++ {
			if d[j] < threshold {
				k := order[pos[i]]
				knees = append(knees, model.Knee{X: xs[k], Y: ys[k], Index: k})
				break
			}
			if j+1 < n && d[j+1] > d[j] {
				break // a local minimum: the paper resets the threshold
			}
		}
	}
	sort.Slice(knees, func(a, b int) bool { return knees[a].X < knees[b].X })
	return knees
}

// movingAverage returns the centred moving average of y over window points
// (rounded up to odd), narrowing the window at the ends.
func movingAverage(y []float64, window int) []float64 {
	half := window / 2
	out := make([]float64, len(y))
	for i := range y {
		lo, hi := max(0, i-half), min(len(y)-1, i+half)
		// Keep the window symmetric so the ends are not biased.
		w := min(i-lo, hi-i)
		sum := 0.0
		for j := i - w; j <= i+w; j++ {
			sum += y[j]
		}
		out[i] = sum / float64(2*w+1)
	}
	return out
}
