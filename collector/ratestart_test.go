package collector

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	pmodel "github.com/prometheus/common/model"
)

// writeCPUCounter writes process_cpu_seconds_total{job="app"} growing at
// perSecond from the value initial, scraped every second from from to to.
func writeCPUCounter(t *testing.T, s *Store, from, to time.Time, initial, perSecond float64) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "process_cpu_seconds_total", Help: "CPU.", ConstLabels: prometheus.Labels{"job": "app"}})
	reg.MustRegister(c)
	c.Add(initial)
	for ts := from; !ts.After(to); ts = ts.Add(time.Second) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(context.Background(), ts, mfs); err != nil {
			t.Fatalf("Write at %s: %v", ts, err)
		}
		c.Add(perSecond)
	}
}

func cpuDetected(window string) []Detected {
	return []Detected{{
		Kind: "cpu", Name: "CPU", Family: "process", Unit: "cores",
		Queries: Queries{Usage: `sum(rate(process_cpu_seconds_total{job="app"}[` + window + `]))`, Limit: "vector(2)"},
	}}
}

// A run's embedded store holds no sample before the run starts, so a rate
// whose window reaches before the first sample divides the increase of a
// few seconds by the whole window: 30 s after the start a CPU busy at 0.8
// cores all along would read 0.13 at +5 s. The rates near the series start
// are taken over the data present instead.
func TestRatesNearTheFirstSampleReadTheTrueRate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial float64
	}{
		{"a counter that has run before the store started (process CPU)", 1234.5},
		{"a counter born with the run", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStore(t, t.TempDir())
			writeCPUCounter(t, s, t0, t0.Add(90*time.Second), tc.initial, 0.8)
			rs := collectOne(t, s, cpuDetected("30s"), "cpu", Range{Start: t0, End: t0.Add(90 * time.Second), Step: 5 * time.Second})
			if len(rs.Usage) != 1 {
				t.Fatalf("usage has %d series, want 1", len(rs.Usage))
			}
			for i, ts := range rs.Times {
				v := rs.Usage[0].Values[i]
				off := ts.Sub(t0)
				if off < 5*time.Second {
					continue
				}
				if math.IsNaN(v) || math.Abs(v-0.8) > 0.02 {
					t.Errorf("usage at t0+%s = %.3f cores, want 0.8 ± 0.02", off, v)
				}
			}
		})
	}
}

// Against a Prometheus whose series began long before the analysed window
// (a run started mid-series), every rate window is full and the rates are
// those of the catalog's query, untouched.
func TestRatesOfSeriesOlderThanTheWindowAreUnchanged(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	writeCPUCounter(t, s, t0.Add(-2*time.Minute), t0.Add(60*time.Second), 1234.5, 0.8)
	r := Range{Start: t0, End: t0.Add(60 * time.Second), Step: 5 * time.Second}
	det := cpuDetected("30s")
	rs := collectOne(t, s, det, "cpu", r)
	m, err := s.QueryRange(context.Background(), det[0].Queries.Usage, r)
	if err != nil {
		t.Fatal(err)
	}
	want := alignMatrix(m, r.Start, r.Step, len(rs.Times))
	for i := range rs.Times {
		if got, w := rs.Usage[0].Values[i], want[0].Values[i]; got != w {
			t.Errorf("usage at t0+%s = %v, want the plain query's %v", rs.Times[i].Sub(t0), got, w)
		}
	}
}

// The first points after the series start, with fewer than three samples
// in their window, are gaps rather than rates of almost nothing.
func TestRatesWithTooFewSamplesAreGaps(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	writeCPUCounter(t, s, t0, t0.Add(20*time.Second), 1234.5, 0.8)
	rs := collectOne(t, s, cpuDetected("30s"), "cpu", Range{Start: t0, End: t0.Add(20 * time.Second), Step: time.Second})
	for i, ts := range rs.Times {
		v := rs.Usage[0].Values[i]
		off := ts.Sub(t0)
		switch {
		case off < 2*time.Second && !math.IsNaN(v):
			t.Errorf("usage at t0+%s = %.3f from fewer than three samples, want a gap", off, v)
		case off >= 2*time.Second && (math.IsNaN(v) || math.Abs(v-0.8) > 0.02):
			t.Errorf("usage at t0+%s = %.3f cores, want 0.8 ± 0.02", off, v)
		}
	}
}

// failingInstant answers range queries but fails every instant query.
type failingInstant struct{ Source }

func (failingInstant) Query(context.Context, string, time.Time) (pmodel.Value, error) {
	return nil, errors.New("instant queries are down")
}

// When the recheck near the first sample cannot run, the points stay as
// the range query gave them and a note says so: the analysis goes on.
func TestRatesNearTheFirstSampleAreLeftAsTheyAreWhenTheRecheckFails(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	writeCPUCounter(t, s, t0, t0.Add(60*time.Second), 1234.5, 0.8)
	r := Range{Start: t0, End: t0.Add(60 * time.Second), Step: 5 * time.Second}
	det := cpuDetected("30s")
	rs := collectOne(t, failingInstant{s}, det, "cpu", r)
	m, err := s.QueryRange(context.Background(), det[0].Queries.Usage, r)
	if err != nil {
		t.Fatal(err)
	}
	want := alignMatrix(m, r.Start, r.Step, len(rs.Times))
	for i := range rs.Times {
		if got, w := rs.Usage[0].Values[i], want[0].Values[i]; got != w && !(math.IsNaN(got) && math.IsNaN(w)) {
			t.Errorf("usage at t0+%s = %v, want the range query's %v", rs.Times[i].Sub(t0), got, w)
		}
	}
	if !strings.Contains(strings.Join(rs.Notes, "\n"), "not rechecked") {
		t.Errorf("notes %q do not say the recheck failed", rs.Notes)
	}
}
