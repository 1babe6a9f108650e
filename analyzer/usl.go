package analyzer

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/headroom-sh/headroom/model"
)

// Point is one measurement of a throughput curve.
type Point struct {
	// N is the concurrency: VUs, in-flight requests or processors (> 0).
	N float64
	// X is the throughput at N, in requests/s or any other rate (≥ 0).
	X float64
}

// Errors returned by FitUSL. They are wrapped with the point or count at fault.
var (
	// ErrTooFewPoints means fewer than 3 distinct concurrency levels were given;
	// three parameters need at least three.
	ErrTooFewPoints = errors.New("too few points: a USL fit needs at least 3 distinct concurrency levels")
	// ErrInvalidPoint means a point has a NaN or infinite value, a concurrency
	// that is not positive or a negative throughput.
	ErrInvalidPoint = errors.New("invalid point")
	// ErrNoFit means no USL curve with σ, κ ≥ 0 and λ > 0 describes the
	// points, e.g. because every throughput is zero.
	ErrNoFit = errors.New("no USL curve fits the points")
)

// Parameter indices in a USL parameter vector.
const (
	pSigma = iota
	pKappa
	pLambda
)

// uslParams is (σ, κ, λ).
type uslParams [3]float64

// Fitting constants.
const (
	lmMaxIter      = 2000
	lmMaxDamping   = 1e16
	minUSLPoints   = 6 // fewer points give a low-confidence fit (the R usl package warns below 6)
	ciLevel        = 0.95
	extrapolateLow = 2.0 // a peak beyond 2× the largest tested N is low confidence
	r2Low          = 0.90
	r2Medium       = 0.97
	rankTolerance  = 1e-10 // relative singular value below which JᵀJ is treated as singular
	roundingSSE    = 1e-14 // relative change of the squared error treated as rounding
)

// unbounded is the interval reported when the data cannot bound a parameter.
var unbounded = [2]float64{-math.MaxFloat64, math.MaxFloat64}

// uslThroughput is X(N) = λN / (1 + σ(N−1) + κN(N−1)): the Universal
// Scalability Law (N. J. Gunther, Guerrilla Capacity Planning, Springer
// 2007, ch. 4; B. Schwartz, Practical Scalability Analysis with the
// Universal Scalability Law, 2015, eq. 3). It returns NaN where the
// denominator is not positive, which only unconstrained trial parameters
// can produce.
func uslThroughput(p uslParams, n float64) float64 {
	d := 1 + p[pSigma]*(n-1) + p[pKappa]*n*(n-1)
	if !(d > 0) {
		return math.NaN()
	}
	return p[pLambda] * n / d
}

// uslGradient writes ∂X/∂σ, ∂X/∂κ and ∂X/∂λ at n into g.
func uslGradient(p uslParams, n float64, g *[3]float64) {
	d := 1 + p[pSigma]*(n-1) + p[pKappa]*n*(n-1)
	f := n / d
	g[pLambda] = f
	g[pSigma] = -p[pLambda] * f * (n - 1) / d
	g[pKappa] = -p[pLambda] * f * n * (n - 1) / d
}

// sse is the sum of squared residuals, +Inf when a prediction is not finite.
func sse(pts []Point, p uslParams) float64 {
	s := 0.0
	for _, pt := range pts {
		r := pt.X - uslThroughput(p, pt.N)
		s += r * r
	}
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return math.Inf(1)
	}
	return s
}

// FitUSL fits the Universal Scalability Law X(N) = λN / (1 + σ(N−1) + κN(N−1))
// to throughput against concurrency by least squares on X with σ, κ ≥ 0 and
// λ > 0, as the R package usl by S. Möding does (nls "port"/nlxb with lower
// bounds 0).
//
// The bounded problem is solved exactly by enumerating its active sets: a
// Levenberg–Marquardt fit (Marquardt 1963, with diagonal scaling) with all
// three parameters free, with κ fixed at 0, with σ fixed at 0 and with both
// fixed, each from several starting values (among them Gunther's
// linearisation N/C(N) − 1 = σ(N−1) + κN(N−1), Guerrilla Capacity Planning
// §5.2.3); the feasible fit with the least squared error wins. When the best
// fit puts κ or σ on its bound the result says so in Notes.
//
// Confidence intervals are linearised: standard errors from the covariance
// s²(JᵀJ)⁻¹, with J the Jacobian of all three parameters at the optimum and
// s² = SSE/(n − 3) — the standard errors R's nls summary and the usl package
// report — times the two-sided 95% Student t quantile with n − 3 degrees of
// freedom. (The usl package's confint multiplies by qt(0.95, n − 1) instead.)
// Points may repeat a concurrency; the input is not modified.
func FitUSL(points []Point) (model.USL, error) {
	var u model.USL
	if err := validatePoints(points); err != nil {
		return u, err
	}
	// Fit in units where the largest throughput is 1: λ scales, σ and κ do not.
	xScale := 0.0
	for _, p := range points {
		xScale = math.Max(xScale, p.X)
	}
	if xScale == 0 {
		return u, fmt.Errorf("every throughput is 0: %w", ErrNoFit)
	}
	pts := make([]Point, len(points))
	for i, p := range points {
		pts[i] = Point{N: p.N, X: p.X / xScale}
	}

	best, unconstrained, ok := solveUSL(pts)
	if !ok {
		return u, fmt.Errorf("the least-squares fit did not converge to finite values: %w", ErrNoFit)
	}
	u = describeUSL(pts, best, unconstrained, xScale)
	if !finiteUSL(u) {
		return model.USL{}, fmt.Errorf("the fitted values are not finite: %w", ErrNoFit)
	}
	return u, nil
}

func validatePoints(points []Point) error {
	distinct := map[float64]bool{}
	for i, p := range points {
		switch {
		case math.IsNaN(p.N) || math.IsInf(p.N, 0) || math.IsNaN(p.X) || math.IsInf(p.X, 0):
			return fmt.Errorf("point %d (N=%g, X=%g) is not a finite number: %w", i+1, p.N, p.X, ErrInvalidPoint)
		case p.N <= 0:
			return fmt.Errorf("point %d (N=%g, X=%g): concurrency must be positive: %w", i+1, p.N, p.X, ErrInvalidPoint)
		case p.X < 0:
			return fmt.Errorf("point %d (N=%g, X=%g): throughput must not be negative: %w", i+1, p.N, p.X, ErrInvalidPoint)
		}
		distinct[p.N] = true
	}
	if len(distinct) < 3 {
		return fmt.Errorf("%d distinct concurrency levels in %d points: %w", len(distinct), len(points), ErrTooFewPoints)
	}
	return nil
}

// candidate is one local fit.
type candidate struct {
	p    uslParams
	sse  float64
	free [3]bool
}

func (c candidate) feasible() bool {
	return !math.IsInf(c.sse, 0) && c.p[pSigma] >= 0 && c.p[pKappa] >= 0 && c.p[pLambda] > 0
}

// solveUSL returns the bounded least-squares fit and the best unconstrained
// fit (which may have σ < 0 or κ < 0).
func solveUSL(pts []Point) (best, unconstrained candidate, ok bool) {
	faces := [][3]bool{
		{true, true, true},   // interior
		{true, false, true},  // κ = 0
		{false, true, true},  // σ = 0
		{false, false, true}, // σ = κ = 0
	}
	best.sse = math.Inf(1)
	unconstrained.sse = math.Inf(1)
	for fi, free := range faces {
		var tried []uslParams
		for _, s := range uslStarts(pts) {
			start := s
			for j := range start {
				if !free[j] {
					start[j] = 0
				}
			}
			if slices.Contains(tried, start) {
				continue
			}
			tried = append(tried, start)
			p, v := levenbergMarquardt(pts, start, free)
			c := candidate{p: p, sse: v, free: free}
			if fi == 0 && v < unconstrained.sse {
				unconstrained = c
			}
			// On ties prefer the fit with more free parameters (found first).
			if c.feasible() && v < best.sse {
				best = c
			}
		}
	}
	return best, unconstrained, !math.IsInf(best.sse, 0)
}

// uslStarts returns starting values for the fit.
func uslStarts(pts []Point) []uslParams {
	// λ from the smallest concurrency: X(N)/N is λ exactly at N = 1 and close
	// to it for small N.
	lo := pts[0]
	maxRate := 0.0
	for _, p := range pts {
		if p.N < lo.N || (p.N == lo.N && p.X > lo.X) {
			lo = p
		}
		maxRate = math.Max(maxRate, p.X/p.N)
	}
	lam0 := lo.X / lo.N
	if !(lam0 > 0) {
		lam0 = maxRate
	}
	sigma0, kappa0 := guntherLinearisation(pts, lam0)
	return []uslParams{
		{sigma0, kappa0, lam0},
		{0.01, 1e-4, maxRate}, // the R usl package's start
		{0.1, 0.01, maxRate},  // codahale/usl's start
		{0, 0, lam0},
	}
}

// guntherLinearisation estimates σ and κ by the least-squares fit through the
// origin of the deviation from linearity y = N/C(N) − 1 = σx + κx(x+1), with
// x = N − 1 and C(N) = X(N)/λ (Gunther 2007, §5.2.3). It returns zeros when
// the normal equations are singular.
func guntherLinearisation(pts []Point, lambda float64) (sigma, kappa float64) {
	var a11, a12, a22, b1, b2 float64
	for _, p := range pts {
		if p.X <= 0 {
			continue
		}
		y := lambda*p.N/p.X - 1
		x1 := p.N - 1
		x2 := p.N * (p.N - 1)
		a11 += x1 * x1
		a12 += x1 * x2
		a22 += x2 * x2
		b1 += x1 * y
		b2 += x2 * y
	}
	det := a11*a22 - a12*a12
	if !(math.Abs(det) > 1e-12*math.Abs(a11*a22)) || math.IsInf(det, 0) {
		return 0, 0
	}
	sigma = (a22*b1 - a12*b2) / det
	kappa = (a11*b2 - a12*b1) / det
	if math.IsNaN(sigma) || math.IsInf(sigma, 0) || math.IsNaN(kappa) || math.IsInf(kappa, 0) {
		return 0, 0
	}
	return sigma, kappa
}

// levenbergMarquardt minimises the squared residuals over the free
// parameters, holding the others at their starting values. Steps solve
// (JᵀJ + μ·diag(JᵀJ))δ = Jᵀr (Marquardt 1963, "An Algorithm for
// Least-Squares Estimation of Nonlinear Parameters", SIAM J. Appl. Math.
// 11(2)); a step that does not lower the error, or leaves the model's domain,
// is retried with ten times the damping. It stops when no damping gives a
// lower error or the error stops falling.
func levenbergMarquardt(pts []Point, p uslParams, free [3]bool) (uslParams, float64) {
	var idx []int
	for j, f := range free {
		if f {
			idx = append(idx, j)
		}
	}
	k := len(idx)
	cur := sse(pts, p)
	if math.IsInf(cur, 0) || k == 0 {
		return p, cur
	}
	a := make([]float64, k*k)
	g := make([]float64, k)
	sys := make([]float64, k*k)
	step := make([]float64, k)
	mu := 1e-3
	calm := 0
	for iter := 0; iter < lmMaxIter && cur > 0; iter++ {
		if !normalEquations(pts, p, idx, a, g) {
			break
		}
		maxDiag := 0.0
		for i := 0; i < k; i++ {
			maxDiag = math.Max(maxDiag, a[i*k+i])
		}
		accepted := false
		for mu <= lmMaxDamping {
			copy(sys, a)
			for i := 0; i < k; i++ {
				sys[i*k+i] += mu * math.Max(a[i*k+i], 1e-12*maxDiag)
			}
			if !solveSPD(sys, g, step) {
				mu *= 10
				continue
			}
			trial := p
			for ri, j := range idx {
				trial[j] += step[ri]
			}
			v := sse(pts, trial)
			if v >= cur && v-cur <= roundingSSE*cur {
				// The error no longer changes beyond rounding.
				return gaussNewtonPolish(pts, p, cur, idx)
			}
			if v < cur {
				if cur-v <= roundingSSE*cur {
					calm++
				} else {
					calm = 0
				}
				p, cur = trial, v
				mu = math.Max(mu/10, 1e-15)
				accepted = true
				break
			}
			mu *= 10
		}
		if !accepted || calm >= 3 {
			break
		}
	}
	return gaussNewtonPolish(pts, p, cur, idx)
}

// normalEquations fills a = JᵀJ and g = Jᵀr over the parameters in idx and
// reports whether they are usable.
func normalEquations(pts []Point, p uslParams, idx []int, a, g []float64) bool {
	k := len(idx)
	clear(a)
	clear(g)
	var grad [3]float64
	for _, pt := range pts {
		uslGradient(p, pt.N, &grad)
		r := pt.X - uslThroughput(p, pt.N)
		for ri, j := range idx {
			g[ri] += grad[j] * r
			for ci, l := range idx {
				a[ri*k+ci] += grad[j] * grad[l]
			}
		}
	}
	for _, v := range a {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	for i := 0; i < k; i++ {
		if a[i*k+i] > 0 {
			return true
		}
	}
	return false
}

// gaussNewtonPolish refines a converged fit with undamped Gauss–Newton steps
// for as long as they shrink quadratically. Near the optimum the squared
// error changes only at rounding level, which cannot tell a better point from
// a worse one, while the steps still can: this takes the parameters from
// about √ε to about ε·cond(J) relative precision.
func gaussNewtonPolish(pts []Point, p uslParams, cur float64, idx []int) (uslParams, float64) {
	k := len(idx)
	a := make([]float64, k*k)
	g := make([]float64, k)
	sys := make([]float64, k*k)
	step := make([]float64, k)
	prev := math.Inf(1)
	for iter := 0; iter < 8 && cur > 0; iter++ {
		if !normalEquations(pts, p, idx, a, g) {
			break
		}
		copy(sys, a)
		if !solveSPD(sys, g, step) {
			break
		}
		// size is ‖Jδ‖, how far the step moves the fitted curve.
		size := 0.0
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				size += step[i] * a[i*k+j] * step[j]
			}
		}
		size = math.Sqrt(math.Max(size, 0))
		if !(size < prev/2) {
			break
		}
		trial := p
		for ri, j := range idx {
			trial[j] += step[ri]
		}
		v := sse(pts, trial)
		if !(v <= cur*(1+roundingSSE)) {
			break
		}
		p, cur, prev = trial, math.Min(v, cur), size
	}
	return p, cur
}

// solveSPD solves a·x = b for a small symmetric positive definite k×k
// matrix a (row-major, overwritten by its Cholesky factor) and reports
// whether a was positive definite. The systems here have k ≤ 3, where
// gonum's general Cholesky spends most of its time estimating the
// condition number.
func solveSPD(a, b, x []float64) bool {
	k := len(b)
	for j := 0; j < k; j++ {
		d := a[j*k+j]
		for l := 0; l < j; l++ {
			d -= a[j*k+l] * a[j*k+l]
		}
		if !(d > 0) || math.IsInf(d, 0) {
			return false
		}
		d = math.Sqrt(d)
		a[j*k+j] = d
		for i := j + 1; i < k; i++ {
			v := a[i*k+j]
			for l := 0; l < j; l++ {
				v -= a[i*k+l] * a[j*k+l]
			}
			a[i*k+j] = v / d
		}
	}
	// Forward substitution L·y = b, then back substitution Lᵀ·x = y.
	for i := 0; i < k; i++ {
		v := b[i]
		for l := 0; l < i; l++ {
			v -= a[i*k+l] * x[l]
		}
		x[i] = v / a[i*k+i]
	}
	for i := k - 1; i >= 0; i-- {
		v := x[i]
		for l := i + 1; l < k; l++ {
			v -= a[l*k+i] * x[l]
		}
		x[i] = v / a[i*k+i]
	}
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// describeUSL turns the winning fit into a model.USL: units restored,
// statistics, peak, confidence and notes.
func describeUSL(pts []Point, best, unconstrained candidate, xScale float64) model.USL {
	p := best.p
	u := model.USL{
		Sigma:  p[pSigma],
		Kappa:  p[pKappa],
		Lambda: p[pLambda] * xScale,
		Points: len(pts),
	}

	// R² = 1 − SSE/SST.
	mean := 0.0
	for _, pt := range pts {
		mean += pt.X
	}
	mean /= float64(len(pts))
	sst := 0.0
	for _, pt := range pts {
		sst += (pt.X - mean) * (pt.X - mean)
	}
	if sst > 0 {
		u.R2 = 1 - best.sse/sst
	}

	se, ok := standardErrors(pts, p, best.sse)
	cis := [3]*[2]float64{&u.SigmaCI, &u.KappaCI, &u.LambdaCI}
	df := float64(len(pts) - 3)
	t := 0.0
	if df > 0 {
		t = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - (1-ciLevel)/2)
	}
	scale := [3]float64{1, 1, xScale}
	for j := range cis {
		h := t * se[j] * scale[j]
		est := p[j] * scale[j]
		if !ok[j] || df <= 0 || math.IsNaN(h) || math.IsInf(h, 0) {
			*cis[j] = unbounded
			continue
		}
		*cis[j] = [2]float64{est - h, est + h}
	}

	// Peak: dX/dN = 0 at N* = √((1−σ)/κ) (Gunther 2007, ch. 4; Schwartz 2015, eq. 4).
	if u.Kappa > 0 && u.Sigma < 1 {
		n := math.Sqrt((1 - u.Sigma) / u.Kappa)
		x := u.Throughput(n)
		if !math.IsInf(n, 0) && !math.IsNaN(x) && !math.IsInf(x, 0) {
			u.PeakN, u.PeakX = &n, &x
		}
	}

	u.Notes = boundNotes(u, best, unconstrained)
	u.Confidence, u.Notes = judgeUSL(u, pts, u.Notes)
	return u
}

// standardErrors returns √diag(s²(JᵀJ)⁻¹) for (σ, κ, λ), in the fitting
// units, and which of them the data identify. JᵀJ is inverted through the
// SVD of the column-normalised Jacobian so that the very different scales of
// κ and λ do not cost precision.
func standardErrors(pts []Point, p uslParams, sseVal float64) (se [3]float64, ok [3]bool) {
	n := len(pts)
	if n <= 3 {
		return se, ok
	}
	s2 := sseVal / float64(n-3)
	j := mat.NewDense(n, 3, nil)
	var grad [3]float64
	for i, pt := range pts {
		uslGradient(p, pt.N, &grad)
		j.SetRow(i, grad[:])
	}
	var norms [3]float64
	for c := 0; c < 3; c++ {
		norms[c] = mat.Norm(j.ColView(c), 2)
		if !(norms[c] > 0) || math.IsInf(norms[c], 0) {
			return se, ok
		}
	}
	for i := 0; i < n; i++ {
		for c := 0; c < 3; c++ {
			j.Set(i, c, j.At(i, c)/norms[c])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(j, mat.SVDThin) {
		return se, ok
	}
	vals := svd.Values(nil)
	if len(vals) < 3 || !(vals[2] > rankTolerance*vals[0]) {
		return se, ok
	}
	var v mat.Dense
	svd.VTo(&v)
	for c := 0; c < 3; c++ {
		// [(JᵀJ)⁻¹]_cc = Σ_k V_ck² / s_k², undone for the column scaling.
		q := 0.0
		for k := 0; k < 3; k++ {
			q += v.At(c, k) * v.At(c, k) / (vals[k] * vals[k])
		}
		se[c] = math.Sqrt(s2*q) / norms[c]
		ok[c] = !math.IsNaN(se[c]) && !math.IsInf(se[c], 0)
	}
	return se, ok
}

// boundNotes explains parameters that the fit held at their bound of 0.
func boundNotes(u model.USL, best, unconstrained candidate) []string {
	var notes []string
	why := func(j int, name string) string {
		if unconstrained.feasible() || math.IsInf(unconstrained.sse, 0) || unconstrained.p[j] >= 0 {
			return fmt.Sprintf("the best fit lies on the bound %s = 0", name)
		}
		return fmt.Sprintf("the unconstrained fit gave %s < 0 (%s = %.3g)", name, name, unconstrained.p[j])
	}
	if !best.free[pKappa] {
		level := "throughput grows linearly"
		if u.Sigma > 0 {
			level = fmt.Sprintf("throughput levels off towards λ/σ = %.4g", u.Lambda/u.Sigma)
		}
		notes = append(notes, fmt.Sprintf("no coherency penalty: %s, so κ is fixed at 0 and the curve has no finite peak (%s)", why(pKappa, "κ"), level))
	}
	if !best.free[pSigma] {
		notes = append(notes, fmt.Sprintf("no contention: %s, so σ is fixed at 0", why(pSigma, "σ")))
	}
	if u.Kappa > 0 && u.Sigma >= 1 {
		notes = append(notes, fmt.Sprintf("σ = %.3g ≥ 1: throughput falls from the smallest concurrency on, so there is no peak to report", u.Sigma))
	}
	return notes
}

// judgeUSL grades the fit: low when there are fewer than 6 points, R² < 0.9,
// κ's interval reaches further below zero than κ is above it, or the peak
// lies beyond twice the largest tested concurrency; medium for milder
// versions of the same doubts; high otherwise. Each doubt adds a note.
func judgeUSL(u model.USL, pts []Point, notes []string) (string, []string) {
	level := 2 // 2 high, 1 medium, 0 low
	doubt := func(l int, format string, args ...any) {
		level = min(level, l)
		notes = append(notes, fmt.Sprintf(format, args...))
	}
	maxN := 0.0
	for _, pt := range pts {
		maxN = math.Max(maxN, pt.N)
	}
	if len(pts) < minUSLPoints {
		doubt(0, "only %d points: a USL fit needs %d or more to be stable", len(pts), minUSLPoints)
	}
	switch {
	case u.R2 < r2Low:
		doubt(0, "poor fit: R² = %.3f is below %.2f", u.R2, r2Low)
	case u.R2 < r2Medium:
		doubt(1, "loose fit: R² = %.3f is below %.2f", u.R2, r2Medium)
	}
	if u.Kappa > 0 {
		lo, hi := u.KappaCI[0], u.KappaCI[1]
		switch {
		case u.KappaCI == unbounded:
			doubt(0, "κ is not determined by the points (no confidence interval), so the peak is uncertain")
		case lo < -u.Kappa:
			doubt(0, "κ is indistinguishable from 0: its 95%% interval [%.3g, %.3g] spans zero widely, so the peak may not exist", lo, hi)
		case lo < 0:
			doubt(1, "κ is not significantly above 0: its 95%% interval [%.3g, %.3g] includes zero", lo, hi)
		}
	}
	if u.PeakN != nil {
		switch {
		case *u.PeakN > extrapolateLow*maxN:
			doubt(0, "the peak N* = %.4g lies beyond %g× the largest tested concurrency (%g): it is an extrapolation", *u.PeakN, extrapolateLow, maxN)
		case *u.PeakN > maxN:
			doubt(1, "the peak N* = %.4g lies beyond the largest tested concurrency (%g)", *u.PeakN, maxN)
		}
	}
	return [...]string{model.ConfidenceLow, model.ConfidenceMedium, model.ConfidenceHigh}[level], notes
}

func finiteUSL(u model.USL) bool {
	vals := []float64{u.Sigma, u.Kappa, u.Lambda, u.R2}
	vals = append(vals, u.SigmaCI[:]...)
	vals = append(vals, u.KappaCI[:]...)
	vals = append(vals, u.LambdaCI[:]...)
	if u.PeakN != nil {
		vals = append(vals, *u.PeakN, *u.PeakX)
	}
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
