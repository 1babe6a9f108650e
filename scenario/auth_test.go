package scenario

import (
	"strings"
	"testing"
)

// TestScenarioFileAuth: auth.basic and auth.bearer read from YAML; both at
// once, a login step beside them, or a random value in a credential are
// errors naming the field.
func TestScenarioFileAuth(t *testing.T) {
	const rest = "flows:\n  - steps:\n      - {method: GET, path: /}\nexecutors:\n  - {type: constant-vus, vus: 1, duration: 1s}\n"
	sc, err := Parse([]byte("name: a\ntarget: http://127.0.0.1:1\nauth:\n  basic: {username: \"{{env(API_USER)}}\", password: \"{{file(/run/secrets/pw)}}\"}\n"+rest), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Auth == nil || sc.Auth.Basic == nil || sc.Auth.Basic.Username != "{{env(API_USER)}}" || sc.Auth.IsLogin() {
		t.Fatalf("auth = %+v", sc.Auth)
	}
	sc, err = Parse([]byte("name: a\nauth:\n  bearer: \"{{env(API_TOKEN)}}\"\n"+rest), "a.yaml")
	if err != nil || sc.Auth.Bearer != "{{env(API_TOKEN)}}" {
		t.Fatalf("bearer: %v, %+v", err, sc.Auth)
	}
	for yaml, want := range map[string][]string{
		"auth:\n  bearer: x\n  basic: {username: u, password: p}\n":          {"a.yaml:", "auth", "choose one"},
		"auth:\n  bearer: x\n  step: {method: POST, path: /login}\n":         {"auth.step", "choose one"},
		"auth:\n  basic: {username: u, password: \"{{randomString(8)}}\"}\n": {"auth.basic.password", "env() and file()"},
		"headers: {Authorization: x}\nauth:\n  bearer: y\n":                  {"headers", "also set by auth"},
		"auth:\n  basic: {username: \"\", password: p}\n":                    {"auth.basic.username", "empty"},
		"headers: {X-Token: \"{{env(1BAD)}}\"}\n":                            {"environment variable name"},
	} {
		_, err := Parse([]byte("name: a\n"+yaml+rest), "a.yaml")
		if err == nil {
			t.Errorf("%s: accepted", yaml)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", yaml, err, w)
			}
		}
	}
}
