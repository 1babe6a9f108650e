package analyzer

import (
	"fmt"
	"math"
	"sort"

	"github.com/headroom-sh/headroom/model"
)

// This file decides which saturated resources limit throughput. A resource
// is the bottleneck when its saturation coincides with the throughput
// ceiling; one that fills up while goodput keeps rising is "saturated, not
// limiting yet" — a full pool whose requests wait on a CPU shared with the
// database, say. When two resources saturate together, it says which one
// the evidence favours and what short run would tell them apart.

const (
	// stillRisingMin is the relative rise of goodput beyond the load where
	// a resource was full that makes it "not limiting": less than that is
	// the last of its headroom being used up, or noise.
	stillRisingMin = 0.15
	// fullShare is the share of its highest utilization at which a
	// resource counts as full.
	fullShare = 0.97
	// contendTolerance is how much later (relative load) than another
	// resource the bottleneck may saturate for the other to count as its
	// contender.
	contendTolerance = 0.10
)

// fullPoint returns when a saturated resource was full: the first time its
// utilization reached fullShare of its highest sustained (and at least the
// saturation threshold) and stayed there (see sustainedMax, staysFull),
// else the onset of its queueing. headroom is the
// growth its remaining utilization still allows there (highest / current,
// by the utilization law X = U / D), 1 for queueing.
func (a *analysis) fullPoint(st *resourceState) (lp model.LoadPoint, headroom float64, ok bool) {
	if st.byUtil && st.out.MaxUtilization != nil {
		maxU := sustainedMax(st.pts, *st.out.MaxUtilization)
		level := math.Max(a.opts.SaturationUtilization, fullShare*maxU)
		full := func(p model.ResourcePoint) bool {
			u, ok := utilOf(p)
			return ok && u >= level-1e-9 && u > 0
		}
		for i, p := range st.pts {
			if !full(p) || !staysFull(st.pts[i:], full) {
				continue
			}
			u, _ := utilOf(p)
			if lp, ok := a.loadAt(p.Time); ok {
				lp.Time = p.Time
				return lp, math.Max(1, maxU/u), true
			}
		}
	}
	if st.onset != nil {
		return *st.onset, 1, true
	}
	return model.LoadPoint{}, 0, false
}

// fullRun is how many points, from the first full one, are looked at to
// tell a resource that filled up from a burst: a gauge of a few
// connections averaged over a few scrapes reads full for a point or two
// whenever requests bunch up, and a ramp's rate windows overlap, so one
// burst spans two points.
const fullRun = 5

// sustainedMax is the highest utilization held over fullRun points (the
// largest median of fullRun consecutive points), at most max: a CPU
// counter's rate overshoots its quota for a point or two as throttling
// catches up (1.23 of the quota, then 1.15–1.19 for good), and a level
// taken from that overshoot is never reached again.
func sustainedMax(pts []model.ResourcePoint, max float64) float64 {
	var us []float64
	for _, p := range pts {
		if u, ok := utilOf(p); ok {
			us = append(us, u)
		}
	}
	if len(us) < fullRun {
		return max
	}
	top := 0.0
	for i := 0; i+fullRun <= len(us); i++ {
		top = math.Max(top, median(append([]float64(nil), us[i:i+fullRun]...)))
	}
	return math.Min(top, max)
}

// staysFull reports whether most of the first fullRun points of pts (all
// but the first two, at least) are full: the resource filled up for good
// rather than in a burst, after which it had room again.
func staysFull(pts []model.ResourcePoint, full func(model.ResourcePoint) bool) bool {
	n := min(fullRun, len(pts))
	k := 0
	for _, p := range pts[:n] {
		if full(p) {
			k++
		}
	}
	return k > n/2
}

// goodputAround is the median goodput of the load points from lp's time to
// two steps after it, else lp's own, and how many points it is of. The
// points are those of a resource that stays full (see staysFull); the
// point before lp, when it was not yet full, would drag the median down
// on a fast ramp, where a gauge and a rate a second apart differ by tens
// of requests/s.
func (a *analysis) goodputAround(lp model.LoadPoint) (float64, int) {
	var xs []float64
	win := 2 * a.stepSec
	if a.fromStages || win <= 0 {
		win = 0
	}
	for _, p := range a.pts {
		if d := p.Time.Sub(lp.Time).Seconds(); d >= -1e-9 && d <= win+1e-9 {
			if g := goodput(p); finite(g) {
				xs = append(xs, g)
			}
		}
	}
	if len(xs) == 0 {
		return goodput(lp), 1
	}
	return median(xs), len(xs)
}

// stillRising measures, for every saturated resource, the goodput where it
// was full and the highest goodput reached at heavier load, and marks the
// resource "not limiting" when goodput kept rising significantly and
// either another resource saturated where it stopped rising, nothing
// broke, or the system's throughput ceiling (a plateau) lies beyond.
func (a *analysis) stillRising() {
	noise := a.goodputNoise()
	for _, st := range a.res {
		if st.onset == nil {
			continue
		}
		full, room, ok := a.fullPoint(st)
		if !ok {
			continue
		}
		st.fullKey = a.key(full)
		g0, n0 := a.goodputAround(full)
		// Goodput at the heaviest loads beyond it: the median of the top
		// quarter of those points by load (at least three), which a few
		// noisy intervals do not lift.
		var after []model.LoadPoint
		for _, p := range a.pts {
			if p.Time.After(full.Time) && a.key(p) >= st.fullKey && finite(goodput(p)) {
				after = append(after, p)
			}
		}
		if len(after) < 2 || !finite(g0) || g0 <= 0 {
			continue
		}
		sort.SliceStable(after, func(i, j int) bool { return a.key(after[i]) > a.key(after[j]) })
		var top []float64
		for _, p := range after[:min(len(after), max(3, len(after)/4))] {
			top = append(top, goodput(p))
		}
		g1 := median(top)
		st.out.GoodputAtSaturationRPS, st.out.GoodputAfterRPS = ptr(g0), ptr(g1)
		// The two medians are of n0 and len(top) intervals: their
		// difference is noisy by about noise·√(1/n0 + 1/n1).
		st.rose = g1 > g0*room*(1+stillRisingMin) && g1-g0 > 3*noise*math.Sqrt(1/float64(n0)+1/float64(len(top)))
	}
	for _, st := range a.res {
		if !st.rose {
			continue
		}
		// Another resource that saturated at heavier load, where
		// throughput stopped rising.
		for _, o := range a.res {
			if o == st || o.onset == nil || o.rose || o.onsetKey <= st.fullKey {
				continue
			}
			if a.brk != nil && o.onsetKey > a.blameUpTo() {
				continue
			}
			if st.ceilingBy == nil || o.onsetKey < st.ceilingBy.onsetKey {
				st.ceilingBy = o
			}
		}
		plateauBeyond := a.brk != nil && throughputCeiling(a.brk.Reason) && a.bpKey(*a.brk) > st.fullKey
		st.notLimiting = st.ceilingBy != nil || a.brk == nil || plateauBeyond
		st.out.NotLimiting = st.notLimiting
		a.warnStillRising(st)
	}
}

// throughputCeiling reports whether a breaking point's reason is where
// throughput itself stopped (a plateau, the USL peak, a fall) rather than
// a latency or error limit crossed on the way up.
func throughputCeiling(reason string) bool {
	return reason == model.ReasonSaturation || reason == model.ReasonThroughputPeak || reason == model.ReasonRetrograde
}

// warnStillRising says that a resource saturated while throughput kept
// rising, and what that means.
func (a *analysis) warnStillRising(st *resourceState) {
	o := st.out
	msg := fmt.Sprintf("a saturated resource but throughput still rising: %s was full from %s RPS, yet goodput kept rising to %s RPS",
		o.Name, fnum(*o.GoodputAtSaturationRPS), fnum(*o.GoodputAfterRPS))
	switch {
	case st.ceilingBy != nil:
		msg += fmt.Sprintf(" until %s saturated; %s is saturated, not limiting", st.ceilingBy.out.Name, o.Name)
	case st.notLimiting && a.brk == nil:
		msg += fmt.Sprintf(" to the end of the test; %s is saturated, not limiting yet", o.Name)
	case st.notLimiting:
		msg += fmt.Sprintf(": the throughput ceiling lies beyond it, so %s is saturated, not limiting, and the limit is something else", o.Name)
	case st.byQueue:
		msg += ": its queueing may explain the latency, but it is not a hard ceiling on throughput"
	default:
		msg += ": it is not a hard ceiling on throughput"
	}
	st.stillRisingMsg = msg
	a.warn(model.Warning{Kind: "signals_disagree", Resource: o.Kind, Message: msg})
	if st.notLimiting {
		a.disagree = append(a.disagree, fmt.Sprintf("%s saturated but throughput still rose after it (%s → %s RPS)", o.Name, fnum(*o.GoodputAtSaturationRPS), fnum(*o.GoodputAfterRPS)))
	}
}

// contend finds the resource that saturated with the bottleneck, or
// before it, and says which one the evidence favours and how to tell them
// apart.
func (a *analysis) contend(best *resourceState) {
	var rival *resourceState
	for _, st := range a.res {
		// A resource without a limit (goroutines, requests in flight)
		// grows with whatever is slow: it is a symptom, and no setting of
		// it can be changed to tell.
		if st == best || st.onset == nil || st.out.Limit <= 0 || st.onsetKey > best.onsetKey*(1+contendTolerance) {
			continue
		}
		if a.brk != nil && st.onsetKey > a.blameUpTo() {
			continue
		}
		// Prefer a limiting rival, then the one closest to the bottleneck.
		if rival == nil || (rival.notLimiting && !st.notLimiting) ||
			(rival.notLimiting == st.notLimiting && math.Abs(st.onsetKey-best.onsetKey) < math.Abs(rival.onsetKey-best.onsetKey)) {
			rival = st
		}
	}
	if rival == nil {
		return
	}
	bn := &a.out.Bottleneck
	bn.Contender, bn.ContenderName = rival.obs.Kind, rival.out.Name
	bn.Experiment = a.experiment(best, rival)
	bn.Evidence += "; " + a.favours(best, rival)
}

// favours says why the evidence favours best over rival.
func (a *analysis) favours(best, rival *resourceState) string {
	why := ""
	switch {
	case rival.notLimiting && rival.out.GoodputAfterRPS != nil:
		why = fmt.Sprintf("%s was full from %s RPS but throughput kept rising to %s RPS, so it was not what stopped it",
			rival.out.Name, fnum(*rival.out.GoodputAtSaturationRPS), fnum(*rival.out.GoodputAfterRPS))
	case rootFor(best, rival):
		why = fmt.Sprintf("a full %s is more often a symptom of a slow %s than its cause", rival.out.Name, best.out.Name)
	case best.explains > rival.explains:
		why = fmt.Sprintf("its %s explains %s of the p95's variation against %s for %s", signalName(best), fpct(best.explains), fpct(rival.explains), rival.out.Name)
	default:
		why = "it is nearer its limit at the breaking point"
	}
	return fmt.Sprintf("%s saturated too, at %s; the evidence favours %s: %s",
		rival.out.Name, a.onsetPhrase(rival), best.out.Name, why)
}

// rootFor reports whether best is listed as a likelier cause of rival.
func rootFor(best, rival *resourceState) bool {
	for _, k := range rootOf[rival.obs.Kind] {
		if k == best.obs.Kind {
			return true
		}
	}
	return false
}

// easeOfChange orders kinds by how easily a short run can change them: a
// pool size is a setting, CPU a limit or a machine, a database server or
// Redis a migration.
var easeOfChange = map[string]int{
	model.KindDBPool: 0, model.KindRedisPool: 1, model.KindHTTPInflight: 2, model.KindCPU: 3,
	model.KindGoRuntime: 4, model.KindMemory: 5, model.KindHostCPU: 6,
	model.KindDBServerConnections: 7, model.KindRedis: 8,
}

func ease(kind string) int {
	if e, ok := easeOfChange[kind]; ok {
		return e
	}
	return 9
}

// experiment writes the short run that separates best from rival: change
// the one that is easier to change, and watch throughput. With a nil rival
// it tests best alone.
func (a *analysis) experiment(best, rival *resourceState) *model.Experiment {
	ch, other := rival, best
	if rival == nil || ease(best.obs.Kind) < ease(rival.obs.Kind) {
		ch, other = best, rival
	}
	if rival == nil {
		other = nil
	}
	o := ch.out
	e := &model.Experiment{Resource: o.Kind, ResourceName: o.Name, Unit: o.Unit, AtRPS: nz(best.onset.RPS)}
	switch {
	case o.Kind == model.KindHostCPU:
		e.Change = fmt.Sprintf("run the service on a host of its own, or move the other tenants (such as the database) off its %s", fusage(o.Limit, o.Unit))
	case o.Kind == model.KindCPU && o.Limit > 0:
		e.From, e.To = o.Limit, 2*o.Limit
		e.Change = fmt.Sprintf("give the service twice the CPU, from %s to %s", fusage(e.From, o.Unit), fusage(e.To, o.Unit))
	case o.Kind == model.KindRedis:
		e.Change = "move the heaviest Redis commands to a second Redis (or pipeline them)"
	case o.Limit > 0:
		e.From, e.To = o.Limit, 2*o.Limit
		e.Change = fmt.Sprintf("raise the %s from %s to %s", o.Name, fnum(e.From), fusage(e.To, o.Unit))
	default:
		e.Change = fmt.Sprintf("give the %s more room", o.Name)
	}
	switch {
	case other == nil:
		e.IfMoves = fmt.Sprintf("%s is the limit after all", o.Name)
		e.IfFlat = fmt.Sprintf("%s is a symptom and the limit is something else", o.Name)
	case ch == best:
		e.IfMoves = fmt.Sprintf("%s is the limit, as the evidence says", o.Name)
		e.IfFlat = fmt.Sprintf("%s is not the limit: look at %s", o.Name, other.out.Name)
	default:
		e.IfMoves = fmt.Sprintf("%s was the limit after all, not %s", o.Name, other.out.Name)
		e.IfFlat = fmt.Sprintf("%s is a symptom and %s is the limit", o.Name, other.out.Name)
	}
	e.Text = fmt.Sprintf("%s in a short run at about %s RPS: if throughput rises, %s; if it does not move, %s",
		e.Change, fnum(e.AtRPS), e.IfMoves, e.IfFlat)
	return e
}

// suspectExperiment, when no resource is blamed but some saturated without
// limiting, tests the one easiest to change: the evidence says it did not
// stop throughput, and a short run confirms it cheaply.
func (a *analysis) suspectExperiment(notLimiting []*resourceState) *model.Experiment {
	var pick *resourceState
	for _, st := range notLimiting {
		if st.out.Limit <= 0 {
			continue
		}
		if pick == nil || ease(st.obs.Kind) < ease(pick.obs.Kind) {
			pick = st
		}
	}
	if pick == nil {
		return nil
	}
	e := a.experiment(pick, nil)
	e.AtRPS = nz(pick.onset.RPS)
	if pick.out.GoodputAfterRPS != nil {
		e.AtRPS = *pick.out.GoodputAfterRPS
	}
	e.Text = fmt.Sprintf("%s in a short run at about %s RPS: if throughput rises, %s; if it does not move, %s",
		e.Change, fnum(e.AtRPS), e.IfMoves, e.IfFlat)
	return e
}
