package collector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/model"
)

// ThresholdsConfig configures Thresholds.
type ThresholdsConfig struct {
	// Source is the metrics backend every shard of the run writes to;
	// required.
	Source Source
	// Margin widens the range read before the run's start, for shards
	// that started a moment before this one; default 1m.
	Margin time.Duration
}

func (c *ThresholdsConfig) defaults() error {
	if c.Source == nil {
		return fmt.Errorf("%w: thresholds need a metrics source", ErrBadConfig)
	}
	if c.Margin < 0 {
		return fmt.Errorf("%w: the thresholds' margin must not be negative", ErrBadConfig)
	}
	if c.Margin == 0 {
		c.Margin = time.Minute
	}
	return nil
}

// Thresholds evaluates k6-style thresholds over every shard of a run
// together, in PromQL over the runner's metrics: the sums over shards of
// headroom_requests_total, of the duration histogram's classic buckets, and
// of headroom_checks_total and headroom_dropped_iterations_total. It
// implements loadgen.AggregateThresholds, which a sharded runner asks for
// its abortOnFail decisions and its final verdict.
//
// The counters of a run only grow, so the run's totals so far are the sums
// of their last values (last_over_time over the whole run, which also
// keeps the requests of a shard that died). Percentiles are
// histogram_quantile over the summed buckets, interpolated within a bucket,
// so they can differ from one runner's exact percentile by up to a bucket's
// width.
type Thresholds struct {
	cfg ThresholdsConfig
}

// NewThresholds makes a Thresholds evaluator.
func NewThresholds(cfg ThresholdsConfig) (*Thresholds, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Thresholds{cfg: cfg}, nil
}

// thresholdLabels are the labels each threshold metric's series carry,
// by the threshold tag that filters on them.
var thresholdLabels = map[string][]string{
	"http_req_duration":  {"endpoint", "method", "stage"},
	"http_req_failed":    {"endpoint", "method", "status", "stage"},
	"errors":             {"endpoint", "method", "status", "stage"},
	"http_reqs":          {"endpoint", "method", "status", "stage"},
	"checks":             {"check"},
	"dropped_iterations": {"stage"},
}

// AggregateThreshold returns the value of a threshold's aggregation over
// every shard's series of the run from start until at, and how many
// samples (requests, or checks) it is based on; 0 samples means nothing
// has been recorded yet. Durations are in milliseconds, rates of requests
// and checks are fractions, and the rate of a count (http_reqs,
// dropped_iterations) is per second since start. What the runner's metrics
// cannot answer returns an error wrapping errors.ErrUnsupported: the
// iteration duration (not exported), the minimum and maximum of a duration
// (a histogram keeps neither), and tags a metric's series do not carry
// (flow on any, status on durations).
func (th *Thresholds) AggregateThreshold(ctx context.Context, runID string, start, at time.Time, key model.ThresholdKey, expr model.ThresholdExpr) (float64, int64, error) {
	labels, ok := thresholdLabels[key.Metric]
	if !ok {
		return 0, 0, fmt.Errorf("%w: %s is not in the runner's metrics", errors.ErrUnsupported, key.Metric)
	}
	if runID == "" || start.IsZero() || !at.After(start) {
		return 0, 0, fmt.Errorf("could not evaluate %s: expected a run id and a start before %s", key.Metric, at.Format(time.RFC3339))
	}
	sel := []string{"run_id=" + strconv.Quote(runID)}
	for tag, val := range key.Tags {
		known := false
		for _, l := range labels {
			known = known || l == tag
		}
		if !known {
			return 0, 0, fmt.Errorf("%w: the series of %s carry no %s label", errors.ErrUnsupported, key.Metric, tag)
		}
		if tag == "method" {
			// The runner compares methods without regard to case.
			sel = append(sel, "method=~"+strconv.Quote("(?i)"+regexp.QuoteMeta(val)))
			continue
		}
		sel = append(sel, tag+"="+strconv.Quote(val))
	}
	rng := pmodel.Duration(at.Sub(start) + th.cfg.Margin).String()
	// total sums the last values of a counter's series in the run.
	total := func(metric string, extra ...string) (float64, error) {
		q := fmt.Sprintf("sum(last_over_time(%s{%s}[%s]))", metric, strings.Join(append(append([]string{}, sel...), extra...), ","), rng)
		return th.scalar(ctx, q, at)
	}
	secs := at.Sub(start).Seconds()
	switch key.Metric {
	case "http_req_duration":
		n, err := total(model.MetricRequestDuration + "_count")
		if err != nil || n == 0 {
			return 0, 0, err
		}
		var v float64
		switch expr.Agg {
		case "p":
			q := fmt.Sprintf("histogram_quantile(%g, sum by (le) (last_over_time(%s_bucket{%s}[%s])))", expr.Quantile, model.MetricRequestDuration, strings.Join(sel, ","), rng)
			if v, err = th.scalar(ctx, q, at); err != nil {
				return 0, 0, err
			}
		case "avg":
			sum, err := total(model.MetricRequestDuration + "_sum")
			if err != nil {
				return 0, 0, err
			}
			v = sum / n
		default:
			return 0, 0, fmt.Errorf("%w: the %s of %s (a histogram keeps no minimum or maximum)", errors.ErrUnsupported, expr.Agg, key.Metric)
		}
		if math.IsNaN(v) {
			return 0, 0, nil
		}
		return v * 1000, int64(n), nil
	case "http_req_failed", "errors", "http_reqs":
		n, err := total(model.MetricRequests)
		if err != nil || n == 0 {
			return 0, 0, err
		}
		if key.Metric == "http_reqs" {
			if expr.Agg == "rate" {
				return n / secs, int64(n), nil
			}
			return n, int64(n), nil
		}
		failed, err := total(model.MetricRequests, "status=~"+strconv.Quote(failedStatus))
		if err != nil {
			return 0, 0, err
		}
		return failed / n, int64(n), nil
	case "checks":
		pass, err := total(model.MetricChecks, `result="pass"`)
		if err != nil {
			return 0, 0, err
		}
		fail, err := total(model.MetricChecks, `result="fail"`)
		if err != nil {
			return 0, 0, err
		}
		if pass+fail == 0 {
			return 0, 0, nil
		}
		return pass / (pass + fail), int64(pass + fail), nil
	case "dropped_iterations":
		if expr.Agg == "share" {
			// The metrics have no counter of scheduled iterations.
			return 0, 0, fmt.Errorf("%w: the share of dropped iterations needs each shard's scheduled iterations", errors.ErrUnsupported)
		}
		dropped, err := total(model.MetricDroppedIterations)
		if err != nil {
			return 0, 0, err
		}
		// The runner counts every scheduled iteration as a sample; its
		// metrics have no iteration counter, so the run's requests stand
		// in for "the run has started".
		n, err := th.scalar(ctx, fmt.Sprintf("sum(last_over_time(%s{run_id=%q}[%s]))", model.MetricRequests, runID, rng), at)
		if err != nil {
			return 0, 0, err
		}
		samples := int64(n + dropped)
		if expr.Agg == "rate" {
			return dropped / secs, samples, nil
		}
		return dropped, samples, nil
	}
	return 0, 0, fmt.Errorf("%w: %s", errors.ErrUnsupported, key.Metric)
}

// scalar runs an instant query whose answer is one sample; no samples is 0.
func (th *Thresholds) scalar(ctx context.Context, q string, at time.Time) (float64, error) {
	v, err := th.cfg.Source.Query(ctx, q, at)
	if errors.Is(err, ErrNoSamples) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("could not evaluate a threshold over the run's shards: %w", err)
	}
	switch t := v.(type) {
	case pmodel.Vector:
		if len(t) == 0 {
			return 0, nil
		}
		return float64(t[0].Value), nil
	case *pmodel.Scalar:
		return float64(t.Value), nil
	}
	return 0, nil
}
