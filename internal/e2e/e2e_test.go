package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	pmodel "github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/examples/checkout"
	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/scenario"
)

// The system under test of every real-stack run: orders hold a database
// connection for orderHold, so a pool of P connections carries at most
// P / orderHold orders/s (100/s for 8 connections). The ramp in
// testdata/checkout-ramp.yaml offers up to about 300 orders/s.
const (
	orderHold = 80 * time.Millisecond
	poolA     = 8
	poolB     = 2 * poolA
	// rampFile is the scenario of every real-stack run.
	rampFile = "testdata/checkout-ramp.yaml"
	// sloP95 is the latency limit of the analyses.
	sloP95 = 400 * time.Millisecond
	// observeStep and observeRateWindow are the resolution of the
	// analyses: the runner flushes and both Prometheus and the embedded
	// store scrape every second, so 2 s points over 4 s rates hold two
	// samples or more and follow the short stages.
	observeStep       = 2 * time.Second
	observeRateWindow = 4 * time.Second
	// thinkMean is the ramp's mean think time: a VU offers about
	// 1 / (orderHold + thinkMean) orders/s while the pool keeps up.
	thinkMean = 250 * time.Millisecond
	// ingestTimeout bounds every wait for Prometheus or the store to have
	// a sample.
	ingestTimeout = 30 * time.Second
)

// Redis databases of the runs, one each, so that no two runs (nor the
// checkout package's own tests, on database 7) share carts.
const (
	redisDBPoolA = 11
	redisDBPoolB = 12
	redisDBCLI   = 13
)

var (
	// tmpRoot holds what outlives one test: the built binary and the
	// embedded stores of the shared runs. TestMain removes it.
	tmpRoot string

	buildOnce sync.Once
	binPath   string
	buildErr  error

	// stackRuns memoizes the real-stack runs by pool size, so that the
	// collector test and the analyzer test share run A.
	stackMu   sync.Mutex
	stackRuns = map[int]*stackRun{}
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "headroom-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "could not create a temporary directory:", err)
		os.Exit(1)
	}
	tmpRoot = dir
	code := m.Run()
	stackMu.Lock()
	for _, r := range stackRuns {
		if err := r.store.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "could not close an embedded store:", err)
		}
	}
	stackMu.Unlock()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// headroomBin builds cmd/headroom once into tmpRoot and returns its path;
// HEADROOM_E2E_BIN names a binary to test instead (another build of the
// same tree, or a branch under review).
func headroomBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if bin := os.Getenv("HEADROOM_E2E_BIN"); bin != "" {
			binPath = bin
			if _, err := os.Stat(bin); err != nil {
				buildErr = fmt.Errorf("HEADROOM_E2E_BIN: %w", err)
			}
			return
		}
		root := testenv.Root()
		if root == "" {
			buildErr = errors.New("could not find the repository root (go.mod)")
			return
		}
		// go test puts GOROOT/bin first on the PATH of test binaries.
		gobin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("could not find the go command: %w", err)
			return
		}
		binPath = filepath.Join(tmpRoot, "headroom")
		cmd := exec.Command(gobin, "build", "-o", binPath, "./cmd/headroom")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/headroom: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cliResult is how one run of the binary ended.
type cliResult struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

// headroom runs the built binary with args, bounded by timeout, and
// returns its output and exit code. Only a failure to start is fatal.
func headroom(t *testing.T, timeout time.Duration, args ...string) cliResult {
	t.Helper()
	bin := headroomBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res := cliResult{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("could not run headroom %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("headroom %s did not finish within %s; stderr:\n%s", strings.Join(args, " "), timeout, res.stderr)
	}
	return res
}

// randomSuffix returns n random bytes in hex.
func randomSuffix(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// checkoutInstance is the checkout demo on the real backend, served on a
// loopback port.
type checkoutInstance struct {
	srv      *checkout.Server
	addr     string // host:port
	database string
	redisDB  int
	close    func()
}

// URL returns the base URL of the API.
func (c *checkoutInstance) URL() string { return "http://" + c.addr }

// startCheckout creates a database of its own, flushes the Redis database
// redisDB and serves the checkout demo on them with the given pool. close
// stops the server, drops the database and flushes Redis again.
func startCheckout(t *testing.T, pool, redisDB int) *checkoutInstance {
	t.Helper()
	adminURL := testenv.Require(t, testenv.PostgresAdminURL)
	redisAddr := testenv.Require(t, testenv.RedisAddr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	name := "headroom_e2e_" + randomSuffix(t, 4)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("could not connect to PostgreSQL at %s: %v", adminURL, err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("could not create database %s: %v", name, err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("could not connect to drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("could not drop database %s: %v", name, err)
		}
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		drop()
		t.Fatalf("%s is not a URL: %v", testenv.PostgresAdminURL, err)
	}
	u.Path = "/" + name

	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, DB: redisDB})
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			t.Errorf("could not flush Redis database %d: %v", redisDB, err)
		}
	}
	flush()

	srv, err := checkout.New(ctx, checkout.Config{
		Backend:     checkout.BackendReal,
		DatabaseURL: u.String(),
		RedisAddr:   redisAddr,
		RedisDB:     redisDB,
		PoolSize:    pool,
		OrderDBHold: orderHold,
	})
	if err != nil {
		drop()
		_ = rdb.Close()
		t.Fatalf("could not start the checkout demo on PostgreSQL and Redis: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = srv.Close()
		drop()
		_ = rdb.Close()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var once sync.Once
	return &checkoutInstance{
		srv: srv, addr: ln.Addr().String(), database: name, redisDB: redisDB,
		close: func() {
			once.Do(func() {
				_ = srv.Close()
				if err := <-served; err != nil {
					t.Errorf("checkout server: %v", err)
				}
				drop()
				flush()
				_ = rdb.Close()
			})
		},
	}
}

// registerTarget has the test environment's Prometheus scrape addr as job
// through a file_sd file, and returns a function that removes it.
func registerTarget(t *testing.T, job, addr string) (remove func()) {
	t.Helper()
	dir := testenv.Require(t, testenv.PromFileSDDir)
	b, err := json.Marshal([]map[string]any{{"targets": []string{addr}, "labels": map[string]string{"job": job}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, job+".json")
	// Written aside and renamed, so Prometheus never reads half a file.
	tmp := filepath.Join(dir, "."+job+".json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatalf("could not write the file_sd target: %v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatalf("could not write the file_sd target: %v", err)
	}
	return func() {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			t.Errorf("could not remove the file_sd target %s: %v", path, err)
		}
	}
}

// newProm returns a Prometheus source on the test environment's Prometheus.
func newProm(t *testing.T) (*collector.Prometheus, string) {
	t.Helper()
	base := testenv.Require(t, testenv.PrometheusURL)
	p, err := collector.NewPrometheus(collector.PrometheusConfig{URL: base})
	if err != nil {
		t.Fatal(err)
	}
	return p, base
}

// scalar runs an instant query and returns the sum of its samples, or NaN
// when it returned none.
func scalar(ctx context.Context, src collector.Source, q string, ts time.Time) (float64, error) {
	v, err := src.Query(ctx, q, ts)
	if errors.Is(err, collector.ErrNoSamples) {
		return math.NaN(), nil
	}
	if err != nil {
		return math.NaN(), err
	}
	switch x := v.(type) {
	case pmodel.Vector:
		if len(x) == 0 {
			return math.NaN(), nil
		}
		s := 0.0
		for _, smp := range x {
			s += float64(smp.Value)
		}
		return s, nil
	case *pmodel.Scalar:
		return float64(x.Value), nil
	}
	return math.NaN(), fmt.Errorf("query %s returned a %T", q, v)
}

// eventually calls cond every 250 ms until it reports done or timeout
// passes; then the test fails with what cond last said.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, status := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s; last: %s", what, timeout, status)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stackRun is one bounded ramp against the checkout demo on the real
// stack, its series both remote-written to Prometheus (which also scrapes
// the app and the exporters) and written to an embedded store (which also
// scrapes the app).
type stackRun struct {
	pool int
	// capacity is PoolSize / OrderDBHold in orders/s.
	capacity float64
	job      string
	selector string
	database string
	run      *model.Run
	store    *collector.Store
	// storeScrape is how the store's scrapes of the app went.
	storeScrape collector.ScrapeStatus
	// rwDropped and rwPending are the remote writer's lost and unsent batches.
	rwDropped, rwPending int
}

// realStackRun returns the ramp against a pool of the given size, running
// it on first use. The checkout server, its database and its file_sd
// target live only while the run and its ingestion last; the series stay
// in Prometheus and in the store.
func realStackRun(t *testing.T, pool, redisDB int) *stackRun {
	t.Helper()
	for _, k := range []string{testenv.PGExporterURL, testenv.RedisExporterURL, testenv.NodeExporterURL} {
		testenv.Require(t, k)
	}
	prom, promURL := newProm(t)
	stackMu.Lock()
	defer stackMu.Unlock()
	if r, ok := stackRuns[pool]; ok {
		return r
	}

	ctx := context.Background()
	app := startCheckout(t, pool, redisDB)
	defer app.close()
	job := "checkout-e2e-" + randomSuffix(t, 4)
	remove := registerTarget(t, job, app.addr)
	defer remove()
	eventually(t, ingestTimeout, "Prometheus scrapes the checkout app", func() (bool, string) {
		v, err := scalar(ctx, prom, fmt.Sprintf(`up{job=%q}`, job), time.Now())
		return err == nil && v == 1, fmt.Sprintf("up = %v, err %v", v, err)
	})

	store, err := collector.OpenStore(collector.StoreConfig{Dir: filepath.Join(tmpRoot, fmt.Sprintf("store-pool-%d", pool))})
	if err != nil {
		t.Fatal(err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = store.Close()
		}
	}()
	scraper, err := store.StartScraper(ctx, collector.ScrapeConfig{
		Targets:  []collector.ScrapeTarget{{URL: app.URL() + "/metrics", Job: job}},
		Interval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer scraper.Stop()
	rw, err := loadgen.NewRemoteWriter(loadgen.RemoteWriteConfig{URL: promURL + "/api/v1/write"})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.ReadFile(rampFile)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := loadgen.NewRunner(loadgen.Config{
		Scenario: sc,
		Target:   app.URL(),
		// Both sinks get the same snapshots every second.
		Sinks:          []loadgen.Sink{store, rw},
		FlushInterval:  time.Second,
		SeriesInterval: time.Second,
		GracePeriod:    5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	started := time.Now()
	run, err := runner.Run(runCtx)
	if err != nil {
		t.Fatalf("the ramp against pool %d failed: %v", pool, err)
	}
	t.Logf("pool %d: ran %s in %s: %d requests (%d errors), %d stages", pool, run.RunID, time.Since(started).Round(time.Millisecond),
		run.Total.Requests, run.Total.Errors, len(run.Stages))

	// Prometheus has the runner's final flush and a scrape of the app and
	// of every exporter after the run; the store one scrape of the app.
	end := run.End
	eventually(t, ingestTimeout, "Prometheus holds the runner's final flush", func() (bool, string) {
		v, err := scalar(ctx, prom, fmt.Sprintf(`max(timestamp(%s{run_id=%q}))`, model.MetricRequests, run.RunID), time.Now())
		return err == nil && v >= float64(end.UnixMilli())/1000, fmt.Sprintf("last sample at %v, run end %v, err %v", v, float64(end.UnixMilli())/1000, err)
	})
	jobs := fmt.Sprintf(`up{job=~"%s|postgres|redis|node"}`, job)
	eventually(t, ingestTimeout, "Prometheus scraped the app and the exporters after the run", func() (bool, string) {
		v, err := scalar(ctx, prom, fmt.Sprintf(`count(timestamp(%s) > %f)`, jobs, float64(end.Add(time.Second).UnixMilli())/1000), time.Now())
		return err == nil && v == 4, fmt.Sprintf("%v of 4 targets scraped since, err %v", v, err)
	})
	before := scraper.Status()[0].Scrapes
	eventually(t, ingestTimeout, "the store scraped the app after the run", func() (bool, string) {
		n := scraper.Status()[0].Scrapes
		return n >= before+2, fmt.Sprintf("%d scrapes, %d at the run's end", n, before)
	})
	status := scraper.Stop()

	r := &stackRun{
		pool: pool, capacity: float64(pool) / orderHold.Seconds(),
		job: job, selector: fmt.Sprintf(`{job=%q}`, job), database: app.database,
		run: run, store: store, storeScrape: status[0],
		rwDropped: rw.Dropped(), rwPending: rw.Pending(),
	}
	keep = true
	stackRuns[pool] = r
	return r
}

// observe reads a stack run's window from src.
func observe(t *testing.T, src collector.Source, r *stackRun) model.Observations {
	t.Helper()
	obs, err := collector.Observe(context.Background(), src, collector.ObserveConfig{
		RunID: r.run.RunID, Start: r.run.Start, End: r.run.End, Stages: r.run.Stages,
		Step: observeStep, RateWindow: observeRateWindow,
		Selector: r.selector,
	})
	if err != nil {
		t.Fatalf("could not observe run %s: %v", r.run.RunID, err)
	}
	return obs
}

// resource returns the observation of one resource kind, or nil.
func resource(obs model.Observations, kind string) *model.ResourceObservation {
	for i := range obs.Resources {
		if obs.Resources[i].Kind == kind {
			return &obs.Resources[i]
		}
	}
	return nil
}

// resourceAnalysis returns the analysis of one resource kind, or nil.
func resourceAnalysis(a model.Analysis, kind string) *model.ResourceAnalysis {
	for i := range a.Resources {
		if a.Resources[i].Kind == kind {
			return &a.Resources[i]
		}
	}
	return nil
}

// utilizations returns the utilization of a resource's points in
// [from, to].
func utilizations(ro *model.ResourceObservation, from, to time.Time) []float64 {
	if ro == nil {
		return nil
	}
	var out []float64
	for _, p := range ro.Points {
		if p.Time.Before(from) || p.Time.After(to) || !p.HasLimit {
			continue
		}
		out = append(out, p.Utilization)
	}
	return out
}

// seriesValues returns the non-NaN values of every series, in order.
func seriesValues(ss []model.LabeledSeries) []float64 {
	var out []float64
	for _, s := range ss {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// median of vs (NaN when empty).
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// saturationFloor is the lowest load, as a fraction of P / hold, at which
// an analysis may call the pool saturated. At 0.3 of capacity orders hold
// 0.3·P connections on average (Little's law), and all 8 of a pool of 8
// are busy at once in about 0.1% of instants (Erlang B, 2.4 Erlangs on 8
// servers), so "saturated" below it would be load read at the wrong time.
//
// The load of a point is a rate over the rate window ending there; before
// the collector averaged the pool's gauge over the same window it read the
// gauge at that instant, so on a ramp the load at which a resource
// saturated was read about half a window early: one run of this ramp was
// said to saturate from 76 RPS at 2 s windows, 53 at 4 s and 32 at 10 s,
// `headroom analyze`'s default for a run.json written every 5 s. The CLI
// test checks that default.
const saturationFloor = 0.3

// checkSaturatedAt fails when the analysis says the bottleneck saturated
// at a load the pool cannot saturate at.
func checkSaturatedAt(t *testing.T, a model.Analysis, capacity float64) {
	t.Helper()
	b := a.Bottleneck
	if b.SaturatedAtRPS == nil {
		t.Errorf("the analysis gives no load at which %s saturated: %s", b.Resource, b.Evidence)
		return
	}
	if *b.SaturatedAtRPS < saturationFloor*capacity {
		t.Errorf("the analysis says %s saturated from %.1f RPS, below %.0f%% of its capacity %.0f RPS, where it cannot (evidence: %s)",
			b.Resource, *b.SaturatedAtRPS, saturationFloor*100, capacity, b.Evidence)
	}
}

// offered is about the order rate n VUs offer while the pool keeps up.
func offered(n int) float64 { return float64(n) / (orderHold + thinkMean).Seconds() }

// capacityOf is the throughput an analysis found the system carries: the
// breaking point's, or the most it was seen to carry.
func capacityOf(a model.Analysis) float64 {
	if a.BreakingPoint != nil {
		return a.BreakingPoint.RPS
	}
	return a.TestedUpToRPS
}

// within reports whether got is within frac of want.
func within(got, want, frac float64) bool {
	return math.Abs(got-want) <= frac*want
}

// runnerBuckets are the runner's classic bucket bounds in seconds
// (loadgen's durationBuckets).
var runnerBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1, 1.5, 2, 2.5, 5, 10, 30, 60}

// bucketWidthMs is the width in ms of the runner's bucket holding ms.
func bucketWidthMs(ms float64) float64 {
	lo := 0.0
	for _, ub := range runnerBuckets {
		if ms/1000 <= ub {
			return (ub - lo) * 1000
		}
		lo = ub
	}
	return math.Inf(1)
}

// The tolerances of the comparison of Prometheus with the embedded store.
// Both got the same runner snapshots (the same registry gathered once per
// flush and handed to both sinks), so the runner's figures should agree
// exactly; the tolerances only absorb a snapshot one sink missed. The
// application's gauges were scraped by two scrapers at different instants
// of each second.
const (
	// tolRequests is the largest relative difference of a stage's requests.
	tolRequests = 0.02
	// tolP95 is the largest relative difference of a stage's p95 when the
	// two are further apart than the classic bucket holding it.
	tolP95 = 0.15
	// tolPoolUtil is the largest difference of a stage's maximum pool
	// utilization (a fraction) in a stage where either source saw the pool
	// full. Below saturation pgxpool_acquired_conns swings by several
	// connections within a second (orders hold one for 80 ms), so the
	// maxima of two scrapers' few samples at different instants differ
	// by chance (6 of 8 against 1 of 8 in one warm-up): they are logged,
	// not compared.
	tolPoolUtil = 0.1
	// tolBreakingRPS is the largest relative difference of the breaking
	// point's load between the analyses of the two sources; it depends on
	// the runner's series only.
	tolBreakingRPS = 0.05
)

// TestTheCollectorSeesBothSides closes issue 3: the checkout demo on real
// PostgreSQL and Redis under a bounded ramp, its load remote-written to a
// real Prometheus that scrapes it and the exporters, is seen from both
// sides by the collector — the runner's requests, the pool filling up, the
// server connections, Redis and CPU — and the embedded store, fed the same
// snapshots and scraping the app itself, gives the same answers.
func TestTheCollectorSeesBothSides(t *testing.T) {
	r := realStackRun(t, poolA, redisDBPoolA)
	prom, _ := newProm(t)
	ctx := context.Background()
	run := r.run
	t.Logf("pool %d, hold %s → capacity %.0f orders/s; run %s %s to %s, %d requests, %d errors",
		r.pool, orderHold, r.capacity, run.RunID, run.Start.Format(time.RFC3339), run.End.Format("15:04:05"), run.Total.Requests, run.Total.Errors)

	if run.Status != model.RunCompleted || len(run.Stages) != 5 {
		t.Fatalf("run status %q with %d stages, want completed with 5", run.Status, len(run.Stages))
	}
	if run.Total.Requests < 1000 || float64(run.Total.Errors) > 0.01*float64(run.Total.Requests) {
		t.Errorf("%d requests with %d errors: want a real load with under 1%% errors", run.Total.Requests, run.Total.Errors)
	}
	if r.rwDropped > 0 || r.rwPending > 0 {
		t.Errorf("remote write lost %d batches and left %d unsent", r.rwDropped, r.rwPending)
	}
	if s := r.storeScrape; s.Failures > 0 || !s.Up || s.Scrapes < 20 {
		t.Errorf("the store's scrapes of the app: %+v, want 20 or more, all successful", s)
	}

	// The runner's series come back from Prometheus and add up to run.json.
	q := fmt.Sprintf(`sum(%s{run_id=%q})`, model.MetricRequests, run.RunID)
	total, err := scalar(ctx, prom, q, run.End.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Prometheus: %s = %.0f; run.json %d", q, total, run.Total.Requests)
	if !within(total, float64(run.Total.Requests), tolRequests) {
		t.Errorf("Prometheus holds %.0f requests of run %s, run.json %d (±%.0f%%)", total, run.RunID, run.Total.Requests, tolRequests*100)
	}

	// Discover and collect the resources under the app's selector.
	sel := collector.Selectors{Scope: model.Scope{Selector: r.selector}, RateWindow: observeRateWindow}
	det, err := collector.Discover(ctx, prom, collector.DefaultCatalog(), sel, run.Start, run.End)
	if err != nil {
		t.Fatal(err)
	}
	series, err := collector.CollectResources(ctx, prom, det, collector.Range{Start: run.Start, End: run.End, Step: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]string{}
	for _, d := range det {
		families[d.Kind] = d.Family
	}
	got := map[string]collector.ResourceSeries{}
	for _, s := range series {
		got[s.Kind] = s
	}
	for kind, fam := range map[string]string{
		model.KindDBPool:              "pgxpool",
		model.KindDBServerConnections: "postgres_exporter",
		model.KindRedis:               "redis_exporter",
		model.KindCPU:                 "process",
	} {
		if families[kind] != fam {
			t.Errorf("%s was measured by family %q, want %q (families found: %v)", kind, families[kind], fam, families)
		}
	}

	// The pool reaches P/P.
	pool := got[model.KindDBPool]
	maxUse, maxLimit, maxUtil := maxOf(seriesValues(pool.Usage)), maxOf(seriesValues(pool.Limit)), maxOf(seriesValues(pool.Utilization))
	t.Logf("db_pool (pgxpool): up to %.0f of %.0f connections, utilization up to %.2f", maxUse, maxLimit, maxUtil)
	if maxLimit != float64(r.pool) || maxUse != float64(r.pool) || maxUtil < 0.95 {
		t.Errorf("db_pool: up to %v of %v connections (utilization %.2f), want %d of %d (≥ 0.95)", maxUse, maxLimit, maxUtil, r.pool, r.pool)
	}

	// The server's connections rise as the pool opens its connections.
	pg := got[model.KindDBServerConnections]
	pgVals := seriesValues(pg.Usage)
	if len(pgVals) == 0 {
		t.Errorf("db_server_connections has no samples: %+v", pg.Notes)
	} else {
		first, peak := pgVals[0], maxOf(pgVals)
		t.Logf("db_server_connections (postgres_exporter): pg_stat_activity_count %.0f at the start, up to %.0f, limit %v", first, peak, maxOf(seriesValues(pg.Limit)))
		if peak-first < float64(r.pool)/2 {
			t.Errorf("pg_stat_activity_count rose from %.0f to %.0f during the run, want a rise of at least %d as the pool of %d opens", first, peak, r.pool/2, r.pool)
		}
	}
	// The run's own database holds exactly the pool's connections.
	window := fmt.Sprintf("[%ds:1s]", int(run.End.Sub(run.Start).Seconds()))
	ownQ := fmt.Sprintf(`max_over_time(sum(pg_stat_activity_count{datname=%q})%s)`, r.database, window)
	own, err := scalar(ctx, prom, ownQ, run.End)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s = %v", ownQ, own)
	if own < float64(r.pool) || own > float64(r.pool)+2 {
		t.Errorf("the run's database had up to %v server connections, want the pool's %d", own, r.pool)
	}

	// Redis is measured by redis_exporter, and its clients include the app's pool.
	rd := got[model.KindRedis]
	if n := len(seriesValues(rd.Usage)); n < len(rd.Times)/2 {
		t.Errorf("redis (redis_exporter) has %d usage samples of %d points: %v", n, len(rd.Times), rd.Notes)
	}
	// redis_connected_clients counts every client of the server: the app's
	// pool (whose connections stay open through the run, so its largest
	// size is reached at some scrape of the exporter) and the exporter's
	// own connection.
	clientsBefore, err := scalar(ctx, prom, `redis_connected_clients{job="redis"}`, run.Start.Add(-2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	clients, err := scalar(ctx, prom, `max_over_time(redis_connected_clients{job="redis"}`+window+`)`, run.End)
	if err != nil {
		t.Fatal(err)
	}
	appConns, err := scalar(ctx, prom, fmt.Sprintf(`max_over_time(sum(go_redis_pool_total_conns{job=%q})%s)`, r.job, window), run.End)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("redis (redis_exporter): redis_connected_clients %v before the run, up to %v during it; the app's pool up to %v connections", clientsBefore, clients, appConns)
	if !(appConns >= 1) || !(clients >= appConns+1) {
		t.Errorf("redis_connected_clients reached %v while the app's pool held up to %v connections: want the pool and the exporter counted", clients, appConns)
	}

	// CPU is measured over the whole run.
	cpu := got[model.KindCPU]
	cpuVals := seriesValues(cpu.Usage)
	t.Logf("cpu (process): %d of %d points, up to %.2f cores of %v", len(cpuVals), len(cpu.Times), maxOf(cpuVals), maxOf(seriesValues(cpu.Limit)))
	if len(cpuVals) < len(cpu.Times)*3/4 || maxOf(cpuVals) <= 0 {
		t.Errorf("cpu has %d of %d points, up to %v cores: want CPU over the run window", len(cpuVals), len(cpu.Times), maxOf(cpuVals))
	}
	// The app runs in this process, so its core limit is this GOMAXPROCS.
	if lim := maxOf(seriesValues(cpu.Limit)); lim != float64(runtime.GOMAXPROCS(0)) {
		t.Errorf("cpu limit %v cores, want GOMAXPROCS = %d", lim, runtime.GOMAXPROCS(0))
	}

	// The same run through the embedded store gives the same answers.
	fromProm, fromStore := observe(t, prom, r), observe(t, r.store, r)
	rowsP, _, _ := analyzer.StageTable(fromProm.Stages)
	rowsS, _, _ := analyzer.StageTable(fromStore.Stages)
	if len(rowsP) != len(run.Stages) || len(rowsS) != len(run.Stages) {
		t.Fatalf("%d stages from Prometheus and %d from the store, want %d", len(rowsP), len(rowsS), len(run.Stages))
	}
	poolP, poolS := resource(fromProm, model.KindDBPool), resource(fromStore, model.KindDBPool)
	if poolP == nil || poolS == nil {
		t.Fatalf("the pool is missing from Prometheus (%v) or the store (%v)", poolP != nil, poolS != nil)
	}
	for i, st := range run.Stages {
		p, s := rowsP[i], rowsS[i]
		// The collector averages the pool's gauge over the rate window, so
		// a stage's last instants show one window later: the pool that
		// fills at the very end of a stage is read over the stage and one
		// window after it, where both scrapers' averages have caught up.
		utilP, utilS := utilizations(poolP, st.Start, st.End.Add(observeRateWindow)), utilizations(poolS, st.Start, st.End.Add(observeRateWindow))
		uP, uS := maxOf(utilP), maxOf(utilS)
		t.Logf("stage %-9s run.json %5d req p95 %6.1f ms | Prometheus %5d req p95 %6.1f ms pool ≤ %.2f | store %5d req p95 %6.1f ms pool ≤ %.2f",
			st.Name, st.Requests, st.P95Ms, p.Requests, p.P95Ms, uP, s.Requests, s.P95Ms, uS)
		if !within(float64(p.Requests), float64(s.Requests), tolRequests) || !within(float64(p.Requests), float64(st.Requests), tolRequests) {
			t.Errorf("stage %s: %d requests from Prometheus, %d from the store, %d in run.json (±%.0f%%)", st.Name, p.Requests, s.Requests, st.Requests, tolRequests*100)
		}
		if d := math.Abs(p.P95Ms - s.P95Ms); d > bucketWidthMs(math.Max(p.P95Ms, s.P95Ms)) && d > tolP95*math.Max(p.P95Ms, s.P95Ms) {
			t.Errorf("stage %s: p95 %.1f ms from Prometheus, %.1f ms from the store: further apart than a bucket and %.0f%%", st.Name, p.P95Ms, s.P95Ms, tolP95*100)
		}
		switch {
		case len(utilP) == 0 || len(utilS) == 0:
			t.Errorf("stage %s: %d pool points from Prometheus, %d from the store", st.Name, len(utilP), len(utilS))
		case math.Max(uP, uS) >= 0.95 && math.Abs(uP-uS) > tolPoolUtil:
			t.Errorf("stage %s: pool utilization up to %.2f from Prometheus, %.2f from the store: want the full pool seen by both (within %.2f)", st.Name, uP, uS, tolPoolUtil)
		}
	}
	// Both sources lead to the same conclusion.
	aP, err := analyzer.Analyze(fromProm, analyzer.Options{SLOP95: sloP95})
	if err != nil {
		t.Fatal(err)
	}
	aS, err := analyzer.Analyze(fromStore, analyzer.Options{SLOP95: sloP95})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("from Prometheus: %s", aP.Verdict)
	t.Logf("from the store:  %s", aS.Verdict)
	switch {
	case aP.Bottleneck.Resource != aS.Bottleneck.Resource:
		t.Errorf("bottleneck %q from Prometheus, %q from the store", aP.Bottleneck.Resource, aS.Bottleneck.Resource)
	case (aP.BreakingPoint == nil) != (aS.BreakingPoint == nil):
		t.Errorf("breaking point %+v from Prometheus, %+v from the store", aP.BreakingPoint, aS.BreakingPoint)
	case aP.BreakingPoint != nil && !within(aS.BreakingPoint.RPS, aP.BreakingPoint.RPS, tolBreakingRPS):
		t.Errorf("breaking point at %.1f RPS from Prometheus, %.1f RPS from the store (±%.0f%%)", aP.BreakingPoint.RPS, aS.BreakingPoint.RPS, tolBreakingRPS*100)
	}

	// The pool fills once the offered load passes P / hold: it is full
	// through the last stage (about 300 orders/s offered) and mostly idle
	// in the warm-up (about 30/s). Medians, because the first orders of a
	// run may find the pool busy opening its connections.
	warm := run.Stages[0]
	last := run.Stages[len(run.Stages)-1]
	for _, src := range []struct {
		name string
		pool *model.ResourceObservation
	}{{"Prometheus", poolP}, {"the store", poolS}} {
		uWarm := median(utilizations(src.pool, warm.Start, warm.End))
		uLast := median(utilizations(src.pool, last.Start, last.End))
		if !(uLast >= 0.95) || !(uWarm <= 0.5) {
			t.Errorf("%s: median pool utilization %.2f in %s (about %.0f orders/s offered) and %.2f in %s (about %.0f/s offered; capacity %.0f/s): want it full only past capacity",
				src.name, uWarm, warm.Name, offered(warm.VUs), uLast, last.Name, offered(last.VUs), r.capacity)
		}
	}
}

// maxOf is the largest of vs, or NaN when empty.
func maxOf(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	m := vs[0]
	for _, v := range vs[1:] {
		m = math.Max(m, v)
	}
	return m
}

// analyzeFromPrometheus observes a stack run in the real Prometheus and
// analyzes it with the tests' SLO, logging the verdict and the figures.
func analyzeFromPrometheus(t *testing.T, r *stackRun) model.Analysis {
	t.Helper()
	a, _ := analyzeObservedFromPrometheus(t, r)
	return a
}

// analyzeObservedFromPrometheus is analyzeFromPrometheus that also returns
// what was observed.
func analyzeObservedFromPrometheus(t *testing.T, r *stackRun) (model.Analysis, model.Observations) {
	t.Helper()
	prom, _ := newProm(t)
	obs := observe(t, prom, r)
	a, err := analyzer.Analyze(obs, analyzer.Options{SLOP95: sloP95})
	if err != nil {
		t.Fatalf("could not analyze run %s: %v", r.run.RunID, err)
	}
	t.Logf("pool %d (capacity %.0f orders/s) verdict: %s", r.pool, r.capacity, a.Verdict)
	for _, s := range a.Stages {
		t.Logf("  stage %-9s %3d VUs %6.1f RPS p95 %6.1f ms errors %.2f%%", s.Name, s.VUs, s.RPS, s.P95Ms, 100*s.ErrorRate)
	}
	for _, b := range a.BreakingPoints {
		t.Logf("  breaking point %s at %.1f VUs / %.1f RPS: %s", b.Reason, b.VUs, b.RPS, b.Evidence)
	}
	t.Logf("  tested up to %.1f RPS / %.1f VUs; bottleneck %s (%s): %s", a.TestedUpToRPS, a.TestedUpToVUs, a.Bottleneck.Resource, a.Bottleneck.Confidence, a.Bottleneck.Evidence)
	for _, res := range a.Resources {
		at := "—"
		if res.SaturatedAtRPS != nil {
			at = fmt.Sprintf("%.1f RPS", *res.SaturatedAtRPS)
		}
		t.Logf("  resource #%d %s (%s): saturated %v (%s) from %s", res.Rank, res.Kind, res.Family, res.Saturated, res.SaturatedBy, at)
	}
	return a, obs
}

// TestTheAnalyzerNamesThePoolAndALargerPoolMovesIt closes issue 4 on the
// real stack: with a pool of P connections held 80 ms per order the
// analyzer blames db_pool and finds the system carrying about P / hold;
// with 2P the system carries clearly more, and its pool starts to queue
// correspondingly later.
func TestTheAnalyzerNamesThePoolAndALargerPoolMovesIt(t *testing.T) {
	ra := realStackRun(t, poolA, redisDBPoolA)
	rb := realStackRun(t, poolB, redisDBPoolB)
	a := analyzeFromPrometheus(t, ra)
	b, obsB := analyzeObservedFromPrometheus(t, rb)

	capA, capB := capacityOf(a), capacityOf(b)
	t.Logf("capacity: pool %d %.1f RPS (expected %.0f), pool %d %.1f RPS (expected %.0f): ×%.2f",
		ra.pool, capA, ra.capacity, rb.pool, capB, rb.capacity, capB/capA)

	// Run A: the pool is the bottleneck and the system carries P / hold.
	if a.Bottleneck.Resource != model.KindDBPool {
		t.Errorf("pool %d: bottleneck %q, want db_pool: %s", ra.pool, a.Bottleneck.Resource, a.Bottleneck.Evidence)
	}
	if a.BreakingPoint == nil {
		t.Errorf("pool %d: no breaking point up to %.1f RPS, want one near %.0f (the ramp offers about 300 orders/s)", ra.pool, a.TestedUpToRPS, ra.capacity)
	}
	if !within(capA, ra.capacity, 0.20) {
		t.Errorf("pool %d: capacity %.1f RPS, want P / hold = %.0f ± 20%%", ra.pool, capA, ra.capacity)
	}
	checkSaturatedAt(t, a, ra.capacity)

	// Run B carries clearly more...
	if capB < 1.5*capA {
		t.Errorf("pool %d carries %.1f RPS, pool %d %.1f RPS: want at least 1.5× more", rb.pool, capB, ra.pool, capA)
	}
	// ... and at the load where A broke, B's pool was far from full: with
	// P connections each held for the same time, B's pool carries A's
	// capacity at about half its size. A's pool was full there by
	// definition; a larger pool that did not help would be full too.
	// (Where B's pool starts to queue is not compared: acquires start to
	// wait well before a pool is full, at a load that varies by ±25%
	// from run to run on this host.)
	if b.BreakingPoint != nil {
		util, n := poolUtilizationNear(obsB, 0.8*capA, 1.1*capA)
		switch {
		case n == 0:
			t.Errorf("pool %d: no pool reading while it carried %.0f–%.0f RPS", rb.pool, 0.8*capA, 1.1*capA)
		case util > 0.8:
			t.Errorf("pool %d: %.0f%% of the pool in use at pool %d's capacity (%.0f–%.0f RPS, %d readings), want well below full (about %.0f%%)",
				rb.pool, 100*util, ra.pool, 0.8*capA, 1.1*capA, n, 100*capA/capB)
		default:
			t.Logf("pool %d: %.0f%% of the pool in use at pool %d's capacity (%.0f–%.0f RPS, %d readings); pool %d was full there",
				rb.pool, 100*util, ra.pool, 0.8*capA, 1.1*capA, n, ra.pool)
		}
	} else if b.TestedUpToRPS <= 0 {
		t.Errorf("pool %d: no breaking point and no tested_up_to_rps", rb.pool)
	}
}

// poolUtilizationNear is the mean utilization of the observed DB pool at
// the instants the run carried between lo and hi RPS, with the number of
// instants averaged.
func poolUtilizationNear(obs model.Observations, lo, hi float64) (float64, int) {
	var pool *model.ResourceObservation
	for i := range obs.Resources {
		if obs.Resources[i].Kind == model.KindDBPool {
			pool = &obs.Resources[i]
			break
		}
	}
	if pool == nil {
		return 0, 0
	}
	sum, n := 0.0, 0
	for _, lp := range obs.Series {
		if lp.RPS < lo || lp.RPS > hi {
			continue
		}
		best, bestGap := -1, time.Duration(math.MaxInt64)
		for j, rp := range pool.Points {
			gap := rp.Time.Sub(lp.Time)
			if gap < 0 {
				gap = -gap
			}
			if rp.HasLimit && gap < bestGap {
				best, bestGap = j, gap
			}
		}
		if best >= 0 && bestGap <= time.Duration(obs.StepMs)*time.Millisecond {
			sum += pool.Points[best].Utilization
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// readJSON decodes a JSON file into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("could not decode %s: %v", path, err)
	}
}

// TestTheCLIRunsAndAnalyzesThroughTheEmbeddedStore drives the checkout
// demo on the real stack with the built binary, `headroom run` keeping
// the series in its embedded store and scraping the app, then analyzes
// the run with `headroom analyze --run`, as a user without a Prometheus
// would.
func TestTheCLIRunsAndAnalyzesThroughTheEmbeddedStore(t *testing.T) {
	app := startCheckout(t, poolA, redisDBCLI)
	t.Cleanup(app.close)
	capacity := float64(poolA) / orderHold.Seconds()
	job := "checkout-e2e-cli-" + randomSuffix(t, 3)
	dir := t.TempDir()
	runFile := filepath.Join(dir, "run.json")

	res := headroom(t, 3*time.Minute, "run", rampFile, "--target", app.URL(),
		"--scrape", job+"="+app.URL()+"/metrics", "--out", runFile, "--quiet")
	t.Logf("headroom run exited %d after %s", res.code, res.elapsed.Round(time.Millisecond))
	if res.code != 0 {
		t.Fatalf("headroom run exited %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	var run model.Run
	readJSON(t, runFile, &run)
	if run.Status != model.RunCompleted || run.Total.Requests < 1000 {
		t.Errorf("run.json: status %q with %d requests, want a completed run", run.Status, run.Total.Requests)
	}
	wantSel := fmt.Sprintf(`{job=%q}`, job)
	switch m := run.Metrics; {
	case m == nil:
		t.Fatal("run.json names no metrics location")
	case m.Store != "run.tsdb" || m.Prometheus != "" || m.Selector != wantSel:
		t.Errorf("run.json metrics = %+v, want the store run.tsdb and the selector %s", m, wantSel)
	case len(m.Scrape) != 1 || m.Scrape[0].Job != job || m.Scrape[0].Failures != 0 || m.Scrape[0].Scrapes < 20 || !m.Scrape[0].Up:
		t.Errorf("run.json scrape report = %+v, want 20 or more scrapes of %s without failure", m.Scrape, job)
	}
	if st, err := os.Stat(filepath.Join(dir, "run.tsdb")); err != nil || !st.IsDir() {
		t.Errorf("the store run.tsdb is not beside run.json: %v", err)
	}

	res = headroom(t, 2*time.Minute, "analyze", "--run", runFile, "--format", "json", "--slo-p95", sloP95.String())
	if res.code != 0 {
		t.Fatalf("headroom analyze exited %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	var a model.Analysis
	if err := json.Unmarshal([]byte(res.stdout), &a); err != nil {
		t.Fatalf("headroom analyze --format json printed no analysis: %v\n%s", err, res.stdout)
	}
	t.Logf("verdict: %s", a.Verdict)
	t.Logf("bottleneck %s (%s): %s", a.Bottleneck.Resource, a.Bottleneck.Confidence, a.Bottleneck.Evidence)
	got := capacityOf(a)
	t.Logf("capacity %.1f RPS (breaking point %v, tested up to %.1f RPS), expected P / hold = %.0f", got, a.BreakingPoint != nil, a.TestedUpToRPS, capacity)
	if a.RunID != run.RunID || len(a.Stages) != len(run.Stages) {
		t.Errorf("analysis of run %q with %d stages, want run %q with %d", a.RunID, len(a.Stages), run.RunID, len(run.Stages))
	}
	if a.Bottleneck.Resource != model.KindDBPool {
		t.Errorf("bottleneck %q, want db_pool: %s", a.Bottleneck.Resource, a.Bottleneck.Evidence)
	}
	if !within(got, capacity, 0.20) {
		t.Errorf("capacity %.1f RPS, want P / hold = %.0f ± 20%%", got, capacity)
	}
	// At the default 10 s rate window (see saturationFloor).
	if b := a.Bottleneck; b.SaturatedAtRPS != nil && b.SaturatedAtVUs != nil {
		t.Logf("the pool saturated from %.1f VUs / %.1f RPS by the analysis", *b.SaturatedAtVUs, *b.SaturatedAtRPS)
	}
	checkSaturatedAt(t, a, capacity)
}

// TestTheDemoFindsThePoolAtItsCapacity is issue 4's acceptance for `make
// demo`: the in-process demo (simulated backend, pool 20 held 40 ms per
// order: 500 orders/s) names the pool and finds about 500 RPS.
func TestTheDemoFindsThePoolAtItsCapacity(t *testing.T) {
	const expected = 500.0
	dir := t.TempDir()
	res := headroom(t, 3*time.Minute, "demo", "--time-scale", "0.4", "--out", dir, "--quiet")
	t.Logf("headroom demo exited %d after %s", res.code, res.elapsed.Round(time.Millisecond))
	if res.code != 0 {
		t.Fatalf("headroom demo exited %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	var a model.Analysis
	readJSON(t, filepath.Join(dir, "analysis.json"), &a)
	got := capacityOf(a)
	t.Logf("verdict: %s", a.Verdict)
	t.Logf("bottleneck %s (%s); capacity %.1f RPS (%+.1f%% of %.0f)", a.Bottleneck.Resource, a.Bottleneck.Confidence, got, 100*(got/expected-1), expected)
	if a.Bottleneck.Resource != model.KindDBPool {
		t.Errorf("bottleneck %q, want db_pool: %s", a.Bottleneck.Resource, a.Bottleneck.Evidence)
	}
	if !within(got, expected, 0.15) {
		t.Errorf("capacity %.1f RPS, want %.0f ± 15%%", got, expected)
	}
	if !strings.Contains(res.stdout, "Expected capacity (pool size / hold time): 500 orders/s") {
		t.Errorf("the demo's output does not state the expected capacity:\n%s", res.stdout)
	}
	checkSaturatedAt(t, a, expected)
	// The demo publishes its report: the HTML page with the charts, and
	// report.json naming the same bottleneck.
	page, err := os.ReadFile(filepath.Join(dir, "report", "report.html"))
	if err != nil {
		t.Fatalf("the demo wrote no report: %v", err)
	}
	if n := strings.Count(string(page), "<svg"); n < 3 {
		t.Errorf("report.html holds %d charts, want the load curves and the pool against load", n)
	}
	var rep model.Report
	readJSON(t, filepath.Join(dir, "report", "report.json"), &rep)
	if rep.RunID != a.RunID {
		t.Errorf("report.json is of run %q, the analysis of %q", rep.RunID, a.RunID)
	}
	// It tells the rest of the story: the costed plan for 3× today's
	// traffic on the example topology, the dashboards and the alerts.
	var plan model.Plan
	readJSON(t, filepath.Join(dir, "plan", "plan.json"), &plan)
	if plan.Target.TargetRPS != 540 || !strings.Contains(res.stdout, plan.Verdict) || !strings.Contains(plan.Verdict, "$") {
		t.Errorf("plan for %.0f RPS, want 3 × 180 = 540 with its costs printed; verdict %q", plan.Target.TargetRPS, plan.Verdict)
	}
	if rep.Plan == nil {
		t.Error("report.json holds no plan")
	}
	dash, _ := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	if len(dash) == 0 {
		t.Error("the demo wrote no dashboards")
	}
	rules, err := os.ReadFile(filepath.Join(dir, "rules", "headroom.rules.yml"))
	if err != nil || !strings.Contains(string(rules), "HeadroomBelowTarget") {
		t.Errorf("the demo wrote no alert rules with HeadroomBelowTarget: %v", err)
	}
	for _, p := range []string{"plan.json", "dashboards", "headroom.rules.yml", "report.html"} {
		if !strings.Contains(res.stdout, p) {
			t.Errorf("the demo's output does not say where %s was written", p)
		}
	}
}

// TestAScrapeTargetThatDiesMidRunIsReportedNotZeroed has `headroom run`
// scrape an endpoint that goes away a few seconds into the run: the run
// completes, run.json reports the failed scrapes, up drops to 0 in the
// store, and the target's series end instead of turning into zeros.
func TestAScrapeTargetThatDiesMidRunIsReportedNotZeroed(t *testing.T) {
	load := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(load.Close)

	reg := prometheus.NewRegistry()
	inUse := prometheus.NewGauge(prometheus.GaugeOpts{Name: "e2e_fault_in_use", Help: "A gauge that is 7 while the target lives."})
	inUse.Set(7)
	reg.MustRegister(inUse)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	var scrapes atomic.Int32
	kill := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		metrics.ServeHTTP(w, r)
		if scrapes.Add(1) == 3 {
			close(kill)
		}
	}))
	var diedAt atomic.Int64
	go func() {
		<-kill
		app.CloseClientConnections()
		app.Close()
		diedAt.Store(time.Now().UnixMilli())
	}()
	t.Cleanup(app.Close)

	dir := t.TempDir()
	runFile := filepath.Join(dir, "run.json")
	res := headroom(t, 2*time.Minute, "run", "--url", load.URL+"/", "--vus", "2", "--duration", "8s",
		"--scrape", "fault="+app.URL+"/metrics", "--out", runFile, "--quiet")
	if res.code != 0 {
		t.Fatalf("headroom run exited %d, want 0 (a dead scrape target does not fail the run); stderr:\n%s", res.code, res.stderr)
	}
	var run model.Run
	readJSON(t, runFile, &run)
	if run.Metrics == nil || len(run.Metrics.Scrape) != 1 {
		t.Fatalf("run.json metrics = %+v, want one scrape report", run.Metrics)
	}
	rep := run.Metrics.Scrape[0]
	t.Logf("scrape report: %+v; the target died at %s after %d scrapes", rep, time.UnixMilli(diedAt.Load()).UTC().Format("15:04:05.000"), scrapes.Load())
	if rep.Failures == 0 || rep.Up || rep.Scrapes <= rep.Failures || rep.LastError == "" {
		t.Errorf("scrape report %+v, want failures after the successful scrapes, up false and the last error", rep)
	}
	if diedAt.Load() == 0 {
		t.Fatal("the target was scraped fewer than 3 times")
	}
	died := time.UnixMilli(diedAt.Load())

	store, err := collector.OpenStore(collector.StoreConfig{Dir: filepath.Join(dir, "run.tsdb"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ctx := context.Background()
	rng := collector.Range{Start: run.Start, End: run.End, Step: time.Second}
	ups, err := store.QueryRange(ctx, `up{job="fault"}`, rng)
	if err != nil || len(ups) != 1 {
		t.Fatalf("up{job=\"fault\"} = %v, %v; want one series", ups, err)
	}
	var upVals []float64
	for _, p := range ups[0].Values {
		upVals = append(upVals, float64(p.Value))
	}
	t.Logf("up over the run: %v", upVals)
	if len(upVals) < 4 || upVals[0] != 1 || upVals[len(upVals)-1] != 0 {
		t.Errorf("up over the run = %v, want 1 while the target lived, then 0", upVals)
	}
	gauge, err := store.QueryRange(ctx, `e2e_fault_in_use{job="fault"}`, rng)
	if err != nil || len(gauge) != 1 || len(gauge[0].Values) == 0 {
		t.Fatalf("e2e_fault_in_use = %v, %v; want one series", gauge, err)
	}
	vals := gauge[0].Values
	last := vals[len(vals)-1].Timestamp.Time()
	t.Logf("e2e_fault_in_use: %d points, the last at %s; run end %s", len(vals), last.UTC().Format("15:04:05.000"), run.End.UTC().Format("15:04:05.000"))
	for _, p := range vals {
		if p.Value != 7 {
			t.Errorf("e2e_fault_in_use = %v at %s, want 7 while it exists and no point after the target died", p.Value, p.Timestamp.Time().UTC().Format("15:04:05"))
		}
	}
	if last.After(died.Add(time.Second)) || run.End.Sub(last) < 2*time.Second {
		t.Errorf("e2e_fault_in_use has points until %s; the target died at %s and the run ended at %s: want the series to end with the target",
			last.UTC().Format("15:04:05"), died.UTC().Format("15:04:05"), run.End.UTC().Format("15:04:05"))
	}
}

// TestAnalyzeWithPrometheusDownNamesTheURL points `headroom analyze` at a
// closed port: it exits 1 with an error that names the URL.
func TestAnalyzeWithPrometheusDownNamesTheURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	res := headroom(t, time.Minute, "analyze", "--prometheus", down, "--from", "now-5m", "--to", "now",
		"--selector", `{job="checkout"}`, "--format", "json")
	t.Logf("exit %d after %s: %s", res.code, res.elapsed.Round(time.Millisecond), strings.TrimSpace(res.stderr))
	if res.code != 1 {
		t.Errorf("headroom analyze exited %d, want 1", res.code)
	}
	if !strings.Contains(res.stderr, down) {
		t.Errorf("the error does not name %s:\n%s", down, res.stderr)
	}
	if strings.TrimSpace(res.stdout) != "" {
		t.Errorf("nothing should reach stdout on error, got:\n%s", res.stdout)
	}
}
