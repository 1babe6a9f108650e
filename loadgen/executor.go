package loadgen

import (
	"context"
	"sync"
	"time"
)

// enterStage marks stage i of e as running.
func (r *Runner) enterStage(e *execRT, i int) {
	st := e.stages[i]
	e.cur.Store(int32(i))
	st.started.Store(true)
	st.noteVUs(e.vus.Load())
	st.active.Set(1)
}

// waitStart waits for the executor's start time; false when the run stopped
// first.
func (r *Runner) waitStart(e *execRT, t *time.Timer) bool {
	if e.startTime > 0 && !r.sleepUntil(t, e.startTime) {
		return false
	}
	if r.isStopping() {
		return false
	}
	e.begun.Store(true)
	return true
}

// activation is one period during which a closed-model VU is active.
type activation struct {
	v *vu
	// rampDown is closed when the VU is removed by a ramp-down: it finishes
	// its iteration within gracefulRampDown.
	rampDown chan struct{}
	cancel   context.CancelFunc
}

// runClosed runs a ramping-vus or constant-vus executor: VUs loop over
// iterations, and their number follows the stages.
func (r *Runner) runClosed(e *execRT) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer e.stopNow()
	if !r.waitStart(e, timer) {
		return
	}
	ctx, cancel := context.WithCancel(r.hardCtx)
	defer cancel()

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		free   []*vu
		active []*activation
	)
	take := func() *vu {
		mu.Lock()
		defer mu.Unlock()
		if n := len(free); n > 0 {
			v := free[n-1]
			free = free[:n-1]
			return v
		}
		return nil
	}
	add := func() {
		v := take()
		if v == nil {
			v = r.newVU(e)
		}
		vctx, vcancel := context.WithCancel(ctx)
		a := &activation{v: v, rampDown: make(chan struct{}), cancel: vcancel}
		active = append(active, a)
		r.addVUs(e, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.closedLoop(vctx, e, v, a.rampDown)
			vcancel()
			r.addVUs(e, -1)
			mu.Lock()
			free = append(free, v)
			mu.Unlock()
		}()
	}
	remove := func() {
		a := active[len(active)-1]
		active[len(active)-1] = nil
		active = active[:len(active)-1]
		close(a.rampDown)
		time.AfterFunc(e.gracefulRampDown, a.cancel)
	}
	setVUs := func(n int) {
		for len(active) < n {
			add()
		}
		for len(active) > n {
			remove()
		}
	}

	stopped := false
	for i, seg := range e.segs {
		r.enterStage(e, i)
		st := e.stages[i]
		for {
			off := r.elapsed() - e.startTime
			if off >= seg.start+seg.dur {
				break
			}
			want, next := seg.vusAt(off)
			setVUs(r.cfg.Shard.Share(want))
			st.noteVUs(e.vus.Load())
			if !r.sleepUntil(timer, e.startTime+next) {
				stopped = true
				break
			}
		}
		if stopped {
			break
		}
		if i == len(e.segs)-1 {
			break
		}
		st.active.Set(0)
	}
	// The executor's end: VUs finish their iteration within gracefulStop
	// (or the run's grace period after an interrupt), then are cancelled.
	e.stopNow()
	for _, a := range active {
		close(a.rampDown)
	}
	e.stage().active.Set(0)
	waitGrace(&wg, e.gracefulStop, cancel)
	// Every VU goroutine has ended and put its VU back in free.
	for _, v := range free {
		v.dropConn()
	}
}

// waitGrace waits for wg, cancelling after grace.
func waitGrace(wg *sync.WaitGroup, grace time.Duration, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		cancel()
		<-done
	}
}

// closedLoop runs iterations back to back until the VU is ramped down, the
// executor stops or the run is interrupted.
func (r *Runner) closedLoop(ctx context.Context, e *execRT, v *vu, rampDown <-chan struct{}) {
	for !closed(rampDown) && !closed(e.stop) && ctx.Err() == nil {
		v.iteration(ctx, e, time.Time{})
	}
}

// closed says whether c is closed (it carries no values). Checking each
// channel on its own takes no lock while it is open, where one select over
// several channels locks them all.
func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// job is one scheduled iteration of an open-model executor.
type job struct {
	// scheduled is when the iteration was due (monotonic); at is the same
	// as an offset from the executor's start.
	scheduled time.Time
	at        time.Duration
}

// runOpen runs an arrival-rate executor: iterations start on a schedule
// computed from the rate integral, whatever the response times, on idle VUs
// up to maxVUs; an iteration that finds every VU busy is dropped.
func (r *Runner) runOpen(e *execRT) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer e.stopNow()
	if !r.waitStart(e, timer) {
		return
	}
	ctx, cancel := context.WithCancel(r.hardCtx)
	defer cancel()

	var wg sync.WaitGroup
	// idle holds the VUs waiting for an iteration. A VU is in idle before
	// its goroutine runs, so preallocated VUs are ready at once.
	idle := make(chan *openVU, max(e.maxVUs, 1))
	allocated := 0
	spawn := func() *openVU {
		ov := &openVU{vu: r.newVU(e), jobs: make(chan job, 1)}
		allocated++
		r.addVUs(e, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.openLoop(ctx, e, ov, idle)
		}()
		return ov
	}
	for i := 0; i < e.preAlloc; i++ {
		idle <- spawn()
	}
	base := r.startMono.Add(e.startTime)
	for i, seg := range e.segs {
		if !r.sleepUntil(timer, e.startTime+seg.start) {
			break
		}
		r.enterStage(e, i)
		st := e.stages[i]
		ok := seg.each(func(k int64, at time.Duration) bool {
			if !r.cfg.Shard.Owns(k) {
				return true
			}
			due := e.startTime + at
			if d := due - r.elapsed(); d > 0 {
				if !r.sleepUntil(timer, due) {
					return false
				}
			} else if r.isStopping() {
				return false
			}
			j := job{scheduled: base.Add(at), at: at}
			st.scheduled.Add(1)
			e.queue.push(at, st)
			select {
			case ov := <-idle:
				ov.jobs <- j
			default:
				if allocated < e.maxVUs {
					spawn().jobs <- j
				} else {
					r.dropIteration(st)
				}
			}
			return true
		})
		if !ok || !r.sleepUntil(timer, e.startTime+seg.start+seg.dur) {
			break
		}
		if i < len(e.segs)-1 {
			st.active.Set(0)
		}
	}
	e.stopNow()
	e.stage().active.Set(0)
	waitGrace(&wg, e.gracefulStop, cancel)
	e.queue.drain(r.elapsed() - e.startTime)
}

func (r *Runner) dropIteration(st *stageRT) {
	st.dropped.Add(1)
	st.droppedCounter.Inc()
	r.nDropped.Add(1)
	r.win.drop()
}

// openVU is a VU of an open-model executor with its mailbox.
type openVU struct {
	*vu
	jobs chan job
}

// openLoop runs the iterations handed to an open-model VU and puts it back
// in idle after each.
func (r *Runner) openLoop(ctx context.Context, e *execRT, ov *openVU, idle chan<- *openVU) {
	defer r.addVUs(e, -1)
	defer ov.dropConn()
	for {
		select {
		case j := <-ov.jobs:
			now := r.now()
			e.lag.record(now.Sub(j.scheduled))
			// The slot serves the oldest scheduled iteration in the
			// schedule-corrected view.
			if q, ok := e.queue.take(now.Sub(r.startMono) - e.startTime); ok {
				ov.corr, ov.corrShift = q.stage.corr, j.at-q.at
			}
			ov.iteration(ctx, e, j.scheduled)
			ov.corr, ov.corrShift = nil, 0
			busy := time.Since(now)
			e.queue.served(busy)
			e.busyUs.Add(busy.Microseconds())
			e.busyN.Add(1)
			r.win.busy(busy)
			idle <- ov
		case <-e.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}
