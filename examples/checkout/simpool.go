package checkout

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/headroom-sh/headroom/examples/internal/serving"
)

// errSimPoolTimeout is returned when a simulated Redis acquire waits longer
// than the pool timeout, like go-redis's ErrPoolTimeout.
var errSimPoolTimeout = errors.New("simulated connection pool timeout")

// simPool is a bounded pool of simulated connections with FIFO waiters. It
// keeps the statistics of both puddle (behind pgxpool) and go-redis's pool,
// with the same meaning, so the sim backend can export pgxpool_* and
// go_redis_pool_* series that read exactly like the real ones:
//
//   - connections are created lazily, up to max, and then kept idle;
//   - an acquire that finds an idle connection is a hit; one that creates a
//     connection is a miss and (as in puddle) an empty acquire;
//   - an acquire that finds every connection in use queues behind earlier
//     waiters (FIFO) and, once handed a released connection, counts as an
//     empty acquire, a wait and a hit;
//   - acquire duration is the time from asking to holding, summed over
//     successful acquires, so its rate is the pool's queueing.
//
// Creating a simulated connection takes no time.
type simPool struct {
	max int
	// timeout bounds a wait for a connection; zero waits until the
	// context ends (pgxpool), non-zero is go-redis's PoolTimeout.
	timeout time.Duration

	mu       sync.Mutex
	acquired int
	idle     int
	waiters  list.List // of *simWaiter, oldest first
	st       simPoolStats
}

// simWaiter is one queued acquire.
type simWaiter struct {
	ready   chan struct{}
	granted bool // set under simPool.mu when a connection was handed over
}

// simPoolStats is a snapshot of a simPool.
type simPoolStats struct {
	// Max is the pool size.
	Max int
	// Acquired is the number of connections in use.
	Acquired int
	// Idle is the number of open connections not in use.
	Idle int
	// Total is Acquired + Idle.
	Total int
	// Waiting is the number of queued acquires.
	Waiting int

	// AcquireCount counts successful acquires.
	AcquireCount int64
	// EmptyAcquireCount counts successful acquires that found no idle
	// connection (they created one or waited).
	EmptyAcquireCount int64
	// CanceledAcquireCount counts acquires abandoned because their
	// context ended.
	CanceledAcquireCount int64
	// Timeouts counts acquires that gave up after the pool timeout.
	Timeouts int64
	// NewConns counts connections created.
	NewConns int64
	// Hits counts acquires served by an idle or released connection.
	Hits int64
	// Misses counts acquires that had to create a connection.
	Misses int64
	// WaitCount counts successful acquires that queued.
	WaitCount int64
	// AcquireDuration sums the time from asking to holding over
	// successful acquires.
	AcquireDuration time.Duration
	// EmptyAcquireWaitTime sums that time over empty acquires only.
	EmptyAcquireWaitTime time.Duration
	// WaitDuration sums that time over queued acquires only.
	WaitDuration time.Duration
}

// newSimPool returns an empty pool of at most size connections.
func newSimPool(size int, timeout time.Duration) *simPool {
	return &simPool{max: size, timeout: timeout}
}

// acquire takes a connection, waiting in FIFO order when all are in use.
// The caller must call release exactly once after a nil error.
func (p *simPool) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		p.mu.Lock()
		p.st.CanceledAcquireCount++
		p.mu.Unlock()
		return err
	}
	start := time.Now()

	p.mu.Lock()
	// Queued acquires go first: a newcomer may only take a free slot when
	// nobody is waiting for one.
	if p.waiters.Len() == 0 && p.acquired < p.max {
		p.acquired++
		d := time.Since(start)
		p.st.AcquireCount++
		p.st.AcquireDuration += d
		if p.idle > 0 {
			p.idle--
			p.st.Hits++
		} else {
			p.st.NewConns++
			p.st.Misses++
			p.st.EmptyAcquireCount++
			p.st.EmptyAcquireWaitTime += d
		}
		p.mu.Unlock()
		return nil
	}
	w := &simWaiter{ready: make(chan struct{})}
	el := p.waiters.PushBack(w)
	p.mu.Unlock()

	var expired <-chan time.Time
	if p.timeout > 0 {
		t := time.NewTimer(p.timeout)
		defer t.Stop()
		expired = t.C
	}

	var err error
	select {
	case <-w.ready:
		d := time.Since(start)
		p.mu.Lock()
		p.st.AcquireCount++
		p.st.AcquireDuration += d
		p.st.EmptyAcquireCount++
		p.st.EmptyAcquireWaitTime += d
		p.st.WaitCount++
		p.st.WaitDuration += d
		p.st.Hits++
		p.mu.Unlock()
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-expired:
		err = errSimPoolTimeout
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if w.granted {
		// A connection was handed over just as the wait ended: pass it on.
		p.releaseLocked()
	} else {
		p.waiters.Remove(el)
	}
	if errors.Is(err, errSimPoolTimeout) {
		p.st.Timeouts++
	} else {
		p.st.CanceledAcquireCount++
	}
	return err
}

// release returns a connection, handing it straight to the oldest waiter
// if there is one.
func (p *simPool) release() {
	p.mu.Lock()
	p.releaseLocked()
	p.mu.Unlock()
}

func (p *simPool) releaseLocked() {
	if front := p.waiters.Front(); front != nil {
		w := p.waiters.Remove(front).(*simWaiter)
		w.granted = true
		close(w.ready)
		return
	}
	p.acquired--
	p.idle++
}

// hold acquires a connection, keeps it for d (the simulated work), then
// runs fn while still holding it and releases it. Like a transaction that
// commits at the end, fn does not run when ctx ends during the hold.
func (p *simPool) hold(ctx context.Context, d time.Duration, fn func() error) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.release()
	if err := serving.Sleep(ctx, d); err != nil {
		return err
	}
	if fn == nil {
		return nil
	}
	return fn()
}

// stats returns a snapshot of the pool's statistics.
func (p *simPool) stats() simPoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.st
	s.Max = p.max
	s.Acquired = p.acquired
	s.Idle = p.idle
	s.Total = p.acquired + p.idle
	s.Waiting = p.waiters.Len()
	return s
}
