package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
)

func runResourcesCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"resources"}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// writeStoreRun records a minute of an application's metrics (a pgx pool of
// 20 with 7 acquired, and half a core of CPU) at one-second intervals in an
// embedded store beside a run.json that points at it, and returns the path
// of run.json and the recorded window.
func writeStoreRun(t *testing.T) (runPath string, start, end time.Time) {
	t.Helper()
	dir := t.TempDir()
	st, err := collector.OpenStore(collector.StoreConfig{Dir: filepath.Join(dir, "store")})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"job": "checkout", "instance": "127.0.0.1:8080"}, reg)
	acquired := prometheus.NewGauge(prometheus.GaugeOpts{Name: "pgxpool_acquired_conns", Help: "Acquired."})
	maxConns := prometheus.NewGauge(prometheus.GaugeOpts{Name: "pgxpool_max_conns", Help: "Max."})
	cpu := prometheus.NewCounter(prometheus.CounterOpts{Name: "process_cpu_seconds_total", Help: "CPU."})
	wrapped.MustRegister(acquired, maxConns, cpu)
	acquired.Set(7)
	maxConns.Set(20)
	start = time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	for i := 0; i <= 60; i++ {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Write(context.Background(), start.Add(time.Duration(i)*time.Second), mfs); err != nil {
			t.Fatal(err)
		}
		cpu.Add(0.5)
	}
	end = start.Add(60 * time.Second)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	run := model.Run{RunID: "r1", Scenario: "checkout", Status: model.RunCompleted, Start: start, End: end,
		Metrics: &model.MetricsRef{Store: "store", Selector: `{job="checkout"}`}}
	b, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	runPath = filepath.Join(dir, "run.json")
	if err := os.WriteFile(runPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return runPath, start, end
}

func TestResourcesFromARunsEmbeddedStore(t *testing.T) {
	runPath, start, end := writeStoreRun(t)

	t.Run("json lists the detected resources with their figures and what was not found", func(t *testing.T) {
		out, stderr, err := runResourcesCmd(t, "--run", runPath, "--format", "json", "--rate-window", "5s", "--limit-for", "cpu=2")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		var rep struct {
			Selector  string    `json:"selector"`
			Start     time.Time `json:"start"`
			End       time.Time `json:"end"`
			Resources []struct {
				Kind           string `json:"kind"`
				Family         string `json:"family"`
				Missing        string `json:"missing"`
				LimitSource    string `json:"limit_source"`
				Usage, Limit   *struct{ Min, Avg, Max *float64 }
				UtilizationMax *float64 `json:"utilization_max"`
			} `json:"resources"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		if rep.Selector != `{job="checkout"}` || !rep.Start.Equal(start) || !rep.End.Equal(end) {
			t.Errorf("selector %q, window %s–%s; want the run's", rep.Selector, rep.Start, rep.End)
		}
		seen := map[string]bool{}
		for _, r := range rep.Resources {
			seen[r.Kind] = true
			switch r.Kind {
			case model.KindDBPool:
				if r.Family != "pgxpool" || r.Usage == nil || *r.Usage.Avg != 7 || r.Limit == nil || *r.Limit.Max != 20 || r.UtilizationMax == nil || *r.UtilizationMax != 0.35 {
					t.Errorf("db_pool = %+v", r)
				}
			case model.KindCPU:
				if r.Family != "process" || r.LimitSource != "configured" || r.Usage == nil || math.Abs(*r.Usage.Max-0.5) > 1e-6 || r.UtilizationMax == nil || math.Abs(*r.UtilizationMax-0.25) > 1e-6 {
					t.Errorf("cpu = %+v; want at most 0.5 of the 2 configured cores (the first points of a rate are lower)", r)
				}
			case model.KindRedis:
				if r.Family != "" || r.Missing != "no Redis server metrics found; looked for redis_*" {
					t.Errorf("redis = %+v", r)
				}
			}
		}
		for _, k := range model.Kinds {
			if !seen[k] {
				t.Errorf("the report lacks %s", k)
			}
		}
	})

	t.Run("the table shows usage, limit, utilization and the families looked for", func(t *testing.T) {
		out, stderr, err := runResourcesCmd(t, "--run", runPath, "--rate-window", "5s")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		for _, want := range []string{
			`Resources of {job="checkout"} from embedded store`,
			"| DB connection pool | pgxpool",
			"7 / 7 / 7 connections",
			"35.0%",
			"| CPU                | process",
			"- no Redis server metrics found; looked for redis_*",
			// The target is on 127.0.0.1: this machine's cores bound it.
			fmt.Sprintf("CPU: limit from this machine's %d cores (the target 127.0.0.1:8080 runs on this machine)", runtime.NumCPU()),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("another selector finds no pool and says what it looked for", func(t *testing.T) {
		out, _, err := runResourcesCmd(t, "--run", runPath, "--selector", `{job="billing"}`)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "- no DB connection pool metrics found; looked for pgxpool_*, go_sql_stats_connections_*, hikaricp_connections_*") {
			t.Errorf("output:\n%s", out)
		}
	})
}

func TestResourcesErrors(t *testing.T) {
	dir := t.TempDir()
	noMetrics := filepath.Join(dir, "run.json")
	if err := os.WriteFile(noMetrics, []byte(`{"run_id":"x","start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:01:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no source is an error that names both flags", nil, "pass --prometheus URL or --run run.json"},
		{"an unknown format is refused", []string{"--prometheus", down, "--format", "xml"}, `--format "xml": expected table or json`},
		{"a selector without braces names the flag", []string{"--prometheus", down, "--selector", `job="x"`}, "--selector: invalid label selector"},
		{"a --selector-for without = shows the form expected", []string{"--prometheus", down, "--selector-for", "db_pool"}, "expected KIND[/FAMILY]=SELECTOR"},
		{"a --selector-for for an unknown kind lists the known kinds", []string{"--prometheus", down, "--selector-for", `dbpool={job="x"}`}, `no resource kind "dbpool" in the catalog; known kinds:`},
		{"a --limit-for that is not a number names the flag", []string{"--prometheus", down, "--limit-for", "cpu=four"}, `--limit-for cpu: "four" is not a positive number`},
		{"a --from that is not a time shows the forms expected", []string{"--prometheus", down, "--from", "yesterday"}, `--from "yesterday": expected now, now-DURATION`},
		{"a window that ends before it starts is refused", []string{"--prometheus", down, "--from", "now-1m", "--to", "now-2m"}, "ends"},
		{"a run without a metrics location says so", []string{"--run", noMetrics}, "records no metrics location"},
		{"a missing run file is named", []string{"--run", filepath.Join(dir, "nope.json")}, "nope.json"},
		{"an unreachable Prometheus is named with the resource", []string{"--prometheus", down, "--prometheus-timeout", "2s"}, "could not discover resource db_pool: family pgxpool: could not query Prometheus at " + down},
		{"a broken catalog names its file", []string{"--prometheus", down, "--catalog", filepath.Join("..", "..", "collector", "testdata", "catalog", "broken-promql.yaml")}, "broken-promql.yaml:6:16: resources[db_pool].families[pgxpool].usage: invalid PromQL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runResourcesCmd(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v; want one containing %q", err, tt.want)
			}
			if code := exitCode(err, &bytes.Buffer{}); code != ExitError1 {
				t.Errorf("exit code %d; want 1", code)
			}
		})
	}
}

func TestResourcesHelpAndPrintCatalog(t *testing.T) {
	out, _, err := runResourcesCmd(t, "--help")
	if !errors.Is(err, errHelp) {
		t.Fatalf("err = %v; want errHelp", err)
	}
	for _, want := range []string{"headroom resources", "--prometheus", "--selector-for", "-prometheus-bearer-token-file", "Example:"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	out, _, err = runResourcesCmd(t, "--print-catalog")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "kind: db_pool") || !strings.Contains(out, "pgxpool_max_conns") {
		t.Errorf("--print-catalog output:\n%s", out)
	}
}

func TestParseTimeFlag(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Time
	}{
		{"now is now", "now", now},
		{"now minus a duration is in the past", "now-15m", now.Add(-15 * time.Minute)},
		{"compound durations are read", "now-1h30m", now.Add(-90 * time.Minute)},
		{"a bare negative duration is relative to now", "-2h", now.Add(-2 * time.Hour)},
		{"now plus a duration is in the future", "now+5m", now.Add(5 * time.Minute)},
		{"RFC 3339 is read", "2026-04-30T10:00:00Z", time.Date(2026, 4, 30, 10, 0, 0, 0, time.UTC)},
		{"RFC 3339 with nanoseconds and an offset is read", "2026-04-30T12:00:00.5+02:00", time.Date(2026, 4, 30, 10, 0, 0, 5e8, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTimeFlag("from", tt.in, now)
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("parseTimeFlag(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "now-", "now-15", "nowish", "15m", "2026-04-30"} {
		if _, err := parseTimeFlag("from", bad, now); err == nil {
			t.Errorf("parseTimeFlag(%q) succeeded; want an error", bad)
		}
	}
}

func TestParseQuantity(t *testing.T) {
	for in, want := range map[string]float64{"4": 4, "0.5": 0.5, "512MiB": 512 << 20, "8GiB": 8 << 30, "2GB": 2e9, " 1 KiB ": 1024} {
		if got, err := parseQuantity(in); err != nil || got != want {
			t.Errorf("parseQuantity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "NaN", "Inf", "GiB"} {
		if _, err := parseQuantity(bad); err == nil {
			t.Errorf("parseQuantity(%q) succeeded; want an error", bad)
		}
	}
}
