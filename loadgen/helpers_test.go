package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// Test fixtures: small factories for scenarios and servers. Load-generating
// tests do not run in parallel with each other.

func dur(d time.Duration) model.Duration { return model.Duration(d) }

// getScenario is one flow of one GET step against target.
func getScenario(target, path string, execs ...model.Executor) *model.Scenario {
	return &model.Scenario{
		Name:      "test",
		Target:    target,
		Flows:     []model.Flow{{Name: "get", Steps: []model.Step{{Method: "GET", Path: path}}}},
		Executors: execs,
	}
}

func constantVUs(vus int, d time.Duration) model.Executor {
	return model.Executor{Type: model.ExecutorConstantVUs, VUs: vus, Duration: dur(d)}
}

func constantRate(rate float64, d time.Duration, pre, max int) model.Executor {
	return model.Executor{Type: model.ExecutorConstantArrivalRate, Rate: rate, Duration: dur(d), PreAllocatedVUs: pre, MaxVUs: max}
}

// countingServer answers 200 with a small JSON body and counts requests.
type countingServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newCountingServer(t *testing.T, h http.HandlerFunc) *countingServer {
	t.Helper()
	cs := &countingServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(cs.Close)
	return cs
}

// mustRun builds a runner and runs it, failing the test on an error. The
// context bounds the run in case a bug keeps it going.
func mustRun(t *testing.T, cfg Config) (*Runner, *model.Run) {
	t.Helper()
	r, err := NewRunner(cfg)
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := r.Run(ctx)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r, run
}

func stageByName(t *testing.T, run *model.Run, name string) model.StageStats {
	t.Helper()
	for _, s := range run.Stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stage %q in run; stages: %+v", name, run.Stages)
	return model.StageStats{}
}

func within(got, want, tol float64) bool { return got >= want-tol && got <= want+tol }
