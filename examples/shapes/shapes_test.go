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
	if testing.Short() {
		t.Skip("drives load for two seconds")
	}
	srv, url := serve(t, Config{Shape: Shed, PoolSize: 4, Hold: 20 * time.Millisecond})
	want := srv.Config().Capacity(0)
	got, codes := hammer(t, url+"/work", 8, 2*time.Second)
	t.Logf("measured %.1f successful requests/s, %.0f by construction; statuses %v", got, want, codes)
	if codes[http.StatusServiceUnavailable] == 0 {
		t.Error("8 clients on 4 connections were never shed")
	}
	if got > 1.1*want || got < 0.7*want {
		t.Errorf("%.1f successful requests/s, want at most %.0f and not far below", got, want)
	}
}

func TestTheCPUTargetBurnsItsWorkAndReportsItsQuota(t *testing.T) {
	srv, url := serve(t, Config{Shape: CPU, Cores: 1, CPUWork: 5 * time.Millisecond, Jitter: 0.01})
	if got := srv.Config().Capacity(0); got != 200 {
		t.Fatalf("capacity by construction %.1f, want 1 core / 5 ms = 200", got)
	}
	for range 20 {
		resp, err := http.Get(url + "/work")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	burned := time.Duration(srv.cpu.burned.Load())
	if burned < 20*5*time.Millisecond*99/100 || burned > 20*5*time.Millisecond*103/100 {
		t.Errorf("20 requests burned %s of CPU, want about 100ms", burned)
	}
	body := scrape(t, url)
	for _, s := range []string{"container_cpu_usage_seconds_total{", `container_spec_cpu_quota{container="shapes",namespace="default",pod="shapes-cpu"} 100000`, "container_spec_cpu_period{"} {
		if !strings.Contains(body, s) {
			t.Errorf("/metrics lacks %s", s)
		}
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
	if r := m.rate(); r != 50 {
		t.Errorf("50 requests in 0.5 s: rate %v over the last second, want 50", r)
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
