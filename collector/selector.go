package collector

import (
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/internal/selector"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// ErrBadSelector is wrapped by every error about a label selector.
var ErrBadSelector = selector.ErrBadSelector

// ErrBadPromQL is wrapped by every error about a PromQL expression that does
// not parse or does not return an instant vector or a scalar.
var ErrBadPromQL = errors.New("invalid PromQL")

// promqlParser parses with Prometheus's default options, the ones a Prometheus
// server without feature flags accepts.
var promqlParser = parser.NewParser(parser.Options{})

// ParseSelector reads a label selector such as `{job="checkout"}`; see
// selector.Parse, which the dashboards use too.
func ParseSelector(sel string) ([]*labels.Matcher, error) { return selector.Parse(sel) }

// ScopeQuery adds the matchers of selector to every series selector of
// query that does not already constrain the same label, and returns the
// rewritten query. It rewrites the parsed expression, so functions,
// aggregations, binary operations and subqueries are all scoped:
//
//	ScopeQuery(`sum(pgxpool_acquired_conns)`, `{job="checkout"}`)
//	→ `sum(pgxpool_acquired_conns{job="checkout"})`
func ScopeQuery(query, selector string) (string, error) {
	ms, err := ParseSelector(selector)
	if err != nil {
		return "", err
	}
	expr, err := ParseQuery(query)
	if err != nil {
		return "", err
	}
	scopeExpr(expr, ms)
	return expr.String(), nil
}

// ParseQuery parses a catalog query and checks that it evaluates to an
// instant vector or a scalar, which is what every catalog field must be.
func ParseQuery(query string) (parser.Expr, error) {
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("%w: empty query", ErrBadPromQL)
	}
	expr, err := promqlParser.ParseExpr(query)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPromQL, err)
	}
	switch t := expr.Type(); t {
	case parser.ValueTypeVector, parser.ValueTypeScalar:
	default:
		return nil, fmt.Errorf("%w: the query returns a %s; expected an instant vector or a scalar", ErrBadPromQL, t)
	}
	return expr, nil
}

// scopeExpr adds ms to every vector selector in expr lacking a matcher on
// the same label. The matchers are shared, which is safe: a Matcher is
// never modified after it is made.
func scopeExpr(expr parser.Expr, ms []*labels.Matcher) {
	if len(ms) == 0 {
		return
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range ms {
			constrained := slices.ContainsFunc(vs.LabelMatchers, func(have *labels.Matcher) bool {
				return have.Name == m.Name
			})
			if !constrained {
				vs.LabelMatchers = append(vs.LabelMatchers, m)
			}
		}
		return nil
	})
}

// setRangeWindow sets the range of every range selector of expr written
// with a literal duration (`rate(x[30s])`) to w. Subquery ranges are left
// alone.
func setRangeWindow(expr parser.Expr, w time.Duration) {
	if w <= 0 {
		return
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if m, ok := node.(*parser.MatrixSelector); ok && m.RangeExpr == nil {
			m.Range = w
		}
		return nil
	})
}

// scopedQuery parses query, scopes it with ms, applies the rate window and
// prints it back.
func scopedQuery(query string, ms []*labels.Matcher, window time.Duration) (string, error) {
	expr, err := ParseQuery(query)
	if err != nil {
		return "", err
	}
	scopeExpr(expr, ms)
	setRangeWindow(expr, window)
	return expr.String(), nil
}

// querySelectors returns the series selectors of query as strings (for the
// series API) and the metric names they select, both sorted and without
// duplicates.
func querySelectors(query string) (selectors, metrics []string, err error) {
	expr, err := ParseQuery(query)
	if err != nil {
		return nil, nil, err
	}
	sels := map[string]bool{}
	names := map[string]bool{}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		plain := &parser.VectorSelector{Name: vs.Name, LabelMatchers: vs.LabelMatchers}
		sels[plain.String()] = true
		if vs.Name != "" {
			names[vs.Name] = true
		}
		return nil
	})
	return sortedKeys(sels), sortedKeys(names), nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// smoothGauges rewrites query so that every instant vector selector outside
// a range (a gauge read at one time) becomes its average over window:
// x / y becomes avg_over_time(x[window]) / avg_over_time(y[window]).
// Selectors already inside a range selector or a subquery (rate(x[1m]))
// are left as they are.
func smoothGauges(query string, window time.Duration) (string, error) {
	expr, err := ParseQuery(query)
	if err != nil {
		return "", err
	}
	if window <= 0 {
		return expr.String(), nil
	}
	return smoothExpr(expr, window).String(), nil
}

func smoothExpr(e parser.Expr, window time.Duration) parser.Expr {
	switch n := e.(type) {
	case *parser.VectorSelector:
		return &parser.Call{
			Func: parser.Functions["avg_over_time"],
			Args: parser.Expressions{&parser.MatrixSelector{VectorSelector: n, Range: window}},
		}
	case *parser.AggregateExpr:
		n.Expr = smoothExpr(n.Expr, window)
		if n.Param != nil {
			n.Param = smoothExpr(n.Param, window)
		}
	case *parser.BinaryExpr:
		n.LHS = smoothExpr(n.LHS, window)
		n.RHS = smoothExpr(n.RHS, window)
	case *parser.ParenExpr:
		n.Expr = smoothExpr(n.Expr, window)
	case *parser.UnaryExpr:
		n.Expr = smoothExpr(n.Expr, window)
	case *parser.StepInvariantExpr:
		n.Expr = smoothExpr(n.Expr, window)
	case *parser.Call:
		for i, a := range n.Args {
			// Functions over instant vectors only (clamp, abs, ...): a
			// range argument is a MatrixSelector or SubqueryExpr and is
			// left alone; scalar and string arguments are not selectors.
			if i < len(n.Func.ArgTypes) && n.Func.ArgTypes[i] == parser.ValueTypeVector {
				n.Args[i] = smoothExpr(a, window)
			} else if n.Func.Variadic != 0 && i >= len(n.Func.ArgTypes) && len(n.Func.ArgTypes) > 0 &&
				n.Func.ArgTypes[len(n.Func.ArgTypes)-1] == parser.ValueTypeVector {
				n.Args[i] = smoothExpr(a, window)
			}
		}
	}
	return e
}
