package loadgen

import (
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The schedule-corrected view (wrk2's): an open-model executor whose VU cap
// binds drops the iterations that find every VU busy, so the latencies of
// the iterations that ran describe a load the schedule did not ask for. In
// the corrected view every scheduled iteration waits in schedule order for
// the next VU that becomes free, as wrk2 queues requests behind busy
// connections. The iterations that ran are the slots in which VUs served
// that queue: the n-th iteration to start serves the n-th oldest scheduled
// one, and its first request carries the wait between the two scheduled
// starts. Iterations still queued at the end are served, by estimate, at
// the rate VUs became free towards the end, each taking the recent service
// time.

// maxCorrectedQueue bounds the queue of scheduled iterations waiting for a
// slot (32 MiB); iterations beyond it are left out of the corrected view and
// counted in schedQueue.lost.
const maxCorrectedQueue = 1 << 22

// recentSlots is how many of the latest slots estimate the serving rate and
// service time at the end of the run.
const recentSlots = 256

// queued is one scheduled iteration waiting for a slot.
type queued struct {
	// at is its scheduled start as an offset from the executor's base.
	at    time.Duration
	stage *stageRT
}

// schedQueue is an open-model executor's queue of scheduled iterations in
// schedule order.
type schedQueue struct {
	mu   sync.Mutex
	q    []queued
	head int
	lost int64
	// slotAt and service are rings of the latest slots: when a VU took an
	// iteration (offset from the executor's base) and how long it was busy.
	slotAt   [recentSlots]time.Duration
	service  [recentSlots]time.Duration
	slots    int
	services int
}

// push queues a scheduled iteration.
func (s *schedQueue) push(at time.Duration, st *stageRT) {
	s.mu.Lock()
	if len(s.q)-s.head >= maxCorrectedQueue {
		s.lost++
		s.mu.Unlock()
		return
	}
	if s.head > 0 && s.head >= len(s.q)/2 && len(s.q) == cap(s.q) {
		n := copy(s.q, s.q[s.head:])
		s.q = s.q[:n]
		s.head = 0
	}
	s.q = append(s.q, queued{at: at, stage: st})
	s.mu.Unlock()
}

// take is a slot: a VU starts an iteration at offset now. It returns the
// oldest queued iteration, which the slot serves in the corrected view.
func (s *schedQueue) take(now time.Duration) (queued, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slotAt[s.slots%recentSlots] = now
	s.slots++
	if s.head == len(s.q) {
		return queued{}, false
	}
	q := s.q[s.head]
	s.q[s.head] = queued{}
	s.head++
	return q, true
}

// served records how long a VU was busy with the iteration of a slot.
func (s *schedQueue) served(d time.Duration) {
	s.mu.Lock()
	s.service[s.services%recentSlots] = d
	s.services++
	s.mu.Unlock()
}

// drain estimates the corrected latency of every iteration still queued at
// offset end and records it in its stage's corrected histogram.
func (s *schedQueue) drain(end time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(s.slots, recentSlots)
	var gap, service time.Duration
	if n >= 2 {
		last := s.slotAt[(s.slots-1)%recentSlots]
		first := s.slotAt[(s.slots-n)%recentSlots]
		gap = (last - first) / time.Duration(n-1)
	}
	if m := min(s.services, recentSlots); m > 0 {
		var sum time.Duration
		for i := 0; i < m; i++ {
			sum += s.service[i]
		}
		service = sum / time.Duration(m)
	}
	for i, q := range s.q[s.head:] {
		// With no slot to go by, the wait until the end is a lower bound.
		at := end + time.Duration(i+1)*gap
		q.stage.corr.record(at-q.at+service, true)
	}
	s.q, s.head = nil, 0
}

// corrHist is a stage's schedule-corrected latency histogram.
type corrHist struct {
	mu        sync.Mutex
	h         *hdrhistogram.Histogram
	estimated int64
}

func newCorrHist() *corrHist { return &corrHist{h: newHDR()} }

func (c *corrHist) record(d time.Duration, estimated bool) {
	c.mu.Lock()
	_ = c.h.RecordValue(durUs(d))
	if estimated {
		c.estimated++
	}
	c.mu.Unlock()
}
