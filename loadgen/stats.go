package loadgen

import (
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histograms are HDR histograms of microseconds from 1 µs to one
// hour with two significant digits: log-linear buckets whose relative error
// is below 1%, about 26 KiB each.
const (
	hdrHighestUs = int64(time.Hour / time.Microsecond)
	hdrSigFigs   = 2
)

func newHDR() *hdrhistogram.Histogram { return hdrhistogram.New(1, hdrHighestUs, hdrSigFigs) }

// durUs converts a duration to the histograms' unit, clamped to their range.
func durUs(d time.Duration) int64 {
	us := d.Microseconds()
	if us < 0 {
		return 0
	}
	if us > hdrHighestUs {
		return hdrHighestUs
	}
	return us
}

// statusError is the status of a request that got no HTTP response.
const statusError = -1

// reqKey identifies a cell of request statistics: every tag a threshold
// may filter on.
type reqKey struct {
	stage    int
	flow     int
	endpoint string
	method   string
	status   int
}

// reqCell accumulates the requests of one key.
type reqCell struct {
	key reqKey
	mu  sync.Mutex
	h   *hdrhistogram.Histogram
	// n counts requests, including requests that could not be sent (a
	// missing variable) and so have no duration.
	n int64
	// timed counts requests with a duration; sumUs is their sum.
	timed int64
	sumUs int64
}

func (c *reqCell) record(us int64, timed bool) {
	c.mu.Lock()
	c.n++
	if timed {
		c.timed++
		c.sumUs += us
		_ = c.h.RecordValue(us)
	}
	c.mu.Unlock()
}

// iterKey identifies iteration statistics.
type iterKey struct {
	stage int
	flow  int
}

type iterCell struct {
	key   iterKey
	mu    sync.Mutex
	h     *hdrhistogram.Histogram
	n     int64
	sumUs int64
}

func (c *iterCell) record(us int64) {
	c.mu.Lock()
	c.n++
	c.sumUs += us
	_ = c.h.RecordValue(us)
	c.mu.Unlock()
}

// checkKey identifies check statistics.
type checkKey struct {
	stage    int
	flow     int
	endpoint string
	method   string
	check    string
}

type checkCell struct {
	key        checkKey
	pass, fail atomic.Int64
}

// stats holds every cell of the run. Cells are created on first use and
// cached by the callers, so the map lookups are off the hot path.
type stats struct {
	mu     sync.Mutex
	req    map[reqKey]*reqCell
	iter   map[iterKey]*iterCell
	checks map[checkKey]*checkCell
}

func newStats() *stats {
	return &stats{req: map[reqKey]*reqCell{}, iter: map[iterKey]*iterCell{}, checks: map[checkKey]*checkCell{}}
}

func (s *stats) reqCell(k reqKey) *reqCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.req[k]
	if !ok {
		c = &reqCell{key: k, h: newHDR()}
		s.req[k] = c
	}
	return c
}

func (s *stats) iterCell(k iterKey) *iterCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.iter[k]
	if !ok {
		c = &iterCell{key: k, h: newHDR()}
		s.iter[k] = c
	}
	return c
}

func (s *stats) checkCell(k checkKey) *checkCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.checks[k]
	if !ok {
		c = &checkCell{key: k}
		s.checks[k] = c
	}
	return c
}

// reqCells returns a snapshot of the request cells.
func (s *stats) reqCells() []*reqCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*reqCell, 0, len(s.req))
	for _, c := range s.req {
		out = append(out, c)
	}
	return out
}

func (s *stats) iterCells() []*iterCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*iterCell, 0, len(s.iter))
	for _, c := range s.iter {
		out = append(out, c)
	}
	return out
}

func (s *stats) checkCells() []*checkCell {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*checkCell, 0, len(s.checks))
	for _, c := range s.checks {
		out = append(out, c)
	}
	return out
}

// agg merges cells into one distribution.
type agg struct {
	h     *hdrhistogram.Histogram
	n     int64
	errs  int64
	timed int64
	sumUs int64
}

func newAgg() *agg { return &agg{h: newHDR()} }

func (a *agg) addReq(c *reqCell) {
	c.mu.Lock()
	a.h.Merge(c.h)
	a.n += c.n
	a.timed += c.timed
	a.sumUs += c.sumUs
	if isFailure(c.key.status) {
		a.errs += c.n
	}
	c.mu.Unlock()
}

func (a *agg) addIter(c *iterCell) {
	c.mu.Lock()
	a.h.Merge(c.h)
	a.n += c.n
	a.timed += c.n
	a.sumUs += c.sumUs
	c.mu.Unlock()
}

// isFailure says whether a status counts as a failed request: a transport
// error or an HTTP status of 400 or more.
func isFailure(status int) bool { return status == statusError || status >= 400 }

// quantileMs returns the q-quantile (0…1) in milliseconds.
func (a *agg) quantileMs(q float64) float64 {
	if a.h.TotalCount() == 0 {
		return 0
	}
	return usToMs(a.h.ValueAtQuantile(q * 100))
}

func (a *agg) maxMs() float64 {
	if a.h.TotalCount() == 0 {
		return 0
	}
	return usToMs(a.h.Max())
}

func (a *agg) minMs() float64 {
	if a.h.TotalCount() == 0 {
		return 0
	}
	return usToMs(a.h.Min())
}

func (a *agg) meanMs() float64 {
	if a.timed == 0 {
		return 0
	}
	return float64(a.sumUs) / float64(a.timed) / 1000
}

func (a *agg) errorRate() float64 {
	if a.n == 0 {
		return 0
	}
	return float64(a.errs) / float64(a.n)
}

func usToMs(us int64) float64 { return float64(us) / 1000 }

// window accumulates every request of a short interval (one tick) for the
// series and for live statistics.
type window struct {
	h       *hdrhistogram.Histogram
	n       int64
	errs    int64
	timed   int64
	sumUs   int64
	dropped int64
	// busyUs and busyN sum how long open-model VUs were busy per
	// iteration, for Little's law.
	busyUs, busyN int64
	// dur is the interval the window covers.
	dur time.Duration
}

func newWindow() *window { return &window{h: newHDR()} }

func (w *window) reset() {
	w.h.Reset()
	w.n, w.errs, w.timed, w.sumUs, w.dropped, w.dur = 0, 0, 0, 0, 0, 0
	w.busyUs, w.busyN = 0, 0
}

func (w *window) merge(o *window) {
	w.h.Merge(o.h)
	w.n += o.n
	w.errs += o.errs
	w.timed += o.timed
	w.sumUs += o.sumUs
	w.dropped += o.dropped
	w.busyUs += o.busyUs
	w.busyN += o.busyN
	w.dur += o.dur
}

func (w *window) quantileMs(q float64) float64 {
	if w.h.TotalCount() == 0 {
		return 0
	}
	return usToMs(w.h.ValueAtQuantile(q * 100))
}

func (w *window) meanMs() float64 {
	if w.timed == 0 {
		return 0
	}
	return float64(w.sumUs) / float64(w.timed) / 1000
}

func (w *window) rps() float64 {
	if w.dur <= 0 {
		return 0
	}
	return float64(w.n) / w.dur.Seconds()
}

func (w *window) errorRate() float64 {
	if w.n == 0 {
		return 0
	}
	return float64(w.errs) / float64(w.n)
}

// liveRing is how many one-second windows live statistics look back over.
const liveRing = 5

// windows records the current tick and keeps the last few for Live and the
// series accumulator.
type windows struct {
	mu  sync.Mutex
	cur *window
	// curStart is when the current tick began (monotonic).
	curStart time.Time

	// Completed ticks, guarded by ringMu.
	ringMu sync.Mutex
	ring   [liveRing]*window
	next   int
	series *window
}

func newWindows(start time.Time) *windows {
	w := &windows{cur: newWindow(), curStart: start, series: newWindow()}
	for i := range w.ring {
		w.ring[i] = newWindow()
	}
	return w
}

func (w *windows) record(us int64, timed, failed bool) {
	w.mu.Lock()
	c := w.cur
	c.n++
	if failed {
		c.errs++
	}
	if timed {
		c.timed++
		c.sumUs += us
		_ = c.h.RecordValue(us)
	}
	w.mu.Unlock()
}

func (w *windows) busy(d time.Duration) {
	w.mu.Lock()
	w.cur.busyUs += d.Microseconds()
	w.cur.busyN++
	w.mu.Unlock()
}

func (w *windows) drop() {
	w.mu.Lock()
	w.cur.dropped++
	w.mu.Unlock()
}

// rotate closes the current tick at now, moving it into the ring and the
// series accumulator.
func (w *windows) rotate(now time.Time) {
	w.ringMu.Lock()
	defer w.ringMu.Unlock()
	spare := w.ring[w.next]
	spare.reset()
	w.mu.Lock()
	done := w.cur
	done.dur = now.Sub(w.curStart)
	w.cur = spare
	w.curStart = now
	w.mu.Unlock()
	w.ring[w.next] = done
	w.next = (w.next + 1) % liveRing
	w.series.merge(done)
}

// takeSeries returns the accumulated series window and starts a new one.
func (w *windows) takeSeries() *window {
	w.ringMu.Lock()
	defer w.ringMu.Unlock()
	s := w.series
	w.series = newWindow()
	return s
}

// live merges the last completed ticks.
func (w *windows) live() *window {
	out := newWindow()
	w.ringMu.Lock()
	defer w.ringMu.Unlock()
	for _, r := range w.ring {
		out.merge(r)
	}
	return out
}

// lagRecorder records how late open-model iterations start.
type lagRecorder struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func (l *lagRecorder) record(d time.Duration) {
	l.mu.Lock()
	_ = l.h.RecordValue(durUs(d))
	l.mu.Unlock()
}
