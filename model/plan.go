package model

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// This file holds the documents of capacity planning: the Topology a team
// runs (topology.yaml), the PriceCatalog it pays by (prices.yaml) and the
// Plan that `headroom plan` derives from an Analysis (plan.json).

// Database engines a topology may name.
const (
	EnginePostgres = "postgres"
	EngineMySQL    = "mysql"
)

// DatabaseEngines lists the database engines, in the order they are shown.
var DatabaseEngines = []string{EnginePostgres, EngineMySQL}

// Cache engines a topology may name.
const (
	EngineRedis     = "redis"
	EngineValkey    = "valkey"
	EngineMemcached = "memcached"
)

// CacheEngines lists the cache engines, in the order they are shown.
var CacheEngines = []string{EngineRedis, EngineValkey, EngineMemcached}

// Price entry kinds: what a PriceEntry prices.
const (
	// PriceCompute is a virtual machine that runs pods (EC2, GCE, ...).
	PriceCompute = "compute"
	// PriceDatabase is a managed database instance class (RDS, Cloud SQL, ...).
	PriceDatabase = "database"
	// PriceCache is a managed cache node type (ElastiCache, Memorystore, ...).
	PriceCache = "cache"
)

// PriceKinds lists the price entry kinds.
var PriceKinds = []string{PriceCompute, PriceDatabase, PriceCache}

// Price units: what one Price buys.
const (
	UnitHour  = "hour"  // one instance for one hour
	UnitMonth = "month" // one instance for one month
)

// PriceUnits lists the price units.
var PriceUnits = []string{UnitHour, UnitMonth}

// DefaultHoursPerMonth is the hours in an average month (8,760 / 12), the
// figure cloud price lists use to turn hourly prices into monthly ones.
const DefaultHoursPerMonth = 730

// DefaultReservedConnections is the number of database connections kept
// free for administrators, migrations, monitoring and replication when
// application pools are fitted under max_connections.
const DefaultReservedConnections = 10

// DefaultTargetHeadroomRatio is the spare capacity a plan keeps over the
// target rate (0.20: capacity = 1.2 × target), the same margin the
// headroom_target_headroom_ratio gauge and the alerts use.
const DefaultTargetHeadroomRatio = 0.20

// ---------------------------------------------------------------------------
// Quantities

// CPU is a number of cores. In documents it is written as Kubernetes does:
// "500m" (millicores), "0.5" or 2.
type CPU float64

// Cores returns the value in cores.
func (c CPU) Cores() float64 { return float64(c) }

// String writes whole millicores below one core as "500m" and other values
// as a plain number of cores ("1", "1.5").
func (c CPU) String() string {
	v := float64(c)
	m := v * 1000
	if v > 0 && v < 1 && math.Abs(m-math.Round(m)) < 1e-9 {
		return strconv.FormatFloat(math.Round(m), 'f', -1, 64) + "m"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// ParseCPU reads "500m", "0.5" or "2" as cores.
func ParseCPU(s string) (CPU, error) {
	t := strings.TrimSpace(s)
	bad := fmt.Errorf("invalid CPU quantity %q: expected cores such as 0.5 or 2, or millicores such as 500m", s)
	if t == "" {
		return 0, bad
	}
	scale := 1.0
	if strings.HasSuffix(t, "m") {
		t, scale = strings.TrimSuffix(t, "m"), 0.001
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, bad
	}
	if v < 0 {
		return 0, fmt.Errorf("invalid CPU quantity %q: must not be negative", s)
	}
	return CPU(v * scale), nil
}

// MarshalText implements encoding.TextMarshaler.
func (c CPU) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *CPU) UnmarshalText(b []byte) error {
	v, err := ParseCPU(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// UnmarshalJSON accepts a number of cores or a quantity string.
func (c *CPU) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		if f < 0 || math.IsNaN(f) {
			return fmt.Errorf("invalid CPU quantity %v: must not be negative", f)
		}
		*c = CPU(f)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("invalid CPU quantity %s: expected a number of cores or a string such as \"500m\"", b)
	}
	return c.UnmarshalText([]byte(s))
}

// Bytes is an amount of memory in bytes. In documents it is written as
// Kubernetes does: "512Mi", "1Gi", "1.5Gi", "2G", "100M" or a bare number
// of bytes.
type Bytes int64

// Binary and decimal byte multiples.
const (
	KiB Bytes = 1 << 10
	MiB Bytes = 1 << 20
	GiB Bytes = 1 << 30
)

var bytesSuffixes = []struct {
	suffix string
	mult   float64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
	{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
}

// ParseBytes reads "512Mi", "1Gi", "1.5Gi", "2G" or a bare number of bytes.
func ParseBytes(s string) (Bytes, error) {
	t := strings.TrimSpace(s)
	bad := fmt.Errorf("invalid memory quantity %q: expected a size such as 512Mi, 1Gi or 2G", s)
	if t == "" {
		return 0, bad
	}
	mult := 1.0
	for _, sf := range bytesSuffixes {
		if strings.HasSuffix(t, sf.suffix) {
			t, mult = strings.TrimSuffix(t, sf.suffix), sf.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, bad
	}
	if v < 0 {
		return 0, fmt.Errorf("invalid memory quantity %q: must not be negative", s)
	}
	b := v * mult
	if b >= math.MaxInt64 {
		return 0, bad
	}
	return Bytes(math.Round(b)), nil
}

// GiB returns the value in gibibytes.
func (b Bytes) GiB() float64 { return float64(b) / float64(GiB) }

// MiB returns the value in mebibytes.
func (b Bytes) MiB() float64 { return float64(b) / float64(MiB) }

// String writes whole gibibytes as "1Gi", whole mebibytes as "512Mi", and
// other values as a number of bytes.
func (b Bytes) String() string {
	switch {
	case b != 0 && b%GiB == 0:
		return strconv.FormatInt(int64(b/GiB), 10) + "Gi"
	case b != 0 && b%MiB == 0:
		return strconv.FormatInt(int64(b/MiB), 10) + "Mi"
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalText implements encoding.TextMarshaler.
func (b Bytes) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *Bytes) UnmarshalText(t []byte) error {
	v, err := ParseBytes(string(t))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// UnmarshalJSON accepts a number of bytes or a quantity string.
func (b *Bytes) UnmarshalJSON(data []byte) error {
	var f float64
	if err := json.Unmarshal(data, &f); err == nil {
		if f < 0 || math.IsNaN(f) {
			return fmt.Errorf("invalid memory quantity %v: must not be negative", f)
		}
		*b = Bytes(math.Round(f))
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("invalid memory quantity %s: expected a number of bytes or a string such as \"512Mi\"", data)
	}
	return b.UnmarshalText([]byte(s))
}

// ---------------------------------------------------------------------------
// Topology

// Topology is topology.yaml: what a service runs in production — its API
// pods, database and cache — the traffic it carries today, and the shape of
// the environment the load test ran against when that differs from
// production. Ratios are fractions (0.7, not 70%).
type Topology struct {
	// Service names the service; plans and gauges are filed under it.
	Service string `json:"service" yaml:"service"`
	// API is the tier of stateless pods that serve the requests.
	API APITier `json:"api" yaml:"api"`
	// Database is the primary database; nil when the service has none.
	Database *Database `json:"database,omitempty" yaml:"database,omitempty"`
	// Cache is the cache cluster; nil when the service has none.
	Cache *Cache `json:"cache,omitempty" yaml:"cache,omitempty"`
	// Baseline is the production traffic today.
	Baseline Baseline `json:"baseline" yaml:"baseline"`
	// Tested is the shape of the environment the analysed test ran
	// against; nil, or any field left unset, means "as in production".
	Tested *TestedShape `json:"tested,omitempty" yaml:"tested,omitempty"`
}

// APITier is the API's pods.
type APITier struct {
	// Pods is the number of pods running today.
	Pods int `json:"pods" yaml:"pods"`
	// InstanceType is the machine type the pods run on (e.g. m6i.large);
	// a pod costs its share of one, by its CPU and memory requests.
	InstanceType string `json:"instance_type" yaml:"instance_type"`
	// CPURequest and CPULimit are each pod's Kubernetes CPU request and
	// limit, in cores.
	CPURequest CPU `json:"cpu_request,omitempty" yaml:"cpu_request,omitempty"`
	CPULimit   CPU `json:"cpu_limit,omitempty" yaml:"cpu_limit,omitempty"`
	// MemoryRequest and MemoryLimit are each pod's memory request and limit.
	MemoryRequest Bytes `json:"memory_request,omitempty" yaml:"memory_request,omitempty"`
	MemoryLimit   Bytes `json:"memory_limit,omitempty" yaml:"memory_limit,omitempty"`
	// HPA is the horizontal pod autoscaler; nil when there is none.
	HPA *HPA `json:"hpa,omitempty" yaml:"hpa,omitempty"`
	// DBPoolSize is each pod's maximum number of database connections
	// (pgxpool MaxConns, database/sql SetMaxOpenConns, HikariCP
	// maximumPoolSize); 0 when the service has no database.
	DBPoolSize int `json:"db_pool_size,omitempty" yaml:"db_pool_size,omitempty"`
}

// HPA is a Kubernetes horizontal pod autoscaler on CPU.
type HPA struct {
	MinReplicas int `json:"min_replicas" yaml:"min_replicas"`
	MaxReplicas int `json:"max_replicas" yaml:"max_replicas"`
	// TargetCPUUtilization is the average CPU use, as a fraction of the CPU
	// request, that the autoscaler keeps pods at (0.7 = 70%).
	TargetCPUUtilization float64 `json:"target_cpu_utilization" yaml:"target_cpu_utilization"`
}

// Database is a managed database instance.
type Database struct {
	// Engine is postgres or mysql.
	Engine string `json:"engine" yaml:"engine"`
	// InstanceClass is the instance class, e.g. db.r5.large.
	InstanceClass string `json:"instance_class" yaml:"instance_class"`
	// MaxConnections is the server's max_connections setting.
	MaxConnections int `json:"max_connections" yaml:"max_connections"`
	// ReservedConnections are connections kept free of application pools
	// for administrators, migrations, monitoring and replication
	// (default DefaultReservedConnections).
	ReservedConnections int `json:"reserved_connections,omitempty" yaml:"reserved_connections,omitempty"`
	// Replicas is the number of read replicas.
	Replicas int `json:"replicas,omitempty" yaml:"replicas,omitempty"`
	// MultiAZ is true for a standby in a second zone, billed as a second
	// instance.
	MultiAZ bool `json:"multi_az,omitempty" yaml:"multi_az,omitempty"`
	// CPUUtilization is the primary's CPU use at the baseline RPS (a
	// fraction, from CloudWatch or node_exporter); 0 when unknown.
	CPUUtilization float64 `json:"cpu_utilization,omitempty" yaml:"cpu_utilization,omitempty"`
	// MemoryPerConnection is the memory one server connection is budgeted
	// (default: the RDS formula's divisor, 9,531,392 bytes for PostgreSQL
	// and 12,582,880 bytes for MySQL).
	MemoryPerConnection Bytes `json:"memory_per_connection,omitempty" yaml:"memory_per_connection,omitempty"`
}

// Cache is a managed cache cluster.
type Cache struct {
	// Engine is redis, valkey or memcached.
	Engine string `json:"engine" yaml:"engine"`
	// NodeType is the node type, e.g. cache.r6g.large.
	NodeType string `json:"node_type" yaml:"node_type"`
	// Nodes is the number of primary nodes (shards), default 1.
	Nodes int `json:"nodes,omitempty" yaml:"nodes,omitempty"`
	// ReplicasPerNode is the number of replicas of each primary.
	ReplicasPerNode int `json:"replicas_per_node,omitempty" yaml:"replicas_per_node,omitempty"`
	// CPUUtilization is the busiest node's CPU use at the baseline RPS: a
	// fraction of one core for Redis and Valkey (their main thread), of all
	// the node's vCPUs for memcached (its threads use every core); 0 when
	// unknown.
	CPUUtilization float64 `json:"cpu_utilization,omitempty" yaml:"cpu_utilization,omitempty"`
}

// Baseline is the production traffic today, given as numbers or as PromQL
// that `headroom plan` evaluates.
type Baseline struct {
	// RPS is the typical request rate (requests/s) and PeakRPS the highest
	// (e.g. the daily peak over the last weeks).
	RPS     float64 `json:"rps" yaml:"rps"`
	PeakRPS float64 `json:"peak_rps,omitempty" yaml:"peak_rps,omitempty"`
	// Prometheus is the base URL the queries run against.
	Prometheus string `json:"prometheus,omitempty" yaml:"prometheus,omitempty"`
	// RPSQuery and PeakQuery are instant PromQL queries returning one
	// number each, used when RPS or PeakRPS is not given, e.g.
	// avg_over_time(sum(rate(http_requests_total{job="checkout"}[5m]))[7d:5m]).
	RPSQuery  string `json:"rps_query,omitempty" yaml:"rps_query,omitempty"`
	PeakQuery string `json:"peak_query,omitempty" yaml:"peak_query,omitempty"`
}

// TestedShape is the environment the load test ran against. A zero field
// means "as in production".
type TestedShape struct {
	Pods          int    `json:"pods,omitempty" yaml:"pods,omitempty"`
	DBPoolSize    int    `json:"db_pool_size,omitempty" yaml:"db_pool_size,omitempty"`
	CPULimit      CPU    `json:"cpu_limit,omitempty" yaml:"cpu_limit,omitempty"`
	DatabaseClass string `json:"database_class,omitempty" yaml:"database_class,omitempty"`
	CacheNodeType string `json:"cache_node_type,omitempty" yaml:"cache_node_type,omitempty"`
	CacheNodes    int    `json:"cache_nodes,omitempty" yaml:"cache_nodes,omitempty"`
}

// TestedResolved returns the tested shape with every unset field taken from
// production.
func (t *Topology) TestedResolved() TestedShape {
	var s TestedShape
	if t.Tested != nil {
		s = *t.Tested
	}
	if s.Pods == 0 {
		s.Pods = t.API.Pods
	}
	if s.DBPoolSize == 0 {
		s.DBPoolSize = t.API.DBPoolSize
	}
	if s.CPULimit == 0 {
		s.CPULimit = t.API.CPULimit
	}
	if s.DatabaseClass == "" && t.Database != nil {
		s.DatabaseClass = t.Database.InstanceClass
	}
	if s.CacheNodeType == "" && t.Cache != nil {
		s.CacheNodeType = t.Cache.NodeType
	}
	if s.CacheNodes == 0 && t.Cache != nil {
		s.CacheNodes = t.Cache.Nodes
	}
	return s
}

// SetDefaults fills in the defaults: Database.ReservedConnections
// DefaultReservedConnections and MemoryPerConnection by engine, Cache.Nodes
// 1, and Baseline.PeakRPS equal to RPS when neither a peak nor a peak query
// is given. It is idempotent.
func (t *Topology) SetDefaults() {
	if d := t.Database; d != nil {
		d.Engine = strings.ToLower(strings.TrimSpace(d.Engine))
		if d.Engine == "postgresql" {
			d.Engine = EnginePostgres
		}
		if d.ReservedConnections == 0 {
			d.ReservedConnections = DefaultReservedConnections
		}
		if d.MemoryPerConnection == 0 {
			d.MemoryPerConnection = DefaultMemoryPerConnection(d.Engine)
		}
	}
	if c := t.Cache; c != nil {
		c.Engine = strings.ToLower(strings.TrimSpace(c.Engine))
		if c.Nodes == 0 {
			c.Nodes = 1
		}
	}
	if t.Baseline.PeakRPS == 0 && t.Baseline.PeakQuery == "" {
		t.Baseline.PeakRPS = t.Baseline.RPS
	}
}

// DefaultMemoryPerConnection is the memory budget of one server connection
// in the formulas RDS uses for the default max_connections:
// DBInstanceClassMemory/9531392 for PostgreSQL and
// DBInstanceClassMemory/12582880 for MySQL (Amazon RDS User Guide, "Maximum
// number of database connections").
func DefaultMemoryPerConnection(engine string) Bytes {
	switch engine {
	case EngineMySQL:
		return 12582880
	default:
		return 9531392
	}
}

var instanceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)

// Validate checks the topology and returns every problem as
// ValidationErrors (paths in the YAML key names, e.g.
// `database.max_connections`), or nil. It expects SetDefaults to have run.
func (t *Topology) Validate() error {
	v := &planValidator{}
	if t.Service != "" && strings.TrimSpace(t.Service) == "" {
		v.add("service", "must not be blank")
	}
	a := t.API
	if a.Pods < 1 {
		v.add("api.pods", "expected the number of API pods running today (at least 1), got %d", a.Pods)
	}
	if a.InstanceType == "" {
		v.add("api.instance_type", "is missing: expected the machine type the pods run on, such as m6i.large, so that pods can be priced")
	} else if !instanceNameRE.MatchString(a.InstanceType) {
		v.add("api.instance_type", "%q is not an instance type name such as m6i.large", a.InstanceType)
	}
	if a.CPURequest <= 0 {
		v.add("api.cpu_request", "is missing: expected each pod's CPU request, such as 500m or 1")
	}
	if a.MemoryRequest <= 0 {
		v.add("api.memory_request", "is missing: expected each pod's memory request, such as 512Mi or 1Gi")
	}
	if a.CPULimit != 0 && a.CPULimit < a.CPURequest {
		v.add("api.cpu_limit", "%s is below the CPU request %s", a.CPULimit, a.CPURequest)
	}
	if a.MemoryLimit != 0 && a.MemoryLimit < a.MemoryRequest {
		v.add("api.memory_limit", "%s is below the memory request %s", a.MemoryLimit, a.MemoryRequest)
	}
	if h := a.HPA; h != nil {
		if h.MinReplicas < 1 {
			v.add("api.hpa.min_replicas", "expected at least 1, got %d", h.MinReplicas)
		}
		if h.MaxReplicas < h.MinReplicas {
			v.add("api.hpa.max_replicas", "%d is below min_replicas %d", h.MaxReplicas, h.MinReplicas)
		}
		if !(h.TargetCPUUtilization > 0 && h.TargetCPUUtilization <= 1) {
			v.add("api.hpa.target_cpu_utilization", "expected a fraction of the CPU request between 0 and 1 (0.7 for 70%%), got %v", h.TargetCPUUtilization)
		}
	}
	if a.DBPoolSize < 0 {
		v.add("api.db_pool_size", "must not be negative, got %d", a.DBPoolSize)
	}
	if d := t.Database; d != nil {
		if !containsString(DatabaseEngines, d.Engine) {
			v.add("database.engine", "expected one of %s, got %q", strings.Join(DatabaseEngines, ", "), d.Engine)
		}
		if d.InstanceClass == "" {
			v.add("database.instance_class", "is missing: expected an instance class such as db.r5.large")
		} else if !instanceNameRE.MatchString(d.InstanceClass) {
			v.add("database.instance_class", "%q is not an instance class name such as db.r5.large", d.InstanceClass)
		}
		if d.MaxConnections < 1 {
			v.add("database.max_connections", "expected the server's max_connections (at least 1), got %d", d.MaxConnections)
		}
		if d.ReservedConnections < 0 {
			v.add("database.reserved_connections", "must not be negative, got %d", d.ReservedConnections)
		} else if d.MaxConnections > 0 && d.ReservedConnections >= d.MaxConnections {
			v.add("database.reserved_connections", "%d leaves no connections for the application under max_connections %d", d.ReservedConnections, d.MaxConnections)
		}
		if d.Replicas < 0 {
			v.add("database.replicas", "must not be negative, got %d", d.Replicas)
		}
		v.fraction("database.cpu_utilization", d.CPUUtilization)
		if d.MemoryPerConnection < 0 {
			v.add("database.memory_per_connection", "must not be negative")
		}
		if a.DBPoolSize == 0 {
			v.add("api.db_pool_size", "is missing: with a database, expected each pod's maximum number of database connections, such as 20")
		}
	}
	if c := t.Cache; c != nil {
		if !containsString(CacheEngines, c.Engine) {
			v.add("cache.engine", "expected one of %s, got %q", strings.Join(CacheEngines, ", "), c.Engine)
		}
		if c.NodeType == "" {
			v.add("cache.node_type", "is missing: expected a node type such as cache.r6g.large")
		} else if !instanceNameRE.MatchString(c.NodeType) {
			v.add("cache.node_type", "%q is not a node type name such as cache.r6g.large", c.NodeType)
		}
		if c.Nodes < 1 {
			v.add("cache.nodes", "expected at least 1 node, got %d", c.Nodes)
		}
		if c.ReplicasPerNode < 0 {
			v.add("cache.replicas_per_node", "must not be negative, got %d", c.ReplicasPerNode)
		}
		v.fraction("cache.cpu_utilization", c.CPUUtilization)
	}
	b := t.Baseline
	switch {
	case !finiteNonNeg(b.RPS):
		v.add("baseline.rps", "expected requests per second ≥ 0, got %v", b.RPS)
	case b.RPS == 0 && b.RPSQuery == "":
		v.add("baseline.rps", "is missing: expected today's production requests per second, such as 180, or baseline.rps_query with PromQL that returns it")
	}
	if !finiteNonNeg(b.PeakRPS) {
		v.add("baseline.peak_rps", "expected requests per second ≥ 0, got %v", b.PeakRPS)
	} else if b.PeakRPS > 0 && b.RPS > 0 && b.PeakRPS < b.RPS {
		v.add("baseline.peak_rps", "%v is below baseline.rps %v: the peak is the highest rate", b.PeakRPS, b.RPS)
	}
	if (b.RPSQuery != "" && b.RPS == 0) || (b.PeakQuery != "" && b.PeakRPS == 0) {
		if b.Prometheus == "" {
			// The command line may give the URL; only check its shape here.
		} else if u, err := url.Parse(b.Prometheus); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("baseline.prometheus", "expected the base URL of a Prometheus-compatible API, such as http://prometheus:9090, got %q", b.Prometheus)
		}
	}
	if s := t.Tested; s != nil {
		if s.Pods < 0 {
			v.add("tested.pods", "must not be negative, got %d", s.Pods)
		}
		if s.DBPoolSize < 0 {
			v.add("tested.db_pool_size", "must not be negative, got %d", s.DBPoolSize)
		}
		if s.CacheNodes < 0 {
			v.add("tested.cache_nodes", "must not be negative, got %d", s.CacheNodes)
		}
		if s.DatabaseClass != "" && t.Database == nil {
			v.add("tested.database_class", "is set but the topology has no database")
		}
		if s.CacheNodeType != "" && t.Cache == nil {
			v.add("tested.cache_node_type", "is set but the topology has no cache")
		}
	}
	return v.result()
}

// ---------------------------------------------------------------------------
// Price catalog

// PriceCatalog is prices.yaml: what compute, database and cache capacity
// costs. The built-in catalog holds AWS us-east-1 on-demand prices; a
// user's file overrides entries of the same kind, name and engine, or
// replaces the catalog.
type PriceCatalog struct {
	// Name describes the catalog, e.g. "AWS us-east-1 on-demand".
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Currency is an ISO 4217 code such as USD.
	Currency string `json:"currency" yaml:"currency"`
	// Region is the cloud region the prices are for.
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
	// HoursPerMonth turns hourly prices into monthly ones (default 730).
	HoursPerMonth float64 `json:"hours_per_month,omitempty" yaml:"hours_per_month,omitempty"`
	// Replace, in a user's file, drops the built-in entries instead of
	// merging into them.
	Replace bool `json:"replace,omitempty" yaml:"replace,omitempty"`
	// Entries are the prices.
	Entries []PriceEntry `json:"entries" yaml:"entries"`
}

// PriceEntry is the price of one instance type, class or node type.
type PriceEntry struct {
	// Kind is compute, database or cache.
	Kind string `json:"kind" yaml:"kind"`
	// Name is the type as the provider spells it: m6i.large, db.r5.large,
	// cache.r6g.large.
	Name string `json:"name" yaml:"name"`
	// Engine is, for databases, postgres or mysql and, for caches, redis,
	// valkey or memcached; empty when the price does not depend on it.
	Engine string `json:"engine,omitempty" yaml:"engine,omitempty"`
	// VCPU and MemoryGiB are the type's size: pods are priced by their
	// share of them, and a larger class is chosen by them.
	VCPU      float64 `json:"vcpu" yaml:"vcpu"`
	MemoryGiB float64 `json:"memory_gib" yaml:"memory_gib"`
	// Price is in the catalog's currency per Unit.
	Price float64 `json:"price" yaml:"price"`
	// Unit is hour (per instance-hour) or month (per instance-month).
	Unit string `json:"unit" yaml:"unit"`
	// AsOf is the date (YYYY-MM-DD) the price was taken.
	AsOf string `json:"as_of" yaml:"as_of"`
	// Source is where the price was taken from (a URL, a contract).
	Source string `json:"source" yaml:"source"`
	// Note qualifies the price, e.g. "Single-AZ".
	Note string `json:"note,omitempty" yaml:"note,omitempty"`
}

// Monthly returns the entry's price for one instance for one month.
func (e PriceEntry) Monthly(hoursPerMonth float64) float64 {
	if e.Unit == UnitMonth {
		return e.Price
	}
	if hoursPerMonth <= 0 {
		hoursPerMonth = DefaultHoursPerMonth
	}
	return e.Price * hoursPerMonth
}

// Key identifies the entry in a catalog: kind, name and engine.
func (e PriceEntry) Key() string { return e.Kind + "/" + e.Name + "/" + e.Engine }

// SetDefaults fills in HoursPerMonth 730 and lower-cases kinds, units and
// engines ("postgresql" becomes "postgres"). It is idempotent.
func (c *PriceCatalog) SetDefaults() {
	if c.HoursPerMonth == 0 {
		c.HoursPerMonth = DefaultHoursPerMonth
	}
	c.Currency = strings.ToUpper(strings.TrimSpace(c.Currency))
	for i := range c.Entries {
		e := &c.Entries[i]
		e.Kind = strings.ToLower(strings.TrimSpace(e.Kind))
		e.Unit = strings.ToLower(strings.TrimSpace(e.Unit))
		e.Engine = strings.ToLower(strings.TrimSpace(e.Engine))
		if e.Engine == "postgresql" {
			e.Engine = EnginePostgres
		}
	}
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// Validate checks the catalog and returns every problem as
// ValidationErrors (paths such as `entries[3].price`), or nil. A user's
// partial file is validated the same way: every entry must be complete.
func (c *PriceCatalog) Validate() error {
	v := &planValidator{}
	if !currencyRE.MatchString(c.Currency) {
		v.add("currency", "expected an ISO 4217 currency code such as USD, got %q", c.Currency)
	}
	if !(c.HoursPerMonth > 0 && c.HoursPerMonth <= 744) {
		v.add("hours_per_month", "expected hours in a month between 0 and 744 (730 is the cloud providers' average), got %v", c.HoursPerMonth)
	}
	seen := map[string]string{}
	for i, e := range c.Entries {
		p := fmt.Sprintf("entries[%d]", i)
		if !containsString(PriceKinds, e.Kind) {
			v.add(p+".kind", "expected one of %s, got %q", strings.Join(PriceKinds, ", "), e.Kind)
		}
		if e.Name == "" {
			v.add(p+".name", "is missing: expected the type's name, such as m6i.large")
		} else if !instanceNameRE.MatchString(e.Name) {
			v.add(p+".name", "%q is not an instance type name such as m6i.large", e.Name)
		}
		switch e.Kind {
		case PriceDatabase:
			if e.Engine != "" && !containsString(DatabaseEngines, e.Engine) {
				v.add(p+".engine", "expected one of %s for a database, got %q", strings.Join(DatabaseEngines, ", "), e.Engine)
			}
		case PriceCache:
			if e.Engine != "" && !containsString(CacheEngines, e.Engine) {
				v.add(p+".engine", "expected one of %s for a cache, got %q", strings.Join(CacheEngines, ", "), e.Engine)
			}
		case PriceCompute:
			if e.Engine != "" {
				v.add(p+".engine", "is not used by compute entries")
			}
		}
		if !(e.VCPU > 0) || math.IsInf(e.VCPU, 0) {
			v.add(p+".vcpu", "expected the number of vCPUs (greater than 0), got %v", e.VCPU)
		}
		if !(e.MemoryGiB > 0) || math.IsInf(e.MemoryGiB, 0) {
			v.add(p+".memory_gib", "expected the memory in GiB (greater than 0), got %v", e.MemoryGiB)
		}
		if !finiteNonNeg(e.Price) {
			v.add(p+".price", "expected a price ≥ 0 in %s per %s, got %v", c.Currency, orDefault(e.Unit, "hour"), e.Price)
		}
		if !containsString(PriceUnits, e.Unit) {
			v.add(p+".unit", "expected one of %s, got %q", strings.Join(PriceUnits, ", "), e.Unit)
		}
		if !dateRE.MatchString(e.AsOf) {
			v.add(p+".as_of", "expected the date the price was taken, as YYYY-MM-DD, got %q", e.AsOf)
		}
		if strings.TrimSpace(e.Source) == "" {
			v.add(p+".source", "is missing: say where the price comes from (a URL, a contract)")
		}
		if prev, dup := seen[e.Key()]; dup {
			v.add(p+".name", "%s %q%s is already priced by %s", e.Kind, e.Name, engineSuffix(e.Engine), prev)
		} else {
			seen[e.Key()] = p
		}
	}
	return v.result()
}

func engineSuffix(engine string) string {
	if engine == "" {
		return ""
	}
	return " (" + engine + ")"
}

// Find returns the entry of the kind and name for the engine: an entry of
// that engine first, else one without an engine.
func (c *PriceCatalog) Find(kind, name, engine string) (PriceEntry, bool) {
	var any *PriceEntry
	for i := range c.Entries {
		e := &c.Entries[i]
		if e.Kind != kind || e.Name != name {
			continue
		}
		if e.Engine == engine {
			return *e, true
		}
		if e.Engine == "" {
			any = e
		}
	}
	if any != nil {
		return *any, true
	}
	return PriceEntry{}, false
}

// ---------------------------------------------------------------------------
// Plan

// Kinds of change a plan makes, in the order a plan lists them: free
// configuration first, then capacity that costs money.
const (
	ChangeConfig     = "config"     // a setting: pool size, max_connections, autoscaler
	ChangeHorizontal = "horizontal" // more of the same: pods, cache shards
	ChangeVertical   = "vertical"   // a larger class: database, cache node
	ChangeReplica    = "replica"    // a read replica
	ChangePooler     = "pooler"     // a connection pooler in front of the database
)

// Change identifiers, stable across plans.
const (
	ChangeIDDBPool         = "db_pool"
	ChangeIDMaxConnections = "max_connections"
	ChangeIDPooler         = "pooler"
	ChangeIDPods           = "pods"
	ChangeIDHPA            = "hpa"
	ChangeIDDatabaseClass  = "database_class"
	ChangeIDCache          = "cache"
	ChangeIDReadReplica    = "read_replica"
)

// Plan is plan.json: what `headroom plan` decided a service needs to carry
// a target rate with the wanted headroom, what each change costs, and what
// the plan could not know. Money is in Currency per month; rates are
// requests/s; ratios are fractions.
type Plan struct {
	Service string `json:"service,omitempty"`
	// RunID and Scenario identify the analysed test.
	RunID    string `json:"run_id,omitempty"`
	Scenario string `json:"scenario,omitempty"`
	// Verdict says in one or two sentences what the plan decided.
	Verdict string `json:"verdict"`
	// Target is what the plan is for.
	Target PlanTarget `json:"target"`
	// Measured is what the analysis and the topology say about capacity
	// today.
	Measured PlanMeasured `json:"measured"`
	// Changes are the decisions, free configuration first; each says why,
	// with the numbers, and what it costs.
	Changes []PlanChange `json:"changes"`
	// Totals add the costs up.
	Totals PlanTotals `json:"totals"`
	// Assumptions state what the plan could not know.
	Assumptions []string `json:"assumptions"`
	// Current and Proposed are the topology today and after the required
	// (non-optional) changes.
	Current  Topology `json:"current"`
	Proposed Topology `json:"proposed"`
	// Prices names the catalog the costs come from and the entries used.
	Prices PlanPrices `json:"prices"`
	// Workload is the request mix of the analysed test, for the
	// verification test `headroom verify` writes.
	Workload PlanWorkload `json:"workload"`
}

// PlanTarget is the traffic a plan is for.
type PlanTarget struct {
	// BaselineRPS and BaselinePeakRPS are production traffic today.
	BaselineRPS     float64 `json:"baseline_rps"`
	BaselinePeakRPS float64 `json:"baseline_peak_rps"`
	// Multiplier is TargetRPS / BaselineRPS.
	Multiplier float64 `json:"multiplier"`
	// TargetRPS is the rate the service must carry; TargetPeakRPS the
	// peak scaled by the same multiplier.
	TargetRPS     float64 `json:"target_rps"`
	TargetPeakRPS float64 `json:"target_peak_rps"`
	// HeadroomRatio is the spare capacity wanted over TargetRPS
	// (target_headroom_ratio); RequiredRPS = TargetRPS × (1 + HeadroomRatio).
	HeadroomRatio float64 `json:"headroom_ratio"`
	RequiredRPS   float64 `json:"required_rps"`
	// SLO is what counts as carrying the rate.
	SLO SLO `json:"slo"`
}

// PlanMeasured is the capacity a plan starts from.
type PlanMeasured struct {
	// CapacityRPS is the tested environment's capacity and CapacitySource
	// where it comes from: breaking_point (measured), usl_peak (the USL's
	// extrapolated peak) or tested_up_to (a lower bound: nothing broke).
	CapacityRPS    float64 `json:"capacity_rps"`
	CapacitySource string  `json:"capacity_source"`
	// BreakReason is the breaking point's reason; empty when nothing broke.
	BreakReason string `json:"break_reason,omitempty"`
	// Bottleneck is the analysis's bottleneck kind and BottleneckName its
	// human name; SaturatedAtRPS the load it saturated at (0 when none).
	Bottleneck     string  `json:"bottleneck"`
	BottleneckName string  `json:"bottleneck_name,omitempty"`
	SaturatedAtRPS float64 `json:"saturated_at_rps,omitempty"`
	// BottleneckContender names another resource that saturated with the
	// bottleneck (its human name, e.g. "DB connection pool"), and
	// BottleneckExperiment is the short run that tells the two apart (the
	// analysis's); empty when the bottleneck had no rival.
	BottleneckContender  string      `json:"bottleneck_contender,omitempty"`
	BottleneckExperiment *Experiment `json:"bottleneck_experiment,omitempty"`
	// TestedPods and PerPodRPS: capacity per pod = CapacityRPS / TestedPods
	// for an application-bound system.
	TestedPods int     `json:"tested_pods"`
	PerPodRPS  float64 `json:"per_pod_rps"`
	// PerPodSource says how PerPodRPS was found: measured, cpu_extrapolated
	// or usl_extrapolated.
	PerPodSource string `json:"per_pod_source"`
	// ConnectionHoldMs is the mean time a request holds a database
	// connection, by Little's law from the pool's use (0 when unknown).
	ConnectionHoldMs float64 `json:"connection_hold_ms,omitempty"`
	// CPUAtBreak is the API pods' CPU utilization at the breaking point
	// (or at the highest tested load), 0 when unknown.
	CPUAtBreak float64 `json:"cpu_at_break,omitempty"`
	// ProductionCapacityRPS is the estimated capacity of production today
	// and CurrentHeadroomRatio = ProductionCapacityRPS / BaselinePeakRPS − 1.
	ProductionCapacityRPS float64 `json:"production_capacity_rps"`
	CurrentHeadroomRatio  float64 `json:"current_headroom_ratio"`
	// DatabaseKnownUpToRPS is the highest rate the test showed the database
	// carrying; above it its behaviour is extrapolated (0 without a database).
	DatabaseKnownUpToRPS float64 `json:"database_known_up_to_rps,omitempty"`
	// ReadShare is the share (0–1) of request time spent in GET and HEAD
	// endpoints, a proxy for the share of database time spent reading.
	ReadShare float64 `json:"read_share,omitempty"`
}

// PlanChange is one decision.
type PlanChange struct {
	// ID is stable: db_pool, max_connections, pooler, pods, hpa,
	// database_class, cache or read_replica.
	ID string `json:"id"`
	// Kind is config, horizontal, vertical, replica or pooler.
	Kind string `json:"kind"`
	// Title is the short name of the row ("DB pool"); What says what to do
	// ("Raise the DB pool from 20 to 24 connections per pod").
	Title string `json:"title"`
	What  string `json:"what"`
	// From and To are the setting or size before and after.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Why explains the decision with its numbers.
	Why string `json:"why"`
	// Numbers are the figures behind the decision, by name (units in the
	// name: _rps, _ms, _ratio, _connections, _mib).
	Numbers map[string]float64 `json:"numbers,omitempty"`
	// MonthlyCostDelta is the change in monthly cost (negative saves).
	MonthlyCostDelta float64 `json:"monthly_cost_delta"`
	// Optional marks a change to consider rather than one the target needs;
	// its cost is not in Totals.NewMonthly.
	Optional bool `json:"optional,omitempty"`
	// Assumption marks a change that rests on extrapolation rather than
	// measurement; AssumptionNote says which.
	Assumption     bool   `json:"assumption,omitempty"`
	AssumptionNote string `json:"assumption_note,omitempty"`
}

// PlanTotals add a plan's costs up.
type PlanTotals struct {
	Currency string `json:"currency"`
	// CurrentMonthly and NewMonthly are the priced topology's monthly cost
	// today and after the required changes; DeltaMonthly their difference,
	// which equals the sum of the required changes' deltas.
	CurrentMonthly float64 `json:"current_monthly"`
	NewMonthly     float64 `json:"new_monthly"`
	DeltaMonthly   float64 `json:"delta_monthly"`
	// OptionalMonthly is the sum of the optional changes' deltas.
	OptionalMonthly float64 `json:"optional_monthly,omitempty"`
	// CostPer1kRPSBefore is CurrentMonthly per 1,000 RPS of baseline
	// traffic; CostPer1kRPSAfter is NewMonthly per 1,000 RPS of target
	// traffic.
	CostPer1kRPSBefore float64 `json:"cost_per_1k_rps_before"`
	CostPer1kRPSAfter  float64 `json:"cost_per_1k_rps_after"`
	// CurrentCapacityRPS and ExpectedCapacityRPS are production's capacity
	// today and after the changes; ExpectedLimit names what limits the
	// latter (pods, db_pool, database, cache).
	CurrentCapacityRPS  float64 `json:"current_capacity_rps"`
	ExpectedCapacityRPS float64 `json:"expected_capacity_rps"`
	ExpectedLimit       string  `json:"expected_limit,omitempty"`
	// ExpectedHeadroomRatio is ExpectedCapacityRPS / TargetRPS − 1.
	ExpectedHeadroomRatio float64 `json:"expected_headroom_ratio"`
	// MeetsTarget is true when ExpectedHeadroomRatio reaches the target
	// headroom ratio.
	MeetsTarget bool `json:"meets_target"`
	// Lines break the monthly cost down by item.
	Lines []CostLine `json:"lines"`
}

// CostLine is one priced item before and after a plan.
type CostLine struct {
	// Item names what is priced ("API pods", "Database", "Cache").
	Item string `json:"item"`
	// Current and New describe the item ("3 × 0.25 of m6i.large").
	Current string `json:"current"`
	New     string `json:"new"`
	// CurrentMonthly and NewMonthly are its monthly cost.
	CurrentMonthly float64 `json:"current_monthly"`
	NewMonthly     float64 `json:"new_monthly"`
}

// PlanPrices names the catalog a plan was priced with.
type PlanPrices struct {
	Name          string  `json:"name,omitempty"`
	Currency      string  `json:"currency"`
	Region        string  `json:"region,omitempty"`
	HoursPerMonth float64 `json:"hours_per_month"`
	// Used are the entries the plan's costs were computed from.
	Used []PriceEntry `json:"used"`
}

// PlanWorkload is the request mix of the analysed test.
type PlanWorkload struct {
	Scenario  string             `json:"scenario,omitempty"`
	Endpoints []WorkloadEndpoint `json:"endpoints,omitempty"`
}

// WorkloadEndpoint is one endpoint's share of the analysed load.
type WorkloadEndpoint struct {
	// Endpoint is "METHOD /path/{param}".
	Endpoint string `json:"endpoint"`
	// Share is its fraction of requests (0–1).
	Share float64 `json:"share"`
	// MeanMs and P95Ms are its latency over the analysed window.
	MeanMs float64 `json:"mean_ms"`
	P95Ms  float64 `json:"p95_ms"`
}

// Validate checks the fields `headroom verify` relies on, so that a
// hand-edited or foreign plan.json fails with the field named.
func (p *Plan) Validate() error {
	v := &planValidator{}
	t := p.Target
	if !(t.TargetRPS > 0) || math.IsInf(t.TargetRPS, 0) {
		v.add("target.target_rps", "expected the target rate in requests/s (greater than 0), got %v", t.TargetRPS)
	}
	if !finiteNonNeg(t.HeadroomRatio) {
		v.add("target.headroom_ratio", "expected a fraction ≥ 0, got %v", t.HeadroomRatio)
	}
	if !(t.SLO.P95Ms > 0) || math.IsInf(t.SLO.P95Ms, 0) {
		v.add("target.slo.p95_ms", "expected the p95 latency limit in ms (greater than 0), got %v", t.SLO.P95Ms)
	}
	if !(t.SLO.MaxErrorRate >= 0 && t.SLO.MaxErrorRate <= 1) {
		v.add("target.slo.max_error_rate", "expected a fraction between 0 and 1, got %v", t.SLO.MaxErrorRate)
	}
	for i, e := range p.Workload.Endpoints {
		ep := fmt.Sprintf("workload.endpoints[%d]", i)
		if _, _, err := splitEndpointName(e.Endpoint); err != nil {
			v.add(ep+".endpoint", "%s", err.Error())
		}
		if !(e.Share >= 0 && e.Share <= 1) {
			v.add(ep+".share", "expected a fraction between 0 and 1, got %v", e.Share)
		}
	}
	return v.result()
}

// splitEndpointName splits "METHOD /path" into its method and path.
func splitEndpointName(name string) (string, string, error) {
	method, path, ok := strings.Cut(strings.TrimSpace(name), " ")
	if !ok || !containsString(Methods, method) || !strings.HasPrefix(path, "/") {
		return "", "", fmt.Errorf("endpoint %q: expected \"METHOD /path\", such as \"GET /api/orders/{id}\"", name)
	}
	return method, path, nil
}

// SplitEndpointName splits an endpoint name "METHOD /path/{param}" into its
// method and path template.
func SplitEndpointName(name string) (method, path string, err error) {
	return splitEndpointName(name)
}

// ---------------------------------------------------------------------------

// planValidator collects field errors; it is separate from the scenario
// validator so that the two documents evolve independently.
type planValidator struct{ errs ValidationErrors }

func (v *planValidator) add(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *planValidator) fraction(path string, f float64) {
	if !(f >= 0 && f <= 1) {
		v.add(path, "expected a fraction between 0 and 1 (0.3 for 30%%), got %v", f)
	}
}

func (v *planValidator) result() error {
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

func finiteNonNeg(f float64) bool { return f >= 0 && !math.IsInf(f, 0) && !math.IsNaN(f) }

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
