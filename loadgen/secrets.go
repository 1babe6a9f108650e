package loadgen

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/headroom-sh/headroom/internal/readfile"
	"github.com/headroom-sh/headroom/model"
)

// MaxSecretFileBytes bounds a file read by the file() template function.
const MaxSecretFileBytes = 1 << 20

// Secrets resolves the env() and file() template functions, once, when the
// runner is built. The values go into the requests only: they are never
// written to run.json, logs or errors.
type Secrets struct {
	// LookupEnv reads an environment variable; nil refuses env().
	LookupEnv func(name string) (string, bool)
	// ReadFile reads a file; nil refuses file().
	ReadFile func(path string) ([]byte, error)
}

// OSSecrets reads the process's environment and files (at most
// MaxSecretFileBytes each): what the CLI uses.
func OSSecrets() Secrets {
	return Secrets{
		LookupEnv: os.LookupEnv,
		ReadFile:  func(p string) ([]byte, error) { return readfile.Read(p, MaxSecretFileBytes) },
	}
}

// secret resolves one env() or file() call of template s.
func (sec Secrets) secret(s string, p model.TemplatePart) (string, error) {
	arg, _ := p.Args[0].(string)
	switch p.Func {
	case "env":
		if sec.LookupEnv == nil {
			return "", fmt.Errorf("template %q: env(%s) is not available here: this runner reads no environment variables", s, arg)
		}
		v, ok := sec.LookupEnv(arg)
		if !ok {
			return "", fmt.Errorf("template %q: environment variable %s is not set", s, arg)
		}
		return v, nil
	case "file":
		if sec.ReadFile == nil {
			return "", fmt.Errorf("template %q: file(%s) is not available here: this runner reads no files", s, arg)
		}
		b, err := sec.ReadFile(arg)
		if err != nil {
			return "", fmt.Errorf("template %q: could not read %s: %w", s, arg, err)
		}
		// Mounted secrets and files written by echo end with a newline
		// that is not part of the secret.
		return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
	}
	return "", fmt.Errorf("template %q: %s is not a secret function", s, p.Func)
}

// takeURLCredentials removes user:password from the scenario's target, so
// that run.json and logs never hold them, and returns them.
func takeURLCredentials(sc *model.Scenario) (*url.Userinfo, error) {
	u, err := url.Parse(sc.Target)
	if err != nil || u.User == nil {
		return nil, nil
	}
	user := u.User
	u.User = nil
	sc.Target = u.String()
	if sc.Auth != nil {
		return nil, fmt.Errorf("target %s carries credentials and the scenario has auth: keep one of them (auth.basic with {{env(NAME)}} keeps secrets out of the file)", sc.Target)
	}
	return user, nil
}

// fixedAuthHeader is the header value of Basic or Bearer auth, or of
// credentials taken from the target URL; ok is false when there is none.
func (r *Runner) fixedAuthHeader(sc *model.Scenario, urlUser *url.Userinfo) (key, value string, ok bool, err error) {
	resolve := func(field, s string) (string, error) {
		t, err := compileTemplate(s, r.seqs)
		if err != nil {
			return "", fmt.Errorf("%s: %w", field, err)
		}
		if !t.literal {
			return "", fmt.Errorf("%s: template %q: only text, env() and file() may be used here", field, s)
		}
		return t.raw, nil
	}
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	a := sc.Auth
	switch {
	case urlUser != nil:
		pass, _ := urlUser.Password()
		return model.DefaultAuthHeader, basic(urlUser.Username(), pass), true, nil
	case a == nil || a.IsLogin():
		return "", "", false, nil
	case a.Basic != nil:
		user, err := resolve("auth.basic.username", a.Basic.Username)
		if err != nil {
			return "", "", false, err
		}
		pass, err := resolve("auth.basic.password", a.Basic.Password)
		if err != nil {
			return "", "", false, err
		}
		return model.DefaultAuthHeader, basic(user, pass), true, nil
	}
	token, err := resolve("auth.bearer", a.Bearer)
	if err != nil {
		return "", "", false, err
	}
	if token == "" {
		return "", "", false, fmt.Errorf("auth.bearer: the token %q is empty", a.Bearer)
	}
	if !strings.EqualFold(a.Scheme, model.AuthSchemeNone) {
		token = a.Scheme + " " + token
	}
	return a.Header, token, true, nil
}
