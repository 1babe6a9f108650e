package app

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/internal/outbound"
	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
)

// PrometheusOptions are how headroom talks to a Prometheus-compatible API:
// the one set of connection options every command that queries Prometheus
// accepts, and the service's config file.
type PrometheusOptions struct {
	// URL is the base URL with any path prefix, such as
	// http://127.0.0.1:9090 or http://vmselect:8481/select/0/prometheus.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// BearerTokenFile holds a bearer token, read on every request.
	BearerTokenFile string `json:"bearer_token_file,omitempty" yaml:"bearer_token_file,omitempty"`
	// Username and Password authenticate with HTTP basic auth; the password
	// may come from PasswordFile instead. Password is never encoded.
	Username     string `json:"username,omitempty" yaml:"username,omitempty"`
	Password     string `json:"-" yaml:"-"`
	PasswordFile string `json:"password_file,omitempty" yaml:"password_file,omitempty"`
	// Headers are sent with every request, e.g. X-Scope-OrgID for Mimir.
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// CAFile, CertFile and KeyFile are PEM files: the authorities that sign
	// Prometheus's certificate, and a client certificate for mutual TLS.
	CAFile   string `json:"ca_file,omitempty" yaml:"ca_file,omitempty"`
	CertFile string `json:"cert_file,omitempty" yaml:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty" yaml:"key_file,omitempty"`
	// InsecureSkipVerify disables the certificate check.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty" yaml:"insecure_skip_verify,omitempty"`
	// Timeout bounds each request (default collector.DefaultPrometheusTimeout).
	Timeout model.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// WithURL returns the options pointed at another URL (a run's recorded
// Prometheus) with the same credentials and TLS settings.
func (o PrometheusOptions) WithURL(url string) PrometheusOptions {
	o.URL = url
	return o
}

// Config is the collector's configuration of these options.
func (o PrometheusOptions) Config(logger *slog.Logger) (collector.PrometheusConfig, error) {
	cfg := collector.PrometheusConfig{
		URL:             strings.TrimSpace(o.URL),
		BearerTokenFile: o.BearerTokenFile,
		Username:        o.Username,
		Password:        o.Password,
		Headers:         o.Headers,
		TLS:             collector.TLSConfig{CAFile: o.CAFile, CertFile: o.CertFile, KeyFile: o.KeyFile, InsecureSkipVerify: o.InsecureSkipVerify},
		Timeout:         o.Timeout.D(),
		Logger:          logger,
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = collector.DefaultPrometheusTimeout
	}
	if cfg.Timeout < 0 {
		return cfg, fmt.Errorf("timeout %s: expected a duration greater than 0 such as 30s", time.Duration(o.Timeout))
	}
	if o.PasswordFile != "" {
		if o.Password != "" {
			return cfg, fmt.Errorf("password_file: give a password or a password file, not both")
		}
		b, err := os.ReadFile(o.PasswordFile)
		if err != nil {
			return cfg, fmt.Errorf("could not read the Prometheus password file: %w", err)
		}
		cfg.Password = strings.TrimRight(string(b), "\r\n")
	}
	return cfg, nil
}

// OpenPrometheus opens the Prometheus the options describe.
func OpenPrometheus(o PrometheusOptions, logger *slog.Logger) (*collector.Prometheus, error) {
	cfg, err := o.Config(logger)
	if err != nil {
		return nil, err
	}
	return collector.NewPrometheus(cfg)
}

// RemoteWrite is the remote-write configuration to the backend the options
// describe: the given URL (default URL/api/v1/write) with the same headers,
// credentials and TLS settings as its query API, so that a runner writing
// into an authenticated or multi-tenant Prometheus (Mimir's X-Scope-OrgID)
// writes where its analysis reads. A write URL on another server than the
// query API's (outbound.SameServer: another host or port) gets none of
// them: the credentials and tenant headers given for one server are never
// sent to another.
func (o PrometheusOptions) RemoteWrite(url string) (loadgen.RemoteWriteConfig, error) {
	cfg, err := o.Config(nil)
	if err != nil {
		return loadgen.RemoteWriteConfig{}, err
	}
	if url == "" {
		url = strings.TrimRight(cfg.URL, "/") + "/api/v1/write"
	} else if !outbound.SameServer(cfg.URL, url) {
		return loadgen.RemoteWriteConfig{URL: url}, nil
	}
	hc, err := cfg.TLS.Client()
	if err != nil {
		return loadgen.RemoteWriteConfig{}, err
	}
	rw := loadgen.RemoteWriteConfig{
		URL: url, BearerTokenFile: cfg.BearerTokenFile,
		BasicAuthUser: cfg.Username, BasicAuthPassword: cfg.Password, HTTPClient: hc,
	}
	if len(cfg.Headers) > 0 {
		rw.Headers = make(map[string]string, len(cfg.Headers))
		for k, v := range cfg.Headers {
			rw.Headers[k] = v
		}
	}
	return rw, nil
}

// TakeURLCredentials moves a user and password written in the URL
// (http://user:pass@host) into Username and Password, so that the URL can
// be recorded in run.json and logged without them. A URL with credentials
// and a Username as well is an error.
func (o PrometheusOptions) TakeURLCredentials() (PrometheusOptions, error) {
	u, err := url.Parse(strings.TrimSpace(o.URL))
	if err != nil || u.User == nil {
		return o, nil
	}
	if o.Username != "" {
		return o, fmt.Errorf("%s carries a user and a username is given too: keep one", model.RedactURL(o.URL))
	}
	o.Username = u.User.Username()
	if p, ok := u.User.Password(); ok && o.Password == "" && o.PasswordFile == "" {
		o.Password = p
	}
	u.User = nil
	o.URL = u.String()
	return o, nil
}
