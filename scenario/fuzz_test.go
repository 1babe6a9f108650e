package scenario

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that every accepted
// scenario validates, and that it survives Marshal and Parse unchanged.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../examples/scenarios/*.yaml")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, seed := range []string{
		"",
		"flows: [{name: a, steps: [{method: GET, path: /}]}]",
		`{"flows":[{"name":"a","steps":[{"method":"GET","path":"/{{x}}"}]}],"variables":{"x":"1"}}`,
		"executors: [{type: ramping-vus, stages: [{duration: 1s, target: 1}]}]\nflows: [{name: a, steps: [{method: GET, path: /}]}]",
		"a: &a [*a]",
		"flows: [{name: a, steps: [{method: POST, path: /, body: &b {x: *b}}]}]",
		"thresholds: {\"http_req_duration{endpoint:GET /{id}}\": [p(95)<1]}",
		"flows:\n  - <<: {name: x}\n    steps: [{method: get, path: /}]",
		"executors: [{type: constant-vus, vus: 1, duration: nan}]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted a scenario that does not validate: %v", err)
		}
		b, err := Marshal(s)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Parse(b, "marshalled.yaml")
		if err != nil {
			t.Fatalf("Parse(Marshal(s)): %v\n%s", err, b)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("Parse(Marshal(s)) differs:\n%s\nwant %#v\ngot  %#v", b, s, back)
		}
	})
}
