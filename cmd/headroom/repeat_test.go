package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

func TestRepeatArg(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		n       int
		rest    string
		wantErr string
	}{
		{"no --repeat runs once and keeps the arguments", []string{"a.yaml", "--out", "x"}, 1, "a.yaml --out x", ""},
		{"--repeat N is taken out of the arguments", []string{"--repeat", "3", "a.yaml"}, 3, "a.yaml", ""},
		{"--repeat=N works too", []string{"a.yaml", "--repeat=2"}, 2, "a.yaml", ""},
		{"--repeat without a number asks for one", []string{"--repeat"}, 0, "", "needs a number of runs"},
		{"--repeat 0 is refused with the range", []string{"--repeat", "0"}, 0, "", "from 1 to 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, rest, err := repeatArg("run", tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || n != tt.n || strings.Join(rest, " ") != tt.rest {
				t.Errorf("n %d rest %q err %v, want %d %q", n, rest, err, tt.n, tt.rest)
			}
		})
	}
	if got := strings.Join(withFlag([]string{"--out", "a", "x", "--out=b"}, "out", "c"), " "); got != "x --out c" {
		t.Errorf("withFlag = %q", got)
	}
}

// TestRunRepeatReportsTheSpread ramps a real HTTP server twice and checks
// that each run is analyzed from its own store and repeat.json sums them up.
func TestRunRepeatReportsTheSpread(t *testing.T) {
	// Two workers of 5 ms: at most 400 requests/s.
	sem := make(chan struct{}, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sem <- struct{}{}
		time.Sleep(5 * time.Millisecond)
		<-sem
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "run.json")
	stdout, err := runCLI(t, "run", "--url", srv.URL+"/work", "--stage", "2s:2", "--stage", "2s:12", "--quiet", "--out", out, "--repeat", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for _, f := range []string{"run-1.json", "run-2.json", "run-1-analysis.json", "run-2-analysis.json", "run-1.tsdb", "run-2.tsdb"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "run-repeat.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep model.Repeatability
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].RunID == rep.Runs[1].RunID || rep.Verdict == "" {
		t.Errorf("repeat.json = %+v, want two runs with their own ids and a verdict", rep)
	}
	for _, run := range rep.Runs {
		if !(run.TestedUpToRPS > 50) {
			t.Errorf("run %s tested up to %v RPS, want the load it carried", run.RunID, run.TestedUpToRPS)
		}
	}
	if !strings.Contains(stdout, "Breaking point of each run:") || !strings.Contains(stdout, rep.Verdict) {
		t.Errorf("stdout lacks the summary:\n%s", stdout)
	}
}

// TestDemoRepeatReportsTheSpread: `demo --repeat 2` runs the whole demo
// twice, each into its own directory, and summarises the two breaking
// points in OUT/repeat.json and on stdout.
func TestDemoRepeatReportsTheSpread(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo twice")
	}
	out := filepath.Join(t.TempDir(), "demo")
	stdout, err := runCLI(t, "demo", "--repeat", "2", "--time-scale", "0.1", "--quiet", "--out", out)
	var ee *ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Code == ExitCheckFailed) {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for _, f := range []string{"run-1/analysis.json", "run-2/analysis.json", "run-1/run.json", "run-2/run.json", "run-1/plan/plan.json", "repeat.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "repeat.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep model.Repeatability
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].RunID == rep.Runs[1].RunID || rep.Verdict == "" {
		t.Fatalf("repeat.json = %+v, want two runs with their own ids and a verdict", rep)
	}
	for _, run := range rep.Runs {
		// The ramp goes to 500 VUs against a capacity of 500 orders/s.
		if !(run.TestedUpToRPS > 100) {
			t.Errorf("run %s tested up to %v RPS, want the load the demo carried", run.RunID, run.TestedUpToRPS)
		}
		if run.Analysis == "" || !strings.HasPrefix(run.Analysis, out) {
			t.Errorf("run %s: analysis %q, want its file under %s", run.RunID, run.Analysis, out)
		}
	}
	if !strings.Contains(stdout, "=== run 2 of 2") || !strings.Contains(stdout, "Breaking point of each run:") || !strings.Contains(stdout, rep.Verdict) {
		t.Errorf("stdout lacks the runs or the summary:\n%s", stdout)
	}
}
