package analyzer

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/headroom-sh/headroom/model"
)

// Soak drift constants.
const (
	// soakWarmup is the share of a stage skipped before judging drift.
	soakWarmup = 0.10
	// soakConstantCV is the largest coefficient of variation of the load
	// for a stage to count as constant.
	soakConstantCV = 0.05
	// soakMinPoints is the fewest points a drift trend is fitted to.
	soakMinPoints = 6
	// latencyDriftMin is the smallest rise of p95 over a stage, relative to
	// its median, that is reported; latencyDriftMinMs the same in ms.
	latencyDriftMin   = 0.10
	latencyDriftMinMs = 5.0
	// usageDriftMin is the smallest growth of a resource's usage over a
	// stage, relative to its mean, that is reported.
	usageDriftMin = 0.05
	// lateErrorsMin is the smallest second-half error rate reported as
	// errors appearing late.
	lateErrorsMin = 0.001
)

// drift looks for slow trends in long stages of constant load: latency
// creeping up, memory or pool usage growing, queueing building up and
// errors appearing late. Each is reported as a warning with its slope.
func (a *analysis) drift() {
	if a.fromStages {
		return
	}
	for _, s := range a.obs.Stages {
		d := s.End.Sub(s.Start)
		if d < a.opts.SoakMinDuration {
			continue
		}
		from := s.Start.Add(time.Duration(float64(d) * soakWarmup))
		var pts []model.LoadPoint
		for _, p := range a.pts {
			if !p.Time.Before(from) && !p.Time.After(s.End) {
				pts = append(pts, p)
			}
		}
		if len(pts) < soakMinPoints || !a.constant(pts) {
			continue
		}
		a.latencyDrift(s, pts, from)
		a.lateErrors(s, pts)
		for _, st := range a.res {
			a.resourceDrift(s, st, from)
		}
	}
}

// constant reports whether the load of the points is constant: its
// coefficient of variation is below soakConstantCV.
func (a *analysis) constant(pts []model.LoadPoint) bool {
	var sum, sq float64
	for _, p := range pts {
		k := a.key(p)
		sum += k
		sq += k * k
	}
	n := float64(len(pts))
	mean := sum / n
	if mean <= 0 {
		return false
	}
	v := math.Max(0, sq/n-mean*mean)
	return math.Sqrt(v)/mean < soakConstantCV
}

func hoursSince(t, from time.Time) float64 { return t.Sub(from).Hours() }

func (a *analysis) latencyDrift(s model.StageObservation, pts []model.LoadPoint, from time.Time) {
	var xs, ys []float64
	for _, p := range pts {
		if finite(p.P95Ms) {
			xs = append(xs, hoursSince(p.Time, from))
			ys = append(ys, p.P95Ms)
		}
	}
	if len(xs) < soakMinPoints {
		return
	}
	tr := trend(xs, ys, "h")
	span := xs[len(xs)-1] - xs[0]
	rise := tr.Slope * span
	if !(tr.Slope > 0 && tr.PValue < a.opts.TrendAlpha && rise >= math.Max(latencyDriftMin*median(ys), latencyDriftMinMs)) {
		return
	}
	startV, endV := tr.Intercept+tr.Slope*xs[0], tr.Intercept+tr.Slope*xs[len(xs)-1]
	a.warn(model.Warning{
		Kind:  "latency_drift",
		Stage: s.Name,
		Message: fmt.Sprintf("p95 crept up at constant load in stage %q: from %s to %s over %s (+%s/h, %s)",
			s.Name, fms(startV), fms(endV), fmtHours(span), fms(tr.Slope), fp(tr.PValue)),
		Slope: tr.Slope, SlopeUnit: "ms/h", PValue: tr.PValue,
	})
}

// lateErrors compares the error rate of the stage's second half with its
// first half by a one-sided two-proportion z test (pooled variance).
func (a *analysis) lateErrors(s model.StageObservation, pts []model.LoadPoint) {
	mid := pts[0].Time.Add(pts[len(pts)-1].Time.Sub(pts[0].Time) / 2)
	step := a.stepSec
	var req, errs [2]float64
	for _, p := range pts {
		h := 0
		if p.Time.After(mid) {
			h = 1
		}
		n := nz(p.RPS)
		if step > 0 {
			n *= step
		}
		req[h] += n
		errs[h] += n * math.Min(1, nz(p.ErrorRate))
	}
	if req[0] <= 0 || req[1] <= 0 {
		return
	}
	r0, r1 := errs[0]/req[0], errs[1]/req[1]
	if !(r1 >= lateErrorsMin && r1 > 2*r0) {
		return
	}
	pool := (errs[0] + errs[1]) / (req[0] + req[1])
	se := math.Sqrt(pool * (1 - pool) * (1/req[0] + 1/req[1]))
	p := 1.0
	if se > 0 {
		p = distuv.UnitNormal.Survival((r1 - r0) / se)
	}
	if p >= a.opts.TrendAlpha {
		return
	}
	hours := pts[len(pts)-1].Time.Sub(pts[0].Time).Hours()
	slope := 0.0
	if hours > 0 {
		slope = (r1 - r0) / (hours / 2)
	}
	a.warn(model.Warning{
		Kind:  "late_errors",
		Stage: s.Name,
		Message: fmt.Sprintf("errors appeared late in stage %q at constant load: %s in the first half, %s in the second (%s)",
			s.Name, fpct(r0), fpct(r1), fp(p)),
		Slope: slope, SlopeUnit: "error rate/h", PValue: p,
	})
}

// resourceDrift reports usage growing at constant load (memory, pools,
// goroutines: leaks) and queueing building up.
func (a *analysis) resourceDrift(s model.StageObservation, st *resourceState, from time.Time) {
	fit := func(f func(model.ResourcePoint) (float64, bool)) (model.Trend, []float64, []float64, bool) {
		var xs, ys []float64
		for _, p := range st.pts {
			if p.Time.Before(from) || p.Time.After(s.End) {
				continue
			}
			if v, ok := f(p); ok {
				xs = append(xs, hoursSince(p.Time, from))
				ys = append(ys, v)
			}
		}
		if len(xs) < soakMinPoints {
			return model.Trend{}, nil, nil, false
		}
		return trend(xs, ys, "h"), xs, ys, true
	}
	kind := st.obs.Kind
	if kind != model.KindHTTPInflight {
		if tr, xs, ys, ok := fit(usageOf); ok {
			mean := 0.0
			for _, y := range ys {
				mean += y
			}
			mean /= float64(len(ys))
			span := xs[len(xs)-1] - xs[0]
			growth := tr.Slope * span
			if tr.Slope > 0 && tr.PValue < a.opts.TrendAlpha && mean > 0 && growth >= usageDriftMin*mean {
				w := model.Warning{
					Kind: "usage_drift", Stage: s.Name, Resource: kind,
					Slope: tr.Slope, SlopeUnit: orWord(st.obs.Unit, "units") + "/h", PValue: tr.PValue,
				}
				startV, endV := tr.Intercept+tr.Slope*xs[0], tr.Intercept+tr.Slope*xs[len(xs)-1]
				what := st.out.Name + " usage"
				if kind == model.KindMemory {
					w.Kind = "memory_growth"
					what = "resident memory"
				}
				w.Message = fmt.Sprintf("%s grew at constant load in stage %q: from %s to %s over %s (+%s/h, %s)",
					what, s.Name, fusage(startV, st.obs.Unit), fusage(endV, st.obs.Unit), fmtHours(span), fusage(tr.Slope, st.obs.Unit), fp(tr.PValue))
				if st.out.Limit > endV && tr.Slope > 0 {
					left := (st.out.Limit - endV) / tr.Slope
					w.Message += fmt.Sprintf("; at this rate it reaches its limit of %s in ~%s", fusage(st.out.Limit, st.obs.Unit), fmtHours(left))
				}
				a.warn(w)
			}
		}
	}
	if tr, xs, ys, ok := fit(satOf); ok {
		span := xs[len(xs)-1] - xs[0]
		rise := tr.Slope * span
		floor := a.opts.SaturationFloors[kind]
		if tr.Slope > 0 && tr.PValue < a.opts.TrendAlpha && rise > math.Max(floor, 3*mad(ys)) {
			a.warn(model.Warning{
				Kind: "saturation_drift", Stage: s.Name, Resource: kind,
				Message: fmt.Sprintf("%s queueing (%s) built up at constant load in stage %q: +%s over %s (+%s/h, %s)",
					st.out.Name, orWord(st.obs.SaturationUnit, "saturation"), s.Name, fnum(rise), fmtHours(span), fnum(tr.Slope), fp(tr.PValue)),
				Slope: tr.Slope, SlopeUnit: orWord(st.obs.SaturationUnit, "saturation") + "/h", PValue: tr.PValue,
			})
		}
	}
}

// fmtHours formats a number of hours as a duration.
func fmtHours(h float64) string {
	if !finite(h) || h < 0 {
		return "?"
	}
	if h > 24*365 {
		return "more than a year"
	}
	return model.FormatDuration(time.Duration(h * float64(time.Hour)).Round(time.Minute))
}
