package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/planner"
)

// BaselineError names the topology field whose query failed.
type BaselineError struct {
	Field, Query string
	Err          error
}

func (e *BaselineError) Error() string {
	return fmt.Sprintf("topology.%s: %q: %v", e.Field, e.Query, e.Err)
}

func (e *BaselineError) Unwrap() error { return e.Err }

// NeedsBaselineQueries reports whether a topology's baseline rates come
// from PromQL rather than numbers.
func NeedsBaselineQueries(t *model.Topology) bool {
	b := &t.Baseline
	return (b.RPS == 0 && b.RPSQuery != "") || (b.PeakRPS == 0 && b.PeakQuery != "")
}

// ResolveBaseline evaluates a topology's baseline queries at now on src,
// for the rates not given as numbers; the peak defaults to the baseline.
func ResolveBaseline(ctx context.Context, src collector.Source, t *model.Topology, now time.Time) error {
	b := &t.Baseline
	eval := func(field, q string) (float64, error) {
		v, err := src.Query(ctx, q, now)
		if err != nil {
			return 0, &BaselineError{field, q, fmt.Errorf("could not evaluate it: %w", err)}
		}
		x, err := singleNumber(v)
		if err != nil {
			return 0, &BaselineError{field, q, err}
		}
		if !(x > 0) || math.IsInf(x, 0) {
			return 0, &BaselineError{field, q, fmt.Errorf("returned %v: expected a rate greater than 0", x)}
		}
		return x, nil
	}
	var err error
	if b.RPS == 0 && b.RPSQuery != "" {
		if b.RPS, err = eval("baseline.rps_query", b.RPSQuery); err != nil {
			return err
		}
	}
	if b.PeakRPS == 0 && b.PeakQuery != "" {
		if b.PeakRPS, err = eval("baseline.peak_query", b.PeakQuery); err != nil {
			return err
		}
	}
	if b.PeakRPS == 0 {
		b.PeakRPS = b.RPS
	}
	if b.PeakRPS < b.RPS {
		return &BaselineError{"baseline.peak_query", b.PeakQuery, fmt.Errorf("the baseline peak %.4g RPS is below the baseline %.4g RPS", b.PeakRPS, b.RPS)}
	}
	return nil
}

// singleNumber reads the one number an instant query returned.
func singleNumber(v pmodel.Value) (float64, error) {
	switch x := v.(type) {
	case *pmodel.Scalar:
		return float64(x.Value), nil
	case pmodel.Vector:
		if len(x) != 1 {
			return 0, fmt.Errorf("returned %d series: expected exactly one number (wrap it in sum(...))", len(x))
		}
		return float64(x[0].Value), nil
	}
	return 0, fmt.Errorf("returned a %s: expected one number", v.Type())
}

// PlanRequest is a capacity plan asked for by either front end.
type PlanRequest struct {
	// Analysis is the analysis of a test of the service.
	Analysis *model.Analysis
	// Topology is what production runs today; its baseline queries, if
	// any, are evaluated on Baseline (it is modified in place).
	Topology *model.Topology
	// Target is what the plan must carry; exactly one of Multiplier and
	// RPS, and zero SLO, error rate or headroom take their defaults.
	Target planner.Target
	// Prices is the catalog costs come from; nil uses the built-in one.
	Prices *model.PriceCatalog
	// Baseline is the Prometheus the topology's baseline queries run on;
	// nil when there is none (then the queries are an error).
	Baseline collector.Source
	// Now is when the baseline queries are evaluated (default time.Now).
	Now time.Time
}

// ErrNoBaselineSource is returned by Plan when the topology's baseline is
// PromQL and no Prometheus was given to evaluate it.
var ErrNoBaselineSource = errors.New("the topology's baseline is given as queries and there is no Prometheus to run them on")

// CheckPlanTarget checks a plan's target. Errors are OptionErrors naming
// target_rps/target_multiplier, slo_p95, max_error_rate or target_headroom.
func CheckPlanTarget(t planner.Target) error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !finite(t.Multiplier) || !finite(t.RPS) || t.Multiplier < 0 || t.RPS < 0:
		return &OptionError{"target_rps/target_multiplier", "expected numbers greater than 0"}
	case (t.Multiplier > 0) == (t.RPS > 0):
		return &OptionError{"target_rps/target_multiplier", "give exactly one, greater than 0: a multiple of the baseline rate (3 = 3× today) or a rate in requests/s (540)"}
	case t.SLOP95 < 0:
		return &OptionError{"slo_p95", fmt.Sprintf("%s: expected a latency limit greater than 0 such as 800ms", t.SLOP95)}
	case !finite(t.MaxErrorRate) || t.MaxErrorRate < 0 || t.MaxErrorRate > 1:
		return &OptionError{"max_error_rate", fmt.Sprintf("%v: expected a fraction between 0 and 1 such as 0.05", t.MaxErrorRate)}
	case !finite(t.HeadroomRatio) || t.HeadroomRatio < 0 || t.HeadroomRatio > 10:
		return &OptionError{"target_headroom", fmt.Sprintf("%v: expected a fraction of spare capacity such as 0.2 (20%%), at most 10", t.HeadroomRatio)}
	}
	return nil
}

// Plan checks the target, evaluates the topology's baseline queries when
// its rates are not numbers, and builds the plan.
func Plan(ctx context.Context, req PlanRequest) (*model.Plan, error) {
	if err := CheckPlanTarget(req.Target); err != nil {
		return nil, err
	}
	if req.Analysis == nil || req.Topology == nil {
		return nil, errors.New("a plan needs an analysis and a topology")
	}
	if NeedsBaselineQueries(req.Topology) {
		if req.Baseline == nil {
			return nil, ErrNoBaselineSource
		}
		now := req.Now
		if now.IsZero() {
			now = time.Now()
		}
		if err := ResolveBaseline(ctx, req.Baseline, req.Topology, now); err != nil {
			return nil, err
		}
	}
	return planner.Build(planner.Input{Analysis: req.Analysis, Topology: req.Topology, Target: req.Target, Prices: req.Prices})
}
