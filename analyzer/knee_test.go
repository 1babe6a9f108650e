package analyzer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// series returns xs from lo to hi in steps of step and ys = f(x).
func series(lo, hi, step float64, f func(float64) float64) (xs, ys []float64) {
	for i := 0; ; i++ {
		x := lo + float64(i)*step
		if x > hi+step/2 {
			break
		}
		xs = append(xs, x)
		ys = append(ys, f(x))
	}
	return xs, ys
}

func TestFindKnee(t *testing.T) {
	tests := []struct {
		name  string
		xs    []float64
		ys    []float64
		curve KneeCurve
		// wantX is the knee's x; tol the allowed distance (0 for an exact point).
		wantX, tol float64
	}{
		{
			// Satopää et al. 2011 and the kneed library's reference example.
			name:  "the Kneedle paper's reference curve has its knee at x = 2",
			xs:    []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
			ys:    []float64{0, 60, 80, 85, 90, 95, 96, 97, 98, 99},
			curve: Concave,
			wantX: 2,
		},
		{
			name: "a piecewise-linear throughput curve has its knee at the elbow",
			xs:   []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
			ys: func() []float64 {
				var ys []float64
				for x := 0.0; x <= 20; x++ {
					ys = append(ys, math.Min(5*x, 40+0.5*(x-8)))
				}
				return ys
			}(),
			curve: Concave,
			wantX: 8,
		},
		{
			// The normalised difference (1−e^−x)/(1−e^−5) − x/5 peaks where
			// e^−x = (1−e^−5)/5, x = 1.6162; the grid step is 0.25.
			name: "y = 1 − e^−x on [0, 5] has its knee next to x = 1.616",
			xs: func() []float64 {
				xs, _ := series(0, 5, 0.25, func(x float64) float64 { return 1 - math.Exp(-x) })
				return xs
			}(),
			ys: func() []float64 {
				_, ys := series(0, 5, 0.25, func(x float64) float64 { return 1 - math.Exp(-x) })
				return ys
			}(),
			curve: Concave,
			wantX: -math.Log((1 - math.Exp(-5)) / 5),
			tol:   0.25,
		},
		{
			name:  "a latency curve flat to 60 VUs then rising steeply has its knee at 60",
			xs:    []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100},
			ys:    []float64{20, 20, 20, 20, 20, 20, 50, 80, 110, 140},
			curve: Convex,
			wantX: 60,
		},
		{
			// R(ρ) = 1/(1−ρ) on [0, 0.95]: the normalised slope
			// 0.95/19 · 1/(1−ρ)² is 1 at ρ = 1 − √0.05 = 0.7764; the grid step is 0.05.
			name: "an M/M/1 response-time curve has its knee next to ρ = 0.776",
			xs: func() []float64 {
				xs, _ := series(0, 0.95, 0.05, func(x float64) float64 { return 1 / (1 - x) })
				return xs
			}(),
			ys: func() []float64 {
				_, ys := series(0, 0.95, 0.05, func(x float64) float64 { return 1 / (1 - x) })
				return ys
			}(),
			curve: Convex,
			wantX: 1 - math.Sqrt(0.05),
			tol:   0.05,
		},
		{
			name:  "a throughput curve that goes retrograde has its knee before the peak",
			xs:    []float64{1, 2, 4, 8, 16, 32, 64, 128},
			ys:    []float64{100, 195, 370, 640, 900, 980, 940, 800},
			curve: Concave,
			wantX: 16,
			tol:   8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, ok := FindKnee(tt.xs, tt.ys, tt.curve)
			if !ok {
				t.Fatal("no knee found")
			}
			if math.Abs(k.X-tt.wantX) > tt.tol {
				t.Errorf("knee at x = %g, want %g ± %g", k.X, tt.wantX, tt.tol)
			}
			if tt.xs[k.Index] != k.X || tt.ys[k.Index] != k.Y {
				t.Errorf("knee %+v does not point at (xs[%d], ys[%d]) = (%g, %g)", k, k.Index, k.Index, tt.xs[k.Index], tt.ys[k.Index])
			}
		})
	}
}

func TestFindKnee_None(t *testing.T) {
	line := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	square := make([]float64, len(line))
	for i, x := range line {
		square[i] = x * x
	}
	tests := []struct {
		name   string
		xs, ys []float64
		curve  KneeCurve
	}{
		{"a straight line has no concave knee", line, line, Concave},
		{"a straight line has no convex knee", line, line, Convex},
		{"a flat line has no knee", line, make([]float64, len(line)), Concave},
		{"a convex curve has no concave knee", line, square, Concave},
		{"two points have no knee", []float64{0, 1}, []float64{0, 1}, Concave},
		{"mismatched lengths have no knee", line, line[:5], Concave},
		{"repeated x values have no knee", []float64{0, 1, 1, 2, 3}, []float64{0, 50, 60, 70, 71}, Concave},
		{"a NaN has no knee", []float64{0, 1, 2, 3}, []float64{0, 50, math.NaN(), 60}, Concave},
		{"an unknown curve shape has no knee", line, square, KneeCurve(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, ok := FindKnee(tt.xs, tt.ys, tt.curve); ok {
				t.Errorf("found knee %+v, want none", k)
			}
		})
	}
}

func TestFindKnee_UnsortedInputUnchanged(t *testing.T) {
	xs := []float64{5, 0, 9, 2, 7, 1, 3, 8, 4, 6}
	ys := []float64{95, 0, 99, 80, 97, 60, 85, 98, 90, 96}
	origX, origY := slices.Clone(xs), slices.Clone(ys)
	k, ok := FindKnee(xs, ys, Concave)
	if !ok || k.X != 2 || k.Y != 80 || k.Index != 3 {
		t.Errorf("knee %+v (found %v), want x = 2, y = 80 at index 3", k, ok)
	}
	if !slices.Equal(xs, origX) || !slices.Equal(ys, origY) {
		t.Error("FindKnee modified its input")
	}
}

func TestFindKnees_Smoothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	xs, ys := series(0, 5, 0.1, func(x float64) float64 { return 1 - math.Exp(-x) })
	for i := range ys {
		ys[i] += 0.02 * rng.NormFloat64()
	}
	raw := FindKnees(xs, ys, KneeOptions{Curve: Concave})
	smooth := FindKnees(xs, ys, KneeOptions{Curve: Concave, SmoothWindow: 5})
	if len(smooth) == 0 || len(smooth) >= len(raw) {
		t.Fatalf("smoothing should leave fewer knees: %d raw, %d smoothed", len(raw), len(smooth))
	}
	if want := -math.Log((1 - math.Exp(-5)) / 5); math.Abs(smooth[0].X-want) > 0.5 {
		t.Errorf("first smoothed knee at %g, want within 0.5 of %g", smooth[0].X, want)
	}
}

func TestFindKnees_Sensitivity(t *testing.T) {
	// A gentle bend: the difference curve falls by less than 3 mean steps
	// after its maximum, so a strict S finds nothing where S = 1 does.
	xs, ys := series(0, 10, 1, func(x float64) float64 { return math.Sqrt(x + 1) })
	if len(FindKnees(xs, ys, KneeOptions{Curve: Concave})) != 1 {
		t.Fatal("S = 1: want one knee")
	}
	if k := FindKnees(xs, ys, KneeOptions{Curve: Concave, Sensitivity: 3}); len(k) != 0 {
		t.Errorf("S = 3: knees %+v, want none", k)
	}
}
