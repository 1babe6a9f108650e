package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFilesOverTheirLimitAreRefused: every command that reads a scenario
// or a config file refuses one over its limit, naming the file and the
// limit, without reading it whole (the files are sparse: no disk used).
func TestFilesOverTheirLimitAreRefused(t *testing.T) {
	dir := t.TempDir()
	sparse := func(name string, size int64) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scenarioFile := sparse("big.yaml", 64<<20)
	config := sparse("big-config.yaml", 64<<20)
	document := sparse("big-analysis.json", 300<<20)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"a scenario for run", []string{"run", scenarioFile}, []string{scenarioFile, "32 MiB"}},
		{"serve's config", []string{"serve", "--config", config}, []string{config, "4 MiB"}},
		{"an analysis for plan", []string{"plan", "--analysis", document, "--topology", config, "--target-rps", "10"}, []string{document, "256 MiB"}},
		{"a run for resources", []string{"resources", "--run", document}, []string{document, "256 MiB"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runCLI(t, c.args...)
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
}
