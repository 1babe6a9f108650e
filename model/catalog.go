package model

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Resource kinds of the built-in catalog. A catalog may add kinds of its own
// (any identifier matching KindPattern) as long as it names them.
const (
	// KindDBPool is an application's database connection pool (pgxpool,
	// database/sql, HikariCP).
	KindDBPool = "db_pool"
	// KindDBServerConnections is the database server's connection slots
	// (PostgreSQL max_connections).
	KindDBServerConnections = "db_server_connections"
	// KindRedis is the Redis server, whose commands run on one core.
	KindRedis = "redis"
	// KindRedisPool is an application's Redis client connection pool
	// (go-redis).
	KindRedisPool = "redis_pool"
	// KindCPU is the service's own CPU time (its processes or containers)
	// against the cores it may use.
	KindCPU = "cpu"
	// KindHostCPU is the whole machine's CPU (node_exporter, cAdvisor's
	// root cgroup) against its cores: busy when anything on the host uses
	// the CPU, such as a database sharing the machine with the service.
	KindHostCPU = "host_cpu"
	// KindMemory is resident memory against the memory limit.
	KindMemory = "memory"
	// KindHTTPInflight is the number of requests the HTTP server is serving
	// at once.
	KindHTTPInflight = "http_inflight"
	// KindGoRuntime is the Go runtime: goroutines, scheduling and GC.
	KindGoRuntime = "go_runtime"
)

// Kinds lists the built-in resource kinds in the catalog's order.
var Kinds = []string{
	KindDBPool, KindDBServerConnections, KindRedis, KindRedisPool,
	KindCPU, KindHostCPU, KindMemory, KindHTTPInflight, KindGoRuntime,
}

// KindPattern is what a resource kind or a family name must look like.
var KindPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Catalog maps resource kinds to the PromQL that measures them. It is the
// document behind catalog.yaml (built in) and a user's --catalog file.
type Catalog struct {
	// Replace, in a user's file, drops the built-in catalog entirely
	// instead of merging into it.
	Replace bool `json:"replace,omitempty" yaml:"replace,omitempty"`
	// Resources are reported in this order.
	Resources []CatalogResource `json:"resources" yaml:"resources"`
}

// CatalogResource is one kind of resource and the metric families that can
// measure it, tried in order.
type CatalogResource struct {
	// Kind identifies the resource: one of Kinds or a custom identifier.
	Kind string `json:"kind" yaml:"kind"`
	// Name is the human name, e.g. "DB connection pool".
	Name string `json:"name" yaml:"name"`
	// Description says what the resource is and why it can run out.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Selector, when set, scopes this resource's queries instead of the
	// run's selector, e.g. {job="postgres"} for a database exporter.
	Selector string `json:"selector,omitempty" yaml:"selector,omitempty"`
	// Replace, in a user's file, replaces the built-in resource of the same
	// kind wholly (its families included) instead of merging into it.
	Replace bool `json:"replace,omitempty" yaml:"replace,omitempty"`
	// Families are tried in order; the first whose Detect query returns
	// series in the window is used.
	Families []MetricFamily `json:"families" yaml:"families"`
}

// MetricFamily is one set of metrics that measures a resource, e.g. the
// pgxpool_* series of a pgx pool or the hikaricp_* series of HikariCP.
//
// Every query is an instant-vector PromQL expression; the collector adds
// the selector's matchers to every series selector in it, so queries are
// written without the system's labels.
type MetricFamily struct {
	// Name identifies the family within its resource, e.g. "pgxpool".
	Name string `json:"name" yaml:"name"`
	// Detect returns series if and only if the family is present.
	Detect string `json:"detect" yaml:"detect"`
	// Usage is how much of the resource is in use, in Unit.
	Usage string `json:"usage" yaml:"usage"`
	// Limit is how much of the resource there is, in Unit. Empty when the
	// resource has no fixed limit (in-flight requests, goroutines).
	Limit string `json:"limit,omitempty" yaml:"limit,omitempty"`
	// LimitSource says where Limit comes from, e.g. "container CPU quota
	// (cAdvisor)"; analyses and `headroom resources` repeat it. Empty
	// means "catalog".
	LimitSource string `json:"limit_source,omitempty" yaml:"limitSource,omitempty"`
	// LimitFallbacks are tried in order when Limit returns no series in
	// the window, e.g. machine cores when there is no container quota.
	LimitFallbacks []LimitFallback `json:"limit_fallbacks,omitempty" yaml:"limitFallbacks,omitempty"`
	// Utilization is usage as a fraction of the limit (0–1). Empty means
	// Usage / Limit, matched series by series.
	Utilization string `json:"utilization,omitempty" yaml:"utilization,omitempty"`
	// Saturation measures queueing: work waiting for the resource, e.g.
	// seconds spent waiting to acquire a connection per second, or blocked
	// clients. Empty when the family has no such metric.
	Saturation string `json:"saturation,omitempty" yaml:"saturation,omitempty"`
	// SaturationUnit is the unit of Saturation, e.g. "waiting acquirers".
	SaturationUnit string `json:"saturation_unit,omitempty" yaml:"saturationUnit,omitempty"`
	// Unit is the unit of Usage and Limit, e.g. "connections", "cores", "bytes".
	Unit string `json:"unit,omitempty" yaml:"unit,omitempty"`
	// Selector, when set, scopes this family's queries instead of the
	// resource's or the run's selector.
	Selector string `json:"selector,omitempty" yaml:"selector,omitempty"`
	// External marks metrics published by a separate exporter
	// (postgres_exporter, redis_exporter, node_exporter), whose series do
	// not carry the application's labels. When the run's selector finds no
	// such series and no selector was set for the resource, the collector
	// uses the unscoped series if they come from exactly one target, and
	// says so.
	External bool `json:"external,omitempty" yaml:"external,omitempty"`
	// Replace, in a user's file, replaces the built-in family of the same
	// name wholly instead of overriding only the fields that are set.
	Replace bool `json:"replace,omitempty" yaml:"replace,omitempty"`
	// Notes explain how to read the numbers.
	Notes string `json:"notes,omitempty" yaml:"notes,omitempty"`
}

// LimitFallback is another way to find a family's limit.
type LimitFallback struct {
	// Query is PromQL returning the limit in the family's Unit.
	Query string `json:"query" yaml:"query"`
	// Selector, when set, scopes Query instead of the family's selector.
	Selector string `json:"selector,omitempty" yaml:"selector,omitempty"`
	// External has the meaning of MetricFamily.External for Query.
	External bool `json:"external,omitempty" yaml:"external,omitempty"`
	// Source says where the limit comes from, e.g. "machine cores (node_exporter)".
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
}

// BuiltinKind reports whether kind is one of the built-in kinds.
func BuiltinKind(kind string) bool {
	for _, k := range Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Resource returns the resource of the given kind, or nil.
func (c *Catalog) Resource(kind string) *CatalogResource {
	for i := range c.Resources {
		if c.Resources[i].Kind == kind {
			return &c.Resources[i]
		}
	}
	return nil
}

// Family returns the family of the given name, or nil.
func (r *CatalogResource) Family(name string) *MetricFamily {
	for i := range r.Families {
		if r.Families[i].Name == name {
			return &r.Families[i]
		}
	}
	return nil
}

// Validate checks the catalog's structure: every resource has a kind (a
// built-in one, or a custom identifier with a name), kinds and family names
// are unique, and every family has a name, a Detect and a Usage query.
// PromQL itself is checked by the collector, which can parse it. Paths name
// resources by kind and families by name: `resources[db_pool].families[pgxpool].usage`.
func (c *Catalog) Validate() error {
	var errs ValidationErrors
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if len(c.Resources) == 0 {
		add("resources", "the catalog lists no resources")
	}
	kinds := map[string]bool{}
	for i, r := range c.Resources {
		rp := ResourcePath(i, r.Kind)
		switch {
		case r.Kind == "":
			add(rp+".kind", "missing: expected a resource kind such as %q", KindDBPool)
		case !KindPattern.MatchString(r.Kind):
			add(rp+".kind", "%q is not an identifier: expected lower-case letters, digits and underscores", r.Kind)
		case kinds[r.Kind]:
			add(rp+".kind", "kind %q is listed twice", r.Kind)
		}
		kinds[r.Kind] = true
		if r.Name == "" && !BuiltinKind(r.Kind) {
			add(rp+".name", "missing: a custom kind needs a human name such as \"Kafka consumer lag\"")
		}
		if len(r.Families) == 0 {
			add(rp+".families", "missing: expected at least one metric family")
		}
		names := map[string]bool{}
		for j, f := range r.Families {
			fp := rp + "." + FamilyPath(j, f.Name)
			switch {
			case f.Name == "":
				add(fp+".name", "missing: expected a family name such as \"pgxpool\"")
			case !KindPattern.MatchString(f.Name):
				add(fp+".name", "%q is not an identifier: expected lower-case letters, digits and underscores", f.Name)
			case names[f.Name]:
				add(fp+".name", "family %q is listed twice", f.Name)
			}
			names[f.Name] = true
			if strings.TrimSpace(f.Detect) == "" {
				add(fp+".detect", "missing: expected PromQL that returns series when the family is present")
			}
			if strings.TrimSpace(f.Usage) == "" {
				add(fp+".usage", "missing: expected PromQL for how much of the resource is in use")
			}
			for k, lf := range f.LimitFallbacks {
				if strings.TrimSpace(lf.Query) == "" {
					add(fmt.Sprintf("%s.limitFallbacks[%d].query", fp, k), "missing: expected PromQL for the limit")
				}
			}
			if len(f.LimitFallbacks) > 0 && f.Limit == "" {
				add(fp+".limitFallbacks", "set without a limit: put the preferred query in limit")
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// ResourcePath names the i-th resource in validation paths: by kind when it
// has one, else by position.
func ResourcePath(i int, kind string) string {
	if kind == "" {
		return fmt.Sprintf("resources[%d]", i)
	}
	return "resources[" + kind + "]"
}

// FamilyPath names the j-th family of a resource in validation paths.
func FamilyPath(j int, name string) string {
	if name == "" {
		return fmt.Sprintf("families[%d]", j)
	}
	return "families[" + name + "]"
}

// Samples are values on a time grid; NaN marks a gap, a grid point with no
// sample. Gaps are never filled. In JSON a gap is null.
type Samples []float64

// MarshalJSON writes NaN as null.
func (s Samples) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("null"), nil
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b.WriteString("null")
			continue
		}
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	}
	b.WriteByte(']')
	return []byte(b.String()), nil
}

// UnmarshalJSON reads null as NaN.
func (s *Samples) UnmarshalJSON(b []byte) error {
	var raw []*float64
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*s = nil
		return nil
	}
	out := make(Samples, len(raw))
	for i, p := range raw {
		if p == nil {
			out[i] = math.NaN()
		} else {
			out[i] = *p
		}
	}
	*s = out
	return nil
}

// SampleStats summarises the values that are present.
type SampleStats struct {
	Min, Avg, Max float64
	// Present is the number of grid points with a value; Gaps the number without.
	Present, Gaps int
}

// Stats returns min, mean and max over the present values; all three are
// NaN when there is none.
func (s Samples) Stats() SampleStats {
	st := SampleStats{Min: math.NaN(), Avg: math.NaN(), Max: math.NaN()}
	sum := 0.0
	for _, v := range s {
		if math.IsNaN(v) {
			st.Gaps++
			continue
		}
		if st.Present == 0 || v < st.Min {
			st.Min = v
		}
		if st.Present == 0 || v > st.Max {
			st.Max = v
		}
		sum += v
		st.Present++
	}
	if st.Present > 0 {
		st.Avg = sum / float64(st.Present)
	}
	return st
}

// LabeledSeries is one series of a query result, aligned to a grid.
type LabeledSeries struct {
	Labels map[string]string `json:"labels"`
	Values Samples           `json:"values"`
}

// ResourceSeries is one detected resource measured over a window. Every
// series shares the grid Times; a NaN value (null in JSON) marks a gap.
type ResourceSeries struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Family string `json:"family"`
	// Unit is the unit of Usage and Limit; Utilization is a fraction (0–1).
	Unit           string `json:"unit,omitempty"`
	SaturationUnit string `json:"saturation_unit,omitempty"`
	// LimitSource says where the limit comes from (see
	// collector.Detected.LimitSource); empty when there is none.
	LimitSource string `json:"limit_source,omitempty"`
	// Times is the grid: Start, Start+Step, … up to the window's end.
	Times  []time.Time `json:"times"`
	StepMs float64     `json:"step_ms"`
	// Usage, Limit, Utilization and Saturation hold one series per label
	// set the query returned; empty when the family has no such query or it
	// returned nothing.
	Usage       []LabeledSeries `json:"usage"`
	Limit       []LabeledSeries `json:"limit,omitempty"`
	Utilization []LabeledSeries `json:"utilization,omitempty"`
	Saturation  []LabeledSeries `json:"saturation,omitempty"`
	// Notes say what could not be measured and why.
	Notes []string `json:"notes,omitempty"`
}

// SeriesStats summarises the present values of every series in ss together.
func SeriesStats(ss []LabeledSeries) SampleStats {
	var all Samples
	for _, s := range ss {
		all = append(all, s.Values...)
	}
	return all.Stats()
}
