package planner

import (
	"sort"

	"github.com/headroom-sh/headroom/model"
)

func (p *planning) add(c model.PlanChange) {
	c.MonthlyCostDelta = cents(c.MonthlyCostDelta)
	p.out.Changes = append(p.out.Changes, c)
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
