package shapes

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

func serve(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	srv, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return srv, "http://" + ln.Addr().String()
}

// hammer sends requests from n clients for d and returns the successful
// requests per second and the count of each status.
func hammer(t *testing.T, url string, n int, d time.Duration) (float64, map[int]int64) {
	t.Helper()
	var ok atomic.Int64
	var mu sync.Mutex
	codes := map[int]int64{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				resp, err := client.Get(url)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()) / d.Seconds(), codes
}

func TestThePoolTargetCarriesItsCapacityByConstruction(t *testing.T) {
	if testing.Short() {
		t.Skip("drives load for two seconds")
	}
	srv, url := serve(t, Config{Shape: Pool, PoolSize: 4, Hold: 20 * time.Millisecond})
	want := srv.Config().Capacity(0)
	if want != 200 {
		t.Fatalf("capacity by construction %.1f, want 4 / 20 ms = 200", want)
	}
	got, _ := hammer(t, url+"/work", 12, 2*time.Second)
	t.Logf("measured %.1f requests/s, %.0f by construction", got, want)
	if math.Abs(got/want-1) > 0.15 {
		t.Errorf("measured %.1f requests/s with 12 clients, want %.0f ± 15%%", got, want)
	}
	body := scrape(t, url)
	for _, s := range []string{`go_sql_stats_connections_max_open{db_name="shapes"} 4`, "go_sql_stats_connections_in_use", "go_sql_stats_connections_blocked_seconds", "http_server_requests_in_flight"} {
		if !strings.Contains(body, s) {
			t.Errorf("/metrics lacks %s", s)
		}
	}
}

func TestTheShedTargetAnswers503AtOnceWhenFull(t *testing.T) {
	// One connection held 300 ms and one place in the queue: of three
	// requests sent together, one is shed at once and two are served.
	_, url := serve(t, Config{Shape: Shed, PoolSize: 1, Hold: 300 * time.Millisecond, Jitter: 0.01})
	type result struct {
		code int
		took time.Duration
	}
	results := make(chan result, 3)
	for range 3 {
		go func() {
			start := time.Now()
			resp, err := http.Get(url + "/work")
			if err != nil {
				t.Error(err)
				results <- result{}
				return
			}
			resp.Body.Close()
			results <- result{resp.StatusCode, time.Since(start)}
		}()
	}
	codes := map[int]int{}
	for range 3 {
		r := <-results
		codes[r.code]++
		if r.code == http.StatusServiceUnavailable && r.took > 150*time.Millisecond {
			t.Errorf("the shed request took %s, want an answer at once", r.took)
		}
	}
	if codes[http.StatusOK] != 2 || codes[http.StatusServiceUnavailable] != 1 {
		t.Errorf("statuses %v, want two 200 and one 503", codes)
	}
}

func TestTheCPUTargetIsThrottledAtItsQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("drives load for two seconds")
	}
	srv, url := serve(t, Config{Shape: CPU, CPUQuota: 0.1, CPUWork: 2 * time.Millisecond})
	want := srv.Config().Capacity(0)
	if want != 50 {
		t.Fatalf("capacity by construction %.1f, want 0.1 core / 2 ms = 50", want)
	}
	got, _ := hammer(t, url+"/work", 6, 2*time.Second)
	t.Logf("measured %.1f requests/s, %.0f by construction", got, want)
	if math.Abs(got/want-1) > 0.15 {
		t.Errorf("measured %.1f requests/s with 6 clients, want %.0f ± 15%%", got, want)
	}
	body := scrape(t, url)
	for _, s := range []string{"container_cpu_usage_seconds_total{", `container_spec_cpu_quota{container="shapes",namespace="default",pod="shapes-cpu"} 10000`,
		"container_spec_cpu_period{", "container_cpu_cfs_throttled_periods_total{"} {
		if !strings.Contains(body, s) {
			t.Errorf("/metrics lacks %s", s)
		}
	}
	srv.cpu.mu.Lock()
	periods, throttled := srv.cpu.periods, srv.cpu.throttledPeriods
	srv.cpu.mu.Unlock()
	if periods < 15 || float64(throttled) < 0.5*float64(periods) {
		t.Errorf("%d of %d periods throttled under six clients, want most", throttled, periods)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTheRetrogradeCapacityIsThePeakOfItsUSLCurve(t *testing.T) {
	cfg, err := Config{Shape: Retrograde}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	best, bestN := 0.0, 0.0
	for n := 1.0; n <= 100; n += 0.01 {
		if x := n / usl(cfg.Hold, cfg.Sigma, cfg.Kappa, n).Seconds(); x > best {
			best, bestN = x, n
		}
	}
	if got := cfg.Capacity(0); math.Abs(got-best) > 0.5 {
		t.Errorf("capacity %.2f, the curve's maximum is %.2f at n = %.2f", got, best, bestN)
	}
	if math.Abs(bestN-15.65) > 0.05 {
		t.Errorf("peak at n = %.2f, want √(0.98/0.004) ≈ 15.65", bestN)
	}
	if at64 := 64 / usl(cfg.Hold, cfg.Sigma, cfg.Kappa, 64).Seconds(); at64 > 0.6*best {
		t.Errorf("throughput at 64 in flight %.0f, want well below the peak %.0f", at64, best)
	}
}

func TestTheRateMeterCountsTheLastSecond(t *testing.T) {
	now := time.Unix(1000, 0)
	m := newRateMeter(func() time.Time { return now })
	for range 50 {
		m.add()
		now = now.Add(10 * time.Millisecond)
	}
	// The window covers 0.9 to 1 s, so the estimate is within 12%.
	if r := m.rate(); math.Abs(r/50-1) > 0.12 {
		t.Errorf("50 requests in 0.5 s: rate %v over the last second, want 50 ± 12%%", r)
	}
	now = now.Add(2 * time.Second)
	if r := m.rate(); r != 0 {
		t.Errorf("two idle seconds later: rate %v, want 0", r)
	}
}

func TestConfigErrorsNameWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"an unknown shape lists the shapes", Config{Shape: "disk"}, "unknown shape \"disk\""},
		{"the redis shape needs a server", Config{Shape: Redis}, "redis-server address"},
		{"jitter is a fraction below 1", Config{Shape: Pool, Jitter: 1.5}, "jitter 1.5"},
		{"a negative pool is refused", Config{Shape: Pool, PoolSize: -1}, "pool size -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.WithDefaults()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestScenariosRampSmoothlyOrInSixHeldSteps(t *testing.T) {
	cfg, err := Config{Shape: Flow}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := cfg.Scenario("http://127.0.0.1:1", LoadOptions{Style: Coarse, Model: Closed})
	if err != nil {
		t.Fatal(err)
	}
	ex := sc.Executors[0]
	if ex.Type != model.ExecutorRampingVUs || len(ex.Stages) != 12 {
		t.Fatalf("coarse closed ramp: %s with %d stages, want ramping-vus with 12 (6 steps, 6 holds)", ex.Type, len(ex.Stages))
	}
	var total time.Duration
	for i, st := range ex.Stages {
		total += time.Duration(st.Duration)
		if i%2 == 1 && st.Target != ex.Stages[i-1].Target {
			t.Errorf("hold %s moves from %v to %v", st.Name, ex.Stages[i-1].Target, st.Target)
		}
	}
	if total != DefaultRamp || ex.Stages[11].Target != 36 {
		t.Errorf("ramp of %s to %v VUs, want %s to 36", total, ex.Stages[11].Target, DefaultRamp)
	}
	if len(sc.Flows[0].Steps) != 3 {
		t.Errorf("the flow has %d steps, want 3", len(sc.Flows[0].Steps))
	}

	open, err := cfg.Scenario("http://127.0.0.1:1", LoadOptions{Style: Smooth, Model: Open})
	if err != nil {
		t.Fatal(err)
	}
	oe := open.Executors[0]
	// 3 × 5 / 40 ms = 375 requests/s, 125 iterations/s: from 25 to 200.
	if oe.Type != model.ExecutorRampingArrivalRate || math.Abs(oe.StartRate-25) > 1e-9 || math.Abs(oe.Stages[0].Target-200) > 1e-9 {
		t.Errorf("open ramp %s from %v to %v iterations/s, want ramping-arrival-rate from 25 to 200", oe.Type, oe.StartRate, oe.Stages[0].Target)
	}

	retro, _ := Config{Shape: Retrograde}.WithDefaults()
	if _, err := retro.Scenario("http://127.0.0.1:1", LoadOptions{Model: Open}); err == nil {
		t.Error("the retrograde shape accepted the open model")
	}
}
