package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

// specsdm91 is the SPEC SDM91 set (Gunther 2007; R package usl), whose
// published fit is σ = 0.0277285, κ = 0.0001044, λ = 89.9952330.
const specsdm91 = `# SPEC SDM91, Sun SPARCcenter 2000
concurrency,throughput
1,64.9
18,995.9
36,1652.4
72,1853.2
108,1828.9
144,1775.0
216,1702.2
`

// writeTemp writes content to a file in a test directory and returns its path.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runFitCmd(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"fit"}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func TestFit_JSON(t *testing.T) {
	path := writeTemp(t, "points.csv", specsdm91)
	out, _, err := runFitCmd(t, "", "--input", path, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var u model.USL
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		t.Fatalf("output is not a model.USL: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"sigma", u.Sigma, 0.0277285},
		{"kappa", u.Kappa, 0.0001044},
		{"lambda", u.Lambda, 89.9952330},
		{"r2", u.R2, 0.9896},
	} {
		if math.Abs(c.got-c.want) > 5e-4*math.Abs(c.want) {
			t.Errorf("%s = %.8g, want %.8g", c.name, c.got, c.want)
		}
	}
	if u.PeakN == nil || math.Abs(*u.PeakN-96.52) > 0.01 {
		t.Errorf("peak_n = %v, want 96.52", u.PeakN)
	}
	if u.Points != 7 || u.Confidence != model.ConfidenceHigh {
		t.Errorf("points %d, confidence %q; want 7, high", u.Points, u.Confidence)
	}
	for _, key := range []string{`"sigma_ci"`, `"kappa_ci"`, `"lambda_ci"`, `"peak_x"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s:\n%s", key, out)
		}
	}
}

func TestFit_Table(t *testing.T) {
	path := writeTemp(t, "points.csv", specsdm91)
	out, _, err := runFitCmd(t, "", "--input", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"σ (contention)", "0.02773", "κ (coherency)", "0.0001044", "λ (X at N=1)", "90", "N* (peak concurrency)", "96.52", "X at N*", "1884", "R²", "0.9896", "confidence", "high"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestFit_TableShowsNotesAndNoPeak(t *testing.T) {
	// The ray tracer benchmark (Gunther 2007): the bounded fit has κ = 0.
	in := "1,20\n4,78\n8,130\n12,170\n16,190\n20,200\n24,210\n28,230\n32,260\n48,280\n64,310\n"
	out, _, err := runFitCmd(t, in, "--input", "-")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"USL fit of stdin (11 points)", "none", "Notes:", "no coherency penalty"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestFit_HeaderVariants(t *testing.T) {
	tests := []struct {
		name, csv string
	}{
		{"rows without a header are read", "1,64.9\n18,995.9\n36,1652.4\n72,1853.2\n108,1828.9\n144,1775.0\n216,1702.2\n"},
		{"named columns are found among others", "stage,vus,p95_ms,rps\ns1,1,20,64.9\ns2,18,21,995.9\ns3,36,25,1652.4\ns4,72,40,1853.2\ns5,108,60,1828.9\ns6,144,80,1775.0\ns7,216,120,1702.2\n"},
		{"comments, blank lines and spaces are allowed", "# users, scripts/h\n\nN, X\n1, 64.9\n18, 995.9\n# mid-file comment\n36, 1652.4\n72, 1853.2\n108, 1828.9\n144, 1775.0\n216, 1702.2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runFitCmd(t, tt.csv, "--input", "-", "--format", "json")
			if err != nil {
				t.Fatal(err)
			}
			var u model.USL
			if err := json.Unmarshal([]byte(out), &u); err != nil {
				t.Fatal(err)
			}
			if math.Abs(u.Sigma-0.0277285) > 5e-4*0.0277285 || u.Points != 7 {
				t.Errorf("σ = %g, points %d; want 0.0277285, 7", u.Sigma, u.Points)
			}
		})
	}
}

func TestFit_BadInput(t *testing.T) {
	tests := []struct {
		name  string
		csv   string   // written to a temp file named points.csv unless args says otherwise
		args  []string // extra arguments; the input file is added when csv is set
		wants []string // substrings of the error
	}{
		{
			name:  "a missing --input is an error that says what to pass",
			args:  []string{},
			wants: []string{"--input is required"},
		},
		{
			name:  "a missing file is an error naming it",
			args:  []string{"--input", "/nonexistent/points.csv"},
			wants: []string{"/nonexistent/points.csv", "no such file"},
		},
		{
			name:  "an unknown format is an error listing the formats",
			csv:   specsdm91,
			args:  []string{"--format", "yaml"},
			wants: []string{`unknown --format "yaml"`, "table or json"},
		},
		{
			name:  "a word in the throughput column names the file, line and column",
			csv:   "concurrency,throughput\n1,10\n2,lots\n4,30\n",
			wants: []string{"points.csv:3:", `throughput "lots" is not a number`},
		},
		{
			name:  "a row with three fields names the line and the expected fields",
			csv:   "1,10\n2,18,5\n4,30\n",
			wants: []string{"points.csv:2:", "expected 2 fields (concurrency,throughput), got 3"},
		},
		{
			name:  "a NaN is not a finite number",
			csv:   "1,10\n2,NaN\n4,30\n",
			wants: []string{"points.csv:2:", `throughput "NaN" is not a finite number`},
		},
		{
			name:  "a zero concurrency must be positive",
			csv:   "# header comes after comments\nconcurrency,throughput\n0,0\n2,18\n4,30\n",
			wants: []string{"points.csv:3:", "concurrency 0 must be positive"},
		},
		{
			name:  "a negative throughput is rejected with its line",
			csv:   "1,10\n2,18\n4,-30\n",
			wants: []string{"points.csv:3:", "throughput -30 must not be negative"},
		},
		{
			name:  "a file with only a header has no points",
			csv:   "concurrency,throughput\n# nothing measured yet\n",
			wants: []string{"points.csv: no points", "concurrency,throughput rows"},
		},
		{
			name:  "two concurrency levels are too few to fit",
			csv:   "1,10\n2,18\n1,11\n",
			wants: []string{"could not fit the USL", "2 distinct concurrency levels", "at least 3"},
		},
		{
			name:  "a header without the needed columns is explained",
			csv:   "stage,p95_ms,errors\n1,2,3\n",
			wants: []string{"points.csv:1:", "columns named concurrency and throughput"},
		},
		{
			name:  "an unterminated quote names the line",
			csv:   "1,10\n2,\"18\n4,30\n",
			wants: []string{"points.csv:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.csv != "" {
				args = append([]string{"--input", writeTemp(t, "points.csv", tt.csv)}, args...)
			}
			_, _, err := runFitCmd(t, "", args...)
			if err == nil {
				t.Fatal("no error")
			}
			if exitCode(err, &bytes.Buffer{}) != ExitError1 {
				t.Errorf("exit code %d, want %d", exitCode(err, &bytes.Buffer{}), ExitError1)
			}
			for _, want := range tt.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestFit_Help(t *testing.T) {
	out, _, err := runFitCmd(t, "", "--help")
	if !errors.Is(err, errHelp) {
		t.Fatalf("err = %v, want errHelp", err)
	}
	for _, want := range []string{"headroom fit", "--input", "--format", "Example:", "headroom fit --input points.csv"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}
