package collector

import (
	"context"
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/internal/selector"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

// ResourceSeries is one detected resource measured over a window; the type
// lives in model so the analyzer can read it.
type ResourceSeries = model.ResourceSeries

// Selectors scope the catalog's queries to the system under test: the
// scope the dashboards use as well, and how the collector reads rates and
// CPU limits.
type Selectors struct {
	// Scope holds the selectors and stated limits (Selector, SelectorFor,
	// LimitFor).
	model.Scope
	// RateWindow replaces the range of every range selector in the
	// catalog's queries ([30s] in the built-in catalog); 0 keeps them.
	// It must cover at least two scrapes.
	RateWindow time.Duration
	// LocalCores is this machine's core count, given by a caller that can
	// know it (runtime.NumCPU); 0 when unknown. It is the last CPU limit
	// tried for the cpu kind, and only when every series of the family
	// comes from a target on this machine (an instance of 127.0.0.1,
	// localhost or [::1]): a process here can use at most these cores.
	LocalCores int
}

// check verifies that every selector parses, every key names a kind (and
// family) of the catalog and the collector's own settings are in range.
func (s Selectors) check(cat *model.Catalog) error {
	if err := selector.CheckScope(s.Scope, cat); err != nil {
		return err
	}
	if s.RateWindow < 0 {
		return fmt.Errorf("rate window %s is negative", s.RateWindow)
	}
	if s.LocalCores < 0 {
		return fmt.Errorf("local cores %d is negative", s.LocalCores)
	}
	return nil
}

// Queries are a detected family's queries, scoped and ready to run.
type Queries struct {
	Detect      string `json:"detect"`
	Usage       string `json:"usage"`
	Limit       string `json:"limit,omitempty"`
	Utilization string `json:"utilization,omitempty"`
	Saturation  string `json:"saturation,omitempty"`
}

// Attempt is one family Discover tried for a resource.
type Attempt struct {
	Family   string `json:"family"`
	Selector string `json:"selector,omitempty"`
	// Query is the scoped Detect query that was run.
	Query string `json:"query"`
	// Series is how many series it returned in the window.
	Series int `json:"series"`
	// Outcome says what happened, in a sentence.
	Outcome string `json:"outcome"`
}

// Detected is what Discover found for one resource kind.
type Detected struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Family is the family used; empty when none was found.
	Family         string `json:"family,omitempty"`
	Unit           string `json:"unit,omitempty"`
	SaturationUnit string `json:"saturation_unit,omitempty"`
	// Selector is the selector the family's queries were scoped with.
	Selector string `json:"selector,omitempty"`
	// Queries are what CollectResources runs.
	Queries Queries `json:"queries"`
	// LimitSource says where the limit comes from: "catalog", a
	// fallback's source, or "configured"; empty when there is no limit.
	LimitSource string `json:"limit_source,omitempty"`
	// Tried lists every family tried, in order, the used one last.
	Tried []Attempt `json:"tried"`
	// LookedFor names the metrics of the families tried, e.g. "pgxpool_*".
	LookedFor []string `json:"looked_for"`
	// Candidates are, when no family was found, metric names seen in the
	// window that look like this kind of resource; CatalogSnippet is a
	// --catalog file that declares them (see Hint).
	Candidates     []string `json:"candidates,omitempty"`
	CatalogSnippet string   `json:"catalog_snippet,omitempty"`
	// Notes explain choices and doubts: unscoped series, missing limits.
	Notes []string `json:"notes,omitempty"`
	// FamilyNotes are the catalog's notes on the family used.
	FamilyNotes string `json:"family_notes,omitempty"`
}

// Found reports whether a family was detected.
func (d Detected) Found() bool { return d.Family != "" }

// Missing says, in a sentence, that nothing was found and what was looked
// for: "no DB connection pool metrics found; looked for pgxpool_*, go_sql_stats_connections_*, hikaricp_*".
func (d Detected) Missing() string {
	name := d.Name
	if name == "" {
		name = d.Kind
	}
	if len(d.LookedFor) == 0 {
		return fmt.Sprintf("no %s in the catalog", name)
	}
	return fmt.Sprintf("no %s metrics found; looked for %s", name, strings.Join(d.LookedFor, ", "))
}

// Discover finds, for each resource of the catalog, the first family whose
// Detect query returns series between start and end, and resolves its
// queries and limit. Resources without a family are returned too (Found
// is false), so a report can say what it looked for.
//
// Queries Prometheus rejects (ErrBadQuery) count as "not found" and are
// reported in Tried; any other error, such as Prometheus being down, stops
// discovery.
func Discover(ctx context.Context, src Source, cat *model.Catalog, sel Selectors, start, end time.Time) ([]Detected, error) {
	if src == nil || cat == nil {
		return nil, errors.New("could not discover resources: a source and a catalog are required")
	}
	if !end.After(start) {
		return nil, fmt.Errorf("could not discover resources: the window end %s is not after its start %s",
			end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	if err := validateCatalog(cat); err != nil {
		return nil, fmt.Errorf("could not discover resources: %w", err)
	}
	if err := sel.check(cat); err != nil {
		return nil, fmt.Errorf("could not discover resources: %w", err)
	}
	d := &discoverer{src: src, sel: sel, start: start, end: end, step: detectStep(start, end)}
	h := newHinter(d, cat)
	out := make([]Detected, 0, len(cat.Resources))
	for i := range cat.Resources {
		det, err := d.resource(ctx, &cat.Resources[i])
		if err != nil {
			return nil, fmt.Errorf("could not discover resource %s: %w", cat.Resources[i].Kind, err)
		}
		if !det.Found() {
			if err := h.hint(ctx, &det); err != nil {
				return nil, fmt.Errorf("could not discover resource %s: %w", det.Kind, err)
			}
		}
		out = append(out, det)
	}
	q, err := h.queueHint(ctx, cat)
	if err != nil {
		return nil, fmt.Errorf("could not discover resources: %w", err)
	}
	if q != nil {
		out = append(out, *q)
	}
	return out, nil
}

// detectStep is the resolution of detection queries: about 500 points
// over the window, at least 1s, at most 1m (well inside the 5m lookback
// delta, so a series that lives a minute is seen), and never more than
// 10,000 points.
func detectStep(start, end time.Time) time.Duration {
	w := end.Sub(start)
	step := min(max(w/500, time.Second), time.Minute)
	if w/step > 10_000 {
		step = w / 10_000
	}
	return step.Truncate(time.Second)
}

type discoverer struct {
	src        Source
	sel        Selectors
	start, end time.Time
	step       time.Duration
}

func (d *discoverer) resource(ctx context.Context, r *model.CatalogResource) (Detected, error) {
	det := Detected{Kind: r.Kind, Name: r.Name}
	if det.Name == "" {
		det.Name = r.Kind
	}
	for fi := range r.Families {
		f := &r.Families[fi]
		det.LookedFor = append(det.LookedFor, familyMetrics(f))
		selStr, explicit := d.sel.Resolve(r, f)
		ms, _ := ParseSelector(selStr) // checked by Selectors.check and validateCatalog
		q, err := scopedQuery(f.Detect, ms, d.sel.RateWindow)
		if err != nil {
			return det, fmt.Errorf("family %s: detect: %w", f.Name, err)
		}
		att := Attempt{Family: f.Name, Selector: selStr, Query: q}
		n, err := d.count(ctx, q)
		switch {
		case errors.Is(err, ErrBadQuery):
			att.Outcome = "the source rejected the query: " + err.Error()
			det.Tried = append(det.Tried, att)
			continue
		case err != nil:
			return det, fmt.Errorf("family %s: %w", f.Name, err)
		}
		att.Series = n
		var notes []string
		if n == 0 && f.External && !explicit && len(ms) > 0 {
			// An exporter's series lack the application's labels: use
			// them unscoped when they come from one target only.
			targets, err := d.targets(ctx, f.Detect)
			if err != nil {
				return det, fmt.Errorf("family %s: %w", f.Name, err)
			}
			switch len(targets) {
			case 0:
			case 1:
				unscoped, _ := scopedQuery(f.Detect, nil, d.sel.RateWindow)
				if n, err = d.count(ctx, unscoped); err != nil && !errors.Is(err, ErrBadQuery) {
					return det, fmt.Errorf("family %s: %w", f.Name, err)
				}
				if n > 0 {
					notes = append(notes, fmt.Sprintf("no %s series match %s; using the only target that exports them (%s); pin it with --selector-for %s='{…}'",
						f.Name, selStr, targets[0], r.Kind))
					selStr, ms = "", nil
					att.Query, att.Selector, att.Series = unscoped, "", n
				}
			default:
				att.Outcome = fmt.Sprintf("no series match %s; %d targets export them (%s): choose one with --selector-for %s='{…}'",
					selStr, len(targets), strings.Join(targets, ", "), r.Kind)
			}
		}
		if n == 0 {
			if att.Outcome == "" {
				att.Outcome = "no series in the window"
			}
			det.Tried = append(det.Tried, att)
			continue
		}
		att.Outcome = fmt.Sprintf("found %d series", n)
		det.Tried = append(det.Tried, att)
		if err := d.use(ctx, &det, r, f, selStr, ms, explicit); err != nil {
			return det, fmt.Errorf("family %s: %w", f.Name, err)
		}
		det.Notes = append(notes, det.Notes...)
		return det, nil
	}
	return det, nil
}

// use fills det with the family's scoped queries and resolves its limit.
func (d *discoverer) use(ctx context.Context, det *Detected, r *model.CatalogResource, f *model.MetricFamily, selStr string, ms []*labels.Matcher, explicit bool) error {
	det.Family, det.Unit, det.SaturationUnit, det.Selector, det.FamilyNotes = f.Name, f.Unit, f.SaturationUnit, selStr, f.Notes
	scope := func(q string) string {
		if strings.TrimSpace(q) == "" {
			return ""
		}
		s, _ := scopedQuery(q, ms, d.sel.RateWindow) // validated up front
		return s
	}
	det.Queries = Queries{
		Detect:      scope(f.Detect),
		Usage:       scope(f.Usage),
		Utilization: scope(f.Utilization),
		Saturation:  scope(f.Saturation),
	}
	if v, ok := d.sel.Limit(r.Kind, f.Name); ok {
		det.Queries.Limit = "vector(" + numfmt.Plain(v) + ")"
		det.LimitSource = "configured"
		return nil
	}
	if f.Limit == "" {
		return nil
	}
	var looked []string
	if q := scope(f.Limit); q != "" {
		n, err := d.count(ctx, q)
		if err != nil && !errors.Is(err, ErrBadQuery) {
			return fmt.Errorf("limit: %w", err)
		}
		if n > 0 {
			det.Queries.Limit, det.LimitSource = q, orDefault(f.LimitSource, "catalog")
			return nil
		}
		looked = append(looked, q)
	}
	for _, fb := range f.LimitFallbacks {
		fms, fbExplicit := ms, explicit
		if fb.Selector != "" {
			fms, _ = ParseSelector(fb.Selector)
			fbExplicit = true
		}
		q, _ := scopedQuery(fb.Query, fms, d.sel.RateWindow)
		n, err := d.count(ctx, q)
		if err != nil && !errors.Is(err, ErrBadQuery) {
			return fmt.Errorf("limit fallback %q: %w", fb.Query, err)
		}
		source := fb.Source
		if source == "" {
			source = fb.Query
		}
		if n > 0 {
			det.Queries.Limit, det.LimitSource = q, source
			return nil
		}
		looked = append(looked, q)
		if !fb.External || fbExplicit || len(fms) == 0 {
			continue
		}
		targets, err := d.targets(ctx, fb.Query)
		if err != nil {
			return fmt.Errorf("limit fallback %q: %w", fb.Query, err)
		}
		if len(targets) == 1 {
			uq, _ := scopedQuery(fb.Query, nil, d.sel.RateWindow)
			det.Queries.Limit, det.LimitSource = uq, source
			det.Notes = append(det.Notes, fmt.Sprintf("limit from %s, using the only target that exports it (%s)", source, targets[0]))
			return nil
		}
		if len(targets) > 1 {
			det.Notes = append(det.Notes, fmt.Sprintf("%s: %d targets export it (%s), so it is ambiguous", source, len(targets), strings.Join(targets, ", ")))
		}
	}
	if r.Kind == model.KindCPU && d.sel.LocalCores > 0 {
		local, inst, err := d.onThisMachine(ctx, det.Queries.Detect)
		if err != nil {
			return fmt.Errorf("limit: %w", err)
		}
		if local {
			det.Queries.Limit = "vector(" + strconv.Itoa(d.sel.LocalCores) + ")"
			det.LimitSource = fmt.Sprintf("this machine's %d cores (the target %s runs on this machine)", d.sel.LocalCores, inst)
			return nil
		}
	}
	det.Notes = append(det.Notes, fmt.Sprintf("no limit found (tried %s); state it with --limit-for %s=N (in %s)",
		strings.Join(looked, "; "), r.Kind, orDefault(f.Unit, "the family's unit")))
	return nil
}

// onThisMachine reports whether every series of query's selectors in the
// window comes from a target on this machine (an instance label whose host
// is 127.0.0.1, localhost or ::1), and names the instances.
func (d *discoverer) onThisMachine(ctx context.Context, query string) (bool, string, error) {
	sels, _, err := querySelectors(query)
	if err != nil {
		return false, "", err
	}
	sets, err := d.src.Series(ctx, sels, d.start, d.end)
	if err != nil {
		return false, "", err
	}
	seen := map[string]bool{}
	for _, ls := range sets {
		inst := string(ls[pmodel.InstanceLabel])
		if !loopbackInstance(inst) {
			return false, "", nil
		}
		seen[inst] = true
	}
	if len(seen) == 0 {
		return false, "", nil
	}
	return true, strings.Join(sortedKeys(seen), ", "), nil
}

// loopbackInstance reports whether an instance label ("127.0.0.1:8080",
// "localhost:9090", "[::1]:8080") names this machine.
func loopbackInstance(inst string) bool {
	host := inst
	if h, _, err := net.SplitHostPort(inst); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// count returns how many series q returns at some point of the window.
func (d *discoverer) count(ctx context.Context, q string) (int, error) {
	m, err := d.src.QueryRange(ctx, q, Range{Start: d.start, End: d.end, Step: d.step})
	if errors.Is(err, ErrNoSamples) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return len(m), nil
}

// targets lists the distinct targets (job and instance) that export the
// series of query's selectors, unscoped, in the window.
func (d *discoverer) targets(ctx context.Context, query string) ([]string, error) {
	sels, _, err := querySelectors(query)
	if err != nil {
		return nil, err
	}
	sets, err := d.src.Series(ctx, sels, d.start, d.end)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, ls := range sets {
		var parts []string
		for _, l := range []pmodel.LabelName{"job", "instance"} {
			if v, ok := ls[l]; ok {
				parts = append(parts, string(l)+"="+strconv.Quote(string(v)))
			}
		}
		seen["{"+strings.Join(parts, ",")+"}"] = true
	}
	return sortedKeys(seen), nil
}

// familyMetrics names a family's metrics for "looked for" messages: the
// common prefix of its Detect and Usage metrics with a star ("pgxpool_*")
// when they share a distinctive one, else the metric names.
func familyMetrics(f *model.MetricFamily) string {
	set := map[string]bool{}
	for _, q := range []string{f.Detect, f.Usage} {
		if _, ns, err := querySelectors(q); err == nil {
			for _, n := range ns {
				set[n] = true
			}
		}
	}
	names := sortedKeys(set)
	switch len(names) {
	case 0:
		return f.Name
	case 1:
		return names[0]
	}
	p := names[0]
	for _, n := range names[1:] {
		for !strings.HasPrefix(n, p) {
			p = p[:len(p)-1]
		}
	}
	// A prefix such as "pg_" or "node_" says too little to look for.
	if i := strings.LastIndex(p, "_"); i >= 5 {
		return p[:i+1] + "*"
	}
	return strings.Join(names, ", ")
}

// CollectResources runs the queries of every detected resource over r and
// returns their series aligned to one grid (r.Start, r.Start+r.Step, … up
// to r.End). A step of 0 means about 250 points, at least 1s. Grid points
// without a sample are NaN: gaps are marked, never filled. Utilization is
// Usage / Limit matched by labels (a single limit series applies to every
// usage series) unless the family has its own utilization query.
// Rates whose window reaches before their series' first sample (the
// series of a run's own store begin with the run) are taken over the data
// present instead (see clipRateStart). Resources that were not found are
// skipped.
func CollectResources(ctx context.Context, src Source, detected []Detected, r Range) ([]ResourceSeries, error) {
	if !r.End.After(r.Start) {
		return nil, fmt.Errorf("could not collect resources: the window end %s is not after its start %s",
			r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))
	}
	if r.Step < 0 {
		return nil, fmt.Errorf("could not collect resources: step %s is negative", r.Step)
	}
	if r.Step == 0 {
		r.Step = max(r.End.Sub(r.Start)/250, time.Second).Truncate(time.Second)
	}
	n := int(r.End.Sub(r.Start)/r.Step) + 1
	times := make([]time.Time, n)
	for i := range times {
		times[i] = r.Start.Add(time.Duration(i) * r.Step)
	}
	var out []ResourceSeries
	for _, d := range detected {
		if !d.Found() {
			continue
		}
		rs := ResourceSeries{
			Kind: d.Kind, Name: d.Name, Family: d.Family,
			Unit: d.Unit, SaturationUnit: d.SaturationUnit, LimitSource: d.LimitSource,
			Times: times, StepMs: float64(r.Step) / float64(time.Millisecond),
			Notes: append([]string(nil), d.Notes...),
		}
		gaps := &groupedNotes{}
		get := func(field, q string) ([]model.LabeledSeries, error) {
			if q == "" {
				return nil, nil
			}
			m, err := src.QueryRange(ctx, q, r)
			if err != nil && !errors.Is(err, ErrNoSamples) {
				return nil, fmt.Errorf("could not collect %s (%s) %s: %w", d.Kind, d.Family, field, err)
			}
			ss := alignMatrix(m, r.Start, r.Step, n)
			if err := clipRateStart(ctx, src, q, r, ss); err != nil {
				// The points stay as the range query gave them.
				rs.Notes = append(rs.Notes, fmt.Sprintf("%s: rates near the series' first sample not rechecked: %v", field, err))
			}
			if len(ss) == 0 {
				rs.Notes = append(rs.Notes, fmt.Sprintf("%s: no samples in the window", field))
			} else if st := model.SeriesStats(ss); st.Gaps > 0 {
				gaps.add(field, fmt.Sprintf("%d of %d points have no sample", st.Gaps, st.Gaps+st.Present))
			}
			return ss, nil
		}
		var err error
		if rs.Usage, err = get("usage", d.Queries.Usage); err != nil {
			return nil, err
		}
		if rs.Limit, err = get("limit", d.Queries.Limit); err != nil {
			return nil, err
		}
		if rs.Saturation, err = get("saturation", d.Queries.Saturation); err != nil {
			return nil, err
		}
		if d.Queries.Utilization != "" {
			if rs.Utilization, err = get("utilization", d.Queries.Utilization); err != nil {
				return nil, err
			}
		} else if len(rs.Limit) > 0 {
			var unmatched int
			rs.Utilization, unmatched = utilization(rs.Usage, rs.Limit)
			if unmatched > 0 {
				rs.Notes = append(rs.Notes, fmt.Sprintf("utilization: %d usage series have no limit series with the same labels", unmatched))
			}
		}
		rs.Notes = append(rs.Notes, gaps.notes()...)
		out = append(out, rs)
	}
	return out, nil
}

// groupedNotes gathers notes that several fields share, to write
// "34 of 61 points have no sample (usage, limit)" once.
type groupedNotes struct {
	order  []string
	fields map[string][]string
}

func (g *groupedNotes) add(field, note string) {
	if g.fields == nil {
		g.fields = map[string][]string{}
	}
	if _, ok := g.fields[note]; !ok {
		g.order = append(g.order, note)
	}
	g.fields[note] = append(g.fields[note], field)
}

func (g *groupedNotes) notes() []string {
	out := make([]string, 0, len(g.order))
	for _, n := range g.order {
		out = append(out, fmt.Sprintf("%s: %s", strings.Join(g.fields[n], ", "), n))
	}
	return out
}

// alignMatrix places every sample on the grid start + i·step; grid points
// without a sample stay NaN. Series are sorted by their labels.
func alignMatrix(m pmodel.Matrix, start time.Time, step time.Duration, n int) []model.LabeledSeries {
	out := make([]model.LabeledSeries, 0, len(m))
	for _, s := range m {
		vals := make(model.Samples, n)
		for i := range vals {
			vals[i] = math.NaN()
		}
		for _, p := range s.Values {
			off := p.Timestamp.Time().Sub(start)
			i := int(math.Round(float64(off) / float64(step)))
			if i >= 0 && i < n {
				vals[i] = float64(p.Value)
			}
		}
		ls := make(map[string]string, len(s.Metric))
		for k, v := range s.Metric {
			if k != pmodel.MetricNameLabel {
				ls[string(k)] = string(v)
			}
		}
		out = append(out, model.LabeledSeries{Labels: ls, Values: vals})
	}
	sort.Slice(out, func(i, j int) bool { return labelKey(out[i].Labels) < labelKey(out[j].Labels) })
	return out
}

// utilization divides usage by limit point by point, matching series by
// labels; a single limit series applies to every usage series. It returns
// how many usage series found no limit.
func utilization(usage, limit []model.LabeledSeries) ([]model.LabeledSeries, int) {
	byKey := map[string]model.Samples{}
	for _, l := range limit {
		byKey[labelKey(l.Labels)] = l.Values
	}
	var out []model.LabeledSeries
	unmatched := 0
	for _, u := range usage {
		lim, ok := byKey[labelKey(u.Labels)]
		if !ok && len(limit) == 1 {
			lim, ok = limit[0].Values, true
		}
		if !ok {
			unmatched++
			continue
		}
		vals := make(model.Samples, len(u.Values))
		for i, v := range u.Values {
			vals[i] = math.NaN()
			if i < len(lim) && !math.IsNaN(v) && !math.IsNaN(lim[i]) && lim[i] > 0 {
				vals[i] = v / lim[i]
			}
		}
		out = append(out, model.LabeledSeries{Labels: u.Labels, Values: vals})
	}
	return out, unmatched
}

func labelKey(ls map[string]string) string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + strconv.Quote(ls[k]) + ",")
	}
	return b.String()
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
