package analyzer

import (
	"math"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// saggingQuota is the shapes' cpu target in the closed model: a CPU quota
// worth 100 requests/s, VUs that think 200 ms, and throughput that sags by
// sag at the heaviest load (48 VUs) as the quota's throttling costs more
// with more runnable work; p95 crosses a 200 ms SLO only after the plateau
// began.
func saggingQuota(sag float64) shapeSys {
	const c, r0, z, hi = 100.0, 0.01, 0.2, 48.0
	return shapeSys{
		capacity: c, lo: 1, hi: hi,
		resources: []shapeResource{{kind: model.KindCPU, name: "CPU", unit: "cores", limit: 1,
			usage: func(g float64) float64 { return math.Min(1, 0.99*g/c) }}},
		at: func(n float64) response {
			x := softMin(n/(r0+z), c) * (1 - sag*math.Max(0, (n-30)/(hi-30)))
			r := math.Max(r0, n/x-z)
			return response{good: x, total: x, meanMs: r * 1000, p95Ms: (1.6*r0 + 1.3*(r-r0)) * 1000, vus: n}
		},
	}
}

// A throughput that sags by less than retrogradeClearDrop past its ceiling
// is the plateau's (saturation at the capacity), not a retrograde curve,
// and, the plateau having begun before p95 crossed the SLO, it is the
// headline, on six held stages as on a smooth ramp.
func TestASmallSagPastACeilingIsSaturationNotRetrograde(t *testing.T) {
	for _, tc := range []struct {
		name string
		ramp rampSpec
	}{
		{"six held stages", rampSpec{coarse: true, stages: 6, duration: time.Minute, noise: 0.02, seed: 5}},
		{"six held stages, longer", rampSpec{coarse: true, stages: 6, duration: 3 * time.Minute, noise: 0.02, seed: 6}},
		{"a smooth ramp", rampSpec{duration: time.Minute, noise: 0.02, seed: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := saggingQuota(0.066)
			a, err := Analyze(sys.observations(tc.ramp), Options{SLOP95: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range a.BreakingPoints {
				t.Logf("%s at %.1f VUs / %.1f RPS: %s", b.Reason, b.VUs, b.RPS, b.Evidence)
			}
			b := a.BreakingPoint
			if b == nil || b.Reason != model.ReasonSaturation {
				t.Fatalf("headline %+v, want saturation; verdict %q", b, a.Verdict)
			}
			if math.Abs(b.RPS-sys.capacity) > 0.1*sys.capacity {
				t.Errorf("saturation at %.1f RPS, want %.0f ± 10%%", b.RPS, sys.capacity)
			}
			if r := findBP(a, model.ReasonRetrograde); r != nil {
				t.Errorf("a 6.6%% sag reported as retrograde: %s", r.Evidence)
			}
		})
	}
}
