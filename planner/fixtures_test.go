package planner

import (
	"time"

	"github.com/headroom-sh/headroom/model"
)

// The fixtures tell the launch story: a checkout API on 3 pods with a DB
// pool of 20 per pod, a db.r5.large with max_connections 100 and a
// cache.r6g.large, carrying 180 RPS (peak 210). Its test broke at 520 RPS
// (p95 over 800 ms); the pool was full from 380 RPS while CPU was 41%.

func f(v float64) *float64 { return &v }

var t0 = time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)

func stage(name string, i, vus int, rps, p95, errRate float64) model.StageStats {
	start := t0.Add(time.Duration(i) * 2 * time.Minute)
	req := int64(rps * 120)
	return model.StageStats{
		Name: name, Executor: "ramping-vus", Start: start, End: start.Add(2 * time.Minute),
		VUs: vus, RPS: rps, P50Ms: p95 / 3, P90Ms: p95 * 0.8, P95Ms: p95, P99Ms: p95 * 1.6, MaxMs: p95 * 3, MeanMs: p95 / 2.5,
		ErrorRate: errRate, Requests: req, Errors: int64(float64(req) * errRate),
	}
}

func resource(kind, name string, limit float64, atBreak, atPeak float64, saturatedAt float64) model.ResourceAnalysis {
	r := model.ResourceAnalysis{
		Kind: kind, Name: name, Family: kind, Limit: limit,
		UtilizationAtBreak: f(atBreak), UtilizationAtPeak: f(atPeak), MaxUtilization: f(max(atBreak, atPeak)),
		MaxUsage: max(atBreak, atPeak) * limit,
	}
	if saturatedAt > 0 {
		r.Saturated, r.SaturatedBy, r.SaturatedAtRPS = true, model.SaturatedByUtilization, f(saturatedAt)
	}
	return r
}

// launchAnalysis is the launch story's analysis: break at 520 RPS, the DB
// pool (60 connections over 3 pods) saturated at 380 RPS, CPU 41%.
func launchAnalysis() *model.Analysis {
	bp := &model.BreakingPoint{
		Reason: model.ReasonLatencySLO, VUs: 160, RPS: 520, Value: 800, Limit: 800, Stage: "stage-4",
		Evidence: "p95 reached 800 ms at 160 VUs (520 RPS)", Confidence: model.ConfidenceHigh,
	}
	return &model.Analysis{
		RunID: "run-launch", Scenario: "checkout", LoadModel: model.LoadClosed,
		SLO:     model.SLO{P95Ms: 800, MaxErrorRate: 0.05},
		Options: &model.AnalysisOptions{SLOP95Ms: 800, MaxErrorRate: 0.05, SaturationUtilization: 0.9, StepMs: 5000},
		Stages: []model.StageStats{
			stage("warmup", 0, 20, 100, 120, 0),
			stage("stage-2", 1, 50, 250, 150, 0),
			stage("stage-3", 2, 100, 400, 320, 0),
			stage("stage-4", 3, 150, 510, 700, 0.001),
			stage("stage-5", 4, 200, 540, 1400, 0.02),
		},
		Endpoints: []model.EndpointStats{
			{Endpoint: "GET /api/products", RPS: 260, MeanMs: 60, P95Ms: 240},
			{Endpoint: "POST /api/cart/add", RPS: 130, MeanMs: 45, P95Ms: 150},
			{Endpoint: "POST /api/orders/create", RPS: 70, MeanMs: 140, P95Ms: 600},
			{Endpoint: "GET /api/orders/{id}", RPS: 60, MeanMs: 60, P95Ms: 220},
		},
		BreakingPoint:  bp,
		BreakingPoints: []model.BreakingPoint{*bp},
		TestedUpToRPS:  540, TestedUpToVUs: 200,
		Verdict: "Breaks at 520 RPS (160 VUs): p95 crossed 800 ms; the DB connection pool saturated first, at 380 RPS.",
		Bottleneck: model.Bottleneck{
			Resource: model.KindDBPool, Name: "DB connection pool", Family: "pgxpool",
			Evidence: "20/20 connections in use per pod from 380 RPS", Confidence: model.ConfidenceHigh,
			SaturatedAtRPS: f(380), SaturatedAtVUs: f(100), BreakingRPS: 520, BreakingVUs: 160,
		},
		Resources: []model.ResourceAnalysis{
			resource(model.KindDBPool, "DB connection pool", 60, 1.0, 1.0, 380),
			resource(model.KindDBServerConnections, "PostgreSQL connections", 100, 0.65, 0.66, 0),
			resource(model.KindCPU, "CPU", 3, 0.41, 0.43, 0),
			resource(model.KindRedis, "Redis server", 1, 0.22, 0.23, 0),
		},
	}
}

// launchTopology is production in the launch story.
func launchTopology() *model.Topology {
	return &model.Topology{
		Service: "checkout",
		API: model.APITier{
			Pods: 3, InstanceType: "m6i.large",
			CPURequest: 0.5, CPULimit: 1, MemoryRequest: 512 * model.MiB, MemoryLimit: model.GiB,
			DBPoolSize: 20,
		},
		Database: &model.Database{Engine: model.EnginePostgres, InstanceClass: "db.r5.large", MaxConnections: 100, CPUUtilization: 0.30},
		Cache:    &model.Cache{Engine: model.EngineRedis, NodeType: "cache.r6g.large", Nodes: 1},
		Baseline: model.Baseline{RPS: 180, PeakRPS: 210},
	}
}

// cpuBoundAnalysis broke at 600 RPS with CPU at 92%; the pool stayed at half.
func cpuBoundAnalysis() *model.Analysis {
	a := launchAnalysis()
	a.BreakingPoint.RPS, a.BreakingPoints[0].RPS = 600, 600
	a.Bottleneck = model.Bottleneck{Resource: model.KindCPU, Name: "CPU", SaturatedAtRPS: f(560), BreakingRPS: 600, Confidence: model.ConfidenceHigh}
	a.Resources = []model.ResourceAnalysis{
		resource(model.KindCPU, "CPU", 3, 0.92, 0.95, 560),
		resource(model.KindDBPool, "DB connection pool", 60, 0.45, 0.47, 0),
		resource(model.KindRedis, "Redis server", 1, 0.2, 0.21, 0),
	}
	a.TestedUpToRPS = 620
	return a
}

// dbBoundAnalysis broke at 520 RPS because PostgreSQL ran out of CPU
// (measured by a catalog kind of the user's, db_cpu).
func dbBoundAnalysis() *model.Analysis {
	a := launchAnalysis()
	a.Bottleneck = model.Bottleneck{Resource: "db_cpu", Name: "PostgreSQL CPU", SaturatedAtRPS: f(500), BreakingRPS: 520, Confidence: model.ConfidenceHigh}
	a.Resources = []model.ResourceAnalysis{
		resource("db_cpu", "PostgreSQL CPU", 2, 0.97, 0.98, 500),
		resource(model.KindCPU, "CPU", 3, 0.35, 0.36, 0),
		resource(model.KindDBPool, "DB connection pool", 60, 0.7, 0.72, 0),
	}
	return a
}

// cacheBoundAnalysis broke at 520 RPS with Redis's main thread at 96%.
func cacheBoundAnalysis() *model.Analysis {
	a := launchAnalysis()
	a.Bottleneck = model.Bottleneck{Resource: model.KindRedis, Name: "Redis server", SaturatedAtRPS: f(480), BreakingRPS: 520, Confidence: model.ConfidenceHigh}
	a.Resources = []model.ResourceAnalysis{
		resource(model.KindRedis, "Redis server", 1, 0.96, 0.97, 480),
		resource(model.KindCPU, "CPU", 3, 0.38, 0.39, 0),
		resource(model.KindDBPool, "DB connection pool", 60, 0.5, 0.52, 0),
	}
	return a
}

// nothingBrokeAnalysis reached 400 RPS without breaking or saturating.
func nothingBrokeAnalysis() *model.Analysis {
	a := launchAnalysis()
	a.BreakingPoint, a.BreakingPoints = nil, nil
	a.TestedUpToRPS = 400
	a.Stages = a.Stages[:3]
	a.Bottleneck = model.Bottleneck{Resource: model.BottleneckNone, Evidence: "nothing saturated"}
	a.Resources = []model.ResourceAnalysis{
		{Kind: model.KindCPU, Name: "CPU", Limit: 3, UtilizationAtPeak: f(0.33)},
		{Kind: model.KindDBPool, Name: "DB connection pool", Limit: 60, UtilizationAtPeak: f(0.6)},
		{Kind: model.KindRedis, Name: "Redis server", Limit: 1, UtilizationAtPeak: f(0.15)},
	}
	return a
}

// serverConnBoundAnalysis broke at 520 RPS because PostgreSQL ran out of
// connection slots: 3 pods with pools of 40 (120 connections) against
// max_connections 100, saturated (90 in use) from 480 RPS. The pools held
// 90 connections at the break; pod CPU was 38%.
func serverConnBoundAnalysis() *model.Analysis {
	a := launchAnalysis()
	a.Bottleneck = model.Bottleneck{
		Resource: model.KindDBServerConnections, Name: "PostgreSQL connections", Family: "postgres_exporter",
		Evidence: "97/100 server connections in use at 520 RPS; connection errors from 500 RPS", Confidence: model.ConfidenceHigh,
		SaturatedAtRPS: f(480), BreakingRPS: 520,
	}
	a.Resources = []model.ResourceAnalysis{
		resource(model.KindDBServerConnections, "PostgreSQL connections", 100, 0.97, 0.98, 480),
		resource(model.KindCPU, "CPU", 3, 0.38, 0.39, 0),
		resource(model.KindDBPool, "DB connection pool", 120, 0.75, 0.76, 0),
	}
	return a
}

// serverConnBoundNoPoolAnalysis is serverConnBoundAnalysis of a service
// whose pool exports no metrics.
func serverConnBoundNoPoolAnalysis() *model.Analysis {
	a := serverConnBoundAnalysis()
	a.Resources = a.Resources[:2]
	return a
}

// serverConnTopology is the launch story's production with pools of 40 per
// pod (more than max_connections 100 holds) and its database's CPU at 20%.
func serverConnTopology() *model.Topology {
	t := launchTopology()
	t.API.DBPoolSize = 40
	t.Database.CPUUtilization = 0.2
	return t
}
