package analyzer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/promql"

	"github.com/headroom-sh/headroom/model"
)

var inf = math.Inf(1)

// bk is a bucket: count observations ≤ le seconds.
func bk(le, count float64) model.Bucket { return model.Bucket{UpperBound: le, Count: count} }

// handBuckets: 10 observations ≤ 100 ms, 20 more ≤ 200 ms, 60 more
// ≤ 500 ms and 10 above.
var handBuckets = []model.Bucket{bk(0.1, 10), bk(0.2, 30), bk(0.5, 90), bk(inf, 100)}

func TestBucketQuantile(t *testing.T) {
	// Expected values are worked by hand with histogram_quantile's rule:
	// rank = q·count; in the first bucket whose cumulative count reaches
	// the rank, interpolate linearly between its lower and upper bound.
	tests := []struct {
		name    string
		q       float64
		buckets []model.Bucket
		want    float64
	}{
		{"the median interpolates inside its bucket: 0.2 + 0.3·(50−30)/60", 0.5, handBuckets, 0.3},
		{"a rank in the lowest bucket interpolates from zero: 0.1·5/10", 0.05, handBuckets, 0.05},
		{"a rank equal to a bucket's count returns its upper bound", 0.1, handBuckets, 0.1},
		{"q = 0.2 lands in the second bucket: 0.1 + 0.1·(20−10)/20", 0.2, handBuckets, 0.15},
		{"a rank equal to the last finite bucket's count returns its bound", 0.9, handBuckets, 0.5},
		{"a rank in the +Inf bucket returns the highest finite bound", 0.95, handBuckets, 0.5},
		{"q = 0 over an empty lowest bucket is NaN (0/0), as in Prometheus", 0, []model.Bucket{bk(0.1, 0), bk(0.2, 4), bk(inf, 4)}, math.NaN()},
		{"q = 0 over a non-empty lowest bucket is its lower edge 0", 0, handBuckets, 0},
		{"unsorted buckets are sorted first", 0.5, []model.Bucket{bk(0.5, 90), bk(inf, 100), bk(0.1, 10), bk(0.2, 30)}, 0.3},
		{"buckets with the same bound are added together", 0.5, []model.Bucket{bk(0.1, 5), bk(0.1, 5), bk(0.2, 30), bk(0.5, 90), bk(inf, 100)}, 0.3},
		{"a decreasing count is raised to the one before: 0.2 + 0.3·(50−10)/80", 0.5, []model.Bucket{bk(0.1, 10), bk(0.2, 9), bk(0.5, 90), bk(inf, 100)}, 0.35},
		{"a lowest bound at or below zero is returned as is", 0.1, []model.Bucket{bk(-1, 5), bk(0, 10), bk(1, 20), bk(inf, 20)}, -1},
		{"q below 0 is −Inf", -0.1, handBuckets, math.Inf(-1)},
		{"q above 1 is +Inf", 1.1, handBuckets, inf},
		{"q NaN is NaN", math.NaN(), handBuckets, math.NaN()},
		{"no +Inf bucket is NaN", 0.5, []model.Bucket{bk(0.1, 10), bk(0.2, 30)}, math.NaN()},
		{"no observations is NaN", 0.5, []model.Bucket{bk(0.1, 0), bk(inf, 0)}, math.NaN()},
		{"a lone +Inf bucket is NaN", 0.5, []model.Bucket{bk(inf, 10)}, math.NaN()},
		{"no buckets is NaN", 0.5, nil, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]model.Bucket(nil), tt.buckets...)
			got := BucketQuantile(tt.q, tt.buckets)
			if !sameFloat(got, tt.want, 1e-12) {
				t.Fatalf("BucketQuantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.buckets[i] {
					t.Fatal("BucketQuantile modified its input")
				}
			}
		})
	}
}

func sameFloat(a, b, tol float64) bool {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.IsNaN(a) && math.IsNaN(b)
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		return a == b
	}
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}

// TestBucketQuantileMatchesPrometheus compares with Prometheus's own
// implementation on random histograms, including the non-monotonic counts
// that increase() produces.
func TestBucketQuantileMatchesPrometheus(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 1))
	for i := 0; i < 2000; i++ {
		n := 1 + rng.IntN(12)
		var ours []model.Bucket
		var theirs promql.Buckets
		count := 0.0
		ub := 0.0
		for j := 0; j < n; j++ {
			ub += 0.001 + rng.Float64()
			if rng.IntN(10) > 0 {
				count += math.Floor(rng.Float64() * 50)
			}
			c := count
			if rng.IntN(15) == 0 {
				c -= rng.Float64() * 3 // an increase() artefact
			}
			ours = append(ours, model.Bucket{UpperBound: ub, Count: c})
			theirs = append(theirs, promql.Bucket{UpperBound: ub, Count: c})
		}
		count += math.Floor(rng.Float64() * 5)
		ours = append(ours, model.Bucket{UpperBound: inf, Count: count})
		theirs = append(theirs, promql.Bucket{UpperBound: inf, Count: count})
		// Shuffle both the same way.
		perm := rng.Perm(len(ours))
		so, st := make([]model.Bucket, len(ours)), make(promql.Buckets, len(ours))
		for k, p := range perm {
			so[k], st[k] = ours[p], theirs[p]
		}
		for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1} {
			want, _, _, _, _, _ := promql.BucketQuantile(q, append(promql.Buckets(nil), st...))
			got := BucketQuantile(q, so)
			if !sameFloat(got, want, 1e-12) {
				t.Fatalf("case %d q=%v: got %v, Prometheus %v (buckets %v)", i, q, got, want, so)
			}
		}
	}
}

func TestBucketsMaxAndMerge(t *testing.T) {
	if got := bucketsMax(handBuckets); got != 0.5 {
		t.Errorf("max with observations in +Inf = %v, want the highest finite bound 0.5", got)
	}
	if got := bucketsMax([]model.Bucket{bk(0.1, 10), bk(0.2, 30), bk(0.5, 30), bk(inf, 30)}); got != 0.2 {
		t.Errorf("max = %v, want 0.2, the lowest bound holding every observation", got)
	}
	m := mergeBuckets(handBuckets, []model.Bucket{bk(0.1, 1), bk(0.3, 2), bk(inf, 3)})
	want := []model.Bucket{bk(0.1, 11), bk(0.2, 31), bk(0.3, 32), bk(0.5, 92), bk(inf, 103)}
	if len(m) != len(want) {
		t.Fatalf("merge = %v, want %v", m, want)
	}
	for i := range want {
		if m[i] != want[i] {
			t.Fatalf("merge = %v, want %v", m, want)
		}
	}
}
