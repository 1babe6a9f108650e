package shapes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// spinScript is the redis target's unit of work: a Lua loop of ARGV[1]
// iterations, run by Redis's single command thread.
var spinScript = redis.NewScript(`local x = 0
for i = 1, tonumber(ARGV[1]) do x = (x + i) % 1000003 end
return x`)

// calibrationIterations is the loop length timed to calibrate the work.
const calibrationIterations = 200000

// redisWork runs Lua loops that each take about one request's work.
type redisWork struct {
	rdb *redis.Client
	// perIteration is how long one loop iteration takes in redis-server.
	perIteration time.Duration
	// iterations is the loop length of the mean request.
	iterations int
}

// newRedisWork measures how much of Redis's CPU a loop iteration costs and
// sizes the loop so that a request takes work of it. The cost is read from
// Redis's own CPU counters (INFO cpu, main thread) around ten timed loops,
// so a busy host that delays Redis does not shrink the loop; without those
// counters it is the fastest of the loops' wall times.
func newRedisWork(ctx context.Context, rdb *redis.Client, work time.Duration) (*redisWork, error) {
	addr := rdb.Options().Addr
	if err := spinScript.Load(ctx, rdb).Err(); err != nil {
		return nil, fmt.Errorf("could not load the work script into Redis at %s: %w", addr, err)
	}
	const loops = 10
	cpuBefore, cpuErr := redisMainThreadCPU(ctx, rdb)
	best := time.Duration(0)
	for range loops {
		start := time.Now()
		if err := spinScript.Run(ctx, rdb, nil, calibrationIterations).Err(); err != nil {
			return nil, fmt.Errorf("could not run the work script in Redis at %s: %w", addr, err)
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
	}
	per := best / calibrationIterations
	if cpuErr == nil {
		if cpuAfter, err := redisMainThreadCPU(ctx, rdb); err == nil && cpuAfter > cpuBefore {
			per = (cpuAfter - cpuBefore) / (loops * calibrationIterations)
		}
	}
	if per <= 0 {
		per = time.Nanosecond
	}
	return &redisWork{rdb: rdb, perIteration: per, iterations: int(work / per)}, nil
}

// redisMainThreadCPU is the CPU time of Redis's main thread (user and
// system), from INFO cpu (Redis 6.2 and later).
func redisMainThreadCPU(ctx context.Context, rdb *redis.Client) (time.Duration, error) {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var total float64
	found := 0
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_user_main_thread" && k != "used_cpu_sys_main_thread") {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("INFO cpu: %s: %w", k, err)
		}
		total += f
		found++
	}
	if found != 2 {
		return 0, errors.New("INFO cpu has no main-thread CPU (Redis before 6.2)")
	}
	return time.Duration(total * float64(time.Second)), nil
}

// run has Redis work for about d.
func (w *redisWork) run(ctx context.Context, d time.Duration) error {
	n := max(1, int(d/w.perIteration))
	return spinScript.Run(ctx, w.rdb, nil, n).Err()
}

// Binaries the redis shape runs (Debian's packages redis-server and
// prometheus-redis-exporter).
var (
	RedisServerBin   = "redis-server"
	RedisExporterBin = "prometheus-redis-exporter"
)

// ErrNoRedis is returned by StartRedis when redis-server or the exporter
// is not installed.
var ErrNoRedis = errors.New("the redis shape needs redis-server and prometheus-redis-exporter (Debian: apt-get install redis-server prometheus-redis-exporter)")

// RedisStack is a redis-server of its own and a redis_exporter scraping it,
// both on free loopback ports, for the redis shape.
type RedisStack struct {
	// Addr is redis-server's host:port; ExporterURL the exporter's /metrics.
	Addr        string
	ExporterURL string

	server, exporter *exec.Cmd
}

// StartRedis starts redis-server (no persistence) and redis_exporter with
// the flags scripts/testenv.sh uses, logging to dir, and waits until both
// answer. Stop ends them.
func StartRedis(ctx context.Context, dir string) (*RedisStack, error) {
	redisBin, err1 := exec.LookPath(RedisServerBin)
	exporterBin, err2 := exec.LookPath(RedisExporterBin)
	if err1 != nil || err2 != nil {
		return nil, ErrNoRedis
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("could not create %q: %w", dir, err)
	}
	st := &RedisStack{}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	st.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	st.server, err = startLogged(filepath.Join(dir, "redis-server.log"), redisBin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "yes")
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: st.Addr, MaxRetries: -1})
	defer rdb.Close()
	if err := waitFor(ctx, func() error { return rdb.Ping(ctx).Err() }); err != nil {
		st.Stop()
		return nil, fmt.Errorf("redis-server on %s did not answer (log in %s): %w", st.Addr, dir, err)
	}
	eport, err := freePort()
	if err != nil {
		st.Stop()
		return nil, err
	}
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(eport))
	st.exporter, err = startLogged(filepath.Join(dir, "redis-exporter.log"), exporterBin,
		"-redis.addr", "redis://"+st.Addr, "-web.listen-address", listen, "-include-system-metrics")
	if err != nil {
		st.Stop()
		return nil, err
	}
	st.ExporterURL = "http://" + listen + "/metrics"
	if err := waitFor(ctx, func() error {
		resp, err := http.Get(st.ExporterURL)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	}); err != nil {
		st.Stop()
		return nil, fmt.Errorf("redis_exporter on %s did not answer (log in %s): %w", listen, dir, err)
	}
	return st, nil
}

// MainThreadCPU is the CPU time redis-server's main thread has used.
func (st *RedisStack) MainThreadCPU(ctx context.Context) (time.Duration, error) {
	rdb := redis.NewClient(&redis.Options{Addr: st.Addr, MaxRetries: -1})
	defer rdb.Close()
	return redisMainThreadCPU(ctx, rdb)
}

// Pids are the process ids of redis-server and the exporter.
func (st *RedisStack) Pids() []int {
	var pids []int
	for _, c := range []*exec.Cmd{st.server, st.exporter} {
		if c != nil && c.Process != nil {
			pids = append(pids, c.Process.Pid)
		}
	}
	return pids
}

// Stop ends the exporter and redis-server.
func (st *RedisStack) Stop() {
	for _, c := range []*exec.Cmd{st.exporter, st.server} {
		if c != nil && c.Process != nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
}

func startLogged(logFile, bin string, args ...string) (*exec.Cmd, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("could not create %q: %w", logFile, err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("could not start %s: %w", bin, err)
	}
	return cmd, nil
}

// waitFor retries check every 50 ms for up to 15 s.
func waitFor(ctx context.Context, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("could not find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
