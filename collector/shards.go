package collector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/model"
)

// ObserveShards reads what each runner of a sharded run reported in the
// window of o, which Observe filled from the runner's metrics: when each
// shard's series began and ended, how often it wrote, and its VUs, arrival
// rate and requests in each of o's stages. Every shard that "i/n" says
// should exist is listed, in index order; one with no series in the window
// has Reported false. An unsharded run (no shard label other than "0/1")
// returns nil.
//
// A runner that dies stops writing: its series simply end (remote write
// sends no staleness markers), so a shard's last sample is read with
// timestamp(), which returns the time of the sample an instant selector
// picks, evaluated on the observation's grid. The analyzer
// (analyzer.ShardWarnings) compares the shards' spans and stage parts.
func ObserveShards(ctx context.Context, src Source, o model.Observations) ([]model.ShardObservation, error) {
	n := o.ShardsExpected
	for _, s := range o.Shards {
		if _, c, ok := parseShardLabel(s); ok && c > n {
			n = c
		}
	}
	if n <= 1 || src == nil {
		return nil, nil
	}
	if !o.End.After(o.Start) {
		return nil, fmt.Errorf("could not observe the shards: the window end %s is not after its start %s", o.End.Format(time.RFC3339), o.Start.Format(time.RFC3339))
	}
	step := time.Duration(o.StepMs * float64(time.Millisecond))
	if step <= 0 {
		step = DefaultObserveStep
	}
	runSel := matchers("run_id", o.RunID)

	// Every shard of n, then any other label seen (a run whose shards
	// disagree on n), so that nothing seen is dropped.
	var out []model.ShardObservation
	listed := map[string]bool{}
	add := func(name string) {
		if !listed[name] {
			listed[name] = true
			out = append(out, model.ShardObservation{Shard: name})
		}
	}
	for i := 0; i < n; i++ {
		add(fmt.Sprintf("%d/%d", i, n))
	}
	for _, s := range o.Shards {
		add(s)
	}
	sort.SliceStable(out, func(i, j int) bool { return shardLess(out[i].Shard, out[j].Shard) })
	byName := map[string]*model.ShardObservation{}
	for i := range out {
		byName[out[i].Shard] = &out[i]
	}

	// Spans: the time of the latest sample at each grid point.
	q, err := scoped("max by (shard) (timestamp("+model.MetricVUs+"))", runSel)
	if err != nil {
		return nil, err
	}
	m, err := src.QueryRange(ctx, q, Range{Start: o.Start, End: o.End, Step: step})
	if err != nil && !isNoSamples(err) {
		return nil, fmt.Errorf("could not observe the shards: %w", err)
	}
	for _, s := range m {
		so := byName[string(s.Metric["shard"])]
		if so == nil {
			continue
		}
		spanOf(so, s.Values, o.Start)
	}

	// Each stage's part, per shard.
	evalT := o.End.Add(2 * step)
	for _, st := range o.Stages {
		parts, err := shardStage(ctx, src, o.RunID, st, step, evalT)
		if err != nil {
			return nil, err
		}
		for i := range out {
			p := parts[out[i].Shard]
			p.Name = st.Name
			out[i].Stages = append(out[i].Stages, p)
		}
	}
	return out, nil
}

// spanOf sets a shard's first and last sample times and its typical
// interval from the values of timestamp() on the grid. Samples before the
// window start (held by the lookback) do not count.
func spanOf(so *model.ShardObservation, vals []pmodel.SamplePair, start time.Time) {
	var ts []float64
	seen := map[float64]bool{}
	for _, p := range vals {
		v := float64(p.Value)
		if math.IsNaN(v) || v < float64(start.UnixMilli())/1000 || seen[v] {
			continue
		}
		seen[v] = true
		ts = append(ts, v)
	}
	if len(ts) == 0 {
		return
	}
	sort.Float64s(ts)
	so.Reported = true
	so.First = secondsToTime(ts[0])
	so.Last = secondsToTime(ts[len(ts)-1])
	if len(ts) > 1 {
		d := make([]float64, 0, len(ts)-1)
		for i := 1; i < len(ts); i++ {
			d = append(d, ts[i]-ts[i-1])
		}
		sort.Float64s(d)
		so.IntervalMs = math.Round(d[len(d)/2] * 1000)
	}
}

// shardStage reads every shard's VUs, arrival rate and requests in one stage.
func shardStage(ctx context.Context, src Source, runID string, st model.StageObservation, step time.Duration, evalT time.Time) (map[string]model.ShardStage, error) {
	runSel := matchers("run_id", runID)
	parts := map[string]model.ShardStage{}
	vector := func(q, sel string, ts time.Time) (pmodel.Vector, error) {
		s, err := scoped(q, sel)
		if err != nil {
			return nil, err
		}
		v, err := src.Query(ctx, s, ts)
		if err != nil && !isNoSamples(err) {
			return nil, fmt.Errorf("could not observe the shards in stage %q: %w", st.Name, err)
		}
		vec, _ := v.(pmodel.Vector)
		return vec, nil
	}
	d := pmodel.Duration(max(st.End.Sub(st.Start), step)).String()
	vus, err := vector(fmt.Sprintf("max by (shard) (max_over_time(%s[%s]))", model.MetricVUs, d), runSel, st.End)
	if err != nil {
		return nil, err
	}
	rate, err := vector(fmt.Sprintf("sum by (shard) (last_over_time(%s[%s]))", model.MetricTargetArrivalRate, d), runSel, st.End)
	if err != nil {
		return nil, err
	}
	// Requests as Observe counts a stage's: the last value of the
	// stage-labelled counters less any value before the stage's start.
	stageSel := matchers("run_id", runID, "stage", st.Name)
	rng := pmodel.Duration(evalT.Sub(st.Start) + step).String()
	end, err := vector(fmt.Sprintf("sum by (shard) (last_over_time(%s[%s]))", model.MetricRequests, rng), stageSel, evalT)
	if err != nil {
		return nil, err
	}
	before, err := vector(fmt.Sprintf("sum by (shard) (last_over_time(%s[%s]))", model.MetricRequests, pmodel.Duration(DefaultLookbackDelta)), stageSel, st.Start)
	if err != nil {
		return nil, err
	}
	for _, s := range vus {
		p := parts[string(s.Metric["shard"])]
		p.VUs = float64(s.Value)
		parts[string(s.Metric["shard"])] = p
	}
	for _, s := range rate {
		p := parts[string(s.Metric["shard"])]
		p.TargetRate = nz(float64(s.Value))
		parts[string(s.Metric["shard"])] = p
	}
	for _, s := range minus(end, before) {
		p := parts[string(s.Metric["shard"])]
		p.Requests = math.Max(0, nz(float64(s.Value)))
		parts[string(s.Metric["shard"])] = p
	}
	return parts, nil
}

// parseShardLabel reads "i/n".
func parseShardLabel(s string) (i, n int, ok bool) {
	is, ns, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, false
	}
	return i, n, true
}

// shardLess orders shard labels by count, then index; labels that are not
// "i/n" come last, by name.
func shardLess(a, b string) bool {
	ai, an, aok := parseShardLabel(a)
	bi, bn, bok := parseShardLabel(b)
	switch {
	case aok && bok:
		if an != bn {
			return an < bn
		}
		return ai < bi
	case aok != bok:
		return aok
	}
	return a < b
}

func secondsToTime(s float64) time.Time {
	return time.UnixMilli(int64(math.Round(s * 1000))).UTC()
}

func isNoSamples(err error) bool { return errors.Is(err, ErrNoSamples) }
