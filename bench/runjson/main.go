// Command runjson prints the figures the benchmark reads from a run.json
// (model.Run) as KEY=VALUE lines a shell script can evaluate.
//
// Keys: status, requests, errors, iterations, rps, seconds (whole run),
// stage_seconds and stage_ips (iterations per second over the stages'
// own spans), dropped, lag_p50_ms, lag_p99_ms, lag_max_ms (empty when the
// run has no scheduling lag), p50_ms, p99_ms.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/headroom-sh/headroom/model"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: runjson run.json")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "runjson: %v\n", err)
		os.Exit(1)
	}
}

func run(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("could not read run %q: %w", path, err)
	}
	var r model.Run
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("could not read run %q: %w", path, err)
	}
	t := r.Total
	secs := t.End.Sub(t.Start).Seconds()
	if secs <= 0 {
		secs = r.End.Sub(r.Start).Seconds()
	}
	var stageSecs float64
	var stageIters int64
	for _, s := range r.Stages {
		stageSecs += s.End.Sub(s.Start).Seconds()
		stageIters += s.Iterations
	}
	if stageIters == 0 {
		stageIters = t.Iterations
	}
	ips := 0.0
	if stageSecs > 0 {
		ips = float64(stageIters) / stageSecs
	}
	out := []struct {
		k string
		v any
	}{
		{"status", r.Status},
		{"requests", t.Requests},
		{"errors", t.Errors},
		{"iterations", t.Iterations},
		{"rps", fmt.Sprintf("%.1f", t.RPS)},
		{"seconds", fmt.Sprintf("%.3f", secs)},
		{"stage_seconds", fmt.Sprintf("%.3f", stageSecs)},
		{"stage_ips", fmt.Sprintf("%.2f", ips)},
		{"dropped", r.DroppedIterations},
		{"p50_ms", fmt.Sprintf("%.3f", t.P50Ms)},
		{"p99_ms", fmt.Sprintf("%.3f", t.P99Ms)},
	}
	for _, kv := range out {
		fmt.Printf("%s=%v\n", kv.k, kv.v)
	}
	if l := r.SchedulingLag; l != nil {
		fmt.Printf("lag_p50_ms=%.3f\nlag_p99_ms=%.3f\nlag_max_ms=%.3f\n", l.P50Ms, l.P99Ms, l.MaxMs)
	} else {
		fmt.Printf("lag_p50_ms=\nlag_p99_ms=\nlag_max_ms=\n")
	}
	return nil
}
