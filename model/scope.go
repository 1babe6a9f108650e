package model

// Scope says how the resource catalog's queries are scoped to the system
// under test. The collector reads resources with it and the dashboards and
// rules chart them with it, so that both select the same series.
type Scope struct {
	// Selector scopes every resource, e.g. {job="checkout"}. Empty selects
	// every series. In dashboards its values may name template variables,
	// e.g. {job=~"$job"}.
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

// Resolve returns the selector of a family and whether it was set for the
// resource (by SelectorFor or in the catalog) rather than being the default.
func (s Scope) Resolve(r *CatalogResource, f *MetricFamily) (sel string, explicit bool) {
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

// Limit returns the limit stated for a family (kind/family) or its kind.
func (s Scope) Limit(kind, family string) (float64, bool) {
	if v, ok := s.LimitFor[kind+"/"+family]; ok {
		return v, true
	}
	v, ok := s.LimitFor[kind]
	return v, ok
}
