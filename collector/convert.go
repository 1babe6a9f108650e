package collector

import (
	"errors"
	"fmt"
	"math"

	dto "github.com/prometheus/client_model/go"
	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// This file holds the two conversions of the embedded store: client_model
// metric families into TSDB samples (the write side), and PromQL results into
// prometheus/common/model values (the read side, so that the store answers in
// the same types as the Prometheus HTTP API client).

// sampleAppender appends samples to one TSDB transaction and keeps count of
// what was stored and what the TSDB refused. A refused sample (out of order,
// duplicate timestamp, invalid histogram) is counted, not fatal: the rest of
// the batch is still stored, as a Prometheus scrape does.
type sampleAppender struct {
	app      storage.AppenderV2
	appended int
	rejected int
	firstErr error
}

// add appends one float sample, or one native histogram sample when h or fh
// is set, and returns the series reference for later appends.
func (a *sampleAppender) add(ref storage.SeriesRef, ls labels.Labels, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, bool) {
	newRef, err := a.app.Append(ref, ls, 0, t, v, h, fh, storage.AppendV2Options{})
	if err != nil {
		a.reject(fmt.Errorf("series %s at %d: %w", ls.String(), t, err))
		return 0, false
	}
	a.appended++
	return newRef, true
}

// reject counts a refused sample and keeps the first reason.
func (a *sampleAppender) reject(err error) {
	a.rejected++
	if a.firstErr == nil {
		a.firstErr = err
	}
}

// familyConverter turns client_model metric families into samples with the
// layout Prometheus itself stores when it scrapes the protobuf exposition
// with native histograms enabled and classic histograms kept
// (textparse.NewProtobufParser with parseClassicHistograms): counters,
// gauges and untyped metrics are one sample each; a summary is _count, _sum
// and one series per quantile; a classic histogram is _count, _sum and
// cumulative _bucket series with an "le" label up to +Inf; a histogram that
// carries native buckets is a native histogram sample on the family's own
// name, plus the classic series when it also has classic buckets.
type familyConverter struct {
	sampleAppender
	builder labels.ScratchBuilder
	// defaultT is the timestamp in milliseconds of metrics that carry none.
	defaultT int64
}

// errNoValue is the reason a metric whose value field is missing is refused;
// writing it as a zero would invent data.
var errNoValue = errors.New("metric has no value for its declared type")

// appendFamily appends every metric of mf.
func (c *familyConverter) appendFamily(mf *dto.MetricFamily) {
	name := mf.GetName()
	if name == "" || !pmodel.UTF8Validation.IsValidMetricName(name) {
		for range mf.GetMetric() {
			c.reject(fmt.Errorf("metric family %q: invalid metric name", name))
		}
		return
	}
	for _, m := range mf.GetMetric() {
		if m == nil {
			continue
		}
		t := c.defaultT
		if m.TimestampMs != nil {
			t = m.GetTimestampMs()
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			if m.Counter == nil || m.Counter.Value == nil {
				c.reject(fmt.Errorf("counter %s: %w", name, errNoValue))
				continue
			}
			c.add(0, c.labels(name, "", m, "", ""), t, m.Counter.GetValue(), nil, nil)
		case dto.MetricType_GAUGE:
			if m.Gauge == nil || m.Gauge.Value == nil {
				c.reject(fmt.Errorf("gauge %s: %w", name, errNoValue))
				continue
			}
			c.add(0, c.labels(name, "", m, "", ""), t, m.Gauge.GetValue(), nil, nil)
		case dto.MetricType_UNTYPED:
			if m.Untyped == nil || m.Untyped.Value == nil {
				c.reject(fmt.Errorf("untyped metric %s: %w", name, errNoValue))
				continue
			}
			c.add(0, c.labels(name, "", m, "", ""), t, m.Untyped.GetValue(), nil, nil)
		case dto.MetricType_SUMMARY:
			if m.Summary == nil {
				c.reject(fmt.Errorf("summary %s: %w", name, errNoValue))
				continue
			}
			c.appendSummary(name, m, t)
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			if m.Histogram == nil {
				c.reject(fmt.Errorf("histogram %s: %w", name, errNoValue))
				continue
			}
			c.appendHistogram(name, mf.GetType() == dto.MetricType_GAUGE_HISTOGRAM, m, t)
		default:
			c.reject(fmt.Errorf("metric family %q: unknown metric type %s", name, mf.GetType()))
		}
	}
}

// labels builds the label set of one sample: the metric name with suffix,
// the metric's label pairs, and the extra label (le or quantile) if any.
// Labels with empty values are dropped, as Prometheus does.
func (c *familyConverter) labels(name, suffix string, m *dto.Metric, extraName, extraValue string) labels.Labels {
	c.builder.Reset()
	c.builder.Add(labels.MetricName, name+suffix)
	for _, lp := range m.GetLabel() {
		if lp.GetValue() == "" {
			continue
		}
		c.builder.Add(lp.GetName(), lp.GetValue())
	}
	if extraName != "" {
		c.builder.Add(extraName, extraValue)
	}
	c.builder.Sort()
	return c.builder.Labels()
}

func (c *familyConverter) appendSummary(name string, m *dto.Metric, t int64) {
	s := m.GetSummary()
	c.add(0, c.labels(name, "_count", m, "", ""), t, float64(s.GetSampleCount()), nil, nil)
	c.add(0, c.labels(name, "_sum", m, "", ""), t, s.GetSampleSum(), nil, nil)
	for _, q := range s.GetQuantile() {
		ls := c.labels(name, "", m, pmodel.QuantileLabel, labels.FormatOpenMetricsFloat(q.GetQuantile()))
		c.add(0, ls, t, q.GetValue(), nil, nil)
	}
}

func (c *familyConverter) appendHistogram(name string, gauge bool, m *dto.Metric, t int64) {
	h := m.GetHistogram()
	if isNativeHistogram(h) {
		ih, fh := nativeHistogram(h, gauge)
		c.add(0, c.labels(name, "", m, "", ""), t, 0, ih, fh)
		if len(h.GetBucket()) == 0 {
			// Prometheus keeps only the native histogram when there
			// are no classic buckets to keep.
			return
		}
	}
	count := h.GetSampleCountFloat()
	if count == 0 {
		count = float64(h.GetSampleCount())
	}
	c.add(0, c.labels(name, "_count", m, "", ""), t, count, nil, nil)
	c.add(0, c.labels(name, "_sum", m, "", ""), t, h.GetSampleSum(), nil, nil)
	sawInf := false
	for _, b := range h.GetBucket() {
		v := b.GetCumulativeCountFloat()
		if v == 0 {
			v = float64(b.GetCumulativeCount())
		}
		if math.IsInf(b.GetUpperBound(), +1) {
			sawInf = true
		}
		ls := c.labels(name, "_bucket", m, pmodel.BucketLabel, labels.FormatOpenMetricsFloat(b.GetUpperBound()))
		c.add(0, ls, t, v, nil, nil)
	}
	if !sawInf {
		c.add(0, c.labels(name, "_bucket", m, pmodel.BucketLabel, "+Inf"), t, count, nil, nil)
	}
}

// isNativeHistogram reports whether h carries native buckets. It is the rule
// of Prometheus's protobuf parser: a histogram with spans, a zero threshold or
// a zero count is native; client_golang sets a zero threshold on every native
// histogram, so one without observations is recognised too.
func isNativeHistogram(h *dto.Histogram) bool {
	return len(h.GetPositiveSpan()) > 0 ||
		len(h.GetNegativeSpan()) > 0 ||
		h.GetZeroThreshold() > 0 ||
		h.GetZeroCount() > 0
}

// nativeHistogram converts the native part of h into an integer histogram,
// or a float histogram when h carries float counts.
func nativeHistogram(h *dto.Histogram, gauge bool) (*histogram.Histogram, *histogram.FloatHistogram) {
	hint := histogram.UnknownCounterReset
	if gauge {
		hint = histogram.GaugeType
	}
	if h.GetSampleCountFloat() > 0 || h.GetZeroCountFloat() > 0 || len(h.GetPositiveCount()) > 0 || len(h.GetNegativeCount()) > 0 {
		fh := &histogram.FloatHistogram{
			CounterResetHint: hint,
			Count:            h.GetSampleCountFloat(),
			Sum:              h.GetSampleSum(),
			ZeroThreshold:    h.GetZeroThreshold(),
			ZeroCount:        h.GetZeroCountFloat(),
			Schema:           h.GetSchema(),
			PositiveSpans:    spans(h.GetPositiveSpan()),
			PositiveBuckets:  append([]float64(nil), h.GetPositiveCount()...),
			NegativeSpans:    spans(h.GetNegativeSpan()),
			NegativeBuckets:  append([]float64(nil), h.GetNegativeCount()...),
		}
		return nil, fh.Compact(0)
	}
	ih := &histogram.Histogram{
		CounterResetHint: hint,
		Count:            h.GetSampleCount(),
		Sum:              h.GetSampleSum(),
		ZeroThreshold:    h.GetZeroThreshold(),
		ZeroCount:        h.GetZeroCount(),
		Schema:           h.GetSchema(),
		PositiveSpans:    spans(h.GetPositiveSpan()),
		PositiveBuckets:  append([]int64(nil), h.GetPositiveDelta()...),
		NegativeSpans:    spans(h.GetNegativeSpan()),
		NegativeBuckets:  append([]int64(nil), h.GetNegativeDelta()...),
	}
	return ih.Compact(0), nil
}

func spans(in []*dto.BucketSpan) []histogram.Span {
	if len(in) == 0 {
		return nil
	}
	out := make([]histogram.Span, len(in))
	for i, s := range in {
		out[i] = histogram.Span{Offset: s.GetOffset(), Length: s.GetLength()}
	}
	return out
}

// toModelValue converts a PromQL result into the prometheus/common/model
// value the Prometheus HTTP API client returns for it.
func toModelValue(v parser.Value) (pmodel.Value, error) {
	switch v := v.(type) {
	case promql.Vector:
		return toModelVector(v), nil
	case promql.Matrix:
		return toModelMatrix(v), nil
	case promql.Scalar:
		return &pmodel.Scalar{Value: pmodel.SampleValue(v.V), Timestamp: pmodel.Time(v.T)}, nil
	case promql.String:
		return &pmodel.String{Value: v.V, Timestamp: pmodel.Time(v.T)}, nil
	default:
		return nil, fmt.Errorf("unexpected PromQL result type %T", v)
	}
}

func toModelVector(v promql.Vector) pmodel.Vector {
	out := make(pmodel.Vector, 0, len(v))
	for _, s := range v {
		ms := &pmodel.Sample{Metric: toModelMetric(s.Metric), Timestamp: pmodel.Time(s.T)}
		if s.H != nil {
			ms.Histogram = toModelHistogram(s.H)
		} else {
			ms.Value = pmodel.SampleValue(s.F)
		}
		out = append(out, ms)
	}
	return out
}

func toModelMatrix(m promql.Matrix) pmodel.Matrix {
	out := make(pmodel.Matrix, 0, len(m))
	for _, s := range m {
		ss := &pmodel.SampleStream{Metric: toModelMetric(s.Metric)}
		if len(s.Floats) > 0 {
			ss.Values = make([]pmodel.SamplePair, len(s.Floats))
			for i, p := range s.Floats {
				ss.Values[i] = pmodel.SamplePair{Timestamp: pmodel.Time(p.T), Value: pmodel.SampleValue(p.F)}
			}
		}
		if len(s.Histograms) > 0 {
			ss.Histograms = make([]pmodel.SampleHistogramPair, len(s.Histograms))
			for i, p := range s.Histograms {
				ss.Histograms[i] = pmodel.SampleHistogramPair{Timestamp: pmodel.Time(p.T), Histogram: toModelHistogram(p.H)}
			}
		}
		out = append(out, ss)
	}
	return out
}

func toModelMetric(ls labels.Labels) pmodel.Metric {
	m := make(pmodel.Metric, ls.Len())
	ls.Range(func(l labels.Label) {
		m[pmodel.LabelName(l.Name)] = pmodel.LabelValue(l.Value)
	})
	return m
}

// toModelHistogram converts a native histogram the way the Prometheus HTTP
// API renders it (util/jsonutil.MarshalHistogram): every non-empty bucket with
// its bounds and whether each bound is inclusive.
func toModelHistogram(h *histogram.FloatHistogram) *pmodel.SampleHistogram {
	out := &pmodel.SampleHistogram{Count: pmodel.FloatString(h.Count), Sum: pmodel.FloatString(h.Sum)}
	it := h.AllBucketIterator()
	for it.Next() {
		b := it.At()
		if b.Count == 0 {
			continue
		}
		var boundaries int32
		switch {
		case b.LowerInclusive && b.UpperInclusive:
			boundaries = 3
		case b.LowerInclusive:
			boundaries = 1
		case b.UpperInclusive:
			boundaries = 0
		default:
			boundaries = 2
		}
		out.Buckets = append(out.Buckets, &pmodel.HistogramBucket{
			Boundaries: boundaries,
			Lower:      pmodel.FloatString(b.Lower),
			Upper:      pmodel.FloatString(b.Upper),
			Count:      pmodel.FloatString(b.Count),
		})
	}
	return out
}
