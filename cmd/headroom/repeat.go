package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

// maxRepeat bounds --repeat: each repetition is a whole ramp.
const maxRepeat = 20

// repeatUsage is the help of --repeat, shared by run and demo.
const repeatUsage = "run the whole ramp `N` times and report how much the breaking point spreads (mean ± sd, min–max) in repeat.json"

// repeatArg takes --repeat N (or --repeat=N) out of args; n is 1 when it
// is not there.
func repeatArg(cmd string, args []string) (n int, rest []string, err error) {
	n = 1
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "repeat" {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return 0, nil, fmt.Errorf("%s: --repeat needs a number of runs, such as --repeat 3", cmd)
			}
			i++
			val = args[i]
		}
		v, err := strconv.Atoi(val)
		if err != nil || v < 1 || v > maxRepeat {
			return 0, nil, fmt.Errorf("%s: --repeat %q: expected a whole number of runs from 1 to %d", cmd, val, maxRepeat)
		}
		n = v
	}
	return n, rest, nil
}

// flagValue returns the value of --name in args and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		n, v, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || n != name {
			continue
		}
		if hasVal {
			return v, true
		}
		if i+1 < len(args) {
			return args[i+1], true
		}
		return "", true
	}
	return "", false
}

// withFlag returns args with --name set to value (replacing it when
// present).
func withFlag(args []string, name, value string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		n, _, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if strings.HasPrefix(args[i], "-") && n == name {
			if !hasVal {
				i++
			}
			continue
		}
		out = append(out, args[i])
	}
	return append(out, "--"+name, value)
}

// runRepeated runs `headroom run` or `headroom demo` n times, each into
// its own files, analyzes each run, and reports the spread of the
// breaking points. A run whose checks failed (exit 99) does not stop the
// others; the repetition then exits 99 too.
func runRepeated(ctx context.Context, e *env, cmd string, args []string, n int) error {
	if _, ok := flagValue(args, "run-id"); ok {
		return fmt.Errorf("%s: --repeat cannot be used with --run-id: each run needs its own id", cmd)
	}
	if _, ok := flagValue(args, "store-dir"); ok {
		return fmt.Errorf("%s: --repeat cannot be used with --store-dir: each run keeps its series beside its own run file", cmd)
	}
	var summaryPath string
	// outFor gives run i's arguments and where its analysis is.
	var outFor func(i int) (args []string, analysis string)
	switch cmd {
	case "demo":
		out, ok := flagValue(args, "out")
		if !ok || out == "" {
			out = "demo-out"
		}
		summaryPath = filepath.Join(out, "repeat.json")
		outFor = func(i int) ([]string, string) {
			dir := filepath.Join(out, fmt.Sprintf("run-%d", i))
			return withFlag(args, "out", dir), filepath.Join(dir, "analysis.json")
		}
	case "run":
		out, ok := flagValue(args, "out")
		if !ok {
			out = "run.json"
		}
		if out == "" {
			return errors.New("run: --repeat needs --out: each run is analyzed from its run file")
		}
		ext := filepath.Ext(out)
		base := strings.TrimSuffix(out, ext)
		summaryPath = base + "-repeat.json"
		outFor = func(i int) ([]string, string) {
			return withFlag(args, "out", fmt.Sprintf("%s-%d%s", base, i, ext)), fmt.Sprintf("%s-%d-analysis.json", base, i)
		}
	default:
		return fmt.Errorf("%s: --repeat is not supported", cmd)
	}

	var analyses []model.Analysis
	var paths []string
	var checkFailed error
	for i := 1; i <= n; i++ {
		runArgs, analysisPath := outFor(i)
		fmt.Fprintf(e.stdout, "=== run %d of %d\n", i, n)
		var err error
		if cmd == "demo" {
			err = runDemo(ctx, e, runArgs)
		} else {
			err = runRun(ctx, e, runArgs)
		}
		var ee *ExitError
		switch {
		case errors.As(err, &ee) && ee.Code == ExitCheckFailed:
			checkFailed = err
		case err != nil:
			return fmt.Errorf("%s: run %d of %d: %w", cmd, i, n, err)
		}
		if cmd == "run" {
			runFile, _ := flagValue(runArgs, "out")
			quiet := &env{stdin: e.stdin, stdout: io.Discard, stderr: e.stderr, log: e.log, getenv: e.getenv}
			if err := runAnalyze(ctx, quiet, []string{"--run", runFile, "--out", analysisPath, "--format", "json"}); err != nil {
				return fmt.Errorf("run: --repeat analyzes each run from the metrics it recorded: run %d: %w", i, err)
			}
		}
		a, err := readAnalysisFile(analysisPath)
		if err != nil {
			return fmt.Errorf("%s: run %d of %d: %w", cmd, i, n, err)
		}
		analyses = append(analyses, *a)
		paths = append(paths, analysisPath)
	}
	rep := analyzer.Repeatability(analyses)
	for i := range rep.Runs {
		rep.Runs[i].Analysis = paths[i]
	}
	if err := writeJSONFile(summaryPath, rep); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	fmt.Fprintln(e.stdout)
	writeRepeatability(e.stdout, &rep)
	fmt.Fprintf(e.stdout, "\nWrote %s.\n", summaryPath)
	return checkFailed
}

// readAnalysisFile reads an analysis.json.
func readAnalysisFile(path string) (*model.Analysis, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not read the analysis: %w", err)
	}
	var a model.Analysis
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("could not read the analysis %q: %w", path, err)
	}
	return &a, nil
}

// writeRepeatability prints the runs' breaking points and their spread.
func writeRepeatability(w io.Writer, r *model.Repeatability) {
	fmt.Fprintln(w, "Breaking point of each run:")
	t := &mdTable{header: []string{"Run", "Run id", "Reason", "VUs", "RPS", "±", "Tested up to"}, right: []bool{true, false, false, true, true, true, true}}
	for i, run := range r.Runs {
		if !run.Broke {
			t.add(strconv.Itoa(i+1), run.RunID, "none", "—", "—", "—", fmtRate(run.TestedUpToRPS))
			continue
		}
		t.add(strconv.Itoa(i+1), run.RunID, run.Reason, numfmt.Round(run.VUs, 1), fmtRate(run.RPS), fmtRate(run.RPSUncertainty), fmtRate(run.TestedUpToRPS))
	}
	t.write(w)
	fmt.Fprintln(w)
	fmt.Fprintln(w, r.Verdict)
}
