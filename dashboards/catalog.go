package dashboards

import (
	"errors"
	"fmt"
	"math"
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

// Scope says how the catalog's queries are scoped to the system under test,
// with the meaning the collector gives the same settings (collector.Selectors).
type Scope struct {
	// Selector scopes every resource, e.g. {job="checkout"}. Empty selects
	// every series. In dashboards its values may name template variables,
	// e.g. {job=~"$job"}; a variable that the dashboard does not define yet
	// becomes a query variable listing the label's values.
	Selector string
	// SelectorFor overrides Selector, and the catalog's own selectors, for
	// one resource kind ("db_server_connections") or one family of it
	// ("db_server_connections/postgres_exporter"). The family key wins.
	SelectorFor map[string]string
	// LimitFor states limits the metrics do not know, by kind or
	// kind/family, in the family's unit, e.g. {"cpu": 4}. A stated limit
	// wins over the catalog's limit queries.
	LimitFor map[string]float64
}

// check verifies that every selector parses and every key names a kind (and
// family) of the catalog.
func (s Scope) check(cat *model.Catalog) error {
	if _, err := parseSelector(s.Selector); err != nil {
		return fmt.Errorf("selector: %w", err)
	}
	known := func(key string) error {
		kind, fam, hasFam := strings.Cut(key, "/")
		r := cat.Resource(kind)
		if r == nil {
			kinds := make([]string, len(cat.Resources))
			for i, r := range cat.Resources {
				kinds[i] = r.Kind
			}
			return fmt.Errorf("no resource kind %q in the catalog; known kinds: %s", kind, strings.Join(kinds, ", "))
		}
		if hasFam && r.Family(fam) == nil {
			names := make([]string, len(r.Families))
			for i, f := range r.Families {
				names[i] = f.Name
			}
			return fmt.Errorf("resource %q has no family %q; its families: %s", kind, fam, strings.Join(names, ", "))
		}
		return nil
	}
	for _, k := range sortedKeys(s.SelectorFor) {
		if err := known(k); err != nil {
			return fmt.Errorf("selector for %s: %w", k, err)
		}
		if _, err := parseSelector(s.SelectorFor[k]); err != nil {
			return fmt.Errorf("selector for %s: %w", k, err)
		}
	}
	for _, k := range sortedKeys(s.LimitFor) {
		if err := known(k); err != nil {
			return fmt.Errorf("limit for %s: %w", k, err)
		}
		if v := s.LimitFor[k]; math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			return fmt.Errorf("limit for %s: %v is not a positive number", k, v)
		}
	}
	return nil
}

// resolve returns the selector of a family and whether it was set for the
// resource (by SelectorFor or in the catalog) rather than being the default.
func (s Scope) resolve(r *model.CatalogResource, f *model.MetricFamily) (sel string, explicit bool) {
	if v, ok := s.SelectorFor[r.Kind+"/"+f.Name]; ok {
		return v, true
	}
	if v, ok := s.SelectorFor[r.Kind]; ok {
		return v, true
	}
	if f.Selector != "" {
		return f.Selector, true
	}
	if r.Selector != "" {
		return r.Selector, true
	}
	return s.Selector, false
}

func (s Scope) limit(kind, family string) (float64, bool) {
	if v, ok := s.LimitFor[kind+"/"+family]; ok {
		return v, true
	}
	v, ok := s.LimitFor[kind]
	return v, ok
}

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
	if err := s.check(cat); err != nil {
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
	sel, explicit := s.resolve(r, f)
	ms, err := parseSelector(sel)
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
	if v, ok := s.limit(r.Kind, f.Name); ok {
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
			if fms, err = parseSelector(fb.Selector); err != nil {
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
