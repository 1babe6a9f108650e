package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/planner"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

func init() {
	register(&command{
		name:    "prices",
		summary: "print the price catalog plans are costed with",
		usage:   "[--prices FILE] [--kind compute|database|cache] [--format table|json|yaml]",
		example: `# The built-in AWS us-east-1 on-demand prices, with their dates and sources:
headroom prices

# Start a catalog of your own (negotiated prices, another region or cloud):
headroom prices --format yaml > our-prices.yaml

# What a plan would use with your overrides laid over the built-in prices:
headroom prices --prices our-prices.yaml --kind database`,
		run: runPrices,
	})
}

func runPrices(ctx context.Context, e *env, args []string) error {
	c := commands["prices"]
	fs := newFlagSet(e, c)
	file := fs.String("prices", "", "price catalog `file` laid over the built-in prices")
	kind := fs.String("kind", "", "show only entries of this `kind`: compute, database or cache")
	format := fs.String("format", "table", "output `format`: table, json or yaml")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("prices: unexpected argument %q (see 'headroom prices --help')", fs.Arg(0))
	}
	switch *format {
	case "table", "json", "yaml":
	default:
		return fmt.Errorf("prices: unknown --format %q; expected table, json or yaml", *format)
	}
	if *kind != "" && !planContains(model.PriceKinds, *kind) {
		return fmt.Errorf("prices: unknown --kind %q; expected one of %s", *kind, strings.Join(model.PriceKinds, ", "))
	}
	if *format == "yaml" && *file == "" && *kind == "" {
		// The file as shipped, with its comments, is the best start for a copy.
		_, err := e.stdout.Write(planner.BuiltinPricesYAML())
		return err
	}
	cat, err := planLoadPrices(*file)
	if err != nil {
		return fmt.Errorf("prices: %w", err)
	}
	if *kind != "" {
		var keep []model.PriceEntry
		for _, en := range cat.Entries {
			if en.Kind == *kind {
				keep = append(keep, en)
			}
		}
		cat.Entries = keep
	}
	switch *format {
	case "json":
		b, err := json.MarshalIndent(cat, "", "  ")
		if err != nil {
			return fmt.Errorf("prices: could not encode the catalog: %w", err)
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	case "yaml":
		b, err := planner.MarshalPrices(cat)
		if err != nil {
			return fmt.Errorf("prices: %w", err)
		}
		_, err = e.stdout.Write(b)
		return err
	}
	return writePlanPriceTable(e, cat)
}

func writePlanPriceTable(e *env, cat *model.PriceCatalog) error {
	fmt.Fprintf(e.stdout, "%s — %s, %s hours a month\n\n", planOr(cat.Name, "Price catalog"), cat.Currency, numfmt.Plain(cat.HoursPerMonth))
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tENGINE\tVCPU\tMEMORY\tPRICE\tMONTHLY\tAS OF\tSOURCE")
	for _, en := range cat.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s GiB\t%s/%s\t%.2f\t%s\t%s\n",
			en.Kind, en.Name, planOr(en.Engine, "-"),
			numfmt.Plain(en.VCPU), numfmt.Plain(en.MemoryGiB),
			numfmt.Plain(en.Price), en.Unit, en.Monthly(cat.HoursPerMonth), en.AsOf, en.Source)
	}
	return tw.Flush()
}

func planContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func planOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
