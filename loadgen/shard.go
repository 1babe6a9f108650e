package loadgen

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard says which part of the load this runner generates when a scenario is
// split across several runners, like k6's execution segments. Shard i of n
// takes an exact share of every VU count and every n-th iteration of an
// arrival-rate executor, so the shares of all shards add up to the whole with
// no rounding loss.
type Shard struct {
	// Index is this runner's shard, from 0.
	Index int
	// Count is the number of shards; zero means 1.
	Count int
}

// ParseShard reads "i/n" with 0 ≤ i < n.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: expected INDEX/COUNT such as \"0/4\" (index from 0)", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: expected INDEX/COUNT such as \"0/4\" (index from 0)", s)
	}
	if n < 1 {
		return Shard{}, fmt.Errorf("shard %q: the count must be at least 1", s)
	}
	sh := Shard{Index: i, Count: n}
	if err := sh.validate(); err != nil {
		return Shard{}, err
	}
	return sh, nil
}

func (s Shard) validate() error {
	n := s.count()
	if s.Count < 0 {
		return fmt.Errorf("shard %d/%d: the count must be at least 1", s.Index, s.Count)
	}
	if s.Index < 0 || s.Index >= n {
		return fmt.Errorf("shard %d/%d: the index must be from 0 to %d (count - 1)", s.Index, n, n-1)
	}
	return nil
}

func (s Shard) count() int {
	if s.Count <= 0 {
		return 1
	}
	return s.Count
}

// String formats the shard as its metric label, "i/n" ("0/1" when not sharded).
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.count()) }

// Share is this shard's part of a whole count of VUs:
// floor((i+1)·v/n) − floor(i·v/n). The shares of shards 0…n−1 sum to v.
func (s Shard) Share(v int) int {
	if v <= 0 {
		return 0
	}
	n := int64(s.count())
	i := int64(s.Index)
	return int(floorDiv((i+1)*int64(v), n) - floorDiv(i*int64(v), n))
}

// Owns reports whether the k-th iteration (from 0) of an arrival-rate
// executor's whole schedule belongs to this shard: iterations are dealt
// round-robin, so each shard runs rate/n and together they run the whole.
func (s Shard) Owns(k int64) bool {
	return k%int64(s.count()) == int64(s.Index)
}

// Rate is this shard's part of an arrival rate.
func (s Shard) Rate(rate float64) float64 { return rate / float64(s.count()) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
