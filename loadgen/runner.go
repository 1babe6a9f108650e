package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-sh/headroom/model"
)

// Sentinel errors.
var (
	// ErrNoScenario is returned by NewRunner without a scenario.
	ErrNoScenario = errors.New("no scenario")
	// ErrAlreadyRun is returned by a second call to Run.
	ErrAlreadyRun = errors.New("the runner has already run")
)

// Config configures a Runner.
type Config struct {
	// Scenario is what to run. NewRunner works on a copy with defaults
	// applied; the caller's value is not changed.
	Scenario *model.Scenario
	// Target overrides Scenario.Target when set.
	Target string
	// RunID labels every series (the run_id label); default: the start
	// time and a random suffix, such as 20260102T150405Z-3f9a1c.
	RunID string
	// Shard is this runner's part of a sharded run; default 0/1.
	Shard Shard
	// Aggregate, in a sharded run (Shard.Count > 1), evaluates the
	// thresholds over every shard together from the metrics backend the
	// sinks write to: its values decide abortOnFail and the final verdict.
	// Nil means each shard judges its own requests.
	Aggregate AggregateThresholds
	// AggregateInterval is how often abortOnFail thresholds are evaluated
	// through Aggregate; default 5s.
	AggregateInterval time.Duration
	// Sinks receive a snapshot of the metrics every FlushInterval and once
	// at the end of the run.
	Sinks []Sink
	// FlushInterval is how often sinks get a snapshot; default 5s.
	FlushInterval time.Duration
	// SeriesInterval is the resolution of run.json's series; default 5s.
	SeriesInterval time.Duration
	// HTTPClient sends the requests; default: a client whose transport keeps
	// one idle connection per VU, does not follow proxies from the
	// environment and does not ask for compression.
	HTTPClient *http.Client
	// Progress receives a progress line; nil means none.
	Progress io.Writer
	// ProgressTTY rewrites one line in place instead of printing a line
	// every ProgressInterval.
	ProgressTTY bool
	// ProgressInterval is how often a plain progress line is printed;
	// default 5s (a TTY line is redrawn every 250 ms).
	ProgressInterval time.Duration
	// GracePeriod is how long in-flight requests may finish after an
	// interrupt or an abort before they are cancelled; default 10s.
	GracePeriod time.Duration
	// Secrets resolves env() and file() in templates; the zero value
	// refuses them (OSSecrets reads the process's environment and files).
	Secrets Secrets
	// Logger receives warnings about sinks and the like; nil discards.
	Logger *slog.Logger
	// MaxDroppedShare is the largest share of scheduled open-model
	// iterations the run may drop (because every VU up to maxVUs was busy)
	// and still pass: above it the run fails like a threshold, since its
	// latency figures describe less load than was asked for. 0 means
	// DefaultMaxDroppedShare, NoDroppedIterations that none may be
	// dropped; 1 or more turns the limit off. A scenario with its own
	// dropped_iterations threshold replaces the limit.
	MaxDroppedShare float64
	// MaxResponseBody is the largest response body read, in bytes; a
	// larger one fails its request. 0 means DefaultMaxResponseBody.
	MaxResponseBody int64
	// Clock stamps the run's documents (start, end, stage boundaries,
	// series); nil means time.Now. Scheduling always uses the monotonic
	// clock.
	Clock func() time.Time
}

func (c *Config) defaults() error {
	if c.Scenario == nil {
		return ErrNoScenario
	}
	if c.RunID == "" {
		c.RunID = NewRunID(time.Now())
	}
	if err := c.Shard.validate(); err != nil {
		return err
	}
	if c.Shard.Count <= 0 {
		c.Shard.Count = 1
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 5 * time.Second
	}
	if c.AggregateInterval <= 0 {
		c.AggregateInterval = 5 * time.Second
	}
	if c.SeriesInterval <= 0 {
		c.SeriesInterval = 5 * time.Second
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = 5 * time.Second
	}
	if c.GracePeriod <= 0 {
		c.GracePeriod = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if (c.MaxDroppedShare < 0 && c.MaxDroppedShare != NoDroppedIterations) || math.IsNaN(c.MaxDroppedShare) {
		return fmt.Errorf("the largest dropped share %v must be from 0 to 1", c.MaxDroppedShare)
	}
	if c.MaxDroppedShare == 0 {
		c.MaxDroppedShare = DefaultMaxDroppedShare
	}
	if c.MaxResponseBody < 0 {
		return fmt.Errorf("the largest response body %d must not be negative", c.MaxResponseBody)
	}
	if c.MaxResponseBody == 0 {
		c.MaxResponseBody = DefaultMaxResponseBody
	}
	return nil
}

// DefaultMaxDroppedShare is the share of scheduled iterations an open-model
// run may drop before it fails (1%).
const DefaultMaxDroppedShare = 0.01

// NoDroppedIterations as Config.MaxDroppedShare fails a run that drops any
// iteration.
const NoDroppedIterations = -1.0

// NewRunID makes a run id from a time and a random suffix.
func NewRunID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Runner executes one scenario once.
type Runner struct {
	cfg    Config
	sc     *model.Scenario
	log    *slog.Logger
	client *http.Client
	// h1 sends plain-HTTP requests on per-VU connections; nil when the
	// target is HTTPS or a client was configured.
	h1       *h1client
	base     string
	timeout  time.Duration
	maxBody  int64
	metrics  *metrics
	stats    *stats
	seqs     *tmplContext
	baseVars map[string]any
	varTmpls []namedTmpl
	auth     *authRT
	flows    []*flowRT
	execs    []*execRT
	stages   []*stageRT
	nStages  int
	// checksByName maps check names to their first definition.
	checksByName map[string]*checkRT
	thresholds   []*thresholdRT
	// totalDur is the planned length of the run.
	totalDur time.Duration

	started atomic.Bool
	// ready is set once Run has set the start times and windows, for the
	// goroutines that read them (Live, the rate gauge).
	ready     atomic.Bool
	startMono time.Time
	startWall time.Time
	// endWall is the run's end as run.json states it; lastFlush the time
	// stamped on the last snapshot the sinks got (flushes are sequential:
	// the loop's and then the final one).
	endWall, lastFlush time.Time
	win                *windows

	// stopping is closed on an interrupt or an abort: no new iterations,
	// no new steps.
	stopping chan struct{}
	stopOnce sync.Once
	// stopAt is the offset of the interrupt, in nanoseconds.
	stopAt atomic.Int64
	// hardCtx is cancelled when in-flight requests must end.
	hardCtx    context.Context
	hardCancel context.CancelFunc
	abortCh    chan *thresholdRT
	// aggWarn says once why a threshold is not judged over every shard.
	aggWarn warnOnce
	done    atomic.Bool

	vuSeq     atomic.Int64
	totalVUs  atomic.Int64
	maxVUs    atomic.Int64
	nReq      atomic.Int64
	nErr      atomic.Int64
	nIter     atomic.Int64
	nDropped  atomic.Int64
	errMu     sync.Mutex
	errCounts map[string]int64

	// allVUs lists every VU made, for the live count of requests in
	// flight.
	vusMu  sync.Mutex
	allVUs []*vu

	seriesMu sync.Mutex
	series   []model.SeriesPoint

	// urlUser holds the credentials taken out of the target URL;
	// fixedAuth is the header of Basic or Bearer auth, if any.
	urlUser   *url.Userinfo
	fixedAuth *headerRT
}

// NewRunner checks the configuration and compiles the scenario: templates,
// JSON paths, thresholds and executors are parsed once here.
func NewRunner(cfg Config) (*Runner, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	sc := cfg.Scenario.Clone()
	if cfg.Target != "" {
		sc.Target = cfg.Target
	}
	urlUser, err := takeURLCredentials(sc)
	if err != nil {
		return nil, err
	}
	sc.SetDefaults()
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("invalid scenario %q:\n%w", sc.Name, err)
	}
	if err := sc.CheckRunnable(); err != nil {
		return nil, fmt.Errorf("scenario %q cannot run:\n%w", sc.Name, err)
	}
	r := &Runner{
		cfg:       cfg,
		sc:        sc,
		log:       cfg.Logger,
		base:      strings.TrimRight(sc.Target, "/"),
		timeout:   sc.Timeout.D(),
		maxBody:   cfg.MaxResponseBody,
		stats:     newStats(),
		stopping:  make(chan struct{}),
		abortCh:   make(chan *thresholdRT, 1),
		errCounts: map[string]int64{},
		urlUser:   urlUser,
	}
	if r.timeout <= 0 {
		r.timeout = model.DefaultTimeout
	}
	var rate func() float64
	for _, e := range sc.Executors {
		if e.IsOpenModel() {
			rate = r.currentRate
		}
	}
	m, err := newMetrics(cfg.RunID, sc.Name, cfg.Shard.String(), func() float64 { return float64(r.totalVUs.Load()) }, rate)
	if err != nil {
		return nil, fmt.Errorf("could not register metrics: %w", err)
	}
	r.metrics = m
	if err := r.compile(sc); err != nil {
		return nil, err
	}
	if err := r.compileThresholds(sc); err != nil {
		return nil, err
	}
	maxVUs := 0
	for _, e := range r.execs {
		if end := e.end(); end > r.totalDur {
			r.totalDur = end
		}
		maxVUs += e.maxWholeVUs
	}
	r.client = cfg.HTTPClient
	if r.client == nil {
		r.client = &http.Client{Transport: NewTransport(cfg.Shard.Share(maxVUs))}
		if u, err := url.Parse(r.base); err == nil && u.Scheme == "http" {
			r.h1 = newH1Client(u, r.timeout, r.maxBody)
		}
	}
	return r, nil
}

// NewTransport returns the transport the runner uses by default: keep-alive
// with one idle connection per VU (at least 64), no proxy from the
// environment, no transparent compression (a load test measures what the
// server sends), HTTP/2 when a TLS server offers it.
func NewTransport(vus int) *http.Transport {
	if vus < 64 {
		vus = 64
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   vus,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
}

// Gatherer returns the runner's registry, to serve on /metrics.
func (r *Runner) Gatherer() prometheus.Gatherer { return r.metrics.reg }

// RunID returns the run's id.
func (r *Runner) RunID() string { return r.cfg.RunID }

// Scenario returns the scenario as it runs, with defaults applied.
func (r *Runner) Scenario() *model.Scenario { return r.sc }

// elapsed is the time since the run started.
func (r *Runner) elapsed() time.Duration { return time.Since(r.startMono) }

// now is time.Now() for measuring durations: it reads only the monotonic
// clock, where time.Now() reads the wall clock as well (two clock reads on
// Linux). Its wall reading is the run's start plus the elapsed time, so it
// is for Sub, Add and comparisons with other monotonic times, not for
// display.
func (r *Runner) now() time.Time { return r.startMono.Add(time.Since(r.startMono)) }

// stop interrupts the run: no new iterations or steps start.
func (r *Runner) stop() {
	r.stopOnce.Do(func() {
		r.stopAt.Store(int64(r.elapsed()))
		close(r.stopping)
		for _, e := range r.execs {
			e.stopNow()
		}
	})
}

func (r *Runner) isStopping() bool {
	select {
	case <-r.stopping:
		return true
	default:
		return false
	}
}

// sleepUntil waits until the run offset at, or until the run is stopped
// (false).
func (r *Runner) sleepUntil(t *time.Timer, at time.Duration) bool {
	d := at - r.elapsed()
	if d <= 0 {
		return !r.isStopping()
	}
	t.Reset(d)
	select {
	case <-t.C:
		return !r.isStopping()
	case <-r.stopping:
		t.Stop()
		return false
	}
}

func (r *Runner) addVUs(e *execRT, n int64) {
	e.vus.Add(n)
	t := r.totalVUs.Add(n)
	if n > 0 {
		for {
			cur := r.maxVUs.Load()
			if t <= cur || r.maxVUs.CompareAndSwap(cur, t) {
				break
			}
		}
		e.stage().noteVUs(e.vus.Load())
	}
}

// currentRate is the sum of the open-model executors' target rates now, in
// iterations per second for this shard.
func (r *Runner) currentRate() float64 {
	if !r.ready.Load() || r.done.Load() {
		return 0
	}
	el := r.elapsed()
	sum := 0.0
	for _, e := range r.execs {
		if !e.open || !e.begun.Load() {
			continue
		}
		off := el - e.startTime
		for _, s := range e.segs {
			if off >= s.start && off < s.start+s.dur {
				f := (off - s.start).Seconds() / s.dur.Seconds()
				sum += r.cfg.Shard.Rate(s.from + (s.to-s.from)*f)
				break
			}
		}
	}
	return sum
}

// Run executes the scenario and returns what happened. Cancelling ctx is an
// interrupt: no new iterations start, in-flight requests may finish within
// GracePeriod and are then cancelled, and the returned run is complete with
// Status "interrupted". A failing threshold with abortOnFail stops the run
// the same way with Status "aborted". The error is non-nil only when the run
// could not happen at all.
func (r *Runner) Run(ctx context.Context) (*model.Run, error) {
	if !r.started.CompareAndSwap(false, true) {
		return nil, ErrAlreadyRun
	}
	r.startMono = time.Now()
	r.startWall = r.cfg.Clock()
	r.win = newWindows(r.startMono)
	r.hardCtx, r.hardCancel = context.WithCancel(context.WithoutCancel(ctx))
	defer r.hardCancel()
	r.ready.Store(true)

	bgCtx, bgCancel := context.WithCancel(context.WithoutCancel(ctx))
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); r.tickLoop(bgCtx) }()
	if len(r.cfg.Sinks) > 0 {
		bg.Add(1)
		go func() { defer bg.Done(); r.flushLoop(bgCtx) }()
	}
	if r.cfg.Progress != nil {
		bg.Add(1)
		go func() { defer bg.Done(); r.progressLoop(bgCtx) }()
	}
	if r.h1 != nil {
		bg.Add(1)
		go func() { defer bg.Done(); r.watchdog(bgCtx) }()
	}
	if r.hasAbortThresholds() {
		bg.Add(1)
		go func() { defer bg.Done(); r.abortLoop(bgCtx) }()
	}

	var wg sync.WaitGroup
	for _, e := range r.execs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e.open {
				r.runOpen(e)
			} else {
				r.runClosed(e)
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	status := model.RunCompleted
	var aborted *thresholdRT
	select {
	case <-allDone:
	case <-ctx.Done():
		status = model.RunInterrupted
	case aborted = <-r.abortCh:
		status = model.RunAborted
	}
	if status != model.RunCompleted {
		r.stop()
		grace := time.NewTimer(r.cfg.GracePeriod)
		select {
		case <-allDone:
		case <-grace.C:
			r.hardCancel()
			<-allDone
		}
		grace.Stop()
	}
	r.hardCancel()
	if r.cfg.HTTPClient == nil {
		r.client.CloseIdleConnections()
	}
	endMono := time.Now()
	r.done.Store(true)
	bgCancel()
	bg.Wait()
	r.win.rotate(endMono)
	r.closeSeries(endMono)
	for _, s := range r.stages {
		s.active.Set(0)
	}
	r.endWall = r.startWall.Add(endMono.Sub(r.startMono))
	r.flush(context.WithoutCancel(ctx), true)
	if r.cfg.Progress != nil && r.cfg.ProgressTTY {
		fmt.Fprint(r.cfg.Progress, "\r\033[K")
	}
	run := r.report(status, endMono, aborted)
	return run, nil
}

// tickLoop closes a one-second window every second and a series point
// every SeriesInterval.
func (r *Runner) tickLoop(ctx context.Context) {
	tick := time.Second
	if r.cfg.SeriesInterval < tick {
		tick = r.cfg.SeriesInterval
	}
	per := int(math.Max(1, math.Round(float64(r.cfg.SeriesInterval)/float64(tick))))
	t := time.NewTicker(tick)
	defer t.Stop()
	n := 0
	var rr rampRelease
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.win.rotate(now)
			if rr.due(r.vuSeq.Load(), now) {
				go debug.FreeOSMemory()
			}
			n++
			if n%per == 0 {
				r.closeSeries(now)
			}
		}
	}
}

// rampRelease decides when to hand the memory a ramp of VUs left behind back
// to the operating system. When many VUs start at once, each one's first
// request holds buffers and leaves garbage; the heap then peaks, and Go keeps
// the freed pages (it scavenges only what lies above the next collection's
// goal), so the process stays as large as that peak while the VUs idle.
const rampReleaseVUs = 1000

type rampRelease struct {
	// seen is the number of VUs made at the last look, since when it has
	// not changed; released, the number at the last release.
	seen, released int64
	since          time.Time
}

// due is called every tick with the number of VUs made so far: it says to
// release once at least rampReleaseVUs more VUs have been made since the
// last release and no new one for two seconds.
func (rr *rampRelease) due(made int64, now time.Time) bool {
	if made != rr.seen {
		rr.seen, rr.since = made, now
		return false
	}
	if made-rr.released < rampReleaseVUs || now.Sub(rr.since) < 2*time.Second {
		return false
	}
	rr.released = made
	return true
}

// closeSeries turns the accumulated windows into a series point.
func (r *Runner) closeSeries(now time.Time) {
	w := r.win.takeSeries()
	if w.dur <= 0 {
		return
	}
	p := model.SeriesPoint{
		Time:      r.startWall.Add(now.Sub(r.startMono)),
		Stage:     r.currentStageName(),
		VUs:       int(r.totalVUs.Load()),
		RPS:       w.rps(),
		P50Ms:     w.quantileMs(0.50),
		P95Ms:     w.quantileMs(0.95),
		P99Ms:     w.quantileMs(0.99),
		MeanMs:    w.meanMs(),
		ErrorRate: w.errorRate(),
		Requests:  w.n,
		Errors:    w.errs,
		Dropped:   w.dropped,
	}
	r.seriesMu.Lock()
	r.series = append(r.series, p)
	r.seriesMu.Unlock()
}

// currentStageName is the most recently started stage still running, or
// the last one started.
func (r *Runner) currentStageName() string {
	var best *stageRT
	for _, s := range r.stages {
		if !s.started.Load() {
			continue
		}
		if best == nil || s.offset >= best.offset {
			best = s
		}
	}
	if best == nil {
		return ""
	}
	return best.name
}

// flushLoop hands snapshots to the sinks.
func (r *Runner) flushLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.flush(ctx, false)
		}
	}
}

// flush gathers the registry and writes it to every sink. The final flush
// gets its own time budget so that an interrupted run still delivers.
func (r *Runner) flush(ctx context.Context, final bool) {
	if len(r.cfg.Sinks) == 0 {
		return
	}
	fams, err := r.metrics.reg.Gather()
	if err != nil {
		r.log.Warn("could not gather metrics", "err", err)
		return
	}
	ts := r.cfg.Clock()
	if final {
		// The final snapshot is the state at the run's end: stamped with
		// run.json's end, so that a window [start, end] holds it (a run
		// shorter than the flush interval has no other sample), and after
		// the previous snapshot by at least the 1 ms Prometheus resolves.
		ts = r.endWall
		if floor := r.lastFlush.Add(time.Millisecond); ts.Before(floor) {
			ts = floor
		}
	}
	r.lastFlush = ts
	if final {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	for _, s := range r.cfg.Sinks {
		if err := s.Write(ctx, ts, fams); err != nil {
			r.log.Warn("could not write metrics to a sink", "final", final, "err", err)
		}
	}
}

// countError tallies a failure's message for the end-of-run summary.
func (r *Runner) countError(msg string) {
	r.errMu.Lock()
	if len(r.errCounts) < 100 || r.errCounts[msg] > 0 {
		r.errCounts[msg]++
	}
	r.errMu.Unlock()
}

// Errors returns how often each distinct failure message (transport errors,
// missing variables) occurred; at most 100 distinct messages are kept.
func (r *Runner) Errors() map[string]int64 {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	out := make(map[string]int64, len(r.errCounts))
	for k, v := range r.errCounts {
		out[k] = v
	}
	return out
}
