// Package selector reads the PromQL label selectors that scope headroom's
// queries to a system under test ({job="checkout"}), for the collector and
// the dashboards alike, and checks a model.Scope against a catalog.
package selector

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/headroom-sh/headroom/model"
)

// ErrBadSelector is wrapped by every error about a label selector.
var ErrBadSelector = errors.New("invalid label selector")

// promqlParser parses with Prometheus's default options, the ones a
// Prometheus server without feature flags accepts.
var promqlParser = parser.NewParser(parser.Options{})

// Parse reads a label selector such as `{job="checkout"}` or
// `{namespace="shop", pod=~"checkout-.*"}`. An empty string or `{}` selects
// everything and gives no matchers. A selector must not name a metric.
// Values may hold Grafana variables (`{job=~"$job"}`), which are plain text
// to PromQL.
func Parse(sel string) ([]*labels.Matcher, error) {
	s := strings.TrimSpace(sel)
	if s == "" {
		return nil, nil
	}
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, fmt.Errorf("%w %q: expected label matchers in braces such as {job=\"checkout\"}", ErrBadSelector, sel)
	}
	if strings.TrimSpace(s[1:len(s)-1]) == "" {
		return nil, nil
	}
	ms, err := promqlParser.ParseMetricSelector(s)
	if err != nil {
		// Parsing behind a placeholder metric name accepts selectors whose
		// matchers all match the empty string, such as {pod=~".*"}, which
		// are harmless as an addition to a selector that names its metric.
		const placeholder = "headroom_selector_placeholder"
		expr, perr := promqlParser.ParseExpr(placeholder + s)
		vs, ok := expr.(*parser.VectorSelector)
		if perr != nil || !ok || vs.OriginalOffset != 0 || vs.OriginalOffsetExpr != nil || vs.Timestamp != nil || vs.StartOrEnd != 0 {
			return nil, fmt.Errorf("%w %q: %w", ErrBadSelector, sel, err)
		}
		ms = ms[:0]
		for _, m := range vs.LabelMatchers {
			if m.Name != labels.MetricName || m.Value != placeholder {
				ms = append(ms, m)
			}
		}
	}
	for _, m := range ms {
		if m.Name == labels.MetricName {
			return nil, fmt.Errorf("%w %q: a selector scopes every metric of a query and must not match %s", ErrBadSelector, sel, labels.MetricName)
		}
	}
	return ms, nil
}

// CheckScope verifies that every selector of s parses, that every key names
// a kind (and family) of the catalog, and that every limit is a positive
// number.
func CheckScope(s model.Scope, cat *model.Catalog) error {
	if _, err := Parse(s.Selector); err != nil {
		return fmt.Errorf("selector: %w", err)
	}
	known := func(key string) error {
		kind, fam, hasFam := strings.Cut(key, "/")
		r := cat.Resource(kind)
		if r == nil {
			kinds := make([]string, len(cat.Resources))
			for i, r := range cat.Resources {
				kinds[i] = r.Kind
			}
			slices.Sort(kinds)
			return fmt.Errorf("no resource kind %q in the catalog; known kinds: %s", kind, strings.Join(kinds, ", "))
		}
		if hasFam && r.Family(fam) == nil {
			names := make([]string, len(r.Families))
			for i, f := range r.Families {
				names[i] = f.Name
			}
			return fmt.Errorf("resource %q has no family %q; its families: %s", kind, fam, strings.Join(names, ", "))
		}
		return nil
	}
	for _, k := range sortedKeys(s.SelectorFor) {
		if err := known(k); err != nil {
			return fmt.Errorf("selector for %s: %w", k, err)
		}
		if _, err := Parse(s.SelectorFor[k]); err != nil {
			return fmt.Errorf("selector for %s: %w", k, err)
		}
	}
	for _, k := range sortedKeys(s.LimitFor) {
		if err := known(k); err != nil {
			return fmt.Errorf("limit for %s: %w", k, err)
		}
		if v := s.LimitFor[k]; math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			return fmt.Errorf("limit for %s: %v is not a positive number", k, v)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
