package planner

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/headroom-sh/headroom/model"
)

func (p *planning) assume(format string, args ...any) {
	p.out.Assumptions = append(p.out.Assumptions, fmt.Sprintf(format, args...))
}

func (p *planning) resource(kind string) *model.ResourceAnalysis {
	for i := range p.a.Resources {
		if p.a.Resources[i].Kind == kind {
			return &p.a.Resources[i]
		}
	}
	return nil
}

// Bottleneck classes.
const (
	boundApp   = "app"
	boundDB    = "database"
	boundCache = "cache"
	boundNone  = "none"
)

// bottleneckClass says whether the analysis's bottleneck is in the pods
// (scales with them), the database or the cache (shared by all pods).
func bottleneckClass(kind string) string {
	switch {
	case kind == model.BottleneckNone:
		return boundNone
	case kind == model.KindDBServerConnections,
		kind != model.KindDBPool && strings.HasPrefix(kind, "db_"),
		strings.Contains(kind, "postgres"), strings.Contains(kind, "mysql"):
		return boundDB
	case kind == model.KindRedis, strings.Contains(kind, "valkey"), strings.Contains(kind, "memcached"),
		kind != model.KindRedisPool && strings.HasPrefix(kind, "redis"):
		return boundCache
	}
	return boundApp
}

func (p *planning) measure() error {
	a, m := p.a, &p.out.Measured
	p.out.Assumptions = append(p.out.Assumptions, p.pending...)
	p.bottleneck = a.Bottleneck.Resource
	if p.bottleneck == "" {
		if a.BreakingPoint != nil {
			p.bottleneck = model.BottleneckUnknown
		} else {
			p.bottleneck = model.BottleneckNone
		}
	}
	m.Bottleneck, m.BottleneckName = p.bottleneck, a.Bottleneck.Name
	m.BottleneckContender = orName(a.Bottleneck.ContenderName, a.Bottleneck.Contender)
	if e := a.Bottleneck.Experiment; e != nil {
		c := *e
		m.BottleneckExperiment = &c
	}
	if a.Bottleneck.SaturatedAtRPS != nil {
		m.SaturatedAtRPS = *a.Bottleneck.SaturatedAtRPS
	}
	m.TestedPods = p.tested.Pods

	// Capacity of the tested environment.
	switch {
	case a.BreakingPoint != nil && a.BreakingPoint.RPS > 0:
		p.capRPS, p.capSource = a.BreakingPoint.RPS, "breaking_point"
		m.BreakReason = a.BreakingPoint.Reason
	case a.USL != nil && a.USL.PeakX != nil && a.USL.Confidence != model.ConfidenceLow &&
		*a.USL.PeakX > a.TestedUpToRPS && a.TestedUpToRPS > 0 && *a.USL.PeakX <= maxUSLExtrapolation*a.TestedUpToRPS:
		p.capRPS, p.capSource = *a.USL.PeakX, "usl_peak"
		p.assume("Nothing broke in the test up to %s RPS; capacity %s RPS is the Universal Scalability Law's peak (σ=%.3g, κ=%.3g, R²=%.2f), an extrapolation.",
			rps(a.TestedUpToRPS), rps(p.capRPS), a.USL.Sigma, a.USL.Kappa, a.USL.R2)
	case a.TestedUpToRPS > 0:
		p.capRPS, p.capSource = a.TestedUpToRPS, "tested_up_to"
		p.assume("Nothing broke in the test: capacity is at least %s RPS, the highest load tested. Pods and classes sized from it are an upper bound; test higher before buying.",
			rps(a.TestedUpToRPS))
	default:
		return fmt.Errorf("%w: the analysis has no breaking point and tested_up_to_rps is 0: there is no measured capacity to plan from", ErrBadInput)
	}
	if c := capacityUnderSLO(a, p.slo); c > 0 && c < p.capRPS {
		p.assume("The analysis judged the break by p95 %s ms and errors %s; under the plan's stricter SLO (p95 %s ms, errors %s) the last stage that met it carried %s RPS, used as the capacity instead of %s RPS.",
			num(a.SLO.P95Ms), pct(a.SLO.MaxErrorRate), num(p.slo.P95Ms), pct(p.slo.MaxErrorRate), rps(c), rps(p.capRPS))
		p.capRPS, p.capSource = c, "stage_table"
	}
	m.CapacityRPS, m.CapacitySource = p.capRPS, p.capSource

	// CPU of the pods at that load.
	if r := p.resource(model.KindCPU); r != nil {
		u := r.UtilizationAtBreak
		if a.BreakingPoint == nil || u == nil {
			u = r.UtilizationAtPeak
		}
		if u != nil && *u > 0 {
			p.cpuAtLoad = *u
			perPodCores := p.tested.CPULimit.Cores()
			if r.Limit > 0 && p.tested.Pods > 0 {
				perPodCores = r.Limit / float64(p.tested.Pods)
			}
			p.cpuCoresAtLoad = *u * perPodCores
			m.CPUAtBreak = *u
		}
	}

	// Per-pod capacity.
	class := bottleneckClass(p.bottleneck)
	measuredPerPod := p.capRPS / float64(p.tested.Pods)
	p.perPod, p.perPodSource = measuredPerPod, "measured"
	if p.capSource == "usl_peak" {
		p.perPodSource = "usl_extrapolated"
	}
	if class == boundDB || class == boundCache {
		// The break was in a shared resource: pods were not full. Their own
		// ceiling is extrapolated from CPU.
		if p.cpuAtLoad > 0 && p.cpuAtLoad < cpuPlanningCeiling {
			p.perPod = measuredPerPod * cpuPlanningCeiling / p.cpuAtLoad
			p.perPodSource = "cpu_extrapolated"
			p.assume("The %s, not the pods, limited the test; a pod's own capacity, %s RPS, is extrapolated from its CPU (%s at %s RPS per pod, planned up to %s).",
				class, rps(p.perPod), pct(p.cpuAtLoad), rps(measuredPerPod), pct(cpuPlanningCeiling))
		} else {
			p.assume("The %s, not the pods, limited the test and the pods' CPU was not measured; a pod is assumed to carry at least the %s RPS it did.", class, rps(measuredPerPod))
		}
	}
	m.PerPodRPS, m.PerPodSource = p.perPod, p.perPodSource
	if p.tested.Pods != p.topo.API.Pods {
		p.assume("The test ran on %d pod%s and production runs %d; per-pod capacity is assumed to scale linearly between them.",
			p.tested.Pods, plural(p.tested.Pods), p.topo.API.Pods)
	}

	p.measureHold()
	p.measureDatabase(class)
	p.measureCache(class)
	m.ReadShare = readShare(a.Endpoints)

	// Production today.
	prodCap, prodLimit := p.capacity(p.currentShape())
	if prodLimit == model.KindDBServerConnections {
		d := p.topo.Database
		slots := p.serverSlots(d.MaxConnections)
		p.assume("The database server has %d connections for the application (max_connections %d less %d reserved) and the pools can open more (%d pods × %d); at %s ms each they are all in use at %d ÷ %s ms = %s RPS, by Little's law, which is production's capacity today.",
			slots, d.MaxConnections, d.ReservedConnections, p.topo.API.Pods, p.topo.API.DBPoolSize, num(p.holdSec*1000), slots, num(p.holdSec*1000), rps(prodCap))
	} else if p.bottleneck == model.KindDBServerConnections && p.holdSec <= 0 {
		p.assume("The database server's connections were the bottleneck but neither the pool's nor the server's use was measured well enough to tell how long a request holds one; the plan cannot say what raising max_connections adds, and the verification test will.")
	}
	m.ProductionCapacityRPS = prodCap
	m.CurrentHeadroomRatio = prodCap/p.topo.Baseline.PeakRPS - 1
	return nil
}

// capacityUnderSLO returns, when the plan's SLO is stricter than the
// analysis's, the highest stage rate that met it before the first stage
// that did not (0 when no stage fails it or none meets it).
func capacityUnderSLO(a *model.Analysis, slo model.SLO) float64 {
	stricter := (a.SLO.P95Ms > 0 && slo.P95Ms < a.SLO.P95Ms) || (a.SLO.MaxErrorRate > 0 && slo.MaxErrorRate < a.SLO.MaxErrorRate)
	if !stricter {
		return 0
	}
	stages := append([]model.StageStats(nil), a.Stages...)
	sort.SliceStable(stages, func(i, j int) bool { return stages[i].Start.Before(stages[j].Start) })
	best := 0.0
	for _, s := range stages {
		if s.Requests == 0 {
			continue
		}
		if s.P95Ms > slo.P95Ms || s.ErrorRate > slo.MaxErrorRate {
			if best == 0 {
				return 0
			}
			return best
		}
		best = math.Max(best, s.RPS)
	}
	return 0
}

// measureHold derives the mean time a request holds a database connection
// from the pool's use by Little's law, L = λW: connections in use over the
// request rate. It takes the largest of the available estimates, the
// conservative choice. Without a measured pool it takes the database
// server's connections in use (db_server_connections), which also count
// connections other than the application's and so can only overstate it.
func (p *planning) measureHold() {
	if p.topo.Database == nil {
		return
	}
	if r := p.resource(model.KindDBPool); r != nil {
		total := float64(p.tested.DBPoolSize * p.tested.Pods)
		if total <= 0 && r.Limit > 0 {
			total = r.Limit
		}
		if total <= 0 {
			return
		}
		if r.Limit > 0 && math.Abs(r.Limit-total) > 0.5 {
			p.assume("The pool's measured limit, %s connections, differs from the topology's %d per pod × %d tested pods; the topology's %s is used.",
				num(r.Limit), p.tested.DBPoolSize, p.tested.Pods, num(total))
		}
		if w, why := p.holdEstimate(r, total, "the pool", "connections"); w > 0 {
			p.setHold(w, why)
		}
		return
	}
	if r := p.resource(model.KindDBServerConnections); r != nil && r.Limit > 0 {
		if w, why := p.holdEstimate(r, r.Limit, "the database server", "server connections"); w > 0 {
			p.setHold(w, why+" (the pool's use was not measured; the server's count includes connections other than the application's, so the hold may be overstated)")
		}
	}
}

// holdEstimate is the largest of a connection resource's Little's-law
// estimates of the hold time, connections in use ÷ request rate, with total
// connections: at saturation, at the breaking point, at the highest tested
// load. 0 when none can be made.
func (p *planning) holdEstimate(r *model.ResourceAnalysis, total float64, who, what string) (float64, string) {
	type estimate struct {
		w   float64
		why string
	}
	var ests []estimate
	if r.SaturatedAtRPS != nil && *r.SaturatedAtRPS > 0 && strings.Contains(r.SaturatedBy, model.SaturatedByUtilization) {
		inUse := p.satUtil * total
		ests = append(ests, estimate{inUse / *r.SaturatedAtRPS, fmt.Sprintf("%s reached %s utilization (%s of %s %s) at %s RPS",
			who, pct(p.satUtil), num(inUse), num(total), what, rps(*r.SaturatedAtRPS))})
	}
	if r.UtilizationAtBreak != nil && p.a.BreakingPoint != nil && p.a.BreakingPoint.RPS > 0 {
		inUse := *r.UtilizationAtBreak * total
		ests = append(ests, estimate{inUse / p.a.BreakingPoint.RPS, fmt.Sprintf("%s of %s %s were in use at the %s RPS breaking point",
			num(inUse), num(total), what, rps(p.a.BreakingPoint.RPS))})
	}
	if r.UtilizationAtPeak != nil && p.a.TestedUpToRPS > 0 {
		inUse := *r.UtilizationAtPeak * total
		ests = append(ests, estimate{inUse / p.a.TestedUpToRPS, fmt.Sprintf("%s of %s %s were in use at %s RPS, the highest tested load",
			num(inUse), num(total), what, rps(p.a.TestedUpToRPS))})
	}
	best := estimate{}
	for _, e := range ests {
		if e.w > best.w {
			best = e
		}
	}
	return best.w, best.why
}

func (p *planning) setHold(w float64, why string) {
	p.holdSec, p.holdWhy = w, why
	p.out.Measured.ConnectionHoldMs = w * 1000
	p.assume("A request holds a database connection for %s ms on average, by Little's law (connections in use ÷ request rate): %s. It is assumed not to grow at the target rate.",
		num(w*1000), why)
}

func (p *planning) measureDatabase(class string) {
	d := p.topo.Database
	if d == nil {
		return
	}
	p.db = dbModel{present: true, engine: d.Engine}
	if e, ok := p.prices.Find(model.PriceDatabase, d.InstanceClass, d.Engine); ok {
		p.db.prodVCPU = e.VCPU
	}
	if e, ok := p.prices.Find(model.PriceDatabase, p.tested.DatabaseClass, d.Engine); ok {
		p.db.testedVCPU = e.VCPU
	} else {
		p.assume("The tested database class %s has no price entry, so its size is unknown; the test's database numbers are not scaled to %s.", p.tested.DatabaseClass, d.InstanceClass)
	}
	if d.CPUUtilization > 0 {
		p.db.cpuPerRPS = d.CPUUtilization / p.topo.Baseline.RPS
	}
	if class == boundDB && p.bottleneck != model.KindDBServerConnections {
		p.db.boundRPS = p.capRPS
	}
	p.db.knownUpTo = p.capRPS
	if p.bottleneck == model.KindDBPool && p.out.Measured.SaturatedAtRPS > 0 {
		// A full pool caps the load the database sees.
		p.db.knownUpTo = p.out.Measured.SaturatedAtRPS
	}
	p.out.Measured.DatabaseKnownUpToRPS = p.db.knownUpTo
}

func (p *planning) measureCache(class string) {
	c := p.topo.Cache
	if c == nil {
		return
	}
	p.cache = cacheModel{present: true, engine: c.Engine, baseNodes: c.Nodes, testedNodes: p.tested.CacheNodes}
	p.cache.baseVCPU = p.cacheVCPU(c.NodeType)
	if c.CPUUtilization > 0 {
		p.cache.utilPerRPS = c.CPUUtilization / p.topo.Baseline.RPS
		p.cache.fromProd = true
		return
	}
	if r := p.resource(model.KindRedis); r != nil {
		u, at := r.UtilizationAtBreak, p.capRPS
		if p.a.BreakingPoint == nil || u == nil {
			u, at = r.UtilizationAtPeak, p.a.TestedUpToRPS
		}
		if u != nil && *u > 0 && at > 0 {
			p.cache.utilPerRPS = *u / at
			p.cache.baseNodes = p.tested.CacheNodes
			p.cache.baseVCPU = p.testedCacheVCPU()
			return
		}
	}
	if class == boundCache {
		p.cache.boundRPS = p.capRPS
		p.cache.baseVCPU = p.testedCacheVCPU()
	}
}

// testedCacheVCPU is the vCPUs of the node type the test ran its cache on,
// production's when the tested one has no price entry (said once, for
// memcached, whose capacity follows its vCPUs).
func (p *planning) testedCacheVCPU() float64 {
	if v := p.cacheVCPU(p.tested.CacheNodeType); v > 0 {
		return v
	}
	if p.cache.engine == model.EngineMemcached && p.tested.CacheNodeType != p.topo.Cache.NodeType {
		p.assume("The tested cache node type %s has no price entry, so its vCPUs are unknown; the test's cache numbers are not scaled to %s.", p.tested.CacheNodeType, p.topo.Cache.NodeType)
	}
	return p.cacheVCPU(p.topo.Cache.NodeType)
}

// readShare is the share of request time (rate × mean latency) spent in
// GET and HEAD endpoints.
func readShare(eps []model.EndpointStats) float64 {
	var reads, all float64
	for _, e := range eps {
		w := e.RPS * e.MeanMs
		if w <= 0 {
			continue
		}
		all += w
		if m, _, err := model.SplitEndpointName(e.Endpoint); err == nil && (m == "GET" || m == "HEAD") {
			reads += w
		}
	}
	if all == 0 {
		return 0
	}
	return reads / all
}
