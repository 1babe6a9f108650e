package model

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	cases := map[string]struct {
		in   string
		want []TemplatePart
	}{
		"a string without expressions is one literal": {
			in: "/api/orders", want: []TemplatePart{{Literal: "/api/orders"}},
		},
		"an empty string has no parts": {
			in: "", want: nil,
		},
		"a variable between literals is split out": {
			in:   "/api/orders/{{orderId}}/items",
			want: []TemplatePart{{Literal: "/api/orders/"}, {Var: "orderId"}, {Literal: "/items"}},
		},
		"spaces inside the braces are ignored": {
			in: "{{ orderId }}", want: []TemplatePart{{Var: "orderId"}},
		},
		"a dotted variable is kept whole": {
			in: "{{order.id}}", want: []TemplatePart{{Var: "order.id"}},
		},
		"integer arguments are read as int64": {
			in: "user{{randomInt(1, 1000)}}", want: []TemplatePart{{Literal: "user"}, {Func: "randomInt", Args: []any{int64(1), int64(1000)}}},
		},
		"decimal arguments are read as float64": {
			in: "{{randomFloat(0.5, 9.5, 2)}}", want: []TemplatePart{{Func: "randomFloat", Args: []any{0.5, 9.5, int64(2)}}},
		},
		"bare and quoted words are strings": {
			in: `{{pick(S, 'M L', "X,L")}}`, want: []TemplatePart{{Func: "pick", Args: []any{"S", "M L", "X,L"}}},
		},
		"a function without arguments takes empty parentheses": {
			in: "{{uuid()}}", want: []TemplatePart{{Func: "uuid"}},
		},
		"two expressions side by side are two parts": {
			in: "{{firstName()}}{{lastName()}}", want: []TemplatePart{{Func: "firstName"}, {Func: "lastName"}},
		},
		"pickWeighted takes value and weight pairs": {
			in: "{{pickWeighted(a, 3, b, 1)}}", want: []TemplatePart{{Func: "pickWeighted", Args: []any{"a", int64(3), "b", int64(1)}}},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTemplate(c.in)
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", c.in, err)
			}
			if !reflect.DeepEqual(got.Parts, c.want) {
				t.Errorf("ParseTemplate(%q) = %#v, want %#v", c.in, got.Parts, c.want)
			}
		})
	}
}

func TestParseTemplateRejects(t *testing.T) {
	cases := map[string]struct{ in, msg string }{
		"an unclosed expression":                  {"/a/{{id", `unclosed "{{"`},
		"an empty expression":                     {"{{}}", "empty expression"},
		"an unknown function, listing known ones": {"{{randomNumber(1,2)}}", `unknown function "randomNumber"; known functions: email, env, file, firstName`},
		"too few arguments, with the signature":   {"{{randomInt(1)}}", "randomInt takes 2 arguments, got 1 (randomInt(min, max)"},
		"too many arguments":                      {"{{uuid(4)}}", "uuid takes 0 arguments, got 1"},
		"min above max":                           {"{{randomInt(10, 1)}}", "min 10 is greater than max 1"},
		"a non-numeric bound":                     {"{{randomInt(a, 1)}}", "min and max must be numbers"},
		"a weight that is not a number":           {"{{pickWeighted(a, heavy)}}", "weight heavy must be a non-negative number"},
		"an odd number of pickWeighted arguments": {"{{pickWeighted(a, 1, b)}}", "value, weight pairs"},
		"a fractional string length":              {"{{randomString(2.5)}}", "argument must be an integer"},
		"a call without a closing parenthesis":    {"{{randomInt(1, 2}}", `must end with ")"`},
		"a trailing comma":                        {"{{pick(a,)}}", `trailing ","`},
		"an unterminated quoted argument":         {"{{pick('a)}}", "unterminated string"},
		"an expression that is not a name":        {"{{1abc}}", "neither a variable name nor a function call"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTemplate(c.in)
			if err == nil {
				t.Fatalf("ParseTemplate(%q) accepted it", c.in)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("ParseTemplate(%q) = %q, want it to contain %q", c.in, err, c.msg)
			}
			if !strings.Contains(err.Error(), c.in) {
				t.Errorf("error %q does not quote the template", err)
			}
		})
	}
}

func TestTemplateHelpers(t *testing.T) {
	tpl, err := ParseTemplate("{{a}}-{{randomInt(1,2)}}-{{b.c}}")
	if err != nil {
		t.Fatal(err)
	}
	if got := tpl.Vars(); !reflect.DeepEqual(got, []string{"a", "b.c"}) {
		t.Errorf("Vars = %v", got)
	}
	if tpl.IsLiteral() {
		t.Error("IsLiteral is true for a template with expressions")
	}
	if _, ok := tpl.Single(); ok {
		t.Error("Single is true for a template of several parts")
	}
	one, _ := ParseTemplate("{{skewedInt(1,10)}}")
	if p, ok := one.Single(); !ok || p.Func != "skewedInt" {
		t.Errorf("Single = %+v, %v; want the skewedInt call", p, ok)
	}
	lit, _ := ParseTemplate("plain")
	if !lit.IsLiteral() {
		t.Error("IsLiteral is false for plain text")
	}
	if _, ok := lit.Single(); ok {
		t.Error("Single is true for a literal")
	}
}

func TestRouteTemplate(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"a template variable becomes an OpenAPI parameter":  {"/api/orders/{{orderId}}", "/api/orders/{orderId}"},
		"an Express parameter becomes an OpenAPI parameter": {"/orders/:id", "/orders/{id}"},
		"several Express parameters are all converted":      {"/users/:userId/orders/:id", "/users/{userId}/orders/{id}"},
		"a query string is dropped":                         {"/search?q={{word()}}", "/search"},
		"a dotted variable is named by its last part":       {"/orders/{{order.id}}", "/orders/{id}"},
		"a function call is named by the function":          {"/products/prod_{{randomInt(1,500)}}", "/products/prod_{randomInt}"},
		"an OpenAPI path is left alone":                     {"/orders/{id}", "/orders/{id}"},
		"a lone colon is not a parameter":                   {"/a/:/b", "/a/:/b"},
		"an unclosed template is kept as written":           {"/a/{{id", "/a/{{id"},
		"the root path stays the root":                      {"/", "/"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := RouteTemplate(c.in); got != c.want {
				t.Errorf("RouteTemplate(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestEndpointNameUpperCasesTheMethod(t *testing.T) {
	if got := EndpointName("get", "/orders/{{orderId}}"); got != "GET /orders/{orderId}" {
		t.Errorf("EndpointName = %q", got)
	}
}

func TestEveryTemplateFunctionHasDocumentedArity(t *testing.T) {
	for name, fn := range TemplateFuncs {
		if fn.MinArgs < 0 || (fn.MaxArgs >= 0 && fn.MaxArgs < fn.MinArgs) {
			t.Errorf("%s: arity %d..%d is inconsistent", name, fn.MinArgs, fn.MaxArgs)
		}
		if !strings.HasPrefix(fn.Doc, name+"(") {
			t.Errorf("%s: doc %q does not start with its signature", name, fn.Doc)
		}
	}
}
