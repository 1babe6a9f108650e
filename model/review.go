package model

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// This file holds the documents of a scheduled capacity review: what to
// review (ReviewSpec, filed per service), what the collector read from
// production metrics (ProductionObservations), and what the analyzer
// concluded (Review). A review answers, from the traffic the service already
// carries, how much more it can take before its SLO is crossed and which
// resource saturates first — without running a load test.
//
// The flow is
//
//	collector.ObserveProduction(ctx, src, spec, end) → ProductionObservations
//	analyzer.Review(spec, obs)                       → Review
//
// and the service (`headroom serve`) or `headroom review` stores the Review
// and publishes its gauges (headroom_capacity_rps, headroom_peak_rps,
// headroom_headroom_ratio, ...).

// ReviewSpec says how to review one service's capacity.
type ReviewSpec struct {
	// Service is the name the review and its gauges are filed under
	// (the service label). Required; [a-zA-Z0-9_.-]+.
	Service string `json:"service" yaml:"service"`
	// Schedule is a cron expression (5 fields, or @hourly/@daily/@every 1h)
	// for scheduled reviews; empty means on request only.
	Schedule string `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	// Lookback is how much history each review fits (default 7d).
	Lookback Duration `json:"lookback,omitempty" yaml:"lookback,omitempty"`
	// Step is the resolution of the series read (default 5m).
	Step Duration `json:"step,omitempty" yaml:"step,omitempty"`
	// Selector is the PromQL label selector of the service's series, e.g.
	// {job="checkout"}; it fills the catalog defaults below and the
	// resource queries.
	Selector string `json:"selector,omitempty" yaml:"selector,omitempty"`
	// TrafficQuery is PromQL for the service's throughput in requests/s;
	// empty means the catalog default over Selector (the HTTP server
	// request-rate families).
	TrafficQuery string `json:"traffic_query,omitempty" yaml:"traffic_query,omitempty"`
	// LatencyQuery is PromQL for the latency the SLO limits, in seconds
	// (e.g. a p95 from histogram_quantile); empty means the catalog
	// default over Selector.
	LatencyQuery string `json:"latency_query,omitempty" yaml:"latency_query,omitempty"`
	// ErrorQuery is PromQL for the error ratio (a fraction); optional.
	ErrorQuery string `json:"error_query,omitempty" yaml:"error_query,omitempty"`
	// Resources lists the catalog kinds to watch (db_pool, cpu, redis,
	// ...); empty means every kind the catalog finds under Selector.
	Resources []string `json:"resources,omitempty" yaml:"resources,omitempty"`
	// SelectorFor scopes one resource kind, or one kind/family, with its
	// own selector, e.g. {"db_server_connections": "{job=\"postgres\"}"}
	// (the CLI's --selector-for).
	SelectorFor map[string]string `json:"selector_for,omitempty" yaml:"selector_for,omitempty"`
	// LimitFor states limits the metrics do not know, by kind or
	// kind/family, in the family's unit, e.g. {"cpu": 4} (the CLI's
	// --limit-for). A review never takes the reviewing machine's cores as
	// a CPU limit: a CPU whose metrics say nothing needs one stated here.
	LimitFor map[string]float64 `json:"limit_for,omitempty" yaml:"limit_for,omitempty"`
	// SLO is what must hold (p95 latency and error-rate limits).
	SLO SLO `json:"slo" yaml:"slo"`
	// TargetHeadroom is the spare capacity the team wants over the observed
	// peak, as a fraction (default 0.20: capacity ≥ 1.2 × peak).
	TargetHeadroom float64 `json:"target_headroom,omitempty" yaml:"target_headroom,omitempty"`
	// TargetRPS is the traffic the service must carry (e.g. the launch
	// forecast); 0 means none beyond the peak.
	TargetRPS float64 `json:"target_rps,omitempty" yaml:"target_rps,omitempty"`
	// SaturationUtilization is the share of its limit at which a resource
	// counts as saturated, a fraction (default 0.90, the analyzer's
	// DefaultSaturationUtilization).
	SaturationUtilization float64 `json:"saturation_utilization,omitempty" yaml:"saturation_utilization,omitempty"`
}

// Defaults of ReviewSpec.
const (
	// DefaultReviewLookback is how much history a review fits: a week
	// holds every day of the week's traffic pattern.
	DefaultReviewLookback = 7 * 24 * time.Hour
	// DefaultReviewStep is the resolution of a review's series: 2,016
	// points over a week, well under the 11,000 points a Prometheus server
	// returns per series.
	DefaultReviewStep = 5 * time.Minute
	// DefaultReviewSaturation is the share of its limit at which a resource
	// counts as saturated; it matches analyzer.DefaultSaturationUtilization.
	DefaultReviewSaturation = 0.90
	// MinReviewStep is the finest step a review reads at: production
	// metrics are rarely scraped more often than every 15s, and a rate
	// needs two scrapes.
	MinReviewStep = 30 * time.Second
	// MaxReviewPoints bounds Lookback/Step: a Prometheus server returns at
	// most 11,000 points per series.
	MaxReviewPoints = 11_000
)

// ServicePattern is what a service name must look like: it becomes the
// service label of the gauges and a path segment of the API.
var ServicePattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// SetDefaults fills in Lookback, Step, TargetHeadroom and
// SaturationUtilization when they are zero. It is idempotent.
func (s *ReviewSpec) SetDefaults() {
	if s.Lookback == 0 {
		s.Lookback = Duration(DefaultReviewLookback)
	}
	if s.Step == 0 {
		s.Step = Duration(DefaultReviewStep)
	}
	if s.TargetHeadroom == 0 {
		s.TargetHeadroom = DefaultTargetHeadroomRatio
	}
	if s.SaturationUtilization == 0 {
		s.SaturationUtilization = DefaultReviewSaturation
	}
}

// Validate checks a spec, with or without defaults applied (a zero value
// stands for its default), and names every bad field by its JSON path.
// PromQL and the cron schedule are not parsed here (model uses the
// standard library only): the collector parses the queries and the
// service the schedule.
func (s *ReviewSpec) Validate() error {
	var errs ValidationErrors
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case strings.TrimSpace(s.Service) == "":
		add("service", "missing: expected the service's name, e.g. \"checkout\"")
	case !ServicePattern.MatchString(s.Service):
		add("service", "%q is not a service name: expected letters, digits, '_', '.' and '-' only", s.Service)
	}
	lookback, step := s.Lookback.D(), s.Step.D()
	if lookback == 0 {
		lookback = DefaultReviewLookback
	}
	if step == 0 {
		step = DefaultReviewStep
	}
	stepOK := true
	if step < MinReviewStep {
		add("step", "%s is too fine: expected at least %s (production metrics are scraped every 15s or more, and a rate needs two scrapes)", FormatDuration(step), FormatDuration(MinReviewStep))
		stepOK = false
	}
	if stepOK {
		switch n := lookback / step; {
		case n < 10:
			add("lookback", "%s is only %d steps of %s: expected at least 10 points to fit", FormatDuration(lookback), n, FormatDuration(step))
		case n > MaxReviewPoints:
			add("lookback", "%s at a step of %s is %d points: expected at most %d (a Prometheus server's limit); raise the step", FormatDuration(lookback), FormatDuration(step), n, MaxReviewPoints)
		}
	}
	if sel := strings.TrimSpace(s.Selector); sel != "" && !(strings.HasPrefix(sel, "{") && strings.HasSuffix(sel, "}")) {
		add("selector", "%q is not a label selector: expected one such as {job=\"checkout\"}", s.Selector)
	}
	if strings.TrimSpace(s.Selector) == "" && (strings.TrimSpace(s.TrafficQuery) == "" || strings.TrimSpace(s.LatencyQuery) == "") {
		add("selector", "missing: expected the service's label selector, e.g. {job=\"checkout\"}, unless both traffic_query and latency_query are given")
	}
	seen := map[string]bool{}
	for i, k := range s.Resources {
		p := fmt.Sprintf("resources[%d]", i)
		switch {
		case !KindPattern.MatchString(k):
			add(p, "%q is not a resource kind: expected a catalog kind such as %q", k, KindDBPool)
		case seen[k]:
			add(p, "kind %q is listed twice", k)
		}
		seen[k] = true
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	for _, k := range sortedKeys(s.SelectorFor) {
		if sel := strings.TrimSpace(s.SelectorFor[k]); !(strings.HasPrefix(sel, "{") && strings.HasSuffix(sel, "}")) {
			add("selector_for."+k, "%q is not a label selector: expected one such as {job=\"postgres\"}", s.SelectorFor[k])
		}
	}
	for _, k := range sortedKeys(s.LimitFor) {
		if v := s.LimitFor[k]; !finite(v) || v <= 0 {
			add("limit_for."+k, "%v: expected a limit > 0 in the family's unit, e.g. 4 (cores)", v)
		}
	}
	if !finite(s.SLO.P95Ms) || s.SLO.P95Ms < 0 {
		add("slo.p95_ms", "%v: expected a latency limit in milliseconds > 0 (0 means no latency SLO)", s.SLO.P95Ms)
	}
	if !finite(s.SLO.MaxErrorRate) || s.SLO.MaxErrorRate < 0 || s.SLO.MaxErrorRate > 1 {
		add("slo.max_error_rate", "%v: expected a fraction between 0 and 1, e.g. 0.01 (0 means no error-rate SLO)", s.SLO.MaxErrorRate)
	}
	if !finite(s.TargetHeadroom) || s.TargetHeadroom < 0 || s.TargetHeadroom > 10 {
		add("target_headroom", "%v: expected a fraction of spare capacity over the peak between 0 and 10, e.g. 0.2 for 20%%", s.TargetHeadroom)
	}
	if !finite(s.TargetRPS) || s.TargetRPS < 0 {
		add("target_rps", "%v: expected requests/s ≥ 0 (0 means no target)", s.TargetRPS)
	}
	if !finite(s.SaturationUtilization) || s.SaturationUtilization < 0 || s.SaturationUtilization > 1 {
		add("saturation_utilization", "%v: expected a fraction of the limit in (0, 1], e.g. 0.9", s.SaturationUtilization)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// ProductionObservations are the series a review fits, read from the
// production metrics over [Start, End] at StepMs: traffic, latency, errors
// and each resource's utilization, all on the same time grid.
type ProductionObservations struct {
	Service string    `json:"service"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	StepMs  float64   `json:"step_ms"`
	// Times is the grid; every series below has one value per time (NaN
	// where the series had no sample, serialised as null).
	Times []time.Time `json:"times"`
	// RPS is the service's throughput, requests/s; LatencyS the latency
	// the SLO limits, in seconds; ErrorRate the error ratio (may be empty).
	RPS       Samples `json:"rps"`
	LatencyS  Samples `json:"latency_s"`
	ErrorRate Samples `json:"error_rate,omitempty"`
	// MeanLatencyS is the mean latency in seconds (the histogram's _sum
	// over its _count), read when the latency comes from the catalog's
	// HTTP server histogram: unlike a quantile from histogram_quantile,
	// which interpolates inside buckets, it has no bucket error, so the
	// analyzer finds the shape of latency against traffic from it. Empty
	// when not read.
	MeanLatencyS Samples `json:"mean_latency_s,omitempty"`
	// TrafficQuery, LatencyQuery and ErrorQuery are the PromQL actually
	// run (after catalog defaults were filled in).
	TrafficQuery string `json:"traffic_query"`
	LatencyQuery string `json:"latency_query"`
	ErrorQuery   string `json:"error_query,omitempty"`
	// MeanLatencyQuery is the PromQL of MeanLatencyS.
	MeanLatencyQuery string `json:"mean_latency_query,omitempty"`
	// Resources are the watched resources' utilization (usage/limit, a
	// fraction) on the grid.
	Resources []ProductionResource `json:"resources,omitempty"`
	// Missing lists watched resources that were not found, and why.
	Missing []MissingResource `json:"missing,omitempty"`
	// Notes say what was assumed or could not be measured, e.g. a
	// resource without a limit, which cannot saturate.
	Notes []string `json:"notes,omitempty"`
}

// ProductionResource is one resource's utilization over a review window.
type ProductionResource struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Family string `json:"family"`
	// Utilization is usage/limit on the grid (a fraction, NaN when absent).
	Utilization Samples `json:"utilization"`
	// Limit is the resource's limit (connections, cores, ...) at the end
	// of the window, 0 when unknown.
	Limit float64 `json:"limit,omitempty"`
	// Query is the PromQL of the utilization.
	Query string `json:"query"`
}

// Review is the result of one capacity review of a service.
type Review struct {
	Service string `json:"service"`
	// At is when the review was made: analyzer.Review sets the window's
	// end; the service may stamp its own clock.
	At     time.Time `json:"at"`
	Window Window    `json:"window"`
	SLO    SLO       `json:"slo"`
	// PeakRPS is the highest traffic seen in the window (the 99th
	// percentile of the grid, so one scrape spike does not count).
	PeakRPS float64 `json:"peak_rps"`
	// CapacityRPS is the traffic at which the first limit is reached: the
	// SLO crossing or the first resource saturation, whichever is lower.
	// 0 when it could not be estimated (see Confidence and Notes).
	CapacityRPS float64 `json:"capacity_rps"`
	// LimitedBy says which limit set CapacityRPS: "latency_slo",
	// "error_rate", or a resource kind (db_pool, cpu, ...).
	LimitedBy string `json:"limited_by,omitempty"`
	// SLOCrossingRPS is the traffic at which the latency fit crosses the
	// SLO; nil when the fit does not cross it in a plausible range.
	SLOCrossingRPS *float64 `json:"slo_crossing_rps"`
	// HeadroomRatio is CapacityRPS / PeakRPS − 1 (0.25 = 25% spare).
	HeadroomRatio float64 `json:"headroom_ratio"`
	// TargetHeadroomRatio is the spec's TargetHeadroom (default 0.20);
	// BelowTarget is HeadroomRatio < TargetHeadroomRatio.
	TargetHeadroomRatio float64 `json:"target_headroom_ratio"`
	BelowTarget         bool    `json:"below_target"`
	TargetRPS           float64 `json:"target_rps,omitempty"`
	// Bottleneck is the resource that saturates first as traffic grows
	// ("none" when no watched resource approaches its limit, "unknown"
	// when none was found).
	Bottleneck string `json:"bottleneck"`
	// Resources are the watched resources, each extrapolated to the
	// traffic at which it would saturate; first the one that saturates
	// first.
	Resources []ReviewResource `json:"resources,omitempty"`
	// Latency is the fit of latency against traffic used for the SLO
	// crossing.
	Latency *LatencyFit `json:"latency,omitempty"`
	// Points is the number of grid points fitted (after dropping gaps).
	Points int `json:"points"`
	// Confidence is high, medium or low; Notes say why and what was assumed.
	Confidence string    `json:"confidence"`
	Notes      []string  `json:"notes,omitempty"`
	Warnings   []Warning `json:"warnings,omitempty"`
}

// ReviewResource is one resource in a review.
type ReviewResource struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Family string `json:"family"`
	// PeakUtilization is the utilization at peak traffic (a fraction).
	PeakUtilization float64 `json:"peak_utilization"`
	// SaturationRPS is the traffic at which the fit of utilization against
	// traffic reaches the saturation threshold; nil when it never does in
	// a plausible range.
	SaturationRPS *float64 `json:"saturation_rps"`
	// Threshold is the utilization counted as saturated (e.g. 0.9).
	Threshold float64 `json:"threshold"`
	// Fit says how utilization was modelled, e.g. "linear u = a + b·rps, R² 0.97".
	Fit string  `json:"fit"`
	R2  float64 `json:"r2"`
}

// LatencyFit is latency modelled against traffic.
type LatencyFit struct {
	// Model names the fit, e.g. "M/M/1-like: L = L0 / (1 − rps/C)".
	Model string `json:"model"`
	// Params are the fitted parameters by name.
	Params map[string]float64 `json:"params"`
	R2     float64            `json:"r2"`
}

// ReviewRecord is a stored review with its trend context: the service
// keeps one per scheduled run so capacity can be charted over time.
type ReviewRecord struct {
	ID     string    `json:"id"`
	Review Review    `json:"review"`
	Error  string    `json:"error,omitempty"`
	At     time.Time `json:"at"`
}

// Names of the service gauges (ARCHITECTURE.md, "Service gauges"); the
// report package's Gauge* constants have the same values.
const (
	GaugeCapacityRPS         = "headroom_capacity_rps"
	GaugePeakRPS             = "headroom_peak_rps"
	GaugeTargetRPS           = "headroom_target_rps"
	GaugeHeadroomRatio       = "headroom_headroom_ratio"
	GaugeTargetHeadroomRatio = "headroom_target_headroom_ratio"
	GaugeBottleneckInfo      = "headroom_bottleneck_info"
	GaugeLastReview          = "headroom_last_review_timestamp_seconds"
)

// GaugeValue is one sample of a service gauge.
type GaugeValue struct {
	// Name is the metric name, e.g. headroom_headroom_ratio.
	Name string `json:"name"`
	// Help is the metric's help text.
	Help string `json:"help"`
	// Labels are the sample's labels: service, and resource for
	// headroom_bottleneck_info.
	Labels map[string]string `json:"labels"`
	Value  float64           `json:"value"`
}

// Help texts of the service gauges.
const (
	helpGaugeCapacity       = "Estimated capacity of the service in requests/s from its last capacity review: the traffic at which the first limit is reached (a production review's SLO crossing or resource saturation, a plan's production capacity, or a load test's breaking point; the highest load tested when nothing broke, a lower bound). Absent when unknown."
	helpGaugePeak           = "Observed peak traffic of the service in requests/s. Absent when unknown."
	helpGaugeTarget         = "Traffic the service must carry in requests/s, e.g. the expected peak of the next season."
	helpGaugeHeadroom       = "Spare capacity over the observed peak: capacity / peak - 1 (0.25 means 25% spare; below 0 the peak exceeds the capacity). Absent when the capacity or the peak is unknown."
	helpGaugeTargetHeadroom = "Spare capacity over the peak the team wants (0.20 means 20%)."
	helpGaugeBottleneck     = "The resource the last capacity review named as the bottleneck (a catalog kind such as db_pool, or unknown or none); always 1."
	helpGaugeLast           = "Unix time in seconds of the service's last capacity review."
)

// ServiceGauges are the numbers behind one service's gauges, whatever
// review they came from: a production review, an analysis or a plan. A
// value of 0 (or NaN) is unknown.
type ServiceGauges struct {
	Service             string
	CapacityRPS         float64
	PeakRPS             float64
	TargetRPS           float64
	TargetHeadroomRatio float64
	Bottleneck          string
	At                  time.Time
}

// HeadroomRatio is CapacityRPS / PeakRPS − 1, and false when either is
// unknown.
func (g ServiceGauges) HeadroomRatio() (float64, bool) {
	if !(g.CapacityRPS > 0) || !(g.PeakRPS > 0) || math.IsInf(g.CapacityRPS, 0) || math.IsInf(g.PeakRPS, 0) {
		return 0, false
	}
	return g.CapacityRPS/g.PeakRPS - 1, true
}

// Values returns the gauges' samples, sorted by name, ready for a /metrics
// endpoint, remote write or a promtool test. An unknown capacity leaves out
// headroom_capacity_rps and headroom_headroom_ratio, so that it never reads
// as no headroom (HeadroomBelowTarget cannot fire on it); an unknown peak
// leaves out headroom_peak_rps and the ratio, and an unknown target
// headroom_target_rps. headroom_target_headroom_ratio (default 0.20),
// headroom_bottleneck_info and (when At is set) the review timestamp are
// always there.
func (g ServiceGauges) Values() []GaugeValue {
	svc := map[string]string{"service": g.Service}
	var out []GaugeValue
	add := func(name, help string, v float64, labels map[string]string) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		out = append(out, GaugeValue{Name: name, Help: help, Labels: labels, Value: v})
	}
	if g.CapacityRPS > 0 {
		add(GaugeCapacityRPS, helpGaugeCapacity, g.CapacityRPS, svc)
	}
	if g.PeakRPS > 0 {
		add(GaugePeakRPS, helpGaugePeak, g.PeakRPS, svc)
	}
	if r, ok := g.HeadroomRatio(); ok {
		add(GaugeHeadroomRatio, helpGaugeHeadroom, r, svc)
	}
	if g.TargetRPS > 0 {
		add(GaugeTargetRPS, helpGaugeTarget, g.TargetRPS, svc)
	}
	target := g.TargetHeadroomRatio
	if !(target > 0) {
		target = DefaultTargetHeadroomRatio
	}
	add(GaugeTargetHeadroomRatio, helpGaugeTargetHeadroom, target, svc)
	bn := g.Bottleneck
	if bn == "" {
		bn = BottleneckUnknown
	}
	add(GaugeBottleneckInfo, helpGaugeBottleneck, 1, map[string]string{"resource": bn, "service": g.Service})
	if !g.At.IsZero() {
		add(GaugeLastReview, helpGaugeLast, float64(g.At.UnixNano())/1e9, svc)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Gauges are a review's service gauges.
func (r Review) Gauges() ServiceGauges {
	return ServiceGauges{
		Service: r.Service, CapacityRPS: r.CapacityRPS, PeakRPS: r.PeakRPS, TargetRPS: r.TargetRPS,
		TargetHeadroomRatio: r.TargetHeadroomRatio, Bottleneck: r.Bottleneck, At: r.At,
	}
}

// GaugeValues returns the service gauges of a review (ServiceGauges.Values).
func (r Review) GaugeValues() []GaugeValue { return r.Gauges().Values() }
