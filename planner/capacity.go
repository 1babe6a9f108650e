package planner

import (
	"math"

	"github.com/headroom-sh/headroom/model"
)

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
