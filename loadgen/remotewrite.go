package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang/snappy"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/prompb"

	"github.com/headroom-sh/headroom/internal/outbound"
	"github.com/headroom-sh/headroom/internal/readfile"
)

// Remote write protocol 1.0 headers (https://prometheus.io/docs/specs/remote_write_spec/).
const (
	remoteWriteVersion     = "0.1.0"
	remoteWriteContentType = "application/x-protobuf"
)

// Defaults of RemoteWriteConfig.
const (
	DefaultRemoteWriteTimeout    = 10 * time.Second
	DefaultRemoteWriteRetries    = 3
	DefaultRemoteWriteBackoff    = 250 * time.Millisecond
	DefaultRemoteWriteMaxPending = 32
)

// rwMaxBackoff caps the wait between two attempts, including a receiver's
// Retry-After.
const rwMaxBackoff = 5 * time.Second

// rwMaxErrorBody is how much of a receiver's error answer is kept.
const rwMaxErrorBody = 1024

// ErrRemoteWriteConfig is wrapped by every error about a bad RemoteWriteConfig.
var ErrRemoteWriteConfig = errors.New("invalid remote write configuration")

// RemoteWriteConfig configures a RemoteWriter.
type RemoteWriteConfig struct {
	// URL is the receiver's endpoint, an absolute http(s) URL such as
	// http://prometheus:9090/api/v1/write. Required.
	URL string
	// Headers are added to every request. The protocol's own headers
	// (Content-Type, Content-Encoding, X-Prometheus-Remote-Write-Version)
	// cannot be overridden.
	Headers map[string]string
	// BearerToken is sent as "Authorization: Bearer TOKEN".
	BearerToken string
	// BearerTokenFile holds a bearer token, read on every request so that a
	// rotated token is picked up; it cannot be combined with BearerToken.
	BearerTokenFile string
	// BasicAuthUser and BasicAuthPassword are sent as HTTP basic auth.
	BasicAuthUser, BasicAuthPassword string
	// Timeout bounds each HTTP attempt (default 10s).
	Timeout time.Duration
	// Retries is how many times a request is tried again after a network
	// error, a 5xx or a 429 (default 3; negative means never). Other 4xx
	// answers are never retried.
	Retries int
	// Backoff is the wait before the first retry, doubled for each further
	// retry and capped at 5s (default 250ms).
	Backoff time.Duration
	// MaxPending bounds how many failed batches are kept and sent again,
	// oldest first, with the next Write; when more fail, the oldest is
	// dropped (default 32). Because counters and histograms are cumulative,
	// a dropped batch costs resolution, not totals.
	MaxPending int
	// UserAgent is sent with every request (default "headroom/VERSION"
	// with the module version from the build info).
	UserAgent string
	// HTTPClient sends the requests (default: a client of its own).
	HTTPClient *http.Client
	// Logger receives retries, drops and the native histogram fallback
	// (default: discard).
	Logger *slog.Logger
}

func (c *RemoteWriteConfig) defaults() error {
	if c.URL == "" {
		return fmt.Errorf("%w: the remote write URL is empty: expected an absolute http(s) URL such as http://127.0.0.1:9090/api/v1/write", ErrRemoteWriteConfig)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("%w: remote write URL %q: %v: expected an absolute http(s) URL such as http://127.0.0.1:9090/api/v1/write", ErrRemoteWriteConfig, c.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: remote write URL %q: expected an absolute http(s) URL such as http://127.0.0.1:9090/api/v1/write", ErrRemoteWriteConfig, c.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("%w: remote write URL %q has no host: expected an absolute http(s) URL such as http://127.0.0.1:9090/api/v1/write", ErrRemoteWriteConfig, c.URL)
	}
	if c.BearerToken != "" && c.BearerTokenFile != "" {
		return fmt.Errorf("%w: remote write to %q: a bearer token and a bearer token file are both set: expected at most one", ErrRemoteWriteConfig, c.URL)
	}
	if (c.BearerToken != "" || c.BearerTokenFile != "") && (c.BasicAuthUser != "" || c.BasicAuthPassword != "") {
		return fmt.Errorf("%w: remote write to %q: a bearer token and basic auth are both set: expected at most one", ErrRemoteWriteConfig, c.URL)
	}
	for k := range c.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Type", "Content-Encoding", "Content-Length", "X-Prometheus-Remote-Write-Version":
			return fmt.Errorf("%w: remote write header %q is set by the protocol and cannot be overridden", ErrRemoteWriteConfig, k)
		case "Authorization":
			if c.BearerToken != "" || c.BearerTokenFile != "" || c.BasicAuthUser != "" || c.BasicAuthPassword != "" {
				return fmt.Errorf("%w: remote write header %q conflicts with the bearer token or basic auth", ErrRemoteWriteConfig, k)
			}
		}
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%w: remote write timeout %s is negative", ErrRemoteWriteConfig, c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultRemoteWriteTimeout
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultRemoteWriteRetries
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultRemoteWriteBackoff
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultRemoteWriteMaxPending
	}
	if c.UserAgent == "" {
		c.UserAgent = "headroom/" + rwModuleVersion()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	// A redirect to another host is refused.
	c.HTTPClient = outbound.Client(c.HTTPClient)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// rwModuleVersion is the main module's version, or "dev" for a local build.
func rwModuleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// RemoteWriteError is a write the receiver refused or that could not reach
// it. Read it with errors.As.
type RemoteWriteError struct {
	// URL is the receiver's endpoint.
	URL string
	// StatusCode is the HTTP status of the last attempt; 0 when no answer came.
	StatusCode int
	// Message is the receiver's answer, trimmed, or the network error.
	Message string
	// Attempts is how many times the batch was sent.
	Attempts int
	// Err is the network error, if any.
	Err error
}

func (e *RemoteWriteError) Error() string {
	tries := ""
	if e.Attempts > 1 {
		tries = fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	if e.StatusCode == 0 {
		return fmt.Sprintf("could not remote write to %s%s: %s", e.URL, tries, e.Message)
	}
	msg := e.Message
	if msg == "" {
		msg = "no message"
	}
	return fmt.Sprintf("could not remote write to %s%s: %d %s: %s", e.URL, tries, e.StatusCode, http.StatusText(e.StatusCode), msg)
}

func (e *RemoteWriteError) Unwrap() error { return e.Err }

// Retryable reports whether sending the same batch again may succeed: a
// network error, a 5xx or a 429.
func (e *RemoteWriteError) Retryable() bool {
	return e.StatusCode == 0 || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// RemoteWriter sends metric snapshots to a Prometheus remote write receiver
// (protocol 1.0). It implements Sink and is safe for concurrent use; writes
// are sent one at a time, in order.
//
// Histograms are sent as classic series (_bucket with le, _sum, _count)
// always and, when they carry native buckets, as native histograms too. A
// receiver that refuses native histograms (Prometheus 2.x without
// --enable-feature=native-histograms) gets the same batch again without them,
// and no native histograms for the rest of the run.
type RemoteWriter struct {
	cfg RemoteWriteConfig

	mu      sync.Mutex
	pending []*rwBatch
	native  bool
	dropped int
}

// rwBatch is one snapshot, converted, waiting to be sent.
type rwBatch struct {
	series   []prompb.TimeSeries
	metadata []prompb.MetricMetadata
}

// NewRemoteWriter checks cfg and returns a writer.
func NewRemoteWriter(cfg RemoteWriteConfig) (*RemoteWriter, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &RemoteWriter{cfg: cfg, native: true}, nil
}

// URL returns the receiver's endpoint.
func (w *RemoteWriter) URL() string { return w.cfg.URL }

// Pending returns how many failed batches wait to be sent with the next Write.
func (w *RemoteWriter) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// Dropped returns how many batches were given up: refused with a 4xx
// other than 429, or pushed out of the bounded pending buffer.
func (w *RemoteWriter) Dropped() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped
}

// NativeHistograms reports whether native histograms are still sent: false
// once the receiver refused them.
func (w *RemoteWriter) NativeHistograms() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.native
}

// Write converts families to remote write series stamped ts (a metric's own
// timestamp wins) and sends them, after any batches that failed before.
// A batch that could not be delivered after the retries stays pending for
// the next Write, up to MaxPending; one refused with a 4xx other than 429
// is dropped. The error names the URL, the status and the receiver's message.
func (w *RemoteWriter) Write(ctx context.Context, ts time.Time, families []*dto.MetricFamily) error {
	if ts.IsZero() {
		ts = time.Now()
	}
	w.mu.Lock()
	defer w.mu.Unlock()

	b := rwConvert(families, ts.UnixMilli(), w.native)
	if len(b.series) > 0 {
		w.pending = append(w.pending, b)
	}
	if over := len(w.pending) - w.cfg.MaxPending; over > 0 {
		w.pending = w.pending[over:]
		w.dropped += over
		w.cfg.Logger.Warn("remote write buffer full, dropped the oldest batches", "url", w.cfg.URL, "dropped", over, "max_pending", w.cfg.MaxPending)
	}

	var errs []error
	for len(w.pending) > 0 {
		err := w.sendBatch(ctx, w.pending[0])
		if err == nil {
			w.pending[0] = nil
			w.pending = w.pending[1:]
			continue
		}
		var rwErr *RemoteWriteError
		if errors.As(err, &rwErr) && !rwErr.Retryable() {
			// Sending it again cannot succeed; later batches still may.
			w.pending[0] = nil
			w.pending = w.pending[1:]
			w.dropped++
			errs = append(errs, err)
			continue
		}
		if len(w.pending) > 1 {
			err = fmt.Errorf("%w (%d batches pending)", err, len(w.pending))
		}
		errs = append(errs, err)
		break
	}
	if len(w.pending) == 0 {
		w.pending = nil
	}
	return errors.Join(errs...)
}

// sendBatch sends b with retries, and falls back to classic-only series
// when the receiver refuses native histograms.
func (w *RemoteWriter) sendBatch(ctx context.Context, b *rwBatch) error {
	withNative := w.native && b.hasNative()
	err := w.sendWithRetries(ctx, b, withNative)
	if err == nil || !withNative || !rwRefusesNative(err) {
		return err
	}
	var rwErr *RemoteWriteError
	errors.As(err, &rwErr)
	w.native = false
	w.cfg.Logger.Warn("the remote write receiver refused native histograms; sending classic buckets only for the rest of the run",
		"url", w.cfg.URL, "status", rwErr.StatusCode, "message", rwErr.Message)
	for _, p := range w.pending {
		p.dropNative()
	}
	b.dropNative()
	if len(b.series) == 0 {
		return nil
	}
	return w.sendWithRetries(ctx, b, false)
}

// rwRefusesNative reports whether a receiver's answer refuses native
// histograms. Prometheus 2.x without --enable-feature=native-histograms
// answers 500 "native histograms are disabled"; other receivers answer 400
// with a message about histograms.
func rwRefusesNative(err error) bool {
	var rwErr *RemoteWriteError
	return errors.As(err, &rwErr) && rwErr.StatusCode != 0 &&
		strings.Contains(strings.ToLower(rwErr.Message), "histogram")
}

// sendWithRetries sends b, trying again after retryable failures. When
// withNative is set, an answer refusing native histograms ends the retries
// at once so that the caller can fall back.
func (w *RemoteWriter) sendWithRetries(ctx context.Context, b *rwBatch, withNative bool) error {
	body, err := b.encode()
	if err != nil {
		return fmt.Errorf("could not encode the remote write request for %s: %w", w.cfg.URL, err)
	}
	wait := w.cfg.Backoff
	for attempt := 1; ; attempt++ {
		rwErr, retryAfter := w.send(ctx, body)
		if rwErr == nil {
			return nil
		}
		rwErr.Attempts = attempt
		if !rwErr.Retryable() || attempt > w.cfg.Retries || ctx.Err() != nil || (withNative && rwRefusesNative(rwErr)) {
			if ctx.Err() != nil && rwErr.StatusCode == 0 {
				rwErr.Err = errors.Join(rwErr.Err, ctx.Err())
			}
			return rwErr
		}
		d := wait
		if retryAfter > d {
			d = retryAfter
		}
		d = min(d, rwMaxBackoff)
		w.cfg.Logger.Debug("remote write failed, retrying", "url", w.cfg.URL, "attempt", attempt, "status", rwErr.StatusCode, "message", rwErr.Message, "wait", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			rwErr.Err = errors.Join(rwErr.Err, ctx.Err())
			return rwErr
		case <-t.C:
		}
		wait *= 2
	}
}

// send makes one attempt. It returns nil on a 2xx, else the error and the
// receiver's Retry-After, if any.
func (w *RemoteWriter) send(ctx context.Context, body []byte) (*RemoteWriteError, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return &RemoteWriteError{URL: w.cfg.URL, Message: err.Error(), Err: err}, 0
	}
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", remoteWriteContentType)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", remoteWriteVersion)
	req.Header.Set("User-Agent", w.cfg.UserAgent)
	switch {
	case w.cfg.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+w.cfg.BearerToken)
	case w.cfg.BearerTokenFile != "":
		b, err := readfile.Read(w.cfg.BearerTokenFile, readfile.Config)
		if err != nil {
			err = fmt.Errorf("could not read the remote write bearer token file: %w", err)
			return &RemoteWriteError{URL: w.cfg.URL, Message: err.Error(), Err: err}, 0
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	case w.cfg.BasicAuthUser != "" || w.cfg.BasicAuthPassword != "":
		req.SetBasicAuth(w.cfg.BasicAuthUser, w.cfg.BasicAuthPassword)
	}
	resp, err := w.cfg.HTTPClient.Do(req)
	if err != nil {
		msg := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			// The URL is already in the error's own text.
			msg = ue.Err.Error()
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			msg = fmt.Sprintf("no answer within %s: %s", w.cfg.Timeout, msg)
		}
		return &RemoteWriteError{URL: w.cfg.URL, Message: msg, Err: err}, 0
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, 0
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, rwMaxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return &RemoteWriteError{URL: w.cfg.URL, StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(msg))},
		rwRetryAfter(resp.Header.Get("Retry-After"))
}

// rwRetryAfter reads a Retry-After header given in seconds; dates are ignored.
func rwRetryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

func (b *rwBatch) hasNative() bool {
	for i := range b.series {
		if len(b.series[i].Histograms) > 0 {
			return true
		}
	}
	return false
}

// dropNative removes the native histogram series.
func (b *rwBatch) dropNative() {
	kept := b.series[:0]
	for _, s := range b.series {
		if len(s.Histograms) == 0 {
			kept = append(kept, s)
		}
	}
	clear(b.series[len(kept):])
	b.series = kept
}

// encode marshals the batch as a snappy block-encoded WriteRequest.
func (b *rwBatch) encode() ([]byte, error) {
	req := prompb.WriteRequest{Timeseries: b.series, Metadata: b.metadata}
	raw, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	return snappy.Encode(nil, raw), nil
}

// rwConvert turns gathered families into remote write series at tsMs
// (milliseconds) unless a metric carries its own timestamp. Counters, gauges
// and untyped metrics give one series; histograms give cumulative _bucket
// series with a +Inf bucket, _sum and _count, plus a native histogram when
// native is set and the histogram has native buckets; summaries give their
// quantiles, _sum and _count. Labels are sorted by name. families is not
// modified.
func rwConvert(families []*dto.MetricFamily, tsMs int64, native bool) *rwBatch {
	b := &rwBatch{}
	for _, mf := range families {
		name := mf.GetName()
		if name == "" {
			continue
		}
		b.metadata = append(b.metadata, prompb.MetricMetadata{
			MetricFamilyName: name,
			Type:             rwMetadataType(mf.GetType()),
			Help:             mf.GetHelp(),
		})
		for _, m := range mf.GetMetric() {
			t := tsMs
			if m.TimestampMs != nil {
				t = m.GetTimestampMs()
			}
			base := rwLabels(m.GetLabel())
			sample := func(metric string, v float64, extra ...prompb.Label) {
				b.series = append(b.series, prompb.TimeSeries{
					Labels:  rwWithName(base, metric, extra...),
					Samples: []prompb.Sample{{Value: v, Timestamp: t}},
				})
			}
			switch {
			case m.Counter != nil:
				sample(name, m.GetCounter().GetValue())
			case m.Gauge != nil:
				sample(name, m.GetGauge().GetValue())
			case m.Untyped != nil:
				sample(name, m.GetUntyped().GetValue())
			case m.Summary != nil:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					sample(name, q.GetValue(), prompb.Label{Name: "quantile", Value: rwFormatFloat(q.GetQuantile())})
				}
				sample(name+"_sum", s.GetSampleSum())
				sample(name+"_count", float64(s.GetSampleCount()))
			case m.Histogram != nil:
				h := m.GetHistogram()
				count := float64(h.GetSampleCount())
				if h.GetSampleCountFloat() > 0 {
					count = h.GetSampleCountFloat()
				}
				sawInf := false
				for _, bk := range h.GetBucket() {
					ub := bk.GetUpperBound()
					if math.IsInf(ub, 1) {
						sawInf = true
					}
					v := float64(bk.GetCumulativeCount())
					if bk.GetCumulativeCountFloat() > 0 {
						v = bk.GetCumulativeCountFloat()
					}
					sample(name+"_bucket", v, prompb.Label{Name: "le", Value: rwFormatFloat(ub)})
				}
				if !sawInf {
					sample(name+"_bucket", count, prompb.Label{Name: "le", Value: "+Inf"})
				}
				sample(name+"_sum", h.GetSampleSum())
				sample(name+"_count", count)
				if native {
					gauge := mf.GetType() == dto.MetricType_GAUGE_HISTOGRAM
					if nh, ok := rwNativeHistogram(h, t, gauge); ok {
						b.series = append(b.series, prompb.TimeSeries{
							Labels:     rwWithName(base, name),
							Histograms: []prompb.Histogram{nh},
						})
					}
				}
			}
		}
	}
	return b
}

// rwLabels copies a metric's labels, leaving out empty values (Prometheus
// treats an empty label as an absent one) and a stray __name__.
func rwLabels(pairs []*dto.LabelPair) []prompb.Label {
	out := make([]prompb.Label, 0, len(pairs)+2)
	for _, p := range pairs {
		if p.GetValue() == "" || p.GetName() == "" || p.GetName() == "__name__" {
			continue
		}
		out = append(out, prompb.Label{Name: p.GetName(), Value: p.GetValue()})
	}
	return out
}

// rwWithName returns base plus __name__ and extra, sorted by name as the
// protocol requires (byte order, which puts __name__ before every
// lower-case name). An extra label replaces a metric label of the same name.
func rwWithName(base []prompb.Label, name string, extra ...prompb.Label) []prompb.Label {
	out := make([]prompb.Label, 0, len(base)+1+len(extra))
	out = append(out, prompb.Label{Name: "__name__", Value: name})
	out = append(out, extra...)
	for _, l := range base {
		dup := false
		for _, e := range extra {
			if e.Name == l.Name {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// rwNativeHistogram converts a client_model histogram's native buckets
// (spans and deltas, as client_golang exposes them) to the remote write
// form. ok is false when the histogram has no native buckets, by the same
// test Prometheus applies when it scrapes protobuf, or when its spans and
// buckets disagree.
func rwNativeHistogram(h *dto.Histogram, tsMs int64, gauge bool) (prompb.Histogram, bool) {
	isNative := len(h.GetPositiveSpan()) > 0 || len(h.GetNegativeSpan()) > 0 ||
		h.GetZeroThreshold() > 0 || h.GetZeroCount() > 0 || h.GetZeroCountFloat() > 0
	if !isNative {
		return prompb.Histogram{}, false
	}
	isFloat := h.GetSampleCountFloat() > 0 || h.GetZeroCountFloat() > 0 ||
		len(h.GetPositiveCount()) > 0 || len(h.GetNegativeCount()) > 0
	pos, neg := len(h.GetPositiveDelta()), len(h.GetNegativeDelta())
	if isFloat {
		pos, neg = len(h.GetPositiveCount()), len(h.GetNegativeCount())
	}
	if rwSpanLength(h.GetPositiveSpan()) != pos || rwSpanLength(h.GetNegativeSpan()) != neg {
		return prompb.Histogram{}, false
	}
	out := prompb.Histogram{
		Sum:           h.GetSampleSum(),
		Schema:        h.GetSchema(),
		ZeroThreshold: h.GetZeroThreshold(),
		PositiveSpans: rwSpans(h.GetPositiveSpan()),
		NegativeSpans: rwSpans(h.GetNegativeSpan()),
		Timestamp:     tsMs,
	}
	if gauge {
		out.ResetHint = prompb.Histogram_GAUGE
	}
	if isFloat {
		count := h.GetSampleCountFloat()
		if count == 0 {
			count = float64(h.GetSampleCount())
		}
		out.Count = &prompb.Histogram_CountFloat{CountFloat: count}
		out.ZeroCount = &prompb.Histogram_ZeroCountFloat{ZeroCountFloat: h.GetZeroCountFloat()}
		out.PositiveCounts = append([]float64(nil), h.GetPositiveCount()...)
		out.NegativeCounts = append([]float64(nil), h.GetNegativeCount()...)
	} else {
		out.Count = &prompb.Histogram_CountInt{CountInt: h.GetSampleCount()}
		out.ZeroCount = &prompb.Histogram_ZeroCountInt{ZeroCountInt: h.GetZeroCount()}
		out.PositiveDeltas = append([]int64(nil), h.GetPositiveDelta()...)
		out.NegativeDeltas = append([]int64(nil), h.GetNegativeDelta()...)
	}
	return out, true
}

func rwSpanLength(spans []*dto.BucketSpan) int {
	n := 0
	for _, s := range spans {
		n += int(s.GetLength())
	}
	return n
}

func rwSpans(spans []*dto.BucketSpan) []prompb.BucketSpan {
	if len(spans) == 0 {
		return nil
	}
	out := make([]prompb.BucketSpan, len(spans))
	for i, s := range spans {
		out[i] = prompb.BucketSpan{Offset: s.GetOffset(), Length: s.GetLength()}
	}
	return out
}

// rwFormatFloat writes le and quantile values as the text exposition does.
func rwFormatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func rwMetadataType(t dto.MetricType) prompb.MetricMetadata_MetricType {
	switch t {
	case dto.MetricType_COUNTER:
		return prompb.MetricMetadata_COUNTER
	case dto.MetricType_GAUGE:
		return prompb.MetricMetadata_GAUGE
	case dto.MetricType_HISTOGRAM:
		return prompb.MetricMetadata_HISTOGRAM
	case dto.MetricType_GAUGE_HISTOGRAM:
		return prompb.MetricMetadata_GAUGEHISTOGRAM
	case dto.MetricType_SUMMARY:
		return prompb.MetricMetadata_SUMMARY
	default:
		return prompb.MetricMetadata_UNKNOWN
	}
}
