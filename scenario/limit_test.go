package scenario

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestScenarioFileSizeIsLimited: a scenario file over the limit, or a
// device that never ends, is refused with an error naming the file and the
// limit, without being read whole.
func TestScenarioFileSizeIsLimited(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: its size costs no disk.
	if err := f.Truncate(MaxScenarioBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	paths := []string{big}
	if runtime.GOOS == "linux" {
		paths = append(paths, "/dev/zero")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := ReadFile(p)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "32 MiB") {
					t.Fatalf("error %v: want one naming %s and the limit of 32 MiB", err, p)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("reading %s did not end", p)
			}
		})
	}
}
