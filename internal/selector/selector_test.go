package selector_test

import (
	"context"
	"errors"
	pmodel "github.com/prometheus/common/model"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/dashboards"
	"github.com/headroom-sh/headroom/internal/selector"
	"github.com/headroom-sh/headroom/model"
)

func TestSelectorsParse(t *testing.T) {
	for _, c := range []struct {
		name, in string
		matchers int
		err      string
	}{
		{"an empty selector selects everything", "", 0, ""},
		{"empty braces select everything", " {} ", 0, ""},
		{"one matcher", `{job="checkout"}`, 1, ""},
		{"matchers that all match the empty string are kept", `{pod=~".*"}`, 1, ""},
		{"a Grafana variable is plain text", `{job=~"$job", namespace="shop"}`, 2, ""},
		{"a selector without braces is refused", `job="x"`, 0, "expected label matchers in braces"},
		{"a selector naming a metric is refused", `{__name__="up"}`, 0, "must not match __name__"},
		{"a modifier after the braces is refused", `{job="x"} offset 5m`, 0, "expected label matchers in braces"},
		{"a broken matcher is refused", `{job=}`, 0, "invalid label selector"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms, err := selector.Parse(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, selector.ErrBadSelector) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil || len(ms) != c.matchers {
				t.Fatalf("got %v, %v; want %d matchers", ms, err, c.matchers)
			}
		})
	}
}

// TestTheCollectorAndTheDashboardsReadAScopeAlike feeds the same scopes to
// the collector (Discover) and to the rule builder. They used to have a
// parser and a check each, and named the known kinds in different orders;
// now both give the same verdict and the same message.
func TestTheCollectorAndTheDashboardsReadAScopeAlike(t *testing.T) {
	cat := collector.DefaultCatalog()
	now := time.Now()
	for _, c := range []struct {
		name  string
		scope model.Scope
		ok    bool
	}{
		{"a plain selector", model.Scope{Selector: `{job="checkout"}`}, true},
		{"an all-empty matcher", model.Scope{Selector: `{pod=~".*"}`}, true},
		{"no braces", model.Scope{Selector: `job="x"`}, false},
		{"a metric name", model.Scope{Selector: `{__name__="up"}`}, false},
		{"an unknown kind", model.Scope{SelectorFor: map[string]string{"dbpool": `{job="x"}`}}, false},
		{"an unknown family", model.Scope{SelectorFor: map[string]string{"cpu/proc": `{job="x"}`}}, false},
		{"a bad selector for a kind", model.Scope{SelectorFor: map[string]string{model.KindCPU: `{job=}`}}, false},
		{"a limit that is not positive", model.Scope{LimitFor: map[string]float64{model.KindCPU: -1}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			// An empty source: a scope that passes the check finds nothing.
			_, cerr := collector.Discover(context.Background(), emptySource{}, cat, collector.Selectors{Scope: c.scope}, now.Add(-time.Minute), now)
			_, derr := dashboards.Rules(dashboards.RulesConfig{Catalog: cat, Scope: c.scope})
			if c.ok {
				if derr != nil {
					t.Fatalf("the rules refuse the scope: %v", derr)
				}
				if cerr != nil && strings.Contains(cerr.Error(), "selector") {
					t.Fatalf("the collector refuses the scope: %v", cerr)
				}
				return
			}
			if cerr == nil || derr == nil {
				t.Fatalf("collector: %v; dashboards: %v; want both to refuse", cerr, derr)
			}
			want := selector.CheckScope(c.scope, cat).Error()
			if !strings.HasSuffix(cerr.Error(), want) || !strings.HasSuffix(derr.Error(), want) {
				t.Errorf("messages differ:\ncollector:  %v\ndashboards: %v\nwant both to end with: %s", cerr, derr, want)
			}
		})
	}
}

// emptySource is a metrics source without series.
type emptySource struct{}

func (emptySource) Query(context.Context, string, time.Time) (pmodel.Value, error) {
	return pmodel.Vector{}, nil
}

func (emptySource) QueryRange(context.Context, string, collector.Range) (pmodel.Matrix, error) {
	return pmodel.Matrix{}, nil
}

func (emptySource) Series(context.Context, []string, time.Time, time.Time) ([]pmodel.LabelSet, error) {
	return nil, nil
}
