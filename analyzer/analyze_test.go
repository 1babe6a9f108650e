package analyzer

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/golden"
)

// ---- synthetic systems ----

// t0 is the start of every synthetic run.
var t0 = time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)

// synthBuckets are the runner's classic bucket bounds in seconds.
var synthBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3,
	0.4, 0.5, 0.6, 0.75, 1, 1.5, 2, 2.5, 5, 10, 30, 60,
}

// latencySigma is the log-scale spread of synthetic latencies: lognormal,
// so p95 = median × e^(1.645σ).
const latencySigma = 0.5

// synthResource is one resource of a synthetic system, as functions of
// the load.
type synthResource struct {
	kind, name, family, unit, satUnit string
	// limit is 0 when the family has none.
	limit float64
	usage func(rps, vus float64) float64
	// sat is nil when the family measures no queueing.
	sat func(rps, vus float64) float64
}

// synthEndpoint is one endpoint: its share of requests and its p95 as a
// function of the overall p95.
type synthEndpoint struct {
	name  string
	share float64
	p95   func(overall float64) float64
}

// synth describes a closed-model system under a stepped ramp of VUs.
type synth struct {
	levels   []float64 // VUs of each stage
	stageLen time.Duration
	step     time.Duration
	// rps, p95 and errRate are the system's response to VUs.
	rps     func(vus float64) float64
	p95     func(rps, vus float64) float64
	errRate func(rps, vus float64) float64
	// noise is the relative standard deviation of every measured value.
	noise     float64
	seed      uint64
	resources []synthResource
	missing   []model.MissingResource
	endpoints []synthEndpoint
	// loadModel defaults to closed.
	loadModel string
}

// table interpolates y over x linearly, holding the end values.
func table(xs, ys []float64) func(float64) float64 {
	return func(x float64) float64 {
		if x <= xs[0] {
			return ys[0]
		}
		for i := 1; i < len(xs); i++ {
			if x <= xs[i] {
				f := (x - xs[i-1]) / (xs[i] - xs[i-1])
				return ys[i-1] + f*(ys[i]-ys[i-1])
			}
		}
		return ys[len(ys)-1]
	}
}

// lognormalBuckets returns the expected cumulative bucket counts of n
// lognormal latencies with the given p95 in ms.
func lognormalBuckets(n, p95ms float64) []model.Bucket {
	median := p95ms / 1000 / math.Exp(1.6448536269514722*latencySigma)
	var bs []model.Bucket
	for _, ub := range synthBuckets {
		z := (math.Log(ub) - math.Log(median)) / latencySigma
		bs = append(bs, model.Bucket{UpperBound: ub, Count: n * 0.5 * math.Erfc(-z/math.Sqrt2)})
	}
	return append(bs, model.Bucket{UpperBound: math.Inf(1), Count: n})
}

// lognormalMeanMs is the mean of those latencies in ms.
func lognormalMeanMs(p95ms float64) float64 {
	median := p95ms / math.Exp(1.6448536269514722*latencySigma)
	return median * math.Exp(latencySigma*latencySigma/2)
}

// observations builds what the collector would have read.
func (s synth) observations() model.Observations {
	rng := rand.New(rand.NewPCG(s.seed, 7))
	noisy := func(v float64) float64 {
		if s.noise == 0 {
			return v
		}
		return v * (1 + s.noise*rng.NormFloat64())
	}
	if s.step == 0 {
		s.step = 5 * time.Second
	}
	if s.stageLen == 0 {
		s.stageLen = time.Minute
	}
	if s.errRate == nil {
		s.errRate = func(float64, float64) float64 { return 0 }
	}
	lm := s.loadModel
	if lm == "" {
		lm = model.LoadClosed
	}
	obs := model.Observations{
		RunID: "synthetic", Scenario: "checkout", Start: t0,
		End:        t0.Add(time.Duration(len(s.levels)) * s.stageLen),
		StepMs:     float64(s.step / time.Millisecond),
		LoadModel:  lm,
		LoadSource: "headroom_request_duration_seconds",
		Missing:    s.missing,
	}
	for _, r := range s.resources {
		obs.Resources = append(obs.Resources, model.ResourceObservation{
			Kind: r.kind, Name: r.name, Family: r.family, Unit: r.unit, SaturationUnit: r.satUnit,
		})
	}
	epSeries := make([]model.EndpointSeries, len(s.endpoints))
	for i, e := range s.endpoints {
		epSeries[i].Endpoint = e.name
	}
	perStage := int(s.stageLen / s.step)
	for si, vus := range s.levels {
		start := t0.Add(time.Duration(si) * s.stageLen)
		so := model.StageObservation{
			Name: "stage-" + string(rune('a'+si)), Executor: "ramping-vus",
			Start: start, End: start.Add(s.stageLen), VUs: vus,
		}
		if lm != model.LoadClosed {
			so.VUs = 0
		}
		var reqs, errs, sum float64
		var buckets [][]model.Bucket
		epReq := make([]float64, len(s.endpoints))
		epErr := make([]float64, len(s.endpoints))
		epSum := make([]float64, len(s.endpoints))
		epB := make([][][]model.Bucket, len(s.endpoints))
		for k := 1; k <= perStage; k++ {
			t := start.Add(time.Duration(k) * s.step)
			rps := noisy(s.rps(vus))
			p95 := noisy(s.p95(s.rps(vus), vus))
			er := math.Max(0, math.Min(1, s.errRate(rps, vus)))
			n := rps * s.step.Seconds()
			mean := lognormalMeanMs(p95)
			lp := model.LoadPoint{
				Time: t, Stage: so.Name, VUs: vus, RPS: rps,
				P50Ms: p95 / math.Exp(1.6448536269514722*latencySigma), P95Ms: p95, P99Ms: p95 * 1.4,
				MeanMs: mean, ErrorRate: er, InFlight: rps * mean / 1000,
			}
			switch lm {
			case model.LoadOpen:
				// The level is the offered rate; VUs are those busy.
				lp.TargetRate, lp.VUs = vus, math.Ceil(lp.InFlight)
				so.TargetRate, so.VUs = vus, math.Max(so.VUs, lp.VUs)
			case model.LoadUnknown:
				lp.VUs, so.VUs = 0, 0
			}
			obs.Series = append(obs.Series, lp)
			reqs += n
			errs += n * er
			sum += n * mean / 1000
			buckets = append(buckets, lognormalBuckets(n, p95))
			for i, e := range s.endpoints {
				ep95 := e.p95(p95)
				en := n * e.share
				epSeries[i].Points = append(epSeries[i].Points, model.LoadPoint{
					Time: t, Stage: so.Name, VUs: vus, RPS: rps * e.share, P95Ms: ep95, P99Ms: ep95 * 1.4,
					P50Ms: ep95 / 2.3, MeanMs: lognormalMeanMs(ep95), ErrorRate: er,
				})
				epReq[i] += en
				epErr[i] += en * er
				epSum[i] += en * lognormalMeanMs(ep95) / 1000
				epB[i] = append(epB[i], lognormalBuckets(en, ep95))
			}
			for ri, r := range s.resources {
				usage := noisy(r.usage(s.rps(vus), vus))
				p := model.ResourcePoint{Time: t, Usage: usage}
				if r.limit > 0 {
					// Noise does not take a pool past its size.
					usage = math.Min(usage, r.limit)
					p.Usage = usage
					p.Limit, p.HasLimit = r.limit, true
					p.Utilization = usage / r.limit
				}
				if r.sat != nil {
					p.HasSaturation = true
					p.Saturation = math.Max(0, r.sat(s.rps(vus), vus)+s.noise*0.05*rng.NormFloat64())
				}
				obs.Resources[ri].Points = append(obs.Resources[ri].Points, p)
			}
		}
		so.Requests, so.Errors, so.SumSeconds = reqs, errs, sum
		so.Buckets = mergeBuckets(buckets...)
		for i, e := range s.endpoints {
			so.Endpoints = append(so.Endpoints, model.EndpointObservation{
				Endpoint: e.name, Requests: epReq[i], Errors: epErr[i], SumSeconds: epSum[i],
				Buckets: mergeBuckets(epB[i]...),
			})
		}
		obs.Stages = append(obs.Stages, so)
	}
	obs.EndpointSeries = epSeries
	return obs
}

var rampVUs = []float64{50, 100, 150, 200, 250, 300, 350, 400, 450, 500}

// poolBound is a checkout API whose DB pool of 20 connections reaches 90%
// at ~380 RPS (fully acquired from 430 RPS); the acquire wait then grows
// and p95 crosses 800 ms at ~520 RPS / ~355 VUs, while CPU sits at 41%
// where the pool saturates.
func poolBound() synth {
	rps := table(rampVUs, []float64{100, 200, 290, 375, 430, 480, 520, 545, 560, 570})
	wait := func(r float64) float64 { return math.Max(0, (r-400)/10) }
	return synth{
		levels: rampVUs, noise: 0.02, seed: 1,
		rps: rps,
		p95: func(r, _ float64) float64 { return 120 + 55*wait(r) },
		resources: []synthResource{
			{kind: model.KindDBPool, name: "DB connection pool", family: "pgxpool", unit: "connections", satUnit: "waiting acquirers",
				limit: 20, usage: func(r, _ float64) float64 { return math.Min(20, 20*r/420) }, sat: func(r, _ float64) float64 { return wait(r) }},
			{kind: model.KindCPU, name: "CPU", family: "process", unit: "cores", satUnit: "throttled fraction",
				limit: 2, usage: func(r, _ float64) float64 { return 2 * (0.15 + 0.00068*r) }, sat: func(float64, float64) float64 { return 0 }},
			{kind: model.KindMemory, name: "Memory", family: "process", unit: "bytes",
				limit: 2 << 30, usage: func(r, _ float64) float64 { return 300<<20 + 1000*r }},
			{kind: model.KindHTTPInflight, name: "HTTP requests in flight", family: "http_server", unit: "requests",
				usage: func(r, _ float64) float64 { return r * (120 + 55*wait(r)) / 1000 / 2 }},
		},
		endpoints: []synthEndpoint{
			{name: "POST /orders", share: 0.6, p95: func(o float64) float64 { return o * 1.1 }},
			{name: "GET /products/{id}", share: 0.4, p95: func(float64) float64 { return 20 }},
		},
	}
}

// cpuBound saturates its 2 cores at ~470 RPS; goroutines then wait to be
// scheduled and p95 crosses the SLO; its DB pool stays at a third.
func cpuBound() synth {
	rps := table(rampVUs, []float64{100, 200, 300, 390, 460, 500, 520, 530, 535, 538})
	over := func(r float64) float64 { return math.Max(0, r-460) }
	return synth{
		levels: rampVUs, noise: 0.02, seed: 2,
		rps: rps,
		p95: func(r, v float64) float64 { return 90 + 0.004*v*v*over(r)/40 + 12*over(r) },
		resources: []synthResource{
			{kind: model.KindDBPool, name: "DB connection pool", family: "pgxpool", unit: "connections", satUnit: "waiting acquirers",
				limit: 20, usage: func(r, _ float64) float64 { return 6 * r / 538 }, sat: func(float64, float64) float64 { return 0 }},
			{kind: model.KindCPU, name: "CPU", family: "process", unit: "cores", satUnit: "throttled fraction",
				limit: 2, usage: func(r, _ float64) float64 { return math.Min(2, 2*r/500) }, sat: func(float64, float64) float64 { return 0 }},
			{kind: model.KindGoRuntime, name: "Go runtime", family: "go_runtime", unit: "goroutines", satUnit: "seconds (p99 scheduling latency)",
				usage: func(r, v float64) float64 { return 20 + v }, sat: func(r, _ float64) float64 { return 0.0002 + over(r)*0.0004 }},
		},
	}
}

// redisBound saturates Redis' single core at ~400 RPS while the app's
// CPU stays at 35% of 4 cores and its Redis pool has room.
func redisBound() synth {
	rps := table(rampVUs, []float64{100, 200, 300, 380, 420, 440, 450, 455, 458, 460})
	over := func(r float64) float64 { return math.Max(0, r-400) }
	return synth{
		levels: rampVUs, noise: 0.02, seed: 3,
		rps: rps,
		p95: func(r, v float64) float64 { return 60 + 0.5*over(r)*v/20 },
		resources: []synthResource{
			{kind: model.KindRedis, name: "Redis server", family: "redis_exporter", unit: "cores", satUnit: "blocked clients",
				limit: 1, usage: func(r, _ float64) float64 { return math.Min(1, r/420) }, sat: func(float64, float64) float64 { return 0 }},
			{kind: model.KindRedisPool, name: "Redis client pool", family: "go_redis_pool", unit: "connections", satUnit: "waiting callers",
				limit: 100, usage: func(r, v float64) float64 { return math.Min(60, 10+v/10) }, sat: func(float64, float64) float64 { return 0 }},
			{kind: model.KindCPU, name: "CPU", family: "process", unit: "cores", satUnit: "throttled fraction",
				limit: 4, usage: func(r, _ float64) float64 { return 4 * 0.35 * r / 460 }, sat: func(float64, float64) float64 { return 0 }},
		},
	}
}

// busyUnsaturated keeps CPU at up to 70% with no queueing growth and
// carries every level within the SLO.
func busyUnsaturated() synth {
	return synth{
		levels: rampVUs, noise: 0.02, seed: 4,
		rps: func(v float64) float64 { return 3 * v },
		p95: func(r, _ float64) float64 { return 80 + r/100 },
		resources: []synthResource{
			{kind: model.KindCPU, name: "CPU", family: "process", unit: "cores", satUnit: "throttled fraction",
				limit: 4, usage: func(r, _ float64) float64 { return 4 * 0.70 * r / 1500 }, sat: func(float64, float64) float64 { return 0.01 }},
			{kind: model.KindDBPool, name: "DB connection pool", family: "pgxpool", unit: "connections", satUnit: "waiting acquirers",
				limit: 50, usage: func(r, _ float64) float64 { return 25 * r / 1500 }, sat: func(float64, float64) float64 { return 0 }},
		},
	}
}

// busyBreaks breaks on latency (from something unmeasured) while CPU is
// merely busy at 70%.
func busyBreaks() synth {
	s := busyUnsaturated()
	s.p95 = func(r, _ float64) float64 { return 100 + math.Max(0, r-900)*2 }
	return s
}

// noResources has load metrics only; the catalog found nothing.
func noResources() synth {
	s := poolBound()
	s.resources = nil
	s.missing = []model.MissingResource{
		{Kind: model.KindDBPool, Name: "DB connection pool", LookedFor: []string{"pgxpool_*", "go_sql_stats_connections_*", "hikaricp_*"}},
		{Kind: model.KindCPU, Name: "CPU", LookedFor: []string{"process_cpu_seconds_total", "container_cpu_usage_seconds_total", "node_cpu_seconds_total"}},
	}
	return s
}

// ---- tests ----

func analyze(t *testing.T, s synth, opts Options) model.Analysis {
	t.Helper()
	a, err := Analyze(s.observations(), opts)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	if _, err := json.Marshal(a); err != nil {
		t.Fatalf("the analysis does not encode as JSON: %v", err)
	}
	return a
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// percentOf reads "NAME 41%" from a sentence; NaN when absent.
func percentOf(s, name string) float64 {
	m := regexp.MustCompile(regexp.QuoteMeta(name) + ` (\d+(?:\.\d+)?)%`).FindStringSubmatch(s)
	if m == nil {
		return math.NaN()
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func resourceByKind(a model.Analysis, kind string) *model.ResourceAnalysis {
	for i := range a.Resources {
		if a.Resources[i].Kind == kind {
			return &a.Resources[i]
		}
	}
	return nil
}

func TestAnalyzeDoesNotModifyItsInput(t *testing.T) {
	obs := poolBound().observations()
	before := cloneObservations(obs)
	if _, err := Analyze(obs, Options{}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(obs, before) {
		t.Fatal("Analyze modified its input")
	}
}

// cloneObservations copies every slice of obs.
func cloneObservations(o model.Observations) model.Observations {
	c := o
	c.Shards = append([]string(nil), o.Shards...)
	c.Series = append([]model.LoadPoint(nil), o.Series...)
	c.Stages = nil
	for _, s := range o.Stages {
		s.Buckets = append([]model.Bucket(nil), s.Buckets...)
		eps := s.Endpoints
		s.Endpoints = nil
		for _, e := range eps {
			e.Buckets = append([]model.Bucket(nil), e.Buckets...)
			s.Endpoints = append(s.Endpoints, e)
		}
		c.Stages = append(c.Stages, s)
	}
	c.EndpointSeries = nil
	for _, e := range o.EndpointSeries {
		e.Points = append([]model.LoadPoint(nil), e.Points...)
		c.EndpointSeries = append(c.EndpointSeries, e)
	}
	c.Resources = nil
	for _, r := range o.Resources {
		r.Points = append([]model.ResourcePoint(nil), r.Points...)
		c.Resources = append(c.Resources, r)
	}
	c.Missing = nil
	for _, m := range o.Missing {
		m.LookedFor = append([]string(nil), m.LookedFor...)
		c.Missing = append(c.Missing, m)
	}
	return c
}

func TestAnalyzeRejects(t *testing.T) {
	tests := []struct {
		name string
		obs  model.Observations
		opts Options
		want error
	}{
		{"observations without requests are rejected", model.Observations{Start: t0, End: t0.Add(time.Minute)}, Options{}, ErrNoLoad},
		{"a negative SLO is rejected", poolBound().observations(), Options{SLOP95: -time.Second}, ErrBadOptions},
		{"an error-rate limit above 1 is rejected", poolBound().observations(), Options{MaxErrorRate: 5}, ErrBadOptions},
		{"a utilization threshold above 1 is rejected", poolBound().observations(), Options{SaturationUtilization: 90}, ErrBadOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Analyze(tt.obs, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Analyze() error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestAnalyzeGolden pins the whole analysis document of the pool-bound
// system, numbers rounded to 6 significant digits so that the last bits
// of floating point (which differ between CPU architectures) do not
// matter; refresh with go test -update.
func TestAnalyzeGolden(t *testing.T) {
	a := analyze(t, poolBound(), Options{})
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(roundNumbers(doc), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden.Check(t, "analyze", ".json", got)
}

// roundNumbers rounds every number of a decoded JSON document to 6
// significant digits.
func roundNumbers(v any) any {
	switch x := v.(type) {
	case float64:
		r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
		return r
	case []any:
		for i := range x {
			x[i] = roundNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = roundNumbers(x[k])
		}
	}
	return v
}

// BenchmarkAnalyze measures a 10-stage ramp with 120 series points, four
// resources and two endpoints.
func BenchmarkAnalyze(b *testing.B) {
	obs := poolBound().observations()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Analyze(obs, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzeSoak measures a one-hour constant stage at 5 s steps.
func BenchmarkAnalyzeSoak(b *testing.B) {
	s := soak()
	s.stageLen = time.Hour
	obs := drifting(s.observations())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Analyze(obs, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
