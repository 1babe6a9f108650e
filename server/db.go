package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	// Database drivers: PostgreSQL through pgx, SQLite in pure Go.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/headroom-sh/headroom/model"
)

// errNotFound is returned by the store when a row does not exist.
var errNotFound = errors.New("not found")

// migrations are the schema's versions, applied in order, each once, in a
// transaction. The SQL is the subset SQLite and PostgreSQL share (times are
// Unix nanoseconds in BIGINT, documents JSON in TEXT), so one list serves
// both. A tiny versions table instead of goose: the schema is five tables,
// goose's dialect is process-global state (this process may hold SQLite
// and PostgreSQL at once in tests), and /readyz needs only "is the latest
// version applied". Never edit a released migration; append a new one.
var migrations = []string{
	// 1: the initial schema.
	`CREATE TABLE runs (
		id TEXT PRIMARY KEY,
		status TEXT NOT NULL,
		scenario TEXT NOT NULL,
		target TEXT NOT NULL,
		started_at BIGINT NOT NULL,
		ended_at BIGINT,
		error TEXT NOT NULL DEFAULT '',
		instance TEXT NOT NULL DEFAULT '',
		heartbeat_at BIGINT NOT NULL,
		request TEXT NOT NULL,
		live TEXT,
		run TEXT
	);
	CREATE INDEX runs_started_at ON runs (started_at);
	CREATE INDEX runs_status ON runs (status);
	CREATE TABLE analyses (
		id TEXT PRIMARY KEY,
		run_id TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL,
		analysis TEXT NOT NULL,
		observations TEXT
	);
	CREATE INDEX analyses_created_at ON analyses (created_at);
	CREATE TABLE plans (
		id TEXT PRIMARY KEY,
		analysis_id TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		plan TEXT NOT NULL
	);
	CREATE INDEX plans_created_at ON plans (created_at);
	CREATE TABLE reviews (
		service TEXT PRIMARY KEY,
		spec TEXT NOT NULL,
		updated_at BIGINT NOT NULL
	);
	CREATE TABLE review_results (
		id TEXT PRIMARY KEY,
		service TEXT NOT NULL,
		at BIGINT NOT NULL,
		error TEXT NOT NULL DEFAULT '',
		capacity_rps DOUBLE PRECISION,
		peak_rps DOUBLE PRECISION,
		headroom_ratio DOUBLE PRECISION,
		review TEXT NOT NULL
	);
	CREATE INDEX review_results_service_at ON review_results (service, at)`,
}

// store is the service's persistence: runs, analyses, plans, review specs
// and review results, in SQLite or PostgreSQL.
type store struct {
	db       *sql.DB
	postgres bool
	// where names the database in errors and logs (no password).
	where string
}

// openStore opens (creating when needed) the database and applies the
// migrations.
func openStore(ctx context.Context, databaseURL, dataDir string) (*store, error) {
	s := &store{}
	var err error
	switch {
	case databaseURL == "":
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("could not create the data directory %q: %w", dataDir, err)
		}
		path := filepath.Join(dataDir, "headroom.db")
		s.where = "SQLite " + path
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		if s.db, err = sql.Open("sqlite", dsn); err != nil {
			return nil, fmt.Errorf("could not open %s: %w", s.where, err)
		}
		// One writer at a time is SQLite's rule; a small pool lets reads
		// overlap under WAL.
		s.db.SetMaxOpenConns(4)
	case strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://"):
		s.postgres = true
		s.where = "PostgreSQL " + redactURL(databaseURL)
		if s.db, err = sql.Open("pgx", databaseURL); err != nil {
			return nil, fmt.Errorf("could not open %s: %w", s.where, err)
		}
		s.db.SetMaxOpenConns(10)
	default:
		return nil, fmt.Errorf("database URL %q: expected postgres://USER@HOST:PORT/DB (or none for SQLite in the data directory)", redactURL(databaseURL))
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("could not connect to %s: %w", s.where, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// redactURL hides a password in a URL.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	userinfo := u[scheme+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return u[:scheme+3] + user + ":****" + u[at:]
	}
	return u
}

func (s *store) Close() error { return s.db.Close() }

// q rewrites ? placeholders as $n for PostgreSQL.
func (s *store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// migrate applies the migrations not applied yet. On PostgreSQL an
// advisory lock keeps replicas starting together from racing.
func (s *store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("could not create the migrations table in %s: %w", s.where, err)
	}
	for v := 1; v <= len(migrations); v++ {
		if err := s.applyMigration(ctx, v); err != nil {
			return fmt.Errorf("could not apply migration %d to %s: %w", v, s.where, err)
		}
	}
	return nil
}

func (s *store) applyMigration(ctx context.Context, v int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7305712)`); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), v).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range strings.Split(migrations[v-1], ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// ready says whether the database answers and has the latest schema.
func (s *store) ready(ctx context.Context) error {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("%s does not answer: %w", s.where, err)
	}
	if int(v.Int64) < len(migrations) {
		return fmt.Errorf("%s is at schema version %d, expected %d", s.where, v.Int64, len(migrations))
	}
	return nil
}

// ---- runs ----

// runRow is a stored run.
type runRow struct {
	ID, Status, Scenario, Target string
	StartedAt                    time.Time
	EndedAt                      *time.Time
	Error, Instance              string
	Request, Live, Run           []byte
}

const runColumns = `id, status, scenario, target, started_at, ended_at, error, instance, request, live, run`

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func (s *store) insertRun(ctx context.Context, r *runRow) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO runs (id, status, scenario, target, started_at, error, instance, heartbeat_at, request) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.ID, r.Status, r.Scenario, r.Target, nanos(r.StartedAt), r.Error, r.Instance, nanos(r.StartedAt), string(r.Request))
	if err != nil {
		return fmt.Errorf("could not store run %s: %w", r.ID, err)
	}
	return nil
}

// heartbeatRun stores a running run's live statistics.
func (s *store) heartbeatRun(ctx context.Context, id string, live []byte, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE runs SET live = ?, heartbeat_at = ? WHERE id = ? AND status = 'running'`), string(live), nanos(now), id)
	if err != nil {
		return fmt.Errorf("could not store the progress of run %s: %w", id, err)
	}
	return nil
}

// finishRun stores a finished run's status, end and document.
func (s *store) finishRun(ctx context.Context, id, status string, end time.Time, run, live []byte, errMsg string) error {
	var runText, liveText any
	if run != nil {
		runText = string(run)
	}
	if live != nil {
		liveText = string(live)
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE runs SET status = ?, ended_at = ?, run = ?, live = COALESCE(?, live), error = ?, heartbeat_at = ? WHERE id = ?`),
		status, nanos(end), runText, liveText, errMsg, nanos(end), id)
	if err != nil {
		return fmt.Errorf("could not store the results of run %s: %w", id, err)
	}
	return nil
}

// recoverRuns marks interrupted the runs left running by this instance
// (which restarted) or by one whose heartbeat stopped before staleBefore.
func (s *store) recoverRuns(ctx context.Context, instance string, staleBefore, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE runs SET status = ?, ended_at = heartbeat_at, error = ? WHERE status = 'running' AND (instance = ? OR heartbeat_at < ?)`),
		model.RunInterrupted, "the service stopped while the run was in progress; its last progress is kept", instance, nanos(staleBefore))
	if err != nil {
		return 0, fmt.Errorf("could not mark abandoned runs interrupted: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func scanRun(sc interface{ Scan(...any) error }) (*runRow, error) {
	var r runRow
	var started int64
	var ended sql.NullInt64
	var request string
	var live, run sql.NullString
	if err := sc.Scan(&r.ID, &r.Status, &r.Scenario, &r.Target, &started, &ended, &r.Error, &r.Instance, &request, &live, &run); err != nil {
		return nil, err
	}
	r.StartedAt = fromNanos(started)
	if ended.Valid {
		t := fromNanos(ended.Int64)
		r.EndedAt = &t
	}
	r.Request = []byte(request)
	if live.Valid {
		r.Live = []byte(live.String)
	}
	if run.Valid {
		r.Run = []byte(run.String)
	}
	return &r, nil
}

func (s *store) getRun(ctx context.Context, id string) (*runRow, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, s.q(`SELECT `+runColumns+` FROM runs WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("could not read run %s: %w", id, err)
	}
	return r, nil
}

// listRuns lists runs newest first, without their documents when brief.
func (s *store) listRuns(ctx context.Context, limit int) ([]*runRow, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+runColumns+` FROM runs ORDER BY started_at DESC, id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("could not list runs: %w", err)
	}
	defer rows.Close()
	var out []*runRow
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("could not list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ---- analyses and plans ----

type analysisRow struct {
	ID, RunID             string
	CreatedAt             time.Time
	Analysis, Observation []byte
}

func (s *store) insertAnalysis(ctx context.Context, a *analysisRow) error {
	var obs any
	if a.Observation != nil {
		obs = string(a.Observation)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO analyses (id, run_id, created_at, analysis, observations) VALUES (?, ?, ?, ?, ?)`),
		a.ID, a.RunID, nanos(a.CreatedAt), string(a.Analysis), obs)
	if err != nil {
		return fmt.Errorf("could not store analysis %s: %w", a.ID, err)
	}
	return nil
}

func scanAnalysis(sc interface{ Scan(...any) error }, withObs bool) (*analysisRow, error) {
	var a analysisRow
	var created int64
	var doc string
	var obs sql.NullString
	dest := []any{&a.ID, &a.RunID, &created, &doc}
	if withObs {
		dest = append(dest, &obs)
	}
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	a.CreatedAt, a.Analysis = fromNanos(created), []byte(doc)
	if obs.Valid {
		a.Observation = []byte(obs.String)
	}
	return &a, nil
}

func (s *store) getAnalysis(ctx context.Context, id string, withObs bool) (*analysisRow, error) {
	cols := `id, run_id, created_at, analysis`
	if withObs {
		cols += `, observations`
	}
	a, err := scanAnalysis(s.db.QueryRowContext(ctx, s.q(`SELECT `+cols+` FROM analyses WHERE id = ?`), id), withObs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("could not read analysis %s: %w", id, err)
	}
	return a, nil
}

func (s *store) listAnalyses(ctx context.Context, limit int) ([]*analysisRow, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, run_id, created_at, analysis FROM analyses ORDER BY created_at DESC, id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("could not list analyses: %w", err)
	}
	defer rows.Close()
	var out []*analysisRow
	for rows.Next() {
		a, err := scanAnalysis(rows, false)
		if err != nil {
			return nil, fmt.Errorf("could not list analyses: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

type planRow struct {
	ID, AnalysisID string
	CreatedAt      time.Time
	Plan           []byte
}

func (s *store) insertPlan(ctx context.Context, p *planRow) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO plans (id, analysis_id, created_at, plan) VALUES (?, ?, ?, ?)`), p.ID, p.AnalysisID, nanos(p.CreatedAt), string(p.Plan))
	if err != nil {
		return fmt.Errorf("could not store plan %s: %w", p.ID, err)
	}
	return nil
}

func scanPlan(sc interface{ Scan(...any) error }) (*planRow, error) {
	var p planRow
	var created int64
	var doc string
	if err := sc.Scan(&p.ID, &p.AnalysisID, &created, &doc); err != nil {
		return nil, err
	}
	p.CreatedAt, p.Plan = fromNanos(created), []byte(doc)
	return &p, nil
}

func (s *store) getPlan(ctx context.Context, id string) (*planRow, error) {
	p, err := scanPlan(s.db.QueryRowContext(ctx, s.q(`SELECT id, analysis_id, created_at, plan FROM plans WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("could not read plan %s: %w", id, err)
	}
	return p, nil
}

func (s *store) listPlans(ctx context.Context, limit int) ([]*planRow, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, analysis_id, created_at, plan FROM plans ORDER BY created_at DESC, id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("could not list plans: %w", err)
	}
	defer rows.Close()
	var out []*planRow
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, fmt.Errorf("could not list plans: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ---- reviews ----

// putReview stores a spec, replacing the service's.
func (s *store) putReview(ctx context.Context, service string, spec []byte, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("could not store the review of %s: %w", service, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM reviews WHERE service = ?`), service); err != nil {
		return fmt.Errorf("could not store the review of %s: %w", service, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO reviews (service, spec, updated_at) VALUES (?, ?, ?)`), service, string(spec), nanos(now)); err != nil {
		return fmt.Errorf("could not store the review of %s: %w", service, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("could not store the review of %s: %w", service, err)
	}
	return nil
}

func (s *store) getReview(ctx context.Context, service string) ([]byte, error) {
	var spec string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT spec FROM reviews WHERE service = ?`), service).Scan(&spec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("could not read the review of %s: %w", service, err)
	}
	return []byte(spec), nil
}

// listReviews returns every spec by service, sorted by service.
func (s *store) listReviews(ctx context.Context) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT spec FROM reviews ORDER BY service`)
	if err != nil {
		return nil, fmt.Errorf("could not list reviews: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var spec string
		if err := rows.Scan(&spec); err != nil {
			return nil, fmt.Errorf("could not list reviews: %w", err)
		}
		out = append(out, []byte(spec))
	}
	return out, rows.Err()
}

// deleteReview removes a spec and its history.
func (s *store) deleteReview(ctx context.Context, service string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("could not delete the review of %s: %w", service, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM reviews WHERE service = ?`), service)
	if err != nil {
		return fmt.Errorf("could not delete the review of %s: %w", service, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errNotFound
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM review_results WHERE service = ?`), service); err != nil {
		return fmt.Errorf("could not delete the review history of %s: %w", service, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("could not delete the review of %s: %w", service, err)
	}
	return nil
}

func (s *store) insertReviewResult(ctx context.Context, service string, rec *model.ReviewRecord, doc []byte) error {
	var capRPS, peak, ratio any
	if rec.Error == "" {
		capRPS, peak, ratio = finiteOrNil(rec.Review.CapacityRPS), finiteOrNil(rec.Review.PeakRPS), finiteOrNil(rec.Review.HeadroomRatio)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO review_results (id, service, at, error, capacity_rps, peak_rps, headroom_ratio, review) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		rec.ID, service, nanos(rec.At), rec.Error, capRPS, peak, ratio, string(doc))
	if err != nil {
		return fmt.Errorf("could not store the review of %s: %w", service, err)
	}
	return nil
}

// reviewResults returns a service's stored reviews, newest first; onlyOK
// leaves out failed ones.
func (s *store) reviewResults(ctx context.Context, service string, onlyOK bool, limit int) ([][]byte, error) {
	query := `SELECT review FROM review_results WHERE service = ?`
	if onlyOK {
		query += ` AND error = ''`
	}
	query += ` ORDER BY at DESC, id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, s.q(query), service, limit)
	if err != nil {
		return nil, fmt.Errorf("could not read the reviews of %s: %w", service, err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("could not read the reviews of %s: %w", service, err)
		}
		out = append(out, []byte(doc))
	}
	return out, rows.Err()
}

// tryServiceLock takes a PostgreSQL advisory lock for one service's
// scheduled review, so that replicas sharing the database do not review it
// at the same time; ok is false when another replica holds it. On SQLite
// (one process) it always succeeds. release must be called when ok.
func (s *store) tryServiceLock(ctx context.Context, service string) (ok bool, release func(), err error) {
	if !s.postgres {
		return true, func() {}, nil
	}
	h := fnv.New64a()
	h.Write([]byte("headroom-review:" + service))
	key := int64(h.Sum64())
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, nil, fmt.Errorf("could not lock the review of %s: %w", service, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Close()
		if err != nil {
			return false, nil, fmt.Errorf("could not lock the review of %s: %w", service, err)
		}
		return false, nil, nil
	}
	return true, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, key)
		conn.Close()
	}, nil
}
