package analyzer

import (
	"math"
	"strings"
	"testing"

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
				limit: 2, usage: func(r, _ float64) float64 { return math.Min(2, 0.2+1.85*r/300) }, sat: func(_, v float64) float64 { return over(v) / 40 }},
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
		s.resources[0].usage = func(r, _ float64) float64 { return math.Min(2, 1.85*r/300) }
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
