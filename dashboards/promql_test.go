package dashboards

import (
	"errors"
	"github.com/headroom-sh/headroom/internal/selector"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

func TestExpressionsAreBuiltFromTheSyntaxTree(t *testing.T) {
	job := matcher(labels.MatchEqual, "job", "checkout")
	cases := []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{
			"a selector is added to every series selector that does not constrain its label",
			func() (string, error) {
				e, _ := parseExpr(`sum(a) / sum(b{job="other"}) + c`)
				scope(e, []*labels.Matcher{job})
				return render(e, false)
			},
			`sum(a{job="checkout"}) / sum(b{job="other"}) + c{job="checkout"}`,
		},
		{
			"rate windows become Grafana's $__rate_interval",
			func() (string, error) {
				x := &exprs{}
				return x.q(`sum(rate(a[30s])) / sum(rate(b[5m]))`), x.err
			},
			`sum(rate(a[$__rate_interval])) / sum(rate(b[$__rate_interval]))`,
		},
		{
			"rate windows become a fixed window in rule files",
			func() (string, error) {
				x := &exprs{window: 2 * time.Minute}
				return x.q(`rate(a[30s])`), x.err
			},
			`rate(a[2m])`,
		},
		{
			"subquery ranges are left alone",
			func() (string, error) {
				x := &exprs{}
				return x.q(`max_over_time(rate(a[30s])[10m:1m])`), x.err
			},
			`max_over_time(rate(a[$__rate_interval])[10m:1m])`,
		},
		{
			"or on() prefers the first alternative and wraps scalars in vector()",
			func() (string, error) {
				a, _ := parseExpr(`sum(a) + sum(b)`)
				return render(orElse(a, &parser.NumberLiteral{Val: 4}), false)
			},
			`(sum(a) + sum(b)) or on () vector(4)`,
		},
		{
			"a constant label is added with label_replace",
			func() (string, error) {
				a, _ := parseExpr(`sum(a)`)
				return render(withLabel(a, "family", "pgxpool"), false)
			},
			`label_replace(sum(a), "family", "pgxpool", "", "")`,
		},
		{
			"a latency quantile reads the native histogram, else the classic buckets",
			func() (string, error) {
				x := &exprs{window: time.Minute}
				return x.str(x.latencyQuantile(0.95, []string{"endpoint"}, job)), x.err
			},
			`histogram_quantile(0.95, sum by (endpoint) (rate(headroom_request_duration_seconds{job="checkout"}[1m]))) or histogram_quantile(0.95, sum by (endpoint, le) (rate(headroom_request_duration_seconds_bucket{job="checkout"}[1m])))`,
		},
		{
			"an error ratio is 0 rather than missing when nothing failed",
			func() (string, error) {
				x := &exprs{window: time.Minute}
				return x.str(x.errorRatio(nil)), x.err
			},
			`(sum(rate(headroom_requests_total{status=~"error|[45].."}[1m])) or (sum(rate(headroom_requests_total[1m])) * 0)) / sum(rate(headroom_requests_total[1m]))`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.got()
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestASkeletonThatDoesNotParseIsAnError(t *testing.T) {
	x := &exprs{}
	_ = x.q(`sum(rate(a[30s])`)
	if !errors.Is(x.err, ErrBadPromQL) {
		t.Fatalf("err = %v, want ErrBadPromQL", x.err)
	}
	// The first error is kept.
	first := x.err
	_ = x.q(`)(`)
	if x.err != first {
		t.Errorf("err = %v, want the first error %v", x.err, first)
	}
}

func TestSelectors(t *testing.T) {
	cases := []struct {
		name, sel string
		want      string // matchers joined by ","; "" for none
		err       string
	}{
		{"an empty selector has no matchers", "", "", ""},
		{"braces alone have no matchers", " {} ", "", ""},
		{"matchers are read in order", `{job="checkout", pod=~"checkout-.*"}`, `job="checkout",pod=~"checkout-.*"`, ""},
		{"a Grafana variable is a plain value", `{job=~"$job"}`, `job=~"$job"`, ""},
		{"a matcher that matches the empty string is accepted", `{pod=~".*"}`, `pod=~".*"`, ""},
		{"a selector without braces is refused", `job="x"`, "", "expected label matchers in braces"},
		{"a selector naming a metric is refused", `{__name__="up"}`, "", "must not match __name__"},
		{"a selector that does not parse is refused", `{job=}`, "", "invalid label selector"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms, err := selector.Parse(c.sel)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrBadSelector) {
					t.Fatalf("err = %v, want ErrBadSelector containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.String())
			}
			if strings.Join(got, ",") != c.want {
				t.Errorf("matchers = %q, want %q", strings.Join(got, ","), c.want)
			}
		})
	}
}
