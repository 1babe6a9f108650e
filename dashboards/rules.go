package dashboards

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

// Defaults of RulesConfig.
const (
	// DefaultTargetHeadroom is the headroom a service should keep when it
	// publishes no headroom_target_headroom_ratio: 20% over its peak.
	DefaultTargetHeadroom = 0.20
	// DefaultHeadroomFor is how long headroom must stay below target before
	// HeadroomBelowTarget fires.
	DefaultHeadroomFor = 15 * time.Minute
	// DefaultSaturation is the share of a resource's limit above which
	// SaturationApproaching fires.
	DefaultSaturation = 0.8
	// DefaultSaturationFor is how long a resource must stay above
	// DefaultSaturation before SaturationApproaching fires.
	DefaultSaturationFor = 5 * time.Minute
	// DefaultReviewStale is the age of the last capacity review past which
	// CapacityReviewStale fires.
	DefaultReviewStale = 7 * 24 * time.Hour
	// DefaultRuleWindow is the rate window of the recording rules.
	DefaultRuleWindow = time.Minute
)

// reviewStaleFor keeps a briefly missing review gauge (a failed scrape) from
// resolving and re-firing CapacityReviewStale.
const reviewStaleFor = 10 * time.Minute

// Names of the alerts.
const (
	AlertHeadroomBelowTarget   = "HeadroomBelowTarget"
	AlertSaturationApproaching = "SaturationApproaching"
	AlertCapacityReviewStale   = "CapacityReviewStale"
)

// Names of the rule groups.
const (
	GroupLoad      = "headroom.load"
	GroupResources = "headroom.resources"
	GroupCapacity  = "headroom.capacity"
)

// RecordUtilization is the recording rule of every resource's utilization,
// labelled resource (the catalog kind) and family (the metrics measuring it).
const RecordUtilization = "headroom:resource_utilization:ratio"

// ErrBadRulesConfig is wrapped by every error about a RulesConfig.
var ErrBadRulesConfig = errors.New("invalid rules configuration")

// RulesConfig says what rule file to build.
type RulesConfig struct {
	// Catalog is the resource catalog; required.
	Catalog *model.Catalog
	// Scope scopes the catalog's queries to the system under test. Its
	// selector must not name template variables: rules have none.
	Scope Scope
	// TargetHeadroom is the headroom ratio a service must keep when it
	// publishes no headroom_target_headroom_ratio (default 0.20).
	TargetHeadroom float64
	// HeadroomFor is how long headroom stays below target before
	// HeadroomBelowTarget fires (default 15m).
	HeadroomFor time.Duration
	// Saturation is the share of a limit above which SaturationApproaching
	// fires (default 0.8).
	Saturation float64
	// SaturationFor is how long a resource stays above Saturation before
	// SaturationApproaching fires (default 5m).
	SaturationFor time.Duration
	// ReviewStale is the age of the last capacity review past which
	// CapacityReviewStale fires (default 7 days).
	ReviewStale time.Duration
	// Window is the rate window of the recording rules (default 1m); it
	// names them, as in headroom:requests:rate1m.
	Window time.Duration
}

func (c *RulesConfig) defaults() error {
	if c.Catalog == nil {
		return fmt.Errorf("%w: %w", ErrBadRulesConfig, ErrNoCatalog)
	}
	if c.TargetHeadroom == 0 {
		c.TargetHeadroom = DefaultTargetHeadroom
	}
	if c.HeadroomFor == 0 {
		c.HeadroomFor = DefaultHeadroomFor
	}
	if c.Saturation == 0 {
		c.Saturation = DefaultSaturation
	}
	if c.SaturationFor == 0 {
		c.SaturationFor = DefaultSaturationFor
	}
	if c.ReviewStale == 0 {
		c.ReviewStale = DefaultReviewStale
	}
	if c.Window == 0 {
		c.Window = DefaultRuleWindow
	}
	switch {
	case math.IsNaN(c.TargetHeadroom) || math.IsInf(c.TargetHeadroom, 0) || c.TargetHeadroom < 0:
		return fmt.Errorf("%w: target headroom %v: expected a ratio of 0 or more, such as 0.20 for 20%% over the peak", ErrBadRulesConfig, c.TargetHeadroom)
	case math.IsNaN(c.Saturation) || c.Saturation <= 0 || c.Saturation > 1:
		return fmt.Errorf("%w: saturation %v: expected a share of the limit above 0 and at most 1, such as 0.8", ErrBadRulesConfig, c.Saturation)
	case c.HeadroomFor < 0 || c.SaturationFor < 0:
		return fmt.Errorf("%w: negative alert duration", ErrBadRulesConfig)
	case c.ReviewStale < time.Hour:
		return fmt.Errorf("%w: review staleness %s: expected at least an hour, such as 7d", ErrBadRulesConfig, c.ReviewStale)
	case c.Window < time.Second || c.Window%time.Second != 0:
		return fmt.Errorf("%w: rate window %s: expected whole seconds, such as 1m", ErrBadRulesConfig, c.Window)
	}
	if strings.Contains(c.Scope.Selector, "$") {
		return fmt.Errorf("%w: selector %s names a template variable; rule files have none", ErrBadRulesConfig, c.Scope.Selector)
	}
	return nil
}

// Rules builds the rule file: recording rules for the load metrics
// (group headroom.load) and every catalog resource's utilization with the
// SaturationApproaching alerts (headroom.resources), and the
// HeadroomBelowTarget and CapacityReviewStale alerts on the service gauges
// (headroom.capacity). Every expression is checked by rulefmt's validation.
func Rules(cfg RulesConfig) (*rulefmt.RuleGroups, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	x := &exprs{window: cfg.Window, pretty: true}
	res, err := catalogExprs(cfg.Catalog, cfg.Scope, x)
	if err != nil {
		return nil, fmt.Errorf("could not build the resource rules: %w", err)
	}
	load := loadRules(x, cfg.Window)
	resources := resourceRules(x, res, &cfg)
	capacity := capacityRules(x, &cfg)
	if x.err != nil {
		return nil, x.err
	}
	rg := &rulefmt.RuleGroups{Groups: []rulefmt.RuleGroup{
		{Name: GroupLoad, Rules: load},
		{Name: GroupResources, Rules: resources},
		{Name: GroupCapacity, Rules: capacity},
	}}
	b, err := MarshalRules(rg, "")
	if err != nil {
		return nil, err
	}
	if err := CheckRules(b); err != nil {
		return nil, fmt.Errorf("the generated rules do not validate: %w", err)
	}
	return rg, nil
}

// windowName is how a rate window appears in a rule name: "1m", "30s".
func windowName(w time.Duration) string { return pmodel.Duration(w).String() }

// loadGrouping is the aggregation level of the load recording rules: shards
// (and the scrape's job and instance) are summed away.
var loadGrouping = []string{"run_id", "scenario", "stage", "endpoint", "method"}

// loadRules are the recording rules of the load metrics, named
// headroom:METRIC:OPERATION.
func loadRules(x *exprs, w time.Duration) []rulefmt.Rule {
	wn := windowName(w)
	withStatus := append(append([]string{}, loadGrouping...), "status")
	var rules []rulefmt.Rule
	record := func(name string, e parser.Expr) {
		rules = append(rules, rulefmt.Rule{Record: name, Expr: x.str(e)})
	}
	record("headroom:requests:rate"+wn, sumBy(withStatus, x.tree(`rate(`+model.MetricRequests+`[1m])`)))
	record("headroom:requests_failed:ratio_rate"+wn, x.errorRatio(loadGrouping))
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
		name := fmt.Sprintf("headroom:request_duration_seconds:p%s_%s", numfmt.Plain(q*100), wn)
		record(name, x.latencyQuantile(q, loadGrouping))
	}
	run := []string{"run_id", "scenario"}
	record("headroom:vus:sum", sumBy(run, x.tree(model.MetricVUs)))
	record("headroom:target_arrival_rate:sum", sumBy(run, x.tree(model.MetricTargetArrivalRate)))
	record("headroom:dropped_iterations:rate"+wn, sumBy([]string{"run_id", "scenario", "stage"}, x.tree(`rate(`+model.MetricDroppedIterations+`[1m])`)))
	byCheck := []string{"run_id", "scenario", "check"}
	record("headroom:checks_failed:ratio_rate"+wn, ratioOrZero(
		sumBy(byCheck, x.tree(`rate(`+model.MetricChecks+`[1m])`, matcher(labels.MatchEqual, "result", "fail"))),
		func() parser.Expr { return sumBy(byCheck, x.tree(`rate(`+model.MetricChecks+`[1m])`)) }))
	return rules
}

// resourceRules record each resource's utilization and alert when one
// approaches its limit. A resource without a limit (in-flight requests,
// goroutines) has no utilization and no alert.
func resourceRules(x *exprs, res []resourceExprs, cfg *RulesConfig) []rulefmt.Rule {
	var rules []rulefmt.Rule
	for i := range res {
		r := &res[i]
		if r.utilization == nil {
			continue
		}
		rules = append(rules, rulefmt.Rule{
			Record: RecordUtilization,
			Expr:   x.str(r.utilization),
			Labels: map[string]string{"resource": r.res.Kind},
		})
	}
	for i := range res {
		r := &res[i]
		if r.utilization == nil {
			continue
		}
		sel := x.tree(RecordUtilization, matcher(labels.MatchEqual, "resource", r.res.Kind))
		e := &parser.BinaryExpr{Op: parser.GTR, LHS: sel, RHS: &parser.NumberLiteral{Val: cfg.Saturation}}
		pct := percent(cfg.Saturation)
		rules = append(rules, rulefmt.Rule{
			Alert:  AlertSaturationApproaching,
			Expr:   x.str(e),
			For:    pmodel.Duration(cfg.SaturationFor),
			Labels: map[string]string{"severity": "warning", "resource": r.res.Kind},
			Annotations: map[string]string{
				"summary": fmt.Sprintf("%s at {{ $value | humanizePercentage }} of its limit", r.name()),
				"description": fmt.Sprintf("%s (%s, measured by the {{ $labels.family }} metrics) has been above %s of its limit for %s. "+
					"A resource near its limit makes work queue for it: latency grows before errors appear, and it is the "+
					"first thing to run out when traffic grows. The share is usage / limit from the %s recording rule.",
					r.name(), r.res.Kind, pct, model.FormatDuration(cfg.SaturationFor), RecordUtilization),
				"runbook": runbook(r.res.Kind),
			},
		})
	}
	return rules
}

// capacityRules are the alerts on the service gauges of headroom serve.
func capacityRules(x *exprs, cfg *RulesConfig) []rulefmt.Rule {
	// headroom_headroom_ratio < headroom_target_headroom_ratio, and for a
	// service that publishes no target, the configured default.
	below := x.tree(`headroom_headroom_ratio < headroom_target_headroom_ratio`)
	noTarget := &parser.BinaryExpr{
		Op:             parser.LUNLESS,
		LHS:            paren(&parser.BinaryExpr{Op: parser.LSS, LHS: x.tree(`headroom_headroom_ratio`), RHS: &parser.NumberLiteral{Val: cfg.TargetHeadroom}}),
		RHS:            x.tree(`headroom_target_headroom_ratio`),
		VectorMatching: &parser.VectorMatching{Card: parser.CardManyToMany},
	}
	target := "{{ with printf \"headroom_target_headroom_ratio{service=%q}\" $labels.service | query }}" +
		"{{ . | first | value | humanizePercentage }}{{ else }}" + percent(cfg.TargetHeadroom) + " (the default){{ end }}"
	stale := &parser.BinaryExpr{
		Op:  parser.GTR,
		LHS: x.tree(`time() - headroom_last_review_timestamp_seconds`),
		RHS: &parser.NumberLiteral{Val: cfg.ReviewStale.Seconds()},
	}
	return []rulefmt.Rule{
		{
			Alert:  AlertHeadroomBelowTarget,
			Expr:   x.str(union(below, noTarget)),
			For:    pmodel.Duration(cfg.HeadroomFor),
			Labels: map[string]string{"severity": "warning"},
			Annotations: map[string]string{
				"summary": "{{ $labels.service }} has {{ $value | humanizePercentage }} headroom, below its target of " + target,
				"description": "The estimated capacity of {{ $labels.service }} leaves {{ $value | humanizePercentage }} over its observed peak traffic " +
					"(headroom_headroom_ratio = capacity / peak - 1), less than the target of " + target + ", for " + model.FormatDuration(cfg.HeadroomFor) + ". " +
					"A negative value means the peak already exceeds the capacity.",
				"runbook": "Open the headroom / Capacity dashboard for the service: did the peak grow, or did the capacity fall " +
					"(a deploy, fewer or smaller instances, a new bottleneck)? The bottleneck is in headroom_bottleneck_info and " +
					"the headroom / Saturation dashboard. Apply the last plan's recommendation (more replicas, a bigger pool or " +
					"instance, a fix to the bottleneck), then confirm the new capacity with a load test (headroom run) and a " +
					"capacity review. If the peak was a one-off event, say so in the review rather than lowering the target.",
			},
		},
		{
			Alert:  AlertCapacityReviewStale,
			Expr:   x.str(stale),
			For:    pmodel.Duration(reviewStaleFor),
			Labels: map[string]string{"severity": "info"},
			Annotations: map[string]string{
				"summary": "The last capacity review of {{ $labels.service }} is {{ $value | humanizeDuration }} old",
				"description": "The last capacity review of {{ $labels.service }} ran {{ $value | humanizeDuration }} ago, more than " +
					model.FormatDuration(cfg.ReviewStale) + ". Traffic and code change: the capacity, headroom and bottleneck gauges, " +
					"and the HeadroomBelowTarget alert, all rest on that review.",
				"runbook": "Run a capacity review of the service so that its gauges are fresh: headroom serve runs them on a schedule, " +
					"or run a load test (headroom run) and plan from its result. If reviews are scheduled, look for failed reviews " +
					"in the headroom service's log and in its review history.",
			},
		},
	}
}

// runbook is the SaturationApproaching runbook of a resource kind.
func runbook(kind string) string {
	const see = "Look at the resource against load on the headroom / Saturation dashboard. "
	switch kind {
	case model.KindDBPool:
		return see + "If queries got slow, fix them first: a pool full of slow queries only moves the queue. Otherwise raise " +
			"the pool size while the database's max_connections, shared by every replica, allows it, or add replicas with their own pools."
	case model.KindDBServerConnections:
		return see + "Count connections per client and state (sum by (datname, state) (pg_stat_activity_count)). Close sessions " +
			"stuck idle in transaction, lower per-replica pool sizes or put a pooler such as PgBouncer in front; raise " +
			"max_connections only with memory to spare."
	case model.KindRedis:
		return see + "Redis runs commands on one core, so a bigger machine does not help: find expensive commands " +
			"(rate(redis_commands_duration_seconds_total[5m]) by cmd), batch round trips with pipelining, or shard the keyspace."
	case model.KindRedisPool:
		return see + "If the Redis server has CPU to spare (the redis resource), raise the client's pool size; otherwise shorten " +
			"the time each command holds a connection."
	case model.KindCPU:
		return see + "Profile the service under load and remove hot spots, or add replicas or raise the CPU limit. With a CPU " +
			"quota, check throttling (container_cpu_cfs_throttled_periods_total)."
	case model.KindHostCPU:
		return see + "Compare the service's own CPU (the cpu resource) with the host's: when the service uses little of it, " +
			"something else on the machine takes the CPU, such as a database sharing it. Move that tenant to its own machine, " +
			"or give the host more cores."
	case model.KindMemory:
		return see + "Tell growth over time (a leak) from use that follows load; raise the memory limit or cut per-request " +
			"allocations before the system is OOM-killed."
	}
	return see + "Find what drives its usage as load grows, then raise its limit or reduce the work per request; a load test " +
		"(headroom run) shows whether the change moved the breaking point."
}

// MarshalRules writes rule groups as a Prometheus rule file, after a comment
// header (each line of header prefixed with "# "; none when empty).
func MarshalRules(rg *rulefmt.RuleGroups, header string) ([]byte, error) {
	var b bytes.Buffer
	if header != "" {
		for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
			if l == "" {
				b.WriteString("#\n")
			} else {
				b.WriteString("# " + l + "\n")
			}
		}
		b.WriteString("\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(rg); err != nil {
		return nil, fmt.Errorf("could not write the rules: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("could not write the rules: %w", err)
	}
	return b.Bytes(), nil
}

// CheckRules validates a rule file the way Prometheus loads one: known
// fields only, every expression parses, names and templates are valid.
func CheckRules(b []byte) error {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, errs := rulefmt.Parse(b, false, pmodel.LegacyValidation, promParser, logger)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// percent formats a ratio as a percentage: 0.8 → "80%".
func percent(v float64) string {
	return numfmt.Plain(v*100) + "%"
}
