package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"path/filepath"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/loadgen"
)

// metricsFlags choose where a run's series go: the user's Prometheus
// (--prometheus, which also receives the runner's remote write) or, by
// default, the embedded store saved beside run.json, which scrapes the
// system under test itself (--scrape).
type metricsFlags struct {
	prom           promFlags
	scrape         stringList
	scrapeInterval durationValue
	selector       string
	storeDir       string
	noStore        bool
}

func (m *metricsFlags) register(fs *flag.FlagSet) {
	m.prom.register(fs, "base `URL` of the Prometheus that scrapes the system under test; the runner remote-writes to it (URL/api/v1/write unless --remote-write says otherwise) with the --prometheus-* headers, credentials and TLS settings, and analysis reads from it")
	fs.Var(&m.scrape, "scrape", "embedded store: scrape this /metrics endpoint during the run, [JOB=]URL such as checkout=http://127.0.0.1:8080/metrics (repeatable)")
	m.scrapeInterval = durationValue{d: time.Second}
	fs.Var(&m.scrapeInterval, "scrape-interval", "embedded store: how often --scrape endpoints are scraped, 1s to 5s (default 1s)")
	fs.StringVar(&m.selector, "selector", "", "PromQL label selector of the system under test's series, recorded in run.json for analysis, such as '{job=\"checkout\"}' (default: the first --scrape job)")
	fs.StringVar(&m.storeDir, "store-dir", "", "embedded store: where the run's series are kept (default: beside --out, run.json → run.tsdb)")
	fs.BoolVar(&m.noStore, "no-store", false, "keep no embedded store (the run's series are then only in --remote-write or --metrics-addr)")
}

// setupRunMetrics validates the metrics flags and starts the run's metrics
// (app.StartRunMetrics): the embedded store and its scrapes, or remote write
// to --prometheus, and --remote-write. out is the run.json path ("" when
// none is written).
func setupRunMetrics(ctx context.Context, e *env, m *metricsFlags, set map[string]bool, out string, rw loadgen.RemoteWriteConfig) (*app.RunMetrics, error) {
	prom, err := m.prom.options(e, "run")
	if err != nil {
		return nil, err
	}
	o := app.MetricsOptions{Prometheus: prom, RemoteWrite: rw, ScrapeInterval: m.scrapeInterval.d, Selector: m.selector, Logger: e.log}
	for _, s := range m.scrape {
		t, err := collector.ParseScrapeFlag(s)
		if err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		o.Scrape = append(o.Scrape, t)
	}
	switch {
	case prom.URL != "":
	case m.noStore:
		if len(o.Scrape) > 0 || set["store-dir"] {
			return nil, errors.New("run: --no-store cannot be used with --scrape or --store-dir")
		}
	case m.storeDir != "":
		o.StoreDir = m.storeDir
	case out != "":
		o.StoreDir = strings.TrimSuffix(out, filepath.Ext(out)) + ".tsdb"
	case len(o.Scrape) > 0:
		return nil, errors.New("run: --scrape needs somewhere to keep the series: give --out or --store-dir")
	}
	if out != "" {
		o.RunDir = filepath.Dir(out)
	}
	if prom.URL == "" {
		for _, name := range promFlagNames[1:] {
			if set[name] {
				return nil, fmt.Errorf("run: --%s needs --prometheus URL", name)
			}
		}
	}
	rm, err := app.StartRunMetrics(ctx, o)
	var oe *app.OptionError
	if errors.As(err, &oe) {
		flagName := map[string]string{"remote_write": "--remote-write", "scrape_interval": "--scrape-interval"}[oe.Field]
		if flagName == "" {
			flagName = "--" + oe.Field
		}
		return nil, fmt.Errorf("run: %s %s", flagName, oe.Msg)
	}
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	return rm, nil
}

// quietLogger passes on only warnings and errors unless debug logging is
// on: the embedded TSDB reports routine compactions at info level.
func quietLogger(e *env) *slog.Logger { return app.Quiet(e.log) }
