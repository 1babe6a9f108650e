package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/scenario"
)

// Run statuses of the service beyond model's completed, interrupted and
// aborted.
const (
	StatusRunning = "running"
	// StatusStopped is a run stopped through DELETE /api/v1/runs/{id}.
	StatusStopped = "stopped"
	// StatusFailed is a run that could not happen at all.
	StatusFailed = "failed"
)

// Reasons a run is stopped early.
const (
	stopStopped     = StatusStopped
	stopInterrupted = model.RunInterrupted
)

// storeSubdir is the run's embedded store, relative to its directory
// (DataDir/runs/<id>), as run.json records it.
const storeSubdir = "tsdb"

// RunRequest is the body of POST /api/v1/runs.
type RunRequest struct {
	// Scenario is a scenario document as JSON (model.Scenario's JSON names).
	Scenario json.RawMessage `json:"scenario,omitempty"`
	// ScenarioYAML is a scenario file's text.
	ScenarioYAML string `json:"scenario_yaml,omitempty"`
	// Target overrides the scenario's target.
	Target  string     `json:"target,omitempty"`
	Options RunOptions `json:"options"`
}

// RunOptions are optional settings of a run.
type RunOptions struct {
	// Selector is the system under test's label selector, recorded in
	// run.json for its analysis.
	Selector string `json:"selector,omitempty"`
	// Scrape lists /metrics endpoints the embedded store scrapes during
	// the run, [JOB=]URL; each host must be allowed.
	Scrape []string `json:"scrape,omitempty"`
	// GraceMs is how long in-flight requests may finish after a stop, in
	// milliseconds (default 10000).
	GraceMs float64 `json:"grace_ms,omitempty"`
}

// LiveView is a running run's live statistics.
type LiveView struct {
	Stage      string  `json:"stage"`
	ElapsedMs  float64 `json:"elapsed_ms"`
	TotalMs    float64 `json:"total_ms"`
	VUs        int     `json:"vus"`
	TargetRate float64 `json:"target_rate"`
	RPS        float64 `json:"rps"`
	P95Ms      float64 `json:"p95_ms"`
	ErrorRate  float64 `json:"error_rate"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Iterations int64   `json:"iterations"`
	Dropped    int64   `json:"dropped"`
	Running    bool    `json:"running"`
}

func liveView(ls loadgen.LiveStats) *LiveView {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return &LiveView{
		Stage: ls.Stage, ElapsedMs: ms(ls.Elapsed), TotalMs: ms(ls.Total), VUs: ls.VUs,
		TargetRate: finite0(ls.TargetRate), RPS: finite0(ls.RPS), P95Ms: finite0(ls.P95Ms), ErrorRate: finite0(ls.ErrorRate),
		Requests: ls.Requests, Errors: ls.Errors, Iterations: ls.Iterations, Dropped: ls.Dropped, Running: ls.Running,
	}
}

func finite0(v float64) float64 {
	if f, ok := finiteOrNil(v).(float64); ok {
		return f
	}
	return 0
}

// RunResource is a run as the API shows it.
type RunResource struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Scenario  string     `json:"scenario"`
	Target    string     `json:"target"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	Error     string     `json:"error,omitempty"`
	// Live is set while the run runs (and, for a run whose service died,
	// its last stored progress).
	Live *LiveView `json:"live"`
	// Run is run.json once the run finished.
	Run json.RawMessage `json:"run"`
}

// activeRun is a run in progress in this process.
type activeRun struct {
	id     string
	runner *loadgen.Runner
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// abortCtx ends the requests in flight at once, grace period or not:
	// a shutdown that cannot wait for the grace period cancels it.
	abortCtx context.Context
	abort    context.CancelFunc

	mu     sync.Mutex
	reason string

	dir     string
	metrics *app.RunMetrics
}

func (ar *activeRun) stop(reason string) {
	ar.mu.Lock()
	if ar.reason == "" {
		ar.reason = reason
	}
	ar.mu.Unlock()
	ar.cancel()
}

func (ar *activeRun) stopReason() string {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.reason
}

// parseRunScenario reads the scenario of a request.
func parseRunScenario(req *RunRequest) (*model.Scenario, error) {
	hasJSON := len(req.Scenario) > 0 && string(req.Scenario) != "null"
	hasYAML := strings.TrimSpace(req.ScenarioYAML) != ""
	switch {
	case hasJSON && hasYAML:
		return nil, errorf(http.StatusUnprocessableEntity, "scenario, scenario_yaml: give one, not both")
	case !hasJSON && !hasYAML:
		return nil, errorf(http.StatusUnprocessableEntity, "scenario: missing: expected a scenario document in scenario (JSON) or scenario_yaml (a scenario file's text)")
	case hasYAML:
		sc, err := scenario.Parse([]byte(req.ScenarioYAML), "scenario_yaml")
		if err != nil {
			return nil, errorf(http.StatusUnprocessableEntity, "%v", err)
		}
		return sc, nil
	}
	var sc model.Scenario
	dec := json.NewDecoder(strings.NewReader(string(req.Scenario)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, errorf(http.StatusUnprocessableEntity, "scenario.%s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return nil, errorf(http.StatusUnprocessableEntity, "scenario: %v", err)
	}
	sc.SetDefaults()
	if err := sc.Validate(); err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, "scenario: %v", err)
	}
	return &sc, nil
}

// checkLimits names the first field of sc over the service's limits.
func (s *Server) checkLimits(sc *model.Scenario) error {
	l := s.cfg.Limits
	totalVUs, totalRate := 0, 0.0
	var longest time.Duration
	for i, e := range sc.Executors {
		p := fmt.Sprintf("scenario.executors[%d]", i)
		length := e.StartTime.D()
		for _, st := range e.Stages {
			length += st.Duration.D()
		}
		if length > longest {
			longest = length
		}
		if length > l.MaxRunDuration {
			return errorf(http.StatusUnprocessableEntity, "%s.stages: the executor runs for %s, over this service's limit of %s (max run duration)", p, model.FormatDuration(length), model.FormatDuration(l.MaxRunDuration))
		}
		if e.IsOpenModel() {
			vus := max(e.MaxVUs, e.PreAllocatedVUs)
			if vus > l.MaxVUs {
				return errorf(http.StatusUnprocessableEntity, "%s.max_vus: %d VUs is over this service's limit of %d VUs", p, vus, l.MaxVUs)
			}
			totalVUs += vus
			unit := e.TimeUnit.D().Seconds()
			if unit <= 0 {
				unit = 1
			}
			peak, field := e.Rate, "rate"
			if e.StartRate > peak {
				peak, field = e.StartRate, "start_rate"
			}
			for j, st := range e.Stages {
				if st.Target > peak {
					peak, field = st.Target, fmt.Sprintf("stages[%d].target", j)
				}
			}
			rate := peak / unit
			if rate > l.MaxArrivalRate {
				return errorf(http.StatusUnprocessableEntity, "%s.%s: an arrival rate of %.6g iterations/s is over this service's limit of %.6g iterations/s", p, field, rate, l.MaxArrivalRate)
			}
			totalRate += rate
			continue
		}
		vus, field := e.VUs, "vus"
		if e.StartVUs > vus {
			vus, field = e.StartVUs, "start_vus"
		}
		for j, st := range e.Stages {
			if int(st.Target) > vus {
				vus, field = int(st.Target), fmt.Sprintf("stages[%d].target", j)
			}
		}
		if vus > l.MaxVUs {
			return errorf(http.StatusUnprocessableEntity, "%s.%s: %d VUs is over this service's limit of %d VUs", p, field, vus, l.MaxVUs)
		}
		totalVUs += vus
	}
	if totalVUs > l.MaxVUs {
		return errorf(http.StatusUnprocessableEntity, "scenario.executors: %d VUs in all is over this service's limit of %d VUs", totalVUs, l.MaxVUs)
	}
	if totalRate > l.MaxArrivalRate {
		return errorf(http.StatusUnprocessableEntity, "scenario.executors: an arrival rate of %.6g iterations/s in all is over this service's limit of %.6g iterations/s", totalRate, l.MaxArrivalRate)
	}
	return nil
}

// checkTargets checks the target and every literal absolute step URL
// against the allowlist (templated hosts are caught per request by
// allowTransport).
func (s *Server) checkTargets(sc *model.Scenario, target string) error {
	if err := model.ValidateTarget(target); err != nil {
		return errorf(http.StatusUnprocessableEntity, "target: %v", err)
	}
	if err := s.allow.checkString(target); err != nil {
		return errorf(http.StatusForbidden, "target: %v", err)
	}
	check := func(path string, st model.Step) error {
		if !strings.HasPrefix(st.Path, "http://") && !strings.HasPrefix(st.Path, "https://") {
			return nil
		}
		rest := st.Path[strings.Index(st.Path, "://")+3:]
		host, _, _ := strings.Cut(rest, "/")
		if strings.Contains(host, "{{") {
			return nil
		}
		if err := s.allow.checkString(st.Path); err != nil {
			return errorf(http.StatusForbidden, "%s.path: %v", path, err)
		}
		return nil
	}
	if sc.Auth != nil {
		if err := check("scenario.auth.step", sc.Auth.Step); err != nil {
			return err
		}
	}
	for i, f := range sc.Flows {
		for j, st := range f.Steps {
			if err := check(fmt.Sprintf("scenario.flows[%d].steps[%d]", i, j), st); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) createRun(c echo.Context) error {
	var req RunRequest
	if err := s.decodeJSON(c, &req); err != nil {
		return err
	}
	sc, err := parseRunScenario(&req)
	if err != nil {
		return err
	}
	target := req.Target
	if target == "" {
		target = sc.Target
	}
	if target == "" {
		return errorf(http.StatusUnprocessableEntity, "target: missing: give target (or the scenario's target), such as http://127.0.0.1:8080")
	}
	if err := s.checkTargets(sc, target); err != nil {
		return err
	}
	if err := s.checkLimits(sc); err != nil {
		return err
	}
	o := req.Options
	if o.GraceMs < 0 || o.GraceMs > 10*60*1000 {
		return errorf(http.StatusUnprocessableEntity, "options.grace_ms: %v: expected milliseconds from 0 to 600000", o.GraceMs)
	}
	var scrape []collector.ScrapeTarget
	for i, raw := range o.Scrape {
		p := fmt.Sprintf("options.scrape[%d]", i)
		t, err := collector.ParseScrapeFlag(raw)
		if err != nil {
			return errorf(http.StatusUnprocessableEntity, "%s: %v", p, err)
		}
		if err := s.allow.checkString(t.URL); err != nil {
			return errorf(http.StatusForbidden, "%s: %v", p, err)
		}
		scrape = append(scrape, t)
	}

	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return errorf(http.StatusServiceUnavailable, "the service is shutting down")
	case len(s.active) >= s.cfg.Limits.MaxConcurrentRuns:
		n := len(s.active)
		s.mu.Unlock()
		return errorf(http.StatusTooManyRequests, "%d runs are in progress, this service's limit: wait for one to finish or stop one", n)
	}
	now := s.now()
	id := loadgen.NewRunID(now)
	ar := &activeRun{id: id, done: make(chan struct{}), dir: filepath.Join(s.cfg.DataDir, "runs", id)}
	// A run never outlives its planned length by much: the limit plus a
	// margin for graceful stops bounds it even if a stage misbehaves.
	ar.ctx, ar.cancel = context.WithTimeout(s.baseCtx, s.cfg.Limits.MaxRunDuration+2*time.Minute)
	ar.abortCtx, ar.abort = context.WithCancel(context.Background())
	s.active[id] = ar
	s.mu.Unlock()
	started := false
	defer func() {
		if !started {
			s.mu.Lock()
			delete(s.active, id)
			s.mu.Unlock()
			ar.cancel()
			ar.abort()
			_ = ar.closeMetrics(nil)
		}
	}()

	grace := time.Duration(o.GraceMs * float64(time.Millisecond))
	lcfg := loadgen.Config{
		Scenario:    sc,
		Target:      target,
		RunID:       id,
		GracePeriod: grace,
		Logger:      s.log.With("run_id", id),
		Clock:       s.now,
	}
	if err := s.setupRunMetrics(ar, &lcfg, o.Selector, scrape); err != nil {
		return err
	}
	maxVUs := 0
	for _, e := range sc.Executors {
		maxVUs += max(e.VUs, e.StartVUs, e.MaxVUs, e.PreAllocatedVUs)
		for _, st := range e.Stages {
			if !e.IsOpenModel() {
				maxVUs = max(maxVUs, int(st.Target))
			}
		}
	}
	lcfg.HTTPClient = &http.Client{Transport: allowTransport{base: loadgen.NewTransport(maxVUs), allow: s.allow, abort: ar.abortCtx}}
	runner, err := loadgen.NewRunner(lcfg)
	if err != nil {
		return errorf(http.StatusUnprocessableEntity, "scenario: %v", err)
	}
	ar.runner = runner
	// The runner took any credentials out of the target; stored and shown
	// documents hold no credential.
	target = runner.Scenario().Target
	reqDoc, _ := json.Marshal(struct {
		Scenario *model.Scenario `json:"scenario"`
		Target   string          `json:"target"`
		Options  RunOptions      `json:"options"`
	}{runner.Scenario().Redacted(), target, o})
	row := &runRow{ID: id, Status: StatusRunning, Scenario: runner.Scenario().Name, Target: target, StartedAt: now, Instance: s.cfg.Instance, Request: reqDoc}
	if err := s.db.insertRun(c.Request().Context(), row); err != nil {
		return err
	}
	started = true
	s.runsWG.Add(1)
	go s.execute(ar)
	s.log.Info("run started", "run_id", id, "scenario", row.Scenario, "target", target)
	res := RunResource{ID: id, Status: StatusRunning, Scenario: row.Scenario, Target: target, StartedAt: now, Live: liveView(runner.Live())}
	return c.JSON(http.StatusCreated, res)
}

// setupRunMetrics points the run's series at Prometheus (remote write) or
// at an embedded store in the run's directory that scrapes the given
// endpoints; every scrape, redirects included, is checked against the
// allowlist: an allowed host may redirect anywhere. The selector and the
// scrapes are checked by app.StartRunMetrics, as for the CLI.
func (s *Server) setupRunMetrics(ar *activeRun, lcfg *loadgen.Config, selector string, scrape []collector.ScrapeTarget) error {
	o := app.MetricsOptions{Selector: selector, Scrape: scrape, Logger: s.log}
	if s.prom != nil {
		o.Prometheus = s.cfg.Prometheus.PrometheusOptions
		o.RemoteWrite = loadgen.RemoteWriteConfig{URL: s.cfg.Prometheus.RemoteWriteURL, UserAgent: "headroom-serve", Logger: s.log}
	} else {
		if err := os.MkdirAll(ar.dir, 0o755); err != nil {
			return fmt.Errorf("could not create the run directory: %w", err)
		}
		o.StoreDir, o.RunDir = filepath.Join(ar.dir, storeSubdir), ar.dir
		o.ScrapeClient = &http.Client{Transport: allowTransport{base: http.DefaultTransport.(*http.Transport).Clone(), allow: s.allow}}
	}
	rm, err := app.StartRunMetrics(ar.ctx, o)
	var oe *app.OptionError
	if errors.As(err, &oe) && (oe.Field == "scrape" || oe.Field == "selector") {
		return errorf(http.StatusUnprocessableEntity, "options.%s: %s", oe.Field, oe.Msg)
	}
	if err != nil {
		return fmt.Errorf("could not set up the run's metrics: %w", err)
	}
	ar.metrics = rm
	rm.Attach(lcfg, false)
	return nil
}

// closeMetrics stops scraping, records how it went and closes the store.
func (ar *activeRun) closeMetrics(run *model.Run) error {
	rm := ar.metrics
	ar.metrics = nil
	return rm.Finish(run)
}

// heartbeatInterval is how often a running run's progress is stored.
const heartbeatInterval = 2 * time.Second

// execute runs ar to its end and stores the results.
func (s *Server) execute(ar *activeRun) {
	defer s.runsWG.Done()
	defer close(ar.done)
	defer ar.cancel()
	defer ar.abort()
	hbDone := make(chan struct{})
	hbStop := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(heartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-hbStop:
				return
			case <-t.C:
				live, _ := json.Marshal(liveView(ar.runner.Live()))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := s.db.heartbeatRun(ctx, ar.id, live, s.now()); err != nil {
					s.log.Warn("could not store run progress", "run_id", ar.id, "err", err)
				}
				cancel()
			}
		}
	}()
	run, err := ar.runner.Run(ar.ctx)
	close(hbStop)
	<-hbDone
	status, errMsg := StatusFailed, ""
	var doc []byte
	if err != nil {
		errMsg = err.Error()
		_ = ar.closeMetrics(nil)
	} else {
		if cerr := ar.closeMetrics(run); cerr != nil {
			s.log.Error("embedded store", "run_id", ar.id, "err", cerr)
		}
		status = run.Status
		if run.Status == model.RunInterrupted {
			switch ar.stopReason() {
			case stopStopped:
				status = StatusStopped
			case "":
				errMsg = "the run exceeded the service's maximum run duration"
			}
		}
		if run.AuthRefused() {
			s.log.Warn(model.AuthRefusedHint, "run_id", ar.id)
			if errMsg == "" {
				errMsg = "warning: " + model.AuthRefusedHint
			}
		}
		doc, err = json.MarshalIndent(run, "", "  ")
		if err != nil {
			status, errMsg, doc = StatusFailed, fmt.Sprintf("could not encode the run: %v", err), nil
		} else if werr := os.WriteFile(filepath.Join(ar.dir, "run.json"), append(doc, '\n'), 0o644); werr != nil && s.prom == nil {
			s.log.Warn("could not write run.json beside the store", "run_id", ar.id, "err", werr)
		}
	}
	live, _ := json.Marshal(liveView(ar.runner.Live()))
	end := s.now()
	if run != nil {
		end = run.End
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	if err := s.db.finishRun(ctx, ar.id, status, end, doc, live, errMsg); err != nil {
		s.log.Error("could not store the run's results", "run_id", ar.id, "err", err)
	}
	cancel()
	s.metrics.runsTotal.WithLabelValues(status).Inc()
	s.mu.Lock()
	delete(s.active, ar.id)
	s.mu.Unlock()
	s.log.Info("run finished", "run_id", ar.id, "status", status)
}

// resource turns a stored run (and its live state, when it runs here)
// into the API's shape.
func (s *Server) resource(r *runRow) RunResource {
	res := RunResource{ID: r.ID, Status: r.Status, Scenario: r.Scenario, Target: r.Target, StartedAt: r.StartedAt, EndedAt: r.EndedAt, Error: r.Error}
	if len(r.Run) > 0 {
		res.Run = r.Run
	}
	s.mu.Lock()
	ar := s.active[r.ID]
	s.mu.Unlock()
	switch {
	case ar != nil && ar.runner != nil && r.Status == StatusRunning:
		res.Live = liveView(ar.runner.Live())
	case len(r.Run) == 0 && len(r.Live) > 0:
		var lv LiveView
		if json.Unmarshal(r.Live, &lv) == nil {
			res.Live = &lv
		}
	}
	return res
}

func (s *Server) listRuns(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	rows, err := s.db.listRuns(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	out := make([]RunResource, 0, len(rows))
	for _, r := range rows {
		res := s.resource(r)
		// The list stays small: the documents are on GET /runs/{id}.
		res.Run = nil
		out = append(out, res)
	}
	return c.JSON(http.StatusOK, map[string]any{"runs": out})
}

func (s *Server) getRun(c echo.Context) error {
	r, err := s.db.getRun(c.Request().Context(), c.Param("id"))
	if errors.Is(err, errNotFound) {
		return errorf(http.StatusNotFound, "run %q not found", c.Param("id"))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.resource(r))
}

// stopRun stops a running run and waits until its partial results are
// stored.
func (s *Server) stopRun(c echo.Context) error {
	id := c.Param("id")
	s.mu.Lock()
	ar := s.active[id]
	s.mu.Unlock()
	if ar != nil {
		ar.stop(stopStopped)
		select {
		case <-ar.done:
		case <-c.Request().Context().Done():
			return c.Request().Context().Err()
		}
	}
	r, err := s.db.getRun(c.Request().Context(), id)
	if errors.Is(err, errNotFound) {
		return errorf(http.StatusNotFound, "run %q not found", id)
	}
	if err != nil {
		return err
	}
	if r.Status == StatusRunning {
		return errorf(http.StatusConflict, "run %q runs in another replica of the service (instance %q); stop it there", id, r.Instance)
	}
	return c.JSON(http.StatusOK, s.resource(r))
}
