package app

import (
	"context"
	"runtime"
	"time"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
)

// LocalScope is the one rule for a CPU limit nobody states, in analyses
// and resource listings: a target on this machine can use at most its
// cores, so the collector takes them as its CPU limit when nothing else
// (its metrics, the catalog, a stated limit) tells it. sel.LocalCores, when
// set, is kept. A review never applies it (ReviewSelectors).
func LocalScope(sel collector.Selectors) collector.Selectors {
	if sel.LocalCores == 0 {
		sel.LocalCores = runtime.NumCPU()
	}
	return sel
}

// ResourcesRequest is a listing of the resources of a system under test in
// a window of a metrics source.
type ResourcesRequest struct {
	Source collector.Source
	// Catalog is the resource catalog; nil means the built-in one.
	Catalog   *model.Catalog
	Selectors collector.Selectors
	// Start and End bound the window; Step is the series' resolution
	// (0: the collector's default).
	Start, End time.Time
	Step       time.Duration
}

// Resources is what a listing found: each resource with its queries, and
// its series over the window.
type Resources struct {
	Found  []collector.Detected
	Series []collector.ResourceSeries
}

// DiscoverResources finds the resources of the system under test in a
// window and reads their series, with the same scope rule as an analysis
// (LocalScope).
func DiscoverResources(ctx context.Context, r ResourcesRequest) (*Resources, error) {
	cat := r.Catalog
	if cat == nil {
		cat = collector.DefaultCatalog()
	}
	found, err := collector.Discover(ctx, r.Source, cat, LocalScope(r.Selectors), r.Start, r.End)
	if err != nil {
		return nil, err
	}
	series, err := collector.CollectResources(ctx, r.Source, found, collector.Range{Start: r.Start, End: r.End, Step: r.Step})
	if err != nil {
		return nil, err
	}
	return &Resources{Found: found, Series: series}, nil
}
