package analyzer

import (
	"math"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// flowBurst is the flow shape's smooth closed ramp as the accuracy sweep saw
// it: 1 to 34 VUs over 60 s, read every 2 s; a pool of 5 connections held
// 40 ms by one request in three (capacity 375 RPS), goodput flat near 369
// RPS from about 12 VUs. The pool's in-use gauge, averaged over four 1-s
// scrapes, reads full for two points at 265 RPS — a burst of queueing on a
// busy host — falls back to what the load needs, and fills for good at the
// plateau.
func flowBurst() model.Observations {
	obs := model.Observations{RunID: "flow", Start: t0, StepMs: 2000, LoadModel: model.LoadClosed,
		LoadSource: "headroom_request_duration_seconds"}
	pool := model.ResourceObservation{Kind: model.KindDBPool, Name: "DB connection pool", Family: "go_sql",
		Unit: "connections", SaturationUnit: "waiting callers"}
	const n, capacity, z = 30, 369.0, 12 / 369.0 // points; RPS; s per request and VU without queueing
	burst := -1
	for i := range n {
		vus := 1 + 33*float64(i)/(n-1)
		x := softMin(vus/z, capacity) * (1 + 0.01*math.Sin(float64(7*i)))
		if burst < 0 && x >= 265 {
			burst = i
		}
		r := math.Max(z, vus/x) // s per cycle
		p95 := 1000 * (0.02 + 1.6*(r-z))
		ts := t0.Add(time.Duration(i+1) * 2 * time.Second)
		obs.Series = append(obs.Series, model.LoadPoint{Time: ts, Stage: "ramp", VUs: vus, RPS: x,
			P50Ms: p95 / 3, P95Ms: p95, P99Ms: 1.4 * p95, MeanMs: p95 / 2, InFlight: x * p95 / 2000})
		u := math.Min(1, x/375)
		if burst >= 0 && i <= burst+1 {
			u = 1
		}
		pool.Points = append(pool.Points, model.ResourcePoint{Time: ts, Usage: 5 * u, Limit: 5, HasLimit: true,
			Utilization: u, Saturation: math.Max(0, vus-12) * 0.8, HasSaturation: true})
	}
	obs.End = t0.Add((n + 1) * 2 * time.Second)
	obs.Resources = []model.ResourceObservation{pool}
	return obs
}

// A pool whose gauge reads full in a short burst well before the plateau,
// then again from the plateau on, filled where throughput stopped rising:
// it is the bottleneck, not "saturated, not limiting".
func TestABurstOfFullnessBeforeThePlateauDoesNotMakeAResourceNotLimiting(t *testing.T) {
	a, err := Analyze(flowBurst(), Options{SLOP95: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p := resourceByKind(a, model.KindDBPool)
	if p == nil || !p.Saturated {
		t.Fatalf("pool = %+v, want saturated", p)
	}
	if p.NotLimiting {
		t.Errorf("pool not limiting: full from %v RPS with goodput rising to %v; want full where throughput stopped rising", *p.GoodputAtSaturationRPS, *p.GoodputAfterRPS)
	}
	if p.GoodputAtSaturationRPS != nil && *p.GoodputAtSaturationRPS < 320 {
		t.Errorf("full at %.0f RPS, want at the plateau (~369): a two-point burst is not the pool being full", *p.GoodputAtSaturationRPS)
	}
	if a.Bottleneck.Resource != model.KindDBPool {
		t.Errorf("bottleneck = %q (%s), want db_pool", a.Bottleneck.Resource, a.Bottleneck.Evidence)
	}
}
