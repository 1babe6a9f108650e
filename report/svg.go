package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

// This file draws a model.Chart as inline SVG by hand: linear axes from
// zero with "nice" ticks, a legend, dots and lines, and labelled reference
// markers. The SVG has no script, no external reference and no xmlns (it
// is inline HTML5), and scales with its container through its viewBox.

// Chart sizes in SVG user units (pixels at 100%): a chart in one column of
// two, and a chart across both.
const (
	chartWidth     = 560
	chartHeight    = 320
	wideChartWidth = 1128
	fontSize       = 11
	labelSize      = 12
)

// roleStyle is how a series or marker role is drawn.
type roleStyle struct {
	color string
	dash  string // stroke-dasharray, empty for solid
}

var roleStyles = map[string]roleStyle{
	"measured":    {color: "#2563eb"},
	"fit":         {color: "#ea580c", dash: "6 4"},
	"p50":         {color: "#16a34a"},
	"p95":         {color: "#2563eb"},
	"p99":         {color: "#7c3aed"},
	"errors":      {color: "#dc2626"},
	"rps":         {color: "#2563eb"},
	"vus":         {color: "#64748b", dash: "4 3"},
	"utilization": {color: "#0891b2"},
	"queueing":    {color: "#ea580c"},
	// Markers.
	"slo":        {color: "#dc2626", dash: "5 4"},
	"limit":      {color: "#dc2626", dash: "5 4"},
	"break":      {color: "#111827", dash: "5 4"},
	"peak":       {color: "#ea580c", dash: "2 3"},
	"knee":       {color: "#a16207"},
	"saturation": {color: "#ea580c", dash: "5 4"},
	"stage":      {color: "#cbd5e1"},
}

func styleOf(role string) roleStyle {
	if s, ok := roleStyles[role]; ok {
		return s
	}
	return roleStyle{color: "#334155"}
}

// axisScale maps values of one axis to pixels.
type axisScale struct {
	lo, hi float64
	step   float64
	unit   string
	// a and b are the pixel positions of lo and hi.
	a, b float64
}

func (s axisScale) pos(v float64) float64 {
	if s.hi == s.lo {
		return s.a
	}
	return s.a + (v-s.lo)/(s.hi-s.lo)*(s.b-s.a)
}

func (s axisScale) ticks() []float64 {
	var out []float64
	for i := 0; ; i++ {
		v := s.lo + float64(i)*s.step
		if v > s.hi+s.step*1e-9 {
			break
		}
		out = append(out, v)
		if i > 50 {
			break
		}
	}
	return out
}

// niceScale extends [0, hi] (or [lo, hi] when lo < 0) to round ticks, about
// n of them.
func niceScale(lo, hi float64, n int, unit string) axisScale {
	lo = math.Min(lo, 0)
	if !(hi > lo) {
		hi = lo + 1
	}
	if unit == model.UnitSeconds {
		span := hi - lo
		step := 1.0
		for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400} {
			step = s
			if span/s <= float64(n) {
				break
			}
		}
		return axisScale{lo: math.Floor(lo/step) * step, hi: math.Ceil(hi/step) * step, step: step, unit: unit}
	}
	step := niceNum((hi-lo)/float64(n-1), true)
	return axisScale{lo: math.Floor(lo/step) * step, hi: math.Ceil(hi/step-1e-9) * step, step: step, unit: unit}
}

// niceNum is a 1, 2 or 5 times a power of ten near x (Heckbert, "Nice
// numbers for graph labels", Graphics Gems, 1990).
func niceNum(x float64, round bool) float64 {
	if x <= 0 || !finite(x) {
		return 1
	}
	e := math.Floor(math.Log10(x))
	f := x / math.Pow(10, e)
	var nf float64
	switch {
	case round && f < 1.5:
		nf = 1
	case round && f < 3:
		nf = 2
	case round && f < 7:
		nf = 5
	case round:
		nf = 10
	case f <= 1:
		nf = 1
	case f <= 2:
		nf = 2
	case f <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, e)
}

// tickLabel writes one tick value in the axis's unit.
func tickLabel(v float64, s axisScale) string {
	switch s.unit {
	case model.UnitRatio:
		d := decimalsFor(s.step * 100)
		return strconv.FormatFloat(v*100, 'f', d, 64) + "%"
	case model.UnitSeconds:
		t := int64(math.Round(v))
		if t >= 3600 {
			return fmt.Sprintf("%d:%02d:%02d", t/3600, t%3600/60, t%60)
		}
		return fmt.Sprintf("%d:%02d", t/60, t%60)
	}
	if s.step >= 1 {
		return fmtThousands(v)
	}
	return strconv.FormatFloat(v, 'f', decimalsFor(s.step), 64)
}

func decimalsFor(step float64) int {
	if step >= 1 || step <= 0 {
		return 0
	}
	return int(math.Min(6, math.Ceil(-math.Log10(step)-1e-9)))
}

// textWidth estimates the width of a label in the sans-serif font the page
// uses (about 0.58 em per character).
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * 0.58
}

// svgBuf collects SVG elements.
type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

func num(v float64) string { return numfmt.Round(v, 1) }

func esc(s string) string { return html.EscapeString(s) }

// legendEntry is one entry of a chart's legend.
type legendEntry struct {
	name  string
	role  string
	line  bool
	right bool // on the right-hand axis
}

// chartSVG draws c as an inline SVG element w × h user units large. id
// must be unique in the page.
func chartSVG(c *model.Chart, id string, w, h int) string {
	// Legend entries, one per name, in series order.
	var legend []legendEntry
	seen := map[string]int{}
	lineNames := map[string]bool{}
	for _, s := range c.Series {
		if s.Kind == model.SeriesLine && len(s.Points) > 0 {
			lineNames[s.Name] = true
		}
	}
	for _, s := range c.Series {
		if s.Name == "" || len(s.Points) == 0 {
			continue
		}
		if i, ok := seen[s.Name]; ok {
			legend[i].line = legend[i].line || s.Kind == model.SeriesLine
			continue
		}
		seen[s.Name] = len(legend)
		legend = append(legend, legendEntry{name: s.Name, role: s.Role, line: s.Kind == model.SeriesLine, right: s.Axis == "y2"})
	}
	// Lay the legend out in rows above the plot.
	type placed struct {
		legendEntry
		x, y float64
	}
	left, right := 60.0, float64(w)-18
	if c.Y2 != nil {
		right = float64(w) - 62
	}
	var items []placed
	lx, row := left, 0
	for _, e := range legend {
		label := e.name
		if e.right && c.Y2 != nil {
			label += " (right axis)"
		}
		wd := 26 + textWidth(label, fontSize) + 16
		if lx+wd > float64(w)-8 && lx > left {
			lx, row = left, row+1
		}
		items = append(items, placed{legendEntry{name: label, role: e.role, line: e.line}, lx, 16 + float64(row)*16})
		lx += wd
	}
	top := 30 + float64(row)*16
	bottom := float64(h) - 44

	// Extents.
	xmax, ymax, y2max := 0.0, 0.0, 0.0
	xmin, ymin, y2min := 0.0, 0.0, 0.0
	for _, s := range c.Series {
		for _, p := range s.Points {
			xmax, xmin = math.Max(xmax, p[0]), math.Min(xmin, p[0])
			if s.Axis == "y2" {
				y2max, y2min = math.Max(y2max, p[1]), math.Min(y2min, p[1])
			} else {
				ymax, ymin = math.Max(ymax, p[1]), math.Min(ymin, p[1])
			}
		}
	}
	for _, m := range c.Markers {
		if m.Kind != model.MarkerY {
			xmax = math.Max(xmax, m.X)
		}
		if m.Kind != model.MarkerX {
			if m.Axis == "y2" {
				y2max = math.Max(y2max, m.Y)
			} else {
				ymax = math.Max(ymax, m.Y*1.08)
			}
		}
	}
	if c.Y.Unit == model.UnitRatio && ymax <= 0 {
		ymax = 0.01
	}
	xs := niceScale(xmin, xmax, 7, c.X.Unit)
	ys := niceScale(ymin, ymax, 6, c.Y.Unit)
	xs.a, xs.b = left, right
	ys.a, ys.b = bottom, top
	var y2s axisScale
	if c.Y2 != nil {
		// The right-hand axis shares the left one's gridlines: same number
		// of steps, its own step.
		steps := math.Round((ys.hi - ys.lo) / ys.step)
		st := niceNum((y2max-math.Min(y2min, 0))/math.Max(1, steps), false)
		if !(y2max > 0) {
			st = 1 / math.Max(1, steps)
			if c.Y2.Unit != model.UnitRatio {
				st = 1
			}
		}
		lo := math.Floor(math.Min(y2min, 0)/st) * st
		y2s = axisScale{lo: lo, hi: lo + st*steps, step: st, unit: c.Y2.Unit, a: bottom, b: top}
	}

	var b svgBuf
	b.f(`<svg id="%s" class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-title">`, esc(id), w, h, w, h, esc(id))
	b.f(`<title id="%s-title">%s</title>`, esc(id), esc(c.Title))
	// Gridlines and ticks.
	b.f(`<g class="grid" stroke="#e2e8f0" stroke-width="1">`)
	for _, v := range ys.ticks() {
		y := ys.pos(v)
		b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(left), num(y), num(right), num(y))
	}
	for _, v := range xs.ticks() {
		x := xs.pos(v)
		b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x), num(top), num(x), num(bottom))
	}
	b.f(`</g>`)
	b.f(`<g class="axes" stroke="#94a3b8" stroke-width="1"><line x1="%s" y1="%s" x2="%s" y2="%s"/><line x1="%s" y1="%s" x2="%s" y2="%s"/>`,
		num(left), num(bottom), num(right), num(bottom), num(left), num(top), num(left), num(bottom))
	if c.Y2 != nil {
		b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(right), num(top), num(right), num(bottom))
	}
	b.f(`</g>`)
	b.f(`<g class="ticks" fill="#475569" font-size="%d">`, fontSize)
	for _, v := range ys.ticks() {
		b.f(`<text x="%s" y="%s" text-anchor="end">%s</text>`, num(left-6), num(ys.pos(v)+4), esc(tickLabel(v, ys)))
	}
	if c.Y2 != nil {
		for _, v := range y2s.ticks() {
			b.f(`<text x="%s" y="%s" text-anchor="start">%s</text>`, num(right+6), num(y2s.pos(v)+4), esc(tickLabel(v, y2s)))
		}
	}
	for _, v := range xs.ticks() {
		b.f(`<text x="%s" y="%s" text-anchor="middle">%s</text>`, num(xs.pos(v)), num(bottom+16), esc(tickLabel(v, xs)))
	}
	b.f(`</g>`)
	// Axis labels.
	b.f(`<g class="axis-labels" fill="#1e293b" font-size="%d">`, labelSize)
	b.f(`<text x="%s" y="%s" text-anchor="middle">%s</text>`, num((left+right)/2), num(float64(h)-8), esc(c.X.Label))
	b.f(`<text transform="translate(14 %s) rotate(-90)" text-anchor="middle">%s</text>`, num((top+bottom)/2), esc(c.Y.Label))
	if c.Y2 != nil {
		b.f(`<text transform="translate(%s %s) rotate(90)" text-anchor="middle">%s</text>`, num(float64(w)-12), num((top+bottom)/2), esc(c.Y2.Label))
	}
	b.f(`</g>`)

	yOf := func(axis string, v float64) float64 {
		if axis == "y2" && c.Y2 != nil {
			return y2s.pos(v)
		}
		return ys.pos(v)
	}
	// Reference lines, under the data.
	for _, m := range c.Markers {
		st := styleOf(m.Role)
		dash := ""
		if st.dash != "" {
			dash = ` stroke-dasharray="` + st.dash + `"`
		}
		width := "1.5"
		if m.Role == "stage" {
			width = "1"
		}
		switch m.Kind {
		case model.MarkerX:
			x := xs.pos(m.X)
			b.f(`<line class="marker marker-%s" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`, esc(m.Role), num(x), num(top), num(x), num(bottom), st.color, width, dash)
		case model.MarkerY:
			y := yOf(m.Axis, m.Y)
			b.f(`<line class="marker marker-%s" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`, esc(m.Role), num(left), num(y), num(right), num(y), st.color, width, dash)
		}
	}
	// Dots, then lines.
	for _, s := range c.Series {
		if s.Kind != model.SeriesPoints || len(s.Points) == 0 {
			continue
		}
		st := styleOf(s.Role)
		// Dots under a median line are faint; a few dots (one per stage)
		// are the data itself and drawn large.
		op, r := "0.85", "2.4"
		if lineNames[s.Name] {
			op = "0.35"
		}
		if len(s.Points) <= 12 {
			op, r = "0.9", "3.5"
		}
		b.f(`<g class="series series-points" fill="%s" fill-opacity="%s">`, st.color, op)
		for _, p := range s.Points {
			b.f(`<circle cx="%s" cy="%s" r="%s"/>`, num(xs.pos(p[0])), num(yOf(s.Axis, p[1])), r)
		}
		b.f(`</g>`)
	}
	for _, s := range c.Series {
		if s.Kind != model.SeriesLine || len(s.Points) == 0 {
			continue
		}
		st := styleOf(s.Role)
		dash := ""
		if st.dash != "" {
			dash = ` stroke-dasharray="` + st.dash + `"`
		}
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, num(xs.pos(p[0]))+","+num(yOf(s.Axis, p[1])))
		}
		b.f(`<polyline class="series series-line" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round"%s points="%s"/>`, st.color, dash, strings.Join(pts, " "))
	}
	// Point markers and every marker's label, over the data.
	type span struct{ a, b float64 }
	var rows [][]span
	labelRow := func(a, bb float64) int {
		for i, r := range rows {
			free := true
			for _, s := range r {
				if a < s.b+4 && bb > s.a-4 {
					free = false
					break
				}
			}
			if free {
				rows[i] = append(rows[i], span{a, bb})
				return i
			}
		}
		rows = append(rows, []span{{a, bb}})
		return len(rows) - 1
	}
	b.f(`<g class="marker-labels" font-size="%d" paint-order="stroke" stroke="#ffffff" stroke-width="3" stroke-linejoin="round">`, fontSize)
	for _, m := range c.Markers {
		st := styleOf(m.Role)
		color := st.color
		if m.Role == "stage" {
			color = "#64748b"
		}
		size := float64(fontSize)
		if m.Role == "stage" {
			size = 10
		}
		tw := textWidth(m.Label, size)
		switch m.Kind {
		case model.MarkerX:
			x := xs.pos(m.X)
			anchor, a := "start", x+4
			if a+tw > right {
				anchor, a = "end", x-4
			}
			lo, hi := a, a+tw
			if anchor == "end" {
				lo, hi = a-tw, a
			}
			r := labelRow(lo, hi)
			b.f(`<text x="%s" y="%s" text-anchor="%s" fill="%s" font-size="%s">%s</text>`, num(a), num(top+12+float64(r)*13), anchor, color, num(size), esc(m.Label))
		case model.MarkerY:
			y := yOf(m.Axis, m.Y)
			// At the left end, where load is light and the data low; under
			// the line when above it would meet the vertical markers' labels.
			ly := y - 5
			if y-top < 40 {
				ly = y + 14
			}
			b.f(`<text x="%s" y="%s" text-anchor="start" fill="%s">%s</text>`, num(left+6), num(ly), color, esc(m.Label))
		case model.MarkerPoint:
			x, y := xs.pos(m.X), yOf(m.Axis, m.Y)
			b.f(`<circle class="marker marker-%s" cx="%s" cy="%s" r="5" fill="#ffffff" stroke="%s" stroke-width="2" paint-order="normal"/>`, esc(m.Role), num(x), num(y), color)
			anchor, a := "start", x+8
			if a+tw > right {
				anchor, a = "end", x-8
			}
			b.f(`<text x="%s" y="%s" text-anchor="%s" fill="%s">%s</text>`, num(a), num(y+14), anchor, color, esc(m.Label))
		}
	}
	b.f(`</g>`)
	// Legend.
	b.f(`<g class="legend" font-size="%d" fill="#1e293b">`, fontSize)
	for _, it := range items {
		st := styleOf(it.role)
		if it.line {
			dash := ""
			if st.dash != "" {
				dash = ` stroke-dasharray="` + st.dash + `"`
			}
			b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`, num(it.x), num(it.y-4), num(it.x+20), num(it.y-4), st.color, dash)
		} else {
			b.f(`<circle cx="%s" cy="%s" r="3.5" fill="%s"/>`, num(it.x+10), num(it.y-4), st.color)
		}
		b.f(`<text x="%s" y="%s">%s</text>`, num(it.x+26), num(it.y), esc(it.name))
	}
	b.f(`</g>`)
	b.f(`</svg>`)
	return b.String()
}
