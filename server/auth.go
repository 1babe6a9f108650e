package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// auth checks the bearer token: any known token may read (GET, HEAD), only
// an admin token may write. Tokens are compared as SHA-256 digests in
// constant time, every token each time, so neither the length nor the
// position of a match leaks through timing.
func (s *Server) auth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="headroom"`)
			return errorf(http.StatusUnauthorized, "missing bearer token: send 'Authorization: Bearer TOKEN' with a token from HEADROOM_API_TOKENS or the token file")
		}
		got := sha256.Sum256([]byte(tok))
		found, admin := 0, 0
		for _, t := range s.cfg.Tokens {
			want := sha256.Sum256([]byte(t.Value))
			eq := subtle.ConstantTimeCompare(got[:], want[:])
			found |= eq
			if t.Admin {
				admin |= eq
			}
		}
		if found == 0 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="headroom", error="invalid_token"`)
			return errorf(http.StatusUnauthorized, "invalid bearer token")
		}
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if admin == 0 {
				return errorf(http.StatusForbidden, "this token is read-only: %s needs an admin token", c.Request().Method)
			}
		}
		return next(c)
	}
}
