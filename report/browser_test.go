package report

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	goldenfile "github.com/headroom-sh/headroom/internal/golden"
	"github.com/headroom-sh/headroom/internal/testenv"
)

// screenshotWidth is the viewport the report is checked at, in CSS pixels.
const screenshotWidth = 1200

// chartBox is one chart's SVG as the browser laid it out.
type chartBox struct {
	ID     string  `json:"id"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	// Marks counts the SVG's drawn data: dots, lines and polylines.
	Marks int `json:"marks"`
}

// pageFacts are what the test reads from the rendered page.
type pageFacts struct {
	Charts        []chartBox `json:"charts"`
	Scripts       int        `json:"scripts"`
	ScrollWidth   float64    `json:"scrollWidth"`
	ViewportWidth float64    `json:"viewportWidth"`
	ScrollHeight  float64    `json:"scrollHeight"`
	Verdict       string     `json:"verdict"`
	Cards         int        `json:"cards"`
	Tables        int        `json:"tables"`
}

const factsJS = `(() => {
  const charts = Array.from(document.querySelectorAll('svg.chart')).map(s => {
    const r = s.getBoundingClientRect();
    return {id: s.id, width: r.width, height: r.height, marks: s.querySelectorAll('circle, polyline, line').length};
  });
  return {
    charts,
    scripts: document.querySelectorAll('script').length,
    scrollWidth: document.documentElement.scrollWidth,
    viewportWidth: window.innerWidth,
    scrollHeight: document.documentElement.scrollHeight,
    verdict: (document.querySelector('.verdict-text') || {}).textContent || '',
    cards: document.querySelectorAll('.card').length,
    tables: document.querySelectorAll('table').length,
  };
})()`

// TestReportRendersInABrowser opens the launch story's report.html in a
// real headless Chromium from a file, as a reader would: the page must load
// without console errors, exceptions or network requests, lay every chart
// out at a visible size without horizontal scrolling, and give a full-page
// screenshot. With -update the screenshot is kept in testdata/ for people
// to look at.
func TestReportRendersInABrowser(t *testing.T) {
	exe := testenv.Chromium(t)
	in := launch(t)
	r, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	page, err := HTML(in)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	pageURL := (&url.URL{Scheme: "file", Path: file}).String()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(screenshotWidth, 900),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	var mu sync.Mutex
	var problems, requests []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				problems = append(problems, fmt.Sprintf("console.%s: %s", ev.Type, consoleArgs(ev.Args)))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, fmt.Sprintf("%s (%s): %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text))
			}
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		}
	}); err != nil {
		t.Fatalf("could not start Chromium (%s): %v", exe, err)
	}
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(screenshotWidth, 900),
		chromedp.Navigate(pageURL),
	); err != nil {
		t.Fatalf("could not open %s in Chromium: %v", pageURL, err)
	}
	facts, err := chromedp.Run(bctx, chromedp.Evaluate[pageFacts](factsJS))
	if err != nil {
		t.Fatalf("could not read the page: %v", err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("could not take a screenshot: %v", err)
	}

	// The listener runs in the tab's message loop: copy what it collected
	// rather than hold the lock while the browser still works.
	mu.Lock()
	problems, requests = append([]string(nil), problems...), append([]string(nil), requests...)
	mu.Unlock()
	for _, p := range problems {
		t.Errorf("the page logged %s", p)
	}
	for _, u := range requests {
		if u != pageURL {
			t.Errorf("the page requested %s; a report must not load anything", u)
		}
	}
	if facts.Scripts != 0 {
		t.Errorf("the page has %d <script> elements, want none", facts.Scripts)
	}
	if len(facts.Charts) != len(r.Charts) {
		t.Errorf("the page shows %d charts, want %d (one per chart of the report)", len(facts.Charts), len(r.Charts))
	}
	want := map[string]bool{}
	for _, c := range r.Charts {
		want["chart-"+sanitizeID(c.ID)] = true
	}
	for _, c := range facts.Charts {
		if !want[c.ID] {
			t.Errorf("the page shows a chart %q the report does not have", c.ID)
		}
		// Two charts a row in 1,200 pixels: each well over 400 wide.
		if c.Width < 400 || c.Height < 200 {
			t.Errorf("chart %s is laid out at %.0f × %.0f px, want at least 400 × 200", c.ID, c.Width, c.Height)
		}
		if c.Marks < 10 {
			t.Errorf("chart %s draws %d marks, want its data", c.ID, c.Marks)
		}
	}
	if facts.ScrollWidth > facts.ViewportWidth {
		t.Errorf("the page is %.0f px wide in a %.0f px viewport: it scrolls sideways", facts.ScrollWidth, facts.ViewportWidth)
	}
	if !strings.Contains(facts.Verdict, "DB connection pool") {
		t.Errorf("the verdict reads %q, want the analysis's verdict naming the DB connection pool", facts.Verdict)
	}
	if facts.Cards < 5 || facts.Tables < 6 {
		t.Errorf("the page shows %d key numbers and %d tables, want at least 5 and 6", facts.Cards, facts.Tables)
	}

	if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the screenshot is not a PNG (starts %q)", shot[:min(8, len(shot))])
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot does not decode as PNG: %v", err)
	}
	if cfg.Width != screenshotWidth || float64(cfg.Height) < facts.ScrollHeight-1 || cfg.Height < 2000 {
		t.Errorf("the screenshot is %d × %d px, want %d wide and the page's full height (%.0f px, at least 2000)", cfg.Width, cfg.Height, screenshotWidth, facts.ScrollHeight)
	}
	shotFile := filepath.Join(dir, "screenshot.png")
	if err := os.WriteFile(shotFile, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d charts; screenshot %d × %d px, %d KiB", len(facts.Charts), cfg.Width, cfg.Height, len(shot)/1024)
	if goldenfile.Updating() {
		// The kept copy is the top of the page — headline, key numbers and
		// charts — at half scale: enough to see how it looks, small in git.
		bottom, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`document.getElementById('charts').getBoundingClientRect().bottom + window.scrollY + 16`))
		if err != nil {
			t.Fatal(err)
		}
		small, err := chromedp.Run(bctx, chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
			r, err := cdp.Call(ctx, tg, cdppage.CaptureScreenshot, cdppage.CaptureScreenshotParams{
				Clip:                  &cdppage.Viewport{Width: screenshotWidth, Height: bottom, Scale: 0.5},
				CaptureBeyondViewport: func() *bool { b := true; return &b }(),
			})
			return r.Data, err
		}))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "screenshot.png"), small, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote testdata/screenshot.png (%d KiB)", len(small)/1024)
	}
}

// consoleArgs writes a console call's arguments.
func consoleArgs(args []*runtime.RemoteObject) string {
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
