package dashboards

import (
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/internal/selector"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/headroom-sh/headroom/model"
)

// ErrNoCatalog is returned when a dashboard or rule file that needs the
// resource catalog is built without one.
var ErrNoCatalog = errors.New("no resource catalog")

// ErrBadCatalog is wrapped by every error about a resource catalog that
// does not validate or whose PromQL does not parse.
var ErrBadCatalog = errors.New("invalid resource catalog")

// Scope says how the catalog's queries are scoped to the system under test;
// the collector reads resources with the same type. In dashboards a
// selector's values may name template variables, e.g. {job=~"$job"}; a
// variable that the dashboard does not define yet becomes a query variable
// listing the label's values.
type Scope = model.Scope

// resourceExprs are the expressions of one resource kind. Each family's
// result carries a family="NAME" label, and the families are chained with
// `or on()` in catalog order, so the first family that returns series is
// the one used, as the collector prefers the first family it detects. (A
// family whose metrics exist but whose limit does not falls through to the
// next family's utilization.)
type resourceExprs struct {
	res *model.CatalogResource
	// utilization is usage as a fraction of the limit; nil when no family
	// has a limit or a utilization query.
	utilization parser.Expr
	// usage is how much is in use, in each family's unit.
	usage parser.Expr
	// saturation measures queueing; nil when no family does.
	saturation parser.Expr
	// units are the distinct units of usage, and saturationUnits those of
	// saturation, in catalog order.
	units, saturationUnits []string
}

// name is the resource's human name, or its kind.
func (r *resourceExprs) name() string {
	if r.res.Name != "" {
		return r.res.Name
	}
	return r.res.Kind
}

// catalogExprs builds the expressions of every resource of cat. Rate windows
// get x's window.
func catalogExprs(cat *model.Catalog, s Scope, x *exprs) ([]resourceExprs, error) {
	if cat == nil {
		return nil, ErrNoCatalog
	}
	if err := cat.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCatalog, err)
	}
	if err := checkQueries(cat); err != nil {
		return nil, err
	}
	if err := selector.CheckScope(s, cat); err != nil {
		return nil, err
	}
	out := make([]resourceExprs, 0, len(cat.Resources))
	for i := range cat.Resources {
		r := &cat.Resources[i]
		re := resourceExprs{res: r}
		for j := range r.Families {
			f := &r.Families[j]
			fe, err := familyExprs(r, f, s, x)
			if err != nil {
				return nil, fmt.Errorf("%s.%s.%w", model.ResourcePath(i, r.Kind), model.FamilyPath(j, f.Name), err)
			}
			chain := func(have *parser.Expr, e parser.Expr) {
				if e == nil {
					return
				}
				e = withLabel(e, "family", f.Name)
				if *have == nil {
					*have = e
				} else {
					*have = orElse(*have, e)
				}
			}
			chain(&re.utilization, fe.utilization)
			chain(&re.usage, fe.usage)
			chain(&re.saturation, fe.saturation)
			re.units = appendNew(re.units, f.Unit)
			if fe.saturation != nil {
				re.saturationUnits = appendNew(re.saturationUnits, f.SaturationUnit)
			}
		}
		out = append(out, re)
	}
	return out, nil
}

// checkQueries parses every query of the catalog, also those a stated
// limit or the family order would leave unused, so that a broken catalog is
// reported whatever the settings.
func checkQueries(cat *model.Catalog) error {
	for i := range cat.Resources {
		r := &cat.Resources[i]
		for j := range r.Families {
			f := &r.Families[j]
			fields := []struct{ name, q string }{
				{"detect", f.Detect}, {"usage", f.Usage}, {"limit", f.Limit},
				{"utilization", f.Utilization}, {"saturation", f.Saturation},
			}
			for k, fb := range f.LimitFallbacks {
				fields = append(fields, struct{ name, q string }{fmt.Sprintf("limitFallbacks[%d].query", k), fb.Query})
			}
			for _, fl := range fields {
				if strings.TrimSpace(fl.q) == "" {
					continue
				}
				if _, err := parseInstant(fl.q); err != nil {
					return fmt.Errorf("%w: %s.%s.%s: %w", ErrBadCatalog, model.ResourcePath(i, r.Kind), model.FamilyPath(j, f.Name), fl.name, err)
				}
			}
		}
	}
	return nil
}

// familyParts are one family's expressions.
type familyParts struct {
	usage, utilization, saturation parser.Expr
}

// familyExprs scopes a family's queries. An exporter's family (External)
// whose selector is the default one is tried with it first and then
// unscoped, since an exporter's series do not carry the application's
// labels; in a Prometheus that scrapes several such exporters, pin the right
// one with SelectorFor.
func familyExprs(r *model.CatalogResource, f *model.MetricFamily, s Scope, x *exprs) (familyParts, error) {
	var out familyParts
	sel, explicit := s.Resolve(r, f)
	ms, err := selector.Parse(sel)
	if err != nil {
		return out, fmt.Errorf("selector: %w", err)
	}
	variants := [][]*labels.Matcher{ms}
	if f.External && !explicit && len(ms) > 0 {
		variants = append(variants, nil)
	}
	for _, v := range variants {
		var p familyParts
		if p.usage, err = catalogQuery("usage", f.Usage, v, x); err != nil {
			return out, err
		}
		lim, err := familyLimit(r, f, v, explicit, s, x)
		if err != nil {
			return out, err
		}
		switch {
		case strings.TrimSpace(f.Utilization) != "":
			if p.utilization, err = catalogQuery("utilization", f.Utilization, v, x); err != nil {
				return out, err
			}
		case lim != nil:
			usage, _ := catalogQuery("usage", f.Usage, v, x) // parsed above
			p.utilization = binary(parser.DIV, usage, lim)
		}
		if strings.TrimSpace(f.Saturation) != "" {
			if p.saturation, err = catalogQuery("saturation", f.Saturation, v, x); err != nil {
				return out, err
			}
		}
		out.usage = orElseNil(out.usage, p.usage)
		out.utilization = orElseNil(out.utilization, p.utilization)
		out.saturation = orElseNil(out.saturation, p.saturation)
	}
	return out, nil
}

// familyLimit is the limit of a family scoped with ms: a stated limit, or the
// catalog's limit query followed by its fallbacks in order; nil without one.
func familyLimit(r *model.CatalogResource, f *model.MetricFamily, ms []*labels.Matcher, explicit bool, s Scope, x *exprs) (parser.Expr, error) {
	if v, ok := s.Limit(r.Kind, f.Name); ok {
		return call("vector", &parser.NumberLiteral{Val: v}), nil
	}
	if strings.TrimSpace(f.Limit) == "" {
		return nil, nil
	}
	lim, err := catalogQuery("limit", f.Limit, ms, x)
	if err != nil {
		return nil, err
	}
	for k, fb := range f.LimitFallbacks {
		field := fmt.Sprintf("limitFallbacks[%d].query", k)
		fms, fbExplicit := ms, explicit
		if fb.Selector != "" {
			if fms, err = selector.Parse(fb.Selector); err != nil {
				return nil, fmt.Errorf("limitFallbacks[%d].selector: %w", k, err)
			}
			fbExplicit = true
		}
		e, err := catalogQuery(field, fb.Query, fms, x)
		if err != nil {
			return nil, err
		}
		lim = orElse(lim, e)
		if fb.External && !fbExplicit && len(fms) > 0 {
			e, _ := catalogQuery(field, fb.Query, nil, x) // parsed above
			lim = orElse(lim, e)
		}
	}
	return lim, nil
}

// catalogQuery parses one catalog field, scopes it with ms and sets its
// rate windows.
func catalogQuery(field, q string, ms []*labels.Matcher, x *exprs) (parser.Expr, error) {
	e, err := parseInstant(q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	scope(e, ms)
	x.setWindow(e)
	return e, nil
}

func orElseNil(have, e parser.Expr) parser.Expr {
	switch {
	case e == nil:
		return have
	case have == nil:
		return e
	}
	return orElse(have, e)
}

func appendNew(list []string, s string) []string {
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
