package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
)

// Defaults of AnalyzeOptions: what the CLI's flags and the API's fields
// mean when they are not given.
const (
	DefaultMaxErrorRate = 0.05
	DefaultSaturation   = 0.90
)

// Resolution of a run recorded into an embedded store that got samples
// every second (the runner's flush and the scrapes): short windows are exact
// enough and keep load and resources aligned through fast ramps. A store
// sampled less often is read at twice and four times its interval.
const (
	StoreStep       = 2 * time.Second
	StoreRateWindow = 4 * time.Second
)

// AnalyzeOptions are the judgement and the resolution of an analysis.
type AnalyzeOptions struct {
	// SLOP95 is the p95 latency limit (default analyzer.DefaultSLOP95).
	SLOP95 time.Duration
	// MaxErrorRate is the error-rate limit, a fraction in (0, 1]
	// (default 0.05).
	MaxErrorRate float64
	// Saturation is the share of its limit at which a resource counts as
	// saturated, in (0, 1] (default 0.90).
	Saturation float64
	// Step and RateWindow are the series' resolution; zero derives them
	// from the run (Resolution).
	Step, RateWindow time.Duration
}

// DefaultAnalyzeOptions are the options of an analysis nobody tuned.
func DefaultAnalyzeOptions() AnalyzeOptions {
	return AnalyzeOptions{SLOP95: analyzer.DefaultSLOP95, MaxErrorRate: DefaultMaxErrorRate, Saturation: DefaultSaturation}
}

// OptionError names the option that is wrong; front ends translate Field
// into their flag or JSON name.
type OptionError struct {
	Field string
	Msg   string
}

func (e *OptionError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks the options; zero values stand for their defaults.
func (o AnalyzeOptions) Validate() error {
	fraction := func(v float64) bool { return !math.IsNaN(v) && v >= 0 && v <= 1 }
	switch {
	case o.SLOP95 < 0:
		return &OptionError{"slo_p95", fmt.Sprintf("%s: expected a positive duration such as 800ms", o.SLOP95)}
	case !fraction(o.MaxErrorRate):
		return &OptionError{"max_error_rate", fmt.Sprintf("%v: expected a fraction such as 0.05, above 0 and at most 1", o.MaxErrorRate)}
	case !fraction(o.Saturation):
		return &OptionError{"saturation", fmt.Sprintf("%v: expected a fraction such as 0.9, above 0 and at most 1", o.Saturation)}
	case o.Step < 0:
		return &OptionError{"step", fmt.Sprintf("%s: expected a positive duration", o.Step)}
	case o.RateWindow < 0:
		return &OptionError{"rate_window", fmt.Sprintf("%s: expected a positive duration", o.RateWindow)}
	}
	return nil
}

// withDefaults fills zero values.
func (o AnalyzeOptions) withDefaults() AnalyzeOptions {
	d := DefaultAnalyzeOptions()
	if o.SLOP95 == 0 {
		o.SLOP95 = d.SLOP95
	}
	if o.MaxErrorRate == 0 {
		o.MaxErrorRate = d.MaxErrorRate
	}
	if o.Saturation == 0 {
		o.Saturation = d.Saturation
	}
	return o
}

// Resolution is the step and rate window a run's series are read at, the
// same for every front end: a run in an embedded store whose sampling
// interval is known at twice it (at least StoreStep) with a rate window of
// four samples (at least StoreRateWindow), any other run at its recorded
// interval with the collector's rate window; zero for no run (the
// collector's defaults).
func Resolution(run *model.Run) (step, rateWindow time.Duration) {
	if run == nil {
		return 0, 0
	}
	if m := run.Metrics; m != nil && m.Prometheus == "" && m.Store != "" && m.SampleIntervalMs > 0 {
		every := time.Duration(m.SampleIntervalMs * float64(time.Millisecond))
		return max(StoreStep, 2*every), max(StoreRateWindow, 4*every)
	}
	if run.IntervalMs > 0 {
		return time.Duration(run.IntervalMs * float64(time.Millisecond)), 0
	}
	return 0, 0
}

// AnalyzeRequest is one analysis: a run (its window, stages and metrics),
// or a window of a Prometheus.
type AnalyzeRequest struct {
	// Run and RunDir locate the run and its embedded store; Run is nil
	// for a window of Prometheus alone.
	Run    *model.Run
	RunDir string
	// Prometheus, when its URL is set, is read instead of the run's
	// metrics location.
	Prometheus PrometheusOptions
	// Start and End bound the window; zero means the run's.
	Start, End time.Time
	// RunID picks the runner series of one run; empty means the run's.
	RunID string
	// Selectors scope the system under test's series; an empty Default
	// means the run's selector.
	Selectors collector.Selectors
	// Catalog is the resource catalog; nil means the built-in one.
	Catalog *model.Catalog
	Options AnalyzeOptions
	Logger  *slog.Logger
}

// ErrNothingToAnalyze is returned for a request with neither a run nor a
// Prometheus window.
var ErrNothingToAnalyze = errors.New("nothing to analyze: give a run, or a Prometheus URL with a window")

// ObserveConfig is the collector's configuration of a request: the window,
// the stages (when the whole run is analysed), the selectors and the
// resolution.
func (r *AnalyzeRequest) ObserveConfig() (collector.ObserveConfig, error) {
	start, end := r.Start, r.End
	if run := r.Run; run != nil {
		if start.IsZero() {
			start = run.Start
		}
		if end.IsZero() {
			end = run.End
		}
	}
	switch {
	case r.Run == nil && r.Prometheus.URL == "":
		return collector.ObserveConfig{}, ErrNothingToAnalyze
	case start.IsZero() || end.IsZero():
		return collector.ObserveConfig{}, errors.New("the window has no start or end")
	case !end.After(start):
		return collector.ObserveConfig{}, fmt.Errorf("the window ends (%s) before it starts (%s)", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	sel := r.Selectors
	if sel.Selector == "" && r.Run != nil && r.Run.Metrics != nil {
		sel.Selector = r.Run.Metrics.Selector
	}
	sel = LocalScope(sel)
	cat := r.Catalog
	if cat == nil {
		cat = collector.DefaultCatalog()
	}
	cfg := collector.ObserveConfig{
		RunID: r.RunID, Start: start, End: end,
		Step: r.Options.Step, RateWindow: r.Options.RateWindow,
		Selector: sel.Selector, Selectors: sel, Catalog: cat, Logger: r.Logger,
	}
	if run := r.Run; run != nil {
		if cfg.RunID == "" {
			cfg.RunID = run.RunID
		}
		// The run's stage boundaries apply when its whole window is analysed.
		if start.Equal(run.Start) && end.Equal(run.End) {
			cfg.Stages = run.Stages
		}
		// The resolution follows the source actually read: a run whose
		// series are read from another Prometheus is not at the store's.
		res := run
		if r.Prometheus.URL != "" {
			res = &model.Run{IntervalMs: run.IntervalMs}
		}
		step, win := Resolution(res)
		if cfg.Step == 0 {
			cfg.Step = step
			if cfg.RateWindow == 0 {
				cfg.RateWindow = win
			}
		}
	}
	return cfg, nil
}

// Observe reads the series of a request's window.
func Observe(ctx context.Context, r *AnalyzeRequest) (*model.Observations, error) {
	cfg, err := r.ObserveConfig()
	if err != nil {
		return nil, err
	}
	src, err := OpenSource(SourceRequest{Run: r.Run, RunDir: r.RunDir, Prometheus: r.Prometheus, Logger: r.Logger})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := src.Close(); err != nil && r.Logger != nil {
			r.Logger.Warn("could not close the metrics store", "err", err)
		}
	}()
	if r.Logger != nil {
		r.Logger.Debug("observing", "source", src.Where, "selector", cfg.Selector, "from", cfg.Start, "to", cfg.End, "run_id", cfg.RunID, "step", cfg.Step)
	}
	obs, err := collector.Observe(ctx, src, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Where, err)
	}
	return &obs, nil
}

// Analyze observes a request's window and analyzes it; it returns the
// analysis and the series it was made from (for the report's charts).
func Analyze(ctx context.Context, r *AnalyzeRequest) (model.Analysis, *model.Observations, error) {
	if err := r.Options.Validate(); err != nil {
		return model.Analysis{}, nil, err
	}
	obs, err := Observe(ctx, r)
	if err != nil {
		return model.Analysis{}, nil, err
	}
	o := r.Options.withDefaults()
	a, err := analyzer.Analyze(*obs, analyzer.Options{SLOP95: o.SLOP95, MaxErrorRate: o.MaxErrorRate, SaturationUtilization: o.Saturation})
	if err != nil {
		return model.Analysis{}, nil, err
	}
	return a, obs, nil
}
