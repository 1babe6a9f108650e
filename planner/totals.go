package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/headroom-sh/headroom/model"
)

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
	t.ExpectedCapacityRPS, t.ExpectedLimit = p.capacity(p.newShape())
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
		if u, ok := p.cacheUtilAt(p.topo.Baseline.RPS, p.cacheNodesNew, p.cacheTypeNew); ok && p.cache.fromProd {
			prop.Cache.CPUUtilization = round(u, 3)
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
