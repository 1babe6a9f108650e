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

// currentShape is production's shape today.
func (p *planning) currentShape() shape {
	s := shape{pods: p.topo.API.Pods, pool: p.topo.API.DBPoolSize, dbClass: p.currentDBClass()}
	if d := p.topo.Database; d != nil {
		s.maxConn = d.MaxConnections
	}
	if c := p.topo.Cache; c != nil {
		s.cacheNodes, s.cacheType = c.Nodes, c.NodeType
	}
	return s
}

// newShape is the shape the plan's changes make: the required ones, not
// those only worth considering (a read replica), as in the totals.
func (p *planning) newShape() shape {
	return shape{pods: p.podsNew, pool: p.poolNew, maxConn: p.maxConnNew, dbClass: p.dbClassNew, cacheNodes: p.cacheNodesNew, cacheType: p.cacheTypeNew}
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

// cacheVCPU is the vCPUs of a cache node type by the price catalog; 0 when
// it has no entry.
func (p *planning) cacheVCPU(nodeType string) float64 {
	if e, ok := p.prices.Find(model.PriceCache, nodeType, p.cache.engine); ok {
		return e.VCPU
	}
	return 0
}

// cacheCoreScale is how many times the cache's measured capacity a node of
// nodeType has. Memcached runs its threads on every core, so a node's
// capacity grows with its vCPUs; Redis and Valkey run commands on one core,
// and a larger node adds none (1).
func (p *planning) cacheCoreScale(nodeType string) float64 {
	if p.cache.engine != model.EngineMemcached || p.cache.baseVCPU <= 0 {
		return 1
	}
	if v := p.cacheVCPU(nodeType); v > 0 {
		return v / p.cache.baseVCPU
	}
	return 1
}

// cacheUtilAt is the busiest cache node's projected utilization at rate
// with nodes shards of nodeType: for Redis and Valkey of its main thread's
// core, for memcached of all the node's vCPUs.
func (p *planning) cacheUtilAt(rate float64, nodes int, nodeType string) (float64, bool) {
	if p.cache.utilPerRPS <= 0 || p.cache.baseNodes <= 0 || nodes <= 0 {
		return 0, false
	}
	return p.cache.utilPerRPS * rate * float64(p.cache.baseNodes) / float64(nodes) / p.cacheCoreScale(nodeType), true
}

// cacheCapacity is the rate nodes shards of nodeType carry before the
// cache saturates; +Inf when nothing says.
func (p *planning) cacheCapacity(nodes int, nodeType string) float64 {
	if !p.cache.present {
		return math.Inf(1)
	}
	if u, ok := p.cacheUtilAt(1, nodes, nodeType); ok && u > 0 {
		return p.satUtil / u
	}
	if p.cache.boundRPS > 0 && p.cache.testedNodes > 0 {
		return p.cache.boundRPS * float64(nodes) / float64(p.cache.testedNodes) * p.cacheCoreScale(nodeType)
	}
	return math.Inf(1)
}

// shape is a production shape whose capacity is estimated: what the plan
// changes of it.
type shape struct {
	pods, pool int
	// maxConn is the database server's max_connections; 0 without one.
	maxConn    int
	dbClass    string
	cacheNodes int
	cacheType  string
}

// serverSlots is the database server's connections left to the
// application under maxConn: max_connections less the reserved ones.
func (p *planning) serverSlots(maxConn int) int {
	if p.topo.Database == nil || maxConn <= 0 {
		return 0
	}
	return maxConn - p.topo.Database.ReservedConnections
}

// serverConnCapacity is the rate at which the application's connections in
// use reach the server's slots, by Little's law (L = λW, so λ = L ÷ W):
// (max_connections − reserved) ÷ hold time. It limits a shape only when
// its pools can open more connections than there are slots, pods × pool >
// slots (a pooler in front opens at most the slots); otherwise the pools
// fill first, at pods × pool ÷ hold. +Inf when nothing says.
func (p *planning) serverConnCapacity(s shape) float64 {
	slots := p.serverSlots(s.maxConn)
	if p.holdSec <= 0 || slots <= 0 || s.pods*s.pool <= slots {
		return math.Inf(1)
	}
	return float64(slots) / p.holdSec
}

// capacity estimates what a production shape carries and what limits it:
// the lowest of the pods, the DB pool, the database server's connections,
// the database and the cache.
//
// The pool model applies when the pool differs from what was measured, or
// when a pod's rate was extrapolated (from its CPU or the USL) rather than
// measured: a measured rate already includes the pool as tested, an
// extrapolated one goes past what the pool was tested at.
func (p *planning) capacity(s shape) (float64, string) {
	c, limit := float64(s.pods)*p.perPod, "pods"
	if p.holdSec > 0 && s.pool > 0 && (s.pool != p.tested.DBPoolSize || p.perPodSource != "measured") {
		if pc := float64(s.pods*s.pool) / p.holdSec; pc < c {
			c, limit = pc, "db_pool"
		}
	}
	if sc := p.serverConnCapacity(s); sc < c {
		c, limit = sc, model.KindDBServerConnections
	}
	if dc := p.dbCapacity(s.dbClass); dc < c {
		c, limit = dc, "database"
	}
	if cc := p.cacheCapacity(s.cacheNodes, s.cacheType); cc < c {
		c, limit = cc, "cache"
	}
	return c, limit
}
