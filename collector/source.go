package collector

import (
	"context"
	"errors"
	"time"

	pmodel "github.com/prometheus/common/model"
)

// ErrNoSamples is returned when a query matched no series in the window.
var ErrNoSamples = errors.New("no samples")

// Range is the window and resolution of a range query.
type Range struct {
	Start, End time.Time
	Step       time.Duration
}

// Source answers PromQL. Both the Prometheus HTTP API client and the
// embedded store implement it, so there is one analysis code path.
//
// Results use prometheus/common/model types: Query returns a pmodel.Vector
// or pmodel.Scalar, QueryRange a pmodel.Matrix.
type Source interface {
	// Query evaluates an instant query at ts.
	Query(ctx context.Context, query string, ts time.Time) (pmodel.Value, error)
	// QueryRange evaluates a range query.
	QueryRange(ctx context.Context, query string, r Range) (pmodel.Matrix, error)
	// Series lists the label sets of series matching any of the selectors
	// that have samples in [start, end].
	Series(ctx context.Context, matchers []string, start, end time.Time) ([]pmodel.LabelSet, error)
}
