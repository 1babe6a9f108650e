package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/model"
)

// ErrNoTraffic is returned by ObserveProduction when the traffic query
// returned no samples in the review window.
var ErrNoTraffic = errors.New("no traffic in the review window")

// minProductionRateWindow is the shortest rate window of a review's
// queries: four scrapes at the common 15s interval.
const minProductionRateWindow = time.Minute

// ProductionConfig refines ObserveProductionWith; the zero value is what
// ObserveProduction uses.
type ProductionConfig struct {
	// Catalog maps resource kinds to PromQL; nil means DefaultCatalog().
	Catalog *model.Catalog
	// Selectors scope the resources per kind and state limits the metrics
	// do not know; an empty Default means the spec's Selector, a zero
	// RateWindow the review's rate window.
	Selectors Selectors
	// Logger receives what could not be measured, at debug level; nil
	// discards it.
	Logger *slog.Logger
}

func (c *ProductionConfig) defaults(spec *model.ReviewSpec, rateWindow time.Duration) {
	if c.Catalog == nil {
		c.Catalog = DefaultCatalog()
	}
	if c.Selectors.Selector == "" {
		c.Selectors.Selector = spec.Selector
	}
	if c.Selectors.RateWindow == 0 {
		c.Selectors.RateWindow = rateWindow
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// ObserveProduction reads what a capacity review fits from production
// metrics: over [end − Lookback, end] at Step, the service's traffic
// (requests/s), the latency its SLO limits (seconds), its error ratio and
// the utilization of every watched resource, all on one grid. It is
// ObserveProductionWith with the built-in catalog.
func ObserveProduction(ctx context.Context, src Source, spec model.ReviewSpec, end time.Time) (model.ProductionObservations, error) {
	return ObserveProductionWith(ctx, src, spec, end, ProductionConfig{})
}

// ObserveProductionWith is ObserveProduction with a catalog, per-resource
// selectors and limits.
//
// Empty traffic and latency queries are filled from the HTTP server
// histogram found under the spec's Selector (the families Observe reads
// without runner metrics, serverFamilies): traffic is
// sum(rate(<family>_count[w])), latency the p95 of the SLO,
// histogram_quantile(0.95, sum by (le) (rate(<family>_bucket[w]))), and the
// error ratio the share of 5xx responses when the family has a status
// label; the mean latency, sum(rate(<family>_sum[w])) /
// sum(rate(<family>_count[w])), is read too, for the analyzer to find the
// shape of latency against traffic without histogram_quantile's bucket
// error. Each rate window w is the step (at least a minute), so that every
// grid point summarises the step before it and no request is counted
// twice. Resources are found and read with Discover and CollectResources,
// the code behind `headroom resources` and `headroom analyze`; their
// utilization on each grid point is that of the instance closest to its
// limit, as in Observe.
func ObserveProductionWith(ctx context.Context, src Source, spec model.ReviewSpec, end time.Time, cfg ProductionConfig) (model.ProductionObservations, error) {
	var o model.ProductionObservations
	if src == nil {
		return o, errors.New("could not observe production traffic: no metrics source")
	}
	spec.SetDefaults()
	if err := spec.Validate(); err != nil {
		return o, fmt.Errorf("could not observe production traffic: invalid review spec:\n%w", err)
	}
	if end.IsZero() {
		return o, fmt.Errorf("could not observe production traffic of %q: the review window has no end", spec.Service)
	}
	if _, err := ParseSelector(spec.Selector); err != nil {
		return o, fmt.Errorf("could not observe production traffic of %q: selector: %w", spec.Service, err)
	}
	step := spec.Step.D()
	start := end.Add(-spec.Lookback.D())
	win := max(step, minProductionRateWindow)
	cfg.defaults(&spec, win)
	times := grid(start, end, step)
	o = model.ProductionObservations{
		Service: spec.Service, Start: start, End: end,
		StepMs: float64(step) / float64(time.Millisecond), Times: times,
	}
	p := &production{src: src, spec: spec, cfg: cfg, r: Range{Start: start, End: end, Step: step}, n: len(times), win: win}

	if err := p.queries(ctx, &o); err != nil {
		return model.ProductionObservations{}, err
	}
	var err error
	if o.RPS, err = p.series(ctx, "traffic", o.TrafficQuery); err != nil {
		return model.ProductionObservations{}, err
	}
	if st := o.RPS.Stats(); st.Present == 0 {
		return model.ProductionObservations{}, fmt.Errorf("could not observe production traffic of %q: %w: the traffic query %s returned no samples over [%s, %s]%s",
			spec.Service, ErrNoTraffic, o.TrafficQuery, start.Format(time.RFC3339), end.Format(time.RFC3339), sourceName(src))
	}
	if o.LatencyS, err = p.series(ctx, "latency", o.LatencyQuery); err != nil {
		return model.ProductionObservations{}, err
	}
	if st := o.LatencyS.Stats(); st.Present == 0 {
		o.Notes = append(o.Notes, fmt.Sprintf("the latency query returned no samples: %s", o.LatencyQuery))
	}
	if o.MeanLatencyQuery != "" {
		if o.MeanLatencyS, err = p.series(ctx, "mean latency", o.MeanLatencyQuery); err != nil {
			return model.ProductionObservations{}, err
		}
	}
	if o.ErrorQuery != "" {
		if o.ErrorRate, err = p.series(ctx, "error", o.ErrorQuery); err != nil {
			return model.ProductionObservations{}, err
		}
	}
	if err := p.resources(ctx, &o); err != nil {
		return model.ProductionObservations{}, err
	}
	return o, nil
}

type production struct {
	src  Source
	spec model.ReviewSpec
	cfg  ProductionConfig
	r    Range
	n    int
	win  time.Duration
}

// queries fills the traffic, latency and error queries: the spec's, scoped
// by nothing (they are the user's PromQL, run as written), or the catalog
// defaults over the selector.
func (p *production) queries(ctx context.Context, o *model.ProductionObservations) error {
	o.TrafficQuery, o.LatencyQuery, o.ErrorQuery = strings.TrimSpace(p.spec.TrafficQuery), strings.TrimSpace(p.spec.LatencyQuery), strings.TrimSpace(p.spec.ErrorQuery)
	for _, q := range []struct{ name, q string }{{"traffic_query", o.TrafficQuery}, {"latency_query", o.LatencyQuery}, {"error_query", o.ErrorQuery}} {
		if q.q == "" {
			continue
		}
		if _, err := ParseQuery(q.q); err != nil {
			return fmt.Errorf("could not observe production traffic of %q: %s: %w", p.spec.Service, q.name, err)
		}
	}
	if o.TrafficQuery != "" && o.LatencyQuery != "" {
		return nil
	}
	fam, status, looked, err := p.serverFamily(ctx)
	if err != nil {
		return err
	}
	if fam == nil {
		missing := "traffic_query"
		if o.TrafficQuery != "" {
			missing = "latency_query"
		}
		return fmt.Errorf("could not observe production traffic of %q: %w: no HTTP server histogram under the selector %s over [%s, %s]%s; looked for %s; set %s",
			p.spec.Service, ErrNoLoadMetrics, p.spec.Selector, p.r.Start.Format(time.RFC3339), p.r.End.Format(time.RFC3339), sourceName(p.src), strings.Join(looked, ", "), missing)
	}
	w := pmodel.Duration(p.win).String()
	sc := func(q string) (string, error) { return scoped(q, p.spec.Selector) }
	if o.TrafficQuery == "" {
		if o.TrafficQuery, err = sc(fmt.Sprintf("sum(rate(%s_count[%s]))", fam.metric, w)); err != nil {
			return err
		}
	}
	if o.LatencyQuery == "" {
		// The SLO limits the p95 (model.SLO.P95Ms).
		if o.LatencyQuery, err = sc(fmt.Sprintf("histogram_quantile(0.95, sum by (le) (rate(%s_bucket[%s])))", fam.metric, w)); err != nil {
			return err
		}
		if o.MeanLatencyQuery, err = sc(fmt.Sprintf("sum(rate(%s_sum[%s])) / sum(rate(%s_count[%s]))", fam.metric, w, fam.metric, w)); err != nil {
			return err
		}
	}
	if o.ErrorQuery == "" && status != "" && p.spec.TrafficQuery == "" {
		if o.ErrorQuery, err = sc(fmt.Sprintf(`sum(rate(%s_count{%s=~"5.."}[%s])) / sum(rate(%s_count[%s]))`, fam.metric, status, w, fam.metric, w)); err != nil {
			return err
		}
	}
	return nil
}

// serverFamily finds the first HTTP server histogram family with series
// under the selector in the window, and its status label.
func (p *production) serverFamily(ctx context.Context) (*serverFamily, string, []string, error) {
	var looked []string
	for i := range serverFamilies {
		f := &serverFamilies[i]
		looked = append(looked, f.metric)
		sel, err := scoped(f.metric+"_count", p.spec.Selector)
		if err != nil {
			return nil, "", looked, err
		}
		sets, err := p.src.Series(ctx, []string{sel}, p.r.Start, p.r.End)
		if err != nil && !errors.Is(err, ErrNoSamples) {
			return nil, "", looked, fmt.Errorf("could not observe production traffic of %q: %w", p.spec.Service, err)
		}
		if len(sets) == 0 {
			continue
		}
		for _, c := range f.status {
			for _, ls := range sets {
				if _, ok := ls[pmodel.LabelName(c)]; ok {
					return f, c, looked, nil
				}
			}
		}
		return f, "", looked, nil
	}
	return nil, "", looked, nil
}

// sourceName is " on URL" for a source that has one (the Prometheus API).
func sourceName(src Source) string {
	if u, ok := src.(interface{ URL() string }); ok {
		return " on " + u.URL()
	}
	return ""
}

// series runs a range query that must return one series (several are
// summed) and places it on the grid.
func (p *production) series(ctx context.Context, what, q string) (model.Samples, error) {
	m, err := p.src.QueryRange(ctx, q, p.r)
	if err != nil && !errors.Is(err, ErrNoSamples) {
		return nil, fmt.Errorf("could not observe production %s of %q: %w", what, p.spec.Service, err)
	}
	out := make(model.Samples, p.n)
	for i := range out {
		out[i] = math.NaN()
	}
	for _, ls := range alignMatrix(m, p.r.Start, p.r.Step, p.n) {
		for i, v := range ls.Values {
			switch {
			case math.IsNaN(v) || math.IsInf(v, 0):
			case math.IsNaN(out[i]):
				out[i] = v
			default:
				out[i] += v
			}
		}
	}
	return out, nil
}

// resources discovers the watched resources and reads their utilization.
func (p *production) resources(ctx context.Context, o *model.ProductionObservations) error {
	cat := p.cfg.Catalog
	if len(p.spec.Resources) > 0 {
		sub := &model.Catalog{}
		for i, k := range p.spec.Resources {
			r := cat.Resource(k)
			if r == nil {
				return fmt.Errorf("could not observe the resources of %q: resources[%d]: no resource kind %q in the catalog; known kinds: %s",
					p.spec.Service, i, k, strings.Join(catalogKinds(cat), ", "))
			}
			sub.Resources = append(sub.Resources, cloneResource(*r))
		}
		cat = sub
		// Selectors for kinds that are not watched would not resolve.
		sel := p.cfg.Selectors
		sel.SelectorFor, sel.LimitFor = keep(sel.SelectorFor, cat), keep(sel.LimitFor, cat)
		p.cfg.Selectors = sel
	}
	det, err := Discover(ctx, p.src, cat, p.cfg.Selectors, p.r.Start, p.r.End)
	if err != nil {
		return fmt.Errorf("could not observe the resources of %q: %w", p.spec.Service, err)
	}
	for _, d := range det {
		if !d.Found() {
			o.Missing = append(o.Missing, model.MissingResource{Kind: d.Kind, Name: d.Name, LookedFor: d.LookedFor})
		}
	}
	series, err := CollectResources(ctx, p.src, det, p.r)
	if err != nil {
		return fmt.Errorf("could not observe the resources of %q: %w", p.spec.Service, err)
	}
	queries := map[string]Queries{}
	for _, d := range det {
		queries[d.Kind] = d.Queries
	}
	for _, rs := range series {
		for _, n := range rs.Notes {
			p.cfg.Logger.Debug("resource note", "kind", rs.Kind, "note", n)
		}
		ro := resourceObservation(rs)
		pr := model.ProductionResource{Kind: rs.Kind, Name: rs.Name, Family: rs.Family, Utilization: make(model.Samples, p.n)}
		for i := range pr.Utilization {
			pr.Utilization[i] = math.NaN()
		}
		found := false
		for _, pt := range ro.Points {
			if !pt.HasLimit {
				continue
			}
			i := int(math.Round(float64(pt.Time.Sub(p.r.Start)) / float64(p.r.Step)))
			if i >= 0 && i < p.n {
				pr.Utilization[i] = pt.Utilization
				pr.Limit = pt.Limit
				found = true
			}
		}
		if !found {
			o.Notes = append(o.Notes, fmt.Sprintf("%s (%s) has no limit in the window, so it has no utilization and cannot saturate; state one with a limit for %s", rs.Name, rs.Family, rs.Kind))
			continue
		}
		q := queries[rs.Kind]
		pr.Query = q.Utilization
		if pr.Query == "" {
			pr.Query = "(" + q.Usage + ") / (" + q.Limit + ")"
			if q.Limit == "" {
				pr.Query = q.Usage + " / configured limit"
			}
		}
		o.Resources = append(o.Resources, pr)
	}
	return nil
}

// keep drops the keys of m whose kind is not in cat.
func keep[V any](m map[string]V, cat *model.Catalog) map[string]V {
	if m == nil {
		return nil
	}
	out := map[string]V{}
	for k, v := range m {
		kind, _, _ := strings.Cut(k, "/")
		if cat.Resource(kind) != nil {
			out[k] = v
		}
	}
	return out
}
