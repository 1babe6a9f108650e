package report

import (
	"bytes"
	"errors"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/headroom-sh/headroom/model"
)

// gaugeMap reads families into name → labels → value, labels written as
// "k=v,k=v".
func gaugeMap(t *testing.T, fams []*dto.MetricFamily) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	for _, f := range fams {
		if f.GetType() != dto.MetricType_GAUGE || f.GetHelp() == "" {
			t.Errorf("%s is %v with help %q, want a documented gauge", f.GetName(), f.GetType(), f.GetHelp())
		}
		out[f.GetName()] = map[string]float64{}
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out[f.GetName()][strings.Join(ls, ",")] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestGauges(t *testing.T) {
	launchIn := launch(t)
	broke := launchIn.Analysis
	held := stageOnly()
	planNoProd := *launchIn.Plan
	planNoProd.Measured.ProductionCapacityRPS = 0
	reviewed := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   GaugeInput
		want map[string]float64 // name → value, for service="checkout"; NaN means absent
		// source is the capacity's source.
		source     string
		bottleneck string
	}{
		{
			name: "an analysis that broke gives its breaking point as the capacity",
			in:   GaugeInput{Service: "checkout", Analysis: broke, PeakRPS: 250, TargetRPS: 540, ReviewedAt: reviewed},
			want: map[string]float64{
				GaugeCapacityRPS: broke.BreakingPoint.RPS, GaugePeakRPS: 250, GaugeTargetRPS: 540,
				GaugeHeadroomRatio: broke.BreakingPoint.RPS/250 - 1, GaugeTargetHeadroomRatio: 0.2,
				GaugeLastReview: float64(reviewed.Unix()),
			},
			source: CapacityBreakingPoint, bottleneck: "db_pool",
		},
		{
			name: "an analysis that did not break gives the highest load tested, a lower bound",
			in:   GaugeInput{Service: "checkout", Analysis: held, PeakRPS: 300},
			want: map[string]float64{
				GaugeCapacityRPS: 350, GaugePeakRPS: 300, GaugeHeadroomRatio: 350.0/300 - 1, GaugeTargetRPS: math.NaN(),
				GaugeLastReview: float64(held.Window.End.Unix()),
			},
			source: CapacityTestedUpTo, bottleneck: "none",
		},
		{
			name: "without a peak there is no peak and no headroom ratio, rather than a made-up one",
			in:   GaugeInput{Service: "checkout", Analysis: held, TargetHeadroomRatio: 0.3},
			want: map[string]float64{
				GaugeCapacityRPS: 350, GaugePeakRPS: math.NaN(), GaugeHeadroomRatio: math.NaN(), GaugeTargetHeadroomRatio: 0.3,
			},
			source: CapacityTestedUpTo, bottleneck: "none",
		},
		{
			name: "a plan gives production's capacity, the peak, the target and the headroom wanted",
			in:   GaugeInput{Analysis: broke, Plan: launchIn.Plan},
			want: map[string]float64{
				GaugeCapacityRPS: launchIn.Plan.Measured.ProductionCapacityRPS, GaugePeakRPS: 210, GaugeTargetRPS: 540,
				GaugeHeadroomRatio: launchIn.Plan.Measured.CurrentHeadroomRatio, GaugeTargetHeadroomRatio: 0.2,
			},
			source: CapacityPlan, bottleneck: "db_pool",
		},
		{
			name: "flags win over the plan, and a plan without production capacity falls back to the analysis",
			in:   GaugeInput{Service: "checkout", Analysis: broke, Plan: &planNoProd, PeakRPS: 400, TargetRPS: 900},
			want: map[string]float64{
				GaugeCapacityRPS: broke.BreakingPoint.RPS, GaugePeakRPS: 400, GaugeTargetRPS: 900,
				GaugeHeadroomRatio: broke.BreakingPoint.RPS/400 - 1,
			},
			source: CapacityBreakingPoint, bottleneck: "db_pool",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.in.Values()
			if err != nil {
				t.Fatal(err)
			}
			if v.CapacitySource != tc.source {
				t.Errorf("capacity source = %s, want %s", v.CapacitySource, tc.source)
			}
			fams, err := Gauges(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !sort.SliceIsSorted(fams, func(i, j int) bool { return fams[i].GetName() < fams[j].GetName() }) {
				t.Error("the families are not sorted by name")
			}
			got := gaugeMap(t, fams)
			for name, want := range tc.want {
				val, ok := got[name]["service=checkout"]
				switch {
				case math.IsNaN(want) && ok:
					t.Errorf("%s = %v, want it left out", name, val)
				case !math.IsNaN(want) && !ok:
					t.Errorf("%s is missing", name)
				case !math.IsNaN(want) && math.Abs(val-want) > 1e-6:
					t.Errorf("%s = %v, want %v", name, val, want)
				}
			}
			if val := got[GaugeBottleneckInfo]["resource="+tc.bottleneck+",service=checkout"]; val != 1 {
				t.Errorf("%s = %v, want {resource=%q} 1", GaugeBottleneckInfo, got[GaugeBottleneckInfo], tc.bottleneck)
			}
			// They are valid exposition: served on /metrics or written for the
			// textfile collector.
			var b bytes.Buffer
			for _, f := range fams {
				if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
					t.Errorf("%s does not encode: %v", f.GetName(), err)
				}
			}
		})
	}
}

func TestGaugesRejectBadInput(t *testing.T) {
	a := stageOnly()
	for _, tc := range []struct {
		name string
		in   GaugeInput
		want string
	}{
		{"gauges need an analysis", GaugeInput{Service: "checkout"}, "no analysis"},
		{"gauges need a service name", GaugeInput{Analysis: a, Service: "  "}, "service name is empty"},
		{"a peak that is not a number is refused", GaugeInput{Analysis: a, Service: "x", PeakRPS: math.NaN()}, "peak RPS"},
		{"a negative target is refused", GaugeInput{Analysis: a, Service: "x", TargetRPS: -1}, "target RPS"},
		{"an infinite headroom is refused", GaugeInput{Analysis: a, Service: "x", TargetHeadroomRatio: math.Inf(1)}, "target headroom ratio"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Gauges(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if tc.in.Analysis != nil && !errors.Is(err, ErrGaugeInput) {
				t.Errorf("err = %v, want ErrGaugeInput", err)
			}
		})
	}
}

func TestCapacity(t *testing.T) {
	a := stageOnly()
	if rps, src := Capacity(a); rps != 350 || src != CapacityTestedUpTo {
		t.Errorf("Capacity = %v, %s; want 350, tested_up_to", rps, src)
	}
	a.BreakingPoint = &model.BreakingPoint{RPS: 320}
	if rps, src := Capacity(a); rps != 320 || src != CapacityBreakingPoint {
		t.Errorf("Capacity = %v, %s; want 320, breaking_point", rps, src)
	}
}
