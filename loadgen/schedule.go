package loadgen

import (
	"math"
	"time"
)

// segment is one stage of an executor seen as a piece of a piecewise-linear
// load curve: VUs for the closed model, iterations per second for the open
// model. Values are for the whole scenario; a shard takes its share.
type segment struct {
	// start is the segment's offset from the executor's start.
	start time.Duration
	dur   time.Duration
	// from and to are the load at the segment's start and end.
	from, to float64
	// cum is the number of iterations scheduled before the segment (open model).
	cum float64
}

// segmentsFor lays out stages end to end from an initial load.
func segmentsFor(initial float64, stages []stageLoad) []segment {
	segs := make([]segment, len(stages))
	var at time.Duration
	from := initial
	cum := 0.0
	for i, st := range stages {
		segs[i] = segment{start: at, dur: st.dur, from: from, to: st.target, cum: cum}
		cum += segs[i].count()
		at += st.dur
		from = st.target
	}
	return segs
}

// stageLoad is the shape of one stage: reach target over dur.
type stageLoad struct {
	dur    time.Duration
	target float64
}

// count is the number of iterations the segment schedules when from and to
// are rates per second: the integral of a linear rate.
func (s segment) count() float64 {
	return (s.from + s.to) / 2 * s.dur.Seconds()
}

// offsetOf returns when, into the segment, the m-th iteration (m ≥ 0,
// fractional) of the segment is due: the τ that solves
// from·τ + (to−from)·τ²/(2·dur) = m, in the numerically stable form
// τ = 2m / (from + sqrt(from² + 2(to−from)m/dur)).
func (s segment) offsetOf(m float64) time.Duration {
	if m <= 0 {
		return 0
	}
	d := s.dur.Seconds()
	if d <= 0 {
		return 0
	}
	slope := (s.to - s.from) / d
	disc := s.from*s.from + 2*slope*m
	if disc < 0 {
		disc = 0
	}
	den := s.from + math.Sqrt(disc)
	if den <= 0 {
		return s.dur
	}
	tau := 2 * m / den
	return time.Duration(tau * float64(time.Second))
}

// each calls fn with the number k (over the whole schedule, from 0) and the
// offset from the executor's start of every iteration due in the segment, in
// order, until fn returns false (each then returns false too). Each time is
// computed from the rate integral, so the schedule cannot drift.
func (s segment) each(fn func(k int64, at time.Duration) bool) bool {
	n := s.count()
	if n <= 0 {
		return true
	}
	// The first whole iteration number in [cum, cum+n).
	k := int64(math.Ceil(s.cum - 1e-9))
	end := s.cum + n - 1e-9
	for ; float64(k) < end; k++ {
		at := s.start + s.offsetOf(float64(k)-s.cum)
		if at >= s.start+s.dur {
			break
		}
		if !fn(k, at) {
			return false
		}
	}
	return true
}

// vusAt returns the whole-scenario VU count at offset t into a closed-model
// segment, and the offset of the next change (or the segment's end). As in
// k6, the count moves away from `from` only when the linear ramp reaches
// the next whole VU.
func (s segment) vusAt(t time.Duration) (int, time.Duration) {
	end := s.start + s.dur
	if s.dur <= 0 || s.from == s.to {
		return int(math.Round(s.to)), end
	}
	rel := t - s.start
	if rel < 0 {
		rel = 0
	}
	d := s.dur.Seconds()
	slope := (s.to - s.from) / d
	f := s.from + slope*rel.Seconds()
	var v, next float64
	if slope > 0 {
		v = math.Floor(f + 1e-9)
		next = (v + 1 - s.from) / slope
	} else {
		v = math.Ceil(f - 1e-9)
		next = (v - 1 - s.from) / slope
	}
	if rel >= s.dur {
		return int(math.Round(s.to)), end
	}
	nt := s.start + time.Duration(next*float64(time.Second))
	if nt <= t {
		nt = t + time.Millisecond
	}
	if nt > end {
		nt = end
	}
	return int(v), nt
}
