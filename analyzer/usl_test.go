package analyzer

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/headroom-sh/headroom/model"
)

// readPoints reads a testdata CSV of concurrency,throughput rows with '#'
// comments and a header.
func readPoints(t *testing.T, name string) []Point {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var pts []Point
	for _, row := range rows[1:] {
		n, err1 := strconv.ParseFloat(row[0], 64)
		x, err2 := strconv.ParseFloat(row[1], 64)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pts = append(pts, Point{N: n, X: x})
	}
	return pts
}

// closeTo reports whether got is within relative tolerance rel of want.
func closeTo(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}

// standardError recovers a standard error from a 95% interval of a fit to n points.
func standardError(ci [2]float64, n int) float64 {
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 3)}.Quantile(0.975)
	return (ci[1] - ci[0]) / 2 / t
}

// rTQuantile95 is qt(0.95, 10), the quantile the R usl package's confint
// uses for the 11-point raytracer set; it turns the published intervals back
// into standard errors.
var rTQuantile95 = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: 10}.Quantile(0.95)

func TestFitUSL_ReferenceData(t *testing.T) {
	// want holds a published value and the relative tolerance its printed
	// digits allow (5e-4 for 4 significant digits, 5e-3 for 3).
	type want struct{ v, rel float64 }
	tests := []struct {
		name   string
		file   string
		sigma  want
		kappa  want // kappa.v == 0 means κ must be exactly 0
		lambda want
		// Optional published statistics.
		sigmaSE, kappaSE, lambdaSE, r2, peakN want
	}{
		{
			name:   "the usl package's synthetic set gives σ = κ = 0.02, λ = 1 to 3 digits",
			file:   "gunther_synthetic.csv",
			sigma:  want{0.02, 5e-3},
			kappa:  want{0.02, 5e-3},
			lambda: want{1.00, 5e-3},
		},
		{
			name:     "SPEC SDM91 on a SPARCcenter 2000 reproduces the usl package's nlxb fit",
			file:     "specsdm91.csv",
			sigma:    want{0.0277285, 5e-4},
			kappa:    want{0.0001044, 5e-4},
			lambda:   want{89.9952330, 5e-4},
			sigmaSE:  want{0.0091217, 5e-4},
			kappaSE:  want{0.0000199, 5e-3},
			lambdaSE: want{14.2134894, 5e-4},
			r2:       want{0.9896, 5e-4},
			peakN:    want{97, 5e-2}, // signif(peak.scalability(u), 2)
		},
		{
			name:     "the ray tracer benchmark fits with κ on its bound, as in the usl package",
			file:     "raytracer.csv",
			sigma:    want{(0.033677 + 0.081864) / 2, 5e-4},
			kappa:    want{0, 0},
			lambda:   want{21.8488, 5e-4},
			sigmaSE:  want{(0.081864 - 0.033677) / 2 / rTQuantile95, 5e-4},
			kappaSE:  want{0.000214 / rTQuantile95, 5e-3},
			lambdaSE: want{(25.829306 - 17.868380) / 2 / rTQuantile95, 5e-4},
		},
		{
			name:   "codahale/usl's measurements reproduce its coefficients",
			file:   "codahale.csv",
			sigma:  want{0.02671591, 1e-5},
			kappa:  want{7.690945e-4, 1e-5},
			lambda: want{995.6486, 1e-5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts := readPoints(t, tt.file)
			u, err := FitUSL(pts)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got float64, w want) {
				t.Helper()
				if w.v == 0 && w.rel == 0 {
					return
				}
				if !closeTo(got, w.v, w.rel) {
					t.Errorf("%s = %.8g, want %.8g (relative tolerance %g)", what, got, w.v, w.rel)
				} else {
					t.Logf("%s = %.8g, published %.8g", what, got, w.v)
				}
			}
			check("σ", u.Sigma, tt.sigma)
			if tt.kappa.v == 0 {
				if u.Kappa != 0 || u.PeakN != nil || u.PeakX != nil {
					t.Errorf("κ = %g, PeakN = %v: want κ = 0 and no peak", u.Kappa, u.PeakN)
				}
			} else {
				check("κ", u.Kappa, tt.kappa)
			}
			check("λ", u.Lambda, tt.lambda)
			check("se(σ)", standardError(u.SigmaCI, len(pts)), tt.sigmaSE)
			check("se(κ)", standardError(u.KappaCI, len(pts)), tt.kappaSE)
			check("se(λ)", standardError(u.LambdaCI, len(pts)), tt.lambdaSE)
			check("R²", u.R2, tt.r2)
			if tt.peakN.v != 0 {
				if u.PeakN == nil {
					t.Fatal("PeakN is nil")
				}
				check("N*", *u.PeakN, tt.peakN)
				if want := u.Throughput(*u.PeakN); *u.PeakX != want {
					t.Errorf("PeakX = %g, want X(N*) = %g", *u.PeakX, want)
				}
			}
			if u.Points != len(pts) {
				t.Errorf("Points = %d, want %d", u.Points, len(pts))
			}
		})
	}
}

func TestFitUSL_Bounds(t *testing.T) {
	t.Run("a concave curve that never peaks gets κ = 0, no peak and a note", func(t *testing.T) {
		pts := readPoints(t, "amdahl_noisy.csv")
		_, unconstrained, _ := solveUSL(scaled(pts))
		if unconstrained.p[pKappa] >= 0 {
			t.Fatalf("test data: the unconstrained κ = %g, want < 0", unconstrained.p[pKappa])
		}
		u, err := FitUSL(pts)
		if err != nil {
			t.Fatal(err)
		}
		if u.Kappa != 0 || u.PeakN != nil || u.PeakX != nil {
			t.Errorf("κ = %g, PeakN = %v, PeakX = %v: want 0, nil, nil", u.Kappa, u.PeakN, u.PeakX)
		}
		// The generating curve is σ = 0.1, λ = 10 with 1% noise.
		if !closeTo(u.Sigma, 0.1, 0.05) || !closeTo(u.Lambda, 10, 0.05) {
			t.Errorf("σ = %g, λ = %g: want about 0.1 and 10", u.Sigma, u.Lambda)
		}
		if !hasNote(u, "no coherency penalty: the unconstrained fit gave κ < 0") {
			t.Errorf("notes %q lack the coherency note", u.Notes)
		}
		if u.Confidence != model.ConfidenceHigh {
			t.Errorf("confidence %q, want high: %q", u.Confidence, u.Notes)
		}
	})
	t.Run("a curve with negative contention gets σ = 0 and a note", func(t *testing.T) {
		// Exact points of σ = −0.01, κ = 0.01, λ = 1.
		var pts []Point
		for _, n := range []float64{1, 2, 3, 4, 6, 8, 10, 12} {
			pts = append(pts, Point{N: n, X: n / (1 - 0.01*(n-1) + 0.01*n*(n-1))})
		}
		u, err := FitUSL(pts)
		if err != nil {
			t.Fatal(err)
		}
		if u.Sigma != 0 || !(u.Kappa > 0) || u.PeakN == nil {
			t.Errorf("σ = %g, κ = %g, PeakN = %v: want σ = 0, κ > 0 and a peak", u.Sigma, u.Kappa, u.PeakN)
		}
		if !hasNote(u, "no contention: the unconstrained fit gave σ < 0") {
			t.Errorf("notes %q lack the contention note", u.Notes)
		}
	})
	t.Run("exact USL points are recovered to full precision", func(t *testing.T) {
		truth := model.USL{Sigma: 0.05, Kappa: 0.002, Lambda: 250}
		var pts []Point
		for _, n := range []float64{1, 2, 4, 8, 16, 24, 32, 48} {
			pts = append(pts, Point{N: n, X: truth.Throughput(n)})
		}
		u, err := FitUSL(pts)
		if err != nil {
			t.Fatal(err)
		}
		if !closeTo(u.Sigma, truth.Sigma, 1e-8) || !closeTo(u.Kappa, truth.Kappa, 1e-8) || !closeTo(u.Lambda, truth.Lambda, 1e-8) {
			t.Errorf("got σ=%.12g κ=%.12g λ=%.12g, want %g %g %g", u.Sigma, u.Kappa, u.Lambda, truth.Sigma, truth.Kappa, truth.Lambda)
		}
		wantN := math.Sqrt((1 - truth.Sigma) / truth.Kappa)
		if u.PeakN == nil || !closeTo(*u.PeakN, wantN, 1e-8) {
			t.Errorf("PeakN = %v, want %g", u.PeakN, wantN)
		}
	})
}

func hasNote(u model.USL, prefix string) bool {
	return slices.ContainsFunc(u.Notes, func(n string) bool { return strings.HasPrefix(n, prefix) })
}

// scaled divides throughput by its maximum, as FitUSL does before solving.
func scaled(pts []Point) []Point {
	m := 0.0
	for _, p := range pts {
		m = math.Max(m, p.X)
	}
	out := make([]Point, len(pts))
	for i, p := range pts {
		out[i] = Point{N: p.N, X: p.X / m}
	}
	return out
}

func TestFitUSL_Confidence(t *testing.T) {
	tests := []struct {
		name   string
		points func(t *testing.T) []Point
		want   string
		note   string // a prefix one note must have
	}{
		{
			name:   "SPEC SDM91 is a high-confidence fit",
			points: func(t *testing.T) []Point { return readPoints(t, "specsdm91.csv") },
			want:   model.ConfidenceHigh,
		},
		{
			name:   "a peak just beyond the tested range is medium confidence",
			points: func(t *testing.T) []Point { return readPoints(t, "codahale.csv") },
			want:   model.ConfidenceMedium,
			note:   "the peak N* = 35.57 lies beyond the largest tested concurrency (32)",
		},
		{
			name:   "five points are low confidence",
			points: func(t *testing.T) []Point { return readPoints(t, "specsdm91.csv")[:5] },
			want:   model.ConfidenceLow,
			note:   "only 5 points",
		},
		{
			name: "a peak far beyond the tested range is low confidence",
			points: func(t *testing.T) []Point {
				truth := model.USL{Sigma: 0.02, Kappa: 0.0001, Lambda: 100} // N* ≈ 99
				var pts []Point
				for _, n := range []float64{1, 2, 4, 8, 12, 16, 20, 24, 32, 40} {
					pts = append(pts, Point{N: n, X: truth.Throughput(n)})
				}
				return pts
			},
			want: model.ConfidenceLow,
			note: "the peak N* = 98.99 lies beyond 2× the largest tested concurrency (40)",
		},
		{
			name: "scattered points are low confidence",
			points: func(t *testing.T) []Point {
				return []Point{{1, 10}, {2, 30}, {3, 12}, {4, 35}, {5, 15}, {6, 40}, {7, 14}, {8, 38}}
			},
			want: model.ConfidenceLow,
			note: "poor fit: R²",
		},
		{
			name: "three points leave no degrees of freedom and unbounded intervals",
			points: func(t *testing.T) []Point {
				return []Point{{1, 10}, {4, 30}, {8, 40}}
			},
			want: model.ConfidenceLow,
			note: "only 3 points",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := FitUSL(tt.points(t))
			if err != nil {
				t.Fatal(err)
			}
			if u.Confidence != tt.want {
				t.Errorf("confidence %q, want %q; notes %q", u.Confidence, tt.want, u.Notes)
			}
			if tt.note != "" && !hasNote(u, tt.note) {
				t.Errorf("notes %q lack %q", u.Notes, tt.note)
			}
			if u.Points == 3 && (u.SigmaCI != unbounded || u.LambdaCI != unbounded) {
				t.Errorf("intervals %v %v, want unbounded with 0 degrees of freedom", u.SigmaCI, u.LambdaCI)
			}
		})
	}
}

func TestFitUSL_Errors(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		points []Point
		want   error
	}{
		{"no points are too few", nil, ErrTooFewPoints},
		{"two concurrency levels are too few", []Point{{1, 10}, {2, 18}}, ErrTooFewPoints},
		{"repeats of two concurrency levels are too few", []Point{{1, 10}, {2, 18}, {1, 11}, {2, 19}, {2, 17}}, ErrTooFewPoints},
		{"a NaN throughput is invalid", []Point{{1, 10}, {2, nan}, {4, 30}}, ErrInvalidPoint},
		{"a NaN concurrency is invalid", []Point{{nan, 10}, {2, 18}, {4, 30}}, ErrInvalidPoint},
		{"an infinite throughput is invalid", []Point{{1, 10}, {2, math.Inf(1)}, {4, 30}}, ErrInvalidPoint},
		{"a negative throughput is invalid", []Point{{1, 10}, {2, -18}, {4, 30}}, ErrInvalidPoint},
		{"a negative concurrency is invalid", []Point{{-1, 10}, {2, 18}, {4, 30}}, ErrInvalidPoint},
		{"a zero concurrency is invalid", []Point{{0, 0}, {2, 18}, {4, 30}, {8, 40}}, ErrInvalidPoint},
		{"all-zero throughput has no fit", []Point{{1, 0}, {2, 0}, {4, 0}}, ErrNoFit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FitUSL(tt.points)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFitUSL_InputUnchangedAndOrderFree(t *testing.T) {
	pts := readPoints(t, "specsdm91.csv")
	orig := slices.Clone(pts)
	want, err := FitUSL(pts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pts, orig) {
		t.Fatalf("FitUSL modified its input: %v", pts)
	}
	rev := slices.Clone(pts)
	slices.Reverse(rev)
	got, err := FitUSL(rev)
	if err != nil {
		t.Fatal(err)
	}
	if !closeTo(got.Sigma, want.Sigma, 1e-9) || !closeTo(got.Kappa, want.Kappa, 1e-9) || !closeTo(got.Lambda, want.Lambda, 1e-9) {
		t.Errorf("reversed input gave %v, want %v", got, want)
	}
}

// TestFitUSL_GlobalOptimum checks on random curves that no point of a fine
// (σ, κ) grid, with λ solved exactly for each, has a smaller squared error
// than the fit: the bounded solver finds the global optimum.
func TestFitUSL_GlobalOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := 0; trial < 40; trial++ {
		truth := uslParams{rng.Float64() * 0.2, math.Pow(10, -5+4*rng.Float64()), 1 + 100*rng.Float64()}
		if trial%4 == 0 {
			truth[pKappa] = 0 // curves with no peak, often κ < 0 unconstrained
		}
		noise := []float64{0, 0.01, 0.05, 0.2}[trial%4]
		var pts []Point
		for n := 1.0; n <= 64; n *= 1.5 {
			x := uslThroughput(truth, n) * (1 + noise*rng.NormFloat64())
			pts = append(pts, Point{N: math.Round(n), X: math.Max(x, 0)})
		}
		u, err := FitUSL(pts)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		fit := sse(pts, uslParams{u.Sigma, u.Kappa, u.Lambda})
		grid := gridMinimum(pts)
		if fit > grid*(1+1e-9)+1e-12 {
			t.Errorf("trial %d: fit SSE %.10g > grid SSE %.10g (σ=%g κ=%g λ=%g)", trial, fit, grid, u.Sigma, u.Kappa, u.Lambda)
		}
	}
}

// gridMinimum is the least squared error over σ ∈ [0, 1], κ ∈ {0} ∪ [1e-7, 1]
// with λ at its closed-form optimum Σ X·f / Σ f², f = N/D(σ, κ).
func gridMinimum(pts []Point) float64 {
	best := math.Inf(1)
	kappas := []float64{0}
	for e := -7.0; e <= 0; e += 0.05 {
		kappas = append(kappas, math.Pow(10, e))
	}
	for s := 0.0; s <= 1; s += 0.004 {
		for _, k := range kappas {
			var xf, ff float64
			for _, p := range pts {
				f := p.N / (1 + s*(p.N-1) + k*p.N*(p.N-1))
				xf += p.X * f
				ff += f * f
			}
			best = math.Min(best, sse(pts, uslParams{s, k, xf / ff}))
		}
	}
	return best
}

// TestFitUSL_NeverPanics throws awkward inputs at FitUSL: every call must
// return an error or a finite, bounded, JSON-encodable model.
func TestFitUSL_NeverPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	specials := []float64{0, 1, 1e-300, 1e-9, 0.5, 2, 1e6, 1e150, 1e300, math.MaxFloat64, -1, math.NaN(), math.Inf(1)}
	value := func() float64 {
		switch rng.IntN(4) {
		case 0:
			return specials[rng.IntN(len(specials))]
		case 1:
			return float64(1 + rng.IntN(5)) // duplicates
		default:
			return rng.Float64() * 1000
		}
	}
	for trial := 0; trial < 10000; trial++ {
		n := rng.IntN(9)
		pts := make([]Point, n)
		for i := range pts {
			pts[i] = Point{N: value(), X: value()}
		}
		// Monotone and flat curves too.
		switch trial % 5 {
		case 1:
			for i := range pts {
				pts[i] = Point{N: float64(i + 1), X: float64(i+1) * 10}
			}
		case 2:
			for i := range pts {
				pts[i] = Point{N: float64(i + 1), X: 42}
			}
		}
		checkFit(t, pts)
	}
}

func checkFit(t *testing.T, pts []Point) {
	t.Helper()
	u, err := FitUSL(pts)
	if err != nil {
		if !errors.Is(err, ErrTooFewPoints) && !errors.Is(err, ErrInvalidPoint) && !errors.Is(err, ErrNoFit) {
			t.Fatalf("%v: error %v wraps no sentinel", pts, err)
		}
		return
	}
	if !(u.Sigma >= 0) || !(u.Kappa >= 0) || !(u.Lambda > 0) {
		t.Fatalf("%v: out of bounds: σ=%g κ=%g λ=%g", pts, u.Sigma, u.Kappa, u.Lambda)
	}
	if (u.PeakN == nil) != (u.PeakX == nil) || (u.Kappa == 0 && u.PeakN != nil) {
		t.Fatalf("%v: inconsistent peak %v %v with κ=%g", pts, u.PeakN, u.PeakX, u.Kappa)
	}
	if _, err := json.Marshal(u); err != nil {
		t.Fatalf("%v: %v", pts, err)
	}
	switch u.Confidence {
	case model.ConfidenceHigh, model.ConfidenceMedium, model.ConfidenceLow:
	default:
		t.Fatalf("%v: confidence %q", pts, u.Confidence)
	}
}

func FuzzFitUSL(f *testing.F) {
	f.Add(1.0, 1.0, 2.0, 1.8868, 4.0, 3.0769, 8.0, 3.5398)
	f.Add(1.0, 64.9, 18.0, 995.9, 36.0, 1652.4, 216.0, 1702.2)
	f.Add(1.0, 0.0, 1.0, 0.0, 2.0, 0.0, 3.0, 1e300)
	f.Add(0.0, 0.0, 1e-300, 1.0, 1e300, 1.0, 5.0, 5.0)
	f.Fuzz(func(t *testing.T, n1, x1, n2, x2, n3, x3, n4, x4 float64) {
		checkFit(t, []Point{{n1, x1}, {n2, x2}, {n3, x3}, {n4, x4}})
	})
}
