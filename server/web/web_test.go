package web

import (
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/internal/testenv"
)

// TestFSHoldsTheUI checks that FS has index.html at its top and exactly the
// listed files, and that every asset the page asks for — stylesheets,
// scripts, module imports, CSS urls — is one of them or inline data: the
// UI must work offline, so nothing may come from another host.
func TestFSHoldsTheUI(t *testing.T) {
	var got []string
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			got = append(got, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(Files)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("FS holds %v, want the files listed in Files: %v", got, want)
	}
	if Files[0] != "index.html" {
		t.Errorf("Files[0] is %q, want index.html", Files[0])
	}

	attr := regexp.MustCompile(`(?:src|href)="([^"]*)"`)
	imp := regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'`)
	cssURL := regexp.MustCompile(`url\(\s*['"]?([^'")]+)`)
	for _, name := range got {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		var refs []string
		switch path.Ext(name) {
		case ".html":
			for _, m := range attr.FindAllStringSubmatch(text, -1) {
				refs = append(refs, m[1])
			}
		case ".js":
			for _, m := range imp.FindAllStringSubmatch(text, -1) {
				refs = append(refs, m[1])
			}
			if strings.Contains(text, "import(") {
				t.Errorf("%s uses a dynamic import: keep every module a static import so this test sees it", name)
			}
		case ".css":
			for _, m := range cssURL.FindAllStringSubmatch(text, -1) {
				refs = append(refs, m[1])
			}
			if strings.Contains(text, "@import") {
				t.Errorf("%s uses @import: the UI has one stylesheet", name)
			}
		}
		for _, ref := range refs {
			switch {
			case strings.HasPrefix(ref, "data:"), strings.HasPrefix(ref, "#"):
			case ref == "/api/openapi.yaml", strings.HasPrefix(ref, "/ui/") && !strings.Contains(ref, "."):
				// A link to the API document or to one of the UI's routes.
			case strings.HasPrefix(ref, "/ui/"):
				if _, err := fs.Stat(FS, strings.TrimPrefix(ref, "/ui/")); err != nil {
					t.Errorf("%s refers to %s, which is not in FS", name, ref)
				}
			case strings.HasPrefix(ref, "./"):
				if _, err := fs.Stat(FS, path.Join(path.Dir(name), ref)); err != nil {
					t.Errorf("%s imports %s, which is not in FS", name, ref)
				}
			default:
				t.Errorf("%s refers to %q: the UI may only load its own files (/ui/... or ./...) or inline data", name, ref)
			}
		}
	}
	index, err := fs.ReadFile(FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<script type="module" src="/ui/app.js">`, `<link rel="stylesheet" href="/ui/style.css">`, `id="main"`} {
		if !strings.Contains(string(index), want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
}

// TestJavaScriptParses runs `node --check` on every module, so that a
// syntax error fails here rather than as a blank page. Without node the
// test is skipped locally and fails under CI.
func TestJavaScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("node is not installed: the UI's JavaScript cannot be checked")
		}
		t.Skip("node is not installed: skipping the JavaScript syntax check")
	}
	dir := t.TempDir()
	n := 0
	for _, name := range Files {
		if path.Ext(name) != ".js" {
			continue
		}
		n++
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		// The .mjs extension makes node parse the file as an ES module.
		file := filepath.Join(dir, strings.TrimSuffix(name, ".js")+".mjs")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(node, "--check", file).CombinedOutput()
		if err != nil {
			t.Errorf("node --check %s: %v\n%s", name, err, out)
		}
	}
	if n < 2 {
		t.Fatalf("checked %d JavaScript files, want every module", n)
	}
}
