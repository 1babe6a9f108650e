package readfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestRead: a file within its limit is read whole; a bigger regular file
// is refused by its size, a device by what it yields; both errors name the
// file and the limit.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(small, []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(small, 8); err != nil || string(b) != "name: x\n" {
		t.Fatalf("a file of exactly the limit: %q, %v", b, err)
	}
	if _, err := Read(small, 7); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), small) || !strings.Contains(err.Error(), "7 bytes") {
		t.Errorf("a file one byte over the limit: %v", err)
	}
	if _, err := Read(filepath.Join(dir, "missing"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	if runtime.GOOS == "linux" {
		_, err := Read("/dev/zero", 1<<20)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "/dev/zero") || !strings.Contains(err.Error(), "1 MiB") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 4 << 20: "4 MiB", 1536: "1.5 KiB", 256 << 20: "256 MiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
