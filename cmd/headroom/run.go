package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/term"

	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/scenario"
)

func init() {
	register(&command{
		name:    "run",
		summary: "drive staged load at an API and record what happened (run.json)",
		usage:   "[scenario.yaml] [flags]   or   --url URL (--vus N --duration D | --stage D:T ...) [flags]",
		example: `# A scenario file, results in run.json, metrics on :9464 for Prometheus to scrape:
headroom run checkout.yaml --target http://127.0.0.1:8080 --out run.json --metrics-addr 127.0.0.1:9464

# Quick mode with k6's flag names: 50 VUs for 30s against one URL, failing (exit 99)
# when p95 reaches 800 ms:
headroom run --url http://127.0.0.1:8080/api/products --vus 50 --duration 30s \
  --threshold 'http_req_duration:p(95)<800'

# Ramp VUs through stages, or drive an open-model arrival rate:
headroom run --url http://127.0.0.1:8080/api/products --stage 30s:50 --stage 1m:200 --stage 30s:0
headroom run --url http://127.0.0.1:8080/api/orders --method POST --body '{"sku":"{{word()}}","qty":{{randomInt(1,5)}}}' \
  -H 'Content-Type: application/json' --executor ramping-arrival-rate --rate 10 \
  --stage 1m:200 --pre-allocated-vus 50 --max-vus 500

# One of four shards of a distributed run, remote-writing to Prometheus:
headroom run checkout.yaml --shard 2/4 --run-id "$RUN_ID" --remote-write http://prometheus:9090/api/v1/write`,
		run: runRun,
	})
}

// durationValue is a flag holding a duration written as in scenarios
// ("30s", "1m30s", or a bare number of seconds).
type durationValue struct {
	d   time.Duration
	set bool
}

func (v *durationValue) String() string {
	if v == nil || !v.set {
		return ""
	}
	return model.FormatDuration(v.d)
}

func (v *durationValue) Set(s string) error {
	d, err := model.ParseDuration(s)
	if err != nil {
		return err
	}
	v.d, v.set = d, true
	return nil
}

// runFlags are the flags of `headroom run`.
type runFlags struct {
	target, out, runID, shard, metricsAddr string
	remoteWrite                            string
	remoteWriteHeaders                     stringList
	remoteWriteInterval                    durationValue
	grace                                  durationValue
	quiet                                  bool
	maxDroppedShare                        float64
	metrics                                metricsFlags

	// Quick mode.
	url, method, body, executor string
	headers, stages, thresholds stringList
	vus, preAllocatedVUs        int
	maxVUs                      int
	rate                        float64
	duration, timeUnit          durationValue
}

// quickOnly names the flags that only make sense with --url.
var quickOnly = []string{"method", "body", "H", "header", "vus", "duration", "stage", "executor", "rate", "time-unit", "pre-allocated-vus", "max-vus", "threshold"}

func runRun(ctx context.Context, e *env, args []string) error {
	n, args, err := repeatArg("run", args)
	if err != nil {
		return err
	}
	if n > 1 {
		return runRepeated(ctx, e, "run", args, n)
	}
	c := commands["run"]
	fs := newFlagSet(e, c)
	fs.Int("repeat", 1, repeatUsage)
	var f runFlags
	fs.StringVar(&f.target, "target", "", "base URL of the API under test; overrides the scenario's target")
	fs.StringVar(&f.out, "out", "run.json", "where to write the run's results (run.json); empty to skip")
	fs.StringVar(&f.runID, "run-id", "", "run id labelling every series (default: start time and a random suffix); give all shards of a run the same id")
	fs.StringVar(&f.shard, "shard", "0/1", "this runner's shard of a distributed run, INDEX/COUNT with INDEX from 0, such as 2/4; with --prometheus (or a --remote-write URL ending in /api/v1/write) thresholds are judged over every shard, from Prometheus every 5s")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve the load metrics on http://ADDR/metrics during the run, such as 127.0.0.1:9464")
	fs.StringVar(&f.remoteWrite, "remote-write", "", "Prometheus remote-write URL to push the load metrics to, such as http://127.0.0.1:9090/api/v1/write (a bearer token is read from HEADROOM_REMOTE_WRITE_TOKEN)")
	fs.Var(&f.remoteWriteHeaders, "remote-write-header", "header sent with remote writes, 'Name: value' (repeatable)")
	f.remoteWriteInterval = durationValue{d: 5 * time.Second}
	fs.Var(&f.remoteWriteInterval, "remote-write-interval", "how often metrics are pushed to --remote-write (default 5s)")
	f.grace = durationValue{d: 10 * time.Second}
	fs.Var(&f.grace, "grace", "after an interrupt, how long in-flight requests may finish (default 10s)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines")
	fs.Float64Var(&f.maxDroppedShare, "max-dropped-share", loadgen.DefaultMaxDroppedShare, "the largest share of scheduled arrival-rate iterations the run may drop (every VU busy) and still pass, from 0 to 1; above it the run fails with exit 99 (1 turns the limit off; a dropped_iterations threshold in the scenario replaces it)")
	f.metrics.register(fs)

	fs.StringVar(&f.url, "url", "", "quick mode: the URL to load (its scheme and host become the target)")
	fs.StringVar(&f.method, "method", "", "quick mode: HTTP method (default GET, or POST with --body)")
	fs.StringVar(&f.body, "body", "", "quick mode: JSON body template, such as '{\"qty\":{{randomInt(1,5)}}}'")
	fs.Var(&f.headers, "H", "quick mode: request header 'Name: value' (repeatable)")
	fs.Var(&f.headers, "header", "quick mode: same as -H")
	fs.IntVar(&f.vus, "vus", 0, "quick mode: VUs of constant-vus (with --duration); start VUs with --stage; preallocated VUs of arrival-rate executors")
	fs.Var(&f.duration, "duration", "quick mode: how long constant-vus or constant-arrival-rate runs, such as 30s")
	fs.Var(&f.stages, "stage", "quick mode: a stage DURATION:TARGET[:NAME], such as 30s:50 (repeatable; ramps VUs, or the rate with an arrival-rate executor)")
	fs.StringVar(&f.executor, "executor", "", "quick mode: constant-vus, ramping-vus, constant-arrival-rate or ramping-arrival-rate (default: from the other flags)")
	fs.Float64Var(&f.rate, "rate", 0, "quick mode: iterations per --time-unit (constant-arrival-rate), or the start rate of ramping-arrival-rate")
	fs.Var(&f.timeUnit, "time-unit", "quick mode: the period of --rate and arrival-rate stage targets (default 1s)")
	fs.IntVar(&f.preAllocatedVUs, "pre-allocated-vus", 0, "quick mode: VUs allocated before an arrival-rate executor starts")
	fs.IntVar(&f.maxVUs, "max-vus", 0, "quick mode: the most VUs an arrival-rate executor may use")
	fs.Var(&f.thresholds, "threshold", "quick mode: pass criterion METRIC:EXPRESSION, such as 'http_req_duration:p(95)<800' (repeatable)")

	// Flags and the scenario file may come in any order.
	var files []string
	rest := args
	for {
		if err := parseFlags(e, c, fs, rest); err != nil {
			return err
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		files = append(files, rest[0])
		rest = rest[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })

	sc, err := runScenario(&f, files, set)
	if err != nil {
		return err
	}
	shard, err := loadgen.ParseShard(f.shard)
	if err != nil {
		return fmt.Errorf("run: --shard: %w", err)
	}
	if f.remoteWriteInterval.d <= 0 {
		return fmt.Errorf("run: --remote-write-interval %s: expected a duration greater than 0 such as 5s", f.remoteWriteInterval.String())
	}
	if f.grace.d <= 0 {
		return fmt.Errorf("run: --grace %s: expected a duration greater than 0 such as 10s", f.grace.String())
	}
	if f.maxDroppedShare < 0 || f.maxDroppedShare > 1 || f.maxDroppedShare != f.maxDroppedShare {
		return fmt.Errorf("run: --max-dropped-share %v: expected a share from 0 to 1 such as 0.01 (1%%); 1 turns the limit off", f.maxDroppedShare)
	}
	if set["remote-write-header"] && f.remoteWrite == "" {
		return errors.New("run: --remote-write-header needs --remote-write URL")
	}

	cfg := loadgen.Config{
		Scenario:        sc,
		Target:          f.target,
		RunID:           f.runID,
		Shard:           shard,
		FlushInterval:   f.remoteWriteInterval.d,
		GracePeriod:     f.grace.d,
		Secrets:         loadgen.OSSecrets(),
		Logger:          e.log,
		MaxDroppedShare: f.maxDroppedShare,
	}
	if f.maxDroppedShare == 0 {
		cfg.MaxDroppedShare = loadgen.NoDroppedIterations
	}
	if f.out != "" {
		// Fail before the load starts when the results cannot be written.
		if err := checkWritableDir(f.out); err != nil {
			return fmt.Errorf("run: --out: %w", err)
		}
	}
	rw := loadgen.RemoteWriteConfig{URL: f.remoteWrite, BearerToken: e.getenv("HEADROOM_REMOTE_WRITE_TOKEN"), UserAgent: "headroom/" + version, Logger: e.log}
	if rw.Headers, err = parseHeaderFlags("run", "--remote-write-header", f.remoteWriteHeaders); err != nil {
		return err
	}
	rm, err := setupRunMetrics(ctx, e, &f.metrics, set, f.out, rw)
	if err != nil {
		return err
	}
	rm.Attach(&cfg, set["remote-write-interval"])
	finished := false
	defer func() {
		if !finished {
			rm.Finish(nil)
		}
	}()
	if !f.quiet {
		cfg.Progress = e.stderr
		cfg.ProgressTTY = isTerminal(e.stderr)
		cfg.ProgressInterval = 5 * time.Second
	}
	if shard.Count > 1 && len(sc.Thresholds) > 0 {
		th, where, err := rm.ShardThresholds()
		switch {
		case err != nil:
			return fmt.Errorf("run: thresholds over every shard: %w", err)
		case th == nil:
			e.log.Warn("each shard judges the thresholds on its own requests: give --prometheus URL (the query API of the backend the shards write to) to judge them over every shard")
		default:
			e.log.Info("thresholds are judged over every shard of the run", "prometheus", where)
			cfg.Aggregate = th
		}
	}
	runner, err := loadgen.NewRunner(cfg)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if f.metricsAddr != "" {
		stop, err := serveMetrics(e, f.metricsAddr, runner)
		if err != nil {
			return err
		}
		defer stop()
	}
	rsc := runner.Scenario()
	e.log.Info("starting run", "scenario", rsc.Name, "target", rsc.Target, "run_id", runner.RunID(), "shard", shard.String())
	run, err := runner.Run(ctx)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	finished = true
	if err := rm.Finish(run); err != nil {
		e.log.Error("embedded store", "err", err)
	}
	if f.out != "" {
		if err := writeJSONFile(f.out, run); err != nil {
			return fmt.Errorf("run: %w", err)
		}
		e.log.Info("wrote results", "path", f.out)
	}
	writeRunSummary(e.stdout, run)
	logTopErrors(e, runner.Errors())
	for _, w := range run.Warnings {
		fmt.Fprintln(e.stderr, "warning: "+w)
	}
	if run.AuthRefused() {
		e.log.Warn(model.AuthRefusedHint)
	}

	switch {
	case run.Unreachable():
		return fmt.Errorf("run: not one of the %d requests got an HTTP response, so the run measured nothing; is %s up? (the errors are listed above%s)", run.Total.Requests, run.Target, outNote(f.out))
	case run.Status == model.RunInterrupted:
		return fmt.Errorf("run interrupted after %s; partial results are in the tables above%s", run.End.Sub(run.Start).Round(time.Second), outNote(f.out))
	case !run.Passed():
		failed := 0
		for _, t := range run.Thresholds {
			if !t.Passed {
				failed++
			}
		}
		msg := fmt.Sprintf("%d of %d thresholds failed", failed, len(run.Thresholds))
		if run.Status == model.RunAborted {
			msg += "; the run was aborted early"
		}
		return &ExitError{Code: ExitCheckFailed, Err: errors.New(msg)}
	}
	return nil
}

func outNote(out string) string {
	if out == "" {
		return ""
	}
	return " and in " + out
}

// runScenario reads the scenario file or builds the quick-mode scenario.
func runScenario(f *runFlags, files []string, set map[string]bool) (*model.Scenario, error) {
	if len(files) > 1 {
		return nil, fmt.Errorf("run: expected at most one scenario file, got %d: %s", len(files), strings.Join(files, " "))
	}
	if len(files) == 1 {
		if f.url != "" {
			return nil, fmt.Errorf("run: give either a scenario file (%s) or --url, not both", files[0])
		}
		var quick []string
		for _, n := range quickOnly {
			if set[n] {
				if len(n) == 1 {
					quick = append(quick, "-"+n)
				} else {
					quick = append(quick, "--"+n)
				}
			}
		}
		if len(quick) > 0 {
			return nil, fmt.Errorf("run: %s only work with --url (quick mode); with a scenario file, set them in the file", strings.Join(quick, ", "))
		}
		sc, err := scenario.ReadFile(files[0])
		if err != nil {
			return nil, err
		}
		return sc, nil
	}
	if f.url == "" {
		return nil, errors.New("run: no scenario: give a scenario file (headroom run scenario.yaml) or --url URL with --vus N --duration D or --stage DURATION:TARGET (see 'headroom run --help')")
	}
	hdrs, err := parseHeaderFlags("run", "-H", f.headers)
	if err != nil {
		return nil, err
	}
	opts := scenario.QuickOptions{
		URL:             f.url,
		Method:          f.method,
		Body:            f.body,
		Headers:         hdrs,
		VUs:             f.vus,
		Duration:        f.duration.d,
		Executor:        f.executor,
		Rate:            f.rate,
		TimeUnit:        f.timeUnit.d,
		PreAllocatedVUs: f.preAllocatedVUs,
		MaxVUs:          f.maxVUs,
		Thresholds:      f.thresholds,
	}
	if f.vus < 0 {
		return nil, fmt.Errorf("run: --vus %d: expected a number of VUs greater than 0", f.vus)
	}
	for _, s := range f.stages {
		st, err := scenario.ParseStageFlag(s)
		if err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		opts.Stages = append(opts.Stages, st)
	}
	sc, err := scenario.FromQuick(opts)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	return sc, nil
}

// parseHeaderFlags reads 'Name: value' flags.
func parseHeaderFlags(cmd, flagName string, list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, h := range list {
		k, v, ok := strings.Cut(h, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("%s: %s %q: expected 'Name: value' such as 'X-Scope-OrgID: tenant-1'", cmd, flagName, h)
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

// isTerminal reports whether w is a terminal, for a progress line redrawn in
// place.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// serveMetrics serves the runner's registry on addr until stop is called.
func serveMetrics(e *env, addr string, r *loadgen.Runner) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("run: --metrics-addr %q: %w (expected HOST:PORT such as 127.0.0.1:9464)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(r.Gatherer(), promhttp.HandlerOpts{EnableOpenMetrics: true}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	e.log.Info("serving load metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// checkWritableDir fails early when the directory of path does not exist.
func checkWritableDir(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cannot write %q: %w", path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("cannot write %q: %s is not a directory", path, dir)
	}
	return nil
}

// writeJSONFile writes v as indented JSON atomically: to a temporary file in
// the same directory, then renamed over path.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("could not encode %q: %w", path, err)
	}
	b = append(b, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	return nil
}

// logTopErrors logs the most frequent request failures.
func logTopErrors(e *env, counts map[string]int64) {
	type kv struct {
		msg string
		n   int64
	}
	var list []kv
	for k, v := range counts {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].msg < list[j].msg
	})
	for i, x := range list {
		if i == 5 {
			e.log.Warn("more request failures", "distinct", strconv.Itoa(len(list)-5))
			break
		}
		e.log.Warn("request failures", "count", x.n, "error", x.msg)
	}
}
