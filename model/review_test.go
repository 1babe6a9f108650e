package model

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func validReviewSpec() ReviewSpec {
	return ReviewSpec{Service: "checkout", Selector: `{job="checkout"}`, SLO: SLO{P95Ms: 300}}
}

func TestReviewSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*ReviewSpec)
		want   []string // substrings of the error; none means valid
	}{
		{"a spec with a service, a selector and an SLO is valid", func(*ReviewSpec) {}, nil},
		{"explicit traffic and latency queries stand in for a selector", func(s *ReviewSpec) {
			s.Selector, s.TrafficQuery, s.LatencyQuery = "", "sum(rate(x[5m]))", "histogram_quantile(0.95, y)"
		}, nil},
		{"a missing service is named", func(s *ReviewSpec) { s.Service = "" }, []string{"service: missing"}},
		{"a service name with a space is refused", func(s *ReviewSpec) { s.Service = "check out" }, []string{"service:", "not a service name"}},
		{"a selector without braces is refused", func(s *ReviewSpec) { s.Selector = `job="checkout"` }, []string{"selector:", "not a label selector"}},
		{"no selector and no queries is refused", func(s *ReviewSpec) { s.Selector = "" }, []string{"selector: missing", "traffic_query"}},
		{"a step under 30s is refused", func(s *ReviewSpec) { s.Step = Duration(10 * time.Second) }, []string{"step:", "at least 30s"}},
		{"a lookback of fewer than 10 steps is refused", func(s *ReviewSpec) { s.Lookback = Duration(30 * time.Minute) }, []string{"lookback:", "only 6 steps"}},
		{"a lookback of more than 11,000 steps is refused", func(s *ReviewSpec) {
			s.Lookback, s.Step = Duration(30*24*time.Hour), Duration(time.Minute)
		}, []string{"lookback:", "43200 points"}},
		{"a bad and a repeated resource kind are both named", func(s *ReviewSpec) { s.Resources = []string{"DB-Pool", "cpu", "cpu"} }, []string{"resources[0]:", "resources[2]:", "listed twice"}},
		{"a negative SLO is refused", func(s *ReviewSpec) { s.SLO.P95Ms = -1 }, []string{"slo.p95_ms:"}},
		{"an error-rate limit above 1 is refused", func(s *ReviewSpec) { s.SLO.MaxErrorRate = 5 }, []string{"slo.max_error_rate:"}},
		{"a NaN target headroom is refused", func(s *ReviewSpec) { s.TargetHeadroom = math.NaN() }, []string{"target_headroom:"}},
		{"a negative target is refused", func(s *ReviewSpec) { s.TargetRPS = -5 }, []string{"target_rps:"}},
		{"a saturation above 1 is refused", func(s *ReviewSpec) { s.SaturationUtilization = 1.5 }, []string{"saturation_utilization:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validReviewSpec()
			tc.modify(&s)
			err := s.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid spec refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestReviewSpecSetDefaults(t *testing.T) {
	s := validReviewSpec()
	s.SetDefaults()
	if s.Lookback.D() != 7*24*time.Hour || s.Step.D() != 5*time.Minute || s.TargetHeadroom != 0.20 || s.SaturationUtilization != 0.90 {
		t.Errorf("defaults = lookback %s, step %s, target %g, saturation %g", s.Lookback, s.Step, s.TargetHeadroom, s.SaturationUtilization)
	}
	again := s
	again.SetDefaults()
	if again.Lookback != s.Lookback || again.TargetHeadroom != s.TargetHeadroom {
		t.Error("SetDefaults is not idempotent")
	}
	s.TargetHeadroom = 0.5
	s.SetDefaults()
	if s.TargetHeadroom != 0.5 {
		t.Errorf("a set target headroom was replaced: %g", s.TargetHeadroom)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("defaulted spec is invalid: %v", err)
	}
}

func TestReviewGaugeValues(t *testing.T) {
	at := time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC)
	rv := Review{Service: "checkout", At: at, PeakRPS: 1600, CapacityRPS: 1800, HeadroomRatio: 0.125, TargetHeadroomRatio: 0.2, TargetRPS: 2000, Bottleneck: KindDBPool}
	got := map[string]GaugeValue{}
	var names []string
	for _, g := range rv.GaugeValues() {
		got[g.Name] = g
		names = append(names, g.Name)
		if g.Labels["service"] != "checkout" || g.Help == "" {
			t.Errorf("%s: labels %v, help %q", g.Name, g.Labels, g.Help)
		}
	}
	want := map[string]float64{
		GaugeBottleneckInfo: 1, GaugeCapacityRPS: 1800, GaugeHeadroomRatio: 0.125, GaugeLastReview: float64(at.Unix()),
		GaugePeakRPS: 1600, GaugeTargetHeadroomRatio: 0.2, GaugeTargetRPS: 2000,
	}
	if len(got) != len(want) {
		t.Errorf("gauges %v, want %d", names, len(want))
	}
	for n, v := range want {
		if g, ok := got[n]; !ok || g.Value != v {
			t.Errorf("%s = %v (present %v), want %v", n, g.Value, ok, v)
		}
	}
	if got[GaugeBottleneckInfo].Labels["resource"] != KindDBPool {
		t.Errorf("bottleneck labels %v", got[GaugeBottleneckInfo].Labels)
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] > names[i] {
			t.Errorf("gauges not sorted by name: %v", names)
		}
	}

	// An unknown capacity never reads as no headroom.
	unknown := Review{Service: "checkout", PeakRPS: 1600}
	for _, g := range unknown.GaugeValues() {
		switch g.Name {
		case GaugeCapacityRPS, GaugeHeadroomRatio, GaugeTargetRPS, GaugeLastReview:
			t.Errorf("%s exported without a capacity, target or time", g.Name)
		case GaugeTargetHeadroomRatio:
			if g.Value != DefaultTargetHeadroomRatio {
				t.Errorf("target headroom %g, want the default", g.Value)
			}
		case GaugeBottleneckInfo:
			if g.Labels["resource"] != BottleneckUnknown {
				t.Errorf("bottleneck %v, want unknown", g.Labels)
			}
		}
	}
}

func TestProductionObservationsJSONKeepsGaps(t *testing.T) {
	o := ProductionObservations{Service: "checkout", RPS: Samples{1, math.NaN(), 3}, LatencyS: Samples{0.1, 0.2, math.NaN()}}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"rps":[1,null,3]`) {
		t.Errorf("gaps not written as null: %s", b)
	}
	var back ProductionObservations
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.RPS[1]) || back.RPS[2] != 3 || !math.IsNaN(back.LatencyS[2]) {
		t.Errorf("read back %v %v", back.RPS, back.LatencyS)
	}
}
