package report

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// readJSON reads testdata/launch/NAME.json into v.
func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "launch", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("testdata/launch/%s.json: %v", name, err)
	}
}

// launch is the launch story, measured: the checkout demo (a DB pool of 20,
// 40 ms per order) ramped 10 → 50 → 200 → 500 VUs, analysed at a 2 s step,
// and planned for 3× today's traffic. It breaks at about 500 RPS, pool-bound.
func launch(t testing.TB) model.ReportInput {
	t.Helper()
	var a model.Analysis
	var o model.Observations
	var r model.Run
	var p model.Plan
	readJSON(t, "analysis", &a)
	readJSON(t, "observations", &o)
	readJSON(t, "run", &r)
	readJSON(t, "plan", &p)
	return model.ReportInput{
		Title:        "Checkout launch: capacity report",
		Service:      "checkout",
		GeneratedAt:  time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC),
		Analysis:     &a,
		Observations: &o,
		Run:          &r,
		Plan:         &p,
	}
}
