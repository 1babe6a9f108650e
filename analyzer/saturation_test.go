package analyzer

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// ---- systems with a known capacity, driven by ramps ----

// response is what a system does at one load: successful and total
// throughput (requests/s), mean and p95 latency (ms), the VUs busy and the
// iterations dropped per second (open model).
type response struct {
	good, total, meanMs, p95Ms, vus, dropped float64
}

// shapeSys is a system under test whose capacity is known by construction.
type shapeSys struct {
	// at returns the response to a load: VUs (closed model) or the offered
	// arrival rate in iterations/s (open model).
	at   func(load float64) response
	open bool
	// capacity is the true capacity in successful requests/s; 0 when the
	// system does not break in the tested range.
	capacity float64
	// lo and hi are the tested load range.
	lo, hi float64
	// resources are functions of the successful throughput.
	resources []shapeResource
}

type shapeResource struct {
	kind, name, unit string
	limit            float64
	usage            func(good float64) float64
	// sat is queueing; nil when the family measures none.
	sat func(good float64) float64
}

// rampSpec is how a system is driven: a smooth linear ramp or a coarse one
// of constant-load stages, over a duration, with multiplicative noise of
// the given relative standard deviation (and occasional hiccups, as on a
// busy 2-core host) from a seeded RNG.
type rampSpec struct {
	coarse   bool
	stages   int
	duration time.Duration
	noise    float64
	hiccups  bool
	seed     uint64
}

var (
	smoothRamp = rampSpec{duration: 5 * time.Minute, noise: 0.02, seed: 1}
	coarseRamp = rampSpec{coarse: true, stages: 6, duration: 3 * time.Minute, noise: 0.02, seed: 2}
	// shortNoisy is a 60-second ramp on a noisy 2-core host.
	shortNoisy  = rampSpec{duration: time.Minute, noise: 0.06, hiccups: true, seed: 3}
	coarseNoisy = rampSpec{coarse: true, stages: 5, duration: 100 * time.Second, noise: 0.06, hiccups: true, seed: 4}
)

// softMin is a smooth minimum of a and b: real systems round their knees.
func softMin(a, b float64) float64 {
	const p = 8
	return math.Pow(math.Pow(a, -p)+math.Pow(b, -p), -1.0/p)
}

// ceilingSystem is a closed system with a hard ceiling (a CPU quota, a
// single-threaded server): each VU waits r0 seconds for its response and
// thinks z seconds, so throughput rises as N/(r0+z) up to capacity c, and
// beyond it response time is N/X − z (Little's law).
func ceilingSystem(c, r0, z, hi float64, res ...shapeResource) shapeSys {
	return shapeSys{
		capacity: c, lo: 1, hi: hi, resources: res,
		at: func(n float64) response {
			x := softMin(n/(r0+z), c)
			r := math.Max(r0, n/x-z)
			return response{good: x, total: x, meanMs: r * 1000, p95Ms: (1.6*r0 + 1.3*(r-r0)) * 1000, vus: n}
		},
	}
}

// cpuQuota is the service of the issue: flat at 353 RPS from ~13 VUs up
// to 64, its CPU quota of 2 cores full.
func cpuQuota() shapeSys {
	return ceilingSystem(353, 0.006, 0.03, 64, shapeResource{
		kind: model.KindCPU, name: "CPU", unit: "cores", limit: 2,
		usage: func(g float64) float64 { return math.Min(2, 2*0.98*g/353) },
	})
}

// singleThreadedRedis is flat at 312 RPS with Redis' one core at 97%,
// while the app's own CPU stays at a third.
func singleThreadedRedis() shapeSys {
	return ceilingSystem(312, 0.004, 0.04, 64,
		shapeResource{kind: model.KindRedis, name: "Redis server", unit: "cores", limit: 1,
			usage: func(g float64) float64 { return math.Min(1, 0.97*g/312) }},
		shapeResource{kind: model.KindCPU, name: "CPU", unit: "cores", limit: 4,
			usage: func(g float64) float64 { return 4 * 0.33 * g / 312 }},
	)
}

// shedder answers 503 in 1 ms when 400 requests/s are in service: errors
// rise while latency stays flat.
func shedder() shapeSys {
	const c, r0, z, rej = 400.0, 0.01, 0.05, 0.001
	return shapeSys{
		capacity: c, lo: 1, hi: 80,
		resources: []shapeResource{{kind: model.KindCPU, name: "CPU", unit: "cores", limit: 4,
			usage: func(g float64) float64 { return 4 * 0.6 * g / c }}},
		at: func(n float64) response {
			good := softMin(n/(r0+z), c)
			spare := math.Max(0, n-good*(r0+z))
			rejected := spare / (rej + z)
			total := good + rejected
			mean := (good*r0 + rejected*rej) / total
			return response{good: good, total: total, meanMs: mean * 1000, p95Ms: 1.6 * r0 * 1000, vus: n}
		},
	}
}

// retrogradeUSL follows the USL with λ = 30, σ = 0.02, κ = 0.0008: it
// peaks at N* = √(0.98/0.0008) ≈ 35 VUs with 399 RPS and falls to 275 RPS
// at 100 VUs.
func retrogradeUSL() shapeSys {
	u := model.USL{Lambda: 30, Sigma: 0.02, Kappa: 0.0008}
	n := math.Sqrt((1 - u.Sigma) / u.Kappa)
	return shapeSys{
		capacity: u.Throughput(n), lo: 1, hi: 100,
		at: func(n float64) response {
			x := u.Throughput(n)
			r := n / x
			return response{good: x, total: x, meanMs: r * 1000, p95Ms: 1.6 * r * 1000, vus: n}
		},
	}
}

// latencyFirst has a lock whose wait grows with every VU: p95 crosses the
// 800 ms SLO at 475 VUs (≈ 339 RPS) while throughput still rises to 550
// RPS at 1,000 VUs.
func latencyFirst() shapeSys {
	const z = 1.0
	resp := func(n float64) response {
		r := 0.02 + 0.0008*n
		x := n / (r + z)
		return response{good: x, total: x, meanMs: r * 1000, p95Ms: 2 * r * 1000, vus: n}
	}
	return shapeSys{capacity: resp(475).good, lo: 50, hi: 1000, at: resp}
}

// ample scales linearly to 900 RPS with flat latency and CPU at 60%.
func ample() shapeSys {
	const r0, z = 0.01, 0.1
	return shapeSys{
		lo: 5, hi: 100,
		resources: []shapeResource{{kind: model.KindCPU, name: "CPU", unit: "cores", limit: 4,
			usage: func(g float64) float64 { return 4 * 0.6 * g / 909 }}},
		at: func(n float64) response {
			x := n / (r0 + z)
			return response{good: x, total: x, meanMs: r0 * 1000, p95Ms: 1.6 * r0 * 1000, vus: n}
		},
	}
}

// openOverload is offered 50 to 600 iterations/s (one request each)
// against a capacity of 400 requests/s with at most 100 VUs: beyond the
// capacity the VUs fill up, requests queue to 250 ms (within the SLO) and
// the rest of the iterations are dropped.
func openOverload() shapeSys {
	const c, r0, maxVUs = 400.0, 0.005, 100.0
	return shapeSys{
		open: true, capacity: c, lo: 50, hi: 600,
		resources: []shapeResource{{kind: model.KindCPU, name: "CPU", unit: "cores", limit: 2,
			usage: func(g float64) float64 { return math.Min(2, 2*0.97*g/c) }}},
		at: func(rate float64) response {
			rho := rate / c
			if rho < 0.98 {
				r := math.Min(r0/(1-rho), maxVUs/c)
				x := rate
				return response{good: x, total: x, meanMs: r * 1000, p95Ms: 2 * r * 1000, vus: math.Min(maxVUs, x*r)}
			}
			x := c * (1 - 0.02*math.Exp(-(rho-0.98)*20))
			r := maxVUs / c
			return response{good: x, total: x, meanMs: r * 1000, p95Ms: 1.5 * r * 1000, vus: maxVUs, dropped: rate - x}
		},
	}
}

// observations drives a system with a ramp and returns what the collector
// would have read: a 5-second series, the stage rows with histograms, and
// the resources.
func (s shapeSys) observations(r rampSpec) model.Observations {
	const step = 5 * time.Second
	rng := rand.New(rand.NewPCG(r.seed, 17))
	lm, executor := model.LoadClosed, "ramping-vus"
	if s.open {
		lm, executor = model.LoadOpen, "ramping-arrival-rate"
	}
	obs := model.Observations{
		RunID: "shape", Scenario: "shape", Start: t0, End: t0.Add(r.duration),
		StepMs: float64(step / time.Millisecond), LoadModel: lm, LoadSource: "headroom_request_duration_seconds",
	}
	for _, res := range s.resources {
		obs.Resources = append(obs.Resources, model.ResourceObservation{Kind: res.kind, Name: res.name, Family: "process", Unit: res.unit})
	}
	nStages := 3
	if r.coarse {
		nStages = r.stages
	}
	stageLen := r.duration / time.Duration(nStages)
	load := func(t time.Duration) float64 {
		if r.coarse {
			i := min(nStages-1, int(t/stageLen))
			return s.lo + (s.hi-s.lo)*float64(i+1)/float64(nStages)
		}
		return s.lo + (s.hi-s.lo)*t.Seconds()/r.duration.Seconds()
	}
	type acc struct {
		reqs, errs, sum, vus, target float64
		buckets                      [][]model.Bucket
	}
	accs := make([]acc, nStages)
	for k := 1; k <= int(r.duration/step); k++ {
		t := time.Duration(k) * step
		l := load(t - step/2)
		resp := s.at(l)
		f := 1 + r.noise*rng.NormFloat64()
		lf := math.Exp(1.5 * r.noise * rng.NormFloat64())
		if r.hiccups && rng.IntN(12) == 0 {
			// A pause of the shared host: less done, slower.
			f *= 0.85
			lf *= 1.8
		}
		good, total := resp.good*f, resp.total*f
		p95, mean := resp.p95Ms*lf, resp.meanMs*lf
		si := min(nStages-1, int((t-step/2)/stageLen))
		name := fmt.Sprintf("stage-%d", si+1)
		lp := model.LoadPoint{
			Time: t0.Add(t), Stage: name, VUs: resp.vus, RPS: total,
			P50Ms: p95 / 2.2, P95Ms: p95, P99Ms: p95 * 1.4, MeanMs: mean,
			ErrorRate: 1 - good/total, InFlight: total * mean / 1000,
		}
		if s.open {
			lp.TargetRate, lp.DroppedRate = l, resp.dropped*f
		}
		obs.Series = append(obs.Series, lp)
		n := total * step.Seconds()
		a := &accs[si]
		a.reqs += n
		a.errs += n * lp.ErrorRate
		a.sum += n * mean / 1000
		a.vus = math.Max(a.vus, resp.vus)
		a.target = lp.TargetRate
		a.buckets = append(a.buckets, lognormalBuckets(n, p95))
		for ri, res := range s.resources {
			u := math.Max(0, res.usage(good)*(1+r.noise/3*rng.NormFloat64()))
			p := model.ResourcePoint{Time: t0.Add(t), Usage: u}
			if res.limit > 0 {
				p.Usage = math.Min(u, res.limit)
				p.Limit, p.HasLimit, p.Utilization = res.limit, true, p.Usage/res.limit
			}
			if res.sat != nil {
				p.Saturation, p.HasSaturation = res.sat(good), true
			}
			obs.Resources[ri].Points = append(obs.Resources[ri].Points, p)
		}
	}
	for i, a := range accs {
		start := t0.Add(time.Duration(i) * stageLen)
		obs.Stages = append(obs.Stages, model.StageObservation{
			Name: fmt.Sprintf("stage-%d", i+1), Executor: executor, Start: start, End: start.Add(stageLen),
			VUs: a.vus, TargetRate: a.target, Requests: a.reqs, Errors: a.errs, SumSeconds: a.sum,
			Buckets: mergeBuckets(a.buckets...),
		})
	}
	return obs
}

func findBP(a model.Analysis, reason string) *model.BreakingPoint {
	for i := range a.BreakingPoints {
		if a.BreakingPoints[i].Reason == reason {
			return &a.BreakingPoints[i]
		}
	}
	return nil
}

// TestSaturationShapes runs every shape of saturation through the
// analyzer with a smooth ramp, a coarse one of 5–6 constant stages, and a
// short noisy one, and checks the reason, the capacity (within ±15% of the
// truth, tighter where the data allow), the confidence and the verdict.
func TestSaturationShapes(t *testing.T) {
	type want struct {
		reason string
		// tol is the relative tolerance of the breaking point's RPS.
		tol float64
		// conf lists the acceptable confidences.
		conf []string
	}
	high := []string{model.ConfidenceHigh}
	notHigh := []string{model.ConfidenceMedium, model.ConfidenceLow}
	anyConf := []string{model.ConfidenceHigh, model.ConfidenceMedium, model.ConfidenceLow}
	// production reads the same traffic without a runner: no VUs, load
	// unknown, so requests in flight are the load.
	production := func(o *model.Observations) {
		o.LoadModel = model.LoadUnknown
		for i := range o.Series {
			o.Series[i].VUs = 0
		}
		for i := range o.Stages {
			o.Stages[i].VUs = 0
		}
	}
	// stagesOnly keeps the stage rows and drops the series.
	stagesOnly := func(o *model.Observations) { o.Series = nil }
	constantOver := openOverload()
	constantOver.lo, constantOver.hi = 500, 520
	tests := []struct {
		name  string
		sys   shapeSys
		ramp  rampSpec
		want  *want // nil: no breaking point
		tweak func(*model.Observations)
	}{
		{"a CPU-quota ceiling on a smooth ramp saturates at its capacity with high confidence", cpuQuota(), smoothRamp, &want{model.ReasonSaturation, 0.05, high}, nil},
		{"a CPU-quota ceiling on a coarse ramp of six stages saturates at its capacity", cpuQuota(), coarseRamp, &want{model.ReasonSaturation, 0.05, high}, nil},
		{"a CPU-quota ceiling on a 60-second noisy ramp still saturates within 15%", cpuQuota(), shortNoisy, &want{model.ReasonSaturation, 0.15, anyConf}, nil},
		{"a CPU-quota ceiling on five noisy stages still saturates within 15%", cpuQuota(), coarseNoisy, &want{model.ReasonSaturation, 0.15, anyConf}, nil},
		{"a single-threaded Redis saturates at its capacity on a smooth ramp", singleThreadedRedis(), smoothRamp, &want{model.ReasonSaturation, 0.05, high}, nil},
		{"a single-threaded Redis saturates at its capacity on a coarse ramp", singleThreadedRedis(), coarseRamp, &want{model.ReasonSaturation, 0.05, high}, nil},
		{"a single-threaded Redis on a short noisy ramp saturates within 15%", singleThreadedRedis(), shortNoisy, &want{model.ReasonSaturation, 0.15, anyConf}, nil},
		{"a service that sheds load breaks on errors at its successful throughput", shedder(), smoothRamp, &want{model.ReasonErrorRate, 0.05, high}, nil},
		{"a service that sheds load on a coarse ramp breaks on errors within 15%", shedder(), coarseRamp, &want{model.ReasonErrorRate, 0.15, anyConf}, nil},
		{"a service that sheds load on a short noisy ramp breaks on errors within 15%", shedder(), shortNoisy, &want{model.ReasonErrorRate, 0.15, anyConf}, nil},
		{"retrograde throughput breaks at its peak on a smooth ramp", retrogradeUSL(), smoothRamp, &want{model.ReasonRetrograde, 0.05, anyConf}, nil},
		{"retrograde throughput breaks at its peak on a coarse ramp", retrogradeUSL(), coarseRamp, &want{model.ReasonRetrograde, 0.15, anyConf}, nil},
		{"retrograde throughput on a short noisy ramp breaks within 15% of its peak", retrogradeUSL(), shortNoisy, &want{model.ReasonRetrograde, 0.15, anyConf}, nil},
		{"latency crossing the SLO well before throughput saturates is the breaking point", latencyFirst(), smoothRamp, &want{model.ReasonLatencySLO, 0.05, notHigh}, nil},
		{"latency first on a coarse ramp is judged between stages within 15%", latencyFirst(), coarseRamp, &want{model.ReasonLatencySLO, 0.15, notHigh}, nil},
		{"latency first on a short noisy ramp is within 15%", latencyFirst(), shortNoisy, &want{model.ReasonLatencySLO, 0.15, notHigh}, nil},
		{"an open-model overload saturates where achieved throughput falls behind the offered rate", openOverload(), smoothRamp, &want{model.ReasonSaturation, 0.05, high}, nil},
		{"an open-model overload on a coarse ramp saturates at the achieved rate", openOverload(), coarseRamp, &want{model.ReasonSaturation, 0.1, anyConf}, nil},
		{"an open-model overload on a short noisy ramp saturates within 15%", openOverload(), shortNoisy, &want{model.ReasonSaturation, 0.15, anyConf}, nil},
		{"a CPU-quota ceiling seen as production traffic saturates against requests in flight", cpuQuota(), smoothRamp, &want{model.ReasonSaturation, 0.05, high}, production},
		{"a CPU-quota ceiling seen only through six stage rows saturates at its capacity", cpuQuota(), coarseRamp, &want{model.ReasonSaturation, 0.05, anyConf}, stagesOnly},
		{"a single-threaded Redis on five noisy stages, flat from the first, saturates within 15%", singleThreadedRedis(), coarseNoisy, &want{model.ReasonSaturation, 0.15, anyConf}, nil},
		{"a shedding service on five noisy stages breaks on errors at the level it sheds at", shedder(), coarseNoisy, &want{model.ReasonErrorRate, 0.15, anyConf}, nil},
		{"retrograde throughput on five noisy stages breaks within 15% of its peak", retrogradeUSL(), coarseNoisy, &want{model.ReasonRetrograde, 0.15, anyConf}, nil},
		{"an open-model overload on five noisy stages saturates within 15%", openOverload(), coarseNoisy, &want{model.ReasonSaturation, 0.15, anyConf}, nil},
		{"a constant arrival rate above capacity from the start saturates at the rate carried", constantOver, smoothRamp, &want{model.ReasonSaturation, 0.05, anyConf}, nil},
		{"a system with ample capacity has no breaking point on a smooth ramp", ample(), smoothRamp, nil, nil},
		{"a system with ample capacity has no breaking point on a coarse ramp", ample(), coarseRamp, nil, nil},
		{"a system with ample capacity has no breaking point on a short noisy ramp", ample(), shortNoisy, nil, nil},
		{"a system with ample capacity has no breaking point on five noisy stages", ample(), coarseNoisy, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := tt.sys.observations(tt.ramp)
			if tt.tweak != nil {
				tt.tweak(&obs)
			}
			a, err := Analyze(obs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := json.Marshal(a); err != nil {
				t.Fatalf("the analysis does not encode: %v", err)
			}
			b := a.BreakingPoint
			if tt.want == nil {
				if b != nil {
					t.Fatalf("breaking point %s at %v RPS (%s), want none; verdict %q", b.Reason, b.RPS, b.Evidence, a.Verdict)
				}
				if !strings.HasPrefix(a.Verdict, "No breaking point up to ") {
					t.Errorf("verdict = %q, want it to say how far the test went", a.Verdict)
				}
				return
			}
			if b == nil {
				t.Fatalf("no breaking point, want %s; verdict %q; warnings %+v", tt.want.reason, a.Verdict, a.Warnings)
			}
			if b.Reason != tt.want.reason {
				t.Fatalf("breaking point %s at %v RPS (%s), want %s; all: %+v", b.Reason, b.RPS, b.Evidence, tt.want.reason, a.BreakingPoints)
			}
			if c := tt.sys.capacity; math.Abs(b.RPS-c) > tt.want.tol*c {
				t.Errorf("breaking point at %.1f RPS, want %.1f ± %.0f%%; evidence: %s", b.RPS, c, 100*tt.want.tol, b.Evidence)
			}
			ok := false
			for _, c := range tt.want.conf {
				ok = ok || b.Confidence == c
			}
			if !ok {
				t.Errorf("confidence %s, want one of %v; evidence: %s; warnings %+v", b.Confidence, tt.want.conf, b.Evidence, a.Warnings)
			}
			if b.Evidence == "" || !(b.RPSUncertainty > 0) || b.RPSUncertainty > 0.3*b.RPS {
				t.Errorf("evidence %q, uncertainty ±%v RPS: every breaking point needs evidence and a sensible uncertainty", b.Evidence, b.RPSUncertainty)
			}
			first := strings.SplitN(a.Verdict, "\n", 2)[0]
			if !strings.Contains(first, fnum(b.RPS)) {
				t.Errorf("the verdict's first line %q does not give the breaking point's %s RPS", first, fnum(b.RPS))
			}
		})
	}
}

// TestSaturationEvidenceReadsLikeAnSRE checks the words of a plateau on
// the service: throughput flat at its level from the knee to the
// largest load while p95 rose, with the uncertainty, and the headline
// that puts the plateau first and the SLO second.
func TestSaturationEvidenceReadsLikeAnSRE(t *testing.T) {
	a, err := Analyze(cpuQuota().observations(smoothRamp), Options{SLOP95: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b := a.BreakingPoint
	if b == nil || b.Reason != model.ReasonSaturation {
		t.Fatalf("breaking point %+v, want saturation", b)
	}
	// The asymptotes of the ceiling meet at N* = 353 × 0.036 ≈ 12.7 VUs.
	if !near(b.VUs, 12.7, 3) {
		t.Errorf("the plateau begins at %v VUs, want ≈ 12.7", b.VUs)
	}
	for _, s := range []string{"throughput flat at 35", " RPS from 1", " to 6", " VUs while p95 rose from ", "Little's law"} {
		if !strings.Contains(b.Evidence, s) {
			t.Errorf("evidence %q lacks %q", b.Evidence, s)
		}
	}
	lines := strings.Split(a.Verdict, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "The system saturates at ~35") || !strings.Contains(lines[0], "bottleneck: CPU") ||
		!strings.HasPrefix(lines[1], "Then p95 crosses the 150 ms SLO at ") {
		t.Errorf("verdict = %q, want the plateau first with its bottleneck, then the SLO crossing", a.Verdict)
	}
	if slo := findBP(a, model.ReasonLatencySLO); slo == nil || slo.VUs <= b.VUs {
		t.Errorf("the SLO crossing %+v should come after the plateau's start", slo)
	}
	if a.Bottleneck.Resource != model.KindCPU {
		t.Errorf("bottleneck %s (%s), want cpu", a.Bottleneck.Resource, a.Bottleneck.Evidence)
	}
	for _, w := range a.Warnings {
		if w.Kind == "signals_disagree" {
			t.Errorf("a plateau with its CPU full should not warn that signals disagree: %s", w.Message)
		}
	}
}

// TestSaturationWithoutAResourceSaysTheSignalsDisagree: a plateau with no
// saturated resource is still the breaking point, but not with high
// confidence, and the verdict and warnings say what is missing.
func TestSaturationWithoutAResourceSaysTheSignalsDisagree(t *testing.T) {
	s := cpuQuota()
	s.resources = []shapeResource{{kind: model.KindCPU, name: "CPU", unit: "cores", limit: 4,
		usage: func(g float64) float64 { return 4 * 0.4 * g / 353 }}}
	a, err := Analyze(s.observations(smoothRamp), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := a.BreakingPoint
	if b == nil || b.Reason != model.ReasonSaturation || b.Confidence == model.ConfidenceHigh {
		t.Fatalf("breaking point %+v, want saturation below high confidence", b)
	}
	var w *model.Warning
	for i := range a.Warnings {
		if a.Warnings[i].Kind == "signals_disagree" {
			w = &a.Warnings[i]
		}
	}
	if w == nil || !regexp.MustCompile(`no measured resource saturated \(highest utilization: CPU \d+%\)`).MatchString(w.Message) {
		t.Errorf("warnings %+v, want signals_disagree naming the busiest resource", a.Warnings)
	}
	if !strings.Contains(a.Verdict, "\nSignals disagree: throughput is flat but no measured resource saturated") {
		t.Errorf("verdict = %q", a.Verdict)
	}
}

// TestAFlatThroughputWithoutQueueingIsNotSaturation: when VUs grow but
// latency does not (the load generator ran out of steam), Little's law
// says the system did not hold the extra VUs: no breaking point, and a
// warning.
func TestAFlatThroughputWithoutQueueingIsNotSaturation(t *testing.T) {
	s := cpuQuota()
	inner := s.at
	s.at = func(n float64) response {
		r := inner(n)
		r.meanMs, r.p95Ms = 6, 10
		return r
	}
	a, err := Analyze(s.observations(smoothRamp), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if findBP(a, model.ReasonSaturation) != nil {
		t.Fatalf("breaking points %+v: a plateau without queueing is not the system's saturation", a.BreakingPoints)
	}
	found := false
	for _, w := range a.Warnings {
		found = found || (w.Kind == "signals_disagree" && strings.Contains(w.Message, "Little's law"))
	}
	if !found {
		t.Errorf("warnings %+v, want one citing Little's law", a.Warnings)
	}
}

// TestShedderReportsGoodputNotTotal: the capacity of a shedding service is
// its successful throughput, while its total rate keeps rising.
func TestShedderReportsGoodputNotTotal(t *testing.T) {
	a, err := Analyze(shedder().observations(smoothRamp), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := a.BreakingPoint
	if b == nil || b.Reason != model.ReasonErrorRate {
		t.Fatalf("breaking point %+v, want error_rate", b)
	}
	if !strings.Contains(b.Evidence, "sheds load") || !strings.Contains(a.Verdict, "the service sheds load") {
		t.Errorf("evidence %q, verdict %q: want the shedding said", b.Evidence, a.Verdict)
	}
	if a.TestedUpToRPS < 1.5*b.RPS {
		t.Errorf("the total rate reached %v RPS and the breaking point is at %v: the test should show total ≫ goodput", a.TestedUpToRPS, b.RPS)
	}
}

// TestRetrogradeSaysThroughputFalls: the breaking point of a retrograde
// system is its peak, and the verdict says throughput falls beyond it.
func TestRetrogradeSaysThroughputFalls(t *testing.T) {
	a, err := Analyze(retrogradeUSL().observations(smoothRamp), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := a.BreakingPoint
	if b == nil || b.Reason != model.ReasonRetrograde || !near(b.VUs, 35, 8) {
		t.Fatalf("breaking point %+v, want retrograde at ≈ 35 VUs", b)
	}
	if !strings.Contains(a.Verdict, "falls beyond it (retrograde)") || !strings.Contains(b.Evidence, "fell to") {
		t.Errorf("verdict %q, evidence %q", a.Verdict, b.Evidence)
	}
}

// TestOpenOverloadCitesDroppedIterations: an open-model overload is
// reported at the rate carried, with the dropped iterations.
func TestOpenOverloadCitesDroppedIterations(t *testing.T) {
	a, err := Analyze(openOverload().observations(smoothRamp), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := a.BreakingPoint
	if b == nil || b.Reason != model.ReasonSaturation {
		t.Fatalf("breaking point %+v, want saturation", b)
	}
	if !near(b.TargetRate, 400, 40) {
		t.Errorf("fell behind at %v iterations/s offered, want ≈ 400", b.TargetRate)
	}
	for _, s := range []string{"fell behind the offered rate", "iterations/s were dropped", "p95 rose"} {
		if !strings.Contains(b.Evidence, s) {
			t.Errorf("evidence %q lacks %q", b.Evidence, s)
		}
	}
	if !strings.HasPrefix(a.Verdict, "The system saturates at ~") || !strings.Contains(a.Verdict, "falls behind the offered rate") {
		t.Errorf("verdict = %q", a.Verdict)
	}
}

// TestAnalysisRecordsItsOptions: analysis.json carries the options it was
// judged by.
func TestAnalysisRecordsItsOptions(t *testing.T) {
	a, err := Analyze(cpuQuota().observations(coarseRamp), Options{SLOP95: 300 * time.Millisecond, MaxErrorRate: 0.02, SaturationUtilization: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	o := a.Options
	if o == nil || o.SLOP95Ms != 300 || o.MaxErrorRate != 0.02 || o.SaturationUtilization != 0.8 || o.StepMs != 5000 || o.TrendAlpha != DefaultTrendAlpha {
		t.Errorf("options = %+v", o)
	}
}

// TestSaturationDoesNotModifyItsInput: the plateau search and its
// bootstrap work on copies.
func TestSaturationDoesNotModifyItsInput(t *testing.T) {
	for _, s := range []shapeSys{cpuQuota(), openOverload(), shedder()} {
		obs := s.observations(shortNoisy)
		before := cloneObservations(obs)
		if _, err := Analyze(obs, Options{}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(obs, before) {
			t.Fatal("Analyze modified its input")
		}
	}
}

// TestSaturationIsRepeatable: the seeded bootstrap gives the same
// uncertainty every time.
func TestSaturationIsRepeatable(t *testing.T) {
	obs := cpuQuota().observations(shortNoisy)
	a1, _ := Analyze(obs, Options{})
	a2, _ := Analyze(obs, Options{})
	if a1.BreakingPoint == nil || a2.BreakingPoint == nil || a1.BreakingPoint.RPSUncertainty != a2.BreakingPoint.RPSUncertainty {
		t.Errorf("uncertainties differ: %+v vs %+v", a1.BreakingPoint, a2.BreakingPoint)
	}
}

func TestFitHinge(t *testing.T) {
	tests := []struct {
		name      string
		ls, xs    []float64
		ok        bool
		knee, lvl float64
	}{
		{"a line that bends flat at 10 is fitted exactly: knee 10, level 100",
			[]float64{2, 4, 6, 8, 10, 12, 14, 16, 18, 20}, []float64{20, 40, 60, 80, 100, 100, 100, 100, 100, 100}, true, 10, 100},
		{"a straight line has a bend no better than the line itself",
			[]float64{2, 4, 6, 8, 10, 12, 14, 16, 18, 20}, []float64{20, 40, 60, 80, 100, 120, 140, 160, 180, 200}, true, 0, 0},
		{"four points are too few",
			[]float64{1, 2, 3, 4}, []float64{1, 2, 3, 3}, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := fitHinge(tt.ls, tt.xs)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if tt.lvl == 0 {
				if h.p < hingeAlpha {
					t.Errorf("a straight line got a significant bend: %+v", h)
				}
				return
			}
			if !near(h.knee, tt.knee, 0.05) || !near(h.level, tt.lvl, 1e-6) || h.p >= hingeAlpha {
				t.Errorf("fit = %+v, want knee %v level %v significant", h, tt.knee, tt.lvl)
			}
		})
	}
}

// demoRun is the load series of a real `headroom demo --time-scale 0.4`
// on a busy 2-core host (pool of 20 connections held 40 ms per order:
// 500 orders/s by construction), 2-second steps: (VUs, RPS, p95 ms, mean
// ms). Throughput levels off at ~515 RPS from ~200 VUs, then sags to
// 380–480 RPS at 500 VUs as the host runs out of CPU for the load
// generator, before the ramp down.
var demoRun = [][4]float64{
	{5.2, 17.5, 48.6, 38.8}, {12.6, 29, 56.9, 41.2}, {19.8, 66, 49.0, 38.1}, {36.3, 107, 65.5, 42.4},
	{49.2, 155.5, 48.7, 39.9}, {77.8, 255, 48.7, 38.9}, {124.6, 382, 49.3, 40.5}, {152.8, 443, 172.5, 77.1},
	{223, 509, 157.6, 113.1}, {255.8, 520.5, 294.8, 211.3}, {349.7, 518.5, 475.2, 336.6}, {405.8, 527.5, 589.5, 470.8},
	{471.5, 487.5, 957.2, 634.5}, {500, 380.5, 1436.6, 956.0}, {500, 397, 1461.6, 1023.6}, {500, 465, 1213.0, 877.6},
	{500, 411, 1407.0, 955.1}, {500, 480, 987.5, 795.5}, {433.8, 490.5, 986.4, 772.6}, {281.8, 493.5, 977.4, 720.2},
}

// TestAPlateauThatSagsStillGivesItsCapacity runs the real demo's series:
// the plateau begins near 160 VUs and its level, taken before the sag, is
// the pool's 500 orders/s within a few percent.
func TestAPlateauThatSagsStillGivesItsCapacity(t *testing.T) {
	obs := model.Observations{RunID: "demo", Start: t0, StepMs: 2000, LoadModel: model.LoadClosed}
	for i, r := range demoRun {
		obs.Series = append(obs.Series, model.LoadPoint{
			Time: t0.Add(time.Duration(i+1) * 2 * time.Second), Stage: "ramp", VUs: r[0], RPS: r[1],
			P50Ms: r[3] * 0.9, P95Ms: r[2], P99Ms: r[2] * 1.1, MeanMs: r[3], InFlight: r[1] * r[3] / 1000,
		})
	}
	obs.End = t0.Add(time.Duration(len(demoRun)+1) * 2 * time.Second)
	a, err := Analyze(obs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := a.BreakingPoint
	if b == nil || b.Reason != model.ReasonSaturation {
		t.Fatalf("breaking point %+v, want saturation; verdict %q", b, a.Verdict)
	}
	if math.Abs(b.RPS-500) > 0.04*500 || b.VUs < 120 || b.VUs > 230 {
		t.Errorf("saturated at %v VUs / %v RPS, want ~160 VUs and 500 RPS within 4%%: %s", b.VUs, b.RPS, b.Evidence)
	}
	if !strings.Contains(b.Evidence, "and fell to ") {
		t.Errorf("evidence %q should say that throughput fell", b.Evidence)
	}
}

// TestSaturationShapesAcrossSeeds runs every shape with 40 seeds per ramp
// and checks how often the reason is right and the RPS within ±15% of the
// truth: always on clean ramps, and in at least 85% of the short or coarse
// runs with 6% noise and pauses, where single runs can mislead (and say so
// with their uncertainty). The table is logged with -v.
func TestSaturationShapesAcrossSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("1,120 analyses")
	}
	shapes := []struct {
		name   string
		sys    shapeSys
		reason string // "" for no breaking point
	}{
		{"cpu", cpuQuota(), model.ReasonSaturation}, {"redis", singleThreadedRedis(), model.ReasonSaturation},
		{"shed", shedder(), model.ReasonErrorRate}, {"retrograde", retrogradeUSL(), model.ReasonRetrograde},
		{"slo", latencyFirst(), model.ReasonLatencySLO}, {"open", openOverload(), model.ReasonSaturation},
		{"ample", ample(), ""},
	}
	ramps := []struct {
		name  string
		spec  rampSpec
		least int
	}{
		{"smooth 5m", smoothRamp, 40}, {"6 stages", coarseRamp, 40},
		{"60s noisy", shortNoisy, 34}, {"5 noisy stages", coarseNoisy, 34},
	}
	const seeds = 40
	for _, r := range ramps {
		for _, s := range shapes {
			good, worst := 0, 0.0
			for seed := uint64(1); seed <= seeds; seed++ {
				spec := r.spec
				spec.seed = seed
				a, err := Analyze(s.sys.observations(spec), Options{})
				if err != nil {
					t.Fatal(err)
				}
				b := a.BreakingPoint
				switch {
				case s.reason == "":
					if b == nil {
						good++
					}
				case b != nil && b.Reason == s.reason:
					e := math.Abs(b.RPS-s.sys.capacity) / s.sys.capacity
					worst = math.Max(worst, e)
					if e <= 0.15 {
						good++
					}
				}
			}
			t.Logf("%-15s %-10s %2d/%d right, worst RPS error of the right reasons %4.1f%%", r.name, s.name, good, seeds, 100*worst)
			if good < r.least {
				t.Errorf("%s on %s: %d of %d runs right, want at least %d", s.name, r.name, good, seeds, r.least)
			}
		}
	}
}
