package planner

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// Verification defaults.
const (
	DefaultVerifyRamp     = 5 * time.Minute
	DefaultVerifySoak     = 30 * time.Minute
	DefaultVerifyRampDown = time.Minute
	// DefaultVerifyMaxErrorRate is the verification's error limit, stricter
	// than a plan's SLO.
	DefaultVerifyMaxErrorRate = 0.01
	DefaultSmokeVUs           = 100
	DefaultSmokeDuration      = 5 * time.Minute
	// DefaultThinkMin and DefaultThinkMax bound the uniform think time
	// given to steps that have none.
	DefaultThinkMin = time.Second
	DefaultThinkMax = 3 * time.Second
	// DefaultVerifyTarget is where a verification built without a scenario
	// sends load until told otherwise.
	DefaultVerifyTarget = "http://127.0.0.1:8080"
)

// ErrBadVerifyOptions is returned for options Verify cannot use.
var ErrBadVerifyOptions = errors.New("invalid verification options")

// VerifyOptions tune Verify. The zero value gives the defaults.
type VerifyOptions struct {
	// Scenario is the tested scenario whose flows, auth and target are
	// reused, with its executors replaced; nil builds flows from the
	// plan's workload (one flow per endpoint, weighted by its share).
	Scenario *model.Scenario
	// Target is the base URL when Scenario is nil (default
	// DefaultVerifyTarget).
	Target string
	// Factor is the rate driven as a multiple of the plan's target rate
	// (default DefaultVerifyFactor, 1.2).
	Factor float64
	// Ramp, Soak and RampDown shape the verification: ramp to the rate,
	// hold it, ramp down (defaults 5m, 30m, 1m).
	Ramp, Soak, RampDown time.Duration
	// MaxErrorRate is the verification's error limit (default 0.01).
	MaxErrorRate float64
	// SmokeVUs and SmokeDuration shape the CI smoke profile (defaults 100
	// VUs for 5m).
	SmokeVUs      int
	SmokeDuration time.Duration
	// ThinkMin and ThinkMax bound the uniform think time given to steps
	// without one (defaults 1s and 3s); ThinkMax < 0 adds none.
	ThinkMin, ThinkMax time.Duration
}

func (o *VerifyOptions) defaults() error {
	if o.Target == "" {
		o.Target = DefaultVerifyTarget
	}
	if o.Factor == 0 {
		o.Factor = DefaultVerifyFactor
	}
	if o.Ramp == 0 {
		o.Ramp = DefaultVerifyRamp
	}
	if o.Soak == 0 {
		o.Soak = DefaultVerifySoak
	}
	if o.RampDown == 0 {
		o.RampDown = DefaultVerifyRampDown
	}
	if o.MaxErrorRate == 0 {
		o.MaxErrorRate = DefaultVerifyMaxErrorRate
	}
	if o.SmokeVUs == 0 {
		o.SmokeVUs = DefaultSmokeVUs
	}
	if o.SmokeDuration == 0 {
		o.SmokeDuration = DefaultSmokeDuration
	}
	if o.ThinkMin == 0 && o.ThinkMax == 0 {
		o.ThinkMin, o.ThinkMax = DefaultThinkMin, DefaultThinkMax
	}
	switch {
	case !(o.Factor > 0) || math.IsInf(o.Factor, 0):
		return fmt.Errorf("%w: factor %v: expected a multiple of the target rate greater than 0, such as 1.2", ErrBadVerifyOptions, o.Factor)
	case o.Ramp < 0 || o.Soak < 0 || o.RampDown < 0 || o.SmokeDuration < 0:
		return fmt.Errorf("%w: durations must not be negative", ErrBadVerifyOptions)
	case !(o.MaxErrorRate > 0 && o.MaxErrorRate <= 1):
		return fmt.Errorf("%w: max error rate %v: expected a fraction between 0 and 1, such as 0.01", ErrBadVerifyOptions, o.MaxErrorRate)
	case o.SmokeVUs < 0:
		return fmt.Errorf("%w: smoke VUs %d: expected a number of VUs greater than 0", ErrBadVerifyOptions, o.SmokeVUs)
	case o.ThinkMax >= 0 && o.ThinkMin > o.ThinkMax:
		return fmt.Errorf("%w: think time minimum %s is above its maximum %s", ErrBadVerifyOptions, o.ThinkMin, o.ThinkMax)
	}
	if o.Target != "" && o.Scenario == nil {
		if err := model.ValidateTarget(o.Target); err != nil {
			return fmt.Errorf("%w: %v", ErrBadVerifyOptions, err)
		}
	}
	return nil
}

// Verification is the pre-launch test of a plan and the CI smoke profile.
type Verification struct {
	// RateRPS is the request rate the verification drives (the plan's
	// target × Factor); IterationRate the iterations/s that give it with
	// RequestsPerIteration requests each.
	RateRPS              float64
	IterationRate        float64
	RequestsPerIteration float64
	// Verify is the verification scenario: an open-model ramp to the rate,
	// a soak at it and a ramp down, with strict thresholds.
	Verify *model.Scenario
	// Smoke is the CI smoke profile: constant VUs for a few minutes with
	// the same flows, to compare against a stored baseline run.
	Smoke *model.Scenario
	// Notes say what was assumed in building them.
	Notes []string
	// Experiment is the short run to make before the verification when the
	// analysis could not tell the bottleneck from a contender (the plan's
	// bottleneck_experiment); nil otherwise. A plan sized for the wrong
	// resource fails its verification, so the suspects are told apart
	// first.
	Experiment *model.Experiment
}

// Verify writes the pre-launch verification test for a plan: 120% of the
// target rate, p95 under the SLO and errors under 1%, realistic think time,
// the full flow and a soak phase, plus a CI smoke profile. It is pure: the
// caller writes the scenarios (as YAML and as a k6 script).
func Verify(p *model.Plan, opts VerifyOptions) (*Verification, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: no plan", ErrBadInput)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: invalid plan:\n%v", ErrBadInput, err)
	}
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	v := &Verification{RateRPS: p.Target.TargetRPS * opts.Factor}
	base, err := baseScenario(p, opts, v)
	if err != nil {
		return nil, err
	}
	addThink(base, opts, v)
	if e := p.Measured.BottleneckExperiment; e != nil {
		c := *e
		v.Experiment = &c
		v.Notes = append(v.Notes, fmt.Sprintf("The analysis could not rule out %s as the bottleneck instead of %s. Before this verification, %s.",
			orName(p.Measured.BottleneckContender, e.ResourceName), orName(p.Measured.BottleneckName, p.Measured.Bottleneck), e.Text))
	}

	lat := latencyEstimates(p)
	k, meanIter, worstIter := iterationShape(base, lat, p.Target.SLO.P95Ms)
	v.RequestsPerIteration = k
	v.IterationRate = round(v.RateRPS/k, 2)
	pre := int(math.Ceil(v.IterationRate * meanIter * 1.2))
	maxVUs := max(pre, int(math.Ceil(v.IterationRate*worstIter*1.5)))
	pre = max(pre, 1)

	name := strings.TrimSuffix(base.Name, "-verify")
	ver := base.Clone()
	ver.Name = name + "-verify"
	ver.Executors = []model.Executor{{
		Name:            "verify",
		Type:            model.ExecutorRampingArrivalRate,
		TimeUnit:        model.Duration(time.Second),
		PreAllocatedVUs: pre,
		MaxVUs:          maxVUs,
		Stages: []model.Stage{
			{Name: "ramp", Duration: model.Duration(opts.Ramp), Target: v.IterationRate},
			{Name: "soak", Duration: model.Duration(opts.Soak), Target: v.IterationRate},
			{Name: "ramp-down", Duration: model.Duration(opts.RampDown), Target: 0},
		},
	}}
	ver.Thresholds = strictThresholds(base.Thresholds, p.Target.SLO.P95Ms, opts.MaxErrorRate)
	v.Verify = ver

	smoke := base.Clone()
	smoke.Name = name + "-smoke"
	smoke.Executors = []model.Executor{{
		Name:     "smoke",
		Type:     model.ExecutorConstantVUs,
		VUs:      opts.SmokeVUs,
		Duration: model.Duration(opts.SmokeDuration),
	}}
	smoke.Thresholds = strictThresholds(base.Thresholds, p.Target.SLO.P95Ms, opts.MaxErrorRate)
	v.Smoke = smoke

	for _, s := range []*model.Scenario{v.Verify, v.Smoke} {
		s.SetDefaults()
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("could not build scenario %q: %w", s.Name, err)
		}
	}
	v.Notes = append(v.Notes,
		fmt.Sprintf("%s iterations/s × %s request%s per iteration = %s RPS, %s of the %s RPS target.",
			num2(v.IterationRate), num2(k), pluralF(k), rps(v.IterationRate*k), pct(opts.Factor), rps(p.Target.TargetRPS)),
		fmt.Sprintf("%d VUs are pre-allocated (an iteration takes about %s s with think time), up to %d if responses slow to the SLO.",
			pre, num2(meanIter), maxVUs))
	if opts.Soak < 10*time.Minute {
		v.Notes = append(v.Notes, fmt.Sprintf("The %s soak is shorter than the 10 minutes the analyzer needs to look for drift.", model.FormatDuration(opts.Soak)))
	}
	return v, nil
}

// baseScenario is the user's scenario, or one built from the workload.
func baseScenario(p *model.Plan, opts VerifyOptions, v *Verification) (*model.Scenario, error) {
	if opts.Scenario != nil {
		s := opts.Scenario.Clone()
		s.SetDefaults()
		if len(s.Flows) == 0 {
			return nil, fmt.Errorf("%w: scenario %q has no flows to verify with", ErrBadVerifyOptions, s.Name)
		}
		if s.Target == "" {
			s.Target = opts.Target
			v.Notes = append(v.Notes, fmt.Sprintf("The scenario has no target; %s is used (override with --target).", opts.Target))
		}
		v.Notes = append(v.Notes, fmt.Sprintf("The flows are the tested scenario %q's; its executors are replaced.", s.Name))
		return s, nil
	}
	eps := p.Workload.Endpoints
	if len(eps) == 0 {
		return nil, fmt.Errorf("%w: the plan has no workload endpoints and no scenario was given: pass the tested scenario (--scenario)", ErrBadVerifyOptions)
	}
	name := p.Workload.Scenario
	if name == "" {
		name = p.Service
	}
	if name == "" {
		name = "service"
	}
	s := &model.Scenario{Name: name, Target: opts.Target, Variables: map[string]string{}}
	used := map[string]bool{}
	for _, e := range eps {
		if e.Share <= 0 {
			continue
		}
		method, tmpl, err := model.SplitEndpointName(e.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
		}
		path := paramRE.ReplaceAllStringFunc(tmpl, func(m string) string {
			v := varName(m[1 : len(m)-1])
			s.Variables[v] = "1"
			return "{{" + v + "}}"
		})
		fname := flowName(e.Endpoint, used)
		st := model.Step{Name: e.Endpoint, Method: method, Path: path, Endpoint: e.Endpoint}
		if method == "POST" || method == "PUT" || method == "PATCH" {
			st.Body = map[string]any{}
			st.Headers = map[string]string{"Content-Type": "application/json"}
		}
		s.Flows = append(s.Flows, model.Flow{Name: fname, Weight: round(e.Share*100, 2), Steps: []model.Step{st}})
	}
	if len(s.Variables) == 0 {
		s.Variables = nil
	} else {
		v.Notes = append(v.Notes, fmt.Sprintf("Path parameters (%s) are set to 1 in variables: edit them, or pass the tested scenario (--scenario) for real flows.",
			strings.Join(sortedKeys(s.Variables), ", ")))
	}
	v.Notes = append(v.Notes, "The flows are one per endpoint of the analysed test, weighted by its share of requests; bodies are empty JSON objects.")
	return s, nil
}

var (
	paramRE   = regexp.MustCompile(`\{[^{}/]+\}`)
	nonWordRE = regexp.MustCompile(`[^A-Za-z0-9]+`)
)

func varName(s string) string {
	s = nonWordRE.ReplaceAllString(s, "_")
	s = strings.Trim(s, "_")
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "p_" + s
	}
	return s
}

func flowName(endpoint string, used map[string]bool) string {
	base := strings.Trim(strings.ToLower(nonWordRE.ReplaceAllString(endpoint, "-")), "-")
	name := base
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	used[name] = true
	return name
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// addThink gives every step without a think time a uniform one, so VUs
// pace like people: in the closed-model smoke profile it sets the request
// rate per VU, in the open-model verification the VUs a session holds.
func addThink(s *model.Scenario, opts VerifyOptions, v *Verification) {
	if opts.ThinkMax < 0 {
		return
	}
	added := 0
	for i := range s.Flows {
		steps := s.Flows[i].Steps
		for j := range steps {
			if steps[j].Think == nil {
				steps[j].Think = &model.Think{Distribution: model.ThinkUniform, Min: model.Duration(opts.ThinkMin), Max: model.Duration(opts.ThinkMax)}
				added++
			}
		}
	}
	if added > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%d step%s without think time got a uniform %s–%s pause.",
			added, plural(added), model.FormatDuration(opts.ThinkMin), model.FormatDuration(opts.ThinkMax)))
	}
}

// latencyEstimates maps endpoints to their mean latency in the analysed test.
func latencyEstimates(p *model.Plan) map[string]float64 {
	m := map[string]float64{}
	for _, e := range p.Workload.Endpoints {
		if e.MeanMs > 0 {
			m[e.Endpoint] = e.MeanMs
		}
	}
	return m
}

func thinkMean(t *model.Think) time.Duration {
	if t == nil {
		return 0
	}
	switch t.Distribution {
	case model.ThinkUniform:
		return (t.Min.D() + t.Max.D()) / 2
	default:
		return t.Duration.D()
	}
}

// iterationShape returns the weighted mean requests per iteration and the
// mean and worst iteration durations in seconds (worst: every request at
// the SLO's p95).
func iterationShape(s *model.Scenario, lat map[string]float64, sloMs float64) (k, mean, worst float64) {
	var wsum float64
	for _, f := range s.Flows {
		w := f.Weight
		if w <= 0 {
			continue
		}
		var m, x float64
		for _, st := range f.Steps {
			l, ok := lat[st.Endpoint]
			if !ok {
				l = sloMs / 2
			}
			think := thinkMean(st.Think).Seconds()
			m += l/1000 + think
			x += sloMs/1000 + think
		}
		wsum += w
		k += w * float64(len(f.Steps))
		mean += w * m
		worst += w * x
	}
	if wsum == 0 || k == 0 {
		return 1, 1, 1
	}
	return k / wsum, mean / wsum, worst / wsum
}

// strictThresholds keeps the scenario's tag-filtered thresholds (except
// per-stage ones: the stages are new) and sets the overall ones to the
// verification's: p95 under the SLO, errors under the limit, checks over
// 1 − the limit.
func strictThresholds(in map[string][]model.Threshold, sloMs, maxErr float64) map[string][]model.Threshold {
	out := map[string][]model.Threshold{}
	for k, list := range in {
		key, err := model.ParseThresholdKey(k)
		if err != nil || len(key.Tags) == 0 {
			continue
		}
		if _, staged := key.Tags["stage"]; staged {
			continue
		}
		out[k] = append([]model.Threshold(nil), list...)
	}
	out["http_req_duration"] = []model.Threshold{{Expr: fmt.Sprintf("p(95)<%s", num(sloMs))}}
	out["http_req_failed"] = []model.Threshold{{Expr: fmt.Sprintf("rate<%s", num2(maxErr))}}
	out["checks"] = []model.Threshold{{Expr: fmt.Sprintf("rate>%s", num2(1-maxErr))}}
	return out
}

// VerifyFiles names the files a verification is written to, for the README.
type VerifyFiles struct {
	Verify, K6, Smoke string
}

// VerifyReadme writes README.md for a verification: what each file is,
// how to run it, and a CI job that runs the smoke profile and compares it
// with a stored baseline run.
func VerifyReadme(p *model.Plan, v *Verification, files VerifyFiles) []byte {
	if files.Verify == "" {
		files = VerifyFiles{Verify: "verify.yaml", K6: "verify.k6.js", Smoke: "smoke.yaml"}
	}
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	title := "Pre-launch verification"
	if p.Service != "" {
		title += " of " + p.Service
	}
	stages := v.Verify.Executors[0].Stages
	ex := v.Verify.Executors[0]
	w("# %s\n\n", title)
	w("The plan is for %s RPS with %s headroom. This test drives %s RPS (%s iterations/s × %s request%s) against %s and must keep p95 under %s ms and errors under %s.\n\n",
		rps(p.Target.TargetRPS), pct(p.Target.HeadroomRatio), rps(v.RateRPS), num2(v.IterationRate), num2(v.RequestsPerIteration), pluralF(v.RequestsPerIteration), v.Verify.Target,
		num(p.Target.SLO.P95Ms), pctFine(parseRate(v.Verify.Thresholds["http_req_failed"])))
	w("| File | What |\n|---|---|\n")
	w("| `%s` | headroom scenario: %s ramp to %s RPS, %s soak at it, %s ramp down (open model, %d–%d VUs) |\n",
		files.Verify, stages[0].Duration, rps(v.RateRPS), stages[1].Duration, stages[2].Duration, ex.PreAllocatedVUs, ex.MaxVUs)
	w("| `%s` | the same test as a k6 script |\n", files.K6)
	w("| `%s` | CI smoke profile: %d VUs for %s, to compare with a stored baseline |\n\n", files.Smoke, v.Smoke.Executors[0].VUs, v.Smoke.Executors[0].Duration)
	if len(v.Notes) > 0 {
		for _, n := range v.Notes {
			w("- %s\n", n)
		}
		w("\n")
	}
	if e := v.Experiment; e != nil {
		w("## First, tell the suspects apart\n\n")
		w("The analysis favoured %s but could not rule out the other suspect. Make one short run first: %s. ", orName(p.Measured.BottleneckName, p.Measured.Bottleneck), e.Text)
		w("Size the plan for the resource the run names, then verify it.\n\n")
	}
	w("## Run the verification\n\n")
	w("Against an environment shaped like the plan's proposed topology (%d pods, DB pool %d", p.Proposed.API.Pods, p.Proposed.API.DBPoolSize)
	if p.Proposed.Database != nil {
		w(", %s with max_connections %d", p.Proposed.Database.InstanceClass, p.Proposed.Database.MaxConnections)
	}
	w("):\n\n```sh\n")
	w("headroom run %s --target https://staging.example.com --out verify-run.json\n", files.Verify)
	w("# or with k6:\nk6 run -e BASE_URL=https://staging.example.com %s\n```\n\n", files.K6)
	w("It exits 99 when a threshold fails. Analyse the run as any other to see where the new topology breaks.\n\n")
	w("## CI smoke test\n\n")
	w("Record a baseline once, on a build you trust, and keep it with the code:\n\n```sh\n")
	w("headroom run %s --target \"$TARGET\" --out baseline.json\n```\n\n", files.Smoke)
	w("Then on every change:\n\n```sh\n")
	w("headroom run %s --target \"$TARGET\" --out current.json && headroom compare --baseline baseline.json --current current.json\n```\n\n", files.Smoke)
	w("`headroom compare` exits 99 when p95, p99 or the error rate regressed significantly. As a GitHub Actions job:\n\n")
	w("```yaml\n")
	w("  smoke:\n")
	w("    runs-on: ubuntu-latest\n")
	w("    timeout-minutes: %d\n", int(v.Smoke.Executors[0].Duration.D().Minutes())+10)
	w("    steps:\n")
	w("      - uses: actions/checkout@v4\n")
	w("      - name: Smoke test against the baseline\n")
	w("        env:\n")
	w("          TARGET: ${{ vars.STAGING_URL }}\n")
	w("        run: |\n")
	w("          headroom run %s --target \"$TARGET\" --out current.json\n", files.Smoke)
	w("          headroom compare --baseline baseline.json --current current.json\n")
	w("```\n")
	return b.Bytes()
}

func pluralF(v float64) string {
	if v == 1 {
		return ""
	}
	return "s"
}

// parseRate reads the number of a "rate<0.01" threshold.
func parseRate(list []model.Threshold) float64 {
	for _, t := range list {
		if e, err := model.ParseThreshold(t.Expr); err == nil {
			return e.Value
		}
	}
	return 0
}
