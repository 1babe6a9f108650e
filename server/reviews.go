package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/robfig/cron/v3"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
)

// cronParser reads review schedules: five fields (minute hour day-of-month
// month day-of-week) or a descriptor such as @daily or @every 6h, in UTC.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// MaxTrendPoints bounds the capacity trend returned with a review.
const MaxTrendPoints = 1000

// validateSpec checks a review spec: the model's rules and a schedule
// that parses.
func validateSpec(spec *model.ReviewSpec) error {
	var errs []error
	if err := spec.Validate(); err != nil {
		errs = append(errs, err)
	} else if err := app.CheckReviewScope(*spec, nil); err != nil {
		errs = append(errs, err)
	}
	if spec.Schedule != "" {
		if _, err := cronParser.Parse(spec.Schedule); err != nil {
			errs = append(errs, fmt.Errorf("schedule: %q: %v: expected 5 cron fields such as \"0 6 * * *\" or a descriptor such as @daily or @every 6h", spec.Schedule, err))
		}
	}
	return errors.Join(errs...)
}

// TrendPoint is one successful review in a service's capacity trend.
type TrendPoint struct {
	At            time.Time `json:"at"`
	CapacityRPS   float64   `json:"capacity_rps"`
	PeakRPS       float64   `json:"peak_rps"`
	HeadroomRatio float64   `json:"headroom_ratio"`
}

// ReviewDetail is GET /api/v1/reviews/{service}.
type ReviewDetail struct {
	Service string              `json:"service"`
	Spec    model.ReviewSpec    `json:"spec"`
	NextAt  *time.Time          `json:"next_at"`
	Last    *model.ReviewRecord `json:"last"`
	Trend   []TrendPoint        `json:"trend"`
}

// ReviewSummary is one item of GET /api/v1/reviews.
type ReviewSummary struct {
	Service string              `json:"service"`
	Spec    model.ReviewSpec    `json:"spec"`
	NextAt  *time.Time          `json:"next_at"`
	Last    *model.ReviewRecord `json:"last"`
}

// defaultReview reads the production series from the configured
// Prometheus and fits them.
func (s *Server) defaultReview(ctx context.Context, spec model.ReviewSpec, end time.Time) (model.Review, error) {
	if s.prom == nil {
		return model.Review{}, errors.New("this service has no Prometheus configured (--prometheus or prometheus.url in the config): reviews read production metrics from it")
	}
	return app.Review(ctx, s.prom, spec, end, collector.ProductionConfig{Logger: s.log})
}

// putReview validates, stores and schedules a spec.
func (s *Server) putReview(ctx context.Context, spec model.ReviewSpec) (model.ReviewSpec, error) {
	if err := validateSpec(&spec); err != nil {
		return spec, errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	spec.SetDefaults()
	doc, err := json.Marshal(spec)
	if err != nil {
		return spec, fmt.Errorf("could not encode the review spec: %w", err)
	}
	if err := s.db.putReview(ctx, spec.Service, doc, s.now()); err != nil {
		return spec, err
	}
	s.schedule(spec)
	return spec, nil
}

// schedule (re)registers a spec's schedule.
func (s *Server) schedule(spec model.ReviewSpec) {
	s.cronMu.Lock()
	defer s.cronMu.Unlock()
	if id, ok := s.cronIDs[spec.Service]; ok {
		s.cron.Remove(id)
		delete(s.cronIDs, spec.Service)
	}
	if spec.Schedule == "" {
		return
	}
	sched, err := cronParser.Parse(spec.Schedule)
	if err != nil {
		s.log.Error("bad stored schedule", "service", spec.Service, "schedule", spec.Schedule, "err", err)
		return
	}
	service := spec.Service
	s.cronIDs[service] = s.cron.Schedule(sched, cron.FuncJob(func() {
		s.reviewWG.Add(1)
		defer s.reviewWG.Done()
		if s.baseCtx.Err() != nil {
			return
		}
		s.scheduledReview(service, sched)
	}))
}

// scheduledReview runs a service's review on its schedule. With several
// replicas on one PostgreSQL, each fires it: an advisory lock lets one
// review at a time, and a review stored within half an interval (at most
// a minute) ago counts as this one's.
func (s *Server) scheduledReview(service string, sched cron.Schedule) {
	ctx := s.baseCtx
	ok, release, err := s.db.tryServiceLock(ctx, service)
	if err != nil {
		s.log.Error("scheduled review failed", "service", service, "err", err)
		return
	}
	if !ok {
		s.log.Debug("another replica is reviewing this service", "service", service)
		return
	}
	defer release()
	now := s.now().UTC()
	next := sched.Next(now)
	window := min(sched.Next(next).Sub(next)/2, time.Minute)
	if last, err := s.lastRecord(ctx, service, false); err == nil && last != nil && last.At.After(now.Add(-window)) && !last.At.After(now) {
		s.log.Debug("the service was reviewed a moment ago, by another replica", "service", service, "at", last.At)
		return
	}
	if _, err := s.runReview(ctx, service, "schedule"); err != nil && !errors.Is(err, errNotFound) {
		s.log.Error("scheduled review failed", "service", service, "err", err)
	}
}

func (s *Server) unschedule(service string) {
	s.cronMu.Lock()
	defer s.cronMu.Unlock()
	if id, ok := s.cronIDs[service]; ok {
		s.cron.Remove(id)
		delete(s.cronIDs, service)
	}
}

// nextAt is a service's next scheduled review.
func (s *Server) nextAt(service string) *time.Time {
	s.cronMu.Lock()
	id, ok := s.cronIDs[service]
	s.cronMu.Unlock()
	if !ok {
		return nil
	}
	e := s.cron.Entry(id)
	if e.Next.IsZero() {
		// Not computed until the scheduler has run once; compute it.
		if e.Schedule == nil {
			return nil
		}
		n := e.Schedule.Next(s.now().UTC())
		return &n
	}
	n := e.Next.UTC()
	return &n
}

// loadReviews schedules the stored specs and publishes each service's
// gauges from its last successful review.
func (s *Server) loadReviews(ctx context.Context) error {
	docs, err := s.db.listReviews(ctx)
	if err != nil {
		return err
	}
	for _, d := range docs {
		var spec model.ReviewSpec
		if err := json.Unmarshal(d, &spec); err != nil {
			return fmt.Errorf("could not read a stored review spec: %w", err)
		}
		s.schedule(spec)
		if last, err := s.lastRecord(ctx, spec.Service, true); err == nil && last != nil {
			s.metrics.setReview(spec.Service, &last.Review)
		}
	}
	return nil
}

func (s *Server) lastRecord(ctx context.Context, service string, onlyOK bool) (*model.ReviewRecord, error) {
	docs, err := s.db.reviewResults(ctx, service, onlyOK, 1)
	if err != nil || len(docs) == 0 {
		return nil, err
	}
	var rec model.ReviewRecord
	if err := json.Unmarshal(docs[0], &rec); err != nil {
		return nil, fmt.Errorf("could not read a stored review of %s: %w", service, err)
	}
	return &rec, nil
}

func (s *Server) serviceLock(service string) *sync.Mutex {
	m, _ := s.reviewMu.LoadOrStore(service, &sync.Mutex{})
	return m.(*sync.Mutex)
}

// runReview reviews a service now, stores the result (a failure too) and
// updates its gauges. The error is about storing; a failed review is a
// record with Error set.
func (s *Server) runReview(ctx context.Context, service, trigger string) (*model.ReviewRecord, error) {
	mu := s.serviceLock(service)
	mu.Lock()
	defer mu.Unlock()
	doc, err := s.db.getReview(ctx, service)
	if err != nil {
		return nil, err
	}
	var spec model.ReviewSpec
	if err := json.Unmarshal(doc, &spec); err != nil {
		return nil, fmt.Errorf("could not read the review spec of %s: %w", service, err)
	}
	now := s.now().UTC()
	s.metrics.reviewsTotal.WithLabelValues(service, trigger).Inc()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	r, rerr := s.cfg.ReviewFunc(rctx, spec, now)
	cancel()
	rec := &model.ReviewRecord{ID: newID("r-", now), At: now}
	if rerr == nil {
		if r.At.IsZero() {
			r.At = now
		}
		if r.Service == "" {
			r.Service = service
		}
		rec.Review = r
	} else {
		rec.Error = rerr.Error()
		rec.Review = model.Review{Service: service, At: now}
	}
	out, err := json.Marshal(rec)
	if err != nil {
		rec.Error = fmt.Sprintf("could not encode the review: %v", err)
		rec.Review = model.Review{Service: service, At: now}
		out, _ = json.Marshal(rec)
	}
	if err := s.db.insertReviewResult(context.WithoutCancel(ctx), service, rec, out); err != nil {
		return nil, err
	}
	if rec.Error != "" {
		s.metrics.reviewFailures.WithLabelValues(service).Inc()
		s.log.Warn("capacity review failed", "service", service, "trigger", trigger, "err", rec.Error)
	} else {
		s.metrics.setReview(service, &rec.Review)
		s.log.Info("capacity review", "service", service, "trigger", trigger, "capacity_rps", rec.Review.CapacityRPS,
			"peak_rps", rec.Review.PeakRPS, "headroom_ratio", rec.Review.HeadroomRatio, "bottleneck", rec.Review.Bottleneck)
	}
	return rec, nil
}

func (s *Server) specOf(ctx context.Context, service string) (model.ReviewSpec, error) {
	var spec model.ReviewSpec
	doc, err := s.db.getReview(ctx, service)
	if errors.Is(err, errNotFound) {
		return spec, errorf(http.StatusNotFound, "no review of service %q: create one with PUT /api/v1/reviews/%s", service, service)
	}
	if err != nil {
		return spec, err
	}
	if err := json.Unmarshal(doc, &spec); err != nil {
		return spec, fmt.Errorf("could not read the review spec of %s: %w", service, err)
	}
	return spec, nil
}

func (s *Server) putReviewHandler(c echo.Context) error {
	service := c.Param("service")
	if !model.ServicePattern.MatchString(service) {
		return errorf(http.StatusUnprocessableEntity, "service: %q is not a service name: expected letters, digits, '_', '.' and '-' only", service)
	}
	var spec model.ReviewSpec
	if err := s.decodeJSON(c, &spec); err != nil {
		return err
	}
	spec.Service = service
	spec, err := s.putReview(c.Request().Context(), spec)
	if err != nil {
		return err
	}
	return s.reviewDetail(c, spec)
}

func (s *Server) reviewDetail(c echo.Context, spec model.ReviewSpec) error {
	ctx := c.Request().Context()
	limit := MaxTrendPoints
	if c.QueryParam("limit") != "" {
		var err error
		if limit, err = limitParam(c); err != nil {
			return err
		}
	}
	last, err := s.lastRecord(ctx, spec.Service, false)
	if err != nil {
		return err
	}
	docs, err := s.db.reviewResults(ctx, spec.Service, true, limit)
	if err != nil {
		return err
	}
	trend := make([]TrendPoint, 0, len(docs))
	for i := len(docs) - 1; i >= 0; i-- {
		var rec model.ReviewRecord
		if json.Unmarshal(docs[i], &rec) != nil {
			continue
		}
		r := rec.Review
		trend = append(trend, TrendPoint{At: rec.At, CapacityRPS: r.CapacityRPS, PeakRPS: r.PeakRPS, HeadroomRatio: r.HeadroomRatio})
	}
	return c.JSON(http.StatusOK, ReviewDetail{Service: spec.Service, Spec: spec, NextAt: s.nextAt(spec.Service), Last: last, Trend: trend})
}

func (s *Server) getReview(c echo.Context) error {
	spec, err := s.specOf(c.Request().Context(), c.Param("service"))
	if err != nil {
		return err
	}
	return s.reviewDetail(c, spec)
}

func (s *Server) listReviews(c echo.Context) error {
	ctx := c.Request().Context()
	docs, err := s.db.listReviews(ctx)
	if err != nil {
		return err
	}
	out := make([]ReviewSummary, 0, len(docs))
	for _, d := range docs {
		var spec model.ReviewSpec
		if err := json.Unmarshal(d, &spec); err != nil {
			return fmt.Errorf("could not read a stored review spec: %w", err)
		}
		last, err := s.lastRecord(ctx, spec.Service, false)
		if err != nil {
			return err
		}
		out = append(out, ReviewSummary{Service: spec.Service, Spec: spec, NextAt: s.nextAt(spec.Service), Last: last})
	}
	return c.JSON(http.StatusOK, map[string]any{"reviews": out})
}

func (s *Server) deleteReview(c echo.Context) error {
	service := c.Param("service")
	err := s.db.deleteReview(c.Request().Context(), service)
	if errors.Is(err, errNotFound) {
		return errorf(http.StatusNotFound, "no review of service %q", service)
	}
	if err != nil {
		return err
	}
	s.unschedule(service)
	s.metrics.dropReview(service)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) runReviewHandler(c echo.Context) error {
	service := c.Param("service")
	if _, err := s.specOf(c.Request().Context(), service); err != nil {
		return err
	}
	rec, err := s.runReview(c.Request().Context(), service, "request")
	if errors.Is(err, errNotFound) {
		return errorf(http.StatusNotFound, "no review of service %q", service)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, rec)
}
