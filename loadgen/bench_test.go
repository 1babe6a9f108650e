package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// Speed and memory goals are benchmarks, not timed tests. Run them with
//
//	go test ./loadgen/ -run '^$' -bench . -benchtime 1x
//
// The load benchmarks send load to a server in a child process (this test
// binary re-executed with HEADROOM_BENCH_SERVER set), so that the client's
// own CPU and memory are what is measured.

// TestMain turns the test binary into the benchmark server when asked.
func TestMain(m *testing.M) {
	if addr := os.Getenv("HEADROOM_BENCH_SERVER"); addr != "" {
		serveBench(addr)
		return
	}
	os.Exit(m.Run())
}

func serveBench(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	body := []byte(`{"ok":true,"id":42}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	// The server stops when the parent closes stdin.
	go func() {
		buf := make([]byte, 1)
		_, _ = os.Stdin.Read(buf)
		os.Exit(0)
	}()
	_ = srv.Serve(ln)
}

// benchServer starts the benchmark server in a child process.
func benchServer(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HEADROOM_BENCH_SERVER=127.0.0.1:0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	buf := make([]byte, 64)
	n, err := out.Read(buf)
	if err != nil {
		b.Fatal(err)
	}
	return "http://" + strings.TrimSpace(string(buf[:n]))
}

// BenchmarkArrivalRate5000 holds 5,000 iterations/s for 10 s and reports
// the achieved rate, the scheduling lag and the dropped iterations.
func BenchmarkArrivalRate5000(b *testing.B) {
	target := benchServer(b)
	for i := 0; i < b.N; i++ {
		sc := getScenario(target, "/", constantRate(5000, 10*time.Second, 200, 2000))
		r, err := NewRunner(Config{Scenario: sc})
		if err != nil {
			b.Fatal(err)
		}
		run, err := r.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		st := run.Stages[0]
		b.ReportMetric(float64(st.Iterations)/st.End.Sub(st.Start).Seconds(), "it/s")
		b.ReportMetric(run.SchedulingLag.P50Ms, "lag-p50-ms")
		b.ReportMetric(run.SchedulingLag.P99Ms, "lag-p99-ms")
		b.ReportMetric(run.SchedulingLag.MaxMs, "lag-max-ms")
		b.ReportMetric(float64(run.DroppedIterations), "dropped")
		b.ReportMetric(run.Total.P99Ms, "latency-p99-ms")
	}
}

// BenchmarkClosedModel64VUs runs 64 VUs without think time for 10 s and
// reports requests/s, to compare with wrk -c 64 against the same server.
func BenchmarkClosedModel64VUs(b *testing.B) {
	target := benchServer(b)
	for i := 0; i < b.N; i++ {
		sc := getScenario(target, "/", constantVUs(64, 10*time.Second))
		r, err := NewRunner(Config{Scenario: sc})
		if err != nil {
			b.Fatal(err)
		}
		run, err := r.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(run.Total.RPS, "req/s")
		b.ReportMetric(run.Total.P99Ms, "latency-p99-ms")
		if wrk := os.Getenv("HEADROOM_TEST_WRK"); wrk != "" || fileExists("/usr/bin/wrk") {
			if wrk == "" {
				wrk = "/usr/bin/wrk"
			}
			out, err := exec.Command(wrk, "-t2", "-c64", "-d10s", target+"/").CombinedOutput()
			if err != nil {
				b.Fatalf("wrk: %v\n%s", err, out)
			}
			if rps := wrkRPS(string(out)); rps > 0 {
				b.ReportMetric(rps, "wrk-req/s")
				b.ReportMetric(run.Total.RPS/rps, "ratio-to-wrk")
			}
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// wrkRPS reads "Requests/sec: 12345.67" from wrk's output.
func wrkRPS(out string) float64 {
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "Requests/sec:"); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return f
		}
	}
	return 0
}

// BenchmarkIdleVUMemory starts 10,000 VUs that each make one request and
// then think for a minute, and reports the process's resident memory per
// VU (the goal is at most 16 KiB).
func BenchmarkIdleVUMemory(b *testing.B) {
	target := benchServer(b)
	for i := 0; i < b.N; i++ {
		runtime.GC()
		debug.FreeOSMemory()
		before := rssBytes(b)
		sc := getScenario(target, "/", constantVUs(10000, time.Minute))
		sc.Flows[0].Steps[0].Think = &model.Think{Duration: dur(time.Hour)}
		r, err := NewRunner(Config{Scenario: sc, GracePeriod: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan *model.Run)
		go func() {
			run, _ := r.Run(ctx)
			done <- run
		}()
		for r.Live().Requests < 10000 {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
		runtime.GC()
		debug.FreeOSMemory()
		after := rssBytes(b)
		cancel()
		<-done
		b.ReportMetric(float64(after-before)/10000, "rss-bytes/VU")
		b.ReportMetric(float64(after)/(1<<20), "rss-MiB")
	}
}

// rssBytes reads the resident set size from /proc/self/statm.
func rssBytes(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(data))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// startedByHand makes a runner of sc and sets it up as Run would, without
// starting any VU, so that a test can drive a VU's iterations itself: the
// first executor is in its first stage.
func startedByHand(tb testing.TB, sc *model.Scenario) (*Runner, *execRT) {
	tb.Helper()
	r, err := NewRunner(Config{Scenario: sc})
	if err != nil {
		tb.Fatal(err)
	}
	r.startMono = time.Now()
	r.win = newWindows(r.startMono)
	r.hardCtx, r.hardCancel = context.WithCancel(context.Background())
	tb.Cleanup(r.hardCancel)
	e := r.execs[0]
	r.enterStage(e, 0)
	return r, e
}

// BenchmarkRequest measures one VU's request path: allocations per request
// against an in-process server.
func BenchmarkRequest(b *testing.B) {
	target := benchServer(b)
	sc := getScenario(target, "/orders/{{randomInt(1, 1000)}}", constantVUs(1, time.Second))
	sc.Flows[0].Steps[0].Checks = []model.Check{{Status: []int{200}}}
	r, e := startedByHand(b, sc)
	v := r.newVU(e)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v.iteration(ctx, e, time.Time{})
	}
}
