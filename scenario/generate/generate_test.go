package generate_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/examples/checkout"
	"github.com/headroom-sh/headroom/internal/golden"
	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/scenario"
	"github.com/headroom-sh/headroom/scenario/express"
	"github.com/headroom-sh/headroom/scenario/generate"
	"github.com/headroom-sh/headroom/scenario/k6"
	"github.com/headroom-sh/headroom/scenario/openapi"
)

// checkoutFlow is the three-step checkout journey of the demo.
const checkoutFlow = "POST /api/cart/add, POST /api/orders/create, GET /api/orders/{id}"

const (
	checkoutSpec    = "../../examples/checkout/openapi.yaml"
	checkoutExpress = "../../examples/checkout/express"
)

// readAPI reads an OpenAPI file or, for a directory, Express sources.
func readAPI(t *testing.T, src string) *generate.APIModel {
	t.Helper()
	st, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	var api *generate.APIModel
	if st.IsDir() {
		api, err = express.Read(src)
	} else {
		api, err = openapi.Read(src)
	}
	if err != nil {
		t.Fatalf("reading %s: %v", src, err)
	}
	return api
}

func mustGenerate(t *testing.T, api *generate.APIModel, opt generate.Options) *generate.Generated {
	t.Helper()
	g, err := generate.Generate(api, opt)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGenerateGolden writes, for each source, the scenario YAML, the k6
// script and the --dry-run summary, and compares them with testdata.
func TestGenerateGolden(t *testing.T) {
	cases := []struct {
		name, src string
		flows     []string
	}{
		{"checkout-openapi", checkoutSpec, []string{checkoutFlow}},
		{"checkout-express", checkoutExpress, []string{checkoutFlow}},
		{"checkout-openapi-proposed", checkoutSpec, nil},
		{"petstore", "../openapi/testdata/petstore/openapi.yaml", nil},
		{"petstore-flow", "../openapi/testdata/petstore/openapi.yaml", []string{"adopt: POST /pet, GET /pet/{petId}, DELETE /pet/{petId}", "GET /pet/findByStatus, GET /pet/{petId}"}},
		{"recursive", "../openapi/testdata/edge/recursive.yaml", nil},
		{"openapi31", "../openapi/testdata/edge/openapi31.json", nil},
		{"split-refs", "../openapi/testdata/refs/openapi.yaml", nil},
		{"express-edge", "../express/testdata/express-edge", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := readAPI(t, c.src)
			g := mustGenerate(t, api, generate.Options{Flows: c.flows})
			y, err := scenario.Marshal(g.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "", ".yaml", y)
			js, err := k6.Script(g.Scenario, k6.ScriptOptions{Source: filepath.ToSlash(c.src)})
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "", ".js", js)
			golden.Check(t, "", ".txt", []byte(generate.Summary(api, g)))

			// The YAML reads back to the same scenario.
			back, err := scenario.Parse(y, c.name+".yaml")
			if err != nil {
				t.Fatalf("the generated YAML does not parse: %v", err)
			}
			if !reflect.DeepEqual(back, g.Scenario) {
				t.Errorf("the generated YAML reads back differently:\n%s", y)
			}
		})
	}
}

// TestCheckoutSpecAndExpressTwinYieldTheSameFlow checks the core
// promise: the OpenAPI document and the Express + TypeScript twin give the
// same three-step checkout flow with the same payloads and the same login.
func TestCheckoutSpecAndExpressTwinYieldTheSameFlow(t *testing.T) {
	fromSpec := mustGenerate(t, readAPI(t, checkoutSpec), generate.Options{Flows: []string{checkoutFlow}}).Scenario
	fromTS := mustGenerate(t, readAPI(t, checkoutExpress), generate.Options{Flows: []string{checkoutFlow}}).Scenario

	strip := func(s *model.Scenario) *model.Scenario {
		c := s.Clone()
		for i := range c.Flows {
			for j := range c.Flows[i].Steps {
				c.Flows[i].Steps[j].Name = "" // summaries differ in wording
			}
		}
		return c
	}
	a, b := strip(fromSpec), strip(fromTS)
	if len(a.Flows) != 1 || len(a.Flows[0].Steps) != 3 {
		t.Fatalf("want one flow of three steps, got %+v", a.Flows)
	}
	var eps []string
	for _, st := range a.Flows[0].Steps {
		eps = append(eps, st.Endpoint)
	}
	if want := []string{"POST /api/cart/add", "POST /api/orders/create", "GET /api/orders/{id}"}; !reflect.DeepEqual(eps, want) {
		t.Errorf("steps %v, want %v", eps, want)
	}
	if !reflect.DeepEqual(a.Flows, b.Flows) {
		ya, _ := scenario.Marshal(a)
		yb, _ := scenario.Marshal(b)
		t.Errorf("flows differ:\nOpenAPI:\n%s\nExpress:\n%s", ya, yb)
	}
	if !reflect.DeepEqual(a.Auth, b.Auth) {
		t.Errorf("auth differs:\nOpenAPI: %+v\nExpress: %+v", a.Auth, b.Auth)
	}
	if a.Target != b.Target {
		t.Errorf("targets differ: %s and %s", a.Target, b.Target)
	}

	// The payload is realistic: the documented ranges, as templates the
	// runner fills in afresh every iteration.
	add := a.Flows[0].Steps[0].Body.(map[string]any)
	want := map[string]any{
		"product_id": "prod_{{randomInt(1,500)}}",
		"variant":    "{{pickWeighted(S, 20, M, 35, L, 25, XL, 12)}}",
		"quantity":   "{{skewedInt(1,10)}}",
	}
	if !reflect.DeepEqual(add, want) {
		t.Errorf("add-to-cart body %v, want %v", add, want)
	}
	steps := a.Flows[0].Steps
	if steps[0].Capture["cartId"] != "$.cart_id" || steps[1].Capture["orderId"] != "$.id" {
		t.Errorf("captures: %v, %v", steps[0].Capture, steps[1].Capture)
	}
	if steps[1].Body.(map[string]any)["cart_id"] != "{{cartId}}" || steps[2].Path != "/api/orders/{{orderId}}" {
		t.Errorf("captured values are not reused: body %v, path %s", steps[1].Body, steps[2].Path)
	}
	if a.Auth == nil || a.Auth.Step.Path != "/api/auth/login" || a.Auth.Step.Capture["token"] != "$.token" {
		t.Fatalf("auth %+v", a.Auth)
	}
	if got := a.Auth.Step.Body.(map[string]any); got["username"] != "user{{vu()}}" || got["password"] != "secret" {
		t.Errorf("login body %v", got)
	}
}

// TestGeneratedCheckoutScenariosRunCleanAgainstTheDemo runs the scenarios
// generated from both definitions against the checkout demo (in-memory
// backend) with headroom's runner: every request and every check passes,
// so the payloads, the login and the captured ids are right.
func TestGeneratedCheckoutScenariosRunCleanAgainstTheDemo(t *testing.T) {
	srv, err := checkout.New(context.Background(), checkout.Config{Backend: checkout.BackendSim, OrderDBHold: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	for _, src := range []string{checkoutSpec, checkoutExpress} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			g := mustGenerate(t, readAPI(t, src), generate.Options{
				Flows:  []string{checkoutFlow, "browse: POST /api/cart/add"},
				Target: ts.URL,
				Think:  &model.Think{Duration: model.Duration(5 * time.Millisecond)},
				Executors: []model.Executor{{
					Type: model.ExecutorConstantVUs, VUs: 4, Duration: model.Duration(1500 * time.Millisecond),
					GracefulStop: model.Duration(5 * time.Second),
				}},
			})
			r, err := loadgen.NewRunner(loadgen.Config{Scenario: g.Scenario})
			if err != nil {
				t.Fatal(err)
			}
			run, err := r.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if run.Total.Requests < 20 {
				t.Fatalf("only %d requests ran", run.Total.Requests)
			}
			if run.Total.Errors != 0 {
				t.Errorf("%d of %d requests failed: %v; status %v", run.Total.Errors, run.Total.Requests, r.Errors(), run.Total.Status)
			}
			for _, c := range run.Checks {
				if c.Fails > 0 || c.Passes == 0 {
					t.Errorf("check %q: %d passed, %d failed", c.Name, c.Passes, c.Fails)
				}
			}
			seen := map[string]bool{}
			for _, e := range run.Endpoints {
				seen[e.Endpoint] = e.Requests > 0
			}
			for _, ep := range []string{"POST /api/auth/login", "POST /api/cart/add", "POST /api/orders/create", "GET /api/orders/{id}"} {
				if !seen[ep] {
					t.Errorf("no requests to %s; endpoints %v", ep, seen)
				}
			}
		})
	}
}

func TestFlowsAreChecked(t *testing.T) {
	api := readAPI(t, checkoutSpec)
	cases := []struct {
		name, flow, want string
	}{
		{"a misspelt route is named with the closest match", "POST /api/cart/ad", `did you mean "POST /api/cart/add"?`},
		{"a step without a method says what is expected", "/api/cart/add", "expected METHOD PATH"},
		{"an empty flow is refused", " , ", "has no steps"},
		{"a flow of only the login step is refused", "POST /api/auth/login", "only the login step"},
		{"an unknown route lists the routes found", "DELETE /api/orders/{id}", "routes found: POST /api/auth/login"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := generate.Generate(api, generate.Options{Flows: []string{c.flow}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestFlowSpecsAcceptExpressPathsNamesAndTheLoginStep(t *testing.T) {
	api := readAPI(t, checkoutSpec)
	g := mustGenerate(t, api, generate.Options{Flows: []string{"buy: POST /api/auth/login; POST /api/orders/create; GET /api/orders/:orderId"}})
	f := g.Scenario.Flows[0]
	if f.Name != "buy" || len(f.Steps) != 2 || f.Steps[1].Endpoint != "GET /api/orders/{id}" {
		t.Fatalf("flow %+v", f)
	}
	if g.Scenario.Auth == nil {
		t.Fatal("the login step should become the auth step")
	}
	found := false
	for _, n := range g.Notes {
		found = found || strings.Contains(n, "runs once per VU as the auth step")
	}
	if !found {
		t.Errorf("no note says the login step moved: %v", g.Notes)
	}
}

func TestGenerateDoesNotChangeTheModel(t *testing.T) {
	for _, src := range []string{checkoutSpec, checkoutExpress, "../openapi/testdata/petstore/openapi.yaml"} {
		a := readAPI(t, src)
		b := readAPI(t, src)
		mustGenerate(t, a, generate.Options{Flows: nil})
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: Generate changed its input", src)
		}
	}
}

func TestGenerateWithoutRoutesIsAnError(t *testing.T) {
	_, err := generate.Generate(&generate.APIModel{Source: "x.yaml"}, generate.Options{})
	if !errors.Is(err, generate.ErrNoRoutes) {
		t.Fatalf("got %v, want ErrNoRoutes", err)
	}
	api := &generate.APIModel{Source: "x.yaml", Routes: []generate.Route{{Method: "GET", Path: "/healthz"}}}
	if _, err := generate.Generate(api, generate.Options{}); err == nil || !strings.Contains(err.Error(), "--flow") {
		t.Fatalf("a model with only a health route: got %v, want a hint at --flow", err)
	}
}

func TestRoutesWithoutLoginGetATokenVariable(t *testing.T) {
	g := mustGenerate(t, readAPI(t, "../openapi/testdata/petstore/openapi.yaml"), generate.Options{})
	s := g.Scenario
	if s.Auth != nil || s.Variables["token"] != "REPLACE_ME" || s.Headers["Authorization"] != "Bearer {{token}}" {
		t.Fatalf("auth %+v, variables %v, headers %v", s.Auth, s.Variables, s.Headers)
	}
}

func TestApiKeySchemesAreSentInTheirHeader(t *testing.T) {
	spec := `openapi: 3.0.3
info: {title: Keys, version: "1"}
security: [{key: []}]
paths:
  /login:
    post:
      security: []
      requestBody: {content: {application/json: {schema: {type: object, properties: {user: {type: string, example: bob}}}}}}
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object, properties: {api_key: {type: string}}}}}}}
  /things:
    get:
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-API-Key}
`
	api, err := openapi.Parse([]byte(spec), "keys.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := mustGenerate(t, api, generate.Options{}).Scenario
	if s.Auth == nil || s.Auth.Header != "X-API-Key" || s.Auth.Scheme != model.AuthSchemeNone || s.Auth.Step.Capture["token"] != "$.api_key" {
		t.Fatalf("auth %+v", s.Auth)
	}
}

// BenchmarkGenerateFromExpress measures reading the checkout twin with
// tree-sitter and generating its scenario and k6 script.
func BenchmarkGenerateFromExpress(b *testing.B) {
	for i := 0; i < b.N; i++ {
		api, err := express.Read(checkoutExpress)
		if err != nil {
			b.Fatal(err)
		}
		g, err := generate.Generate(api, generate.Options{Flows: []string{checkoutFlow}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k6.Script(g.Scenario, k6.ScriptOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateFromOpenAPI is the same from the checkout OpenAPI document.
func BenchmarkGenerateFromOpenAPI(b *testing.B) {
	for i := 0; i < b.N; i++ {
		api, err := openapi.Read(checkoutSpec)
		if err != nil {
			b.Fatal(err)
		}
		g, err := generate.Generate(api, generate.Options{Flows: []string{checkoutFlow}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k6.Script(g.Scenario, k6.ScriptOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
