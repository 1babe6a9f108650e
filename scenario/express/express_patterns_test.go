package express

import (
	"github.com/headroom-sh/headroom/scenario/generate"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestExpressPatternsFindExactlyTheirRoutes reads each fixture under
// testdata/express-patterns, one per way real applications compose
// routers, and checks that the reader finds exactly the routes its
// expected.routes lists (method and full path), and the warnings it names
// with "warning:" lines.
func TestExpressPatternsFindExactlyTheirRoutes(t *testing.T) {
	dirs, err := filepath.Glob("testdata/express-patterns/*")
	if err != nil || len(dirs) < 10 {
		t.Fatalf("fixtures: %v %v", dirs, err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, "expected.routes"))
			if err != nil {
				t.Fatal(err)
			}
			var want, warnings []string
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				if w, ok := strings.CutPrefix(l, "warning: "); ok {
					warnings = append(warnings, w)
					continue
				}
				want = append(want, l)
			}
			api, err := Read(filepath.Join(dir, "src"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range api.Routes {
				got = append(got, r.Method+" "+r.Path)
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("routes:\n%s\nwant:\n%s\nwarnings: %v", strings.Join(got, "\n"), strings.Join(want, "\n"), api.Warnings)
			}
			for _, w := range warnings {
				found := false
				for _, aw := range api.Warnings {
					found = found || strings.Contains(aw, w)
				}
				if !found {
					t.Errorf("no warning with %q in %q", w, api.Warnings)
				}
			}
		})
	}
}

func TestTheDryRunSaysWhereAPrefixComesFrom(t *testing.T) {
	api, err := Read("testdata/express-patterns/route-table/src")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range api.Routes {
		if r.Method == "GET" && r.Path == "/v1/authors" {
			got := strings.Join(r.Mounts, "; ")
			for _, want := range []string{"/v1 at app.js:9", "/authors at routes/index.js:14"} {
				if !strings.Contains(got, want) {
					t.Errorf("mounts %q lack %q", got, want)
				}
			}
			if !strings.Contains(generate.Summary(api, nil), "prefix from /v1 at app.js:9, /authors at routes/index.js:14") {
				t.Errorf("the summary does not show the prefix's origin:\n%s", generate.Summary(api, nil))
			}
			return
		}
	}
	t.Fatal("GET /v1/authors not found")
}

func TestValidationSchemasGiveTypedBodies(t *testing.T) {
	api, err := Read("testdata/express-patterns/validators/src")
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]*generate.Schema{}
	for _, r := range api.Routes {
		bodies[r.Method+" "+r.Path] = r.Body
	}
	type want struct {
		field, typ, format string
		required           bool
	}
	cases := map[string][]want{
		"POST /signup":                   {{"email", "string", "email", true}, {"age", "integer", "", false}, {"plan", "string", "", true}},
		"POST /boards/{boardId}/tickets": {{"title", "string", "", true}, {"severity", "string", "", true}, {"watchers", "array", "", false}},
		"POST /members":                  {{"email", "string", "email", true}, {"displayName", "string", "", true}, {"seats", "integer", "", false}},
		"POST /sessions":                 {{"login", "string", "", true}, {"remember", "boolean", "", false}},
		"POST /invites":                  {{"email", "string", "email", true}, {"days", "integer", "", true}, {"note", "string", "", false}},
	}
	for route, fields := range cases {
		b := bodies[route]
		if b == nil {
			t.Errorf("%s: no body", route)
			continue
		}
		for _, w := range fields {
			var prop *generate.Property
			for i := range b.Properties {
				if b.Properties[i].Name == w.field {
					prop = &b.Properties[i]
				}
			}
			if prop == nil {
				t.Errorf("%s: no field %s in %s", route, w.field, b.Describe())
				continue
			}
			if prop.Schema.Type != w.typ || prop.Schema.Format != w.format || prop.Required != w.required {
				t.Errorf("%s: %s is %s(%s) required=%v, want %s(%s) required=%v", route, w.field, prop.Schema.Type, prop.Schema.Format, prop.Required, w.typ, w.format, w.required)
			}
		}
	}
	if s := bodies["POST /signup"].Prop("plan"); s == nil || len(s.Enum) != 2 {
		t.Errorf("Joi valid() gives an enum: %+v", s)
	}
	if s := bodies["POST /boards/{boardId}/tickets"].Prop("title"); s == nil || s.MinLength == nil || *s.MinLength != 3 || s.MaxLength == nil || *s.MaxLength != 80 {
		t.Errorf("zod min/max on a string bound its length: %+v", s)
	}
	if s := bodies["POST /invites"].Prop("days"); s == nil || s.Minimum == nil || *s.Minimum != 1 || s.Maximum == nil || *s.Maximum != 30 {
		t.Errorf("isInt({min, max}) bounds the number: %+v", s)
	}
	if s := bodies["POST /members"].Prop("displayName"); s == nil || s.MinLength == nil || *s.MinLength != 2 || s.MaxLength == nil || *s.MaxLength != 40 {
		t.Errorf("@Length(2, 40): %+v", s)
	}
	// The payload synthesized from a validated body is valid for it.
	v, ok := generate.Synthesize(bodies["POST /invites"])
	if !ok {
		t.Fatal("no payload")
	}
	m, _ := v.(map[string]any)
	if email, _ := m["email"].(string); !strings.Contains(email, "@") && email != "{{email()}}" {
		t.Errorf("the email field's value is not an email: %v", m)
	}
	if days, _ := m["days"].(string); days != "{{skewedInt(1,30)}}" {
		t.Errorf("the days field is not drawn from its bounds: %v", m)
	}
}

func TestAuthMiddlewareIsToldFromHardening(t *testing.T) {
	for name, want := range map[string]bool{
		"authenticate": true, "passport.authenticate()": true, "isAuth": true, "auth()": true, "requireAdmin": true,
		"passportConfig.isAuthenticated": true, "verifyToken": true, "jwt()": true,
		"passport.initialize()": false, "passport.session()": false, "session()": false, "frameGuard": false,
		"doubleCsrfProtection": false, "lusca.xssProtection()": false, "authLimiter": false, "cookieSession()": false,
		"helmet()": false, "express.json()": false,
	} {
		if got := isAuthMiddleware(name); got != want {
			t.Errorf("%s: auth %v, want %v", name, got, want)
		}
	}
}
