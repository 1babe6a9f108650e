package yamldoc

import (
	"errors"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

type inner struct {
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
}

type item struct {
	Kind  string  `yaml:"kind"`
	Limit float64 `yaml:"limit"`
}

type doc struct {
	inner    `yaml:",inline"`
	Wait     model.Duration `yaml:"wait"`
	Count    int            `json:"the_count" yaml:"count"`
	Items    []item         `yaml:"items"`
	Tags     []string       `yaml:"tags"`
	Anything any            `yaml:"anything"`
	CPU      model.CPU      `yaml:"cpu"`
}

var errKind = errors.New("invalid test document")

func decode(t *testing.T, text string, opts Options) (*doc, error) {
	t.Helper()
	var v doc
	opts.Kind = errKind
	d := Decode([]byte(text), "d.yaml", &v, opts)
	return &v, d.Err()
}

func TestDecodeReadsEveryKindOfField(t *testing.T) {
	v, err := decode(t, `
base: &b {url: "http://x", headers: {A: "1"}}
<<: *b
wait: 1m30s
the_count: 3.0
items:
  - {kind: db_pool, limit: 20}
tags: one
anything: {a: [1, 2.5, true, null]}
`, Options{})
	if err == nil || !strings.Contains(err.Error(), `d.yaml:2:1: base: unknown field "base"`) {
		t.Fatalf("err = %v, want the unknown key base named at 2:1", err)
	}
	v, err = decode(t, "url: http://x\nheaders: {A: '1'}\nwait: 1m30s\nthe_count: 3.0\nitems: [{kind: db_pool, limit: 20}]\ntags: one\nanything: {a: [1, 2.5, true, null]}\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.URL != "http://x" || v.Headers["A"] != "1" || v.Wait.D().Seconds() != 90 || v.Count != 3 ||
		len(v.Items) != 1 || v.Items[0].Limit != 20 || len(v.Tags) != 1 || v.Tags[0] != "one" {
		t.Errorf("decoded %+v", *v)
	}
	a := v.Anything.(map[string]any)["a"].([]any)
	if a[0] != int64(1) || a[1] != 2.5 || a[2] != true || a[3] != nil {
		t.Errorf("anything = %#v", a)
	}
}

func TestProblemsNameFileLineColumnAndPath(t *testing.T) {
	for text, want := range map[string]string{
		"count: many\n":                  `d.yaml:1:8: count: expected a whole number, got "many"`,
		"wait: [1]\n":                    `d.yaml:1:7: wait: expected a duration such as "30s"`,
		"urll: x\n":                      `d.yaml:1:1: urll: unknown field "urll" (did you mean "url"?); expected one of url, headers, wait`,
		"headers: {A: '1', A: '2'}\n":    `d.yaml:1:19: headers["A"]: duplicate key "A" (first written at line 1)`,
		"count: 1\ncount: 2\n":           `d.yaml:2:1: count: duplicate key "count" (first written at line 1)`,
		"items: [{kind: a, limit: 70%}]": `d.yaml:1:26: items[0].limit: expected a number, got "70%" (write ratios as fractions`,
		"a: [\n":                         `d.yaml:1: invalid YAML:`,
		"url: x\n---\nurl: y\n":          `d.yaml:2:1: a second YAML document`,
		"a: &a [*a, *a]\n":               `d.yaml:1:1: a: unknown field`,
	} {
		_, err := decode(t, text, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", text, err, want)
		}
		if err != nil && !errors.Is(err, errKind) {
			t.Errorf("%q: errors.Is(err, Kind) is false", text)
		}
	}
}

func TestEmptyDocuments(t *testing.T) {
	if _, err := decode(t, "", Options{}); err != nil {
		t.Errorf("an empty document without Options.Empty: %v", err)
	}
	if _, err := decode(t, "", Options{Empty: "nothing here"}); err == nil || err.Error() != "d.yaml: nothing here" {
		t.Errorf("zero bytes: %v", err)
	}
	if _, err := decode(t, "# a comment\n", Options{Empty: "nothing here"}); err == nil || err.Error() != "d.yaml:1:1: nothing here" {
		t.Errorf("a comment only: %v", err)
	}
}

func TestAliasExpansionIsBounded(t *testing.T) {
	text := "anything:\n  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	if _, err := decode(t, text, Options{}); err == nil || !strings.Contains(err.Error(), "too deeply") {
		t.Errorf("err = %v", err)
	}
}

func TestItemKeysAndPositionsOfValidationProblems(t *testing.T) {
	text := "items:\n  - kind: db_pool\n    limit: -1\n  - kind: db_pool\n"
	var v doc
	d := Decode([]byte(text), "d.yaml", &v, Options{ItemKeys: []string{"kind"}})
	if !d.Written("items[db_pool].limit") || !d.Written("items[1]") || d.Written("items[db_pool].nothing") {
		t.Fatal("Written does not know the paths named by kind and by index")
	}
	d.Validation(model.ValidationErrors{{Path: "items[db_pool].limit", Msg: "negative"}, {Path: "items[db_pool].missing", Msg: "is missing"}})
	d.AddAt("items[1]", "items[db_pool].kind", "listed twice")
	want := "d.yaml:2:5: items[db_pool].missing: is missing\nd.yaml:3:12: items[db_pool].limit: negative\nd.yaml:4:5: items[db_pool].kind: listed twice"
	if err := d.Err(); err == nil || err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
	d = Decode([]byte(text), "d.yaml", &v, Options{AtKey: true})
	d.Validation(model.ValidationErrors{{Path: "items[0].limit", Msg: "negative"}})
	if err := d.Err(); err == nil || !strings.HasPrefix(err.Error(), "d.yaml:3:5: items[0].limit") {
		t.Errorf("with AtKey: %v", err)
	}
}
