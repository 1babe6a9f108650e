package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/model"
)

// failedStatus matches the runner's failed requests: a transport error or
// an HTTP status of 400 or more.
const failedStatus = `error|[45][0-9][0-9]`

// Defaults of ObserveConfig.
const (
	DefaultObserveStep = 5 * time.Second
	// minRateWindow is the shortest rate window: two flushes of the runner
	// (every 5s), so that every window holds two samples.
	minRateWindow = 10 * time.Second
	// serverRateWindow is the shortest rate window over an HTTP server's
	// scraped metrics, which are commonly scraped every 15s.
	serverRateWindow = 30 * time.Second
)

// ErrNoLoadMetrics is returned by Observe when the window holds neither
// the runner's metrics nor HTTP server metrics under the selector.
var ErrNoLoadMetrics = errors.New("no load metrics in the window")

// ErrSeveralRuns is returned by Observe without a run id when the window
// holds the metrics of more than one run.
var ErrSeveralRuns = errors.New("several runs in the window")

// ObserveConfig says which window to observe and how.
type ObserveConfig struct {
	// RunID selects the runner's series of one run (the run_id label).
	// Empty means the only run in the window, if any.
	RunID string
	// Start and End bound the window; required.
	Start, End time.Time
	// Stages are the stage boundaries from run.json. When empty they are
	// derived from headroom_stage_active, or, without runner metrics, the
	// window is cut into equal parts.
	Stages []model.StageStats
	// Step is the resolution of the load series and the resources; default
	// 5s, enlarged when the window would need more than 11,000 steps.
	Step time.Duration
	// RateWindow is the range of the rates behind each series point;
	// default max(2 × Step, 10s) over the runner's metrics and max(2 × Step,
	// 30s) over an HTTP server's.
	RateWindow time.Duration
	// Selector scopes the system under test's series, e.g. {job="checkout"}:
	// the resources and, without runner metrics, its HTTP server metrics.
	Selector string
	// Selectors scope the resources per kind; an empty Default means Selector.
	Selectors Selectors
	// Catalog maps resource kinds to PromQL; nil means DefaultCatalog().
	Catalog *model.Catalog
	// Logger receives what could not be measured, at debug level; nil
	// discards it.
	Logger *slog.Logger
}

func (c *ObserveConfig) defaults() error {
	if c.Start.IsZero() || c.End.IsZero() {
		return errors.New("the window needs a start and an end")
	}
	if !c.End.After(c.Start) {
		return fmt.Errorf("the window end %s is not after its start %s", c.End.Format(time.RFC3339), c.Start.Format(time.RFC3339))
	}
	if c.Step < 0 || c.RateWindow < 0 {
		return errors.New("the step and the rate window must not be negative")
	}
	if c.Step == 0 {
		c.Step = DefaultObserveStep
	}
	if c.Step < time.Second {
		c.Step = time.Second
	}
	// Stay within the 11,000 points a Prometheus server returns per series.
	for c.End.Sub(c.Start)/c.Step >= maxPointsPerSeries {
		c.Step *= 2
	}
	if _, err := ParseSelector(c.Selector); err != nil {
		return fmt.Errorf("selector: %w", err)
	}
	if c.Selectors.Selector == "" {
		c.Selectors.Selector = c.Selector
	}
	// An explicit rate window applies to the resources' rates too, so that
	// load and resources are averaged over the same time and line up.
	if c.RateWindow > 0 && c.Selectors.RateWindow == 0 {
		c.Selectors.RateWindow = c.RateWindow
	}
	if c.Catalog == nil {
		c.Catalog = DefaultCatalog()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Observe reads what happened in a window from a Source: the load (the
// runner's metrics, or else the selector's HTTP server metrics) per stage
// and over time, per endpoint, and every resource of the catalog found
// under the selectors. The analyzer turns the result into an Analysis.
//
// Stage rows come from the runner's stage-labelled counters and histogram
// buckets, summed over shards (never grouped by shard): a stage's series
// only grow while it runs, so their last values (less any value before
// the stage's start, for a window that cuts a stage) are its totals, read
// exactly with last_over_time rather than extrapolated by increase().
// Series points are rates over the RateWindow ending at each step, taken
// of the sums over every series (rate(sum(x)[w:step])) so that the stage
// series born at each stage boundary do not make throughput dip. HTTP
// server metrics carry no stages: their windows are read with increase().
func Observe(ctx context.Context, src Source, cfg ObserveConfig) (model.Observations, error) {
	if src == nil {
		return model.Observations{}, errors.New("could not observe the window: no metrics source")
	}
	if err := cfg.defaults(); err != nil {
		return model.Observations{}, fmt.Errorf("could not observe the window: %w", err)
	}
	ob := &observer{src: src, cfg: cfg, log: cfg.Logger}
	ob.grid = grid(cfg.Start, cfg.End, cfg.Step)
	o := model.Observations{
		RunID: cfg.RunID, Start: cfg.Start, End: cfg.End,
		StepMs: float64(cfg.Step) / float64(time.Millisecond),
	}
	found, err := ob.runnerSeries(ctx, &o)
	if err != nil {
		return model.Observations{}, err
	}
	if found {
		err = ob.runnerLoad(ctx, &o)
	} else {
		err = ob.serverLoad(ctx, &o)
	}
	if err != nil {
		return model.Observations{}, err
	}
	if found {
		if o.ShardDetails, err = ObserveShards(ctx, src, o); err != nil {
			return model.Observations{}, err
		}
	}
	if err := ob.resources(ctx, &o); err != nil {
		return model.Observations{}, err
	}
	return o, nil
}

type observer struct {
	src  Source
	cfg  ObserveConfig
	log  *slog.Logger
	grid []time.Time
	// runSel scopes the runner's series to the run.
	runSel string
	// loadWindow is the range of the rates behind each load point; the
	// resources' gauges are averaged over the same range (see resources).
	loadWindow time.Duration
}

func grid(start, end time.Time, step time.Duration) []time.Time {
	var ts []time.Time
	for t := start; !t.After(end); t = t.Add(step) {
		ts = append(ts, t)
	}
	return ts
}

// matchers writes a label selector from name/value pairs.
func matchers(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" && pairs[i] == "run_id" {
			continue
		}
		parts = append(parts, pairs[i]+"="+strconv.Quote(pairs[i+1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// scoped adds a selector's matchers to every series selector of q.
func scoped(q, sel string) (string, error) {
	s, err := ScopeQuery(q, sel)
	if err != nil {
		return "", fmt.Errorf("could not build query %q: %w", q, err)
	}
	return s, nil
}

// vector runs an instant query; no samples is an empty vector.
func (ob *observer) vector(ctx context.Context, q string, ts time.Time) (pmodel.Vector, error) {
	v, err := ob.src.Query(ctx, q, ts)
	if err != nil && !errors.Is(err, ErrNoSamples) {
		return nil, fmt.Errorf("could not observe the window: %w", err)
	}
	switch t := v.(type) {
	case pmodel.Vector:
		return t, nil
	case *pmodel.Scalar:
		return pmodel.Vector{&pmodel.Sample{Value: t.Value, Timestamp: t.Timestamp}}, nil
	}
	return nil, nil
}

// matrix runs a range query over the window's grid; no samples is empty.
func (ob *observer) matrix(ctx context.Context, q string) (pmodel.Matrix, error) {
	m, err := ob.src.QueryRange(ctx, q, Range{Start: ob.cfg.Start, End: ob.cfg.End, Step: ob.cfg.Step})
	if err != nil && !errors.Is(err, ErrNoSamples) {
		return nil, fmt.Errorf("could not observe the window: %w", err)
	}
	return m, nil
}

// onGrid places a series' samples on the grid (NaN where absent).
func (ob *observer) onGrid(s *pmodel.SampleStream) []float64 {
	out := make([]float64, len(ob.grid))
	for i := range out {
		out[i] = math.NaN()
	}
	if s == nil {
		return out
	}
	for _, p := range s.Values {
		i := int(math.Round(float64(p.Timestamp.Time().Sub(ob.cfg.Start)) / float64(ob.cfg.Step)))
		if i >= 0 && i < len(out) {
			out[i] = float64(p.Value)
		}
	}
	return out
}

// byLabel indexes a matrix by one label's value ("" for the single series
// of an unlabelled result).
func byLabel(m pmodel.Matrix, label string) map[string]*pmodel.SampleStream {
	out := map[string]*pmodel.SampleStream{}
	for _, s := range m {
		out[string(s.Metric[pmodel.LabelName(label)])] = s
	}
	return out
}

func total(v pmodel.Vector) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range v {
		s += float64(x.Value)
	}
	return s
}

func nz(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// buckets reads cumulative buckets from a vector with an le label.
func buckets(v pmodel.Vector) []model.Bucket {
	var out []model.Bucket
	for _, s := range v {
		le, err := strconv.ParseFloat(string(s.Metric["le"]), 64)
		if err != nil {
			continue
		}
		out = append(out, model.Bucket{UpperBound: le, Count: float64(s.Value)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpperBound < out[j].UpperBound })
	return out
}

// nativeBuckets turns the increase of a native histogram from start (nil:
// nothing before) to end into cumulative buckets at end's bucket bounds,
// ending with +Inf. A client only ever lowers a histogram's resolution, so
// every bound of end is a bound of start and the subtraction is exact.
func nativeBuckets(end, start *pmodel.SampleHistogram) []model.Bucket {
	cum := func(h *pmodel.SampleHistogram) []model.Bucket {
		if h == nil {
			return nil
		}
		bs := make([]*pmodel.HistogramBucket, 0, len(h.Buckets))
		bs = append(bs, h.Buckets...)
		sort.Slice(bs, func(i, j int) bool { return bs[i].Upper < bs[j].Upper })
		out := make([]model.Bucket, 0, len(bs)+1)
		c := 0.0
		for _, b := range bs {
			c += float64(b.Count)
			out = append(out, model.Bucket{UpperBound: float64(b.Upper), Count: c})
		}
		return out
	}
	e, s := cum(end), cum(start)
	// at is start's cumulative count at bound u.
	at := func(u float64) float64 {
		i := sort.Search(len(s), func(i int) bool { return s[i].UpperBound > u*(1+1e-9) })
		if i == 0 {
			return 0
		}
		return s[i-1].Count
	}
	out := make([]model.Bucket, 0, len(e)+1)
	for _, b := range e {
		out = append(out, model.Bucket{UpperBound: b.UpperBound, Count: math.Max(0, b.Count-at(b.UpperBound))})
	}
	total := float64(end.Count)
	if start != nil {
		total -= float64(start.Count)
	}
	return append(out, model.Bucket{UpperBound: math.Inf(1), Count: math.Max(0, total)})
}

// histSum is a native histogram's sum of observations; 0 for nil.
func histSum(h *pmodel.SampleHistogram) float64 {
	if h == nil {
		return 0
	}
	return float64(h.Sum)
}

// groupVector splits a vector by one label's value.
func groupVector(v pmodel.Vector, label string) map[string]pmodel.Vector {
	out := map[string]pmodel.Vector{}
	for _, s := range v {
		k := string(s.Metric[pmodel.LabelName(label)])
		out[k] = append(out[k], s)
	}
	return out
}

// runnerSeries looks for the runner's series in the window, settles the
// run id, and reads the scenario and the shards.
func (ob *observer) runnerSeries(ctx context.Context, o *model.Observations) (bool, error) {
	sel := model.MetricRequests + matchers("run_id", ob.cfg.RunID)
	sets, err := ob.src.Series(ctx, []string{sel, model.MetricVUs + matchers("run_id", ob.cfg.RunID)}, ob.cfg.Start, ob.cfg.End)
	if err != nil && !errors.Is(err, ErrNoSamples) {
		return false, fmt.Errorf("could not observe the window: %w", err)
	}
	runs, shards, scenarios := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, ls := range sets {
		if r := string(ls["run_id"]); r != "" {
			runs[r] = true
		}
		if s := string(ls["shard"]); s != "" {
			shards[s] = true
		}
		if s := string(ls["scenario"]); s != "" {
			scenarios[s] = true
		}
	}
	if len(sets) == 0 {
		return false, nil
	}
	if ob.cfg.RunID == "" {
		switch len(runs) {
		case 0:
		case 1:
			for r := range runs {
				o.RunID = r
			}
		default:
			return false, fmt.Errorf("could not observe the window: %w: %s; pass a run id or a narrower window", ErrSeveralRuns, strings.Join(sortedKeys(runs), ", "))
		}
	}
	ob.runSel = matchers("run_id", o.RunID)
	o.Shards = sortedKeys(shards)
	for s := range shards {
		if _, n, ok := strings.Cut(s, "/"); ok {
			if v, err := strconv.Atoi(n); err == nil && v > o.ShardsExpected {
				o.ShardsExpected = v
			}
		}
	}
	if len(scenarios) == 1 {
		for s := range scenarios {
			o.Scenario = s
		}
	}
	return true, nil
}

// window is one stage's time range.
type window struct {
	name, executor string
	start, end     time.Time
	vus, target    float64
}

// runnerWindows returns the stage windows: run.json's, or those of
// headroom_stage_active.
func (ob *observer) runnerWindows(ctx context.Context) ([]window, error) {
	var ws []window
	for _, s := range ob.cfg.Stages {
		ws = append(ws, window{name: s.Name, executor: s.Executor, start: s.Start, end: s.End, vus: float64(s.VUs), target: s.TargetRate})
	}
	if len(ws) > 0 {
		return ws, nil
	}
	first, last, err := ob.stageActivity(ctx)
	if err != nil {
		return nil, err
	}
	for name, f := range first {
		// The gauge is seen at the first flush after the stage started; a
		// stage already running when the window starts is cut there.
		start := f.Add(-ob.cfg.Step)
		if start.Before(ob.cfg.Start) {
			start = ob.cfg.Start
		}
		ws = append(ws, window{name: name, start: start, end: last[name]})
	}
	sort.Slice(ws, func(i, j int) bool {
		if !ws[i].start.Equal(ws[j].start) {
			return ws[i].start.Before(ws[j].start)
		}
		return ws[i].name < ws[j].name
	})
	if len(ws) > 0 {
		ob.log.Debug("stage windows derived from headroom_stage_active", "stages", len(ws), "resolution", ob.cfg.Step)
	}
	return ws, nil
}

// stageActivity returns, per stage, the first and the last grid point at
// which any shard's headroom_stage_active says 1.
//
// A runner that dies writes no final 0 and remote write sends no staleness
// marker, so an instant selector would keep its last sample, 1 for the
// stage it died in, for the whole lookback (5 minutes). A sample is
// therefore believed only until the series' next sample, and a series' last
// sample only at the first grid point at or after it. The queries run past
// the window's end so that a run still going on there keeps its stage.
func (ob *observer) stageActivity(ctx context.Context) (first, last map[string]time.Time, err error) {
	q, err := scoped(`max by (stage, shard) (`+model.MetricStageActive+`)`, ob.runSel)
	if err != nil {
		return nil, nil, err
	}
	tq, err := scoped(`max by (stage, shard) (timestamp(`+model.MetricStageActive+`))`, ob.runSel)
	if err != nil {
		return nil, nil, err
	}
	r := Range{Start: ob.cfg.Start, End: ob.cfg.End.Add(max(2*ob.cfg.Step, minRateWindow)), Step: ob.cfg.Step}
	vals, err := ob.src.QueryRange(ctx, q, r)
	if err != nil && !errors.Is(err, ErrNoSamples) {
		return nil, nil, fmt.Errorf("could not observe the window: %w", err)
	}
	stamps, err := ob.src.QueryRange(ctx, tq, r)
	if err != nil && !errors.Is(err, ErrNoSamples) {
		return nil, nil, fmt.Errorf("could not observe the window: %w", err)
	}
	type key struct{ stage, shard string }
	ts := map[key]map[pmodel.Time]float64{}
	latest := map[key]float64{}
	for _, s := range stamps {
		k := key{string(s.Metric["stage"]), string(s.Metric["shard"])}
		ts[k] = map[pmodel.Time]float64{}
		for _, p := range s.Values {
			ts[k][p.Timestamp] = float64(p.Value)
			latest[k] = math.Max(latest[k], float64(p.Value))
		}
	}
	first, last = map[string]time.Time{}, map[string]time.Time{}
	step := ob.cfg.Step.Seconds()
	for _, s := range vals {
		k := key{string(s.Metric["stage"]), string(s.Metric["shard"])}
		for _, p := range s.Values {
			t := p.Timestamp.Time()
			if p.Value < 1 || t.After(ob.cfg.End) {
				continue
			}
			at, ok := ts[k][p.Timestamp]
			if !ok || at >= latest[k] && float64(p.Timestamp)/1000-at >= step {
				continue
			}
			if f, ok := first[k.stage]; !ok || t.Before(f) {
				first[k.stage] = t
			}
			if t.After(last[k.stage]) {
				last[k.stage] = t
			}
		}
	}
	return first, last, nil
}

// runnerLoad reads the stages and the series from the runner's metrics.
func (ob *observer) runnerLoad(ctx context.Context, o *model.Observations) error {
	o.LoadSource = model.MetricRequestDuration
	ws, err := ob.runnerWindows(ctx)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		ws = []window{{name: "run", start: ob.cfg.Start, end: ob.cfg.End}}
	}
	// Every stage series has its final value by the run's final flush.
	evalT := ob.cfg.End.Add(2 * ob.cfg.Step)
	open := false
	for _, w := range ws {
		if strings.Contains(w.executor, "arrival-rate") {
			open = true
		}
		so, err := ob.runnerStage(ctx, w, evalT)
		if err != nil {
			return err
		}
		if so.TargetRate > 0 {
			open = true
		}
		o.Stages = append(o.Stages, so)
	}
	o.LoadModel = model.LoadClosed
	if open {
		o.LoadModel = model.LoadOpen
	}
	win := ob.cfg.RateWindow
	if win == 0 {
		win = max(2*ob.cfg.Step, minRateWindow)
	}
	ob.loadWindow = win
	sub := fmt.Sprintf("[%s:%s]", pmodel.Duration(win), pmodel.Duration(ob.cfg.Step))
	// rate of the sum over every series of the run (see Observe).
	rate := func(selector, by string) (string, error) {
		inner, err := scoped(selector, ob.runSel)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("rate((sum%s (%s))%s)", by, inner, sub), nil
	}
	queries := func(by, byLe string) (loadQueries, error) {
		var lq loadQueries
		var err error
		if lq.rps, err = rate(model.MetricRequests, by); err != nil {
			return lq, err
		}
		if lq.errs, err = rate(model.MetricRequests+`{status=~"`+failedStatus+`"}`, by); err != nil {
			return lq, err
		}
		sumQ, err := rate(model.MetricRequestDuration+"_sum", by)
		if err != nil {
			return lq, err
		}
		countQ, err := rate(model.MetricRequestDuration+"_count", by)
		if err != nil {
			return lq, err
		}
		lq.mean = sumQ + " / " + countQ
		bq, err := rate(model.MetricRequestDuration+"_bucket", byLe)
		if err != nil {
			return lq, err
		}
		// The native histogram when it exists (finer: 2% buckets), the
		// classic buckets otherwise.
		nq, err := rate(model.MetricRequestDuration, by)
		if err != nil {
			return lq, err
		}
		lq.bucket = func(q float64) string {
			return fmt.Sprintf("histogram_quantile(%g, %s) or histogram_quantile(%g, %s)", q, nq, q, bq)
		}
		return lq, nil
	}
	lq, err := queries("", " by (le)")
	if err != nil {
		return err
	}
	vusQ, err := scoped(fmt.Sprintf("sum(avg_over_time(%s[%s]))", model.MetricVUs, pmodel.Duration(win)), ob.runSel)
	if err != nil {
		return err
	}
	targetQ, err := scoped(fmt.Sprintf("sum(avg_over_time(%s[%s]))", model.MetricTargetArrivalRate, pmodel.Duration(win)), ob.runSel)
	if err != nil {
		return err
	}
	pts, err := ob.loadSeries(ctx, lq, ws)
	if err != nil {
		return err
	}
	vus, err := ob.matrix(ctx, vusQ)
	if err != nil {
		return err
	}
	target, err := ob.matrix(ctx, targetQ)
	if err != nil {
		return err
	}
	// Dropped iterations say that an open-model run's offered rate was not
	// carried; closed-model runs drop none, so they are not queried.
	var dropped pmodel.Matrix
	if open {
		droppedQ, err := rate(model.MetricDroppedIterations, "")
		if err != nil {
			return err
		}
		if dropped, err = ob.matrix(ctx, droppedQ); err != nil {
			return err
		}
	}
	var vg, tg, dg []float64
	if len(vus) > 0 {
		vg = ob.onGrid(vus[0])
	}
	if len(target) > 0 {
		tg = ob.onGrid(target[0])
	}
	if len(dropped) > 0 {
		dg = ob.onGrid(dropped[0])
	}
	for i := range pts {
		k := ob.gridIndex(pts[i].Time)
		if vg != nil {
			pts[i].VUs = nz(vg[k])
		}
		if tg != nil {
			pts[i].TargetRate = nz(tg[k])
		}
		if dg != nil {
			pts[i].DroppedRate = nz(dg[k])
		}
	}
	o.Series = pts

	// Per endpoint.
	eq, err := queries(" by (endpoint)", " by (endpoint, le)")
	if err != nil {
		return err
	}
	o.EndpointSeries, err = ob.endpointSeries(ctx, eq, "endpoint", ws)
	return err
}

// runnerStage reads one stage's totals from its stage-labelled series.
func (ob *observer) runnerStage(ctx context.Context, w window, evalT time.Time) (model.StageObservation, error) {
	so := model.StageObservation{Name: w.name, Executor: w.executor, Start: w.start, End: w.end, VUs: w.vus, TargetRate: w.target}
	rng := pmodel.Duration(evalT.Sub(w.start) + ob.cfg.Step).String()
	sel := ob.runSel[:len(ob.runSel)-1]
	if sel != "{" {
		sel += ","
	}
	sel += "stage=" + strconv.Quote(w.name) + "}"
	// The value at the end minus the value before the stage's start, which
	// is nothing when the stage lies inside the window (its series did not
	// exist yet) and the part before the window when it starts earlier.
	before := pmodel.Duration(DefaultLookbackDelta).String()
	last := func(metric, by string) (pmodel.Vector, error) {
		q, err := scoped(fmt.Sprintf("sum%s (last_over_time(%s[%s]))", by, metric, rng), sel)
		if err != nil {
			return nil, err
		}
		end, err := ob.vector(ctx, q, evalT)
		if err != nil || len(end) == 0 {
			return end, err
		}
		q0, err := scoped(fmt.Sprintf("sum%s (last_over_time(%s[%s]))", by, metric, before), sel)
		if err != nil {
			return nil, err
		}
		start, err := ob.vector(ctx, q0, w.start)
		if err != nil {
			return nil, err
		}
		return minus(end, start), nil
	}
	type get struct {
		metric, by string
		out        *pmodel.Vector
	}
	var req, errs, sum, bkt, drop, epReq, epErr, epSum, epBkt pmodel.Vector
	for _, g := range []get{
		{model.MetricRequests, "", &req},
		{model.MetricRequests + `{status=~"` + failedStatus + `"}`, "", &errs},
		{model.MetricRequestDuration + "_sum", "", &sum},
		{model.MetricRequestDuration + "_bucket", " by (le)", &bkt},
		{model.MetricDroppedIterations, "", &drop},
		{model.MetricRequests, " by (endpoint)", &epReq},
		{model.MetricRequests + `{status=~"` + failedStatus + `"}`, " by (endpoint)", &epErr},
		{model.MetricRequestDuration + "_sum", " by (endpoint)", &epSum},
		{model.MetricRequestDuration + "_bucket", " by (endpoint, le)", &epBkt},
	} {
		v, err := last(g.metric, g.by)
		if err != nil {
			return so, err
		}
		*g.out = v
	}
	so.Requests, so.Errors, so.SumSeconds, so.Dropped = nz(total(req)), nz(total(errs)), nz(total(sum)), nz(total(drop))
	so.Buckets = buckets(bkt)

	// The native histogram, when stored, replaces the classic buckets:
	// its buckets are 2% wide where the classic ones are 9%.
	histAt := func(by, within string, ts time.Time) (pmodel.Vector, error) {
		q, err := scoped(fmt.Sprintf("sum%s (last_over_time(%s[%s]))", by, model.MetricRequestDuration, within), sel)
		if err != nil {
			return nil, err
		}
		v, err := ob.vector(ctx, q, ts)
		if err != nil || hasHistogram(v) {
			return v, err
		}
		// Prometheus before 2.50 skips histogram samples in its
		// *_over_time functions (last_over_time is a float 0 there);
		// the plain selector, looking back the lookback delta, reads them.
		q, err = scoped(fmt.Sprintf("sum%s (%s)", by, model.MetricRequestDuration), sel)
		if err != nil {
			return nil, err
		}
		if pv, perr := ob.vector(ctx, q, ts); perr == nil && hasHistogram(pv) {
			return pv, nil
		}
		return v, nil
	}
	lastHist := func(by string) (end, start pmodel.Vector, err error) {
		if end, err = histAt(by, rng, evalT); err != nil || len(end) == 0 {
			return end, nil, err
		}
		start, err = histAt(by, before, w.start)
		return end, start, err
	}
	natEnd, natStart, err := lastHist("")
	if err != nil {
		return so, err
	}
	if len(natEnd) == 1 && natEnd[0].Histogram != nil {
		var st *pmodel.SampleHistogram
		if len(natStart) == 1 {
			st = natStart[0].Histogram
		}
		so.Buckets = nativeBuckets(natEnd[0].Histogram, st)
		if len(sum) == 0 {
			so.SumSeconds = histSum(natEnd[0].Histogram) - histSum(st)
		}
	}
	epNatEnd, epNatStart, err := lastHist(" by (endpoint)")
	if err != nil {
		return so, err
	}
	natBy := map[string][]model.Bucket{}
	startBy := map[string]*pmodel.SampleHistogram{}
	for _, smp := range epNatStart {
		startBy[string(smp.Metric["endpoint"])] = smp.Histogram
	}
	for _, smp := range epNatEnd {
		if smp.Histogram != nil {
			name := string(smp.Metric["endpoint"])
			natBy[name] = nativeBuckets(smp.Histogram, startBy[name])
		}
	}

	// VUs: the most active during the stage, summed over shards; the
	// offered rate at its end.
	d := pmodel.Duration(max(w.end.Sub(w.start), ob.cfg.Step)).String()
	for _, g := range []struct {
		q   string
		out *float64
	}{
		{fmt.Sprintf("sum(max_over_time(%s[%s]))", model.MetricVUs, d), &so.VUs},
		{fmt.Sprintf("sum(last_over_time(%s[%s]))", model.MetricTargetArrivalRate, d), &so.TargetRate},
	} {
		q, err := scoped(g.q, ob.runSel)
		if err != nil {
			return so, err
		}
		v, err := ob.vector(ctx, q, w.end)
		if err != nil {
			return so, err
		}
		if x := total(v); !math.IsNaN(x) {
			*g.out = math.Max(*g.out, x)
		}
	}

	errsBy := groupVector(epErr, "endpoint")
	sumBy := groupVector(epSum, "endpoint")
	bktBy := groupVector(epBkt, "endpoint")
	for _, s := range epReq {
		name := string(s.Metric["endpoint"])
		so.Endpoints = append(so.Endpoints, model.EndpointObservation{
			Endpoint:   name,
			Requests:   float64(s.Value),
			Errors:     nz(total(errsBy[name])),
			SumSeconds: nz(total(sumBy[name])),
			Buckets:    buckets(bktBy[name]),
		})
		if nb, ok := natBy[name]; ok {
			so.Endpoints[len(so.Endpoints)-1].Buckets = nb
		}
	}
	sort.Slice(so.Endpoints, func(i, j int) bool { return so.Endpoints[i].Endpoint < so.Endpoints[j].Endpoint })
	return so, nil
}

// minus subtracts b from a sample by sample, matching label sets; a
// sample of a without a match in b is kept.
func minus(a, b pmodel.Vector) pmodel.Vector {
	if len(b) == 0 {
		return a
	}
	prev := make(map[pmodel.Fingerprint]pmodel.SampleValue, len(b))
	for _, s := range b {
		prev[s.Metric.Fingerprint()] = s.Value
	}
	out := make(pmodel.Vector, 0, len(a))
	for _, s := range a {
		c := *s
		c.Value -= prev[s.Metric.Fingerprint()]
		out = append(out, &c)
	}
	return out
}

// loadQueries are the range queries of one load series.
type loadQueries struct {
	rps, errs, mean string
	bucket          func(q float64) string
}

// gridIndex returns the grid position of t.
func (ob *observer) gridIndex(t time.Time) int {
	return int(math.Round(float64(t.Sub(ob.cfg.Start)) / float64(ob.cfg.Step)))
}

// stageAt names the stage a point ending at t belongs to.
func stageAt(ws []window, t time.Time, step time.Duration) string {
	mid := t.Add(-step / 2)
	for _, w := range ws {
		if !mid.Before(w.start) && !mid.After(w.end) {
			return w.name
		}
	}
	return ""
}

// loadSeries runs the queries of one (unlabelled) load series.
func (ob *observer) loadSeries(ctx context.Context, lq loadQueries, ws []window) ([]model.LoadPoint, error) {
	eps, err := ob.endpointSeries(ctx, lq, "", ws)
	if err != nil || len(eps) == 0 {
		return nil, err
	}
	return eps[0].Points, nil
}

// endpointSeries runs the queries of a load series grouped by label (one
// series when label is empty).
func (ob *observer) endpointSeries(ctx context.Context, lq loadQueries, label string, ws []window) ([]model.EndpointSeries, error) {
	run := func(q string) (map[string]*pmodel.SampleStream, error) {
		m, err := ob.matrix(ctx, q)
		if err != nil {
			return nil, err
		}
		return byLabel(m, label), nil
	}
	rps, err := run(lq.rps)
	if err != nil {
		return nil, err
	}
	errs, err := run(lq.errs)
	if err != nil {
		return nil, err
	}
	mean, err := run(lq.mean)
	if err != nil {
		return nil, err
	}
	var qs [3]map[string]*pmodel.SampleStream
	for i, q := range []float64{0.50, 0.95, 0.99} {
		if qs[i], err = run(lq.bucket(q)); err != nil {
			return nil, err
		}
	}
	var out []model.EndpointSeries
	for _, key := range sortedMapKeys(rps) {
		r := ob.onGrid(rps[key])
		e, m := ob.onGrid(errs[key]), ob.onGrid(mean[key])
		p50, p95, p99 := ob.onGrid(qs[0][key]), ob.onGrid(qs[1][key]), ob.onGrid(qs[2][key])
		es := model.EndpointSeries{Endpoint: key}
		for i, t := range ob.grid {
			if math.IsNaN(r[i]) || r[i] <= 0 {
				continue
			}
			p := model.LoadPoint{
				Time: t, Stage: stageAt(ws, t, ob.cfg.Step), RPS: r[i],
				P50Ms: p50[i] * 1000, P95Ms: p95[i] * 1000, P99Ms: p99[i] * 1000, MeanMs: m[i] * 1000,
				ErrorRate: nz(e[i]) / r[i],
			}
			p.InFlight = p.RPS * p.MeanMs / 1000
			es.Points = append(es.Points, p)
		}
		out = append(out, es)
	}
	return out, nil
}

// serverFamily is an HTTP server latency histogram and its label names.
type serverFamily struct {
	metric                string
	method, route, status []string
}

// serverFamilies are the HTTP server histograms looked for without runner
// metrics: OpenTelemetry's semantic conventions exported to Prometheus,
// then the common client_golang name.
var serverFamilies = []serverFamily{
	{metric: "http_server_request_duration_seconds", method: []string{"http_request_method", "method"}, route: []string{"http_route", "route"}, status: []string{"http_response_status_code", "status_code", "code"}},
	{metric: "http_request_duration_seconds", method: []string{"method", "http_method"}, route: []string{"route", "handler", "path", "endpoint", "http_route"}, status: []string{"code", "status", "status_code"}},
}

// serverLoad reads the load from the selector's HTTP server metrics.
func (ob *observer) serverLoad(ctx context.Context, o *model.Observations) error {
	var fam *serverFamily
	var sets []pmodel.LabelSet
	var looked []string
	for i := range serverFamilies {
		f := &serverFamilies[i]
		sel, err := scoped(f.metric+"_count", ob.cfg.Selector)
		if err != nil {
			return err
		}
		looked = append(looked, f.metric)
		ls, err := ob.src.Series(ctx, []string{sel}, ob.cfg.Start, ob.cfg.End)
		if err != nil && !errors.Is(err, ErrNoSamples) {
			return fmt.Errorf("could not observe the window: %w", err)
		}
		if len(ls) > 0 {
			fam, sets = f, ls
			break
		}
	}
	if fam == nil {
		what := "under the selector " + ob.cfg.Selector
		if ob.cfg.Selector == "" {
			what = "(no selector given)"
		}
		run := ""
		if ob.cfg.RunID != "" {
			run = fmt.Sprintf("no %s series of run %q, and ", model.MetricRequests, ob.cfg.RunID)
		} else {
			run = fmt.Sprintf("no %s series, and ", model.MetricRequests)
		}
		return fmt.Errorf("could not observe the window: %w: %sno HTTP server histogram %s; looked for %s", ErrNoLoadMetrics, run, what, strings.Join(looked, ", "))
	}
	pick := func(cands []string) string {
		for _, c := range cands {
			for _, ls := range sets {
				if _, ok := ls[pmodel.LabelName(c)]; ok {
					return c
				}
			}
		}
		return ""
	}
	method, route, status := pick(fam.method), pick(fam.route), pick(fam.status)
	o.LoadModel = model.LoadUnknown
	o.LoadSource = fam.metric + ob.cfg.Selector
	ob.log.Debug("load from HTTP server metrics", "metric", fam.metric, "method_label", method, "route_label", route, "status_label", status)

	win := ob.cfg.RateWindow
	if win == 0 {
		win = max(2*ob.cfg.Step, serverRateWindow)
	}
	ob.loadWindow = win
	errSel := ""
	if status != "" {
		errSel = "{" + status + `=~"5.."}`
	}
	by := func(extra ...string) string {
		var ls []string
		for _, l := range append([]string{method, route}, extra...) {
			if l != "" {
				ls = append(ls, l)
			}
		}
		if len(ls) == 0 {
			return ""
		}
		return " by (" + strings.Join(ls, ", ") + ")"
	}
	w := pmodel.Duration(win).String()
	mk := func(grouped bool) (loadQueries, error) {
		g := func(extra ...string) string {
			if !grouped {
				if len(extra) > 0 {
					return " by (" + strings.Join(extra, ", ") + ")"
				}
				return ""
			}
			return by(extra...)
		}
		lq := loadQueries{
			rps:  fmt.Sprintf("sum%s (rate(%s_count[%s]))", g(), fam.metric, w),
			mean: fmt.Sprintf("sum%s (rate(%s_sum[%s])) / sum%s (rate(%s_count[%s]))", g(), fam.metric, w, g(), fam.metric, w),
			errs: fmt.Sprintf("sum%s (rate(%s_count%s[%s]))", g(), fam.metric, errSel, w),
		}
		var err error
		for _, p := range []*string{&lq.rps, &lq.mean, &lq.errs} {
			if *p, err = scoped(*p, ob.cfg.Selector); err != nil {
				return lq, err
			}
		}
		bq := fmt.Sprintf("sum%s (rate(%s_bucket[%s]))", g("le"), fam.metric, w)
		if bq, err = scoped(bq, ob.cfg.Selector); err != nil {
			return lq, err
		}
		lq.bucket = func(q float64) string { return fmt.Sprintf("histogram_quantile(%g, %s)", q, bq) }
		return lq, nil
	}
	lq, err := mk(false)
	if err != nil {
		return err
	}
	ws := ob.serverWindows()
	if o.Series, err = ob.loadSeries(ctx, lq, ws); err != nil {
		return err
	}
	// Stages: increase() over each window, evaluated at its end.
	for _, win := range ws {
		so := model.StageObservation{Name: win.name, Start: win.start, End: win.end}
		d := pmodel.Duration(win.end.Sub(win.start)).String()
		inc := func(q string) (pmodel.Vector, error) {
			s, err := scoped(q, ob.cfg.Selector)
			if err != nil {
				return nil, err
			}
			return ob.vector(ctx, s, win.end)
		}
		var req, errs, sum, bkt, epReq, epErr, epSum, epBkt pmodel.Vector
		for _, g := range []struct {
			q   string
			out *pmodel.Vector
		}{
			{fmt.Sprintf("sum(increase(%s_count[%s]))", fam.metric, d), &req},
			{fmt.Sprintf("sum(increase(%s_count%s[%s]))", fam.metric, errSel, d), &errs},
			{fmt.Sprintf("sum(increase(%s_sum[%s]))", fam.metric, d), &sum},
			{fmt.Sprintf("sum by (le) (increase(%s_bucket[%s]))", fam.metric, d), &bkt},
			{fmt.Sprintf("sum%s (increase(%s_count[%s]))", by(), fam.metric, d), &epReq},
			{fmt.Sprintf("sum%s (increase(%s_count%s[%s]))", by(), fam.metric, errSel, d), &epErr},
			{fmt.Sprintf("sum%s (increase(%s_sum[%s]))", by(), fam.metric, d), &epSum},
			{fmt.Sprintf("sum%s (increase(%s_bucket[%s]))", by("le"), fam.metric, d), &epBkt},
		} {
			if errSel == "" && g.out == &errs || errSel == "" && g.out == &epErr {
				continue
			}
			v, err := inc(g.q)
			if err != nil {
				return err
			}
			*g.out = v
		}
		so.Requests, so.Errors, so.SumSeconds = nz(total(req)), nz(total(errs)), nz(total(sum))
		so.Buckets = buckets(bkt)
		key := func(m pmodel.Metric) string { return endpointOf(m, method, route) }
		group := func(v pmodel.Vector) map[string]pmodel.Vector {
			out := map[string]pmodel.Vector{}
			for _, s := range v {
				out[key(s.Metric)] = append(out[key(s.Metric)], s)
			}
			return out
		}
		eErr, eSum, eBkt := group(epErr), group(epSum), group(epBkt)
		for name, v := range group(epReq) {
			if route == "" {
				break
			}
			so.Endpoints = append(so.Endpoints, model.EndpointObservation{
				Endpoint: name, Requests: nz(total(v)), Errors: nz(total(eErr[name])), SumSeconds: nz(total(eSum[name])),
				Buckets: buckets(eBkt[name]),
			})
		}
		sort.Slice(so.Endpoints, func(i, j int) bool { return so.Endpoints[i].Endpoint < so.Endpoints[j].Endpoint })
		o.Stages = append(o.Stages, so)
	}
	if route == "" {
		return nil
	}
	eq, err := mk(true)
	if err != nil {
		return err
	}
	raw, err := ob.endpointSeriesBy(ctx, eq, func(m pmodel.Metric) string { return endpointOf(m, method, route) }, ws)
	if err != nil {
		return err
	}
	o.EndpointSeries = raw
	return nil
}

// endpointOf names an endpoint from a server metric's labels: "METHOD
// /route/{param}" when the method is known.
func endpointOf(m pmodel.Metric, method, route string) string {
	r := string(m[pmodel.LabelName(route)])
	if method == "" || m[pmodel.LabelName(method)] == "" {
		return model.RouteTemplate(r)
	}
	return model.EndpointName(string(m[pmodel.LabelName(method)]), r)
}

// endpointSeriesBy is endpointSeries keyed by a function of the labels.
func (ob *observer) endpointSeriesBy(ctx context.Context, lq loadQueries, key func(pmodel.Metric) string, ws []window) ([]model.EndpointSeries, error) {
	relabel := func(q string) (pmodel.Matrix, error) {
		m, err := ob.matrix(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, s := range m {
			s.Metric = pmodel.Metric{"endpoint": pmodel.LabelValue(key(s.Metric))}
		}
		return m, nil
	}
	// Run each query, relabel, then reuse endpointSeries' assembly through
	// a source that serves the relabelled matrices.
	cache := map[string]pmodel.Matrix{}
	qs := []string{lq.rps, lq.errs, lq.mean, lq.bucket(0.50), lq.bucket(0.95), lq.bucket(0.99)}
	for _, q := range qs {
		m, err := relabel(q)
		if err != nil {
			return nil, err
		}
		cache[q] = m
	}
	sub := &observer{src: cachedSource{Source: ob.src, m: cache}, cfg: ob.cfg, log: ob.log, grid: ob.grid}
	return sub.endpointSeries(ctx, lq, "endpoint", ws)
}

// cachedSource answers range queries from a map.
type cachedSource struct {
	Source
	m map[string]pmodel.Matrix
}

func (c cachedSource) QueryRange(ctx context.Context, q string, r Range) (pmodel.Matrix, error) {
	if m, ok := c.m[q]; ok {
		return m, nil
	}
	return c.Source.QueryRange(ctx, q, r)
}

// serverWindows cuts the window into equal parts of at least a minute (at
// most 20), or uses the configured stages.
func (ob *observer) serverWindows() []window {
	var ws []window
	for _, s := range ob.cfg.Stages {
		ws = append(ws, window{name: s.Name, executor: s.Executor, start: s.Start, end: s.End, vus: float64(s.VUs), target: s.TargetRate})
	}
	if len(ws) > 0 {
		return ws
	}
	d := ob.cfg.End.Sub(ob.cfg.Start)
	n := max(1, min(20, int(d/time.Minute)))
	part := (d / time.Duration(n)).Truncate(time.Second)
	for i := 0; i < n; i++ {
		s := ob.cfg.Start.Add(time.Duration(i) * part)
		e := s.Add(part)
		if i == n-1 {
			e = ob.cfg.End
		}
		ws = append(ws, window{name: s.UTC().Format("15:04:05"), start: s, end: e})
	}
	return ws
}

// resources discovers and collects every resource of the catalog.
func (ob *observer) resources(ctx context.Context, o *model.Observations) error {
	det, err := Discover(ctx, ob.src, ob.cfg.Catalog, ob.cfg.Selectors, ob.cfg.Start, ob.cfg.End)
	if err != nil {
		return fmt.Errorf("could not observe the resources: %w", err)
	}
	for _, d := range det {
		if !d.Found() {
			o.Missing = append(o.Missing, model.MissingResource{Kind: d.Kind, Name: d.Name, LookedFor: d.LookedFor,
				Candidates: d.Candidates, CatalogSnippet: d.CatalogSnippet})
		}
		for _, n := range d.Notes {
			ob.log.Debug("resource note", "kind", d.Kind, "note", n)
		}
	}
	if ob.loadWindow > 0 {
		// A load point is a rate over the window ending at its time, so it
		// describes the middle of that window; an instantaneous gauge read
		// at the same time runs ahead of it by half a window, and on a ramp
		// a resource would seem to saturate at a load lower than it did.
		// Averaging the gauges over the same window aligns the two.
		for i := range det {
			q := &det[i].Queries
			for _, p := range []*string{&q.Usage, &q.Utilization, &q.Saturation} {
				if *p == "" {
					continue
				}
				sm, err := smoothGauges(*p, ob.loadWindow)
				if err != nil {
					return fmt.Errorf("could not observe the resources: %w", err)
				}
				*p = sm
			}
		}
	}
	series, err := CollectResources(ctx, ob.src, det, Range{Start: ob.cfg.Start, End: ob.cfg.End, Step: ob.cfg.Step})
	if err != nil {
		return fmt.Errorf("could not observe the resources: %w", err)
	}
	for _, rs := range series {
		for _, n := range rs.Notes {
			ob.log.Debug("resource note", "kind", rs.Kind, "note", n)
		}
		o.Resources = append(o.Resources, resourceObservation(rs))
	}
	return nil
}

// resourceObservation folds a resource's labelled series into one point
// per grid time: usage, limit and queueing are summed over series, and
// utilization is the largest of the series' (the instance closest to its
// limit saturates first). A grid time without usage is left out: gaps are
// absent points, never zeros.
func resourceObservation(rs ResourceSeries) model.ResourceObservation {
	ro := model.ResourceObservation{
		Kind: rs.Kind, Name: rs.Name, Family: rs.Family, Unit: rs.Unit, SaturationUnit: rs.SaturationUnit,
		LimitSource: rs.LimitSource,
	}
	at := func(ss []model.LabeledSeries, i int, agg func(a, b float64) float64) (float64, bool) {
		v, ok := 0.0, false
		for _, s := range ss {
			if i < len(s.Values) && !math.IsNaN(s.Values[i]) {
				if !ok {
					v, ok = s.Values[i], true
				} else {
					v = agg(v, s.Values[i])
				}
			}
		}
		return v, ok
	}
	add := func(a, b float64) float64 { return a + b }
	for i, t := range rs.Times {
		usage, ok := at(rs.Usage, i, add)
		if !ok {
			continue
		}
		p := model.ResourcePoint{Time: t, Usage: usage}
		if lim, ok := at(rs.Limit, i, add); ok && lim > 0 {
			p.Limit, p.HasLimit = lim, true
			p.Utilization = usage / lim
			if u, ok := at(rs.Utilization, i, math.Max); ok {
				p.Utilization = u
			}
		} else if u, ok := at(rs.Utilization, i, math.Max); ok {
			// A family with its own utilization query and no limit.
			p.Utilization, p.HasLimit = u, true
			if u > 0 {
				p.Limit = usage / u
			}
		}
		if s, ok := at(rs.Saturation, i, add); ok {
			p.Saturation, p.HasSaturation = s, true
		}
		ro.Points = append(ro.Points, p)
	}
	return ro
}

// hasHistogram says whether a vector holds a native histogram.
func hasHistogram(v pmodel.Vector) bool {
	for _, smp := range v {
		if smp.Histogram != nil {
			return true
		}
	}
	return false
}
