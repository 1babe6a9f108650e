package analyzer

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// Attribution constants.
const (
	// minResourcePoints is the fewest aligned points a queueing trend or a
	// latency regression is computed on.
	minResourcePoints = 5
	// breakTolerance is how far past the breaking point (relative load) a
	// resource may saturate and still be blamed for it: the two are
	// interpolated from different series.
	breakTolerance = 0.05
	// tieTolerance is the relative load within which two resources count as
	// saturating together; then the root cause is preferred (rootOf).
	tieTolerance = 0.03
	// explainsMin is the least R² for a resource to be said to explain an
	// endpoint's latency.
	explainsMin = 0.5
	// latencyLinkHigh is the R² of p95 on a resource's signal that makes
	// the bottleneck's confidence high.
	latencyLinkHigh = 0.6
	// flatLatency is the p99 growth (peak / lightest stage) below which an
	// endpoint's latency is called flat.
	flatLatency = 1.2
)

// rootOf lists, for a kind, the kinds that saturating at the same load are
// more likely the cause: a client pool fills up because the server behind
// it is slow, goroutines pile up and wait to be scheduled because CPU is
// short, and requests in flight grow because anything is slow.
var rootOf = map[string][]string{
	model.KindDBPool:       {model.KindDBServerConnections, model.KindCPU, model.KindHostCPU},
	model.KindRedisPool:    {model.KindRedis, model.KindCPU, model.KindHostCPU},
	model.KindGoRuntime:    {model.KindCPU, model.KindHostCPU},
	model.KindHTTPInflight: {model.KindDBPool, model.KindDBServerConnections, model.KindRedis, model.KindRedisPool, model.KindCPU, model.KindHostCPU, model.KindMemory, model.KindGoRuntime},
	// When the host's CPU is full because the service's processes fill
	// it, the service's CPU is the better name for the cause.
	model.KindHostCPU: {model.KindCPU},
}

// resourceState is the working state of one resource.
type resourceState struct {
	obs   *model.ResourceObservation
	order int
	out   model.ResourceAnalysis
	// pts are the resource's points in time order.
	pts []model.ResourcePoint
	// onset is the load at which it saturated; onsetKey its position on
	// the load axis.
	onset    *model.LoadPoint
	onsetKey float64
	byUtil   bool
	byQueue  bool
	// utilOnset and queueOnset are the loads of each criterion.
	utilOnset, queueOnset *model.LoadPoint
	// base and top are the queueing levels at light and heavy load.
	base, top float64
	// hasQueue is true when the family measures queueing and it has points.
	hasQueue bool
	// explains is the R² of the overall p95 on the resource's signal.
	explains float64
	// contention says, for the host's CPU, that it saturated while the
	// service's own processes were nearly idle; empty otherwise.
	contention string
	// fullKey is the load where it was full (see fullPoint); rose is true
	// when goodput kept rising significantly beyond it, and notLimiting
	// when that makes it "saturated, not limiting" (see stillRising);
	// ceilingBy is the resource that saturated where throughput stopped.
	fullKey           float64
	rose, notLimiting bool
	ceilingBy         *resourceState
	stillRisingMsg    string
}

func utilOf(p model.ResourcePoint) (float64, bool) {
	return p.Utilization, p.HasLimit && p.Limit > 0 && finite(p.Utilization)
}

func satOf(p model.ResourcePoint) (float64, bool) {
	return p.Saturation, p.HasSaturation && finite(p.Saturation)
}

func usageOf(p model.ResourcePoint) (float64, bool) { return p.Usage, finite(p.Usage) }

func limitOf(p model.ResourcePoint) (float64, bool) {
	return p.Limit, p.HasLimit && p.Limit > 0 && finite(p.Limit)
}

// at interpolates a field of the resource linearly in time at t, between
// neighbouring points no further apart than 1.5 steps (gaps are not
// bridged); a point within half a step of t is used alone.
func (r *resourceState) at(t time.Time, step float64, field func(model.ResourcePoint) (float64, bool)) (float64, bool) {
	pts := r.pts
	i := sort.Search(len(pts), func(i int) bool { return !pts[i].Time.Before(t) })
	near := func(j int) (float64, bool) {
		if j < 0 || j >= len(pts) {
			return 0, false
		}
		if step > 0 && math.Abs(pts[j].Time.Sub(t).Seconds()) > step/2 {
			return 0, false
		}
		return field(pts[j])
	}
	if i < len(pts) && pts[i].Time.Equal(t) {
		return field(pts[i])
	}
	if i > 0 && i < len(pts) {
		p0, p1 := pts[i-1], pts[i]
		v0, ok0 := field(p0)
		v1, ok1 := field(p1)
		gap := p1.Time.Sub(p0.Time).Seconds()
		if ok0 && ok1 && (step <= 0 || gap <= 1.5*step) {
			f := t.Sub(p0.Time).Seconds() / gap
			return v0 + (v1-v0)*f, true
		}
	}
	if v, ok := near(i - 1); ok {
		return v, true
	}
	return near(i)
}

// resources aligns every detected resource to load, decides which
// saturated and when, names the bottleneck and ranks the rest.
func (a *analysis) resources() {
	for i := range a.obs.Resources {
		r := &a.obs.Resources[i]
		st := &resourceState{obs: r, order: i}
		st.pts = append([]model.ResourcePoint(nil), r.Points...)
		sort.SliceStable(st.pts, func(i, j int) bool { return st.pts[i].Time.Before(st.pts[j].Time) })
		st.out = model.ResourceAnalysis{
			Kind: r.Kind, Name: r.Name, Family: r.Family,
			Unit: r.Unit, SaturationUnit: r.SaturationUnit, LimitSource: r.LimitSource,
		}
		if st.out.Name == "" {
			st.out.Name = r.Kind
		}
		a.measure(st)
		a.res = append(a.res, st)
	}
	a.stillRising()
	a.blame()
	a.hostContention()
	a.rank()
	for _, st := range a.res {
		st.out.Evidence = a.resourceEvidence(st)
		a.out.Resources = append(a.out.Resources, st.out)
	}
	sort.SliceStable(a.out.Resources, func(i, j int) bool { return a.out.Resources[i].Rank < a.out.Resources[j].Rank })
}

// measure computes a resource's figures and whether, and from which load,
// it saturated.
func (a *analysis) measure(st *resourceState) {
	o := &st.out
	maxU, maxUsage, maxSat, maxLim := math.Inf(-1), math.Inf(-1), math.Inf(-1), 0.0
	for _, p := range st.pts {
		if u, ok := utilOf(p); ok {
			maxU = math.Max(maxU, u)
		}
		if v, ok := usageOf(p); ok {
			maxUsage = math.Max(maxUsage, v)
		}
		if s, ok := satOf(p); ok {
			maxSat = math.Max(maxSat, s)
			st.hasQueue = true
		}
		if l, ok := limitOf(p); ok {
			maxLim = math.Max(maxLim, l)
		}
	}
	if finite(maxU) {
		o.MaxUtilization = ptr(maxU)
	}
	if finite(maxUsage) {
		o.MaxUsage = maxUsage
	}
	if finite(maxSat) {
		o.MaxSaturation = ptr(maxSat)
	}
	o.Limit = maxLim
	if len(st.pts) == 0 {
		o.Notes = append(o.Notes, "no points in the window")
		return
	}

	// Load at every point; points outside the load's span are not judged.
	loads := make([]model.LoadPoint, len(st.pts))
	okLoad := make([]bool, len(st.pts))
	for i, p := range st.pts {
		loads[i], okLoad[i] = a.loadAt(p.Time)
	}
	onsetAt := func(ci crossIdx) *model.LoadPoint {
		t := st.pts[ci.at].Time
		if ci.prev >= 0 {
			t0 := st.pts[ci.prev].Time
			t = t0.Add(time.Duration(float64(t.Sub(t0)) * ci.f))
		}
		if lp, ok := a.loadAt(t); ok {
			lp.Time = t
			return &lp
		}
		lp := loads[ci.at]
		return &lp
	}

	// Utilization: the first sustained reach of the threshold.
	thr := a.opts.SaturationUtilization
	if ci, ok := crossIndex(len(st.pts), thr-1e-9, true, func(i int) (float64, bool) {
		u, ok := utilOf(st.pts[i])
		return u, ok && okLoad[i]
	}); ok {
		st.byUtil = true
		st.utilOnset = onsetAt(ci)
	}

	// Queueing: does the wait grow with load, and from where?
	if st.hasQueue {
		var xs, ys []float64
		for i, p := range st.pts {
			if s, ok := satOf(p); ok && okLoad[i] {
				xs = append(xs, a.key(loads[i]))
				ys = append(ys, s)
			}
		}
		if len(xs) >= minResourcePoints {
			tr := trend(xs, ys, "per "+a.axisUnit())
			lo, hi := quartileSplit(xs, ys)
			st.base, st.top = median(lo), median(hi)
			noise := mad(lo)
			floor := a.opts.SaturationFloors[st.obs.Kind]
			level := math.Max(floor, 3*noise)
			rise := st.top - st.base
			tr.Growing = tr.Slope > 0 && tr.PValue < a.opts.TrendAlpha && rise > level && rise > 0
			o.SaturationTrend = &tr
			if tr.Growing {
				if ci, ok := crossIndex(len(st.pts), st.base+level, true, func(i int) (float64, bool) {
					s, ok := satOf(st.pts[i])
					return s, ok && okLoad[i]
				}); ok {
					st.byQueue = true
					st.queueOnset = onsetAt(ci)
				}
			}
		} else {
			o.Notes = append(o.Notes, fmt.Sprintf("only %d queueing points aligned with load: too few to test for growth", len(xs)))
		}
	}

	// The earlier criterion is the onset.
	var by []string
	for _, c := range []struct {
		on   bool
		lp   *model.LoadPoint
		name string
	}{{st.byUtil, st.utilOnset, model.SaturatedByUtilization}, {st.byQueue, st.queueOnset, model.SaturatedByQueueing}} {
		if !c.on {
			continue
		}
		by = append(by, c.name)
		if st.onset == nil || a.key(*c.lp) < st.onsetKey {
			st.onset, st.onsetKey = c.lp, a.key(*c.lp)
		}
	}
	if st.onset != nil {
		o.Saturated = true
		o.SaturatedBy = strings.Join(by, ",")
		o.SaturatedAtRPS = ptr(nz(st.onset.RPS))
		if st.onset.VUs > 0 {
			o.SaturatedAtVUs = ptr(st.onset.VUs)
		}
		t := st.onset.Time
		o.SaturatedAt = &t
	}

	// Figures at the breaking point and at peak load.
	step := a.stepSec
	if a.brk != nil && a.brk.Time != nil {
		if u, ok := st.at(*a.brk.Time, step, utilOf); ok {
			o.UtilizationAtBreak = ptr(u)
		}
		if v, ok := st.at(*a.brk.Time, step, usageOf); ok {
			o.UsageAtBreak = ptr(v)
		}
		if s, ok := st.at(*a.brk.Time, step, satOf); ok {
			o.SaturationAtBreak = ptr(s)
		}
	}
	if !a.peak.Time.IsZero() {
		if u, ok := st.at(a.peak.Time, step, utilOf); ok {
			o.UtilizationAtPeak = ptr(u)
		}
	}

	// How much of the overall p95's variation the resource explains.
	sig := satOf
	if !st.hasQueue || (o.SaturationTrend != nil && !o.SaturationTrend.Growing && o.MaxUtilization != nil) {
		sig = utilOf
	}
	if r2, ok := a.explain(st, sig, func(p model.LoadPoint) float64 { return p.P95Ms }, a.pts); ok {
		st.explains = r2
		o.ExplainsP95 = ptr(r2)
	}
}

// quartileSplit returns the ys whose x lies in the lowest and in the
// highest quarter of the xs (at least two points each).
func quartileSplit(xs, ys []float64) (lo, hi []float64) {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	q := max(2, len(xs)/4)
	for _, i := range idx[:q] {
		lo = append(lo, ys[i])
	}
	for _, i := range idx[len(idx)-q:] {
		hi = append(hi, ys[i])
	}
	return lo, hi
}

// explain regresses a latency (ms) of the load points on a resource signal
// aligned in time and returns R² when the slope is positive.
func (a *analysis) explain(st *resourceState, sig func(model.ResourcePoint) (float64, bool), lat func(model.LoadPoint) float64, pts []model.LoadPoint) (float64, bool) {
	var xs, ys []float64
	for _, p := range pts {
		y := lat(p)
		if !finite(y) {
			continue
		}
		x, ok := st.at(p.Time, a.stepSec, sig)
		if !ok || !finite(x) {
			continue
		}
		xs = append(xs, x)
		ys = append(ys, y)
	}
	if len(xs) < minResourcePoints {
		return 0, false
	}
	tr := trend(xs, ys, "")
	if !(tr.Slope > 0) {
		return 0, true
	}
	return tr.R2, true
}

// blame picks the bottleneck: among resources that saturated at or before
// the breaking point (within breakTolerance), the one that saturated at the
// lowest load; resources saturating together (within tieTolerance) yield
// to their root cause, then to utilization-based saturation, then to the
// higher utilization at the breaking point.
func (a *analysis) blame() {
	bn := &a.out.Bottleneck
	if a.brk != nil {
		bn.BreakingRPS, bn.BreakingVUs = a.brk.RPS, a.brk.VUs
	}
	var cands, later, notLimiting []*resourceState
	for _, st := range a.res {
		if st.onset == nil {
			continue
		}
		if st.notLimiting {
			notLimiting = append(notLimiting, st)
			continue
		}
		if a.brk != nil && st.onsetKey > a.blameUpTo() {
			later = append(later, st)
			continue
		}
		cands = append(cands, st)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].onsetKey < cands[j].onsetKey })
	if len(cands) == 0 {
		a.unknownBottleneck(later, notLimiting)
		return
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if c.onsetKey > best.onsetKey*(1+tieTolerance) {
			break
		}
		if preferred(c, best) {
			best = c
		}
	}
	// The host's CPU fills up before the service's own CPU reaches the
	// threshold when the service uses most of the host: when both
	// saturated by the breaking point, the service's CPU is the cause.
	if best.obs.Kind == model.KindHostCPU {
		for _, c := range cands {
			if c.obs.Kind == model.KindCPU {
				best = c
			}
		}
	}
	bn.Resource, bn.Name, bn.Family = best.obs.Kind, best.out.Name, best.obs.Family
	bn.SaturatedAtRPS = ptr(nz(best.onset.RPS))
	if best.onset.VUs > 0 {
		bn.SaturatedAtVUs = ptr(best.onset.VUs)
	}
	t := best.onset.Time
	bn.SaturatedAt = &t
	best.out.Rank = 1

	// Confidence: both criteria or a strong latency link, no rival.
	both := best.byUtil && best.byQueue
	onlyOne := (best.byUtil && !best.hasQueue) || (best.byQueue && best.out.MaxUtilization == nil)
	conf := model.ConfidenceMedium
	if both || best.explains >= latencyLinkHigh || (onlyOne && best.explains >= explainsMin) {
		conf = model.ConfidenceHigh
	}
	for _, c := range cands {
		if c != best && c.onsetKey <= best.onsetKey*(1+tieTolerance) {
			conf = model.ConfidenceMedium
		}
	}
	if a.brk != nil && best.onsetKey > a.bpKey(*a.brk) {
		conf = model.ConfidenceLow
	}
	bn.Confidence = conf

	bn.Evidence = a.bottleneckEvidence(best, cands)
	a.contend(best)
}

// preferred reports whether c should be blamed instead of best when both
// saturated at about the same load.
func preferred(c, best *resourceState) bool {
	for _, k := range rootOf[best.obs.Kind] {
		if k == c.obs.Kind {
			return true
		}
	}
	for _, k := range rootOf[c.obs.Kind] {
		if k == best.obs.Kind {
			return false
		}
	}
	if c.byUtil != best.byUtil {
		return c.byUtil
	}
	cu, bu := nzp(c.out.UtilizationAtBreak), nzp(best.out.UtilizationAtBreak)
	if cu != bu {
		return cu > bu
	}
	return c.onsetKey < best.onsetKey
}

func nzp(p *float64) float64 {
	if p == nil {
		return 0
	}
	return nz(*p)
}

// unknownBottleneck explains why no resource is blamed.
func (a *analysis) unknownBottleneck(later, notLimiting []*resourceState) {
	bn := &a.out.Bottleneck
	bn.Confidence = model.ConfidenceLow
	var looked []string
	for _, m := range a.out.Missing {
		looked = append(looked, m.LookedFor...)
	}
	if len(a.res) == 0 {
		bn.Resource = model.BottleneckUnknown
		bn.LookedFor = looked
		bn.Evidence = "unknown — no resource metrics were found; add exporters"
		if len(looked) > 0 {
			bn.Evidence += ": looked for " + strings.Join(looked, ", ")
		}
		if c := a.candidatesPhrase(); c != "" {
			bn.Evidence += "; " + c
		}
		return
	}
	var parts []string
	if a.brk != nil {
		bn.Resource = model.BottleneckUnknown
		parts = append(parts, fmt.Sprintf("the system broke at %s (%s) but no measured resource saturated at or before that load", a.loadPhrase(*a.brk), a.brk.Reason))
	} else {
		bn.Resource = model.BottleneckNone
		parts = append(parts, fmt.Sprintf("nothing broke and no measured resource saturated up to %s RPS", fnum(a.out.TestedUpToRPS)))
	}
	if busy := a.busiest(nil, 3); busy != "" {
		parts = append(parts, "highest utilization: "+busy)
	}
	for _, st := range later {
		parts = append(parts, fmt.Sprintf("%s saturated later, at %s", st.out.Name, loadPhrase(st.onset.VUs, st.onset.RPS, st.onset.TargetRate, a.axis)))
	}
	for _, st := range notLimiting {
		parts = append(parts, fmt.Sprintf("%s saturated at %s but is not limiting: goodput kept rising from %s to %s RPS after it was full",
			st.out.Name, a.onsetPhrase(st), fnum(*st.out.GoodputAtSaturationRPS), fnum(*st.out.GoodputAfterRPS)))
	}
	if a.brk != nil && len(looked) > 0 {
		bn.LookedFor = looked
		parts = append(parts, "the limit may be in something not measured; add exporters: looked for "+strings.Join(looked, ", "))
	}
	if c := a.candidatesPhrase(); c != "" && bn.Resource == model.BottleneckUnknown {
		parts = append(parts, c)
	}
	if e := a.suspectExperiment(notLimiting); e != nil && bn.Resource == model.BottleneckUnknown {
		bn.Experiment = e
	}
	bn.Evidence = strings.Join(parts, "; ")
}

// candidatesPhrase names the metrics seen that look like a resource the
// catalog did not find, with how to declare them: "metrics that look like
// a DB connection pool were seen (shop_db_connections_in_use, …): declare
// them with --catalog (the snippet is under Not measured)".
func (a *analysis) candidatesPhrase() string {
	var parts []string
	for _, m := range a.out.Missing {
		if len(m.Candidates) == 0 {
			continue
		}
		names := m.Candidates
		if len(names) > 3 {
			names = append(append([]string(nil), names[:3]...), "…")
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", orWord(m.Name, m.Kind), strings.Join(names, ", ")))
	}
	if len(parts) == 0 {
		return ""
	}
	return "metrics that look like " + strings.Join(parts, " and ") + " were seen but no catalog family reads them: declare them with --catalog FILE (the analysis's missing resources carry a snippet)"
}

// processIdleShare is the utilization of the service's own CPU below which
// a saturated host is said to be busy with something else.
const processIdleShare = 0.5

// hostContention says when the host's CPU saturated while the service's
// own processes used little of theirs: something else on the machine (a
// database sharing it, another service) takes the CPU. It adds the finding
// to the host CPU's evidence, to the bottleneck's when the host CPU is
// blamed, and as a warning.
func (a *analysis) hostContention() {
	var host, proc *resourceState
	for _, st := range a.res {
		switch st.obs.Kind {
		case model.KindHostCPU:
			host = st
		case model.KindCPU:
			proc = st
		}
	}
	if host == nil || host.onset == nil {
		return
	}
	hostU, ok := host.at(host.onset.Time, a.stepSec, utilOf)
	if !ok {
		hostU = a.opts.SaturationUtilization
	}
	var msg string
	if proc == nil {
		msg = fmt.Sprintf("the host's CPU was at %s from %s, and the service's own CPU is not measured: if the service is not what uses it, something else on the host does",
			fpct(hostU), a.onsetPhrase(host))
	} else {
		u, okU := proc.at(host.onset.Time, a.stepSec, utilOf)
		use, okUse := proc.at(host.onset.Time, a.stepSec, usageOf)
		if !okU && !okUse {
			return
		}
		if okU && u >= processIdleShare {
			return
		}
		what := fmt.Sprintf("%s cores", fnum(use))
		if okU {
			what = fmt.Sprintf("%s of its %s", fpct(u), fusage(proc.out.Limit, proc.out.Unit))
		}
		msg = fmt.Sprintf("the host's CPU was saturated (%s) from %s while the service's own processes used only %s: something else on the host takes the CPU, such as a database sharing the machine",
			fpct(hostU), a.onsetPhrase(host), what)
	}
	host.contention = msg
	a.warn(model.Warning{Kind: "host_cpu_contention", Resource: model.KindHostCPU, Message: msg})
	if a.out.Bottleneck.Resource == model.KindHostCPU {
		a.out.Bottleneck.Evidence += "; " + msg
	}
}

func (a *analysis) onsetPhrase(st *resourceState) string {
	return loadPhrase(st.onset.VUs, st.onset.RPS, st.onset.TargetRate, a.axis)
}

// busiest lists up to n resources other than skip by utilization at the
// breaking point (else at peak load): "CPU 41%, DB connection pool 30%".
func (a *analysis) busiest(skip *resourceState, n int) string {
	type ru struct {
		name string
		u    float64
	}
	var rs []ru
	for _, st := range a.res {
		if st == skip {
			continue
		}
		u := st.out.UtilizationAtBreak
		if u == nil {
			u = st.out.UtilizationAtPeak
		}
		if u != nil {
			rs = append(rs, ru{st.out.Name, *u})
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].u > rs[j].u })
	var parts []string
	for i, r := range rs {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s", r.name, fpct(r.u)))
	}
	return strings.Join(parts, ", ")
}

// bottleneckEvidence writes why the bottleneck is blamed, with numbers.
func (a *analysis) bottleneckEvidence(best *resourceState, cands []*resourceState) string {
	var parts []string
	parts = append(parts, a.saturationPhrases(best)...)
	if a.brk != nil {
		parts = append(parts, a.brk.Evidence)
	} else {
		parts = append(parts, fmt.Sprintf("nothing broke up to %s RPS", fnum(a.out.TestedUpToRPS)))
	}
	// Other resources at the load where the bottleneck saturated.
	var others []string
	for _, st := range a.res {
		if st == best {
			continue
		}
		if u, ok := st.at(best.onset.Time, a.stepSec, utilOf); ok {
			others = append(others, fmt.Sprintf("%s %s", st.out.Name, fpct(u)))
		}
	}
	if len(others) > 0 {
		if len(others) > 3 {
			others = others[:3]
		}
		parts = append(parts, strings.Join(others, ", ")+" at that load")
	}
	if best.explains > 0 {
		parts = append(parts, fmt.Sprintf("its %s explains %s of the p95's variation", signalName(best), fpct(best.explains)))
	}
	return strings.Join(parts, "; ")
}

func signalName(st *resourceState) string {
	if st.hasQueue && !(st.out.SaturationTrend != nil && !st.out.SaturationTrend.Growing && st.out.MaxUtilization != nil) {
		return "queueing"
	}
	return "utilization"
}

// saturationPhrases say how a saturated resource saturated.
func (a *analysis) saturationPhrases(st *resourceState) []string {
	var parts []string
	o := st.out
	if st.byUtil {
		lp := st.utilOnset
		lim := fusage(o.Limit, o.Unit)
		if o.LimitSource != "" && o.LimitSource != "catalog" {
			lim += ", " + o.LimitSource
		}
		s := fmt.Sprintf("%s reached %s of its limit (%s) at %s", familyOrName(st), fpct(a.opts.SaturationUtilization), lim, loadPhrase(lp.VUs, lp.RPS, lp.TargetRate, a.axis))
		if o.UsageAtBreak != nil && o.Limit > 0 {
			s += fmt.Sprintf(", %s/%s in use at the breaking point", fnum(*o.UsageAtBreak), fusage(o.Limit, o.Unit))
		} else if o.MaxUtilization != nil {
			s += fmt.Sprintf(", %s at most", fpct(*o.MaxUtilization))
		}
		parts = append(parts, s)
	}
	if st.byQueue && o.SaturationTrend != nil {
		lp := st.queueOnset
		top := st.top
		if o.SaturationAtBreak != nil {
			top = *o.SaturationAtBreak
		}
		parts = append(parts, fmt.Sprintf("queueing (%s) rose from %s to %s, starting at %s (+%s per %s)",
			orWord(o.SaturationUnit, "saturation"), fnum(st.base), fnum(top), loadPhrase(lp.VUs, lp.RPS, lp.TargetRate, a.axis),
			fnum(o.SaturationTrend.Slope), a.axisUnit()))
	}
	return parts
}

func familyOrName(st *resourceState) string {
	if st.obs.Family != "" {
		return st.obs.Family
	}
	return st.out.Name
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fusage formats an amount of a resource in its unit.
func fusage(v float64, unit string) string {
	if unit == "bytes" {
		return fbytes(v)
	}
	s := fnum(v)
	if unit != "" {
		if s == "1" {
			unit = strings.TrimSuffix(unit, "s")
		}
		s += " " + unit
	}
	return s
}

func fbytes(v float64) string {
	const k = 1024.0
	switch {
	case math.Abs(v) >= k*k*k:
		return fnum(v/(k*k*k)) + " GiB"
	case math.Abs(v) >= k*k:
		return fnum(v/(k*k)) + " MiB"
	case math.Abs(v) >= k:
		return fnum(v/k) + " KiB"
	}
	return fnum(v) + " B"
}

// rank orders the resources: the bottleneck, then the other saturated ones
// by the load they saturated at, then the rest by utilization at the
// breaking point (at peak load when nothing broke), then those without a
// limit in catalog order.
func (a *analysis) rank() {
	rs := append([]*resourceState(nil), a.res...)
	util := func(st *resourceState) (float64, bool) {
		if st.out.UtilizationAtBreak != nil {
			return *st.out.UtilizationAtBreak, true
		}
		if st.out.UtilizationAtPeak != nil {
			return *st.out.UtilizationAtPeak, true
		}
		if st.out.MaxUtilization != nil {
			return *st.out.MaxUtilization, true
		}
		return 0, false
	}
	sort.SliceStable(rs, func(i, j int) bool {
		x, y := rs[i], rs[j]
		if (x.out.Rank == 1) != (y.out.Rank == 1) {
			return x.out.Rank == 1
		}
		if (x.onset != nil) != (y.onset != nil) {
			return x.onset != nil
		}
		if x.onset != nil && x.onsetKey != y.onsetKey {
			return x.onsetKey < y.onsetKey
		}
		ux, okx := util(x)
		uy, oky := util(y)
		if okx != oky {
			return okx
		}
		if ux != uy {
			return ux > uy
		}
		return x.order < y.order
	})
	for i, st := range rs {
		st.out.Rank = i + 1
	}
}

// resourceEvidence describes one resource with numbers.
func (a *analysis) resourceEvidence(st *resourceState) string {
	o := st.out
	var parts []string
	if o.Saturated {
		parts = append(parts, a.saturationPhrases(st)...)
		if st.contention != "" {
			parts = append(parts, st.contention)
		}
		if st.stillRisingMsg != "" {
			parts = append(parts, strings.TrimPrefix(st.stillRisingMsg, "a saturated resource but throughput still rising: "))
		}
	} else {
		switch {
		case o.MaxUtilization == nil:
			parts = append(parts, fmt.Sprintf("no limit known, so no utilization; usage up to %s", fusage(o.MaxUsage, o.Unit)))
		case o.UtilizationAtBreak != nil:
			parts = append(parts, fmt.Sprintf("%s of %s at the breaking point (%s at most)", fpct(*o.UtilizationAtBreak), fusage(o.Limit, o.Unit), fpct(*o.MaxUtilization)))
		case o.UtilizationAtPeak != nil:
			parts = append(parts, fmt.Sprintf("%s of %s at the highest load (%s at most)", fpct(*o.UtilizationAtPeak), fusage(o.Limit, o.Unit), fpct(*o.MaxUtilization)))
		default:
			parts = append(parts, fmt.Sprintf("%s of %s at most", fpct(*o.MaxUtilization), fusage(o.Limit, o.Unit)))
		}
		if tr := o.SaturationTrend; tr != nil {
			parts = append(parts, fmt.Sprintf("queueing (%s) flat: %s at light load, %s at heavy load", orWord(o.SaturationUnit, "saturation"), fnum(st.base), fnum(st.top)))
		} else if !st.hasQueue {
			parts = append(parts, "no queueing measure")
		}
		parts = append(parts, "not saturated")
	}
	return strings.Join(parts, "; ")
}

// endpointAttribution lists the slowest endpoints at peak load and, for
// each, the resource whose queueing or utilization best explains its p95
// over time (the largest R² of a positive-slope regression).
func (a *analysis) endpointAttribution() {
	stages := a.out.Stages
	if len(stages) == 0 {
		return
	}
	peak, light := 0, -1
	for i, s := range stages {
		if s.RPS > stages[peak].RPS {
			peak = i
		}
	}
	ps := stages[peak]
	rows := append([]model.EndpointStats(nil), ps.Endpoints...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].P99Ms > rows[j].P99Ms })
	if len(rows) > a.opts.SlowestEndpoints {
		rows = rows[:a.opts.SlowestEndpoints]
	}
	series := map[string][]model.LoadPoint{}
	for _, es := range a.obs.EndpointSeries {
		pts := append([]model.LoadPoint(nil), es.Points...)
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].Time.Before(pts[j].Time) })
		series[es.Endpoint] = pts
	}
	for _, r := range rows {
		if r.Requests == 0 {
			continue
		}
		att := model.EndpointAttribution{Endpoint: r.Endpoint, Stage: ps.Name, RPS: r.RPS, P95Ms: r.P95Ms, P99Ms: r.P99Ms}
		light = -1
		for i, s := range stages {
			for _, e := range s.Endpoints {
				if e.Endpoint == r.Endpoint && e.Requests > 0 && (light < 0 || s.RPS < stages[light].RPS) {
					light = i
					att.BaselineP99Ms = e.P99Ms
				}
			}
		}
		pts := series[r.Endpoint]
		// Growth must be material both relatively and in milliseconds: a
		// sub-millisecond endpoint going from 0.3 to 0.5 ms grew by two
		// thirds, but nothing queued for it.
		material := att.BaselineP99Ms <= 0 || att.P99Ms-att.BaselineP99Ms >= a.minGrowthMs()
		grew := att.BaselineP99Ms <= 0 || att.P99Ms >= flatLatency*att.BaselineP99Ms
		var ts, ys []float64
		for _, p := range pts {
			if finite(p.P95Ms) {
				ts = append(ts, p.Time.Sub(a.obs.Start).Seconds())
				ys = append(ys, p.P95Ms)
			}
		}
		if len(ys) >= 3 {
			if tr := trend(ts, ys, "per second"); tr.Slope > 0 && tr.PValue < a.opts.TrendAlpha {
				grew = true
			}
		}
		// Over time, as load rose: the last third of the endpoint's p95
		// materially above its first. A smooth ramp recorded as one stage
		// shows its growth only here.
		if len(ys) >= 2 {
			k := max(1, len(ys)/3)
			lo, hi := median(ys[:k]), median(ys[len(ys)-k:])
			if hi >= flatLatency*lo && hi-lo >= a.minGrowthMs() {
				grew, material = true, true
			}
		}
		switch {
		case !grew:
			att.Evidence = fmt.Sprintf("%s: latency flat (p99 %s at peak, %s at the lightest load); nothing to attribute", r.Endpoint, fms(att.P99Ms), fms(att.BaselineP99Ms))
		case !material:
			att.Evidence = fmt.Sprintf("%s: latency flat (p99 %s at peak, %s at the lightest load: less than %s more); nothing to attribute", r.Endpoint, fms(att.P99Ms), fms(att.BaselineP99Ms), fms(a.minGrowthMs()))
		case len(pts) < minResourcePoints:
			att.Evidence = fmt.Sprintf("%s: p99 %s at peak (%s at the lightest load); no per-endpoint series to attribute it", r.Endpoint, fms(att.P99Ms), fms(att.BaselineP99Ms))
		case len(a.res) == 0:
			att.Evidence = fmt.Sprintf("%s: p99 %s at peak (%s at the lightest load); no resource metrics to attribute it", r.Endpoint, fms(att.P99Ms), fms(att.BaselineP99Ms))
		default:
			a.attribute(&att, pts)
		}
		a.out.SlowestEndpoints = append(a.out.SlowestEndpoints, att)
	}
}

// minGrowthMs is the least growth of an endpoint's p99, in ms, that counts
// as its latency growing: 1% of the SLO, at least 2 ms.
func (a *analysis) minGrowthMs() float64 {
	return math.Max(2, 0.01*float64(a.opts.SLOP95)/float64(time.Millisecond))
}

// attribute finds the resource signal that best explains an endpoint's p95.
// Saturated resources that limit throughput are tried first, the
// bottleneck preferred when it explains nearly as much as the best (a
// busy but unsaturated resource rises with load too, and correlation alone
// would blame it); the others only when none of those explains it.
func (a *analysis) attribute(att *model.EndpointAttribution, pts []model.LoadPoint) {
	var limiting, saturated []*resourceState
	for _, st := range a.res {
		if st.onset != nil {
			saturated = append(saturated, st)
			if !st.notLimiting {
				limiting = append(limiting, st)
			}
		}
	}
	if len(limiting) > 0 && a.attributeAmong(att, pts, limiting, true) {
		return
	}
	if len(saturated) > len(limiting) && a.attributeAmong(att, pts, saturated, true) {
		return
	}
	// Nothing saturated explains it: a resource that merely rises with
	// load correlates with any latency that does, so it is named as the
	// best correlate, not as the cause.
	a.attributeAmong(att, pts, a.res, false)
}

// bottleneckMargin is how much less of an endpoint's p95 the bottleneck
// may explain than the best resource and still be preferred.
const bottleneckMargin = 0.05

// attributeAmong attributes att to the best of rs and reports whether one
// explains at least explainsMin.
func (a *analysis) attributeAmong(att *model.EndpointAttribution, pts []model.LoadPoint, rs []*resourceState, blame bool) bool {
	type cand struct {
		st     *resourceState
		signal string
		r2     float64
	}
	var best, bn *cand
	for _, st := range rs {
		for _, s := range []struct {
			name string
			f    func(model.ResourcePoint) (float64, bool)
		}{{"saturation", satOf}, {"utilization", utilOf}} {
			r2, ok := a.explain(st, s.f, func(p model.LoadPoint) float64 { return p.P95Ms }, pts)
			if !ok {
				continue
			}
			if best == nil || r2 > best.r2+1e-12 {
				best = &cand{st, s.name, r2}
			}
			if st.out.Rank == 1 && st.obs.Kind == a.out.Bottleneck.Resource && (bn == nil || r2 > bn.r2+1e-12) {
				bn = &cand{st, s.name, r2}
			}
		}
	}
	if bn != nil && best != nil && bn.r2 >= explainsMin && bn.r2 >= best.r2-bottleneckMargin {
		best = bn
	}
	if best == nil || best.r2 < explainsMin || !blame {
		att.Evidence = fmt.Sprintf("%s: p99 %s at peak (%s at the lightest load); no saturated resource explains its latency", att.Endpoint, fms(att.P99Ms), fms(att.BaselineP99Ms))
		if best != nil && best.r2 > 0 {
			att.Evidence += fmt.Sprintf(" (best correlate: %s %s, %s, not saturated)", best.st.out.Name, signalWord(best.signal), fpct(best.r2))
			if best.st.onset != nil {
				att.Evidence = strings.Replace(att.Evidence, ", not saturated)", ")", 1)
			}
		}
		if best != nil {
			att.Explains = best.r2
		}
		return false
	}
	att.Resource, att.ResourceName, att.Signal, att.Explains = best.st.obs.Kind, best.st.out.Name, best.signal, best.r2
	att.Evidence = fmt.Sprintf("%s: %s %s explains %s of its p95 variation (p99 %s at peak, %s at the lightest load)",
		att.Endpoint, best.st.out.Name, signalWord(best.signal), fpct(best.r2), fms(att.P99Ms), fms(att.BaselineP99Ms))
	return true
}

func signalWord(s string) string {
	if s == "saturation" {
		return "queueing"
	}
	return s
}
