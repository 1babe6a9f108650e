package main

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
)

// promFlags are the connection flags of every command that queries a
// Prometheus-compatible API: one set, registered the same way everywhere,
// read into app.PrometheusOptions.
type promFlags struct {
	url, bearerTokenFile, username, password string
	caFile, certFile, keyFile                string
	insecureSkipVerify                       bool
	headers                                  stringList
	timeout                                  time.Duration
}

// promFlagNames are the flags register adds, --prometheus first.
var promFlagNames = []string{
	"prometheus", "prometheus-timeout", "prometheus-bearer-token-file", "prometheus-username", "prometheus-password",
	"prometheus-header", "prometheus-ca-file", "prometheus-cert-file", "prometheus-key-file", "prometheus-insecure-skip-verify",
}

// register adds the flags; urlUsage says what --prometheus means to the
// command.
func (p *promFlags) register(fs *flag.FlagSet, urlUsage string) {
	fs.StringVar(&p.url, "prometheus", "", urlUsage)
	fs.DurationVar(&p.timeout, "prometheus-timeout", collector.DefaultPrometheusTimeout, "timeout of each request to Prometheus")
	fs.StringVar(&p.bearerTokenFile, "prometheus-bearer-token-file", "", "`FILE` holding a bearer token for Prometheus")
	fs.StringVar(&p.username, "prometheus-username", "", "basic auth user for Prometheus")
	fs.StringVar(&p.password, "prometheus-password", "", "basic auth password for Prometheus (default: $HEADROOM_PROMETHEUS_PASSWORD)")
	fs.Var(&p.headers, "prometheus-header", "`'Name: value'` header sent to Prometheus, e.g. 'X-Scope-OrgID: tenant-1' (repeatable)")
	fs.StringVar(&p.caFile, "prometheus-ca-file", "", "PEM `FILE` of certificate authorities for Prometheus's TLS certificate")
	fs.StringVar(&p.certFile, "prometheus-cert-file", "", "PEM `FILE` of a client certificate for Prometheus (mutual TLS)")
	fs.StringVar(&p.keyFile, "prometheus-key-file", "", "PEM `FILE` of the client certificate's key")
	fs.BoolVar(&p.insecureSkipVerify, "prometheus-insecure-skip-verify", false, "do not check Prometheus's TLS certificate")
}

// options reads the flags; errors name the command and the flag.
func (p *promFlags) options(e *env, cmd string) (app.PrometheusOptions, error) {
	o := app.PrometheusOptions{
		URL: p.url, BearerTokenFile: p.bearerTokenFile, Username: p.username, Password: p.password,
		CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile, InsecureSkipVerify: p.insecureSkipVerify,
		Timeout: model.Duration(p.timeout),
	}
	if p.timeout < 0 {
		return o, fmt.Errorf("%s: --prometheus-timeout %s: expected a duration greater than 0 such as 30s", cmd, p.timeout)
	}
	if o.Password == "" && o.Username != "" && e.getenv != nil {
		o.Password = e.getenv("HEADROOM_PROMETHEUS_PASSWORD")
	}
	var err error
	if o.Headers, err = parseHeaderFlags(cmd, "--prometheus-header", p.headers); err != nil {
		return o, err
	}
	return o, nil
}

// args gives back the flags among them that were set, for a command that
// runs another (demo runs `run`).
func (p *promFlags) args(set map[string]bool) []string {
	out := []string{"--prometheus", p.url}
	add := func(name, v string) {
		if set[name] {
			out = append(out, "--"+name+"="+v)
		}
	}
	add("prometheus-timeout", p.timeout.String())
	add("prometheus-bearer-token-file", p.bearerTokenFile)
	add("prometheus-username", p.username)
	add("prometheus-password", p.password)
	for _, h := range p.headers {
		out = append(out, "--prometheus-header", h)
	}
	add("prometheus-ca-file", p.caFile)
	add("prometheus-cert-file", p.certFile)
	add("prometheus-key-file", p.keyFile)
	add("prometheus-insecure-skip-verify", strconv.FormatBool(p.insecureSkipVerify))
	return out
}
