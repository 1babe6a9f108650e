package express

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusList is a hand-written list of an application's routes.
type corpusList struct {
	name, source string
	routes       []string
}

func readCorpusLists(t *testing.T) []corpusList {
	t.Helper()
	files, err := filepath.Glob("testdata/express-corpus/*.routes")
	if err != nil || len(files) == 0 {
		t.Fatalf("no route lists: %v", err)
	}
	var out []corpusList
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		l := corpusList{name: strings.TrimSuffix(filepath.Base(f), ".routes")}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			switch {
			case strings.HasPrefix(line, "# source: "):
				l.source = strings.TrimPrefix(line, "# source: ")
			case line == "" || strings.HasPrefix(line, "#"):
			default:
				l.routes = append(l.routes, line)
			}
		}
		fh.Close()
		out = append(out, l)
	}
	return out
}

// TestExpressCorpusRecallAndPrecision measures the reader on checkouts of
// the public applications whose routes testdata/express-corpus lists by
// hand. The checkouts are not in the repository: point
// HEADROOM_EXPRESS_CORPUS at a directory that holds them (each list names
// its directory in a "# source:" line) to run it.
func TestExpressCorpusRecallAndPrecision(t *testing.T) {
	root := os.Getenv("HEADROOM_EXPRESS_CORPUS")
	if root == "" {
		t.Skip("HEADROOM_EXPRESS_CORPUS is not set")
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%-58s %5s %5s %5s %7s %9s\n", "project", "real", "found", "right", "recall", "precision")
	var sumReal, sumFound, sumRight int
	for _, l := range readCorpusLists(t) {
		api, err := Read(filepath.Join(root, l.source))
		found := map[string]bool{}
		if err == nil {
			for _, r := range api.Routes {
				found[r.Method+" "+r.Path] = true
			}
		}
		want := map[string]bool{}
		for _, r := range l.routes {
			want[r] = true
		}
		right := 0
		var missing, extra []string
		for r := range want {
			if found[r] {
				right++
			} else {
				missing = append(missing, r)
			}
		}
		for r := range found {
			if !want[r] {
				extra = append(extra, r)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		recall := float64(right) / float64(len(want))
		precision := 0.0
		if len(found) > 0 {
			precision = float64(right) / float64(len(found))
		}
		sumReal, sumFound, sumRight = sumReal+len(want), sumFound+len(found), sumRight+right
		fmt.Fprintf(&table, "%-58s %5d %5d %5d %6.0f%% %8.0f%%\n", l.name, len(want), len(found), right, 100*recall, 100*precision)
		if len(missing) > 0 {
			t.Logf("%s: missing %s", l.name, strings.Join(missing, ", "))
		}
		if len(extra) > 0 {
			t.Logf("%s: not real %s", l.name, strings.Join(extra, ", "))
		}
		if err != nil {
			t.Logf("%s: %v", l.name, err)
		}
	}
	fmt.Fprintf(&table, "%-58s %5d %5d %5d %6.0f%% %8.0f%%\n", "all", sumReal, sumFound, sumRight, 100*float64(sumRight)/float64(sumReal), 100*float64(sumRight)/float64(max(sumFound, 1)))
	t.Logf("\n%s", table.String())
	if float64(sumRight) < 0.9*float64(sumReal) || float64(sumRight) < 0.9*float64(sumFound) {
		t.Errorf("recall or precision below 90%% over the corpus")
	}
}
