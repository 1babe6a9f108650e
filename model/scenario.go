package model

import "encoding/json"

// Executor types, named as in k6.
const (
	ExecutorRampingVUs          = "ramping-vus"
	ExecutorConstantVUs         = "constant-vus"
	ExecutorRampingArrivalRate  = "ramping-arrival-rate"
	ExecutorConstantArrivalRate = "constant-arrival-rate"
)

// Scenario is a load test document: where to send load, what each virtual
// user (VU) does, how load is shaped over time and what counts as a pass.
type Scenario struct {
	// Name identifies the scenario in metrics (the `scenario` label) and reports.
	Name string `json:"name" yaml:"name"`
	// Target is the base URL every step path is resolved against.
	Target string `json:"target" yaml:"target"`
	// Variables are initial per-VU variables usable in templates as {{name}}.
	Variables map[string]string `json:"variables,omitempty" yaml:"variables,omitempty"`
	// Headers are sent with every request unless a step overrides them.
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// Timeout bounds each request; zero means 30s.
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Auth, when set, is run once per VU before its first iteration.
	Auth *Auth `json:"auth,omitempty" yaml:"auth,omitempty"`
	// Flows are the iterations a VU can run, chosen by weight.
	Flows []Flow `json:"flows" yaml:"flows"`
	// Executors shape the load; several run side by side.
	Executors []Executor `json:"executors" yaml:"executors"`
	// Thresholds are k6-style pass criteria keyed by metric, optionally
	// with a tag filter: `http_req_duration{endpoint:GET /api/orders/{id}}`.
	Thresholds map[string][]Threshold `json:"thresholds,omitempty" yaml:"thresholds,omitempty"`
}

// Auth authenticates a VU's requests in one of three ways: a login Step
// whose captured token is sent on later requests, HTTP Basic credentials,
// or a Bearer token. Credentials are usually {{env(NAME)}} or
// {{file(PATH)}} templates, so that the scenario holds no secret.
type Auth struct {
	// Step is the login request; its captures become VU variables.
	Step Step `json:"step,omitzero" yaml:"step,omitempty"`
	// Basic sends HTTP Basic credentials with every request.
	Basic *BasicAuth `json:"basic,omitempty" yaml:"basic,omitempty"`
	// Bearer is a token sent with every request in Header, after Scheme.
	Bearer string `json:"bearer,omitempty" yaml:"bearer,omitempty"`
	// Token names the captured variable holding the token (default "token").
	Token string `json:"token,omitempty" yaml:"token,omitempty"`
	// Header is the header the token is sent in (default "Authorization").
	Header string `json:"header,omitempty" yaml:"header,omitempty"`
	// Scheme prefixes the token in the header (default "Bearer"; "none" sends it bare).
	Scheme string `json:"scheme,omitempty" yaml:"scheme,omitempty"`
	// RefreshOn lists response statuses that trigger a new login and one
	// retry of the request (default [401]).
	RefreshOn []int `json:"refresh_on,omitempty" yaml:"refreshOn,omitempty"`
}

// BasicAuth is HTTP Basic credentials (RFC 7617).
type BasicAuth struct {
	Username string `json:"username" yaml:"username"`
	Password string `json:"password" yaml:"password"`
}

// IsLogin reports whether the auth runs a login step (rather than sending
// fixed Basic or Bearer credentials).
func (a *Auth) IsLogin() bool { return a != nil && a.Basic == nil && a.Bearer == "" }

// Flow is one kind of iteration: a sequence of steps.
type Flow struct {
	Name string `json:"name" yaml:"name"`
	// Weight is the relative frequency of this flow (default 1).
	Weight float64 `json:"weight,omitempty" yaml:"weight,omitempty"`
	Steps  []Step  `json:"steps" yaml:"steps"`
}

// Step is one HTTP request of a flow.
type Step struct {
	Name   string `json:"name,omitempty" yaml:"name,omitempty"`
	Method string `json:"method" yaml:"method"`
	// Path is a template resolved against the target: /api/orders/{{orderId}}.
	Path string `json:"path" yaml:"path"`
	// Endpoint groups requests in metrics; default is the route template of
	// Path ("GET /api/orders/{orderId}").
	Endpoint string            `json:"endpoint,omitempty" yaml:"endpoint,omitempty"`
	Headers  map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// Body is a JSON body template: any YAML value whose strings may hold
	// {{...}} templates. A string that is exactly one template keeps the
	// generated value's JSON type (a number stays a number).
	Body any `json:"body,omitempty" yaml:"body,omitempty"`
	// Capture maps a variable name to a JSON path in the response body
	// ("$.id", "$.items[0].sku", "id").
	Capture map[string]string `json:"capture,omitempty" yaml:"capture,omitempty"`
	Checks  []Check           `json:"checks,omitempty" yaml:"checks,omitempty"`
	// Think is the pause after this step.
	Think *Think `json:"think,omitempty" yaml:"think,omitempty"`
}

// Check is an assertion on a response. Exactly one of Status, JSONPath or
// MaxDuration is set.
type Check struct {
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Status passes when the response status is one of these codes.
	Status []int `json:"status,omitempty" yaml:"status,omitempty"`
	// JSONPath passes when the path exists in the JSON response and, if
	// Equals is set, its value formatted as a string equals it.
	JSONPath string `json:"json_path,omitempty" yaml:"jsonPath,omitempty"`
	Equals   string `json:"equals,omitempty" yaml:"equals,omitempty"`
	// MaxDuration passes when the request took at most this long.
	MaxDuration Duration `json:"max_duration,omitempty" yaml:"maxDuration,omitempty"`
}

// Think time distributions.
const (
	ThinkConstant    = "constant"
	ThinkUniform     = "uniform"
	ThinkExponential = "exponential"
	ThinkNormal      = "normal"
)

// Think is a pause. Constant uses Duration; uniform draws from [Min, Max];
// exponential has mean Duration; normal has mean Duration and deviation
// StdDev, clamped at zero.
type Think struct {
	Distribution string   `json:"distribution,omitempty" yaml:"distribution,omitempty"`
	Duration     Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
	Min          Duration `json:"min,omitempty" yaml:"min,omitempty"`
	Max          Duration `json:"max,omitempty" yaml:"max,omitempty"`
	StdDev       Duration `json:"stddev,omitempty" yaml:"stddev,omitempty"`
}

// Executor shapes load over time, as k6's scenario executors do.
//
// Closed model (ramping-vus, constant-vus): Stage.Target is a VU count.
// Open model (ramping-arrival-rate, constant-arrival-rate): Stage.Target is
// iterations started per TimeUnit.
type Executor struct {
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	Type string `json:"type" yaml:"type"`
	// Flows restricts the executor to these flows (default: all, by weight).
	Flows []string `json:"flows,omitempty" yaml:"flows,omitempty"`
	// StartTime delays the executor from the start of the run.
	StartTime Duration `json:"start_time,omitempty" yaml:"startTime,omitempty"`

	// StartVUs is the VU count before the first stage (ramping-vus).
	StartVUs int `json:"start_vus,omitempty" yaml:"startVUs,omitempty"`
	// VUs and Duration define constant-vus.
	VUs      int      `json:"vus,omitempty" yaml:"vus,omitempty"`
	Duration Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
	// GracefulRampDown lets iterations of VUs being removed finish (default 30s).
	GracefulRampDown Duration `json:"graceful_ramp_down,omitempty" yaml:"gracefulRampDown,omitempty"`
	// GracefulStop lets iterations running at the executor's end finish (default 30s).
	GracefulStop Duration `json:"graceful_stop,omitempty" yaml:"gracefulStop,omitempty"`

	// Rate and TimeUnit define constant-arrival-rate; StartRate starts
	// ramping-arrival-rate. TimeUnit defaults to 1s.
	Rate      float64  `json:"rate,omitempty" yaml:"rate,omitempty"`
	StartRate float64  `json:"start_rate,omitempty" yaml:"startRate,omitempty"`
	TimeUnit  Duration `json:"time_unit,omitempty" yaml:"timeUnit,omitempty"`
	// PreAllocatedVUs and MaxVUs bound the VUs of open-model executors.
	PreAllocatedVUs int `json:"pre_allocated_vus,omitempty" yaml:"preAllocatedVUs,omitempty"`
	MaxVUs          int `json:"max_vus,omitempty" yaml:"maxVUs,omitempty"`

	// Stages for the ramping executors. Constant executors get one stage
	// named after the executor.
	Stages []Stage `json:"stages,omitempty" yaml:"stages,omitempty"`
}

// IsOpenModel reports whether the executor starts iterations at a rate
// independent of response times.
func (e Executor) IsOpenModel() bool {
	return e.Type == ExecutorRampingArrivalRate || e.Type == ExecutorConstantArrivalRate
}

// Stage is a period over which load moves linearly to Target.
type Stage struct {
	// Name labels the stage in metrics and tables (default "stage-N").
	Name     string   `json:"name,omitempty" yaml:"name,omitempty"`
	Duration Duration `json:"duration" yaml:"duration"`
	// Target is VUs (closed model) or iterations per time unit (open model).
	Target float64 `json:"target" yaml:"target"`
}

// Threshold is one k6-style criterion such as "p(95)<800" or "rate<0.05".
// In YAML it is either the bare expression or an object with options.
type Threshold struct {
	Expr string `json:"threshold" yaml:"threshold"`
	// AbortOnFail stops the run as soon as the threshold fails.
	AbortOnFail bool `json:"abort_on_fail,omitempty" yaml:"abortOnFail,omitempty"`
	// DelayAbortEval waits this long into the run before abortOnFail is evaluated.
	DelayAbortEval Duration `json:"delay_abort_eval,omitempty" yaml:"delayAbortEval,omitempty"`
}

// UnmarshalText lets a threshold be written as its bare expression.
func (t *Threshold) UnmarshalText(b []byte) error {
	*t = Threshold{Expr: string(b)}
	return nil
}

// UnmarshalJSON accepts both "p(95)<800" and {"threshold": "p(95)<800", ...}.
func (t *Threshold) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Threshold{Expr: s}
		return nil
	}
	type plain Threshold
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = Threshold(p)
	return nil
}
