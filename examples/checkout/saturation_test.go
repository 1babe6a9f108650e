package checkout

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// phase is what a bounded burst of order creations did to the pool.
type phase struct {
	orders     int
	elapsed    time.Duration
	peak       float64 // highest pgxpool_acquired_conns seen
	acquires   float64 // pgxpool_acquire_count_total increase
	empty      float64 // pgxpool_empty_acquire_count_total increase
	waitTotal  float64 // pgxpool_acquire_duration_seconds_total increase, s
	latencySum float64 // order request duration sum increase, s
	latencyN   float64
}

// throughput is orders per second.
func (p phase) throughput() float64 { return float64(p.orders) / p.elapsed.Seconds() }

// meanWait is the mean time an acquire waited for a connection, in s.
func (p phase) meanWait() float64 { return p.waitTotal / p.acquires }

// meanLatency is the mean order request duration, in s.
func (p phase) meanLatency() float64 { return p.latencySum / p.latencyN }

func (p phase) String() string {
	return fmt.Sprintf("%d orders in %s (%.0f/s), peak acquired %v, %v acquires (%v empty), mean wait %.1f ms, mean latency %.1f ms",
		p.orders, p.elapsed.Round(time.Millisecond), p.throughput(), p.peak, p.acquires, p.empty, p.meanWait()*1000, p.meanLatency()*1000)
}

// driveOrders has every client create orders back to back until n orders
// were created in all, and reports the pool metrics' change.
func driveOrders(t *testing.T, srv *Server, clients []*apiClient, n int) phase {
	t.Helper()
	reg := srv.Registry()
	read := func() (acq, empty, wait, latSum float64, latN uint64) {
		s, c := histogramSum(t, reg, "http_server_request_duration_seconds", "/api/orders/create")
		return mustMetric(t, reg, "pgxpool_acquire_count_total"), mustMetric(t, reg, "pgxpool_empty_acquire_count_total"),
			mustMetric(t, reg, "pgxpool_acquire_duration_seconds_total"), s, c
	}
	acq0, empty0, wait0, lat0, latN0 := read()
	peak := samplePeak(reg, "pgxpool_acquired_conns")

	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
	)
	start := time.Now()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				code, body, err := c.try(http.MethodPost, "/api/orders/create", nil)
				if err != nil || code != http.StatusCreated {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("status %d, err %v, body %s", code, err, body))
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	p := phase{orders: n, elapsed: elapsed, peak: peak.Stop()}
	if len(failures) > 0 {
		t.Fatalf("%d order creations failed, first: %s", len(failures), failures[0])
	}
	acq1, empty1, wait1, lat1, latN1 := read()
	p.acquires, p.empty, p.waitTotal = acq1-acq0, empty1-empty0, wait1-wait0
	p.latencySum, p.latencyN = lat1-lat0, float64(latN1-latN0)
	return p
}

// TestPoolSaturation checks that on both backends the order rate is capped
// by PoolSize / OrderDBHold, and that past the cap the pool metrics show
// the queue: all connections acquired, acquires that found the pool empty,
// acquire wait and latency rising.
func TestPoolSaturation(t *testing.T) {
	const (
		poolSize  = 4
		hold      = 20 * time.Millisecond
		tolerance = 0.35
	)
	capacity := poolSize / hold.Seconds() // 200 orders/s

	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := b.open(t, Config{PoolSize: poolSize, RedisPoolSize: 16, OrderDBHold: hold})
			if got := srv.OrderCapacity(); math.Abs(got-capacity) > 1e-9 {
				t.Fatalf("OrderCapacity() = %v, want %v", got, capacity)
			}
			api := newTestClient(t, srv)
			clients := make([]*apiClient, 2*poolSize)
			for i := range clients {
				clients[i] = api.as(fmt.Sprintf("user%d", 100+i))
			}
			// Open the pool's connections so that connecting does not
			// count as waiting below.
			driveOrders(t, srv, clients[:poolSize], 2*poolSize)

			light := driveOrders(t, srv, clients[:poolSize/2], 30)
			heavy := driveOrders(t, srv, clients, 120)
			t.Logf("below capacity: %s", light)
			t.Logf("past capacity:  %s", heavy)

			// Below capacity the rate is set by the clients' own round
			// trips, not the pool, so only the saturated rate is checked.
			if got := heavy.throughput(); math.Abs(got-capacity) > tolerance*capacity {
				t.Errorf("past capacity the order rate is %.0f/s, want PoolSize/OrderDBHold = %.0f/s ± %.0f%%", got, capacity, tolerance*100)
			}
			if heavy.peak != poolSize {
				t.Errorf("past capacity pgxpool_acquired_conns peaked at %v, want the pool size %d", heavy.peak, poolSize)
			}
			if heavy.acquires < float64(heavy.orders) {
				t.Errorf("pgxpool_acquire_count_total rose by %v for %d orders", heavy.acquires, heavy.orders)
			}
			if heavy.empty < float64(heavy.orders)/2 {
				t.Errorf("past capacity only %v of %d acquires found the pool empty", heavy.empty, heavy.orders)
			}
			if light.meanWait() > hold.Seconds()/4 {
				t.Errorf("below capacity acquires waited %.1f ms on average, want under %.1f ms", light.meanWait()*1000, hold.Seconds()/4*1000)
			}
			// With 2n clients on n connections each order waits about one
			// hold (Little's law: 2n in system at n/hold per second).
			if w := heavy.meanWait(); w < hold.Seconds()/2 || w > 2*hold.Seconds() {
				t.Errorf("past capacity acquires waited %.1f ms on average, want about %v", w*1000, hold)
			}
			// The queueing shows in latency too: it rises by about the wait.
			// The light phase's latency is inflated by CPU contention on a
			// busy machine as much as the heavy phase's, so the rise is
			// compared with the wait measured in the same phase rather
			// than with the configured hold.
			if rise := heavy.meanLatency() - light.meanLatency(); rise < heavy.meanWait()/2 {
				t.Errorf("past capacity order latency rose by %.1f ms (%.1f → %.1f ms), want at least half the %.1f ms acquire wait",
					rise*1000, light.meanLatency()*1000, heavy.meanLatency()*1000, heavy.meanWait()*1000)
			}
		})
	}
}
