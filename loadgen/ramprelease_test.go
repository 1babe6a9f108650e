package loadgen

import (
	"testing"
	"time"
)

// TestMemoryIsReleasedOnceARampOfVUsSettles: the runner hands memory back
// once after a ramp of at least rampReleaseVUs VUs, when no VU has started
// for two seconds, and not for small ramps or while VUs keep starting.
func TestMemoryIsReleasedOnceARampOfVUsSettles(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	var rr rampRelease
	steps := []struct {
		sec  int
		made int64
		want bool
	}{
		{1, 10, false},   // a few VUs
		{2, 10, false},   //
		{4, 10, false},   // settled, but too few
		{5, 5000, false}, // a ramp
		{6, 10000, false},
		{7, 10000, false}, // settled for 1 s
		{8, 10000, true},  // settled for 2 s: release
		{9, 10000, false}, // released already
		{20, 10000, false},
		{21, 10500, false}, // 500 more: too few
		{24, 10500, false},
		{25, 11200, false}, // 1,200 since the release
		{27, 11200, true},
		{28, 11200, false},
	}
	for _, s := range steps {
		if got := rr.due(s.made, at(s.sec)); got != s.want {
			t.Errorf("at %ds with %d VUs made: due = %v, want %v", s.sec, s.made, got, s.want)
		}
	}
}
