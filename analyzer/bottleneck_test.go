package analyzer

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

func TestAnalyzeAttribution(t *testing.T) {
	tests := []struct {
		name  string
		sys   synth
		check func(t *testing.T, a model.Analysis)
	}{
		{"a pool saturated before CPU is named the bottleneck, with both loads reported", poolBound(), func(t *testing.T, a model.Analysis) {
			bn := a.Bottleneck
			if bn.Resource != model.KindDBPool {
				t.Fatalf("bottleneck = %q (%s), want db_pool", bn.Resource, bn.Evidence)
			}
			if bn.SaturatedAtRPS == nil || !near(*bn.SaturatedAtRPS, 380, 20) {
				t.Errorf("saturated at %v RPS, want ~380", bn.SaturatedAtRPS)
			}
			if a.BreakingPoint == nil || a.BreakingPoint.Reason != model.ReasonLatencySLO {
				t.Fatalf("breaking point = %+v, want latency_slo", a.BreakingPoint)
			}
			if !near(a.BreakingPoint.RPS, 524, 15) || !near(a.BreakingPoint.VUs, 357, 12) {
				t.Errorf("breaking point at %.0f VUs / %.0f RPS, want ~357 / ~524", a.BreakingPoint.VUs, a.BreakingPoint.RPS)
			}
			if bn.BreakingRPS != a.BreakingPoint.RPS {
				t.Errorf("bottleneck.breaking_rps = %v, want the breaking point's %v", bn.BreakingRPS, a.BreakingPoint.RPS)
			}
			for _, want := range []string{"pgxpool reached 90% of its limit (20 connections)", "/20 connections in use at the breaking point", "queueing (waiting acquirers) rose", "p95 crossed the 800 ms SLO"} {
				if !strings.Contains(bn.Evidence, want) {
					t.Errorf("evidence %q lacks %q", bn.Evidence, want)
				}
			}
			if cpu := percentOf(bn.Evidence, "CPU"); !near(cpu, 41, 4) {
				t.Errorf("evidence %q gives CPU at %v%% where the pool saturated, want ~41%%", bn.Evidence, cpu)
			}
			if bn.Confidence != model.ConfidenceHigh {
				t.Errorf("confidence = %s, want high", bn.Confidence)
			}
			cpu := resourceByKind(a, model.KindCPU)
			if cpu == nil || cpu.Saturated || cpu.Rank < 2 {
				t.Fatalf("CPU = %+v, want ranked after the pool and not saturated", cpu)
			}
			if cpu.UtilizationAtBreak == nil || !near(*cpu.UtilizationAtBreak, 0.15+0.00068*524, 0.03) {
				t.Errorf("CPU utilization at break = %v, want ~0.51", cpu.UtilizationAtBreak)
			}
			if a.Resources[0].Kind != model.KindDBPool || a.Resources[0].Rank != 1 {
				t.Errorf("first resource = %s rank %d, want db_pool rank 1", a.Resources[0].Kind, a.Resources[0].Rank)
			}
		}},
		{"a CPU-bound system with an idle pool names CPU", cpuBound(), func(t *testing.T, a model.Analysis) {
			if a.Bottleneck.Resource != model.KindCPU {
				t.Fatalf("bottleneck = %q (%s), want cpu", a.Bottleneck.Resource, a.Bottleneck.Evidence)
			}
			if p := resourceByKind(a, model.KindDBPool); p == nil || p.Saturated {
				t.Errorf("pool = %+v, want not saturated", p)
			}
		}},
		{"Redis at one core is named although the machine has idle cores", redisBound(), func(t *testing.T, a model.Analysis) {
			if a.Bottleneck.Resource != model.KindRedis {
				t.Fatalf("bottleneck = %q (%s), want redis", a.Bottleneck.Resource, a.Bottleneck.Evidence)
			}
			if c := resourceByKind(a, model.KindCPU); c == nil || c.Saturated {
				t.Errorf("CPU = %+v, want not saturated", c)
			}
		}},
		{"a busy but unsaturated CPU is not blamed when nothing breaks", busyUnsaturated(), func(t *testing.T, a model.Analysis) {
			if a.BreakingPoint != nil {
				t.Fatalf("breaking point = %+v, want none", a.BreakingPoint)
			}
			if a.Bottleneck.Resource != model.BottleneckNone {
				t.Fatalf("bottleneck = %q (%s), want none", a.Bottleneck.Resource, a.Bottleneck.Evidence)
			}
			if cpu := percentOf(a.Bottleneck.Evidence, "CPU"); !near(cpu, 70, 5) {
				t.Errorf("evidence %q gives CPU at %v%%, want ~70%%", a.Bottleneck.Evidence, cpu)
			}
		}},
		{"a busy but unsaturated CPU is not blamed when the system breaks", busyBreaks(), func(t *testing.T, a model.Analysis) {
			if a.BreakingPoint == nil {
				t.Fatal("no breaking point, want latency_slo")
			}
			if a.Bottleneck.Resource != model.BottleneckUnknown {
				t.Fatalf("bottleneck = %q (%s), want unknown", a.Bottleneck.Resource, a.Bottleneck.Evidence)
			}
			if c := resourceByKind(a, model.KindCPU); c == nil || c.Saturated {
				t.Errorf("CPU = %+v, want not saturated", c)
			}
		}},
		{"no resource detected says unknown and lists the families looked for", noResources(), func(t *testing.T, a model.Analysis) {
			bn := a.Bottleneck
			if bn.Resource != model.BottleneckUnknown {
				t.Fatalf("bottleneck = %q, want unknown", bn.Resource)
			}
			if !strings.Contains(bn.Evidence, "add exporters") || !strings.Contains(bn.Evidence, "pgxpool_*") {
				t.Errorf("evidence %q does not ask for exporters and list the families", bn.Evidence)
			}
			if len(bn.LookedFor) != 6 {
				t.Errorf("looked_for = %v, want the 6 families", bn.LookedFor)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyze(t, tt.sys, Options{})
			tt.check(t, a)
		})
	}
}

func TestEndpointAttribution(t *testing.T) {
	a := analyze(t, poolBound(), Options{})
	if len(a.SlowestEndpoints) != 2 {
		t.Fatalf("slowest endpoints = %+v, want 2", a.SlowestEndpoints)
	}
	orders, products := a.SlowestEndpoints[0], a.SlowestEndpoints[1]
	if orders.Endpoint != "POST /orders" || orders.Stage != "stage-j" {
		t.Fatalf("slowest = %+v, want POST /orders at the peak stage", orders)
	}
	if orders.Resource != model.KindDBPool || orders.Signal != "saturation" || orders.Explains < 0.8 {
		t.Errorf("POST /orders attributed to %s %s (R² %.2f), want the pool's queueing explaining most of it", orders.Resource, orders.Signal, orders.Explains)
	}
	if !strings.HasPrefix(orders.Evidence, "POST /orders: DB connection pool queueing explains ") {
		t.Errorf("evidence = %q", orders.Evidence)
	}
	if products.Resource != "" || !strings.Contains(products.Evidence, "latency flat") {
		t.Errorf("GET /products/{id} = %+v, want its flat latency left unattributed", products)
	}
	if orders.BaselineP99Ms <= 0 || orders.P99Ms < 5*orders.BaselineP99Ms {
		t.Errorf("p99 %v at peak vs %v at the lightest load, want a large growth", orders.P99Ms, orders.BaselineP99Ms)
	}
}

func TestRootCauseWinsATie(t *testing.T) {
	// Redis and the Redis client pool saturate at the same load: the
	// server is blamed, the pool is its symptom.
	s := redisBound()
	s.resources[1].usage = func(r, _ float64) float64 { return 100 * r / 420 }
	a := analyze(t, s, Options{})
	if a.Bottleneck.Resource != model.KindRedis {
		t.Fatalf("bottleneck = %s (%s), want redis", a.Bottleneck.Resource, a.Bottleneck.Evidence)
	}
	if p := resourceByKind(a, model.KindRedisPool); p == nil || !p.Saturated || p.Rank != 2 {
		t.Errorf("redis pool = %+v, want saturated and ranked second", p)
	}
	if a.Bottleneck.Confidence != model.ConfidenceMedium {
		t.Errorf("confidence = %s, want medium when two resources saturate together", a.Bottleneck.Confidence)
	}
}

// hostShared is an application whose own processes use a fifth of their 2
// cores while PostgreSQL on the same 2-core host fills the host's CPU at
// ~300 RPS; throughput then stops rising and p95 grows.
func hostShared() synth {
	rps := table(rampVUs, []float64{80, 160, 230, 285, 300, 304, 306, 307, 308, 308})
	over := func(v float64) float64 { return math.Max(0, v-200) }
	return synth{
		levels: rampVUs, noise: 0.02, seed: 11,
		rps: rps,
		p95: func(_, v float64) float64 { return 40 + 4*over(v) },
		resources: []synthResource{
			{kind: model.KindCPU, name: "CPU", family: "process", unit: "cores", satUnit: "throttled fraction",
				limit: 2, usage: func(r, _ float64) float64 { return 0.4 * r / 308 }, sat: func(float64, float64) float64 { return 0 }},
			{kind: model.KindHostCPU, name: "Host CPU", family: "node_exporter", unit: "cores", satUnit: "waiting tasks",
				limit: 2, usage: func(r, _ float64) float64 { return math.Min(2, 2*r/300) }, sat: func(_, v float64) float64 { return over(v) / 40 }},
			{kind: model.KindDBPool, name: "DB connection pool", family: "pgxpool", unit: "connections", satUnit: "waiting acquirers",
				limit: 20, usage: func(r, _ float64) float64 { return 8 * r / 308 }, sat: func(float64, float64) float64 { return 0 }},
		},
	}
}

func TestHostCPU(t *testing.T) {
	t.Run("host CPU saturated while the process is idle is named, and the analysis says something else takes the CPU", func(t *testing.T) {
		a := analyze(t, hostShared(), Options{})
		bn := a.Bottleneck
		if bn.Resource != model.KindHostCPU {
			t.Fatalf("bottleneck = %q (%s), want host_cpu", bn.Resource, bn.Evidence)
		}
		if !strings.Contains(bn.Evidence, "while the service's own processes used only") || !strings.Contains(bn.Evidence, "something else on the host") {
			t.Errorf("evidence %q does not say the process was idle while the host was full", bn.Evidence)
		}
		if p := percentOf(bn.Evidence, "used only"); !near(p, 20, 5) {
			t.Errorf("evidence %q gives the process at %v%%, want ~20%%", bn.Evidence, p)
		}
		var w *model.Warning
		for i := range a.Warnings {
			if a.Warnings[i].Kind == "host_cpu_contention" {
				w = &a.Warnings[i]
			}
		}
		if w == nil {
			t.Errorf("warnings %+v, want host_cpu_contention", a.Warnings)
		}
		if c := resourceByKind(a, model.KindCPU); c == nil || c.Saturated {
			t.Errorf("process CPU = %+v, want not saturated", c)
		}
	})
	t.Run("a service that fills the host with its own processes is CPU-bound, not host-bound", func(t *testing.T) {
		s := hostShared()
		s.resources[0].usage = func(r, _ float64) float64 { return math.Min(2, 1.8*r/300) }
		a := analyze(t, s, Options{})
		if a.Bottleneck.Resource != model.KindCPU {
			t.Fatalf("bottleneck = %q (%s), want cpu", a.Bottleneck.Resource, a.Bottleneck.Evidence)
		}
		for _, w := range a.Warnings {
			if w.Kind == "host_cpu_contention" {
				t.Errorf("warning %q for a host the service itself fills", w.Message)
			}
		}
	})
}

// poolThenHost is the application of the issue: a DB pool of 4 fills at
// ~100 RPS, yet goodput keeps rising to ~122 RPS, where the 2-core host it
// shares with PostgreSQL saturates; the app's own process uses a quarter
// of its CPU. p95 grows past the knee.
func poolThenHost() synth {
	levels := []float64{2, 4, 6, 8, 10, 12, 14, 16, 20, 24}
	rps := table(levels, []float64{40, 72, 96, 104, 110, 116, 120, 122, 122, 122})
	return synth{
		levels: levels, noise: 0.015, seed: 21,
		rps: rps,
		p95: func(_, v float64) float64 { return 30 + 6*math.Max(0, v-8)*math.Max(0, v-8) },
		resources: []synthResource{
			{kind: model.KindDBPool, name: "DB connection pool", family: "app_db", unit: "connections", satUnit: "waiting callers",
				limit: 4, usage: func(r, _ float64) float64 { return math.Min(4, 4*r/98) }, sat: func(r, v float64) float64 { return math.Max(0, v-7) * 0.5 }},
			{kind: model.KindCPU, name: "CPU", family: "process", unit: "cores", satUnit: "throttled fraction",
				limit: 2, usage: func(r, _ float64) float64 { return 0.5 * r / 122 }, sat: func(float64, float64) float64 { return 0 }},
			{kind: model.KindHostCPU, name: "Host CPU", family: "node_exporter", unit: "cores", satUnit: "waiting tasks",
				limit: 2, usage: func(r, _ float64) float64 { return math.Min(2, 2*r/121) }, sat: func(r, v float64) float64 { return math.Max(0, v-14) * 0.2 }},
		},
	}
}

// poolStillRising fills its pool of 10 at ~200 RPS and keeps carrying more
// up to 300 RPS, well within the SLO: the pool is busy, not limiting.
func poolStillRising() synth {
	return synth{
		levels: rampVUs, noise: 0.02, seed: 22,
		rps: func(v float64) float64 { return 0.6 * v },
		p95: func(r, _ float64) float64 { return 50 + r/20 },
		resources: []synthResource{
			{kind: model.KindDBPool, name: "DB connection pool", family: "pgxpool", unit: "connections", satUnit: "waiting acquirers",
				limit: 10, usage: func(r, _ float64) float64 { return math.Min(10, 10*r/190) }, sat: func(float64, float64) float64 { return 0 }},
			{kind: model.KindCPU, name: "CPU", family: "process", unit: "cores", satUnit: "throttled fraction",
				limit: 4, usage: func(r, _ float64) float64 { return 4 * 0.5 * r / 300 }, sat: func(float64, float64) float64 { return 0 }},
		},
	}
}

func warningWith(a model.Analysis, kind, text string) *model.Warning {
	for i := range a.Warnings {
		if a.Warnings[i].Kind == kind && strings.Contains(a.Warnings[i].Message, text) {
			return &a.Warnings[i]
		}
	}
	return nil
}

func TestCausality(t *testing.T) {
	t.Run("a pool that fills while throughput keeps rising is saturated, not limiting", func(t *testing.T) {
		a := analyze(t, poolStillRising(), Options{})
		p := resourceByKind(a, model.KindDBPool)
		if p == nil || !p.Saturated || !p.NotLimiting {
			t.Fatalf("pool = %+v, want saturated and not limiting", p)
		}
		if p.GoodputAtSaturationRPS == nil || p.GoodputAfterRPS == nil || !near(*p.GoodputAtSaturationRPS, 190, 15) || !near(*p.GoodputAfterRPS, 295, 15) {
			t.Errorf("goodput %v at saturation and %v after, want ~190 and ~295", p.GoodputAtSaturationRPS, p.GoodputAfterRPS)
		}
		if a.Bottleneck.Resource != model.BottleneckNone {
			t.Errorf("bottleneck = %q (%s), want none: nothing broke and the pool did not stop throughput", a.Bottleneck.Resource, a.Bottleneck.Evidence)
		}
		if w := warningWith(a, "signals_disagree", "a saturated resource but throughput still rising"); w == nil || !strings.Contains(w.Message, "not limiting yet") {
			t.Errorf("warnings %+v, want one saying the pool is saturated but throughput still rising", a.Warnings)
		}
		if !strings.Contains(p.Evidence, "kept rising") {
			t.Errorf("pool evidence %q does not say throughput kept rising", p.Evidence)
		}
	})
	t.Run("a pool full before the host CPU saturates at the ceiling is a symptom, and the experiment raises the pool", func(t *testing.T) {
		a := analyze(t, poolThenHost(), Options{SLOP95: 300 * time.Millisecond})
		bn := a.Bottleneck
		if bn.Resource != model.KindHostCPU {
			t.Fatalf("bottleneck = %q (%s), want host_cpu", bn.Resource, bn.Evidence)
		}
		p := resourceByKind(a, model.KindDBPool)
		if p == nil || !p.NotLimiting || !near(*p.GoodputAtSaturationRPS, 100, 8) || !near(*p.GoodputAfterRPS, 122, 5) {
			t.Fatalf("pool = %+v, want not limiting, full at ~100 RPS with goodput rising to ~122", p)
		}
		if bn.Contender != model.KindDBPool || bn.Experiment == nil {
			t.Fatalf("contender %q, experiment %+v; want the pool and an experiment", bn.Contender, bn.Experiment)
		}
		e := bn.Experiment
		if e.Resource != model.KindDBPool || e.From != 4 || e.To != 8 {
			t.Errorf("experiment = %+v, want the pool raised from 4 to 8", e)
		}
		for _, want := range []string{"raise the DB connection pool from 4 to 8 connections in a short run", "if it does not move, DB connection pool is a symptom and Host CPU is the limit"} {
			if !strings.Contains(e.Text, want) {
				t.Errorf("experiment %q lacks %q", e.Text, want)
			}
		}
		if !strings.Contains(bn.Evidence, "the evidence favours Host CPU: DB connection pool was full from") {
			t.Errorf("evidence %q does not say why the host CPU is favoured", bn.Evidence)
		}
		if warningWith(a, "host_cpu_contention", "used only") == nil {
			t.Errorf("warnings %+v, want the host busy while the process is not", a.Warnings)
		}
	})
	t.Run("a pool and CPU saturating together: the evidence favours CPU, and raising the pool tells them apart", func(t *testing.T) {
		s := cpuBound()
		// The pool fills exactly as the CPU does.
		s.resources[0].usage = func(r, _ float64) float64 { return math.Min(20, 20*r/500) }
		a := analyze(t, s, Options{})
		bn := a.Bottleneck
		if bn.Resource != model.KindCPU || bn.Contender != model.KindDBPool {
			t.Fatalf("bottleneck %q with contender %q (%s), want cpu with db_pool", bn.Resource, bn.Contender, bn.Evidence)
		}
		if bn.Confidence != model.ConfidenceMedium {
			t.Errorf("confidence %s, want medium when two resources saturate together", bn.Confidence)
		}
		if e := bn.Experiment; e == nil || e.Resource != model.KindDBPool || e.From != 20 || e.To != 40 || !strings.Contains(e.IfFlat, "DB connection pool is a symptom and CPU is the limit") {
			t.Errorf("experiment = %+v, want the pool raised from 20 to 40", e)
		}
		if !strings.Contains(bn.Evidence, "a full DB connection pool is more often a symptom of a slow CPU") {
			t.Errorf("evidence %q does not say why CPU is favoured", bn.Evidence)
		}
	})
	t.Run("a pool full well below a plateau nothing measured explains is not blamed, and raising it is the check offered", func(t *testing.T) {
		s := poolThenHost()
		s.resources = s.resources[:2] // no host CPU measured
		// An SLO the test never reaches: the throughput ceiling (the
		// plateau or the USL peak at ~122 RPS) is the breaking point.
		a := analyze(t, s, Options{SLOP95: 5 * time.Second})
		if a.BreakingPoint == nil || !throughputCeiling(a.BreakingPoint.Reason) || !near(a.BreakingPoint.RPS, 122, 8) {
			t.Fatalf("breaking point = %+v, want the ceiling at ~122 RPS", a.BreakingPoint)
		}
		bn := a.Bottleneck
		if bn.Resource != model.BottleneckUnknown {
			t.Fatalf("bottleneck = %q (%s), want unknown", bn.Resource, bn.Evidence)
		}
		if !strings.Contains(bn.Evidence, "DB connection pool saturated at") || !strings.Contains(bn.Evidence, "but is not limiting: goodput kept rising from") {
			t.Errorf("evidence %q does not say the pool filled without limiting", bn.Evidence)
		}
		if e := bn.Experiment; e == nil || e.Resource != model.KindDBPool || e.From != 4 || e.To != 8 || !strings.Contains(e.IfFlat, "is a symptom and the limit is something else") {
			t.Errorf("experiment = %+v, want the pool raised from 4 to 8", e)
		}
	})
	t.Run("a single bottleneck gets no contender and no experiment", func(t *testing.T) {
		a := analyze(t, cpuBound(), Options{})
		if a.Bottleneck.Contender != "" || a.Bottleneck.Experiment != nil {
			t.Errorf("contender %q, experiment %+v; want none", a.Bottleneck.Contender, a.Bottleneck.Experiment)
		}
	})
}

func TestEndpointAttributionNamesOnlyEndpointsWhoseLatencyGrew(t *testing.T) {
	s := poolBound()
	// A sub-millisecond endpoint whose p95 follows the overall p95 a
	// little: 0.3 ms at light load, about 0.7 ms at peak.
	s.endpoints = append(s.endpoints, synthEndpoint{name: "GET /health", share: 0.05, p95: func(o float64) float64 { return 0.3 + o/2000 }})
	// An endpoint that does not use the pool, whose latency follows the
	// CPU a little (20 → 26 ms), and one that waits for the pool.
	s.endpoints[1].p95 = func(o float64) float64 { return 20 + o/200 }
	a := analyze(t, s, Options{})
	byName := map[string]model.EndpointAttribution{}
	for _, e := range a.SlowestEndpoints {
		byName[e.Endpoint] = e
	}
	if len(a.SlowestEndpoints) == 0 || a.SlowestEndpoints[0].Endpoint != "POST /orders" {
		t.Fatalf("slowest endpoints %+v, want POST /orders first", a.SlowestEndpoints)
	}
	tests := []struct {
		name, endpoint, resource, evidence string
	}{
		{"the endpoint that waits for the saturated pool is attributed to it", "POST /orders", model.KindDBPool, "DB connection pool queueing explains"},
		{"an endpoint whose latency grew by a fraction of a millisecond gets no attribution", "GET /health", "", "less than 8 ms more); nothing to attribute"},
		{"an endpoint that does not use the pool and grew by a few milliseconds is not blamed on the pool", "GET /products/{id}", "", "nothing to attribute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := byName[tt.endpoint]
			if !ok {
				t.Fatalf("%s is not among the slowest endpoints %+v", tt.endpoint, a.SlowestEndpoints)
			}
			if e.Resource != tt.resource {
				t.Errorf("%s attributed to %q (%s), want %q", tt.endpoint, e.Resource, e.Evidence, tt.resource)
			}
			if !strings.Contains(e.Evidence, tt.evidence) {
				t.Errorf("evidence %q lacks %q", e.Evidence, tt.evidence)
			}
		})
	}
}

func TestUnknownBottleneckPointsAtMetricsThatLookLikeAResource(t *testing.T) {
	s := noResources()
	s.missing[0].Candidates = []string{"shop_db_connections_in_use", "shop_db_connections_max"}
	s.missing[0].CatalogSnippet = "resources:\n  - kind: db_pool\n"
	a := analyze(t, s, Options{})
	if a.Bottleneck.Resource != model.BottleneckUnknown {
		t.Fatalf("bottleneck = %q, want unknown", a.Bottleneck.Resource)
	}
	want := "metrics that look like DB connection pool (shop_db_connections_in_use, shop_db_connections_max) were seen but no catalog family reads them: declare them with --catalog FILE"
	if !strings.Contains(a.Bottleneck.Evidence, want) {
		t.Errorf("evidence %q lacks %q", a.Bottleneck.Evidence, want)
	}
	if a.Missing[0].CatalogSnippet == "" {
		t.Errorf("missing[0] lost its snippet: %+v", a.Missing[0])
	}
}

// oneStage folds a run's stages into one, as a smooth ramp records them.
func oneStage(obs model.Observations) model.Observations {
	all := model.StageObservation{Name: "ramp", Executor: "ramping-vus", Start: obs.Stages[0].Start, End: obs.Stages[len(obs.Stages)-1].End}
	eps := map[string]*model.EndpointObservation{}
	var order []string
	var bs [][]model.Bucket
	for _, s := range obs.Stages {
		all.VUs = math.Max(all.VUs, s.VUs)
		all.Requests += s.Requests
		all.Errors += s.Errors
		all.SumSeconds += s.SumSeconds
		bs = append(bs, s.Buckets)
		for _, e := range s.Endpoints {
			x, ok := eps[e.Endpoint]
			if !ok {
				x = &model.EndpointObservation{Endpoint: e.Endpoint}
				eps[e.Endpoint] = x
				order = append(order, e.Endpoint)
			}
			x.Requests += e.Requests
			x.Errors += e.Errors
			x.SumSeconds += e.SumSeconds
			x.Buckets = mergeBuckets(x.Buckets, e.Buckets)
		}
	}
	all.Buckets = mergeBuckets(bs...)
	for _, n := range order {
		all.Endpoints = append(all.Endpoints, *eps[n])
	}
	obs.Stages = []model.StageObservation{all}
	for i := range obs.Series {
		obs.Series[i].Stage = "ramp"
	}
	return obs
}

func TestEndpointAttributionOnASmoothRampInOneStage(t *testing.T) {
	s := poolBound()
	s.endpoints = append(s.endpoints, synthEndpoint{name: "GET /health", share: 0.05, p95: func(o float64) float64 { return 0.3 + o/2000 }})
	a, err := Analyze(oneStage(s.observations()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range a.SlowestEndpoints {
		got[e.Endpoint] = e.Resource
	}
	want := map[string]string{"POST /orders": model.KindDBPool, "GET /products/{id}": "", "GET /health": ""}
	for ep, res := range want {
		if r, ok := got[ep]; !ok || r != res {
			t.Errorf("%s attributed to %q (present %v), want %q; slowest %+v", ep, r, ok, res, a.SlowestEndpoints)
		}
	}
}
