package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
)

// reviewTestDay is the recorded day `headroom review` is tested on:
// 2026-01-05, traffic from 180 req/s at 03:00 to 600 req/s at 15:00 UTC,
// scraped every minute. Its pgx pool of 10 connections holds each for
// 10ms, so it reaches 90% at 900 req/s; its p95 latency stays far below
// 300ms. (collector's TestProductionReviewAgainstPrometheus checks the
// numbers closely, with noise; this day is smooth.)
var reviewTestDay = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

const reviewTestCapacity = 900.0

// writeReviewDay writes the day as OpenMetrics text for promtool. With
// localCPU the service's process also exports its CPU time, 1 ms per
// request, as a target on 127.0.0.1 with no CPU limit in its metrics.
func writeReviewDay(t *testing.T, path, job string, localCPU bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	rps := func(ts time.Time) float64 {
		h := float64(ts.Hour()) + float64(ts.Minute())/60
		return 180 + 420*(1+math.Cos(2*math.Pi*(h-15)/24))/2
	}
	type pt struct {
		ts   time.Time
		x    float64
		cum  []float64
		n, s float64
	}
	les := []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1}
	var pts []pt
	cum := make([]float64, len(les))
	var n, s float64
	for ts := reviewTestDay.Add(-10 * time.Minute); ts.Before(reviewTestDay.Add(24 * time.Hour)); ts = ts.Add(time.Minute) {
		x := rps(ts)
		// Latency: 20ms + Exp with mean 10ms/(1 − x/2000).
		theta := (1 - x/2000) / 0.01
		req := x * 60
		for i, le := range les {
			if le > 0.02 {
				cum[i] += req * (1 - math.Exp(-theta*(le-0.02)))
			}
		}
		n += req
		s += req * (0.02 + 1/theta)
		pts = append(pts, pt{ts: ts, x: x, cum: append([]float64(nil), cum...), n: n, s: s})
	}
	const fam = "http_server_request_duration_seconds"
	fmt.Fprintf(w, "# TYPE %s histogram\n", fam)
	ls := fmt.Sprintf(`job=%q,http_route="/api/orders"`, job)
	for _, p := range pts {
		for i, le := range les {
			fmt.Fprintf(w, "%s_bucket{%s,le=\"%g\"} %f %d\n", fam, ls, le, p.cum[i], p.ts.Unix())
		}
		fmt.Fprintf(w, "%s_bucket{%s,le=\"+Inf\"} %f %d\n%s_count{%s} %f %d\n%s_sum{%s} %f %d\n", fam, ls, p.n, p.ts.Unix(), fam, ls, p.n, p.ts.Unix(), fam, ls, p.s, p.ts.Unix())
	}
	fmt.Fprintln(w, "# TYPE pgxpool_acquired_conns gauge")
	for _, p := range pts {
		// Little's law, with a sawtooth of ±0.3 connections so the gauge
		// is not a perfect line.
		fmt.Fprintf(w, "pgxpool_acquired_conns{job=%q} %f %d\n", job, p.x*0.01+0.3*float64(p.ts.Minute()%3-1), p.ts.Unix())
	}
	fmt.Fprintln(w, "# TYPE pgxpool_max_conns gauge")
	for _, p := range pts {
		fmt.Fprintf(w, "pgxpool_max_conns{job=%q} 10 %d\n", job, p.ts.Unix())
	}
	if localCPU {
		fmt.Fprintln(w, "# TYPE process_cpu_seconds counter")
		for _, p := range pts {
			fmt.Fprintf(w, "process_cpu_seconds_total{job=%q,instance=\"127.0.0.1:8080\"} %f %d\n", job, p.n*0.001, p.ts.Unix())
		}
	}
	fmt.Fprintln(w, "# EOF")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// startReviewPrometheus backfills the day into a private Prometheus (the
// shared test Prometheus accepts samples at most 2h old) with its
// remote-write receiver on, killed when the test ends.
func startReviewPrometheus(t *testing.T, job string) string {
	return startReviewPrometheusWith(t, job, false)
}

// startReviewPrometheusWith is startReviewPrometheus with the day's CPU
// series when localCPU (see writeReviewDay).
func startReviewPrometheusWith(t *testing.T, job string, localCPU bool) string {
	t.Helper()
	testenv.Require(t, testenv.PrometheusURL)
	promtool := testenv.Require(t, testenv.Promtool)
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/prometheus"); serr != nil {
			if testenv.InCI() {
				t.Fatal("no prometheus binary on PATH or at /usr/bin/prometheus")
			}
			t.Skip("no prometheus binary on PATH or at /usr/bin/prometheus")
		}
		bin = "/usr/bin/prometheus"
	}
	dir := t.TempDir()
	om := filepath.Join(dir, "day.om")
	writeReviewDay(t, om, job, localCPU)
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  evaluation_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("could not start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		logFile.Close()
	})
	base := "http://" + addr
	deadline := time.After(60 * time.Second)
	for {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("prometheus exited early:\n%s", b)
		case <-deadline:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("prometheus was not ready within a minute:\n%s", b)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestReviewCommand(t *testing.T) {
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	job := "review-cli-" + hex.EncodeToString(id)
	service := "checkout-" + hex.EncodeToString(id)
	base := startReviewPrometheus(t, job)
	end := reviewTestDay.Add(24 * time.Hour).Format(time.RFC3339)
	common := []string{"review", "--prometheus", base, "--service", service, "--selector", fmt.Sprintf(`{job=%q}`, job),
		"--slo-p95", "300ms", "--lookback", "1d", "--end", end}
	dir := t.TempDir()

	t.Run("json output, the review file and the gauges file agree and find the pool's capacity", func(t *testing.T) {
		out, gauges := filepath.Join(dir, "review.json"), filepath.Join(dir, "gauges.prom")
		stdout, stderr, err := runHeadroom(t, append(common, "--format", "json", "--out", out, "--gauges-file", gauges)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		var rv model.Review
		if err := json.Unmarshal([]byte(stdout), &rv); err != nil {
			t.Fatalf("stdout is not a review: %v\n%s", err, stdout)
		}
		// 3%: the pool gauge carries a ±0.3 connection sawtooth (3% of
		// the pool) and the line is extrapolated from 600 to 900 req/s.
		if math.Abs(rv.CapacityRPS-reviewTestCapacity) > 0.03*reviewTestCapacity || rv.Bottleneck != model.KindDBPool || rv.LimitedBy != model.KindDBPool {
			t.Errorf("capacity %.1f limited by %s, bottleneck %s; want %.0f ± 3%% by db_pool", rv.CapacityRPS, rv.LimitedBy, rv.Bottleneck, reviewTestCapacity)
		}
		if math.Abs(rv.PeakRPS-600) > 6 || rv.BelowTarget {
			t.Errorf("peak %.1f, below target %v; want ≈ 600 and above target", rv.PeakRPS, rv.BelowTarget)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var fromFile model.Review
		if err := json.Unmarshal(b, &fromFile); err != nil || fromFile.CapacityRPS != rv.CapacityRPS {
			t.Errorf("--out holds capacity %v (err %v), stdout %v", fromFile.CapacityRPS, err, rv.CapacityRPS)
		}
		g, err := os.ReadFile(gauges)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			fmt.Sprintf(`headroom_headroom_ratio{service=%q} %g`, service, rv.HeadroomRatio),
			fmt.Sprintf(`headroom_bottleneck_info{resource="db_pool",service=%q} 1`, service),
			fmt.Sprintf(`headroom_target_headroom_ratio{service=%q} 0.2`, service),
		} {
			if !strings.Contains(string(g), want) {
				t.Errorf("gauges file lacks %q:\n%s", want, g)
			}
		}
	})

	t.Run("text and markdown say what limits the service", func(t *testing.T) {
		stdout, _, err := runHeadroom(t, common...)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Capacity review of " + service, "before db_pool saturates", "above the 20.0% target", "Bottleneck", "DB connection pool"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("text lacks %q:\n%s", want, stdout)
			}
		}
		stdout, _, err = runHeadroom(t, append(common, "--format", "markdown")...)
		if err != nil || !strings.HasPrefix(stdout, "# Capacity review of ") || !strings.Contains(stdout, "## Resources") {
			t.Errorf("markdown (err %v):\n%s", err, stdout)
		}
	})

	t.Run("gauges are pushed by remote write and a target above the headroom exits 99", func(t *testing.T) {
		_, stderr, err := runHeadroom(t, append(common, "--target-headroom", "100%", "--push-gauges", base+"/api/v1/write", "--fail-below-target")...)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitCheckFailed || !strings.Contains(err.Error(), "below its target of 100%") {
			t.Fatalf("err = %v, want exit 99 below target\n%s", err, stderr)
		}
		src, err := collector.NewPrometheus(collector.PrometheusConfig{URL: base})
		if err != nil {
			t.Fatal(err)
		}
		q := fmt.Sprintf(`headroom_target_headroom_ratio{service=%q}`, service)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for {
			v, err := src.Query(ctx, q, time.Now())
			if err == nil && v.String() != "" && strings.Contains(v.String(), "=> 1 @") {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s never showed the pushed target of 1: %v %v", q, v, err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

func TestReviewCommandRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"a review without a service is refused", []string{"--prometheus", "http://127.0.0.1:1", "--selector", `{job="x"}`}, []string{"--service NAME is required"}},
		{"a lookback that is not a duration names the flag", []string{"--service", "x", "--selector", `{job="x"}`, "--lookback", "a week"}, []string{"--lookback", "7d"}},
		{"a step finer than 30s names the flag", []string{"--service", "x", "--selector", `{job="x"}`, "--step", "5s"}, []string{"--step:", "at least 30s"}},
		{"a bad service name is refused", []string{"--service", "check out", "--selector", `{job="x"}`}, []string{"--service:", "not a service name"}},
		{"no selector and no queries is refused", []string{"--service", "x", "--prometheus", "http://127.0.0.1:1"}, []string{"--selector:", "--traffic-query"}},
		{"a bad target headroom names the flag", []string{"--service", "x", "--selector", `{job="x"}`, "--target-headroom", "lots"}, []string{"--target-headroom", "20%"}},
		{"a bad end names the flag", []string{"--service", "x", "--selector", `{job="x"}`, "--end", "yesterday"}, []string{"--end", "RFC 3339"}},
		{"a missing Prometheus is refused", []string{"--service", "x", "--selector", `{job="x"}`}, []string{"--prometheus URL is required"}},
		{"a bad format names the flag", []string{"--service", "x", "--selector", `{job="x"}`, "--prometheus", "http://127.0.0.1:1", "--format", "xml"}, []string{"--format", "text, json or markdown"}},
		{"a bad selector names the flag", []string{"--service", "x", "--selector", `{job=x}`, "--prometheus", "http://127.0.0.1:1"}, []string{"--selector"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runHeadroom(t, append([]string{"review"}, tc.args...)...)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("an unreachable Prometheus is named", func(t *testing.T) {
		u := &url.URL{Scheme: "http", Host: "127.0.0.1:1"}
		_, _, err := runHeadroom(t, "review", "--service", "x", "--selector", `{job="x"}`, "--prometheus", u.String(), "--prometheus-timeout", "2s")
		if err == nil || !strings.Contains(err.Error(), u.String()) {
			t.Errorf("err = %v, want the URL named", err)
		}
	})
}

func TestReviewHelpHasAnExample(t *testing.T) {
	stdout, _, err := runHeadroom(t, "review", "--help")
	if !errors.Is(err, errHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"Example:", "headroom review --prometheus", "--lookback", "--push-gauges"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, stdout)
		}
	}
}
