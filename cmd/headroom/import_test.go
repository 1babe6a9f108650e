package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

func TestImportK6WritesARunJSON(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run.json")
	stdout, _, err := runHeadroom(t, "import", "k6", "--json", "../../scenario/k6/testdata/newer-layout.json", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "Wrote "+out) || !strings.Contains(stdout, "warmup") {
		t.Errorf("stdout:\n%s", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var run model.Run
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatal(err)
	}
	if run.Total.Requests != 4 || run.Total.Errors != 1 || len(run.Stages) != 2 || run.Stages[0].Name != "warmup" {
		t.Errorf("run: total %+v, stages %d", run.Total, len(run.Stages))
	}
}

func TestImportRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"import"}, "name the tool"},
		{"an unknown source", []string{"import", "gatling"}, `unknown source "gatling"`},
		{"no file", []string{"import", "k6"}, "--json is required"},
		{"a missing file", []string{"import", "k6", "--json", "nope.json", "--out", ""}, "nope.json"},
		{"a file that is not k6 output names the line", []string{"import", "k6", "--json", "../../scenario/openapi/testdata/petstore/openapi.yaml", "--out", ""}, "openapi.yaml:1:"},
		{"an unwritable out", []string{"import", "k6", "--json", "../../scenario/k6/testdata/newer-layout.json", "--out", "/nonexistent/dir/run.json"}, "--out"},
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
