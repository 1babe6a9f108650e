package model

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by SetDefaults.
const (
	DefaultScenarioName     = "scenario"
	DefaultTimeout          = 30 * time.Second
	DefaultTimeUnit         = time.Second
	DefaultGracefulRampDown = 30 * time.Second
	DefaultGracefulStop     = 30 * time.Second
	DefaultAuthToken        = "token"
	DefaultAuthHeader       = "Authorization"
	DefaultAuthScheme       = "Bearer"
	// AuthSchemeNone sends the token bare, without a scheme prefix.
	AuthSchemeNone = "none"
)

// DefaultRefreshOn is the default Auth.RefreshOn.
var DefaultRefreshOn = []int{401}

// Methods are the HTTP methods a step may use.
var Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// ExecutorTypes are the executor types a scenario may use.
var ExecutorTypes = []string{ExecutorRampingVUs, ExecutorConstantVUs, ExecutorRampingArrivalRate, ExecutorConstantArrivalRate}

// ThinkDistributions are the think-time distributions a step may use.
var ThinkDistributions = []string{ThinkConstant, ThinkUniform, ThinkExponential, ThinkNormal}

// FieldError is one problem with a scenario. Path names the field with the
// YAML key names a user writes: `flows[0].steps[1].method`,
// `executors[0].stages[2].duration`, `thresholds["http_req_duration"][0]`.
// Struct fields are joined with ".", list items are "[i]" and map entries
// are `["key"]` (the key quoted as a Go string).
type FieldError struct {
	Path string
	Msg  string
}

// Error formats the problem as "path: message".
func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// ValidationErrors are all the problems Validate found, in document order.
type ValidationErrors []FieldError

// Error lists every problem, one per line.
func (v ValidationErrors) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// SetDefaults fills in every default so that later stages read one explicit
// document. It is idempotent: calling it on a defaulted scenario changes
// nothing. The defaults are:
//
//   - Name "scenario"; Timeout 30s.
//   - A flow's Name "flow-N" (N its position from 1) and Weight 1.
//   - A step's Method upper-cased and its Endpoint EndpointName(method, path),
//     with the scheme and host removed when the path is an absolute URL.
//   - Auth: Token "token", Header "Authorization", Scheme "Bearer",
//     RefreshOn [401], and the login step's Method and Endpoint as above.
//   - A think pause without a distribution is "uniform" when Min or Max is
//     set, else "constant".
//   - An executor's Name is its Type when it is the only executor of that
//     type, else "TYPE-N" (N its position among executors of that type).
//   - GracefulRampDown and GracefulStop 30s on every executor.
//   - Open-model executors: TimeUnit 1s; PreAllocatedVUs enough VUs for the
//     peak arrival rate if every iteration took one second
//     (ceil(peak iterations per second), at least 1); MaxVUs equal to
//     PreAllocatedVUs, as in k6. StartRate is left as written.
//   - constant-vus and constant-arrival-rate executors without stages get
//     exactly one stage named after the executor, lasting Duration, with
//     Target VUs or Rate, so every executor reports load by stage.
//   - Stage names "stage-N", numbered from 1 over the unnamed stages of the
//     whole scenario in executor order, skipping names already taken.
//
// A zero GracefulStop or GracefulRampDown cannot be told from an unset one,
// so both always become 30s.
func (s *Scenario) SetDefaults() {
	if s.Name == "" {
		s.Name = DefaultScenarioName
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(DefaultTimeout)
	}
	if s.Auth != nil {
		a := s.Auth
		if a.Token == "" {
			a.Token = DefaultAuthToken
		}
		if a.Header == "" {
			a.Header = DefaultAuthHeader
		}
		if a.Scheme == "" {
			a.Scheme = DefaultAuthScheme
		}
		if len(a.RefreshOn) == 0 {
			a.RefreshOn = append([]int(nil), DefaultRefreshOn...)
		}
		a.Step.setDefaults()
	}
	for i := range s.Flows {
		f := &s.Flows[i]
		if f.Name == "" {
			f.Name = "flow-" + strconv.Itoa(i+1)
		}
		if f.Weight == 0 {
			f.Weight = 1
		}
		for j := range f.Steps {
			f.Steps[j].setDefaults()
		}
	}

	typeCount := map[string]int{}
	takenExec := map[string]bool{}
	for _, e := range s.Executors {
		typeCount[e.Type]++
		if e.Name != "" {
			takenExec[e.Name] = true
		}
	}
	typeSeen := map[string]int{}
	for i := range s.Executors {
		e := &s.Executors[i]
		typeSeen[e.Type]++
		if e.Name == "" && e.Type != "" {
			name := e.Type
			if typeCount[e.Type] > 1 || takenExec[name] {
				for n := typeSeen[e.Type]; ; n++ {
					name = e.Type + "-" + strconv.Itoa(n)
					if !takenExec[name] {
						break
					}
				}
			}
			e.Name = name
			takenExec[name] = true
		}
		if e.GracefulRampDown == 0 {
			e.GracefulRampDown = Duration(DefaultGracefulRampDown)
		}
		if e.GracefulStop == 0 {
			e.GracefulStop = Duration(DefaultGracefulStop)
		}
		if e.IsOpenModel() {
			if e.TimeUnit == 0 {
				e.TimeUnit = Duration(DefaultTimeUnit)
			}
			if e.PreAllocatedVUs == 0 {
				e.PreAllocatedVUs = defaultPreAllocatedVUs(*e)
			}
			if e.MaxVUs == 0 {
				e.MaxVUs = e.PreAllocatedVUs
			}
		}
		if len(e.Stages) == 0 {
			switch e.Type {
			case ExecutorConstantVUs:
				e.Stages = []Stage{{Name: e.Name, Duration: e.Duration, Target: float64(e.VUs)}}
			case ExecutorConstantArrivalRate:
				e.Stages = []Stage{{Name: e.Name, Duration: e.Duration, Target: e.Rate}}
			}
		}
	}

	takenStage := map[string]bool{}
	for _, e := range s.Executors {
		for _, st := range e.Stages {
			if st.Name != "" {
				takenStage[st.Name] = true
			}
		}
	}
	n := 0
	for i := range s.Executors {
		for j := range s.Executors[i].Stages {
			st := &s.Executors[i].Stages[j]
			if st.Name != "" {
				continue
			}
			for {
				n++
				name := "stage-" + strconv.Itoa(n)
				if !takenStage[name] {
					st.Name = name
					takenStage[name] = true
					break
				}
			}
		}
	}
}

// defaultPreAllocatedVUs sizes an open-model executor's VU pool for its
// peak arrival rate, assuming iterations take one second (Little's law:
// VUs = iterations per second × seconds per iteration).
func defaultPreAllocatedVUs(e Executor) int {
	peak := math.Max(e.Rate, e.StartRate)
	for _, st := range e.Stages {
		peak = math.Max(peak, st.Target)
	}
	unit := e.TimeUnit.D()
	if unit <= 0 {
		unit = DefaultTimeUnit
	}
	perSecond := peak / unit.Seconds()
	if math.IsNaN(perSecond) || perSecond < 1 {
		return 1
	}
	if perSecond > 1e6 {
		return 1e6
	}
	return int(math.Ceil(perSecond))
}

func (st *Step) setDefaults() {
	st.Method = strings.ToUpper(strings.TrimSpace(st.Method))
	if st.Endpoint == "" && st.Method != "" {
		st.Endpoint = DefaultEndpoint(st.Method, st.Path)
	}
	if t := st.Think; t != nil && t.Distribution == "" {
		if t.Min != 0 || t.Max != 0 {
			t.Distribution = ThinkUniform
		} else {
			t.Distribution = ThinkConstant
		}
	}
}

// DefaultEndpoint is the endpoint name a step gets when it names none:
// EndpointName(method, path), with the scheme and host dropped when path is
// an absolute URL ("GET https://a.example/x/{{id}}" → "GET /x/{id}").
func DefaultEndpoint(method, path string) string {
	lower := strings.ToLower(path)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		rest := path[strings.Index(path, "://")+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			path = rest[j:]
			if strings.HasPrefix(path, "?") {
				path = "/" + path
			}
		} else {
			path = "/"
		}
	}
	return EndpointName(method, path)
}

// ValidateTarget checks that u is an absolute http or https URL with a host,
// such as "http://127.0.0.1:8080" or "https://api.example.com/v1".
func ValidateTarget(u string) error {
	// Messages show the URL without its password.
	shown := RedactURL(u)
	if u == "" {
		return fmt.Errorf("target is empty: expected an absolute URL such as \"http://127.0.0.1:8080\"")
	}
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("target %q is not a URL: expected an absolute URL such as \"http://127.0.0.1:8080\"", shown)
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return fmt.Errorf("target %q: expected an absolute http:// or https:// URL such as \"http://127.0.0.1:8080\"", shown)
	}
	if p.Host == "" || p.Hostname() == "" {
		return fmt.Errorf("target %q has no host: expected an absolute URL such as \"http://127.0.0.1:8080\"", shown)
	}
	if p.RawQuery != "" || p.Fragment != "" {
		return fmt.Errorf("target %q: a target is a base URL and takes no query or fragment", shown)
	}
	return nil
}

// CheckRunnable reports whether the scenario has everything a run needs
// that Validate leaves to the caller (a target may come from --target and
// executors from --vus/--stage flags): a valid Target and at least one
// executor. Call it after the command line has been applied.
func (s *Scenario) CheckRunnable() error {
	var errs ValidationErrors
	if err := ValidateTarget(s.Target); err != nil {
		errs = append(errs, FieldError{Path: "target", Msg: err.Error() + " (set target in the scenario or pass --target)"})
	}
	if len(s.Executors) == 0 {
		errs = append(errs, FieldError{Path: "executors", Msg: "no executors: add executors to the scenario or pass --vus and --duration, or --stage"})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// validator collects problems.
type validator struct {
	errs ValidationErrors
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks the scenario and returns every problem as
// ValidationErrors, or nil. It expects SetDefaults to have run (ReadFile
// does both). Target is checked only when set, and executors are not
// required, because the command line may supply them; see CheckRunnable.
func (s *Scenario) Validate() error {
	v := &validator{}
	if s.Target != "" {
		if err := ValidateTarget(s.Target); err != nil {
			v.add("target", "%s", err.Error())
		}
	}
	if s.Timeout < 0 {
		v.add("timeout", "must not be negative, got %s", s.Timeout)
	}

	varNames := sortedKeys(s.Variables)
	vars := map[string]bool{}
	for _, k := range varNames {
		if !isVarName(k) {
			v.add(path("variables", k), "variable name %q must start with a letter or \"_\" and hold only letters, digits, \"_\" and \"-\"", k)
		}
		vars[k] = true
	}
	for _, k := range varNames {
		v.template(path("variables", k), s.Variables[k], vars)
	}

	// Names a flow step may use: variables, then the auth captures and token.
	base := copySet(vars)
	if s.Auth != nil && !s.Auth.IsLogin() {
		v.fixedAuth(s)
	}
	if s.Auth.IsLogin() {
		a := s.Auth
		v.step("auth.step", &a.Step, copySet(vars))
		for k := range a.Step.Capture {
			base[k] = true
		}
		if a.Token == "" {
			v.add("auth.token", "is empty: name the captured variable holding the token")
		} else {
			if _, ok := a.Step.Capture[a.Token]; !ok {
				v.add("auth.step.capture", "does not capture the token variable %q: add `%s: $.%s` (or set auth.token to the variable that holds it)", a.Token, a.Token, a.Token)
			}
			base[a.Token] = true
		}
		if a.Header == "" {
			v.add("auth.header", "is empty: name the header the token is sent in, such as Authorization")
		} else if !isToken(a.Header) {
			v.add("auth.header", "%q is not a valid header name", a.Header)
		}
		for i, c := range a.RefreshOn {
			if c < 100 || c > 599 {
				v.add(fmt.Sprintf("auth.refreshOn[%d]", i), "expected an HTTP status code from 100 to 599, got %d", c)
			}
		}
	}
	for _, k := range sortedKeys(s.Headers) {
		p := path("headers", k)
		if !isToken(k) {
			v.add(p, "%q is not a valid header name", k)
		}
		v.template(p, s.Headers[k], base)
	}

	flowNames := map[string]bool{}
	if len(s.Flows) == 0 {
		v.add("flows", "no flows: a scenario needs at least one flow with at least one step")
	}
	for i := range s.Flows {
		f := &s.Flows[i]
		fp := fmt.Sprintf("flows[%d]", i)
		if f.Name == "" {
			v.add(fp+".name", "is empty: every flow needs a name")
		} else if flowNames[f.Name] {
			v.add(fp+".name", "flow name %q is used twice", f.Name)
		}
		flowNames[f.Name] = true
		if math.IsNaN(f.Weight) || math.IsInf(f.Weight, 0) || f.Weight < 0 {
			v.add(fp+".weight", "expected a number greater than 0, got %v", f.Weight)
		}
		if len(f.Steps) == 0 {
			v.add(fp+".steps", "flow %q has no steps", f.Name)
		}
		known := copySet(base)
		for j := range f.Steps {
			st := &f.Steps[j]
			v.step(fmt.Sprintf("%s.steps[%d]", fp, j), st, known)
			for k := range st.Capture {
				known[k] = true
			}
		}
	}

	v.executors(s, flowNames)
	v.thresholds(s, flowNames)
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

func (v *validator) step(p string, st *Step, known map[string]bool) {
	switch {
	case st.Method == "":
		v.add(p+".method", "is missing: expected one of %s", strings.Join(Methods, ", "))
	case !contains(Methods, st.Method):
		v.add(p+".method", "expected one of %s, got %q", strings.Join(Methods, ", "), st.Method)
	}
	switch {
	case st.Path == "":
		v.add(p+".path", "is missing: expected a path such as \"/api/orders\" or an absolute URL")
	case strings.HasPrefix(st.Path, "/"), strings.HasPrefix(st.Path, "{{"):
		// A path that starts with an expression (a captured link) is
		// checked when it is rendered.
	case strings.HasPrefix(st.Path, "http://"), strings.HasPrefix(st.Path, "https://"):
		head := st.Path
		if i := strings.Index(head, "{{"); i >= 0 {
			head = head[:i]
		}
		if u, err := url.Parse(head); err != nil || u.Host == "" {
			v.add(p+".path", "%q is not an absolute URL with a host", st.Path)
		}
	default:
		v.add(p+".path", "expected a path starting with \"/\" or an absolute http(s) URL, got %q", st.Path)
	}
	v.template(p+".path", st.Path, known)
	for _, k := range sortedKeys(st.Headers) {
		hp := path(p+".headers", k)
		if !isToken(k) {
			v.add(hp, "%q is not a valid header name", k)
		}
		v.template(hp, st.Headers[k], known)
	}
	v.body(p+".body", st.Body, known)
	for _, k := range sortedKeys(st.Capture) {
		cp := path(p+".capture", k)
		if !isVarName(k) {
			v.add(cp, "variable name %q must start with a letter or \"_\" and hold only letters, digits, \"_\" and \"-\"", k)
		}
		if _, err := ParseJSONPath(st.Capture[k]); err != nil {
			v.add(cp, "%s", err.Error())
		}
	}
	for i, c := range st.Checks {
		cp := fmt.Sprintf("%s.checks[%d]", p, i)
		n := 0
		if len(c.Status) > 0 {
			n++
		}
		if c.JSONPath != "" {
			n++
		}
		if c.MaxDuration != 0 {
			n++
		}
		if n != 1 {
			v.add(cp, "a check needs exactly one of status, jsonPath or maxDuration, got %d", n)
		}
		for k, code := range c.Status {
			if code < 100 || code > 599 {
				v.add(fmt.Sprintf("%s.status[%d]", cp, k), "expected an HTTP status code from 100 to 599, got %d", code)
			}
		}
		if c.JSONPath != "" {
			if _, err := ParseJSONPath(c.JSONPath); err != nil {
				v.add(cp+".jsonPath", "%s", err.Error())
			}
		}
		if c.Equals != "" && c.JSONPath == "" {
			v.add(cp+".equals", "is only used with jsonPath")
		}
		if c.MaxDuration < 0 {
			v.add(cp+".maxDuration", "must not be negative, got %s", c.MaxDuration)
		}
	}
	if st.Think != nil {
		v.think(p+".think", st.Think)
	}
}

func (v *validator) think(p string, t *Think) {
	v.nonNegative(p, []string{"duration", "min", "max", "stddev"}, []Duration{t.Duration, t.Min, t.Max, t.StdDev})
	unused := func(name string, d Duration) {
		if d != 0 {
			v.add(p+"."+name, "is not used by the %s distribution", t.Distribution)
		}
	}
	switch t.Distribution {
	case ThinkConstant:
		if t.Duration <= 0 {
			v.add(p+".duration", "the constant distribution needs a duration greater than 0")
		}
		unused("min", t.Min)
		unused("max", t.Max)
		unused("stddev", t.StdDev)
	case ThinkUniform:
		if t.Max <= 0 {
			v.add(p+".max", "the uniform distribution needs max greater than 0")
		} else if t.Min > t.Max {
			v.add(p+".min", "min %s is greater than max %s", t.Min, t.Max)
		}
		unused("duration", t.Duration)
		unused("stddev", t.StdDev)
	case ThinkExponential:
		if t.Duration <= 0 {
			v.add(p+".duration", "the exponential distribution needs its mean as a duration greater than 0")
		}
		unused("min", t.Min)
		unused("max", t.Max)
		unused("stddev", t.StdDev)
	case ThinkNormal:
		if t.Duration <= 0 {
			v.add(p+".duration", "the normal distribution needs its mean as a duration greater than 0")
		}
		if t.StdDev <= 0 {
			v.add(p+".stddev", "the normal distribution needs stddev greater than 0")
		}
		unused("min", t.Min)
		unused("max", t.Max)
	case "":
		v.add(p+".distribution", "is missing: expected one of %s", strings.Join(ThinkDistributions, ", "))
	default:
		v.add(p+".distribution", "expected one of %s, got %q", strings.Join(ThinkDistributions, ", "), t.Distribution)
	}
}

// template checks that s parses and refers only to known variables.
// fixedAuth checks Basic or Bearer credentials: one kind, no login step,
// and templates that are fixed for the run (text, env() and file()).
func (v *validator) fixedAuth(s *Scenario) {
	a := s.Auth
	if a.Basic != nil && a.Bearer != "" {
		v.add("auth", "has both basic and bearer: choose one")
	}
	if a.Step.Method != "" || a.Step.Path != "" {
		v.add("auth.step", "a login step cannot be combined with basic or bearer credentials: choose one")
	}
	if a.Basic != nil {
		if a.Basic.Username == "" {
			v.add("auth.basic.username", "is empty: expected a user name, such as {{env(API_USER)}}")
		}
		if strings.Contains(a.Basic.Username, ":") {
			v.add("auth.basic.username", "contains \":\", which HTTP Basic cannot carry in a user name")
		}
		v.fixedTemplate("auth.basic.username", a.Basic.Username)
		v.fixedTemplate("auth.basic.password", a.Basic.Password)
	}
	if a.Bearer != "" {
		v.fixedTemplate("auth.bearer", a.Bearer)
	}
	if a.Header == "" || !isToken(a.Header) {
		v.add("auth.header", "%q is not a valid header name", a.Header)
	}
	for k := range s.Headers {
		if strings.EqualFold(k, a.Header) {
			v.add(path("headers", k), "is also set by auth: set it in one place")
		}
	}
}

// fixedTemplate checks a template that must have one value for the whole
// run: text, env() and file(), no variables or random values.
func (v *validator) fixedTemplate(p, s string) {
	t, err := ParseTemplate(s)
	if err != nil {
		v.add(p, "%s", err.Error())
		return
	}
	for _, part := range t.Parts {
		if part.Var != "" || (part.Func != "" && !SecretFuncs[part.Func]) {
			v.add(p, "template %q: only text, env() and file() may be used here, since the value is fixed for the run", s)
			return
		}
	}
}

func (v *validator) template(p, s string, known map[string]bool) {
	if !strings.Contains(s, "{{") {
		return
	}
	t, err := ParseTemplate(s)
	if err != nil {
		v.add(p, "%s", err.Error())
		return
	}
	for _, name := range t.Vars() {
		root := name
		if i := strings.IndexByte(root, '.'); i >= 0 {
			root = root[:i]
		}
		if known[root] {
			continue
		}
		msg := fmt.Sprintf("template %q refers to undefined variable %q", s, root)
		if fn, ok := TemplateFuncs[root]; ok {
			msg += fmt.Sprintf("; %s is a function: write {{%s()}} (%s)", root, root, fn.Doc)
		} else if sug := Suggest(root, setKeys(known)); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		if len(known) == 0 {
			msg += "; no variables are defined here (define them under variables, or capture them in an earlier step)"
		} else {
			msg += "; defined here: " + strings.Join(setKeys(known), ", ")
		}
		v.add(p, "%s", msg)
	}
}

// body checks every string of a body template.
func (v *validator) body(p string, b any, known map[string]bool) {
	switch x := b.(type) {
	case string:
		v.template(p, x, known)
	case map[string]any:
		for _, k := range sortedKeys(x) {
			v.body(path(p, k), x[k], known)
		}
	case []any:
		for i, e := range x {
			v.body(fmt.Sprintf("%s[%d]", p, i), e, known)
		}
	case nil, bool, int, int64, float64, uint64:
	default:
		v.add(p, "unsupported body value of type %T: a body holds JSON values only", b)
	}
}

func (v *validator) executors(s *Scenario, flowNames map[string]bool) {
	execNames := map[string]bool{}
	stageNames := map[string]string{}
	for i := range s.Executors {
		e := &s.Executors[i]
		ep := fmt.Sprintf("executors[%d]", i)
		if e.Name != "" {
			if execNames[e.Name] {
				v.add(ep+".name", "executor name %q is used twice", e.Name)
			}
			execNames[e.Name] = true
		}
		if e.Type == "" {
			v.add(ep+".type", "is missing: expected one of %s", strings.Join(ExecutorTypes, ", "))
			continue
		}
		if !contains(ExecutorTypes, e.Type) {
			v.add(ep+".type", "expected one of %s, got %q", strings.Join(ExecutorTypes, ", "), e.Type)
			continue
		}
		for j, f := range e.Flows {
			if !flowNames[f] {
				fp := fmt.Sprintf("%s.flows[%d]", ep, j)
				msg := fmt.Sprintf("no flow is named %q", f)
				if sug := Suggest(f, setKeys(flowNames)); sug != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sug)
				}
				v.add(fp, "%s; flows: %s", msg, strings.Join(setKeys(flowNames), ", "))
			}
		}
		if len(e.Flows) > 0 {
			total := 0.0
			for _, f := range s.Flows {
				if contains(e.Flows, f.Name) && f.Weight > 0 {
					total += f.Weight
				}
			}
			if total == 0 && allIn(e.Flows, flowNames) {
				v.add(ep+".flows", "the selected flows all have weight 0")
			}
		}
		v.nonNegative(ep, []string{"startTime", "duration", "gracefulRampDown", "gracefulStop"}, []Duration{e.StartTime, e.Duration, e.GracefulRampDown, e.GracefulStop})
		unused := func(name string, set bool, hint string) {
			if set {
				msg := fmt.Sprintf("is not used by %s", e.Type)
				if hint != "" {
					msg += "; " + hint
				}
				v.add(ep+"."+name, "%s", msg)
			}
		}
		switch e.Type {
		case ExecutorRampingVUs:
			if len(e.Stages) == 0 {
				v.add(ep+".stages", "ramping-vus needs stages, such as [{duration: 30s, target: 50}]")
			}
			if e.StartVUs < 0 {
				v.add(ep+".startVUs", "must not be negative, got %d", e.StartVUs)
			}
			unused("vus", e.VUs != 0, "use startVUs or a stage target")
			unused("duration", e.Duration != 0, "use stages")
			v.openOnly(ep, e)
		case ExecutorConstantVUs:
			if e.VUs <= 0 {
				v.add(ep+".vus", "constant-vus needs vus greater than 0, got %d", e.VUs)
			}
			if e.Duration <= 0 {
				v.add(ep+".duration", "constant-vus needs a duration greater than 0")
			}
			unused("startVUs", e.StartVUs != 0, "")
			v.constantStages(ep, e, float64(e.VUs), "vus")
			v.openOnly(ep, e)
		case ExecutorConstantArrivalRate:
			if !(e.Rate > 0) || math.IsInf(e.Rate, 0) {
				v.add(ep+".rate", "constant-arrival-rate needs a rate greater than 0 (iterations per timeUnit)")
			}
			if e.Duration <= 0 {
				v.add(ep+".duration", "constant-arrival-rate needs a duration greater than 0")
			}
			unused("startRate", e.StartRate != 0, "")
			v.openModel(ep, e)
			v.constantStages(ep, e, e.Rate, "rate")
		case ExecutorRampingArrivalRate:
			if len(e.Stages) == 0 {
				v.add(ep+".stages", "ramping-arrival-rate needs stages, such as [{duration: 1m, target: 100}] (target in iterations per timeUnit)")
			}
			if e.StartRate < 0 || math.IsNaN(e.StartRate) {
				v.add(ep+".startRate", "must not be negative, got %v", e.StartRate)
			}
			unused("rate", e.Rate != 0, "use startRate or a stage target")
			unused("duration", e.Duration != 0, "use stages")
			v.openModel(ep, e)
		}
		unused("startVUs", e.StartVUs != 0 && e.IsOpenModel(), "use preAllocatedVUs")
		unused("vus", e.VUs != 0 && e.IsOpenModel(), "use preAllocatedVUs and maxVUs")

		var total Duration
		for j, st := range e.Stages {
			sp := fmt.Sprintf("%s.stages[%d]", ep, j)
			if st.Duration < 0 {
				v.add(sp+".duration", "must not be negative, got %s", st.Duration)
			}
			total += st.Duration
			if math.IsNaN(st.Target) || math.IsInf(st.Target, 0) || st.Target < 0 {
				v.add(sp+".target", "expected a number ≥ 0, got %v", st.Target)
			} else if !e.IsOpenModel() && st.Target != math.Trunc(st.Target) {
				v.add(sp+".target", "is a VU count for %s and must be a whole number, got %v", e.Type, st.Target)
			}
			if st.Name == "" {
				continue
			}
			if prev, dup := stageNames[st.Name]; dup {
				v.add(sp+".name", "stage name %q is already used by %s; stage names must be unique across the scenario", st.Name, prev)
			} else {
				stageNames[st.Name] = sp
			}
		}
		if len(e.Stages) > 0 && total <= 0 && (e.Type == ExecutorRampingVUs || e.Type == ExecutorRampingArrivalRate) {
			v.add(ep+".stages", "the stages last 0s in total: at least one stage needs a duration greater than 0")
		}
	}
}

// openOnly reports open-model fields set on a closed-model executor.
func (v *validator) openOnly(ep string, e *Executor) {
	names := []string{"rate", "startRate", "timeUnit", "preAllocatedVUs", "maxVUs"}
	set := []bool{e.Rate != 0, e.StartRate != 0, e.TimeUnit != 0, e.PreAllocatedVUs != 0, e.MaxVUs != 0}
	for i, name := range names {
		if set[i] {
			v.add(ep+"."+name, "is not used by %s, a closed-model executor (it is for constant-arrival-rate and ramping-arrival-rate)", e.Type)
		}
	}
}

// nonNegative reports each negative duration of fields under p.
func (v *validator) nonNegative(p string, names []string, ds []Duration) {
	for i, d := range ds {
		if d < 0 {
			v.add(p+"."+names[i], "must not be negative, got %s", d)
		}
	}
}

func (v *validator) openModel(ep string, e *Executor) {
	if e.TimeUnit <= 0 {
		v.add(ep+".timeUnit", "must be greater than 0, such as 1s")
	}
	if e.PreAllocatedVUs < 1 {
		v.add(ep+".preAllocatedVUs", "%s needs preAllocatedVUs of at least 1, got %d", e.Type, e.PreAllocatedVUs)
	}
	if e.MaxVUs < e.PreAllocatedVUs {
		v.add(ep+".maxVUs", "maxVUs %d is less than preAllocatedVUs %d", e.MaxVUs, e.PreAllocatedVUs)
	}
}

// constantStages checks that a constant executor has at most the one stage
// SetDefaults gives it.
func (v *validator) constantStages(ep string, e *Executor, target float64, field string) {
	if len(e.Stages) == 0 {
		return
	}
	st := e.Stages[0]
	if len(e.Stages) > 1 || st.Duration != e.Duration || st.Target != target {
		ramp := ExecutorRampingVUs
		if e.IsOpenModel() {
			ramp = ExecutorRampingArrivalRate
		}
		v.add(ep+".stages", "%s takes %s and duration, not stages; use %s for stages", e.Type, field, ramp)
	}
}

func (v *validator) thresholds(s *Scenario, flowNames map[string]bool) {
	endpoints := map[string]bool{}
	if s.Auth != nil {
		endpoints[effectiveEndpoint(&s.Auth.Step)] = true
	}
	for _, f := range s.Flows {
		for j := range f.Steps {
			endpoints[effectiveEndpoint(&f.Steps[j])] = true
		}
	}
	stages := map[string]bool{}
	allNamed := true
	for _, e := range s.Executors {
		for _, st := range e.Stages {
			stages[st.Name] = true
			allNamed = allNamed && st.Name != ""
		}
	}
	checks := map[string]bool{}
	for _, f := range s.Flows {
		for _, st := range f.Steps {
			for _, c := range st.Checks {
				if c.Name != "" {
					checks[c.Name] = true
				}
			}
		}
	}
	keys := make([]string, 0, len(s.Thresholds))
	for k := range s.Thresholds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kp := path("thresholds", k)
		key, err := ParseThresholdKey(k)
		if err != nil {
			v.add(kp, "%s", err.Error())
			continue
		}
		for _, tag := range sortedKeys(key.Tags) {
			val := key.Tags[tag]
			var known map[string]bool
			switch tag {
			case "endpoint":
				known = endpoints
			case "flow":
				known = flowNames
			case "stage":
				if allNamed {
					known = stages
				}
			case "method":
				if !contains(Methods, strings.ToUpper(val)) {
					v.add(kp, "tag method:%s: expected one of %s", val, strings.Join(Methods, ", "))
				}
			case "status":
				if c, err := strconv.Atoi(val); (err != nil || c < 100 || c > 599) && val != "error" {
					v.add(kp, "tag status:%s: expected an HTTP status code or \"error\"", val)
				}
			}
			if known != nil && !known[val] {
				msg := fmt.Sprintf("tag %s:%s matches no %s of the scenario", tag, val, tag)
				if sug := Suggest(val, setKeys(known)); sug != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sug)
				}
				v.add(kp, "%s; known: %s", msg, strings.Join(setKeys(known), ", "))
			}
		}
		list := s.Thresholds[k]
		if len(list) == 0 {
			v.add(kp, "no threshold expressions: add one such as \"p(95)<800\"")
		}
		for i, t := range list {
			tp := fmt.Sprintf("%s[%d]", kp, i)
			if t.DelayAbortEval < 0 {
				v.add(tp+".delayAbortEval", "must not be negative, got %s", t.DelayAbortEval)
			}
			expr, err := ParseThreshold(t.Expr)
			if err != nil {
				v.add(tp, "%s", err.Error())
				continue
			}
			aggs := AggsFor(key.Metric)
			if !contains(aggs, expr.Agg) {
				got := expr.Agg
				if got == "p" {
					got = "p(N)"
				}
				want := make([]string, len(aggs))
				for j, a := range aggs {
					want[j] = a
					if a == "p" {
						want[j] = "p(N)"
					}
				}
				v.add(tp, "threshold %q: aggregation %s does not fit %s (%s); expected one of %s", t.Expr, got, key.Metric, ThresholdMetrics[key.Metric], strings.Join(want, ", "))
			}
		}
	}
}

func effectiveEndpoint(st *Step) string {
	if st.Endpoint != "" {
		return st.Endpoint
	}
	return DefaultEndpoint(st.Method, st.Path)
}

// JSONPathStep is one step of a JSON path: an object key or a list index.
type JSONPathStep struct {
	Key     string
	Index   int
	IsIndex bool
}

// ParseJSONPath reads the JSON paths captures and checks use: "$.a.b[0].c",
// "a.b", "$.items[0].sku", `$["odd key"]`, or "$" for the whole document.
// The leading "$" is optional.
func ParseJSONPath(p string) ([]JSONPathStep, error) {
	src := p
	bad := func(why string) ([]JSONPathStep, error) {
		return nil, fmt.Errorf("JSON path %q: %s; expected a path such as \"$.items[0].id\" or \"id\"", src, why)
	}
	if strings.TrimSpace(p) == "" {
		return bad("empty path")
	}
	var out []JSONPathStep
	rooted := strings.HasPrefix(p, "$")
	if rooted {
		p = p[1:]
		if p != "" && p[0] != '.' && p[0] != '[' {
			return bad("\"$\" must be followed by \".\" or \"[\"")
		}
	} else if p[0] == '.' {
		return bad("a path cannot start with \".\"")
	}
	first := !rooted
	for p != "" {
		switch {
		case p[0] == '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return bad("unclosed \"[\"")
			}
			inner := p[1:end]
			if len(inner) >= 2 && (inner[0] == '"' || inner[0] == '\'') && inner[len(inner)-1] == inner[0] {
				out = append(out, JSONPathStep{Key: inner[1 : len(inner)-1]})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return bad(fmt.Sprintf("index [%s] must be a whole number ≥ 0 or a quoted key", inner))
				}
				out = append(out, JSONPathStep{Index: n, IsIndex: true})
			}
			p = p[end+1:]
		case p[0] == '.' || first:
			if !first {
				p = p[1:]
			}
			end := strings.IndexAny(p, ".[]")
			if end < 0 {
				end = len(p)
			}
			key := p[:end]
			if key == "" {
				return bad("empty key")
			}
			if strings.ContainsAny(key, " \t\"'") {
				return bad(fmt.Sprintf("key %q must be written as [\"%s\"]", key, key))
			}
			out = append(out, JSONPathStep{Key: key})
			p = p[end:]
		default:
			return bad(fmt.Sprintf("unexpected %q", p[:1]))
		}
		first = false
	}
	return out, nil
}

// Clone returns a deep copy of the scenario that shares no maps, slices or
// body values with s.
func (s *Scenario) Clone() *Scenario {
	if s == nil {
		return nil
	}
	c := *s
	c.Variables = cloneMap(s.Variables)
	c.Headers = cloneMap(s.Headers)
	if s.Auth != nil {
		a := *s.Auth
		a.Step = cloneStep(s.Auth.Step)
		a.RefreshOn = cloneSlice(s.Auth.RefreshOn)
		if s.Auth.Basic != nil {
			b := *s.Auth.Basic
			a.Basic = &b
		}
		c.Auth = &a
	}
	if s.Flows != nil {
		c.Flows = make([]Flow, len(s.Flows))
		for i, f := range s.Flows {
			f.Steps = nil
			if s.Flows[i].Steps != nil {
				f.Steps = make([]Step, len(s.Flows[i].Steps))
				for j, st := range s.Flows[i].Steps {
					f.Steps[j] = cloneStep(st)
				}
			}
			c.Flows[i] = f
		}
	}
	if s.Executors != nil {
		c.Executors = make([]Executor, len(s.Executors))
		for i, e := range s.Executors {
			e.Flows = cloneSlice(e.Flows)
			e.Stages = cloneSlice(e.Stages)
			c.Executors[i] = e
		}
	}
	if s.Thresholds != nil {
		c.Thresholds = make(map[string][]Threshold, len(s.Thresholds))
		for k, v := range s.Thresholds {
			c.Thresholds[k] = cloneSlice(v)
		}
	}
	return &c
}

func cloneStep(st Step) Step {
	st.Headers = cloneMap(st.Headers)
	st.Capture = cloneMap(st.Capture)
	st.Body = cloneBody(st.Body)
	if st.Checks != nil {
		checks := make([]Check, len(st.Checks))
		for i, c := range st.Checks {
			c.Status = cloneSlice(c.Status)
			checks[i] = c
		}
		st.Checks = checks
	}
	if st.Think != nil {
		t := *st.Think
		st.Think = &t
	}
	return st
}

func cloneBody(b any) any {
	switch x := b.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = cloneBody(v)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, v := range x {
			l[i] = cloneBody(v)
		}
		return l
	}
	return b
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// path appends a map entry to a field path: path("headers", "X-Id") is
// `headers["X-Id"]`.
func path(parent, key string) string {
	return parent + "[" + strconv.Quote(key) + "]"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func setKeys(m map[string]bool) []string { return sortedKeys(m) }

func copySet(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func allIn(list []string, set map[string]bool) bool {
	for _, x := range list {
		if !set[x] {
			return false
		}
	}
	return true
}

// isVarName reports whether s can be referred to as {{s}}.
func isVarName(s string) bool { return isIdent(s, false) }

// isToken reports whether s is a valid HTTP header name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}
