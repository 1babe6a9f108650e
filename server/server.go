package server

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the service's OpenAPI 3 document (served at
// /api/openapi.yaml).
func OpenAPI() []byte { return append([]byte(nil), openapiYAML...) }

// Server is `headroom serve`: the API, the run manager, the review
// scheduler and the metrics.
type Server struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	db    *store
	echo  *echo.Echo
	allow allowlist
	prom  collector.Source // nil without a configured Prometheus

	metrics *metrics

	// baseCtx parents the runs and the scheduled reviews; cancelled by
	// Shutdown.
	baseCtx    context.Context
	baseCancel context.CancelFunc

	mu     sync.Mutex
	active map[string]*activeRun
	closed bool
	runsWG sync.WaitGroup

	cron     *cron.Cron
	cronMu   sync.Mutex
	cronIDs  map[string]cron.EntryID
	reviewWG sync.WaitGroup
	// reviewMu serialises reviews of one service.
	reviewMu sync.Map

	janitorStop chan struct{}
	janitorDone chan struct{}

	httpMu  sync.Mutex
	httpSrv *http.Server
	addr    net.Addr

	shutdownOnce sync.Once
	shutdownErr  error
}

// New opens the database (applying migrations), marks runs abandoned by a
// previous process interrupted, stores the config file's review specs,
// schedules the reviews and builds the routes. Start serves them.
func New(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	allow, err := newAllowlist(cfg.AllowTargets)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Clock,
		allow:   allow,
		active:  map[string]*activeRun{},
		cronIDs: map[string]cron.EntryID{},
	}
	if cfg.Prometheus.URL != "" {
		p, err := app.OpenPrometheus(cfg.Prometheus.PrometheusOptions, cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("could not use Prometheus: %w", err)
		}
		s.prom = p
	}
	if s.cfg.ReviewFunc == nil {
		s.cfg.ReviewFunc = s.defaultReview
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.db, err = openStore(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s.baseCtx, s.baseCancel = context.WithCancel(context.Background())
	s.metrics = newMetrics(s)
	if n, err := s.db.recoverRuns(ctx, cfg.Instance, s.now().Add(-cfg.StaleAfter), s.now()); err != nil {
		s.db.Close()
		return nil, err
	} else if n > 0 {
		s.log.Warn("marked runs left running by a stopped service interrupted", "runs", n)
	}
	s.cron = cron.New(cron.WithLocation(time.UTC), cron.WithParser(cronParser))
	for _, spec := range cfg.Reviews {
		if _, err := s.putReview(ctx, spec); err != nil {
			s.db.Close()
			return nil, fmt.Errorf("config review %q: %w", spec.Service, err)
		}
	}
	if err := s.loadReviews(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	s.cron.Start()
	s.janitorStop, s.janitorDone = make(chan struct{}), make(chan struct{})
	go s.janitor()
	s.echo = s.routes()
	return s, nil
}

// Handler returns the HTTP handler (the echo instance).
func (s *Server) Handler() http.Handler { return s.echo }

// Addr is the address Start listens on, once it does.
func (s *Server) Addr() net.Addr {
	s.httpMu.Lock()
	defer s.httpMu.Unlock()
	return s.addr
}

// Start listens on cfg.Listen and serves until ctx is cancelled, then shuts
// down gracefully: runs in progress are stopped and stored as interrupted.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("could not listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled, then shuts down.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.httpMu.Lock()
	s.httpSrv, s.addr = srv, ln.Addr()
	s.httpMu.Unlock()
	s.log.Info("serving", "url", "http://"+ln.Addr().String(), "database", s.db.where, "allowed_targets", s.allow.String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			_ = s.Shutdown(context.Background())
			return fmt.Errorf("could not serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

// Shutdown stops accepting requests, stops the scheduler, interrupts runs
// in progress and waits (bounded by ctx) until their partial results are
// stored as interrupted, then closes the database.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	var errs []error
	s.httpMu.Lock()
	srv := s.httpSrv
	s.httpMu.Unlock()
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("could not stop the HTTP server: %w", err))
		}
	}
	s.mu.Lock()
	s.closed = true
	runs := make([]*activeRun, 0, len(s.active))
	for _, ar := range s.active {
		ar.stop(stopInterrupted)
		runs = append(runs, ar)
	}
	s.mu.Unlock()
	if len(runs) > 0 {
		s.log.Info("stopping runs in progress", "runs", len(runs))
	}
	cronCtx := s.cron.Stop()
	s.baseCancel()
	close(s.janitorStop)
	runsDone := make(chan struct{})
	go func() {
		s.runsWG.Wait()
		close(runsDone)
	}()
	done := make(chan struct{})
	go func() {
		<-runsDone
		s.reviewWG.Wait()
		<-cronCtx.Done()
		<-s.janitorDone
		close(done)
	}()
	// Runs get their grace period while the shutdown can afford it. When
	// it cannot, their requests in flight are cancelled early enough for
	// the partial results to be stored before the database closes.
	graceCtx, cancelGrace := storeReserve(ctx)
	defer cancelGrace()
	select {
	case <-runsDone:
	case <-graceCtx.Done():
		s.log.Warn("runs did not stop within the shutdown's time: cancelling their requests in flight", "runs", len(runs))
		for _, ar := range runs {
			ar.abort()
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("runs were still stopping when the shutdown timed out: %w", ctx.Err()))
		s.storeUnfinished(runs)
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("could not close the database: %w", err))
	}
	return errors.Join(errs...)
}

// storeReserve ends when the shutdown must stop waiting for runs' grace
// periods: a third of the time left, at most 5 s, is kept for storing
// their results.
func storeReserve(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(time.Until(deadline)/3, 5*time.Second)
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}

// storeUnfinished marks interrupted, with their live statistics, the runs
// that did not end even with their requests cancelled, so that none is
// left running in the database.
func (s *Server) storeUnfinished(runs []*activeRun) {
	for _, ar := range runs {
		select {
		case <-ar.done:
			continue
		default:
		}
		live, _ := json.Marshal(liveView(ar.runner.Live()))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.db.finishRun(ctx, ar.id, model.RunInterrupted, s.now(), nil, live,
			"the service stopped before the run could end; its last progress is kept")
		cancel()
		if err != nil {
			s.log.Error("could not mark a run interrupted", "run_id", ar.id, "err", err)
		}
	}
}

// janitor marks runs whose owner died interrupted (another replica's, on
// a shared PostgreSQL).
func (s *Server) janitor() {
	defer close(s.janitorDone)
	t := time.NewTicker(s.cfg.StaleAfter / 2)
	defer t.Stop()
	for {
		select {
		case <-s.janitorStop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(s.baseCtx, 10*time.Second)
			// Only stale heartbeats: this instance's own runs are alive.
			if n, err := s.db.recoverRuns(ctx, "\x00none", s.now().Add(-s.cfg.StaleAfter), s.now()); err != nil {
				s.log.Warn("could not check for abandoned runs", "err", err)
			} else if n > 0 {
				s.log.Warn("marked runs abandoned by another replica interrupted", "runs", n)
			}
			cancel()
		}
	}
}

// routes builds the echo instance.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.metrics.middleware, s.recoverMiddleware)

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.metrics.gatherer(), promhttp.HandlerOpts{EnableOpenMetrics: true})))
	e.GET("/api/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", openapiYAML) })

	api := e.Group("/api/v1", s.bodyLimit, s.auth)
	api.GET("/runs", s.listRuns)
	api.POST("/runs", s.createRun)
	api.GET("/runs/:id", s.getRun)
	api.DELETE("/runs/:id", s.stopRun)
	api.GET("/analyses", s.listAnalyses)
	api.POST("/analyses", s.createAnalysis)
	api.GET("/analyses/:id", s.getAnalysis)
	api.GET("/analyses/:id/report.html", s.analysisReport)
	api.GET("/analyses/:id/report.md", s.analysisReport)
	api.GET("/analyses/:id/report.json", s.analysisReport)
	api.GET("/plans", s.listPlans)
	api.POST("/plans", s.createPlan)
	api.GET("/plans/:id", s.getPlan)
	api.GET("/plans/:id/report.html", s.planReport)
	api.GET("/plans/:id/report.md", s.planReport)
	api.GET("/plans/:id/report.json", s.planReport)
	api.POST("/compare", s.compare)
	api.GET("/reviews", s.listReviews)
	api.GET("/reviews/:service", s.getReview)
	api.PUT("/reviews/:service", s.putReviewHandler)
	api.DELETE("/reviews/:service", s.deleteReview)
	api.POST("/reviews/:service/run", s.runReviewHandler)
	// Anything else under /api is a JSON 404, never the UI.
	e.Any("/api/*", func(c echo.Context) error { return echo.ErrNotFound })
	s.mountUI(e)
	return e
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	if err := s.db.ready(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// apiError is an error with its HTTP status; its message is shown as is.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// errorHandler writes every error as {"error": "..."}. Errors that are not
// API errors are logged and shown as a 500 with their message.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, err.Error()
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		code, msg = ae.code, ae.msg
	case errors.As(err, &he):
		code = he.Code
		msg = fmt.Sprint(he.Message)
		if code == http.StatusNotFound {
			msg = fmt.Sprintf("no route %s %s", c.Request().Method, c.Request().URL.Path)
		}
		if code == http.StatusMethodNotAllowed {
			msg = fmt.Sprintf("method %s is not allowed on %s", c.Request().Method, c.Request().URL.Path)
		}
	default:
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	_ = c.JSON(code, map[string]string{"error": msg})
}

func (s *Server) recoverMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("handler panicked", "path", c.Request().URL.Path, "panic", fmt.Sprint(r))
				err = errorf(http.StatusInternalServerError, "internal error")
			}
		}()
		return next(c)
	}
}

// bodyLimit caps request bodies at Limits.MaxBodyBytes.
func (s *Server) bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > s.cfg.Limits.MaxBodyBytes {
			return errorf(http.StatusRequestEntityTooLarge, "request body is %d bytes: the limit is %d bytes", r.ContentLength, s.cfg.Limits.MaxBodyBytes)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, s.cfg.Limits.MaxBodyBytes)
		return next(c)
	}
}

// decodeJSON reads the body into v, rejecting unknown fields, trailing
// data and bodies over the limit with an error naming what was wrong.
func (s *Server) decodeJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "request body is larger than the limit of %d bytes", mbe.Limit)
		}
		return errorf(http.StatusBadRequest, "could not read the request body: %v", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return errorf(http.StatusBadRequest, "the request body is empty: expected a JSON object")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return errorf(http.StatusBadRequest, "the request body is not valid JSON at byte %d: %v", se.Offset, err)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errorf(http.StatusBadRequest, "the request body is not valid JSON: it ends early")
		case errors.As(err, &te):
			return errorf(http.StatusBadRequest, "field %s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return errorf(http.StatusBadRequest, "unknown field %s in the request body", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return errorf(http.StatusBadRequest, "could not read the request body: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "the request body holds more than one JSON value")
	}
	return nil
}

// limitParam reads ?limit= (default 100, at most 1000).
func limitParam(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, errorf(http.StatusBadRequest, "limit %q: expected a whole number from 1 to 1000", v)
	}
	return n, nil
}

// newID makes a sortable id: a prefix, the time and a random suffix.
func newID(prefix string, t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

func finiteOrNil(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}
