package collector

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/headroom-sh/headroom/model"
)

// This file finds, for a resource kind the catalog found no family of,
// the metric names in the window that look like that kind of resource —
// an application's own pool gauges, say — and writes the --catalog
// snippet that would declare them. It turns "bottleneck unknown" into a
// next step.

// hintRule says which metric names look like a kind of resource and how to
// read them as one.
type hintRule struct {
	// match is what the name must contain; exclude what it must not.
	match, exclude *regexp.Regexp
	// unit is the family's unit in the snippet; saturationUnit that of its
	// saturation query.
	unit, saturationUnit string
}

// hintRules are the kinds whose metrics applications name themselves. The
// exporters' kinds (PostgreSQL server, Redis server, host CPU) have fixed
// names that the catalog already knows.
var hintRules = map[string]hintRule{
	model.KindDBPool: {
		// Connections, or a pool of something database-like: a
		// Prometheus "scrape pool" or a worker pool is not one.
		match:          regexp.MustCompile(`(conn|(db|sql|pg|postgres|mysql|database|datasource|jdbc|hikari|gorm|ent).*pool|pool.*(db|sql|pg|database))`),
		exclude:        regexp.MustCompile(`(redis|http|grpc|kafka|amqp|rabbit|nats|scrape|conntrack)`),
		unit:           "connections",
		saturationUnit: "waiting callers",
	},
	model.KindRedisPool: {
		match:          regexp.MustCompile(`redis.*(pool|conn)|(pool|conn).*redis`),
		unit:           "connections",
		saturationUnit: "waiting callers",
	},
	model.KindCPU: {
		match: regexp.MustCompile(`cpu`),
		unit:  "cores",
	},
	model.KindHTTPInflight: {
		match: regexp.MustCompile(`(in_?flight|active_requests|concurrent_requests|requests_in_progress|inprogress)`),
		unit:  "requests",
	},
}

// queueRule finds queue-like metrics, offered as a custom kind "queue".
var queueRule = hintRule{
	match:   regexp.MustCompile(`(queue|backlog|pending|waiting)`),
	exclude: regexp.MustCompile(`(pool|conn|cpu)`),
	unit:    "items",
}

// KindQueue is the custom kind a hint proposes for queue-like metrics.
const KindQueue = "queue"

// hintNoise are prefixes of metrics every process exports, which never
// measure an application's resource.
var hintNoise = regexp.MustCompile(`^(headroom_|go_|process_|promhttp_|scrape_|up$|net_conntrack_)`)

// hintNames matches, in the series API, names worth looking at: one query
// for every rule.
const hintNames = `.*(pool|conn|cpu|in_?flight|active_requests|concurrent_requests|in_?progress|queue|backlog|pending|waiting).*`

// Name parts that say which field of a family a metric is.
var (
	usagePart      = regexp.MustCompile(`(in_?use|acquired|active|busy|used|open|current|inflight|in_flight|seconds_total|depth|length|size)`)
	limitPart      = regexp.MustCompile(`(max|limit|capacity|quota|cores|pool_size$)`)
	saturationPart = regexp.MustCompile(`(wait|pending|blocked|queued|queue)`)
)

// hinter finds candidate metric names once per Discover call.
type hinter struct {
	d     *discoverer
	known map[string]bool
	// names are the metric names seen, nil until looked up.
	names  []string
	looked bool
}

func newHinter(d *discoverer, cat *model.Catalog) *hinter {
	known := map[string]bool{}
	for _, r := range cat.Resources {
		for _, f := range r.Families {
			for _, q := range []string{f.Detect, f.Usage, f.Limit, f.Utilization, f.Saturation} {
				if q == "" {
					continue
				}
				if _, ns, err := querySelectors(q); err == nil {
					for _, n := range ns {
						known[n] = true
					}
				}
			}
		}
	}
	return &hinter{d: d, known: known}
}

// seen lists, once, the metric names of the run's selector in the window
// that could measure a resource.
func (h *hinter) seen(ctx context.Context) ([]string, error) {
	if h.looked {
		return h.names, nil
	}
	h.looked = true
	ms, _ := ParseSelector(h.d.sel.Selector) // checked by Selectors.check
	ms = append(ms, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, hintNames))
	sel := matchersString(ms)
	sets, err := h.d.src.Series(ctx, []string{sel}, h.d.start, h.d.end)
	if errors.Is(err, ErrBadQuery) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("could not list metric names: %w", err)
	}
	names := map[string]bool{}
	for _, ls := range sets {
		n := string(ls[pmodel.MetricNameLabel])
		if n == "" || h.known[n] || hintNoise.MatchString(n) {
			continue
		}
		// A histogram's or summary's parts are one metric.
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(n, suf); ok && base != "" {
				n = base + suf
				break
			}
		}
		names[n] = true
	}
	h.names = sortedKeys(names)
	return h.names, nil
}

// hint fills det's candidates and catalog snippet for a kind with no
// family found.
func (h *hinter) hint(ctx context.Context, det *Detected) error {
	rule, ok := hintRules[det.Kind]
	if !ok {
		return nil
	}
	names, err := h.seen(ctx)
	if err != nil {
		return err
	}
	det.Candidates = rule.pick(names)
	if len(det.Candidates) > 0 {
		det.CatalogSnippet = snippet(det.Kind, "", det.Candidates, rule)
	}
	return nil
}

// queueHint returns a missing resource of the custom kind "queue" when
// queue-like metrics are seen and the catalog has no such kind.
func (h *hinter) queueHint(ctx context.Context, cat *model.Catalog) (*Detected, error) {
	if cat.Resource(KindQueue) != nil {
		return nil, nil
	}
	names, err := h.seen(ctx)
	if err != nil {
		return nil, err
	}
	c := queueRule.pick(names)
	if len(c) == 0 {
		return nil, nil
	}
	return &Detected{
		Kind: KindQueue, Name: "Work queue",
		Candidates:     c,
		CatalogSnippet: snippet(KindQueue, "Work queue", c, queueRule),
	}, nil
}

// pick returns the names a rule matches, at most 12.
func (r hintRule) pick(names []string) []string {
	var out []string
	for _, n := range names {
		l := strings.ToLower(n)
		if !r.match.MatchString(l) || (r.exclude != nil && r.exclude.MatchString(l)) {
			continue
		}
		out = append(out, n)
		if len(out) == 12 {
			break
		}
	}
	return out
}

// counterName reports whether a name is a counter's by the naming
// conventions (OpenMetrics: counters end in _total; _sum and _count of
// histograms count too).
func counterName(n string) bool {
	return strings.HasSuffix(n, "_total") || strings.HasSuffix(n, "_count") || strings.HasSuffix(n, "_sum")
}

// snippet writes a --catalog file that declares names as one family of
// kind: the best guess of usage, limit and saturation among the names,
// with comments where the guess needs checking. It is valid YAML that
// LoadCatalog accepts.
func snippet(kind, name string, names []string, rule hintRule) string {
	var usage, limit, sat string
	for _, n := range names {
		l := strings.ToLower(n)
		switch {
		case limit == "" && limitPart.MatchString(l) && !counterName(n):
			limit = n
		case sat == "" && saturationPart.MatchString(l) && kind != KindQueue:
			sat = n
		case usage == "" && usagePart.MatchString(l) && (kind == model.KindCPU || !counterName(n)):
			usage = n
		}
	}
	if usage == "" {
		for _, n := range names {
			if n != limit && n != sat && (kind == model.KindCPU || !counterName(n)) {
				usage = n
				break
			}
		}
	}
	if usage == "" {
		usage = names[0]
	}
	read := func(n string) string {
		if counterName(n) {
			return "sum(rate(" + n + "[30s]))"
		}
		return "sum(" + n + ")"
	}
	fam := familyName(usage)
	var b strings.Builder
	b.WriteString("# Save as catalog.yaml and pass --catalog catalog.yaml; check each query.\n")
	b.WriteString("resources:\n")
	fmt.Fprintf(&b, "  - kind: %s\n", kind)
	if name != "" {
		fmt.Fprintf(&b, "    name: %s\n", name)
	}
	b.WriteString("    families:\n")
	fmt.Fprintf(&b, "      - name: %s\n", fam)
	detect := usage
	if limit != "" {
		detect = limit
	}
	fmt.Fprintf(&b, "        detect: %s\n", detect)
	fmt.Fprintf(&b, "        usage: %s\n", read(usage))
	if limit != "" {
		fmt.Fprintf(&b, "        limit: sum(%s)\n", limit)
	} else if kind != model.KindHTTPInflight && kind != KindQueue {
		fmt.Fprintf(&b, "        # limit: no metric looks like the limit; add one or pass --limit-for %s=N\n", kind)
	}
	if sat != "" {
		fmt.Fprintf(&b, "        saturation: %s\n", read(sat))
		fmt.Fprintf(&b, "        saturationUnit: %s\n", orDefault(rule.saturationUnit, "waiting"))
	}
	fmt.Fprintf(&b, "        unit: %s\n", rule.unit)
	var rest []string
	for _, n := range names {
		if n != usage && n != limit && n != sat {
			rest = append(rest, n)
		}
	}
	if len(rest) > 0 {
		fmt.Fprintf(&b, "        # also seen: %s\n", strings.Join(rest, ", "))
	}
	return b.String()
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// familyName makes a family name from a metric's leading words: "app" from
// "app_db_connections_in_use".
func familyName(metric string) string {
	n := strings.ToLower(metric)
	n = nonIdent.ReplaceAllString(n, "_")
	parts := strings.Split(strings.Trim(n, "_"), "_")
	keep := parts[:min(2, len(parts))]
	out := strings.Join(keep, "_")
	if out == "" || !(out[0] >= 'a' && out[0] <= 'z') {
		out = "app_" + out
	}
	return strings.Trim(out, "_")
}

// matchersString writes matchers as a series selector: {a="b",__name__=~"…"}.
func matchersString(ms []*labels.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}
