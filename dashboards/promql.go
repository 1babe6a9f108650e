package dashboards

import (
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/internal/selector"
	"github.com/headroom-sh/headroom/model"
	"slices"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// ErrBadPromQL is wrapped by every error about a PromQL expression that does
// not parse or has the wrong type.
var ErrBadPromQL = errors.New("invalid PromQL")

// ErrBadSelector is wrapped by every error about a label selector.
var ErrBadSelector = selector.ErrBadSelector

// promParser parses with Prometheus's default options, the ones a Prometheus
// server without feature flags accepts.
var promParser = parser.NewParser(parser.Options{})

// rateSentinel is the range that stands for Grafana's $__rate_interval while
// an expression is a syntax tree: a range holds a duration, not a variable,
// so the tree gets this unlikely one and render swaps it for the variable.
const rateSentinel = 3*time.Hour + 33*time.Minute + 33*time.Second + 333*time.Millisecond

// rangeSentinel stands for Grafana's $__range, the dashboard's time range,
// the same way.
const rangeSentinel = 4*time.Hour + 44*time.Minute + 44*time.Second + 444*time.Millisecond

// Grafana's range variables: the rate window (at least four scrape
// intervals) and the dashboard's time range.
const (
	rateIntervalVar = "$__rate_interval"
	rangeVar        = "$__range"
)

// parseExpr parses a PromQL expression.
func parseExpr(q string) (parser.Expr, error) {
	if strings.TrimSpace(q) == "" {
		return nil, fmt.Errorf("%w: empty query", ErrBadPromQL)
	}
	e, err := promParser.ParseExpr(q)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPromQL, err)
	}
	return e, nil
}

// parseInstant parses a query that must return an instant vector or a
// scalar, which is what every catalog query is.
func parseInstant(q string) (parser.Expr, error) {
	e, err := parseExpr(q)
	if err != nil {
		return nil, err
	}
	switch t := e.Type(); t {
	case parser.ValueTypeVector, parser.ValueTypeScalar:
		return e, nil
	default:
		return nil, fmt.Errorf("%w: the query returns a %s; expected an instant vector or a scalar", ErrBadPromQL, t)
	}
}

// scope adds ms to every vector selector of e that has no matcher on the
// same label. Matchers are shared, which is safe: a Matcher is never
// modified after it is made.
func scope(e parser.Expr, ms []*labels.Matcher) {
	if len(ms) == 0 {
		return
	}
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range ms {
			if !slices.ContainsFunc(vs.LabelMatchers, func(have *labels.Matcher) bool { return have.Name == m.Name }) {
				vs.LabelMatchers = append(vs.LabelMatchers, m)
			}
		}
		return nil
	})
}

// setRanges sets the range of every range selector written with a literal
// duration (`rate(x[30s])`) to w; subquery ranges are left alone.
func setRanges(e parser.Expr, w time.Duration) {
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		if m, ok := node.(*parser.MatrixSelector); ok && m.RangeExpr == nil {
			m.Range = w
		}
		return nil
	})
}

// matcher makes a label matcher; its regular expression, if any, must
// compile, which every one written in this package does.
func matcher(t labels.MatchType, name, value string) *labels.Matcher {
	return labels.MustNewMatcher(t, name, value)
}

// paren wraps e in parentheses unless it is an atom that binds tighter than
// any operator.
func paren(e parser.Expr) parser.Expr {
	switch e.(type) {
	case *parser.VectorSelector, *parser.MatrixSelector, *parser.Call, *parser.AggregateExpr,
		*parser.NumberLiteral, *parser.StringLiteral, *parser.ParenExpr:
		return e
	}
	return &parser.ParenExpr{Expr: e}
}

// binary joins two expressions with an arithmetic or comparison operator,
// matching series one to one on all their labels.
func binary(op parser.ItemType, lhs, rhs parser.Expr) parser.Expr {
	b := &parser.BinaryExpr{Op: op, LHS: paren(lhs), RHS: paren(rhs)}
	if lhs.Type() == parser.ValueTypeVector && rhs.Type() == parser.ValueTypeVector {
		b.VectorMatching = &parser.VectorMatching{Card: parser.CardOneToOne}
	}
	return b
}

// orElse is `lhs or on() rhs`: lhs when it returns any series, else rhs.
// This is how the first of several alternatives that exists is chosen.
func orElse(lhs, rhs parser.Expr) parser.Expr {
	return &parser.BinaryExpr{
		Op: parser.LOR, LHS: paren(asVector(lhs)), RHS: paren(asVector(rhs)),
		VectorMatching: &parser.VectorMatching{Card: parser.CardManyToMany, On: true},
	}
}

// union is `lhs or rhs`: every series of both whose label sets differ.
func union(lhs, rhs parser.Expr) parser.Expr {
	return &parser.BinaryExpr{
		Op: parser.LOR, LHS: paren(asVector(lhs)), RHS: paren(asVector(rhs)),
		VectorMatching: &parser.VectorMatching{Card: parser.CardManyToMany},
	}
}

// call applies a PromQL function.
func call(name string, args ...parser.Expr) parser.Expr {
	return &parser.Call{Func: parser.Functions[name], Args: args}
}

// asVector turns a scalar expression into a one-element vector, which set
// operators and label_replace need.
func asVector(e parser.Expr) parser.Expr {
	if e.Type() == parser.ValueTypeScalar {
		return call("vector", e)
	}
	return e
}

// withLabel sets label to value on every series of e with label_replace,
// the one way to add a constant label inside an expression.
func withLabel(e parser.Expr, label, value string) parser.Expr {
	str := func(s string) parser.Expr { return &parser.StringLiteral{Val: s} }
	return call("label_replace", asVector(e), str(label), str(value), str(""), str(""))
}

// render prints e. Ranges of rateSentinel and rangeSentinel become Grafana's
// $__rate_interval and $__range. With pretty set, long expressions are spread over lines
// the way promtool formats them. The result is parsed again so that what is
// written is known to parse (with the variable replaced by a duration).
func render(e parser.Expr, pretty bool) (string, error) {
	s := e.String()
	if pretty {
		s = parser.Prettify(e)
	}
	for sentinel, v := range map[time.Duration]string{rateSentinel: rateIntervalVar, rangeSentinel: rangeVar} {
		s = strings.ReplaceAll(s, "["+pmodel.Duration(sentinel).String()+"]", "["+v+"]")
	}
	check := strings.NewReplacer(rateIntervalVar, "1m", rangeVar, "1h").Replace(s)
	if _, err := parseExpr(check); err != nil {
		return "", fmt.Errorf("generated %q: %w", s, err)
	}
	return s, nil
}

// exprs builds expressions from skeletons, keeping the first error so that
// a panel can be written as a chain of calls. Skeletons are this package's
// own constants, so an error is a bug that tests catch.
type exprs struct {
	// window is the range of every rate window; 0 means Grafana's
	// $__rate_interval, and rangeSentinel its $__range.
	window time.Duration
	// pretty spreads long expressions over lines (rule files).
	pretty bool
	err    error
}

// tree parses skeleton, scopes it with ms and sets its rate windows.
func (x *exprs) tree(skeleton string, ms ...*labels.Matcher) parser.Expr {
	e, err := parseExpr(skeleton)
	if err != nil {
		x.fail(fmt.Errorf("skeleton %q: %w", skeleton, err))
		return &parser.NumberLiteral{}
	}
	scope(e, ms)
	x.setWindow(e)
	return e
}

// setWindow sets every rate window of e to the builder's window.
func (x *exprs) setWindow(e parser.Expr) {
	w := x.window
	if w == 0 {
		w = rateSentinel
	}
	setRanges(e, w)
}

// q is tree followed by str.
func (x *exprs) q(skeleton string, ms ...*labels.Matcher) string {
	return x.str(x.tree(skeleton, ms...))
}

// str renders e, keeping the first error.
func (x *exprs) str(e parser.Expr) string {
	s, err := render(e, x.pretty)
	if err != nil {
		x.fail(err)
	}
	return s
}

func (x *exprs) fail(err error) {
	if x.err == nil {
		x.err = err
	}
}

// latencyQuantile is the q-quantile of request durations, from the native
// histogram when the series exist and from the classic buckets otherwise
// (a receiver without native histograms stores only those), aggregated by
// the given labels.
func (x *exprs) latencyQuantile(q float64, by []string, ms ...*labels.Matcher) parser.Expr {
	num := &parser.NumberLiteral{Val: q}
	native := &parser.AggregateExpr{Op: parser.SUM, Grouping: by,
		Expr: x.tree(`rate(`+model.MetricRequestDuration+`[1m])`, ms...)}
	classic := &parser.AggregateExpr{Op: parser.SUM, Grouping: append(slices.Clone(by), "le"),
		Expr: x.tree(`rate(`+model.MetricRequestDuration+`_bucket[1m])`, ms...)}
	return union(call("histogram_quantile", num, native), call("histogram_quantile", num, classic))
}

// failedStatus matches the status label of a failed request: a transport
// error or an HTTP status of 400 or more, as loadgen counts them.
const failedStatus = `error|[45]..`

// ratioOrZero is num / den, where a numerator without series counts as
// 0: `(num or den * 0) / den`. den is built twice so the trees stay apart.
func ratioOrZero(num parser.Expr, den func() parser.Expr) parser.Expr {
	zero := binary(parser.MUL, den(), &parser.NumberLiteral{Val: 0})
	return binary(parser.DIV, union(num, zero), den())
}

// sumBy is `sum by (by) (e)`; by nil is a plain sum.
func sumBy(by []string, e parser.Expr) parser.Expr {
	return &parser.AggregateExpr{Op: parser.SUM, Grouping: by, Expr: e}
}

// errorRatio is the share of failed requests aggregated by the given
// labels; 0 rather than nothing when every request succeeded.
func (x *exprs) errorRatio(by []string, ms ...*labels.Matcher) parser.Expr {
	failed := append(slices.Clone(ms), matcher(labels.MatchRegexp, "status", failedStatus))
	return ratioOrZero(
		sumBy(by, x.tree(`rate(`+model.MetricRequests+`[1m])`, failed...)),
		func() parser.Expr { return sumBy(by, x.tree(`rate(`+model.MetricRequests+`[1m])`, ms...)) })
}
