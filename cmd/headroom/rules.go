package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/dashboards"
	"github.com/headroom-sh/headroom/model"
)

func init() {
	register(&command{
		name:    "rules",
		summary: "generate Prometheus recording rules and the headroom alerts from the resource catalog",
		usage:   "[--out FILE] [--selector SELECTOR] [--catalog FILE] [--target-headroom 0.20] [--review-stale 7d] [--saturation 0.8]",
		example: `# The rule file of deploy/prometheus for the checkout demo:
headroom rules --selector '{job="checkout"}' --out deploy/prometheus/rules/headroom.rules.yml

# Alert at 90% of a limit after 10 minutes, when a review is two weeks old,
# with the database exporter in its own job; check the result with promtool:
headroom rules --selector '{job="orders"}' --selector-for db_server_connections='{job="postgres"}' \
  --saturation 0.9 --saturation-for 10m --review-stale 14d --out orders.rules.yml
promtool check rules orders.rules.yml`,
		run: runRules,
	})
}

// scopeFlags are the flags that choose the catalog and scope its queries,
// shared by rules and dashboards.
type scopeFlags struct {
	catalog, selector     string
	selectorFor, limitFor stringList
}

func (f *scopeFlags) register(fs *flag.FlagSet, selectorHelp string) {
	fs.StringVar(&f.catalog, "catalog", "", "YAML `FILE` merged into the built-in resource catalog (see headroom resources --print-catalog)")
	fs.StringVar(&f.selector, "selector", "", selectorHelp)
	fs.Var(&f.selectorFor, "selector-for", "`KIND[/FAMILY]=SELECTOR` for one resource, e.g. db_server_connections='{job=\"postgres\"}' (repeatable)")
	fs.Var(&f.limitFor, "limit-for", "`KIND[/FAMILY]=N` a limit the metrics do not know, in the family's unit, e.g. cpu=4 or memory=8GiB (repeatable)")
}

// load reads the catalog and the scope; name prefixes errors.
func (f *scopeFlags) load(name string) (*model.Catalog, dashboards.Scope, error) {
	scope := dashboards.Scope{Selector: strings.TrimSpace(f.selector)}
	cat := collector.DefaultCatalog()
	if f.catalog != "" {
		var err error
		if cat, err = collector.LoadCatalog(f.catalog); err != nil {
			return nil, scope, fmt.Errorf("%s: --catalog: %w", name, err)
		}
	}
	for _, s := range f.selectorFor {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, scope, fmt.Errorf("%s: --selector-for %q: expected KIND[/FAMILY]=SELECTOR such as db_server_connections='{job=\"postgres\"}'", name, s)
		}
		if scope.SelectorFor == nil {
			scope.SelectorFor = map[string]string{}
		}
		scope.SelectorFor[k] = strings.TrimSpace(v)
	}
	for _, s := range f.limitFor {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, scope, fmt.Errorf("%s: --limit-for %q: expected KIND[/FAMILY]=N such as cpu=4", name, s)
		}
		n, err := parseQuantity(v)
		if err != nil || n <= 0 {
			return nil, scope, fmt.Errorf("%s: --limit-for %s: %q is not a positive number (plain, or bytes with a unit such as 512MiB, 8GiB, 2GB)", name, k, v)
		}
		if scope.LimitFor == nil {
			scope.LimitFor = map[string]float64{}
		}
		scope.LimitFor[k] = n
	}
	return cat, scope, nil
}

// longDuration is a duration flag that also accepts days and weeks (7d,
// 2w, 1d12h), as Prometheus writes them.
type longDuration time.Duration

func (d *longDuration) String() string {
	const day = longDuration(24 * time.Hour)
	switch {
	case d == nil || *d == 0:
		return "0s"
	case *d%day == 0:
		return fmt.Sprintf("%dd", *d/day)
	}
	return pmodel.Duration(*d).String()
}

func (d *longDuration) Set(s string) error {
	v, err := pmodel.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("expected a duration such as 7d, 36h or 90m")
	}
	*d = longDuration(v)
	return nil
}

// rulesFlags are the flags of `headroom rules`.
type rulesFlags struct {
	scopeFlags
	out                                     string
	targetHeadroom, saturation              float64
	reviewStale, saturationFor, headroomFor longDuration
	window                                  time.Duration
}

func runRules(ctx context.Context, e *env, args []string) error {
	c := commands["rules"]
	fs := newFlagSet(e, c)
	f := rulesFlags{
		targetHeadroom: dashboards.DefaultTargetHeadroom,
		saturation:     dashboards.DefaultSaturation,
		reviewStale:    longDuration(dashboards.DefaultReviewStale),
		saturationFor:  longDuration(dashboards.DefaultSaturationFor),
		headroomFor:    longDuration(dashboards.DefaultHeadroomFor),
		window:         dashboards.DefaultRuleWindow,
	}
	fs.StringVar(&f.out, "out", "-", "write the rule file to `FILE` (- is standard output)")
	f.scopeFlags.register(fs, "label `SELECTOR` of the system under test, e.g. '{job=\"checkout\"}' (default: every series)")
	fs.Float64Var(&f.targetHeadroom, "target-headroom", f.targetHeadroom, "headroom `RATIO` a service must keep when it publishes no headroom_target_headroom_ratio (0.20: capacity 20% over the peak)")
	fs.Var(&f.headroomFor, "headroom-for", "how long (a `DURATION`) headroom stays below target before HeadroomBelowTarget fires")
	fs.Float64Var(&f.saturation, "saturation", f.saturation, "`SHARE` of a resource's limit above which SaturationApproaching fires")
	fs.Var(&f.saturationFor, "saturation-for", "how long (a `DURATION`) a resource stays above --saturation before SaturationApproaching fires")
	fs.Var(&f.reviewStale, "review-stale", "age (a `DURATION` such as 7d) of the last capacity review past which CapacityReviewStale fires")
	fs.DurationVar(&f.window, "window", f.window, "rate `WINDOW` of the recording rules; it names them (headroom:requests:rate1m)")
	if err := parseFlags(e, c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("rules: unexpected argument %q (see 'headroom rules --help')", fs.Arg(0))
	}
	cat, scope, err := f.load("rules")
	if err != nil {
		return err
	}
	rg, err := dashboards.Rules(dashboards.RulesConfig{
		Catalog:        cat,
		Scope:          scope,
		TargetHeadroom: f.targetHeadroom,
		HeadroomFor:    time.Duration(f.headroomFor),
		Saturation:     f.saturation,
		SaturationFor:  time.Duration(f.saturationFor),
		ReviewStale:    time.Duration(f.reviewStale),
		Window:         f.window,
	})
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	b, err := dashboards.MarshalRules(rg, rulesHeader(fs))
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	if f.out == "-" || f.out == "" {
		_, err = e.stdout.Write(b)
		return err
	}
	if err := os.WriteFile(f.out, b, 0o644); err != nil {
		return fmt.Errorf("rules: could not write the rule file: %w", err)
	}
	e.log.Info("wrote rules", "file", f.out, "groups", len(rg.Groups))
	return nil
}

// rulesHeader is the comment at the top of a generated rule file: how to
// regenerate it, with the flags that were set (all but --out).
func rulesHeader(fs *flag.FlagSet) string {
	cmd := []string{"headroom", "rules"}
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "out" {
			return
		}
		if list, ok := fl.Value.(*stringList); ok {
			for _, v := range *list {
				cmd = append(cmd, "--"+fl.Name, shellQuote(v))
			}
			return
		}
		cmd = append(cmd, "--"+fl.Name, shellQuote(fl.Value.String()))
	})
	return "Generated by `headroom rules` from the resource catalog: do not edit.\n" +
		"Regenerate: " + strings.Join(cmd, " ") + " --out FILE\n" +
		"Check: promtool check rules FILE\n" +
		"\n" +
		"headroom:resource_utilization:ratio has one rule per resource kind of the catalog: its metric\n" +
		"families, in catalog order, are or-ed (`A or on() B`), so the first family whose metrics exist\n" +
		"measures the resource; the family label names it. Kinds without a limit have no rule."
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
