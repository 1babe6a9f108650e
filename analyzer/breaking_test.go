package analyzer

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// pts makes load points one step apart from VUs and a quantity.
func pts(vus, vals []float64, set func(p *model.LoadPoint, v float64)) []model.LoadPoint {
	var out []model.LoadPoint
	for i := range vus {
		p := model.LoadPoint{Time: t0.Add(time.Duration(i+1) * 5 * time.Second), VUs: vus[i], RPS: 10 * vus[i]}
		set(&p, vals[i])
		out = append(out, p)
	}
	return out
}

func setP95(p *model.LoadPoint, v float64) { p.P95Ms = v }

func TestFindCrossing(t *testing.T) {
	p95 := func(p model.LoadPoint) (float64, bool) { return p.P95Ms, true }
	tests := []struct {
		name    string
		vus     []float64
		p95     []float64
		found   bool
		wantVUs float64
		first   bool
		last    bool
	}{
		{"the load is interpolated between the last point below and the first above: 30 + 10·(800−400)/(900−400)",
			[]float64{10, 20, 30, 40, 50, 60}, []float64{100, 200, 400, 900, 950, 1000}, true, 38, false, false},
		{"a single spike is not a breaking point",
			[]float64{10, 20, 30, 40, 50, 60}, []float64{100, 100, 1500, 100, 100, 100}, false, 0, false, false},
		{"a crossing at the last point counts but is marked unconfirmed",
			[]float64{10, 20, 30, 40}, []float64{100, 100, 100, 900}, true, 38.75, false, true},
		{"a quantity already above at the first point breaks at the lightest load",
			[]float64{10, 20, 30, 40}, []float64{900, 950, 990, 1000}, true, 10, true, false},
		{"a curve that stays below never crosses",
			[]float64{10, 20, 30, 40}, []float64{100, 300, 500, 799}, false, 0, false, false},
		{"NaN points are skipped, not read as zero: 10 + 30·(800−400)/(1000−400)",
			[]float64{10, 20, 30, 40, 50}, []float64{400, math.NaN(), math.NaN(), 1000, 1000}, true, 30, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := findCrossing(pts(tt.vus, tt.p95, setP95), 800, true, p95)
			if ok != tt.found {
				t.Fatalf("found = %v, want %v", ok, tt.found)
			}
			if !ok {
				return
			}
			if math.Abs(c.at.VUs-tt.wantVUs) > 1e-9 || c.first != tt.first || c.last != tt.last {
				t.Errorf("crossing at %v VUs (first %v, last %v), want %v (first %v, last %v)", c.at.VUs, c.first, c.last, tt.wantVUs, tt.first, tt.last)
			}
			if math.Abs(c.at.RPS-10*tt.wantVUs) > 1e-6 {
				t.Errorf("RPS = %v, want it interpolated too (%v)", c.at.RPS, 10*tt.wantVUs)
			}
		})
	}
}

// errorBound returns errors from ~360 VUs; latency stays within the SLO.
func errorBound() synth {
	return synth{
		levels: rampVUs, noise: 0.01, seed: 5,
		rps:     func(v float64) float64 { return 2 * v },
		p95:     func(r, _ float64) float64 { return 150 },
		errRate: func(_, v float64) float64 { return math.Max(0, (v-260)/2000) },
	}
}

// retrogradeSystem loses throughput past ~300 VUs while latency stays
// within the SLO (it times out quickly instead).
func retrogradeSystem() synth {
	return synth{
		levels: rampVUs, noise: 0.01, seed: 6,
		rps: table(rampVUs, []float64{100, 200, 290, 360, 400, 410, 390, 350, 300, 250}),
		p95: func(r, v float64) float64 { return 100 + v/2 },
	}
}

// openModel offers 100..1000 iterations/s; latency grows past ~700/s.
func openModel() synth {
	levels := []float64{100, 200, 300, 400, 500, 600, 700, 800, 900, 1000}
	return synth{
		levels: levels, noise: 0.01, seed: 7, loadModel: model.LoadOpen,
		rps: table(levels, []float64{100, 200, 300, 400, 500, 600, 690, 750, 780, 790}),
		p95: func(r, v float64) float64 { return 50 + math.Max(0, v-650)*3 },
	}
}

func TestBreakingPoints(t *testing.T) {
	tests := []struct {
		name  string
		sys   synth
		check func(t *testing.T, a model.Analysis)
	}{
		{"an error rate crossing its limit is the breaking point with its load, counted in successful requests", errorBound(), func(t *testing.T, a model.Analysis) {
			b := a.BreakingPoint
			if b == nil || b.Reason != model.ReasonErrorRate {
				t.Fatalf("breaking point = %+v, want error_rate", b)
			}
			// 720 RPS in all at 360 VUs, 5% of them failed: 684 successful.
			if !near(b.VUs, 360, 12) || !near(b.RPS, 684, 25) {
				t.Errorf("breaking at %v VUs / %v RPS, want ~360 / ~684", b.VUs, b.RPS)
			}
			if !strings.Contains(b.Evidence, "the error rate crossed 5%") || !strings.Contains(b.Evidence, "RPS in all") {
				t.Errorf("evidence = %q", b.Evidence)
			}
		}},
		{"throughput falling while VUs rise is flagged retrograde at the peak", retrogradeSystem(), func(t *testing.T, a model.Analysis) {
			var r *model.BreakingPoint
			for i := range a.BreakingPoints {
				if a.BreakingPoints[i].Reason == model.ReasonRetrograde {
					r = &a.BreakingPoints[i]
				}
			}
			if r == nil {
				t.Fatalf("breaking points = %+v, want retrograde", a.BreakingPoints)
			}
			if !near(r.VUs, 300, 1) || !near(r.RPS, 410, 10) {
				t.Errorf("retrograde at %v VUs / %v RPS, want the peak at 300 / ~410", r.VUs, r.RPS)
			}
			if !strings.Contains(r.Evidence, "fell to") {
				t.Errorf("evidence = %q", r.Evidence)
			}
			if a.BreakingPoint == nil || a.BreakingPoint.VUs > 300.5 {
				t.Errorf("breaking point = %+v, want one at or before the peak", a.BreakingPoint)
			}
		}},
		{"a system that never breaks gets a lower bound and an honest extrapolation", busyUnsaturated(), func(t *testing.T, a model.Analysis) {
			if a.BreakingPoint != nil || len(a.BreakingPoints) != 0 {
				t.Fatalf("breaking points = %+v, want none", a.BreakingPoints)
			}
			if !near(a.TestedUpToRPS, 1500, 40) || a.TestedUpToVUs != 500 {
				t.Errorf("tested up to %v RPS / %v VUs, want ~1500 / 500", a.TestedUpToRPS, a.TestedUpToVUs)
			}
			if !strings.HasPrefix(a.Verdict, "No breaking point up to 1,5") || !strings.Contains(a.Verdict, "USL extrapolates ~") || !strings.Contains(a.Verdict, "low confidence") {
				t.Errorf("verdict = %q", a.Verdict)
			}
			b, _ := json.Marshal(a)
			if !strings.Contains(string(b), `"breaking_point":null`) {
				t.Errorf("breaking_point is not null in JSON")
			}
		}},
		{"an open-model run fits the USL to requests in flight and saturates where it falls behind the offered rate, before p95 crosses the SLO", openModel(), func(t *testing.T, a model.Analysis) {
			if a.Concurrency != "in_flight" {
				t.Errorf("concurrency = %q, want in_flight", a.Concurrency)
			}
			b := a.BreakingPoint
			if b == nil || b.Reason != model.ReasonSaturation {
				t.Fatalf("breaking point = %+v, want saturation", b)
			}
			// It carries 690 of 700/s offered, 750 of 800: more than 5%
			// short from ~750/s offered, and then carries 750–790 RPS.
			if !near(b.TargetRate, 750, 40) || !near(b.RPS, 775, 30) {
				t.Errorf("saturated at %v iterations/s offered, %v RPS; want ~750 and ~775", b.TargetRate, b.RPS)
			}
			slo := findBP(a, model.ReasonLatencySLO)
			// p95 = 50 + 3·(rate − 650) crosses 800 at 900/s.
			if slo == nil || !near(slo.TargetRate, 900, 50) {
				t.Fatalf("latency breaking point = %+v, want one at ~900 iterations/s", slo)
			}
			if !strings.Contains(slo.Evidence, "iterations/s offered") {
				t.Errorf("evidence = %q", slo.Evidence)
			}
		}},
		{"the pool-bound system breaks on latency at ~355 VUs and its knee is at 250 VUs", poolBound(), func(t *testing.T, a model.Analysis) {
			if a.Knee == nil || a.Knee.X != 250 {
				t.Errorf("knee = %+v, want 250 VUs", a.Knee)
			}
			if a.USL == nil || a.USL.Points != 10 || a.USL.R2 < 0.99 {
				t.Errorf("usl = %+v, want a fit over 10 levels", a.USL)
			}
			if !strings.HasPrefix(a.Verdict, "The system breaks at ~3") || !strings.Contains(a.Verdict, "bottleneck: DB connection pool, saturated from 3") {
				t.Errorf("verdict = %q", a.Verdict)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, analyze(t, tt.sys, Options{}))
		})
	}
}

func TestAnalyzeFromStagesOnly(t *testing.T) {
	obs := poolBound().observations()
	obs.Series, obs.EndpointSeries = nil, nil
	a, err := Analyze(obs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := a.BreakingPoint
	if b == nil || b.Reason != model.ReasonLatencySLO || b.Confidence != model.ConfidenceMedium {
		t.Fatalf("breaking point = %+v, want latency_slo with medium confidence", b)
	}
	// The true p95s cross between 350 and 400 VUs; interpolation inside
	// the 750 ms–1 s bucket can put stage 350's estimate above 800 ms.
	if b.VUs < 300 || b.VUs > 400 {
		t.Errorf("breaking at %v VUs, want between 300 and 400", b.VUs)
	}
	if a.Bottleneck.Resource != model.KindDBPool {
		t.Errorf("bottleneck = %s (%s), want db_pool", a.Bottleneck.Resource, a.Bottleneck.Evidence)
	}
}

func TestAnalyzeFewStagesIsLowConfidence(t *testing.T) {
	s := poolBound()
	s.levels = []float64{50, 100, 150}
	a := analyze(t, s, Options{})
	if a.USL == nil || a.USL.Confidence != model.ConfidenceLow {
		t.Errorf("usl = %+v, want a low-confidence fit on 3 levels", a.USL)
	}
	s.levels = []float64{50, 100}
	a = analyze(t, s, Options{})
	if a.USL != nil || !strings.Contains(a.USLError, "2 distinct concurrency levels") {
		t.Errorf("usl = %+v, error %q; want no fit and a reason", a.USL, a.USLError)
	}
	if !strings.Contains(a.Verdict, "too few load levels") {
		t.Errorf("verdict = %q", a.Verdict)
	}
}

// TestAnalyzeProperties throws random systems at Analyze: noisy, short,
// flat, monotone, with gaps. It must never panic, always encode as JSON,
// never claim a throughput peak on a straight line, and never report a
// fit on few levels with high confidence.
func TestAnalyzeProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(99, 3))
	for i := 0; i < 300; i++ {
		nStages := 1 + rng.IntN(12)
		levels := make([]float64, nStages)
		for j := range levels {
			levels[j] = float64(10 * (j + 1) * (1 + rng.IntN(3)))
		}
		slope := 0.5 + rng.Float64()*5
		noise := rng.Float64() * 0.3
		linear := rng.IntN(3) == 0
		sat := 50 + rng.Float64()*400
		s := synth{
			levels: levels, noise: noise, seed: uint64(i), stageLen: time.Duration(1+rng.IntN(4)) * 15 * time.Second,
			rps: func(v float64) float64 {
				if linear {
					return slope * v
				}
				return slope * sat * (1 - math.Exp(-v/sat))
			},
			p95:     func(r, v float64) float64 { return 20 + rng.Float64()*v*5 },
			errRate: func(r, v float64) float64 { return math.Max(0, rng.Float64()*0.2-0.1) },
			resources: []synthResource{
				{kind: model.KindCPU, name: "CPU", unit: "cores", limit: 2, usage: func(r, _ float64) float64 { return rng.Float64() * 2.2 }, sat: func(float64, float64) float64 { return rng.Float64() }},
				{kind: model.KindDBPool, name: "DB connection pool", unit: "connections", limit: 10, usage: func(r, _ float64) float64 { return math.Min(10, r/50) }},
			},
			loadModel: []string{model.LoadClosed, model.LoadOpen, model.LoadUnknown}[rng.IntN(3)],
		}
		obs := s.observations()
		// Punch gaps.
		for k := range obs.Series {
			if rng.IntN(7) == 0 {
				obs.Series[k].P95Ms = math.NaN()
			}
		}
		if rng.IntN(5) == 0 && len(obs.Resources) > 0 {
			obs.Resources[0].Points = obs.Resources[0].Points[:len(obs.Resources[0].Points)/2]
		}
		a, err := Analyze(obs, Options{})
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("case %d: the analysis does not encode: %v", i, err)
		}
		if a.USL != nil && a.USL.Points < 6 && a.USL.Confidence == model.ConfidenceHigh {
			t.Errorf("case %d: a USL fit on %d levels claims high confidence", i, a.USL.Points)
		}
		if linear && noise < 0.02 && s.loadModel == model.LoadClosed {
			for _, b := range a.BreakingPoints {
				if b.Reason == model.ReasonThroughputPeak || b.Reason == model.ReasonRetrograde {
					t.Errorf("case %d: a straight line got a %s breaking point: %s", i, b.Reason, b.Evidence)
				}
			}
		}
		if a.Verdict == "" || a.Bottleneck.Resource == "" || a.Bottleneck.Confidence == "" {
			t.Errorf("case %d: verdict %q, bottleneck %+v: every analysis must conclude", i, a.Verdict, a.Bottleneck)
		}
	}
}
