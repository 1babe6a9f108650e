package analyzer

import (
	"math"
	"slices"
	"sort"

	"github.com/headroom-sh/headroom/model"
)

// smallDeltaTolerance is the relative difference between neighbouring
// cumulative bucket counts that Prometheus treats as floating-point noise
// (promql/quantile.go, smallDeltaTolerance).
const smallDeltaTolerance = 1e-12

// BucketQuantile returns the q-quantile (0 ≤ q ≤ 1) of a classic histogram
// given as cumulative buckets, exactly as Prometheus's histogram_quantile
// computes it for classic buckets (prometheus/prometheus promql/quantile.go,
// BucketQuantile, v0.316):
//
//   - the buckets are sorted by upper bound and buckets with the same bound
//     are merged; the highest bound must be +Inf, else the result is NaN;
//   - counts that differ by a relative 1e-12 are treated as equal, and a
//     count lower than the one before it is raised to it (increase() over
//     a window can make cumulative counts slightly non-monotonic);
//   - with fewer than two buckets or no observations the result is NaN;
//   - the rank q·count is located in the first bucket whose cumulative count
//     reaches it, and the quantile is interpolated linearly inside that
//     bucket, between the previous bound (0 for the lowest bucket when its
//     bound is positive) and the bucket's bound;
//   - a rank in the +Inf bucket returns the highest finite bound; a rank in
//     a lowest bucket whose bound is ≤ 0 returns that bound;
//   - q < 0 gives −Inf, q > 1 gives +Inf and a NaN q gives NaN.
//
// The result is in the unit of the bounds (seconds for headroom's
// histograms). The input is not modified.
func BucketQuantile(q float64, buckets []model.Bucket) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	}
	bs := normaliseBuckets(buckets)
	if bs == nil || len(bs) < 2 {
		return math.NaN()
	}
	observations := bs[len(bs)-1].Count
	if observations == 0 {
		return math.NaN()
	}
	rank := q * observations
	b := sort.Search(len(bs)-1, func(i int) bool { return bs[i].Count >= rank })
	switch {
	case b == len(bs)-1:
		return bs[len(bs)-2].UpperBound
	case b == 0 && bs[0].UpperBound <= 0:
		return bs[0].UpperBound
	}
	start, end, count := 0.0, bs[b].UpperBound, bs[b].Count
	if b > 0 {
		start = bs[b-1].UpperBound
		count -= bs[b-1].Count
		rank -= bs[b-1].Count
	}
	return start + (end-start)*(rank/count)
}

// normaliseBuckets returns a sorted, coalesced, monotonic copy of buckets,
// or nil when the highest bound is not +Inf or the input is empty.
func normaliseBuckets(buckets []model.Bucket) []model.Bucket {
	if len(buckets) == 0 {
		return nil
	}
	bs := slices.Clone(buckets)
	slices.SortStableFunc(bs, func(a, b model.Bucket) int {
		switch {
		case a.UpperBound < b.UpperBound:
			return -1
		case a.UpperBound > b.UpperBound:
			return 1
		}
		return 0
	})
	if !math.IsInf(bs[len(bs)-1].UpperBound, 1) {
		return nil
	}
	// Coalesce buckets with the same bound (Prometheus's coalesceBuckets).
	out := bs[:1]
	for _, b := range bs[1:] {
		if b.UpperBound == out[len(out)-1].UpperBound {
			out[len(out)-1].Count += b.Count
		} else {
			out = append(out, b)
		}
	}
	// Force monotonicity, ignoring numerically insignificant deltas
	// (Prometheus's ensureMonotonicAndIgnoreSmallDeltas).
	prev := out[0].Count
	for i := 1; i < len(out); i++ {
		cur := out[i].Count
		if cur == prev {
			continue
		}
		if almostEqual(prev, cur, smallDeltaTolerance) || cur < prev {
			out[i].Count = prev
			continue
		}
		prev = cur
	}
	return out
}

// almostEqual reports whether a and b differ by at most a relative epsilon,
// as Prometheus's util/almost.Equal does.
func almostEqual(a, b, epsilon float64) bool {
	const minNormal = 2.2250738585072014e-308 // 1 / 2**(1022)
	if a == b {
		return true
	}
	absSum := math.Abs(a) + math.Abs(b)
	diff := math.Abs(a - b)
	if a == 0 || b == 0 || absSum < minNormal {
		return diff < epsilon*minNormal
	}
	return diff/math.Min(absSum, math.MaxFloat64) < epsilon
}

// bucketsCount is the number of observations of a histogram: the count of
// its +Inf bucket (0 when it has none).
func bucketsCount(buckets []model.Bucket) float64 {
	c := 0.0
	for _, b := range buckets {
		if math.IsInf(b.UpperBound, 1) {
			c += b.Count
		}
	}
	return c
}

// bucketsMax is an estimate of the largest observation: the upper bound of
// the lowest bucket that holds every observation (but less than half of
// one, as counts from increase() are not whole), or the highest finite
// bound when some observations lie in the +Inf bucket (then a lower bound).
// It is NaN without observations.
func bucketsMax(buckets []model.Bucket) float64 {
	bs := normaliseBuckets(buckets)
	if len(bs) < 2 || bs[len(bs)-1].Count == 0 {
		return math.NaN()
	}
	total := bs[len(bs)-1].Count
	for i, b := range bs {
		if b.Count > total-0.5 {
			if math.IsInf(b.UpperBound, 1) {
				return bs[i-1].UpperBound
			}
			return b.UpperBound
		}
	}
	return bs[len(bs)-2].UpperBound
}

// mergeBuckets adds histograms together. Bounds are the union of every
// histogram's bounds; a histogram that lacks a bound contributes its count
// at the nearest bound below it (cumulative counts are step functions), so
// histograms with the same bounds add exactly.
func mergeBuckets(hs ...[]model.Bucket) []model.Bucket {
	set := map[float64]bool{}
	var sorted [][]model.Bucket
	for _, h := range hs {
		if len(h) == 0 {
			continue
		}
		n := normaliseBuckets(h)
		if n == nil {
			continue
		}
		sorted = append(sorted, n)
		for _, b := range n {
			set[b.UpperBound] = true
		}
	}
	if len(sorted) == 0 {
		return nil
	}
	bounds := make([]float64, 0, len(set))
	for b := range set {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	out := make([]model.Bucket, len(bounds))
	for i, ub := range bounds {
		out[i].UpperBound = ub
		for _, h := range sorted {
			// Largest bound ≤ ub.
			j := sort.Search(len(h), func(k int) bool { return h[k].UpperBound > ub }) - 1
			if j >= 0 {
				out[i].Count += h[j].Count
			}
		}
	}
	return out
}
