package loadgen

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// thresholdRT is one threshold expression parsed once.
type thresholdRT struct {
	key  string
	k    model.ThresholdKey
	t    model.Threshold
	expr model.ThresholdExpr
	// builtin marks the default limit on dropped iterations.
	builtin bool
}

func (r *Runner) compileThresholds(sc *model.Scenario) error {
	keys := make([]string, 0, len(sc.Thresholds))
	for k := range sc.Thresholds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		k, err := model.ParseThresholdKey(key)
		if err != nil {
			return fmt.Errorf("thresholds[%q]: %w", key, err)
		}
		for i, t := range sc.Thresholds[key] {
			e, err := model.ParseThreshold(t.Expr)
			if err != nil {
				return fmt.Errorf("thresholds[%q][%d]: %w", key, i, err)
			}
			ok := false
			for _, a := range model.AggsFor(k.Metric) {
				ok = ok || a == e.Agg
			}
			if !ok {
				return fmt.Errorf("thresholds[%q][%d]: %q: aggregation %s does not fit %s (%s)", key, i, t.Expr, e.Agg, k.Metric, model.ThresholdMetrics[k.Metric])
			}
			r.thresholds = append(r.thresholds, &thresholdRT{key: key, k: k, t: t, expr: e})
		}
	}
	return r.addDroppedLimit()
}

// addDroppedLimit adds the default limit on the share of dropped
// iterations to a scenario with an open-model executor, unless the scenario
// judges dropped iterations itself or the limit is off.
func (r *Runner) addDroppedLimit() error {
	if r.cfg.MaxDroppedShare >= 1 {
		return nil
	}
	open := false
	for _, e := range r.execs {
		open = open || e.open
	}
	for _, t := range r.thresholds {
		if t.k.Metric == "dropped_iterations" {
			return nil
		}
	}
	if !open {
		return nil
	}
	expr := "share<=" + strconv.FormatFloat(max(r.cfg.MaxDroppedShare, 0), 'g', -1, 64)
	e, err := model.ParseThreshold(expr)
	if err != nil {
		return fmt.Errorf("the limit on dropped iterations: %w", err)
	}
	r.thresholds = append(r.thresholds, &thresholdRT{
		key:     "dropped_iterations",
		k:       model.ThresholdKey{Metric: "dropped_iterations"},
		t:       model.Threshold{Expr: expr},
		expr:    e,
		builtin: true,
	})
	return nil
}

func (r *Runner) hasAbortThresholds() bool {
	for _, t := range r.thresholds {
		if t.t.AbortOnFail {
			return true
		}
	}
	return false
}

// abortLoop evaluates abortOnFail thresholds every second once their
// delayAbortEval has passed, and reports the first that fails. In a sharded
// run with Config.Aggregate they are evaluated over every shard, every
// AggregateInterval.
func (r *Runner) abortLoop(ctx context.Context) {
	every := time.Second
	if r.aggregated() {
		every = r.cfg.AggregateInterval
	}
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		el := r.elapsed()
		down := false
		for _, t := range r.thresholds {
			if !t.t.AbortOnFail || el < t.t.DelayAbortEval.D() {
				continue
			}
			obs, n, agg := r.judge(ctx, t, el, &down)
			if n == 0 || t.expr.Eval(obs) {
				continue
			}
			if agg {
				r.log.Warn("a threshold failed over every shard of the run; aborting", "threshold", t.key, "expr", t.t.Expr, "observed", obs)
			}
			select {
			case r.abortCh <- t:
			default:
			}
			return
		}
	}
}

// observe computes a threshold's value over the whole run so far, and how
// many samples it is based on. Durations are in milliseconds, rates are
// fractions, except the rate of a count metric, which is per second.
func (r *Runner) observe(t *thresholdRT, elapsed time.Duration) (float64, int64) {
	tags := t.k.Tags
	secs := elapsed.Seconds()
	perSecond := func(n int64) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(n) / secs
	}
	switch t.k.Metric {
	case "http_req_duration", "http_req_failed", "errors", "http_reqs":
		a := newAgg()
		for _, c := range r.stats.reqCells() {
			if r.matchReq(tags, c.key) {
				a.addReq(c)
			}
		}
		switch t.k.Metric {
		case "http_req_duration":
			return durationAgg(a, t.expr), a.timed
		case "http_reqs":
			if t.expr.Agg == "rate" {
				return perSecond(a.n), a.n
			}
			return float64(a.n), a.n
		default:
			return a.errorRate(), a.n
		}
	case "iteration_duration":
		a := newAgg()
		for _, c := range r.stats.iterCells() {
			if r.matchIter(tags, c.key) {
				a.addIter(c)
			}
		}
		return durationAgg(a, t.expr), a.n
	case "checks":
		var pass, fail int64
		for _, c := range r.stats.checkCells() {
			if r.matchCheck(tags, c.key) {
				pass += c.pass.Load()
				fail += c.fail.Load()
			}
		}
		if pass+fail == 0 {
			return 0, 0
		}
		return float64(pass) / float64(pass+fail), pass + fail
	case "dropped_iterations":
		if !onlyTags(tags, "stage") {
			return 0, 0
		}
		var n, scheduled int64
		for _, s := range r.stages {
			if v, ok := tags["stage"]; ok && v != s.name {
				continue
			}
			n += s.dropped.Load()
			scheduled += s.scheduled.Load()
		}
		switch t.expr.Agg {
		case "share":
			if scheduled == 0 {
				return 0, 0
			}
			return float64(n) / float64(scheduled), scheduled
		case "rate":
			// Every scheduled iteration is a sample, dropped or not.
			return perSecond(n), n + r.nIter.Load()
		}
		return float64(n), n + r.nIter.Load()
	}
	return 0, 0
}

func durationAgg(a *agg, e model.ThresholdExpr) float64 {
	switch e.Agg {
	case "p":
		return a.quantileMs(e.Quantile)
	case "avg":
		return a.meanMs()
	case "min":
		return a.minMs()
	case "max":
		return a.maxMs()
	}
	return 0
}

// onlyTags reports whether every tag of the filter is one of allowed.
func onlyTags(tags map[string]string, allowed ...string) bool {
	for t := range tags {
		ok := false
		for _, a := range allowed {
			ok = ok || a == t
		}
		if !ok {
			return false
		}
	}
	return true
}

func (r *Runner) flowName(i int) string {
	if i < 0 || i >= len(r.flows) {
		return ""
	}
	return r.flows[i].name
}

func (r *Runner) matchReq(tags map[string]string, k reqKey) bool {
	for tag, val := range tags {
		switch tag {
		case "endpoint":
			if k.endpoint != val {
				return false
			}
		case "method":
			if !strings.EqualFold(k.method, val) {
				return false
			}
		case "status":
			if statusLabel(k.status) != val {
				return false
			}
		case "stage":
			if r.stages[k.stage].name != val {
				return false
			}
		case "flow":
			if r.flowName(k.flow) != val {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (r *Runner) matchIter(tags map[string]string, k iterKey) bool {
	for tag, val := range tags {
		switch tag {
		case "stage":
			if r.stages[k.stage].name != val {
				return false
			}
		case "flow":
			if r.flowName(k.flow) != val {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (r *Runner) matchCheck(tags map[string]string, k checkKey) bool {
	for tag, val := range tags {
		switch tag {
		case "check":
			if k.check != val {
				return false
			}
		case "endpoint":
			if k.endpoint != val {
				return false
			}
		case "method":
			if !strings.EqualFold(k.method, val) {
				return false
			}
		case "stage":
			if r.stages[k.stage].name != val {
				return false
			}
		case "flow":
			if r.flowName(k.flow) != val {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// evalThresholds evaluates every threshold over the whole run: in a
// sharded run with Config.Aggregate, over every shard, as the backend holds
// them after this shard's final flush.
func (r *Runner) evalThresholds(elapsed time.Duration, aborted *thresholdRT) []model.ThresholdResult {
	out := make([]model.ThresholdResult, 0, len(r.thresholds))
	down := false
	for _, t := range r.thresholds {
		obs, _, agg := r.judge(context.Background(), t, elapsed, &down)
		pass := t.expr.Eval(obs)
		out = append(out, model.ThresholdResult{
			Metric:      t.key,
			Expr:        t.t.Expr,
			Observed:    obs,
			Passed:      pass && t != aborted,
			AbortOnFail: t.t.AbortOnFail,
			Aborted:     t == aborted,
			Default:     t.builtin,
			Aggregate:   agg,
		})
	}
	return out
}
