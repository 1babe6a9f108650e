package collector

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"

	goldenfile "github.com/headroom-sh/headroom/internal/golden"
)

// catalogGolden compares got with testdata/catalog/<test name>.golden, or
// rewrites it with -update.
func catalogGolden(t *testing.T, got string) {
	t.Helper()
	goldenfile.File(t, filepath.Join("testdata", "catalog", strings.ReplaceAll(t.Name(), "/", "_")+".golden"), []byte(got))
}

// queries lists every query field of a family with its YAML name.
func familyQueries(f model.MetricFamily) map[string]string {
	out := map[string]string{
		"detect": f.Detect, "usage": f.Usage, "limit": f.Limit,
		"utilization": f.Utilization, "saturation": f.Saturation,
	}
	for i, lf := range f.LimitFallbacks {
		out[fmt.Sprintf("limitFallbacks[%d].query", i)] = lf.Query
	}
	for k, v := range out {
		if v == "" {
			delete(out, k)
		}
	}
	return out
}

func TestBuiltinCatalogEveryQueryParsesAndScopes(t *testing.T) {
	cat := DefaultCatalog()
	if err := cat.Validate(); err != nil {
		t.Fatalf("built-in catalog: %v", err)
	}
	var b strings.Builder
	for _, r := range cat.Resources {
		fmt.Fprintf(&b, "# %s (%s)\n", r.Kind, r.Name)
		for _, f := range r.Families {
			fmt.Fprintf(&b, "## %s — looked for as %s\n", f.Name, familyMetrics(&f))
			qs := familyQueries(f)
			for _, field := range sortedMapKeys(qs) {
				q := qs[field]
				scoped, err := ScopeQuery(q, `{job="checkout"}`)
				if err != nil {
					t.Errorf("resources[%s].families[%s].%s: %v", r.Kind, f.Name, field, err)
					continue
				}
				sels, _, _ := querySelectors(q)
				if len(sels) > 0 && !strings.Contains(scoped, `job="checkout"`) {
					t.Errorf("resources[%s].families[%s].%s: scoped query %q lacks the selector", r.Kind, f.Name, field, scoped)
				}
				fmt.Fprintf(&b, "%s: %s\n", field, scoped)
			}
		}
		b.WriteString("\n")
	}
	catalogGolden(t, b.String())
}

func TestBuiltinCatalogCoversEveryKindAndTheDemo(t *testing.T) {
	cat := DefaultCatalog()
	for _, k := range model.Kinds {
		if cat.Resource(k) == nil {
			t.Errorf("the built-in catalog has no resource of kind %q", k)
		}
	}
	// The checkout demo exports these families (examples/checkout/metrics.go).
	for _, kf := range [][2]string{
		{model.KindDBPool, "pgxpool"},
		{model.KindRedisPool, "go_redis_pool"},
		{model.KindHTTPInflight, "http_server"},
		{model.KindCPU, "process"},
		{model.KindMemory, "process"},
		{model.KindGoRuntime, "go_runtime"},
		{model.KindDBServerConnections, "postgres_exporter"},
		{model.KindRedis, "redis_exporter"},
	} {
		r := cat.Resource(kf[0])
		if r == nil || r.Family(kf[1]) == nil {
			t.Errorf("the built-in catalog has no family %s/%s", kf[0], kf[1])
		}
	}
	if r := cat.Resource(model.KindRedis); r != nil {
		if f := r.Family("redis_exporter"); f != nil && (f.Limit != "vector(1)" || !strings.Contains(f.Notes, "one core")) {
			t.Errorf("redis_exporter must have a limit of one core and say so: limit %q", f.Limit)
		}
	}
}

func TestDefaultCatalogReturnsIndependentCopies(t *testing.T) {
	a := DefaultCatalog()
	want := DefaultCatalog()
	a.Resources[0].Families[0].Usage = "changed"
	a.Resources[0].Families = append(a.Resources[0].Families[:0], model.MetricFamily{Name: "x"})
	a.Resources = a.Resources[:1]
	if got := DefaultCatalog(); !reflect.DeepEqual(got, want) {
		t.Fatal("changing a returned catalog changed the built-in one")
	}
}

func TestLoadCatalogErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		// want are substrings of the error, in order of appearance.
		want []string
	}{
		{
			name: "an unknown key names the file, the line, the field path and the keys expected",
			file: "unknown-key.yaml",
			want: []string{"unknown-key.yaml:5:9: resources[db_pool].families[pgxpool].limitt: unknown field \"limitt\" (did you mean \"limit\"?); expected one of name, detect, usage, limit"},
		},
		{
			name: "broken PromQL names the file, the line and the field",
			file: "broken-promql.yaml",
			want: []string{"broken-promql.yaml:6:16: resources[db_pool].families[pgxpool].usage: invalid PromQL:", "parse error"},
		},
		{
			name: "a selector without braces names its line and field",
			file: "bad-selector.yaml",
			want: []string{"bad-selector.yaml:3:15: resources[db_server_connections].selector: invalid label selector", "expected label matchers in braces"},
		},
		{
			name: "a custom kind needs a name and every new family a detect query",
			file: "custom-kind-incomplete.yaml",
			want: []string{
				"custom-kind-incomplete.yaml:2:5: resources[kafka_consumer].name: missing: a custom kind needs a human name",
				"custom-kind-incomplete.yaml:4:9: resources[kafka_consumer].families[kafka_exporter].detect: missing",
			},
		},
		{
			name: "a family listed twice is refused at its second place",
			file: "duplicate-family.yaml",
			want: []string{"duplicate-family.yaml:6:9: resources[redis].families[redis_exporter].name: family \"redis_exporter\" is listed twice"},
		},
		{
			name: "a value of the wrong type names its line",
			file: "wrong-type.yaml",
			want: []string{"wrong-type.yaml:3:15: resources[cpu].families: expected a list, got \"process\""},
		},
		{
			name: "a missing file says it could not be read",
			file: "does-not-exist.yaml",
			want: []string{"could not read resource catalog", "does-not-exist.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", "catalog", tt.file)
			cat, err := LoadCatalog(path)
			if err == nil {
				t.Fatalf("LoadCatalog(%s) succeeded with %d resources; want an error", tt.file, len(cat.Resources))
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error\n%s\ndoes not contain %q (after position %d)", msg, w, at)
				}
				at += i + len(w)
			}
			if tt.file != "does-not-exist.yaml" && !errors.Is(err, ErrBadCatalog) {
				t.Errorf("error does not wrap ErrBadCatalog: %v", err)
			}
		})
	}
}

func TestLoadCatalogMergesIntoTheBuiltinCatalog(t *testing.T) {
	cat, err := LoadCatalog(filepath.Join("testdata", "catalog", "override.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	builtin := DefaultCatalog()

	pool := cat.Resource(model.KindDBPool)
	if got := familyNameList(pool); got != "acme_pool pgxpool go_sql hikaricp" {
		t.Errorf("db_pool families = %s; want the new family first, then the built-in ones in order", got)
	}
	pgx, bpgx := pool.Family("pgxpool"), builtin.Resource(model.KindDBPool).Family("pgxpool")
	if pgx.Limit != "vector(50)" {
		t.Errorf("pgxpool limit = %q; want the override", pgx.Limit)
	}
	if pgx.Notes != "" {
		t.Errorf("pgxpool notes = %q; an empty string in the file must clear the field", pgx.Notes)
	}
	if pgx.Usage != bpgx.Usage || pgx.Saturation != bpgx.Saturation || pgx.Detect != bpgx.Detect {
		t.Errorf("fields the file does not set must keep their built-in values: %+v", pgx)
	}
	if pool.Name != "DB connection pool" {
		t.Errorf("db_pool name = %q; want the built-in name kept", pool.Name)
	}

	if got := cat.Resource(model.KindDBServerConnections).Selector; got != `{job="postgres"}` {
		t.Errorf("db_server_connections selector = %q", got)
	}
	if got := familyNameList(cat.Resource(model.KindDBServerConnections)); got != "postgres_exporter" {
		t.Errorf("db_server_connections families = %s; want them kept", got)
	}

	cpu := cat.Resource(model.KindCPU)
	if got := familyNameList(cpu); got != "process" || cpu.Family("process").Limit != "vector(8)" || cpu.Name != "" {
		t.Errorf("cpu with replace: true = %+v; want exactly the file's resource", cpu)
	}
	gr := cat.Resource(model.KindGoRuntime).Family("go_runtime")
	if gr.Usage != "max(go_goroutines)" || gr.Saturation != "" || gr.Notes != "" {
		t.Errorf("go_runtime family with replace: true = %+v; want exactly the file's family", gr)
	}

	last := cat.Resources[len(cat.Resources)-1]
	if last.Kind != "kafka_consumer" || last.Name != "Kafka consumer lag" {
		t.Errorf("last resource = %s; want the custom kind appended", last.Kind)
	}
	for _, r := range cat.Resources {
		if r.Replace {
			t.Errorf("resource %s keeps replace: true after merging", r.Kind)
		}
		for _, f := range r.Families {
			if f.Replace {
				t.Errorf("family %s/%s keeps replace: true after merging", r.Kind, f.Name)
			}
		}
	}
	if !reflect.DeepEqual(DefaultCatalog(), builtin) {
		t.Error("loading a user catalog changed the built-in one")
	}
}

func TestLoadCatalogReplaceTrueDropsTheBuiltinCatalog(t *testing.T) {
	cat, err := LoadCatalog(filepath.Join("testdata", "catalog", "replace-all.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Resources) != 1 || cat.Resources[0].Kind != model.KindCPU || cat.Replace {
		t.Fatalf("catalog = %+v; want only the file's cpu resource", cat)
	}
}

func TestMarshalCatalogRoundTrips(t *testing.T) {
	b, err := MarshalCatalog(DefaultCatalog())
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseCatalog("printed.yaml", b, nil)
	if err != nil {
		t.Fatalf("the printed catalog does not load: %v", err)
	}
	if !reflect.DeepEqual(got, DefaultCatalog()) {
		t.Fatal("the printed catalog differs from the built-in one")
	}
}

func TestCatalogValidateNamesPaths(t *testing.T) {
	c := &model.Catalog{Resources: []model.CatalogResource{
		{Kind: "DB Pool", Families: []model.MetricFamily{{Name: "x", Detect: "a", Usage: "b"}}},
		{Kind: "cpu"},
		{Kind: "cpu", Families: []model.MetricFamily{{Name: "p", Detect: "a", Usage: "b", LimitFallbacks: []model.LimitFallback{{Query: "c"}}}}},
	}}
	err := c.Validate()
	var ves model.ValidationErrors
	if !errors.As(err, &ves) {
		t.Fatalf("Validate() = %v; want ValidationErrors", err)
	}
	want := []string{
		`resources[DB Pool].kind: "DB Pool" is not an identifier`,
		`resources[DB Pool].name: missing`,
		`resources[cpu].families: missing`,
		`resources[cpu].kind: kind "cpu" is listed twice`,
		`resources[cpu].families[p].limitFallbacks: set without a limit`,
	}
	if len(ves) != len(want) {
		t.Fatalf("got %d errors:\n%v\nwant %d", len(ves), err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(ves[i].Error(), w) {
			t.Errorf("error %d = %q; want it to start with %q", i, ves[i].Error(), w)
		}
	}
}

func familyNameList(r *model.CatalogResource) string {
	if r == nil {
		return "<no resource>"
	}
	names := make([]string, len(r.Families))
	for i, f := range r.Families {
		names[i] = f.Name
	}
	return strings.Join(names, " ")
}
