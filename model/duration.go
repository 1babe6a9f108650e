package model

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in documents as a Go duration string
// ("30s", "1m30s", "250ms"). A bare number is read as seconds, as in k6.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration the way it is written in documents.
func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads "1m30s", "250ms", "2h", Prometheus-style days and
// weeks ("7d", "1w", "1d12h") or a bare number of seconds ("45", "0.5").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration: expected a duration such as \"30s\" or \"1m30s\"")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 {
			return 0, fmt.Errorf("duration %q is negative", s)
		}
		// NaN, infinities and values past ~292 years would convert to a
		// meaningless (often negative) time.Duration.
		if math.IsNaN(f) || f*float64(time.Second) >= math.MaxInt64 {
			return 0, fmt.Errorf("invalid duration %q: expected a duration such as \"30s\" or \"1m30s\"", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := parseDaysWeeks(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: expected a duration such as \"30s\", \"1m30s\" or \"7d\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// parseDaysWeeks is time.ParseDuration that also takes a leading number of
// weeks ("w") and then days ("d"), as Prometheus durations do.
func parseDaysWeeks(s string) (time.Duration, error) {
	var total time.Duration
	rest := s
	for _, u := range []struct {
		suffix string
		d      time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i >= len(rest) || !strings.HasPrefix(rest[i:], u.suffix) {
			continue
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64(math.MaxInt64/u.d) {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		total += time.Duration(n) * u.d
		rest = rest[i+len(u.suffix):]
	}
	if rest == "" {
		if total == 0 && s != "0d" && s != "0w" {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return total, nil
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, err
	}
	if rest != s && d < 0 {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return total + d, nil
}

// FormatDuration writes d compactly: 90s becomes "1m30s", 2m becomes "2m", 250ms stays "250ms".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
