package model

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCPUQuantities(t *testing.T) {
	tests := []struct {
		in   string
		want CPU
		out  string
		err  string
	}{
		{in: "500m", want: 0.5, out: "500m"},
		{in: "0.25", want: 0.25, out: "250m"},
		{in: "2", want: 2, out: "2"},
		{in: "1.5", want: 1.5, out: "1.5"},
		{in: "100m", want: 0.1, out: "100m"},
		{in: "half", err: `invalid CPU quantity "half"`},
		{in: "-1", err: "must not be negative"},
		{in: "", err: "invalid CPU quantity"},
	}
	for _, tc := range tests {
		got, err := ParseCPU(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseCPU(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want || got.String() != tc.out {
			t.Errorf("ParseCPU(%q) = %v (%s), %v; want %v (%s)", tc.in, got, got, err, tc.want, tc.out)
		}
	}
	var c struct{ A, B CPU }
	if err := json.Unmarshal([]byte(`{"A": 0.5, "B": "250m"}`), &c); err != nil || c.A != 0.5 || c.B != 0.25 {
		t.Errorf("JSON: %+v %v", c, err)
	}
}

func TestBytesQuantities(t *testing.T) {
	tests := []struct {
		in   string
		want Bytes
		out  string
		err  string
	}{
		{in: "512Mi", want: 512 * MiB, out: "512Mi"},
		{in: "1Gi", want: GiB, out: "1Gi"},
		{in: "1.5Gi", want: 1536 * MiB, out: "1536Mi"},
		{in: "2G", want: 2e9, out: "2000000000"},
		{in: "1024", want: 1024, out: "1024"},
		{in: "lots", err: `invalid memory quantity "lots"`},
		{in: "-1Gi", err: "must not be negative"},
	}
	for _, tc := range tests {
		got, err := ParseBytes(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseBytes(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want || got.String() != tc.out {
			t.Errorf("ParseBytes(%q) = %d (%s), %v; want %d (%s)", tc.in, got, got, err, tc.want, tc.out)
		}
	}
}

func validTopology() *Topology {
	t := &Topology{
		Service:  "checkout",
		API:      APITier{Pods: 3, InstanceType: "m6i.large", CPURequest: 0.5, CPULimit: 1, MemoryRequest: 512 * MiB, DBPoolSize: 20},
		Database: &Database{Engine: "PostgreSQL", InstanceClass: "db.r5.large", MaxConnections: 100},
		Cache:    &Cache{Engine: "redis", NodeType: "cache.r6g.large"},
		Baseline: Baseline{RPS: 180},
	}
	t.SetDefaults()
	return t
}

func TestTopologyDefaults(t *testing.T) {
	topo := validTopology()
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	if topo.Database.Engine != EnginePostgres || topo.Database.ReservedConnections != 10 || topo.Database.MemoryPerConnection != 9531392 {
		t.Errorf("database defaults: %+v", *topo.Database)
	}
	if topo.Cache.Nodes != 1 || topo.Baseline.PeakRPS != 180 {
		t.Errorf("cache/baseline defaults: %+v %+v", *topo.Cache, topo.Baseline)
	}
	again := *topo
	again.SetDefaults()
	if again.Baseline != topo.Baseline {
		t.Error("SetDefaults is not idempotent")
	}
	tested := topo.TestedResolved()
	if tested.Pods != 3 || tested.DBPoolSize != 20 || tested.DatabaseClass != "db.r5.large" || tested.CacheNodes != 1 {
		t.Errorf("tested as production: %+v", tested)
	}
	topo.Tested = &TestedShape{Pods: 1}
	if r := topo.TestedResolved(); r.Pods != 1 || r.DBPoolSize != 20 {
		t.Errorf("tested with one pod: %+v", r)
	}
}

func TestTopologyValidationNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Topology)
		path   string
		msg    string
	}{
		{"zero pods are refused", func(t *Topology) { t.API.Pods = 0 }, "api.pods", "at least 1"},
		{"an instance type is needed to price pods", func(t *Topology) { t.API.InstanceType = "" }, "api.instance_type", "is missing"},
		{"a limit below the request is refused", func(t *Topology) { t.API.CPULimit = 0.25 }, "api.cpu_limit", "below the CPU request"},
		{"an HPA target as a percentage is refused", func(t *Topology) { t.API.HPA = &HPA{MinReplicas: 2, MaxReplicas: 4, TargetCPUUtilization: 70} }, "api.hpa.target_cpu_utilization", "0.7 for 70%"},
		{"an HPA max below its min is refused", func(t *Topology) { t.API.HPA = &HPA{MinReplicas: 4, MaxReplicas: 2, TargetCPUUtilization: 0.7} }, "api.hpa.max_replicas", "below min_replicas"},
		{"a reserve that leaves nothing is refused", func(t *Topology) { t.Database.ReservedConnections = 100 }, "database.reserved_connections", "leaves no connections"},
		{"a CPU utilization above 1 is refused", func(t *Topology) { t.Database.CPUUtilization = 30 }, "database.cpu_utilization", "fraction"},
		{"an unknown cache engine is refused", func(t *Topology) { t.Cache.Engine = "hazelcast" }, "cache.engine", "redis, valkey, memcached"},
		{"a baseline query without rps is accepted but a bad Prometheus URL is not", func(t *Topology) {
			t.Baseline = Baseline{RPSQuery: "vector(1)", Prometheus: "prometheus:9090"}
		}, "baseline.prometheus", "base URL"},
		{"a tested database class without a database is refused", func(t *Topology) { t.Database = nil; t.Tested = &TestedShape{DatabaseClass: "db.t3.medium"} }, "tested.database_class", "no database"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topo := validTopology()
			tc.mutate(topo)
			err := topo.Validate()
			var verrs ValidationErrors
			if !errors.As(err, &verrs) {
				t.Fatalf("err = %v, want ValidationErrors", err)
			}
			for _, e := range verrs {
				if e.Path == tc.path && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("no error at %s containing %q: %v", tc.path, tc.msg, err)
		})
	}
}

func TestPriceCatalogFindPrefersTheEngine(t *testing.T) {
	c := &PriceCatalog{Currency: "usd", Entries: []PriceEntry{
		{Kind: "database", Name: "db.r5.large", Engine: "mysql", VCPU: 2, MemoryGiB: 16, Price: 0.24, Unit: "hour", AsOf: "2026-11-26", Source: "x"},
		{Kind: "database", Name: "db.r5.large", Engine: "PostgreSQL", VCPU: 2, MemoryGiB: 16, Price: 0.25, Unit: "hour", AsOf: "2026-11-26", Source: "x"},
		{Kind: "cache", Name: "cache.r6g.large", VCPU: 2, MemoryGiB: 13.07, Price: 150, Unit: "month", AsOf: "2026-11-26", Source: "x"},
	}}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if e, ok := c.Find(PriceDatabase, "db.r5.large", EnginePostgres); !ok || e.Price != 0.25 {
		t.Errorf("postgres: %+v", e)
	}
	if _, ok := c.Find(PriceDatabase, "db.r5.large", ""); ok {
		t.Error("an engine-specific entry answered a lookup without an engine")
	}
	if e, ok := c.Find(PriceCache, "cache.r6g.large", EngineRedis); !ok || e.Monthly(730) != 150 {
		t.Errorf("engine-less entry for redis: %+v", e)
	}
	if e, _ := c.Find(PriceDatabase, "db.r5.large", EngineMySQL); e.Monthly(730) != 0.24*730 {
		t.Errorf("monthly = %v", e.Monthly(730))
	}
}

func TestPlanValidateNamesTheField(t *testing.T) {
	p := &Plan{Target: PlanTarget{TargetRPS: 540, SLO: SLO{P95Ms: 800, MaxErrorRate: 0.05}},
		Workload: PlanWorkload{Endpoints: []WorkloadEndpoint{{Endpoint: "FETCH /x", Share: 2}}}}
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), `workload.endpoints[0].endpoint: endpoint "FETCH /x"`) || !strings.Contains(err.Error(), "workload.endpoints[0].share") {
		t.Errorf("err = %v", err)
	}
	p.Workload.Endpoints = nil
	if err := p.Validate(); err != nil {
		t.Errorf("valid plan: %v", err)
	}
}
