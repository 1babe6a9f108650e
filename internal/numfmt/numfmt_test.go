package numfmt

import (
	"math"
	"testing"
)

func TestPlain(t *testing.T) {
	for f, want := range map[float64]string{0.5: "0.5", 120: "120", 1e-7: "0.0000001", -2.25: "-2.25"} {
		if got := Plain(f); got != want {
			t.Errorf("Plain(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestRound(t *testing.T) {
	for _, c := range []struct {
		f    float64
		d    int
		want string
	}{
		{2.96, 1, "3"}, {2.94, 1, "2.9"}, {0.75, 1, "0.8"}, {12.5, 2, "12.5"}, {12.345, 2, "12.35"},
		{41.9, 1, "41.9"}, {100, 1, "100"}, {-0.04, 1, "0"}, {-1.26, 1, "-1.3"}, {1234567.891, 0, "1234568"},
		{math.Inf(1), 1, "+Inf"},
	} {
		if got := Round(c.f, c.d); got != c.want {
			t.Errorf("Round(%v, %d) = %q, want %q", c.f, c.d, got, c.want)
		}
	}
}
