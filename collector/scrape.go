package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

// Defaults and limits of ScrapeConfig.
const (
	DefaultScrapeInterval = 2 * time.Second
	MinScrapeInterval     = time.Second
	MaxScrapeInterval     = 5 * time.Second
	// DefaultScrapeJob is the job label of a target given without a name.
	DefaultScrapeJob = "app"
)

const (
	// scrapeAccept offers the exposition formats in Prometheus's order of
	// preference: protobuf first, the only one that carries native
	// histograms from client libraries, then OpenMetrics, then the
	// Prometheus text format.
	scrapeAccept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.5," +
		"application/openmetrics-text;version=1.0.0;q=0.4," +
		"application/openmetrics-text;version=0.0.1;q=0.3," +
		"text/plain;version=0.0.4;q=0.2," +
		"*/*;q=0.1"
	// maxScrapeBody bounds the size of one exposition.
	maxScrapeBody = 64 << 20
)

// ScrapeTarget is one /metrics endpoint to scrape.
type ScrapeTarget struct {
	// URL of the endpoint, http or https.
	URL string `json:"url"`
	// Job is the target's job label; empty means "app".
	Job string `json:"job"`
	// Labels are added to every series of the target. The instance label
	// defaults to the URL's host:port; job comes from Job.
	Labels map[string]string `json:"labels,omitempty"`
}

// jobName matches the job prefix of a --scrape value.
var jobName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]*$`)

// ParseScrapeFlag parses a --scrape value: "http://127.0.0.1:8080/metrics"
// (job "app") or "checkout=http://127.0.0.1:8080/metrics" (job "checkout").
// A URL without a path scrapes /metrics.
func ParseScrapeFlag(s string) (ScrapeTarget, error) {
	raw := strings.TrimSpace(s)
	job := DefaultScrapeJob
	if i := strings.IndexByte(raw, '='); i >= 0 && !strings.Contains(raw[:i], "/") {
		job, raw = raw[:i], raw[i+1:]
		if !jobName.MatchString(job) {
			return ScrapeTarget{}, fmt.Errorf("invalid --scrape %q: job %q must start with a letter or _ and hold only letters, digits and _.:-; expected [job=]http://host:port/path, e.g. checkout=http://127.0.0.1:8080/metrics", s, job)
		}
	}
	u, err := scrapeURL(raw)
	if err != nil {
		return ScrapeTarget{}, fmt.Errorf("invalid --scrape %q: %w; expected [job=]http://host:port/path, e.g. checkout=http://127.0.0.1:8080/metrics", s, err)
	}
	return ScrapeTarget{URL: u.String(), Job: job}, nil
}

// scrapeURL parses and checks a target URL; an empty path becomes /metrics.
func scrapeURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q must start with http:// or https://", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", raw)
	}
	if u.Path == "" {
		u.Path = "/metrics"
	}
	return u, nil
}

// ScrapeConfig configures a Scraper.
type ScrapeConfig struct {
	// Targets to scrape; at least one.
	Targets []ScrapeTarget
	// Interval between scrapes, 1s to 5s; 0 means 2s. Scrapes of all
	// targets are aligned to multiples of Interval, so their samples share
	// timestamps.
	Interval time.Duration
	// Timeout of one scrape, at most Interval; 0 means Interval.
	Timeout time.Duration
	// Logger receives scrape failures and recoveries; nil means the
	// store's logger.
	Logger *slog.Logger
	// HTTPClient fetches the targets; nil means a default client.
	HTTPClient *http.Client

	// testInterval, set only by this package's tests, replaces Interval
	// and its range check so that tests need not wait whole seconds.
	testInterval time.Duration
}

// scrapeTarget is a checked ScrapeTarget.
type scrapeTarget struct {
	url      string
	job      string
	instance string
	labels   labels.Labels // job, instance and the extra labels
}

func (c *ScrapeConfig) defaults(logger *slog.Logger) ([]scrapeTarget, error) {
	switch {
	case c.testInterval > 0:
		// Tests scrape far faster than targets answer on a busy
		// machine, so the timeout is not tied to the interval.
		c.Interval = c.testInterval
		if c.Timeout == 0 {
			c.Timeout = 5 * time.Second
		}
	case c.Interval == 0:
		c.Interval = DefaultScrapeInterval
	case c.Interval < MinScrapeInterval || c.Interval > MaxScrapeInterval:
		return nil, fmt.Errorf("scrape interval %s is outside %s to %s", c.Interval, MinScrapeInterval, MaxScrapeInterval)
	}
	if c.Timeout < 0 || (c.Timeout > c.Interval && c.testInterval == 0) {
		return nil, fmt.Errorf("scrape timeout %s must be positive and at most the interval %s", c.Timeout, c.Interval)
	}
	if c.Timeout == 0 {
		c.Timeout = c.Interval
	}
	if c.Logger == nil {
		c.Logger = logger
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if len(c.Targets) == 0 {
		return nil, errors.New("no scrape targets")
	}
	targets := make([]scrapeTarget, 0, len(c.Targets))
	seen := make(map[string]int)
	for i, t := range c.Targets {
		st, err := checkTarget(t)
		if err != nil {
			return nil, fmt.Errorf("scrape target %d (%s): %w", i+1, t.URL, err)
		}
		key := st.labels.String()
		if j, dup := seen[key]; dup {
			return nil, fmt.Errorf("scrape targets %d and %d (%s) would write the same series %s; give one a different job",
				j+1, i+1, t.URL, key)
		}
		seen[key] = i
		targets = append(targets, st)
	}
	return targets, nil
}

func checkTarget(t ScrapeTarget) (scrapeTarget, error) {
	u, err := scrapeURL(t.URL)
	if err != nil {
		return scrapeTarget{}, err
	}
	job := t.Job
	if job == "" {
		job = DefaultScrapeJob
	}
	b := labels.NewScratchBuilder(len(t.Labels) + 2)
	instance := u.Host
	for name, v := range t.Labels {
		switch {
		case name == pmodel.JobLabel:
			return scrapeTarget{}, errors.New(`label "job" is set by the target's job, not its labels`)
		case name == pmodel.InstanceLabel:
			instance = v
			continue
		case strings.HasPrefix(name, "__") || !pmodel.LegacyValidation.IsValidLabelName(name):
			return scrapeTarget{}, fmt.Errorf("label name %q is not valid", name)
		case v == "":
			continue
		}
		b.Add(name, v)
	}
	b.Add(pmodel.JobLabel, job)
	b.Add(pmodel.InstanceLabel, instance)
	b.Sort()
	return scrapeTarget{url: u.String(), job: job, instance: instance, labels: b.Labels()}, nil
}

// ScrapeStatus reports the scrapes of one target.
type ScrapeStatus struct {
	URL      string `json:"url"`
	Job      string `json:"job"`
	Instance string `json:"instance"`
	// Up is whether the last scrape succeeded.
	Up bool `json:"up"`
	// Scrapes counts attempts, Failures the failed ones.
	Scrapes  int `json:"scrapes"`
	Failures int `json:"failures"`
	// LastError is the reason of the most recent failure, kept after the
	// target recovers.
	LastError string `json:"last_error,omitempty"`
	// Samples counts the target's samples stored.
	Samples int64 `json:"samples"`
}

// Scraper scrapes /metrics endpoints into the store, as Prometheus does:
// one loop per target on aligned ticks, job and instance labels, the up,
// scrape_duration_seconds, scrape_samples_scraped and scrape_series_added
// series, and staleness markers for series that disappear or whose target
// fails, so that a dead target's series end instead of being held for the
// lookback delta.
type Scraper struct {
	store *Store
	loops []*scrapeLoop
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// StartScraper starts scraping cfg.Targets into the store until Stop is
// called, ctx is cancelled or the store is closed.
func (s *Store) StartScraper(ctx context.Context, cfg ScrapeConfig) (*Scraper, error) {
	targets, err := cfg.defaults(s.logger)
	if err != nil {
		return nil, fmt.Errorf("could not start scraper: %w", err)
	}
	sc := &Scraper{store: s, stop: make(chan struct{})}
	for _, t := range targets {
		sc.loops = append(sc.loops, newScrapeLoop(s, cfg, t))
	}

	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, fmt.Errorf("could not start scraper: %w", ErrStoreClosed)
	case s.cfg.ReadOnly:
		s.mu.Unlock()
		return nil, fmt.Errorf("could not start scraper: %w", ErrReadOnly)
	}
	s.scrapers[sc] = struct{}{}
	s.mu.Unlock()

	for _, l := range sc.loops {
		sc.wg.Add(1)
		go func() {
			defer sc.wg.Done()
			l.run(ctx, sc.stop)
		}()
	}
	return sc, nil
}

// Stop stops the scraper, waits for scrapes in flight and returns the status
// of every target, in the order of ScrapeConfig.Targets. It may be called
// more than once.
func (sc *Scraper) Stop() []ScrapeStatus {
	sc.once.Do(func() {
		close(sc.stop)
		sc.wg.Wait()
		sc.store.mu.Lock()
		delete(sc.store.scrapers, sc)
		sc.store.mu.Unlock()
	})
	return sc.Status()
}

// Status returns the status of every target so far.
func (sc *Scraper) Status() []ScrapeStatus {
	out := make([]ScrapeStatus, len(sc.loops))
	for i, l := range sc.loops {
		l.mu.Lock()
		out[i] = l.status
		l.mu.Unlock()
	}
	return out
}

// scrapeLoop scrapes one target. Only its run goroutine touches the fields
// above mu.
type scrapeLoop struct {
	store    *Store
	target   scrapeTarget
	client   *http.Client
	interval time.Duration
	timeout  time.Duration
	logger   *slog.Logger
	symbols  *labels.SymbolTable
	builder  *labels.Builder
	// cache holds the series of the last successful scrape, keyed by the
	// parser's series bytes.
	cache    map[string]*seriesEntry
	iter     uint64
	lastSize int
	// report holds the label sets of up and the scrape_* series.
	report [5]reportSeries

	mu     sync.Mutex
	status ScrapeStatus
}

type seriesEntry struct {
	ref  storage.SeriesRef
	lset labels.Labels
	// created and seen are the scrape iterations that first and last
	// returned the series.
	created, seen uint64
	// tracked is false for samples with explicit timestamps, which, as in
	// Prometheus, get no staleness markers.
	tracked bool
}

type reportSeries struct {
	lset labels.Labels
	ref  storage.SeriesRef
}

const (
	reportUp = iota
	reportDuration
	reportScraped
	reportPostRelabeling
	reportSeriesAdded
)

var reportNames = [5]string{
	"up",
	"scrape_duration_seconds",
	"scrape_samples_scraped",
	"scrape_samples_post_metric_relabeling",
	"scrape_series_added",
}

func newScrapeLoop(s *Store, cfg ScrapeConfig, t scrapeTarget) *scrapeLoop {
	l := &scrapeLoop{
		store:    s,
		target:   t,
		client:   cfg.HTTPClient,
		interval: cfg.Interval,
		timeout:  cfg.Timeout,
		logger:   cfg.Logger.With("component", "scrape", "job", t.job, "instance", t.instance),
		symbols:  labels.NewSymbolTable(),
		builder:  labels.NewBuilder(labels.EmptyLabels()),
		cache:    make(map[string]*seriesEntry),
		status:   ScrapeStatus{URL: t.url, Job: t.job, Instance: t.instance},
	}
	for i, name := range reportNames {
		b := labels.NewBuilder(t.labels)
		b.Set(labels.MetricName, name)
		l.report[i].lset = b.Labels()
	}
	return l
}

// run scrapes on every multiple of the interval until stop or ctx is done.
// A scrape in flight when Stop is called completes.
func (l *scrapeLoop) run(ctx context.Context, stop <-chan struct{}) {
	next := time.Now().Truncate(l.interval).Add(l.interval)
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-timer.C:
		}
		l.scrapeOnce(ctx, next)
		next = next.Add(l.interval)
		if now := time.Now(); !next.After(now) {
			// The scrape overran ticks; skip to the next one.
			next = now.Truncate(l.interval).Add(l.interval)
		}
		timer.Reset(time.Until(next))
	}
}

// scrapeOnce fetches the target and stores its samples at ts in one
// transaction, with the report series. A failed fetch or an exposition that
// does not parse stores nothing of the target's own series, only up 0 and
// staleness markers for the series of the previous scrape.
func (l *scrapeLoop) scrapeOnce(ctx context.Context, ts time.Time) {
	start := time.Now()
	body, contentType, scrapeErr := l.fetch(ctx)
	if ctx.Err() != nil {
		// The scraper's context ended during the scrape: that says
		// nothing about the target, so nothing is stored.
		return
	}

	release, err := l.store.acquire(true)
	if err != nil {
		// The store closed; it stops this loop next.
		return
	}
	defer release()

	t := timestamp.FromTime(ts)
	l.iter++
	a := &sampleAppender{app: l.store.db.AppenderV2(ctx)}
	var scraped, seriesAdded int
	if scrapeErr == nil {
		scraped, seriesAdded, scrapeErr = l.appendBody(a, body, contentType, t)
		if scrapeErr != nil {
			_ = a.app.Rollback()
			a = &sampleAppender{app: l.store.db.AppenderV2(ctx)}
		}
	}
	samples := a.appended
	rejected := a.rejected
	if scrapeErr != nil {
		l.markAllStale(a, t)
	} else {
		l.markGoneStale(a, t)
	}
	l.appendReport(a, t, time.Since(start), scraped, samples+rejected, seriesAdded, scrapeErr)

	if err := a.app.Commit(); err != nil {
		l.store.rejected.Add(int64(a.appended + a.rejected))
		l.cache = make(map[string]*seriesEntry)
		l.record(0, fmt.Errorf("could not commit scrape: %w", err))
		return
	}
	l.store.appended.Add(int64(a.appended))
	l.store.rejected.Add(int64(a.rejected))
	if rejected > 0 {
		l.logger.Debug("Scraped samples rejected", "rejected", rejected, "first", a.firstErr)
	}
	l.record(int64(samples), scrapeErr)
}

// record updates the status after a scrape and logs changes of up.
func (l *scrapeLoop) record(samples int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	wasUp, first := l.status.Up, l.status.Scrapes == 0
	l.status.Scrapes++
	l.status.Samples += samples
	l.status.Up = err == nil
	if err != nil {
		l.status.Failures++
		l.status.LastError = err.Error()
		if wasUp || first {
			l.logger.Warn("Scrape failed", "err", err)
		} else {
			l.logger.Debug("Scrape failed", "err", err)
		}
	} else if !wasUp && !first {
		l.logger.Info("Scrape target recovered")
	}
}

// fetch gets the exposition and its content type.
func (l *scrapeLoop) fetch(ctx context.Context) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.target.url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", scrapeAccept)
	req.Header.Set("User-Agent", "headroom")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", numfmt.Plain(l.timeout.Seconds()))
	resp, err := l.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, "", fmt.Errorf("scrape timed out after %s: %w", l.timeout, err)
		}
		return nil, "", err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: server returned HTTP status %s", l.target.url, resp.Status)
	}
	var buf bytes.Buffer
	buf.Grow(l.lastSize + bytes.MinRead)
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, maxScrapeBody+1))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, "", fmt.Errorf("scrape timed out after %s reading the body: %w", l.timeout, err)
		}
		return nil, "", fmt.Errorf("GET %s: could not read the body: %w", l.target.url, err)
	}
	if n > maxScrapeBody {
		return nil, "", fmt.Errorf("GET %s: body is larger than %d MiB", l.target.url, maxScrapeBody>>20)
	}
	if n > 0 {
		l.lastSize = int(n)
	}
	return buf.Bytes(), resp.Header.Get("Content-Type"), nil
}

// appendBody parses an exposition and appends its samples at t unless they
// carry a timestamp. It returns the number of samples parsed and of series
// new since the last scrape; an error means the exposition is malformed and
// the transaction must be rolled back.
func (l *scrapeLoop) appendBody(a *sampleAppender, body []byte, contentType string, t int64) (scraped, seriesAdded int, err error) {
	format := contentType
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		format = mt
	}
	p, err := textparse.New(body, contentType, l.symbols, textparse.ParserOptions{
		KeepClassicOnClassicAndNativeHistograms: true,
		OpenMetricsSkipSTSeries:                 true,
		FallbackContentType:                     "text/plain",
	})
	if p == nil {
		return 0, 0, fmt.Errorf("could not parse the exposition: %s", withoutQuotes(err))
	}
	if err != nil {
		// A blank or unknown content type: the text format is assumed.
		l.logger.Debug("Unexpected content type, parsing as Prometheus text", "content_type", contentType, "err", err)
		format = "text/plain"
	}

	var lset labels.Labels
	for {
		et, err := p.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return scraped, seriesAdded, fmt.Errorf("could not parse the %s exposition after %d samples: %s", format, scraped, withoutQuotes(err))
		}
		switch et {
		case textparse.EntryType:
			name, typ := p.Type()
			l.store.meta.setType(string(name), typ)
			continue
		case textparse.EntryHelp:
			name, help := p.Help()
			l.store.meta.setHelp(string(name), string(help))
			continue
		case textparse.EntryUnit:
			name, unit := p.Unit()
			l.store.meta.setUnit(string(name), string(unit))
			continue
		case textparse.EntryComment:
			continue
		}
		scraped++
		var (
			met []byte
			pts *int64
			v   float64
			h   *histogram.Histogram
			fh  *histogram.FloatHistogram
		)
		if et == textparse.EntryHistogram {
			met, pts, h, fh = p.Histogram()
		} else {
			met, pts, v = p.Series()
		}
		st := t
		if pts != nil {
			st = *pts
		}
		e, ok := l.cache[string(met)]
		switch {
		case !ok:
			p.Labels(&lset)
			final := l.withTargetLabels(lset)
			if !final.Has(labels.MetricName) {
				return scraped, seriesAdded, fmt.Errorf("could not parse the %s exposition: series %s has no metric name", format, final.String())
			}
			if !final.IsValid(pmodel.UTF8Validation) {
				return scraped, seriesAdded, fmt.Errorf("could not parse the %s exposition: invalid metric or label name in %s", format, final.String())
			}
			e = &seriesEntry{lset: final, created: l.iter}
			l.cache[string(met)] = e
			seriesAdded++
		case e.seen == l.iter:
			a.reject(fmt.Errorf("series %s exposed twice: %w", e.lset.String(), storage.ErrDuplicateSampleForTimestamp))
			continue
		}
		e.seen = l.iter
		e.tracked = pts == nil
		if ref, ok := a.add(e.ref, e.lset, st, v, h, fh); ok {
			e.ref = ref
		}
	}
	return scraped, seriesAdded, nil
}

// withTargetLabels adds the target's labels to an exposed label set. An
// exposed label that a target label would overwrite is kept as
// exported_<name>, as Prometheus does without honor_labels.
func (l *scrapeLoop) withTargetLabels(lset labels.Labels) labels.Labels {
	l.builder.Reset(lset)
	l.target.labels.Range(func(tl labels.Label) {
		if v := lset.Get(tl.Name); v != "" {
			name := "exported_" + tl.Name
			for lset.Has(name) {
				name = "exported_" + name
			}
			l.builder.Set(name, v)
		}
		l.builder.Set(tl.Name, tl.Value)
	})
	return l.builder.Labels()
}

// markGoneStale ends the series of the previous scrape that this scrape did
// not return and forgets them.
func (l *scrapeLoop) markGoneStale(a *sampleAppender, t int64) {
	for k, e := range l.cache {
		if e.seen == l.iter {
			continue
		}
		if e.tracked {
			l.appendStale(a, e, t)
		}
		delete(l.cache, k)
	}
}

// markAllStale ends every series of the previous scrape after a failed one.
func (l *scrapeLoop) markAllStale(a *sampleAppender, t int64) {
	for _, e := range l.cache {
		if e.created < l.iter && e.tracked {
			l.appendStale(a, e, t)
		}
	}
	clear(l.cache)
}

func (l *scrapeLoop) appendStale(a *sampleAppender, e *seriesEntry, t int64) {
	_, err := a.app.Append(e.ref, e.lset, 0, t, math.Float64frombits(value.StaleNaN), nil, nil,
		storage.AppendV2Options{RejectOutOfOrder: true})
	switch {
	case err == nil:
		a.appended++
	case errors.Is(err, storage.ErrOutOfOrderSample), errors.Is(err, storage.ErrDuplicateSampleForTimestamp),
		errors.Is(err, storage.ErrTooOldSample), errors.Is(err, storage.ErrOutOfBounds):
		// The series already has a later sample, e.g. from an explicit
		// timestamp; there is nothing to end.
	default:
		a.reject(fmt.Errorf("staleness marker of %s: %w", e.lset.String(), err))
	}
}

// appendReport appends up and the scrape_* series of one scrape.
func (l *scrapeLoop) appendReport(a *sampleAppender, t int64, d time.Duration, scraped, added, seriesAdded int, scrapeErr error) {
	up := 1.0
	if scrapeErr != nil {
		up = 0
	}
	values := [5]float64{
		reportUp:             up,
		reportDuration:       d.Seconds(),
		reportScraped:        float64(scraped),
		reportPostRelabeling: float64(added),
		reportSeriesAdded:    float64(seriesAdded),
	}
	for i := range l.report {
		r := &l.report[i]
		if ref, ok := a.add(r.ref, r.lset, t, values[i], nil, nil); ok {
			r.ref = ref
		}
	}
}

// quoted matches a Go-quoted string in an error message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// withoutQuotes is a parser's error message with the quoted parts, which
// are pieces of the body, replaced by "…": the status of a scrape is
// stored and shown to anyone who may read the run, and a body is whatever
// the target, or a host it redirected to, chose to answer.
func withoutQuotes(err error) string {
	return quoted.ReplaceAllString(err.Error(), `"…"`)
}
