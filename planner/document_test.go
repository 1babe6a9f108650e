package planner

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

const goodTopology = `service: checkout
api:
  pods: 3
  instance_type: m6i.large
  cpu_request: 500m
  cpu_limit: 1
  memory_request: 512Mi
  db_pool_size: 20
database:
  engine: postgres
  instance_class: db.r5.large
  max_connections: 100
cache:
  engine: redis
  node_type: cache.r6g.large
baseline:
  rps: 180
  peak_rps: 210
`

func TestTheExampleTopologyReadsAsTheLaunchStory(t *testing.T) {
	data, err := os.ReadFile("../examples/topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	topo, err := ParseTopology(data, "examples/topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := launchTopology()
	want.SetDefaults()
	want.Database.ReservedConnections = 10
	if topo.API != want.API || *topo.Database != *want.Database || *topo.Cache != *want.Cache || topo.Baseline != want.Baseline {
		t.Errorf("examples/topology.yaml = %+v %+v %+v %+v\nwant %+v %+v %+v %+v",
			topo.API, *topo.Database, *topo.Cache, topo.Baseline, want.API, *want.Database, *want.Cache, want.Baseline)
	}
}

func TestParseTopologyReadsQuantitiesAndDefaults(t *testing.T) {
	topo, err := ParseTopology([]byte(goodTopology), "topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if topo.API.CPURequest != 0.5 || topo.API.MemoryRequest != 512*model.MiB || topo.API.CPULimit != 1 {
		t.Errorf("quantities = %+v", topo.API)
	}
	if topo.Database.ReservedConnections != model.DefaultReservedConnections || topo.Database.MemoryPerConnection != 9531392 || topo.Cache.Nodes != 1 {
		t.Errorf("defaults = %+v %+v", *topo.Database, *topo.Cache)
	}
}

// TestBadDocumentsNameFileLineAndField is keyed by the mistake.
func TestBadDocumentsNameFileLineAndField(t *testing.T) {
	tests := []struct {
		name   string
		prices bool
		doc    string
		want   []string
	}{
		{
			name: "a word where max_connections should be a number is reported at its line",
			doc:  strings.Replace(goodTopology, "max_connections: 100", "max_connections: lots", 1),
			want: []string{`topology.yaml:12:20: database.max_connections: expected a whole number, got "lots"`},
		},
		{
			name: "a misspelt key is named with a suggestion",
			doc:  strings.Replace(goodTopology, "db_pool_size: 20", "db_pool_sise: 20", 1),
			want: []string{`topology.yaml:8:3: api.db_pool_sise: unknown field "db_pool_sise" (did you mean "db_pool_size"?)`},
		},
		{
			name: "a CPU quantity that is not one says what is expected",
			doc:  strings.Replace(goodTopology, "cpu_request: 500m", "cpu_request: half", 1),
			want: []string{`topology.yaml:5:16: api.cpu_request: invalid CPU quantity "half": expected cores such as 0.5 or 2, or millicores such as 500m`},
		},
		{
			name: "a percentage where a fraction belongs is explained",
			doc:  strings.Replace(goodTopology, "max_connections: 100", "max_connections: 100\n  cpu_utilization: 30%", 1),
			want: []string{`topology.yaml:13:20: database.cpu_utilization: expected a number, got "30%" (write ratios as fractions: 0.7, not 70%)`},
		},
		{
			name: "an unknown engine is reported at the engine's line",
			doc:  strings.Replace(goodTopology, "engine: postgres", "engine: oracle", 1),
			want: []string{`topology.yaml:10:3: database.engine: expected one of postgres, mysql, got "oracle"`},
		},
		{
			name: "a missing baseline rate is reported at the baseline key",
			doc:  strings.Replace(goodTopology, "  rps: 180\n", "", 1),
			want: []string{`topology.yaml:16:1: baseline.rps: is missing`},
		},
		{
			name: "a database without a pool size asks for it",
			doc:  strings.Replace(goodTopology, "  db_pool_size: 20\n", "", 1),
			want: []string{`api.db_pool_size: is missing: with a database`},
		},
		{
			name: "a peak below the baseline is refused",
			doc:  strings.Replace(goodTopology, "peak_rps: 210", "peak_rps: 100", 1),
			want: []string{`topology.yaml:18:3: baseline.peak_rps: 100 is below baseline.rps 180`},
		},
		{
			name: "every problem is listed, not only the first",
			doc:  strings.Replace(strings.Replace(goodTopology, "pods: 3", "pods: 0", 1), "node_type: cache.r6g.large", "node_type: ''", 1),
			want: []string{`topology.yaml:3:3: api.pods: expected the number of API pods`, `cache.node_type: is missing`},
		},
		{
			name: "YAML that does not parse gives the line",
			doc:  "api:\n  pods: [3\n",
			want: []string{`topology.yaml:1: invalid YAML: did not find expected`},
		},
		{
			name: "an empty file says so",
			doc:  "",
			want: []string{`topology.yaml: the file is empty`},
		},
		{
			name:   "a price without a date names the entry's field",
			prices: true,
			doc:    "currency: USD\nentries:\n  - {kind: compute, name: m6i.large, vcpu: 2, memory_gib: 8, price: 0.096, unit: hour, source: aws}\n",
			want:   []string{`prices.yaml:3:5: entries[0].as_of: expected the date the price was taken, as YYYY-MM-DD, got ""`},
		},
		{
			name:   "a negative price and an unknown unit are both named",
			prices: true,
			doc:    "currency: USD\nentries:\n  - kind: compute\n    name: m6i.large\n    vcpu: 2\n    memory_gib: 8\n    price: -1\n    unit: day\n    as_of: \"2026-01-01\"\n    source: aws\n",
			want:   []string{`prices.yaml:7:5: entries[0].price: expected a price ≥ 0`, `prices.yaml:8:5: entries[0].unit: expected one of hour, month, got "day"`},
		},
		{
			name:   "an unknown kind is named",
			prices: true,
			doc:    "currency: USD\nentries:\n  - {kind: gpu, name: p5.48xlarge, vcpu: 192, memory_gib: 2048, price: 98, unit: hour, as_of: \"2026-01-01\", source: aws}\n",
			want:   []string{`entries[0].kind: expected one of compute, database, cache, got "gpu"`},
		},
		{
			name:   "a currency that is not a code is named",
			prices: true,
			doc:    "currency: dollars\nentries: []\n",
			want:   []string{`prices.yaml:1:1: currency: expected an ISO 4217 currency code such as USD, got "DOLLARS"`},
		},
		{
			name:   "the same type priced twice is named",
			prices: true,
			doc:    "currency: USD\nentries:\n  - {kind: compute, name: a.large, vcpu: 2, memory_gib: 8, price: 1, unit: hour, as_of: \"2026-01-01\", source: x}\n  - {kind: compute, name: a.large, vcpu: 2, memory_gib: 8, price: 2, unit: hour, as_of: \"2026-01-01\", source: x}\n",
			want:   []string{`entries[1].name: compute "a.large" is already priced by entries[0]`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			var kind error
			if tc.prices {
				_, err = ParsePrices([]byte(tc.doc), "prices.yaml")
				kind = ErrInvalidPrices
			} else {
				_, err = ParseTopology([]byte(tc.doc), "topology.yaml")
				kind = ErrInvalidTopology
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, kind) {
				t.Errorf("errors.Is(err, %v) is false: %v", kind, err)
			}
			var de *DocumentError
			if !errors.As(err, &de) {
				t.Fatalf("err is %T, want *DocumentError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestTheBuiltinCatalogIsValidDatedAndSourced(t *testing.T) {
	c := DefaultPrices()
	if c.Currency != "USD" || c.HoursPerMonth != 730 || c.Region != "us-east-1" {
		t.Errorf("catalog = %s %v %s", c.Currency, c.HoursPerMonth, c.Region)
	}
	kinds := map[string]int{}
	for _, e := range c.Entries {
		kinds[e.Kind]++
		if e.AsOf == "" || !strings.HasPrefix(e.Source, "https://aws.amazon.com/") || e.Unit != model.UnitHour {
			t.Errorf("entry %s %s: as_of %q, source %q, unit %q", e.Kind, e.Name, e.AsOf, e.Source, e.Unit)
		}
	}
	for _, k := range model.PriceKinds {
		if kinds[k] < 4 {
			t.Errorf("only %d %s entries", kinds[k], k)
		}
	}
	// Figures the plan's golden tests rely on.
	for _, w := range []struct {
		kind, name, engine string
		price              float64
	}{
		{model.PriceCompute, "m6i.large", "", 0.096},
		{model.PriceCompute, "c6i.large", "", 0.085},
		{model.PriceDatabase, "db.r5.large", model.EnginePostgres, 0.25},
		{model.PriceDatabase, "db.r5.xlarge", model.EnginePostgres, 0.50},
		{model.PriceDatabase, "db.r5.large", model.EngineMySQL, 0.24},
		{model.PriceCache, "cache.r6g.large", model.EngineRedis, 0.206},
	} {
		e, ok := c.Find(w.kind, w.name, w.engine)
		if !ok || e.Price != w.price {
			t.Errorf("%s %s (%s) = %v (found %v), want %v", w.kind, w.name, w.engine, e.Price, ok, w.price)
		}
	}
	// DefaultPrices hands out copies.
	c.Entries[0].Price = 99
	if DefaultPrices().Entries[0].Price == 99 {
		t.Error("DefaultPrices returned shared entries")
	}
}

func TestMergePrices(t *testing.T) {
	user, err := ParsePrices([]byte(`
currency: USD
name: negotiated
entries:
  - {kind: compute, name: m6i.large, vcpu: 2, memory_gib: 8, price: 0.07, unit: hour, as_of: "2026-10-01", source: "EDP contract"}
  - {kind: compute, name: n2-standard-2, vcpu: 2, memory_gib: 8, price: 70, unit: month, as_of: "2026-10-01", source: "GCP"}
`), "ours.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := DefaultPrices()
	m, err := MergePrices(base, user, "ours.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := m.Find(model.PriceCompute, "m6i.large", ""); e.Price != 0.07 || e.Source != "EDP contract" {
		t.Errorf("override not applied: %+v", e)
	}
	if e, ok := m.Find(model.PriceCompute, "n2-standard-2", ""); !ok || e.Monthly(730) != 70 {
		t.Errorf("new entry not added or monthly price wrong: %+v", e)
	}
	if len(m.Entries) != len(base.Entries)+1 || m.Name != "negotiated" {
		t.Errorf("merged %d entries named %q", len(m.Entries), m.Name)
	}
	if e, _ := base.Find(model.PriceCompute, "m6i.large", ""); e.Price != 0.096 {
		t.Error("MergePrices modified the base catalog")
	}

	eur, err := ParsePrices([]byte("currency: EUR\nentries: []\n"), "eur.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MergePrices(base, eur, "eur.yaml"); err == nil || !strings.Contains(err.Error(), "eur.yaml: currency: EUR differs from the built-in catalog's USD") {
		t.Errorf("merging another currency: %v", err)
	}
	eur.Replace = true
	if m, err := MergePrices(base, eur, "eur.yaml"); err != nil || len(m.Entries) != 0 || m.Currency != "EUR" {
		t.Errorf("replace: %v %+v", err, m)
	}
}

func TestMarshalPricesReadsBack(t *testing.T) {
	c := DefaultPrices()
	b, err := MarshalPrices(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePrices(b, "marshalled.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Entries) != len(c.Entries) || back.Entries[5] != c.Entries[5] {
		t.Errorf("round trip lost entries: %d vs %d", len(back.Entries), len(c.Entries))
	}
}
