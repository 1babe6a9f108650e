package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"a rate of hundreds has no decimals", fmtRPS(499.496), "499"},
		{"a rate of thousands has separators", fmtRPS(12345.6), "12,346"},
		{"a rate of tens has one decimal", fmtRPS(12.54), "12.5"},
		{"a small rate has two decimals", fmtRPS(0.754), "0.75"},
		{"a whole count is plain", fmtCount(300), "300"},
		{"an interpolated count has one decimal", fmtCount(69.94), "69.9"},
		{"milliseconds under ten have two decimals", fmtMs(0.987), "0.99 ms"},
		{"milliseconds in the hundreds have none", fmtMs(987.2), "987 ms"},
		{"a second or more is in seconds", fmtMs(1080), "1.08 s"},
		{"zero is zero", fmtMs(0), "0 ms"},
		{"a fraction is a percentage", fmtPct(0.25), "25%"},
		{"a small fraction keeps two decimals", fmtPct(0.0035), "0.35%"},
		{"nearly all never prints as 100%", fmtPct(0.99999), "99.9%"},
		{"a ratio has its sign", fmtSignedPct(0.218), "+21.8%"},
		{"a negative ratio has a minus sign", fmtSignedPct(-0.05), "−5%"},
		{"dollars have a sign when asked", fmtMoney(200.015, "USD", true), "+$200.02"},
		{"a saving is negative", fmtMoney(-1234.5, "USD", true), "−$1,234.50"},
		{"other currencies follow the amount", fmtMoney(3, "CHF", false), "3.00 CHF"},
		{"cents that round up carry", fmtMoney(0.999, "EUR", false), "€1.00"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestNiceScales(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hi     float64
		unit   string
		wantHi float64
		labels string
	}{
		{"requests per second get round steps", 527, model.UnitRPS, 600, "0 100 200 300 400 500 600"},
		{"milliseconds over a second keep separators", 1080, model.UnitMs, 1200, "0 200 400 600 800 1,000 1,200"},
		{"fractions are percentages", 0.054, model.UnitRatio, 0.06, "0% 1% 2% 3% 4% 5% 6%"},
		{"small fractions keep decimals", 0.004, model.UnitRatio, 0.004, "0.0% 0.1% 0.2% 0.3% 0.4%"},
		{"seconds are minutes and seconds", 110, model.UnitSeconds, 120, "0:00 0:30 1:00 1:30 2:00"},
		{"an empty axis still has a scale", 0, model.UnitRPS, 1, "0.0 0.2 0.4 0.6 0.8 1.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 6
			if tc.unit == model.UnitSeconds {
				n = 5
			}
			s := niceScale(0, tc.hi, n, tc.unit)
			var labels []string
			for _, v := range s.ticks() {
				labels = append(labels, tickLabel(v, s))
			}
			if s.hi < tc.hi || s.hi > tc.wantHi+1e-9 || strings.Join(labels, " ") != tc.labels {
				t.Errorf("scale to %v with ticks %q, want to %v with %q", s.hi, strings.Join(labels, " "), tc.wantHi, tc.labels)
			}
		})
	}
}

// TestChartSVGWithoutData draws charts with nothing in them: they must
// still be well-formed SVG with axes, never a panic or NaN coordinates.
func TestChartSVGWithoutData(t *testing.T) {
	for _, c := range []model.Chart{
		{ID: "empty", Title: "Empty", X: model.ChartAxis{Label: "x"}, Y: model.ChartAxis{Label: "y"}},
		{ID: "empty-ratio", Title: "Empty", X: model.ChartAxis{Label: "x"}, Y: model.ChartAxis{Label: "y", Unit: model.UnitRatio}, Y2: &model.ChartAxis{Label: "y2"},
			Series: []model.ChartSeries{{Name: "s", Kind: model.SeriesLine, Role: "queueing", Axis: "y2"}}},
		{ID: "one-point", Title: "One", X: model.ChartAxis{Label: "x"}, Y: model.ChartAxis{Label: "y"},
			Series:  []model.ChartSeries{{Name: "s", Kind: model.SeriesPoints, Role: "measured", Points: [][2]float64{{0, 0}}}},
			Markers: []model.ChartMarker{{Kind: model.MarkerX, Role: "break", X: 0, Label: "here"}}},
	} {
		svg := chartSVG(&c, "chart-"+c.ID, chartWidth, chartHeight)
		if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
			t.Errorf("%s: the SVG has NaN or Inf coordinates", c.ID)
		}
		d := xml.NewDecoder(strings.NewReader(svg))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: not well-formed: %v", c.ID, err)
			}
		}
		if !bytes.Contains([]byte(svg), []byte(`viewBox="0 0 560 320"`)) {
			t.Errorf("%s: no viewBox", c.ID)
		}
	}
}
