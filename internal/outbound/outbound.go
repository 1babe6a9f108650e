// Package outbound keeps headroom's HTTP clients where they were pointed:
// a redirect to another host is refused, so that a server that headroom
// talks to (Prometheus, Grafana, a remote-write receiver) cannot send its
// requests, and the credentials they carry, somewhere else.
package outbound

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is how many redirects a request may follow, as net/http's
// default policy allows.
const maxRedirects = 10

// ErrRedirect marks a refused redirect.
var ErrRedirect = errors.New("redirect refused")

// SameHost is an http.Client CheckRedirect policy: a redirect is followed
// only to the host (name and port) of the request that started the chain,
// or from http to https on the same host name.
func SameHost(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: stopped after %d redirects", ErrRedirect, len(via))
	}
	first := via[0].URL
	if sameHost(first, req.URL) {
		return nil
	}
	return fmt.Errorf("%w: %s redirected to another host, %s", ErrRedirect, hostOf(first), hostOf(req.URL))
}

// SameServer reports whether the URL to names the server of the URL from,
// by the rule SameHost follows redirects by: credentials given for from may
// go to to. A URL that does not parse is no server's.
func SameServer(from, to string) bool {
	f, errF := url.Parse(strings.TrimSpace(from))
	t, errT := url.Parse(strings.TrimSpace(to))
	return errF == nil && errT == nil && f.Host != "" && sameHost(f, t)
}

func sameHost(from, to *url.URL) bool {
	if !strings.EqualFold(from.Hostname(), to.Hostname()) {
		return false
	}
	if port(from) == port(to) {
		return true
	}
	// An upgrade to https on the default port is the same server.
	return from.Scheme == "http" && to.Scheme == "https" && to.Port() == ""
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// hostOf is a URL's scheme and host, never its user information, path or
// query, for messages.
func hostOf(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

// Client returns a copy of c (a new client when c is nil) whose redirects
// follow SameHost unless c already has a policy of its own.
func Client(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	if out.CheckRedirect == nil {
		out.CheckRedirect = SameHost
	}
	return &out
}
