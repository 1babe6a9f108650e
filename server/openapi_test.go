package server

import (
	"context"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPI: the served document is valid OpenAPI 3, and documents
// exactly the routes registered under /api (and the health and metrics
// routes).
func TestOpenAPI(t *testing.T) {
	ts := newTestServer(t, "", nil)
	code, body := ts.do(t, "GET", "/api/openapi.yaml", "", nil)
	if code != 200 {
		t.Fatalf("GET /api/openapi.yaml: %d", code)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	registered := map[string]bool{}
	for _, r := range ts.echo.Routes() {
		if strings.Contains(r.Path, "*") || strings.HasPrefix(r.Method, "echo_") {
			continue
		}
		if !strings.HasPrefix(r.Path, "/api") && r.Path != "/healthz" && r.Path != "/readyz" && r.Path != "/metrics" {
			continue
		}
		registered[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	var missing, extra []string
	for r := range registered {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !registered[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes not in openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("openapi.yaml documents routes the server does not have: %v", extra)
	}
	if len(registered) < 20 {
		t.Errorf("only %d routes found: %v", len(registered), registered)
	}
	// Every operation under /api/v1 is behind the bearer token, and says so.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if strings.HasPrefix(path, "/api/v1") {
				if op.Security != nil && len(*op.Security) == 0 {
					t.Errorf("%s %s is documented without auth", method, path)
				}
				if op.Responses.Value("401") == nil {
					t.Errorf("%s %s does not document 401", method, path)
				}
			}
		}
	}
	_ = http.MethodGet
}
