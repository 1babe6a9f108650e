package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
)

// StoreFlushInterval is how often the runner writes its metrics into an
// embedded store: finer than to a remote backend, so that short stages are
// resolved.
const StoreFlushInterval = time.Second

// MetricsOptions say where a run's series go: the user's Prometheus, which
// scrapes the system under test and receives the runner's remote write,
// or an embedded store that scrapes the system itself.
type MetricsOptions struct {
	// Prometheus is the Prometheus the run records into (its URL empty
	// means the embedded store): the runner remote-writes to it with its
	// headers, credentials and TLS settings.
	Prometheus PrometheusOptions
	// RemoteWrite is where the runner pushes its series. With Prometheus,
	// its URL (default Prometheus/api/v1/write), when on Prometheus's
	// server, is that backend's write endpoint and gets Prometheus's
	// headers, credentials and TLS (on another server, none of them); its own
	// Headers are added (winning by name), and its own BearerToken or
	// Authorization header replaces Prometheus's credentials. A URL
	// without Prometheus pushes there, with its own settings only, as well
	// as into the store.
	RemoteWrite loadgen.RemoteWriteConfig
	// Scrape lists the /metrics endpoints the embedded store scrapes.
	Scrape []collector.ScrapeTarget
	// ScrapeInterval is how often they are scraped (default 1s).
	ScrapeInterval time.Duration
	// ScrapeClient makes the scrapes (nil: the collector's default); the
	// service passes one that checks every redirect against its allowlist.
	ScrapeClient *http.Client
	// Selector is the system under test's label selector, recorded for the
	// analysis; empty means the first scrape job's.
	Selector string
	// StoreDir is the embedded store's directory; empty keeps no store
	// (then Scrape must be empty).
	StoreDir string
	// RunDir is where run.json is written: the store is recorded relative
	// to it.
	RunDir string
	Logger *slog.Logger
}

// RunMetrics is the metrics side of a run once set up: the sinks the
// runner writes to, and the reference run.json records.
type RunMetrics struct {
	Ref   *model.MetricsRef
	Sinks []loadgen.Sink
	// RemoteWriteURL is the resolved remote-write URL ("" for none).
	RemoteWriteURL string
	// FlushInterval is the runner's flush interval the store needs (0 when
	// there is no store); a front end that sets another one says so here
	// before Finish, which records the store's sampling interval.
	FlushInterval time.Duration
	store         *collector.Store
	scraper       *collector.Scraper
	scrapeEvery   time.Duration
	prom          PrometheusOptions
	rw            loadgen.RemoteWriteConfig
	log           *slog.Logger
}

// StartRunMetrics checks the options, opens the embedded store and starts
// its scrapes. Errors name the option by its field.
func StartRunMetrics(ctx context.Context, o MetricsOptions) (*RunMetrics, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Selector != "" {
		if _, err := collector.ParseSelector(o.Selector); err != nil {
			return nil, &OptionError{"selector", fmt.Sprintf("%q: %v", o.Selector, err)}
		}
	}
	if o.ScrapeInterval == 0 {
		o.ScrapeInterval = collector.MinScrapeInterval
	}
	if o.ScrapeInterval < collector.MinScrapeInterval || o.ScrapeInterval > collector.MaxScrapeInterval {
		return nil, &OptionError{"scrape_interval", fmt.Sprintf("%s: expected a duration from %s to %s", o.ScrapeInterval, collector.MinScrapeInterval, collector.MaxScrapeInterval)}
	}
	selector := o.Selector
	if selector == "" && len(o.Scrape) > 0 {
		selector = fmt.Sprintf(`{job=%q}`, o.Scrape[0].Job)
	}
	rm := &RunMetrics{scrapeEvery: o.ScrapeInterval, prom: o.Prometheus, log: log}
	rw := o.RemoteWrite
	// run.json records the URL: credentials written in it move to the
	// options, and the recorded URL has none.
	takenProm, err := o.Prometheus.TakeURLCredentials()
	if err != nil {
		return nil, &OptionError{"prometheus", err.Error()}
	}
	o.Prometheus, rm.prom = takenProm, takenProm
	prom := strings.TrimSpace(o.Prometheus.URL)
	if prom != "" {
		u, err := url.Parse(prom)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &OptionError{"prometheus", fmt.Sprintf("%q: expected an absolute http(s) URL such as http://127.0.0.1:9090", prom)}
		}
		if len(o.Scrape) > 0 {
			return nil, &OptionError{"scrape", "feeds the embedded store and cannot be used with a Prometheus: let your Prometheus scrape the system under test"}
		}
		if rw, err = remoteWriteTo(o.Prometheus, o.RemoteWrite); err != nil {
			return nil, &OptionError{"prometheus", err.Error()}
		}
		rm.Ref = &model.MetricsRef{Prometheus: prom, Selector: selector}
	}
	rm.rw = rw
	if rw.URL != "" {
		if rw.Logger == nil {
			rw.Logger = log
		}
		w, err := loadgen.NewRemoteWriter(rw)
		if err != nil {
			return nil, &OptionError{"remote_write", fmt.Sprintf("could not set up remote write to %s: %v", rw.URL, err)}
		}
		rm.Sinks = append(rm.Sinks, w)
		rm.RemoteWriteURL = rw.URL
	}
	if prom != "" {
		return rm, nil
	}
	if o.StoreDir == "" {
		if len(o.Scrape) > 0 {
			return nil, &OptionError{"scrape", "needs an embedded store to keep the series in"}
		}
		return rm, nil
	}
	store, err := collector.OpenStore(collector.StoreConfig{Dir: o.StoreDir, Logger: Quiet(log)})
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	rm.store = store
	rm.Sinks = append(rm.Sinks, store)
	rm.FlushInterval = StoreFlushInterval
	rel := o.StoreDir
	if o.RunDir != "" {
		if r, err := filepath.Rel(o.RunDir, o.StoreDir); err == nil {
			rel = r
		}
	}
	rm.Ref = &model.MetricsRef{Store: rel, Selector: selector}
	if len(o.Scrape) > 0 {
		sc, err := store.StartScraper(ctx, collector.ScrapeConfig{Targets: o.Scrape, Interval: o.ScrapeInterval, Logger: Quiet(log), HTTPClient: o.ScrapeClient})
		if err != nil {
			store.Close()
			return nil, &OptionError{"scrape", err.Error()}
		}
		rm.scraper = sc
	}
	return rm, nil
}

// Finish stops scraping, records how it went and the store's sampling
// interval in the run's metrics reference, and closes the store so that an
// analysis can open it. run may be nil (a run that failed).
func (rm *RunMetrics) Finish(run *model.Run) error {
	if rm == nil {
		return nil
	}
	if rm.scraper != nil {
		for _, st := range rm.scraper.Stop() {
			rm.Ref.Scrape = append(rm.Ref.Scrape, model.ScrapeReport{
				URL: st.URL, Job: st.Job, Scrapes: st.Scrapes, Failures: st.Failures, LastError: st.LastError, Up: st.Up,
			})
		}
		rm.scraper = nil
	}
	if rm.store != nil && rm.Ref != nil {
		every := rm.FlushInterval
		if len(rm.Ref.Scrape) > 0 {
			every = max(every, rm.scrapeEvery)
		}
		rm.Ref.SampleIntervalMs = float64(every) / float64(time.Millisecond)
	}
	if run != nil && rm.Ref != nil {
		run.Metrics = rm.Ref
	}
	if rm.store != nil {
		err := rm.store.Close()
		rm.store = nil
		if err != nil {
			return fmt.Errorf("could not close the embedded store: %w", err)
		}
	}
	return nil
}

// Attach adds the sinks to a runner's configuration and sets its flush
// interval: with an embedded store, the store's finer one unless the
// caller chose cfg.FlushInterval itself (explicit), which the store then
// records as its sampling interval.
func (rm *RunMetrics) Attach(cfg *loadgen.Config, explicit bool) {
	cfg.Sinks = append(cfg.Sinks, rm.Sinks...)
	if !rm.HasStore() {
		return
	}
	if explicit {
		rm.FlushInterval = cfg.FlushInterval
	} else {
		cfg.FlushInterval = rm.FlushInterval
	}
}

// HasStore reports whether the run records into an embedded store.
func (rm *RunMetrics) HasStore() bool { return rm != nil && rm.store != nil }

// remoteWriteTo is the remote write into the Prometheus the run records
// into: its write endpoint with its headers, credentials and TLS, plus what
// the remote write sets itself (see MetricsOptions.RemoteWrite).
func remoteWriteTo(prom PrometheusOptions, own loadgen.RemoteWriteConfig) (loadgen.RemoteWriteConfig, error) {
	rw, err := prom.RemoteWrite(own.URL)
	if err != nil {
		return rw, err
	}
	ownAuth := own.BearerToken != "" || own.BearerTokenFile != "" || own.BasicAuthUser != "" || own.BasicAuthPassword != ""
	for k, v := range own.Headers {
		if rw.Headers == nil {
			rw.Headers = map[string]string{}
		}
		for have := range rw.Headers {
			if strings.EqualFold(have, k) {
				delete(rw.Headers, have)
			}
		}
		rw.Headers[k] = v
		ownAuth = ownAuth || strings.EqualFold(k, "Authorization")
	}
	if ownAuth {
		rw.BearerToken, rw.BearerTokenFile = own.BearerToken, own.BearerTokenFile
		rw.BasicAuthUser, rw.BasicAuthPassword = own.BasicAuthUser, own.BasicAuthPassword
	}
	rw.Timeout, rw.Retries, rw.Backoff, rw.MaxPending = own.Timeout, own.Retries, own.Backoff, own.MaxPending
	rw.UserAgent, rw.Logger = own.UserAgent, own.Logger
	if own.HTTPClient != nil {
		rw.HTTPClient = own.HTTPClient
	}
	return rw, nil
}

// ShardThresholdTimeout bounds each query of a sharded run's thresholds,
// which are judged every 5s.
const ShardThresholdTimeout = 5 * time.Second

// ShardThresholds judges a sharded run's thresholds over every shard, in
// the Prometheus all shards write to: the run's Prometheus (with its
// connection options), or else the base of a remote-write URL ending in
// /api/v1/write (with the remote write's headers and credentials). It
// returns nil, "" when there is neither: each shard then judges its own
// requests. where is the Prometheus's URL, for messages.
func (rm *RunMetrics) ShardThresholds() (th loadgen.AggregateThresholds, where string, err error) {
	var cfg collector.PrometheusConfig
	if strings.TrimSpace(rm.prom.URL) != "" {
		if cfg, err = rm.prom.Config(rm.log); err != nil {
			return nil, "", err
		}
	} else {
		base, ok := strings.CutSuffix(strings.TrimRight(rm.rw.URL, "/"), "/api/v1/write")
		if !ok {
			return nil, "", nil
		}
		cfg = collector.PrometheusConfig{
			URL: base, Headers: rm.rw.Headers, BearerToken: rm.rw.BearerToken, BearerTokenFile: rm.rw.BearerTokenFile,
			Username: rm.rw.BasicAuthUser, Password: rm.rw.BasicAuthPassword, Logger: rm.log,
		}
	}
	cfg.Retries = 1
	if cfg.Timeout == 0 || cfg.Timeout > ShardThresholdTimeout {
		cfg.Timeout = ShardThresholdTimeout
	}
	src, err := collector.NewPrometheus(cfg)
	if err != nil {
		return nil, "", err
	}
	if th, err = collector.NewThresholds(collector.ThresholdsConfig{Source: src}); err != nil {
		return nil, "", err
	}
	return th, src.URL(), nil
}
