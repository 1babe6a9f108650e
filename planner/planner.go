package planner

import (
	"errors"
	"fmt"
	"math"
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
	// utilPerRPS is the busiest node's CPU utilization per request/s with
	// baseNodes nodes (of its main thread's core for Redis and Valkey, of
	// the node's baseVCPU vCPUs for memcached); 0 when unknown. fromProd
	// says whether it came from production's cpu_utilization or the test.
	utilPerRPS float64
	baseNodes  int
	fromProd   bool
	// baseVCPU is the vCPUs of the node type utilPerRPS or boundRPS was
	// measured on; memcached's capacity scales from it.
	baseVCPU float64
	// boundRPS is the rate the cache carried when it was the bottleneck
	// with testedNodes nodes (of baseVCPU vCPUs) and no utilization was
	// measured.
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
