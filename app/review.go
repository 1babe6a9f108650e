package app

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/internal/selector"
	"github.com/headroom-sh/headroom/model"
)

// Review reviews a service's capacity from its production series ending at
// end: it reads them from src and fits them. Both front ends call it, the
// CLI with its flags in spec and cfg, the service with a stored spec.
//
// The scope of the resource queries is cfg.Selectors with the spec's
// selector_for and limit_for added (cfg's entries win). A review never
// takes this machine's cores as a CPU limit, whichever front end asks: the
// reviewed service runs in production, not where headroom runs, and an
// instance of 127.0.0.1 in Prometheus is local to the scraping Prometheus,
// not to headroom. A CPU limit comes from the service's metrics (container
// quota, GOMAXPROCS, node_exporter), the catalog, or a stated limit;
// without one the CPU has no limit and sets no capacity.
func Review(ctx context.Context, src collector.Source, spec model.ReviewSpec, end time.Time, cfg collector.ProductionConfig) (model.Review, error) {
	cfg.Selectors = ReviewSelectors(spec, cfg.Selectors)
	obs, err := collector.ObserveProductionWith(ctx, src, spec, end, cfg)
	if err != nil {
		return model.Review{}, fmt.Errorf("could not read the production series: %w", err)
	}
	r, err := analyzer.Review(spec, obs)
	if err != nil {
		return model.Review{}, fmt.Errorf("could not fit the production series: %w", err)
	}
	return r, nil
}

// ReviewSelectors is the scope of a review's resource queries (see Review).
func ReviewSelectors(spec model.ReviewSpec, sel collector.Selectors) collector.Selectors {
	sel.LocalCores = 0
	sel.SelectorFor = mergeScope(spec.SelectorFor, sel.SelectorFor)
	sel.LimitFor = mergeScope(spec.LimitFor, sel.LimitFor)
	return sel
}

// mergeScope is base with over's entries winning; nil when both are empty.
func mergeScope[V any](base, over map[string]V) map[string]V {
	if len(base) == 0 {
		return over
	}
	out := maps.Clone(base)
	maps.Copy(out, over)
	return out
}

// CheckReviewScope checks that the keys of a spec's selector_for and
// limit_for name kinds (and families) of the catalog (nil: the built-in
// one), so that a stored spec fails when it is given, not when it runs.
func CheckReviewScope(spec model.ReviewSpec, cat *model.Catalog) error {
	if cat == nil {
		cat = collector.DefaultCatalog()
	}
	return selector.CheckScope(model.Scope{SelectorFor: spec.SelectorFor, LimitFor: spec.LimitFor}, cat)
}
