package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/readfile"
)

func init() {
	register(&command{
		name:    "resources",
		summary: "list the system's resources (pools, CPU, memory, Redis, ...) found in Prometheus, with usage and limits",
		usage:   "(--prometheus URL | --run run.json) [--selector SELECTOR] [--from T --to T] [--catalog FILE] [--format table|json]",
		example: `# What does Prometheus know about the checkout service over the last 15 minutes?
headroom resources --prometheus http://127.0.0.1:9090 --selector '{job="checkout"}'

# The resources of a finished run, from the Prometheus or embedded store it recorded:
headroom resources --run run.json --format json

# The database exporter runs as its own job; CPU is capped at 4 cores by config:
headroom resources --prometheus http://127.0.0.1:9090 --selector '{job="checkout"}' \
  --selector-for db_server_connections='{job="postgres"}' --limit-for cpu=4 \
  --from now-1h --to now

# Print the effective catalog, to start a --catalog override file from:
headroom resources --print-catalog`,
		run: runResources,
	})
}

// resourcesFlags are the flags of `headroom resources`.
type resourcesFlags struct {
	runFile, selector, from, to, catalog, format string
	selectorFor, limitFor                        stringList
	prom                                         promFlags
	printCatalog                                 bool
	rateWindow, step                             time.Duration
}

func runResources(ctx context.Context, e *env, args []string) error {
	c := commands["resources"]
	fs := newFlagSet(e, c)
	var f resourcesFlags
	f.prom.register(fs, "base `URL` of a Prometheus-compatible API, with any path prefix (http://127.0.0.1:9090, http://vmselect:8481/select/0/prometheus)")
	fs.StringVar(&f.runFile, "run", "", "read the metrics location, selector and window of a run from its `run.json`")
	fs.StringVar(&f.selector, "selector", "", "label `SELECTOR` of the system under test, e.g. '{job=\"checkout\"}' (default: the run's, else every series)")
	fs.Var(&f.selectorFor, "selector-for", "`KIND[/FAMILY]=SELECTOR` for one resource, e.g. db_server_connections='{job=\"postgres\"}' (repeatable)")
	fs.Var(&f.limitFor, "limit-for", "`KIND[/FAMILY]=N` a limit the metrics do not know, in the family's unit, e.g. cpu=4 or memory=8GiB (repeatable)")
	fs.StringVar(&f.from, "from", "", "window start: RFC 3339 or relative to now, e.g. now-15m (default: the run's start, else now-15m)")
	fs.StringVar(&f.to, "to", "", "window end: RFC 3339 or relative, e.g. now (default: the run's end, else now)")
	fs.StringVar(&f.catalog, "catalog", "", "YAML `FILE` merged into the built-in resource catalog (see --print-catalog)")
	fs.StringVar(&f.format, "format", "table", "output format: table or json")
	fs.DurationVar(&f.rateWindow, "rate-window", 0, "range of the catalog's rate() windows (default: the catalog's 30s); at least two scrape intervals")
	fs.DurationVar(&f.step, "step", 0, "resolution of the series (default: about 250 points over the window)")
	fs.BoolVar(&f.printCatalog, "print-catalog", false, "print the effective resource catalog as YAML and exit")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("resources: unexpected argument %q (see 'headroom resources --help')", fs.Arg(0))
	}
	if f.format != "table" && f.format != "json" {
		return fmt.Errorf("resources: --format %q: expected table or json", f.format)
	}

	cat := collector.DefaultCatalog()
	if f.catalog != "" {
		var err error
		if cat, err = collector.LoadCatalog(f.catalog); err != nil {
			return fmt.Errorf("resources: --catalog: %w", err)
		}
	}
	if f.printCatalog {
		b, err := collector.MarshalCatalog(cat)
		if err != nil {
			return fmt.Errorf("resources: %w", err)
		}
		_, err = e.stdout.Write(b)
		return err
	}

	sel, err := resourcesSelectors(&f)
	if err != nil {
		return err
	}
	now := time.Now()
	var run *model.Run
	var runDir string
	if f.runFile != "" {
		if run, err = readRunFile(f.runFile); err != nil {
			return fmt.Errorf("resources: --run: %w", err)
		}
		runDir = filepath.Dir(f.runFile)
	}
	start, end, err := resourcesWindow(&f, run, now)
	if err != nil {
		return err
	}
	if run != nil && run.Metrics != nil && f.selector == "" {
		sel.Selector = run.Metrics.Selector
	}

	src, err := resourcesSource(e, &f, run, runDir)
	if err != nil {
		return err
	}
	where := src.Where
	defer func() {
		if err := src.Close(); err != nil {
			e.log.Warn("could not close the metrics store", "err", err)
		}
	}()

	e.log.Debug("discovering resources", "source", where, "selector", sel.Selector, "from", start, "to", end)
	res, err := app.DiscoverResources(ctx, app.ResourcesRequest{Source: src, Catalog: cat, Selectors: sel, Start: start, End: end, Step: f.step})
	if err != nil {
		return fmt.Errorf("resources: %w", err)
	}
	rep := buildResourcesReport(where, sel.Selector, start, end, res.Found, res.Series)
	if f.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	writeResourcesTable(e.stdout, rep)
	return nil
}

// resourcesSelectors reads --selector, --selector-for, --limit-for and
// --rate-window.
func resourcesSelectors(f *resourcesFlags) (collector.Selectors, error) {
	if f.rateWindow < 0 {
		return collector.Selectors{}, fmt.Errorf("resources: --rate-window %s is negative", f.rateWindow)
	}
	sel, err := selectorFlags("resources", f.selector, f.selectorFor, f.limitFor)
	sel.RateWindow = f.rateWindow
	return sel, err
}

// parseQuantity reads a number, optionally with a byte unit: 4, 0.5, 512MiB,
// 8GiB, 2GB.
func parseQuantity(s string) (float64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			return v * u.mult, err
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
		return 0, errors.New("not a finite number")
	}
	return v, err
}

// parseTimeFlag reads RFC 3339 ("2026-01-02T15:04:05Z"), "now", or a time
// relative to now ("now-15m", "now-1h30m", or just "-15m").
func parseTimeFlag(name, s string, now time.Time) (time.Time, error) {
	v := strings.TrimSpace(s)
	if v == "now" {
		return now, nil
	}
	rel, isRel := strings.CutPrefix(v, "now")
	if isRel || strings.HasPrefix(v, "-") {
		sign := time.Duration(1)
		switch {
		case strings.HasPrefix(rel, "-"):
			sign = -1
		case strings.HasPrefix(rel, "+"):
		default:
			return time.Time{}, fmt.Errorf("resources: --%s %q: expected now, now-DURATION such as now-15m, or an RFC 3339 time", name, s)
		}
		d, err := time.ParseDuration(rel[1:])
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("resources: --%s %q: expected now, now-DURATION such as now-15m, or an RFC 3339 time", name, s)
		}
		return now.Add(sign * d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("resources: --%s %q: expected now, now-DURATION such as now-15m, or an RFC 3339 time such as 2026-01-02T15:04:05Z", name, s)
	}
	return t, nil
}

// resourcesWindow decides the window: the flags, else the run's, else the
// last 15 minutes.
func resourcesWindow(f *resourcesFlags, run *model.Run, now time.Time) (start, end time.Time, err error) {
	start, end = now.Add(-15*time.Minute), now
	if run != nil && !run.Start.IsZero() && !run.End.IsZero() {
		start, end = run.Start, run.End
	}
	if f.from != "" {
		if start, err = parseTimeFlag("from", f.from, now); err != nil {
			return start, end, err
		}
	}
	if f.to != "" {
		if end, err = parseTimeFlag("to", f.to, now); err != nil {
			return start, end, err
		}
	}
	if !end.After(start) {
		return start, end, fmt.Errorf("resources: the window ends (%s) before it starts (%s)", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	return start, end, nil
}

func readRunFile(path string) (*model.Run, error) {
	b, err := readfile.Read(path, readfile.Document)
	if err != nil {
		return nil, fmt.Errorf("could not read run: %w", err)
	}
	var run model.Run
	if err := json.Unmarshal(b, &run); err != nil {
		return nil, fmt.Errorf("could not read run %q: %w", path, err)
	}
	return &run, nil
}

// resourcesSource opens the metrics source: --prometheus, else the run's
// Prometheus or embedded store.
func resourcesSource(e *env, f *resourcesFlags, run *model.Run, runDir string) (*app.Source, error) {
	prom, err := f.prom.options(e, "resources")
	if err != nil {
		return nil, err
	}
	src, err := app.OpenSource(app.SourceRequest{Run: run, RunDir: runDir, Prometheus: prom, Logger: e.log})
	switch {
	case errors.Is(err, app.ErrNoMetrics) && run != nil:
		return nil, fmt.Errorf("resources: --run %s records no metrics location (neither a Prometheus URL nor a store); pass --prometheus URL", f.runFile)
	case errors.Is(err, app.ErrNoMetrics):
		return nil, errors.New("resources: no metrics source: pass --prometheus URL or --run run.json (see 'headroom resources --help')")
	case err != nil && f.runFile != "" && prom.URL == "":
		return nil, fmt.Errorf("resources: --run: %w", err)
	case err != nil:
		return nil, fmt.Errorf("resources: %w", err)
	}
	return src, nil
}

// resourcesReport is the output of `headroom resources`.
type resourcesReport struct {
	Source    string            `json:"source"`
	Selector  string            `json:"selector,omitempty"`
	Start     time.Time         `json:"start"`
	End       time.Time         `json:"end"`
	Resources []resourceSummary `json:"resources"`
}

// resourceSummary is one resource: what was detected and its figures over
// the window. Figures are null when there were no samples.
type resourceSummary struct {
	collector.Detected
	// Missing says what was looked for when nothing was found.
	Missing string `json:"missing,omitempty"`
	// Usage and Limit are in Unit; Utilization is a fraction.
	Usage          *figures `json:"usage,omitempty"`
	Limit          *figures `json:"limit,omitempty"`
	UtilizationMax *float64 `json:"utilization_max,omitempty"`
	Saturation     *figures `json:"saturation,omitempty"`
	// SeriesNotes repeat the detection's notes and add what could not be
	// measured in the window.
	SeriesNotes []string `json:"series_notes,omitempty"`
}

// figures are min, mean and max over the window.
type figures struct {
	Min *float64 `json:"min"`
	Avg *float64 `json:"avg"`
	Max *float64 `json:"max"`
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func figuresOf(ss []model.LabeledSeries) *figures {
	st := model.SeriesStats(ss)
	if st.Present == 0 {
		return nil
	}
	return &figures{Min: finite(st.Min), Avg: finite(st.Avg), Max: finite(st.Max)}
}

func buildResourcesReport(where, selector string, start, end time.Time, found []collector.Detected, series []collector.ResourceSeries) resourcesReport {
	rep := resourcesReport{Source: where, Selector: selector, Start: start, End: end}
	byKind := map[string]collector.ResourceSeries{}
	for _, s := range series {
		byKind[s.Kind] = s
	}
	for _, d := range found {
		rs := resourceSummary{Detected: d}
		if !d.Found() {
			rs.Missing = d.Missing()
			rep.Resources = append(rep.Resources, rs)
			continue
		}
		s := byKind[d.Kind]
		rs.Usage, rs.Limit, rs.Saturation = figuresOf(s.Usage), figuresOf(s.Limit), figuresOf(s.Saturation)
		if st := model.SeriesStats(s.Utilization); st.Present > 0 {
			rs.UtilizationMax = finite(st.Max)
		}
		rs.SeriesNotes = s.Notes
		rep.Resources = append(rep.Resources, rs)
	}
	return rep
}

func writeResourcesTable(w io.Writer, rep resourcesReport) {
	sel := rep.Selector
	if sel == "" {
		sel = "every series"
	}
	fmt.Fprintf(w, "Resources of %s from %s, %s to %s (%s)\n\n", sel, rep.Source,
		rep.Start.Format(time.RFC3339), rep.End.Format(time.RFC3339), rep.End.Sub(rep.Start).Round(time.Second))
	t := &mdTable{
		header: []string{"Resource", "Family", "Usage min / avg / max", "Limit", "Utilization max", "Saturation avg / max"},
		right:  []bool{false, false, true, true, true, true},
	}
	var missing []resourceSummary
	var notes []string
	for _, r := range rep.Resources {
		if !r.Found() {
			missing = append(missing, r)
			continue
		}
		usage, limit, util, satur := "no samples", "—", "—", "—"
		if r.Usage != nil {
			usage = fmt.Sprintf("%s / %s / %s", fmtQuantity(r.Usage.Min, r.Unit), fmtQuantity(r.Usage.Avg, r.Unit), fmtQuantity(r.Usage.Max, r.Unit))
		}
		if r.Limit != nil {
			limit = fmtQuantity(r.Limit.Max, r.Unit)
			if r.Limit.Min != nil && r.Limit.Max != nil && *r.Limit.Min != *r.Limit.Max {
				limit = fmtQuantity(r.Limit.Min, r.Unit) + "–" + limit
			}
		}
		if r.UtilizationMax != nil {
			util = fmtPercent(*r.UtilizationMax)
		}
		if r.Saturation != nil {
			satur = fmt.Sprintf("%s / %s %s", fmtQuantity(r.Saturation.Avg, ""), fmtQuantity(r.Saturation.Max, ""), r.SaturationUnit)
		}
		if r.Unit != "" && r.Unit != "bytes" {
			usage += " " + r.Unit
		}
		t.add(r.Name, r.Family, usage, limit, util, strings.TrimSpace(satur))
		if r.LimitSource != "" && r.LimitSource != "catalog" && !strings.Contains(strings.Join(r.SeriesNotes, " "), "limit from") {
			notes = append(notes, r.Name+": limit from "+r.LimitSource)
		}
		// The series' notes start with the detection's notes.
		for _, n := range r.SeriesNotes {
			notes = append(notes, r.Name+": "+n)
		}
	}
	if len(t.rows) > 0 {
		t.write(w)
	} else {
		fmt.Fprintln(w, "No resources found.")
	}
	if len(missing) > 0 {
		fmt.Fprintln(w)
		for _, m := range missing {
			fmt.Fprintln(w, "- "+m.Missing)
			writeCandidates(w, m.Candidates, m.CatalogSnippet)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
}

// writeCandidates prints, under a resource that was not found, the metric
// names that look like it and the --catalog snippet that would declare
// them.
func writeCandidates(w io.Writer, candidates []string, snippet string) {
	if len(candidates) == 0 {
		return
	}
	fmt.Fprintf(w, "  metrics that look like it: %s\n", strings.Join(candidates, ", "))
	if snippet == "" {
		return
	}
	fmt.Fprintln(w, "  declare them with --catalog FILE, FILE holding:")
	for _, l := range strings.Split(strings.TrimRight(snippet, "\n"), "\n") {
		fmt.Fprintln(w, "    "+l)
	}
}

// fmtQuantity writes a value in its unit: bytes in binary units, other
// values with up to three significant decimals.
func fmtQuantity(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	x := *v
	if unit == "bytes" {
		abs := math.Abs(x)
		for _, u := range []struct {
			name string
			size float64
		}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
			if abs >= u.size {
				return strconv.FormatFloat(x/u.size, 'f', 1, 64) + " " + u.name
			}
		}
		return strconv.FormatFloat(x, 'f', 0, 64) + " B"
	}
	switch a := math.Abs(x); {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case a >= 1:
		return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(x, 'f', 2, 64), "0"), ".")
	default:
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
}
