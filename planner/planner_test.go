package planner

import (
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"

	goldenfile "github.com/headroom-sh/headroom/internal/golden"
)

// goldenNameRE matches what golden file names replace: anything but
// letters, digits, '_' and '-'.
var goldenNameRE = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// golden compares got with testdata/<test name><ext>, or rewrites it with -update.
func golden(t *testing.T, ext string, got []byte) {
	t.Helper()
	name := goldenNameRE.ReplaceAllString(strings.ReplaceAll(t.Name(), "/", "__"), "_")
	goldenfile.File(t, filepath.Join("testdata", name+ext), got)
}

func mustBuild(t *testing.T, in Input) *model.Plan {
	t.Helper()
	p, err := Build(in)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return p
}

func change(p *model.Plan, id string) *model.PlanChange {
	for i := range p.Changes {
		if p.Changes[i].ID == id {
			return &p.Changes[i]
		}
	}
	return nil
}

func ids(p *model.Plan) []string {
	out := []string{}
	for _, c := range p.Changes {
		out = append(out, c.ID)
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestTheLaunchStoryRaisesThePoolScalesPodsUpgradesTheDatabaseAndSuggestsAReplica
// is the golden case: break at 520 RPS on 3 pods, pool of 20
// exhausted at 380 RPS, baseline 180 RPS, target 3×.
// TestThePlanJudgesByTheAnalysisOptions: the saturation threshold and the
// SLO come from the options analysis.json records, and an analysis
// without them gets the analyzer's defaults with the assumption said.
func TestThePlanJudgesByTheAnalysisOptions(t *testing.T) {
	a := launchAnalysis()
	a.SLO = model.SLO{}
	a.Options = &model.AnalysisOptions{SLOP95Ms: 500, MaxErrorRate: 0.02, SaturationUtilization: 0.8}
	p := mustBuild(t, Input{Analysis: a, Topology: launchTopology(), Target: Target{Multiplier: 3}})
	if p.Target.SLO.P95Ms != 500 || p.Target.SLO.MaxErrorRate != 0.02 {
		t.Errorf("SLO = %+v, want the analysis' 500 ms and 2%%", p.Target.SLO)
	}
	// Little's law at the recorded threshold: 48 of 60 connections (80%)
	// at 380 RPS.
	if !near(p.Measured.ConnectionHoldMs, 48.0/380*1000, 1e-6) {
		t.Errorf("hold = %v ms, want %v", p.Measured.ConnectionHoldMs, 48.0/380*1000)
	}

	old := launchAnalysis()
	old.Options = nil
	p = mustBuild(t, Input{Analysis: old, Topology: launchTopology(), Target: Target{Multiplier: 3}})
	if !strings.Contains(strings.Join(p.Assumptions, "\n"), "does not record the options it used; a resource is taken as saturated at 90% of its limit") {
		t.Errorf("assumptions %q, want the assumed threshold said", p.Assumptions)
	}
}

func TestTheLaunchStoryRaisesThePoolScalesPodsUpgradesTheDatabaseAndSuggestsAReplica(t *testing.T) {
	p := mustBuild(t, Input{Analysis: launchAnalysis(), Topology: launchTopology(), Target: Target{Multiplier: 3}})

	want := []string{model.ChangeIDDBPool, model.ChangeIDMaxConnections, model.ChangeIDPods, model.ChangeIDHPA, model.ChangeIDDatabaseClass, model.ChangeIDReadReplica}
	if got := ids(p); !reflect.DeepEqual(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
	if p.Target.TargetRPS != 540 || !near(p.Target.RequiredRPS, 648, 1e-9) || !near(p.Target.TargetPeakRPS, 630, 1e-9) {
		t.Errorf("target = %+v, want 540 RPS, 648 required, peak 630", p.Target)
	}
	// Little's law: 54 of 60 connections (90%) at 380 RPS → 142 ms.
	if !near(p.Measured.ConnectionHoldMs, 54.0/380*1000, 1e-6) {
		t.Errorf("hold = %v ms, want %v", p.Measured.ConnectionHoldMs, 54.0/380*1000)
	}
	if !near(p.Measured.PerPodRPS, 520.0/3, 1e-9) {
		t.Errorf("per pod = %v, want 173.3", p.Measured.PerPodRPS)
	}
	checks := []struct {
		id, from, to string
		delta        float64
	}{
		// ceil(0.14211 s × 648/4 RPS) = ceil(23.02) = 24.
		{model.ChangeIDDBPool, "20", "24", 0},
		// 5 pods at max × 24 + 10 reserved = 130.
		{model.ChangeIDMaxConnections, "100", "130", 0},
		// ceil(648 / 173.3) = 4; one pod is 25% of an m6i.large: 0.25 × 0.096 × 730.
		{model.ChangeIDPods, "3", "4", 17.52},
		{model.ChangeIDHPA, "none", "4–5 @ 65%", 0},
		// (0.50 − 0.25) × 730.
		{model.ChangeIDDatabaseClass, "db.r5.large", "db.r5.xlarge", 182.50},
		// One db.r5.xlarge: 0.50 × 730.
		{model.ChangeIDReadReplica, "0", "1", 365.00},
	}
	for _, c := range checks {
		ch := change(p, c.id)
		if ch.From != c.from || ch.To != c.to || ch.MonthlyCostDelta != c.delta {
			t.Errorf("%s: %s → %s %v, want %s → %s %v", c.id, ch.From, ch.To, ch.MonthlyCostDelta, c.from, c.to, c.delta)
		}
	}
	if !change(p, model.ChangeIDReadReplica).Optional {
		t.Error("the read replica should be optional (to consider)")
	}
	db := change(p, model.ChangeIDDatabaseClass)
	if !db.Assumption || !strings.Contains(db.AssumptionNote, "above 380 RPS is extrapolated") {
		t.Errorf("the database row should be an assumption extrapolated above 380 RPS, got %q", db.AssumptionNote)
	}
	if !containsLine(p.Assumptions, "The database was not the bottleneck in the test; its behaviour above 380 RPS is extrapolated.") {
		t.Errorf("assumptions lack the database extrapolation: %q", p.Assumptions)
	}
	if !p.Totals.MeetsTarget || p.Totals.ExpectedHeadroomRatio < 0.2 {
		t.Errorf("expected headroom %v, want ≥ 0.20 and meets_target", p.Totals.ExpectedHeadroomRatio)
	}
	if p.Proposed.API.Pods != 4 || p.Proposed.API.DBPoolSize != 24 || p.Proposed.Database.InstanceClass != "db.r5.xlarge" || p.Proposed.Database.MaxConnections != 130 {
		t.Errorf("proposed topology = %+v %+v", p.Proposed.API, p.Proposed.Database)
	}

	golden(t, ".md", Markdown(p))
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, ".json", append(js, '\n'))
}

func containsLine(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCostsAddUpByHand checks the launch story's totals against arithmetic
// done by hand from the catalog: m6i.large $0.096/h, db.r5.large $0.25/h,
// db.r5.xlarge $0.50/h, cache.r6g.large $0.206/h, 730 h a month.
func TestCostsAddUpByHand(t *testing.T) {
	p := mustBuild(t, Input{Analysis: launchAnalysis(), Topology: launchTopology(), Target: Target{RPS: 540}})
	pod := 0.25 * 0.096 * 730               // 17.52
	current := 3*pod + 0.25*730 + 0.206*730 // 52.56 + 182.50 + 150.38 = 385.44
	next := 4*pod + 0.50*730 + 0.206*730    // 70.08 + 365.00 + 150.38 = 585.46
	tt := p.Totals
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"current monthly", tt.CurrentMonthly, 385.44},
		{"new monthly", tt.NewMonthly, 585.46},
		{"delta", tt.DeltaMonthly, 200.02},
		{"optional", tt.OptionalMonthly, 365.00},
		{"cost per 1k RPS before (385.44 / 0.18)", tt.CostPer1kRPSBefore, 2141.33},
		{"cost per 1k RPS after (585.46 / 0.54)", tt.CostPer1kRPSAfter, 1084.19},
		{"hand current", current, 385.44},
		{"hand new", next, 585.46},
	} {
		if !near(c.got, c.want, 0.005) {
			t.Errorf("%s = %.4f, want %.2f", c.name, c.got, c.want)
		}
	}
	// The required changes' deltas sum to the difference of the totals, and
	// the lines sum to the totals.
	var sum, cur, nw float64
	for _, c := range p.Changes {
		if !c.Optional {
			sum += c.MonthlyCostDelta
		}
	}
	for _, l := range tt.Lines {
		cur += l.CurrentMonthly
		nw += l.NewMonthly
	}
	if !near(sum, tt.DeltaMonthly, 0.005) || !near(cur, tt.CurrentMonthly, 0.005) || !near(nw, tt.NewMonthly, 0.005) {
		t.Errorf("changes sum %.2f, lines %.2f → %.2f; totals %.2f → %.2f (delta %.2f)", sum, cur, nw, tt.CurrentMonthly, tt.NewMonthly, tt.DeltaMonthly)
	}
}

// TestPlanDecisions is keyed by what each case shows.
func TestPlanDecisions(t *testing.T) {
	cpuTopo := launchTopology()
	cpuTopo.Database.CPUUtilization = 0.2
	dbTopo := launchTopology()
	dbTopo.Database.CPUUtilization = 0
	poolerTopo := launchTopology()
	poolerTopo.Database.MemoryPerConnection = 512 * model.MiB
	mysqlTopo := launchTopology()
	mysqlTopo.Database.Engine = model.EngineMySQL
	hpaTopo := launchTopology()
	hpaTopo.API.HPA = &model.HPA{MinReplicas: 3, MaxReplicas: 8, TargetCPUUtilization: 0.7}
	staging := launchTopology()
	staging.Tested = &model.TestedShape{Pods: 1}
	memcachedTopo := launchTopology()
	memcachedTopo.Database.CPUUtilization = 0.2
	memcachedTopo.Cache.Engine = model.EngineMemcached

	tests := []struct {
		name     string
		analysis *model.Analysis
		topo     *model.Topology
		target   Target
		want     []string
		check    func(t *testing.T, p *model.Plan)
	}{
		{
			name:     "a pool that saturates first is raised by Little's law before anything is bought",
			analysis: launchAnalysis(), topo: launchTopology(), target: Target{Multiplier: 3},
			want: []string{"db_pool", "max_connections", "pods", "hpa", "database_class", "read_replica"},
			check: func(t *testing.T, p *model.Plan) {
				if p.Changes[0].Kind != model.ChangeConfig || p.Changes[0].MonthlyCostDelta != 0 {
					t.Errorf("the first change should be free configuration, got %+v", p.Changes[0])
				}
			},
		},
		{
			name:     "a CPU-bound service scales pods and targets the CPU where a pod still has its headroom",
			analysis: cpuBoundAnalysis(), topo: cpuTopo, target: Target{Multiplier: 3},
			want: []string{"pods", "hpa"},
			check: func(t *testing.T, p *model.Plan) {
				// 600 RPS / 3 pods = 200 per pod; ceil(648/200) = 4.
				if c := change(p, "pods"); c.To != "4" {
					t.Errorf("pods → %s, want 4", c.To)
				}
				// At 200/1.2 = 166.7 RPS a pod uses 0.92 × 166.7/200 = 0.767
				// cores = 153% of its 0.5-core request → 150% (75% of its limit).
				if got := p.Proposed.API.HPA.TargetCPUUtilization; !near(got, 1.5, 1e-9) {
					t.Errorf("HPA target = %v, want 1.5", got)
				}
			},
		},
		{
			name:     "a database that saturates moves up to the class the required rate needs",
			analysis: dbBoundAnalysis(), topo: dbTopo, target: Target{Multiplier: 3},
			want: []string{"database_class", "read_replica"},
			check: func(t *testing.T, p *model.Plan) {
				// 520 RPS on 2 vCPUs; 648 RPS needs 2.5 → db.r5.xlarge (4).
				if c := change(p, "database_class"); c.To != "db.r5.xlarge" || c.MonthlyCostDelta != 182.5 {
					t.Errorf("database → %s %+v", c.To, c.MonthlyCostDelta)
				}
				// Pods are not the limit: their CPU was 35%, so a pod carries
				// 173.3 × 0.8 / 0.35 = 396 RPS and 3 pods suffice.
				if p.Measured.PerPodSource != "cpu_extrapolated" || !near(p.Measured.PerPodRPS, 520.0/3*0.8/0.35, 1e-6) {
					t.Errorf("per pod = %v (%s)", p.Measured.PerPodRPS, p.Measured.PerPodSource)
				}
			},
		},
		{
			name:     "a Redis at its one core is sharded rather than moved to a larger node",
			analysis: cacheBoundAnalysis(), topo: cpuTopo, target: Target{Multiplier: 3},
			want: []string{"cache"},
			check: func(t *testing.T, p *model.Plan) {
				// 0.96 at 520 RPS → 0.997 at 540 → ceil(0.997/0.7) = 2 shards.
				c := change(p, "cache")
				if c.From != "1" || c.To != "2" || c.MonthlyCostDelta != 150.38 || c.Kind != model.ChangeHorizontal {
					t.Errorf("cache change = %+v", c)
				}
			},
		},
		{
			name:     "a memcached at its limit moves to a larger node type, since it runs on every core",
			analysis: cacheBoundAnalysis(), topo: memcachedTopo, target: Target{Multiplier: 3},
			want: []string{"cache"},
			check: func(t *testing.T, p *model.Plan) {
				// 2 vCPUs × 2 shards' worth of load → 4 vCPUs: cache.r6g.xlarge.
				c := change(p, "cache")
				if c.Kind != model.ChangeVertical || c.From != "cache.r6g.large" || c.To != "cache.r6g.xlarge" || !c.Assumption ||
					!near(c.MonthlyCostDelta, (0.411-0.206)*730, 0.005) {
					t.Errorf("cache change = %+v", c)
				}
				// Memcached's threads use every core: the reason speaks of the
				// node's vCPUs, not of Redis's main thread.
				if strings.Contains(c.Why, "main thread") || !strings.Contains(c.Why, "of its 2 vCPUs") ||
					!strings.Contains(c.Why, "on cache.r6g.xlarge (4 vCPUs) it would run at about 50%") {
					t.Errorf("cache why = %q, want memcached's vCPUs", c.Why)
				}
				// The larger node carries twice the cache's 487.5 RPS (975),
				// so the database's 810 RPS is the new limit: 810/540 − 1 = +50%.
				if tt := p.Totals; !near(tt.ExpectedCapacityRPS, 810, 1e-6) || tt.ExpectedLimit != "database" ||
					!near(tt.ExpectedHeadroomRatio, 0.5, 1e-6) || !tt.MeetsTarget || strings.Contains(p.Verdict, "short of") {
					t.Errorf("totals = %v RPS (%s), headroom %v, meets %v; verdict %q", tt.ExpectedCapacityRPS, tt.ExpectedLimit, tt.ExpectedHeadroomRatio, tt.MeetsTarget, p.Verdict)
				}
			},
		},
		{
			name:     "when nothing broke, pods are sized from the highest tested load and marked as the most needed",
			analysis: nothingBrokeAnalysis(), topo: cpuTopo, target: Target{Multiplier: 3},
			// At the HPA's 6 pods (756 RPS at peak ÷ 133.3) × 20 + 10 > 100.
			want: []string{"max_connections", "pods", "hpa"},
			check: func(t *testing.T, p *model.Plan) {
				c := change(p, "pods")
				// 400/3 = 133.3 per pod; ceil(648/133.3) = 5.
				if c.To != "5" || !c.Assumption {
					t.Errorf("pods change = %+v, want 5 and an assumption", c)
				}
				if p.Measured.CapacitySource != "tested_up_to" {
					t.Errorf("capacity source = %s", p.Measured.CapacitySource)
				}
			},
		},
		{
			name:     "when production already carries the target, the plan changes nothing and says so",
			analysis: launchAnalysis(), topo: launchTopology(), target: Target{Multiplier: 1.5},
			want: []string{},
			check: func(t *testing.T, p *model.Plan) {
				if !strings.HasPrefix(p.Verdict, "Production already carries 270 RPS") || p.Totals.DeltaMonthly != 0 {
					t.Errorf("verdict = %q, delta %v", p.Verdict, p.Totals.DeltaMonthly)
				}
			},
		},
		{
			name:     "pools that need more connections than the database's memory allows get a pooler in front",
			analysis: launchAnalysis(), topo: poolerTopo, target: Target{Multiplier: 3},
			want: []string{"db_pool", "pooler", "pods", "hpa", "database_class", "read_replica"},
			check: func(t *testing.T, p *model.Plan) {
				// Two PgBouncer pods of max(0.25/2, 0.25/8) = 12.5% of an m6i.large: 2 × 8.76.
				if c := change(p, "pooler"); c.MonthlyCostDelta != 17.52 {
					t.Errorf("pooler costs %v, want 17.52", c.MonthlyCostDelta)
				}
			},
		},
		{
			name:     "an existing autoscaler keeps its larger maximum and max_connections fits it",
			analysis: launchAnalysis(), topo: hpaTopo, target: Target{Multiplier: 3},
			want: []string{"db_pool", "max_connections", "pods", "hpa", "database_class", "read_replica"},
			check: func(t *testing.T, p *model.Plan) {
				// 8 pods × 24 + 10 = 202 → 210.
				if c := change(p, "max_connections"); c.To != "210" {
					t.Errorf("max_connections → %s, want 210", c.To)
				}
				if h := p.Proposed.API.HPA; h.MinReplicas != 4 || h.MaxReplicas != 8 {
					t.Errorf("HPA = %+v", h)
				}
			},
		},
		{
			name:     "a test on one staging pod is scaled to production's pods",
			analysis: launchAnalysis(), topo: staging, target: Target{Multiplier: 3},
			want: []string{"database_class", "read_replica"},
			check: func(t *testing.T, p *model.Plan) {
				// 520 RPS on 1 pod: production's 3 pods would carry 1,560, but
				// the database saturates at 0.9 / (0.30/180) = 540 RPS.
				if !near(p.Measured.PerPodRPS, 520, 1e-9) || !near(p.Measured.ProductionCapacityRPS, 540, 1e-6) {
					t.Errorf("per pod %v, production capacity %v; want 520 and 540", p.Measured.PerPodRPS, p.Measured.ProductionCapacityRPS)
				}
				if !containsPrefix(p.Assumptions, "The test ran on 1 pod and production runs 3") {
					t.Errorf("assumptions lack the tested shape: %q", p.Assumptions)
				}
			},
		},
		{
			name:     "a stricter SLO than the analysis's lowers the capacity to the last stage within it",
			analysis: launchAnalysis(), topo: launchTopology(), target: Target{Multiplier: 3, SLOP95: 500 * time.Millisecond},
			// 5 pods at 400/3 RPS each; 648/5 × 142 ms = 18.4 fits the pool of 20.
			want: []string{"max_connections", "pods", "hpa", "database_class", "read_replica"},
			check: func(t *testing.T, p *model.Plan) {
				// Stage p95s: 120, 150, 320, 700 → the 400 RPS stage is the last under 500 ms.
				if p.Measured.CapacityRPS != 400 || p.Measured.CapacitySource != "stage_table" {
					t.Errorf("capacity = %v (%s), want 400 from the stage table", p.Measured.CapacityRPS, p.Measured.CapacitySource)
				}
				if p.Target.SLO.P95Ms != 500 {
					t.Errorf("SLO p95 = %v", p.Target.SLO.P95Ms)
				}
			},
		},
		{
			name:     "MySQL's max_connections is raised with MySQL's memory per connection",
			analysis: launchAnalysis(), topo: mysqlTopo, target: Target{Multiplier: 3},
			want: []string{"db_pool", "max_connections", "pods", "hpa", "database_class", "read_replica"},
			check: func(t *testing.T, p *model.Plan) {
				c := change(p, "max_connections")
				// 30 × 12,582,880 bytes = 360 MiB.
				if !near(c.Numbers["extra_memory_mib"], 30*12582880.0/(1<<20), 1e-6) {
					t.Errorf("extra memory = %v MiB", c.Numbers["extra_memory_mib"])
				}
				if db := change(p, "database_class"); db.MonthlyCostDelta != cents((0.48-0.24)*730) {
					t.Errorf("MySQL upgrade costs %v", db.MonthlyCostDelta)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustBuild(t, Input{Analysis: tc.analysis, Topology: tc.topo, Target: tc.target})
			if got := ids(p); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("changes = %v, want %v\n%s", got, tc.want, Markdown(p))
			}
			if tc.check != nil {
				tc.check(t, p)
			}
			golden(t, ".md", Markdown(p))
		})
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, x := range list {
		if strings.HasPrefix(x, prefix) {
			return true
		}
	}
	return false
}

// TestBuildDoesNotModifyItsInputs checks that the analysis, topology and
// prices are left as they were.
func TestBuildDoesNotModifyItsInputs(t *testing.T) {
	a, topo, prices := launchAnalysis(), launchTopology(), DefaultPrices()
	snap := func() string {
		b, err := json.Marshal([]any{a, topo, prices})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := snap()
	mustBuild(t, Input{Analysis: a, Topology: topo, Prices: prices, Target: Target{Multiplier: 3}})
	if after := snap(); after != before {
		t.Errorf("Build modified its inputs:\nbefore %s\nafter  %s", before, after)
	}
}

func TestBuildRejectsWhatItCannotPlanFrom(t *testing.T) {
	noPrice := launchTopology()
	noPrice.API.InstanceType = "m9.huge"
	noCapacity := launchAnalysis()
	noCapacity.BreakingPoint, noCapacity.TestedUpToRPS = nil, 0
	queryOnly := launchTopology()
	queryOnly.Baseline = model.Baseline{RPSQuery: "sum(rate(http_requests_total[5m]))"}
	tests := []struct {
		name   string
		in     Input
		is     error
		substr string
	}{
		{"a target given twice is refused", Input{Analysis: launchAnalysis(), Topology: launchTopology(), Target: Target{Multiplier: 3, RPS: 540}}, ErrBadInput, "not both"},
		{"no target is refused", Input{Analysis: launchAnalysis(), Topology: launchTopology()}, ErrBadInput, "no target"},
		{"a negative multiplier is refused", Input{Analysis: launchAnalysis(), Topology: launchTopology(), Target: Target{Multiplier: -1}}, ErrBadInput, "greater than 0"},
		{"an instance type without a price names the field", Input{Analysis: launchAnalysis(), Topology: noPrice, Target: Target{Multiplier: 3}}, ErrNoPrice, `api.instance_type "m9.huge" has no compute price`},
		{"an analysis without a capacity is refused", Input{Analysis: noCapacity, Topology: launchTopology(), Target: Target{Multiplier: 3}}, ErrBadInput, "tested_up_to_rps is 0"},
		{"an unresolved baseline query is refused", Input{Analysis: launchAnalysis(), Topology: queryOnly, Target: Target{Multiplier: 3}}, ErrBadInput, "baseline.rps is 0"},
		{"a missing topology is refused", Input{Analysis: launchAnalysis(), Target: Target{Multiplier: 3}}, ErrBadInput, "no topology"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.in)
			if !errors.Is(err, tc.is) || err == nil || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("err = %v, want %v containing %q", err, tc.is, tc.substr)
			}
		})
	}
}

func TestAUserPriceOverridesTheCatalogAndChangesTheCost(t *testing.T) {
	user, err := ParsePrices([]byte(`
currency: USD
entries:
  - {kind: database, engine: postgres, name: db.r5.xlarge, vcpu: 4, memory_gib: 32, price: 0.40, unit: hour, as_of: "2026-11-01", source: "our enterprise agreement"}
`), "ours.yaml")
	if err != nil {
		t.Fatal(err)
	}
	merged, err := MergePrices(DefaultPrices(), user, "ours.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := mustBuild(t, Input{Analysis: launchAnalysis(), Topology: launchTopology(), Prices: merged, Target: Target{Multiplier: 3}})
	if c := change(p, model.ChangeIDDatabaseClass); c.MonthlyCostDelta != cents((0.40-0.25)*730) {
		t.Errorf("database delta = %v, want %v", c.MonthlyCostDelta, cents((0.40-0.25)*730))
	}
	found := false
	for _, e := range p.Prices.Used {
		found = found || (e.Name == "db.r5.xlarge" && e.Source == "our enterprise agreement")
	}
	if !found {
		t.Errorf("the plan does not cite the user's price: %+v", p.Prices.Used)
	}
}

// TestNewCapacityCountsEachChange checks, for each change that adds
// capacity, that the plan's new capacity counts it where the changed
// resource was the limit, and that the next-lowest limit then takes over.
// Every figure is worked out by hand from the fixtures:
//
//   - a pod's rate: measured 520/3 = 173.3 (launch story), 600/3 = 200
//     (CPU-bound); extrapolated from CPU when a shared resource broke the
//     test, 173.3 × 0.8/0.38 = 364.9 (cache-bound), 173.3 × 0.8/0.35 = 396.2
//     (database-bound).
//   - the database's CPU on db.r5.large (2 vCPUs): 0.30 or 0.20 at 180 RPS
//     saturates (90%) at 0.9 × 180/0.30 = 540 or 0.9 × 180/0.20 = 810 RPS;
//     on db.r5.xlarge (4 vCPUs) twice that.
//   - the cache's busiest node: 96% at 520 RPS saturates at
//     0.9 × 520/0.96 = 487.5 RPS per node of the size tested.
//   - the DB pool by Little's law: pods × pool ÷ hold time.
func TestNewCapacityCountsEachChange(t *testing.T) {
	memcached := launchTopology()
	memcached.Database.CPUUtilization = 0.2
	memcached.Cache.Engine = model.EngineMemcached
	redis := launchTopology()
	redis.Database.CPUUtilization = 0.2
	dbTopo := launchTopology()
	dbTopo.Database.CPUUtilization = 0
	// Memcached tested on a node twice production's size: production's
	// node carries half the test's rate.
	memcachedBigTest := launchTopology()
	memcachedBigTest.Database.CPUUtilization = 0.2
	memcachedBigTest.Cache.Engine = model.EngineMemcached
	memcachedBigTest.Tested = &model.TestedShape{CacheNodeType: "cache.r6g.xlarge"}
	// Pools of 40 on 3 pods: 120 connections for max_connections 100 less
	// 10 reserved, 90.
	connTopo := serverConnTopology()

	tests := []struct {
		name     string
		analysis *model.Analysis
		topo     *model.Topology
		change   string
		// current and its limit; new and its limit; next is the limit the
		// changed resource would reach on its own (it must be ≥ new).
		current      float64
		currentLimit string
		next         float64
		nextLimit    string
		changed      float64
	}{
		{
			name: "memcached on a larger node type", analysis: cacheBoundAnalysis(), topo: memcached, change: model.ChangeIDCache,
			// Today the cache: 487.5. On cache.r6g.xlarge (4 vCPUs, 2 today)
			// it carries 487.5 × 4/2 = 975; pods 3 × 364.9 = 1,094.7; the
			// database 810 is then the lowest.
			current: 0.9 * 520 / 0.96, currentLimit: "cache",
			changed: 0.9 * 520 / 0.96 * 4 / 2,
			next:    0.9 * 180 / 0.2, nextLimit: "database",
		},
		{
			name: "memcached tested on a larger node than production's", analysis: cacheBoundAnalysis(), topo: memcachedBigTest, change: model.ChangeIDCache,
			// 96% of 4 vCPUs at 520 RPS is 192% of production's 2 at 520:
			// today 487.5 × 2/4 = 243.75. At 540 RPS it would reach
			// 0.96 × 540/520 × 2 = 199% → 2.85 nodes' worth → 3 × 2 = 6
			// vCPUs → cache.r6g.2xlarge (8): 487.5 × 8/4 = 975; database 810.
			current: 0.9 * 520 / 0.96 * 2 / 4, currentLimit: "cache",
			changed: 0.9 * 520 / 0.96 * 8 / 4,
			next:    0.9 * 180 / 0.2, nextLimit: "database",
		},
		{
			name: "memcached that broke the test without a measured CPU", analysis: memcachedBoundAnalysis(), topo: memcached, change: model.ChangeIDCache,
			// It carried 520 RPS on 2 vCPUs; 648 needs 2.5 → cache.r6g.xlarge
			// (4): 520 × 4/2 = 1,040. The database's 810 is lower.
			current: 520, currentLimit: "cache",
			changed: 1040,
			next:    0.9 * 180 / 0.2, nextLimit: "database",
		},
		{
			name: "Redis sharded", analysis: cacheBoundAnalysis(), topo: redis, change: model.ChangeIDCache,
			// Two shards: 2 × 487.5 = 975; the database's 810 is lower.
			current: 0.9 * 520 / 0.96, currentLimit: "cache",
			changed: 2 * 0.9 * 520 / 0.96,
			next:    0.9 * 180 / 0.2, nextLimit: "database",
		},
		{
			name: "database class", analysis: dbBoundAnalysis(), topo: dbTopo, change: model.ChangeIDDatabaseClass,
			// It carried 520 RPS on 2 vCPUs: db.r5.xlarge (4) carries
			// 520 × 4/2 = 1,040. Pods 3 × 396.2 = 1,188.6 are higher, but a
			// pod's rate is extrapolated from CPU, past what its pool was
			// tested at: 42 of 60 connections at 520 RPS hold one for
			// 80.8 ms, and 3 × 20 / 0.0808 = 742.9 is the next limit.
			current: 520, currentLimit: "database",
			changed: 1040,
			next:    3 * 20 / (0.7 * 60 / 520), nextLimit: "db_pool",
		},
		{
			name: "pool raised, pods scaled, database moved up", analysis: launchAnalysis(), topo: launchTopology(), change: model.ChangeIDDBPool,
			// Today 3 pods × 173.3 = 520 (the pool as tested is in the
			// measurement). Hold 54/380 s = 142.1 ms; 4 pods × 24 / 0.1421 =
			// 675.6, below 4 × 173.3 = 693.3 and db.r5.xlarge's
			// 0.9 × 180/0.30 × 4/2 = 1,080.
			current: 520, currentLimit: "pods",
			changed: 4 * 24 / (54.0 / 380),
			next:    4 * 24 / (54.0 / 380), nextLimit: "db_pool",
		},
		{
			name: "max_connections raised where the server's connections broke the test", analysis: serverConnBoundAnalysis(), topo: connTopo, change: model.ChangeIDMaxConnections,
			// Hold: 75% of 3 × 40 = 90 pool connections in use at the 520 RPS
			// break, 90/520 = 173.1 ms (76% of 120 = 91.2 at 540 RPS gives
			// 168.9 ms; the larger is kept). The server has 100 − 10 reserved
			// = 90 slots for the application: 90 ÷ 0.1731 = 520 RPS today,
			// below pods 3 × 364.9 = 1,094.7, the pools 3 × 40 ÷ 0.1731 =
			// 693.3 and the database 810. max_connections → 3 × 40 + 10 = 130:
			// 120 slots ÷ 0.1731 = 693.3, the pools' own limit, which is the
			// next.
			current: 90 / (90.0 / 520), currentLimit: model.KindDBServerConnections,
			changed: (130 - 10) / (90.0 / 520),
			next:    3 * 40 / (90.0 / 520), nextLimit: "db_pool",
		},
		{
			name: "max_connections raised, the hold measured by the server's connections alone", analysis: serverConnBoundNoPoolAnalysis(), topo: connTopo, change: model.ChangeIDMaxConnections,
			// No pool metric: the server's connections give the hold. It
			// saturated (90% of 100 = 90 in use) at 480 RPS: 187.5 ms (97 at
			// 520 gives 186.5, 98 at 540 181.5; the larger is kept). Today
			// 90 slots ÷ 0.1875 = 480 RPS. The pool is raised to
			// ⌈648/3 × 0.1875⌉ = 41, max_connections to 3 × 41 + 10 = 133 →
			// 140: 130 slots ÷ 0.1875 = 693.3, above the pools'
			// 3 × 41 ÷ 0.1875 = 656.
			current: 90 / 0.1875, currentLimit: model.KindDBServerConnections,
			changed: (140 - 10) / 0.1875,
			next:    3 * 41 / 0.1875, nextLimit: "db_pool",
		},
		{
			name: "pods scaled", analysis: cpuBoundAnalysis(), topo: redis, change: model.ChangeIDPods,
			// 3 → 4 pods of 200: 800, under the database's 810.
			current: 600, currentLimit: "pods",
			changed: 800,
			next:    800, nextLimit: "pods",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustBuild(t, Input{Analysis: tc.analysis, Topology: tc.topo, Target: Target{Multiplier: 3}})
			if change(p, tc.change) == nil {
				t.Fatalf("no %s change: %v\n%s", tc.change, ids(p), Markdown(p))
			}
			tt := p.Totals
			if !near(tt.CurrentCapacityRPS, tc.current, 1e-6) || p.Measured.ProductionCapacityRPS != tt.CurrentCapacityRPS {
				t.Errorf("current capacity = %v, want %v (%s)", tt.CurrentCapacityRPS, tc.current, tc.currentLimit)
			}
			want, wantLimit := math.Min(tc.changed, tc.next), tc.nextLimit
			if !near(tt.ExpectedCapacityRPS, want, 1e-6) || tt.ExpectedLimit != wantLimit {
				t.Errorf("new capacity = %v (%s), want %v (%s)", tt.ExpectedCapacityRPS, tt.ExpectedLimit, want, wantLimit)
			}
			if !(tt.ExpectedCapacityRPS > tt.CurrentCapacityRPS) {
				t.Errorf("new capacity %v is not above today's %v", tt.ExpectedCapacityRPS, tt.CurrentCapacityRPS)
			}
			if tt.ExpectedCapacityRPS > tc.next+1e-6 {
				t.Errorf("new capacity %v is above the next limit, %s at %v", tt.ExpectedCapacityRPS, tc.nextLimit, tc.next)
			}
			if !near(tt.ExpectedHeadroomRatio, tt.ExpectedCapacityRPS/540-1, 1e-9) {
				t.Errorf("headroom at the target = %v, want %v", tt.ExpectedHeadroomRatio, tt.ExpectedCapacityRPS/540-1)
			}
			meets := tt.ExpectedCapacityRPS >= 648
			if tt.MeetsTarget != meets || strings.Contains(p.Verdict, "short of") == meets {
				t.Errorf("meets target = %v, want %v; verdict %q", tt.MeetsTarget, meets, p.Verdict)
			}
		})
	}
}

// memcachedBoundAnalysis broke at 520 RPS on memcached, whose CPU the
// catalog did not measure.
func memcachedBoundAnalysis() *model.Analysis {
	a := cacheBoundAnalysis()
	a.Bottleneck = model.Bottleneck{Resource: "memcached_cpu", Name: "memcached CPU", SaturatedAtRPS: f(480), BreakingRPS: 520, Confidence: model.ConfidenceHigh}
	a.Resources = a.Resources[1:]
	return a
}

// TestAPoolerAddsNoServerConnections: where the server's connections broke
// the test and max_connections cannot be raised to fit the pools, the
// pooler is proposed, but it opens at most max_connections − reserved
// server connections, so by Little's law the capacity it leaves is that
// many ÷ the hold time, today's, and the plan says it falls short.
func TestAPoolerAddsNoServerConnections(t *testing.T) {
	topo := serverConnTopology()
	// db.r5.large's 16 GiB allow exactly today's 100 connections, short of
	// the 3 × 40 + 10 = 130 the pools need: a pooler, and no room to raise.
	topo.Database.MemoryPerConnection = 16 * model.GiB / 100
	p := mustBuild(t, Input{Analysis: serverConnBoundAnalysis(), Topology: topo, Target: Target{Multiplier: 3}})
	c := change(p, model.ChangeIDPooler)
	if c == nil || change(p, model.ChangeIDMaxConnections) != nil {
		t.Fatalf("want a pooler and no max_connections change: %v\n%s", ids(p), Markdown(p))
	}
	// 100 − 10 reserved = 90 slots, each held 90/520 s = 173.1 ms: 520 RPS.
	want := 90 / (90.0 / 520)
	tt := p.Totals
	if !near(tt.CurrentCapacityRPS, want, 1e-6) || !near(tt.ExpectedCapacityRPS, want, 1e-6) || tt.ExpectedLimit != model.KindDBServerConnections {
		t.Errorf("capacity %v → %v (%s), want %v → %v (db_server_connections)", tt.CurrentCapacityRPS, tt.ExpectedCapacityRPS, tt.ExpectedLimit, want, want)
	}
	if tt.MeetsTarget || !strings.Contains(p.Verdict, "short of the 648 RPS") {
		t.Errorf("meets target = %v; verdict %q", tt.MeetsTarget, p.Verdict)
	}
	if !c.Assumption || !strings.Contains(c.AssumptionNote, "carry 90 ÷ 173.1 ms = 520 RPS") || !near(c.Numbers["server_connections_rps"], want, 1e-6) {
		t.Errorf("pooler's assumption %v %q, numbers %v", c.Assumption, c.AssumptionNote, c.Numbers)
	}
	if !hasAssumption(p, "all in use at 90 ÷ 173.1 ms = 520 RPS") {
		t.Errorf("no assumption explains today's capacity: %q", p.Assumptions)
	}
}

// TestAPoolerComesWithTheServerConnectionsTheRateHolds: with a pooler in
// front the server needs only the connections the required rate holds,
// not one per pool slot, so max_connections is raised toward that as far
// as the class's memory allows, and the capacity counts it.
func TestAPoolerComesWithTheServerConnectionsTheRateHolds(t *testing.T) {
	topo := serverConnTopology()
	// 16 GiB ÷ 128 MiB = 128 connections on db.r5.large, short of the
	// 3 × 40 + 10 = 130 the pools need: a pooler.
	topo.Database.MemoryPerConnection = 128 * model.MiB
	p := mustBuild(t, Input{Analysis: serverConnBoundAnalysis(), Topology: topo, Target: Target{Multiplier: 3}})
	if change(p, model.ChangeIDPooler) == nil {
		t.Fatalf("no pooler: %v\n%s", ids(p), Markdown(p))
	}
	// 648 RPS × 173.1 ms = 112.2 → 113 server connections + 10 reserved =
	// 123 → 130, capped at the 128 the memory allows.
	mc := change(p, model.ChangeIDMaxConnections)
	if mc == nil || mc.From != "100" || mc.To != "128" || p.Proposed.Database.MaxConnections != 128 {
		t.Fatalf("max_connections change %+v, proposed %d; want 100 → 128\n%s", mc, p.Proposed.Database.MaxConnections, Markdown(p))
	}
	// Today 90 ÷ 173.1 ms = 520; then 118 ÷ 173.1 ms = 681.8, below the
	// pools' 3 × 40 ÷ 173.1 ms = 693.3, the database's 810 and the pods'
	// 1,094.7.
	hold := 90.0 / 520
	tt := p.Totals
	if !near(tt.CurrentCapacityRPS, 90/hold, 1e-6) || !near(tt.ExpectedCapacityRPS, 118/hold, 1e-6) || tt.ExpectedLimit != model.KindDBServerConnections {
		t.Errorf("capacity %v → %v (%s), want %v → %v (db_server_connections)", tt.CurrentCapacityRPS, tt.ExpectedCapacityRPS, tt.ExpectedLimit, 90/hold, 118/hold)
	}
	if !tt.MeetsTarget {
		t.Errorf("does not meet the target: %q", p.Verdict)
	}
	if c := change(p, model.ChangeIDPooler); !strings.Contains(c.Why, "onto at most 118 server connections") {
		t.Errorf("pooler's reason %q", c.Why)
	}
}

func hasAssumption(p *model.Plan, sub string) bool {
	for _, a := range p.Assumptions {
		if strings.Contains(a, sub) {
			return true
		}
	}
	return false
}
