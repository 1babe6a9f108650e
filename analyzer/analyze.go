package analyzer

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/headroom-sh/headroom/model"
)

// Defaults of Options.
const (
	DefaultSLOP95                = 800 * time.Millisecond
	DefaultMaxErrorRate          = 0.05
	DefaultSaturationUtilization = 0.90
	DefaultSoakMinDuration       = 10 * time.Minute
	DefaultSlowestEndpoints      = 5
	DefaultTrendAlpha            = 0.01
)

// DefaultSaturationFloors are the smallest growth of a resource's queueing
// measure, in the catalog family's saturation unit, that counts as the
// resource saturating. Below it, queueing that grows with load is noise or
// the ordinary cost of being busy. Kinds not listed need no floor beyond
// the noise test.
var DefaultSaturationFloors = map[string]float64{
	model.KindDBPool:    0.1,   // waiting acquirers (seconds waited per second)
	model.KindRedisPool: 0.1,   // waiting callers
	model.KindRedis:     1,     // blocked clients
	model.KindCPU:       0.25,  // throttled fraction of CFS periods
	model.KindHostCPU:   0.25,  // PSI: tasks waiting for a CPU
	model.KindMemory:    1,     // major page faults or limit hits per second
	model.KindGoRuntime: 0.005, // seconds of p99 scheduling latency
}

// ErrNoLoad is returned by Analyze when the observations hold no requests:
// no stage with requests and no series point with throughput.
var ErrNoLoad = errors.New("no load in the window: no stage or series point has requests")

// ErrBadOptions is returned, wrapped with the field at fault, for options
// out of range.
var ErrBadOptions = errors.New("invalid analysis options")

// Options tune Analyze. The zero value means the defaults.
type Options struct {
	// SLOP95 is the p95 latency limit; default 800ms.
	SLOP95 time.Duration
	// MaxErrorRate is the error-rate limit, a fraction in (0, 1]; default 0.05.
	MaxErrorRate float64
	// SaturationUtilization is the share of its limit at which a resource
	// counts as saturated, in (0, 1]; default 0.90.
	SaturationUtilization float64
	// SaturationFloors override DefaultSaturationFloors by kind.
	SaturationFloors map[string]float64
	// SoakMinDuration is the shortest constant-load stage checked for
	// drift; default 10m.
	SoakMinDuration time.Duration
	// SlowestEndpoints is how many endpoints are attributed; default 5.
	SlowestEndpoints int
	// TrendAlpha is the significance level of trend tests (queueing growth,
	// drift); default 0.01.
	TrendAlpha float64
}

func (o *Options) defaults() error {
	switch {
	case o.SLOP95 < 0:
		return fmt.Errorf("SLOP95 %s is negative: %w", o.SLOP95, ErrBadOptions)
	case o.SLOP95 == 0:
		o.SLOP95 = DefaultSLOP95
	}
	switch {
	case math.IsNaN(o.MaxErrorRate) || o.MaxErrorRate < 0 || o.MaxErrorRate > 1:
		return fmt.Errorf("MaxErrorRate %v is not a fraction between 0 and 1: %w", o.MaxErrorRate, ErrBadOptions)
	case o.MaxErrorRate == 0:
		o.MaxErrorRate = DefaultMaxErrorRate
	}
	switch {
	case math.IsNaN(o.SaturationUtilization) || o.SaturationUtilization < 0 || o.SaturationUtilization > 1:
		return fmt.Errorf("SaturationUtilization %v is not a fraction between 0 and 1: %w", o.SaturationUtilization, ErrBadOptions)
	case o.SaturationUtilization == 0:
		o.SaturationUtilization = DefaultSaturationUtilization
	}
	floors := make(map[string]float64, len(DefaultSaturationFloors)+len(o.SaturationFloors))
	for k, v := range DefaultSaturationFloors {
		floors[k] = v
	}
	for k, v := range o.SaturationFloors {
		if math.IsNaN(v) || v < 0 {
			return fmt.Errorf("SaturationFloors[%s] %v is negative: %w", k, v, ErrBadOptions)
		}
		floors[k] = v
	}
	o.SaturationFloors = floors
	switch {
	case o.SoakMinDuration < 0:
		return fmt.Errorf("SoakMinDuration %s is negative: %w", o.SoakMinDuration, ErrBadOptions)
	case o.SoakMinDuration == 0:
		o.SoakMinDuration = DefaultSoakMinDuration
	}
	switch {
	case o.SlowestEndpoints < 0:
		return fmt.Errorf("SlowestEndpoints %d is negative: %w", o.SlowestEndpoints, ErrBadOptions)
	case o.SlowestEndpoints == 0:
		o.SlowestEndpoints = DefaultSlowestEndpoints
	}
	switch {
	case math.IsNaN(o.TrendAlpha) || o.TrendAlpha < 0 || o.TrendAlpha >= 1:
		return fmt.Errorf("TrendAlpha %v is not a probability below 1: %w", o.TrendAlpha, ErrBadOptions)
	case o.TrendAlpha == 0:
		o.TrendAlpha = DefaultTrendAlpha
	}
	return nil
}

// Analyze turns what the collector observed over a window into an
// Analysis: the stage table, each breaking criterion and the earliest of
// them, the USL fit and knee of throughput against concurrency, the
// bottleneck among the detected resources with the others ranked, the
// slowest endpoints with the resource that best explains their latency,
// and soak drift warnings. It does no I/O and does not modify obs.
func Analyze(obs model.Observations, opts Options) (model.Analysis, error) {
	if err := opts.defaults(); err != nil {
		return model.Analysis{}, err
	}
	a := newAnalysis(&obs, opts)
	if !a.hasLoad() {
		return model.Analysis{}, ErrNoLoad
	}
	a.stageTable()
	a.breakingPoints()
	a.resources()
	a.corroborate()
	a.endpointAttribution()
	a.drift()
	a.dataWarnings()
	a.verdict()
	return a.out, nil
}

// loadAxis is the quantity that drives load in a run.
type loadAxis int

const (
	axisVUs    loadAxis = iota // closed model: VUs
	axisTarget                 // open model: offered arrival rate
	axisRPS                    // production or unknown: completed throughput
)

// analysis is the working state of one Analyze call.
type analysis struct {
	obs  *model.Observations
	opts Options
	out  model.Analysis
	// pts are the load points in time order: the series when it has
	// enough points with throughput, else one point per stage.
	pts []model.LoadPoint
	// fromStages is true when pts were made from stages.
	fromStages bool
	axis       loadAxis
	stepSec    float64
	// brk is the chosen breaking point (nil when nothing broke).
	brk *model.BreakingPoint
	// peak is the load point of the highest sustained throughput.
	peak model.LoadPoint
	// res holds per-resource working state in obs.Resources order.
	res []*resourceState
	// plat is the saturation plateau (or open-model overload) when one was
	// found; shedding is true when a throughput plateau came with errors
	// instead of queueing (the service sheds load).
	plat     *plateau
	shedding bool
	// retroFall is the relative fall of throughput past its peak when the
	// retrograde test found one.
	retroFall float64
	// retroFromPlateau is true when the plateau search found the fall
	// (plateauBreak returned a retrograde breaking point).
	retroFromPlateau bool
	// disagree lists, for the verdict, signals that contradict each other.
	disagree []string
	// noise caches goodputNoise.
	noise *float64
}

func newAnalysis(obs *model.Observations, opts Options) *analysis {
	a := &analysis{obs: obs, opts: opts, stepSec: obs.StepMs / 1000}
	a.out = model.Analysis{
		RunID:      obs.RunID,
		Scenario:   obs.Scenario,
		Window:     model.Window{Start: obs.Start, End: obs.End},
		LoadModel:  obs.LoadModel,
		LoadSource: obs.LoadSource,
		SLO: model.SLO{
			P95Ms:        float64(opts.SLOP95) / float64(time.Millisecond),
			MaxErrorRate: opts.MaxErrorRate,
		},
		Options: &model.AnalysisOptions{
			SLOP95Ms:              float64(opts.SLOP95) / float64(time.Millisecond),
			MaxErrorRate:          opts.MaxErrorRate,
			SaturationUtilization: opts.SaturationUtilization,
			SaturationFloors:      maps.Clone(opts.SaturationFloors),
			StepMs:                obs.StepMs,
			TrendAlpha:            opts.TrendAlpha,
			SoakMinDurationMs:     float64(opts.SoakMinDuration) / float64(time.Millisecond),
			SlowestEndpoints:      opts.SlowestEndpoints,
		},
		BreakingPoints: []model.BreakingPoint{},
		Resources:      []model.ResourceAnalysis{},
	}
	if a.out.LoadModel == "" {
		a.out.LoadModel = model.LoadUnknown
	}
	for _, m := range obs.Missing {
		m.LookedFor = slices.Clone(m.LookedFor)
		a.out.Missing = append(a.out.Missing, m)
	}

	// Series points in time order, copied.
	var series []model.LoadPoint
	for _, p := range obs.Series {
		if p.RPS > 0 && finite(p.RPS) {
			series = append(series, p)
		}
	}
	sort.SliceStable(series, func(i, j int) bool { return series[i].Time.Before(series[j].Time) })
	if len(series) >= 3 {
		a.pts = series
	} else {
		a.pts = stagePoints(obs.Stages)
		a.fromStages = len(a.pts) > 0
		if a.fromStages {
			a.note("the load series has fewer than 3 points with throughput, so the analysis uses one point per stage")
		}
	}

	maxVUs, maxTarget := 0.0, 0.0
	for _, p := range a.pts {
		maxVUs = math.Max(maxVUs, nz(p.VUs))
		maxTarget = math.Max(maxTarget, nz(p.TargetRate))
	}
	switch {
	case obs.LoadModel == model.LoadClosed && maxVUs > 0:
		a.axis = axisVUs
	case obs.LoadModel == model.LoadOpen && maxTarget > 0:
		a.axis = axisTarget
	case obs.LoadModel == model.LoadUnknown || obs.LoadModel == "":
		a.axis = axisRPS
	case maxVUs > 0 && obs.LoadModel != model.LoadOpen:
		a.axis = axisVUs
	default:
		a.axis = axisRPS
	}
	return a
}

// stagePoints makes one load point per stage, at the stage's middle.
func stagePoints(stages []model.StageObservation) []model.LoadPoint {
	var pts []model.LoadPoint
	for _, s := range stages {
		d := s.End.Sub(s.Start).Seconds()
		if d <= 0 || s.Requests <= 0 {
			continue
		}
		p := model.LoadPoint{
			Time:       s.Start.Add(s.End.Sub(s.Start) / 2),
			Stage:      s.Name,
			VUs:        s.VUs,
			RPS:        s.Requests / d,
			TargetRate: s.TargetRate,
			P50Ms:      BucketQuantile(0.50, s.Buckets) * 1000,
			P95Ms:      BucketQuantile(0.95, s.Buckets) * 1000,
			P99Ms:      BucketQuantile(0.99, s.Buckets) * 1000,
			MeanMs:     math.NaN(),
			ErrorRate:  s.Errors / s.Requests,
			InFlight:   math.NaN(),
		}
		if s.Dropped > 0 {
			p.DroppedRate = s.Dropped / d
		}
		if c := bucketsCount(s.Buckets); c > 0 {
			p.MeanMs = s.SumSeconds / c * 1000
			p.InFlight = p.RPS * s.SumSeconds / c
		}
		pts = append(pts, p)
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
	return pts
}

func (a *analysis) hasLoad() bool {
	for _, s := range a.obs.Stages {
		if s.Requests > 0 {
			return true
		}
	}
	return len(a.pts) > 0
}

func (a *analysis) note(format string, args ...any) {
	a.out.Notes = append(a.out.Notes, fmt.Sprintf(format, args...))
}

func (a *analysis) warn(w model.Warning) { a.out.Warnings = append(a.out.Warnings, w) }

// key is a load point's position on the load axis.
func (a *analysis) key(p model.LoadPoint) float64 {
	switch a.axis {
	case axisVUs:
		return nz(p.VUs)
	case axisTarget:
		if p.TargetRate > 0 {
			return p.TargetRate
		}
	}
	return nz(p.RPS)
}

// bpKey is a breaking point's position on the load axis.
func (a *analysis) bpKey(b model.BreakingPoint) float64 {
	return a.key(model.LoadPoint{VUs: b.VUs, RPS: b.RPS, TargetRate: b.TargetRate})
}

// axisUnit names the load axis' unit for "per" phrases.
func (a *analysis) axisUnit() string {
	switch a.axis {
	case axisVUs:
		return "VU"
	case axisTarget:
		return "iteration/s"
	}
	return "RPS"
}

// loadAt interpolates the load points linearly in time at t. It is false
// when t lies outside the points' span by more than half a step.
func (a *analysis) loadAt(t time.Time) (model.LoadPoint, bool) {
	pts := a.pts
	if len(pts) == 0 {
		return model.LoadPoint{}, false
	}
	slack := time.Duration(a.stepSec * float64(time.Second) / 2)
	if a.fromStages {
		// Stage points stand for their whole stage.
		for _, s := range a.obs.Stages {
			if !t.Before(s.Start) && !t.After(s.End) {
				for _, p := range pts {
					if p.Stage == s.Name {
						return p, true
					}
				}
			}
		}
	}
	i := sort.Search(len(pts), func(i int) bool { return !pts[i].Time.Before(t) })
	switch {
	case i == len(pts):
		if t.Sub(pts[len(pts)-1].Time) <= slack {
			return pts[len(pts)-1], true
		}
		return model.LoadPoint{}, false
	case pts[i].Time.Equal(t):
		return pts[i], true
	case i == 0:
		if pts[0].Time.Sub(t) <= slack {
			return pts[0], true
		}
		return model.LoadPoint{}, false
	}
	p0, p1 := pts[i-1], pts[i]
	f := float64(t.Sub(p0.Time)) / float64(p1.Time.Sub(p0.Time))
	return lerpPoint(p0, p1, f), true
}

// lerpPoint interpolates two load points; f = 0 gives p0, 1 gives p1.
func lerpPoint(p0, p1 model.LoadPoint, f float64) model.LoadPoint {
	l := func(x, y float64) float64 {
		switch {
		case math.IsNaN(x):
			return y
		case math.IsNaN(y):
			return x
		}
		return x + (y-x)*f
	}
	p := model.LoadPoint{
		Time:       p0.Time.Add(time.Duration(float64(p1.Time.Sub(p0.Time)) * f)),
		Stage:      p1.Stage,
		VUs:        l(p0.VUs, p1.VUs),
		RPS:        l(p0.RPS, p1.RPS),
		TargetRate: l(p0.TargetRate, p1.TargetRate),
		P50Ms:      l(p0.P50Ms, p1.P50Ms),
		P95Ms:      l(p0.P95Ms, p1.P95Ms),
		P99Ms:      l(p0.P99Ms, p1.P99Ms),
		MeanMs:     l(p0.MeanMs, p1.MeanMs),
		ErrorRate:  l(p0.ErrorRate, p1.ErrorRate),
		InFlight:   l(p0.InFlight, p1.InFlight),
		// DroppedRate is 0 when none were dropped, never NaN.
		DroppedRate: nz(p0.DroppedRate) + (nz(p1.DroppedRate)-nz(p0.DroppedRate))*f,
	}
	if f < 0.5 {
		p.Stage = p0.Stage
	}
	return p
}

// dataWarnings reports problems with the data itself.
func (a *analysis) dataWarnings() {
	o := a.obs
	for _, w := range ShardWarnings(*o, o.ShardDetails) {
		a.warn(w)
	}
	if n := len(a.pts); n > 0 && n < 6 {
		a.warn(model.Warning{
			Kind:    "few_points",
			Message: fmt.Sprintf("only %d load points: breaking points and fits are uncertain; run longer or with more stages", n),
		})
	}
}

// ---- statistics helpers ----

// trend fits y = α + βx by least squares (gonum stat.LinearRegression) and
// tests β ≠ 0 with the usual t statistic β / se(β), se(β)² =
// (SSE/(n−2)) / Σ(x−x̄)², on n − 2 degrees of freedom.
func trend(xs, ys []float64, per string) model.Trend {
	t := model.Trend{Per: per, Points: len(xs), PValue: 1}
	n := len(xs)
	if n < 3 || n != len(ys) {
		return t
	}
	alpha, beta := stat.LinearRegression(xs, ys, nil, false)
	if !finite(alpha) || !finite(beta) {
		return t
	}
	t.Intercept, t.Slope = alpha, beta
	mx := stat.Mean(xs, nil)
	sxx, sse, sst := 0.0, 0.0, 0.0
	my := stat.Mean(ys, nil)
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		r := ys[i] - alpha - beta*xs[i]
		sse += r * r
		sst += (ys[i] - my) * (ys[i] - my)
	}
	if sst > 0 {
		t.R2 = math.Max(0, 1-sse/sst)
	}
	if sxx <= 0 {
		t.Slope, t.Intercept = 0, my
		return t
	}
	df := float64(n - 2)
	se := math.Sqrt(sse / df / sxx)
	switch {
	case se == 0 && beta != 0:
		t.PValue = 0
	case se > 0:
		tt := math.Abs(beta / se)
		t.PValue = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(tt)
	}
	return t
}

// median returns the median of xs (NaN for none); xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// mad is the median absolute deviation scaled by 1.4826, a robust estimate
// of the standard deviation of normal data (Rousseeuw & Croux 1993).
func mad(xs []float64) float64 {
	m := median(xs)
	d := make([]float64, len(xs))
	for i, x := range xs {
		d[i] = math.Abs(x - m)
	}
	return 1.4826 * median(d)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// nz returns v, or 0 when v is NaN or infinite.
func nz(v float64) float64 {
	if !finite(v) {
		return 0
	}
	return v
}

func ptr[T any](v T) *T { return &v }

// fnum formats a number for sentences: thousands separators for large
// values, three significant digits for small ones.
func fnum(v float64) string {
	if !finite(v) {
		return "?"
	}
	av := math.Abs(v)
	switch {
	case av >= 1000:
		s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		if neg {
			return "-" + b.String()
		}
		return b.String()
	case av >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case av >= 10:
		return trimZeros(strconv.FormatFloat(v, 'f', 1, 64))
	case av == 0:
		return "0"
	case av >= 0.01:
		return trimZeros(strconv.FormatFloat(v, 'f', 2, 64))
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// fms formats milliseconds: "850 ms", "1.2 s".
func fms(ms float64) string {
	if ms >= 1000 {
		return trimZeros(strconv.FormatFloat(ms/1000, 'f', 2, 64)) + " s"
	}
	return fnum(ms) + " ms"
}

// fpct formats a fraction as a whole percentage ("41%"), with one decimal
// below 10%.
func fpct(f float64) string {
	p := f * 100
	if math.Abs(p) < 10 && p != 0 {
		return trimZeros(strconv.FormatFloat(p, 'f', 1, 64)) + "%"
	}
	return strconv.FormatFloat(math.Round(p), 'f', 0, 64) + "%"
}

// fp formats a p-value: "p = 0.032", "p < 0.0001".
func fp(p float64) string {
	if p < 0.0001 {
		return "p < 0.0001"
	}
	return "p = " + strconv.FormatFloat(p, 'g', 2, 64)
}
