package model

import (
	"net/url"
	"strings"
)

// Redacted is what replaces a secret in documents and messages.
const Redacted = "[redacted]"

// SensitiveHeader reports whether a header's value is a credential:
// Authorization, Proxy-Authorization, Cookie, Set-Cookie, and any header
// whose name speaks of a token, a key, a secret or a password.
func SensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	for _, w := range []string{"token", "secret", "password", "api-key", "apikey", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// RedactURL is u without its password (user:[redacted]@host); a string
// that is not a URL is returned as it is.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	if _, has := p.User.Password(); has {
		p.User = url.UserPassword(p.User.Username(), Redacted)
	}
	return p.String()
}

// redactValue keeps a value made only of text-free secret references
// ({{env(X)}}, {{file(P)}}), which hold no secret, and replaces anything
// else.
func redactValue(v string) string {
	if v == "" {
		return v
	}
	t, err := ParseTemplate(v)
	if err != nil {
		return Redacted
	}
	secrets := 0
	for _, p := range t.Parts {
		switch {
		case SecretFuncs[p.Func]:
			secrets++
		case p.Func == "" && p.Var == "" && isScheme(p.Literal):
		default:
			return Redacted
		}
	}
	if secrets == 0 {
		return Redacted
	}
	return v
}

// isScheme reports whether a literal is an auth scheme and a space, as in
// "Bearer {{env(TOKEN)}}".
func isScheme(s string) bool {
	w, ok := strings.CutSuffix(s, " ")
	if !ok || w == "" || len(w) > 16 {
		return false
	}
	for _, r := range w {
		if !(r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
			return false
		}
	}
	return true
}

// Redacted returns a copy of the scenario fit to store or show: the values
// of sensitive headers, Basic and Bearer credentials and a password in the
// target are replaced by "[redacted]", except references to env() and
// file(), which hold no secret.
func (s *Scenario) Redacted() *Scenario {
	c := s.Clone()
	c.Target = RedactURL(c.Target)
	redactHeaders(c.Headers)
	if a := c.Auth; a != nil {
		redactHeaders(a.Step.Headers)
		if a.Basic != nil {
			b := *a.Basic
			b.Password = redactValue(b.Password)
			a.Basic = &b
		}
		if a.Bearer != "" {
			a.Bearer = redactValue(a.Bearer)
		}
	}
	for i := range c.Flows {
		for j := range c.Flows[i].Steps {
			redactHeaders(c.Flows[i].Steps[j].Headers)
		}
	}
	return c
}

func redactHeaders(h map[string]string) {
	for k, v := range h {
		if SensitiveHeader(k) {
			h[k] = redactValue(v)
		}
	}
}
