package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/headroom-sh/headroom/server"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "run the service: REST API, scheduled capacity reviews, /metrics gauges and the web UI",
		usage:   "[--listen 127.0.0.1:8090] [--data-dir DIR] [--config FILE] [--token-file FILE] [--allow-target PATTERN ...] [--prometheus URL] [flags]",
		example: `# Tokens come from HEADROOM_API_TOKENS (comma-separated; "ro:" marks a
# read-only token) or --token-file; the database and the runs' metrics live
# in --data-dir; only localhost targets may be loaded unless allowed:
export HEADROOM_API_TOKENS="admin:$(openssl rand -hex 24),ro:$(openssl rand -hex 24)"
headroom serve --data-dir /var/lib/headroom --allow-target '*.staging.internal'

# Several replicas on PostgreSQL, recording into Prometheus, reviews from
# a config file:
headroom serve --listen 0.0.0.0:8090 --database-url postgres://headroom@db:5432/headroom \
  --prometheus http://prometheus:9090 --config /etc/headroom/serve.yaml --token-file /run/secrets/headroom-tokens

# Start a run through the API, then open http://127.0.0.1:8090/ui/:
curl -H "Authorization: Bearer $TOKEN" -d '{"scenario_yaml": "...", "target": "http://127.0.0.1:8080"}' \
  http://127.0.0.1:8090/api/v1/runs`,
		run: runServe,
	})
}

type serveFlags struct {
	listen, dataDir, databaseURL, tokenFile, config string
	prom                                            promFlags
	allow                                           stringList
	maxRuns, maxVUs                                 int
	maxRate                                         float64
	maxDuration                                     durationValue
	maxBody                                         int64
}

func runServe(ctx context.Context, e *env, args []string) error {
	c := commands["serve"]
	fs := newFlagSet(e, c)
	var f serveFlags
	fs.StringVar(&f.listen, "listen", server.DefaultListen, "`HOST:PORT` to serve the API, /metrics and the UI on")
	fs.StringVar(&f.dataDir, "data-dir", "headroom-data", "`DIR` for the SQLite database and the runs' embedded metrics stores")
	fs.StringVar(&f.databaseURL, "database-url", "", "PostgreSQL `URL` (postgres://...) instead of SQLite in --data-dir, for several replicas")
	fs.StringVar(&f.tokenFile, "token-file", "", "`FILE` of API tokens, one per line or comma-separated: SECRET or admin:SECRET (admin), ro:SECRET (read-only); added to HEADROOM_API_TOKENS")
	fs.StringVar(&f.config, "config", "", "YAML config `FILE`: listen, data_dir, database_url, token_file, allow_targets, prometheus, grafana, limits, reviews (flags override it)")
	fs.Var(&f.allow, "allow-target", "host `PATTERN` runs may send load to, such as *.staging.internal or 10.0.0.5:8080 (repeatable; default localhost, 127.0.0.1 and ::1)")
	f.prom.register(fs, "Prometheus base `URL`: runs remote-write to it, analyses and reviews query it (default: runs record into an embedded store)")
	fs.IntVar(&f.maxRuns, "max-concurrent-runs", 0, fmt.Sprintf("runs in flight at once (default %d)", server.DefaultMaxConcurrentRuns))
	fs.IntVar(&f.maxVUs, "max-vus", 0, fmt.Sprintf("most VUs a run may use (default %d)", server.DefaultMaxVUs))
	fs.Float64Var(&f.maxRate, "max-arrival-rate", 0, fmt.Sprintf("highest arrival rate a run may ask for, iterations/s (default %d)", server.DefaultMaxArrivalRate))
	fs.Var(&f.maxDuration, "max-run-duration", "longest planned run, such as 30m (default 1h)")
	fs.Int64Var(&f.maxBody, "max-body-bytes", 0, fmt.Sprintf("largest request body in bytes (default %d)", server.DefaultMaxBodyBytes))
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q (see 'headroom serve --help')", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	cfg, err := serveConfig(e, &f, set)
	if err != nil {
		return err
	}
	srv, err := server.New(cfg)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	e.log.Info("stopped")
	return nil
}

// serveConfig layers the config file, then the flags that were set, over
// the defaults.
func serveConfig(e *env, f *serveFlags, set map[string]bool) (server.Config, error) {
	cfg := server.Config{Listen: f.listen, DataDir: f.dataDir, Logger: e.log}
	tokenFile := f.tokenFile
	if f.config != "" {
		fc, err := server.LoadConfigFile(f.config)
		if err != nil {
			return cfg, fmt.Errorf("serve: --config: %w", err)
		}
		fc.Apply(&cfg)
		if tokenFile == "" {
			tokenFile = fc.TokenFile
		}
		if set["listen"] {
			cfg.Listen = f.listen
		}
		if set["data-dir"] {
			cfg.DataDir = f.dataDir
		}
	}
	if set["database-url"] {
		cfg.DatabaseURL = f.databaseURL
	}
	if len(f.allow) > 0 {
		cfg.AllowTargets = append([]string(nil), f.allow...)
	}
	if set["prometheus"] {
		if u := f.prom.url; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return cfg, fmt.Errorf("serve: --prometheus %q: expected an http(s) URL such as http://127.0.0.1:9090", u)
		}
		cfg.Prometheus = server.PrometheusConfig{}
	}
	// The Prometheus flags that were set win over the config file's.
	po, err := f.prom.options(e, "serve")
	if err != nil {
		return cfg, err
	}
	p := &cfg.Prometheus.PrometheusOptions
	for name, apply := range map[string]func(){
		"prometheus":                      func() { p.URL = po.URL },
		"prometheus-timeout":              func() { p.Timeout = po.Timeout },
		"prometheus-bearer-token-file":    func() { p.BearerTokenFile = po.BearerTokenFile },
		"prometheus-username":             func() { p.Username, p.Password = po.Username, po.Password },
		"prometheus-password":             func() { p.Password = po.Password },
		"prometheus-header":               func() { p.Headers = po.Headers },
		"prometheus-ca-file":              func() { p.CAFile = po.CAFile },
		"prometheus-cert-file":            func() { p.CertFile = po.CertFile },
		"prometheus-key-file":             func() { p.KeyFile = po.KeyFile },
		"prometheus-insecure-skip-verify": func() { p.InsecureSkipVerify = po.InsecureSkipVerify },
	} {
		if set[name] {
			apply()
		}
	}
	for _, v := range []struct {
		name string
		bad  bool
	}{{"max-concurrent-runs", f.maxRuns < 0}, {"max-vus", f.maxVUs < 0}, {"max-arrival-rate", !(f.maxRate >= 0)}, {"max-body-bytes", f.maxBody < 0}, {"max-run-duration", f.maxDuration.d < 0}} {
		if v.bad {
			return cfg, fmt.Errorf("serve: --%s: expected a value greater than 0", v.name)
		}
	}
	if f.maxRuns > 0 {
		cfg.Limits.MaxConcurrentRuns = f.maxRuns
	}
	if f.maxVUs > 0 {
		cfg.Limits.MaxVUs = f.maxVUs
	}
	if f.maxRate > 0 {
		cfg.Limits.MaxArrivalRate = f.maxRate
	}
	if f.maxDuration.d > 0 {
		cfg.Limits.MaxRunDuration = f.maxDuration.d
	}
	if f.maxBody > 0 {
		cfg.Limits.MaxBodyBytes = f.maxBody
	}
	if env := e.getenv("HEADROOM_API_TOKENS"); env != "" {
		toks, err := server.ParseTokens(env, "HEADROOM_API_TOKENS")
		if err != nil {
			return cfg, fmt.Errorf("serve: %w", err)
		}
		cfg.Tokens = append(cfg.Tokens, toks...)
	}
	if tokenFile != "" {
		toks, err := server.ReadTokenFile(tokenFile)
		if err != nil {
			return cfg, fmt.Errorf("serve: --token-file: %w", err)
		}
		cfg.Tokens = append(cfg.Tokens, toks...)
	}
	if len(cfg.Tokens) == 0 {
		return cfg, errors.New("serve: no API tokens: set HEADROOM_API_TOKENS (comma-separated, e.g. admin:SECRET,ro:SECRET) or pass --token-file FILE")
	}
	return cfg, nil
}
