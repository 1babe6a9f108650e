package analyzer

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// mm1P95 is the 95th percentile of an M/M/1 queue's sojourn time, which is
// exponential with rate μ − λ (Kleinrock 1975, §3.2): −ln(0.05)/(μ − λ).
func mm1P95(lambda, mu float64) float64 { return math.Log(20) / (mu - lambda) }

func TestQueueLatencyMatchesMM1Reference(t *testing.T) {
	// The mean sojourn time of M/M/1 at ρ = 0.8 is five service times
	// (1/(μ − λ) = 5/μ), a textbook value (Harchol-Balter 2013, §14); the
	// p95 is ln 20 times the mean.
	const mu = 1000.0
	if got, want := mm1P95(800, mu), math.Log(20)*5/mu; math.Abs(got-want) > 1e-12 {
		t.Fatalf("reference p95 at ρ=0.8 = %g, want %g", got, want)
	}
	var xs, ys []float64
	for x := 100.0; x <= 700; x += 25 {
		xs, ys = append(xs, x), append(ys, mm1P95(x, mu))
	}
	fit := FitQueueLatency(xs, ys)
	if fit.Offset || !closeTo(fit.C, mu, 1e-3) || !closeTo(fit.L0, math.Log(20)/mu, 1e-3) {
		t.Fatalf("fit of exact M/M/1 p95s = %+v, want C = %g, L0 = %g, no offset", fit, mu, math.Log(20)/mu)
	}
	if fit.R2 < 0.9999 {
		t.Errorf("R² = %g, want ≈ 1", fit.R2)
	}
	// p95 = 10ms is reached at λ = μ − ln 20 / 0.01 = 700.43/s.
	x, found := fit.Crossing(0.010)
	if want := mu - math.Log(20)/0.010; !found || !closeTo(x, want, 1e-3) {
		t.Errorf("crossing of 10ms = %g (found %v), want %g", x, found, want)
	}
	if got, want := fit.At(800), mm1P95(800, mu); !closeTo(got, want, 1e-3) {
		t.Errorf("model at ρ=0.8 = %g, want %g", got, want)
	}
}

func TestQueueLatencyRecoversANoisyOffsetQueue(t *testing.T) {
	// L = 50ms of work that does not queue + 20ms/(1 − x/2000), with 2%
	// multiplicative noise, over a day's traffic from 200 to 1400 req/s:
	// the 300ms SLO is crossed at 2000·(1 − 0.02/0.25) = 1840 req/s.
	rng := rand.New(rand.NewPCG(1, 2))
	var xs, ys []float64
	for i := 0; i < 288; i++ {
		x := 200 + 1200*rng.Float64()
		y := (0.05 + 0.02/(1-x/2000)) * (1 + 0.02*rng.NormFloat64())
		xs, ys = append(xs, x), append(ys, y)
	}
	fit := FitQueueLatency(xs, ys)
	x, found := fit.Crossing(0.3)
	// 5%: the noise is 2% per point and the crossing lies 30% beyond the
	// highest traffic seen.
	if !found || !closeTo(x, 1840, 0.05) {
		t.Fatalf("crossing = %g (found %v, fit %+v), want 1840 ± 5%%", x, found, fit)
	}
	if !fit.Offset {
		t.Errorf("fit %+v has no offset; the data has 50ms that does not queue", fit)
	}
}

func TestQueueLatencyFlatLatencyNeverCrosses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var xs, ys []float64
	for i := 0; i < 200; i++ {
		xs, ys = append(xs, 100+900*rng.Float64()), append(ys, 0.08*(1+0.01*rng.NormFloat64()))
	}
	fit := FitQueueLatency(xs, ys)
	if x, found := fit.Crossing(0.3); found && x < 10*1000 {
		t.Errorf("flat 80ms latency crosses 300ms at %g req/s (fit %+v); want no crossing in range", x, fit)
	}
}

// reviewDay builds a day of production observations at a 5m step: traffic
// follows a daily cycle from trough to peak req/s, p95 latency is
// 40ms + 20ms/(1 − rps/latC), and a DB pool's utilization is rps/poolSat ×
// 0.9 (so it reaches 90% at poolSat req/s), with seeded noise.
func reviewDay(seed uint64, trough, peak, latC, poolSat float64) model.ProductionObservations {
	rng := rand.New(rand.NewPCG(seed, 7))
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	o := model.ProductionObservations{Service: "checkout", Start: start, End: start.Add(24 * time.Hour), StepMs: 300_000}
	pool := model.ProductionResource{Kind: model.KindDBPool, Name: "DB connection pool", Family: "pgxpool", Limit: 20}
	cpu := model.ProductionResource{Kind: model.KindCPU, Name: "CPU", Family: "process"}
	for i := 0; i <= 288; i++ {
		ts := start.Add(time.Duration(i) * 5 * time.Minute)
		// Peak at 15:00, trough at 03:00.
		phase := 2 * math.Pi * (float64(i)/288 - 15.0/24)
		x := trough + (peak-trough)*(1+math.Cos(phase))/2
		x *= 1 + 0.02*rng.NormFloat64()
		o.Times = append(o.Times, ts)
		o.RPS = append(o.RPS, x)
		o.LatencyS = append(o.LatencyS, (0.04+0.02/(1-x/latC))*(1+0.03*rng.NormFloat64()))
		o.ErrorRate = append(o.ErrorRate, 0.001*(1+0.1*rng.NormFloat64()))
		pool.Utilization = append(pool.Utilization, 0.9*x/poolSat+0.01*rng.NormFloat64())
		cpu.Utilization = append(cpu.Utilization, 0.05+0.15*x/peak+0.01*rng.NormFloat64())
	}
	o.Resources = []model.ProductionResource{cpu, pool}
	return o
}

func reviewSpec() model.ReviewSpec {
	return model.ReviewSpec{Service: "checkout", Selector: `{job="checkout"}`, SLO: model.SLO{P95Ms: 300, MaxErrorRate: 0.01}}
}

func TestReview(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		obs                   model.ProductionObservations
		wantCapacity          float64
		wantLimitedBy         string
		wantBottleneck        string
		wantBelow             bool
		wantConfidence        string
		capacityTol, peakWant float64
	}{
		{
			name: "a pool that reaches 90% before latency crosses its SLO is the bottleneck and sets the capacity",
			obs:  reviewDay(1, 300, 1200, 3000, 1800), wantCapacity: 1800, wantLimitedBy: model.KindDBPool,
			wantBottleneck: model.KindDBPool, wantConfidence: model.ConfidenceHigh, capacityTol: 0.02,
		},
		{
			name: "grown traffic leaves the same pool less headroom than the target",
			obs:  reviewDay(2, 400, 1600, 3000, 1800), wantCapacity: 1800, wantLimitedBy: model.KindDBPool,
			wantBottleneck: model.KindDBPool, wantBelow: true, wantConfidence: model.ConfidenceHigh, capacityTol: 0.02,
		},
		{
			// Latency: 40ms + 20ms/(1 − x/1500) = 300ms at 1500·(1 − 20/260) = 1384.6.
			name: "latency crossing its SLO before the pool saturates sets the capacity, and the pool is still the bottleneck",
			obs:  reviewDay(3, 300, 1100, 1500, 2500), wantCapacity: 1500 * (1 - 0.02/0.26), wantLimitedBy: LimitedByLatency,
			wantBottleneck: model.KindDBPool, wantConfidence: model.ConfidenceHigh, capacityTol: 0.05,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rv, err := Review(reviewSpec(), tc.obs)
			if err != nil {
				t.Fatal(err)
			}
			if !closeTo(rv.CapacityRPS, tc.wantCapacity, tc.capacityTol) {
				t.Errorf("capacity = %.1f, want %.1f ± %g%%", rv.CapacityRPS, tc.wantCapacity, 100*tc.capacityTol)
			}
			if rv.LimitedBy != tc.wantLimitedBy || rv.Bottleneck != tc.wantBottleneck {
				t.Errorf("limited by %q, bottleneck %q; want %q, %q", rv.LimitedBy, rv.Bottleneck, tc.wantLimitedBy, tc.wantBottleneck)
			}
			if rv.BelowTarget != tc.wantBelow {
				t.Errorf("below target = %v (headroom %.3f), want %v", rv.BelowTarget, rv.HeadroomRatio, tc.wantBelow)
			}
			if rv.Confidence != tc.wantConfidence {
				t.Errorf("confidence = %s (notes %q), want %s", rv.Confidence, rv.Notes, tc.wantConfidence)
			}
			if got, want := rv.HeadroomRatio, rv.CapacityRPS/rv.PeakRPS-1; math.Abs(got-want) > 1e-12 {
				t.Errorf("headroom = %g, want capacity/peak − 1 = %g", got, want)
			}
			if rv.TargetHeadroomRatio != 0.2 || rv.Points != 289 {
				t.Errorf("target headroom %g, points %d; want 0.2, 289", rv.TargetHeadroomRatio, rv.Points)
			}
			if rv.Resources[0].Kind != rv.Bottleneck {
				t.Errorf("first resource %s is not the bottleneck %s", rv.Resources[0].Kind, rv.Bottleneck)
			}
		})
	}
}

func TestReviewPeakIsThe99thPercentileOfTraffic(t *testing.T) {
	o := reviewDay(4, 300, 1200, 3000, 1800)
	// One scrape spike of 10× does not count as the peak.
	o.RPS[100] = 12_000
	rv, err := Review(reviewSpec(), o)
	if err != nil {
		t.Fatal(err)
	}
	// 289 points: the 0.99 quantile (type 7) interpolates between the
	// 286th and 287th smallest values, both under the cycle's 1200 × 1.06.
	if rv.PeakRPS > 1300 || rv.PeakRPS < 1100 {
		t.Errorf("peak = %.1f, want ≈ 1200 (the spike of 12000 excluded)", rv.PeakRPS)
	}
	if got := quantileType7([]float64{1, 2, 3, 4, 5}, 0.99); math.Abs(got-4.96) > 1e-12 {
		t.Errorf("type 7 quantile 0.99 of 1..5 = %g, want 4.96 (R: quantile(1:5, 0.99))", got)
	}
}

func TestReviewConfidence(t *testing.T) {
	for _, tc := range []struct {
		name string
		obs  func() model.ProductionObservations
		want string
	}{
		{"traffic in a narrow band gives low confidence", func() model.ProductionObservations {
			return reviewDay(5, 1000, 1200, 3000, 1800)
		}, model.ConfidenceLow},
		{"a capacity far beyond the traffic seen gives low confidence", func() model.ProductionObservations {
			return reviewDay(6, 30, 120, 3000, 1800)
		}, model.ConfidenceLow},
		{"few points give low confidence", func() model.ProductionObservations {
			o := reviewDay(7, 300, 1200, 3000, 1800)
			for i := range o.RPS {
				if i%12 != 0 {
					o.RPS[i] = math.NaN()
				}
			}
			return o
		}, model.ConfidenceLow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rv, err := Review(reviewSpec(), tc.obs())
			if err != nil {
				t.Fatal(err)
			}
			if rv.Confidence != tc.want || len(rv.Notes) == 0 {
				t.Errorf("confidence = %s, notes %q; want %s with a note", rv.Confidence, rv.Notes, tc.want)
			}
		})
	}
}

func TestReviewWithoutLimitsHasNoCapacity(t *testing.T) {
	o := reviewDay(8, 300, 1200, 1e9, 1e9)
	// Memory only, flat at 40%: it does not grow with traffic.
	mem := model.ProductionResource{Kind: model.KindMemory, Name: "memory", Family: "process"}
	for range o.RPS {
		mem.Utilization = append(mem.Utilization, 0.4)
	}
	o.Resources = []model.ProductionResource{mem}
	spec := reviewSpec()
	spec.SLO.P95Ms = 0
	rv, err := Review(spec, o)
	if err != nil {
		t.Fatal(err)
	}
	if rv.CapacityRPS != 0 || rv.LimitedBy != "" || rv.BelowTarget || rv.Confidence != model.ConfidenceLow {
		t.Errorf("review = capacity %g by %q, below %v, confidence %s; want no capacity, low confidence", rv.CapacityRPS, rv.LimitedBy, rv.BelowTarget, rv.Confidence)
	}
	for _, g := range rv.GaugeValues() {
		if g.Name == model.GaugeHeadroomRatio || g.Name == model.GaugeCapacityRPS {
			t.Errorf("gauge %s exported for an unknown capacity", g.Name)
		}
	}
}

func TestReviewRejectsBadObservations(t *testing.T) {
	o := reviewDay(9, 300, 1200, 3000, 1800)
	o.LatencyS = o.LatencyS[:10]
	if _, err := Review(reviewSpec(), o); !errors.Is(err, ErrReviewData) {
		t.Errorf("mismatched latency: err = %v, want ErrReviewData", err)
	}
	o = reviewDay(9, 300, 1200, 3000, 1800)
	for i := range o.RPS {
		o.RPS[i] = math.NaN()
	}
	if _, err := Review(reviewSpec(), o); !errors.Is(err, ErrReviewData) {
		t.Errorf("no traffic: err = %v, want ErrReviewData", err)
	}
	if _, err := Review(model.ReviewSpec{}, reviewDay(9, 300, 1200, 3000, 1800)); err == nil {
		t.Error("an empty spec was accepted")
	}
}

func TestReviewDoesNotMutateItsInput(t *testing.T) {
	o := reviewDay(10, 300, 1200, 3000, 1800)
	spec := reviewSpec()
	before := reviewDay(10, 300, 1200, 3000, 1800)
	specBefore := reviewSpec()
	if _, err := Review(spec, o); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o, before) || !reflect.DeepEqual(spec, specBefore) {
		t.Error("Review changed its input")
	}
}

func TestReviewFindsTheQueueFromTheMeanWhenBucketsBendTheP95(t *testing.T) {
	// Latency is 40ms + Exp(θ) with p95 = 40ms + 20ms/(1 − x/3000), read
	// as histogram_quantile reads it (linear inside 25ms buckets), and the
	// exact mean 40ms + (20ms/ln 20)/(1 − x/3000). The SLO of 300ms is
	// crossed at 3000·(1 − 0.02/0.26) = 2769 req/s.
	les := []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.75, 1, 2.5, math.Inf(1)}
	o := reviewDay(11, 480, 1600, 3000, 5000)
	o.MeanLatencyS = make(model.Samples, len(o.RPS))
	for i, x := range o.RPS {
		theta := math.Log(20) * (1 - x/3000) / 0.02
		var bs []model.Bucket
		for _, le := range les {
			c := 0.0
			if le > 0.04 {
				c = 1 - math.Exp(-theta*(le-0.04))
			}
			bs = append(bs, model.Bucket{UpperBound: le, Count: 1000 * c})
		}
		o.LatencyS[i] = BucketQuantile(0.95, bs)
		o.MeanLatencyS[i] = 0.04 + 1/theta
	}
	rv, err := Review(reviewSpec(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := 3000 * (1 - 0.02/0.26)
	if rv.SLOCrossingRPS == nil || !closeTo(*rv.SLOCrossingRPS, want, 0.05) || !closeTo(rv.Latency.Params["c_rps"], 3000, 0.01) {
		t.Errorf("SLO crossing %v, fit %+v; want %.0f ± 5%% with C = 3000 ± 1%%", rv.SLOCrossingRPS, rv.Latency, want)
	}
	if !strings.Contains(rv.Latency.Model, "mean latency") {
		t.Errorf("model %q does not say C came from the mean", rv.Latency.Model)
	}
}

func TestReviewErrorsThatGrowWithTrafficSetTheCapacity(t *testing.T) {
	// The error ratio grows as 0.001% per req/s: it crosses the 1% SLO at
	// 1000 req/s, before the pool (1800) and latency (2769).
	o := reviewDay(12, 250, 800, 3000, 1800)
	for i, x := range o.RPS {
		o.ErrorRate[i] = 1e-5 * x
	}
	rv, err := Review(reviewSpec(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rv.LimitedBy != LimitedByErrors || !closeTo(rv.CapacityRPS, 1000, 0.02) {
		t.Errorf("capacity %.1f limited by %s, want 1000 ± 2%% by %s", rv.CapacityRPS, rv.LimitedBy, LimitedByErrors)
	}
	// A flat error ratio above the SLO is said, not extrapolated.
	o = reviewDay(13, 250, 800, 3000, 1800)
	for i := range o.ErrorRate {
		o.ErrorRate[i] = 0.05
	}
	rv, err = Review(reviewSpec(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rv.LimitedBy == LimitedByErrors || !strings.Contains(strings.Join(rv.Notes, "\n"), "above the SLO") {
		t.Errorf("limited by %s, notes %q; want a note, not an error-rate limit", rv.LimitedBy, rv.Notes)
	}
}
