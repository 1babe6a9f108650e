package shapes

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-sh/headroom/examples/internal/serving"
)

// cpuPeriod is the CFS period of the cpu target's quota, as the kernel's
// default: 100 ms.
const cpuPeriod = 100 * time.Millisecond

// cpuChunk is the CPU time burned between two looks at the quota.
const cpuChunk = 500 * time.Microsecond

// cpuWorkers burns CPU under a quota the way the kernel's CFS bandwidth
// control enforces a container's CPU limit: in each 100 ms period the
// workers may use quota × 100 ms of CPU; once it is used they are throttled
// until the next period. Work is measured on the thread's own CPU clock,
// so a request costs the same CPU time however busy the host is.
type cpuWorkers struct {
	quota float64 // cores
	// perIteration is the CPU time of one hash iteration.
	perIteration time.Duration
	ownProcess   bool
	now          func() time.Time

	mu sync.Mutex
	// periodStart is the start of the current period and used the CPU
	// burned in it; next is closed when the period ends for waiters.
	periodStart time.Time
	used        time.Duration
	throttled   bool // the current period ran out of quota
	// burned is all CPU burned; periods and throttledPeriods count the
	// periods with work and those that ran out, as cAdvisor's
	// container_cpu_cfs_periods_total and _throttled_periods_total.
	burned           time.Duration
	periods          int64
	throttledPeriods int64
}

func newCPUWorkers(quota float64, ownProcess bool) (*cpuWorkers, error) {
	per, err := calibrateHash()
	if err != nil {
		return nil, err
	}
	return &cpuWorkers{quota: quota, perIteration: per, ownProcess: ownProcess, now: time.Now}, nil
}

// hashIterations is the loop length timed by calibrateHash.
const hashIterations = 20000

// calibrateHash measures the CPU time of one hash iteration on the
// calling thread's CPU clock.
func calibrateHash() (time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := time.Duration(math.MaxInt64)
	var sum [32]byte
	for range 5 {
		start, err := threadCPUTime()
		if err != nil {
			return 0, err
		}
		for range hashIterations {
			sum = sha256.Sum256(sum[:])
		}
		end, err := threadCPUTime()
		if err != nil {
			return 0, err
		}
		best = min(best, end-start)
	}
	sink = sum[0]
	if best <= 0 {
		return 0, fmt.Errorf("the thread CPU clock did not move over %d hashes", hashIterations)
	}
	return best / hashIterations, nil
}

// sink keeps the calibration's hashes from being optimized away.
var sink byte

// budget is the CPU the quota allows per period.
func (w *cpuWorkers) budget() time.Duration {
	return time.Duration(w.quota * float64(cpuPeriod))
}

// take reserves d of CPU from the current period's quota, waiting for the
// next period while the quota is used up.
func (w *cpuWorkers) take(ctx context.Context, d time.Duration) error {
	for {
		w.mu.Lock()
		now := w.now()
		if w.periodStart.IsZero() || now.Sub(w.periodStart) >= cpuPeriod {
			// A new period: periods align to the first one, as the
			// kernel's timer does.
			if w.periodStart.IsZero() {
				w.periodStart = now
			} else {
				w.periodStart = w.periodStart.Add(now.Sub(w.periodStart).Truncate(cpuPeriod))
			}
			w.used, w.throttled = 0, false
			w.periods++
		}
		if w.used+d <= w.budget() || w.used == 0 {
			w.used += d
			w.burned += d
			w.mu.Unlock()
			return nil
		}
		if !w.throttled {
			w.throttled = true
			w.throttledPeriods++
		}
		wait := cpuPeriod - now.Sub(w.periodStart)
		w.mu.Unlock()
		if err := serving.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// burn spends d of CPU in chunks, each taken from the quota first and
// measured on the thread's CPU clock, so that a request costs d of CPU
// time even when a busy host (a hyperthread sibling, a cold cache) makes
// each hash dearer than at calibration.
func (w *cpuWorkers) burn(ctx context.Context, d time.Duration) error {
	for d > 0 {
		chunk := min(d, cpuChunk)
		if err := w.take(ctx, chunk); err != nil {
			return err
		}
		used, err := w.burnChunk(chunk)
		if err != nil {
			return err
		}
		if extra := used - chunk; extra > 0 {
			// Charge what the chunk really cost to the quota.
			w.mu.Lock()
			w.used += extra
			w.burned += extra
			w.mu.Unlock()
		}
		d -= used
	}
	return nil
}

// burnChunk hashes on one thread until it has used about d of CPU, and
// returns the CPU it used.
func (w *cpuWorkers) burnChunk(d time.Duration) (time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, err := threadCPUTime()
	if err != nil {
		return 0, err
	}
	// Most of the chunk at the calibrated cost, then the rest by the clock.
	var sum [32]byte
	n := int(d / w.perIteration * 3 / 4)
	for range n {
		sum = sha256.Sum256(sum[:])
	}
	for {
		now, err := threadCPUTime()
		if err != nil {
			return 0, err
		}
		if used := now - start; used >= d {
			sink = sum[0]
			return used, nil
		}
		for range 16 {
			sum = sha256.Sum256(sum[:])
		}
	}
}

// collectors are the cAdvisor series of the target's container: its CPU
// usage, its quota and its CFS periods. In its own process the usage is
// the process's CPU time, as the kernel would charge the container; in a
// shared process it is the CPU the workers burned.
func (w *cpuWorkers) collectors() []prometheus.Collector {
	labels := prometheus.Labels{"container": "shapes", "pod": "shapes-cpu", "namespace": "default"}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f)
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f)
	}
	locked := func(f func() float64) func() float64 {
		return func() float64 {
			w.mu.Lock()
			defer w.mu.Unlock()
			return f()
		}
	}
	return []prometheus.Collector{
		counter("container_cpu_usage_seconds_total", "Cumulative CPU time consumed, in seconds.", func() float64 {
			if w.ownProcess {
				if t, err := processCPUTime(); err == nil {
					return t.Seconds()
				}
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.burned.Seconds()
		}),
		gauge("container_spec_cpu_quota", "CPU quota of the container, in microseconds per period.",
			func() float64 { return w.quota * float64(cpuPeriod/time.Microsecond) }),
		gauge("container_spec_cpu_period", "CPU period of the container, in microseconds.",
			func() float64 { return float64(cpuPeriod / time.Microsecond) }),
		counter("container_cpu_cfs_periods_total", "Number of elapsed enforcement periods with work.",
			locked(func() float64 { return float64(w.periods) })),
		counter("container_cpu_cfs_throttled_periods_total", "Number of periods in which the container ran out of quota.",
			locked(func() float64 { return float64(w.throttledPeriods) })),
	}
}
