package collector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/headroom-sh/headroom/model"
)

// extrapolatedFuncs are the range functions that divide what they find in
// their window by the whole window (rate) or extrapolate it to the window
// (increase, delta). Over a window that reaches before a series' first
// sample they read low: 5 s after the start, rate(x[30s]) of a counter that
// grows at 0.8/s reads 0.15. irate and the *_over_time averages read the
// samples they find and need no care.
var extrapolatedFuncs = map[string]bool{"rate": true, "increase": true, "delta": true}

// startEpsilon widens a clipped window by a millisecond so that it still
// holds the first sample: range selectors are open at their start.
const startEpsilon = time.Millisecond

// rateInputs returns the longest range of q's extrapolated functions over a
// plain range selector, and the series selectors inside them.
func rateInputs(expr parser.Expr) (time.Duration, []string) {
	var w time.Duration
	sels := map[string]bool{}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		call, ok := node.(*parser.Call)
		if !ok || !extrapolatedFuncs[call.Func.Name] || len(call.Args) == 0 {
			return nil
		}
		ms, ok := call.Args[0].(*parser.MatrixSelector)
		if !ok || ms.RangeExpr != nil {
			return nil
		}
		vs, ok := ms.VectorSelector.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		w = max(w, ms.Range)
		sels[(&parser.VectorSelector{Name: vs.Name, LabelMatchers: vs.LabelMatchers}).String()] = true
		return nil
	})
	return w, sortedKeys(sels)
}

// clipRangesTo sets the range of every extrapolated function of expr whose
// range is longer than w to w.
func clipRangesTo(expr parser.Expr, w time.Duration) {
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		call, ok := node.(*parser.Call)
		if !ok || !extrapolatedFuncs[call.Func.Name] || len(call.Args) == 0 {
			return nil
		}
		if ms, ok := call.Args[0].(*parser.MatrixSelector); ok && ms.RangeExpr == nil && ms.Range > w {
			ms.Range = w
		}
		return nil
	})
}

// seriesStart finds when the rate inputs of a query begin: for each
// selector, its earliest sample between r.Start - 2w and r.Start + 2w, and
// the latest of those over the selectors (a rate needs all its inputs).
// A selector with a sample in the first w of that span existed before the
// window's rates reach back, so it does not count as starting. ok is false
// when no selector starts inside the span. interval is the median time
// between the starting series' samples.
func seriesStart(ctx context.Context, src Source, sels []string, w time.Duration, r Range) (start time.Time, interval time.Duration, ok bool, err error) {
	at := r.Start.Add(2 * w)
	if at.After(r.End) {
		at = r.End
	}
	from := r.Start.Add(-2 * w)
	span := at.Sub(from)
	for _, sel := range sels {
		v, err := src.Query(ctx, fmt.Sprintf("%s[%s]", sel, pmodel.Duration(span)), at)
		if err != nil && !errors.Is(err, ErrNoSamples) {
			return time.Time{}, 0, false, err
		}
		m, _ := v.(pmodel.Matrix)
		first := time.Time{}
		var gaps []time.Duration
		for _, s := range m {
			if len(s.Values) == 0 {
				continue
			}
			if f := s.Values[0].Timestamp.Time(); first.IsZero() || f.Before(first) {
				first = f
			}
			for i := 1; i < len(s.Values); i++ {
				gaps = append(gaps, s.Values[i].Timestamp.Time().Sub(s.Values[i-1].Timestamp.Time()))
			}
		}
		if first.IsZero() || len(gaps) == 0 {
			continue
		}
		if !first.After(r.Start.Add(-w)) {
			// Present before the earliest rate window begins.
			continue
		}
		if first.After(start) {
			sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
			start, interval, ok = first, gaps[len(gaps)/2], true
		}
	}
	return start, interval, ok, nil
}

// clipRateStart recomputes the points of ss (q over r, aligned) whose rate
// windows reach before the first sample of q's rate inputs: each is the
// same query with the windows clipped to the data present, from the first
// sample on. A point whose clipped window would hold fewer than three
// samples becomes a gap. Series older than the window, as in a Prometheus
// that scraped long before the run, are left as they are.
func clipRateStart(ctx context.Context, src Source, q string, r Range, ss []model.LabeledSeries) error {
	if len(ss) == 0 {
		return nil
	}
	expr, err := ParseQuery(q)
	if err != nil {
		return err
	}
	w, sels := rateInputs(expr)
	if w <= 0 || len(sels) == 0 {
		return nil
	}
	start, interval, ok, err := seriesStart(ctx, src, sels, w, r)
	if err != nil || !ok {
		return err
	}
	index := make(map[string]int, len(ss))
	for j, s := range ss {
		index[labelKey(s.Labels)] = j
	}
	// The new values are applied once all are known, so that an error
	// leaves ss as it was.
	updates := map[int][]float64{}
	minWin := 2 * interval
	for i := range ss[0].Values {
		t := r.Start.Add(time.Duration(i) * r.Step)
		have := t.Sub(start)
		if have >= w {
			break
		}
		vals := make([]float64, len(ss))
		for j := range vals {
			vals[j] = math.NaN()
		}
		updates[i] = vals
		if have < minWin {
			continue
		}
		e, err := ParseQuery(q)
		if err != nil {
			return err
		}
		clipRangesTo(e, have+startEpsilon)
		v, err := src.Query(ctx, e.String(), t)
		if err != nil && !errors.Is(err, ErrNoSamples) {
			return err
		}
		vec, _ := v.(pmodel.Vector)
		for _, smp := range vec {
			ls := make(map[string]string, len(smp.Metric))
			for k, val := range smp.Metric {
				if k != pmodel.MetricNameLabel {
					ls[string(k)] = string(val)
				}
			}
			if j, ok := index[labelKey(ls)]; ok {
				vals[j] = float64(smp.Value)
			}
		}
	}
	for i, vals := range updates {
		for j, v := range vals {
			ss[j].Values[i] = v
		}
	}
	return nil
}
