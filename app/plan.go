package app

import (
	"context"
	"fmt"
	"math"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
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
