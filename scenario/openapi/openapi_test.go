package openapi

import (
	"errors"
	"github.com/headroom-sh/headroom/scenario/generate"
	"github.com/headroom-sh/headroom/scenario/k6"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBrokenSpecsAreReportedWithFileLineAndPointer(t *testing.T) {
	cases := []struct {
		name, file string
		want       []string
	}{
		{"a $ref to a missing component names its line and pointer", "bad-ref.yaml",
			[]string{"bad-ref.yaml:14:", "#/components/schemas/Missing", "does not resolve"}},
		{"a YAML syntax error names its line", "bad-syntax.yaml", []string{"bad-syntax.yaml:7:", "syntax error"}},
		{"an invalid schema names the operation", "bad-type.yaml", []string{"bad-type.yaml:9:", "#/paths/~1b/post", `unsupported 'type' value "strng"`}},
		{"Swagger 2 is refused with what to do", "swagger2.yaml", []string{"swagger2.yaml:1:", "Swagger 2.0 is not supported", "convert"}},
		{"a remote $ref is not fetched", "bad-remote-ref.yaml", []string{"bad-remote-ref.yaml:10:", "only local files are followed"}},
		{"a document without operations says so", "no-paths.yaml", []string{"#/paths", "no operations"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(filepath.Join("testdata/edge", c.file))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, generate.ErrBadSpec) {
				t.Errorf("%v is not ErrBadSpec", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	_, err := Read("testdata/edge/nope.yaml")
	if err == nil || errors.Is(err, generate.ErrBadSpec) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	if _, err := Parse([]byte("hello: world"), "x.yaml"); err == nil || !strings.Contains(err.Error(), "not an OpenAPI document") {
		t.Errorf("a YAML file that is no spec: %v", err)
	}
	if _, err := Parse([]byte("openapi: 2.5\n"), "x.yaml"); err == nil || !strings.Contains(err.Error(), "expected 3.0 or 3.1") {
		t.Errorf("an unknown version: %v", err)
	}
}

func TestOpenAPIReaderFollowsTheDocument(t *testing.T) {
	api := readAPI(t, checkoutSpec)
	if api.Target != "http://127.0.0.1:8080" || api.Title != "Checkout API" || api.Kind != "OpenAPI 3.0.3" {
		t.Errorf("target %q, title %q, kind %q", api.Target, api.Title, api.Kind)
	}
	var eps []string
	for _, r := range api.Routes {
		eps = append(eps, r.Endpoint())
	}
	if got, want := strings.Join(eps, ", "), "POST /api/auth/login, POST /api/cart/add, POST /api/orders/create, GET /api/orders/{id}"; got != want {
		t.Errorf("routes in document order: %s, want %s", got, want)
	}
	login, create := api.Routes[0], api.Routes[2]
	if login.Auth || !create.Auth || create.SuccessStatus != 201 || create.Response.Prop("id") == nil {
		t.Errorf("login auth %v; create auth %v status %d", login.Auth, create.Auth, create.SuccessStatus)
	}
	if api.Routes[1].Body.Name != "CartItem" || api.Routes[1].Body.Prop("variant").Name != "Variant" {
		t.Errorf("component names are lost: %+v", api.Routes[1].Body)
	}
	if p := api.Routes[3].Params; len(p) != 1 || p[0].Name != "id" || p[0].Schema.Type != "integer" || !p[0].Required {
		t.Errorf("params %+v", p)
	}
}

func TestOpenAPIEdgeCases(t *testing.T) {
	t.Run("allOf merges, oneOf of constants is an enum, objects stay alternatives", func(t *testing.T) {
		api := readAPI(t, "testdata/edge/recursive.yaml")
		item := api.Routes[2].Body
		for _, n := range []string{"sku", "price", "label", "payment", "channel"} {
			if item.Prop(n) == nil {
				t.Errorf("NewItem lacks %s after allOf: %s", n, item.Describe())
			}
		}
		if ch := item.Prop("channel"); len(ch.Enum) != 3 {
			t.Errorf("channel enum %v", ch.Enum)
		}
		if pay := item.Prop("payment"); len(pay.AnyOf) != 2 {
			t.Errorf("payment alternatives %d", len(pay.AnyOf))
		}
		if !api.Routes[1].Body.Prop("parent").Recursive {
			t.Error("Category.parent is not marked recursive")
		}
		if api.Target != "http://localhost:9090" || api.BasePath != "/admin" {
			t.Errorf("target %q base %q", api.Target, api.BasePath)
		}
	})
	t.Run("OpenAPI 3.1 type lists, const, examples and numeric exclusive bounds", func(t *testing.T) {
		api := readAPI(t, "testdata/edge/openapi31.json")
		b := api.Routes[0].Body
		if g := b.Prop("guests"); g.Type != "integer" || !g.Nullable {
			t.Errorf("guests %+v", g)
		}
		if c := b.Prop("currency"); len(c.Enum) != 1 || c.Enum[0] != "EUR" {
			t.Errorf("const %+v", c)
		}
		if n := b.Prop("nights"); n.Minimum == nil || *n.Minimum != 0 || !n.ExclusiveMinimum {
			t.Errorf("nights %+v", n)
		}
		if h := b.Prop("hotel"); len(h.Examples) != 2 {
			t.Errorf("examples %v", h.Examples)
		}
	})
	t.Run("$refs across files, to a whole file and to parameters", func(t *testing.T) {
		api := readAPI(t, "testdata/refs/openapi.yaml")
		line := api.Routes[0].Body.Prop("lines").Items
		if line.Prop("sku") == nil || line.Prop("qty").Maximum == nil {
			t.Errorf("line item %s", line.Describe())
		}
		if p := api.Routes[1].Params; len(p) != 1 || p[0].Schema.Format != "uuid" {
			t.Errorf("params %+v", p)
		}
	})
	t.Run("a remote server is not the target", func(t *testing.T) {
		api := readAPI(t, "testdata/petstore/openapi.yaml")
		if api.Target != "" || api.BasePath != "/api/v3" || len(api.Warnings) == 0 {
			t.Errorf("target %q base %q warnings %v", api.Target, api.BasePath, api.Warnings)
		}
	})
}

// FuzzParseOpenAPI checks that no document makes the OpenAPI reader or the
// generator panic, and that what they accept makes a valid scenario.
func FuzzParseOpenAPI(f *testing.F) {
	for _, p := range []string{checkoutSpec, "testdata/petstore/openapi.yaml", "testdata/edge/recursive.yaml", "testdata/edge/openapi31.json", "testdata/edge/bad-type.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("openapi: 3.0.0\npaths: {/a: {get: {responses: {'200': {description: x}}}}}"))
	f.Add([]byte(`{"openapi":"3.1.0","info":{"title":"x","version":"1"},"paths":{"/a/{b}":{"post":{"requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/A"}}}},"responses":{"201":{"description":"x"}}}}},"components":{"schemas":{"A":{"type":"object","properties":{"a":{"$ref":"#/components/schemas/A"},"b":{"type":"string","pattern":"^(a|b)+\\d{2,}$"}}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		api, err := Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		g, err := generate.Generate(api, generate.Options{})
		if err != nil {
			return
		}
		if err := g.Scenario.Validate(); err != nil {
			t.Fatalf("generated an invalid scenario: %v", err)
		}
		if _, err := k6.Script(g.Scenario, k6.ScriptOptions{}); err != nil {
			t.Fatalf("no k6 script for a valid scenario: %v", err)
		}
	})
}

// checkoutSpec is the demo's OpenAPI document.
const checkoutSpec = "../../examples/checkout/openapi.yaml"

// readAPI reads an OpenAPI file, failing the test on an error.
func readAPI(t *testing.T, path string) *generate.APIModel {
	t.Helper()
	api, err := Read(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return api
}
