package planner

import (
	"fmt"
	"math"

	"github.com/headroom-sh/headroom/model"
)

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
		p.raiseForPooler(ceiling)
		cost := float64(poolerReplicas) * p.podMonthly(poolerCPU, poolerMemory)
		slots := p.serverSlots(p.maxConnNew)
		ch := model.PlanChange{
			ID: model.ChangeIDPooler, Kind: model.ChangePooler, Title: "Connection pooler",
			What: fmt.Sprintf("Put PgBouncer (transaction pooling, %d replicas) between the pods and the database", poolerReplicas),
			Why: fmt.Sprintf("%s Raising it to %d would need more memory than %s has (about %d connections); PgBouncer multiplexes the pods' connections onto at most %d server connections. Transaction pooling needs protocol-level prepared statements (PgBouncer 1.21+) or none.",
				fitWhy, target, p.dbClassNew, ceiling, slots),
			Numbers:          nums,
			MonthlyCostDelta: cost,
		}
		if p.holdSec > 0 && slots > 0 {
			// The pooler adds no server connections: by Little's law its
			// slots carry (max_connections − reserved) ÷ hold.
			nums["server_connections_rps"] = float64(slots) / p.holdSec
			ch.Assumption = true
			ch.AssumptionNote = fmt.Sprintf("The pooler itself adds no server connections: its %d (max_connections %d less %d reserved), each held %s ms as a pool's connection is, carry %d ÷ %s ms = %s RPS by Little's law. Transaction pooling may hold a server connection for less than a request holds the pool's; the plan does not count that, and the verification test will show it.",
				slots, p.maxConnNew, d.ReservedConnections, num(p.holdSec*1000), slots, num(p.holdSec*1000), rps(float64(slots)/p.holdSec))
		}
		p.add(ch)
		return
	}
	p.assume("The application may open %d connections, more than %s's memory allows (about %d); put a pooler such as ProxySQL in front of MySQL or lower the pool sizes.",
		need, p.dbClassNew, ceiling)
}

// raiseForPooler raises max_connections, with a pooler in front, toward
// the server connections the required rate holds by Little's law
// (required RPS × hold time, plus the reserved ones), as far as the
// class's memory allows (ceiling): the pooler opens no more than
// max_connections − reserved, so without the raise it adds no capacity.
func (p *planning) raiseForPooler(ceiling int) {
	d := p.topo.Database
	if p.holdSec <= 0 {
		return
	}
	inUse := int(math.Ceil(p.required*p.holdSec - eps))
	need := inUse + d.ReservedConnections
	to := min(roundUp(need, 10), ceiling)
	if to <= d.MaxConnections {
		return
	}
	p.maxConnNew = to
	extra := model.Bytes(to-d.MaxConnections) * d.MemoryPerConnection
	short := ""
	if to < need {
		short = fmt.Sprintf(" It is short of the %d needed, and the capacity counts what it gives.", need)
	}
	p.add(model.PlanChange{
		ID: model.ChangeIDMaxConnections, Kind: model.ChangeConfig, Title: "max_connections",
		What: fmt.Sprintf("Raise the database's max_connections from %d to %d for the pooler's server connections", d.MaxConnections, to),
		From: fmt.Sprint(d.MaxConnections), To: fmt.Sprint(to),
		Why: fmt.Sprintf("Behind a pooler the server needs the connections the required rate holds, not one per pool slot: by Little's law %s RPS × %s ms = %s → %d, plus %d reserved = %d → %d (rounded up to ten, at most what memory allows). %d more connections take about %s MiB of the %s's memory (%s MiB each), which allows about %s by the RDS default formula.%s %s",
			rps(p.required), num(p.holdSec*1000), num2(p.required*p.holdSec), inUse, d.ReservedConnections, need, to,
			to-d.MaxConnections, num(extra.MiB()), p.dbClassNew, num2(d.MemoryPerConnection.MiB()), thousands(fmt.Sprint(ceiling)), short, applyNote(d.Engine)),
		Numbers: map[string]float64{
			"connection_hold_ms": p.holdSec * 1000, "required_rps": p.required, "server_connections_in_use": float64(inUse),
			"reserved_connections": float64(d.ReservedConnections), "needed_connections": float64(need),
			"max_connections_before": float64(d.MaxConnections), "max_connections_after": float64(to),
			"class_ceiling_connections": float64(ceiling), "extra_memory_mib": extra.MiB(),
		},
	})
}
