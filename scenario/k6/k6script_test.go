package k6

import (
	"encoding/base64"
	"encoding/json"
	"github.com/headroom-sh/headroom/internal/golden"
	"github.com/headroom-sh/headroom/scenario"
	"github.com/headroom-sh/headroom/scenario/generate"
	"github.com/headroom-sh/headroom/scenario/openapi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// nodeOrSkip returns the node binary, the JavaScript engine the tests use
// to parse and run generated k6 scripts.
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node is needed to check generated k6 scripts: %v", err)
		}
		t.Skipf("node is not installed: %v", err)
	}
	return node
}

// nodeCheck parses a script as an ES module with node --check.
func nodeCheck(t *testing.T, node string, js []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "script.mjs")
	if err := os.WriteFile(path, js, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("the k6 script does not parse as a JavaScript module: %v\n%s", err, out)
	}
}

// TestK6ScriptsParseAsModules writes every example scenario and every
// generated golden scenario as a k6 script and parses it with a real
// JavaScript parser.
func TestK6ScriptsParseAsModules(t *testing.T) {
	node := nodeOrSkip(t)
	files, _ := filepath.Glob("../../examples/scenarios/*.yaml")
	more, _ := filepath.Glob("../generate/testdata/TestGenerateGolden/*.yaml")
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("found only %d scenarios", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := scenario.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			js, err := Script(s, ScriptOptions{})
			if err != nil {
				t.Fatal(err)
			}
			nodeCheck(t, node, js)
		})
	}
}

func TestK6ScriptGolden(t *testing.T) {
	for _, name := range []string{"checkout", "checkout-arrival-rate", "quick"} {
		t.Run(name, func(t *testing.T) {
			// Copies of examples/scenarios, so that edits to the examples
			// do not move this golden.
			s, err := scenario.ReadFile("testdata/scenarios/" + name + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			js, err := Script(s, ScriptOptions{Source: "examples/scenarios/" + name + ".yaml"})
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "", ".js", js)
		})
	}
}

func TestK6ScriptDoesNotChangeTheScenario(t *testing.T) {
	s, err := scenario.ReadFile("../../examples/scenarios/checkout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	before := s.Clone()
	if _, err := Script(s, ScriptOptions{}); err != nil {
		t.Fatal(err)
	}
	y1, _ := scenario.Marshal(before)
	y2, _ := scenario.Marshal(s)
	if string(y1) != string(y2) {
		t.Error("Script changed its input")
	}
}

func TestK6ScriptRefusesAnInvalidScenario(t *testing.T) {
	if _, err := Script(nil, ScriptOptions{}); err == nil {
		t.Error("a nil scenario gave no error")
	}
	s := &model.Scenario{Name: "x", Flows: []model.Flow{{Name: "a", Steps: []model.Step{{Method: "GET", Path: "/{{nope}}"}}}}}
	if _, err := Script(s, ScriptOptions{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("got %v, want the undefined variable named", err)
	}
}

// TestArrivalRatesBecomeWholeNumbersPerTimeUnit checks that fractional
// rates, which k6 does not take, are written per a longer time unit.
func TestArrivalRatesBecomeWholeNumbersPerTimeUnit(t *testing.T) {
	s := &model.Scenario{
		Name:   "rates",
		Target: "http://127.0.0.1:1",
		Flows:  []model.Flow{{Name: "a", Steps: []model.Step{{Method: "GET", Path: "/"}}}},
		Executors: []model.Executor{
			{Type: model.ExecutorConstantArrivalRate, Rate: 2.5, Duration: model.Duration(time.Minute)},
			{Type: model.ExecutorRampingArrivalRate, StartRate: 0.5, Stages: []model.Stage{{Duration: model.Duration(time.Minute), Target: 10.25}}, Flows: []string{"a"}},
		},
	}
	js, err := Script(s, ScriptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"rate: 5,", `timeUnit: "2s"`, // 2.5/s
		"startRate: 2,", "target: 41 }", `timeUnit: "4s"`, // 0.5/s and 10.25/s
		`exec: "default"`, `exec: "runRampingArrivalRate"`,
		"export function runRampingArrivalRate()",
	} {
		if !strings.Contains(string(js), want) {
			t.Errorf("script lacks %q", want)
		}
	}
}

// k6Shims stand in for k6's modules so that node can run a generated
// script: requests go to a fake API written in JavaScript, and every
// request, check, sleep and metric is recorded.
var k6Shims = map[string]string{
	"http.mjs": `export default {
  request(method, url, body, params) {
    const res = globalThis.__respond(method, url, body, params);
    globalThis.__calls.push({ method, url, body: body === undefined ? null : body, headers: params.headers, tags: params.tags, timeout: params.timeout, status: res.status });
    return res;
  },
};`,
	"k6.mjs": `export function check(val, sets, tags) {
  let all = true;
  for (const [name, fn] of Object.entries(sets)) {
    const ok = !!fn(val);
    all = all && ok;
    globalThis.__checks.push({ name, ok, tags });
  }
  return all;
}
export function sleep(s) { globalThis.__sleeps.push(s); }`,
	"execution.mjs": `export default {
  scenario: { name: 'ramping-vus', startTime: Date.now() - 45000 },
  vu: { idInTest: 3, iterationInScenario: 0 },
};`,
	"metrics.mjs": `class Metric {
  constructor(name, isTime) { this.name = name; }
  add(value, tags) { globalThis.__metrics.push({ name: this.name, value: Number(value), tags }); }
}
export class Rate extends Metric {}
export class Trend extends Metric {}
export class Counter extends Metric {}`,
	"run.mjs": `globalThis.__ENV = { BASE_URL: 'http://api.test/' };
globalThis.__calls = [];
globalThis.__checks = [];
globalThis.__sleeps = [];
globalThis.__metrics = [];
let logins = 0;
let creates = 0;
globalThis.__respond = (method, url, body, params) => {
  const path = url.replace('http://api.test', '');
  const json = (status, v) => ({ status, body: JSON.stringify(v), timings: { duration: 12 } });
  if (path === '/api/auth/login') { logins++; return json(200, { token: 'tok-' + logins, token_type: 'Bearer', expires_in: 900 }); }
  if (path === '/api/cart/add') return json(200, { cart_id: 'cart-7', items: [], item_count: 1, subtotal_cents: 100 });
  if (path === '/api/orders/create') {
    creates++;
    if (creates === 2) return json(401, { error: 'token expired' });
    return json(201, { id: 40 + creates, status: 'created' });
  }
  if (path.startsWith('/api/orders/')) return json(200, { id: Number(path.split('/').pop()) });
  return json(404, { error: 'no route' });
};
const mod = await import('./script.mjs');
for (let i = 0; i < 3; i++) mod.default();
console.log(JSON.stringify({ options: mod.options, calls: __calls, checks: __checks, sleeps: __sleeps, metrics: __metrics }));`,
}

type k6Call struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Body    *string           `json:"body"`
	Headers map[string]string `json:"headers"`
	Tags    map[string]string `json:"tags"`
	Timeout string            `json:"timeout"`
	Status  int               `json:"status"`
}

type k6Result struct {
	Options struct {
		Scenarios  map[string]map[string]any `json:"scenarios"`
		Thresholds map[string][]any          `json:"thresholds"`
	} `json:"options"`
	Calls  []k6Call `json:"calls"`
	Checks []struct {
		Name string            `json:"name"`
		OK   bool              `json:"ok"`
		Tags map[string]string `json:"tags"`
	} `json:"checks"`
	Sleeps  []float64 `json:"sleeps"`
	Metrics []struct {
		Name  string            `json:"name"`
		Value float64           `json:"value"`
		Tags  map[string]string `json:"tags"`
	} `json:"metrics"`
}

// runK6Script runs a generated script under node with the shims above.
func runK6Script(t *testing.T, node string, js []byte) k6Result {
	t.Helper()
	dir := t.TempDir()
	src := string(js)
	for _, m := range []string{"http", "execution", "metrics"} {
		src = strings.ReplaceAll(src, "from 'k6/"+m+"'", "from './k6-"+m+".mjs'")
	}
	src = strings.ReplaceAll(src, "from 'k6'", "from './k6-k6.mjs'")
	for name, code := range k6Shims {
		target := "k6-" + name
		if name == "run.mjs" {
			target = name
		}
		if err := os.WriteFile(filepath.Join(dir, target), []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "script.mjs"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "run.mjs")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("running the script failed: %v\n%s", err, msg)
	}
	var res k6Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("harness output: %v\n%s", err, out)
	}
	return res
}

// TestGeneratedK6ScriptBehavesLikeTheScenario runs the k6 script generated
// for the checkout flow and checks what it sends: the login once per VU,
// realistic bodies, the token in every request, captured ids reused, a
// new login and one retry on 401, checks named as headroom names them,
// the stage tag and think time.
func TestGeneratedK6ScriptBehavesLikeTheScenario(t *testing.T) {
	node := nodeOrSkip(t)
	api, err := openapi.Read("../../examples/checkout/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := generate.Generate(api, generate.Options{Flows: []string{"POST /api/cart/add, POST /api/orders/create, GET /api/orders/{id}"}})
	if err != nil {
		t.Fatal(err)
	}
	js, err := Script(g.Scenario, ScriptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := runK6Script(t, node, js)

	sc := res.Options.Scenarios["ramping-vus"]
	if sc["executor"] != "ramping-vus" || len(sc["stages"].([]any)) != 5 {
		t.Errorf("options.scenarios: %v", res.Options.Scenarios)
	}
	for _, k := range []string{"http_req_duration", "http_req_failed", "checks"} {
		if len(res.Options.Thresholds[k]) == 0 {
			t.Errorf("threshold %s missing: %v", k, res.Options.Thresholds)
		}
	}

	var seq []string
	for _, c := range res.Calls {
		seq = append(seq, c.Method+" "+strings.TrimPrefix(c.URL, "http://api.test")+" "+strconv.Itoa(c.Status))
	}
	want := []string{
		"POST /api/auth/login 200",
		"POST /api/cart/add 200", "POST /api/orders/create 201", "GET /api/orders/41 200",
		"POST /api/cart/add 200", "POST /api/orders/create 401", "POST /api/auth/login 200", "POST /api/orders/create 201", "GET /api/orders/43 200",
		"POST /api/cart/add 200", "POST /api/orders/create 201", "GET /api/orders/44 200",
	}
	if strings.Join(seq, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(seq, "\n"), strings.Join(want, "\n"))
	}

	userRE := regexp.MustCompile(`^user([0-9]+)$`)
	prodRE := regexp.MustCompile(`^prod_([0-9]+)$`)
	for i, c := range res.Calls {
		path := strings.TrimPrefix(c.URL, "http://api.test")
		auth := c.Headers["Authorization"]
		var body map[string]any
		if c.Body != nil {
			if err := json.Unmarshal([]byte(*c.Body), &body); err != nil {
				t.Fatalf("call %d: body %q is not JSON", i, *c.Body)
			}
			if c.Headers["Content-Type"] != "application/json" {
				t.Errorf("call %d: Content-Type %q", i, c.Headers["Content-Type"])
			}
		}
		if c.Timeout != "10s" || c.Tags["endpoint"] == "" || c.Tags["name"] != c.Tags["endpoint"] || c.Tags["stage"] != "stage-1" {
			t.Errorf("call %d: timeout %q, tags %v", i, c.Timeout, c.Tags)
		}
		switch {
		case path == "/api/auth/login":
			m := userRE.FindStringSubmatch(body["username"].(string))
			n, _ := strconv.Atoi(m[1])
			if m == nil || n < 1 || n > 1000 || body["password"] != "secret" || auth != "" {
				t.Errorf("login %d: body %v, Authorization %q", i, body, auth)
			}
		case path == "/api/cart/add":
			m := prodRE.FindStringSubmatch(body["product_id"].(string))
			n, _ := strconv.Atoi(m[1])
			q, isNum := body["quantity"].(float64)
			v := body["variant"]
			if m == nil || n < 1 || n > 500 || !isNum || q != float64(int(q)) || q < 1 || q > 10 || (v != "S" && v != "M" && v != "L" && v != "XL") {
				t.Errorf("add to cart %d: body %v", i, body)
			}
			if c.Tags["flow"] != "cart-orders" {
				t.Errorf("flow tag %v", c.Tags)
			}
		case path == "/api/orders/create":
			if body["cart_id"] != "cart-7" {
				t.Errorf("create order %d: body %v, want the captured cart_id", i, body)
			}
		}
		if path != "/api/auth/login" {
			wantTok := "Bearer tok-1"
			if i > 6 {
				wantTok = "Bearer tok-2"
			}
			if auth != wantTok {
				t.Errorf("call %d (%s): Authorization %q, want %q", i, path, auth, wantTok)
			}
		}
	}

	failed := map[string]int{}
	passed := map[string]int{}
	for _, c := range res.Checks {
		if c.OK {
			passed[c.Name]++
		} else {
			failed[c.Name]++
		}
	}
	for _, name := range []string{"POST /api/auth/login status 200", "POST /api/auth/login capture token", "POST /api/cart/add capture cartId",
		"POST /api/orders/create status 201", "POST /api/orders/create capture orderId", "GET /api/orders/{id} status 200"} {
		if passed[name] == 0 {
			t.Errorf("check %q never passed; passed %v", name, passed)
		}
	}
	if len(failed) != 0 {
		t.Errorf("checks failed: %v", failed)
	}
	if len(res.Sleeps) != 9 {
		t.Errorf("%d think pauses, want 9", len(res.Sleeps))
	}
	for _, s := range res.Sleeps {
		if s < 0.5 || s > 1.5 {
			t.Errorf("think time %vs outside 0.5s–1.5s", s)
		}
	}
	errs := 0.0
	for _, m := range res.Metrics {
		if m.Name == "errors" {
			errs += m.Value
		}
	}
	if errs != 1 {
		t.Errorf("errors metric counted %v failures, want 1 (the 401)", errs)
	}
}

// TestK6ScriptCountsARequestWithAMissingVariableAsFailed runs a flow whose
// capture fails: the next request is not sent and counts as an error.
func TestK6ScriptCountsARequestWithAMissingVariableAsFailed(t *testing.T) {
	node := nodeOrSkip(t)
	s := &model.Scenario{
		Name:   "missing",
		Target: "http://api.test",
		Flows: []model.Flow{{Name: "f", Steps: []model.Step{
			{Method: "POST", Path: "/api/cart/add", Capture: map[string]string{"orderId": "$.nope"}},
			{Method: "GET", Path: "/api/orders/{{orderId}}", Checks: []model.Check{{JSONPath: "$.id", Equals: "41"}}},
		}}},
		Executors: []model.Executor{{Type: model.ExecutorRampingVUs, Stages: []model.Stage{{Duration: model.Duration(time.Minute), Target: 1}}}},
	}
	js, err := Script(s, ScriptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := runK6Script(t, node, js)
	if len(res.Calls) != 3 {
		t.Fatalf("%d requests sent, want 3 (the step without its variable is not sent)", len(res.Calls))
	}
	errs := 0.0
	for _, m := range res.Metrics {
		if m.Name == "errors" {
			errs += m.Value
		}
	}
	if errs != 3 {
		t.Errorf("errors counted %v, want 3", errs)
	}
	for _, c := range res.Checks {
		if c.OK {
			t.Errorf("check %q passed", c.Name)
		}
	}
}

// TestK6ScriptReadsSecretsAsK6Does: env() becomes __ENV.NAME, file() a
// file opened once in k6's init context, and Basic or Bearer auth a header
// on every request; run under node, the script sends what headroom sends.
func TestK6ScriptReadsSecretsAsK6Does(t *testing.T) {
	node := nodeOrSkip(t)
	base := func() *model.Scenario {
		return &model.Scenario{
			Name:   "secrets",
			Target: "http://api.test",
			Headers: map[string]string{
				"X-Api-Key": "{{env(API_KEY)}}",
				"X-Mounted": "{{file(/run/secrets/token)}}",
			},
			Flows:     []model.Flow{{Name: "f", Steps: []model.Step{{Method: "GET", Path: "/api/orders/1"}}}},
			Executors: []model.Executor{{Type: model.ExecutorConstantVUs, VUs: 1, Duration: model.Duration(time.Second)}},
		}
	}
	basic := base()
	basic.Auth = &model.Auth{Basic: &model.BasicAuth{Username: "{{env(API_USER)}}", Password: "{{env(API_PASS)}}"}}
	bearer := base()
	bearer.Auth = &model.Auth{Bearer: "{{env(API_TOKEN)}}"}
	for name, c := range map[string]struct {
		sc   *model.Scenario
		want string
	}{
		"basic":  {basic, "Basic " + base64.StdEncoding.EncodeToString([]byte("ann:pw"))},
		"bearer": {bearer, "Bearer tok-1"},
	} {
		t.Run(name, func(t *testing.T) {
			js, err := Script(c.sc, ScriptOptions{})
			if err != nil {
				t.Fatal(err)
			}
			src := string(js)
			for _, w := range []string{"__ENV.API_KEY", "open(\"/run/secrets/token\")"} {
				if !strings.Contains(src, w) {
					t.Errorf("the script lacks %s", w)
				}
			}
			// Stand-ins for k6's environment, open() and k6/encoding.
			src = strings.Replace(src, "import encoding from 'k6/encoding';",
				"const encoding = { b64encode: (s) => Buffer.from(s).toString('base64') };", 1)
			src = strings.Replace(src, "const SECRET_FILES", "Object.assign(globalThis.__ENV, { API_KEY: 'key-1', API_USER: 'ann', API_PASS: 'pw', API_TOKEN: 'tok-1' });\n"+
				"globalThis.open = (p) => 'mounted:' + p + '\\n';\nconst SECRET_FILES", 1)
			res := runK6Script(t, node, []byte(src))
			if len(res.Calls) == 0 {
				t.Fatal("the script sent nothing")
			}
			h := res.Calls[0].Headers
			if h["Authorization"] != c.want || h["X-Api-Key"] != "key-1" || h["X-Mounted"] != "mounted:/run/secrets/token" {
				t.Errorf("headers sent: %v; want Authorization %q, X-Api-Key key-1, X-Mounted without its newline", h, c.want)
			}
		})
	}
}
