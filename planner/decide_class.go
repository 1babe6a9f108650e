package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/headroom-sh/headroom/model"
)

// A move to a larger class is what the database and cache decisions share
// (decide_database.go, decide_cache.go): pick the class from the price
// catalog, price the tier before and after, and draft the vertical change;
// each decision adds its own id, title, reasons and assumptions.

// classMove is a tier that needs more vCPUs than its class has.
type classMove struct {
	// kind and engine select the price entries (model.PriceDatabase, …).
	kind, engine string
	// cur is the tier's current entry, from its name.
	cur  model.PriceEntry
	from string
	// needVCPU is what the tier needs at the target.
	needVCPU float64
	// tier names it in the change: "the database", "the cache nodes".
	tier string
	// monthly is the tier's monthly cost with a given class.
	monthly func(class string) float64
	// noFit is the assumption recorded when the catalog has no larger class.
	noFit string
}

// moveUp picks the class m moves to and drafts the vertical change; when
// the catalog has none it records m.noFit and reports false.
func (p *planning) moveUp(m classMove) (model.PriceEntry, model.PlanChange, bool) {
	next, ok := p.largerClass(m.kind, m.cur, m.needVCPU, m.engine)
	if !ok {
		p.assume("%s", m.noFit)
		return model.PriceEntry{}, model.PlanChange{}, false
	}
	p.used[next.Key()] = next
	return next, model.PlanChange{
		Kind:             model.ChangeVertical,
		What:             fmt.Sprintf("Move %s from %s to %s", m.tier, m.from, next.Name),
		From:             m.from,
		To:               next.Name,
		MonthlyCostDelta: m.monthly(next.Name) - m.monthly(m.from),
	}, true
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
