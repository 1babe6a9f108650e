package model

import (
	"fmt"
	"strconv"
	"strings"
)

// Threshold metrics understood by the runner, named as in k6.
var ThresholdMetrics = map[string]string{
	"http_req_duration":  "request duration in ms: p(N), avg, min, max, med",
	"http_req_failed":    "fraction of failed requests: rate",
	"errors":             "fraction of failed requests: rate",
	"http_reqs":          "requests: count, rate (per second)",
	"checks":             "fraction of checks that passed: rate",
	"iteration_duration": "iteration duration in ms: p(N), avg, min, max, med",
	"dropped_iterations": "iterations that could not start: count, rate (per second), share (of scheduled iterations)",
}

// ThresholdExpr is a parsed threshold such as "p(95)<800".
type ThresholdExpr struct {
	// Agg is p, avg, min, max, med, rate, count or share.
	Agg string
	// Quantile is set for p(N): 0.95 for p(95).
	Quantile float64
	// Op is <, <=, >, >=, == or !=.
	Op    string
	Value float64
}

// ParseThreshold reads k6's threshold syntax: AGG OP VALUE, AGG one of
// p(N), avg, min, max, med, rate, count.
func ParseThreshold(s string) (ThresholdExpr, error) {
	src := strings.TrimSpace(s)
	var e ThresholdExpr
	opAt := strings.IndexAny(src, "<>=!")
	if opAt <= 0 {
		return e, fmt.Errorf("threshold %q: expected AGGREGATION OPERATOR VALUE such as \"p(95)<800\" or \"rate<0.05\"", s)
	}
	agg := strings.TrimSpace(src[:opAt])
	rest := src[opAt:]
	for _, op := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			e.Op = op
			rest = rest[len(op):]
			break
		}
	}
	if e.Op == "" {
		return e, fmt.Errorf("threshold %q: unknown operator; expected one of <, <=, >, >=, ==, !=", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
	if err != nil {
		return e, fmt.Errorf("threshold %q: %q is not a number", s, strings.TrimSpace(rest))
	}
	e.Value = v
	switch {
	case strings.HasPrefix(agg, "p(") && strings.HasSuffix(agg, ")"):
		q, err := strconv.ParseFloat(strings.TrimSpace(agg[2:len(agg)-1]), 64)
		if err != nil || q < 0 || q > 100 {
			return e, fmt.Errorf("threshold %q: percentile %q must be a number from 0 to 100", s, agg)
		}
		e.Agg, e.Quantile = "p", q/100
	case agg == "avg", agg == "min", agg == "max", agg == "med", agg == "rate", agg == "count", agg == "share":
		e.Agg = agg
		if agg == "med" {
			e.Agg, e.Quantile = "p", 0.5
		}
	default:
		return e, fmt.Errorf("threshold %q: unknown aggregation %q; expected p(N), avg, min, max, med, rate, count or share", s, agg)
	}
	return e, nil
}

// Eval reports whether observed satisfies the threshold.
func (e ThresholdExpr) Eval(observed float64) bool {
	switch e.Op {
	case "<":
		return observed < e.Value
	case "<=":
		return observed <= e.Value
	case ">":
		return observed > e.Value
	case ">=":
		return observed >= e.Value
	case "==":
		return observed == e.Value
	case "!=":
		return observed != e.Value
	}
	return false
}

// ThresholdKey is a parsed threshold key: a metric and an optional tag
// filter, `http_req_duration{endpoint:GET /api/orders/{id}}`.
type ThresholdKey struct {
	Metric string
	// Tags filter the samples; known tags are endpoint, method, status,
	// stage, flow and check.
	Tags map[string]string
}

// ThresholdTags are the tag names a threshold key may filter on.
var ThresholdTags = []string{"endpoint", "method", "status", "stage", "flow", "check"}

// ParseThresholdKey reads "metric" or "metric{tag:value,tag:value}". A value
// may itself contain braces (an endpoint template); the filter ends at the
// last "}".
func ParseThresholdKey(k string) (ThresholdKey, error) {
	key := ThresholdKey{}
	open := strings.IndexByte(k, '{')
	name := k
	if open >= 0 {
		if !strings.HasSuffix(k, "}") {
			return key, fmt.Errorf("threshold key %q: tag filter must end with \"}\"", k)
		}
		name = k[:open]
		inner := k[open+1 : len(k)-1]
		key.Tags = map[string]string{}
		for _, kv := range splitTagFilter(inner) {
			i := strings.IndexByte(kv, ':')
			if i <= 0 {
				return key, fmt.Errorf("threshold key %q: tag filter %q must be tag:value", k, kv)
			}
			tag, val := strings.TrimSpace(kv[:i]), strings.TrimSpace(kv[i+1:])
			known := false
			for _, t := range ThresholdTags {
				known = known || t == tag
			}
			if !known {
				return key, fmt.Errorf("threshold key %q: unknown tag %q; expected one of %s", k, tag, strings.Join(ThresholdTags, ", "))
			}
			key.Tags[tag] = val
		}
	}
	key.Metric = strings.TrimSpace(name)
	if _, ok := ThresholdMetrics[key.Metric]; !ok {
		names := make([]string, 0, len(ThresholdMetrics))
		for n := range ThresholdMetrics {
			names = append(names, n)
		}
		sortStrings(names)
		return key, fmt.Errorf("threshold key %q: unknown metric %q; expected one of %s", k, key.Metric, strings.Join(names, ", "))
	}
	return key, nil
}

// splitTagFilter splits on commas that are not inside braces, so that
// "endpoint:GET /a/{id},status:200" gives two filters.
func splitTagFilter(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// AggsFor lists the aggregations that make sense for a threshold metric.
func AggsFor(metric string) []string {
	switch metric {
	case "http_req_duration", "iteration_duration":
		return []string{"p", "avg", "min", "max"}
	case "http_req_failed", "errors", "checks":
		return []string{"rate"}
	case "http_reqs":
		return []string{"count", "rate"}
	case "dropped_iterations":
		return []string{"count", "rate", "share"}
	}
	return nil
}
