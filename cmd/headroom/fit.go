package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/model"
)

func init() {
	register(&command{
		name:    "fit",
		summary: "fit the Universal Scalability Law to concurrency/throughput points",
		usage:   "--input FILE|- [--format table|json]",
		example: `# points.csv holds concurrency,throughput rows; the header is optional
# and lines starting with # are comments:
#   concurrency,throughput
#   1,64.9
#   18,995.9
#   36,1652.4
headroom fit --input points.csv
headroom fit --input points.csv --format json | jq .peak_n
some-exporter | headroom fit --input -`,
		run: runFit,
	})
}

func runFit(ctx context.Context, e *env, args []string) error {
	c := commands["fit"]
	fs := newFlagSet(e, c)
	input := fs.String("input", "", "CSV `file` of concurrency,throughput rows (\"-\" reads stdin)")
	format := fs.String("format", "table", "output `format`: table or json")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("fit: unexpected argument %q; pass the points with --input (see 'headroom fit --help')", fs.Arg(0))
	}
	if *input == "" {
		return errors.New("fit: --input is required: a CSV file of concurrency,throughput rows, or - for stdin (see 'headroom fit --help')")
	}
	if *format != "table" && *format != "json" {
		return fmt.Errorf("fit: unknown --format %q; expected table or json", *format)
	}

	name := *input
	var r io.Reader = e.stdin
	if name == "-" {
		name = "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("fit: could not read points: %w", err)
		}
		defer f.Close()
		r = f
	}
	points, err := readFitPoints(r, name)
	if err != nil {
		return fmt.Errorf("fit: %w", err)
	}
	u, err := analyzer.FitUSL(points)
	if err != nil {
		return fmt.Errorf("fit: could not fit the USL to %s: %w", name, err)
	}
	e.log.Debug("fitted USL", "input", name, "points", u.Points, "sigma", u.Sigma, "kappa", u.Kappa, "lambda", u.Lambda)

	if *format == "json" {
		b, err := json.MarshalIndent(u, "", "  ")
		if err != nil {
			return fmt.Errorf("fit: could not encode the result: %w", err)
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	return writeUSLTable(e.stdout, name, u)
}

// fitColumns are the header names accepted for the two columns.
var fitColumns = [2][]string{
	{"concurrency", "n", "vus", "users", "load"},
	{"throughput", "x", "rps", "rate"},
}

// readFitPoints reads concurrency,throughput rows. A first row with no
// numbers is a header; with more than two columns it must name a
// concurrency and a throughput column. Lines starting with # are comments.
// Errors name the input, the line and what was expected there.
func readFitPoints(r io.Reader, name string) ([]analyzer.Point, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cols := [2]int{0, 1}
	width := 2
	var points []analyzer.Point
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d: %w", name, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("could not read %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if first && isHeader(rec) {
			cols, err = headerColumns(rec)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, line, err)
			}
			width = len(rec)
			continue
		}
		if len(rec) != width {
			return nil, fmt.Errorf("%s:%d: expected %d fields (concurrency,throughput), got %d", name, line, width, len(rec))
		}
		var p analyzer.Point
		for i, what := range [2]string{"concurrency", "throughput"} {
			field := strings.TrimSpace(rec[cols[i]])
			v, err := strconv.ParseFloat(field, 64)
			switch {
			case err != nil:
				return nil, fmt.Errorf("%s:%d: %s %q is not a number", name, line, what, field)
			case math.IsNaN(v) || math.IsInf(v, 0):
				return nil, fmt.Errorf("%s:%d: %s %q is not a finite number", name, line, what, field)
			case i == 0 && v <= 0:
				return nil, fmt.Errorf("%s:%d: concurrency %s must be positive", name, line, field)
			case i == 1 && v < 0:
				return nil, fmt.Errorf("%s:%d: throughput %s must not be negative", name, line, field)
			}
			if i == 0 {
				p.N = v
			} else {
				p.X = v
			}
		}
		points = append(points, p)
	}
	if len(points) == 0 {
		return nil, fmt.Errorf("%s: no points; expected concurrency,throughput rows such as \"8,1200\"", name)
	}
	return points, nil
}

// isHeader reports whether no field of the row is a number.
func isHeader(rec []string) bool {
	for _, f := range rec {
		if _, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err == nil {
			return false
		}
	}
	return true
}

// headerColumns finds the concurrency and throughput columns of a header.
// Two unnamed columns are taken in order.
func headerColumns(rec []string) ([2]int, error) {
	cols := [2]int{-1, -1}
	for i, f := range rec {
		f = strings.ToLower(strings.TrimSpace(f))
		for c, names := range fitColumns {
			for _, n := range names {
				if f == n && cols[c] < 0 {
					cols[c] = i
				}
			}
		}
	}
	switch {
	case cols[0] >= 0 && cols[1] >= 0:
		return cols, nil
	case len(rec) == 2:
		return [2]int{0, 1}, nil
	}
	return cols, fmt.Errorf("header %q: expected two columns, or columns named concurrency and throughput", strings.Join(rec, ","))
}

// writeUSLTable prints the fit for people.
func writeUSLTable(w io.Writer, name string, u model.USL) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "USL fit of %s (%d points): X(N) = λN / (1 + σ(N−1) + κN(N−1))\n\n", name, u.Points)
	fmt.Fprintf(tw, "σ (contention)\t%.4g\t95%% CI %s\n", u.Sigma, formatCI(u.SigmaCI))
	fmt.Fprintf(tw, "κ (coherency)\t%.4g\t95%% CI %s\n", u.Kappa, formatCI(u.KappaCI))
	fmt.Fprintf(tw, "λ (X at N=1)\t%.4g\t95%% CI %s\n", u.Lambda, formatCI(u.LambdaCI))
	if u.PeakN != nil {
		fmt.Fprintf(tw, "N* (peak concurrency)\t%.4g\t\n", *u.PeakN)
		fmt.Fprintf(tw, "X at N*\t%.4g\t\n", *u.PeakX)
	} else {
		fmt.Fprintf(tw, "N* (peak concurrency)\tnone\t(no finite peak)\n")
		fmt.Fprintf(tw, "X at N*\tnone\t\n")
	}
	fmt.Fprintf(tw, "R²\t%.4f\t\n", u.R2)
	fmt.Fprintf(tw, "confidence\t%s\t\n", u.Confidence)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(u.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range u.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	return nil
}

func formatCI(ci [2]float64) string {
	if ci[0] == -math.MaxFloat64 || ci[1] == math.MaxFloat64 {
		return "unbounded"
	}
	return fmt.Sprintf("[%.4g, %.4g]", ci[0], ci[1])
}
