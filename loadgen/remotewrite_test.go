package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/model"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/prompb"
	"google.golang.org/protobuf/proto"

	"github.com/headroom-sh/headroom/internal/testenv"
)

// rwTestMetrics is a registry holding one metric of each kind the runner
// exports, with the contract's constant labels.
type rwTestMetrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	vus      prometheus.Gauge
	duration *prometheus.HistogramVec
}

func newRWTestMetrics(t *testing.T, runID string) *rwTestMetrics {
	t.Helper()
	constLabels := prometheus.Labels{"run_id": runID, "scenario": "checkout", "shard": "0/1"}
	m := &rwTestMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: model.MetricRequests, Help: "Requests sent.", ConstLabels: constLabels,
		}, []string{"stage", "endpoint", "method", "status"}),
		vus: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: model.MetricVUs, Help: "Active VUs.", ConstLabels: constLabels,
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: model.MetricRequestDuration, Help: "Request latency.", ConstLabels: constLabels,
			Buckets:                        []float64{0.01, 0.05, 0.1, 0.5, 1},
			NativeHistogramBucketFactor:    1.1,
			NativeHistogramMaxBucketNumber: 160,
		}, []string{"stage", "endpoint", "method"}),
	}
	m.reg.MustRegister(m.requests, m.vus, m.duration)
	return m
}

const rwTestEndpoint = "GET /api/orders/{id}"

// step records one 10-second interval: 100 requests, 90 taking 20 ms, 9
// taking 300 ms and 1 taking 2 s.
func (m *rwTestMetrics) step() {
	m.requests.WithLabelValues("stage-1", rwTestEndpoint, "GET", "200").Add(100)
	m.vus.Set(64)
	h := m.duration.WithLabelValues("stage-1", rwTestEndpoint, "GET")
	for i := 0; i < 90; i++ {
		h.Observe(0.02)
	}
	for i := 0; i < 9; i++ {
		h.Observe(0.3)
	}
	h.Observe(2)
}

func (m *rwTestMetrics) gather(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return fams
}

// rwPrometheus is a real Prometheus started for one test.
type rwPrometheus struct {
	url string
}

// rwStartPrometheus starts /usr/bin/prometheus with the remote write receiver
// on a free loopback port, or falls back to the one scripts/testenv.sh
// started (then only when native is false).
func rwStartPrometheus(t *testing.T, native bool) *rwPrometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if native {
			t.Skip("prometheus is not installed; the native histogram receiver test needs its own instance")
		}
		return &rwPrometheus{url: testenv.Require(t, testenv.PrometheusURL)}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	args := []string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver",
	}
	if native {
		args = append(args, "--enable-feature=native-histograms")
	}
	cmd := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("could not start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	p := &rwPrometheus{url: "http://" + addr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("prometheus exited before it was ready: %v\n%s", err, b)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus at %s was not ready within 60s", p.url)
		}
	}
}

type rwQueryResult struct {
	Metric    map[string]string `json:"metric"`
	Value     [2]any            `json:"value"`
	Histogram json.RawMessage   `json:"histogram"`
}

// query runs an instant PromQL query at ts and returns the vector.
func (p *rwPrometheus) query(t *testing.T, q string, ts time.Time) []rwQueryResult {
	t.Helper()
	v := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(ts.UnixMilli())/1000, 'f', 3, 64)}}
	resp, err := http.Get(p.url + "/api/v1/query?" + v.Encode())
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     []rwQueryResult `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("query %s: decoding the answer: %v", q, err)
	}
	if body.Status != "success" {
		t.Fatalf("query %s: %s", q, body.Error)
	}
	return body.Data.Result
}

// scalar runs q and returns the value of its only element.
func (p *rwPrometheus) scalar(t *testing.T, q string, ts time.Time) float64 {
	t.Helper()
	res := p.query(t, q, ts)
	if len(res) != 1 {
		t.Fatalf("query %s: got %d series, want 1: %+v", q, len(res), res)
	}
	s, _ := res[0].Value[1].(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("query %s: value %v: %v", q, res[0].Value[1], err)
	}
	return f
}

// rwWriteSteps writes n snapshots 10 s apart ending about a minute ago and
// returns the last timestamp.
func rwWriteSteps(t *testing.T, w *RemoteWriter, m *rwTestMetrics, n int) time.Time {
	t.Helper()
	start := time.Now().Add(-time.Duration(n)*10*time.Second - time.Minute).Truncate(time.Second)
	var last time.Time
	for i := 0; i < n; i++ {
		m.step()
		last = start.Add(time.Duration(i) * 10 * time.Second)
		if err := w.Write(context.Background(), last, m.gather(t)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	return last
}

// rwTestLogger logs to the test's output.
func rwTestLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(rwTestLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type rwTestLogWriter struct{ t *testing.T }

func (w rwTestLogWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func rwWithin(got, want, tol float64) bool { return math.Abs(got-want) <= tol*math.Abs(want) }

func TestRemoteWriteToRealPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	for _, native := range []bool{false, true} {
		name := "a receiver without native histograms keeps every classic series"
		if native {
			name = "a receiver with native histograms stores classic and native series"
		}
		t.Run(name, func(t *testing.T) {
			p := rwStartPrometheus(t, native)
			runID := fmt.Sprintf("rw-%d", time.Now().UnixNano())
			m := newRWTestMetrics(t, runID)
			w, err := NewRemoteWriter(RemoteWriteConfig{URL: p.url + "/api/v1/write", Logger: rwTestLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			last := rwWriteSteps(t, w, m, 8)
			if w.Pending() != 0 || w.Dropped() != 0 {
				t.Errorf("pending %d, dropped %d after successful writes; want 0, 0", w.Pending(), w.Dropped())
			}
			if got := w.NativeHistograms(); got != native {
				t.Errorf("NativeHistograms() = %v after writing to a receiver with native histograms %v", got, native)
			}

			sel := fmt.Sprintf(`{run_id=%q}`, runID)
			if got := p.scalar(t, `sum(rate(headroom_requests_total`+sel+`[1m]))`, last); !rwWithin(got, 10, 0.01) {
				t.Errorf("rate of the counter = %v, want 10/s", got)
			}
			res := p.query(t, `headroom_requests_total`+sel, last)
			if len(res) != 1 {
				t.Fatalf("got %d counter series, want 1: %+v", len(res), res)
			}
			wantLabels := map[string]string{
				"__name__": "headroom_requests_total", "run_id": runID, "scenario": "checkout", "shard": "0/1",
				"stage": "stage-1", "endpoint": rwTestEndpoint, "method": "GET", "status": "200",
			}
			if fmt.Sprint(res[0].Metric) != fmt.Sprint(wantLabels) {
				t.Errorf("counter labels = %v, want %v", res[0].Metric, wantLabels)
			}
			if got := p.scalar(t, `headroom_requests_total`+sel, last); got != 800 {
				t.Errorf("counter = %v, want 800", got)
			}
			if got := p.scalar(t, `headroom_vus`+sel, last); got != 64 {
				t.Errorf("gauge = %v, want 64", got)
			}
			if got := p.scalar(t, `headroom_request_duration_seconds_count`+sel, last); got != 800 {
				t.Errorf("histogram _count = %v, want 800", got)
			}
			if got := p.scalar(t, `headroom_request_duration_seconds_bucket{le="+Inf",run_id="`+runID+`"}`, last); got != 800 {
				t.Errorf("histogram +Inf bucket = %v, want 800", got)
			}
			if got := p.scalar(t, `headroom_request_duration_seconds_sum`+sel, last); !rwWithin(got, 8*(90*0.02+9*0.3+2), 1e-9) {
				t.Errorf("histogram _sum = %v, want %v", got, 8*(90*0.02+9*0.3+2))
			}
			p50 := p.scalar(t, `histogram_quantile(0.5, sum by (le) (rate(headroom_request_duration_seconds_bucket`+sel+`[1m])))`, last)
			if p50 <= 0.01 || p50 > 0.05 {
				t.Errorf("classic p50 = %v, want in the (0.01, 0.05] bucket", p50)
			}
			p99 := p.scalar(t, `histogram_quantile(0.99, sum by (le) (rate(headroom_request_duration_seconds_bucket`+sel+`[1m])))`, last)
			if p99 <= 0.1 || p99 > 0.5 {
				t.Errorf("classic p99 = %v, want in the (0.1, 0.5] bucket", p99)
			}

			nativeSeries := p.query(t, `headroom_request_duration_seconds`+sel, last)
			if !native {
				if len(nativeSeries) != 0 {
					t.Errorf("found native histogram series on a receiver without them: %+v", nativeSeries)
				}
				return
			}
			if len(nativeSeries) != 1 || len(nativeSeries[0].Histogram) == 0 {
				t.Fatalf("want one native histogram series, got %+v", nativeSeries)
			}
			np50 := p.scalar(t, `histogram_quantile(0.5, sum(rate(headroom_request_duration_seconds`+sel+`[1m])))`, last)
			if !rwWithin(np50, 0.02, 0.1) {
				t.Errorf("native p50 = %v, want 0.02 within a native bucket (10%%)", np50)
			}
			np99 := p.scalar(t, `histogram_quantile(0.99, sum(rate(headroom_request_duration_seconds`+sel+`[1m])))`, last)
			if !rwWithin(np99, 0.3, 0.1) {
				t.Errorf("native p99 = %v, want 0.3 within a native bucket (10%%)", np99)
			}
			if got := p.scalar(t, `histogram_count(headroom_request_duration_seconds`+sel+`)`, last); got != 800 {
				t.Errorf("native histogram count = %v, want 800", got)
			}
		})
	}
}

// rwReceiver is an httptest remote write receiver that answers from a
// script and records what it was sent.
type rwReceiver struct {
	srv *httptest.Server

	mu                 sync.Mutex
	answers            []int // status per request; 200 once exhausted; 0 drops the connection
	messages           map[int]string
	requests           []*prompb.WriteRequest
	headers            []http.Header
	attempts           int
	rejectNative       bool
	rejectNativeStatus int
}

func newRWReceiver(t *testing.T, answers ...int) *rwReceiver {
	t.Helper()
	r := &rwReceiver{answers: answers, messages: map[int]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rwReceiver) url() string { return r.srv.URL + "/api/v1/write" }

func (r *rwReceiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	status := http.StatusNoContent
	if len(r.answers) > 0 {
		status = r.answers[0]
		r.answers = r.answers[1:]
	}
	if status == 0 {
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("no hijacker")
		}
		conn, _, _ := hj.Hijack()
		conn.Close()
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, "not snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	var wr prompb.WriteRequest
	if err := wr.Unmarshal(raw); err != nil {
		http.Error(w, "not a WriteRequest: "+err.Error(), http.StatusBadRequest)
		return
	}
	if r.rejectNative {
		for _, ts := range wr.Timeseries {
			if len(ts.Histograms) > 0 {
				http.Error(w, "native histograms are disabled", r.rejectNativeStatus)
				return
			}
		}
	}
	if status/100 == 2 {
		r.requests = append(r.requests, &wr)
		r.headers = append(r.headers, req.Header.Clone())
		w.WriteHeader(status)
		return
	}
	msg := r.messages[status]
	if msg == "" {
		msg = fmt.Sprintf("scripted %d", status)
	}
	http.Error(w, msg, status)
}

func (r *rwReceiver) received() ([]*prompb.WriteRequest, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests), r.attempts
}

// rwSampleTimes lists the distinct sample timestamps of a request.
func rwSampleTimes(wr *prompb.WriteRequest) []int64 {
	var out []int64
	for _, ts := range wr.Timeseries {
		for _, s := range ts.Samples {
			if !slices.Contains(out, s.Timestamp) {
				out = append(out, s.Timestamp)
			}
		}
	}
	return out
}

func rwNewTestWriter(t *testing.T, cfg RemoteWriteConfig) *RemoteWriter {
	t.Helper()
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	w, err := NewRemoteWriter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRemoteWriteFaults(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)

	t.Run("a 500 then a 200 is retried and delivered once", func(t *testing.T) {
		rcv := newRWReceiver(t, 500, 200)
		m := newRWTestMetrics(t, "r")
		m.step()
		w := rwNewTestWriter(t, RemoteWriteConfig{URL: rcv.url()})
		if err := w.Write(context.Background(), t0, m.gather(t)); err != nil {
			t.Fatalf("Write: %v", err)
		}
		reqs, attempts := rcv.received()
		if attempts != 2 || len(reqs) != 1 {
			t.Errorf("attempts %d, delivered %d; want 2, 1", attempts, len(reqs))
		}
	})

	t.Run("a 429 is retried", func(t *testing.T) {
		rcv := newRWReceiver(t, 429, 429, 204)
		m := newRWTestMetrics(t, "r")
		m.step()
		w := rwNewTestWriter(t, RemoteWriteConfig{URL: rcv.url()})
		if err := w.Write(context.Background(), t0, m.gather(t)); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if _, attempts := rcv.received(); attempts != 3 {
			t.Errorf("attempts %d, want 3", attempts)
		}
	})

	t.Run("a 400 is not retried and the error names the URL, the status and the message", func(t *testing.T) {
		rcv := newRWReceiver(t, 400)
		rcv.messages[400] = "out of order sample"
		m := newRWTestMetrics(t, "r")
		m.step()
		w := rwNewTestWriter(t, RemoteWriteConfig{URL: rcv.url()})
		err := w.Write(context.Background(), t0, m.gather(t))
		if err == nil {
			t.Fatal("Write succeeded against a 400")
		}
		for _, want := range []string{rcv.url(), "400", "out of order sample"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		var rwErr *RemoteWriteError
		if !errors.As(err, &rwErr) || rwErr.StatusCode != 400 {
			t.Errorf("error %v is not a *RemoteWriteError with status 400", err)
		}
		if _, attempts := rcv.received(); attempts != 1 {
			t.Errorf("attempts %d, want 1", attempts)
		}
		if w.Pending() != 0 || w.Dropped() != 1 {
			t.Errorf("pending %d, dropped %d; a refused batch is dropped, not kept", w.Pending(), w.Dropped())
		}
	})

	t.Run("retries stop after Retries and the error counts the attempts", func(t *testing.T) {
		rcv := newRWReceiver(t, 503, 503, 503, 503, 503)
		m := newRWTestMetrics(t, "r")
		m.step()
		w := rwNewTestWriter(t, RemoteWriteConfig{URL: rcv.url(), Retries: 2})
		err := w.Write(context.Background(), t0, m.gather(t))
		if err == nil || !strings.Contains(err.Error(), "after 3 attempts") || !strings.Contains(err.Error(), "503") {
			t.Errorf("error = %v, want 503 after 3 attempts", err)
		}
		if _, attempts := rcv.received(); attempts != 3 {
			t.Errorf("attempts %d, want 3", attempts)
		}
	})

	t.Run("a dropped connection is retried", func(t *testing.T) {
		rcv := newRWReceiver(t, 0, 200)
		m := newRWTestMetrics(t, "r")
		m.step()
		w := rwNewTestWriter(t, RemoteWriteConfig{URL: rcv.url()})
		if err := w.Write(context.Background(), t0, m.gather(t)); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if reqs, attempts := rcv.received(); attempts != 2 || len(reqs) != 1 {
			t.Errorf("attempts %d, delivered %d; want 2, 1", attempts, len(reqs))
		}
	})

	t.Run("a receiver that is down fails the write and the next write resends the batch first", func(t *testing.T) {
		rcv := newRWReceiver(t, 0, 0, 0, 0)
		m := newRWTestMetrics(t, "r")
		m.step()
		w := rwNewTestWriter(t, RemoteWriteConfig{URL: rcv.url()})
		err := w.Write(context.Background(), t0, m.gather(t))
		if err == nil || !strings.Contains(err.Error(), rcv.url()) {
			t.Fatalf("error = %v, want one naming %s", err, rcv.url())
		}
		if w.Pending() != 1 {
			t.Fatalf("pending %d, want the failed batch kept", w.Pending())
		}
		m.step()
		if err := w.Write(context.Background(), t0.Add(5*time.Second), m.gather(t)); err != nil {
			t.Fatalf("second Write: %v", err)
		}
		reqs, _ := rcv.received()
		if len(reqs) != 2 {
			t.Fatalf("delivered %d requests, want 2", len(reqs))
		}
		if got := [][]int64{rwSampleTimes(reqs[0]), rwSampleTimes(reqs[1])}; fmt.Sprint(got) != fmt.Sprint([][]int64{{t0.UnixMilli()}, {t0.Add(5 * time.Second).UnixMilli()}}) {
			t.Errorf("sample timestamps per request = %v, want the buffered batch first", got)
		}
		if w.Pending() != 0 {
			t.Errorf("pending %d after delivery, want 0", w.Pending())
		}
	})

	t.Run("a closed port fails with an error naming the URL and keeps the batch", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u := "http://" + l.Addr().String() + "/api/v1/write"
		l.Close()
		m := newRWTestMetrics(t, "r")
		m.step()
		w := rwNewTestWriter(t, RemoteWriteConfig{URL: u, Retries: 1})
		err = w.Write(context.Background(), t0, m.gather(t))
		if err == nil || !strings.Contains(err.Error(), u) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("error = %v, want connection refused naming %s", err, u)
		}
		if w.Pending() != 1 {
			t.Errorf("pending %d, want 1", w.Pending())
		}
	})

	t.Run("the pending buffer is bounded and drops the oldest batch", func(t *testing.T) {
		rcv := newRWReceiver(t, 0, 0, 0, 0, 0, 0)
		m := newRWTestMetrics(t, "r")
		w := rwNewTestWriter(t, RemoteWriteConfig{URL: rcv.url(), Retries: -1, MaxPending: 2})
		for i := 0; i < 3; i++ {
			m.step()
			if err := w.Write(context.Background(), t0.Add(time.Duration(i)*time.Second), m.gather(t)); err == nil {
				t.Fatalf("write %d succeeded against a dropped connection", i)
			}
		}
		if w.Pending() != 2 || w.Dropped() != 1 {
			t.Errorf("pending %d, dropped %d; want 2, 1", w.Pending(), w.Dropped())
		}
		rcv.mu.Lock()
		rcv.answers = nil
		rcv.mu.Unlock()
		if err := w.Write(context.Background(), t0.Add(3*time.Second), nil); err != nil {
			t.Fatalf("flush: %v", err)
		}
		reqs, _ := rcv.received()
		var got [][]int64
		for _, r := range reqs {
			got = append(got, rwSampleTimes(r))
		}
		want := [][]int64{{t0.Add(time.Second).UnixMilli()}, {t0.Add(2 * time.Second).UnixMilli()}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("delivered timestamps %v, want %v", got, want)
		}
	})

	for _, status := range []int{400, 500} {
		t.Run(fmt.Sprintf("a receiver refusing native histograms with a %d gets the batch again at once without them, and no more after", status), func(t *testing.T) {
			rcv := newRWReceiver(t)
			rcv.rejectNative, rcv.rejectNativeStatus = true, status
			m := newRWTestMetrics(t, "r")
			w := rwNewTestWriter(t, RemoteWriteConfig{URL: rcv.url()})
			for i := 0; i < 2; i++ {
				m.step()
				if err := w.Write(context.Background(), t0.Add(time.Duration(i)*time.Second), m.gather(t)); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
			}
			reqs, attempts := rcv.received()
			if attempts != 3 || len(reqs) != 2 {
				t.Errorf("attempts %d, delivered %d; want 3 (one refused), 2", attempts, len(reqs))
			}
			if w.NativeHistograms() {
				t.Error("NativeHistograms() is still true")
			}
			for _, r := range reqs {
				if len(rwSeriesNamed(r, "headroom_request_duration_seconds_bucket")) != 6 {
					t.Errorf("a delivered request lacks the classic buckets")
				}
			}
		})
	}

	t.Run("a canceled context stops the retries", func(t *testing.T) {
		rcv := newRWReceiver(t, 503, 503, 503, 503)
		m := newRWTestMetrics(t, "r")
		m.step()
		w := rwNewTestWriter(t, RemoteWriteConfig{URL: rcv.url(), Backoff: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for {
				if _, n := rcv.received(); n > 0 {
					cancel()
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		err := w.Write(ctx, t0, m.gather(t))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want one wrapping context.Canceled", err)
		}
		if w.Pending() != 1 {
			t.Errorf("pending %d, want 1", w.Pending())
		}
	})
}

func TestRemoteWriteRequestFormat(t *testing.T) {
	rcv := newRWReceiver(t)
	m := newRWTestMetrics(t, "r1")
	m.step()
	w := rwNewTestWriter(t, RemoteWriteConfig{
		URL:         rcv.url(),
		BearerToken: "s3cret",
		Headers:     map[string]string{"X-Scope-OrgID": "team-a"},
		UserAgent:   "headroom/v1.2.3",
	})
	if err := w.Write(context.Background(), time.UnixMilli(1_700_000_000_123), m.gather(t)); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	h := rcv.headers[0]
	rcv.mu.Unlock()
	for k, want := range map[string]string{
		"Content-Type":                      "application/x-protobuf",
		"Content-Encoding":                  "snappy",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
		"User-Agent":                        "headroom/v1.2.3",
		"Authorization":                     "Bearer s3cret",
		"X-Scope-Orgid":                     "team-a",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}

	basic := newRWReceiver(t)
	w = rwNewTestWriter(t, RemoteWriteConfig{URL: basic.url(), BasicAuthUser: "u", BasicAuthPassword: "p"})
	if err := w.Write(context.Background(), time.Now(), m.gather(t)); err != nil {
		t.Fatal(err)
	}
	basic.mu.Lock()
	if got := basic.headers[0].Get("Authorization"); got != "Basic dTpw" {
		t.Errorf("basic auth header = %q", got)
	}
	if ua := basic.headers[0].Get("User-Agent"); !strings.HasPrefix(ua, "headroom/") {
		t.Errorf("default User-Agent = %q, want headroom/VERSION", ua)
	}
	basic.mu.Unlock()
}

func rwSeriesNamed(wr *prompb.WriteRequest, name string) []prompb.TimeSeries {
	var out []prompb.TimeSeries
	for _, ts := range wr.Timeseries {
		for _, l := range ts.Labels {
			if l.Name == "__name__" && l.Value == name {
				out = append(out, ts)
			}
		}
	}
	return out
}

func rwLabelString(ls []prompb.Label) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", l.Name, l.Value)
	}
	return b.String()
}

func TestRemoteWriteConversion(t *testing.T) {
	m := newRWTestMetrics(t, "r1")
	m.step()
	summary := prometheus.NewSummary(prometheus.SummaryOpts{
		Name: "lag_seconds", Help: "Lag.", Objectives: map[float64]float64{0.5: 0.05, 0.99: 0.001},
	})
	m.reg.MustRegister(summary)
	summary.Observe(1)
	fams := m.gather(t)
	before := make([]*dto.MetricFamily, len(fams))
	for i, f := range fams {
		before[i] = proto.Clone(f).(*dto.MetricFamily)
	}

	b := rwConvert(fams, 1234, true)
	wr := &prompb.WriteRequest{Timeseries: b.series}

	for i := range fams {
		if !proto.Equal(fams[i], before[i]) {
			t.Errorf("family %s was modified", fams[i].GetName())
		}
	}
	for _, ts := range b.series {
		if ts.Labels[0].Name != "__name__" {
			t.Errorf("series %s does not start with __name__", rwLabelString(ts.Labels))
		}
		if !slices.IsSortedFunc(ts.Labels, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) }) {
			t.Errorf("labels of %s are not sorted", rwLabelString(ts.Labels))
		}
		for _, s := range ts.Samples {
			if s.Timestamp != 1234 {
				t.Errorf("sample timestamp %d, want 1234", s.Timestamp)
			}
		}
	}

	tests := []struct {
		name   string
		metric string
		want   []string
	}{
		{"a counter becomes one series with its labels", "headroom_requests_total", []string{
			`__name__="headroom_requests_total",endpoint="GET /api/orders/{id}",method="GET",run_id="r1",scenario="checkout",shard="0/1",stage="stage-1",status="200" 100`,
		}},
		{"a gauge becomes one series", "headroom_vus", []string{
			`__name__="headroom_vus",run_id="r1",scenario="checkout",shard="0/1" 64`,
		}},
		{"a histogram's classic buckets are cumulative and end with +Inf", "headroom_request_duration_seconds_bucket", []string{
			`__name__="headroom_request_duration_seconds_bucket",endpoint="GET /api/orders/{id}",le="0.01",method="GET",run_id="r1",scenario="checkout",shard="0/1",stage="stage-1" 0`,
			`__name__="headroom_request_duration_seconds_bucket",endpoint="GET /api/orders/{id}",le="0.05",method="GET",run_id="r1",scenario="checkout",shard="0/1",stage="stage-1" 90`,
			`__name__="headroom_request_duration_seconds_bucket",endpoint="GET /api/orders/{id}",le="0.1",method="GET",run_id="r1",scenario="checkout",shard="0/1",stage="stage-1" 90`,
			`__name__="headroom_request_duration_seconds_bucket",endpoint="GET /api/orders/{id}",le="0.5",method="GET",run_id="r1",scenario="checkout",shard="0/1",stage="stage-1" 99`,
			`__name__="headroom_request_duration_seconds_bucket",endpoint="GET /api/orders/{id}",le="1",method="GET",run_id="r1",scenario="checkout",shard="0/1",stage="stage-1" 99`,
			`__name__="headroom_request_duration_seconds_bucket",endpoint="GET /api/orders/{id}",le="+Inf",method="GET",run_id="r1",scenario="checkout",shard="0/1",stage="stage-1" 100`,
		}},
		{"a histogram has a _count", "headroom_request_duration_seconds_count", []string{
			`__name__="headroom_request_duration_seconds_count",endpoint="GET /api/orders/{id}",method="GET",run_id="r1",scenario="checkout",shard="0/1",stage="stage-1" 100`,
		}},
		{"a summary gives its quantiles", "lag_seconds", []string{
			`__name__="lag_seconds",quantile="0.5" 1`,
			`__name__="lag_seconds",quantile="0.99" 1`,
		}},
		{"a summary has a _sum", "lag_seconds_sum", []string{`__name__="lag_seconds_sum" 1`}},
		{"a summary has a _count", "lag_seconds_count", []string{`__name__="lag_seconds_count" 1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, ts := range rwSeriesNamed(wr, tt.metric) {
				if len(ts.Samples) == 1 {
					got = append(got, fmt.Sprintf("%s %v", rwLabelString(ts.Labels), ts.Samples[0].Value))
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}

	t.Run("a histogram with native buckets also becomes a native histogram", func(t *testing.T) {
		ns := rwSeriesNamed(wr, "headroom_request_duration_seconds")
		if len(ns) != 1 || len(ns[0].Histograms) != 1 || len(ns[0].Samples) != 0 {
			t.Fatalf("native series: %+v", ns)
		}
		h := ns[0].Histograms[0]
		fh := h.ToFloatHistogram()
		if h.Timestamp != 1234 || fh.Count != 100 || !rwWithin(fh.Sum, 90*0.02+9*0.3+2, 1e-9) || h.Schema != 3 {
			t.Errorf("native histogram: count %v, sum %v, schema %d, ts %d", fh.Count, fh.Sum, h.Schema, h.Timestamp)
		}
		if err := fh.Validate(); err != nil {
			t.Errorf("native histogram is invalid: %v", err)
		}
		var total float64
		for it := fh.AllBucketIterator(); it.Next(); {
			total += it.At().Count
		}
		if total != 100 {
			t.Errorf("native buckets hold %v observations, want 100", total)
		}
	})

	t.Run("without native histograms only the classic series are made", func(t *testing.T) {
		b := rwConvert(fams, 1234, false)
		if b.hasNative() {
			t.Error("native histogram made")
		}
	})

	t.Run("a metric's own timestamp wins", func(t *testing.T) {
		ts := int64(999)
		fam := &dto.MetricFamily{Name: proto.String("x"), Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{{
			Gauge: &dto.Gauge{Value: proto.Float64(1)}, TimestampMs: &ts,
		}}}
		b := rwConvert([]*dto.MetricFamily{fam}, 1234, true)
		if got := b.series[0].Samples[0].Timestamp; got != 999 {
			t.Errorf("timestamp %d, want 999", got)
		}
	})
}

func TestNewRemoteWriterValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  RemoteWriteConfig
		want string
	}{
		{"an empty URL is rejected", RemoteWriteConfig{}, "URL is empty"},
		{"a relative URL is rejected", RemoteWriteConfig{URL: "/api/v1/write"}, `"/api/v1/write"`},
		{"a URL without a scheme is rejected", RemoteWriteConfig{URL: "127.0.0.1:9090/api/v1/write"}, "absolute http(s) URL"},
		{"an ftp URL is rejected", RemoteWriteConfig{URL: "ftp://host/x"}, "absolute http(s) URL"},
		{"a URL without a host is rejected", RemoteWriteConfig{URL: "http:///api/v1/write"}, "no host"},
		{"a bearer token and basic auth together are rejected", RemoteWriteConfig{URL: "http://h/", BearerToken: "t", BasicAuthUser: "u"}, "both set"},
		{"a protocol header cannot be overridden", RemoteWriteConfig{URL: "http://h/", Headers: map[string]string{"content-encoding": "gzip"}}, "content-encoding"},
		{"an Authorization header conflicts with a bearer token", RemoteWriteConfig{URL: "http://h/", BearerToken: "t", Headers: map[string]string{"Authorization": "x"}}, "conflicts"},
		{"a negative timeout is rejected", RemoteWriteConfig{URL: "http://h/", Timeout: -time.Second}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRemoteWriter(tt.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrRemoteWriteConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want ErrRemoteWriteConfig mentioning %q", err, tt.want)
			}
		})
	}

	w, err := NewRemoteWriter(RemoteWriteConfig{URL: "https://mimir.example/api/v1/push"})
	if err != nil {
		t.Fatal(err)
	}
	if w.cfg.Timeout != DefaultRemoteWriteTimeout || w.cfg.Retries != DefaultRemoteWriteRetries || w.cfg.MaxPending != DefaultRemoteWriteMaxPending {
		t.Errorf("defaults not applied: %+v", w.cfg)
	}
}
