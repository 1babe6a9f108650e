package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/scenario"
)

// runHeadroom runs the CLI in-process and returns its stdout and stderr.
func runHeadroom(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func TestGenerateWritesAScenarioAndAK6Script(t *testing.T) {
	for _, src := range [][]string{
		{"--openapi", "../../examples/checkout/openapi.yaml"},
		{"--express", "../../examples/checkout/express"},
	} {
		t.Run(src[0], func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			args := append([]string{"generate"}, src...)
			args = append(args, "--flow", "POST /api/cart/add, POST /api/orders/create, GET /api/orders/{id}", "--out", dir, "--name", "checkout")
			stdout, _, err := runHeadroom(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"POST /api/orders/create  (captures orderId = $.id)", "Wrote " + filepath.Join(dir, "scenario.yaml"), "Wrote " + filepath.Join(dir, "script.js")} {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			s, err := scenario.ReadFile(filepath.Join(dir, "scenario.yaml"))
			if err != nil {
				t.Fatalf("the written scenario does not read back: %v", err)
			}
			if s.Name != "checkout" || len(s.Flows) != 1 || len(s.Flows[0].Steps) != 3 || s.Auth == nil {
				t.Errorf("scenario %+v", s)
			}
			js, err := os.ReadFile(filepath.Join(dir, "script.js"))
			if err != nil || !strings.Contains(string(js), "export const options") {
				t.Errorf("script.js: %v", err)
			}
		})
	}
}

func TestGenerateDryRunWritesNothing(t *testing.T) {
	dir := t.TempDir()
	stdout, _, err := runHeadroom(t, "generate", "--openapi", "../../scenario/openapi/testdata/petstore/openapi.yaml", "--dry-run", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"12 routes", "body Pet {", "Proposed flows, one per resource", "Dry run: nothing was written."} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("--dry-run wrote %v", entries)
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"neither source", []string{"generate"}, "exactly one of --openapi FILE or --express DIR"},
		{"both sources", []string{"generate", "--openapi", "a", "--express", "b"}, "exactly one of"},
		{"a stray argument", []string{"generate", "--openapi", "a", "extra"}, `unexpected argument "extra"`},
		{"a missing file", []string{"generate", "--openapi", "nope.yaml"}, "nope.yaml"},
		{"a broken spec names the line", []string{"generate", "--openapi", "../../scenario/openapi/testdata/edge/bad-ref.yaml"}, "bad-ref.yaml:14:"},
		{"an unknown flow step", []string{"generate", "--openapi", "../../examples/checkout/openapi.yaml", "--flow", "GET /nope", "--dry-run"}, "matches no route"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runHeadroom(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestGenerateAndImportHaveHelpWithExamples(t *testing.T) {
	for _, args := range [][]string{{"generate", "--help"}, {"import", "--help"}, {"import", "k6", "--help"}} {
		stdout, _, err := runHeadroom(t, args...)
		if err != errHelp || !strings.Contains(stdout, "Example:") {
			t.Errorf("%v: err %v, stdout:\n%s", args, err, stdout)
		}
	}
}

func TestGenerateReadsAOneLineJSONDocument(t *testing.T) {
	// The checkout spec as many APIs serve it: compact JSON on one line.
	spec := `{"info":{"title":"One line","version":"1"},"paths":{"/api/items":{"post":{"requestBody":{"content":{"application/json":{"schema":{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}}}},"responses":{"201":{"description":"made","content":{"application/json":{"schema":{"type":"object","properties":{"id":{"type":"string"}}}}}}}}},"/api/items/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"ok"}}}}},"openapi":"3.0.3"}`
	path := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runHeadroom(t, "generate", "--openapi", path, "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 routes", "POST /api/items  (captures itemId = $.id)", "GET /api/items/{id}"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}
