package planner

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/model"
)

// Planning constants. Each is a judgement a capacity planner makes; the
// plan states the ones it used.
const (
	// DefaultVerifyFactor is how far above the target rate the
	// verification test drives load (1.2 = 120%).
	DefaultVerifyFactor = 1.2

	// cpuPlanningCeiling is the CPU utilization a pod is planned up to when
	// its capacity has to be extrapolated from CPU: past about 80%, run
	// queues and latency grow quickly.
	cpuPlanningCeiling = 0.80
	// sharedTargetUtilization is the utilization a database's or cache's
	// CPU may reach at the target rate ("~70% at target").
	sharedTargetUtilization = 0.70
	// maxUSLExtrapolation bounds how far above the tested load the USL's
	// peak is trusted when nothing broke.
	maxUSLExtrapolation = 2.0
	// readShareForReplica is the share of request time in read endpoints
	// from which a read replica is worth considering.
	readShareForReplica = 0.5
	// postgresMaxConnectionsCap is the cap in RDS's default
	// max_connections formula for PostgreSQL, LEAST(memory/9531392, 5000).
	postgresMaxConnectionsCap = 5000
	// Pooler pods: two PgBouncer (or ProxySQL) replicas for availability,
	// each with these requests.
	poolerReplicas = 2
	poolerCPU      = model.CPU(0.25)
	poolerMemory   = 256 * model.MiB
	// hpaTargetMin and hpaTargetMax bound the HPA's CPU target.
	hpaTargetMin = 0.10
	hpaTargetMax = 0.90
	// eps absorbs floating-point noise before rounding counts up.
	eps = 1e-9
)

// Errors of Build, matched with errors.Is.
var (
	// ErrBadInput: the analysis, topology, target or prices cannot be
	// planned from.
	ErrBadInput = errors.New("cannot plan")
	// ErrNoPrice: something the topology runs has no price in the catalog.
	ErrNoPrice = errors.New("no price")
)

// Target is what a plan must carry. Exactly one of Multiplier and RPS is set.
type Target struct {
	// Multiplier scales the topology's baseline RPS: 3 plans for 3× today.
	Multiplier float64
	// RPS is the target rate in requests/s.
	RPS float64
	// SLOP95 is the p95 latency limit; 0 takes the analysis's SLO, or 800ms.
	SLOP95 time.Duration
	// MaxErrorRate is the error-rate limit (a fraction); 0 takes the
	// analysis's SLO, or 0.05.
	MaxErrorRate float64
	// HeadroomRatio is the spare capacity wanted over the target rate
	// (target_headroom_ratio); 0 means model.DefaultTargetHeadroomRatio.
	HeadroomRatio float64
}

// Input is everything a plan is derived from. None of it is modified.
type Input struct {
	// Analysis is analysis.json of a test of the service.
	Analysis *model.Analysis
	// Topology is what production runs today. Its baseline RPS must be a
	// number: the caller evaluates baseline.rps_query first.
	Topology *model.Topology
	Target   Target
	// Prices is the catalog costs come from; nil uses DefaultPrices().
	Prices *model.PriceCatalog
}

// Build decides what the topology needs to carry the target with the wanted
// headroom, prices each change, and says what it could not know. It is
// pure: no I/O, and its inputs are not modified.
func Build(in Input) (*model.Plan, error) {
	p, err := newPlanning(in)
	if err != nil {
		return nil, err
	}
	if err := p.run(); err != nil {
		return nil, err
	}
	return p.out, nil
}

// planning is the working state of one Build.
type planning struct {
	a      *model.Analysis
	topo   *model.Topology // a private, defaulted copy
	prices *model.PriceCatalog
	tested model.TestedShape
	out    *model.Plan

	// Target.
	target, required, targetPeak, headroom float64
	slo                                    model.SLO
	// satUtil is the utilization at which the analysis called a resource
	// saturated, from its options; pending holds assumptions made before
	// the plan document exists.
	satUtil float64
	pending []string

	// Measured (tested environment).
	capRPS         float64
	capSource      string
	bottleneck     string
	perPod         float64
	perPodSource   string
	cpuAtLoad      float64 // CPU utilization at capRPS
	cpuCoresAtLoad float64 // cores per pod at capRPS
	holdSec        float64 // mean connection hold time, seconds
	holdWhy        string

	// Shared resources' models.
	db    dbModel
	cache cacheModel

	// Decisions.
	podsNew, hpaMin, hpaMax int
	hpaTarget               float64
	poolNew, maxConnNew     int
	dbClassNew              string
	cacheNodesNew           int
	cacheTypeNew            string
	pooler                  bool

	used map[string]model.PriceEntry
}

// dbModel estimates how much traffic a database class carries.
type dbModel struct {
	present bool
	engine  string
	// cpuPerRPS is the primary's CPU utilization per request/s on the
	// production class (from topology's cpu_utilization); 0 when unknown.
	cpuPerRPS float64
	// boundRPS is the rate the database carried when it was the
	// bottleneck, on the tested class with testedVCPU; 0 when not.
	boundRPS   float64
	testedVCPU float64
	prodVCPU   float64
	// knownUpTo is the highest rate the test showed it carrying.
	knownUpTo float64
}

// cacheModel estimates how much traffic a cache carries.
type cacheModel struct {
	present bool
	engine  string
	// utilPerRPS is the busiest node's (main-thread) CPU utilization per
	// request/s with baseNodes nodes; 0 when unknown. fromProd says whether
	// it came from production's cpu_utilization or the test.
	utilPerRPS float64
	baseNodes  int
	fromProd   bool
	// boundRPS is the rate the cache carried when it was the bottleneck
	// with testedNodes nodes and no utilization was measured.
	boundRPS    float64
	testedNodes int
}

func newPlanning(in Input) (*planning, error) {
	if in.Analysis == nil {
		return nil, fmt.Errorf("%w: no analysis", ErrBadInput)
	}
	if in.Topology == nil {
		return nil, fmt.Errorf("%w: no topology", ErrBadInput)
	}
	topo, err := cloneTopology(in.Topology)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	topo.SetDefaults()
	if err := topo.Validate(); err != nil {
		return nil, fmt.Errorf("%w: invalid topology:\n%v", ErrBadInput, err)
	}
	if topo.Baseline.RPS <= 0 {
		return nil, fmt.Errorf("%w: topology baseline.rps is 0: evaluate baseline.rps_query first or give the rate", ErrBadInput)
	}
	if topo.Baseline.PeakRPS <= 0 {
		return nil, fmt.Errorf("%w: topology baseline.peak_rps is 0: evaluate baseline.peak_query first or give the peak", ErrBadInput)
	}
	prices := in.Prices
	if prices == nil {
		prices = DefaultPrices()
	} else {
		prices = clonePrices(prices)
		prices.SetDefaults()
		if err := prices.Validate(); err != nil {
			return nil, fmt.Errorf("%w: invalid price catalog:\n%v", ErrBadInput, err)
		}
	}
	p := &planning{a: in.Analysis, topo: topo, prices: prices, used: map[string]model.PriceEntry{}}
	if err := p.setTarget(in.Target); err != nil {
		return nil, err
	}
	p.tested = topo.TestedResolved()
	return p, nil
}

func (p *planning) setTarget(t Target) error {
	base := p.topo.Baseline
	switch {
	case t.Multiplier != 0 && t.RPS != 0:
		return fmt.Errorf("%w: give a target multiplier or a target RPS, not both", ErrBadInput)
	case t.Multiplier < 0 || math.IsNaN(t.Multiplier) || math.IsInf(t.Multiplier, 0):
		return fmt.Errorf("%w: target multiplier %v: expected a number greater than 0, such as 3", ErrBadInput, t.Multiplier)
	case t.RPS < 0 || math.IsNaN(t.RPS) || math.IsInf(t.RPS, 0):
		return fmt.Errorf("%w: target RPS %v: expected requests/s greater than 0, such as 540", ErrBadInput, t.RPS)
	case t.Multiplier > 0:
		p.target = t.Multiplier * base.RPS
	case t.RPS > 0:
		p.target = t.RPS
	default:
		return fmt.Errorf("%w: no target: give a multiplier of today's traffic (3) or a target rate in requests/s (540)", ErrBadInput)
	}
	p.headroom = t.HeadroomRatio
	if p.headroom == 0 {
		p.headroom = model.DefaultTargetHeadroomRatio
	}
	if p.headroom < 0 || math.IsNaN(p.headroom) || p.headroom > 10 {
		return fmt.Errorf("%w: target headroom ratio %v: expected a fraction ≥ 0 such as 0.2", ErrBadInput, t.HeadroomRatio)
	}
	p.required = p.target * (1 + p.headroom)
	p.targetPeak = base.PeakRPS * p.target / base.RPS

	// The analysis records the options it judged by; older documents only
	// their SLO, and the defaults are assumed (and said) when neither is
	// there.
	p.slo = p.a.SLO
	p.satUtil = analyzer.DefaultSaturationUtilization
	if o := p.a.Options; o != nil {
		if o.SLOP95Ms > 0 {
			p.slo.P95Ms = o.SLOP95Ms
		}
		if o.MaxErrorRate > 0 {
			p.slo.MaxErrorRate = o.MaxErrorRate
		}
		if o.SaturationUtilization > 0 && o.SaturationUtilization <= 1 {
			p.satUtil = o.SaturationUtilization
		}
	} else {
		p.pending = append(p.pending, fmt.Sprintf("The analysis does not record the options it used; a resource is taken as saturated at %s of its limit, the analyzer's default.", pct(p.satUtil)))
	}
	if t.SLOP95 > 0 {
		p.slo.P95Ms = float64(t.SLOP95) / float64(time.Millisecond)
	}
	if p.slo.P95Ms <= 0 {
		p.slo.P95Ms = float64(analyzer.DefaultSLOP95) / float64(time.Millisecond)
		p.pending = append(p.pending, fmt.Sprintf("Neither the plan nor the analysis gives a p95 SLO; %s ms, the analyzer's default, is assumed.", num(p.slo.P95Ms)))
	}
	if t.MaxErrorRate < 0 || t.MaxErrorRate > 1 {
		return fmt.Errorf("%w: max error rate %v: expected a fraction between 0 and 1, such as 0.05", ErrBadInput, t.MaxErrorRate)
	}
	if t.MaxErrorRate > 0 {
		p.slo.MaxErrorRate = t.MaxErrorRate
	}
	if p.slo.MaxErrorRate <= 0 {
		p.slo.MaxErrorRate = analyzer.DefaultMaxErrorRate
		p.pending = append(p.pending, fmt.Sprintf("Neither the plan nor the analysis gives an error-rate limit; %s, the analyzer's default, is assumed.", pct(p.slo.MaxErrorRate)))
	}
	return nil
}

func (p *planning) run() error {
	a, topo := p.a, p.topo
	p.out = &model.Plan{
		Service:  topo.Service,
		RunID:    a.RunID,
		Scenario: a.Scenario,
		Target: model.PlanTarget{
			BaselineRPS:     topo.Baseline.RPS,
			BaselinePeakRPS: topo.Baseline.PeakRPS,
			Multiplier:      p.target / topo.Baseline.RPS,
			TargetRPS:       p.target,
			TargetPeakRPS:   p.targetPeak,
			HeadroomRatio:   p.headroom,
			RequiredRPS:     p.required,
			SLO:             p.slo,
		},
		Changes:     []model.PlanChange{},
		Assumptions: []string{},
	}
	if err := p.measure(); err != nil {
		return err
	}
	if err := p.checkPrices(); err != nil {
		return err
	}
	p.decideDatabaseClass()
	p.decidePods()
	p.decidePool()
	p.decideConnections()
	p.decideHPA()
	p.decideCache()
	p.decideReplica()
	p.orderChanges()
	p.notes()
	p.totals()
	p.verdict()
	p.workload()
	return nil
}

// ---------------------------------------------------------------------------
// Measurement

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
	prodCap, _ := p.capacity(p.topo.API.Pods, p.topo.API.DBPoolSize, p.currentDBClass(), p.currentCacheNodes())
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
// conservative choice.
func (p *planning) measureHold() {
	r := p.resource(model.KindDBPool)
	if r == nil || p.topo.Database == nil {
		return
	}
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
	type estimate struct {
		w   float64
		why string
	}
	var ests []estimate
	if r.SaturatedAtRPS != nil && *r.SaturatedAtRPS > 0 && strings.Contains(r.SaturatedBy, model.SaturatedByUtilization) {
		inUse := p.satUtil * total
		ests = append(ests, estimate{inUse / *r.SaturatedAtRPS, fmt.Sprintf("the pool reached %s utilization (%s of %s connections) at %s RPS",
			pct(p.satUtil), num(inUse), num(total), rps(*r.SaturatedAtRPS))})
	}
	if r.UtilizationAtBreak != nil && p.a.BreakingPoint != nil && p.a.BreakingPoint.RPS > 0 {
		inUse := *r.UtilizationAtBreak * total
		ests = append(ests, estimate{inUse / p.a.BreakingPoint.RPS, fmt.Sprintf("%s of %s connections were in use at the %s RPS breaking point",
			num(inUse), num(total), rps(p.a.BreakingPoint.RPS))})
	}
	if r.UtilizationAtPeak != nil && p.a.TestedUpToRPS > 0 {
		inUse := *r.UtilizationAtPeak * total
		ests = append(ests, estimate{inUse / p.a.TestedUpToRPS, fmt.Sprintf("%s of %s connections were in use at %s RPS, the highest tested load",
			num(inUse), num(total), rps(p.a.TestedUpToRPS))})
	}
	best := estimate{}
	for _, e := range ests {
		if e.w > best.w {
			best = e
		}
	}
	if best.w <= 0 {
		return
	}
	p.holdSec, p.holdWhy = best.w, best.why
	p.out.Measured.ConnectionHoldMs = best.w * 1000
	p.assume("A request holds a database connection for %s ms on average, by Little's law (connections in use ÷ request rate): %s. It is assumed not to grow at the target rate.",
		num(best.w*1000), best.why)
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
			return
		}
	}
	if class == boundCache {
		p.cache.boundRPS = p.capRPS
	}
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

// ---------------------------------------------------------------------------
// Capacity models

func (p *planning) currentDBClass() string {
	if p.topo.Database == nil {
		return ""
	}
	return p.topo.Database.InstanceClass
}

func (p *planning) currentCacheNodes() int {
	if p.topo.Cache == nil {
		return 0
	}
	return p.topo.Cache.Nodes
}

func (p *planning) dbVCPU(class string) float64 {
	if e, ok := p.prices.Find(model.PriceDatabase, class, p.db.engine); ok {
		return e.VCPU
	}
	return 0
}

// dbCPUAt is the database's projected CPU utilization at rate on class;
// ok is false when it is unknown.
func (p *planning) dbCPUAt(rate float64, class string) (float64, bool) {
	if p.db.cpuPerRPS <= 0 || p.db.prodVCPU <= 0 {
		return 0, false
	}
	v := p.dbVCPU(class)
	if v <= 0 {
		return 0, false
	}
	return p.db.cpuPerRPS * rate * p.db.prodVCPU / v, true
}

// dbCapacity is the rate the database carries on class before it
// saturates; +Inf when nothing says.
func (p *planning) dbCapacity(class string) float64 {
	if !p.db.present {
		return math.Inf(1)
	}
	c := math.Inf(1)
	if u, ok := p.dbCPUAt(1, class); ok && u > 0 {
		c = p.satUtil / u
	}
	if p.db.boundRPS > 0 && p.db.testedVCPU > 0 {
		if v := p.dbVCPU(class); v > 0 {
			c = math.Min(c, p.db.boundRPS*v/p.db.testedVCPU)
		}
	}
	return c
}

// cacheUtilAt is the busiest cache node's projected utilization at rate
// with nodes shards (or on the node type for memcached, by vCPUs).
func (p *planning) cacheUtilAt(rate float64, nodes int) (float64, bool) {
	if p.cache.utilPerRPS <= 0 || p.cache.baseNodes <= 0 || nodes <= 0 {
		return 0, false
	}
	return p.cache.utilPerRPS * rate * float64(p.cache.baseNodes) / float64(nodes), true
}

func (p *planning) cacheCapacity(nodes int) float64 {
	if !p.cache.present {
		return math.Inf(1)
	}
	if u, ok := p.cacheUtilAt(1, nodes); ok && u > 0 {
		return p.satUtil / u
	}
	if p.cache.boundRPS > 0 && p.cache.testedNodes > 0 {
		return p.cache.boundRPS * float64(nodes) / float64(p.cache.testedNodes)
	}
	return math.Inf(1)
}

// capacity estimates what a production shape carries and what limits it.
// The pool model applies only when the pool differs from what was measured
// (the measurement already includes the pool as tested).
func (p *planning) capacity(pods, pool int, dbClass string, cacheNodes int) (float64, string) {
	c, limit := float64(pods)*p.perPod, "pods"
	if p.holdSec > 0 && pool > 0 && pool != p.tested.DBPoolSize {
		if pc := float64(pods*pool) / p.holdSec; pc < c {
			c, limit = pc, "db_pool"
		}
	}
	if dc := p.dbCapacity(dbClass); dc < c {
		c, limit = dc, "database"
	}
	if cc := p.cacheCapacity(cacheNodes); cc < c {
		c, limit = cc, "cache"
	}
	return c, limit
}

// ---------------------------------------------------------------------------
// Prices

func (p *planning) price(kind, name, engine, field string) (model.PriceEntry, error) {
	e, ok := p.prices.Find(kind, name, engine)
	if !ok {
		cat := p.prices.Name
		if cat == "" {
			cat = "the price catalog"
		}
		eng := ""
		if engine != "" {
			eng = ", engine: " + engine
		}
		return e, fmt.Errorf("%w: topology %s %q has no %s price in %s: add {kind: %s, name: %s%s, vcpu, memory_gib, price, unit, as_of, source} to a --prices file",
			ErrNoPrice, field, name, kind, cat, kind, name, eng)
	}
	p.used[e.Key()] = e
	return e, nil
}

func (p *planning) checkPrices() error {
	if _, err := p.price(model.PriceCompute, p.topo.API.InstanceType, "", "api.instance_type"); err != nil {
		return err
	}
	if d := p.topo.Database; d != nil {
		if _, err := p.price(model.PriceDatabase, d.InstanceClass, d.Engine, "database.instance_class"); err != nil {
			return err
		}
	}
	if c := p.topo.Cache; c != nil {
		if _, err := p.price(model.PriceCache, c.NodeType, c.Engine, "cache.node_type"); err != nil {
			return err
		}
	}
	return nil
}

func (p *planning) hours() float64 { return p.prices.HoursPerMonth }

// podShare is the fraction of one instance a pod's requests take.
func podShare(cpu model.CPU, mem model.Bytes, e model.PriceEntry) float64 {
	return math.Max(cpu.Cores()/e.VCPU, mem.GiB()/e.MemoryGiB)
}

func (p *planning) podMonthly(cpu model.CPU, mem model.Bytes) float64 {
	e, _ := p.prices.Find(model.PriceCompute, p.topo.API.InstanceType, "")
	return cents(podShare(cpu, mem, e) * e.Monthly(p.hours()))
}

func (p *planning) dbMonthly(class string, replicas int, multiAZ bool) float64 {
	e, _ := p.prices.Find(model.PriceDatabase, class, p.db.engine)
	n := 1 + replicas
	if multiAZ {
		n++
	}
	return cents(float64(n) * e.Monthly(p.hours()))
}

func (p *planning) cacheMonthly(nodeType string, nodes, replicasPerNode int) float64 {
	e, _ := p.prices.Find(model.PriceCache, nodeType, p.cache.engine)
	return cents(float64(nodes*(1+replicasPerNode)) * e.Monthly(p.hours()))
}

// ---------------------------------------------------------------------------
// Decisions

func (p *planning) add(c model.PlanChange) {
	c.MonthlyCostDelta = cents(c.MonthlyCostDelta)
	p.out.Changes = append(p.out.Changes, c)
}

// decideDatabaseClass moves the database up when its projected CPU at the
// target exceeds sharedTargetUtilization, or when it was the bottleneck
// and carries less than the required rate.
func (p *planning) decideDatabaseClass() {
	d := p.topo.Database
	if d == nil {
		return
	}
	p.dbClassNew = d.InstanceClass
	cur, _ := p.prices.Find(model.PriceDatabase, d.InstanceClass, d.Engine)
	needVCPU := cur.VCPU
	var why []string
	nums := map[string]float64{}
	if u, ok := p.dbCPUAt(p.target, d.InstanceClass); ok {
		nums["cpu_at_baseline_ratio"] = d.CPUUtilization
		nums["cpu_at_target_ratio"] = u
		if u > sharedTargetUtilization {
			needVCPU = math.Max(needVCPU, cur.VCPU*u/sharedTargetUtilization)
			why = append(why, fmt.Sprintf("its CPU, %s at %s RPS today, would reach %s at %s RPS if it grows in proportion, above the %s a database should stay under at the target",
				pct(d.CPUUtilization), rps(p.topo.Baseline.RPS), pct(u), rps(p.target), pct(sharedTargetUtilization)))
		}
	}
	if p.db.boundRPS > 0 && p.db.testedVCPU > 0 && p.dbCapacity(d.InstanceClass) < p.required {
		need := p.db.testedVCPU * p.required / p.db.boundRPS
		nums["database_bound_rps"] = p.db.boundRPS
		if need > needVCPU {
			needVCPU = need
		}
		why = append(why, fmt.Sprintf("it was the bottleneck, carrying %s RPS on %s vCPUs, and %s RPS needs about %s vCPUs if its throughput grows with them",
			rps(p.db.boundRPS), num(p.db.testedVCPU), rps(p.required), num(need)))
	}
	if needVCPU <= cur.VCPU+eps {
		return
	}
	next, ok := p.largerClass(model.PriceDatabase, cur, needVCPU, d.Engine)
	if !ok {
		p.assume("The database needs about %s vCPUs at the target but the price catalog has no larger %s class than %s; shard it or move reads to replicas.",
			num(needVCPU), d.Engine, d.InstanceClass)
		return
	}
	p.used[next.Key()] = next
	p.dbClassNew = next.Name
	before := p.dbMonthly(d.InstanceClass, d.Replicas, d.MultiAZ)
	after := p.dbMonthly(next.Name, d.Replicas, d.MultiAZ)
	nums["vcpu_before"], nums["vcpu_after"] = cur.VCPU, next.VCPU
	if u, ok := p.dbCPUAt(p.target, next.Name); ok {
		nums["cpu_at_target_after_ratio"] = u
		why = append(why, fmt.Sprintf("on %s (%s vCPUs) it would run at about %s", next.Name, num(next.VCPU), pct(u)))
	}
	ch := model.PlanChange{
		ID: model.ChangeIDDatabaseClass, Kind: model.ChangeVertical, Title: "Database class",
		What:             fmt.Sprintf("Move the database from %s to %s", d.InstanceClass, next.Name),
		From:             d.InstanceClass,
		To:               next.Name,
		Why:              sentence(strings.Join(why, "; ")) + replicaClause(d),
		Numbers:          nums,
		MonthlyCostDelta: after - before,
	}
	if p.required > p.db.knownUpTo && p.db.boundRPS == 0 {
		ch.Assumption = true
		ch.AssumptionNote = fmt.Sprintf("The database was not the bottleneck in the test; its behaviour above %s RPS is extrapolated.", rps(p.db.knownUpTo))
	} else if p.db.boundRPS > 0 {
		ch.Assumption = true
		ch.AssumptionNote = "The database's throughput is assumed to grow in proportion to its vCPUs."
	} else if p.db.cpuPerRPS > 0 {
		ch.Assumption = true
		ch.AssumptionNote = "Database CPU is assumed to grow in proportion to the request rate and to shrink with more vCPUs."
	}
	p.add(ch)
}

func applyNote(engine string) string {
	if engine == model.EnginePostgres {
		return "It is a parameter-group change that PostgreSQL applies on restart."
	}
	return "It is a parameter-group change that MySQL applies without a restart."
}

func replicaClause(d *model.Database) string {
	switch {
	case d.Replicas > 0 && d.MultiAZ:
		return fmt.Sprintf(" Its standby and %d read replica%s move with it.", d.Replicas, plural(d.Replicas))
	case d.Replicas > 0:
		return fmt.Sprintf(" Its %d read replica%s move%s with it.", d.Replicas, plural(d.Replicas), verbS(d.Replicas))
	case d.MultiAZ:
		return " Its Multi-AZ standby moves with it."
	}
	return ""
}

// largerClass picks the cheapest entry of the kind and engine with at least
// needVCPU vCPUs, preferring cur's family (db.r5 for db.r5.large).
func (p *planning) largerClass(kind string, cur model.PriceEntry, needVCPU float64, engine string) (model.PriceEntry, bool) {
	family := cur.Name
	if i := strings.LastIndexByte(family, '.'); i >= 0 {
		family = family[:i+1]
	}
	var same, other []model.PriceEntry
	for _, e := range p.prices.Entries {
		if e.Kind != kind || (e.Engine != "" && e.Engine != engine) || e.VCPU+eps < needVCPU || e.Name == cur.Name {
			continue
		}
		if eng, ok := p.prices.Find(kind, e.Name, engine); !ok || eng.Key() != e.Key() {
			continue // an engine-specific entry of the same name wins
		}
		if strings.HasPrefix(e.Name, family) {
			same = append(same, e)
		} else {
			other = append(other, e)
		}
	}
	pick := same
	if len(pick) == 0 {
		pick = other
	}
	if len(pick) == 0 {
		return model.PriceEntry{}, false
	}
	sort.SliceStable(pick, func(i, j int) bool {
		a, b := pick[i].Monthly(p.hours()), pick[j].Monthly(p.hours())
		if a != b {
			return a < b
		}
		return pick[i].VCPU < pick[j].VCPU
	})
	return pick[0], true
}

// decidePods sizes the pods for the required rate at the per-pod capacity.
func (p *planning) decidePods() {
	api := p.topo.API
	need := int(math.Ceil(p.required/p.perPod - eps))
	p.podsNew = max(api.Pods, need)
	p.hpaMin = p.podsNew
	p.hpaMax = max(p.podsNew, int(math.Ceil(p.targetPeak*(1+p.headroom)/p.perPod-eps)))
	if api.HPA != nil {
		p.hpaMax = max(p.hpaMax, api.HPA.MaxReplicas)
		p.hpaMin = max(p.hpaMin, api.HPA.MinReplicas)
	}
	if p.podsNew <= api.Pods {
		return
	}
	podCost := p.podMonthly(api.CPURequest, api.MemoryRequest)
	add := p.podsNew - api.Pods
	why := fmt.Sprintf("A pod carries %s RPS (%s); %s RPS (%s RPS × %s headroom) needs %s ÷ %s = %s → %d pods.",
		rps(p.perPod), p.perPodWhy(), rps(p.required), rps(p.target), ratio1(1+p.headroom),
		rps(p.required), rps(p.perPod), num2(p.required/p.perPod), p.podsNew)
	ch := model.PlanChange{
		ID: model.ChangeIDPods, Kind: model.ChangeHorizontal, Title: "API pods",
		What: fmt.Sprintf("Scale the API from %d to %d pods", api.Pods, p.podsNew),
		From: fmt.Sprint(api.Pods), To: fmt.Sprint(p.podsNew),
		Why: why + fmt.Sprintf(" Each pod costs %s a month (%s of one %s).",
			money(podCost, p.prices.Currency), pct(podShare(api.CPURequest, api.MemoryRequest, p.priceOf(model.PriceCompute, api.InstanceType, ""))), api.InstanceType),
		Numbers: map[string]float64{
			"per_pod_rps": p.perPod, "required_rps": p.required, "pods_before": float64(api.Pods), "pods_after": float64(p.podsNew),
			"pod_monthly": podCost,
		},
		MonthlyCostDelta: float64(add) * podCost,
	}
	if p.perPodSource != "measured" {
		ch.Assumption = true
		ch.AssumptionNote = "Per-pod capacity is extrapolated, not measured."
	} else if p.capSource == "tested_up_to" {
		ch.Assumption = true
		ch.AssumptionNote = "Nothing broke in the test: per-pod capacity is a lower bound, so this is the most pods needed."
	}
	p.add(ch)
}

func (p *planning) perPodWhy() string {
	switch p.perPodSource {
	case "cpu_extrapolated":
		return fmt.Sprintf("extrapolated from its CPU, %s at %s RPS per pod", pct(p.cpuAtLoad), rps(p.capRPS/float64(p.tested.Pods)))
	case "usl_extrapolated":
		return fmt.Sprintf("the USL peak %s RPS ÷ %d tested pod%s", rps(p.capRPS), p.tested.Pods, plural(p.tested.Pods))
	}
	what := "the breaking point"
	switch p.capSource {
	case "tested_up_to":
		what = "the highest tested load"
	case "stage_table":
		what = "the last stage within the SLO"
	}
	return fmt.Sprintf("%s %s RPS ÷ %d tested pod%s", what, rps(p.capRPS), p.tested.Pods, plural(p.tested.Pods))
}

func (p *planning) priceOf(kind, name, engine string) model.PriceEntry {
	e, _ := p.prices.Find(kind, name, engine)
	return e
}

// decidePool sizes each pod's DB pool by Little's law for its share of the
// required rate: connections = rate per pod × mean hold time.
func (p *planning) decidePool() {
	api := p.topo.API
	p.poolNew = api.DBPoolSize
	if p.topo.Database == nil {
		return
	}
	if p.holdSec <= 0 {
		if p.bottleneck == model.KindDBPool {
			p.assume("The DB pool was the bottleneck but its use was not measured well enough to size it; raise it and watch pgxpool_acquired_conns (or your pool's equivalent) in the verification test.")
		}
		return
	}
	perPodRate := p.required / float64(p.podsNew)
	need := int(math.Ceil(p.holdSec*perPodRate - eps))
	if need <= api.DBPoolSize {
		return
	}
	p.poolNew = need
	p.add(model.PlanChange{
		ID: model.ChangeIDDBPool, Kind: model.ChangeConfig, Title: "DB pool",
		What: fmt.Sprintf("Raise the DB pool from %d to %d connections per pod", api.DBPoolSize, need),
		From: fmt.Sprint(api.DBPoolSize), To: fmt.Sprint(need),
		Why: fmt.Sprintf("By Little's law a pod needs its request rate × the mean connection hold time: %s RPS per pod (%s RPS over %d pods) × %s ms = %s connections; %d per pod today.",
			rps(perPodRate), rps(p.required), p.podsNew, num(p.holdSec*1000), num2(p.holdSec*perPodRate), api.DBPoolSize),
		Numbers: map[string]float64{
			"connection_hold_ms": p.holdSec * 1000, "per_pod_rps": perPodRate,
			"pool_before_connections": float64(api.DBPoolSize), "pool_after_connections": float64(need),
		},
	})
}

// dbConnectionCeiling is the most connections a class's memory allows by
// the RDS default formula.
func (p *planning) dbConnectionCeiling(class string) int {
	e, ok := p.prices.Find(model.PriceDatabase, class, p.db.engine)
	if !ok {
		return 0
	}
	perConn := float64(p.topo.Database.MemoryPerConnection)
	c := int(e.MemoryGiB * float64(model.GiB) / perConn)
	if p.db.engine == model.EnginePostgres {
		c = min(c, postgresMaxConnectionsCap)
	}
	return c
}

// decideConnections checks that every pod's pool, at the autoscaler's
// maximum, fits under max_connections with the reserve; when it does not,
// it raises max_connections (free while memory allows), else adds a pooler
// (PostgreSQL) or moves up a class.
func (p *planning) decideConnections() {
	d := p.topo.Database
	p.maxConnNew = 0
	if d == nil {
		return
	}
	p.maxConnNew = d.MaxConnections
	pods := max(p.hpaMax, p.podsNew)
	need := pods*p.poolNew + d.ReservedConnections
	if need <= d.MaxConnections {
		return
	}
	target := roundUp(need, 10)
	ceiling := p.dbConnectionCeiling(p.dbClassNew)
	nums := map[string]float64{
		"pods_at_max": float64(pods), "pool_connections": float64(p.poolNew), "reserved_connections": float64(d.ReservedConnections),
		"needed_connections": float64(need), "max_connections_before": float64(d.MaxConnections), "class_ceiling_connections": float64(ceiling),
	}
	fitWhy := fmt.Sprintf("At up to %d pods × %d connections + %d reserved, the application may open %d connections; max_connections is %d.",
		pods, p.poolNew, d.ReservedConnections, need, d.MaxConnections)
	if target <= ceiling {
		extra := model.Bytes(target-d.MaxConnections) * d.MemoryPerConnection
		nums["max_connections_after"] = float64(target)
		nums["extra_memory_mib"] = extra.MiB()
		p.maxConnNew = target
		p.add(model.PlanChange{
			ID: model.ChangeIDMaxConnections, Kind: model.ChangeConfig, Title: "max_connections",
			What: fmt.Sprintf("Raise the database's max_connections from %d to %d", d.MaxConnections, target),
			From: fmt.Sprint(d.MaxConnections), To: fmt.Sprint(target),
			Why: fmt.Sprintf("%s %d more connections take about %s MiB of the %s's memory (%s MiB each); its memory allows about %s by the RDS default formula. %s",
				fitWhy, target-d.MaxConnections, num(extra.MiB()), p.dbClassNew, num2(d.MemoryPerConnection.MiB()), thousands(fmt.Sprint(ceiling)), applyNote(d.Engine)),
			Numbers: nums,
		})
		return
	}
	if d.Engine == model.EnginePostgres {
		p.pooler = true
		cost := float64(poolerReplicas) * p.podMonthly(poolerCPU, poolerMemory)
		p.add(model.PlanChange{
			ID: model.ChangeIDPooler, Kind: model.ChangePooler, Title: "Connection pooler",
			What: fmt.Sprintf("Put PgBouncer (transaction pooling, %d replicas) between the pods and the database", poolerReplicas),
			Why: fmt.Sprintf("%s Raising it to %d would need more memory than %s has (about %d connections); PgBouncer multiplexes the pods' connections onto at most %d server connections. Transaction pooling needs protocol-level prepared statements (PgBouncer 1.21+) or none.",
				fitWhy, target, p.dbClassNew, ceiling, d.MaxConnections-d.ReservedConnections),
			Numbers:          nums,
			MonthlyCostDelta: cost,
		})
		return
	}
	p.assume("The application may open %d connections, more than %s's memory allows (about %d); put a pooler such as ProxySQL in front of MySQL or lower the pool sizes.",
		need, p.dbClassNew, ceiling)
}

// decideHPA sets the autoscaler: min the pods the target needs, max the
// pods the scaled peak needs, and a CPU target at which a pod still has the
// headroom ratio spare.
func (p *planning) decideHPA() {
	api := p.topo.API
	cur := api.HPA
	p.hpaTarget = 0
	if cur != nil {
		p.hpaTarget = cur.TargetCPUUtilization
	}
	var targetWhy string
	perPodAtLoad := p.capRPS / float64(p.tested.Pods)
	if p.cpuCoresAtLoad > 0 && api.CPURequest > 0 && perPodAtLoad > 0 {
		scaleAt := p.perPod / (1 + p.headroom)
		cores := p.cpuCoresAtLoad * scaleAt / perPodAtLoad
		t := cores / api.CPURequest.Cores()
		t = math.Floor(t*20+eps) / 20
		// The target is relative to the request; with a higher limit a pod
		// may use more than its request, up to hpaTargetMax of the limit.
		maxT := hpaTargetMax
		if api.CPULimit > api.CPURequest {
			maxT = hpaTargetMax * api.CPULimit.Cores() / api.CPURequest.Cores()
		}
		t = math.Min(math.Max(t, hpaTargetMin), math.Floor(maxT*20+eps)/20)
		p.hpaTarget = t
		targetWhy = fmt.Sprintf(" A pod should scale out at %s RPS (its %s RPS ÷ %s, keeping the headroom), where it uses about %s cores, %s of its %s-core request; the target is rounded down to %s.",
			rps(scaleAt), rps(p.perPod), num2(1+p.headroom), num2(cores), pct(cores/api.CPURequest.Cores()), num2(api.CPURequest.Cores()), pct(t))
		if t > 1 && api.CPULimit > 0 {
			targetWhy += fmt.Sprintf(" Above 100%% is allowed because the limit (%s) is above the request: %s of the request is %s of the limit.",
				coresText(api.CPULimit.Cores()), pct(t), pct(t*api.CPURequest.Cores()/api.CPULimit.Cores()))
		}
		if t < 0.4 {
			targetWhy += " CPU is a weak signal here because a pod runs out of something else first; scaling on requests per pod (a custom metric) would track load better."
		}
	} else if p.hpaTarget == 0 {
		p.hpaTarget = 0.70
		targetWhy = " The pods' CPU was not measured, so the CPU target is the common 70%."
	}
	if cur != nil && cur.MinReplicas == p.hpaMin && cur.MaxReplicas == p.hpaMax && math.Abs(cur.TargetCPUUtilization-p.hpaTarget) < 0.005 {
		return
	}
	if cur == nil && p.podsNew == api.Pods && p.hpaMax == api.Pods {
		return // nothing to autoscale for
	}
	what := fmt.Sprintf("Add an HPA: min %d, max %d pods, target CPU %s", p.hpaMin, p.hpaMax, pct(p.hpaTarget))
	from := "none"
	if cur != nil {
		what = fmt.Sprintf("Set the HPA to min %d, max %d pods, target CPU %s", p.hpaMin, p.hpaMax, pct(p.hpaTarget))
		from = fmt.Sprintf("%d–%d @ %s", cur.MinReplicas, cur.MaxReplicas, pct(cur.TargetCPUUtilization))
	}
	podCost := p.podMonthly(api.CPURequest, api.MemoryRequest)
	why := fmt.Sprintf("Min %d carries the target with its headroom; max %d carries the peak scaled the same way (%s RPS × %s = %s RPS).%s",
		p.hpaMin, p.hpaMax, rps(p.targetPeak), ratio1(1+p.headroom), rps(p.targetPeak*(1+p.headroom)), targetWhy)
	if p.hpaMax > p.podsNew {
		why += fmt.Sprintf(" Pods above the minimum cost %s a month each while they run, not counted in the totals.", money(podCost, p.prices.Currency))
	}
	ch := model.PlanChange{
		ID: model.ChangeIDHPA, Kind: model.ChangeConfig, Title: "Autoscaler",
		What: what, From: from, To: fmt.Sprintf("%d–%d @ %s", p.hpaMin, p.hpaMax, pct(p.hpaTarget)),
		Why: why,
		Numbers: map[string]float64{
			"min_replicas": float64(p.hpaMin), "max_replicas": float64(p.hpaMax), "target_cpu_ratio": p.hpaTarget,
		},
	}
	if p.cpuCoresAtLoad == 0 {
		ch.Assumption = true
		ch.AssumptionNote = "The pods' CPU was not measured; the CPU target is a default."
	}
	p.add(ch)
}

// decideCache adds shards when the cache's main thread would pass
// sharedTargetUtilization at the target (Redis and Valkey run commands on
// one core: a larger node adds none), or a larger node type for memcached.
func (p *planning) decideCache() {
	c := p.topo.Cache
	if c == nil {
		return
	}
	p.cacheNodesNew, p.cacheTypeNew = c.Nodes, c.NodeType
	nodes := c.Nodes
	var why string
	nums := map[string]float64{}
	if u, ok := p.cacheUtilAt(p.target, c.Nodes); ok {
		nums["cpu_at_target_ratio"] = u
		if u <= sharedTargetUtilization {
			return
		}
		nodes = int(math.Ceil(float64(c.Nodes)*u/sharedTargetUtilization - eps))
		src := "in the test"
		if p.cache.fromProd {
			src = "in production"
		}
		why = fmt.Sprintf("Its busiest node's main thread, measured %s, would reach %s of a core at %s RPS, above the %s it should stay under.",
			src, pct(u), rps(p.target), pct(sharedTargetUtilization))
	} else if p.cache.boundRPS > 0 && p.cacheCapacity(c.Nodes) < p.required {
		nodes = int(math.Ceil(float64(p.cache.testedNodes)*p.required/p.cache.boundRPS - eps))
		why = fmt.Sprintf("It was the bottleneck at %s RPS with %d node%s; %s RPS needs %d if throughput grows with shards.",
			rps(p.cache.boundRPS), p.cache.testedNodes, plural(p.cache.testedNodes), rps(p.required), nodes)
	} else {
		return
	}
	if nodes <= c.Nodes {
		return
	}
	cur := p.priceOf(model.PriceCache, c.NodeType, c.Engine)
	if c.Engine == model.EngineMemcached {
		// Memcached is multi-threaded: a larger node type adds capacity.
		need := cur.VCPU * float64(nodes) / float64(c.Nodes)
		next, ok := p.largerClass(model.PriceCache, cur, need, c.Engine)
		if !ok {
			p.assume("The cache needs about %s vCPUs per node but the catalog has no larger node type than %s.", num(need), c.NodeType)
			return
		}
		p.used[next.Key()] = next
		p.cacheTypeNew = next.Name
		before := p.cacheMonthly(c.NodeType, c.Nodes, c.ReplicasPerNode)
		after := p.cacheMonthly(next.Name, c.Nodes, c.ReplicasPerNode)
		p.add(model.PlanChange{
			ID: model.ChangeIDCache, Kind: model.ChangeVertical, Title: "Cache",
			What: fmt.Sprintf("Move the cache nodes from %s to %s", c.NodeType, next.Name),
			From: c.NodeType, To: next.Name, Why: why, Numbers: nums,
			MonthlyCostDelta: after - before, Assumption: true,
			AssumptionNote: "Cache CPU is assumed to grow in proportion to the request rate.",
		})
		return
	}
	p.cacheNodesNew = nodes
	before := p.cacheMonthly(c.NodeType, c.Nodes, c.ReplicasPerNode)
	after := p.cacheMonthly(c.NodeType, nodes, c.ReplicasPerNode)
	nums["nodes_before"], nums["nodes_after"] = float64(c.Nodes), float64(nodes)
	p.add(model.PlanChange{
		ID: model.ChangeIDCache, Kind: model.ChangeHorizontal, Title: "Cache",
		What: fmt.Sprintf("Shard the cache over %d %s nodes (cluster mode), from %d", nodes, c.NodeType, c.Nodes),
		From: fmt.Sprint(c.Nodes), To: fmt.Sprint(nodes),
		Why: why + fmt.Sprintf(" %s runs commands on one core, so a larger node adds little; sharding spreads the keys, and needs a cluster-aware client and multi-key commands within one hash slot.",
			titleCase(c.Engine)),
		Numbers: nums, MonthlyCostDelta: after - before, Assumption: true,
		AssumptionNote: "Cache load is assumed to grow in proportion to the request rate and to spread evenly over shards.",
	})
}

// decideReplica suggests a read replica when reads carry most of the
// request time and the database needs more capacity.
func (p *planning) decideReplica() {
	d := p.topo.Database
	if d == nil {
		return
	}
	share := p.out.Measured.ReadShare
	needsHelp := p.dbClassNew != d.InstanceClass || bottleneckClass(p.bottleneck) == boundDB
	if share < readShareForReplica || !needsHelp {
		return
	}
	cost := p.priceOf(model.PriceDatabase, p.dbClassNew, d.Engine).Monthly(p.hours())
	p.add(model.PlanChange{
		ID: model.ChangeIDReadReplica, Kind: model.ChangeReplica, Title: "Read replica",
		What: fmt.Sprintf("Consider a %s read replica", p.dbClassNew),
		From: fmt.Sprint(d.Replicas), To: fmt.Sprint(d.Replicas + 1),
		Why: fmt.Sprintf("GET and HEAD endpoints carry %s of the request time in the test, a proxy for the database's read share. A replica would take that load off the primary: room beyond the forecast, or a way to defer the next class. It needs the application to send reads to the replica and tolerate replication lag.",
			pct(share)),
		Numbers:          map[string]float64{"read_share_ratio": share},
		MonthlyCostDelta: cost,
		Optional:         true, Assumption: true,
		AssumptionNote: "The read share is estimated from request time per endpoint, not measured in the database.",
	})
}

// changeOrder lists changes free configuration first, then what costs
// money, then what is only worth considering.
var changeOrder = []string{
	model.ChangeIDDBPool, model.ChangeIDMaxConnections, model.ChangeIDPooler, model.ChangeIDPods,
	model.ChangeIDHPA, model.ChangeIDDatabaseClass, model.ChangeIDCache, model.ChangeIDReadReplica,
}

func (p *planning) orderChanges() {
	rank := func(id string) int {
		for i, x := range changeOrder {
			if x == id {
				return i
			}
		}
		return len(changeOrder)
	}
	sort.SliceStable(p.out.Changes, func(i, j int) bool {
		a, b := p.out.Changes[i], p.out.Changes[j]
		if a.Optional != b.Optional {
			return !a.Optional
		}
		return rank(a.ID) < rank(b.ID)
	})
}

// notes adds the plan-wide assumptions that are not tied to one change.
func (p *planning) notes() {
	if d := p.topo.Database; d != nil && bottleneckClass(p.bottleneck) != boundDB && p.required > p.db.knownUpTo {
		p.assume("The database was not the bottleneck in the test; its behaviour above %s RPS is extrapolated.", rps(p.db.knownUpTo))
		if d.CPUUtilization == 0 {
			p.assume("The database's CPU is unknown (set database.cpu_utilization from CloudWatch): the plan cannot tell whether %s carries %s RPS; the verification test will.", d.InstanceClass, rps(p.required))
		}
	}
	if c := p.topo.Cache; c != nil && p.cache.utilPerRPS == 0 && p.cache.boundRPS == 0 {
		p.assume("The cache's CPU was not measured (set cache.cpu_utilization or scrape redis_exporter): it is assumed not to limit %s RPS.", rps(p.required))
	}
	if p.bottleneck == model.KindDBPool && p.cpuAtLoad > 0 && p.cpuAtLoad < cpuPlanningCeiling && p.perPodSource == "measured" && p.capSource == "breaking_point" {
		p.assume("CPU was %s at the breaking point, so a pod may carry more once the pool no longer limits it; the plan keeps the measured %s RPS per pod and the verification test will show the difference.",
			pct(p.cpuAtLoad), rps(p.perPod))
	}
	if p.bottleneck == model.BottleneckUnknown {
		p.assume("No measured resource explains the break; the plan assumes whatever limited it scales with the pods.")
	}
	p.assume("Costs are %s list prices (%s), %s hours a month; storage, I/O, data transfer and support are not included.",
		orName(p.prices.Name, "catalog"), p.prices.Currency, num(p.hours()))
}

// ---------------------------------------------------------------------------
// Totals, verdict, workload

func (p *planning) totals() {
	api, cur := p.topo.API, p.prices.Currency
	t := &p.out.Totals
	t.Currency = cur
	podCost := p.podMonthly(api.CPURequest, api.MemoryRequest)
	inst := api.InstanceType
	share := pct(podShare(api.CPURequest, api.MemoryRequest, p.priceOf(model.PriceCompute, inst, "")))
	t.Lines = append(t.Lines, model.CostLine{
		Item:           "API pods",
		Current:        fmt.Sprintf("%d × %s of %s", api.Pods, share, inst),
		New:            fmt.Sprintf("%d × %s of %s", p.podsNew, share, inst),
		CurrentMonthly: cents(float64(api.Pods) * podCost),
		NewMonthly:     cents(float64(p.podsNew) * podCost),
	})
	if p.pooler {
		pc := p.podMonthly(poolerCPU, poolerMemory)
		t.Lines = append(t.Lines, model.CostLine{
			Item: "Connection pooler", Current: "none",
			New:        fmt.Sprintf("%d × PgBouncer (%s CPU, %s) on %s", poolerReplicas, poolerCPU, poolerMemory, inst),
			NewMonthly: cents(float64(poolerReplicas) * pc),
		})
	}
	if d := p.topo.Database; d != nil {
		t.Lines = append(t.Lines, model.CostLine{
			Item:           "Database",
			Current:        dbDesc(d.InstanceClass, d),
			New:            dbDesc(p.dbClassNew, d),
			CurrentMonthly: p.dbMonthly(d.InstanceClass, d.Replicas, d.MultiAZ),
			NewMonthly:     p.dbMonthly(p.dbClassNew, d.Replicas, d.MultiAZ),
		})
	}
	if c := p.topo.Cache; c != nil {
		newType := p.cacheTypeNew
		t.Lines = append(t.Lines, model.CostLine{
			Item:           "Cache",
			Current:        cacheDesc(c.NodeType, c.Nodes, c.ReplicasPerNode),
			New:            cacheDesc(newType, p.cacheNodesNew, c.ReplicasPerNode),
			CurrentMonthly: p.cacheMonthly(c.NodeType, c.Nodes, c.ReplicasPerNode),
			NewMonthly:     p.cacheMonthly(newType, p.cacheNodesNew, c.ReplicasPerNode),
		})
	}
	for _, l := range t.Lines {
		t.CurrentMonthly += l.CurrentMonthly
		t.NewMonthly += l.NewMonthly
	}
	t.CurrentMonthly, t.NewMonthly = cents(t.CurrentMonthly), cents(t.NewMonthly)
	t.DeltaMonthly = cents(t.NewMonthly - t.CurrentMonthly)
	for _, ch := range p.out.Changes {
		if ch.Optional {
			t.OptionalMonthly += ch.MonthlyCostDelta
		}
	}
	t.OptionalMonthly = cents(t.OptionalMonthly)
	t.CostPer1kRPSBefore = cents(t.CurrentMonthly / (p.topo.Baseline.RPS / 1000))
	t.CostPer1kRPSAfter = cents(t.NewMonthly / (p.target / 1000))

	t.CurrentCapacityRPS = p.out.Measured.ProductionCapacityRPS
	t.ExpectedCapacityRPS, t.ExpectedLimit = p.capacity(p.podsNew, p.poolNew, p.dbClassNew, p.cacheNodesNew)
	t.ExpectedHeadroomRatio = t.ExpectedCapacityRPS/p.target - 1
	t.MeetsTarget = t.ExpectedCapacityRPS >= p.required*(1-1e-6)
	if !t.MeetsTarget {
		p.assume("Even with these changes the expected capacity, %s RPS (limited by %s), falls short of the %s RPS the target and its headroom need.",
			rps(t.ExpectedCapacityRPS), t.ExpectedLimit, rps(p.required))
	}

	// The proposed topology.
	prop, _ := cloneTopology(p.topo)
	prop.API.Pods = p.podsNew
	if p.hpaMin > 0 && (prop.API.HPA != nil || p.hasChange(model.ChangeIDHPA)) {
		prop.API.HPA = &model.HPA{MinReplicas: p.hpaMin, MaxReplicas: p.hpaMax, TargetCPUUtilization: p.hpaTarget}
	}
	prop.API.DBPoolSize = p.poolNew
	if prop.Database != nil {
		prop.Database.InstanceClass = p.dbClassNew
		prop.Database.MaxConnections = p.maxConnNew
		if cpu, ok := p.dbCPUAt(p.topo.Baseline.RPS, p.dbClassNew); ok {
			prop.Database.CPUUtilization = round(cpu, 3)
		}
	}
	if prop.Cache != nil {
		prop.Cache.NodeType = p.cacheTypeNew
		prop.Cache.Nodes = p.cacheNodesNew
		if p.cache.fromProd && prop.Cache.CPUUtilization > 0 {
			prop.Cache.CPUUtilization = round(prop.Cache.CPUUtilization*float64(p.topo.Cache.Nodes)/float64(p.cacheNodesNew), 3)
		}
	}
	prop.Tested = nil
	p.out.Current = *p.topo
	p.out.Proposed = *prop

	p.out.Prices = model.PlanPrices{Name: p.prices.Name, Currency: cur, Region: p.prices.Region, HoursPerMonth: p.hours()}
	keys := make([]string, 0, len(p.used))
	for k := range p.used {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.out.Prices.Used = append(p.out.Prices.Used, p.used[k])
	}
}

func (p *planning) hasChange(id string) bool {
	for _, c := range p.out.Changes {
		if c.ID == id {
			return true
		}
	}
	return false
}

func dbDesc(class string, d *model.Database) string {
	s := class
	if d.MultiAZ {
		s += " Multi-AZ"
	}
	if d.Replicas > 0 {
		s += fmt.Sprintf(" + %d replica%s", d.Replicas, plural(d.Replicas))
	}
	return s
}

func cacheDesc(nodeType string, nodes, replicas int) string {
	s := fmt.Sprintf("%d × %s", nodes, nodeType)
	if replicas > 0 {
		s += fmt.Sprintf(" (+%d replica%s each)", replicas, plural(replicas))
	}
	return s
}

func (p *planning) verdict() {
	t, cur := p.out.Totals, p.prices.Currency
	var required []string
	for _, c := range p.out.Changes {
		if !c.Optional {
			required = append(required, lowerFirst(c.What))
		}
	}
	goal := fmt.Sprintf("%s RPS (%s× today's %s) with %s headroom", rps(p.target), num2(p.out.Target.Multiplier), rps(p.topo.Baseline.RPS), pct(p.headroom))
	if len(required) == 0 {
		p.out.Verdict = fmt.Sprintf("Production already carries %s: expected capacity %s RPS, %s headroom at the target; nothing to change (%s a month).",
			goal, rps(t.ExpectedCapacityRPS), signedPct(t.ExpectedHeadroomRatio), money(t.CurrentMonthly, cur))
		return
	}
	v := fmt.Sprintf("Carrying %s needs %d change%s costing %s a month (%s → %s): %s. Expected capacity %s RPS, %s headroom at the target.",
		goal, len(required), plural(len(required)), signedMoney(t.DeltaMonthly, cur), money(t.CurrentMonthly, cur), money(t.NewMonthly, cur),
		strings.Join(required, "; "), rps(t.ExpectedCapacityRPS), signedPct(t.ExpectedHeadroomRatio))
	if !t.MeetsTarget {
		v += fmt.Sprintf(" That is short of the %s RPS needed: see the assumptions.", rps(p.required))
	}
	p.out.Verdict = v
}

func (p *planning) workload() {
	w := &p.out.Workload
	w.Scenario = p.a.Scenario
	total := 0.0
	for _, e := range p.a.Endpoints {
		total += e.RPS
	}
	if total <= 0 {
		return
	}
	for _, e := range p.a.Endpoints {
		if e.RPS <= 0 {
			continue
		}
		if _, _, err := model.SplitEndpointName(e.Endpoint); err != nil {
			continue
		}
		w.Endpoints = append(w.Endpoints, model.WorkloadEndpoint{
			Endpoint: e.Endpoint, Share: round(e.RPS/total, 4), MeanMs: round(e.MeanMs, 1), P95Ms: round(e.P95Ms, 1),
		})
	}
	sort.SliceStable(w.Endpoints, func(i, j int) bool { return w.Endpoints[i].Share > w.Endpoints[j].Share })
}

// ---------------------------------------------------------------------------
// Helpers

func cloneTopology(t *model.Topology) (*model.Topology, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("could not copy the topology: %w", err)
	}
	var out model.Topology
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("could not copy the topology: %w", err)
	}
	return &out, nil
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }

func round(v float64, digits int) float64 {
	s := math.Pow(10, float64(digits))
	return math.Round(v*s) / s
}

func roundUp(n, step int) int { return (n + step - 1) / step * step }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// rps formats a rate in requests/s with no decimals.
func rps(v float64) string { return fmt.Sprintf("%.0f", v) }

// num formats a number with at most one decimal.
func num(v float64) string {
	if math.Abs(v-math.Round(v)) < 0.05 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// num2 formats a number with at most two decimals.
func num2(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// coresText formats a number of cores: "1 core", "0.5 cores".
func coresText(v float64) string {
	if v == 1 {
		return "1 core"
	}
	return num2(v) + " cores"
}

func ratio1(v float64) string { return num2(v) + "×" }

func pct(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

func signedPct(v float64) string {
	if v >= 0 {
		return fmt.Sprintf("+%.0f%%", v*100)
	}
	return fmt.Sprintf("−%.0f%%", -v*100)
}

// money formats an amount of currency: "$1,084.19" for USD, "1,084.19 EUR"
// otherwise.
func money(v float64, currency string) string {
	neg := v < 0
	s := thousands(fmt.Sprintf("%.2f", math.Abs(v)))
	switch currency {
	case "USD", "":
		s = "$" + s
	case "EUR":
		s = "€" + s
	case "GBP":
		s = "£" + s
	default:
		s = s + " " + currency
	}
	if neg {
		s = "−" + s
	}
	return s
}

func signedMoney(v float64, currency string) string {
	if v > 0 {
		return "+" + money(v, currency)
	}
	return money(v, currency)
}

func thousands(s string) string {
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func orName(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
