package analyzer

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

// Warning kinds of sharded runs.
const (
	// WarnMissingShards is a shard that never reported, started late or
	// stopped early.
	WarnMissingShards = "missing_shards"
	// WarnLoadBelowPlan says that, with shards missing, the load that ran
	// was lower than the scenario planned.
	WarnLoadBelowPlan = "load_below_plan"
)

// minShardSlack is the least gap between shards' spans that counts as a
// shard missing: the runners of one run start and stop within a second or
// two of each other.
const minShardSlack = 3 * time.Second

// ShardWarnings reports the shards of a sharded run that did not generate
// their part of the load: one that never reported, started late, or stopped
// reporting before the others (its runner died or lost its way to the
// metrics backend), each as a missing_shards warning; and, when any did,
// one load_below_plan warning estimating the load that ran against the load
// planned in each affected stage.
//
// shards are what collector.ObserveShards read; without them only shards
// that never reported can be found, from o.Shards and o.ShardsExpected.
// The plan is estimated from the shards that were present: shard i of n
// runs floor((i+1)·v/n) − floor(i·v/n) of v VUs, so shares differ by at
// most one VU, and exactly rate/n of an arrival rate; a missing shard's
// planned part is the mean of the present shards' parts. An unsharded run
// gets no warning.
func ShardWarnings(o model.Observations, shards []model.ShardObservation) []model.Warning {
	if len(shards) == 0 {
		return missingFromLabels(o)
	}
	var reported []model.ShardObservation
	var first, last time.Time
	maxInterval := 0.0
	for _, s := range shards {
		if !s.Reported {
			continue
		}
		reported = append(reported, s)
		if first.IsZero() || s.First.Before(first) {
			first = s.First
		}
		if s.Last.After(last) {
			last = s.Last
		}
		maxInterval = math.Max(maxInterval, s.IntervalMs)
	}
	if len(reported) == 0 || len(shards) < 2 {
		return missingFromLabels(o)
	}
	step := time.Duration(o.StepMs * float64(time.Millisecond))
	slack := max(minShardSlack, 2*step, time.Duration(3*maxInterval*float64(time.Millisecond)))
	n := len(shards)

	// When each shard was missing.
	var gaps []span
	var out []model.Warning
	for _, s := range shards {
		switch {
		case !s.Reported:
			gaps = append(gaps, span{shard: s.Shard, from: o.Start, to: o.End})
			out = append(out, model.Warning{
				Kind: WarnMissingShards,
				Message: fmt.Sprintf("shard %s of %d reported no metrics in the window: its runner did not start or could not write to the metrics backend, so its part of the load (about 1/%d) was missing throughout",
					s.Shard, n, n),
			})
			continue
		}
		if d := s.First.Sub(first); d > slack {
			gaps = append(gaps, span{shard: s.Shard, from: first, to: s.First})
			out = append(out, model.Warning{
				Kind: WarnMissingShards,
				Message: fmt.Sprintf("shard %s of %d started reporting at %s, %s after the first shard: its part of the load (about 1/%d) was missing until then",
					s.Shard, n, clock(s.First), roundDuration(d), n),
			})
		}
		if d := last.Sub(s.Last); d > slack {
			gaps = append(gaps, span{shard: s.Shard, from: s.Last, to: last})
			out = append(out, model.Warning{
				Kind: WarnMissingShards,
				Message: fmt.Sprintf("shard %s of %d stopped reporting at %s, %s before the last shard: its runner died or lost its way to the metrics backend, so its part of the load (about 1/%d) was missing from then on",
					s.Shard, n, clock(s.Last), roundDuration(d), n),
			})
		}
	}
	if len(gaps) == 0 {
		return nil
	}
	out = append(out, loadBelowPlan(o, shards, gaps, n))
	return out
}

// span is when one shard was missing: [from, to].
type span struct {
	shard    string
	from, to time.Time
}

// loadBelowPlan writes the load_below_plan warning: the stages during which
// shards were missing, and in those that a shard missed entirely, the load
// that ran against the estimated plan.
func loadBelowPlan(o model.Observations, shards []model.ShardObservation, missing []span, n int) model.Warning {
	w := model.Warning{Kind: WarnLoadBelowPlan}
	open := o.LoadModel == model.LoadOpen
	for _, st := range o.Stages {
		if st.TargetRate > 0 {
			open = true
		}
	}
	unit := "VUs"
	if open {
		unit = "iterations/s"
	}
	part := func(s model.ShardObservation, k int) float64 {
		if k >= len(s.Stages) {
			return math.NaN()
		}
		if open {
			return s.Stages[k].TargetRate
		}
		return s.Stages[k].VUs
	}
	byName := map[string]model.ShardObservation{}
	for _, s := range shards {
		byName[s.Shard] = s
	}
	// A gap shorter than this within a stage is the resolution of the
	// data, not a missing part of the stage.
	step := time.Duration(o.StepMs * float64(time.Millisecond))
	tol := max(minShardSlack, step)
	var affected, shortfalls []string
	for k, st := range o.Stages {
		// A missing shard is wholly absent from a stage when it had no
		// VUs, rate or requests in it (or, without per-stage data, when
		// its gap covers the stage), and absent in part when its gap
		// overlaps the stage by more than the tolerance.
		absent, whole := map[string]bool{}, map[string]bool{}
		for _, m := range missing {
			from, to := laterOf(m.from, st.Start), earlierOf(m.to, st.End)
			s := byName[m.shard]
			hasData := k < len(s.Stages)
			switch {
			case hasData && s.Stages[k].VUs == 0 && s.Stages[k].TargetRate == 0 && s.Stages[k].Requests == 0:
				absent[m.shard], whole[m.shard] = true, true
			case !hasData && !m.from.After(st.Start.Add(tol)) && !m.to.Before(st.End.Add(-tol)):
				absent[m.shard], whole[m.shard] = true, true
			case to.Sub(from) > tol:
				absent[m.shard] = true
			}
		}
		if len(absent) == 0 {
			continue
		}
		if w.Stage == "" {
			w.Stage = st.Name
		}
		if len(whole) < len(absent) {
			affected = append(affected, st.Name+" (in part)")
		} else {
			affected = append(affected, st.Name)
		}
		if len(whole) == 0 {
			continue
		}
		ran, present, count := 0.0, 0.0, 0
		for _, s := range shards {
			v := part(s, k)
			if math.IsNaN(v) {
				continue
			}
			ran += v
			if !absent[s.Shard] {
				present += v
				count++
			}
		}
		if count == 0 {
			shortfalls = append(shortfalls, fmt.Sprintf("%s ran %s %s with no shard present throughout to estimate the plan from", st.Name, num(ran), unit))
			continue
		}
		planned := present + float64(len(whole))*present/float64(count)
		if planned-ran < 0.5 {
			continue
		}
		shortfalls = append(shortfalls, fmt.Sprintf("%s ran %s of about %s %s", st.Name, num(ran), num(planned), unit))
	}
	names := make([]string, 0, len(missing))
	seen := map[string]bool{}
	for _, m := range missing {
		if !seen[m.shard] {
			seen[m.shard] = true
			names = append(names, m.shard)
		}
	}
	sort.Strings(names)
	msg := fmt.Sprintf("the load was lower than planned: %s %s of %d %s missing for part of the run",
		plural(len(names), "shard", "shards"), strings.Join(names, ", "), n, plural(len(names), "was", "were"))
	if len(affected) > 0 {
		msg += ", during " + strings.Join(affected, ", ")
	}
	if len(shortfalls) > 0 {
		msg += "; " + strings.Join(shortfalls, ", ")
	}
	msg += ". The stage table and breaking point describe the load that ran; rerun for the planned load"
	w.Message = msg
	return w
}

// missingFromLabels is the warning possible without per-shard spans: the
// shards that "i/n" says should exist but that have no series at all.
func missingFromLabels(o model.Observations) []model.Warning {
	n := o.ShardsExpected
	if n <= 1 || len(o.Shards) >= n {
		return nil
	}
	seen := map[string]bool{}
	for _, s := range o.Shards {
		seen[s] = true
	}
	var missing []string
	for i := 0; i < n; i++ {
		if l := strconv.Itoa(i) + "/" + strconv.Itoa(n); !seen[l] {
			missing = append(missing, l)
		}
	}
	return []model.Warning{
		{
			Kind: WarnMissingShards,
			Message: fmt.Sprintf("only %d of %d shards reported metrics (missing: %s): their runners did not start or could not write to the metrics backend, so the load was about %d/%d lower than planned",
				len(o.Shards), n, strings.Join(missing, ", "), len(missing), n),
		},
		{
			Kind:    WarnLoadBelowPlan,
			Message: fmt.Sprintf("the load was lower than planned: %d of %d shards %s missing throughout. The stage table and breaking point describe the load that ran; rerun for the planned load", len(missing), n, plural(len(missing), "was", "were")),
		},
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlierOf(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

func roundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// num writes a VU count or rate with at most one decimal.
func num(v float64) string { return numfmt.Round(v, 1) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
