package generate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

func fptr(f float64) *float64 { return &f }
func iptr(n int) *int         { return &n }

func TestPayloadValues(t *testing.T) {
	cases := []struct {
		name   string
		field  string
		schema *Schema
		want   any
	}{
		{"examples and a description reveal a range of numbered ids", "product_id",
			&Schema{Type: "string", Examples: []any{"prod_42"}, Description: "A product, prod_1 … prod_500."}, "prod_{{randomInt(1,500)}}"},
		{"two examples give the range", "hotel", &Schema{Type: "string", Examples: []any{"HTL-1", "HTL-250"}}, "HTL-{{randomInt(1,250)}}"},
		{"a pattern's alternatives bound the number", "username",
			&Schema{Type: "string", Examples: []any{"user42"}, Pattern: `^user([1-9][0-9]{0,2}|1000)$`}, "user{{randomInt(1,1000)}}"},
		{"a pattern alone gives the range", "sku", &Schema{Type: "string", Pattern: `^SKU-\d{1,3}$`}, "SKU-{{randomInt(1,999)}}"},
		{"one example with a separator reaches down to 1", "order_ref", &Schema{Type: "string", Examples: []any{"ord-17"}}, "ord-{{randomInt(1,17)}}"},
		{"a number that is part of a word is not a range", "nickname", &Schema{Type: "string", Examples: []any{"hunter2"}}, "hunter2"},
		{"a password is never turned into a range", "password", &Schema{Type: "string", Examples: []any{"pass_9"}, Description: "pass_1 to pass_9"}, "pass_9"},
		{"an enum is sampled with falling weights", "status", &Schema{Type: "string", Enum: []any{"placed", "approved", "delivered"}},
			"{{pickWeighted(placed, 60, approved, 30, delivered, 20)}}"},
		{"sizes are weighted toward the middle", "variant", &Schema{Type: "string", Enum: []any{"S", "M", "L", "XL"}},
			"{{pickWeighted(S, 20, M, 35, L, 25, XL, 12)}}"},
		{"the default is the likeliest value", "status", &Schema{Type: "string", Enum: []any{"a", "b"}, Default: "b"},
			"{{pickWeighted(a, 60, b, 120)}}"},
		{"enum values that would not read back are quoted", "label", &Schema{Type: "string", Enum: []any{"1", "a, b", "it's"}},
			`{{pickWeighted('1', 60, 'a, b', 30, "it's", 20)}}`},
		{"a numeric enum keeps numbers", "level", &Schema{Type: "integer", Enum: []any{1.0, 2.0}}, "{{pickWeighted(1, 60, 2, 30)}}"},
		{"a single enum value is a constant", "currency", &Schema{Enum: []any{"EUR"}}, "EUR"},
		{"a quantity within bounds is skewed toward small values", "quantity", &Schema{Type: "integer", Minimum: fptr(1), Maximum: fptr(10)}, "{{skewedInt(1,10)}}"},
		{"exclusive bounds are honoured", "nights", &Schema{Type: "integer", Minimum: fptr(0), ExclusiveMinimum: true, Maximum: fptr(14)}, "{{skewedInt(1,14)}}"},
		{"an id-like integer is uniform up to its example", "petId", &Schema{Type: "integer", Examples: []any{10.0}}, "{{randomInt(1,10)}}"},
		{"a number without bounds ranges around its example", "rate", &Schema{Type: "number", Examples: []any{129.5}}, "{{randomFloat(64.75,259,2)}}"},
		{"multipleOf sets the decimals", "price", &Schema{Type: "number", Minimum: fptr(0.5), Maximum: fptr(99.9), MultipleOf: fptr(0.1)}, "{{randomFloat(0.5,99.9,1)}}"},
		{"a quantity without bounds is small", "qty", &Schema{Type: "integer"}, "{{skewedInt(1,10)}}"},
		{"equal bounds are a constant", "version", &Schema{Type: "integer", Minimum: fptr(3), Maximum: fptr(3)}, int64(3)},
		{"uuid format", "cart_id", &Schema{Type: "string", Format: "uuid"}, "{{uuid()}}"},
		{"email format over an example", "email", &Schema{Type: "string", Format: "email", Examples: []any{"john@email.com"}}, "{{email()}}"},
		{"date-time format", "created_at", &Schema{Type: "string", Format: "date-time"}, "{{now()}}"},
		{"uri format", "homepage", &Schema{Type: "string", Format: "uri"}, "https://example.com/{{word()}}"},
		{"an example is preferred for plain strings", "name", &Schema{Type: "string", Examples: []any{"doggie"}}, "doggie"},
		{"a pattern of letters and digits", "code", &Schema{Type: "string", Pattern: `^[A-Z]{2}-[0-9]{4}$`}, "LQ-{{randomInt(1,9)}}{{randomInt(100,999)}}"},
		{"a digits-only pattern stays a string", "zip", &Schema{Type: "string", Pattern: `^[0-9]{5}$`}, "{{randomInt(1,9)}}{{randomInt(1000,9999)}}"},
		{"a pattern it cannot follow falls back to the name", "email", &Schema{Type: "string", Pattern: `(?<=x)y`}, "{{email()}}"},
		{"a short maxLength gives a random string", "code", &Schema{Type: "string", MaxLength: iptr(4)}, "{{randomString(4)}}"},
		{"a field without a type is read by its name", "first_name", &Schema{}, "{{firstName()}}"},
		{"a quantity named in camelCase", "maxGuests", &Schema{}, "{{skewedInt(1,10)}}"},
		{"a string field named like a number stays a string", "quantity", &Schema{Type: "string"}, "{{word()}}"},
		{"a boolean takes its default", "gift", &Schema{Type: "boolean", Default: true}, true},
		{"an example holding a template is not read as one", "note", &Schema{Type: "string", Examples: []any{"{{x}}"}}, "{{word()}} {{word()}} {{word()}}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := (&synth{}).value(c.schema, c.field, 0, nil)
			if !ok {
				t.Fatal("nothing synthesized")
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %#v, want %#v", got, c.want)
			}
			if s, isStr := got.(string); isStr {
				if _, err := model.ParseTemplate(s); err != nil {
					t.Errorf("%q is not a valid template: %v", s, err)
				}
			}
		})
	}
}

func TestObjectsKeepRequiredFieldsAndHintedOptionalOnes(t *testing.T) {
	s := &Schema{Type: "object", Properties: []Property{
		{Name: "name", Required: true, Schema: &Schema{Type: "string", Examples: []any{"Rex"}}},
		{Name: "id", Schema: &Schema{Type: "integer", ReadOnly: true}},
		{Name: "coupon", Schema: &Schema{Type: "string"}},
		{Name: "status", Schema: &Schema{Type: "string", Enum: []any{"a", "b"}}},
		{Name: "owner_id", Schema: &Schema{Type: "string", Examples: []any{"u-1"}}},
		{Name: "tags", Required: true, Schema: &Schema{Type: "array", MinItems: iptr(5), Items: &Schema{Type: "string", Examples: []any{"t"}}}},
	}}
	got, _ := Synthesize(s)
	want := map[string]any{"name": "Rex", "status": "{{pickWeighted(a, 60, b, 30)}}", "tags": []any{"t", "t", "t"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v\n(readOnly, unhinted optional and optional references are left out; arrays are capped)", got, want)
	}
}

func TestRecursiveSchemasEnd(t *testing.T) {
	node := &Schema{Type: "object", Name: "Node"}
	node.Properties = []Property{
		{Name: "name", Required: true, Schema: &Schema{Type: "string", Examples: []any{"root"}}},
		{Name: "children", Required: true, Schema: &Schema{Type: "array", Items: node}},
		{Name: "parent", Required: true, Schema: node},
	}
	got, ok := Synthesize(node)
	if !ok {
		t.Fatal("nothing synthesized")
	}
	want := map[string]any{"name": "root", "children": []any{}, "parent": map[string]any{}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	if d := node.Describe(); !strings.Contains(d, "…") && !strings.Contains(d, "recursive") {
		// Describe must end too.
		t.Logf("describe: %s", d)
	}
}

func TestLoginBodiesKeepTheirExamples(t *testing.T) {
	s := &Schema{Type: "object", Properties: []Property{
		{Name: "email", Required: true, Schema: &Schema{Type: "string", Format: "email", Examples: []any{"admin@example.com"}}},
		{Name: "password", Required: true, Schema: &Schema{Type: "string", Examples: []any{"hunter2"}}},
		{Name: "username", Required: true, Schema: &Schema{Type: "string", Examples: []any{"user1", "user1000"}}},
		{Name: "pin", Required: true, Schema: &Schema{Type: "integer", Examples: []any{1234.0}}},
	}}
	got, _ := SynthesizeCredentials(s)
	want := map[string]any{"email": "admin@example.com", "password": "hunter2", "username": "user{{vu()}}", "pin": 1234.0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestSingular(t *testing.T) {
	for in, want := range map[string]string{"orders": "order", "categories": "category", "addresses": "address", "status": "status", "boxes": "box", "cart": "cart", "analysis": "analysis"} {
		if got := singular(in); got != want {
			t.Errorf("singular(%q) = %q, want %q", in, got, want)
		}
	}
}
