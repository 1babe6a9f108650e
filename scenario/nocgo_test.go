package scenario

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestTheFileFormatAndTheServiceNeedNoCgo lists, with cgo off, every package
// the scenario file format and the service are built from: the tree-sitter
// parser (cgo) behind the Express reader must not be among them, so that
// both build with CGO_ENABLED=0.
func TestTheFileFormatAndTheServiceNeedNoCgo(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", "../scenario", "../server/...")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list with CGO_ENABLED=0: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list found too few packages:\n%s", out)
	}
	for _, l := range lines {
		path, _, _ := strings.Cut(l, " ")
		if strings.Contains(path, "go-tree-sitter") || strings.HasSuffix(path, "/scenario/express") {
			t.Errorf("%s is built into the scenario format or the service; it needs cgo", path)
		}
	}
}
