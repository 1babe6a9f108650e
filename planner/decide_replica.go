package planner

import (
	"fmt"

	"github.com/headroom-sh/headroom/model"
)

// decideReplica suggests a read replica when reads carry most of the
// request time and the database needs more capacity.
func (p *planning) decideReplica() {
	d := p.topo.Database
	if d == nil {
		return
	}
	share := p.out.Measured.ReadShare
	needsHelp := p.dbClassNew != d.InstanceClass || bottleneckClass(p.bottleneck) == boundDB
	if share < readShareForReplica || !needsHelp {
		return
	}
	cost := p.priceOf(model.PriceDatabase, p.dbClassNew, d.Engine).Monthly(p.hours())
	p.add(model.PlanChange{
		ID: model.ChangeIDReadReplica, Kind: model.ChangeReplica, Title: "Read replica",
		What: fmt.Sprintf("Consider a %s read replica", p.dbClassNew),
		From: fmt.Sprint(d.Replicas), To: fmt.Sprint(d.Replicas + 1),
		Why: fmt.Sprintf("GET and HEAD endpoints carry %s of the request time in the test, a proxy for the database's read share. A replica would take that load off the primary: room beyond the forecast, or a way to defer the next class. It needs the application to send reads to the replica and tolerate replication lag.",
			pct(share)),
		Numbers:          map[string]float64{"read_share_ratio": share},
		MonthlyCostDelta: cost,
		Optional:         true, Assumption: true,
		AssumptionNote: "The read share is estimated from request time per endpoint, not measured in the database.",
	})
}
