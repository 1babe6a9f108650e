package loadgen

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// authSeen records the Authorization headers a server received.
type authSeen struct {
	mu   sync.Mutex
	seen map[string]int
}

func (a *authSeen) handler(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	if a.seen == nil {
		a.seen = map[string]int{}
	}
	a.seen[r.Header.Get("Authorization")]++
	a.mu.Unlock()
	w.Write([]byte(`{"ok":true}`))
}

func (a *authSeen) only() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for k := range a.seen {
		out = append(out, k)
	}
	return out
}

func fakeSecrets(env map[string]string) Secrets {
	return Secrets{
		LookupEnv: func(n string) (string, bool) { v, ok := env[n]; return v, ok },
		ReadFile:  OSSecrets().ReadFile,
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestSecretsAndCredentials: a token from env() or file(), Basic and
// Bearer auth, and credentials in the target URL reach the target as an
// Authorization header, and never run.json.
func TestSecretsAndCredentials(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secretFile, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HR_TOKEN": "tok-123", "HR_USER": "ann", "HR_PASS": "pa:ss-456"}
	cases := []struct {
		name   string
		change func(sc *model.Scenario, target string) string
		want   string
	}{
		{"a header reads env()", func(sc *model.Scenario, target string) string {
			sc.Headers = map[string]string{"Authorization": "Bearer {{env(HR_TOKEN)}}"}
			return target
		}, "Bearer tok-123"},
		{"a header reads file() without its final newline", func(sc *model.Scenario, target string) string {
			sc.Headers = map[string]string{"Authorization": "Bearer {{file(" + secretFile + ")}}"}
			return target
		}, "Bearer from-a-file"},
		{"auth.basic reads env()", func(sc *model.Scenario, target string) string {
			sc.Auth = &model.Auth{Basic: &model.BasicAuth{Username: "{{env(HR_USER)}}", Password: "{{env(HR_PASS)}}"}}
			return target
		}, basic("ann", "pa:ss-456")},
		{"auth.bearer reads env()", func(sc *model.Scenario, target string) string {
			sc.Auth = &model.Auth{Bearer: "{{env(HR_TOKEN)}}"}
			return target
		}, "Bearer tok-123"},
		{"credentials in the target URL are sent as Basic auth", func(sc *model.Scenario, target string) string {
			return strings.Replace(target, "http://", "http://bob:url-secret-789@", 1)
		}, basic("bob", "url-secret-789")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seen := &authSeen{}
			srv := newCountingServer(t, seen.handler)
			sc := getScenario(srv.URL, "/", constantVUs(1, 300*time.Millisecond))
			target := c.change(sc, srv.URL)
			sc.Target = target
			_, run := mustRun(t, Config{Scenario: sc, Secrets: fakeSecrets(env)})
			if got := seen.only(); len(got) != 1 || got[0] != c.want {
				t.Errorf("Authorization headers received: %q, want only %q", got, c.want)
			}
			doc, _ := json.Marshal(run)
			for _, secret := range []string{"tok-123", "pa:ss-456", "from-a-file", "url-secret-789", strings.TrimPrefix(c.want, "Basic ")} {
				if strings.Contains(string(doc), secret) {
					t.Errorf("run.json holds the secret %q", secret)
				}
			}
			if run.Target != srv.URL {
				t.Errorf("run.json's target is %q, want %q", run.Target, srv.URL)
			}
		})
	}
}

// TestSecretErrors: an unset variable, a missing file and a runner that
// reads no secrets each give an error naming the variable or file, and
// never a value.
func TestSecretErrors(t *testing.T) {
	cases := []struct {
		name    string
		header  string
		secrets Secrets
		want    []string
	}{
		{"an unset variable is named", "Bearer {{env(HR_UNSET)}}", fakeSecrets(nil), []string{"HR_UNSET", "not set"}},
		{"a missing file is named", "{{file(/nonexistent/hr-token)}}", fakeSecrets(nil), []string{"/nonexistent/hr-token"}},
		{"a runner without secrets refuses env()", "{{env(HOME)}}", Secrets{}, []string{"env(HOME)", "not available"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := getScenario("http://127.0.0.1:1", "/", constantVUs(1, time.Second))
			sc.Headers = map[string]string{"X-Token": c.header}
			_, err := NewRunner(Config{Scenario: sc, Secrets: c.secrets})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	sc := getScenario("http://u:p@127.0.0.1:1", "/", constantVUs(1, time.Second))
	sc.Auth = &model.Auth{Bearer: "x"}
	if _, err := NewRunner(Config{Scenario: sc}); err == nil || strings.Contains(err.Error(), "u:p") {
		t.Errorf("credentials in the URL and auth together: %v; want an error without the password", err)
	}
}
