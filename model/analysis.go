package model

// This file holds the results of the analyzer: fitted models and detected
// knees. The Analysis document that gathers them for a run is added here as
// the analyzer grows.

// Confidence levels of a fitted model.
const (
	ConfidenceHigh   = "high"
	ConfidenceMedium = "medium"
	ConfidenceLow    = "low"
)

// USL is a fitted Universal Scalability Law model
//
//	X(N) = λN / (1 + σ(N−1) + κN(N−1))
//
// (N. J. Gunther, Guerrilla Capacity Planning, Springer 2007, ch. 4;
// B. Schwartz, Practical Scalability Analysis with the Universal Scalability
// Law, 2015, eq. 3), where N is the concurrency (VUs, in-flight requests,
// processors) and X the throughput.
//
// Intervals are 95% confidence intervals from the linearised covariance
// s²(JᵀJ)⁻¹ at the optimum and the Student t quantile with points − 3
// degrees of freedom. When the points leave no degrees of freedom or do not
// identify a parameter, its interval is [−math.MaxFloat64, math.MaxFloat64]
// (unbounded; JSON cannot carry infinities). Intervals are not clipped at
// the bounds σ, κ ≥ 0 (as in R), so a κ of 0 has an interval around 0.
type USL struct {
	// Sigma σ is the contention coefficient (dimensionless, ≥ 0): the
	// serialised fraction of the work.
	Sigma float64 `json:"sigma"`
	// Kappa κ is the coherency coefficient (dimensionless, ≥ 0): the
	// pairwise crosstalk penalty that makes throughput retrograde.
	Kappa float64 `json:"kappa"`
	// Lambda λ is the throughput of one unit of concurrency, in the units
	// of X (requests/s for headroom's curves).
	Lambda float64 `json:"lambda"`
	// PeakN is the concurrency of peak throughput N* = √((1−σ)/κ), where
	// dX/dN = 0 (Gunther 2007, ch. 4; Schwartz 2015, eq. 4); nil when κ = 0
	// (throughput never falls) or σ ≥ 1 (it falls from the start).
	PeakN *float64 `json:"peak_n"`
	// PeakX is the throughput at PeakN, X(N*), in the units of X; nil with PeakN.
	PeakX *float64 `json:"peak_x"`
	// R2 is the coefficient of determination 1 − SSE/SST of the fit.
	R2 float64 `json:"r2"`
	// Points is the number of (N, X) points the model was fitted to.
	Points int `json:"points"`
	// SigmaCI, KappaCI and LambdaCI are 95% confidence intervals [low, high].
	SigmaCI  [2]float64 `json:"sigma_ci"`
	KappaCI  [2]float64 `json:"kappa_ci"`
	LambdaCI [2]float64 `json:"lambda_ci"`
	// Confidence is "high", "medium" or "low"; Notes say why when it is
	// not high.
	Confidence string `json:"confidence"`
	// Notes explain constraints that were applied and doubts about the fit,
	// e.g. "no coherency penalty: the unconstrained fit gave κ < 0, κ fixed at 0".
	Notes []string `json:"notes,omitempty"`
}

// Throughput returns the model's throughput X(N) at concurrency n, in the
// units of Lambda.
func (u USL) Throughput(n float64) float64 {
	return u.Lambda * n / (1 + u.Sigma*(n-1) + u.Kappa*n*(n-1))
}

// Knee is the point of a curve where it bends most sharply, found by the
// Kneedle algorithm (Satopää et al., 2011).
type Knee struct {
	// X and Y are the curve's values at the knee, in the curve's units
	// (e.g. concurrency and requests/s, or requests/s and ms).
	X float64 `json:"x"`
	Y float64 `json:"y"`
	// Index is the knee's position in the input slices.
	Index int `json:"index"`
}
