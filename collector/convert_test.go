package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/jsonutil"
)

// recordingAppender is a storage.AppenderV2 that records what is appended,
// one line per sample, for comparing two ingestion paths.
type recordingAppender struct{ lines []string }

func (r *recordingAppender) Append(_ storage.SeriesRef, ls labels.Labels, _, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, _ storage.AppendV2Options) (storage.SeriesRef, error) {
	switch {
	case h != nil:
		r.lines = append(r.lines, fmt.Sprintf("%s @%d %s", ls, t, h))
	case fh != nil:
		r.lines = append(r.lines, fmt.Sprintf("%s @%d %s", ls, t, fh))
	default:
		r.lines = append(r.lines, fmt.Sprintf("%s @%d %v", ls, t, v))
	}
	return 0, nil
}
func (*recordingAppender) Commit() error   { return nil }
func (*recordingAppender) Rollback() error { return nil }

func TestWriteStoresTheLayoutPrometheusScrapes(t *testing.T) {
	r := newTestRun(t)
	summary := prometheus.NewSummaryVec(prometheus.SummaryOpts{
		Name: "s_seconds", Help: "A summary.", Objectives: map[float64]float64{0.5: 0.05, 0.99: 0.001},
	}, []string{"stage"})
	nativeOnly := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "native_only_seconds", Help: "Only native buckets.", NativeHistogramBucketFactor: 1.1,
	})
	empty := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "empty_seconds", Help: "Never observed.", Buckets: []float64{1}, NativeHistogramBucketFactor: 1.1,
	})
	untyped := prometheus.NewUntypedFunc(prometheus.UntypedOpts{Name: "u", Help: "Untyped."}, func() float64 { return 3 })
	r.reg.MustRegister(summary, nativeOnly, empty, untyped)
	r.step(1)
	for i := range 100 {
		summary.WithLabelValues("ramp").Observe(float64(i))
		nativeOnly.Observe(float64(i) / 10)
	}
	mfs := r.gather(t)

	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	const at = 1_700_000_000_000
	parsed := &recordingAppender{}
	p, err := textparse.New(buf.Bytes(), string(expfmt.NewFormat(expfmt.TypeProtoDelim)), nil, textparse.ParserOptions{
		KeepClassicOnClassicAndNativeHistograms: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var ls labels.Labels
		switch et {
		case textparse.EntrySeries:
			_, _, v := p.Series()
			p.Labels(&ls)
			_, _ = parsed.Append(0, ls, 0, at, v, nil, nil, storage.AppendV2Options{})
		case textparse.EntryHistogram:
			_, _, h, fh := p.Histogram()
			p.Labels(&ls)
			_, _ = parsed.Append(0, ls, 0, at, 0, h, fh, storage.AppendV2Options{})
		}
	}

	converted := &recordingAppender{}
	c := familyConverter{defaultT: at}
	c.app = converted
	for _, mf := range mfs {
		c.appendFamily(mf)
	}
	if c.rejected != 0 {
		t.Fatalf("converter rejected %d samples: %v", c.rejected, c.firstErr)
	}
	slices.Sort(parsed.lines)
	slices.Sort(converted.lines)
	if !slices.Equal(parsed.lines, converted.lines) {
		t.Errorf("Write's samples differ from Prometheus's protobuf parser's:\nparser:\n%s\n\nWrite:\n%s",
			strings.Join(parsed.lines, "\n"), strings.Join(converted.lines, "\n"))
	}
	for _, want := range []string{`{__name__="native_only_seconds"}`, `{__name__="empty_seconds_bucket", le="+Inf"}`, `{__name__="s_seconds", quantile="0.99", stage="ramp"}`} {
		if !slices.ContainsFunc(converted.lines, func(l string) bool { return strings.HasPrefix(l, want+" ") }) {
			t.Errorf("no sample of %s among\n%s", want, strings.Join(converted.lines, "\n"))
		}
	}
}

func TestNativeHistogramsAreReturnedAsTheHTTPAPIRendersThem(t *testing.T) {
	tests := []struct {
		name string
		h    *histogram.FloatHistogram
	}{
		{"positive buckets around a zero bucket", &histogram.FloatHistogram{
			Schema: 0, Count: 19, Sum: 33.5, ZeroThreshold: 0.001, ZeroCount: 2,
			PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}, {Offset: 1, Length: 1}}, PositiveBuckets: []float64{3, 5, 0},
			NegativeSpans: []histogram.Span{{Offset: 1, Length: 1}}, NegativeBuckets: []float64{9},
		}},
		{"a finer schema without a zero bucket", &histogram.FloatHistogram{
			Schema: 3, Count: 7, Sum: 1.25,
			PositiveSpans: []histogram.Span{{Offset: -4, Length: 3}}, PositiveBuckets: []float64{1, 4, 2},
		}},
		{"an empty histogram", &histogram.FloatHistogram{Schema: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
			defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(stream)
			jsonutil.MarshalHistogram(tt.h, stream)
			var want, got any
			if err := json.Unmarshal(stream.Buffer(), &want); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(toModelHistogram(tt.h))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			// The HTTP API omits "buckets" when there are none; the
			// client type writes null.
			if m, ok := got.(map[string]any); ok && m["buckets"] == nil {
				delete(m, "buckets")
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("store renders %s\nHTTP API renders %s", b, stream.Buffer())
			}
		})
	}
}
