package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// Chart IDs.
const (
	ChartLoadOverTime = "load_over_time"
	ChartThroughput   = "throughput"
	ChartLatency      = "latency"
	ChartErrors       = "errors"
	// ChartResourcePrefix starts each resource chart's ID, followed by
	// KIND/FAMILY; ChartResources names the group when it is skipped.
	ChartResourcePrefix = "resource:"
	ChartResources      = "resources"
)

// maxLineBins bounds the points of a median line drawn through a scatter.
const maxLineBins = 24

// uslSamples is the number of points the USL curve is drawn with.
const uslSamples = 96

// Where the load points come from.
const (
	fromObservations = "observations"
	fromRun          = "run"
	fromStages       = "stages"
)

// charts builds every chart the input has data for, in page order, and
// says why the others are missing.
func charts(in model.ReportInput) ([]model.Chart, []model.SkippedChart) {
	a := in.Analysis
	pts, from := loadPoints(in)
	ax := pickLoadAxis(a, pts)
	var out []model.Chart
	var skipped []model.SkippedChart
	skip := func(id, title, reason string) {
		skipped = append(skipped, model.SkippedChart{ID: id, Title: title, Reason: reason})
	}
	if len(pts) == 0 {
		reason := "the analysis has no load: no series and no stage with requests"
		for _, c := range []struct{ id, title string }{
			{ChartLoadOverTime, "Load over time"}, {ChartThroughput, "Throughput against concurrency"},
			{ChartLatency, "Latency against load"}, {ChartErrors, "Error rate against load"},
		} {
			skip(c.id, c.title, reason)
		}
	} else {
		if from == fromStages {
			skip(ChartLoadOverTime, "Load over time", "no time series at hand (neither the observations nor run.json): the load charts show one point per stage")
		} else {
			out = append(out, loadOverTime(a, pts))
		}
		out = append(out, throughput(a, pts, ax, from), latency(a, pts, ax, from), errorRate(a, pts, ax, from))
	}
	switch {
	case len(a.Resources) == 0:
		reason := "no resource was detected in the metrics"
		if len(a.Missing) > 0 {
			reason += " (see Not measured for what was looked for)"
		}
		skip(ChartResources, "Resources against load", reason)
	case in.Observations == nil:
		skip(ChartResources, "Resources against load", "the resource series are not at hand: pass the observations the analysis was made from to draw each resource against load")
	default:
		rc, rs := resourceCharts(in, pts, ax)
		out = append(out, rc...)
		skipped = append(skipped, rs...)
	}
	return out, skipped
}

// loadPoints returns the load curve at the best resolution at hand: the
// observations' series, else run.json's, else one point per stage.
func loadPoints(in model.ReportInput) ([]model.LoadPoint, string) {
	var pts []model.LoadPoint
	if o := in.Observations; o != nil && len(o.Series) > 0 {
		for _, p := range o.Series {
			if finite(p.RPS) {
				pts = append(pts, p)
			}
		}
		if len(pts) > 0 {
			sortByTime(pts)
			return pts, fromObservations
		}
	}
	if r := in.Run; r != nil && len(r.Series) > 0 {
		for _, s := range r.Series {
			p := model.LoadPoint{
				Time: s.Time, Stage: s.Stage, VUs: float64(s.VUs), RPS: s.RPS,
				P50Ms: s.P50Ms, P95Ms: s.P95Ms, P99Ms: s.P99Ms, MeanMs: s.MeanMs,
				ErrorRate: s.ErrorRate, InFlight: s.RPS * s.MeanMs / 1000,
			}
			if s.Requests == 0 {
				// run.json writes 0 for an interval without requests: no
				// latency was measured, so none is drawn.
				p.P50Ms, p.P95Ms, p.P99Ms, p.MeanMs, p.ErrorRate, p.InFlight = nan, nan, nan, nan, nan, nan
			}
			pts = append(pts, p)
		}
		sortByTime(pts)
		return pts, fromRun
	}
	for _, s := range in.Analysis.Stages {
		if s.Requests <= 0 || !finite(s.RPS) {
			continue
		}
		pts = append(pts, model.LoadPoint{
			Time: s.Start.Add(s.End.Sub(s.Start) / 2), Stage: s.Name,
			VUs: float64(s.VUs), RPS: s.RPS, TargetRate: s.TargetRate,
			P50Ms: s.P50Ms, P95Ms: s.P95Ms, P99Ms: s.P99Ms, MeanMs: s.MeanMs,
			ErrorRate: s.ErrorRate, InFlight: s.RPS * s.MeanMs / 1000,
		})
	}
	sortByTime(pts)
	return pts, fromStages
}

var nan = math.NaN()

func sortByTime(pts []model.LoadPoint) {
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
}

// loadAxis is the x axis of the load charts: the load the analysis judged
// the system by — VUs in a closed-model run, the offered arrival rate in an
// open-model one, and the throughput otherwise.
type loadAxis struct {
	kind  string // vus, target or rps
	label string
	unit  string
}

func pickLoadAxis(a *model.Analysis, pts []model.LoadPoint) loadAxis {
	maxVUs, maxTarget := 0.0, 0.0
	for _, p := range pts {
		if finite(p.VUs) {
			maxVUs = math.Max(maxVUs, p.VUs)
		}
		if finite(p.TargetRate) {
			maxTarget = math.Max(maxTarget, p.TargetRate)
		}
	}
	switch {
	case a.LoadModel == model.LoadClosed && maxVUs > 0:
		return loadAxis{kind: "vus", label: "Load (virtual users)", unit: model.UnitVUs}
	case a.LoadModel == model.LoadOpen && maxTarget > 0:
		return loadAxis{kind: "target", label: "Offered load (iterations/s)", unit: "iterations/s"}
	}
	return loadAxis{kind: "rps", label: "Load (requests/s)", unit: model.UnitRPS}
}

func (l loadAxis) of(p model.LoadPoint) float64 {
	switch l.kind {
	case "vus":
		return p.VUs
	case "target":
		return p.TargetRate
	}
	return p.RPS
}

// atTime is the load at t, interpolated between the two points around it.
func (l loadAxis) atTime(pts []model.LoadPoint, t time.Time) (float64, bool) {
	i := sort.Search(len(pts), func(i int) bool { return !pts[i].Time.Before(t) })
	switch {
	case len(pts) == 0:
		return 0, false
	case i == 0:
		return l.of(pts[0]), finite(l.of(pts[0]))
	case i == len(pts):
		return l.of(pts[i-1]), finite(l.of(pts[i-1]))
	}
	p0, p1 := pts[i-1], pts[i]
	x0, x1 := l.of(p0), l.of(p1)
	d := p1.Time.Sub(p0.Time).Seconds()
	if d <= 0 {
		return x1, finite(x1)
	}
	f := t.Sub(p0.Time).Seconds() / d
	v := x0 + f*(x1-x0)
	return v, finite(v)
}

// ofBreak is a breaking point's load on this axis.
func (l loadAxis) ofBreak(bp *model.BreakingPoint, pts []model.LoadPoint) (float64, bool) {
	switch {
	case l.kind == "vus" && bp.VUs > 0:
		return bp.VUs, true
	case l.kind == "target" && bp.TargetRate > 0:
		return bp.TargetRate, true
	case l.kind == "rps":
		return bp.RPS, bp.RPS > 0
	case bp.Time != nil:
		return l.atTime(pts, *bp.Time)
	}
	return 0, false
}

// ofSaturation is the load a resource saturated at, on this axis.
func (l loadAxis) ofSaturation(r *model.ResourceAnalysis, pts []model.LoadPoint) (float64, bool) {
	switch {
	case l.kind == "vus" && r.SaturatedAtVUs != nil:
		return *r.SaturatedAtVUs, true
	case l.kind == "rps" && r.SaturatedAtRPS != nil:
		return *r.SaturatedAtRPS, true
	case r.SaturatedAt != nil:
		return l.atTime(pts, *r.SaturatedAt)
	}
	return 0, false
}

// breakMarker is the vertical line of the system's breaking point.
func breakMarker(a *model.Analysis, pts []model.LoadPoint, l loadAxis) []model.ChartMarker {
	bp := a.BreakingPoint
	if bp == nil {
		return nil
	}
	x, ok := l.ofBreak(bp, pts)
	if !ok {
		return nil
	}
	return []model.ChartMarker{{Kind: model.MarkerX, Role: "break", X: round(x), Label: "breaks at " + bpLoad(bp)}}
}

func loadOverTime(a *model.Analysis, pts []model.LoadPoint) model.Chart {
	t0 := a.Window.Start
	if t0.IsZero() {
		t0 = pts[0].Time
	}
	sec := func(t time.Time) float64 { return round(t.Sub(t0).Seconds()) }
	c := model.Chart{
		ID:      ChartLoadOverTime,
		Title:   "Load over time",
		Caption: "Throughput and the load that drove it over the run, with the stage boundaries.",
		X:       model.ChartAxis{Label: "Time since start", Unit: model.UnitSeconds},
		Y:       model.ChartAxis{Label: "Throughput (requests/s)", Unit: model.UnitRPS},
	}
	rps := model.ChartSeries{Name: "throughput (RPS)", Kind: model.SeriesLine, Role: "rps"}
	load := model.ChartSeries{Kind: model.SeriesLine, Role: "vus", Axis: "y2"}
	for _, p := range pts {
		x := sec(p.Time)
		rps.Points = append(rps.Points, [2]float64{x, round(p.RPS)})
		switch {
		case a.LoadModel == model.LoadClosed && finite(p.VUs):
			load.Points = append(load.Points, [2]float64{x, round(p.VUs)})
		case a.LoadModel == model.LoadOpen && finite(p.TargetRate) && p.TargetRate > 0:
			load.Points = append(load.Points, [2]float64{x, round(p.TargetRate)})
		}
	}
	c.Series = append(c.Series, rps)
	if len(load.Points) > 0 {
		if a.LoadModel == model.LoadClosed {
			load.Name = "virtual users"
			c.Y2 = &model.ChartAxis{Label: "Virtual users", Unit: model.UnitVUs}
		} else {
			load.Name = "offered rate (iterations/s)"
			c.Y2 = &model.ChartAxis{Label: "Offered rate (iterations/s)", Unit: "iterations/s"}
		}
		c.Series = append(c.Series, load)
	}
	for i, s := range a.Stages {
		if s.Start.IsZero() {
			continue
		}
		x := sec(s.Start)
		if i == 0 && x <= 0 {
			x = 0
		}
		c.Markers = append(c.Markers, model.ChartMarker{Kind: model.MarkerX, Role: "stage", X: x, Label: s.Name})
	}
	if bp := a.BreakingPoint; bp != nil && bp.Time != nil {
		c.Markers = append(c.Markers, model.ChartMarker{Kind: model.MarkerX, Role: "break", X: sec(*bp.Time), Label: "breaks"})
	}
	return c
}

// concurrencyOf is USL's N for a point: VUs, or requests in flight.
func concurrencyOf(a *model.Analysis, l loadAxis) (func(model.LoadPoint) float64, model.ChartAxis) {
	inFlight := a.Concurrency == "in_flight" || (a.Concurrency == "" && l.kind != "vus")
	if inFlight {
		return func(p model.LoadPoint) float64 { return p.InFlight },
			model.ChartAxis{Label: "Concurrency (requests in flight, Little's law)", Unit: "requests"}
	}
	return func(p model.LoadPoint) float64 { return p.VUs }, model.ChartAxis{Label: "Concurrency (virtual users)", Unit: model.UnitVUs}
}

func throughput(a *model.Analysis, pts []model.LoadPoint, l loadAxis, from string) model.Chart {
	nOf, xAxis := concurrencyOf(a, l)
	c := model.Chart{
		ID:    ChartThroughput,
		Title: "Throughput against concurrency",
		X:     xAxis,
		Y:     model.ChartAxis{Label: "Successful requests/s", Unit: model.UnitRPS},
	}
	meas := model.ChartSeries{Name: "measured", Kind: model.SeriesPoints, Role: "measured"}
	maxN := 0.0
	for _, p := range pts {
		n := nOf(p)
		good := p.RPS
		if finite(p.ErrorRate) {
			good *= 1 - p.ErrorRate
		}
		if !finite(n) || !finite(good) || n <= 0 {
			continue
		}
		maxN = math.Max(maxN, n)
		meas.Points = append(meas.Points, [2]float64{round(n), round(good)})
	}
	c.Series = append(c.Series, meas)
	caption := []string{"Successful throughput at each level of concurrency" + fromNote(from) + "."}
	if u := a.USL; u != nil && maxN > 0 {
		hi := maxN
		if u.PeakN != nil && *u.PeakN > hi {
			hi = math.Min(*u.PeakN*1.15, 2*maxN)
		}
		fit := model.ChartSeries{Name: fmt.Sprintf("USL fit (R² %.3f)", u.R2), Kind: model.SeriesLine, Role: "fit"}
		for i := 0; i <= uslSamples; i++ {
			n := hi * float64(i) / uslSamples
			x := u.Throughput(n)
			if finite(x) {
				fit.Points = append(fit.Points, [2]float64{round(n), round(x)})
			}
		}
		c.Series = append(c.Series, fit)
		if u.PeakN != nil && u.PeakX != nil && *u.PeakN <= hi {
			c.Markers = append(c.Markers, model.ChartMarker{Kind: model.MarkerX, Role: "peak", X: round(*u.PeakN),
				Label: fmt.Sprintf("N* = %s → %s RPS", fmtCount(*u.PeakN), fmtRPS(*u.PeakX))})
			caption = append(caption, fmt.Sprintf("The Universal Scalability Law fit (σ = %.3g, κ = %.3g) peaks at N* = %s.", u.Sigma, u.Kappa, fmtCount(*u.PeakN)))
		} else if u.PeakN != nil {
			caption = append(caption, fmt.Sprintf("The Universal Scalability Law fit peaks at N* = %s, beyond the chart.", fmtCount(*u.PeakN)))
		} else {
			caption = append(caption, "The Universal Scalability Law fit has no peak: throughput does not fall within the model.")
		}
	} else if a.USLError != "" {
		caption = append(caption, "No USL curve: "+a.USLError+".")
	}
	if k := a.Knee; k != nil {
		c.Markers = append(c.Markers, model.ChartMarker{Kind: model.MarkerPoint, Role: "knee", X: round(k.X), Y: round(k.Y), Label: "knee"})
	}
	if bp := a.BreakingPoint; bp != nil {
		n := bp.Concurrency
		if n == 0 {
			n = bp.VUs
		}
		if n > 0 {
			c.Markers = append(c.Markers, model.ChartMarker{Kind: model.MarkerPoint, Role: "break", X: round(n), Y: round(bp.RPS), Label: "breaking point"})
		}
	}
	c.Caption = strings.Join(caption, " ")
	return c
}

func latency(a *model.Analysis, pts []model.LoadPoint, l loadAxis, from string) model.Chart {
	c := model.Chart{
		ID:    ChartLatency,
		Title: "Latency against load",
		X:     model.ChartAxis{Label: l.label, Unit: l.unit},
		Y:     model.ChartAxis{Label: "Latency (ms)", Unit: model.UnitMs},
	}
	rising := risingMask(pts, l)
	for _, q := range []struct {
		name string
		of   func(model.LoadPoint) float64
	}{
		{"p50", func(p model.LoadPoint) float64 { return p.P50Ms }},
		{"p95", func(p model.LoadPoint) float64 { return p.P95Ms }},
		{"p99", func(p model.LoadPoint) float64 { return p.P99Ms }},
	} {
		dots, line := scatterWithLine(pts, rising, l.of, q.of, 1000)
		c.Series = append(c.Series,
			model.ChartSeries{Name: q.name, Kind: model.SeriesPoints, Role: q.name, Points: dots},
			model.ChartSeries{Name: q.name, Kind: model.SeriesLine, Role: q.name, Points: line})
	}
	if a.SLO.P95Ms > 0 {
		c.Markers = append(c.Markers, model.ChartMarker{Kind: model.MarkerY, Role: "slo", Y: a.SLO.P95Ms, Label: "p95 SLO " + fmtMs(a.SLO.P95Ms)})
	}
	c.Markers = append(c.Markers, breakMarker(a, pts, l)...)
	for i := range a.BreakingPoints {
		bp := &a.BreakingPoints[i]
		if bp.Reason != model.ReasonLatencySLO {
			continue
		}
		if x, ok := l.ofBreak(bp, pts); ok {
			c.Markers = append(c.Markers, model.ChartMarker{Kind: model.MarkerPoint, Role: "slo", X: round(x), Y: round(bp.Value), Label: "p95 crosses the SLO"})
		}
		break
	}
	c.Caption = "p50, p95 and p99 latency as load grows" + fromNote(from) + "."
	return c
}

func errorRate(a *model.Analysis, pts []model.LoadPoint, l loadAxis, from string) model.Chart {
	c := model.Chart{
		ID:    ChartErrors,
		Title: "Error rate against load",
		X:     model.ChartAxis{Label: l.label, Unit: l.unit},
		Y:     model.ChartAxis{Label: "Error rate", Unit: model.UnitRatio},
	}
	dots, line := scatterWithLine(pts, risingMask(pts, l), l.of, func(p model.LoadPoint) float64 { return p.ErrorRate }, 1e6)
	c.Series = append(c.Series,
		model.ChartSeries{Name: "error rate", Kind: model.SeriesPoints, Role: "errors", Points: dots},
		model.ChartSeries{Name: "error rate", Kind: model.SeriesLine, Role: "errors", Points: line})
	if a.SLO.MaxErrorRate > 0 {
		c.Markers = append(c.Markers, model.ChartMarker{Kind: model.MarkerY, Role: "slo", Y: a.SLO.MaxErrorRate, Label: "limit " + fmtPct(a.SLO.MaxErrorRate)})
	}
	c.Markers = append(c.Markers, breakMarker(a, pts, l)...)
	peak := 0.0
	for _, p := range dots {
		peak = math.Max(peak, p[1])
	}
	if peak == 0 {
		c.Caption = "Failed requests (status ≥ 400 or transport errors) as a share of all requests" + fromNote(from) + ": none failed."
	} else {
		c.Caption = fmt.Sprintf("Failed requests (status ≥ 400 or transport errors) as a share of all requests%s: at most %s.", fromNote(from), fmtPct(peak))
	}
	return c
}

// resourceCharts draws each detected resource, in the analysis's ranking,
// against load: its utilization (or, without a known limit, its usage) and
// its queueing on a right-hand axis.
func resourceCharts(in model.ReportInput, pts []model.LoadPoint, l loadAxis) ([]model.Chart, []model.SkippedChart) {
	a, o := in.Analysis, in.Observations
	tol := 5 * time.Second
	if o.StepMs > 0 {
		tol = time.Duration(o.StepMs * float64(time.Millisecond))
	}
	rising := risingMask(pts, l)
	var out []model.Chart
	var skipped []model.SkippedChart
	for i := range a.Resources {
		r := &a.Resources[i]
		id := ChartResourcePrefix + r.Kind + "/" + r.Family
		title := r.Name + " against load"
		var obs *model.ResourceObservation
		for j := range o.Resources {
			if o.Resources[j].Kind == r.Kind && o.Resources[j].Family == r.Family {
				obs = &o.Resources[j]
				break
			}
		}
		if obs == nil || len(obs.Points) == 0 {
			skipped = append(skipped, model.SkippedChart{ID: id, Title: title, Reason: "the observations hold no points for " + r.Name + " (" + r.Family + ")"})
			continue
		}
		hasLimit, hasSat := false, false
		for _, p := range obs.Points {
			hasLimit = hasLimit || (p.HasLimit && p.Limit > 0)
			hasSat = hasSat || p.HasSaturation
		}
		c := model.Chart{ID: id, Title: title, X: model.ChartAxis{Label: l.label, Unit: l.unit}}
		main := model.ChartSeries{Kind: model.SeriesPoints, Role: "utilization"}
		sat := model.ChartSeries{Kind: model.SeriesPoints, Role: "queueing", Axis: "y2"}
		if hasLimit {
			c.Y = model.ChartAxis{Label: "Utilization (usage / limit)", Unit: model.UnitRatio}
			main.Name = "utilization"
		} else {
			unit := orDefault(r.Unit, obs.Unit)
			c.Y = model.ChartAxis{Label: "Usage" + parenthesized(unit), Unit: unit}
			main.Name = "usage"
		}
		if hasSat {
			unit := orDefault(r.SaturationUnit, obs.SaturationUnit)
			c.Y2 = &model.ChartAxis{Label: "Queueing" + parenthesized(unit), Unit: unit}
			sat.Name = "queueing"
		}
		// Bytes are drawn in MiB or GiB.
		scale := 1.0
		if !hasLimit && c.Y.Unit == "bytes" {
			scale, c.Y.Unit = 1.0/(1<<20), "MiB"
			for _, p := range obs.Points {
				if p.Usage >= 10*(1<<30) {
					scale, c.Y.Unit = 1.0/(1<<30), "GiB"
					break
				}
			}
			c.Y.Label = "Usage (" + c.Y.Unit + ")"
		}
		var mainX, mainY, satX, satY, lineX, lineY, satLX, satLY []float64
		for _, p := range obs.Points {
			li, ok := nearest(pts, p.Time, tol)
			if !ok {
				continue
			}
			x := l.of(pts[li])
			if !finite(x) {
				continue
			}
			v := p.Usage * scale
			if hasLimit {
				v = math.NaN()
				if p.HasLimit && p.Limit > 0 {
					v = p.Utilization
				}
			}
			if finite(v) {
				mainX, mainY = append(mainX, x), append(mainY, v)
				if rising[li] {
					lineX, lineY = append(lineX, x), append(lineY, v)
				}
			}
			if hasSat && p.HasSaturation && finite(p.Saturation) {
				satX, satY = append(satX, x), append(satY, p.Saturation)
				if rising[li] {
					satLX, satLY = append(satLX, x), append(satLY, p.Saturation)
				}
			}
		}
		if len(mainX) == 0 && len(satX) == 0 {
			skipped = append(skipped, model.SkippedChart{ID: id, Title: title, Reason: "no point of " + r.Name + " lines up in time with the load series"})
			continue
		}
		main.Points = pairs(mainX, mainY, 1e4)
		c.Series = append(c.Series, main, model.ChartSeries{Name: main.Name, Kind: model.SeriesLine, Role: main.Role, Points: medianLine(lineX, lineY, 1e4)})
		if hasSat {
			sat.Points = pairs(satX, satY, 1e4)
			c.Series = append(c.Series, sat, model.ChartSeries{Name: sat.Name, Kind: model.SeriesLine, Role: sat.Role, Axis: "y2", Points: medianLine(satLX, satLY, 1e4)})
		}
		if hasLimit {
			label := "limit"
			if r.Limit > 0 {
				label = "limit: " + fmtCount(r.Limit) + parenthesizedSpace(r.Unit)
			}
			c.Markers = append(c.Markers, model.ChartMarker{Kind: model.MarkerY, Role: "limit", Y: 1, Label: label})
		}
		if r.Saturated {
			if x, ok := l.ofSaturation(r, pts); ok {
				lbl := "saturated"
				if r.SaturatedAtRPS != nil {
					lbl += " at " + fmtRPS(*r.SaturatedAtRPS) + " RPS"
				}
				c.Markers = append(c.Markers, model.ChartMarker{Kind: model.MarkerX, Role: "saturation", X: round(x), Label: lbl})
			}
		}
		c.Markers = append(c.Markers, breakMarker(a, pts, l)...)
		c.Caption = resourceCaption(a, r, hasLimit, hasSat)
		out = append(out, c)
	}
	return out, skipped
}

func resourceCaption(a *model.Analysis, r *model.ResourceAnalysis, hasLimit, hasSat bool) string {
	var b strings.Builder
	if r.Rank == 1 && a.Bottleneck.Resource == r.Kind {
		b.WriteString("The bottleneck. ")
	}
	if hasLimit {
		b.WriteString("Share of its limit in use")
	} else {
		b.WriteString("Usage (no limit known)")
	}
	if hasSat {
		b.WriteString(", and work waiting for it (right-hand axis)")
	}
	b.WriteString(", measured by the " + r.Family + " metrics. ")
	if r.Saturated {
		b.WriteString("Saturated by " + strings.ReplaceAll(r.SaturatedBy, ",", " and "))
		if r.SaturatedAtRPS != nil {
			b.WriteString(" from " + fmtRPS(*r.SaturatedAtRPS) + " RPS")
		}
		b.WriteString(".")
	} else {
		b.WriteString("Not saturated.")
	}
	return b.String()
}

// nearest returns the index of the load point closest in time to t, within
// tol.
func nearest(pts []model.LoadPoint, t time.Time, tol time.Duration) (int, bool) {
	i := sort.Search(len(pts), func(i int) bool { return !pts[i].Time.Before(t) })
	best, bestD := -1, time.Duration(math.MaxInt64)
	for _, j := range []int{i - 1, i} {
		if j < 0 || j >= len(pts) {
			continue
		}
		d := pts[j].Time.Sub(t)
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = j, d
		}
	}
	if best < 0 || bestD > tol {
		return -1, false
	}
	return best, true
}

// risingMask marks the points of the rising and steady part of a run: a
// point whose load fell below 95% of the highest load so far (a ramp-down,
// where queues drain) is left out of the median lines.
func risingMask(pts []model.LoadPoint, l loadAxis) []bool {
	m := make([]bool, len(pts))
	hi := 0.0
	for i, p := range pts {
		x := l.of(p)
		if !finite(x) {
			continue
		}
		hi = math.Max(hi, x)
		m[i] = x >= 0.95*hi
	}
	return m
}

// scatterWithLine returns every finite (load, value) pair, and the median
// line through the pairs of the rising part. Values are rounded to 1/scale.
func scatterWithLine(pts []model.LoadPoint, rising []bool, xOf, yOf func(model.LoadPoint) float64, scale float64) (dots, line [][2]float64) {
	var xs, ys, lx, ly []float64
	for i, p := range pts {
		x, y := xOf(p), yOf(p)
		if !finite(x) || !finite(y) {
			continue
		}
		xs, ys = append(xs, x), append(ys, y)
		if rising[i] {
			lx, ly = append(lx, x), append(ly, y)
		}
	}
	return pairs(xs, ys, scale), medianLine(lx, ly, scale)
}

func pairs(xs, ys []float64, scale float64) [][2]float64 {
	out := make([][2]float64, len(xs))
	for i := range xs {
		out[i] = [2]float64{round(xs[i]), roundTo(ys[i], scale)}
	}
	return out
}

// medianLine sorts the pairs by x and gives the median x and y of each bin:
// each distinct x when there are few, else up to maxLineBins bins of equal
// width.
func medianLine(xs, ys []float64, scale float64) [][2]float64 {
	if len(xs) == 0 {
		return nil
	}
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	lo, hi := xs[idx[0]], xs[idx[len(idx)-1]]
	distinct := 1
	for i := 1; i < len(idx); i++ {
		if xs[idx[i]] != xs[idx[i-1]] {
			distinct++
		}
	}
	var bin func(x float64) int
	if distinct <= maxLineBins || hi == lo {
		rank := map[float64]int{}
		for _, i := range idx {
			if _, ok := rank[xs[i]]; !ok {
				rank[xs[i]] = len(rank)
			}
		}
		bin = func(x float64) int { return rank[x] }
	} else {
		w := (hi - lo) / maxLineBins
		bin = func(x float64) int { return min(maxLineBins-1, int((x-lo)/w)) }
	}
	var out [][2]float64
	for i := 0; i < len(idx); {
		b := bin(xs[idx[i]])
		j := i
		var bx, by []float64
		for j < len(idx) && bin(xs[idx[j]]) == b {
			bx, by = append(bx, xs[idx[j]]), append(by, ys[idx[j]])
			j++
		}
		out = append(out, [2]float64{round(median(bx)), roundTo(median(by), scale)})
		i = j
	}
	return out
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// round keeps three decimals: enough for any chart, and short JSON.
func round(v float64) float64 { return roundTo(v, 1000) }

func roundTo(v, scale float64) float64 { return math.Round(v*scale) / scale }

func fromNote(from string) string {
	switch from {
	case fromRun:
		return " (from run.json's series)"
	case fromStages:
		return " (one point per stage: no series at hand)"
	}
	return ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func parenthesized(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func parenthesizedSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}
