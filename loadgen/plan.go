package loadgen

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-sh/headroom/model"
)

// execRT is an executor compiled for running.
type execRT struct {
	idx  int
	cfg  model.Executor
	name string
	open bool
	// startTime is the executor's offset from the start of the run.
	startTime time.Duration
	segs      []segment
	stages    []*stageRT
	flows     []*flowRT
	// cumWeights are the flows' cumulative weights for the weighted choice.
	cumWeights []float64
	// Ramp-down and stop grace periods.
	gracefulRampDown time.Duration
	gracefulStop     time.Duration
	// preAlloc and maxVUs are this shard's VU bounds (open model).
	preAlloc, maxVUs int
	// maxWholeVUs is the most VUs the executor uses over the whole scenario.
	maxWholeVUs int

	// cur is the index in stages of the running stage.
	cur atomic.Int32
	// vus counts this executor's active VUs.
	vus atomic.Int64
	// stop is closed when the executor stops starting iterations.
	stop     chan struct{}
	stopOnce sync.Once
	// begun is set when the executor's first stage started.
	begun atomic.Bool
	lag   *lagRecorder
	// queue orders scheduled iterations for the schedule-corrected view
	// (open model).
	queue *schedQueue
	// peakRate is the highest arrival rate of the executor's schedule for
	// the whole scenario, in iterations/s (open model).
	peakRate float64
	// busyUs and busyN sum how long VUs were busy per iteration (open
	// model), for the VUs Little's law asks for.
	busyUs, busyN atomic.Int64
}

// meanBusy is the mean time a VU was busy per iteration so far.
func (e *execRT) meanBusy() time.Duration {
	n := e.busyN.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(e.busyUs.Load()/n) * time.Microsecond
}

func (e *execRT) stopNow() { e.stopOnce.Do(func() { close(e.stop) }) }

func (e *execRT) stage() *stageRT { return e.stages[e.cur.Load()] }

// end is the executor's planned end as an offset from the run's start.
func (e *execRT) end() time.Duration {
	d := e.startTime
	for _, s := range e.segs {
		d += s.dur
	}
	return d
}

// pickFlow chooses a flow by weight.
func (e *execRT) pickFlow(u float64) *flowRT {
	if len(e.flows) == 1 {
		return e.flows[0]
	}
	x := u * e.cumWeights[len(e.cumWeights)-1]
	for i, c := range e.cumWeights {
		if x < c {
			return e.flows[i]
		}
	}
	return e.flows[len(e.flows)-1]
}

// stageRT is one stage of one executor.
type stageRT struct {
	// idx is the stage's position among all stages of the scenario.
	idx  int
	name string
	exec *execRT
	// offset is the stage's planned start from the start of the run.
	offset time.Duration
	dur    time.Duration
	// target is the load at the stage's end for the whole scenario: VUs, or
	// iterations per second.
	target float64

	started    atomic.Bool
	maxVUs     atomic.Int64
	iterations atomic.Int64
	dropped    atomic.Int64
	// scheduled counts the iterations the schedule asked for (open model),
	// dropped or not.
	scheduled atomic.Int64
	// corr is the schedule-corrected latency view (open model).
	corr *corrHist

	droppedCounter prometheus.Counter
	active         prometheus.Gauge
}

// noteVUs raises the stage's maximum VU count.
func (s *stageRT) noteVUs(n int64) {
	for {
		cur := s.maxVUs.Load()
		if n <= cur || s.maxVUs.CompareAndSwap(cur, n) {
			return
		}
	}
}

type flowRT struct {
	idx    int
	name   string
	weight float64
	steps  []*stepRT
	// iterCells caches the iteration statistics per stage index.
	iterCells []atomic.Pointer[iterCell]
}

// stepRT is a step compiled for running: templates parsed once, literal
// parts preformatted, and label-bound metric observers cached per stage and
// status.
type stepRT struct {
	flow     *flowRT
	flowIdx  int
	name     string
	method   string
	endpoint string
	// path is the path template; url is the resolved URL when the path is
	// literal.
	path *tmpl
	url  *url.URL
	// target is the literal request target (path and query) when url is
	// set and points at the target host.
	target string
	// headers are the scenario's and the step's headers, the step's winning.
	headers []headerRT
	// host overrides the Host header when set.
	host *tmpl
	// sendsAuth is false when the step sets the auth header itself.
	sendsAuth   bool
	body        *bodyNode
	contentType string
	captures    []captureRT
	checks      []*checkRT
	think       *model.Think
	// needBody is set when captures or checks read the response body.
	needBody bool

	// obs caches observers per stage index.
	obs []atomic.Pointer[stageObs]
}

type headerRT struct {
	key string
	val *tmpl
}

type captureRT struct {
	name string
	path jsonPath
	// event counts a missing capture like a failed check.
	event *checkRT
}

// check kinds.
const (
	checkStatus = iota
	checkJSONPath
	checkDuration
	checkCapture
)

type checkRT struct {
	name   string
	kind   int
	status []int
	path   jsonPath
	equals *string
	max    time.Duration
	// pass and fail are the check's counters.
	pass, fail prometheus.Counter
	// cells caches the statistics cell per stage index.
	cells []atomic.Pointer[checkCell]
}

// stageObs holds a step's observers for one stage. The status map is
// copied on write, so the hot path reads it with one atomic load.
type stageObs struct {
	hist   prometheus.Observer
	mu     sync.Mutex
	status atomic.Pointer[map[int]*statusObs]
}

type statusObs struct {
	counter prometheus.Counter
	cell    *reqCell
}

// statusLabels are the label values of common status codes.
var statusLabels = func() []string {
	s := make([]string, 600)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusLabel(code int) string {
	if code == statusError {
		return "error"
	}
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

// observers returns the cached observers for a stage and status, creating
// them on first use.
func (r *Runner) observers(s *stepRT, st *stageRT, status int) (*stageObs, *statusObs) {
	so := s.obs[st.idx].Load()
	if so == nil {
		n := &stageObs{hist: r.metrics.duration.WithLabelValues(st.name, s.endpoint, s.method)}
		n.status.Store(&map[int]*statusObs{})
		if !s.obs[st.idx].CompareAndSwap(nil, n) {
			n = s.obs[st.idx].Load()
		}
		so = n
	}
	if o := (*so.status.Load())[status]; o != nil {
		return so, o
	}
	so.mu.Lock()
	defer so.mu.Unlock()
	old := *so.status.Load()
	if o := old[status]; o != nil {
		return so, o
	}
	o := &statusObs{
		counter: r.metrics.requests.WithLabelValues(st.name, s.endpoint, s.method, statusLabel(status)),
		cell:    r.stats.reqCell(reqKey{stage: st.idx, flow: s.flowIdx, endpoint: s.endpoint, method: s.method, status: status}),
	}
	next := make(map[int]*statusObs, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[status] = o
	so.status.Store(&next)
	return so, o
}

// checkCell returns the statistics cell of a check for a stage.
func (r *Runner) checkCell(c *checkRT, s *stepRT, st *stageRT) *checkCell {
	cell := c.cells[st.idx].Load()
	if cell != nil {
		return cell
	}
	cell = r.stats.checkCell(checkKey{stage: st.idx, flow: s.flowIdx, endpoint: s.endpoint, method: s.method, check: c.name})
	c.cells[st.idx].Store(cell)
	return cell
}

// compile turns a defaulted, validated scenario into the runner's plan.
func (r *Runner) compile(sc *model.Scenario) error {
	r.seqs = &tmplContext{secrets: r.cfg.Secrets}
	nStages := 0
	for _, e := range sc.Executors {
		nStages += len(e.Stages)
	}
	r.nStages = nStages

	// Scenario variables: literal ones are shared by every VU; templated
	// ones are evaluated per VU when it starts.
	r.baseVars = map[string]any{}
	names := make([]string, 0, len(sc.Variables))
	for k := range sc.Variables {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t, err := compileTemplate(sc.Variables[k], r.seqs)
		if err != nil {
			return fmt.Errorf("variables[%q]: %w", k, err)
		}
		if t.literal {
			r.baseVars[k] = sc.Variables[k]
		} else {
			r.varTmpls = append(r.varTmpls, namedTmpl{name: k, t: t})
		}
	}

	r.checksByName = map[string]*checkRT{}
	if key, val, ok, err := r.fixedAuthHeader(sc, r.urlUser); err != nil {
		return err
	} else if ok {
		r.fixedAuth = &headerRT{key: http.CanonicalHeaderKey(key), val: &tmpl{raw: val, literal: true}}
	}
	if sc.Auth.IsLogin() {
		a := sc.Auth
		st, err := r.compileStep(sc, &a.Step, nil, -1, "auth.step")
		if err != nil {
			return err
		}
		r.auth = &authRT{step: st, token: a.Token, header: http.CanonicalHeaderKey(a.Header), scheme: a.Scheme, refreshOn: a.RefreshOn}
		if r.auth.token == "" {
			r.auth.token = model.DefaultAuthToken
		}
		if a.Header == "" {
			r.auth.header = model.DefaultAuthHeader
		}
		if r.auth.scheme == "" {
			r.auth.scheme = model.DefaultAuthScheme
		}
		if len(r.auth.refreshOn) == 0 {
			r.auth.refreshOn = model.DefaultRefreshOn
		}
		r.auth.schemeNone = strings.EqualFold(r.auth.scheme, model.AuthSchemeNone)
	}

	flowByName := map[string]*flowRT{}
	for i := range sc.Flows {
		f := &sc.Flows[i]
		fr := &flowRT{idx: i, name: f.Name, weight: f.Weight}
		for j := range f.Steps {
			st, err := r.compileStep(sc, &f.Steps[j], fr, i, fmt.Sprintf("flows[%d].steps[%d]", i, j))
			if err != nil {
				return err
			}
			fr.steps = append(fr.steps, st)
		}
		r.flows = append(r.flows, fr)
		flowByName[f.Name] = fr
	}
	if r.auth != nil {
		// Once the auth step is known, steps that set the auth header
		// themselves do not get the token.
		for _, f := range r.flows {
			for j, st := range f.steps {
				for k := range sc.Flows[f.idx].Steps[j].Headers {
					if http.CanonicalHeaderKey(k) == r.auth.header {
						st.sendsAuth = false
					}
				}
			}
		}
		r.auth.step.sendsAuth = false
	}

	gi := 0
	for i := range sc.Executors {
		e := sc.Executors[i]
		er := &execRT{
			idx:              i,
			cfg:              e,
			name:             e.Name,
			open:             e.IsOpenModel(),
			startTime:        e.StartTime.D(),
			gracefulRampDown: e.GracefulRampDown.D(),
			gracefulStop:     e.GracefulStop.D(),
			stop:             make(chan struct{}),
		}
		if er.name == "" {
			er.name = e.Type
		}
		if len(e.Flows) == 0 {
			er.flows = r.flows
		} else {
			for _, n := range e.Flows {
				f, ok := flowByName[n]
				if !ok {
					return fmt.Errorf("executors[%d].flows: no flow is named %q", i, n)
				}
				er.flows = append(er.flows, f)
			}
		}
		total := 0.0
		for _, f := range er.flows {
			w := f.weight
			if w <= 0 || math.IsNaN(w) {
				w = 0
			}
			total += w
			er.cumWeights = append(er.cumWeights, total)
		}
		if len(er.flows) == 0 || total <= 0 {
			return fmt.Errorf("executors[%d] (%s): no flow with a weight above 0 to run", i, er.name)
		}
		stages := e.Stages
		if len(stages) == 0 {
			switch e.Type {
			case model.ExecutorConstantVUs:
				stages = []model.Stage{{Name: er.name, Duration: e.Duration, Target: float64(e.VUs)}}
			case model.ExecutorConstantArrivalRate:
				stages = []model.Stage{{Name: er.name, Duration: e.Duration, Target: e.Rate}}
			default:
				return fmt.Errorf("executors[%d] (%s): no stages", i, er.name)
			}
		}
		unit := 1.0
		initial := float64(e.StartVUs)
		switch e.Type {
		case model.ExecutorConstantVUs:
			initial = float64(e.VUs)
		case model.ExecutorConstantArrivalRate, model.ExecutorRampingArrivalRate:
			tu := e.TimeUnit.D()
			if tu <= 0 {
				tu = model.DefaultTimeUnit
			}
			unit = tu.Seconds()
			initial = e.StartRate
			if e.Type == model.ExecutorConstantArrivalRate {
				initial = e.Rate
			}
			initial /= unit
		case model.ExecutorRampingVUs:
		default:
			return fmt.Errorf("executors[%d]: unknown executor type %q", i, e.Type)
		}
		loads := make([]stageLoad, len(stages))
		maxLoad := initial
		for j, s := range stages {
			loads[j] = stageLoad{dur: s.Duration.D(), target: s.Target / unit}
			maxLoad = math.Max(maxLoad, loads[j].target)
		}
		er.segs = segmentsFor(initial, loads)
		at := er.startTime
		for j, s := range stages {
			name := s.Name
			if name == "" {
				name = fmt.Sprintf("stage-%d", gi+1)
			}
			sr := &stageRT{idx: gi, name: name, exec: er, offset: at, dur: s.Duration.D(), target: loads[j].target}
			sr.droppedCounter = r.metrics.dropped.WithLabelValues(name)
			sr.active = r.metrics.stageActive.WithLabelValues(name)
			sr.active.Set(0)
			er.stages = append(er.stages, sr)
			r.stages = append(r.stages, sr)
			at += s.Duration.D()
			gi++
		}
		if er.open {
			pre, mx := e.PreAllocatedVUs, e.MaxVUs
			if pre <= 0 {
				pre = int(math.Max(1, math.Ceil(maxLoad)))
			}
			if mx < pre {
				mx = pre
			}
			er.preAlloc = r.cfg.Shard.Share(pre)
			// Shares are not monotonic in the whole, so a shard's part of
			// maxVUs can be smaller than its part of preAllocatedVUs.
			er.maxVUs = max(r.cfg.Shard.Share(mx), er.preAlloc)
			er.maxWholeVUs = mx
			er.lag = &lagRecorder{h: newHDR()}
			er.queue = &schedQueue{}
			er.peakRate = maxLoad
			for _, st := range er.stages {
				st.corr = newCorrHist()
			}
		} else {
			er.maxWholeVUs = int(maxLoad)
		}
		r.execs = append(r.execs, er)
	}
	for _, f := range r.flows {
		f.iterCells = make([]atomic.Pointer[iterCell], nStages)
		for _, s := range f.steps {
			s.obs = make([]atomic.Pointer[stageObs], nStages)
			for _, c := range s.checks {
				c.cells = make([]atomic.Pointer[checkCell], nStages)
			}
			for _, c := range s.captures {
				c.event.cells = make([]atomic.Pointer[checkCell], nStages)
			}
		}
	}
	if r.auth != nil {
		s := r.auth.step
		s.obs = make([]atomic.Pointer[stageObs], nStages)
		for _, c := range s.checks {
			c.cells = make([]atomic.Pointer[checkCell], nStages)
		}
		for _, c := range s.captures {
			c.event.cells = make([]atomic.Pointer[checkCell], nStages)
		}
	}
	return nil
}

type namedTmpl struct {
	name string
	t    *tmpl
}

// authRT is the compiled auth section.
type authRT struct {
	step       *stepRT
	token      string
	header     string
	scheme     string
	schemeNone bool
	refreshOn  []int
}

func (a *authRT) refresh(status int) bool {
	for _, c := range a.refreshOn {
		if c == status {
			return true
		}
	}
	return false
}

func (r *Runner) compileStep(sc *model.Scenario, s *model.Step, f *flowRT, flowIdx int, where string) (*stepRT, error) {
	method := strings.ToUpper(strings.TrimSpace(s.Method))
	if method == "" {
		method = http.MethodGet
	}
	st := &stepRT{
		flow:      f,
		flowIdx:   flowIdx,
		name:      s.Name,
		method:    method,
		endpoint:  s.Endpoint,
		think:     s.Think,
		sendsAuth: true,
	}
	if st.endpoint == "" {
		st.endpoint = model.DefaultEndpoint(method, s.Path)
	}
	var err error
	if st.path, err = compileTemplate(s.Path, r.seqs); err != nil {
		return nil, fmt.Errorf("%s.path: %w", where, err)
	}
	if st.path.literal {
		u, err := r.resolve(s.Path)
		if err != nil {
			return nil, fmt.Errorf("%s.path: %w", where, err)
		}
		st.url = u
		st.target = u.RequestURI()
	}
	// Headers: the scenario's, then the step's, matched case-insensitively.
	hdrs := map[string]string{}
	for k, v := range sc.Headers {
		hdrs[http.CanonicalHeaderKey(k)] = v
	}
	for k, v := range s.Headers {
		hdrs[http.CanonicalHeaderKey(k)] = v
	}
	keys := make([]string, 0, len(hdrs))
	for k := range hdrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if a := r.fixedAuth; a != nil {
		// A step's own header wins over the scenario's credentials.
		if _, set := hdrs[a.key]; !set {
			st.headers = append(st.headers, *a)
		}
	}
	for _, k := range keys {
		t, err := compileTemplate(hdrs[k], r.seqs)
		if err != nil {
			return nil, fmt.Errorf("%s.headers[%q]: %w", where, k, err)
		}
		switch k {
		case "Host":
			st.host = t
		case "Content-Type":
			st.contentType = hdrs[k]
			st.headers = append(st.headers, headerRT{key: k, val: t})
		default:
			st.headers = append(st.headers, headerRT{key: k, val: t})
		}
	}
	if s.Body != nil {
		b, err := compileBody(s.Body, r.seqs)
		if err != nil {
			return nil, fmt.Errorf("%s.body: %w", where, err)
		}
		st.body = b
		if st.contentType == "" {
			ct := "application/json"
			if str, ok := s.Body.(string); ok && !looksJSON(str) {
				ct = "text/plain; charset=utf-8"
			}
			st.headers = append(st.headers, headerRT{key: "Content-Type", val: &tmpl{raw: ct, literal: true}})
		}
	}
	capNames := make([]string, 0, len(s.Capture))
	for k := range s.Capture {
		capNames = append(capNames, k)
	}
	sort.Strings(capNames)
	for _, k := range capNames {
		p, err := compileJSONPath(s.Capture[k])
		if err != nil {
			return nil, fmt.Errorf("%s.capture[%q]: %w", where, k, err)
		}
		ev, err := r.checkNamed(st.endpoint+" capture "+k, checkCapture)
		if err != nil {
			return nil, err
		}
		st.captures = append(st.captures, captureRT{name: k, path: p, event: ev})
		st.needBody = true
	}
	for i, c := range s.Checks {
		cw := fmt.Sprintf("%s.checks[%d]", where, i)
		var kind int
		var name string
		switch {
		case len(c.Status) > 0:
			kind = checkStatus
			codes := make([]string, len(c.Status))
			for j, code := range c.Status {
				codes[j] = strconv.Itoa(code)
			}
			if len(codes) == 1 {
				name = st.endpoint + " status " + codes[0]
			} else {
				name = st.endpoint + " status in " + strings.Join(codes, ",")
			}
		case c.JSONPath != "":
			kind = checkJSONPath
			if c.Equals != "" {
				name = st.endpoint + " " + c.JSONPath + " == " + c.Equals
			} else {
				name = st.endpoint + " " + c.JSONPath + " exists"
			}
		case c.MaxDuration > 0:
			kind = checkDuration
			name = st.endpoint + " duration <= " + c.MaxDuration.String()
		default:
			return nil, fmt.Errorf("%s: a check needs one of status, jsonPath or maxDuration", cw)
		}
		if c.Name != "" {
			name = c.Name
		}
		ck, err := r.checkNamed(name, kind)
		if err != nil {
			return nil, err
		}
		ck.status = c.Status
		ck.max = c.MaxDuration.D()
		if kind == checkJSONPath {
			if ck.path, err = compileJSONPath(c.JSONPath); err != nil {
				return nil, fmt.Errorf("%s.jsonPath: %w", cw, err)
			}
			if c.Equals != "" {
				eq := c.Equals
				ck.equals = &eq
			}
			st.needBody = true
		}
		st.checks = append(st.checks, ck)
	}
	return st, nil
}

// checkNamed creates a check. Checks with the same name share counters, as a
// named check in k6 does.
func (r *Runner) checkNamed(name string, kind int) (*checkRT, error) {
	c := &checkRT{name: name, kind: kind}
	if prev, ok := r.checksByName[name]; ok {
		c.pass, c.fail = prev.pass, prev.fail
		return c, nil
	}
	c.pass = r.metrics.checks.WithLabelValues(name, "pass")
	c.fail = r.metrics.checks.WithLabelValues(name, "fail")
	r.checksByName[name] = c
	return c, nil
}

func looksJSON(s string) bool {
	t := strings.TrimSpace(s)
	return strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")
}

// resolve joins a rendered path with the target; an absolute URL is used as
// it is.
func (r *Runner) resolve(p string) (*url.URL, error) {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return url.Parse(p)
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return url.Parse(r.base + p)
}

// bodyNode is a compiled body template. Subtrees without templates are
// encoded once.
type bodyNode struct {
	// raw is the encoded JSON of a literal subtree.
	raw []byte
	// str is a string template; a top-level string is sent as text, not
	// as a JSON string.
	str *tmpl
	// keys and vals are an object's members; keys are encoded JSON strings
	// followed by ':'.
	keys [][]byte
	vals []*bodyNode
	// items are an array's elements.
	items   []*bodyNode
	isObj   bool
	isArr   bool
	topText bool
}

// compileBody compiles a step body. A top-level string is sent as text (it
// may be a JSON document written as a string); anything else is encoded as
// JSON.
func compileBody(v any, seqs *tmplContext) (*bodyNode, error) {
	if s, ok := v.(string); ok {
		t, err := compileTemplate(s, seqs)
		if err != nil {
			return nil, err
		}
		return &bodyNode{str: t, topText: true}, nil
	}
	return compileBodyValue(v, seqs)
}

func compileBodyValue(v any, seqs *tmplContext) (*bodyNode, error) {
	if !hasTemplate(v) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("body value of type %T cannot be encoded as JSON: %w", v, err)
		}
		return &bodyNode{raw: b}, nil
	}
	switch x := v.(type) {
	case string:
		t, err := compileTemplate(x, seqs)
		if err != nil {
			return nil, err
		}
		return &bodyNode{str: t}, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n := &bodyNode{isObj: true}
		for _, k := range keys {
			c, err := compileBodyValue(x[k], seqs)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			n.keys = append(n.keys, append(appendJSONString(nil, k), ':'))
			n.vals = append(n.vals, c)
		}
		return n, nil
	case []any:
		n := &bodyNode{isArr: true}
		for i, e := range x {
			c, err := compileBodyValue(e, seqs)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			n.items = append(n.items, c)
		}
		return n, nil
	}
	return nil, fmt.Errorf("unsupported body value of type %T", v)
}

func hasTemplate(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, "{{")
	case map[string]any:
		for _, e := range x {
			if hasTemplate(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasTemplate(e) {
				return true
			}
		}
	}
	return false
}

// literal returns the encoded body when it has no templates.
func (n *bodyNode) literal() ([]byte, bool) {
	if n.raw != nil {
		return n.raw, true
	}
	if n.topText && n.str.literal {
		return []byte(n.str.raw), true
	}
	return nil, false
}

// appendTo encodes the body for a VU.
func (n *bodyNode) appendTo(buf []byte, v *vu) ([]byte, error) {
	switch {
	case n.raw != nil:
		return append(buf, n.raw...), nil
	case n.topText:
		return n.str.appendTo(buf, v)
	case n.str != nil:
		if p, ok := n.str.single(); ok {
			val, err := p.eval(v)
			if err != nil {
				return buf, err
			}
			return appendJSON(buf, val), nil
		}
		s, err := n.str.string(v)
		if err != nil {
			return buf, err
		}
		return appendJSONString(buf, s), nil
	case n.isObj:
		buf = append(buf, '{')
		for i, k := range n.keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, k...)
			var err error
			if buf, err = n.vals[i].appendTo(buf, v); err != nil {
				return buf, err
			}
		}
		return append(buf, '}'), nil
	case n.isArr:
		buf = append(buf, '[')
		for i, it := range n.items {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = it.appendTo(buf, v); err != nil {
				return buf, err
			}
		}
		return append(buf, ']'), nil
	}
	return append(buf, "null"...), nil
}
