package collector

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
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

// metricInfo is a metric name seen in the window with what the source knows
// of it (its # TYPE and # HELP; empty when the source does not say).
type metricInfo struct {
	name string
	md   Metadata
}

// hintRole is the part a metric can play in a family.
type hintRole int

const (
	roleOther hintRole = iota
	roleUsage
	roleLimit
	roleSaturation
)

// words is a set of name tokens.
type words map[string]bool

func wordSet(ws ...string) words {
	s := make(words, len(ws))
	for _, w := range ws {
		s[w] = true
	}
	return s
}

// nameTokens is a metric name cut at its underscores, lowercased.
type nameTokens struct {
	lower string
	list  []string
}

func tokenize(name string) nameTokens {
	l := strings.ToLower(name)
	return nameTokens{lower: l, list: strings.FieldsFunc(l, func(r rune) bool {
		return r == '_' || r == ':' || r == '.' || r == '-'
	})}
}

// any reports whether one of the name's tokens is in ws.
func (t nameTokens) any(ws words) bool {
	for _, x := range t.list {
		if ws[x] {
			return true
		}
	}
	return false
}

func (t nameTokens) has(w string) bool { return slices.Contains(t.list, w) }

// namespace is the name's first token: its exporter or application.
func (t nameTokens) namespace() string {
	if len(t.list) == 0 {
		return ""
	}
	return t.list[0]
}

// inUse reports "in_use", "inuse" or "in-use".
func (t nameTokens) inUse() bool {
	return strings.Contains(t.lower, "in_use") || strings.Contains(t.lower, "inuse") || strings.Contains(t.lower, "in-use")
}

// pool reports a token that is or ends in "pool" (pgxpool, dbpool).
func (t nameTokens) pool() bool {
	for _, x := range t.list {
		if strings.HasSuffix(x, "pool") {
			return true
		}
	}
	return false
}

// The words that give a metric name its sense.
var (
	dbWords = wordSet("db", "sql", "pg", "postgres", "postgresql", "mysql", "mariadb", "database",
		"datasource", "jdbc", "hikari", "hikaricp", "gorm", "pgx", "pgxpool", "sqlx", "sqlite",
		"mssql", "oracle", "r2dbc", "mongo", "mongodb")
	connWords = wordSet("conn", "conns", "connection", "connections")
	// notDBWords are other protocols' connections and pools.
	notDBWords = wordSet("redis", "http", "https", "grpc", "kafka", "amqp", "rabbit", "rabbitmq",
		"nats", "scrape", "conntrack", "tcp", "udp", "websocket", "websockets", "ws", "smtp",
		"ldap", "mqtt", "memcached", "worker", "workers", "thread", "threads", "goroutine")
	// exporterNamespaces are the first tokens of exporters and runtimes
	// whose metrics describe a server, a host or the process, never an
	// application's own pool or queue: their kinds (db_server_connections,
	// redis, host_cpu, cpu) have fixed names the catalog knows. An
	// exporter's settings (pg_settings_max_connections) and server-side
	// counts (redis_connected_clients) are not a client pool.
	exporterNamespaces = wordSet("pg", "redis", "node", "mysql", "mysqld", "mongodb", "memcached",
		"container", "machine", "kube", "go", "process", "promhttp", "net", "scrape", "up",
		"headroom", "windows")

	poolUsage      = wordSet("busy", "active", "used", "acquired", "leased", "borrowed", "checkedout", "occupied")
	poolLimit      = wordSet("max", "maximum", "limit", "capacity", "quota", "size")
	poolSaturation = wordSet("wait", "waits", "waiting", "waited", "pending", "queue", "queued", "blocked", "empty")
	// notLimit are words that make a "max" something other than the
	// pool's size: max_idle, max_lifetime, max_wait_seconds.
	notLimit = wordSet("idle", "lifetime", "life", "min", "seen", "closed", "wait", "waiting", "waited",
		"time", "seconds", "duration", "timeout", "bytes", "age")
	notUsage = wordSet("max", "maximum", "limit", "capacity", "total", "idle")

	// cumulativeWords name running counts that are not levels:
	// miniflux_db_connections_max_idle_closed, go_sql_…_waited_for.
	cumulativeWords = wordSet("closed", "waited", "opened", "destroyed", "evicted", "created")
	// cumulativeLast are the last tokens of counters and of the parts of
	// histograms and summaries.
	cumulativeLast = wordSet("total", "count", "sum", "created")
	// A help text that speaks of a total, unless it says "currently":
	// "The total number of connections waited for" is a running count,
	// "Total number of resources currently in the pool" a level.
	totalHelp   = regexp.MustCompile(`(?i)\b(total (number|count|amount|time|duration)|cumulative)\b`)
	currentHelp = regexp.MustCompile(`(?i)\b(current|currently|right now|at present)\b`)
)

// hintRule says which metric names look like a kind of resource and how to
// read them as one.
type hintRule struct {
	// belongs reports whether a name measures this kind.
	belongs func(t nameTokens) bool
	// rank scores how surely it does; higher is listed first.
	rank func(t nameTokens) int
	// usage, limit and saturation are the words of each role; a running
	// count can only be saturation (waits per second), or usage when
	// cumulativeUsage (CPU seconds).
	usage, limit, saturation words
	cumulativeUsage          bool
	// unit is the family's unit; what its limit is, for the comment when
	// no metric is the limit (empty: the kind has no limit).
	unit, limitWhat string
}

// hintRules are the kinds whose metrics applications name themselves. The
// exporters' kinds (PostgreSQL server, Redis server, host CPU) have fixed
// names that the catalog already knows.
var hintRules = map[string]hintRule{
	model.KindDBPool: {
		// A database's connections or pool. A Prometheus "scrape pool" or
		// a worker pool is not one; a name with only a connection word
		// (app_connections_in_use) is offered, after the database ones.
		belongs: func(t nameTokens) bool {
			if t.any(notDBWords) || t.namespace() == "prometheus" {
				return false
			}
			return t.any(connWords) || (t.any(dbWords) && t.pool())
		},
		rank: func(t nameTokens) int {
			return 2*b2i(t.any(dbWords)) + b2i(t.any(connWords)) + b2i(t.pool())
		},
		usage: poolUsage, limit: poolLimit, saturation: poolSaturation,
		unit: "connections", limitWhat: "the pool's size",
	},
	model.KindRedisPool: {
		// redis_exporter's own names (redis_connected_clients) are the
		// server's, excluded with its namespace.
		belongs: func(t nameTokens) bool {
			return t.has("redis") && (t.any(connWords) || t.pool()) && t.namespace() != "prometheus"
		},
		rank:  func(t nameTokens) int { return b2i(t.pool()) + b2i(t.any(connWords)) },
		usage: poolUsage, limit: poolLimit, saturation: poolSaturation,
		unit: "connections", limitWhat: "the pool's size",
	},
	model.KindCPU: {
		belongs: func(t nameTokens) bool { return t.has("cpu") },
		rank:    func(t nameTokens) int { return b2i(t.has("seconds")) },
		usage:   wordSet("seconds", "usage", "used", "busy"),
		limit:   wordSet("limit", "quota", "cores", "max", "count", "capacity"),
		// CPU time is a running count read as a rate: cores in use.
		cumulativeUsage: true,
		unit:            "cores", limitWhat: "the cores the service may use",
	},
	model.KindHTTPInflight: {
		belongs: func(t nameTokens) bool { return httpInflight.MatchString(t.lower) },
		rank:    func(t nameTokens) int { return b2i(t.has("http") || t.has("requests")) },
		usage:   wordSet("inflight", "flight", "active", "concurrent", "progress", "inprogress"),
		unit:    "requests",
	},
}

var httpInflight = regexp.MustCompile(`(in_?flight|active_requests|concurrent_requests|requests_in_progress|inprogress)`)

// queueRule finds queue-like metrics, offered as a custom kind "queue":
// the queue's length is its usage, its capacity the limit.
var queueRule = hintRule{
	belongs: func(t nameTokens) bool {
		return t.any(wordSet("queue", "queued", "backlog", "pending", "waiting")) &&
			!t.any(connWords) && !t.pool() &&
			// Pressure stall information and a replication backlog are
			// not work queues.
			!t.any(wordSet("cpu", "pressure", "repl", "replication"))
	},
	rank:  func(t nameTokens) int { return b2i(t.has("queue")) },
	usage: wordSet("length", "len", "depth", "size", "pending", "queued", "items", "current", "waiting", "backlog"),
	limit: wordSet("capacity", "max", "limit"),
	unit:  "items", limitWhat: "the queue's capacity",
}

// KindQueue is the custom kind a hint proposes for queue-like metrics.
const KindQueue = "queue"

// hintNames matches, in the series API, names worth looking at: one query
// for every rule.
const hintNames = `.*(pool|conn|cpu|in_?flight|active_requests|concurrent_requests|in_?progress|queue|backlog|pending|waiting).*`

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cumulative reports whether a metric is a running count rather than a
// level: a counter, histogram or summary by its metadata, or by its name
// or help text (Miniflux exposes its running counts as gauges, with
// "total number" in their help).
func cumulative(m metricInfo, t nameTokens) bool {
	switch m.md.Type {
	case pmodel.MetricTypeCounter, pmodel.MetricTypeHistogram, pmodel.MetricTypeSummary:
		return true
	}
	if n := len(t.list); n > 0 && cumulativeLast[t.list[n-1]] {
		return true
	}
	if t.any(cumulativeWords) {
		return true
	}
	return totalHelp.MatchString(m.md.Help) && !currentHelp.MatchString(m.md.Help)
}

// classify says which part a metric plays in a family of the rule's kind.
func (r hintRule) classify(m metricInfo) (hintRole, bool) {
	t := tokenize(m.name)
	cum := cumulative(m, t)
	switch {
	case cum && r.cumulativeUsage && t.any(r.usage):
		return roleUsage, cum
	case cum && r.saturation != nil && t.any(r.saturation):
		return roleSaturation, cum
	case cum:
		return roleOther, cum
	case t.any(r.limit) && !t.any(notLimit):
		return roleLimit, cum
	case (t.any(r.usage) || (r.saturation != nil && t.inUse())) && !t.any(notUsage):
		return roleUsage, cum
	case r.saturation != nil && t.any(r.saturation):
		return roleSaturation, cum
	}
	return roleOther, cum
}

// hinter finds candidate metric names once per Discover call.
type hinter struct {
	d     *discoverer
	known map[string]bool
	// metrics are the metrics seen, nil until looked up.
	metrics []metricInfo
	looked  bool
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

// seen lists, once, the metrics of the run's selector in the window that
// could measure a resource, with their metadata when the source has it.
func (h *hinter) seen(ctx context.Context) ([]metricInfo, error) {
	if h.looked {
		return h.metrics, nil
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
		if n == "" || h.known[n] {
			continue
		}
		names[n] = true
	}
	// The metadata only sharpens the suggestions: without it (an old
	// store, a Prometheus-compatible server without the endpoint) the
	// names and help-less heuristics decide.
	var md map[string]Metadata
	if s, ok := h.d.src.(MetadataSource); ok && len(names) > 0 {
		md, _ = s.Metadata(ctx)
	}
	h.metrics = metricInfos(sortedKeys(names), md)
	return h.metrics, nil
}

// metricInfos pairs names with their metadata, which a histogram's or an
// OpenMetrics counter's parts find under the family's name.
func metricInfos(names []string, md map[string]Metadata) []metricInfo {
	out := make([]metricInfo, 0, len(names))
	for _, n := range names {
		m, ok := md[n]
		if !ok {
			for _, suf := range []string{"_total", "_sum", "_count", "_bucket", "_created"} {
				if base, cut := strings.CutSuffix(n, suf); cut {
					if m, ok = md[base]; ok {
						break
					}
				}
			}
		}
		out = append(out, metricInfo{name: n, md: m})
	}
	return out
}

// hint fills det's candidates and catalog snippet for a kind with no
// family found.
func (h *hinter) hint(ctx context.Context, det *Detected) error {
	rule, ok := hintRules[det.Kind]
	if !ok {
		return nil
	}
	ms, err := h.seen(ctx)
	if err != nil {
		return err
	}
	det.Candidates, det.CatalogSnippet = suggest(det.Kind, "", rule, ms)
	return nil
}

// queueHint returns a missing resource of the custom kind "queue" when
// queue-like metrics are seen and the catalog has no such kind.
func (h *hinter) queueHint(ctx context.Context, cat *model.Catalog) (*Detected, error) {
	if cat.Resource(KindQueue) != nil {
		return nil, nil
	}
	ms, err := h.seen(ctx)
	if err != nil {
		return nil, err
	}
	c, snip := suggest(KindQueue, "Work queue", queueRule, ms)
	if len(c) == 0 {
		return nil, nil
	}
	return &Detected{Kind: KindQueue, Name: "Work queue", Candidates: c, CatalogSnippet: snip}, nil
}

// hintCandidate is a metric the rule matched, with the part it plays.
type hintCandidate struct {
	metricInfo
	role       hintRole
	cumulative bool
	rank       int
	group      string
}

// maxCandidates is how many names a missing resource lists.
const maxCandidates = 12

// suggest returns the metrics among ms that look like the rule's kind, the
// most likely family first, and a --catalog snippet declaring that family
// ("" when none matched).
func suggest(kind, name string, rule hintRule, ms []metricInfo) ([]string, string) {
	var cs []hintCandidate
	for _, m := range ms {
		t := tokenize(m.name)
		if exporterNamespaces[t.namespace()] || strings.HasSuffix(m.name, "_bucket") || !rule.belongs(t) {
			continue
		}
		role, cum := rule.classify(m)
		cs = append(cs, hintCandidate{metricInfo: m, role: role, cumulative: cum, rank: rule.rank(t), group: t.namespace()})
	}
	if len(cs) == 0 {
		return nil, ""
	}
	// A group is one application's (or library's) metrics; the group that
	// fills most of usage, limit and saturation is the likeliest family.
	score := map[string]int{}
	roles := map[string]map[hintRole]bool{}
	for _, c := range cs {
		if roles[c.group] == nil {
			roles[c.group] = map[hintRole]bool{}
		}
		if c.role != roleOther {
			roles[c.group][c.role] = true
		}
		score[c.group] = max(score[c.group], c.rank)
	}
	for g, rs := range roles {
		score[g] += 10 * len(rs)
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if score[a.group] != score[b.group] {
			return score[a.group] > score[b.group]
		}
		if a.group != b.group {
			return a.group < b.group
		}
		if a.role != b.role {
			return roleOrder(a.role) < roleOrder(b.role)
		}
		if a.rank != b.rank {
			return a.rank > b.rank
		}
		return a.name < b.name
	})
	var group []hintCandidate
	for _, c := range cs {
		if c.group == cs[0].group {
			group = append(group, c)
		}
	}
	names := make([]string, 0, min(len(cs), maxCandidates))
	for _, c := range cs[:min(len(cs), maxCandidates)] {
		names = append(names, c.name)
	}
	return names, snippet(kind, name, rule, group)
}

// roleOrder lists usage, limit, saturation, then the rest.
func roleOrder(r hintRole) int {
	if r == roleOther {
		return 9
	}
	return int(r)
}

// pickRole returns the best candidate of a role: for saturation a gauge of
// waiting callers, then seconds waited per second, then waits per second.
func pickRole(cs []hintCandidate, role hintRole) *hintCandidate {
	var best *hintCandidate
	pref := func(c *hintCandidate) int {
		if role != roleSaturation {
			return 0
		}
		switch t := tokenize(c.name); {
		case !c.cumulative:
			return 3
		case t.any(wordSet("seconds", "duration", "time")):
			return 2
		}
		return 1
	}
	for i := range cs {
		c := &cs[i]
		if c.role == role && (best == nil || pref(c) > pref(best)) {
			best = c
		}
	}
	return best
}

// snippet writes a --catalog file that declares a group of candidates as
// one family of kind: usage, limit and saturation where a metric plays the
// part, and comments where none does. It is valid YAML that LoadCatalog
// accepts.
func snippet(kind, name string, rule hintRule, group []hintCandidate) string {
	usage, limit, sat := pickRole(group, roleUsage), pickRole(group, roleLimit), pickRole(group, roleSaturation)
	read := func(c *hintCandidate) string {
		if c.cumulative {
			return "sum(rate(" + c.name + "[30s]))"
		}
		return "sum(" + c.name + ")"
	}
	var b strings.Builder
	b.WriteString("# Save as catalog.yaml and pass --catalog catalog.yaml; check each query.\n")
	if usage == nil {
		// Without usage a family measures nothing: the snippet is all
		// comments, a list of what to declare.
		fmt.Fprintf(&b, "# No metric of %s looks like the %s in use (a gauge named *_in_use, *_active, *_busy):\n", group[0].group, rule.unit)
		fmt.Fprintf(&b, "# declare a family of kind %s by hand from these:\n", kind)
		for _, c := range group {
			fmt.Fprintf(&b, "#   %s (%s)\n", c.name, describeCandidate(c))
		}
		return b.String()
	}
	b.WriteString("resources:\n")
	fmt.Fprintf(&b, "  - kind: %s\n", kind)
	if name != "" {
		fmt.Fprintf(&b, "    name: %s\n", name)
	}
	b.WriteString("    families:\n")
	fmt.Fprintf(&b, "      - name: %s\n", familyName(usage.name))
	detect := usage.name
	if limit != nil {
		detect = limit.name
	}
	fmt.Fprintf(&b, "        detect: %s\n", detect)
	fmt.Fprintf(&b, "        usage: %s\n", read(usage))
	switch {
	case limit != nil:
		fmt.Fprintf(&b, "        limit: %s\n", read(limit))
	case rule.limitWhat != "":
		fmt.Fprintf(&b, "        # limit: no metric of %s is %s (a gauge named *_max*, *_limit*, *_capacity*):\n", group[0].group, rule.limitWhat)
		fmt.Fprintf(&b, "        # pass --limit-for %s=N with the size the application is configured with,\n", kind)
		b.WriteString("        # or declare it here as  limit: vector(N)\n")
	}
	if sat != nil {
		fmt.Fprintf(&b, "        saturation: %s\n", read(sat))
		unit := "waiting callers"
		if sat.cumulative && !tokenize(sat.name).any(wordSet("seconds", "duration", "time")) {
			unit = "waits per second"
		}
		fmt.Fprintf(&b, "        saturationUnit: %s\n", unit)
	}
	fmt.Fprintf(&b, "        unit: %s\n", rule.unit)
	for _, c := range group {
		if c.name != usage.name && (limit == nil || c.name != limit.name) && (sat == nil || c.name != sat.name) {
			fmt.Fprintf(&b, "        # not used: %s (%s)\n", c.name, describeCandidate(c))
		}
	}
	return b.String()
}

// describeCandidate says in a few words what part a metric could play.
func describeCandidate(c hintCandidate) string {
	switch {
	case c.role == roleUsage:
		return "another usage"
	case c.role == roleLimit:
		return "another limit"
	case c.role == roleSaturation:
		return "another measure of waiting"
	case c.cumulative:
		return "a running count, not a level"
	}
	return "neither usage, limit nor waiting"
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
