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

// poolRamp40 is the pool shape's 40-second smooth closed ramp as measured
// end to end (10 connections, 40 ms per query, wrk's capacity 236 RPS):
// time since start (s), VUs, goodput (RPS), pool utilization and waiting
// callers, every 2 s. The gauge reads full at 17.5 VUs while the rate,
// still on the ramp's steep edge, reads 194 RPS; from the next point on,
// goodput is flat at 206–244.
var poolRamp40 = [][5]float64{
	{6, 5.5, 56, 0.225, 0}, {8, 8.5, 88.5, 0.575, 0}, {10, 11.5, 129, 0.65, 0.0032}, {12, 14.5, 167.5, 0.8, 0.1024},
	{14, 17.5, 193.5, 1, 0.4203}, {16, 20.5, 224.5, 1, 1.558}, {18, 23.5, 239, 1, 4.0897}, {20, 26.5, 238.5, 1, 7.1469},
	{22, 29.25, 227.5, 1, 9.1983}, {24, 32, 206, 1, 12.0949}, {26, 35, 224, 1, 15.8446}, {28, 38, 220, 1, 18.4168},
	{30, 41, 209, 1, 21.3977}, {32, 44, 229, 0.9, 22.9612}, {34, 47, 212, 0.9, 25.2844}, {36, 50, 244, 1, 30.2246},
	{38, 53, 235, 1, 33.1304}, {40, 56, 219.5, 1, 36.0012},
}

// On a fast ramp the goodput where a resource filled is read from the
// points from then on, not from the point before, when it was not full:
// the pool shape's 40-second ramp is bound by its pool.
func TestAPoolFullOnAFastRampIsTheBottleneck(t *testing.T) {
	obs := model.Observations{RunID: "pool", Start: t0, End: t0.Add(42 * time.Second), StepMs: 2000,
		LoadModel: model.LoadClosed, LoadSource: "headroom_request_duration_seconds"}
	pool := model.ResourceObservation{Kind: model.KindDBPool, Name: "DB connection pool", Family: "go_sql",
		Unit: "connections", SaturationUnit: "waiting callers"}
	for _, r := range poolRamp40 {
		ts := t0.Add(time.Duration(r[0]) * time.Second)
		// Little's law for VUs that think 20–60 ms.
		mean := math.Max(41, 1000*r[1]/r[2]-40)
		obs.Series = append(obs.Series, model.LoadPoint{Time: ts, Stage: "ramp", VUs: r[1], RPS: r[2],
			P50Ms: 0.8 * mean, P95Ms: 1.8 * mean, P99Ms: 2.2 * mean, MeanMs: mean, InFlight: r[2] * mean / 1000})
		pool.Points = append(pool.Points, model.ResourcePoint{Time: ts, Usage: 10 * r[3], Limit: 10, HasLimit: true,
			Utilization: r[3], Saturation: r[4], HasSaturation: true})
	}
	obs.Resources = []model.ResourceObservation{pool}
	a, err := Analyze(obs, Options{SLOP95: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if b := a.BreakingPoint; b == nil || b.Reason != model.ReasonSaturation {
		t.Fatalf("breaking point %+v, want saturation", b)
	}
	p := resourceByKind(a, model.KindDBPool)
	if p == nil || p.NotLimiting {
		t.Fatalf("pool = %+v, want saturated and limiting", p)
	}
	if a.Bottleneck.Resource != model.KindDBPool {
		t.Errorf("bottleneck = %q (%s), want db_pool", a.Bottleneck.Resource, a.Bottleneck.Evidence)
	}
}

// cpuOpen40 is the cpu shape's 40-second smooth open ramp as measured end
// to end (2.5 ms of CPU per request under a 0.25-core quota, wrk's
// capacity 98 RPS): time since start (s), offered iterations/s, goodput
// (RPS), CPU utilization of the quota and throttled fraction, every 2 s.
// The CPU counter's rate overshoots to 1.23 of the quota for two points,
// then holds 1.15–1.19.
var cpuOpen40 = [][5]float64{
	{4, 26.537, 23.156, 0.3333, 0}, {6, 31.693, 33.5, 0.4133, 0}, {8, 38.573, 40, 0.5067, 0}, {10, 45.447, 47, 0.6, 0},
	{12, 52.321, 54, 0.68, 0}, {14, 60.915, 61, 0.7467, 0}, {16, 66.07, 68, 0.8133, 0}, {18, 76.388, 74.5, 0.9333, 0},
	{20, 79.825, 81.5, 1, 0}, {22, 88.422, 88.5, 1.0933, 0.0333}, {24, 93.579, 95.5, 1.2267, 0.3}, {26, 100.454, 99, 1.2267, 0.9333},
	{28, 107.335, 98.5, 1.16, 1.0333}, {30, 114.21, 99, 1.16, 1}, {32, 121.086, 97.5, 1.1733, 1}, {34, 127.963, 97.5, 1.1867, 1},
	{36, 134.836, 96.5, 1.1733, 1}, {38, 141.716, 103, 1.1467, 1}, {40, 148.609, 98.5, 1.1467, 0.9667},
}

// A CPU whose rate overshoots its quota for a moment is full where it
// holds its level, at the ceiling: the cpu shape's open ramp is bound by
// its CPU, not "saturated, not limiting" from 78 RPS.
func TestACPUThatOvershootsItsQuotaIsFullWhereItHolds(t *testing.T) {
	obs := model.Observations{RunID: "cpu", Start: t0, End: t0.Add(42 * time.Second), StepMs: 2000,
		LoadModel: model.LoadOpen, LoadSource: "headroom_request_duration_seconds"}
	cpu := model.ResourceObservation{Kind: model.KindCPU, Name: "CPU", Family: "process",
		Unit: "cores", SaturationUnit: "throttled fraction"}
	for _, r := range cpuOpen40 {
		ts := t0.Add(time.Duration(r[0]) * time.Second)
		behind := math.Max(0, r[1]-r[2])
		p95 := 13 + 60*behind*(r[0]-22)
		if r[0] <= 22 {
			p95 = 13
		}
		mean := p95 / 2
		obs.Series = append(obs.Series, model.LoadPoint{Time: ts, Stage: "ramp", TargetRate: r[1], RPS: r[2],
			VUs: math.Ceil(r[2] * mean / 1000), DroppedRate: behind,
			P50Ms: mean / 2, P95Ms: p95, P99Ms: 1.3 * p95, MeanMs: mean, InFlight: r[2] * mean / 1000})
		cpu.Points = append(cpu.Points, model.ResourcePoint{Time: ts, Usage: 0.25 * r[3], Limit: 0.25, HasLimit: true,
			Utilization: r[3], Saturation: r[4], HasSaturation: true})
	}
	obs.Resources = []model.ResourceObservation{cpu}
	a, err := Analyze(obs, Options{SLOP95: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if b := a.BreakingPoint; b == nil {
		t.Fatalf("no breaking point; verdict %q", a.Verdict)
	}
	c := resourceByKind(a, model.KindCPU)
	if c == nil || c.NotLimiting || c.GoodputAtSaturationRPS == nil {
		t.Fatalf("cpu = %+v, want saturated and limiting", c)
	}
	if g := *c.GoodputAtSaturationRPS; g < 90 {
		t.Errorf("CPU full at %.1f RPS, want at the ceiling (~98): the overshoot to 1.23 is not the level it holds", g)
	}
	if w := warningWith(a, "signals_disagree", "a saturated resource but throughput still rising"); w != nil {
		t.Errorf("warning %q: the CPU was full where throughput stopped", w.Message)
	}
	if a.Bottleneck.Resource != model.KindCPU {
		t.Errorf("bottleneck = %q (%s), want cpu", a.Bottleneck.Resource, a.Bottleneck.Evidence)
	}
}
