package loadgen

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// AggregateThresholds evaluates thresholds over every shard of a sharded
// run together, from the metrics backend all shards write to
// (collector.Thresholds implements it with PromQL). A shard alone sees only
// its part of the load: its p95 or error rate can pass while the whole run's
// fails, and the other way round.
type AggregateThresholds interface {
	// AggregateThreshold returns the value of a threshold's aggregation
	// over every shard's series of the run from start until at, in the
	// units of Runner's own evaluation (milliseconds, fractions, per
	// second), and how many samples it is based on (0: none yet). An
	// aggregation it cannot answer returns an error wrapping
	// errors.ErrUnsupported; the runner then judges that threshold on its
	// own shard.
	AggregateThreshold(ctx context.Context, runID string, start, at time.Time, key model.ThresholdKey, expr model.ThresholdExpr) (observed float64, samples int64, err error)
}

// aggregateTimeout bounds one evaluation of a threshold over the shards.
const aggregateTimeout = 10 * time.Second

// aggregated reports whether thresholds are judged over every shard.
func (r *Runner) aggregated() bool {
	return r.cfg.Aggregate != nil && r.cfg.Shard.count() > 1
}

// observeAggregate evaluates a threshold over every shard, falling back to
// this shard's own statistics when the backend cannot answer it. agg says
// whether the value is the aggregate; down, that the backend failed (not
// merely that it cannot express the threshold), so that the caller judges
// the rest of its round locally instead of waiting on it again.
func (r *Runner) observeAggregate(ctx context.Context, t *thresholdRT, elapsed time.Duration) (obs float64, n int64, agg, down bool) {
	ctx, cancel := context.WithTimeout(ctx, aggregateTimeout)
	defer cancel()
	at := r.startWall.Add(elapsed)
	v, n, err := r.cfg.Aggregate.AggregateThreshold(ctx, r.cfg.RunID, r.startWall, at, t.k, t.expr)
	if err == nil {
		return v, n, true, false
	}
	if errors.Is(err, errors.ErrUnsupported) {
		r.aggWarn.Do(t.key+" "+t.t.Expr, func() {
			r.log.Warn("a threshold cannot be evaluated over every shard; this shard judges it on its own requests", "threshold", t.key, "expr", t.t.Expr, "reason", err)
		})
	} else {
		down = true
		r.aggWarn.Do("error", func() {
			r.log.Warn("could not evaluate thresholds over every shard; this shard judges them on its own requests until the metrics backend answers", "err", err)
		})
	}
	v, n = r.observe(t, elapsed)
	return v, n, false, down
}

// judge evaluates one threshold for a round of evaluations: over every
// shard when the runner is aggregated and the backend has not failed in
// this round (*down), else on this shard's own requests.
// agg says whether the value is over every shard.
func (r *Runner) judge(ctx context.Context, t *thresholdRT, elapsed time.Duration, down *bool) (obs float64, n int64, agg bool) {
	if !r.aggregated() || *down {
		obs, n = r.observe(t, elapsed)
		return obs, n, false
	}
	obs, n, agg, *down = r.observeAggregate(ctx, t, elapsed)
	return obs, n, agg
}

// warnOnce runs each keyed function once.
type warnOnce struct {
	mu   sync.Mutex
	done map[string]bool
}

func (w *warnOnce) Do(key string, f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done == nil {
		w.done = map[string]bool{}
	}
	if w.done[key] {
		return
	}
	w.done[key] = true
	f()
}
