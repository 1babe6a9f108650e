package loadgen

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestShardSharesSumToTheWholeAtEveryStageTarget(t *testing.T) {
	vuCounts := []int{0, 1, 2, 3, 5, 7, 10, 13, 50, 99, 100, 101, 997, 10000}
	for n := 1; n <= 7; n++ {
		for _, v := range vuCounts {
			sum := 0
			for i := 0; i < n; i++ {
				s := Shard{Index: i, Count: n}.Share(v)
				if s < v/n || s > v/n+1 {
					t.Errorf("shard %d/%d of %d VUs got %d, want %d or %d", i, n, v, s, v/n, v/n+1)
				}
				sum += s
			}
			if sum != v {
				t.Errorf("%d shards of %d VUs sum to %d", n, v, sum)
			}
		}
	}
}

func TestShardIterationsSumToTheWholeSchedule(t *testing.T) {
	// Stages of an arrival-rate executor in iterations per second.
	segs := segmentsFor(0, []stageLoad{
		{dur: 10 * time.Second, target: 37},
		{dur: 7 * time.Second, target: 37},
		{dur: 3 * time.Second, target: 5.5},
		{dur: 4 * time.Second, target: 0},
	})
	for n := 1; n <= 7; n++ {
		for si, seg := range segs {
			whole := 0
			perShard := make([]int, n)
			seg.each(func(k int64, _ time.Duration) bool {
				whole++
				for i := 0; i < n; i++ {
					if (Shard{Index: i, Count: n}).Owns(k) {
						perShard[i]++
					}
				}
				return true
			})
			sum := 0
			for i, c := range perShard {
				sum += c
				// Each shard runs its share of the rate: within one iteration of whole/n.
				if math.Abs(float64(c)-float64(whole)/float64(n)) > 1 {
					t.Errorf("stage %d, shard %d/%d ran %d of %d iterations, want about %.1f", si, i, n, c, whole, float64(whole)/float64(n))
				}
			}
			if sum != whole {
				t.Errorf("stage %d: %d shards ran %d iterations, the whole schedule has %d", si, n, sum, whole)
			}
		}
	}
}

func TestParseShardNamesTheExpectedForm(t *testing.T) {
	cases := map[string]string{
		"3/2":  "index must be from 0 to 1",
		"0/0":  "count must be at least 1",
		"a/b":  "INDEX/COUNT",
		"1":    "INDEX/COUNT",
		"-1/4": "index must be from 0 to 3",
	}
	for in, frag := range cases {
		_, err := ParseShard(in)
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("ParseShard(%q) = %v, want an error containing %q", in, err, frag)
		}
	}
	s, err := ParseShard("2/4")
	if err != nil || s.Index != 2 || s.Count != 4 || s.String() != "2/4" {
		t.Errorf("ParseShard(2/4) = %+v, %v", s, err)
	}
}

func TestAConstantRateSchedulesExactlyRateTimesDuration(t *testing.T) {
	segs := segmentsFor(50, []stageLoad{{dur: 4 * time.Second, target: 50}})
	var offs []time.Duration
	segs[0].each(func(k int64, at time.Duration) bool {
		offs = append(offs, at)
		return true
	})
	if len(offs) != 200 {
		t.Fatalf("50 it/s for 4s scheduled %d iterations, want 200", len(offs))
	}
	for i, at := range offs {
		want := time.Duration(i) * 20 * time.Millisecond
		if d := at - want; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("iteration %d due at %v, want %v", i, at, want)
		}
	}
}

func TestARampingRateFollowsTheRateIntegral(t *testing.T) {
	// 0 → 100 it/s over 10 s is 500 iterations; iteration k is due when
	// 5·t² = k, at t = sqrt(k/5).
	segs := segmentsFor(0, []stageLoad{{dur: 10 * time.Second, target: 100}, {dur: 2 * time.Second, target: 100}})
	n := 0
	prev := time.Duration(-1)
	segs[0].each(func(k int64, at time.Duration) bool {
		want := time.Duration(math.Sqrt(float64(k)/5) * float64(time.Second))
		if d := at - want; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("iteration %d due at %v, want %v", k, at, want)
		}
		if at <= prev && k > 0 {
			t.Fatalf("iteration %d due at %v, not after %v", k, at, prev)
		}
		prev = at
		n++
		return true
	})
	if n != 500 {
		t.Errorf("the ramp scheduled %d iterations, want 500", n)
	}
	// The hold continues the numbering where the ramp ended.
	first := int64(-1)
	m := 0
	segs[1].each(func(k int64, at time.Duration) bool {
		if first < 0 {
			first = k
			if at != 10*time.Second {
				t.Errorf("the first iteration of the hold is due at %v, want 10s", at)
			}
		}
		m++
		return true
	})
	if first != 500 || m != 200 {
		t.Errorf("the hold scheduled iterations %d… (%d of them), want 500… (200)", first, m)
	}
}

func TestRampingVUCountsMoveWhenTheRampReachesTheNextVU(t *testing.T) {
	up := segment{start: 0, dur: 10 * time.Second, from: 0, to: 10}
	for _, c := range []struct {
		at   time.Duration
		want int
		next time.Duration
	}{
		{0, 0, time.Second},
		{500 * time.Millisecond, 0, time.Second},
		{time.Second, 1, 2 * time.Second},
		{9500 * time.Millisecond, 9, 10 * time.Second},
	} {
		got, next := up.vusAt(c.at)
		if got != c.want || next != c.next {
			t.Errorf("ramp up at %v: %d VUs, next change %v; want %d, %v", c.at, got, next, c.want, c.next)
		}
	}
	down := segment{start: 0, dur: 10 * time.Second, from: 10, to: 0}
	for _, c := range []struct {
		at   time.Duration
		want int
	}{{0, 10}, {500 * time.Millisecond, 10}, {time.Second, 9}, {9999 * time.Millisecond, 1}} {
		if got, _ := down.vusAt(c.at); got != c.want {
			t.Errorf("ramp down at %v: %d VUs, want %d", c.at, got, c.want)
		}
	}
}
