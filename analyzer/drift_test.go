package analyzer

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// soak is 30 minutes at a constant 100 VUs with a memory resource and a
// DB pool.
func soak() synth {
	return synth{
		levels: []float64{100}, stageLen: 30 * time.Minute, noise: 0.03, seed: 11,
		rps: func(v float64) float64 { return 4 * v },
		p95: func(r, v float64) float64 { return 200 },
		resources: []synthResource{
			{kind: model.KindMemory, name: "Memory", family: "process", unit: "bytes", limit: 2 << 30,
				usage: func(float64, float64) float64 { return 400 << 20 }},
			{kind: model.KindDBPool, name: "DB connection pool", family: "pgxpool", unit: "connections", satUnit: "waiting acquirers", limit: 20,
				usage: func(float64, float64) float64 { return 8 }, sat: func(float64, float64) float64 { return 0 }},
		},
	}
}

// drifting makes a soak's latency, memory and errors grow with time.
func drifting(o model.Observations) model.Observations {
	frac := func(t time.Time) float64 { return t.Sub(o.Start).Seconds() / o.End.Sub(o.Start).Seconds() }
	for i := range o.Series {
		f := frac(o.Series[i].Time)
		o.Series[i].P95Ms += 100 * f // +100 ms over 30 min: +200 ms/h
		if f > 0.5 {
			o.Series[i].ErrorRate = 0.01
		}
	}
	for i := range o.Resources[0].Points {
		p := &o.Resources[0].Points[i]
		p.Usage += 150 * (1 << 20) * frac(p.Time) // +150 MiB over 30 min
		p.Utilization = p.Usage / p.Limit
	}
	return o
}

func TestSoakDrift(t *testing.T) {
	a, err := Analyze(drifting(soak().observations()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]model.Warning{}
	for _, w := range a.Warnings {
		got[w.Kind] = w
	}
	lat, ok := got["latency_drift"]
	if !ok {
		t.Fatalf("warnings = %+v, want latency_drift", a.Warnings)
	}
	if !near(lat.Slope, 200, 30) || lat.SlopeUnit != "ms/h" {
		t.Errorf("latency slope = %v %s, want ~200 ms/h", lat.Slope, lat.SlopeUnit)
	}
	mem, ok := got["memory_growth"]
	if !ok {
		t.Fatalf("warnings = %+v, want memory_growth", a.Warnings)
	}
	if !near(mem.Slope/(1<<20), 300, 40) || mem.SlopeUnit != "bytes/h" {
		t.Errorf("memory slope = %v MiB/h, want ~300", mem.Slope/(1<<20))
	}
	if !strings.Contains(mem.Message, "reaches its limit of 2 GiB in ~") {
		t.Errorf("memory warning %q does not project the time to the limit", mem.Message)
	}
	late, ok := got["late_errors"]
	if !ok {
		t.Fatalf("warnings = %+v, want late_errors", a.Warnings)
	}
	// Errors start at 15 min; the halves split the stage after its
	// warm-up, at 16.5 min.
	if !strings.Contains(late.Message, "% in the first half, 1% in the second") || late.PValue > 0.001 {
		t.Errorf("late errors = %q", late.Message)
	}
	if _, ok := got["usage_drift"]; ok {
		t.Errorf("a flat pool was reported drifting: %+v", got["usage_drift"])
	}
}

func TestSteadySoakHasNoDriftWarnings(t *testing.T) {
	a := analyze(t, soak(), Options{})
	for _, w := range a.Warnings {
		t.Errorf("unexpected warning on a steady soak: %s: %s", w.Kind, w.Message)
	}
}

func TestShortOrRampingStagesAreNotCheckedForDrift(t *testing.T) {
	s := soak()
	s.stageLen = 5 * time.Minute
	a, err := Analyze(drifting(s.observations()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range a.Warnings {
		if strings.HasSuffix(w.Kind, "drift") || w.Kind == "memory_growth" {
			t.Errorf("a 5-minute stage was checked for drift: %s", w.Message)
		}
	}
	// A ramp within one long stage is not constant load.
	obs := drifting(soak().observations())
	for i := range obs.Series {
		obs.Series[i].VUs = 10 + float64(i)
	}
	a, err = Analyze(obs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range a.Warnings {
		if w.Kind == "latency_drift" {
			t.Errorf("a ramping stage was checked for drift: %s", w.Message)
		}
	}
	if math.IsNaN(a.TestedUpToRPS) {
		t.Error("tested_up_to_rps is NaN")
	}
}
