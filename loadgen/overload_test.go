package loadgen

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// limitedServer serves at most limit requests at a time, each taking
// service; the others wait for a slot, as behind a worker pool. Its
// capacity is limit/service requests per second.
func limitedServer(t *testing.T, limit int, service time.Duration) *countingServer {
	t.Helper()
	slots := make(chan struct{}, limit)
	return newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		time.Sleep(service)
		<-slots
	})
}

func TestOverloadWithTheDefaultVUCapFailsTheRunAndShowsWhatWasHidden(t *testing.T) {
	// 300 it/s offered to a server that completes 100/s. The default cap
	// (preallocated VUs = 300, one second of arrivals) binds once 300
	// requests wait, after about 1.5 s; from then on most arrivals are
	// dropped, and the latencies of those that ran stop growing.
	srv := limitedServer(t, 2, 20*time.Millisecond)
	sc := getScenario(srv.URL, "/", constantRate(300, 3*time.Second, 0, 0))
	r, err := NewRunner(Config{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		bound   LiveStats
		sawLine string
		done    atomic.Bool
	)
	go func() {
		for !done.Load() {
			ls := r.Live()
			mu.Lock()
			if ls.CapBound && ls.NeededVUs > bound.NeededVUs {
				bound, sawLine = ls, FormatLive(ls)
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	run, err := r.Run(t.Context())
	done.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	tot := run.Total
	t.Logf("dropped %d (%.1f%%); as sent p50 %.0fms p99 %.0fms; corrected %+v", run.DroppedIterations, run.DroppedShare*100, tot.P50Ms, tot.P99Ms, tot.ScheduleCorrected)

	if run.DroppedShare < 0.1 || run.DroppedShare > 0.8 {
		t.Errorf("dropped share %.3f, want well above the 1%% limit (about a third)", run.DroppedShare)
	}
	st := run.Stages[0]
	if !within(st.DroppedShare, float64(st.DroppedIterations)/900, 0.02) {
		t.Errorf("stage dropped share %.3f for %d dropped of about 900 scheduled", st.DroppedShare, st.DroppedIterations)
	}
	var limit *model.ThresholdResult
	for i := range run.Thresholds {
		if run.Thresholds[i].Default {
			limit = &run.Thresholds[i]
		}
	}
	if limit == nil || limit.Passed || limit.Metric != "dropped_iterations" || limit.Expr != "share<=0.01" {
		t.Fatalf("thresholds %+v: want the default dropped-share limit, failed", run.Thresholds)
	}
	if run.Passed() {
		t.Error("the overloaded run passed")
	}
	if len(run.Warnings) == 0 || !strings.Contains(strings.Join(run.Warnings, "\n"), "were dropped because every VU up to the cap was busy") {
		t.Errorf("warnings %q: want the drops explained", run.Warnings)
	}

	// The corrected view holds every scheduled iteration; those still
	// waiting at the end would have waited longest.
	c := tot.ScheduleCorrected
	if c == nil {
		t.Fatal("no schedule-corrected view")
	}
	if c.Requests < tot.Requests+run.DroppedIterations*9/10 {
		t.Errorf("the corrected view holds %d requests; want the %d that ran and most of the %d dropped", c.Requests, tot.Requests, run.DroppedIterations)
	}
	if c.P99Ms < 1.3*tot.P99Ms {
		t.Errorf("corrected p99 %.0fms is not well above the as-sent p99 %.0fms that the cap kept down", c.P99Ms, tot.P99Ms)
	}

	mu.Lock()
	defer mu.Unlock()
	if !bound.CapBound || bound.VUCap != 300 || bound.NeededVUs <= bound.VUCap {
		t.Errorf("live stats while the cap bound: %+v; want the cap 300 and more VUs needed", bound)
	}
	if !strings.Contains(sawLine, "VU cap 300 reached: needs --max-vus ≥") || !strings.Contains(sawLine, "of scheduled") {
		t.Errorf("live line %q does not say the cap binds", sawLine)
	}
}

func TestALimitedDropShareOrAScenarioThresholdRelaxesTheDefault(t *testing.T) {
	srv := newCountingServer(t, nil)
	for name, c := range map[string]struct {
		cfg  Config
		want string
	}{
		"a limit of 1 turns it off":              {Config{MaxDroppedShare: 1}, ""},
		"a scenario's own threshold replaces it": {Config{}, "count<5"},
		"the default applies to open models":     {Config{}, "share<=0.01"},
		"NoDroppedIterations allows none":        {Config{MaxDroppedShare: NoDroppedIterations}, "share<=0"},
	} {
		t.Run(name, func(t *testing.T) {
			sc := getScenario(srv.URL, "/", constantRate(10, 100*time.Millisecond, 1, 1))
			if c.want == "count<5" {
				sc.Thresholds = map[string][]model.Threshold{"dropped_iterations": {{Expr: "count<5"}}}
			}
			c.cfg.Scenario = sc
			_, run := mustRun(t, c.cfg)
			var got []string
			for _, th := range run.Thresholds {
				if th.Metric == "dropped_iterations" {
					got = append(got, th.Expr)
				}
			}
			if strings.Join(got, ",") != c.want {
				t.Errorf("dropped_iterations thresholds %q, want %q", got, c.want)
			}
		})
	}
	// A closed model has nothing to drop.
	_, run := mustRun(t, Config{Scenario: getScenario(srv.URL, "/", constantVUs(1, 100*time.Millisecond))})
	if len(run.Thresholds) != 0 {
		t.Errorf("closed-model thresholds %+v, want none", run.Thresholds)
	}
}

func TestTheLiveLineCountsRequestsOverdueAtATargetThatNeverAnswers(t *testing.T) {
	// Before, the line read "errors 0.00%" until the requests timed out.
	release := make(chan struct{})
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	r, err := NewRunner(Config{Scenario: getScenario(srv.URL, "/", constantVUs(2, time.Minute)), GracePeriod: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var line string
	var ls LiveStats
	go func() {
		defer cancel()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if ls = r.Live(); ls.Overdue == 2 {
				line = FormatLive(ls)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ls.Overdue != 2 || ls.InFlight != 2 || ls.Oldest < time.Second {
		t.Fatalf("live stats %+v: want both requests overdue after 1 s", ls)
	}
	if !strings.Contains(line, "overdue 2 of 2 in flight (> 1s, oldest 1") {
		t.Errorf("live line %q does not count the overdue requests", line)
	}
}
