package report

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"

	"github.com/headroom-sh/headroom/model"
)

// Names of the service gauges (ARCHITECTURE.md, "Service gauges"), the
// same as model's. Each is labelled by service; the bottleneck's also by
// resource.
const (
	GaugeCapacityRPS         = model.GaugeCapacityRPS
	GaugePeakRPS             = model.GaugePeakRPS
	GaugeTargetRPS           = model.GaugeTargetRPS
	GaugeHeadroomRatio       = model.GaugeHeadroomRatio
	GaugeTargetHeadroomRatio = model.GaugeTargetHeadroomRatio
	GaugeBottleneckInfo      = model.GaugeBottleneckInfo
	GaugeLastReview          = model.GaugeLastReview
)

// ErrGaugeInput is wrapped by every error about a bad GaugeInput.
var ErrGaugeInput = errors.New("invalid gauge input")

// GaugeInput is what the service gauges are computed from: the last
// capacity review of one service.
type GaugeInput struct {
	// Service is the name the gauges are filed under (the service label).
	// Required.
	Service string
	// Analysis is the review's analysis. Required.
	Analysis *model.Analysis
	// Plan is the plan made from it, if any. When given, the capacity is
	// the production capacity the plan derived (the tested capacity scaled
	// to production's shape), and the peak, target and target headroom
	// default to the plan's.
	Plan *model.Plan
	// PeakRPS is the observed peak traffic in requests/s; 0 means the
	// plan's baseline peak, else unknown: then headroom_peak_rps and
	// headroom_headroom_ratio are not exported.
	PeakRPS float64
	// TargetRPS is the traffic the service must carry; 0 means the plan's
	// target, else unknown: then headroom_target_rps is not exported.
	TargetRPS float64
	// TargetHeadroomRatio is the spare capacity the team wants (0.20 = 20%);
	// 0 means the plan's, else model.DefaultTargetHeadroomRatio.
	TargetHeadroomRatio float64
	// ReviewedAt is when the review ran; zero means the end of the
	// analysed window.
	ReviewedAt time.Time
}

// GaugeValues are the numbers behind the gauges; a value the input could
// not give is 0 and its Has flag false.
type GaugeValues struct {
	Service        string
	CapacityRPS    float64
	CapacitySource string
	PeakRPS        float64
	HasPeak        bool
	TargetRPS      float64
	HasTarget      bool
	// HeadroomRatio = CapacityRPS / PeakRPS − 1, set when HasPeak.
	HeadroomRatio       float64
	TargetHeadroomRatio float64
	Bottleneck          string
	ReviewedAt          time.Time
}

// Values computes the gauges' numbers, or says which input is wrong.
func (in GaugeInput) Values() (GaugeValues, error) {
	var v GaugeValues
	if in.Analysis == nil {
		return v, ErrNoAnalysis
	}
	svc := strings.TrimSpace(in.Service)
	if svc == "" && in.Plan != nil {
		svc = strings.TrimSpace(in.Plan.Service)
	}
	switch {
	case svc == "":
		return v, fmt.Errorf("%w: the service name is empty: the gauges are labelled by service, e.g. service=\"checkout\"", ErrGaugeInput)
	case !utf8.ValidString(svc):
		return v, fmt.Errorf("%w: the service name %q is not valid UTF-8", ErrGaugeInput, svc)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"peak RPS", in.PeakRPS}, {"target RPS", in.TargetRPS}, {"target headroom ratio", in.TargetHeadroomRatio}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return v, fmt.Errorf("%w: the %s is %v: expected a finite number ≥ 0 (0 means unknown)", ErrGaugeInput, f.name, f.v)
		}
	}
	v.Service = svc
	v.CapacityRPS, v.CapacitySource = Capacity(in.Analysis)
	v.PeakRPS, v.TargetRPS, v.TargetHeadroomRatio = in.PeakRPS, in.TargetRPS, in.TargetHeadroomRatio
	if p := in.Plan; p != nil {
		if p.Measured.ProductionCapacityRPS > 0 {
			v.CapacityRPS, v.CapacitySource = p.Measured.ProductionCapacityRPS, CapacityPlan
		}
		if v.PeakRPS == 0 {
			v.PeakRPS = p.Target.BaselinePeakRPS
		}
		if v.TargetRPS == 0 {
			v.TargetRPS = p.Target.TargetRPS
		}
		if v.TargetHeadroomRatio == 0 {
			v.TargetHeadroomRatio = p.Target.HeadroomRatio
		}
	}
	if v.TargetHeadroomRatio == 0 {
		v.TargetHeadroomRatio = model.DefaultTargetHeadroomRatio
	}
	v.HasPeak, v.HasTarget = v.PeakRPS > 0, v.TargetRPS > 0
	if v.HasPeak {
		v.HeadroomRatio = v.CapacityRPS/v.PeakRPS - 1
	}
	v.Bottleneck = in.Analysis.Bottleneck.Resource
	if v.Bottleneck == "" {
		v.Bottleneck = model.BottleneckUnknown
	}
	v.ReviewedAt = in.ReviewedAt
	if v.ReviewedAt.IsZero() {
		v.ReviewedAt = in.Analysis.Window.End
	}
	return v, nil
}

// Help texts of the gauges.
const (
	helpCapacity       = "Estimated capacity of the service in requests/s from its last capacity review: the production capacity its plan derived, else the breaking point of its analysis, else (nothing broke) the highest load tested, which is a lower bound."
	helpPeak           = "Observed peak traffic of the service in requests/s."
	helpTarget         = "Traffic the service must carry in requests/s, e.g. the expected peak of the next season."
	helpHeadroom       = "Spare capacity over the observed peak: capacity / peak - 1 (0.25 means 25% spare; below 0 the peak exceeds the capacity)."
	helpTargetHeadroom = "Spare capacity over the peak the team wants (0.20 means 20%)."
	helpBottleneck     = "The resource the last capacity review named as the bottleneck (a catalog kind such as db_pool, or unknown or none); always 1."
	helpLastReview     = "Unix time in seconds of the service's last capacity review."
)

// Gauges builds the service gauges of one capacity review as metric
// families, sorted by name, ready to be served on /metrics (through a
// prometheus.Gatherer) or remote-written. headroom_peak_rps and
// headroom_headroom_ratio are left out when the peak is unknown, and
// headroom_target_rps when the target is.
func Gauges(in GaugeInput) ([]*dto.MetricFamily, error) {
	v, err := in.Values()
	if err != nil {
		return nil, err
	}
	return v.Families(), nil
}

// Families writes the values as metric families, sorted by name.
func (v GaugeValues) Families() []*dto.MetricFamily {
	svc := []*dto.LabelPair{{Name: ptr("service"), Value: ptr(v.Service)}}
	var out []*dto.MetricFamily
	gauge := func(name, help string, value float64, labels []*dto.LabelPair) {
		out = append(out, &dto.MetricFamily{
			Name: ptr(name), Help: ptr(help), Type: dto.MetricType_GAUGE.Enum(),
			Metric: []*dto.Metric{{Label: labels, Gauge: &dto.Gauge{Value: ptr(value)}}},
		})
	}
	gauge(GaugeCapacityRPS, helpCapacity, v.CapacityRPS, svc)
	if v.HasPeak {
		gauge(GaugePeakRPS, helpPeak, v.PeakRPS, svc)
		gauge(GaugeHeadroomRatio, helpHeadroom, v.HeadroomRatio, svc)
	}
	if v.HasTarget {
		gauge(GaugeTargetRPS, helpTarget, v.TargetRPS, svc)
	}
	gauge(GaugeTargetHeadroomRatio, helpTargetHeadroom, v.TargetHeadroomRatio, svc)
	// Labels are sorted by name, as the exposition format expects.
	gauge(GaugeBottleneckInfo, helpBottleneck, 1, []*dto.LabelPair{
		{Name: ptr("resource"), Value: ptr(v.Bottleneck)},
		{Name: ptr("service"), Value: ptr(v.Service)},
	})
	if !v.ReviewedAt.IsZero() {
		gauge(GaugeLastReview, helpLastReview, float64(v.ReviewedAt.UnixNano())/1e9, svc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

func ptr[T any](v T) *T { return &v }
