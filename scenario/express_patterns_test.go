package scenario

import (
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
			api, err := ReadExpress(filepath.Join(dir, "src"))
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
	api, err := ReadExpress("testdata/express-patterns/route-table/src")
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
			if !strings.Contains(Summary(api, nil), "prefix from /v1 at app.js:9, /authors at routes/index.js:14") {
				t.Errorf("the summary does not show the prefix's origin:\n%s", Summary(api, nil))
			}
			return
		}
	}
	t.Fatal("GET /v1/authors not found")
}
