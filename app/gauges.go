package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/report"
)

// ErrGaugeInput is wrapped by every error about a bad GaugeInput.
var ErrGaugeInput = errors.New("invalid gauge input")

// GaugeInput is a load test's capacity review of one service: its analysis,
// and the plan made from it if any.
type GaugeInput struct {
	// Service is the name the gauges are filed under (the service label);
	// empty means the plan's.
	Service string
	// Analysis is the review's analysis. Required.
	Analysis *model.Analysis
	// Plan, when given, sets the capacity (the production capacity it
	// derived), and the peak, target and target headroom unless given.
	Plan *model.Plan
	// PeakRPS, TargetRPS and TargetHeadroomRatio: 0 means the plan's, else
	// unknown (the target headroom then defaults to 0.20).
	PeakRPS, TargetRPS, TargetHeadroomRatio float64
	// ReviewedAt is when the review ran; zero means the end of the
	// analysed window.
	ReviewedAt time.Time
}

// AnalysisGauges are the service gauges of an analysis (and its plan), with
// where the capacity came from (report.Capacity*).
func AnalysisGauges(in GaugeInput) (g model.ServiceGauges, capacitySource string, err error) {
	if in.Analysis == nil {
		return g, "", fmt.Errorf("%w: no analysis", ErrGaugeInput)
	}
	svc := strings.TrimSpace(in.Service)
	if svc == "" && in.Plan != nil {
		svc = strings.TrimSpace(in.Plan.Service)
	}
	switch {
	case svc == "":
		return g, "", fmt.Errorf("%w: the service name is empty: the gauges are labelled by service, e.g. service=\"checkout\"", ErrGaugeInput)
	case !utf8.ValidString(svc):
		return g, "", fmt.Errorf("%w: the service name %q is not valid UTF-8", ErrGaugeInput, svc)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"peak RPS", in.PeakRPS}, {"target RPS", in.TargetRPS}, {"target headroom ratio", in.TargetHeadroomRatio}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return g, "", fmt.Errorf("%w: the %s is %v: expected a finite number ≥ 0 (0 means unknown)", ErrGaugeInput, f.name, f.v)
		}
	}
	g = model.ServiceGauges{Service: svc, PeakRPS: in.PeakRPS, TargetRPS: in.TargetRPS, TargetHeadroomRatio: in.TargetHeadroomRatio, At: in.ReviewedAt}
	g.CapacityRPS, capacitySource = report.Capacity(in.Analysis)
	if p := in.Plan; p != nil {
		if p.Measured.ProductionCapacityRPS > 0 {
			g.CapacityRPS, capacitySource = p.Measured.ProductionCapacityRPS, report.CapacityPlan
		}
		if g.PeakRPS == 0 {
			g.PeakRPS = p.Target.BaselinePeakRPS
		}
		if g.TargetRPS == 0 {
			g.TargetRPS = p.Target.TargetRPS
		}
		if g.TargetHeadroomRatio == 0 {
			g.TargetHeadroomRatio = p.Target.HeadroomRatio
		}
	}
	if g.TargetHeadroomRatio == 0 {
		g.TargetHeadroomRatio = model.DefaultTargetHeadroomRatio
	}
	g.Bottleneck = in.Analysis.Bottleneck.Resource
	if g.At.IsZero() {
		g.At = in.Analysis.Window.End
	}
	return g, capacitySource, nil
}

// GaugeFamilies encodes the gauges of one or more services as metric
// families, one per name, sorted by name then by labels: the one encoder
// behind /metrics of the service, remote write and the text files.
func GaugeFamilies(services ...model.ServiceGauges) []*dto.MetricFamily {
	byName := map[string]*dto.MetricFamily{}
	for _, g := range services {
		for _, v := range g.Values() {
			mf, ok := byName[v.Name]
			if !ok {
				mf = &dto.MetricFamily{Name: ptr(v.Name), Help: ptr(v.Help), Type: dto.MetricType_GAUGE.Enum()}
				byName[v.Name] = mf
			}
			keys := make([]string, 0, len(v.Labels))
			for k := range v.Labels {
				keys = append(keys, k)
			}
			// Labels are sorted by name, as the exposition format expects.
			sort.Strings(keys)
			m := &dto.Metric{Gauge: &dto.Gauge{Value: ptr(v.Value)}}
			for _, k := range keys {
				m.Label = append(m.Label, &dto.LabelPair{Name: ptr(k), Value: ptr(v.Labels[k])})
			}
			mf.Metric = append(mf.Metric, m)
		}
	}
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, mf := range byName {
		sort.SliceStable(mf.Metric, func(i, j int) bool { return labelKey(mf.Metric[i]) < labelKey(mf.Metric[j]) })
		out = append(out, mf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

func labelKey(m *dto.Metric) string {
	var b strings.Builder
	for _, l := range m.Label {
		b.WriteString(l.GetName() + "=" + l.GetValue() + ",")
	}
	return b.String()
}

// GaugesText writes families in the Prometheus text format (for
// node_exporter's textfile collector).
func GaugesText(fams []*dto.MetricFamily) ([]byte, error) {
	var b bytes.Buffer
	for _, mf := range fams {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			return nil, fmt.Errorf("could not encode %s: %w", mf.GetName(), err)
		}
	}
	return b.Bytes(), nil
}

// PushGauges remote-writes families once, stamped at. One push is one
// sample: Prometheus shows it for its lookback (5 minutes by default).
func PushGauges(ctx context.Context, cfg loadgen.RemoteWriteConfig, at time.Time, fams []*dto.MetricFamily) error {
	rw, err := loadgen.NewRemoteWriter(cfg)
	if err != nil {
		return err
	}
	return rw.Write(ctx, at, fams)
}

func ptr[T any](v T) *T { return &v }
