package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/headroom-sh/headroom/model"

	goldenfile "github.com/headroom-sh/headroom/internal/golden"
)

// golden compares got with testdata/<test name><ext>, or rewrites it with
// -update.
func golden(t *testing.T, ext string, got []byte) {
	t.Helper()
	goldenfile.Check(t, "", ext, got)
}

func TestMarkdownGolden(t *testing.T) {
	md, err := Markdown(launch(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, ".md", md)
}

// TestAnalysisMarkdownGolden pins `headroom analyze --format markdown`:
// report.md's sections for one analysis, without the charts.
func TestAnalysisMarkdownGolden(t *testing.T) {
	in := launch(t)
	md, err := AnalysisMarkdown(in.Analysis, in.Run, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(md, []byte("# Capacity analysis\n")) || bytes.Contains(md, []byte("## Charts")) {
		t.Errorf("the analysis is not titled as one, or has a charts section:\n%.400s", md)
	}
	golden(t, ".md", md)
}

func TestHTMLGolden(t *testing.T) {
	page, err := HTML(launch(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, ".html", page)
}

// TestJSONGolden pins report.json's shape on a small input: an analysis
// alone, whose load charts are drawn from its stage table.
func TestJSONGolden(t *testing.T) {
	in := launch(t)
	js, err := JSON(model.ReportInput{Analysis: in.Analysis})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, ".json", js)
}

func TestReportsNeedAnAnalysis(t *testing.T) {
	for name, render := range map[string]func(model.ReportInput) ([]byte, error){"Markdown": Markdown, "HTML": HTML, "JSON": JSON} {
		if _, err := render(model.ReportInput{}); !errors.Is(err, ErrNoAnalysis) {
			t.Errorf("%s without an analysis: err = %v, want ErrNoAnalysis", name, err)
		}
	}
}

func TestBuildDoesNotModifyItsInput(t *testing.T) {
	in := launch(t)
	before, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, render := range []func(model.ReportInput) ([]byte, error){Markdown, HTML, JSON} {
		if _, err := render(in); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := json.Marshal(in)
	if !bytes.Equal(before, after) {
		t.Error("rendering the report changed its input")
	}
}

// TestRenderingIsDeterministic guards the golden files: the same input
// gives the same bytes (no map order, no clock).
func TestRenderingIsDeterministic(t *testing.T) {
	in := launch(t)
	a, _ := HTML(in)
	for i := 0; i < 3; i++ {
		b, _ := HTML(in)
		if !bytes.Equal(a, b) {
			t.Fatal("two renderings of the same input differ")
		}
	}
}

// hostile is an analysis whose strings hold markup, quotes and URLs, as a
// hand-edited document or a strange endpoint name could.
func hostile(t *testing.T) model.ReportInput {
	in := launch(t)
	a := *in.Analysis
	a.Verdict = `The system breaks <script>alert("x")</script> & "quotes" 'too' at https://evil.example/x`
	a.Bottleneck.Name = `pool <img src="http://evil.example/p.png">`
	a.Endpoints = append([]model.EndpointStats{{Endpoint: "GET /a|b/<c>", Requests: 1}}, a.Endpoints...)
	in.Analysis = &a
	in.Title = `Report "<b>bold</b>"`
	return in
}

// TestHTMLIsSelfContained checks that report.html opens offline and runs
// nothing: no element loads anything, no attribute holds a URL, no script,
// no stylesheet link, no CSS url() or @import; URLs may appear only as
// text. Each chart is well-formed SVG.
func TestHTMLIsSelfContained(t *testing.T) {
	inputs := map[string]model.ReportInput{
		"the launch story":             launch(t),
		"an analysis alone":            {Analysis: launch(t).Analysis},
		"strings with markup and URLs": hostile(t),
	}
	urlRE := regexp.MustCompile(`(?i)(https?:|//[a-z0-9.-]+\.[a-z]|data:|javascript:)`)
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			page, err := HTML(in)
			if err != nil {
				t.Fatal(err)
			}
			z := html.NewTokenizer(bytes.NewReader(page))
			inStyle, svgs := false, 0
			for {
				tt := z.Next()
				if tt == html.ErrorToken {
					if z.Err() != io.EOF {
						t.Fatal(z.Err())
					}
					break
				}
				tok := z.Token()
				switch tt {
				case html.StartTagToken, html.SelfClosingTagToken:
					switch tok.Data {
					case "script", "link", "img", "iframe", "object", "embed", "base", "image", "use", "foreignobject":
						t.Errorf("the page has a <%s> element", tok.Data)
					case "style":
						inStyle = true
					case "svg":
						svgs++
					}
					for _, at := range tok.Attr {
						if urlRE.MatchString(at.Val) || strings.HasPrefix(strings.ToLower(at.Key), "on") {
							t.Errorf("<%s %s=%q> refers outside the page or runs code", tok.Data, at.Key, at.Val)
						}
						if (at.Key == "href" || at.Key == "src" || at.Key == "xlink:href") && !strings.HasPrefix(at.Val, "#") {
							t.Errorf("<%s %s=%q> is not a link within the page", tok.Data, at.Key, at.Val)
						}
					}
				case html.EndTagToken:
					if tok.Data == "style" {
						inStyle = false
					}
				case html.TextToken:
					if inStyle && (strings.Contains(tok.Data, "url(") || strings.Contains(tok.Data, "@import")) {
						t.Error("the stylesheet loads something")
					}
				}
			}
			r, _ := Build(in)
			if svgs != len(r.Charts) || svgs == 0 {
				t.Errorf("the page has %d <svg>, the report %d charts", svgs, len(r.Charts))
			}
			for _, svg := range regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAll(page, -1) {
				d := xml.NewDecoder(bytes.NewReader(svg))
				for {
					if _, err := d.Token(); err == io.EOF {
						break
					} else if err != nil {
						t.Fatalf("a chart is not well-formed SVG: %v\n%.200s", err, svg)
					}
				}
			}
			if bytes.Contains(page, []byte("<script>alert")) || bytes.Contains(page, []byte(`<img src`)) || bytes.Contains(page, []byte("<b>bold")) {
				t.Error("markup from the documents reached the page unescaped")
			}
		})
	}
}

func TestMarkdownEscapesTableCells(t *testing.T) {
	md, err := Markdown(hostile(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	if !strings.Contains(s, `GET /a\|b/&lt;c&gt;`) {
		t.Error("a pipe or angle bracket in a cell is not escaped")
	}
	if strings.Contains(s, "<script>") || strings.Contains(s, "<img") {
		t.Error("markup from the documents reached the Markdown unescaped")
	}
	// Every table row has as many cells as its header.
	var cols int
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1)) - 1
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("a table row has %d cells, its header %d: %s", n, cols, line)
		}
	}
}

// chartByID returns the chart with the id, or nil.
func chartByID(r *model.Report, id string) *model.Chart {
	for i := range r.Charts {
		if r.Charts[i].ID == id {
			return &r.Charts[i]
		}
	}
	return nil
}

func seriesOf(c *model.Chart, role, kind string) *model.ChartSeries {
	for i := range c.Series {
		if c.Series[i].Role == role && c.Series[i].Kind == kind {
			return &c.Series[i]
		}
	}
	return nil
}

func markerOf(c *model.Chart, role string) *model.ChartMarker {
	for i := range c.Markers {
		if c.Markers[i].Role == role {
			return &c.Markers[i]
		}
	}
	return nil
}

func TestChartsOfTheLaunchStory(t *testing.T) {
	in := launch(t)
	r, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	a := in.Analysis
	if len(r.Skipped) != 0 {
		t.Errorf("skipped %+v with every input at hand", r.Skipped)
	}
	tp := chartByID(r, ChartThroughput)
	if tp == nil {
		t.Fatal("no throughput chart")
	}
	fit := seriesOf(tp, "fit", model.SeriesLine)
	if fit == nil || len(fit.Points) < 50 {
		t.Fatal("the throughput chart has no USL curve")
	}
	// The curve's highest point is the fit's peak, at N*.
	best := fit.Points[0]
	for _, p := range fit.Points {
		if p[1] > best[1] {
			best = p
		}
	}
	if math.Abs(best[0]-*a.USL.PeakN) > 10 || math.Abs(best[1]-*a.USL.PeakX) > 1 {
		t.Errorf("the USL curve peaks at (%v, %v), want N* = %v with %v RPS", best[0], best[1], *a.USL.PeakN, *a.USL.PeakX)
	}
	if m := markerOf(tp, "peak"); m == nil || math.Abs(m.X-*a.USL.PeakN) > 0.01 {
		t.Errorf("N* marker = %+v, want one at %v", m, *a.USL.PeakN)
	}
	lat := chartByID(r, ChartLatency)
	if m := markerOf(lat, "break"); m == nil || math.Abs(m.X-a.BreakingPoint.VUs) > 0.01 {
		t.Errorf("breaking point marker = %+v, want one at %v VUs", m, a.BreakingPoint.VUs)
	}
	if m := markerOf(lat, "slo"); m == nil || m.Kind != model.MarkerY || m.Y != 800 {
		t.Errorf("SLO marker = %+v, want a line at 800 ms", m)
	}
	p95 := seriesOf(lat, "p95", model.SeriesPoints)
	if p95 == nil || len(p95.Points) != len(in.Observations.Series) {
		t.Errorf("p95 has %d points, want one per series point (%d)", len(p95.Points), len(in.Observations.Series))
	}
	errs := chartByID(r, ChartErrors)
	if m := markerOf(errs, "slo"); m == nil || m.Y != a.SLO.MaxErrorRate {
		t.Errorf("error-rate limit marker = %+v, want %v", m, a.SLO.MaxErrorRate)
	}
	pool := chartByID(r, "resource:db_pool/pgxpool")
	if pool == nil || pool.Y.Unit != model.UnitRatio || pool.Y2 == nil {
		t.Fatalf("pool chart = %+v, want utilization with queueing on the right", pool)
	}
	if m := markerOf(pool, "saturation"); m == nil || math.Abs(m.X-*a.Resources[0].SaturatedAtVUs) > 0.01 {
		t.Errorf("saturation marker = %+v, want one at %v VUs", m, *a.Resources[0].SaturatedAtVUs)
	}
	mem := chartByID(r, "resource:memory/process")
	if mem == nil || mem.Y.Unit != "MiB" {
		t.Fatalf("memory chart = %+v, want usage in MiB", mem)
	}
	for _, p := range seriesOf(mem, "utilization", model.SeriesPoints).Points {
		if p[1] < 10 || p[1] > 1000 {
			t.Errorf("memory point %v MiB is out of a Go demo's range", p[1])
		}
	}
	// Every chart value is finite: JSON cannot carry anything else.
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("report.json cannot be encoded: %v", err)
	}
}

// stageOnly is an analysis with three stages and nothing else: no series,
// no resources, no USL.
func stageOnly() *model.Analysis {
	t0 := time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
	st := func(name string, i, vus int, rps, p95, errs float64) model.StageStats {
		return model.StageStats{Name: name, Start: t0.Add(time.Duration(i) * time.Minute), End: t0.Add(time.Duration(i+1) * time.Minute),
			VUs: vus, RPS: rps, P50Ms: p95 / 2, P95Ms: p95, P99Ms: p95 * 1.2, ErrorRate: errs, Requests: int64(rps * 60)}
	}
	return &model.Analysis{
		Window:    model.Window{Start: t0, End: t0.Add(3 * time.Minute)},
		LoadModel: model.LoadClosed, SLO: model.SLO{P95Ms: 800, MaxErrorRate: 0.05},
		Stages:        []model.StageStats{st("s10", 0, 10, 100, 50, 0), st("s20", 1, 20, 190, 90, 0), st("s40", 2, 40, 350, 300, 0.01)},
		TestedUpToRPS: 350, Verdict: "Nothing broke up to 350 RPS.",
		USLError:   "not fitted: 3 distinct concurrency levels",
		Bottleneck: model.Bottleneck{Resource: model.BottleneckNone},
	}
}

func TestChartsDrawWhatIsAtHand(t *testing.T) {
	launchIn := launch(t)
	withRun := model.ReportInput{Analysis: launchIn.Analysis, Run: launchIn.Run}
	nan := math.NaN()
	obsWithGaps := *launchIn.Observations
	obsWithGaps.Series = append([]model.LoadPoint(nil), obsWithGaps.Series...)
	for i := range obsWithGaps.Series {
		if i%2 == 0 {
			obsWithGaps.Series[i].P95Ms = nan
		}
	}
	open := stageOnly()
	open.LoadModel = model.LoadOpen
	for i := range open.Stages {
		open.Stages[i].TargetRate = float64(100 * (i + 1))
	}
	for _, tc := range []struct {
		name  string
		in    model.ReportInput
		check func(t *testing.T, r *model.Report)
	}{
		{"without the observations the load charts come from run.json and the resource charts are skipped", withRun, func(t *testing.T, r *model.Report) {
			if len(r.Skipped) != 1 || r.Skipped[0].ID != ChartResources || !strings.Contains(r.Skipped[0].Reason, "observations") {
				t.Errorf("skipped = %+v", r.Skipped)
			}
			lat := chartByID(r, ChartLatency)
			if lat == nil || !strings.Contains(lat.Caption, "run.json") || len(seriesOf(lat, "p95", model.SeriesPoints).Points) < 10 {
				t.Errorf("latency chart = %+v, want run.json's series", lat)
			}
		}},
		{"an analysis alone gets one point per stage and no chart over time", model.ReportInput{Analysis: stageOnly()}, func(t *testing.T, r *model.Report) {
			if chartByID(r, ChartLoadOverTime) != nil {
				t.Error("a chart over time drawn without a time series")
			}
			lat := chartByID(r, ChartLatency)
			if got := len(seriesOf(lat, "p95", model.SeriesPoints).Points); got != 3 {
				t.Errorf("%d p95 points, want 3 (one per stage)", got)
			}
			if !strings.Contains(lat.Caption, "one point per stage") {
				t.Errorf("caption %q does not say where the points come from", lat.Caption)
			}
		}},
		{"an analysis that did not break has no breaking point marker and a lower-bound capacity", model.ReportInput{Analysis: stageOnly()}, func(t *testing.T, r *model.Report) {
			for _, c := range r.Charts {
				if markerOf(&c, "break") != nil {
					t.Errorf("chart %s marks a breaking point", c.ID)
				}
			}
			if r.Summary.Broke || r.Summary.CapacitySource != CapacityTestedUpTo || r.Summary.CapacityRPS != 350 {
				t.Errorf("summary = %+v", r.Summary)
			}
		}},
		{"without a USL fit the throughput chart says why", model.ReportInput{Analysis: stageOnly()}, func(t *testing.T, r *model.Report) {
			tp := chartByID(r, ChartThroughput)
			if seriesOf(tp, "fit", model.SeriesLine) != nil || !strings.Contains(tp.Caption, "3 distinct concurrency levels") {
				t.Errorf("throughput chart = %+v", tp)
			}
		}},
		{"an analysis with no resources skips their charts with a reason", model.ReportInput{Analysis: stageOnly(), Observations: &model.Observations{}}, func(t *testing.T, r *model.Report) {
			if len(r.Skipped) != 2 || r.Skipped[1].ID != ChartResources || !strings.Contains(r.Skipped[1].Reason, "no resource") {
				t.Errorf("skipped = %+v", r.Skipped)
			}
		}},
		{"an open-model run puts the offered rate on the load axis", model.ReportInput{Analysis: open}, func(t *testing.T, r *model.Report) {
			lat := chartByID(r, ChartLatency)
			if lat.X.Unit != "iterations/s" || lat.Series[0].Points[2][0] != 300 {
				t.Errorf("load axis %+v, points %v", lat.X, lat.Series[0].Points)
			}
		}},
		{"values that were not measured are left out, never drawn as zero", model.ReportInput{Analysis: launchIn.Analysis, Observations: &obsWithGaps}, func(t *testing.T, r *model.Report) {
			p95 := seriesOf(chartByID(r, ChartLatency), "p95", model.SeriesPoints)
			if want := len(obsWithGaps.Series) / 2; len(p95.Points) != want {
				t.Errorf("%d p95 points, want %d (the measured half)", len(p95.Points), want)
			}
			for _, p := range p95.Points {
				if p[1] == 0 {
					t.Error("a gap was drawn as 0 ms")
				}
			}
			if _, err := json.Marshal(r); err != nil {
				t.Errorf("report.json cannot be encoded: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Build(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r)
			if _, err := HTML(tc.in); err != nil {
				t.Errorf("HTML: %v", err)
			}
		})
	}
}

func TestPlanAndSummaryInTheReport(t *testing.T) {
	in := launch(t)
	r, _ := Build(in)
	s := r.Summary
	if s.TargetRPS != in.Plan.Target.TargetRPS || s.MeetsTarget == nil || *s.MeetsTarget != in.Plan.Totals.MeetsTarget || s.Currency != "USD" {
		t.Errorf("summary = %+v, want the plan's totals", s)
	}
	md, _ := Markdown(in)
	for _, want := range []string{"## Capacity plan", "| DB pool ", "+$200.02", "Assumptions the plan could not check:", "## Run", "## Bottleneck"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

// BenchmarkHTML renders the launch story's page (10 charts, every table).
func BenchmarkHTML(b *testing.B) {
	in := launch(b)
	for b.Loop() {
		if _, err := HTML(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMarkdownGoldenOverloaded(t *testing.T) {
	md, err := Markdown(overloadedLaunch(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, ".md", md)
}

func TestHTMLGoldenOverloaded(t *testing.T) {
	page, err := HTML(overloadedLaunch(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, ".html", page)
}

func TestAnOverloadedRunsReportOpensWithAWarning(t *testing.T) {
	withRun := func(change func(r *model.Run)) model.ReportInput {
		in := overloadedLaunch(t)
		run := *in.Run
		change(&run)
		in.Run = &run
		return in
	}
	cases := []struct {
		name string
		in   model.ReportInput
		want string // the warning's limit, or "" for no warning
	}{
		{"a run that failed its default limit on dropped iterations is called overloaded", overloadedLaunch(t), "the run's limit, share<=0.01"},
		{"a run whose own dropped_iterations threshold failed is called overloaded", withRun(func(r *model.Run) {
			r.Thresholds = []model.ThresholdResult{{Metric: "dropped_iterations", Expr: "count<100", Observed: 12250}}
		}), "the run's limit, count<100"},
		{"a run whose dropped_iterations threshold passed is not", withRun(func(r *model.Run) {
			r.Thresholds = []model.ThresholdResult{{Metric: "dropped_iterations", Expr: "share<=0.5", Observed: 0.21, Passed: true}}
		}), ""},
		{"a run with no limit that dropped more than 1% is called overloaded", withRun(func(r *model.Run) { r.Thresholds = nil }), "the default limit of 1%"},
		{"a run with no limit that dropped less than 1% is not", withRun(func(r *model.Run) { r.Thresholds, r.DroppedShare = nil, 0.004 }), ""},
		{"a closed-model run is not", launch(t), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md, err := Markdown(c.in)
			if err != nil {
				t.Fatal(err)
			}
			page, err := HTML(c.in)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitN(string(md), "\n", 4)
			htmlWarns := strings.Contains(string(page), `id="warning"`)
			if c.want == "" {
				if strings.Contains(string(md), "Warning:") || htmlWarns {
					t.Errorf("the report warns of an overload:\n%s", lines[2])
				}
				return
			}
			// The warning is the line after the title, and above the
			// verdict in HTML.
			if !strings.HasPrefix(lines[2], "> **Warning: Overloaded run: ") || !strings.Contains(lines[2], "above "+mdText(c.want)) {
				t.Errorf("report.md's third line is %q, want the overload warning naming %q", lines[2], c.want)
			}
			w, v := strings.Index(string(page), `id="warning"`), strings.Index(string(page), `id="verdict"`)
			if w < 0 || w > v {
				t.Errorf("report.html has no warning above the verdict (warning at %d, verdict at %d)", w, v)
			}
		})
	}
}

func TestTheStageTableShowsDroppedSharesAndBothLatencyViews(t *testing.T) {
	in := overloadedLaunch(t)
	md, err := Markdown(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p95 as sent", "Dropped", "p99 corrected", " **9,800 (40.1%)** |", "wrk2"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md has no %q", want)
		}
	}
	// The sustain stage's corrected p99, from run.json.
	st := in.Run.Stages[4]
	if want := fmtMs(st.ScheduleCorrected.P99Ms); !strings.Contains(string(md), want) {
		t.Errorf("report.md has no corrected p99 %s for %s", want, st.Name)
	}
	// A closed-model run keeps the plain table.
	plain, _ := Markdown(launch(t))
	if strings.Contains(string(plain), "as sent") || strings.Contains(string(plain), "corrected") {
		t.Error("a closed-model run's report names latency views it does not have")
	}
}
