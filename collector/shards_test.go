package collector

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-sh/headroom/analyzer"
	"github.com/headroom-sh/headroom/model"
)

// shardPlan is the whole run written by writeShardedRun: three stages of
// 20 s with the whole VU count of each, split over three shards.
var shardPlan = []struct {
	name string
	vus  int
}{{"low", 30}, {"high", 60}, {"hold", 60}}

// writeShardedRun writes a sharded run of three runners into the store, one
// sample per second from start for 60 s: each shard has its third of the
// stage's VUs and completes 5 requests per VU and second. The runner of
// shard dead (if ≥ 0) stops writing after deadAt, as when its process is
// killed. It returns the requests each shard completed per stage.
func writeShardedRun(t *testing.T, s *Store, start time.Time, runID string, dead int, deadAt time.Duration) map[string]map[string]float64 {
	t.Helper()
	type shardMetrics struct {
		reg   *prometheus.Registry
		req   *prometheus.CounterVec
		stage *prometheus.GaugeVec
		vus   prometheus.Gauge
	}
	shards := make([]shardMetrics, 3)
	want := map[string]map[string]float64{}
	for i := range shards {
		reg := prometheus.NewRegistry()
		r := prometheus.WrapRegistererWith(prometheus.Labels{"run_id": runID, "scenario": "sharded", "shard": shardName(i)}, reg)
		sm := shardMetrics{
			reg:   reg,
			req:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: model.MetricRequests, Help: "Requests."}, []string{"stage", "endpoint", "method", "status"}),
			stage: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: model.MetricStageActive, Help: "Stage."}, []string{"stage"}),
			vus:   prometheus.NewGauge(prometheus.GaugeOpts{Name: model.MetricVUs, Help: "VUs."}),
		}
		r.MustRegister(sm.req, sm.stage, sm.vus)
		shards[i] = sm
		want[shardName(i)] = map[string]float64{}
	}
	for k := 0; k <= 60; k++ {
		ts := start.Add(time.Duration(k) * time.Second)
		st := min(k/20, 2)
		if k > 0 && k%20 == 0 {
			// A sample at a boundary still belongs to the stage ending.
			st = k/20 - 1
		}
		for i, sm := range shards {
			if i == dead && time.Duration(k)*time.Second > deadAt {
				continue
			}
			share := (i+1)*shardPlan[st].vus/3 - i*shardPlan[st].vus/3
			for j, p := range shardPlan {
				v := 0.0
				if j == st {
					v = 1
				}
				sm.stage.WithLabelValues(p.name).Set(v)
			}
			sm.vus.Set(float64(share))
			c := sm.req.WithLabelValues(shardPlan[st].name, "POST /orders", "POST", "201")
			if k > 0 {
				c.Add(float64(5 * share))
				want[shardName(i)][shardPlan[st].name] += float64(5 * share)
			}
			fams, err := sm.reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Write(context.Background(), ts, fams); err != nil {
				t.Fatal(err)
			}
		}
	}
	return want
}

func shardName(i int) string { return []string{"0/3", "1/3", "2/3"}[i] }

// shardStages are the stage windows of writeShardedRun, as run.json has them.
func shardStages(start time.Time) []model.StageStats {
	var out []model.StageStats
	for j, p := range shardPlan {
		out = append(out, model.StageStats{
			Name: p.name, Executor: "ramping-vus",
			Start: start.Add(time.Duration(20*j) * time.Second), End: start.Add(time.Duration(20*(j+1)) * time.Second),
		})
	}
	return out
}

func observeShardedRun(t *testing.T, s *Store, start time.Time, runID string) model.Observations {
	t.Helper()
	o, err := Observe(context.Background(), s, ObserveConfig{
		RunID: runID, Start: start, End: start.Add(60 * time.Second), Step: time.Second,
		Stages: shardStages(start),
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestObserveShardsOfACompleteRun(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	start := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	want := writeShardedRun(t, s, start, "complete", -1, 0)
	o := observeShardedRun(t, s, start, "complete")
	shards, err := ObserveShards(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 3 {
		t.Fatalf("%d shards, want 3: %+v", len(shards), shards)
	}
	for i, sh := range shards {
		if sh.Shard != shardName(i) || !sh.Reported {
			t.Errorf("shard %d = %q reported %v, want %q reported", i, sh.Shard, sh.Reported, shardName(i))
		}
		if !sh.First.Equal(start) || !sh.Last.Equal(start.Add(60*time.Second)) {
			t.Errorf("shard %s spans %s to %s, want %s to %s", sh.Shard, sh.First, sh.Last, start, start.Add(60*time.Second))
		}
		if sh.IntervalMs != 1000 {
			t.Errorf("shard %s interval %.0f ms, want 1000", sh.Shard, sh.IntervalMs)
		}
		if len(sh.Stages) != len(shardPlan) {
			t.Fatalf("shard %s has %d stages, want %d", sh.Shard, len(sh.Stages), len(shardPlan))
		}
		for j, p := range shardPlan {
			ss := sh.Stages[j]
			if ss.Name != p.name || ss.VUs != float64(p.vus/3) {
				t.Errorf("shard %s stage %d = %+v, want %s with %d VUs", sh.Shard, j, ss, p.name, p.vus/3)
			}
			if w := want[sh.Shard][p.name]; math.Abs(ss.Requests-w) > 1e-9 {
				t.Errorf("shard %s stage %s: %.0f requests, want %.0f", sh.Shard, p.name, ss.Requests, w)
			}
		}
	}
	if ws := analyzer.ShardWarnings(o, shards); len(ws) != 0 {
		t.Errorf("warnings on a complete run: %+v", ws)
	}
}

func TestObserveShardsFindsAShardThatDied(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	start := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	want := writeShardedRun(t, s, start, "died", 1, 25*time.Second)
	o := observeShardedRun(t, s, start, "died")
	// Observe sees every shard: the dead one wrote for 25 s.
	if len(o.Shards) != 3 || o.ShardsExpected != 3 {
		t.Fatalf("Observe saw shards %v of %d, want all 3", o.Shards, o.ShardsExpected)
	}
	shards, err := ObserveShards(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	dead := shards[1]
	if !dead.Reported || !dead.Last.Equal(start.Add(25*time.Second)) {
		t.Errorf("dead shard %+v, want its last sample at %s", dead, start.Add(25*time.Second))
	}
	if got := dead.Stages[2]; got.VUs != 0 || got.Requests != 0 {
		t.Errorf("dead shard's last stage = %+v, want no VUs and no requests", got)
	}
	if got, w := dead.Stages[1].Requests, want["1/3"]["high"]; got != w {
		t.Errorf("dead shard's requests in the stage it died in = %.0f, want %.0f", got, w)
	}
	if got := shards[0].Stages[2].VUs + shards[2].Stages[2].VUs; got != 40 {
		t.Errorf("live shards' VUs in the last stage = %.0f, want 40", got)
	}

	ws := analyzer.ShardWarnings(o, shards)
	var missing, below []string
	for _, w := range ws {
		switch w.Kind {
		case analyzer.WarnMissingShards:
			missing = append(missing, w.Message)
		case analyzer.WarnLoadBelowPlan:
			below = append(below, w.Message)
		}
	}
	if len(missing) != 1 || !strings.Contains(missing[0], "shard 1/3 of 3 stopped reporting at 10:00:25, 35s before the last shard") {
		t.Errorf("missing_shards warnings = %q", missing)
	}
	if len(below) != 1 || !strings.Contains(below[0], "hold ran 40 of about 60 VUs") || !strings.Contains(below[0], "high (in part)") {
		t.Errorf("load_below_plan warnings = %q", below)
	}
}

func TestObserveShardsOfAnUnshardedRunIsNil(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	start := time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)
	shards, err := ObserveShards(context.Background(), s, model.Observations{
		RunID: "single", Start: start, End: start.Add(time.Minute), StepMs: 1000, Shards: []string{"0/1"}, ShardsExpected: 1,
	})
	if err != nil || shards != nil {
		t.Errorf("ObserveShards of an unsharded run = %+v, %v; want nil, nil", shards, err)
	}
}

func TestObserveShardsListsAShardThatNeverReported(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	// Shard 1 "died" before its first sample.
	writeShardedRun(t, s, start, "never", 1, -time.Second)
	o := observeShardedRun(t, s, start, "never")
	if len(o.Shards) != 2 || o.ShardsExpected != 3 {
		t.Fatalf("Observe saw shards %v of %d, want 2 of 3", o.Shards, o.ShardsExpected)
	}
	shards, err := ObserveShards(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 3 || shards[1].Shard != "1/3" || shards[1].Reported {
		t.Fatalf("shards = %+v, want 1/3 listed as not reported", shards)
	}
	ws := analyzer.ShardWarnings(o, shards)
	if len(ws) != 2 || !strings.Contains(ws[0].Message, "shard 1/3 of 3 reported no metrics") ||
		!strings.Contains(ws[1].Message, "low ran 20 of about 30 VUs, high ran 40 of about 60 VUs, hold ran 40 of about 60 VUs") {
		t.Errorf("warnings = %+v", ws)
	}
}

// A runner that dies writes no final 0 to headroom_stage_active, and remote
// write sends no staleness marker, so Prometheus's 5-minute lookback would
// keep its last stage "active" to the end of the window. Without run.json's
// stages, the stage windows must end where the live shards say.
func TestStageWindowsIgnoreADeadShardsLastStage(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	start := time.Date(2025, 6, 1, 13, 0, 0, 0, time.UTC)
	// Shard 1 dies in "high", 25 s in; "high" still runs to 40 s.
	writeShardedRun(t, s, start, "stretch", 1, 25*time.Second)
	o, err := Observe(context.Background(), s, ObserveConfig{
		RunID: "stretch", Start: start, End: start.Add(60 * time.Second), Step: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range o.Stages {
		got = append(got, st.Name+" "+st.Start.Sub(start).String()+"–"+st.End.Sub(start).String())
	}
	want := []string{"low 0s–20s", "high 20s–40s", "hold 40s–1m0s"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("stage windows = %q, want %q", got, want)
	}
}
