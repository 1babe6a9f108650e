package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"
	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"
)

// Errors of the embedded store.
var (
	// ErrStoreClosed is returned by every method of a closed Store.
	ErrStoreClosed = errors.New("store is closed")
	// ErrReadOnly is returned by Write and StartScraper on a store opened
	// with StoreConfig.ReadOnly.
	ErrReadOnly = errors.New("store is read-only")
	// ErrSamplesRejected is returned by Write when the TSDB refused some
	// samples (out of order, duplicate timestamp with another value,
	// invalid histogram); the others were stored.
	ErrSamplesRejected = errors.New("samples rejected")
)

// Defaults of StoreConfig.
const (
	DefaultRetention     = 30 * 24 * time.Hour
	DefaultLookbackDelta = 5 * time.Minute
)

const (
	// outOfOrderWindow is how far behind the newest sample of a series the
	// TSDB still accepts one. The runner and the scraper write in time
	// order; the window only absorbs a flush that races a scrape of the
	// same series, or metrics that carry their own slightly older
	// timestamps.
	outOfOrderWindow = time.Minute
	// queryMaxSamples caps the samples one query may hold in memory, as
	// Prometheus's --query.max-samples default does.
	queryMaxSamples = 50_000_000
	// queryTimeout bounds one query, as Prometheus's --query.timeout
	// default does.
	queryTimeout = 2 * time.Minute
	// maxPointsPerSeries is the resolution limit of the Prometheus HTTP
	// API's range queries. The store enforces it too, so an analysis that
	// works on the embedded store works against a real Prometheus.
	maxPointsPerSeries = 11_000
)

// StoreConfig configures the embedded store.
type StoreConfig struct {
	// Dir is where the TSDB lives. Required. A run keeps its store beside
	// run.json so that `headroom analyze` can re-read it.
	Dir string
	// Retention is how long persisted data is kept; 0 means 30 days.
	Retention time.Duration
	// ReadOnly opens an existing store for queries only: Write and
	// StartScraper fail with ErrReadOnly and nothing in Dir is changed.
	ReadOnly bool
	// Logger receives the TSDB's and the scraper's logs; nil discards them.
	Logger *slog.Logger
	// LookbackDelta is how far back an instant selector looks for the
	// latest sample; 0 means 5m, as in Prometheus. The runner flushes every
	// 5s and scrapes run every 1–5s, so anything above 15s works; a series
	// that ends (a scrape target died) is ended by a staleness marker, not
	// held for the lookback.
	LookbackDelta time.Duration
}

func (c *StoreConfig) defaults() error {
	if c.Dir == "" {
		return errors.New("store directory is required")
	}
	if c.Retention < 0 {
		return fmt.Errorf("store retention %s is negative", c.Retention)
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.LookbackDelta < 0 {
		return fmt.Errorf("store lookback delta %s is negative", c.LookbackDelta)
	}
	if c.LookbackDelta == 0 {
		c.LookbackDelta = DefaultLookbackDelta
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// StoreStats counts what the store was given since it was opened.
type StoreStats struct {
	// SamplesAppended is the number of samples stored by Write and the
	// scrapers, including the scrapers' own up/scrape_* series.
	SamplesAppended int64 `json:"samples_appended"`
	// SamplesRejected is the number of samples the TSDB refused.
	SamplesRejected int64 `json:"samples_rejected"`
}

// The store answers the analysis like a Prometheus server does.
var _ Source = (*Store)(nil)

// Store is the embedded metrics store: Prometheus's TSDB and PromQL engine
// in-process. It implements Source for the analysis, receives the runner's
// metrics through Write (it satisfies loadgen.Sink), and scrapes /metrics
// endpoints with StartScraper. All methods are safe for concurrent use.
type Store struct {
	cfg       StoreConfig
	db        *tsdb.DB
	sandbox   string // read-only mode: the private copy db runs on
	engine    *promql.Engine
	parser    parser.Parser
	logger    *slog.Logger
	appended  atomic.Int64
	rejected  atomic.Int64
	closeOnce sync.Once
	closeErr  error

	// mu is held for reading by every operation on db and for writing by
	// Close, which waits for operations in flight.
	mu       sync.RWMutex
	closed   bool
	scrapers map[*Scraper]struct{}

	// meta is the metadata (# TYPE, # HELP) of what was scraped or written.
	meta metadataSet
}

// OpenStore opens the store in cfg.Dir, creating it unless cfg.ReadOnly.
// An existing store is replayed, so a store closed by another process (or
// not closed at all, after a crash) is seen whole.
func OpenStore(cfg StoreConfig) (*Store, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("could not open store: %w", err)
	}
	s := &Store{
		cfg:      cfg,
		logger:   cfg.Logger,
		parser:   parser.NewParser(parser.Options{}),
		scrapers: make(map[*Scraper]struct{}),
	}
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = cfg.Retention.Milliseconds()
	opts.OutOfOrderTimeWindow = outOfOrderWindow.Milliseconds()
	opts.WALCompression = compression.Snappy
	tsdbLogger := cfg.Logger.With("component", "tsdb")

	dir := cfg.Dir
	if cfg.ReadOnly {
		sandbox, err := readOnlyCopy(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("could not open store %q read-only: %w", cfg.Dir, err)
		}
		s.sandbox, dir = sandbox, sandbox
		// The copy is private: nothing may be deleted from it by
		// retention, and nothing else locks it.
		opts.RetentionDuration = 0
		opts.NoLockfile = true
	}
	db, err := tsdb.Open(dir, tsdbLogger, nil, opts, nil)
	if err != nil {
		if s.sandbox != "" {
			_ = os.RemoveAll(s.sandbox)
		}
		return nil, fmt.Errorf("could not open store %q: %w", cfg.Dir, err)
	}
	if cfg.ReadOnly {
		db.DisableCompactions()
	}
	s.db = db
	// Without its metadata a store still answers every query: the
	// analysis only loses the metric types it uses to make suggestions.
	if err := s.meta.load(cfg.Dir); err != nil {
		cfg.Logger.Warn("Metric metadata not read", "err", err)
	}
	s.engine = promql.NewEngine(promql.EngineOpts{
		Logger:               cfg.Logger.With("component", "promql"),
		MaxSamples:           queryMaxSamples,
		Timeout:              queryTimeout,
		LookbackDelta:        cfg.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               s.parser,
	})
	return s, nil
}

// Dir returns the directory of the store.
func (s *Store) Dir() string { return s.cfg.Dir }

// Stats returns the sample counters of the store.
func (s *Store) Stats() StoreStats {
	return StoreStats{SamplesAppended: s.appended.Load(), SamplesRejected: s.rejected.Load()}
}

// acquire takes the store for one operation; release must be called after.
func (s *Store) acquire(write bool) (release func(), err error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, ErrStoreClosed
	}
	if write && s.cfg.ReadOnly {
		s.mu.RUnlock()
		return nil, ErrReadOnly
	}
	return s.mu.RUnlock, nil
}

// Write stores a snapshot of metric families taken at ts. It satisfies
// loadgen.Sink. Metrics that carry their own timestamp keep it. Samples the
// TSDB refuses are counted and reported in an error wrapping
// ErrSamplesRejected and the first reason; the rest of the snapshot is
// stored.
func (s *Store) Write(ctx context.Context, ts time.Time, families []*dto.MetricFamily) error {
	release, err := s.acquire(true)
	if err != nil {
		return fmt.Errorf("could not write samples: %w", err)
	}
	defer release()

	s.meta.addFamilies(families)
	c := familyConverter{defaultT: timestamp.FromTime(ts)}
	c.app = s.db.AppenderV2(ctx)
	for _, mf := range families {
		if mf == nil {
			continue
		}
		c.appendFamily(mf)
	}
	if err := c.app.Commit(); err != nil {
		s.rejected.Add(int64(c.appended + c.rejected))
		return fmt.Errorf("could not commit %d samples at %s: %w", c.appended, ts.Format(time.RFC3339Nano), err)
	}
	s.appended.Add(int64(c.appended))
	s.rejected.Add(int64(c.rejected))
	if c.rejected > 0 {
		s.logger.Debug("Samples rejected", "rejected", c.rejected, "appended", c.appended, "first", c.firstErr)
		return fmt.Errorf("could not store %d of %d samples at %s: %w: %w",
			c.rejected, c.rejected+c.appended, ts.Format(time.RFC3339Nano), ErrSamplesRejected, c.firstErr)
	}
	return nil
}

// Query evaluates an instant query at ts. The result is a pmodel.Vector or
// pmodel.Scalar (a pmodel.Matrix for a bare range selector). An empty
// vector is returned with an error wrapping ErrNoSamples.
func (s *Store) Query(ctx context.Context, q string, ts time.Time) (pmodel.Value, error) {
	release, err := s.acquire(false)
	if err != nil {
		return nil, fmt.Errorf("could not run query %q: %w", q, err)
	}
	defer release()

	qry, err := s.engine.NewInstantQuery(ctx, s.db, nil, q, ts)
	if err != nil {
		return nil, prepareError(q, err)
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("could not evaluate query %q at %s: %w", q, ts.Format(time.RFC3339Nano), evalError(res.Err))
	}
	s.logWarnings(q, res)
	v, err := toModelValue(res.Value)
	if err != nil {
		return nil, fmt.Errorf("could not evaluate query %q: %w", q, err)
	}
	if vec, ok := v.(pmodel.Vector); ok && len(vec) == 0 {
		return vec, fmt.Errorf("query %q at %s: %w", q, ts.Format(time.RFC3339Nano), ErrNoSamples)
	}
	return v, nil
}

// QueryRange evaluates a range query. An empty matrix is returned with an
// error wrapping ErrNoSamples. Like the Prometheus HTTP API, it refuses a
// range of more than 11,000 steps.
func (s *Store) QueryRange(ctx context.Context, q string, r Range) (pmodel.Matrix, error) {
	if r.Step <= 0 {
		return nil, fmt.Errorf("could not run query %q: %w: step %s must be positive", q, ErrBadQuery, r.Step)
	}
	if r.End.Before(r.Start) {
		return nil, fmt.Errorf("could not run query %q: %w: end %s is before start %s",
			q, ErrBadQuery, r.End.Format(time.RFC3339Nano), r.Start.Format(time.RFC3339Nano))
	}
	if n := r.End.Sub(r.Start) / r.Step; n > maxPointsPerSeries {
		return nil, fmt.Errorf("could not run query %q: %w: range %s at step %s is %d points per series, more than the %d a Prometheus server allows; use a larger step",
			q, ErrBadQuery, r.End.Sub(r.Start), r.Step, n, maxPointsPerSeries)
	}
	release, err := s.acquire(false)
	if err != nil {
		return nil, fmt.Errorf("could not run query %q: %w", q, err)
	}
	defer release()

	qry, err := s.engine.NewRangeQuery(ctx, s.db, nil, q, r.Start, r.End, r.Step)
	if err != nil {
		return nil, prepareError(q, err)
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("could not evaluate query %q over [%s, %s]: %w",
			q, r.Start.Format(time.RFC3339Nano), r.End.Format(time.RFC3339Nano), evalError(res.Err))
	}
	s.logWarnings(q, res)
	m, ok := res.Value.(promql.Matrix)
	if !ok {
		return nil, fmt.Errorf("could not evaluate query %q: range query returned %s, not a matrix", q, res.Value.Type())
	}
	out := toModelMatrix(m)
	if len(out) == 0 {
		return out, fmt.Errorf("query %q over [%s, %s]: %w",
			q, r.Start.Format(time.RFC3339Nano), r.End.Format(time.RFC3339Nano), ErrNoSamples)
	}
	return out, nil
}

// prepareError wraps an error from preparing a query; a parse error names
// the query and the position and, as the Prometheus HTTP API client does for
// a query the server rejects, wraps ErrBadQuery.
func prepareError(q string, err error) error {
	var perr parser.ParseErrors
	if errors.As(err, &perr) {
		return fmt.Errorf("could not parse query %q: %w: %w", q, ErrBadQuery, err)
	}
	return fmt.Errorf("could not prepare query %q: %w", q, evalError(err))
}

// evalError marks the evaluation errors a Prometheus server answers with
// 422 (execution error: many-to-many matching, too many samples, …) with
// ErrBadQuery, so both sources classify them alike; cancellation, timeouts
// and storage errors are not the query's fault and stay unmarked.
func evalError(err error) error {
	var (
		canceled promql.ErrQueryCanceled
		timeout  promql.ErrQueryTimeout
		stored   promql.ErrStorage
	)
	switch {
	case errors.As(err, &canceled), errors.As(err, &timeout), errors.As(err, &stored),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%w: %w", ErrBadQuery, err)
}

func (s *Store) logWarnings(q string, res *promql.Result) {
	if len(res.Warnings) == 0 {
		return
	}
	warnings, infos := res.Warnings.AsStrings(q, 10, 10)
	s.logger.Debug("Query returned annotations", "query", q, "warnings", warnings, "infos", infos)
}

// Series lists the label sets of the series matching any of the selectors
// that have samples in [start, end], sorted. No match is an empty list, not
// an error.
func (s *Store) Series(ctx context.Context, matchers []string, start, end time.Time) ([]pmodel.LabelSet, error) {
	if len(matchers) == 0 {
		return nil, errors.New("could not list series: at least one selector is required")
	}
	sets := make([][]*labels.Matcher, 0, len(matchers))
	for _, m := range matchers {
		ms, err := s.parser.ParseMetricSelector(m)
		if err != nil {
			return nil, fmt.Errorf("could not parse series selector %q: %w: %w", m, ErrBadQuery, err)
		}
		sets = append(sets, ms)
	}
	release, err := s.acquire(false)
	if err != nil {
		return nil, fmt.Errorf("could not list series: %w", err)
	}
	defer release()

	mint, maxt := timestamp.FromTime(start), timestamp.FromTime(end)
	q, err := s.db.Querier(mint, maxt)
	if err != nil {
		return nil, fmt.Errorf("could not list series: %w", err)
	}
	defer q.Close()

	seen := make(map[uint64]struct{})
	var found []labels.Labels
	hints := &storage.SelectHints{Start: mint, End: maxt, Func: "series"}
	for i, ms := range sets {
		ss := q.Select(ctx, false, hints, ms...)
		for ss.Next() {
			ls := ss.At().Labels()
			h := ls.Hash()
			if _, ok := seen[h]; ok {
				continue
			}
			seen[h] = struct{}{}
			found = append(found, ls)
		}
		if err := ss.Err(); err != nil {
			return nil, fmt.Errorf("could not list series of %q: %w", matchers[i], err)
		}
	}
	slices.SortFunc(found, labels.Compare)
	out := make([]pmodel.LabelSet, len(found))
	for i, ls := range found {
		out[i] = pmodel.LabelSet(toModelMetric(ls))
	}
	return out, nil
}

// Close stops the store's scrapers, waits for operations in flight, writes
// the in-memory head to a persistent block (so a re-open, read-only or not,
// reads blocks instead of replaying the WAL) and closes the TSDB. A
// read-only store removes its private copy. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	s.mu.Lock()
	s.closed = true
	scrapers := make([]*Scraper, 0, len(s.scrapers))
	for sc := range s.scrapers {
		scrapers = append(scrapers, sc)
	}
	s.mu.Unlock()
	for _, sc := range scrapers {
		sc.Stop()
	}
	// Wait for the operations that acquired the store before it closed.
	s.mu.Lock()
	defer s.mu.Unlock()

	var errs []error
	if !s.cfg.ReadOnly {
		if err := s.flushHead(); err != nil {
			errs = append(errs, err)
		}
		if err := s.meta.save(s.cfg.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("could not close store %q: %w", s.cfg.Dir, err))
	}
	if s.sandbox != "" {
		if err := os.RemoveAll(s.sandbox); err != nil {
			errs = append(errs, fmt.Errorf("could not remove the read-only copy of store %q: %w", s.cfg.Dir, err))
		}
	}
	return errors.Join(errs...)
}

// flushHead persists the in-memory head, in-order and out-of-order, as blocks.
func (s *Store) flushHead() error {
	head := s.db.Head()
	mint, maxt := head.MinTime(), head.MaxTime()
	if mint != math.MaxInt64 && maxt != math.MinInt64 && mint <= maxt {
		if err := s.db.CompactHead(tsdb.NewRangeHead(head, mint, maxt)); err != nil {
			return fmt.Errorf("could not flush store %q to disk: %w", s.cfg.Dir, err)
		}
	}
	if err := s.db.CompactOOOHead(context.Background()); err != nil {
		return fmt.Errorf("could not flush out-of-order samples of store %q to disk: %w", s.cfg.Dir, err)
	}
	return nil
}

// readOnlyCopy makes a private copy of the store in dir that the TSDB may
// open, replay and write to without changing dir: block files are
// hard-linked (blocks are immutable; the TSDB replaces rather than rewrites
// their files), the WAL, the out-of-order WAL and the head chunks are
// copied. The copy lives inside dir so that hard links work; when dir is
// not writable it goes to the system's temporary directory and blocks are
// copied instead.
func readOnlyCopy(dir string) (string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	sandbox, err := os.MkdirTemp(dir, readOnlyPrefix)
	if err != nil {
		sandbox, err = os.MkdirTemp("", "headroom-store-readonly-")
		if err != nil {
			return "", err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		_ = os.RemoveAll(sandbox)
		return "", err
	}
	found := false
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() {
			continue
		}
		src, dst := filepath.Join(dir, name), filepath.Join(sandbox, name)
		switch {
		case name == "wal" || name == "wbl" || name == "chunks_head":
			err = copyTree(src, dst, false)
		case isBlockDir(src):
			err = copyTree(src, dst, true)
		default:
			continue
		}
		if err != nil {
			_ = os.RemoveAll(sandbox)
			return "", fmt.Errorf("could not copy %s: %w", name, err)
		}
		found = true
	}
	if !found {
		_ = os.RemoveAll(sandbox)
		return "", errors.New("it holds no metrics store (no blocks, no wal directory)")
	}
	return sandbox, nil
}

// readOnlyPrefix names the private copies of read-only stores.
const readOnlyPrefix = ".readonly-"

// isBlockDir reports whether dir is a complete TSDB block: a ULID-named
// directory with a meta.json.
func isBlockDir(dir string) bool {
	name := filepath.Base(dir)
	if len(name) != 26 || strings.ContainsAny(name, ".-") {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "meta.json"))
	return err == nil
}

// copyTree copies the directory src to dst, hard-linking files when link is
// set and the file system allows it.
func copyTree(src, dst string, link bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if link && os.Link(path, target) == nil {
			return nil
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
