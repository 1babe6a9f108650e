package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// allowPattern is one allowlist entry: a host (exact, or "*.suffix"
// matching any subdomain) and optionally a port.
type allowPattern struct {
	host string // lower case, IPv6 without brackets
	port string // "" matches any port
}

// checkPattern says why a pattern cannot be used.
func checkPattern(p string) error {
	_, err := parsePattern(p)
	return err
}

func parsePattern(p string) (allowPattern, error) {
	s := strings.ToLower(strings.TrimSpace(p))
	if s == "" {
		return allowPattern{}, fmt.Errorf("empty pattern: expected a host such as 127.0.0.1, *.staging.internal or localhost:8080")
	}
	if strings.Contains(s, "/") {
		return allowPattern{}, fmt.Errorf("%q: expected a host pattern, not a URL (such as *.staging.internal or 10.0.0.5:8080)", p)
	}
	host, port := s, ""
	if h, pt, err := net.SplitHostPort(s); err == nil {
		host, port = h, pt
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	if host == "" || host == "*" || strings.Count(host, "*") > 1 || (strings.Contains(host, "*") && !strings.HasPrefix(host, "*.")) {
		return allowPattern{}, fmt.Errorf("%q: expected a host, or *.domain for its subdomains (a bare * would allow any host)", p)
	}
	return allowPattern{host: host, port: port}, nil
}

// allowlist decides which hosts load may go to.
type allowlist []allowPattern

func newAllowlist(patterns []string) (allowlist, error) {
	var a allowlist
	for _, p := range patterns {
		ap, err := parsePattern(p)
		if err != nil {
			return nil, fmt.Errorf("allowed target %w", err)
		}
		a = append(a, ap)
	}
	return a, nil
}

// check returns nil when u's host (and port) matches a pattern, else an
// error naming the host.
func (a allowlist) check(u *url.URL) error {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("expected an absolute http(s) URL such as http://127.0.0.1:8080")
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	for _, p := range a {
		if p.port != "" && p.port != port {
			continue
		}
		if p.host == host || (strings.HasPrefix(p.host, "*.") && strings.HasSuffix(host, p.host[1:])) {
			return nil
		}
	}
	return fmt.Errorf("host %q is not in the allowlist of targets (allowed: %s); add it with --allow-target", u.Host, a)
}

func (a allowlist) String() string {
	var s []string
	for _, p := range a {
		h := p.host
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		if p.port != "" {
			h += ":" + p.port
		}
		s = append(s, h)
	}
	return strings.Join(s, ", ")
}

// checkString parses and checks a URL.
func (a allowlist) checkString(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", raw, err)
	}
	return a.check(u)
}

// allowTransport refuses every request, redirects included, to a host
// outside the allowlist: a scenario step may name an absolute URL, so
// checking the target alone is not enough.
type allowTransport struct {
	base  http.RoundTripper
	allow allowlist
	// abort, when set, ends every request in flight, its body included,
	// once it is cancelled.
	abort context.Context
}

func (t allowTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.allow.check(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if t.abort == nil {
		return t.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(t.abort, cancel)
	done := func() { stop(); cancel() }
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		done()
		return nil, err
	}
	resp.Body = &abortableBody{ReadCloser: resp.Body, done: done}
	return resp, nil
}

// abortableBody releases its request's abort hook when closed.
type abortableBody struct {
	io.ReadCloser
	done func()
}

func (b *abortableBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}
