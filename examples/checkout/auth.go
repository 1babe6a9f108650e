package checkout

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors of token verification.
var (
	errMissingToken = errors.New("missing bearer token")
	errExpiredToken = errors.New("token expired")
	errBadToken     = errors.New("invalid token")
)

// tokenIssuer issues and verifies HS256 login tokens.
type tokenIssuer struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// claims are the token's claims: the standard ones, with the user name as
// subject, plus the numeric user ID.
type claims struct {
	UserID int64 `json:"uid"`
	jwt.RegisteredClaims
}

// issue returns a signed token for the user.
func (t *tokenIssuer) issue(user string, id int64) (string, error) {
	now := t.now()
	c := claims{
		UserID: id,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   user,
			Issuer:    "checkout",
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("could not sign a token for %q: %w", user, err)
	}
	return s, nil
}

// verify checks a token and returns the user ID it was issued for.
func (t *tokenIssuer) verify(token string) (int64, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer("checkout"),
		jwt.WithTimeFunc(t.now),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return 0, errExpiredToken
	case err != nil:
		return 0, fmt.Errorf("%w: %w", errBadToken, err)
	}
	if id, ok := userID(c.Subject); !ok || id != c.UserID {
		return 0, fmt.Errorf("%w: unknown subject %q", errBadToken, c.Subject)
	}
	return c.UserID, nil
}

// checkPassword reports whether the credentials are those of a seeded user
// and returns its ID. Logins need no I/O, so they never compete for the
// pools whose saturation the demo is about.
func checkPassword(user, password string) (int64, bool) {
	id, ok := userID(user)
	match := subtle.ConstantTimeCompare([]byte(password), []byte(UserPassword)) == 1
	return id, ok && match
}

type userKey struct{}

// requireUser wraps h so that it runs only with a valid bearer token; the
// user ID is then in the request context.
func (t *tokenIssuer) requireUser(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		token = strings.TrimSpace(token)
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="checkout"`)
			writeError(w, http.StatusUnauthorized, errMissingToken.Error())
			return
		}
		id, err := t.verify(token)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="checkout", error="invalid_token"`)
			msg := errBadToken.Error()
			if errors.Is(err, errExpiredToken) {
				msg = errExpiredToken.Error()
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, id)))
	}
}

// requestUser returns the user ID set by requireUser.
func requestUser(r *http.Request) int64 {
	id, _ := r.Context().Value(userKey{}).(int64)
	return id
}
