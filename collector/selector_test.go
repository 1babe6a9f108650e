package collector

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestScopeQuery(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		selector string
		want     string
		wantErr  string
	}{
		{
			name:     "a bare metric gets the selector's matchers",
			query:    `pgxpool_acquired_conns`,
			selector: `{job="checkout"}`,
			want:     `pgxpool_acquired_conns{job="checkout"}`,
		},
		{
			name:     "an aggregation is scoped inside",
			query:    `sum(pgxpool_acquired_conns)`,
			selector: `{job="checkout"}`,
			want:     `sum(pgxpool_acquired_conns{job="checkout"})`,
		},
		{
			name:     "an aggregation with grouping keeps its grouping",
			query:    `sum by (le) (rate(go_sched_latencies_seconds_bucket[30s]))`,
			selector: `{job="checkout"}`,
			want:     `sum by (le) (rate(go_sched_latencies_seconds_bucket{job="checkout"}[30s]))`,
		},
		{
			name:     "both sides of a binary operation are scoped",
			query:    `go_redis_pool_total_conns - go_redis_pool_idle_conns`,
			selector: `{job="checkout"}`,
			want:     `go_redis_pool_total_conns{job="checkout"} - go_redis_pool_idle_conns{job="checkout"}`,
		},
		{
			name:     "functions and range selectors are scoped",
			query:    `histogram_quantile(0.99, rate(x_bucket[1m]))`,
			selector: `{job="checkout"}`,
			want:     `histogram_quantile(0.99, rate(x_bucket{job="checkout"}[1m]))`,
		},
		{
			name:     "a subquery is scoped inside",
			query:    `max_over_time(rate(process_cpu_seconds_total[30s])[5m:15s])`,
			selector: `{job="checkout"}`,
			want:     `max_over_time(rate(process_cpu_seconds_total{job="checkout"}[30s])[5m:15s])`,
		},
		{
			name:     "a label the query already constrains is left as written",
			query:    `sum(pg_stat_activity_count{job="postgres"})`,
			selector: `{job="checkout",env="prod"}`,
			want:     `sum(pg_stat_activity_count{env="prod",job="postgres"})`,
		},
		{
			name:     "a negative matcher on the same label also counts as constrained",
			query:    `up{job!="prometheus"}`,
			selector: `{job="checkout"}`,
			want:     `up{job!="prometheus"}`,
		},
		{
			name:     "regex matchers of the selector are added as they are",
			query:    `sum(container_memory_working_set_bytes{container!=""})`,
			selector: `{namespace="shop", pod=~"checkout-.*"}`,
			want:     `sum(container_memory_working_set_bytes{container!="",namespace="shop",pod=~"checkout-.*"})`,
		},
		{
			name:     "a selector whose matchers all match empty is accepted",
			query:    `up`,
			selector: `{pod=~".*"}`,
			want:     `up{pod=~".*"}`,
		},
		{
			name:     "an empty selector leaves the query unchanged",
			query:    `sum(up)`,
			selector: ``,
			want:     `sum(up)`,
		},
		{
			name:     "empty braces leave the query unchanged",
			query:    `sum(up)`,
			selector: ` {} `,
			want:     `sum(up)`,
		},
		{
			name:     "a query without series selectors is returned as is",
			query:    `vector(1)`,
			selector: `{job="checkout"}`,
			want:     `vector(1)`,
		},
		{
			name:     "series selected by __name__ are scoped too",
			query:    `count({__name__=~"pgxpool_.*"})`,
			selector: `{job="checkout"}`,
			want:     `count({__name__=~"pgxpool_.*",job="checkout"})`,
		},
		{
			name:     "an or of alternatives scopes each alternative",
			query:    `sum(a) or sum(b)`,
			selector: `{job="checkout"}`,
			want:     `sum(a{job="checkout"}) or sum(b{job="checkout"})`,
		},
		{
			name:     "a selector without braces is refused",
			query:    `up`,
			selector: `job="checkout"`,
			wantErr:  `expected label matchers in braces`,
		},
		{
			name:     "a selector that names a metric is refused",
			query:    `up`,
			selector: `{__name__="up"}`,
			wantErr:  `must not match __name__`,
		},
		{
			name:     "a selector that does not parse is refused",
			query:    `up`,
			selector: `{job="checkout"`,
			wantErr:  `invalid label selector`,
		},
		{
			name:     "a query that does not parse is refused with the parser's position",
			query:    `sum(pgxpool_acquired_conns`,
			selector: `{job="checkout"}`,
			wantErr:  `parse error`,
		},
		{
			name:     "a query returning a range vector is refused",
			query:    `up[5m]`,
			selector: `{job="checkout"}`,
			wantErr:  `returns a matrix; expected an instant vector or a scalar`,
		},
		{
			name:     "a query returning a string is refused",
			query:    `"hello"`,
			selector: ``,
			wantErr:  `returns a string`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScopeQuery(tt.query, tt.selector)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ScopeQuery(%q, %q) error = %v, want one containing %q", tt.query, tt.selector, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ScopeQuery(%q, %q): %v", tt.query, tt.selector, err)
			}
			if got != tt.want {
				t.Fatalf("ScopeQuery(%q, %q)\n got %s\nwant %s", tt.query, tt.selector, got, tt.want)
			}
			// The result must itself parse, and scoping twice changes nothing.
			again, err := ScopeQuery(got, tt.selector)
			if err != nil || again != got {
				t.Fatalf("scoping the result again gave %q, %v; want it unchanged", again, err)
			}
		})
	}
}

func TestScopeQueryErrorsWrapSentinels(t *testing.T) {
	if _, err := ScopeQuery("up", "nope"); !errors.Is(err, ErrBadSelector) {
		t.Errorf("bad selector error %v does not wrap ErrBadSelector", err)
	}
	if _, err := ScopeQuery("sum(", ""); !errors.Is(err, ErrBadPromQL) {
		t.Errorf("bad query error %v does not wrap ErrBadPromQL", err)
	}
}

func TestScopedQueryReplacesRateWindows(t *testing.T) {
	ms, err := ParseSelector(`{job="checkout"}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := scopedQuery(`rate(a[30s]) + max_over_time(rate(b[30s])[5m:10s])`, ms, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := `rate(a{job="checkout"}[2m]) + max_over_time(rate(b{job="checkout"}[2m])[5m:10s])`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestQuerySelectorsListsSelectorsAndMetrics(t *testing.T) {
	sels, names, err := querySelectors(`sum(rate(a{x="1"}[30s])) / sum(b) or count(a{x="1"})`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(sels, " ") != `a{x="1"} b` {
		t.Errorf("selectors = %q", sels)
	}
	if strings.Join(names, " ") != "a b" {
		t.Errorf("metrics = %q", names)
	}
}

func TestSmoothGaugesAveragesInstantSelectorsOverTheWindow(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a bare gauge is averaged", `pgxpool_acquired_conns{job="a"}`, `avg_over_time(pgxpool_acquired_conns{job="a"}[10s])`},
		{"both sides of a ratio are averaged", `sum(go_sql_in_use_connections) / sum(go_sql_max_open_connections)`,
			`sum(avg_over_time(go_sql_in_use_connections[10s])) / sum(avg_over_time(go_sql_max_open_connections[10s]))`},
		{"a selector inside a range is left alone", `sum(rate(process_cpu_seconds_total[1m]))`, `sum(rate(process_cpu_seconds_total[1m]))`},
		{"the vector argument of a function is averaged, its scalar is not", `clamp_max(redis_connected_clients, 5)`,
			`clamp_max(avg_over_time(redis_connected_clients[10s]), 5)`},
		{"a quantile over rates is left alone", `histogram_quantile(0.9, sum by (le) (rate(x_bucket[30s])))`,
			`histogram_quantile(0.9, sum by (le) (rate(x_bucket[30s])))`},
		{"a number stays a number", `vector(20)`, `vector(20)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := smoothGauges(tc.in, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("smoothGauges(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if _, err := smoothGauges(`sum(`, time.Second); err == nil {
		t.Error("a query that does not parse gave no error")
	}
}
