package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
)

// metricsFlags choose where a run's series go: the user's Prometheus
// (--prometheus, which also receives the runner's remote write) or, by
// default, the embedded store saved beside run.json, which scrapes the
// system under test itself (--scrape).
type metricsFlags struct {
	prometheus     string
	scrape         stringList
	scrapeInterval durationValue
	selector       string
	storeDir       string
	noStore        bool
}

func (m *metricsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.prometheus, "prometheus", "", "base URL of the Prometheus that scrapes the system under test; the runner remote-writes to it (URL/api/v1/write unless --remote-write says otherwise) and analysis reads from it")
	fs.Var(&m.scrape, "scrape", "embedded store: scrape this /metrics endpoint during the run, [JOB=]URL such as checkout=http://127.0.0.1:8080/metrics (repeatable)")
	m.scrapeInterval = durationValue{d: time.Second}
	fs.Var(&m.scrapeInterval, "scrape-interval", "embedded store: how often --scrape endpoints are scraped, 1s to 5s (default 1s)")
	fs.StringVar(&m.selector, "selector", "", "PromQL label selector of the system under test's series, recorded in run.json for analysis, such as '{job=\"checkout\"}' (default: the first --scrape job)")
	fs.StringVar(&m.storeDir, "store-dir", "", "embedded store: where the run's series are kept (default: beside --out, run.json → run.tsdb)")
	fs.BoolVar(&m.noStore, "no-store", false, "keep no embedded store (the run's series are then only in --remote-write or --metrics-addr)")
}

// runMetrics is the metrics side of a run once set up.
type runMetrics struct {
	ref     *model.MetricsRef
	store   *collector.Store
	scraper *collector.Scraper
	sinks   []loadgen.Sink
}

// setupRunMetrics validates the metrics flags, opens the embedded store and
// starts its scraper. out is the run.json path ("" when none is written).
func setupRunMetrics(ctx context.Context, e *env, m *metricsFlags, set map[string]bool, out string, remoteWrite *string) (*runMetrics, error) {
	rm := &runMetrics{}
	if m.selector != "" {
		if _, err := collector.ParseSelector(m.selector); err != nil {
			return nil, fmt.Errorf("run: --selector %q: %w", m.selector, err)
		}
	}
	var targets []collector.ScrapeTarget
	for _, s := range m.scrape {
		t, err := collector.ParseScrapeFlag(s)
		if err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		targets = append(targets, t)
	}
	if m.scrapeInterval.d < collector.MinScrapeInterval || m.scrapeInterval.d > collector.MaxScrapeInterval {
		return nil, fmt.Errorf("run: --scrape-interval %s: expected a duration from %s to %s", m.scrapeInterval.String(), collector.MinScrapeInterval, collector.MaxScrapeInterval)
	}
	selector := m.selector
	if selector == "" && len(targets) > 0 {
		selector = fmt.Sprintf(`{job=%q}`, targets[0].Job)
	}

	if m.prometheus != "" {
		u, err := url.Parse(m.prometheus)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("run: --prometheus %q: expected an absolute http(s) URL such as http://127.0.0.1:9090", m.prometheus)
		}
		if len(targets) > 0 {
			return nil, errors.New("run: --scrape feeds the embedded store and cannot be used with --prometheus: let your Prometheus scrape the system under test")
		}
		if *remoteWrite == "" {
			*remoteWrite = strings.TrimRight(m.prometheus, "/") + "/api/v1/write"
		}
		rm.ref = &model.MetricsRef{Prometheus: m.prometheus, Selector: selector}
		return rm, nil
	}
	if m.noStore {
		if len(targets) > 0 || set["store-dir"] {
			return nil, errors.New("run: --no-store cannot be used with --scrape or --store-dir")
		}
		return rm, nil
	}
	dir := m.storeDir
	if dir == "" {
		if out == "" {
			if len(targets) > 0 {
				return nil, errors.New("run: --scrape needs somewhere to keep the series: give --out or --store-dir")
			}
			return rm, nil
		}
		dir = strings.TrimSuffix(out, filepath.Ext(out)) + ".tsdb"
	}
	store, err := collector.OpenStore(collector.StoreConfig{Dir: dir, Logger: quietLogger(e)})
	if err != nil {
		return nil, fmt.Errorf("run: embedded store: %w", err)
	}
	rm.store = store
	rm.sinks = append(rm.sinks, store)
	rel := dir
	if out != "" {
		if r, err := filepath.Rel(filepath.Dir(out), dir); err == nil {
			rel = r
		}
	}
	rm.ref = &model.MetricsRef{Store: rel, Selector: selector}
	if len(targets) > 0 {
		sc, err := store.StartScraper(ctx, collector.ScrapeConfig{Targets: targets, Interval: m.scrapeInterval.d, Logger: quietLogger(e)})
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("run: --scrape: %w", err)
		}
		rm.scraper = sc
	}
	return rm, nil
}

// finish stops scraping, records how it went in run.json's metrics
// reference and closes the store so that a later analyze can reopen it.
func (rm *runMetrics) finish(run *model.Run) error {
	if rm == nil {
		return nil
	}
	if rm.scraper != nil {
		for _, st := range rm.scraper.Stop() {
			rm.ref.Scrape = append(rm.ref.Scrape, model.ScrapeReport{
				URL: st.URL, Job: st.Job, Scrapes: st.Scrapes, Failures: st.Failures, LastError: st.LastError, Up: st.Up,
			})
		}
	}
	if run != nil && rm.ref != nil {
		run.Metrics = rm.ref
	}
	if rm.store != nil {
		if err := rm.store.Close(); err != nil {
			return fmt.Errorf("could not close the embedded store: %w", err)
		}
	}
	return nil
}

// quietLogger passes on only warnings and errors unless debug logging is
// on: the embedded TSDB reports routine compactions at info level.
func quietLogger(e *env) *slog.Logger {
	if e.log.Enabled(context.Background(), slog.LevelDebug) {
		return e.log
	}
	return slog.New(minLevelHandler{Handler: e.log.Handler(), min: slog.LevelWarn})
}

type minLevelHandler struct {
	slog.Handler
	min slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(a), min: h.min}
}

func (h minLevelHandler) WithGroup(n string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(n), min: h.min}
}
