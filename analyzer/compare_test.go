package analyzer

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

func TestMannWhitneyReferenceValues(t *testing.T) {
	// R's ?wilcox.test example (Hollander & Wolfe 1973, p. 69):
	// wilcox.test(x, y, alternative = "greater") gives W = 35,
	// p-value = 0.1272 (exact: 382 of the C(15, 5) = 3003 orderings).
	x := []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	y := []float64{1.15, 0.88, 0.90, 0.74, 1.21}
	if got := MannWhitneyGreater(y, x); math.Abs(got-382.0/3003) > 1e-12 {
		t.Errorf("exact p = %v, want 382/3003 = 0.12721", got)
	}
	// With ties the normal approximation is used. By hand: midranks give
	// y's rank sum 32, U = 32 − 15 = 17, E[U] = 10, Var = (4·5/12)·(10 −
	// 48/72) = 15.556, z = (17 − 10 − ½)/√15.556 = 1.6481, p = 0.04967
	// (R: wilcox.test(b, a, "greater", exact = FALSE) gives 0.04967).
	a := []float64{1, 2, 2, 3}
	b := []float64{2, 3, 3, 4, 5}
	if got := MannWhitneyGreater(a, b); math.Abs(got-0.04967112392673263) > 1e-9 {
		t.Errorf("tied p = %v, want 0.04967", got)
	}
	if got := MannWhitneyGreater([]float64{1, 1, 1}, []float64{1, 1, 1}); got != 1 {
		t.Errorf("all tied: p = %v, want 1", got)
	}
	if got := MannWhitneyGreater(nil, b); got != 1 {
		t.Errorf("empty sample: p = %v, want 1", got)
	}
}

func TestVanElterenReducesToMannWhitney(t *testing.T) {
	a := []float64{1, 2, 2, 3}
	b := []float64{2, 3, 3, 4, 5}
	// One stratum, no continuity correction: z = 7/√15.556 = 1.7748.
	want := 0.5 * math.Erfc(7/math.Sqrt(15.555555555555555)/math.Sqrt2)
	if got := vanElterenGreater([][]float64{a}, [][]float64{b}); math.Abs(got-want) > 1e-12 {
		t.Errorf("one stratum: p = %v, want %v", got, want)
	}
	// Two identical strata weigh equally: the statistic doubles, its
	// standard deviation grows by √2, so z grows by √2.
	want2 := 0.5 * math.Erfc(math.Sqrt2*7/math.Sqrt(15.555555555555555)/math.Sqrt2)
	if got := vanElterenGreater([][]float64{a, a}, [][]float64{b, b}); math.Abs(got-want2) > 1e-12 {
		t.Errorf("two strata: p = %v, want %v", got, want2)
	}
}

func TestSignTest(t *testing.T) {
	for _, c := range []struct {
		higher, n int
		want      float64
	}{{5, 5, 1.0 / 32}, {4, 5, 6.0 / 32}, {3, 3, 1.0 / 8}, {0, 4, 1}} {
		if got := signTestGreater(c.higher, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("sign test %d of %d: p = %v, want %v", c.higher, c.n, got, c.want)
		}
	}
}

// runSpec describes a synthetic run.json: a stepped ramp whose per-interval
// p95 scatters around each stage's level.
type runSpec struct {
	seed uint64
	// slow scales the latencies of one endpoint (and its share of the
	// overall); errs adds to the error rate.
	slowEndpoint string
	slow         float64
	errs         float64
	// scatter is the log-scale spread of per-interval p95.
	scatter float64
	// intervals per stage.
	intervals int
}

var runEndpoints = []struct {
	name  string
	share float64
	p95   func(stage int) float64
}{
	{"POST /orders", 0.6, func(s int) float64 { return 80 + 30*float64(s) }},
	{"GET /products/{id}", 0.4, func(s int) float64 { return 12 + 2*float64(s) }},
}

func synthRun(sp runSpec) *model.Run {
	rng := rand.New(rand.NewPCG(sp.seed, 17))
	if sp.slow == 0 {
		sp.slow = 1
	}
	if sp.scatter == 0 {
		sp.scatter = 0.12
	}
	if sp.intervals == 0 {
		sp.intervals = 12
	}
	r := &model.Run{RunID: "run", Status: model.RunCompleted, Start: t0, IntervalMs: 5000}
	stages := 5
	var allP95 []float64
	var totalReq, totalErr int64
	epReq := map[string]int64{}
	epErr := map[string]int64{}
	epP95 := map[string][]float64{}
	for s := 0; s < stages; s++ {
		name := "stage-" + string(rune('a'+s))
		st := model.StageStats{Name: name, Start: t0.Add(time.Duration(s) * time.Minute), End: t0.Add(time.Duration(s+1) * time.Minute), VUs: 20 * (s + 1)}
		rps := 40.0 * float64(s+1)
		level := 0.0
		for _, e := range runEndpoints {
			f := 1.0
			if e.name == sp.slowEndpoint {
				f = sp.slow
			}
			level += e.share * e.p95(s) * f
		}
		var stageP95 []float64
		var sReq, sErr int64
		for k := 0; k < sp.intervals; k++ {
			p95 := level * math.Exp(sp.scatter*rng.NormFloat64())
			n := int64(rps * 5)
			er := math.Max(0, 0.002+sp.errs+0.002*rng.NormFloat64())
			e := int64(math.Round(er * float64(n)))
			r.Series = append(r.Series, model.SeriesPoint{
				Time: st.Start.Add(time.Duration(k+1) * 5 * time.Second), Stage: name, VUs: st.VUs, RPS: rps,
				P50Ms: p95 / 2.2, P95Ms: p95, P99Ms: p95 * 1.5, MeanMs: p95 / 2, ErrorRate: float64(e) / float64(n), Requests: n, Errors: e,
			})
			stageP95 = append(stageP95, p95)
			sReq += n
			sErr += e
		}
		st.P95Ms, st.P99Ms = median(stageP95)*1.05, median(stageP95)*1.6
		st.Requests, st.Errors, st.RPS = sReq, sErr, rps
		st.ErrorRate = float64(sErr) / float64(sReq)
		for _, e := range runEndpoints {
			f := 1.0
			if e.name == sp.slowEndpoint {
				f = sp.slow
			}
			p95 := e.p95(s) * f * math.Exp(0.05*rng.NormFloat64())
			n := int64(float64(sReq) * e.share)
			en := int64(float64(sErr) * e.share)
			st.Endpoints = append(st.Endpoints, model.EndpointStats{Endpoint: e.name, Requests: n, Errors: en, RPS: rps * e.share, P95Ms: p95, P99Ms: p95 * 1.5, ErrorRate: float64(en) / float64(n)})
			epReq[e.name] += n
			epErr[e.name] += en
			epP95[e.name] = append(epP95[e.name], p95)
		}
		allP95 = append(allP95, stageP95...)
		totalReq += sReq
		totalErr += sErr
		r.Stages = append(r.Stages, st)
	}
	r.End = t0.Add(time.Duration(stages) * time.Minute)
	r.Total = model.StageStats{Name: "Total", Requests: totalReq, Errors: totalErr, ErrorRate: float64(totalErr) / float64(totalReq),
		P95Ms: median(allP95) * 1.1, P99Ms: median(allP95) * 1.7}
	for _, e := range runEndpoints {
		r.Endpoints = append(r.Endpoints, model.EndpointStats{Endpoint: e.name, Requests: epReq[e.name], Errors: epErr[e.name],
			ErrorRate: float64(epErr[e.name]) / float64(epReq[e.name]), P95Ms: median(epP95[e.name]) * 1.05, P99Ms: median(epP95[e.name]) * 1.6})
	}
	return r
}

func TestCompareSameBuildIsNotFlagged(t *testing.T) {
	// Two runs of the same build differ only by noise: 100 pairs, none
	// may be flagged.
	for i := uint64(0); i < 100; i++ {
		c := Compare(synthRun(runSpec{seed: 2 * i}), synthRun(runSpec{seed: 2*i + 1}), CompareOptions{})
		if c.Regressed {
			for _, r := range c.Rows {
				if r.Regressed {
					t.Errorf("pair %d: %s %s flagged: %s", i, r.Scope, r.Metric, r.Verdict)
				}
			}
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name      string
		base, cur runSpec
		// regressed lists scope/metric rows that must regress; every
		// other row must not.
		regressed []string
		check     func(t *testing.T, c model.Comparison)
	}{
		{"a 60% slower endpoint is flagged, overall and for that endpoint only",
			runSpec{seed: 1}, runSpec{seed: 2, slowEndpoint: "POST /orders", slow: 1.6},
			[]string{"overall/p95_ms", "overall/p99_ms", "POST /orders/p95_ms", "POST /orders/p99_ms"},
			func(t *testing.T, c model.Comparison) {
				for _, r := range c.Rows {
					if r.Scope == "overall" && r.Metric == MetricP95 && r.Test != TestVanElteren {
						t.Errorf("overall p95 tested with %s, want van_elteren over the stages", r.Test)
					}
					if r.Scope == "POST /orders" && r.Metric == MetricP95 && (r.Test != TestSign || r.BaselineSamples != 5) {
						t.Errorf("endpoint p95 tested with %s on %d pairs, want the sign test on 5 stages", r.Test, r.BaselineSamples)
					}
				}
			}},
		{"an error rate up by 5 points is flagged",
			runSpec{seed: 3}, runSpec{seed: 4, errs: 0.05},
			[]string{"overall/error_rate", "POST /orders/error_rate", "GET /products/{id}/error_rate"}, nil},
		{"a change within the allowed regression is not flagged even when significant",
			runSpec{seed: 5, scatter: 0.02}, runSpec{seed: 6, scatter: 0.02, slowEndpoint: "POST /orders", slow: 1.1},
			nil,
			func(t *testing.T, c model.Comparison) {
				r := c.Rows[0]
				if !r.Significant || r.Regressed {
					t.Errorf("overall p95 %+v: want significant but within +20%%", r)
				}
			}},
		{"a faster build is not a regression",
			runSpec{seed: 9, slowEndpoint: "POST /orders", slow: 1.6}, runSpec{seed: 10},
			nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, cur := synthRun(tt.base), synthRun(tt.cur)
			bc := cloneRun(b)
			c := Compare(b, cur, CompareOptions{})
			if !reflect.DeepEqual(b, bc) {
				t.Fatal("Compare modified the baseline")
			}
			want := map[string]bool{}
			for _, k := range tt.regressed {
				want[k] = true
			}
			for _, r := range c.Rows {
				k := r.Scope + "/" + r.Metric
				if r.Regressed != want[k] {
					t.Errorf("%s regressed = %v, want %v: %s", k, r.Regressed, want[k], r.Verdict)
				}
				delete(want, k)
			}
			for k := range want {
				t.Errorf("no row %s", k)
			}
			if c.Regressed != (len(tt.regressed) > 0) {
				t.Errorf("regressed = %v", c.Regressed)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestCompareNoisySamplesAreNotSignificant(t *testing.T) {
	// Total p95 rose 30%, but the per-interval samples overlap: not a
	// regression.
	mk := func(p95s []float64, total float64) *model.Run {
		r := &model.Run{Total: model.StageStats{P95Ms: total, P99Ms: total * 1.5}}
		for i, v := range p95s {
			r.Series = append(r.Series, model.SeriesPoint{Time: t0.Add(time.Duration(i) * 5 * time.Second), Stage: "steady", Requests: 100, RPS: 20, P95Ms: v, P99Ms: v * 1.5})
		}
		return r
	}
	c := Compare(mk([]float64{100, 400, 120, 380, 110}, 200), mk([]float64{150, 420, 130, 390, 105}, 260), CompareOptions{})
	r := c.Rows[0]
	if r.Test != TestMannWhitney || r.Significant || r.Regressed || c.Regressed {
		t.Errorf("overall p95: %+v", r)
	}
	if !strings.HasPrefix(r.Verdict, "not flagged: 200 ms → 260 ms (+30.0%) is beyond +20% but not significant") {
		t.Errorf("verdict = %q", r.Verdict)
	}
}

func cloneRun(r *model.Run) *model.Run {
	c := *r
	c.Series = append([]model.SeriesPoint(nil), r.Series...)
	c.Endpoints = append([]model.EndpointStats(nil), r.Endpoints...)
	c.Stages = nil
	for _, s := range r.Stages {
		s.Endpoints = append([]model.EndpointStats(nil), s.Endpoints...)
		c.Stages = append(c.Stages, s)
	}
	return &c
}

func TestCompareVerdictsAndOptions(t *testing.T) {
	c := Compare(synthRun(runSpec{seed: 1}), synthRun(runSpec{seed: 2, slowEndpoint: "POST /orders", slow: 1.6}), CompareOptions{MaxP95Regression: 0.9})
	if c.Limits.MaxP95Regression != 0.9 || c.Limits.MaxP99Regression != DefaultMaxP99Regression || c.Limits.Alpha != DefaultCompareAlpha {
		t.Errorf("limits = %+v", c.Limits)
	}
	r := c.Rows[0]
	if r.Scope != "overall" || r.Metric != MetricP95 {
		t.Fatalf("first row = %s %s, want overall p95", r.Scope, r.Metric)
	}
	if r.Regressed || !strings.HasPrefix(r.Verdict, "ok: ") || !strings.Contains(r.Verdict, "significant (p < 0.0001, van_elteren) but within +90%") {
		t.Errorf("overall p95 with +90%% allowed: %s", r.Verdict)
	}
	for _, bad := range []CompareOptions{{MaxP95Regression: -1}, {Alpha: 1}, {MinLatencyIncreaseMs: math.NaN()}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", bad)
		}
	}
	if err := (CompareOptions{}).Validate(); err != nil {
		t.Errorf("zero options: %v", err)
	}
	if c := Compare(nil, synthRun(runSpec{}), CompareOptions{}); c.Regressed || len(c.Notes) == 0 {
		t.Errorf("a missing baseline: %+v", c)
	}
}

func BenchmarkCompare(b *testing.B) {
	base, cur := synthRun(runSpec{seed: 1}), synthRun(runSpec{seed: 2})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Compare(base, cur, CompareOptions{})
	}
}
