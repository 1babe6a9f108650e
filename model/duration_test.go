package model

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := map[string]struct {
		in   string
		want time.Duration
	}{
		"a Go duration":                          {"1m30s", 90 * time.Second},
		"milliseconds":                           {"250ms", 250 * time.Millisecond},
		"hours":                                  {"2h", 2 * time.Hour},
		"a bare integer is seconds, as in k6":    {"45", 45 * time.Second},
		"a bare fraction is seconds":             {"0.5", 500 * time.Millisecond},
		"surrounding spaces are ignored":         {" 30s ", 30 * time.Second},
		"zero is allowed (instant stage jumps)":  {"0s", 0},
		"a bare zero is allowed":                 {"0", 0},
		"a very long but representable duration": {"2000h", 2000 * time.Hour},
		"days, as Prometheus writes them":        {"7d", 7 * 24 * time.Hour},
		"weeks":                                  {"1w", 7 * 24 * time.Hour},
		"weeks, days and a Go duration":          {"1w2d3h", 9*24*time.Hour + 3*time.Hour},
		"days and minutes":                       {"1d30m", 24*time.Hour + 30*time.Minute},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDuration(c.in)
			if err != nil {
				t.Fatalf("ParseDuration(%q): %v", c.in, err)
			}
			if got != c.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

func TestParseDurationRejects(t *testing.T) {
	cases := map[string]struct{ in, msg string }{
		"an empty string":        {"", "empty duration"},
		"words":                  {"30 seconds", `invalid duration "30 seconds": expected a duration such as "30s"`},
		"a negative Go duration": {"-5s", "is negative"},
		"a negative number":      {"-5", "is negative"},
		"NaN, which would become a negative value": {"NaN", "invalid duration"},
		"infinity":                       {"inf", "invalid duration"},
		"a number of seconds past int64": {"1e300", "invalid duration"},
		"days in the wrong order":        {"1d1w", "invalid duration"},
		"a unit without a number":        {"d", "invalid duration"},
		"a negative part after days":     {"1d-5s", "invalid duration"},
		"days past int64":                {"999999999999d", "invalid duration"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := ParseDuration(c.in)
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %v, want an error", c.in, d)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("ParseDuration(%q) = %q, want it to contain %q", c.in, err, c.msg)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		0:                                  "0s",
		90 * time.Second:                   "1m30s",
		2 * time.Minute:                    "2m",
		time.Hour:                          "1h",
		time.Hour + 30*time.Minute:         "1h30m",
		250 * time.Millisecond:             "250ms",
		1500 * time.Millisecond:            "1.5s",
		time.Hour + 5*time.Second:          "1h0m5s",
		36*time.Hour + time.Minute:         "36h1m",
		30 * time.Second:                   "30s",
		time.Minute + 500*time.Millisecond: "1m0.5s",
		7 * 24 * time.Hour:                 "7d",
		24 * time.Hour:                     "1d",
		25 * time.Hour:                     "25h",
	}
	for d, want := range cases {
		got := FormatDuration(d)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		back, err := ParseDuration(got)
		if err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v; want it back", d, back, err)
		}
	}
}

func TestDurationIsWrittenAsTextInJSON(t *testing.T) {
	b, err := json.Marshal(struct{ D Duration }{Duration(90 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"D":"1m30s"}` {
		t.Errorf("json = %s", b)
	}
	var back struct{ D Duration }
	if err := json.Unmarshal(b, &back); err != nil || back.D.D() != 90*time.Second {
		t.Errorf("read back %v, %v", back.D, err)
	}
	if err := json.Unmarshal([]byte(`{"D":"soon"}`), &back); err == nil {
		t.Error("a bad duration was accepted")
	}
}
