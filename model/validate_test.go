package model

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sec(n float64) Duration { return Duration(time.Duration(n * float64(time.Second))) }

// newScenario is a small valid scenario that tests change one thing in.
func newScenario() *Scenario {
	return &Scenario{
		Name:      "shop",
		Target:    "http://127.0.0.1:8080",
		Variables: map[string]string{"region": "eu"},
		Auth: &Auth{Step: Step{
			Method: "post", Path: "/api/auth/login",
			Body:    map[string]any{"username": "user{{randomInt(1,1000)}}", "password": "secret"},
			Capture: map[string]string{"token": "$.token"},
		}},
		Flows: []Flow{{
			Name: "buy",
			Steps: []Step{
				{Method: "post", Path: "/api/orders/create", Capture: map[string]string{"orderId": "$.id"}},
				{Method: "get", Path: "/api/orders/{{orderId}}", Headers: map[string]string{"X-Region": "{{region}}"}},
			},
		}},
		Executors: []Executor{{Type: ExecutorRampingVUs, Stages: []Stage{{Duration: sec(10), Target: 5}, {Duration: sec(10), Target: 0}}}},
		Thresholds: map[string][]Threshold{
			"http_req_duration": {{Expr: "p(95)<800"}},
		},
	}
}

func TestSetDefaults(t *testing.T) {
	cases := map[string]struct {
		change func(*Scenario)
		check  func(*testing.T, *Scenario)
	}{
		"a scenario without a name is called scenario and times out after 30s": {
			change: func(s *Scenario) { s.Name = "" },
			check: func(t *testing.T, s *Scenario) {
				if s.Name != "scenario" || s.Timeout.D() != 30*time.Second {
					t.Errorf("name %q timeout %v", s.Name, s.Timeout)
				}
			},
		},
		"steps get upper-case methods and route-template endpoints": {
			check: func(t *testing.T, s *Scenario) {
				st := s.Flows[0].Steps[1]
				if st.Method != "GET" || st.Endpoint != "GET /api/orders/{orderId}" {
					t.Errorf("method %q endpoint %q", st.Method, st.Endpoint)
				}
				if s.Flows[0].Weight != 1 {
					t.Errorf("weight %v, want 1", s.Flows[0].Weight)
				}
			},
		},
		"a relative path holding a URL in its query is not taken for an absolute URL": {
			change: func(s *Scenario) { s.Flows[0].Steps[1].Path = "/redirect?to=http://example.com/x" },
			check: func(t *testing.T, s *Scenario) {
				if got := s.Flows[0].Steps[1].Endpoint; got != "GET /redirect" {
					t.Errorf("endpoint %q", got)
				}
			},
		},
		"a step that names its endpoint keeps it": {
			change: func(s *Scenario) { s.Flows[0].Steps[1].Endpoint = "GET /api/orders/{id}" },
			check: func(t *testing.T, s *Scenario) {
				if got := s.Flows[0].Steps[1].Endpoint; got != "GET /api/orders/{id}" {
					t.Errorf("endpoint %q", got)
				}
			},
		},
		"an absolute URL step is named by its path alone": {
			change: func(s *Scenario) { s.Flows[0].Steps[1].Path = "https://api.example.com/v1/items/{{region}}?x=1" },
			check: func(t *testing.T, s *Scenario) {
				if got := s.Flows[0].Steps[1].Endpoint; got != "GET /v1/items/{region}" {
					t.Errorf("endpoint %q", got)
				}
			},
		},
		"auth gets the Bearer Authorization header, token variable and 401 refresh": {
			check: func(t *testing.T, s *Scenario) {
				a := s.Auth
				if a.Token != "token" || a.Header != "Authorization" || a.Scheme != "Bearer" || !reflect.DeepEqual(a.RefreshOn, []int{401}) {
					t.Errorf("auth %+v", a)
				}
				if a.Step.Method != "POST" || a.Step.Endpoint != "POST /api/auth/login" {
					t.Errorf("auth step %q %q", a.Step.Method, a.Step.Endpoint)
				}
			},
		},
		"the only executor of its type is named after the type": {
			check: func(t *testing.T, s *Scenario) {
				e := s.Executors[0]
				if e.Name != "ramping-vus" || e.GracefulRampDown.D() != 30*time.Second || e.GracefulStop.D() != 30*time.Second {
					t.Errorf("executor %+v", e)
				}
				if e.TimeUnit != 0 || e.PreAllocatedVUs != 0 {
					t.Errorf("a closed-model executor got open-model defaults: %+v", e)
				}
			},
		},
		"executors sharing a type are numbered, skipping taken names": {
			change: func(s *Scenario) {
				s.Executors = []Executor{
					{Type: ExecutorConstantVUs, VUs: 1, Duration: sec(1)},
					{Type: ExecutorConstantVUs, VUs: 1, Duration: sec(1), Name: "constant-vus-2"},
					{Type: ExecutorConstantVUs, VUs: 1, Duration: sec(1)},
				}
			},
			check: func(t *testing.T, s *Scenario) {
				var got []string
				for _, e := range s.Executors {
					got = append(got, e.Name)
				}
				if want := []string{"constant-vus-1", "constant-vus-2", "constant-vus-3"}; !reflect.DeepEqual(got, want) {
					t.Errorf("names %v, want %v", got, want)
				}
			},
		},
		"a constant executor gets exactly one stage named after it": {
			change: func(s *Scenario) {
				s.Executors = []Executor{
					{Name: "steady", Type: ExecutorConstantVUs, VUs: 7, Duration: sec(60)},
					{Type: ExecutorConstantArrivalRate, Rate: 12.5, Duration: sec(30)},
				}
			},
			check: func(t *testing.T, s *Scenario) {
				if got := s.Executors[0].Stages; !reflect.DeepEqual(got, []Stage{{Name: "steady", Duration: sec(60), Target: 7}}) {
					t.Errorf("constant-vus stages %+v", got)
				}
				if got := s.Executors[1].Stages; !reflect.DeepEqual(got, []Stage{{Name: "constant-arrival-rate", Duration: sec(30), Target: 12.5}}) {
					t.Errorf("constant-arrival-rate stages %+v", got)
				}
			},
		},
		"an open-model executor sizes its VU pool for one-second iterations at its peak rate": {
			change: func(s *Scenario) {
				s.Executors = []Executor{
					{Type: ExecutorConstantArrivalRate, Rate: 600, TimeUnit: sec(60), Duration: sec(30)},
					{Type: ExecutorRampingArrivalRate, StartRate: 5, Stages: []Stage{{Duration: sec(10), Target: 49.5}, {Duration: sec(10), Target: 20}}},
					{Type: ExecutorRampingArrivalRate, Stages: []Stage{{Duration: sec(10), Target: 0.2}}, PreAllocatedVUs: 3},
				}
			},
			check: func(t *testing.T, s *Scenario) {
				type pool struct{ pre, max int }
				var got []pool
				for _, e := range s.Executors {
					got = append(got, pool{e.PreAllocatedVUs, e.MaxVUs})
				}
				if want := []pool{{10, 10}, {50, 50}, {3, 3}}; !reflect.DeepEqual(got, want) {
					t.Errorf("pools %v, want %v", got, want)
				}
				if s.Executors[1].TimeUnit.D() != time.Second || s.Executors[1].StartRate != 5 {
					t.Errorf("ramping-arrival-rate %+v", s.Executors[1])
				}
			},
		},
		"unnamed stages are numbered across the scenario, skipping taken names": {
			change: func(s *Scenario) {
				s.Executors = []Executor{
					{Type: ExecutorRampingVUs, Stages: []Stage{{Duration: sec(1), Target: 1}, {Name: "stage-2", Duration: sec(1), Target: 2}, {Duration: sec(1)}}},
					{Type: ExecutorConstantVUs, VUs: 1, Duration: sec(1)},
					{Type: ExecutorRampingArrivalRate, Stages: []Stage{{Duration: sec(1), Target: 1}}},
				}
			},
			check: func(t *testing.T, s *Scenario) {
				var got []string
				for _, e := range s.Executors {
					for _, st := range e.Stages {
						got = append(got, st.Name)
					}
				}
				if want := []string{"stage-1", "stage-2", "stage-3", "constant-vus", "stage-4"}; !reflect.DeepEqual(got, want) {
					t.Errorf("stage names %v, want %v", got, want)
				}
			},
		},
		"a think pause with bounds is uniform, one without is constant": {
			change: func(s *Scenario) {
				s.Flows[0].Steps[0].Think = &Think{Min: sec(1), Max: sec(2)}
				s.Flows[0].Steps[1].Think = &Think{Duration: sec(1)}
			},
			check: func(t *testing.T, s *Scenario) {
				if d := s.Flows[0].Steps[0].Think.Distribution; d != ThinkUniform {
					t.Errorf("bounded think is %q", d)
				}
				if d := s.Flows[0].Steps[1].Think.Distribution; d != ThinkConstant {
					t.Errorf("fixed think is %q", d)
				}
			},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := newScenario()
			if c.change != nil {
				c.change(s)
			}
			s.SetDefaults()
			c.check(t, s)
			if err := s.Validate(); err != nil {
				t.Errorf("the defaulted scenario does not validate: %v", err)
			}
			again := s.Clone()
			again.SetDefaults()
			if !reflect.DeepEqual(again, s) {
				t.Errorf("SetDefaults is not idempotent:\nonce  %+v\ntwice %+v", s, again)
			}
		})
	}
}

func TestSetDefaultsDoesNotChangeAnExplicitScenario(t *testing.T) {
	s := &Scenario{
		Name: "explicit", Target: "http://127.0.0.1:1", Timeout: sec(5),
		Auth: &Auth{Token: "jwt", Header: "X-Token", Scheme: "none", RefreshOn: []int{401, 403},
			Step: Step{Method: "POST", Path: "/login", Endpoint: "login", Capture: map[string]string{"jwt": "$.jwt"}}},
		Flows: []Flow{{Name: "f", Weight: 2, Steps: []Step{{Method: "GET", Path: "/", Endpoint: "root", Think: &Think{Distribution: ThinkExponential, Duration: sec(1)}}}}},
		Executors: []Executor{
			{Name: "ramp", Type: ExecutorRampingArrivalRate, TimeUnit: sec(1), PreAllocatedVUs: 2, MaxVUs: 4, GracefulRampDown: sec(1), GracefulStop: sec(2),
				Stages: []Stage{{Name: "up", Duration: sec(1), Target: 3}}},
		},
	}
	before := s.Clone()
	s.SetDefaults()
	if !reflect.DeepEqual(s, before) {
		t.Errorf("SetDefaults changed an explicit scenario:\nbefore %+v\nafter  %+v", before, s)
	}
}

func TestValidate(t *testing.T) {
	cases := map[string]struct {
		change func(*Scenario)
		path   string
		msg    string
	}{
		"an unknown method lists the methods": {
			func(s *Scenario) { s.Flows[0].Steps[1].Method = "fetch" },
			"flows[0].steps[1].method", `expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, got "FETCH"`,
		},
		"a relative path is rejected": {
			func(s *Scenario) { s.Flows[0].Steps[0].Path = "orders" },
			"flows[0].steps[0].path", `expected a path starting with "/"`,
		},
		"an undefined variable is named with the defined ones": {
			func(s *Scenario) { s.Flows[0].Steps[1].Path = "/api/orders/{{orderID}}" },
			"flows[0].steps[1].path", `undefined variable "orderID" (did you mean "orderId"?); defined here: orderId, region, token`,
		},
		"a function used as a variable says how to call it": {
			func(s *Scenario) { s.Flows[0].Steps[1].Path = "/api/orders/{{uuid}}" },
			"flows[0].steps[1].path", "uuid is a function: write {{uuid()}}",
		},
		"a capture of the same flow's later step is not visible": {
			func(s *Scenario) { s.Flows[0].Steps[0].Headers = map[string]string{"X-Order": "{{orderId}}"} },
			`flows[0].steps[0].headers["X-Order"]`, `undefined variable "orderId"`,
		},
		"a capture of another flow is not visible": {
			func(s *Scenario) {
				s.Flows = append(s.Flows, Flow{Name: "look", Steps: []Step{{Method: "GET", Path: "/api/orders/{{orderId}}"}}})
			},
			"flows[1].steps[0].path", `undefined variable "orderId"`,
		},
		"a bad template in a nested body value is found": {
			func(s *Scenario) {
				s.Flows[0].Steps[0].Body = map[string]any{"items": []any{map[string]any{"sku": "{{randomInt(5,1)}}"}}}
			},
			`flows[0].steps[0].body["items"][0]["sku"]`, "min 5 is greater than max 1",
		},
		"the auth step cannot use the token it has not captured yet": {
			func(s *Scenario) { s.Auth.Step.Headers = map[string]string{"X-T": "{{token}}"} },
			`auth.step.headers["X-T"]`, `undefined variable "token"`,
		},
		"auth that does not capture its token variable is rejected": {
			func(s *Scenario) { s.Auth.Step.Capture = map[string]string{"jwt": "$.jwt"} },
			"auth.step.capture", `does not capture the token variable "token"`,
		},
		"a malformed capture path is rejected": {
			func(s *Scenario) { s.Flows[0].Steps[0].Capture["orderId"] = "$..id" },
			`flows[0].steps[0].capture["orderId"]`, `JSON path "$..id": empty key`,
		},
		"a check with no assertion is rejected": {
			func(s *Scenario) { s.Flows[0].Steps[0].Checks = []Check{{Name: "nothing"}} },
			"flows[0].steps[0].checks[0]", "exactly one of status, jsonPath or maxDuration, got 0",
		},
		"equals without a JSON path is rejected": {
			func(s *Scenario) { s.Flows[0].Steps[0].Checks = []Check{{Status: []int{200}, Equals: "x"}} },
			"flows[0].steps[0].checks[0].equals", "only used with jsonPath",
		},
		"a status that is not an HTTP status is rejected": {
			func(s *Scenario) { s.Flows[0].Steps[0].Checks = []Check{{Status: []int{20}}} },
			"flows[0].steps[0].checks[0].status[0]", "from 100 to 599, got 20",
		},
		"a normal think pause needs a deviation": {
			func(s *Scenario) { s.Flows[0].Steps[0].Think = &Think{Distribution: ThinkNormal, Duration: sec(1)} },
			"flows[0].steps[0].think.stddev", "needs stddev greater than 0",
		},
		"an unknown think distribution lists the known ones": {
			func(s *Scenario) { s.Flows[0].Steps[0].Think = &Think{Distribution: "poisson", Duration: sec(1)} },
			"flows[0].steps[0].think.distribution", `expected one of constant, uniform, exponential, normal, got "poisson"`,
		},
		"a flow without steps is rejected": {
			func(s *Scenario) { s.Flows[0].Steps = nil },
			"flows[0].steps", `flow "buy" has no steps`,
		},
		"two flows with one name are rejected": {
			func(s *Scenario) {
				s.Flows = append(s.Flows, Flow{Name: "buy", Steps: []Step{{Method: "GET", Path: "/"}}})
			},
			"flows[1].name", `flow name "buy" is used twice`,
		},
		"an unknown executor type lists the types": {
			func(s *Scenario) { s.Executors[0].Type = "per-vu-iterations" },
			"executors[0].type", `expected one of ramping-vus, constant-vus, ramping-arrival-rate, constant-arrival-rate, got "per-vu-iterations"`,
		},
		"ramping-vus without stages asks for stages": {
			func(s *Scenario) { s.Executors[0].Stages = nil },
			"executors[0].stages", "ramping-vus needs stages",
		},
		"constant-vus without vus asks for vus": {
			func(s *Scenario) { s.Executors[0] = Executor{Type: ExecutorConstantVUs, Duration: sec(10)} },
			"executors[0].vus", "constant-vus needs vus greater than 0",
		},
		"constant-vus with its own ramp points at ramping-vus": {
			func(s *Scenario) {
				s.Executors[0] = Executor{Type: ExecutorConstantVUs, VUs: 2, Duration: sec(10), Stages: []Stage{{Duration: sec(5), Target: 1}, {Duration: sec(5), Target: 2}}}
			},
			"executors[0].stages", "use ramping-vus for stages",
		},
		"constant-arrival-rate without a rate asks for one": {
			func(s *Scenario) { s.Executors[0] = Executor{Type: ExecutorConstantArrivalRate, Duration: sec(10)} },
			"executors[0].rate", "needs a rate greater than 0",
		},
		"maxVUs below preAllocatedVUs is rejected": {
			func(s *Scenario) {
				s.Executors[0] = Executor{Type: ExecutorConstantArrivalRate, Rate: 10, Duration: sec(10), PreAllocatedVUs: 5, MaxVUs: 2}
			},
			"executors[0].maxVUs", "maxVUs 2 is less than preAllocatedVUs 5",
		},
		"a closed-model executor with a rate is told it is unused": {
			func(s *Scenario) { s.Executors[0].Rate = 5 },
			"executors[0].rate", "is not used by ramping-vus",
		},
		"a fractional VU target is rejected": {
			func(s *Scenario) { s.Executors[0].Stages[0].Target = 2.5 },
			"executors[0].stages[0].target", "must be a whole number, got 2.5",
		},
		"a fractional arrival-rate target is allowed, a negative one is not": {
			func(s *Scenario) {
				s.Executors[0] = Executor{Type: ExecutorRampingArrivalRate, Stages: []Stage{{Duration: sec(1), Target: 2.5}, {Duration: sec(1), Target: -1}}}
			},
			"executors[0].stages[1].target", "expected a number ≥ 0, got -1",
		},
		"stages that last nothing are rejected": {
			func(s *Scenario) { s.Executors[0].Stages = []Stage{{Target: 5}, {Target: 0}} },
			"executors[0].stages", "last 0s in total",
		},
		"an executor naming an unknown flow suggests the closest": {
			func(s *Scenario) { s.Executors[0].Flows = []string{"bye"} },
			"executors[0].flows[0]", `no flow is named "bye" (did you mean "buy"?); flows: buy`,
		},
		"a stage name used twice across executors is rejected": {
			func(s *Scenario) {
				s.Executors[0].Stages[0].Name = "peak"
				s.Executors = append(s.Executors, Executor{Type: ExecutorRampingVUs, Name: "second", Stages: []Stage{{Name: "peak", Duration: sec(1), Target: 1}}})
			},
			"executors[1].stages[0].name", `stage name "peak" is already used by executors[0].stages[0]`,
		},
		"two executors with one name are rejected": {
			func(s *Scenario) {
				s.Executors[0].Name = "load"
				s.Executors = append(s.Executors, Executor{Type: ExecutorConstantVUs, Name: "load", VUs: 1, Duration: sec(1), Stages: []Stage{{Name: "other", Duration: sec(1), Target: 1}}})
			},
			"executors[1].name", `executor name "load" is used twice`,
		},
		"a threshold key with an unknown metric is rejected": {
			func(s *Scenario) { s.Thresholds["latency"] = []Threshold{{Expr: "p(95)<1"}} },
			`thresholds["latency"]`, `unknown metric "latency"`,
		},
		"a threshold expression that does not parse is rejected": {
			func(s *Scenario) { s.Thresholds["http_req_duration"] = []Threshold{{Expr: "p(95)<1"}, {Expr: "fast"}} },
			`thresholds["http_req_duration"][1]`, `threshold "fast"`,
		},
		"an aggregation that does not fit the metric lists those that do": {
			func(s *Scenario) { s.Thresholds["http_req_failed"] = []Threshold{{Expr: "avg<0.1"}} },
			`thresholds["http_req_failed"][0]`, "aggregation avg does not fit http_req_failed (fraction of failed requests: rate); expected one of rate",
		},
		"a threshold on an endpoint the scenario never calls is rejected": {
			func(s *Scenario) {
				s.Thresholds["http_req_duration{endpoint:GET /api/order/{orderId}}"] = []Threshold{{Expr: "p(95)<1"}}
			},
			`thresholds["http_req_duration{endpoint:GET /api/order/{orderId}}"]`, `did you mean "GET /api/orders/{orderId}"?`,
		},
		"a target that is not an absolute http URL is rejected": {
			func(s *Scenario) { s.Target = "localhost:8080" },
			"target", `target "localhost:8080": expected an absolute http:// or https:// URL`,
		},
		"a scenario without flows is rejected": {
			func(s *Scenario) { s.Flows = nil; s.Executors[0].Flows = nil },
			"flows", "no flows",
		},
		"a variable whose name cannot be referred to is rejected": {
			func(s *Scenario) { s.Variables["bad name"] = "x" },
			`variables["bad name"]`, `variable name "bad name"`,
		},
		"a header name with a space is rejected": {
			func(s *Scenario) { s.Headers = map[string]string{"X Bad": "1"} },
			`headers["X Bad"]`, `"X Bad" is not a valid header name`,
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := newScenario()
			c.change(s)
			s.SetDefaults()
			err := s.Validate()
			var verrs ValidationErrors
			if !errors.As(err, &verrs) {
				t.Fatalf("Validate() = %v, want ValidationErrors", err)
			}
			for _, fe := range verrs {
				if fe.Path == c.path && strings.Contains(fe.Msg, c.msg) {
					return
				}
			}
			t.Errorf("no problem at %s containing %q; got:\n%v", c.path, c.msg, err)
		})
	}
}

func TestAValidScenarioValidatesWithoutATarget(t *testing.T) {
	s := newScenario()
	s.Target = ""
	s.SetDefaults()
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if err := s.CheckRunnable(); err == nil || !strings.Contains(err.Error(), "--target") {
		t.Errorf("CheckRunnable = %v, want it to ask for a target", err)
	}
	s.Target = "http://127.0.0.1:8080"
	if err := s.CheckRunnable(); err != nil {
		t.Errorf("CheckRunnable: %v", err)
	}
	s.Executors = nil
	if err := s.CheckRunnable(); err == nil || !strings.Contains(err.Error(), "--vus") {
		t.Errorf("CheckRunnable = %v, want it to ask for executors", err)
	}
}

func TestValidationErrorsListEveryProblem(t *testing.T) {
	s := newScenario()
	s.Flows[0].Steps[0].Method = "FETCH"
	s.Executors[0].Stages = nil
	s.SetDefaults()
	err := s.Validate()
	want := "flows[0].steps[0].method: expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, got \"FETCH\"\n" +
		"executors[0].stages: ramping-vus needs stages, such as [{duration: 30s, target: 50}]"
	if err == nil || err.Error() != want {
		t.Errorf("Validate() =\n%v\nwant\n%s", err, want)
	}
}

func TestValidateTarget(t *testing.T) {
	cases := map[string]struct {
		in string
		ok bool
	}{
		"a loopback http URL":            {"http://127.0.0.1:8080", true},
		"an https URL with a base path":  {"https://api.example.com/v1", true},
		"an IPv6 loopback":               {"http://[::1]:8080", true},
		"an empty target":                {"", false},
		"a host and port without scheme": {"127.0.0.1:8080", false},
		"another scheme":                 {"ftp://example.com", false},
		"a scheme without host":          {"http://", false},
		"a query string":                 {"http://a.example/?x=1", false},
		"a relative path":                {"/api", false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := ValidateTarget(c.in)
			if (err == nil) != c.ok {
				t.Errorf("ValidateTarget(%q) = %v, want ok=%v", c.in, err, c.ok)
			}
		})
	}
}

func TestParseJSONPath(t *testing.T) {
	cases := map[string]struct {
		in   string
		want []JSONPathStep
	}{
		"a rooted path with an index": {"$.items[0].sku", []JSONPathStep{{Key: "items"}, {Index: 0, IsIndex: true}, {Key: "sku"}}},
		"a bare dotted path":          {"a.b", []JSONPathStep{{Key: "a"}, {Key: "b"}}},
		"a single key":                {"id", []JSONPathStep{{Key: "id"}}},
		"the whole document":          {"$", nil},
		"a quoted key":                {`$["odd key"].x`, []JSONPathStep{{Key: "odd key"}, {Key: "x"}}},
		"an index on the root":        {"$[2]", []JSONPathStep{{Index: 2, IsIndex: true}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseJSONPath(c.in)
			if err != nil {
				t.Fatalf("ParseJSONPath(%q): %v", c.in, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ParseJSONPath(%q) = %+v, want %+v", c.in, got, c.want)
			}
		})
	}
	for _, bad := range []string{"", "$.", "$..a", ".a", "$a", "a[", "a[-1]", "a[x]", "a b", "a]"} {
		if _, err := ParseJSONPath(bad); err == nil {
			t.Errorf("ParseJSONPath(%q) accepted it", bad)
		}
	}
}

func TestCloneSharesNothing(t *testing.T) {
	s := newScenario()
	s.Flows[0].Steps[0].Body = map[string]any{"items": []any{map[string]any{"q": int64(1)}}}
	s.Flows[0].Steps[0].Think = &Think{Duration: sec(1)}
	s.Flows[0].Steps[0].Checks = []Check{{Status: []int{200}}}
	s.SetDefaults()
	c := s.Clone()
	if !reflect.DeepEqual(c, s) {
		t.Fatal("the clone differs from the original")
	}
	c.Variables["region"] = "us"
	c.Auth.RefreshOn[0] = 403
	c.Flows[0].Steps[0].Body.(map[string]any)["items"].([]any)[0].(map[string]any)["q"] = int64(2)
	c.Flows[0].Steps[0].Think.Duration = sec(2)
	c.Flows[0].Steps[0].Checks[0].Status[0] = 500
	c.Flows[0].Steps[1].Headers["X-Region"] = "changed"
	c.Executors[0].Stages[0].Target = 99
	c.Thresholds["http_req_duration"][0].Expr = "p(99)<1"
	if !reflect.DeepEqual(s, newDefaulted(s)) {
		t.Error("changing the clone changed the original")
	}
}

// newDefaulted rebuilds the scenario TestCloneSharesNothing started from.
func newDefaulted(_ *Scenario) *Scenario {
	s := newScenario()
	s.Flows[0].Steps[0].Body = map[string]any{"items": []any{map[string]any{"q": int64(1)}}}
	s.Flows[0].Steps[0].Think = &Think{Duration: sec(1)}
	s.Flows[0].Steps[0].Checks = []Check{{Status: []int{200}}}
	s.SetDefaults()
	return s
}
