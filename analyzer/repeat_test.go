package analyzer

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

func brokeAt(rps, unc float64, reason string) model.Analysis {
	return model.Analysis{RunID: "r", TestedUpToRPS: rps * 1.1, BreakingPoint: &model.BreakingPoint{Reason: reason, RPS: rps, RPSUncertainty: unc, VUs: 40}}
}

func TestRepeatability(t *testing.T) {
	tests := []struct {
		name     string
		in       []model.Analysis
		mean, sd float64
		verdict  []string
	}{
		{"three runs at 500, 510 and 520 RPS give 510 ± 10 and a 3.9% spread",
			[]model.Analysis{brokeAt(500, 15, model.ReasonSaturation), brokeAt(510, 15, model.ReasonSaturation), brokeAt(520, 15, model.ReasonLatencySLO)},
			510, 10, []string{"510 ± 10 RPS (mean ± sd), 500–520 RPS, a spread of 3.9% of the mean", "saturation ×2, latency_slo ×1", "covers the mean"}},
		{"runs that disagree beyond their own uncertainties are called noisy",
			[]model.Analysis{brokeAt(91, 5, model.ReasonSaturation), brokeAt(120, 5, model.ReasonSaturation)},
			105.5, 20.506, []string{"91–120 RPS", "differ by more than their own uncertainties"}},
		{"a run that did not break is counted and left out of the spread",
			[]model.Analysis{brokeAt(300, 10, model.ReasonErrorRate), {RunID: "x", TestedUpToRPS: 900}, brokeAt(310, 10, model.ReasonErrorRate)},
			305, 7.071, []string{"over 2 runs", "1 of 3 runs did not break"}},
		{"no run broke: the verdict says how far they went",
			[]model.Analysis{{TestedUpToRPS: 800}, {TestedUpToRPS: 850}},
			0, 0, []string{"None of 2 runs broke (tested up to 850 RPS)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := make([]model.Analysis, len(tt.in))
			copy(before, tt.in)
			r := Repeatability(tt.in)
			if math.Abs(r.MeanRPS-tt.mean) > 1e-3 || math.Abs(r.SDRPS-tt.sd) > 1e-3 {
				t.Errorf("mean %v sd %v, want %v and %v", r.MeanRPS, r.SDRPS, tt.mean, tt.sd)
			}
			for _, s := range tt.verdict {
				if !strings.Contains(r.Verdict, s) {
					t.Errorf("verdict %q lacks %q", r.Verdict, s)
				}
			}
			if len(r.Runs) != len(tt.in) {
				t.Errorf("%d runs, want %d", len(r.Runs), len(tt.in))
			}
			if !reflect.DeepEqual(before, tt.in) {
				t.Error("Repeatability modified its input")
			}
		})
	}
}
