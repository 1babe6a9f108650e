package planner

import (
	"fmt"
	"math"

	"github.com/headroom-sh/headroom/model"
)

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
