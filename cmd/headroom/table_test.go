package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"

	goldenfile "github.com/headroom-sh/headroom/internal/golden"
)

// golden compares got with testdata/<test name>.golden, rewriting the file
// under -update.
func golden(t *testing.T, got []byte) {
	t.Helper()
	goldenfile.Check(t, "", ".golden", got)
}

// sampleRun is a run with two stages, two endpoints, checks and thresholds.
func sampleRun() *model.Run {
	start := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	return &model.Run{
		RunID:    "20260102T150405Z-3f9a1c",
		Shard:    "0/1",
		Scenario: "checkout",
		Target:   "http://127.0.0.1:8080",
		Status:   model.RunCompleted,
		Start:    start,
		End:      start.Add(90 * time.Second),
		Stages: []model.StageStats{
			{Name: "warm-up", VUs: 10, RPS: 98.42, P50Ms: 4.217, P95Ms: 12.9, P99Ms: 31.4, ErrorRate: 0},
			{Name: "peak", VUs: 200, RPS: 1873.333, P50Ms: 48.1, P95Ms: 412.7, P99Ms: 1203.9, ErrorRate: 0.0123},
		},
		Total: model.StageStats{Name: "Total", VUs: 200, RPS: 1290.5, P50Ms: 31.2, P95Ms: 350.1, P99Ms: 1100, ErrorRate: 0.0089},
		Endpoints: []model.EndpointStats{
			{Endpoint: "GET /api/products", Requests: 90000, RPS: 1000, P50Ms: 20.5, P95Ms: 150.2, P99Ms: 600.4, Errors: 12, ErrorRate: 12.0 / 90000},
			{Endpoint: "POST /api/orders/{id}/pay", Requests: 26145, RPS: 290.5, P50Ms: 88.8, P95Ms: 700.1, P99Ms: 1650, Errors: 1021, ErrorRate: 1021.0 / 26145},
		},
		Checks: []model.CheckStats{
			{Name: "GET /api/products status 200", Passes: 89988, Fails: 12},
			{Name: "POST /api/orders/{id}/pay capture receipt", Passes: 26145},
		},
		Thresholds: []model.ThresholdResult{
			{Metric: "http_req_duration", Expr: "p(95)<800", Observed: 350.1, Passed: true},
			{Metric: "http_req_failed", Expr: "rate<0.005", Observed: 0.0089, Passed: false, AbortOnFail: true},
			{Metric: "http_reqs", Expr: "rate>1000", Observed: 1290.5, Passed: true},
		},
		SchedulingLag: &model.LagStats{P50Ms: 0.21, P99Ms: 1.7, MaxMs: 9.3, Iterations: 116145},
	}
}

func TestTheRunSummaryPrintsStageEndpointCheckAndThresholdTables(t *testing.T) {
	var b bytes.Buffer
	writeRunSummary(&b, sampleRun())
	golden(t, b.Bytes())
}

func TestAnEmptyRunStillPrintsATotalRow(t *testing.T) {
	r := &model.Run{RunID: "r", Scenario: "s", Status: model.RunInterrupted, Target: "http://127.0.0.1:1"}
	var b bytes.Buffer
	writeRunSummary(&b, r)
	golden(t, b.Bytes())
}

func TestTableRenderingDoesNotChangeTheRun(t *testing.T) {
	r := sampleRun()
	before, _ := json.Marshal(r)
	writeRunSummary(&bytes.Buffer{}, r)
	after, _ := json.Marshal(r)
	if !bytes.Equal(before, after) {
		t.Errorf("the run was changed by rendering")
	}
}
