package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/scenario/k6"
	"time"
)

func init() {
	register(&command{
		name:    "import",
		summary: "turn another tool's results into a run.json (k6)",
		usage:   "k6 --json FILE[.gz] [--out run.json]",
		example: `# Run a k6 script with JSON output, then import it for headroom analyze:
k6 run --out json=results.json script.js
headroom import k6 --json results.json --out run.json
headroom analyze run.json

# Gzipped output works the same:
k6 run --out json=results.json.gz script.js
headroom import k6 --json results.json.gz`,
		run: runImport,
	})
}

// importSources are the tools `headroom import` reads.
var importSources = map[string]func(ctx context.Context, e *env, args []string) error{
	"k6": runImportK6,
}

func runImport(ctx context.Context, e *env, args []string) error {
	c := commands["import"]
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) == 0 {
			commandHelp(e.stderr, c, nil)
			return errors.New("import: name the tool whose results to import: headroom import k6 --json results.json")
		}
		commandHelp(e.stdout, c, nil)
		return errHelp
	}
	fn, ok := importSources[args[0]]
	if !ok {
		return fmt.Errorf("import: unknown source %q; expected k6 (see 'headroom import --help')", args[0])
	}
	return fn(ctx, e, args[1:])
}

func runImportK6(ctx context.Context, e *env, args []string) error {
	c := &command{name: "import k6", summary: commands["import"].summary, usage: "--json FILE[.gz] [--out run.json]", example: commands["import"].example}
	fs := newFlagSet(e, c)
	in := fs.String("json", "", "k6 JSON output `file`, as written by k6 run --out json=FILE (gzip is detected)")
	out := fs.String("out", "run.json", "where to write the run's results; empty to print only")
	name := fs.String("scenario", "", "scenario `name` of the run (default: the k6 scenario tag, else k6)")
	runID := fs.String("run-id", "", "run `id` (default: k6- and the start time)")
	interval := durationValue{d: 5 * time.Second}
	fs.Var(&interval, "interval", "resolution of the run's series (default 5s)")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("import k6: unexpected argument %q; pass the file with --json (see 'headroom import --help')", fs.Arg(0))
	}
	if *in == "" {
		return errors.New("import k6: --json is required: the file k6 wrote with --out json=FILE (see 'headroom import --help')")
	}
	if interval.d <= 0 {
		return errors.New("import k6: --interval must be greater than 0")
	}
	if *out != "" {
		if err := checkWritableDir(*out); err != nil {
			return fmt.Errorf("import k6: --out: %w", err)
		}
	}
	res, err := k6.ReadJSONFile(*in, k6.ImportOptions{Interval: interval.d, Scenario: *name, RunID: *runID})
	if err != nil {
		return fmt.Errorf("import k6: %w", err)
	}
	for _, w := range res.Warnings {
		e.log.Warn(w)
	}
	e.log.Debug("imported k6 results", "file", *in, "lines", res.Lines, "points", res.Points, "stages", len(res.Run.Stages))
	writeRunSummary(e.stdout, res.Run)
	if *out != "" {
		if err := writeJSONFile(*out, res.Run); err != nil {
			return fmt.Errorf("import k6: %w", err)
		}
		fmt.Fprintf(e.stdout, "\nWrote %s\n", *out)
	}
	return nil
}
