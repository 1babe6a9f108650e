package collector

// This file is the only one that imports client_golang's API packages, so a
// change of their signatures (Query gained an Infos return in v1.21) stays
// here.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/internal/outbound"

	"github.com/headroom-sh/headroom/internal/readfile"
)

// Defaults of PrometheusConfig.
const (
	DefaultPrometheusTimeout = 30 * time.Second
	DefaultPrometheusRetries = 3
	DefaultPrometheusBackoff = 250 * time.Millisecond
)

// ErrBadQuery is wrapped when Prometheus rejected a query (HTTP 400 or 422:
// it does not parse, or evaluating it failed). Such errors are not retried.
var ErrBadQuery = errors.New("query rejected")

// ErrBadConfig is wrapped by every configuration error of the collector.
var ErrBadConfig = errors.New("invalid collector configuration")

// TLSConfig configures TLS to the Prometheus API.
type TLSConfig struct {
	// CAFile is a PEM file of certificate authorities to trust instead of
	// the system's.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and key, for mutual TLS.
	CertFile, KeyFile string
	// ServerName overrides the name the server's certificate is checked against.
	ServerName string
	// InsecureSkipVerify disables certificate checks.
	InsecureSkipVerify bool
}

func (t TLSConfig) isZero() bool { return t == TLSConfig{} }

// PrometheusConfig configures a Prometheus source.
type PrometheusConfig struct {
	// URL is the base URL of the Prometheus-compatible API, with any path
	// prefix it is served under: http://prometheus:9090,
	// https://mimir.example.com/prometheus,
	// http://vmselect:8481/select/0/prometheus.
	URL string
	// BearerToken or BearerTokenFile (read on every request, so rotated
	// tokens are picked up) authenticate with "Authorization: Bearer".
	BearerToken, BearerTokenFile string
	// Username and Password authenticate with HTTP basic auth.
	Username, Password string
	// Headers are sent with every request, e.g. X-Scope-OrgID for Mimir.
	Headers map[string]string
	// TLS configures certificates; it cannot be combined with HTTPClient.
	TLS TLSConfig
	// Timeout bounds each attempt of a request (default 30s). It is also
	// sent to the server as the query timeout.
	Timeout time.Duration
	// Retries is how many times a request is retried after a network
	// error, a timeout, a 5xx response or a 429 (default 3; negative
	// disables retries). Rejected queries (other 4xx) are never retried.
	Retries int
	// Backoff is the wait before the first retry (default 250ms); it
	// doubles on every retry, with jitter. A 429's Retry-After wins when
	// it is no longer than Timeout.
	Backoff time.Duration
	// Logger receives retries and the warnings Prometheus returns, at
	// debug level; nil discards them.
	Logger *slog.Logger
	// HTTPClient, when set, makes the requests.
	HTTPClient *http.Client
}

func (c *PrometheusConfig) defaults() error {
	if strings.TrimSpace(c.URL) == "" {
		return fmt.Errorf("%w: the Prometheus URL is empty: expected a base URL such as http://127.0.0.1:9090", ErrBadConfig)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: Prometheus URL %q: expected http:// or https:// and a host, such as http://127.0.0.1:9090", ErrBadConfig, c.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: Prometheus URL %q: expected a base URL without a query or fragment", ErrBadConfig, c.URL)
	}
	if c.BearerToken != "" && c.BearerTokenFile != "" {
		return fmt.Errorf("%w: set a Prometheus bearer token or a bearer token file, not both", ErrBadConfig)
	}
	if (c.BearerToken != "" || c.BearerTokenFile != "") && c.Username != "" {
		return fmt.Errorf("%w: set Prometheus bearer token or basic auth, not both", ErrBadConfig)
	}
	if c.Password != "" && c.Username == "" {
		return fmt.Errorf("%w: a Prometheus password needs a username", ErrBadConfig)
	}
	if c.HTTPClient != nil && !c.TLS.isZero() {
		return fmt.Errorf("%w: TLS settings cannot be combined with a custom HTTP client; configure its transport instead", ErrBadConfig)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return fmt.Errorf("%w: a TLS client certificate needs both a certificate file and a key file", ErrBadConfig)
	}
	if c.Timeout < 0 || c.Backoff < 0 {
		return fmt.Errorf("%w: Prometheus timeout and backoff must not be negative", ErrBadConfig)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultPrometheusTimeout
	}
	if c.Retries == 0 {
		c.Retries = DefaultPrometheusRetries
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultPrometheusBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Prometheus is a Source reading a Prometheus-compatible HTTP API
// (Prometheus, Thanos, Mimir, VictoriaMetrics, ...). It is safe for
// concurrent use.
type Prometheus struct {
	cfg PrometheusConfig
	api v1.API
	// url is the base URL without a password, for messages.
	url string
}

var _ Source = (*Prometheus)(nil)

// NewPrometheus makes a Prometheus source. It does not contact the server.
func NewPrometheus(cfg PrometheusConfig) (*Prometheus, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		var err error
		if hc, err = cfg.TLS.Client(); err != nil {
			return nil, err
		}
	}
	// Requests carry credentials: a redirect to another host is refused.
	hc = outbound.Client(hc)
	inner, err := api.NewClient(api.Config{Address: cfg.URL, Client: hc})
	if err != nil {
		return nil, fmt.Errorf("%w: Prometheus URL %q: %w", ErrBadConfig, cfg.URL, err)
	}
	u, _ := url.Parse(cfg.URL)
	p := &Prometheus{cfg: cfg, url: strings.TrimRight(u.Redacted(), "/")}
	p.api = v1.NewAPI(&retryingClient{inner: inner, p: p})
	return p, nil
}

// URL returns the base URL, with any password redacted.
func (p *Prometheus) URL() string { return p.url }

// Client is an HTTP client of its own with these TLS settings, for every
// connection that must reach the same backend as the Prometheus source
// (the runner's remote write to it, for one).
func (t TLSConfig) Client() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if !t.isZero() {
		tc, err := tlsConfig(t)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	return &http.Client{Transport: tr}, nil
}

func tlsConfig(t TLSConfig) (*tls.Config, error) {
	tc := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // Opt-in by the user.
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: could not read CA file: %w", ErrBadConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %q holds no PEM certificate", ErrBadConfig, t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: could not load client certificate %q and key %q: %w", ErrBadConfig, t.CertFile, t.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Query evaluates an instant query at ts. As with the embedded store, an
// empty vector is returned with an error wrapping ErrNoSamples.
func (p *Prometheus) Query(ctx context.Context, query string, ts time.Time) (pmodel.Value, error) {
	ctx, call := withCall(ctx)
	v, warnings, infos, err := p.api.Query(ctx, query, ts, v1.WithTimeout(p.cfg.Timeout))
	p.logNotes(query, warnings, infos)
	if err != nil {
		return nil, fmt.Errorf("could not query Prometheus at %s: query %q: %w", p.url, query, describe(err, call))
	}
	if vec, ok := v.(pmodel.Vector); ok && len(vec) == 0 {
		return vec, fmt.Errorf("query %q at %s on %s: %w", query, ts.Format(time.RFC3339Nano), p.url, ErrNoSamples)
	}
	return v, nil
}

// QueryRange evaluates a range query. As with the embedded store, an empty
// matrix is returned with an error wrapping ErrNoSamples.
func (p *Prometheus) QueryRange(ctx context.Context, query string, r Range) (pmodel.Matrix, error) {
	ctx, call := withCall(ctx)
	v, warnings, infos, err := p.api.QueryRange(ctx, query, v1.Range{Start: r.Start, End: r.End, Step: r.Step}, v1.WithTimeout(p.cfg.Timeout))
	p.logNotes(query, warnings, infos)
	if err != nil {
		return nil, fmt.Errorf("could not query Prometheus at %s: range query %q: %w", p.url, query, describe(err, call))
	}
	m, ok := v.(pmodel.Matrix)
	if !ok {
		return nil, fmt.Errorf("could not query Prometheus at %s: range query %q: expected a matrix, got a %s", p.url, query, v.Type())
	}
	if len(m) == 0 {
		return m, fmt.Errorf("range query %q over [%s, %s] on %s: %w", query,
			r.Start.Format(time.RFC3339Nano), r.End.Format(time.RFC3339Nano), p.url, ErrNoSamples)
	}
	return m, nil
}

// Series lists the label sets of series matching any of the selectors. No
// match is an empty list, not an error.
func (p *Prometheus) Series(ctx context.Context, matchers []string, start, end time.Time) ([]pmodel.LabelSet, error) {
	ctx, call := withCall(ctx)
	sets, warnings, infos, err := p.api.Series(ctx, matchers, start, end)
	p.logNotes(strings.Join(matchers, ", "), warnings, infos)
	if err != nil {
		return nil, fmt.Errorf("could not list series at %s: match[] %q: %w", p.url, matchers, describe(err, call))
	}
	return sets, nil
}

func (p *Prometheus) logNotes(query string, warnings v1.Warnings, infos v1.Infos) {
	for _, w := range warnings {
		p.cfg.Logger.Debug("Prometheus warned about a query", "url", p.url, "query", query, "warning", w)
	}
	for _, i := range infos {
		p.cfg.Logger.Debug("Prometheus noted something about a query", "url", p.url, "query", query, "info", i)
	}
}

// describe turns client_golang's errors into sentences and marks rejected
// queries with ErrBadQuery.
func describe(err error, c *call) error {
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Type {
		case v1.ErrBadData, v1.ErrExec:
			err = fmt.Errorf("%w (%s): %s", ErrBadQuery, apiErr.Type, apiErr.Msg)
		case v1.ErrServer, v1.ErrClient:
			// The answer's body (apiErr.Detail) is not repeated: it may
			// be a page of a proxy or of whatever answered, and errors
			// end up in stored documents that read-only users see.
			if d := strings.TrimSpace(apiErr.Detail); d != "" {
				err = fmt.Errorf("%w (the answer's %d-byte body is not shown)", err, len(d))
			}
		}
	}
	if c.attempts > 1 {
		err = fmt.Errorf("%w (gave up after %d attempts)", err, c.attempts)
	}
	return err
}

// call counts the HTTP attempts of one API call.
type call struct{ attempts int }

type callKey struct{}

func withCall(ctx context.Context) (context.Context, *call) {
	c := &call{}
	return context.WithValue(ctx, callKey{}, c), c
}

// retryingClient is the api.Client under v1.API: it adds authentication
// and headers, bounds each attempt by the timeout and retries transient
// failures. Retrying here, below client_golang's decoding, is what lets it
// see status codes and Retry-After.
type retryingClient struct {
	inner api.Client
	p     *Prometheus
}

func (c *retryingClient) URL(ep string, args map[string]string) *url.URL {
	return c.inner.URL(ep, args)
}

func (c *retryingClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	cfg := &c.p.cfg
	cl, _ := ctx.Value(callKey{}).(*call)
	if cl == nil {
		cl = &call{}
	}
	for attempt := 0; ; attempt++ {
		r, err := c.prepare(ctx, req)
		if err != nil {
			return nil, nil, err
		}
		cl.attempts++
		actx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		resp, body, err := c.inner.Do(actx, r)
		timedOut := err != nil && actx.Err() != nil && ctx.Err() == nil
		cancel()
		if timedOut {
			err = fmt.Errorf("no answer within %s: %w", cfg.Timeout, err)
		}
		wait, retry := c.retryable(ctx, resp, err, attempt)
		if !retry || attempt >= cfg.Retries {
			return resp, body, err
		}
		reason := "network error"
		if err == nil {
			reason = resp.Status
		} else if timedOut {
			reason = "timeout"
		}
		cfg.Logger.Debug("retrying a Prometheus request", "url", c.p.url, "path", req.URL.Path, "reason", reason, "attempt", attempt+1, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// prepare copies req for one attempt, with a fresh body and the
// configured authentication and headers.
func (c *retryingClient) prepare(ctx context.Context, req *http.Request) (*http.Request, error) {
	cfg := &c.p.cfg
	r := req.Clone(ctx)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	for k, v := range cfg.Headers {
		r.Header.Set(k, v)
	}
	switch {
	case cfg.BearerToken != "":
		r.Header.Set("Authorization", "Bearer "+cfg.BearerToken)
	case cfg.BearerTokenFile != "":
		b, err := readfile.Read(cfg.BearerTokenFile, readfile.Config)
		if err != nil {
			return nil, fmt.Errorf("could not read the Prometheus bearer token file: %w", err)
		}
		r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	case cfg.Username != "":
		r.SetBasicAuth(cfg.Username, cfg.Password)
	}
	return r, nil
}

// retryable says whether an attempt's outcome is worth another try and how
// long to wait first.
func (c *retryingClient) retryable(ctx context.Context, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	cfg := &c.p.cfg
	if ctx.Err() != nil {
		return 0, false
	}
	backoff := cfg.Backoff << attempt
	if backoff <= 0 || backoff > time.Minute {
		backoff = time.Minute
	}
	// Jitter: wait between half and all of the backoff.
	backoff = backoff/2 + rand.N(backoff/2+1)
	if err != nil {
		var certErr *tls.CertificateVerificationError
		var unknownAuth x509.UnknownAuthorityError
		var hostErr x509.HostnameError
		if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.Is(err, outbound.ErrRedirect) {
			return 0, false
		}
		return backoff, true
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if d > cfg.Timeout {
				return 0, false
			}
			return d, true
		}
		return backoff, true
	case resp.StatusCode == http.StatusNotImplemented:
		return 0, false
	case resp.StatusCode >= 500:
		return backoff, true
	}
	return 0, false
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
