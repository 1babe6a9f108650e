package app

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/model"
)

func familyNames(fams []*dto.MetricFamily) map[string]*dto.MetricFamily {
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// An unknown capacity (a review that found no limit, an analysis of a run
// that carried nothing) is an absent series, never 0: the headroom ratio
// would read -100% and HeadroomBelowTarget would fire on nothing.
func TestAnUnknownCapacityIsAnAbsentSeries(t *testing.T) {
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	review := model.Review{Service: "checkout", At: at, PeakRPS: 200, CapacityRPS: 0, HeadroomRatio: 0, TargetHeadroomRatio: 0.2, Bottleneck: model.BottleneckUnknown}
	fromAnalysis, _, err := AnalysisGauges(GaugeInput{Service: "checkout", Analysis: &model.Analysis{Window: model.Window{Start: at.Add(-time.Hour), End: at}}, PeakRPS: 200})
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range map[string]model.ServiceGauges{"review": review.Gauges(), "analysis": fromAnalysis} {
		fams := familyNames(GaugeFamilies(g))
		for _, absent := range []string{model.GaugeCapacityRPS, model.GaugeHeadroomRatio} {
			if f, ok := fams[absent]; ok {
				t.Errorf("%s: %s is exported with an unknown capacity: %v", name, absent, f)
			}
		}
		for _, present := range []string{model.GaugePeakRPS, model.GaugeTargetHeadroomRatio, model.GaugeBottleneckInfo, model.GaugeLastReview} {
			if _, ok := fams[present]; !ok {
				t.Errorf("%s: %s is missing", name, present)
			}
		}
	}
	// A known capacity is there, with its ratio.
	g, src, err := AnalysisGauges(GaugeInput{Service: "checkout", Analysis: &model.Analysis{TestedUpToRPS: 300}, PeakRPS: 200})
	if err != nil || src != "tested_up_to" {
		t.Fatalf("AnalysisGauges: %v, source %q", err, src)
	}
	fams := familyNames(GaugeFamilies(g))
	if r := fams[model.GaugeHeadroomRatio]; r == nil || r.Metric[0].GetGauge().GetValue() != 0.5 {
		t.Errorf("headroom ratio = %v, want 0.5 (300 / 200 - 1)", r)
	}
	if _, _, err := AnalysisGauges(GaugeInput{Analysis: &model.Analysis{}}); !errors.Is(err, ErrGaugeInput) {
		t.Errorf("no service: err = %v, want ErrGaugeInput", err)
	}
}

// TestHeadroomBelowTargetStaysSilentOnAnUnknownCapacity runs promtool's rule
// tests on deploy/prometheus/rules/headroom.rules.yml with the series the
// one encoder exports (as a scrape of headroom serve would add job and
// instance): a service whose capacity is unknown raises no alert, one with
// 5% headroom against a 20% target does after 15 minutes, one with 100%
// does not. The same file with the old encoding of an unknown capacity
// (capacity 0, ratio -1) must fail.
func TestHeadroomBelowTargetStaysSilentOnAnUnknownCapacity(t *testing.T) {
	promtool := testenv.Require(t, testenv.Promtool)
	rules := filepath.Join(testenv.Root(), "deploy", "prometheus", "rules", "headroom.rules.yml")
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	services := []model.ServiceGauges{
		{Service: "unknown", PeakRPS: 200, TargetHeadroomRatio: 0.2, Bottleneck: model.BottleneckUnknown, At: at},
		{Service: "low", CapacityRPS: 210, PeakRPS: 200, TargetHeadroomRatio: 0.2, Bottleneck: model.KindDBPool, At: at},
		{Service: "ample", CapacityRPS: 400, PeakRPS: 200, TargetHeadroomRatio: 0.2, Bottleneck: model.KindDBPool, At: at},
	}
	type series struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	}
	var input []series
	for _, f := range GaugeFamilies(services...) {
		for _, m := range f.Metric {
			ls := []string{`instance="headroom:8090"`, `job="headroom"`}
			for _, l := range m.Label {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			input = append(input, series{f.GetName() + "{" + strings.Join(ls, ",") + "}", strconv.FormatFloat(m.GetGauge().GetValue(), 'g', -1, 64) + "+0x30"})
		}
	}
	runbook := ruleAnnotation(t, rules, "HeadroomBelowTarget", "runbook")
	pct := func(v float64) string { return fmt.Sprintf("%.4g%%", v*100) } // humanizePercentage
	low := 210.0/200 - 1
	fired := map[string]any{
		"exp_labels": map[string]string{"severity": "warning", "job": "headroom", "instance": "headroom:8090", "service": "low"},
		"exp_annotations": map[string]string{
			"summary":     fmt.Sprintf("low has %s headroom, below its target of %s", pct(low), pct(0.2)),
			"description": fmt.Sprintf("The estimated capacity of low leaves %s over its observed peak traffic (headroom_headroom_ratio = capacity / peak - 1), less than the target of %s, for 15m. A negative value means the peak already exceeds the capacity.", pct(low), pct(0.2)),
			"runbook":     runbook,
		},
	}
	write := func(input []series) string {
		doc := map[string]any{
			"rule_files": []string{rules}, "evaluation_interval": "1m",
			"tests": []map[string]any{{
				"interval": "1m", "input_series": input,
				"alert_rule_test": []map[string]any{
					{"eval_time": "14m", "alertname": "HeadroomBelowTarget", "exp_alerts": []any{}},
					{"eval_time": "20m", "alertname": "HeadroomBelowTarget", "exp_alerts": []any{fired}},
				},
			}},
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "gauges.rules.test.yml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if out, err := exec.Command(promtool, "test", "rules", write(input)).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	// What the old encoders exported for an unknown capacity fires.
	old := append(input[:len(input):len(input)],
		series{`headroom_capacity_rps{instance="headroom:8090",job="headroom",service="unknown"}`, "0+0x30"},
		series{`headroom_headroom_ratio{instance="headroom:8090",job="headroom",service="unknown"}`, "-1+0x30"})
	out, err := exec.Command(promtool, "test", "rules", write(old)).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Errorf("promtool accepted an alert on an unknown capacity (err %v):\n%s", err, out)
	}
}

// ruleAnnotation reads one annotation of an alert from a rules file.
func ruleAnnotation(t *testing.T, path, alert, key string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if r.Alert == alert {
				return r.Annotations[key]
			}
		}
	}
	t.Fatalf("%s has no alert %s", path, alert)
	return ""
}
