package app

import (
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// The one rule for a run's resolution: a store sampled every second is read
// at 2 s with a 4 s rate window (what the demo's accuracy is measured at),
// a store sampled less often at twice and four times its interval, a store
// of unknown sampling and any Prometheus at the run's interval.
func TestResolutionFollowsHowTheRunWasRecorded(t *testing.T) {
	store := func(every float64) *model.Run {
		return &model.Run{IntervalMs: 5000, Metrics: &model.MetricsRef{Store: "run.tsdb", SampleIntervalMs: every}}
	}
	for _, c := range []struct {
		name      string
		run       *model.Run
		step, win time.Duration
	}{
		{"no run", nil, 0, 0},
		{"store at 1s", store(1000), 2 * time.Second, 4 * time.Second},
		{"store at 5s", store(5000), 10 * time.Second, 20 * time.Second},
		{"store of unknown sampling", store(0), 5 * time.Second, 0},
		{"prometheus", &model.Run{IntervalMs: 5000, Metrics: &model.MetricsRef{Prometheus: "http://127.0.0.1:9090"}}, 5 * time.Second, 0},
	} {
		step, win := Resolution(c.run)
		if step != c.step || win != c.win {
			t.Errorf("%s: step %s, rate window %s; want %s and %s", c.name, step, win, c.step, c.win)
		}
	}
	// A run read from another Prometheus than its store is not at the
	// store's resolution; explicit options win.
	r := &AnalyzeRequest{Run: store(1000), Prometheus: PrometheusOptions{URL: "http://127.0.0.1:9090"}}
	r.Run.Start, r.Run.End = time.Unix(0, 0), time.Unix(600, 0)
	if cfg, err := r.ObserveConfig(); err != nil || cfg.Step != 5*time.Second || cfg.RateWindow != 0 {
		t.Errorf("store run read from Prometheus: step %s, window %s, %v; want the run's interval", cfg.Step, cfg.RateWindow, err)
	}
	r = &AnalyzeRequest{Run: r.Run, Options: AnalyzeOptions{Step: 3 * time.Second}}
	if cfg, err := r.ObserveConfig(); err != nil || cfg.Step != 3*time.Second || cfg.RateWindow != 0 {
		t.Errorf("explicit step: step %s, window %s, %v; want 3s and the collector's window", cfg.Step, cfg.RateWindow, err)
	}
}

func TestAnalyzeOptionsDefaultsAndLimits(t *testing.T) {
	if err := (AnalyzeOptions{}).Validate(); err != nil {
		t.Errorf("zero options (all defaults): %v", err)
	}
	d := (AnalyzeOptions{}).withDefaults()
	if d != DefaultAnalyzeOptions() {
		t.Errorf("defaults %+v, want %+v", d, DefaultAnalyzeOptions())
	}
	for _, o := range []AnalyzeOptions{{MaxErrorRate: 1.5}, {Saturation: -0.1}, {SLOP95: -time.Second}, {Step: -time.Second}} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: accepted", o)
		}
	}
}
