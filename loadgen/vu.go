package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// vu is a virtual user. Its state is kept small so that thousands of idle
// VUs cost little: variables are allocated on the first capture, templates
// and observers are shared, and buffers come from pools.
type vu struct {
	id   int64
	r    *Runner
	rng  *rand.Rand
	iter int64
	// vars holds the VU's own variables: captures, the auth token and
	// templated scenario variables. Literal scenario variables are shared
	// in Runner.baseVars.
	vars   map[string]any
	authed bool
	timer  *time.Timer
	// hc is the VU's own connection to a plain-HTTP target.
	hc *h1conn
	// corr receives the schedule-corrected latencies of the running
	// open-model iteration; corrShift is added to its first request: the
	// wait since the older iteration its slot serves was due.
	corr      *corrHist
	corrShift time.Duration
	// sentAt is when the request in flight started, in nanoseconds since
	// the run's start (0 when none is), for the live count of overdue
	// requests.
	sentAt atomic.Int64
	// inflight is the connection the runner's watchdog watches for a
	// request that outlives the timeout (the VU's hc, shared).
	inflight atomic.Pointer[h1conn]
	// lastEnd is when the response of the VU's last request was read (zero
	// when the request did not say), so that an iteration that ends with
	// it reads the clock no more.
	lastEnd time.Time
	// failStreak counts consecutive failures to connect, for the backoff.
	failStreak int
}

// newVU makes a VU whose random numbers are seeded from the run id, the
// shard and the VU number, so a run can be repeated.
func (r *Runner) newVU(e *execRT) *vu {
	id := r.vuSeq.Add(1)
	h := fnv.New64a()
	_, _ = h.Write([]byte(r.cfg.RunID))
	_, _ = h.Write([]byte{byte(r.cfg.Shard.Index), byte(r.cfg.Shard.Index >> 8)})
	v := &vu{id: id, r: r, rng: rand.New(rand.NewPCG(h.Sum64(), uint64(id)))}
	r.vusMu.Lock()
	r.allVUs = append(r.allVUs, v)
	r.vusMu.Unlock()
	for _, nt := range r.varTmpls {
		if val, err := nt.t.value(v); err == nil {
			v.setVar(nt.name, val)
		}
	}
	return v
}

func (v *vu) setVar(name string, val any) {
	if v.vars == nil {
		v.vars = make(map[string]any, 4)
	}
	v.vars[name] = val
}

// lookup finds a variable: the VU's own, then the scenario's; "a.b" walks
// into a captured object.
func (v *vu) lookup(name string) (any, bool) {
	if val, ok := v.vars[name]; ok {
		return val, true
	}
	if val, ok := v.r.baseVars[name]; ok {
		return val, true
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if base, ok := v.lookup(name[:i]); ok {
			return lookupDotted(base, name[i+1:])
		}
	}
	return nil, false
}

// iteration runs one flow. scheduled is the open-model due time (zero in the
// closed model): the first request's latency counts from it, so that time
// spent waiting for a VU or behind a stalled server is not hidden
// (coordinated omission).
func (v *vu) iteration(ctx context.Context, e *execRT, scheduled time.Time) {
	r := v.r
	st := e.stage()
	flow := e.pickFlow(v.rng.Float64())
	if r.auth != nil && !v.authed {
		v.authed = true
		v.login(ctx, e)
	}
	start := scheduled
	if start.IsZero() {
		start = r.now()
	}
	var end time.Time
	for i, s := range flow.steps {
		if i > 0 && r.isStopping() || ctx.Err() != nil {
			return
		}
		var intended time.Time
		if i == 0 {
			intended = scheduled
		}
		v.lastEnd = time.Time{}
		if !v.step(ctx, e, s, intended) {
			return
		}
		end = v.lastEnd
		if s.think != nil {
			end = time.Time{}
			if !v.think(ctx, s.think) {
				return
			}
		}
	}
	if end.IsZero() {
		end = r.now()
	}
	v.iter++
	st.iterations.Add(1)
	r.nIter.Add(1)
	r.iterCell(flow, st).record(durUs(end.Sub(start)))
}

// iterCell returns the cached iteration statistics of a flow in a stage.
func (r *Runner) iterCell(f *flowRT, st *stageRT) *iterCell {
	c := f.iterCells[st.idx].Load()
	if c == nil {
		c = r.stats.iterCell(iterKey{stage: st.idx, flow: f.idx})
		f.iterCells[st.idx].Store(c)
	}
	return c
}

// login runs the auth step; its captures set the token.
func (v *vu) login(ctx context.Context, e *execRT) {
	v.step(ctx, e, v.r.auth.step, time.Time{})
}

// result is what one request returned.
type result struct {
	status int
	dur    time.Duration
	// timed is false when the request could not be sent (a missing variable).
	timed bool
	body  *bytes.Buffer
	err   error
}

// errInterrupted marks a request cancelled before it was sent because the
// run or the VU was stopped; it is not counted.
var errInterrupted = errors.New("interrupted")

// errCutShort marks a request that was sent and still had no response when
// the run or the VU stopped waiting for it. It is counted as a failed
// request whose duration is the time it was in flight, so that a run
// against a server that never answers does not end with no requests.
var errCutShort = errors.New("no response before the run stopped waiting (interrupted in flight)")

// step sends one request, retries it once after a new login when the
// response asks for one, and records captures and checks. It returns false
// when the run was interrupted during the request.
func (v *vu) step(ctx context.Context, e *execRT, s *stepRT, intended time.Time) bool {
	r := v.r
	st := e.stage()
	res := v.send(ctx, s, intended)
	if res.err == errInterrupted {
		return false
	}
	if res.err == errCutShort {
		v.record(s, st, res)
		return false
	}
	if a := r.auth; a != nil && s != a.step && res.status > 0 && a.refresh(res.status) {
		v.record(s, st, res)
		v.release(&res)
		v.login(ctx, e)
		st = e.stage()
		res = v.send(ctx, s, time.Time{})
		if res.err == errInterrupted {
			return false
		}
		if res.err == errCutShort {
			v.record(s, st, res)
			return false
		}
	}
	v.record(s, st, res)
	if len(s.captures) > 0 || len(s.checks) > 0 {
		v.inspect(s, st, &res)
	}
	v.release(&res)
	if res.status == statusError && isConnectError(res.err) {
		return v.backoff(ctx)
	}
	if res.status > 0 {
		v.failStreak = 0
	}
	return true
}

// Backoff after a failure to connect: the first wait is about
// backoffBase, each further consecutive failure doubles it up to
// backoffMax, and each wait is drawn from [d/2, d) so that VUs do not retry
// in step. A VU against a port that refuses connections thus makes a few
// attempts a second instead of tens of thousands.
const (
	backoffBase = 10 * time.Millisecond
	backoffMax  = time.Second
)

// backoff waits after a failure to connect; false when the run was
// interrupted meanwhile.
func (v *vu) backoff(ctx context.Context) bool {
	d := backoffMax
	if v.failStreak < 7 {
		d = min(backoffMax, backoffBase<<v.failStreak)
	}
	v.failStreak++
	d = d/2 + time.Duration(v.rng.Int64N(int64(d/2)))
	return v.sleep(ctx, d)
}

// isConnectError says whether a request failed because no connection to
// the target could be made (refused, unreachable, no route, DNS).
func isConnectError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func (v *vu) release(res *result) {
	if res.body != nil {
		putBuf(res.body)
		res.body = nil
	}
}

// record counts a request in the metrics, the statistics and the windows.
func (v *vu) record(s *stepRT, st *stageRT, res result) {
	r := v.r
	so, o := r.observers(s, st, res.status)
	o.counter.Inc()
	us := durUs(res.dur)
	if res.timed {
		so.hist.Observe(res.dur.Seconds())
	}
	o.cell.record(us, res.timed)
	if v.corr != nil && res.timed {
		v.corr.record(res.dur+v.corrShift, false)
		v.corrShift = 0
	}
	failed := isFailure(res.status)
	r.win.record(us, res.timed, failed)
	r.nReq.Add(1)
	if failed {
		r.nErr.Add(1)
	}
	if res.err != nil {
		r.countError(s.endpoint + ": " + res.err.Error())
	}
}

// inspect evaluates captures and checks against the response.
func (v *vu) inspect(s *stepRT, st *stageRT, res *result) {
	r := v.r
	var doc any
	parsed := false
	if s.needBody && res.body != nil && res.err == nil {
		if d, err := decodeJSON(res.body.Bytes()); err == nil {
			doc, parsed = d, true
		}
	}
	for _, c := range s.captures {
		val, ok := any(nil), false
		if parsed {
			val, ok = c.path.lookup(doc)
		}
		if ok {
			v.setVar(c.name, val)
		} else if v.vars != nil {
			// The variable stays unset: a later step that uses it fails
			// with "missing variable", which is counted.
			delete(v.vars, c.name)
		}
		r.countCheck(c.event, s, st, ok)
	}
	for _, c := range s.checks {
		pass := false
		switch c.kind {
		case checkStatus:
			for _, code := range c.status {
				if code == res.status {
					pass = true
				}
			}
		case checkJSONPath:
			if parsed {
				if val, ok := c.path.lookup(doc); ok {
					pass = c.equals == nil || string(appendText(nil, val)) == *c.equals
				}
			}
		case checkDuration:
			pass = res.err == nil && res.status > 0 && res.dur <= c.max
		}
		r.countCheck(c, s, st, pass)
	}
}

func (r *Runner) countCheck(c *checkRT, s *stepRT, st *stageRT, pass bool) {
	cell := r.checkCell(c, s, st)
	if pass {
		c.pass.Inc()
		cell.pass.Add(1)
	} else {
		c.fail.Inc()
		cell.fail.Add(1)
	}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return
	}
	b.Reset()
	bufPool.Put(b)
}

// userAgent is sent unless a step sets its own.
const userAgent = "headroom"

// send builds and sends one request and reads its response: on the VU's own
// HTTP/1.1 connection when the target is plain HTTP, through net/http
// otherwise.
func (v *vu) send(ctx context.Context, s *stepRT, intended time.Time) result {
	if v.r.h1 != nil {
		return v.sendH1(ctx, s, intended)
	}
	u, err := v.stepURL(s)
	if err != nil {
		return result{status: statusError, err: err}
	}
	body, err := v.stepBody(s)
	if err != nil {
		return result{status: statusError, err: err}
	}
	start := intended
	if start.IsZero() {
		start = v.r.now()
	}
	v.sentAt.Store(max(1, int64(start.Sub(v.r.startMono))))
	res := v.sendStd(ctx, s, u, s.method, body)
	v.sentAt.Store(0)
	v.lastEnd = v.r.now()
	res.dur = v.lastEnd.Sub(start)
	return res
}

// stepURL renders the step's URL.
func (v *vu) stepURL(s *stepRT) (*url.URL, error) {
	if s.url != nil {
		cp := *s.url
		return &cp, nil
	}
	p, err := s.path.string(v)
	if err != nil {
		return nil, err
	}
	return v.r.resolve(p)
}

// stepBody renders the step's body; nil when it has none.
func (v *vu) stepBody(s *stepRT) ([]byte, error) {
	if s.body == nil {
		return nil, nil
	}
	if b, ok := s.body.literal(); ok {
		return b, nil
	}
	return s.body.appendTo(make([]byte, 0, 256), v)
}

// sendStd sends a request through net/http. The caller sets the duration.
func (v *vu) sendStd(ctx context.Context, s *stepRT, u *url.URL, method string, body []byte) result {
	r := v.r
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := v.build(rctx, s, u, method, body)
	if err != nil {
		return result{status: statusError, err: err}
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{status: statusError, timed: true, err: errCutShort}
		}
		return result{status: statusError, timed: true, err: unwrapURLError(err)}
	}
	var rb *bytes.Buffer
	var n int64
	lr := io.LimitReader(resp.Body, r.maxBody+1)
	if s.needBody {
		rb = getBuf()
		n, err = rb.ReadFrom(lr)
	} else {
		n, err = io.Copy(io.Discard, lr)
	}
	resp.Body.Close()
	if err == nil && n > r.maxBody {
		err = fmt.Errorf("%w: more than the %d bytes allowed", ErrBodyTooLarge, r.maxBody)
	}
	if err != nil {
		if rb != nil {
			putBuf(rb)
		}
		if ctx.Err() != nil {
			return result{status: statusError, timed: true, err: errCutShort}
		}
		return result{status: statusError, timed: true, err: unwrapURLError(err)}
	}
	return result{status: resp.StatusCode, timed: true, body: rb}
}

// unwrapURLError drops net/http's "METHOD URL:" prefix so that equal failures
// of different URLs count as one message.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// build makes the net/http request of a step.
func (v *vu) build(ctx context.Context, s *stepRT, u *url.URL, method string, body []byte) (*http.Request, error) {
	r := v.r
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "", rd)
	if err != nil {
		return nil, err
	}
	req.URL = u
	req.Host = u.Host
	h := make(http.Header, len(s.headers)+2)
	for _, hd := range s.headers {
		if body == nil && hd.key == "Content-Type" {
			continue
		}
		val, err := hd.val.string(v)
		if err != nil {
			return nil, err
		}
		h[hd.key] = []string{val}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{userAgent}
	}
	if a := r.auth; a != nil && s.sendsAuth {
		if tok, ok := v.lookup(a.token); ok {
			t := string(appendText(nil, tok))
			if !a.schemeNone {
				t = a.scheme + " " + t
			}
			h[a.header] = []string{t}
		}
	}
	if s.host != nil {
		host, err := s.host.string(v)
		if err != nil {
			return nil, err
		}
		req.Host = host
	}
	req.Header = h
	return req, nil
}

// think pauses after a step; false when the run was interrupted meanwhile.
func (v *vu) think(ctx context.Context, t *model.Think) bool {
	return v.sleep(ctx, sampleThink(t, v.rng))
}

// sleep waits for d; false when the run was interrupted meanwhile.
func (v *vu) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	if v.timer == nil {
		v.timer = time.NewTimer(d)
	} else {
		v.timer.Reset(d)
	}
	select {
	case <-v.timer.C:
		return true
	case <-v.r.stopping:
		v.timer.Stop()
		return false
	case <-ctx.Done():
		v.timer.Stop()
		return false
	}
}

// sampleThink draws a think time.
func sampleThink(t *model.Think, rng *rand.Rand) time.Duration {
	switch t.Distribution {
	case model.ThinkUniform:
		lo, hi := t.Min.D(), t.Max.D()
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	case model.ThinkExponential:
		return time.Duration(rng.ExpFloat64() * float64(t.Duration.D()))
	case model.ThinkNormal:
		d := float64(t.Duration.D()) + rng.NormFloat64()*float64(t.StdDev.D())
		if d < 0 {
			return 0
		}
		return time.Duration(d)
	default:
		return t.Duration.D()
	}
}
