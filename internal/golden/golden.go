// Package golden compares what a test produced with a file kept in the
// package's testdata/ folder, and rewrites the file when the tests run with
// -update.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// Updating reports whether the tests run with -update.
func Updating() bool { return *update }

// Check compares got with testdata/<dir>/<t.Name()><ext> (dir may be empty),
// rewriting the file first with -update.
func Check(t testing.TB, dir, ext string, got []byte) {
	t.Helper()
	File(t, filepath.Join("testdata", dir, filepath.FromSlash(t.Name())+ext), got)
}

// File compares got with the file at path, rewriting it first with
// -update; for packages whose golden files are named otherwise.
func File(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s (run go test -update if the change is intended):\n%s", difference(path, got, want), got)
	}
}

// difference names the first line where got and want differ.
func difference(path string, got, want []byte) string {
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < min(len(gl), len(wl)); i++ {
		if gl[i] != wl[i] {
			return fmt.Sprintf("%s differs at line %d:\n got: %.300s\nwant: %.300s", path, i+1, gl[i], wl[i])
		}
	}
	return fmt.Sprintf("%s differs in length: %d lines, want %d", path, len(gl), len(wl))
}
