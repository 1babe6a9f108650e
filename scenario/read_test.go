package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

func TestEveryExampleScenarioParses(t *testing.T) {
	files, err := filepath.Glob("../examples/scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %d example scenarios, want at least checkout.yaml and quick.yaml", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := ReadFile(f)
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if len(s.Flows) == 0 || len(s.Executors) == 0 {
				t.Errorf("example has %d flows and %d executors, want both", len(s.Flows), len(s.Executors))
			}
			if err := s.CheckRunnable(); err != nil {
				t.Errorf("example is not runnable: %v", err)
			}
		})
	}
}

func TestTheCheckoutExampleHasTheDocumentedShape(t *testing.T) {
	s, err := ReadFile("../examples/scenarios/checkout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Auth == nil || s.Auth.Step.Path != "/api/auth/login" || s.Auth.Step.Capture["token"] != "$.token" {
		t.Fatalf("auth = %+v, want a login at /api/auth/login capturing $.token", s.Auth)
	}
	if s.Auth.Header != "Authorization" || s.Auth.Scheme != "Bearer" || len(s.Auth.RefreshOn) != 1 || s.Auth.RefreshOn[0] != 401 {
		t.Errorf("auth defaults = %q %q %v", s.Auth.Header, s.Auth.Scheme, s.Auth.RefreshOn)
	}
	endpoints := map[string]bool{}
	for _, f := range s.Flows {
		for _, st := range f.Steps {
			endpoints[st.Endpoint] = true
		}
	}
	for _, want := range []string{"POST /api/cart/add", "POST /api/orders/create", "GET /api/orders/{id}"} {
		if !endpoints[want] {
			t.Errorf("no step reports endpoint %q; have %v", want, endpoints)
		}
	}
	e := s.Executors[0]
	if e.Type != model.ExecutorRampingVUs || e.Name != "ramping-vus" || len(e.Stages) != 5 {
		t.Fatalf("executor = %+v", e)
	}
	var names []string
	for _, st := range e.Stages {
		names = append(names, st.Name)
	}
	if got := strings.Join(names, ","); got != "warmup,stage-1,stage-2,stage-3,cooldown" {
		t.Errorf("stage names = %s", got)
	}
	if th := s.Thresholds["http_req_failed"]; len(th) != 1 || !th[0].AbortOnFail || th[0].DelayAbortEval.D().Seconds() != 30 {
		t.Errorf("http_req_failed thresholds = %+v, want one with abortOnFail after 30s", th)
	}
}

// badCase is a scenario document with one planted mistake.
type badCase struct {
	doc string
	// line and col are where the first problem must be reported.
	line, col int
	// path and msg are fragments of the first problem.
	path string
	msg  []string
}

func TestBadScenarioFilesAreReportedWithLineAndExpectation(t *testing.T) {
	cases := map[string]badCase{
		"a misspelt key is reported with a suggestion and the expected keys": {
			doc: `
target: http://127.0.0.1:8080
flows:
  - name: a
    steps:
      - {method: GET, path: /}
executors:
  - type: ramping-vus
    stagse:
      - {duration: 10s, target: 5}
`,
			line: 9, col: 5, path: "executors[0].stagse",
			msg: []string{`unknown field "stagse"`, `did you mean "stages"?`, "expected one of name, type, flows, startTime"},
		},
		"a list where a duration belongs names the field and the expected form": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
executors:
  - type: constant-vus
    vus: 2
    duration: [1, 2]
`,
			line: 9, col: 15, path: "executors[0].duration",
			msg: []string{`expected a duration such as "30s"`, "got a list [1, 2]"},
		},
		"a misspelt duration is reported with the expected form": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
executors:
  - type: constant-vus
    vus: 2
    duration: 30 seconds
`,
			line: 9, col: 15, path: "executors[0].duration",
			msg: []string{`invalid duration "30 seconds"`, `expected a duration such as "30s"`},
		},
		"an unknown method lists the methods": {
			doc: `
flows:
  - name: a
    steps:
      - method: GET
        path: /a
      - method: fetch
        path: /b
`,
			line: 7, col: 17, path: "flows[0].steps[1].method",
			msg: []string{"expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS", `got "FETCH"`},
		},
		"a template using an undefined variable names it and the defined ones": {
			doc: `
variables:
  region: eu
flows:
  - name: a
    steps:
      - method: POST
        path: /orders
        capture: {orderId: $.id}
      - method: GET
        path: /orders/{{ordrId}}
`,
			line: 11, col: 15, path: "flows[0].steps[1].path",
			msg: []string{`undefined variable "ordrId"`, `did you mean "orderId"?`, "defined here: orderId, region"},
		},
		"a capture of a later step is not usable earlier": {
			doc: `
flows:
  - name: a
    steps:
      - method: GET
        path: /orders/{{orderId}}
      - method: POST
        path: /orders
        capture: {orderId: $.id}
`,
			line: 6, col: 15, path: "flows[0].steps[0].path",
			msg: []string{`undefined variable "orderId"`, "no variables are defined here"},
		},
		"an unknown template function lists the known ones": {
			doc: `
flows:
  - name: a
    steps:
      - method: POST
        path: /orders
        body:
          qty: "{{randomNumber(1, 5)}}"
`,
			line: 8, col: 16, path: `flows[0].steps[0].body["qty"]`,
			msg: []string{`unknown function "randomNumber"`, "randomInt"},
		},
		"a malformed threshold expression shows the expected syntax": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
thresholds:
  http_req_duration: ["p95 < 800"]
`,
			line: 7, col: 23, path: `thresholds["http_req_duration"][0]`,
			msg: []string{`threshold "p95 < 800"`, "p(N)"},
		},
		"an aggregation that does not fit the metric lists the ones that do": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
thresholds:
  http_req_failed:
    - threshold: p(95)<0.1
      abortOnFail: true
`,
			line: 8, col: 7, path: `thresholds["http_req_failed"][0]`,
			msg: []string{"aggregation p(N) does not fit http_req_failed", "expected one of rate"},
		},
		"an unknown threshold metric is reported at its key": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
thresholds:
  http_req_duraton: ["p(95)<800"]
`,
			line: 7, col: 3, path: `thresholds["http_req_duraton"]`,
			msg: []string{`unknown metric "http_req_duraton"`, "http_req_duration"},
		},
		"ramping-vus without stages asks for stages": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
executors:
  - type: ramping-vus
    startVUs: 1
`,
			line: 7, col: 5, path: "executors[0].stages",
			msg: []string{"ramping-vus needs stages"},
		},
		"maxVUs below preAllocatedVUs is reported at maxVUs": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
executors:
  - type: constant-arrival-rate
    rate: 50
    duration: 1m
    preAllocatedVUs: 20
    maxVUs: 10
`,
			line: 11, col: 13, path: "executors[0].maxVUs",
			msg: []string{"maxVUs 10 is less than preAllocatedVUs 20"},
		},
		"an executor naming an unknown flow lists the flows": {
			doc: `
flows:
  - name: browse
    steps:
      - {method: GET, path: /}
executors:
  - type: constant-vus
    vus: 1
    duration: 10s
    flows: [browze]
`,
			line: 10, col: 13, path: "executors[0].flows[0]",
			msg: []string{`no flow is named "browze"`, `did you mean "browse"?`},
		},
		"a stage name used twice across executors is reported at the second use": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
executors:
  - type: ramping-vus
    stages:
      - {name: peak, duration: 10s, target: 5}
  - type: ramping-arrival-rate
    stages:
      - {name: peak, duration: 10s, target: 5}
`,
			line: 12, col: 16, path: "executors[1].stages[0].name",
			msg: []string{`stage name "peak" is already used by executors[0].stages[0]`},
		},
		"a target that is not an absolute http URL is rejected": {
			doc: `
target: 127.0.0.1:8080
flows:
  - name: a
    steps:
      - {method: GET, path: /}
`,
			line: 2, col: 9, path: "target",
			msg: []string{`target "127.0.0.1:8080"`, "http://127.0.0.1:8080"},
		},
		"a word where a number belongs names the field": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
executors:
  - type: constant-vus
    vus: many
    duration: 10s
`,
			line: 8, col: 10, path: "executors[0].vus",
			msg: []string{`expected a whole number, got "many"`},
		},
		"a key written twice is reported at the second one": {
			doc: `
name: a
name: b
flows:
  - name: a
    steps:
      - {method: GET, path: /}
`,
			line: 3, col: 1, path: "name",
			msg: []string{`duplicate key "name" (first written at line 2)`},
		},
		"a YAML syntax error gives its line": {
			doc: `
flows:
  - name: a
    steps: [
`,
			line: 4, path: "",
			msg: []string{"invalid YAML"},
		},
		"an empty file says what a scenario needs": {
			doc:  "# nothing yet\n",
			line: 1, col: 1,
			msg: []string{"empty document"},
		},
		"a scenario without flows asks for one": {
			doc: `
name: empty
executors:
  - {type: constant-vus, vus: 1, duration: 1s}
`,
			line: 2, col: 1, path: "flows",
			msg: []string{"no flows"},
		},
		"a check with two assertions is rejected": {
			doc: `
flows:
  - name: a
    steps:
      - method: GET
        path: /
        checks:
          - {status: [200], maxDuration: 1s}
`,
			line: 8, col: 13, path: "flows[0].steps[0].checks[0]",
			msg: []string{"exactly one of status, jsonPath or maxDuration"},
		},
		"a malformed capture path shows the expected form": {
			doc: `
flows:
  - name: a
    steps:
      - method: GET
        path: /
        capture: {id: "$.items[x]"}
`,
			line: 7, col: 23, path: `flows[0].steps[0].capture["id"]`,
			msg: []string{`JSON path "$.items[x]"`, "$.items[0].id"},
		},
		"a uniform think with min above max is rejected": {
			doc: `
flows:
  - name: a
    steps:
      - method: GET
        path: /
        think: {distribution: uniform, min: 2s, max: 1s}
`,
			line: 7, col: 45, path: "flows[0].steps[0].think.min",
			msg: []string{"min 2s is greater than max 1s"},
		},
		"a second YAML document is rejected": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
---
name: other
`,
			line: 6, col: 1,
			msg: []string{"one YAML document"},
		},
		"a threshold on an endpoint the scenario never calls is reported": {
			doc: `
flows:
  - name: a
    steps:
      - {method: GET, path: "/orders/{{id}}", endpoint: "GET /orders/{id}", capture: {}}
variables: {id: "1"}
thresholds:
  "http_req_duration{endpoint:GET /order/{id}}": ["p(95)<100"]
`,
			line: 8, col: 3, path: `thresholds["http_req_duration{endpoint:GET /order/{id}}"]`,
			msg: []string{"tag endpoint:GET /order/{id} matches no endpoint", `did you mean "GET /orders/{id}"?`},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc), "scenario.yaml")
			if err == nil {
				t.Fatal("Parse accepted the document")
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %v is a %T, want *Error", err, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Error("errors.Is(err, ErrInvalid) is false")
			}
			it := perr.Items[0]
			if it.Line != c.line || it.Column != c.col || it.Path != c.path {
				t.Errorf("first problem at %d:%d %q, want %d:%d %q\n%v", it.Line, it.Column, it.Path, c.line, c.col, c.path, err)
			}
			for _, m := range c.msg {
				if !strings.Contains(it.Msg, m) {
					t.Errorf("message %q does not contain %q", it.Msg, m)
				}
			}
			if !strings.HasPrefix(err.Error(), "scenario.yaml:") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

func TestEveryProblemIsReportedInDocumentOrder(t *testing.T) {
	doc := `target: ftp://example.com
flows:
  - name: a
    steps:
      - method: FETCH
        path: orders
executors:
  - type: constant-vus
    vus: 0
    duration: 10s
thresholds:
  checks: ["p(95)<1"]
`
	_, err := Parse([]byte(doc), "s.yaml")
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("err = %v, want *Error", err)
	}
	want := []string{
		"s.yaml:1:9: target: ",
		"s.yaml:5:17: flows[0].steps[0].method: ",
		"s.yaml:6:15: flows[0].steps[0].path: ",
		"s.yaml:9:10: executors[0].vus: ",
		`s.yaml:12:12: thresholds["checks"][0]: `,
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

func TestAMisspeltKeyDoesNotAlsoReportTheFieldItHides(t *testing.T) {
	doc := `
flows:
  - name: a
    steps:
      - {method: GET, path: /}
executors:
  - type: ramping-vus
    stagse: [{duration: 10s, target: 5}]
`
	_, err := Parse([]byte(doc), "s.yaml")
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if len(perr.Items) != 1 {
		t.Errorf("got %d problems, want only the misspelling:\n%v", len(perr.Items), err)
	}
}

func TestJSONScenariosAreReadWithEitherKeyStyle(t *testing.T) {
	// Indented with tabs, as JSON often is.
	doc := strings.ReplaceAll(`{
  "name": "json",
  "target": "http://127.0.0.1:8080",
  "flows": [{"name": "a", "steps": [{"method": "post", "path": "/x", "body": {"n": 1, "f": 1.5, "ok": true, "tags": ["a"], "none": null}}]}],
  "executors": [
    {"type": "constant-arrival-rate", "rate": 20, "duration": "1m", "preAllocatedVUs": 5, "max_vus": 10, "time_unit": "1s"}
  ],
  "thresholds": {"http_req_duration": ["p(95)<800", {"threshold": "max<2000", "abort_on_fail": true}]}
}`, "  ", "\t")
	s, err := Parse([]byte(doc), "s.json")
	if err != nil {
		t.Fatal(err)
	}
	e := s.Executors[0]
	if e.PreAllocatedVUs != 5 || e.MaxVUs != 10 || e.TimeUnit.D().Seconds() != 1 {
		t.Errorf("executor = %+v", e)
	}
	if th := s.Thresholds["http_req_duration"]; len(th) != 2 || th[0].Expr != "p(95)<800" || !th[1].AbortOnFail || th[1].Expr != "max<2000" {
		t.Errorf("thresholds = %+v", th)
	}
	body := s.Flows[0].Steps[0].Body.(map[string]any)
	if body["n"] != int64(1) || body["f"] != 1.5 || body["ok"] != true || body["none"] != nil {
		t.Errorf("body = %#v", body)
	}
	if s.Flows[0].Steps[0].Method != "POST" {
		t.Errorf("method = %q, want it upper-cased", s.Flows[0].Steps[0].Method)
	}
}

func TestSingleValuesStandForOneItemLists(t *testing.T) {
	doc := `
flows:
  - name: a
    steps:
      - {method: GET, path: /, checks: [{status: 200}]}
executors:
  - {type: constant-vus, vus: 1, duration: 1s, flows: a}
thresholds:
  http_req_duration: p(95)<800
`
	s, err := Parse([]byte(doc), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Flows[0].Steps[0].Checks[0].Status; len(got) != 1 || got[0] != 200 {
		t.Errorf("status = %v", got)
	}
	if got := s.Executors[0].Flows; len(got) != 1 || got[0] != "a" {
		t.Errorf("flows = %v", got)
	}
	if got := s.Thresholds["http_req_duration"]; len(got) != 1 || got[0].Expr != "p(95)<800" {
		t.Errorf("thresholds = %v", got)
	}
}

func TestAnchorsAndMergeKeysAreExpanded(t *testing.T) {
	doc := `
flows:
  - name: a
    steps:
      - &get {method: GET, path: /a, checks: [{status: 200}]}
      - <<: *get
        path: /b
executors:
  - type: constant-vus
    vus: 1
    duration: 1s
`
	s, err := Parse([]byte(doc), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st := s.Flows[0].Steps
	if len(st) != 2 || st[1].Method != "GET" || st[1].Path != "/b" || len(st[1].Checks) != 1 || st[1].Checks[0].Status[0] != 200 {
		t.Errorf("steps = %+v", st)
	}
}

func TestAliasBombsAreRefusedWithoutExhaustingMemory(t *testing.T) {
	doc := `
a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
flows:
  - name: a
    steps:
      - {method: POST, path: /, body: *g}
`
	_, err := Parse([]byte(doc), "bomb.yaml")
	if err == nil || !strings.Contains(err.Error(), "too deeply") {
		t.Fatalf("err = %v, want the expansion refused", err)
	}
}

func TestReadFileWrapsAMissingFile(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "could not read scenario") {
		t.Errorf("err = %v, want a wrapped not-exist error", err)
	}
}
