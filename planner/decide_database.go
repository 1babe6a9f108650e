package planner

import (
	"fmt"
	"math"
	"strings"

	"github.com/headroom-sh/headroom/model"
)

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
	next, ch, ok := p.moveUp(classMove{
		kind: model.PriceDatabase, engine: d.Engine, cur: cur, from: d.InstanceClass, needVCPU: needVCPU, tier: "the database",
		monthly: func(class string) float64 { return p.dbMonthly(class, d.Replicas, d.MultiAZ) },
		noFit: fmt.Sprintf("The database needs about %s vCPUs at the target but the price catalog has no larger %s class than %s; shard it or move reads to replicas.",
			num(needVCPU), d.Engine, d.InstanceClass),
	})
	if !ok {
		return
	}
	p.dbClassNew = next.Name
	nums["vcpu_before"], nums["vcpu_after"] = cur.VCPU, next.VCPU
	if u, ok := p.dbCPUAt(p.target, next.Name); ok {
		nums["cpu_at_target_after_ratio"] = u
		why = append(why, fmt.Sprintf("on %s (%s vCPUs) it would run at about %s", next.Name, num(next.VCPU), pct(u)))
	}
	ch.ID, ch.Title = model.ChangeIDDatabaseClass, "Database class"
	ch.Why, ch.Numbers = sentence(strings.Join(why, "; "))+replicaClause(d), nums
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
