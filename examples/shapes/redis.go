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
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// newRedisWork measures how long Redis takes per loop iteration (the
// fastest of five timed loops, so that a busy moment does not inflate it)
// and sizes the loop so that a request takes work.
func newRedisWork(ctx context.Context, rdb *redis.Client, work time.Duration) (*redisWork, error) {
	if err := spinScript.Load(ctx, rdb).Err(); err != nil {
		return nil, fmt.Errorf("could not load the work script into Redis at %s: %w", rdb.Options().Addr, err)
	}
	best := time.Duration(0)
	for range 5 {
		start := time.Now()
		if err := spinScript.Run(ctx, rdb, nil, calibrationIterations).Err(); err != nil {
			return nil, fmt.Errorf("could not run the work script in Redis at %s: %w", rdb.Options().Addr, err)
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
	}
	per := best / calibrationIterations
	if per <= 0 {
		per = time.Nanosecond
	}
	return &redisWork{rdb: rdb, perIteration: per, iterations: int(work / per)}, nil
}

// run has Redis work for about d.
func (w *redisWork) run(ctx context.Context, d time.Duration) error {
	n := max(1, int(d/w.perIteration))
	return spinScript.Run(ctx, w.rdb, nil, n).Err()
}

// redisPoolCollector exports the go-redis client pool as go_redis_pool_*.
type redisPoolCollector struct {
	rdb *redis.Client
	max int

	hits, misses, timeouts, waitCount, waitDuration, total, idle, stale, maxConns *prometheus.Desc
}

func newRedisPoolCollector(rdb *redis.Client, maxConns int) *redisPoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("go_redis_pool_"+name, help, nil, nil)
	}
	return &redisPoolCollector{
		rdb: rdb, max: maxConns,
		hits:         d("hits_total", "Number of times a free connection was found in the pool."),
		misses:       d("misses_total", "Number of times a free connection was not found in the pool."),
		timeouts:     d("timeouts_total", "Number of times a wait for a connection timed out."),
		waitCount:    d("wait_count_total", "Number of times a caller waited for a connection."),
		waitDuration: d("wait_duration_seconds_total", "Cumulative time callers waited for a connection, in seconds."),
		total:        d("total_conns", "Number of connections in the pool."),
		idle:         d("idle_conns", "Number of idle connections in the pool."),
		stale:        d("stale_conns_total", "Number of stale connections removed from the pool."),
		maxConns:     d("max_conns", "Maximum number of connections in the pool (the configured pool size)."),
	}
}

// Describe implements prometheus.Collector.
func (c *redisPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hits, c.misses, c.timeouts, c.waitCount, c.waitDuration, c.total, c.idle, c.stale, c.maxConns} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *redisPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.rdb.PoolStats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	counter(c.hits, float64(s.Hits))
	counter(c.misses, float64(s.Misses))
	counter(c.timeouts, float64(s.Timeouts))
	counter(c.waitCount, float64(s.WaitCount))
	counter(c.waitDuration, time.Duration(s.WaitDurationNs).Seconds())
	gauge(c.total, float64(s.TotalConns))
	gauge(c.idle, float64(s.IdleConns))
	counter(c.stale, float64(s.StaleConns))
	gauge(c.maxConns, float64(c.max))
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
