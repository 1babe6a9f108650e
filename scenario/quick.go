package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// QuickOptions describe a one-URL load test from the command line, with
// k6's flag names (--vus, --duration, --stage, --rate, ...).
type QuickOptions struct {
	// URL is the absolute URL to load; its scheme and host become the
	// target and its path (with query) the step's path.
	URL string
	// Method defaults to GET, or to POST when Body is set (as curl does).
	Method string
	// Body is a JSON body template (--body); it must be valid JSON, whose
	// strings may hold {{...}} templates.
	Body    string
	Headers map[string]string
	// VUs (--vus) is the VU count of constant-vus (default 1), or the
	// preAllocatedVUs of an arrival-rate executor when PreAllocatedVUs is 0.
	VUs int
	// Duration (--duration) is how long a constant executor runs.
	Duration time.Duration
	// Stages (--stage 30s:50, repeatable) make a ramping executor.
	Stages []model.Stage
	// Executor (--executor) picks the executor type explicitly; by default
	// it follows from the other flags: stages → ramping-vus, rate →
	// constant-arrival-rate, otherwise constant-vus.
	Executor string
	// Rate (--rate) is iterations per TimeUnit for constant-arrival-rate
	// and the start rate of ramping-arrival-rate.
	Rate float64
	// TimeUnit (--time-unit) is the period Rate and open-model stage
	// targets count iterations in (default 1s).
	TimeUnit time.Duration
	// PreAllocatedVUs (--pre-allocated-vus) and MaxVUs (--max-vus) bound the
	// VUs of arrival-rate executors; see model.Scenario.SetDefaults.
	PreAllocatedVUs, MaxVUs int
	// Thresholds (--threshold, repeatable) are "METRIC:EXPR" such as
	// "http_req_duration:p(95)<800" or
	// "http_req_duration{endpoint:GET /api/orders/{id}}:p(99)<1500".
	Thresholds []string
}

// QuickName is the name of a scenario built by FromQuick and of its flow.
const QuickName = "quick"

// FromQuick builds, defaults and validates a scenario of one request to
// o.URL. Problems are reported by flag name (--vus, --stage, ...).
func FromQuick(o QuickOptions) (*model.Scenario, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	s := &model.Scenario{Name: QuickName}
	step := model.Step{Method: strings.ToUpper(strings.TrimSpace(o.Method)), Headers: cloneQuickHeaders(o.Headers)}
	if base, rest := splitQuickURL(o.URL); model.ValidateTarget(base) != nil {
		bad("URL %q: expected an absolute http(s) URL such as http://127.0.0.1:8080/api/orders", o.URL)
	} else {
		s.Target, step.Path = base, rest
	}
	if o.Body != "" {
		body, err := decodeJSONBody(o.Body)
		if err != nil {
			bad("--body: %v", err)
		}
		step.Body = body
		if step.Method == "" {
			step.Method = "POST"
		}
	}
	if step.Method == "" {
		step.Method = "GET"
	}
	s.Flows = []model.Flow{{Name: QuickName, Steps: []model.Step{step}}}

	typ := o.Executor
	if typ == "" {
		switch {
		case len(o.Stages) > 0:
			typ = model.ExecutorRampingVUs
		case o.Rate > 0:
			typ = model.ExecutorConstantArrivalRate
		default:
			typ = model.ExecutorConstantVUs
		}
	}
	e := model.Executor{Type: typ, Stages: append([]model.Stage(nil), o.Stages...)}
	openFlags := func() {
		e.TimeUnit = model.Duration(o.TimeUnit)
		e.PreAllocatedVUs, e.MaxVUs = o.PreAllocatedVUs, o.MaxVUs
		if e.PreAllocatedVUs == 0 && o.VUs > 0 {
			e.PreAllocatedVUs = o.VUs
		}
		if o.PreAllocatedVUs < 0 || o.VUs < 0 {
			bad("--pre-allocated-vus and --vus must not be negative")
		}
		if e.MaxVUs != 0 && e.PreAllocatedVUs != 0 && e.MaxVUs < e.PreAllocatedVUs {
			bad("--max-vus %d is less than --pre-allocated-vus %d", e.MaxVUs, e.PreAllocatedVUs)
		}
		if o.TimeUnit < 0 {
			bad("--time-unit must not be negative")
		}
	}
	closedFlags := func() {
		if o.Rate != 0 {
			bad("--rate needs --executor constant-arrival-rate or ramping-arrival-rate, not %s", typ)
		}
		if o.PreAllocatedVUs != 0 || o.MaxVUs != 0 || o.TimeUnit != 0 {
			bad("--pre-allocated-vus, --max-vus and --time-unit are for arrival-rate executors, not %s", typ)
		}
	}
	switch typ {
	case model.ExecutorConstantVUs:
		closedFlags()
		if len(o.Stages) > 0 {
			bad("--stage needs a ramping executor (ramping-vus or ramping-arrival-rate), not constant-vus; use --vus and --duration")
		}
		e.VUs = o.VUs
		if e.VUs == 0 {
			e.VUs = 1
		}
		if e.VUs < 0 {
			bad("--vus %d: expected a number of VUs greater than 0", o.VUs)
		}
		if o.Duration <= 0 {
			bad("--duration is required with --vus (such as --vus 10 --duration 30s), or give --stage DURATION:TARGET")
		}
		e.Duration = model.Duration(o.Duration)
	case model.ExecutorRampingVUs:
		closedFlags()
		if len(o.Stages) == 0 {
			bad("ramping-vus needs at least one --stage DURATION:TARGET such as --stage 30s:50")
		}
		if o.Duration != 0 {
			bad("--duration is not used with --stage: the stages set the duration")
		}
		if o.VUs != 0 {
			e.StartVUs = o.VUs
		}
	case model.ExecutorConstantArrivalRate:
		openFlags()
		if len(o.Stages) > 0 {
			bad("--stage needs a ramping executor (ramping-vus or ramping-arrival-rate), not constant-arrival-rate; use --rate and --duration")
		}
		if !(o.Rate > 0) {
			bad("constant-arrival-rate needs --rate greater than 0 (iterations per --time-unit)")
		}
		if o.Duration <= 0 {
			bad("constant-arrival-rate needs --duration, such as --rate 100 --duration 1m")
		}
		e.Rate = o.Rate
		e.Duration = model.Duration(o.Duration)
	case model.ExecutorRampingArrivalRate:
		openFlags()
		if len(o.Stages) == 0 {
			bad("ramping-arrival-rate needs at least one --stage DURATION:TARGET, the target in iterations per --time-unit, such as --stage 1m:100")
		}
		if o.Duration != 0 {
			bad("--duration is not used with --stage: the stages set the duration")
		}
		if o.Rate < 0 {
			bad("--rate must not be negative")
		}
		e.StartRate = o.Rate
	default:
		bad("--executor %q: expected one of %s", typ, strings.Join(model.ExecutorTypes, ", "))
	}
	s.Executors = []model.Executor{e}

	for _, t := range o.Thresholds {
		key, expr, err := splitThresholdFlag(t)
		if err != nil {
			bad("%v", err)
			continue
		}
		if s.Thresholds == nil {
			s.Thresholds = map[string][]model.Threshold{}
		}
		s.Thresholds[key] = append(s.Thresholds[key], model.Threshold{Expr: expr})
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("could not build a quick scenario: %s", strings.Join(problems, "; "))
	}
	s.SetDefaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("could not build a quick scenario: %s", quickMessage(err))
	}
	return s, nil
}

// quickMessage rewrites scenario field paths to the flags that set them.
func quickMessage(err error) string {
	var verrs model.ValidationErrors
	if !errors.As(err, &verrs) {
		return err.Error()
	}
	flags := []struct{ prefix, flag string }{
		{"flows[0].steps[0].path", "URL"},
		{"flows[0].steps[0].method", "--method"},
		{"flows[0].steps[0].headers", "--header"},
		{"flows[0].steps[0].body", "--body"},
		{"executors[0].stages", "--stage"},
		{"executors[0].preAllocatedVUs", "--pre-allocated-vus"},
		{"executors[0].maxVUs", "--max-vus"},
		{"executors[0].timeUnit", "--time-unit"},
		{"executors[0].vus", "--vus"},
		{"executors[0].duration", "--duration"},
		{"executors[0].rate", "--rate"},
		{"executors[0].startRate", "--rate"},
		{"thresholds", "--threshold"},
		{"target", "URL"},
	}
	parts := make([]string, len(verrs))
	for i, fe := range verrs {
		parts[i] = fe.Error()
		for _, f := range flags {
			if strings.HasPrefix(fe.Path, f.prefix) {
				parts[i] = f.flag + ": " + fe.Msg
				break
			}
		}
	}
	return strings.Join(parts, "; ")
}

// splitURL splits an absolute URL into scheme://host and the rest, which
// starts with "/" and may hold {{...}} templates that url.Parse would
// escape.
func splitQuickURL(u string) (base, rest string) {
	i := strings.Index(u, "://")
	if i < 0 {
		return u, ""
	}
	j := strings.IndexAny(u[i+3:], "/?#")
	if j < 0 {
		return u, "/"
	}
	base, rest = u[:i+3+j], u[i+3+j:]
	if strings.HasPrefix(rest, "#") {
		rest = "/"
	} else if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	if k := strings.IndexByte(rest, '#'); k >= 0 {
		rest = rest[:k]
	}
	return base, rest
}

func cloneQuickHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	c := make(map[string]string, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}

// decodeJSONBody reads a JSON body into the value types Parse gives:
// string, int64, float64, bool, nil, []any and map[string]any.
func decodeJSONBody(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("expected a JSON body such as '{\"sku\":\"{{word()}}\",\"qty\":1}': %v", err)
	}
	if dec.More() {
		return nil, errors.New("expected one JSON value, found more after it")
	}
	return fromJSONNumbers(v), nil
}

func fromJSONNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSONNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fromJSONNumbers(e)
		}
	}
	return v
}

// splitThresholdFlag splits "METRIC:EXPR"; the metric's tag filter may
// itself hold colons, so the split is at the last one.
func splitThresholdFlag(t string) (string, string, error) {
	i := strings.LastIndexByte(t, ':')
	if i <= 0 || i == len(t)-1 {
		return "", "", fmt.Errorf("--threshold %q: expected METRIC:EXPRESSION such as http_req_duration:p(95)<800", t)
	}
	key, expr := strings.TrimSpace(t[:i]), strings.TrimSpace(t[i+1:])
	if strings.Contains(key, "{") && !strings.HasSuffix(key, "}") {
		return "", "", fmt.Errorf("--threshold %q: expected METRIC{tag:value}:EXPRESSION such as \"http_req_duration{endpoint:GET /api/orders/{id}}:p(95)<800\"", t)
	}
	return key, expr, nil
}

// ParseStageFlag reads a --stage value: "DURATION:TARGET" or
// "DURATION:TARGET:NAME", such as "30s:50" or "1m:200:peak". TARGET is VUs
// for ramping-vus and iterations per time unit for ramping-arrival-rate.
func ParseStageFlag(s string) (model.Stage, error) {
	const form = "expected DURATION:TARGET[:NAME] such as 30s:50 or 1m:200:peak"
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 {
		return model.Stage{}, fmt.Errorf("--stage %q: %s", s, form)
	}
	d, err := model.ParseDuration(parts[0])
	if err != nil {
		return model.Stage{}, fmt.Errorf("--stage %q: %v; %s", s, err, form)
	}
	target, err := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
	if err != nil || target < 0 || math.IsInf(target, 0) || math.IsNaN(target) {
		return model.Stage{}, fmt.Errorf("--stage %q: target %q is not a number ≥ 0; %s", s, parts[1], form)
	}
	st := model.Stage{Duration: model.Duration(d), Target: target}
	if len(parts) == 3 {
		st.Name = strings.TrimSpace(parts[2])
		if st.Name == "" {
			return model.Stage{}, fmt.Errorf("--stage %q: the name after the second \":\" is empty; %s", s, form)
		}
	}
	return st, nil
}
