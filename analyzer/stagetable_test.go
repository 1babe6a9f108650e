package analyzer

import (
	"math"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

func TestStageRowByHand(t *testing.T) {
	s := model.StageObservation{
		Name: "ramp", Executor: "ramping-vus", Start: t0, End: t0.Add(time.Minute), VUs: 19.6,
		Requests: 100, Errors: 5, SumSeconds: 25, Dropped: 2.4,
		Buckets: handBuckets,
		Endpoints: []model.EndpointObservation{
			{Endpoint: "POST /orders", Requests: 60, Errors: 5, SumSeconds: 21, Buckets: []model.Bucket{bk(0.1, 0), bk(0.2, 10), bk(0.5, 55), bk(inf, 60)}},
			{Endpoint: "GET /health", Requests: 40, SumSeconds: 4, Buckets: []model.Bucket{bk(0.1, 10), bk(0.2, 20), bk(0.5, 35), bk(inf, 40)}},
		},
	}
	r := StageRow(s)
	// RPS 100/60; quantiles from handBuckets: p50 0.3 s, p90 0.5 s, p95 and
	// p99 in +Inf → 0.5 s; mean 25 s / 100; max the highest finite bound.
	checks := []struct {
		name      string
		got, want float64
	}{
		{"rps", r.RPS, 100.0 / 60},
		{"p50", r.P50Ms, 300},
		{"p90", r.P90Ms, 500},
		{"p95", r.P95Ms, 500},
		{"p99", r.P99Ms, 500},
		{"mean", r.MeanMs, 250},
		{"max", r.MaxMs, 500},
		{"error rate", r.ErrorRate, 0.05},
		{"vus", float64(r.VUs), 20},
		{"requests", float64(r.Requests), 100},
		{"dropped", float64(r.DroppedIterations), 2},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(r.Endpoints) != 2 || r.Endpoints[0].Endpoint != "GET /health" {
		t.Fatalf("endpoints = %+v, want two sorted by name", r.Endpoints)
	}
	// POST /orders: p50 rank 30 in (0.2, 0.5]: 0.2 + 0.3·20/45.
	if got, want := r.Endpoints[1].P50Ms, (0.2+0.3*20.0/45)*1000; math.Abs(got-want) > 1e-9 {
		t.Errorf("POST /orders p50 = %v, want %v", got, want)
	}
	if got := r.Endpoints[1].RPS; math.Abs(got-1) > 1e-12 {
		t.Errorf("POST /orders rps = %v, want 1", got)
	}
}

func TestStageTableTotalsAddTheStages(t *testing.T) {
	a := model.StageObservation{Name: "a", Start: t0, End: t0.Add(time.Minute), VUs: 10, Requests: 100, Errors: 1, SumSeconds: 10, Buckets: handBuckets,
		Endpoints: []model.EndpointObservation{{Endpoint: "GET /x", Requests: 100, Errors: 1, SumSeconds: 10, Buckets: handBuckets}}}
	b := a
	b.Name, b.Start, b.End, b.VUs = "b", t0.Add(time.Minute), t0.Add(2*time.Minute), 20
	rows, total, eps := StageTable([]model.StageObservation{a, b})
	if len(rows) != 2 {
		t.Fatalf("rows = %d, want 2", len(rows))
	}
	if total.Requests != 200 || total.Errors != 2 || total.VUs != 20 || math.Abs(total.RPS-200.0/120) > 1e-9 {
		t.Errorf("total = %+v", total)
	}
	// The same histogram twice has the same quantiles.
	if total.P50Ms != rows[0].P50Ms || total.P95Ms != rows[0].P95Ms {
		t.Errorf("total p50/p95 = %v/%v, want the stages' %v/%v", total.P50Ms, total.P95Ms, rows[0].P50Ms, rows[0].P95Ms)
	}
	if len(eps) != 1 || eps[0].Requests != 200 || math.Abs(eps[0].RPS-200.0/120) > 1e-9 {
		t.Errorf("endpoints = %+v", eps)
	}
}

// TestStageTableRecoversTheLatencies checks the histogram estimates
// against the synthetic stages' true p95: linear interpolation can only
// promise the bucket the true value lies in.
func TestStageTableRecoversTheLatencies(t *testing.T) {
	s := poolBound()
	s.noise = 0
	a := analyze(t, s, Options{})
	for i, st := range a.Stages {
		want := s.p95(s.rps(s.levels[i]), s.levels[i])
		if lo, hi := bucketOf(want / 1000); !(st.P95Ms/1000 > lo && st.P95Ms/1000 <= hi) {
			t.Errorf("stage %s p95 = %.1f ms, want it in the bucket of the true %.1f ms, (%v, %v] s", st.Name, st.P95Ms, want, lo, hi)
		}
		if math.Abs(st.RPS-s.rps(s.levels[i])) > 1e-6 {
			t.Errorf("stage %s rps = %v, want %v", st.Name, st.RPS, s.rps(s.levels[i]))
		}
		if st.VUs != int(s.levels[i]) {
			t.Errorf("stage %s vus = %d, want %v", st.Name, st.VUs, s.levels[i])
		}
	}
	if a.Endpoints[0].Endpoint != "POST /orders" {
		t.Errorf("slowest endpoint = %s, want POST /orders first", a.Endpoints[0].Endpoint)
	}
}

// bucketOf returns the bounds of the runner's bucket holding v seconds.
func bucketOf(v float64) (lo, hi float64) {
	for _, ub := range synthBuckets {
		if v <= ub {
			return lo, ub
		}
		lo = ub
	}
	return lo, math.Inf(1)
}
