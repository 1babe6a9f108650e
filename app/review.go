package app

import (
	"context"
	"fmt"
	"time"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
)

// Review reviews a service's capacity from its production series ending at
// end: it reads them from src and fits them.
func Review(ctx context.Context, src collector.Source, spec model.ReviewSpec, end time.Time, cfg collector.ProductionConfig) (model.Review, error) {
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
