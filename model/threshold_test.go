package model

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	cases := map[string]struct {
		in   string
		want ThresholdExpr
	}{
		"a percentile below a bound":          {"p(95)<800", ThresholdExpr{Agg: "p", Quantile: 0.95, Op: "<", Value: 800}},
		"a fractional percentile":             {"p(99.9)<=1500", ThresholdExpr{Agg: "p", Quantile: 0.999, Op: "<=", Value: 1500}},
		"spaces around the parts are ignored": {"  p(90) < 200 ", ThresholdExpr{Agg: "p", Quantile: 0.9, Op: "<", Value: 200}},
		"a rate":                              {"rate<0.05", ThresholdExpr{Agg: "rate", Op: "<", Value: 0.05}},
		"a lower bound on a rate":             {"rate>=0.95", ThresholdExpr{Agg: "rate", Op: ">=", Value: 0.95}},
		"med is the 50th percentile":          {"med<100", ThresholdExpr{Agg: "p", Quantile: 0.5, Op: "<", Value: 100}},
		"avg, with equality":                  {"avg==3", ThresholdExpr{Agg: "avg", Op: "==", Value: 3}},
		"count, with inequality":              {"count!=0", ThresholdExpr{Agg: "count", Op: "!=", Value: 0}},
		"max above a bound":                   {"max>1", ThresholdExpr{Agg: "max", Op: ">", Value: 1}},
		"min":                                 {"min<5", ThresholdExpr{Agg: "min", Op: "<", Value: 5}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseThreshold(c.in)
			if err != nil {
				t.Fatalf("ParseThreshold(%q): %v", c.in, err)
			}
			if got.Agg != c.want.Agg || got.Op != c.want.Op || got.Value != c.want.Value || !near(got.Quantile, c.want.Quantile) {
				t.Errorf("ParseThreshold(%q) = %+v, want %+v", c.in, got, c.want)
			}
		})
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-12 && d > -1e-12
}

func TestParseThresholdRejects(t *testing.T) {
	cases := map[string]struct{ in, msg string }{
		"a missing operator":       {"p(95)", "expected AGGREGATION OPERATOR VALUE"},
		"a missing aggregation":    {"<800", "expected AGGREGATION OPERATOR VALUE"},
		"a percentile without ()":  {"p95<800", `unknown aggregation "p95"`},
		"a percentile above 100":   {"p(120)<800", "must be a number from 0 to 100"},
		"a value with a unit":      {"p(95)<800ms", `"800ms" is not a number`},
		"an unknown operator":      {"p(95)=<800", "unknown operator"},
		"an unknown aggregation":   {"mean<3", `unknown aggregation "mean"`},
		"a lone exclamation mark":  {"rate!0.5", "unknown operator"},
		"an empty expression":      {"", "expected AGGREGATION OPERATOR VALUE"},
		"an empty percentile":      {"p()<1", "must be a number from 0 to 100"},
		"a value that is not read": {"rate<", `"" is not a number`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseThreshold(c.in)
			if err == nil {
				t.Fatalf("ParseThreshold(%q) accepted it", c.in)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("ParseThreshold(%q) = %q, want it to contain %q", c.in, err, c.msg)
			}
		})
	}
}

func TestThresholdEval(t *testing.T) {
	cases := []struct {
		expr     string
		observed float64
		pass     bool
	}{
		{"p(95)<800", 799, true}, {"p(95)<800", 800, false},
		{"p(95)<=800", 800, true}, {"rate>0.95", 0.95, false},
		{"rate>=0.95", 0.95, true}, {"count==0", 0, true},
		{"count!=0", 0, false}, {"max>1", 2, true},
	}
	for _, c := range cases {
		e, err := ParseThreshold(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Eval(c.observed); got != c.pass {
			t.Errorf("%s with %v = %v, want %v", c.expr, c.observed, got, c.pass)
		}
	}
}

func TestParseThresholdKey(t *testing.T) {
	cases := map[string]struct {
		in   string
		want ThresholdKey
	}{
		"a bare metric has no tags": {"http_req_duration", ThresholdKey{Metric: "http_req_duration"}},
		"an endpoint filter may hold the braces of a route template": {
			"http_req_duration{endpoint:GET /api/orders/{id}}",
			ThresholdKey{Metric: "http_req_duration", Tags: map[string]string{"endpoint": "GET /api/orders/{id}"}},
		},
		"several filters are split on commas outside braces": {
			"http_req_failed{endpoint:GET /a/{x},status:500}",
			ThresholdKey{Metric: "http_req_failed", Tags: map[string]string{"endpoint": "GET /a/{x}", "status": "500"}},
		},
		"spaces around tags and values are trimmed": {
			"checks{ check : order created }",
			ThresholdKey{Metric: "checks", Tags: map[string]string{"check": "order created"}},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseThresholdKey(c.in)
			if err != nil {
				t.Fatalf("ParseThresholdKey(%q): %v", c.in, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ParseThresholdKey(%q) = %#v, want %#v", c.in, got, c.want)
			}
		})
	}
}

func TestParseThresholdKeyRejects(t *testing.T) {
	cases := map[string]struct{ in, msg string }{
		"an unknown metric lists the known ones": {"http_req_duraton", `unknown metric "http_req_duraton"; expected one of checks, dropped_iterations`},
		"an unknown tag lists the known ones":    {"http_req_duration{url:/a}", `unknown tag "url"; expected one of endpoint, method`},
		"a filter without a colon":               {"http_req_duration{endpoint}", `tag filter "endpoint" must be tag:value`},
		"an unclosed filter":                     {"http_req_duration{endpoint:GET /a", `must end with "}"`},
		"an empty filter":                        {"http_req_duration{}", "must be tag:value"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseThresholdKey(c.in)
			if err == nil {
				t.Fatalf("ParseThresholdKey(%q) accepted it", c.in)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("ParseThresholdKey(%q) = %q, want it to contain %q", c.in, err, c.msg)
			}
		})
	}
}

func TestEveryThresholdMetricHasAggregations(t *testing.T) {
	for m := range ThresholdMetrics {
		if len(AggsFor(m)) == 0 {
			t.Errorf("metric %s has no aggregations", m)
		}
	}
	if AggsFor("nope") != nil {
		t.Error("an unknown metric has aggregations")
	}
}
