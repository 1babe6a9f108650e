package analyzer

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

var shardT0 = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

// shardObs is a 60 s run of three 20 s stages observed at a 1 s step, with
// the whole VUs (closed model) or arrival rate (open model) of each stage.
func shardObs(open bool, whole []float64, shards ...string) model.Observations {
	o := model.Observations{
		RunID: "r", Start: shardT0, End: shardT0.Add(60 * time.Second), StepMs: 1000,
		LoadModel: model.LoadClosed, Shards: shards,
	}
	for _, sh := range shards {
		if strings.HasSuffix(sh, "/3") {
			o.ShardsExpected = 3
		}
	}
	if open {
		o.LoadModel = model.LoadOpen
	}
	for j, v := range whole {
		st := model.StageObservation{
			Name:  []string{"low", "high", "hold"}[j],
			Start: shardT0.Add(time.Duration(20*j) * time.Second), End: shardT0.Add(time.Duration(20*(j+1)) * time.Second),
		}
		if open {
			st.TargetRate = v
		} else {
			st.VUs = v
		}
		o.Stages = append(o.Stages, st)
	}
	return o
}

// shardSpan is one shard reporting from first to last seconds into the run,
// every second, with its third of whole (VUs or rate) in every stage it was
// present for, and nothing in the stages it missed.
func shardSpan(name string, first, last float64, open bool, whole []float64) model.ShardObservation {
	s := model.ShardObservation{
		Shard: name, Reported: true, IntervalMs: 1000,
		First: shardT0.Add(time.Duration(first * float64(time.Second))),
		Last:  shardT0.Add(time.Duration(last * float64(time.Second))),
	}
	for j, v := range whole {
		st := model.ShardStage{Name: []string{"low", "high", "hold"}[j]}
		if float64(20*j) < last && float64(20*(j+1)) > first {
			if open {
				st.TargetRate = v / 3
			} else {
				st.VUs = v / 3
			}
			st.Requests = 5 * v / 3 * 20
		}
		s.Stages = append(s.Stages, st)
	}
	return s
}

func notReported(name string, stages int) model.ShardObservation {
	s := model.ShardObservation{Shard: name}
	for j := 0; j < stages; j++ {
		s.Stages = append(s.Stages, model.ShardStage{Name: []string{"low", "high", "hold"}[j]})
	}
	return s
}

func TestShardWarnings(t *testing.T) {
	vus := []float64{30, 60, 60}
	rate := []float64{90, 180, 180}
	tests := []struct {
		name   string
		obs    model.Observations
		shards []model.ShardObservation
		// want are substrings of the warnings' messages, one per warning, in order.
		want  []string
		kinds []string
	}{
		{
			name: "an unsharded run gets no warning",
			obs:  shardObs(false, vus, "0/1"),
		},
		{
			name: "three shards that reported throughout get no warning",
			obs:  shardObs(false, vus, "0/3", "1/3", "2/3"),
			shards: []model.ShardObservation{
				shardSpan("0/3", 0, 60, false, vus), shardSpan("1/3", 0, 60, false, vus), shardSpan("2/3", 0, 60, false, vus),
			},
		},
		{
			name: "a shard that starts and stops a second after the others is not missing",
			obs:  shardObs(false, vus, "0/3", "1/3", "2/3"),
			shards: []model.ShardObservation{
				shardSpan("0/3", 0, 60, false, vus), shardSpan("1/3", 1, 59, false, vus), shardSpan("2/3", 0.5, 60, false, vus),
			},
		},
		{
			name: "a shard that stopped early is missing and the stages after it ran below plan",
			obs:  shardObs(false, vus, "0/3", "1/3", "2/3"),
			shards: []model.ShardObservation{
				shardSpan("0/3", 0, 60, false, vus), shardSpan("1/3", 0, 25, false, vus), shardSpan("2/3", 0, 60, false, vus),
			},
			kinds: []string{WarnMissingShards, WarnLoadBelowPlan},
			want: []string{
				"shard 1/3 of 3 stopped reporting at 09:00:25, 35s before the last shard: its runner died",
				"the load was lower than planned: shard 1/3 of 3 was missing for part of the run, during high (in part), hold; hold ran 40 of about 60 VUs.",
			},
		},
		{
			name: "a shard that started late is missing until it started",
			obs:  shardObs(false, vus, "0/3", "1/3", "2/3"),
			shards: []model.ShardObservation{
				shardSpan("0/3", 0, 60, false, vus), shardSpan("1/3", 0, 60, false, vus), shardSpan("2/3", 21, 60, false, vus),
			},
			kinds: []string{WarnMissingShards, WarnLoadBelowPlan},
			want: []string{
				"shard 2/3 of 3 started reporting at 09:00:21, 21s after the first shard",
				"during low; low ran 20 of about 30 VUs.",
			},
		},
		{
			name: "a shard that never reported is missing throughout",
			obs:  shardObs(false, vus, "0/3", "2/3"),
			shards: []model.ShardObservation{
				shardSpan("0/3", 0, 60, false, vus), notReported("1/3", 3), shardSpan("2/3", 0, 60, false, vus),
			},
			kinds: []string{WarnMissingShards, WarnLoadBelowPlan},
			want: []string{
				"shard 1/3 of 3 reported no metrics in the window",
				"low ran 20 of about 30 VUs, high ran 40 of about 60 VUs, hold ran 40 of about 60 VUs",
			},
		},
		{
			name: "an open-model run that lost a shard is short of its planned arrival rate",
			obs:  shardObs(true, rate, "0/3", "1/3", "2/3"),
			shards: []model.ShardObservation{
				shardSpan("0/3", 0, 60, true, rate), shardSpan("1/3", 0, 60, true, rate), shardSpan("2/3", 0, 19, true, rate),
			},
			kinds: []string{WarnMissingShards, WarnLoadBelowPlan},
			want: []string{
				"shard 2/3 of 3 stopped reporting at 09:00:19",
				"high ran 120 of about 180 iterations/s, hold ran 120 of about 180 iterations/s",
			},
		},
		{
			name:  "without shard details a shard with no series is still found from the labels",
			obs:   shardObs(false, vus, "0/3", "2/3"),
			kinds: []string{WarnMissingShards, WarnLoadBelowPlan},
			want: []string{
				"only 2 of 3 shards reported metrics (missing: 1/3)",
				"the load was lower than planned: 1 of 3 shards was missing throughout",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := ShardWarnings(tt.obs, tt.shards)
			if len(ws) != len(tt.want) {
				t.Fatalf("%d warnings, want %d: %+v", len(ws), len(tt.want), ws)
			}
			for i, w := range ws {
				if w.Kind != tt.kinds[i] {
					t.Errorf("warning %d kind %q, want %q", i, w.Kind, tt.kinds[i])
				}
				if !strings.Contains(w.Message, tt.want[i]) {
					t.Errorf("warning %d:\n%s\nwant it to contain:\n%s", i, w.Message, tt.want[i])
				}
			}
		})
	}
}

func TestShardWarningsDoNotMutateTheirInputs(t *testing.T) {
	vus := []float64{30, 60, 60}
	obs := shardObs(false, vus, "0/3", "1/3", "2/3")
	shards := []model.ShardObservation{
		shardSpan("0/3", 0, 60, false, vus), shardSpan("1/3", 0, 25, false, vus), notReported("2/3", 3),
	}
	obs0 := shardObs(false, vus, "0/3", "1/3", "2/3")
	shards0 := []model.ShardObservation{
		shardSpan("0/3", 0, 60, false, vus), shardSpan("1/3", 0, 25, false, vus), notReported("2/3", 3),
	}
	if ws := ShardWarnings(obs, shards); len(ws) == 0 {
		t.Fatal("no warnings for a run missing two shards")
	}
	if !reflect.DeepEqual(obs, obs0) || !reflect.DeepEqual(shards, shards0) {
		t.Error("ShardWarnings changed its inputs")
	}
}
