package shapes

import (
	"context"
	"crypto/sha256"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// cpuPeriod is the CFS period the cpu target reports its quota against,
// in microseconds, as cAdvisor does (the kernel's default 100 ms).
const cpuPeriod = 100000

// cpuWorkers runs CPU work on at most cores goroutines at once: the
// target's CPU quota. Each burn is measured on its thread's own CPU clock,
// so a request costs the same CPU time however busy the host is.
type cpuWorkers struct {
	slots chan struct{}
	cores int
	// burned is the CPU time spent burning, in nanoseconds.
	burned atomic.Int64
	// ownProcess reports the process's CPU as the container's.
	ownProcess bool
}

func newCPUWorkers(cores int, ownProcess bool) (*cpuWorkers, error) {
	if _, err := threadCPUTime(); err != nil {
		return nil, err
	}
	return &cpuWorkers{slots: make(chan struct{}, cores), cores: cores, ownProcess: ownProcess}, nil
}

// burn waits for a worker, then keeps it busy for d of CPU time.
func (w *cpuWorkers) burn(ctx context.Context, d time.Duration) error {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-w.slots }()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, err := threadCPUTime()
	if err != nil {
		return err
	}
	var sum [32]byte
	used := time.Duration(0)
	for used < d {
		for range 64 {
			sum = sha256.Sum256(sum[:])
		}
		now, err := threadCPUTime()
		if err != nil {
			return err
		}
		used = now - start
	}
	w.burned.Add(int64(used))
	return nil
}

// collectors are the cAdvisor series of the target's container: its CPU
// usage and its quota. In its own process the usage is the process's CPU
// time (what the kernel would charge the container); in a shared process
// it is the CPU time the workers burned.
func (w *cpuWorkers) collectors() []prometheus.Collector {
	labels := prometheus.Labels{"container": "shapes", "pod": "shapes-cpu", "namespace": "default"}
	usage := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name:        "container_cpu_usage_seconds_total",
		Help:        "Cumulative CPU time consumed, in seconds.",
		ConstLabels: labels,
	}, func() float64 {
		if w.ownProcess {
			if t, err := processCPUTime(); err == nil {
				return t.Seconds()
			}
		}
		return time.Duration(w.burned.Load()).Seconds()
	})
	quota := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "container_spec_cpu_quota",
		Help:        "CPU quota of the container, in microseconds per period.",
		ConstLabels: labels,
	}, func() float64 { return float64(w.cores * cpuPeriod) })
	period := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "container_spec_cpu_period",
		Help:        "CPU period of the container, in microseconds.",
		ConstLabels: labels,
	}, func() float64 { return cpuPeriod })
	return []prometheus.Collector{usage, quota, period}
}
