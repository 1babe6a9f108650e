package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/readfile"
	"github.com/headroom-sh/headroom/internal/yamldoc"
)

// Defaults of Config.
const (
	DefaultListen            = "127.0.0.1:8090"
	DefaultMaxConcurrentRuns = 2
	DefaultMaxRunDuration    = time.Hour
	DefaultMaxVUs            = 1000
	DefaultMaxArrivalRate    = 5000
	DefaultMaxBodyBytes      = 1 << 20
	DefaultStaleAfter        = 30 * time.Second
	// MinTokenLength is the shortest API token accepted.
	MinTokenLength = 16
)

// DefaultAllowTargets are the target hosts allowed when none are configured.
var DefaultAllowTargets = []string{"localhost", "127.0.0.1", "::1"}

// Config configures a Server.
type Config struct {
	// Listen is the address Start binds, host:port (default 127.0.0.1:8090).
	Listen string
	// DataDir holds the SQLite database (unless DatabaseURL is set) and the
	// embedded metrics stores of runs (DataDir/runs/<id>/tsdb). Required.
	DataDir string
	// DatabaseURL is empty for SQLite in DataDir, or postgres://... for
	// PostgreSQL (several replicas may share it).
	DatabaseURL string
	// Tokens are the API tokens; at least one is required.
	Tokens []Token
	// AllowTargets are host patterns a run may send load to: an exact host
	// ("checkout.staging.internal"), a wildcard ("*.staging.internal"), or
	// either with a port ("127.0.0.1:8080"). Default: localhost, 127.0.0.1
	// and ::1 on any port.
	AllowTargets []string
	// Prometheus, when its URL is set, receives the runs' series by remote
	// write and answers the analyses' and reviews' queries; otherwise runs
	// record into an embedded store and reviews cannot run.
	Prometheus PrometheusConfig
	// Grafana is where dashboards go (stored for the UI; optional).
	Grafana GrafanaConfig
	// Limits bound what a request may ask for.
	Limits Limits
	// Reviews are review specs from the config file, stored (replacing
	// a stored spec of the same service) when the server starts.
	Reviews []model.ReviewSpec
	// Instance names this process in the runs it owns (default: the host
	// name). On start, runs still marked running that this instance owned,
	// or whose heartbeat is older than StaleAfter, are marked interrupted.
	Instance string
	// StaleAfter is how old a running run's heartbeat may be before another
	// replica marks it interrupted (default 30s).
	StaleAfter time.Duration
	// ReviewFunc reviews one service's capacity from production metrics
	// ending at end. Default: collector.ObserveProduction on the configured
	// Prometheus, then analyzer.Review. Tests may replace it.
	ReviewFunc func(ctx context.Context, spec model.ReviewSpec, end time.Time) (model.Review, error)
	// Logger receives operational logs; nil discards them. Tokens are
	// never logged.
	Logger *slog.Logger
	// Clock stamps records; nil means time.Now.
	Clock func() time.Time
}

// PrometheusConfig is the Prometheus-compatible API the service uses: the
// connection options every headroom command shares (url, credentials, TLS,
// headers, timeout), and where runs remote-write.
type PrometheusConfig struct {
	app.PrometheusOptions `yaml:",inline"`
	// RemoteWriteURL is where runs push their series; default URL/api/v1/write.
	RemoteWriteURL string `yaml:"remote_write_url"`
}

// GrafanaConfig is the Grafana the dashboards are pushed to.
type GrafanaConfig struct {
	URL       string `yaml:"url"`
	TokenFile string `yaml:"token_file"`
}

// Limits bound what one request may ask for.
type Limits struct {
	// MaxConcurrentRuns is how many runs may be in flight (default 2).
	MaxConcurrentRuns int
	// MaxRunDuration bounds a run's planned length, stages and start
	// times included (default 1h).
	MaxRunDuration time.Duration
	// MaxVUs bounds the VUs of a run, summed over its executors (default 1000).
	MaxVUs int
	// MaxArrivalRate bounds an open-model executor's rate in iterations/s,
	// summed over executors (default 5000).
	MaxArrivalRate float64
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
}

func (c *Config) defaults() error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return errors.New("the data directory is required (--data-dir)")
	}
	if len(c.Tokens) == 0 {
		return errors.New("no API tokens: set HEADROOM_API_TOKENS (comma-separated) or pass --token-file; without one nobody could use the API")
	}
	if len(c.AllowTargets) == 0 {
		c.AllowTargets = DefaultAllowTargets
	}
	if c.Limits.MaxConcurrentRuns <= 0 {
		c.Limits.MaxConcurrentRuns = DefaultMaxConcurrentRuns
	}
	if c.Limits.MaxRunDuration <= 0 {
		c.Limits.MaxRunDuration = DefaultMaxRunDuration
	}
	if c.Limits.MaxVUs <= 0 {
		c.Limits.MaxVUs = DefaultMaxVUs
	}
	if c.Limits.MaxArrivalRate <= 0 {
		c.Limits.MaxArrivalRate = DefaultMaxArrivalRate
	}
	if c.Limits.MaxBodyBytes <= 0 {
		c.Limits.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Instance == "" {
		h, _ := os.Hostname()
		if h == "" {
			h = "headroom"
		}
		c.Instance = h
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return nil
}

// Token is one API token and its scope.
type Token struct {
	// Value is the secret; it is never logged.
	Value string
	// Admin tokens may write (POST, PUT, DELETE); others only read.
	Admin bool
}

// String hides the secret.
func (t Token) String() string {
	if t.Admin {
		return "admin:****"
	}
	return "ro:****"
}

// ParseTokens reads tokens separated by commas or newlines, each
// "ro:SECRET" (read-only), "admin:SECRET" or a bare "SECRET" (admin).
// Blank entries and lines starting with # are skipped. source names where
// they came from in errors (the secrets are never repeated).
func ParseTokens(text, source string) ([]Token, error) {
	var out []Token
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, f := range strings.Split(line, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			n++
			t := Token{Value: f, Admin: true}
			if scope, secret, ok := strings.Cut(f, ":"); ok {
				switch scope {
				case "ro", "read":
					t = Token{Value: secret}
				case "admin", "rw":
					t = Token{Value: secret, Admin: true}
				default:
					return nil, fmt.Errorf("%s: token %d has scope %q: expected ro: (read-only) or admin: (or no prefix, admin)", source, n, scope)
				}
			}
			if len(t.Value) < MinTokenLength {
				return nil, fmt.Errorf("%s: token %d is %d characters long: expected at least %d (e.g. from 'openssl rand -hex 24')", source, n, len(t.Value), MinTokenLength)
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// ReadTokenFile reads tokens from a file as ParseTokens does.
func ReadTokenFile(path string) ([]Token, error) {
	b, err := readfile.Read(path, readfile.Config)
	if err != nil {
		return nil, fmt.Errorf("could not read the token file: %w", err)
	}
	return ParseTokens(string(b), fmt.Sprintf("token file %q", path))
}

// FileConfig is the YAML config file of `headroom serve --config`. Every
// field is optional; command-line flags override it.
type FileConfig struct {
	Listen       string           `yaml:"listen"`
	DataDir      string           `yaml:"data_dir"`
	DatabaseURL  string           `yaml:"database_url"`
	TokenFile    string           `yaml:"token_file"`
	AllowTargets []string         `yaml:"allow_targets"`
	Prometheus   PrometheusConfig `yaml:"prometheus"`
	Grafana      GrafanaConfig    `yaml:"grafana"`
	Limits       struct {
		MaxConcurrentRuns int            `yaml:"max_concurrent_runs"`
		MaxRunDuration    model.Duration `yaml:"max_run_duration"`
		MaxVUs            int            `yaml:"max_vus"`
		MaxArrivalRate    float64        `yaml:"max_arrival_rate"`
		MaxBodyBytes      int64          `yaml:"max_body_bytes"`
	} `yaml:"limits"`
	// Reviews are read through their JSON names (model.SLO has no YAML
	// tags); see ReviewSpecs.
	RawReviews []any `yaml:"reviews"`
	// Reviews are the review specs, filled by LoadConfigFile.
	Reviews []model.ReviewSpec `yaml:"-"`
}

// LoadConfigFile reads and checks a config file; errors name the file, the
// line and the field.
func LoadConfigFile(path string) (*FileConfig, error) {
	b, err := readfile.Read(path, readfile.Config)
	if err != nil {
		return nil, fmt.Errorf("could not read config: %w", err)
	}
	var fc FileConfig
	d := yamldoc.Decode(b, path, &fc, yamldoc.Options{})
	if d.Failed() {
		return nil, d.Err()
	}
	l := fc.Limits
	if l.MaxConcurrentRuns < 0 {
		d.Add("limits.max_concurrent_runs", "%d: expected a number of runs > 0", l.MaxConcurrentRuns)
	}
	if l.MaxRunDuration < 0 {
		d.Add("limits.max_run_duration", "expected a duration > 0 such as 1h")
	}
	if l.MaxVUs < 0 {
		d.Add("limits.max_vus", "%d: expected a number of VUs > 0", l.MaxVUs)
	}
	if l.MaxArrivalRate < 0 {
		d.Add("limits.max_arrival_rate", "%v: expected iterations/s > 0", l.MaxArrivalRate)
	}
	if l.MaxBodyBytes < 0 {
		d.Add("limits.max_body_bytes", "%d: expected bytes > 0", l.MaxBodyBytes)
	}
	for i, p := range fc.AllowTargets {
		if err := checkPattern(p); err != nil {
			d.Add(fmt.Sprintf("allow_targets[%d]", i), "%v", err)
		}
	}
	if u := fc.Prometheus.URL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		d.Add("prometheus.url", "%q: expected an http(s) URL such as http://127.0.0.1:9090", u)
	}
	seen := map[string]bool{}
	for i, raw := range fc.RawReviews {
		rp := fmt.Sprintf("reviews[%d]", i)
		js, err := json.Marshal(raw)
		if err != nil {
			d.Add(rp, "expected a review spec: %v", err)
			continue
		}
		var r model.ReviewSpec
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			d.Add(rp, "%v", strings.TrimPrefix(err.Error(), "json: "))
			continue
		}
		if err := validateSpec(&r); err != nil {
			d.Add(rp, "%v", err)
			continue
		}
		if seen[r.Service] {
			d.Add(rp+".service", "%q is reviewed twice", r.Service)
			continue
		}
		seen[r.Service] = true
		fc.Reviews = append(fc.Reviews, r)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	if fc.TokenFile != "" && !filepath.IsAbs(fc.TokenFile) {
		fc.TokenFile = filepath.Join(filepath.Dir(path), fc.TokenFile)
	}
	return &fc, nil
}

// Apply copies the file's settings into cfg; call it before applying flags.
func (fc *FileConfig) Apply(cfg *Config) {
	if fc.Listen != "" {
		cfg.Listen = fc.Listen
	}
	if fc.DataDir != "" {
		cfg.DataDir = fc.DataDir
	}
	if fc.DatabaseURL != "" {
		cfg.DatabaseURL = fc.DatabaseURL
	}
	if len(fc.AllowTargets) > 0 {
		cfg.AllowTargets = append([]string(nil), fc.AllowTargets...)
	}
	if fc.Prometheus.URL != "" {
		cfg.Prometheus = fc.Prometheus
	}
	if fc.Grafana.URL != "" {
		cfg.Grafana = fc.Grafana
	}
	l := fc.Limits
	if l.MaxConcurrentRuns > 0 {
		cfg.Limits.MaxConcurrentRuns = l.MaxConcurrentRuns
	}
	if l.MaxRunDuration > 0 {
		cfg.Limits.MaxRunDuration = l.MaxRunDuration.D()
	}
	if l.MaxVUs > 0 {
		cfg.Limits.MaxVUs = l.MaxVUs
	}
	if l.MaxArrivalRate > 0 {
		cfg.Limits.MaxArrivalRate = l.MaxArrivalRate
	}
	if l.MaxBodyBytes > 0 {
		cfg.Limits.MaxBodyBytes = l.MaxBodyBytes
	}
	cfg.Reviews = append(cfg.Reviews, fc.Reviews...)
}
