package checkout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// testJWTSecret signs tokens in tests, so tests can forge expired ones.
const testJWTSecret = "test-secret"

// backendFactory opens a server on one backend with the given config
// (backend-specific fields are filled in), or skips the test.
type backendFactory func(t *testing.T, cfg Config) *Server

// backends are the backends every shared test runs on.
var backends = []struct {
	name string
	open backendFactory
}{
	{"sim", openSim},
	{"real", openReal},
}

// openSim opens a sim-backed server closed with the test.
func openSim(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Backend = BackendSim
	return openServer(t, cfg)
}

// Real-backend test environment.
const (
	defaultTestPGURL     = "postgres://postgres@127.0.0.1:5432/checkout_test?sslmode=disable"
	defaultTestRedisAddr = "127.0.0.1:6379"
	testRedisDB          = 7
)

// realEnv returns the PostgreSQL URL and Redis address of the real-backend
// tests, from HEADROOM_TEST_PG_URL and HEADROOM_TEST_REDIS_ADDR. When
// either is unreachable the test fails in CI and is skipped elsewhere.
func realEnv(t *testing.T) (pgURL, redisAddr string) {
	t.Helper()
	pgURL = envOr("HEADROOM_TEST_PG_URL", defaultTestPGURL)
	redisAddr = envOr("HEADROOM_TEST_REDIS_ADDR", defaultTestRedisAddr)
	pgc, err := pgx.ParseConfig(pgURL)
	if err != nil {
		t.Fatalf("HEADROOM_TEST_PG_URL %q is not a PostgreSQL URL: %v", pgURL, err)
	}
	for _, addr := range []string{net.JoinHostPort(pgc.Host, strconv.Itoa(int(pgc.Port))), redisAddr} {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			msg := fmt.Sprintf("%s is unreachable (%v); run `scripts/testenv.sh up` or set HEADROOM_TEST_PG_URL and HEADROOM_TEST_REDIS_ADDR", addr, err)
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		_ = conn.Close()
	}
	return pgURL, redisAddr
}

// openReal opens a server on the local PostgreSQL and Redis (see realEnv),
// after flushing the test Redis database.
func openReal(t *testing.T, cfg Config) *Server {
	t.Helper()
	pgURL, redisAddr := realEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, DB: testRedisDB})
	defer func() { _ = rdb.Close() }()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("could not flush Redis database %d on %s: %v", testRedisDB, redisAddr, err)
	}

	cfg.Backend = BackendReal
	cfg.DatabaseURL = pgURL
	cfg.RedisAddr = redisAddr
	cfg.RedisDB = testRedisDB
	return openServer(t, cfg)
}

func openServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.JWTSecret == "" {
		cfg.JWTSecret = testJWTSecret
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("could not open the %s backend: %v", cfg.Backend, err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// apiClient calls a test server over real HTTP on 127.0.0.1.
type apiClient struct {
	t     testing.TB
	base  string
	http  *http.Client
	token string
}

// newTestClient starts an httptest server for srv and returns a client of
// it without a token.
func newTestClient(t *testing.T, srv *Server) *apiClient {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &apiClient{t: t, base: ts.URL, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// as returns a copy of the client logged in as user.
func (c *apiClient) as(user string) *apiClient {
	c.t.Helper()
	var resp loginResponse
	c.mustJSON(http.MethodPost, "/api/auth/login", map[string]string{"username": user, "password": UserPassword}, http.StatusOK, &resp)
	if resp.Token == "" {
		c.t.Fatalf("login of %s returned no token", user)
	}
	cc := *c
	cc.token = resp.Token
	return &cc
}

// withToken returns a copy of the client using token.
func (c *apiClient) withToken(token string) *apiClient {
	cc := *c
	cc.token = token
	return &cc
}

// do sends a request with a JSON body (a string is sent as is; nil sends
// none) and returns the status and body.
func (c *apiClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	code, out, err := c.try(method, path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	return code, out
}

// try is do without failing the test, for use in other goroutines.
func (c *apiClient) try(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, fmt.Errorf("could not encode request body: %w", err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return 0, nil, fmt.Errorf("could not build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: could not read body: %w", method, path, err)
	}
	return resp.StatusCode, out, nil
}

// mustJSON sends a request, checks the status and decodes the answer into
// out (when not nil).
func (c *apiClient) mustJSON(method, path string, body any, want int, out any) {
	c.t.Helper()
	code, b := c.do(method, path, body)
	if code != want {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: could not decode %s: %v", method, path, b, err)
		}
	}
}

// metric returns the value of an unlabelled gauge or counter, or the sum
// over the series matching the label pairs of a labelled one (the sample
// count for histograms), from reg; ok is false when absent.
func metric(t testing.TB, reg prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	v, ok, err := gatherValue(reg, name, labels...)
	if err != nil {
		t.Fatalf("could not gather metrics: %v", err)
	}
	return v, ok
}

// gatherValue is metric without a test, safe in any goroutine.
func gatherValue(reg prometheus.Gatherer, name string, labels ...string) (float64, bool, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, false, err
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
		return sum, true, nil
	}
	return 0, false, nil
}

// mustMetric is metric that fails the test when the series is absent.
func mustMetric(t testing.TB, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	v, ok := metric(t, reg, name, labels...)
	if !ok {
		t.Fatalf("metric %s is not exported", name)
	}
	return v
}

// histogramSum returns the sum of observations of a histogram series.
func histogramSum(t testing.TB, reg prometheus.Gatherer, name, route string) (sum float64, count uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("could not gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "route" && lp.GetValue() == route {
					sum += m.GetHistogram().GetSampleSum()
					count += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return sum, count
}

// peakSampler records the highest value of a gauge while it runs.
type peakSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	mu   sync.Mutex
	peak float64
}

// samplePeak polls name in reg every millisecond until stop is called.
func samplePeak(reg prometheus.Gatherer, name string) *peakSampler {
	p := &peakSampler{stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				v, _, _ := gatherValue(reg, name)
				p.mu.Lock()
				p.peak = max(p.peak, v)
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// Stop ends sampling and returns the peak seen.
func (p *peakSampler) Stop() float64 {
	close(p.stop)
	p.done.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}
