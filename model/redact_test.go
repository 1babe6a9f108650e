package model

import (
	"strings"
	"testing"
)

// TestScenarioRedacted: credentials are replaced in the copy, references
// to env() and file() are kept, and the scenario itself is not changed.
func TestScenarioRedacted(t *testing.T) {
	sc := &Scenario{
		Name:    "s",
		Target:  "http://ann:hunter2@api.internal:8080",
		Headers: map[string]string{"Authorization": "Bearer abc123", "X-Api-Key": "{{env(API_KEY)}}", "Accept": "application/json", "Cookie": "sid=s3ss10n"},
		Auth:    &Auth{Basic: &BasicAuth{Username: "ann", Password: "hunter2"}},
		Flows: []Flow{{Name: "f", Steps: []Step{{Method: "GET", Path: "/", Headers: map[string]string{
			"Authorization": "Bearer {{env(TOKEN)}}", "X-Token": "Bearer {{randomString(8)}}", "Proxy-Authorization": "Basic {{file(/run/secrets/p)}} tail",
		}}}}},
	}
	r := sc.Redacted()
	want := map[string]string{
		"target":                   "http://ann:%5Bredacted%5D@api.internal:8080",
		"Authorization":            Redacted,
		"X-Api-Key":                "{{env(API_KEY)}}",
		"Accept":                   "application/json",
		"Cookie":                   Redacted,
		"password":                 Redacted,
		"step Authorization":       "Bearer {{env(TOKEN)}}",
		"step X-Token":             Redacted,
		"step Proxy-Authorization": Redacted,
	}
	got := map[string]string{
		"target": r.Target, "Authorization": r.Headers["Authorization"], "X-Api-Key": r.Headers["X-Api-Key"],
		"Accept": r.Headers["Accept"], "Cookie": r.Headers["Cookie"], "password": r.Auth.Basic.Password,
		"step Authorization":       r.Flows[0].Steps[0].Headers["Authorization"],
		"step X-Token":             r.Flows[0].Steps[0].Headers["X-Token"],
		"step Proxy-Authorization": r.Flows[0].Steps[0].Headers["Proxy-Authorization"],
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if sc.Headers["Authorization"] != "Bearer abc123" || sc.Auth.Basic.Password != "hunter2" || !strings.Contains(sc.Target, "hunter2") {
		t.Error("Redacted changed the scenario it copies")
	}
}

// TestValidateTargetHidesThePassword: a bad target with credentials is
// named without its password.
func TestValidateTargetHidesThePassword(t *testing.T) {
	err := ValidateTarget("http://ann:hunter2@api.internal:8080/?x=1")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "api.internal") {
		t.Errorf("error %v: want the target named without its password", err)
	}
}

// TestAuthRefused: only a run whose every response is 401 or 403 counts.
func TestAuthRefused(t *testing.T) {
	for _, c := range []struct {
		status map[string]int64
		n      int64
		want   bool
	}{
		{map[string]int64{"401": 10}, 10, true},
		{map[string]int64{"401": 4, "403": 6}, 10, true},
		{map[string]int64{"401": 9, "200": 1}, 10, false},
		{nil, 0, false},
	} {
		r := &Run{Total: StageStats{Requests: c.n, Status: c.status}}
		if got := r.AuthRefused(); got != c.want {
			t.Errorf("%v: %v, want %v", c.status, got, c.want)
		}
	}
}

// TestSecretTemplateFunctions: env() takes a variable name, file() a path.
func TestSecretTemplateFunctions(t *testing.T) {
	for _, ok := range []string{"{{env(API_TOKEN)}}", "Bearer {{env('X_1')}}", "{{file(/run/secrets/token)}}"} {
		if _, err := ParseTemplate(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for s, want := range map[string]string{"{{env(1X)}}": "environment variable name", "{{env(A-B)}}": "environment variable name", "{{env()}}": "env takes 1", "{{file('')}}": "expected a path"} {
		if _, err := ParseTemplate(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error mentioning %q", s, err, want)
		}
	}
}
