package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/headroom-sh/headroom/dashboards"
	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/readfile"
)

func init() {
	register(&command{
		name:    "dashboards",
		summary: "generate, check and push the Grafana dashboards (Load run, Saturation, Capacity)",
		usage:   "generate|push|lint [flags]",
		example: `# Regenerate the checked-in dashboards (what Grafana's provisioning reads):
headroom dashboards generate --out dashboards

# Push them to a Grafana, creating the folder and the Prometheus datasource if missing:
GRAFANA_TOKEN=glsa_... headroom dashboards push --grafana-url http://127.0.0.1:3000 \
  --datasource-url http://prometheus:9090

# Check dashboards edited by hand before committing them:
headroom dashboards lint dashboards/*.json

Run 'headroom dashboards SUBCOMMAND --help' for the flags of each.`,
		run: runDashboards,
	})
	dashboardsSubcommands = map[string]*command{
		"generate": {
			name:    "dashboards generate",
			summary: "write the dashboards as JSON files",
			usage:   "[--out DIR] [--catalog FILE] [--selector SELECTOR]",
			example: `headroom dashboards generate --out dashboards
# Bake the system's selector in instead of the dashboard's job variable:
headroom dashboards generate --out /tmp/dash --selector '{namespace="shop",app="orders"}'`,
			run: runDashboardsGenerate,
		},
		"push": {
			name:    "dashboards push",
			summary: "create the folder and datasource if missing and upsert the dashboards in Grafana",
			usage:   "--grafana-url URL [--grafana-token TOKEN | $GRAFANA_TOKEN] [--folder headroom] [--datasource-url http://prometheus:9090] [--from DIR]",
			example: `GRAFANA_TOKEN=glsa_... headroom dashboards push --grafana-url http://127.0.0.1:3000
# With basic auth, an existing datasource, and the checked-in files:
GRAFANA_PASSWORD=admin headroom dashboards push --grafana-url http://127.0.0.1:3000 \
  --grafana-user admin --datasource-uid prometheus --from dashboards`,
			run: runDashboardsPush,
		},
		"lint": {
			name:    "dashboards lint",
			summary: "check dashboards' JSON: datasources, template variables and PromQL",
			usage:   "FILE... [--datasource-uid UID]",
			example: `headroom dashboards lint dashboards/*.json
headroom dashboards lint --datasource-uid prometheus my-dashboard.json`,
			run: runDashboardsLint,
		},
	}
}

// dashboardsSubcommands are the subcommands of `headroom dashboards`, with
// their help; set in init, since their run functions refer to them.
var dashboardsSubcommands map[string]*command

func runDashboards(ctx context.Context, e *env, args []string) error {
	c := commands["dashboards"]
	if len(args) == 0 {
		commandHelp(e.stderr, c, nil)
		return fmt.Errorf("dashboards: no subcommand given: expected generate, push or lint")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		commandHelp(e.stdout, c, nil)
		return errHelp
	}
	sub, ok := dashboardsSubcommands[args[0]]
	if !ok {
		return fmt.Errorf("dashboards: unknown subcommand %q: expected generate, push or lint (see 'headroom dashboards --help')", args[0])
	}
	return sub.run(ctx, e, args[1:])
}

// buildFlags are the flags that shape the generated dashboards.
type buildFlags struct {
	scopeFlags
	saturation, targetHeadroom    float64
	reviewStale                   longDuration
	datasourceUID, datasourceName string
}

func (f *buildFlags) register(fs *flag.FlagSet) {
	f.saturation, f.targetHeadroom = dashboards.DefaultSaturation, dashboards.DefaultTargetHeadroom
	f.reviewStale = longDuration(dashboards.DefaultReviewStale)
	f.scopeFlags.register(fs, "label `SELECTOR` of the system under test, e.g. '{job=\"checkout\"}' (default: "+
		dashboards.DefaultDashboardSelector+", the system chosen in the dashboard; {} for every series)")
	fs.Float64Var(&f.saturation, "saturation", f.saturation, "`SHARE` of a limit drawn as the warning line on utilization panels")
	fs.Float64Var(&f.targetHeadroom, "target-headroom", f.targetHeadroom, "headroom `RATIO` below which a service's headroom shows orange")
	fs.Var(&f.reviewStale, "review-stale", "age (a `DURATION` such as 7d) of the last review shown red")
	fs.StringVar(&f.datasourceUID, "datasource-uid", dashboards.DatasourceUID, "`UID` of the Prometheus datasource the dashboards use by default")
	fs.StringVar(&f.datasourceName, "datasource-name", "", "`NAME` of that datasource (default: \""+dashboards.DatasourceName+"\" for the default uid, else the uid)")
}

// build renders the dashboards.
func (f *buildFlags) build(name string) ([]dashboards.Dashboard, error) {
	cat, scope, err := f.load(name)
	if err != nil {
		return nil, err
	}
	ds, err := dashboards.Build(dashboards.Config{
		Catalog:        cat,
		Scope:          scope,
		Saturation:     f.saturation,
		TargetHeadroom: f.targetHeadroom,
		ReviewStale:    time.Duration(f.reviewStale),
		DatasourceUID:  f.datasourceUID,
		DatasourceName: f.datasourceName,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ds, nil
}

func runDashboardsGenerate(ctx context.Context, e *env, args []string) error {
	c := dashboardsSubcommands["generate"]
	fs := newFlagSet(e, c)
	var f buildFlags
	var out string
	fs.StringVar(&out, "out", ".", "`DIR` to write the dashboards' JSON files in (created if missing)")
	f.register(fs)
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dashboards generate: unexpected argument %q (see 'headroom dashboards generate --help')", fs.Arg(0))
	}
	ds, err := f.build("dashboards generate")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("dashboards generate: %w", err)
	}
	for _, d := range ds {
		path := filepath.Join(out, d.File)
		if err := os.WriteFile(path, d.JSON, 0o644); err != nil {
			return fmt.Errorf("dashboards generate: could not write dashboard %s: %w", d.UID, err)
		}
		fmt.Fprintln(e.stdout, path)
	}
	return nil
}

func runDashboardsPush(ctx context.Context, e *env, args []string) error {
	c := dashboardsSubcommands["push"]
	fs := newFlagSet(e, c)
	var f buildFlags
	var pc dashboards.PushConfig
	var from string
	var timeout time.Duration
	fs.StringVar(&pc.URL, "grafana-url", "", "Grafana's base `URL`, e.g. http://127.0.0.1:3000 (default: $GRAFANA_URL)")
	fs.StringVar(&pc.Token, "grafana-token", "", "service account `TOKEN` (default: $GRAFANA_TOKEN)")
	fs.StringVar(&pc.User, "grafana-user", "", "basic auth `USER` when there is no token; the password is $GRAFANA_PASSWORD")
	fs.StringVar(&pc.Folder, "folder", dashboards.FolderTitle, "`TITLE` of the folder the dashboards go in")
	fs.StringVar(&pc.DatasourceURL, "datasource-url", dashboards.DefaultDatasourceURL, "`URL` of Prometheus as Grafana reaches it, for the datasource the push creates when it is missing")
	fs.StringVar(&from, "from", "", "push the dashboards' JSON files in `DIR` (checked with lint) instead of generating them")
	fs.DurationVar(&timeout, "timeout", dashboards.DefaultPushTimeout, "timeout of each request to Grafana")
	f.register(fs)
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dashboards push: unexpected argument %q (see 'headroom dashboards push --help')", fs.Arg(0))
	}
	if pc.URL == "" {
		pc.URL = e.getenv("GRAFANA_URL")
	}
	if pc.URL == "" {
		return errors.New("dashboards push: no Grafana: pass --grafana-url http://HOST:3000 or set $GRAFANA_URL")
	}
	if pc.Token == "" {
		pc.Token = e.getenv("GRAFANA_TOKEN")
	}
	if pc.User != "" {
		pc.Password = e.getenv("GRAFANA_PASSWORD")
	}
	if pc.Token == "" && pc.User == "" {
		e.log.Warn("no Grafana credentials: set $GRAFANA_TOKEN (or --grafana-user and $GRAFANA_PASSWORD); trying anonymously")
	}
	pc.DatasourceUID, pc.DatasourceName = f.datasourceUID, f.datasourceName
	pc.Client = &http.Client{Timeout: timeout}
	pc.Logger = e.log

	var ds []dashboards.Dashboard
	var err error
	if from != "" {
		ds, err = readDashboardDir(from, []string{f.datasourceUID})
	} else {
		ds, err = f.build("dashboards push")
	}
	if err != nil {
		return err
	}
	p, err := dashboards.NewPusher(pc)
	if err != nil {
		return fmt.Errorf("dashboards push: %w", err)
	}
	res, err := p.Push(ctx, ds)
	if res != nil {
		writePushResult(e.stdout, pc, res)
	}
	if err != nil {
		return fmt.Errorf("dashboards push: %w", err)
	}
	return nil
}

// writePushResult prints what a push did, a line per object.
func writePushResult(w io.Writer, pc dashboards.PushConfig, res *dashboards.PushResult) {
	if res.FolderUID != "" {
		fmt.Fprintf(w, "folder      %-9s %s (uid %s)\n", outcome(res.FolderCreated), pc.Folder, res.FolderUID)
	}
	for _, d := range res.Dashboards {
		fmt.Fprintf(w, "dashboard   %-9s %s (uid %s, version %d) %s\n", d.Outcome, d.Title, d.UID, d.Version, d.URL)
	}
}

func outcome(created bool) string {
	if created {
		return dashboards.PushCreated
	}
	return "exists"
}

// readDashboardDir reads the *.json dashboards of dir and lints them.
func readDashboardDir(dir string, known []string) ([]dashboards.Dashboard, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("dashboards push: --from %s: no *.json dashboards there", dir)
	}
	sort.Strings(files)
	var out []dashboards.Dashboard
	for _, file := range files {
		b, err := readfile.Read(file, readfile.Document)
		if err != nil {
			return nil, fmt.Errorf("dashboards push: %w", err)
		}
		if err := dashboards.Validate(b, dashboards.ValidateOptions{Datasources: known}); err != nil {
			return nil, fmt.Errorf("dashboards push: %s does not pass lint:\n%w", file, err)
		}
		var head struct {
			UID   string `json:"uid"`
			Title string `json:"title"`
		}
		if err := json.Unmarshal(b, &head); err != nil || head.UID == "" {
			return nil, fmt.Errorf("dashboards push: %s: a dashboard to push needs a uid, so that pushing again updates it", file)
		}
		out = append(out, dashboards.Dashboard{UID: head.UID, Title: head.Title, File: filepath.Base(file), JSON: b})
	}
	return out, nil
}

func runDashboardsLint(ctx context.Context, e *env, args []string) error {
	c := dashboardsSubcommands["lint"]
	fs := newFlagSet(e, c)
	var known stringList
	fs.Var(&known, "datasource-uid", "`UID` of a datasource that exists besides "+dashboards.DatasourceUID+" (repeatable)")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("dashboards lint: no files given (see 'headroom dashboards lint --help')")
	}
	opts := dashboards.ValidateOptions{Datasources: append([]string{dashboards.DatasourceUID}, known...)}
	problems, bad := 0, 0
	for _, file := range fs.Args() {
		b, err := readfile.Read(file, readfile.Document)
		if err != nil {
			return fmt.Errorf("dashboards lint: %w", err)
		}
		err = dashboards.Validate(b, opts)
		var ves model.ValidationErrors
		switch {
		case err == nil:
			continue
		case errors.As(err, &ves):
			for _, fe := range ves {
				fmt.Fprintf(e.stdout, "%s: %s\n", file, fe.Error())
			}
			problems += len(ves)
		default:
			fmt.Fprintf(e.stdout, "%s: %v\n", file, err)
			problems++
		}
		bad++
	}
	if problems > 0 {
		return fmt.Errorf("dashboards lint: %d %s in %d of %d %s", problems, plural(problems, "problem", "problems"),
			bad, fs.NArg(), plural(fs.NArg(), "file", "files"))
	}
	e.log.Info("dashboards pass lint", "files", fs.NArg())
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
