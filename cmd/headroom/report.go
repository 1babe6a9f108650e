package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/report"

	"github.com/headroom-sh/headroom/internal/readfile"
)

func init() {
	register(&command{
		name:    "report",
		summary: "write report.md, report.json and a self-contained report.html with charts; push the headroom gauges",
		usage:   "--analysis analysis.json [--run run.json] [--plan plan.json] [--observations FILE] (--out DIR | --push-gauges URL | --gauges-file FILE) [flags]",
		example: `# The report of a run: the charts are drawn from the run's own metrics
# (its embedded store or Prometheus), so every resource is shown against load:
headroom report --analysis analysis.json --run run.json --plan plans/plan.json --out report/

# The service gauges (headroom_capacity_rps, headroom_headroom_ratio, ...) of
# this review, remote-written once to Prometheus for the alerts and the
# Capacity dashboard (a bearer token is read from HEADROOM_REMOTE_WRITE_TOKEN):
headroom report --analysis analysis.json --plan plans/plan.json \
  --push-gauges http://127.0.0.1:9090/api/v1/write

# The same gauges for node_exporter's textfile collector, which keeps
# exposing them between reviews:
headroom report --analysis analysis.json --service checkout --peak-rps 210 --target-rps 540 \
  --gauges-file /var/lib/node_exporter/textfile/headroom-checkout.prom`,
		run: runReport,
	})
}

// Names of the files a report is written as, in its directory.
const (
	reportMarkdownFile = "report.md"
	reportJSONFile     = "report.json"
	reportHTMLFile     = "report.html"
)

type reportFlags struct {
	analysis, run, plan, observations, out, title, service string
	gaugesFile                                             string
	peakRPS, targetRPS, targetHeadroom                     float64
	observe                                                bool
	prom                                                   promFlags
	push                                                   pushFlags
}

func runReport(ctx context.Context, e *env, args []string) error {
	c := commands["report"]
	fs := newFlagSet(e, c)
	var f reportFlags
	fs.StringVar(&f.analysis, "analysis", "", "analysis.json `file` written by 'headroom analyze' (required)")
	fs.StringVar(&f.run, "run", "", "run.json `file` of the analysed run: its status and thresholds, and its series for the charts")
	fs.StringVar(&f.plan, "plan", "", "plan.json `file` written by 'headroom plan': the plan's section, and the gauges' capacity, peak and target")
	fs.StringVar(&f.observations, "observations", "", "observations `file` (the series the analysis was made from, as JSON) to draw the charts from")
	f.prom.register(fs, "with --run: read the run's series from this Prometheus `URL` instead of its recorded metrics location")
	fs.BoolVar(&f.observe, "observe", true, "with --run and no --observations: read the run's series again from its metrics (embedded store or Prometheus) so that each resource is drawn against load")
	fs.StringVar(&f.out, "out", "", "`DIR` to write report.md, report.json and report.html to (created if missing)")
	fs.StringVar(&f.title, "title", "", "the report's `title` (default \""+report.DefaultTitle+"\")")
	fs.StringVar(&f.service, "service", "", "`name` the report and the gauges are filed under (default: the plan's service)")
	f.push.register(fs)
	fs.StringVar(&f.gaugesFile, "gauges-file", "", "write the service gauges in the Prometheus text format to `FILE` (for node_exporter's textfile collector)")
	fs.Float64Var(&f.peakRPS, "peak-rps", 0, "observed peak traffic in requests/s for headroom_peak_rps and headroom_headroom_ratio (default: the plan's baseline peak)")
	fs.Float64Var(&f.targetRPS, "target-rps", 0, "traffic the service must carry in requests/s for headroom_target_rps (default: the plan's target)")
	fs.Float64Var(&f.targetHeadroom, "target-headroom", 0, "spare capacity `ratio` wanted, for headroom_target_headroom_ratio (default: the plan's, else 0.20)")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("report: unexpected argument %q (see 'headroom report --help')", fs.Arg(0))
	}
	if f.analysis == "" {
		return errors.New("report: --analysis is required: the analysis.json written by 'headroom analyze' (see 'headroom report --help')")
	}
	if f.out == "" && f.push.url == "" && f.gaugesFile == "" {
		return errors.New("report: nothing to write: pass --out DIR for the report, --push-gauges URL or --gauges-file FILE for the gauges")
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"peak-rps", f.peakRPS}, {"target-rps", f.targetRPS}, {"target-headroom", f.targetHeadroom}} {
		if !(v.v >= 0) || math.IsInf(v.v, 0) {
			return fmt.Errorf("report: --%s %v: expected a number ≥ 0", v.name, v.v)
		}
	}
	rw, err := f.push.config(e, "report")
	if err != nil {
		return err
	}

	in := model.ReportInput{Title: f.title, Service: f.service, GeneratedAt: time.Now().UTC()}
	in.Analysis = &model.Analysis{}
	if err := readDocument(f.analysis, "analysis", "the analysis.json written by 'headroom analyze'", in.Analysis); err != nil {
		return fmt.Errorf("report: --analysis: %w", err)
	}
	if f.plan != "" {
		in.Plan = &model.Plan{}
		if err := readDocument(f.plan, "plan", "the plan.json written by 'headroom plan'", in.Plan); err != nil {
			return fmt.Errorf("report: --plan: %w", err)
		}
	}
	if err := app.CheckReportInput(in); err != nil {
		var oe *app.OptionError
		if errors.As(err, &oe) {
			file := map[string]string{"analysis": f.analysis, "plan": f.plan}[oe.Field]
			return fmt.Errorf("report: --%s %q: %s", oe.Field, file, oe.Msg)
		}
		return fmt.Errorf("report: %w", err)
	}
	if f.run != "" {
		run, err := readRunFile(f.run)
		if err != nil {
			return fmt.Errorf("report: --run: %w", err)
		}
		in.Run = run
	}
	if f.observations != "" {
		in.Observations = &model.Observations{}
		if err := readDocument(f.observations, "observations", "the series the analysis was made from", in.Observations); err != nil {
			return fmt.Errorf("report: --observations: %w", err)
		}
	}

	if f.out != "" {
		req := app.ReportRequest{Input: in, Observe: f.observe, Logger: e.log}
		if f.run != "" {
			req.RunDir = filepath.Dir(f.run)
		}
		var err error
		if req.Prometheus, err = f.prom.options(e, "report"); err != nil {
			return err
		}
		r, err := writeReport(ctx, f.out, req)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if r.ObserveError != nil {
			// The report is still worth writing: the load charts come from
			// run.json and the resource charts are listed as not drawn.
			e.log.Warn("could not read the run's series again; the resource charts are left out", "err", r.ObserveError)
		}
		fmt.Fprintf(e.stdout, "%s\n\nWrote %s, %s and %s.\n", in.Analysis.Verdict,
			filepath.Join(f.out, reportMarkdownFile), filepath.Join(f.out, reportJSONFile), filepath.Join(f.out, reportHTMLFile))
	}
	if rw.URL == "" && f.gaugesFile == "" {
		return nil
	}
	g := app.GaugeInput{
		Service: f.service, Analysis: in.Analysis, Plan: in.Plan,
		PeakRPS: f.peakRPS, TargetRPS: f.targetRPS, TargetHeadroomRatio: f.targetHeadroom,
	}
	v, source, err := app.AnalysisGauges(g)
	if err != nil {
		if errors.Is(err, app.ErrGaugeInput) && strings.TrimSpace(f.service) == "" {
			return fmt.Errorf("report: the gauges need --service NAME (or a --plan with a service): %w", err)
		}
		return fmt.Errorf("report: %w", err)
	}
	if f.gaugesFile != "" {
		if err := writeGaugesFile(f.gaugesFile, app.GaugeFamilies(v)); err != nil {
			return fmt.Errorf("report: --gauges-file: %w", err)
		}
		fmt.Fprintf(e.stdout, "Wrote the gauges of %s to %s.\n", v.Service, f.gaugesFile)
	}
	if rw.URL != "" {
		if err := f.push.push(ctx, rw, app.GaugeFamilies(v)); err != nil {
			return fmt.Errorf("report: --push-gauges: %w", err)
		}
		fmt.Fprintf(e.stdout, "Pushed the gauges of %s to %s: %s%s.\n", v.Service, rw.URL, capacityPhrase(v, source), headroomPhrase(v))
	}
	return nil
}

func capacityPhrase(v model.ServiceGauges, source string) string {
	if !(v.CapacityRPS > 0) {
		return "capacity unknown (no capacity gauge)"
	}
	return fmt.Sprintf("capacity %.1f RPS (%s)", v.CapacityRPS, strings.ReplaceAll(source, "_", " "))
}

func headroomPhrase(v model.ServiceGauges) string {
	r, ok := v.HeadroomRatio()
	switch {
	case !(v.PeakRPS > 0):
		return ", peak unknown so no headroom ratio"
	case !ok:
		return ", capacity unknown so no headroom ratio"
	}
	return fmt.Sprintf(", headroom %+.1f%% over the %.1f RPS peak", 100*r, v.PeakRPS)
}

// writeReport builds a report (app.BuildReport) and writes report.md,
// report.json and report.html to dir, creating it. Each file is written
// whole or not at all.
func writeReport(ctx context.Context, dir string, req app.ReportRequest) (*app.Report, error) {
	r, err := app.BuildReport(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("could not create the report directory %q: %w", dir, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{reportMarkdownFile, r.Markdown}, {reportJSONFile, r.JSON}, {reportHTMLFile, r.HTML}} {
		if err := writeReportFile(filepath.Join(dir, f.name), f.data); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// writeGaugesFile writes families in the Prometheus text format, atomically
// (the textfile collector must never read half a file).
func writeGaugesFile(path string, fams []*dto.MetricFamily) error {
	b, err := app.GaugesText(fams)
	if err != nil {
		return err
	}
	return writeReportFile(path, b)
}

// writeReportFile writes data to a temporary file next to path and renames
// it over path, so that readers never see half a file.
func writeReportFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("could not write %q: %w", path, err)
	}
	return nil
}

// readDocument reads a JSON document, naming the line of a syntax error and
// the field of a type error.
func readDocument(path, kind, hint string, v any) error {
	data, err := readfile.Read(path, readfile.Document)
	if err != nil {
		return fmt.Errorf("could not read %s %q: %w", kind, path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			return fmt.Errorf("could not read %s %q: line %d: %v (expected %s)", kind, path, line, err, hint)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("could not read %s %q: field %s: expected %s, got JSON %s (expected %s)", kind, path, te.Field, te.Type, te.Value, hint)
		}
		return fmt.Errorf("could not read %s %q: %w", kind, path, err)
	}
	return nil
}
