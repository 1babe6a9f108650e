package server

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
)

// uiScreenshotEnv names a file the UI test copies its screenshot of the
// analysis page to (a PNG), for the docs; the live run page goes next to
// it with -run before the extension.
const uiScreenshotEnv = "HEADROOM_UI_SCREENSHOT"

// uiViewport is the browser window the UI is checked at, in CSS pixels.
const (
	uiWidth  = 1400
	uiHeight = 900
)

// uiPollEvery is how often the test reads the page while it waits (each
// wait is bounded by pollFor).
const uiPollEvery = 200 * time.Millisecond

func init() {
	// -update keeps the screenshots in testdata/. Another test file of the
	// package may define the flag already; share it then.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files and keep the UI screenshots in testdata/")
	}
}

func updateFlag() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// runPageState is what the test reads from the run page while it polls.
type runPageState struct {
	Path       string `json:"path"`
	Status     string `json:"status"`
	LivePoints int    `json:"livePoints"`
	RPSPoints  int    `json:"rpsPoints"`
	P95Points  int    `json:"p95Points"`
	VUPoints   int    `json:"vuPoints"`
	StageRows  int    `json:"stageRows"`
	Tiles      int    `json:"tiles"`
	FormError  string `json:"formError"`
	Banner     string `json:"banner"`
	Alert      string `json:"alert"`
}

const runPageStateJS = `(() => {
  const page = document.getElementById('run-page');
  const pts = (id) => { const s = document.getElementById(id); return s ? Number(s.dataset.points || 0) : 0; };
  const text = (sel) => { const e = document.querySelector(sel); return e && !e.closest('[hidden]') ? e.textContent.trim() : ''; };
  return {
    path: location.pathname + location.search,
    status: page ? page.dataset.status || '' : '',
    livePoints: page ? Number(page.dataset.livePoints || 0) : 0,
    rpsPoints: pts('chart-rps-svg'),
    p95Points: pts('chart-p95-svg'),
    vuPoints: pts('chart-vus-svg'),
    stageRows: document.querySelectorAll('#stage-table tbody tr').length,
    tiles: document.querySelectorAll('#run-tiles .tile').length,
    formError: text('#run-error'),
    banner: text('#banner-msg'),
    alert: text('#main .alert:not(.info)'),
  };
})()`

// analysisPageState is what the test reads from the analysis page,
// including inside the report's frame.
type analysisPageState struct {
	Path        string `json:"path"`
	Loaded      bool   `json:"loaded"`
	Tiles       int    `json:"tiles"`
	Verdict     string `json:"verdict"`
	StageTable  bool   `json:"stageTable"`
	StageRows   int    `json:"stageRows"`
	SVGs        int    `json:"svgs"`
	ReportTitle string `json:"reportTitle"`
	FrameHeight int    `json:"frameHeight"`
	DocHeight   int    `json:"docHeight"`
	Banner      string `json:"banner"`
	Alert       string `json:"alert"`
}

const analysisPageStateJS = `(() => {
  const panel = document.getElementById('report-panel');
  const frame = document.getElementById('report-frame');
  const doc = frame && frame.contentDocument;
  const text = (sel) => { const e = document.querySelector(sel); return e && !e.closest('[hidden]') ? e.textContent.trim() : ''; };
  return {
    path: location.pathname,
    loaded: !!(panel && panel.dataset.loaded === 'true'),
    tiles: document.querySelectorAll('#analysis-tiles .tile').length,
    verdict: text('#analysis-verdict p'),
    stageTable: !!(doc && doc.querySelector('#stages table')),
    stageRows: doc ? doc.querySelectorAll('#stages table tbody tr').length : 0,
    svgs: doc ? doc.querySelectorAll('svg').length : 0,
    reportTitle: doc && doc.querySelector('h1') ? doc.querySelector('h1').textContent : '',
    frameHeight: frame ? Math.round(frame.getBoundingClientRect().height) : 0,
    docHeight: doc && doc.documentElement ? doc.documentElement.scrollHeight : 0,
    banner: text('#banner-msg'),
    alert: text('#main .alert:not(.info)'),
  };
})()`

// TestUIRunsAnAnalysisEndToEnd drives the web UI in headless Chromium
// against the real service and the checkout demo, as a user would: it
// opens the UI with a token in the address (which the page then drops),
// sees the form show the API's refusal of a target outside the allowlist,
// starts a ~9 s run from the form, watches the live charts fill while the
// run runs and the stage table appear when it completes, hovers a chart,
// presses Analyze and waits for the analysis page to show its headline
// numbers and the HTML report (stage table and SVG charts) in its frame,
// makes a plan from it, finds the run in the runs list, opens the analysis
// by its address, leaves and comes back to a second run's page (its live
// points are kept), stops that run from its page, and checks that a
// refused token brings the token prompt back with the service's reason.
// The page must log no errors. Screenshots of the live run, the finished
// run, the analysis, the plan and the runs list are written to a temporary
// directory (and next to $HEADROOM_UI_SCREENSHOT, or to testdata/ with
// -update).
func TestUIRunsAnAnalysisEndToEnd(t *testing.T) {
	exe := testenv.Chromium(t)
	ts := newTestServer(t, "", nil)
	target := startCheckout(t)
	scenario := checkoutScenario("      - {duration: 3s, target: 8, name: warm}\n      - {duration: 3s, target: 20, name: climb}\n      - {duration: 3s, target: 40, name: push}\n")
	started := time.Now()

	dir := t.TempDir()
	bctx, takeProblems := uiBrowser(t, exe, dir)
	defer func() {
		for _, p := range takeProblems() {
			t.Errorf("the page logged %s", p)
		}
	}()

	// Open the UI with the token in the query, as a link from a chat would.
	if err := doWithin(bctx,
		chromedp.Navigate(ts.url+"/ui/?token="+url.QueryEscape(adminToken)),
		chromedp.WaitVisible("#run-scenario"),
	); err != nil {
		t.Fatalf("could not open the UI: %v", err)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(loc, "token") || !strings.HasSuffix(loc, "/ui/runs") {
		t.Errorf("after loading, the address is %s: want /ui/runs with the token removed from it", loc)
	}

	// A target outside the allowlist is refused, and the form says why.
	if err := doWithin(bctx,
		chromedp.SetValue("#run-scenario", scenario),
		chromedp.SetValue("#run-target", "http://example.com:8080"),
		chromedp.Click("#run-start"),
	); err != nil {
		t.Fatalf("could not submit the run form: %v", err)
	}
	msg := waitPage(t, bctx, "an error for a target outside the allowlist", `document.getElementById('run-error').textContent`, func(m string) bool { return m != "" })
	if !strings.Contains(msg, "example.com") || !strings.Contains(msg, "403") {
		t.Errorf("for a target outside the allowlist the form says %q, want the API's refusal naming the host (403)", msg)
	}
	for _, p := range takeProblems() {
		if !strings.Contains(p, "403") {
			t.Errorf("the page logged %s", p)
		}
	}

	// Start a run from the form.
	if err := doWithin(bctx,
		chromedp.SetValue("#run-target", target),
		chromedp.SetValue("#run-scrape", "checkout="+target+"/metrics"),
		chromedp.Click("#run-start"),
	); err != nil {
		t.Fatalf("could not fill in and submit the run form: %v", err)
	}

	// Watch it: the live charts must fill while it runs, the stage table
	// appear when it ends.
	maxLive, maxRPS := 0, 0
	shotLive := []byte(nil)
	st := waitPage(t, bctx, "a finished run with its stage table", runPageStateJS, func(st runPageState) bool {
		if st.FormError != "" || st.Banner != "" || st.Alert != "" {
			t.Fatalf("the UI shows an error: %q %q %q", st.FormError, st.Banner, st.Alert)
		}
		if st.Status == "running" {
			maxLive = max(maxLive, st.LivePoints)
			maxRPS = max(maxRPS, st.RPSPoints)
			if shotLive == nil && st.LivePoints >= 4 {
				var err error
				if shotLive, err = chromedp.Run(bctx, chromedp.CaptureScreenshot()); err != nil {
					t.Fatalf("could not take a screenshot of the live run: %v", err)
				}
			}
		}
		return st.Status != "" && st.Status != "running" && st.StageRows > 0
	})
	t.Logf("run page: %+v after %s; up to %d live points while running", st, time.Since(started).Round(time.Millisecond), maxLive)
	if !strings.HasPrefix(st.Path, "/ui/runs/") {
		t.Errorf("after starting the run the page is %s, want /ui/runs/ID", st.Path)
	}
	if st.Status != "completed" {
		t.Errorf("the run ended %q, want completed", st.Status)
	}
	if maxLive < 4 || maxRPS < 4 {
		t.Errorf("while the run ran the live charts showed at most %d polled points (%d on the throughput chart), want at least 4 (one a second)", maxLive, maxRPS)
	}
	if st.StageRows != 3 {
		t.Errorf("the stage table has %d rows, want the scenario's 3 stages", st.StageRows)
	}
	if st.RPSPoints < 2 || st.P95Points < 2 || st.VUPoints < 2 {
		t.Errorf("the finished run's charts show %d/%d/%d points (req/s, p95, VUs), want at least 2 each", st.RPSPoints, st.P95Points, st.VUPoints)
	}
	if st.Tiles < 5 {
		t.Errorf("the run page shows %d stat tiles, want at least 5", st.Tiles)
	}
	shotRun, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("could not take a screenshot of the run page: %v", err)
	}
	// Hovering a chart shows the values under the cursor.
	box, err := chromedp.Run(bctx, chromedp.Evaluate[struct{ X, Y float64 }](`(() => { const r = document.getElementById('chart-rps-svg').getBoundingClientRect(); return {X: r.left + r.width * 0.6, Y: r.top + r.height / 2}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := doWithin(bctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box.X, box.Y)); err != nil {
		t.Fatal(err)
	}
	tip, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => { const t = document.querySelector('#chart-rps .tooltip'); return t && !t.hidden ? t.textContent : ''; })()`))
	if err != nil || !strings.Contains(tip, "completed req/s") {
		t.Errorf("hovering the throughput chart shows the tooltip %q (%v), want the value of completed req/s there", tip, err)
	}

	// Analyse it.
	if err := doWithin(bctx, chromedp.Click("#run-analyze")); err != nil {
		t.Fatalf("could not press Analyze: %v", err)
	}
	an := waitPage(t, bctx, "the analysis with its report", analysisPageStateJS, func(an analysisPageState) bool {
		if an.Banner != "" || an.Alert != "" {
			t.Fatalf("the UI shows an error: %q %q", an.Banner, an.Alert)
		}
		// The frame is as tall as the report: the page scrolls, not the frame.
		return an.Loaded && an.StageTable && an.SVGs > 0 && an.FrameHeight >= an.DocHeight-2
	})
	t.Logf("analysis page: %+v after %s", an, time.Since(started).Round(time.Millisecond))
	if !strings.HasPrefix(an.Path, "/ui/analyses/") {
		t.Errorf("after Analyze the page is %s, want /ui/analyses/ID", an.Path)
	}
	if an.Tiles < 5 || an.Verdict == "" {
		t.Errorf("the analysis page shows %d headline numbers and verdict %q, want at least 5 and a verdict", an.Tiles, an.Verdict)
	}
	if an.StageRows < 3 {
		t.Errorf("the report's stage table has %d rows, want at least the 3 stages", an.StageRows)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("could not take a screenshot of the analysis page: %v", err)
	}
	// The report's contents link to its sections: the page scrolls there.
	if err := doWithin(bctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('report-frame').contentDocument.querySelector('nav.toc a[href="#stages"]').click()`)); err != nil {
		t.Fatalf("could not click the report's link to its stages: %v", err)
	}
	waitPage(t, bctx, "the page scrolled to the report's stages", `(() => {
  const el = document.getElementById('report-frame').contentDocument.getElementById('stages');
  const top = document.getElementById('report-frame').getBoundingClientRect().top + el.getBoundingClientRect().top;
  return top > -5 && top < 150;
})()`, func(ok bool) bool { return ok })
	// The page must be at rest once there: a page still scrolling moves
	// what the next click aims at, and the click misses (the plan form
	// below then never opened, once in a while, on a busy machine).
	if moved, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`new Promise((done) => { const y = window.scrollY; setTimeout(() => done(window.scrollY - y), 300); })`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	} else if moved != 0 {
		t.Fatalf("the page was still scrolling after it reached the report's stages (%.0f px more in 300 ms)", moved)
	}
	checkUIShot(t, "analysis page", shot, an.DocHeight)
	checkUIShot(t, "run page", shotRun, 0)

	// Plan from it with the example topology the form holds: the plan page
	// shows its headline numbers and its report.
	if err := doWithin(bctx,
		chromedp.Click("#plan-form-panel summary"),
		chromedp.WaitVisible("#plan-create"),
		chromedp.Click("#plan-create"),
		chromedp.WaitVisible(`#plan-page #report-panel[data-loaded="true"]`),
	); err != nil {
		pe, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.getElementById('plan-error') || {}).textContent || (document.getElementById('banner-msg') || {}).textContent || ''`))
		t.Fatalf("making a plan from the analysis page did not show the plan: %v (page says %q)", err, pe)
	}
	plan, err := chromedp.Run(bctx, chromedp.Evaluate[analysisPageState](strings.ReplaceAll(analysisPageStateJS, "#analysis-tiles", "#plan-tiles")))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Tiles < 5 || plan.SVGs == 0 || plan.Alert != "" || plan.Banner != "" {
		t.Errorf("the plan page shows %d headline numbers, a report with %d SVGs and errors %q %q; want at least 5, some and none", plan.Tiles, plan.SVGs, plan.Alert, plan.Banner)
	}
	shotPlan, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("could not take a screenshot of the plan page: %v", err)
	}

	// The runs list, reached through the menu, shows the run completed.
	runID := strings.TrimPrefix(st.Path, "/ui/runs/")
	if err := doWithin(bctx,
		chromedp.Click(`.nav a[data-section="runs"]`),
		chromedp.WaitVisible("#runs-table tbody tr"),
	); err != nil {
		t.Errorf("the runs list did not open from the menu: %v", err)
	} else if row, err := chromedp.Run(bctx, chromedp.Text("#runs-table tbody tr")); err != nil || !strings.Contains(row, runID) || !strings.Contains(row, "completed") {
		t.Errorf("the runs list's first row reads %q (%v), want run %s completed", row, err, runID)
	}
	shotRuns, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("could not take a screenshot of the runs list: %v", err)
	}

	// The analysis's address opens it again: the server answers index.html
	// for the UI's routes and the page routes itself.
	if err := doWithin(bctx,
		chromedp.Navigate(ts.url+an.Path),
		chromedp.WaitVisible(`#report-panel[data-loaded="true"]`),
	); err != nil {
		t.Errorf("opening %s directly did not show the analysis: %v", an.Path, err)
	}

	// A second, longer run is stopped from its page (two clicks) and kept
	// as stopped.
	if err := doWithin(bctx,
		chromedp.Navigate(ts.url+"/ui/runs"),
		chromedp.Click("#run-form-panel summary"),
		chromedp.WaitVisible("#run-scenario"),
		chromedp.SetValue("#run-scenario", checkoutScenario("      - {duration: 60s, target: 5, name: long}\n")),
		chromedp.SetValue("#run-target", target),
		chromedp.Click("#run-start"),
	); err != nil {
		t.Fatalf("could not start a second run: %v", err)
	}
	// At least two polls, not exactly two: a busy machine may show the
	// page after the second.
	waitPage(t, bctx, "the second run's first live points", runPageStateJS, func(st runPageState) bool { return st.LivePoints >= 2 })
	// Leaving the page and coming back keeps the points polled so far.
	if err := doWithin(bctx,
		chromedp.Click(`.nav a[data-section="runs"]`),
		chromedp.WaitVisible("#runs-table"),
		chromedp.Evaluate[chromedp.Void](`history.back()`),
	); err != nil {
		t.Fatal(err)
	}
	back := waitPage(t, bctx, "the run page again", runPageStateJS, func(st runPageState) bool { return st.LivePoints > 0 })
	if back.LivePoints < 3 {
		t.Errorf("back on the run page the live chart has %d points, want the 2 polled before leaving and more", back.LivePoints)
	}
	if err := doWithin(bctx, chromedp.Click("#run-stop"), chromedp.Click("#run-stop")); err != nil {
		t.Fatalf("could not press Stop twice: %v", err)
	}
	st = waitPage(t, bctx, "the run no longer running", runPageStateJS, func(st runPageState) bool { return st.Status != "running" })
	if st.Status != "stopped" || st.Banner != "" || st.Alert != "" {
		t.Errorf("after Stop the run page shows status %q and errors %q %q, want stopped and no error", st.Status, st.Banner, st.Alert)
	}

	// A token the service refuses brings back the prompt with its reason.
	if err := doWithin(bctx,
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('headroom.token', 'not-a-valid-token-0000000'); undefined`),
		chromedp.Reload(),
		chromedp.WaitVisible("#token-form"),
	); err != nil {
		t.Errorf("a refused token did not bring back the token prompt: %v", err)
	} else if msg, err := chromedp.Run(bctx, chromedp.Text("#token-form .alert")); err != nil || !strings.Contains(msg, "invalid bearer token") {
		t.Errorf("the token prompt says %q (%v), want the service's reason (invalid bearer token)", msg, err)
	}
	// The refused token was answered 401, which the browser logs; that is
	// expected here.
	for _, p := range takeProblems() {
		if !strings.Contains(p, "401") {
			t.Errorf("the page logged %s", p)
		}
	}

	shots := map[string][]byte{"": shot, "-run": shotRun, "-plan": shotPlan, "-runs": shotRuns}
	if shotLive != nil {
		shots["-run-live"] = shotLive
	} else {
		t.Errorf("no screenshot of the live run was taken: the live chart never reached 4 points")
	}
	keepUIShots(t, dir, shots)
	t.Logf("end to end in %s", time.Since(started).Round(time.Millisecond))
}

// uiBrowser starts headless Chromium with a profile in dir and collects
// what the page logs as errors (console errors, exceptions, failed loads);
// takeProblems returns and clears them. The browser closes with the test.
func uiBrowser(t *testing.T, exe, dir string) (bctx context.Context, takeProblems func() []string) {
	t.Helper()
	// Every step is bounded by pollFor; this only stops a browser that
	// hangs, so it leaves room for a slow first start of Chromium and a
	// busy machine (two minutes were once too few for the whole test).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(uiWidth, uiHeight),
	)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)

	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				problems = append(problems, fmt.Sprintf("console.%s: %s", ev.Type, uiConsoleArgs(ev.Args)))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, "exception: "+msg)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				problems = append(problems, fmt.Sprintf("%s (%s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		}
	}); err != nil {
		t.Fatalf("could not start Chromium (%s): %v", exe, err)
	}
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(uiWidth, uiHeight)); err != nil {
		t.Fatalf("could not size the browser's window: %v", err)
	}
	// The page is driven like a user who asked for reduced motion: scrolls
	// and transitions end at once, so an element is where it is found when
	// the test clicks it. (A smooth scroll still running moved the plan
	// form away from a click, which then missed it now and then.)
	reduceMotion := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return err
	})
	if err := chromedp.Do(bctx, reduceMotion); err != nil {
		t.Fatalf("could not ask the browser for reduced motion: %v", err)
	}
	// The listener runs in the tab's message loop: callers get a copy
	// rather than hold the lock while the browser works.
	return bctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		p := problems
		problems = nil
		return p
	}
}

// doWithin runs browser steps, bounded by pollFor: a step that waits for
// an element that never comes fails the test instead of hanging it.
func doWithin(bctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(bctx, pollFor)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// waitPage evaluates js in the page every uiPollEvery until done accepts
// the result, and returns it; the test fails when that takes longer than
// pollFor.
func waitPage[T any](t *testing.T, bctx context.Context, what, js string, done func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(pollFor)
	for {
		v, err := chromedp.Run(bctx, chromedp.Evaluate[T](js))
		if err != nil {
			t.Fatalf("could not read the page while waiting for %s: %v", what, err)
		}
		if done(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not show %s within %s; last read %+v", what, pollFor, v)
		}
		time.Sleep(uiPollEvery)
	}
}

// keepUIShots writes screenshots (keyed by a name suffix) as
// DIR/ui<suffix>.png, next to $HEADROOM_UI_SCREENSHOT with the suffix before
// its extension, and with -update as testdata/<test name><suffix>.png.
func keepUIShots(t *testing.T, dir string, shots map[string][]byte) {
	t.Helper()
	write := func(file string, b []byte) {
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Errorf("could not keep a screenshot: %v", err)
			return
		}
		t.Logf("wrote %s (%d KiB)", file, len(b)/1024)
	}
	env := os.Getenv(uiScreenshotEnv)
	ext := filepath.Ext(env)
	base := strings.TrimSuffix(env, ext)
	if ext == "" {
		ext = ".png"
	}
	for suffix, b := range shots {
		write(filepath.Join(dir, "ui"+suffix+".png"), b)
		if env != "" {
			write(base+suffix+ext, b)
		}
		if updateFlag() {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			write(filepath.Join("testdata", t.Name()+suffix+".png"), b)
		}
	}
}

// checkUIShot checks a screenshot is a PNG of the viewport's width and, when
// minHeight is set, at least that tall (the page's full length).
func checkUIShot(t *testing.T, what string, shot []byte, minHeight int) {
	t.Helper()
	if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("the %s screenshot is not a PNG", what)
		return
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil {
		t.Errorf("the %s screenshot does not decode: %v", what, err)
		return
	}
	if cfg.Width != uiWidth || cfg.Height < minHeight || cfg.Height < uiHeight {
		t.Errorf("the %s screenshot is %d × %d px, want %d wide and the whole page (at least %d high)", what, cfg.Width, cfg.Height, uiWidth, max(minHeight, uiHeight))
	}
}

// uiConsoleArgs writes a console call's arguments.
func uiConsoleArgs(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		if a == nil {
			continue
		}
		if len(a.Value) > 0 {
			parts = append(parts, string(a.Value))
		} else {
			parts = append(parts, a.Description)
		}
	}
	return strings.Join(parts, " ")
}

// reviewsPageState is what the test reads from the reviews page.
type reviewsPageState struct {
	Panels        int    `json:"panels"`
	TrendPoints   int    `json:"trendPoints"`
	HeadroomPts   int    `json:"headroomPoints"`
	Headroom      string `json:"headroom"`
	HeadroomClass string `json:"headroomClass"`
	Capacity      string `json:"capacity"`
	Bottleneck    string `json:"bottleneck"`
	Busy          bool   `json:"busy"`
	Error         string `json:"error"`
	Alert         string `json:"alert"`
}

const reviewsPageStateJS = `(() => {
  const p = document.querySelector('section.review[data-service="checkout"]');
  const q = (sel) => p && p.querySelector(sel);
  const pts = (sel) => { const s = q(sel); return s ? Number(s.dataset.points || 0) : 0; };
  const tileOf = (id) => q('[data-tile="' + id + '"]');
  return {
    panels: document.querySelectorAll('section.review').length,
    trendPoints: pts('#trend-checkout-svg'),
    headroomPoints: pts('#headroom-checkout-svg'),
    headroom: tileOf('headroom') ? tileOf('headroom').querySelector('.value').textContent : '',
    headroomClass: tileOf('headroom') ? tileOf('headroom').className : '',
    capacity: tileOf('capacity') ? tileOf('capacity').querySelector('.value').textContent : '',
    bottleneck: tileOf('bottleneck') ? tileOf('bottleneck').querySelector('.value').textContent : '',
    busy: !!(q('[data-review-run]') && q('[data-review-run]').disabled),
    error: p && p.querySelector('.form-error') ? p.querySelector('.form-error').textContent : '',
    alert: document.querySelector('#main .alert:not(.info)') ? document.querySelector('#main .alert:not(.info)').textContent : '',
  };
})()`

// TestUIShowsTheCapacityTrend opens the reviews page in headless Chromium
// for a service reviewed on six days while its peak traffic grew toward
// its capacity: the panel shows the last review's headroom, below the
// 20% target, and the trend chart draws every review; "Review now" adds a
// review through the API and the chart grows by it.
func TestUIShowsTheCapacityTrend(t *testing.T) {
	exe := testenv.Chromium(t)
	// The reviews are dated by the server's clock, which the test moves a
	// day per review; ReviewFunc stands in for production Prometheus data
	// (reviews against a real Prometheus are tested in reviews_test.go).
	base := time.Now().Add(-8 * 24 * time.Hour).Truncate(time.Hour)
	var day atomic.Int64
	peaks := []float64{300, 330, 360, 390, 420, 440, 455}
	const capacity = 500.0
	ts := newTestServer(t, "", func(cfg *Config) {
		cfg.Clock = func() time.Time { return base.Add(time.Duration(day.Load()) * 24 * time.Hour) }
		cfg.ReviewFunc = func(_ context.Context, spec model.ReviewSpec, end time.Time) (model.Review, error) {
			peak := peaks[min(int(day.Load()), len(peaks)-1)]
			h := capacity/peak - 1
			return model.Review{
				Service: spec.Service, At: end, PeakRPS: peak, CapacityRPS: capacity,
				HeadroomRatio: h, TargetHeadroomRatio: 0.2, BelowTarget: h < 0.2,
				Bottleneck: "db_pool", LimitedBy: "db_pool", Confidence: "high", Points: 2016,
				Resources: []model.ReviewResource{{Kind: "db_pool", Name: "DB connection pool", Family: "pgxpool", PeakUtilization: 0.8 * peak / capacity}},
			}, nil
		}
	})
	ts.mustDo(t, "PUT", "/api/v1/reviews/checkout", adminToken, map[string]any{"target_headroom": 0.2, "selector": `{job="checkout"}`}, 200, nil)
	for d := range 6 {
		day.Store(int64(d))
		ts.mustDo(t, "POST", "/api/v1/reviews/checkout/run", adminToken, nil, 201, nil)
	}

	dir := t.TempDir()
	bctx, takeProblems := uiBrowser(t, exe, dir)
	defer func() {
		for _, p := range takeProblems() {
			t.Errorf("the page logged %s", p)
		}
	}()
	if err := doWithin(bctx,
		chromedp.Navigate(ts.url+"/ui/reviews?token="+url.QueryEscape(roToken)),
		chromedp.WaitVisible(`section.review[data-service="checkout"] [data-tile="headroom"]`),
	); err != nil {
		t.Fatalf("the reviews page did not show the checkout service's review: %v", err)
	}
	waitState := func(what string, ok func(reviewsPageState) bool) reviewsPageState {
		t.Helper()
		return waitPage(t, bctx, what, reviewsPageStateJS, ok)
	}
	// Three series (capacity, peak, needed capacity) over six reviews.
	st := waitState("six reviews in the trend", func(s reviewsPageState) bool { return s.TrendPoints >= 18 })
	if st.TrendPoints != 18 || st.HeadroomPts != 6 {
		t.Errorf("the charts draw %d trend points and %d headroom points, want 18 (capacity, peak and needed capacity for 6 reviews) and 6", st.TrendPoints, st.HeadroomPts)
	}
	// The last review: capacity 500 req/s at a peak of 440 is 13.6% spare.
	if st.Headroom != "14%" || !strings.Contains(st.HeadroomClass, "bad") || !strings.Contains(st.Capacity, "500") {
		t.Errorf("the tiles read capacity %q and headroom %q (%s), want 500 req/s and 14%% marked below target", st.Capacity, st.Headroom, st.HeadroomClass)
	}
	if st.Bottleneck != "DB connection pool" {
		t.Errorf("the bottleneck reads %q, want the resource's name, DB connection pool", st.Bottleneck)
	}
	if st.Panels != 1 || st.Alert != "" || st.Error != "" {
		t.Errorf("the page shows %d review panels and errors %q %q, want one panel and none", st.Panels, st.Alert, st.Error)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("could not take a screenshot: %v", err)
	}
	checkUIShot(t, "reviews page", shot, 0)

	// "Review now" with a read-only token is refused, and the page says so.
	day.Store(6)
	if err := doWithin(bctx, chromedp.Click(`[data-review-run="checkout"]`)); err != nil {
		t.Fatal(err)
	}
	st = waitState("the refusal of a read-only token", func(s reviewsPageState) bool { return s.Error != "" })
	if !strings.Contains(st.Error, "read-only") {
		t.Errorf("after Review now with a read-only token the panel says %q, want the API's read-only error", st.Error)
	}
	for _, p := range takeProblems() {
		if !strings.Contains(p, "403") {
			t.Errorf("the page logged %s", p)
		}
	}
	// With an admin token it adds a review and the trend grows by it.
	if err := doWithin(bctx,
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('headroom.token', `+jsString(adminToken)+`); undefined`),
		chromedp.Reload(),
		chromedp.WaitVisible(`section.review[data-service="checkout"] [data-tile="headroom"]`),
		chromedp.Click(`[data-review-run="checkout"]`),
	); err != nil {
		t.Fatal(err)
	}
	st = waitState("the seventh review", func(s reviewsPageState) bool { return s.TrendPoints >= 21 && !s.Busy })
	if st.Headroom != "10%" || st.Error != "" {
		t.Errorf("after Review now the headroom reads %q and the panel says %q, want 10%% (500 req/s at a peak of 455) and no error", st.Headroom, st.Error)
	}
	keepUIShots(t, dir, map[string][]byte{"-reviews": shot})
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
