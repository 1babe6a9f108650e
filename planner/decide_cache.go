package planner

import (
	"fmt"
	"math"

	"github.com/headroom-sh/headroom/model"
)

// decideCache adds shards when the cache's main thread would pass
// sharedTargetUtilization at the target (Redis and Valkey run commands on
// one core: a larger node adds none), or a larger node type for memcached,
// whose threads use every core.
func (p *planning) decideCache() {
	c := p.topo.Cache
	if c == nil {
		return
	}
	p.cacheNodesNew, p.cacheTypeNew = c.Nodes, c.NodeType
	memcached := c.Engine == model.EngineMemcached
	cur := p.priceOf(model.PriceCache, c.NodeType, c.Engine)
	nodes := c.Nodes
	var why string
	nums := map[string]float64{}
	if u, ok := p.cacheUtilAt(p.target, c.Nodes, c.NodeType); ok {
		nums["cpu_at_target_ratio"] = u
		if u <= sharedTargetUtilization {
			return
		}
		nodes = int(math.Ceil(float64(c.Nodes)*u/sharedTargetUtilization - eps))
		src := "in the test"
		if p.cache.fromProd {
			src = "in production"
		}
		what := "main thread"
		of := "a core"
		if memcached {
			what, of = "CPU", fmt.Sprintf("its %s vCPUs", num(cur.VCPU))
		}
		why = fmt.Sprintf("Its busiest node's %s, measured %s, would reach %s of %s at %s RPS, above the %s it should stay under.",
			what, src, pct(u), of, rps(p.target), pct(sharedTargetUtilization))
	} else if p.cache.boundRPS > 0 && p.cacheCapacity(c.Nodes, c.NodeType) < p.required {
		nodes = int(math.Ceil(float64(p.cache.testedNodes)*p.required/p.cache.boundRPS - eps))
		if memcached {
			// Nodes' worth of load on c.Nodes nodes of the measured size;
			// the vCPUs it needs are worked out below.
			nodes = int(math.Ceil(float64(c.Nodes)*p.required/p.cacheCapacity(c.Nodes, c.NodeType) - eps))
			why = fmt.Sprintf("It was the bottleneck at %s RPS with %d node%s of %s vCPUs; %s RPS needs about %s vCPUs per node if its throughput grows with its cores.",
				rps(p.cache.boundRPS), p.cache.testedNodes, plural(p.cache.testedNodes), num(p.cache.baseVCPU), rps(p.required),
				num(cur.VCPU*p.required/p.cacheCapacity(c.Nodes, c.NodeType)))
		} else {
			why = fmt.Sprintf("It was the bottleneck at %s RPS with %d node%s; %s RPS needs %d if throughput grows with shards.",
				rps(p.cache.boundRPS), p.cache.testedNodes, plural(p.cache.testedNodes), rps(p.required), nodes)
		}
	} else {
		return
	}
	if nodes <= c.Nodes {
		return
	}
	if memcached {
		// Memcached is multi-threaded: a larger node type adds capacity.
		need := cur.VCPU * float64(nodes) / float64(c.Nodes)
		next, ch, ok := p.moveUp(classMove{
			kind: model.PriceCache, engine: c.Engine, cur: cur, from: c.NodeType, needVCPU: need, tier: "the cache nodes",
			monthly: func(t string) float64 { return p.cacheMonthly(t, c.Nodes, c.ReplicasPerNode) },
			noFit:   fmt.Sprintf("The cache needs about %s vCPUs per node but the catalog has no larger node type than %s.", num(need), c.NodeType),
		})
		if !ok {
			return
		}
		p.cacheTypeNew = ch.To
		nums["vcpu_before"], nums["vcpu_after"] = cur.VCPU, next.VCPU
		why += " Memcached runs its threads on every core, so a larger node type adds capacity in proportion to its vCPUs"
		if u, ok := p.cacheUtilAt(p.target, c.Nodes, next.Name); ok {
			nums["cpu_at_target_after_ratio"] = u
			why += fmt.Sprintf(": on %s (%s vCPUs) it would run at about %s.", next.Name, num(next.VCPU), pct(u))
		} else {
			why += fmt.Sprintf(": %s has %s.", next.Name, num(next.VCPU)+" vCPUs")
		}
		ch.ID, ch.Title, ch.Why, ch.Numbers = model.ChangeIDCache, "Cache", why, nums
		ch.Assumption, ch.AssumptionNote = true, "Cache CPU is assumed to grow in proportion to the request rate and to shrink with more vCPUs."
		p.add(ch)
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
