package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"github.com/headroom-sh/headroom/model"
)

// HTML renders report.html: one self-contained page — inline CSS, charts
// as inline SVG, no script and no reference to anything outside the file —
// that opens offline in any browser and prints cleanly.
func HTML(in model.ReportInput) ([]byte, error) {
	r, err := Build(in)
	if err != nil {
		return nil, err
	}
	return renderHTML(r)
}

func renderHTML(r *model.Report) ([]byte, error) {
	p := layout(r)
	v := htmlView{Title: p.title, Meta: p.meta, Verdict: p.verdict, Broke: p.broke, Warning: p.warning, Cards: p.cards, CSS: template.CSS(pageCSS)}
	for i := range p.charts {
		c := &p.charts[i]
		id := "chart-" + sanitizeID(c.ID)
		wide := c.ID == ChartLoadOverTime
		w := chartWidth
		if wide {
			w = wideChartWidth
		}
		v.charts = append(v.charts, htmlChart{ID: id, Title: c.Title, Caption: c.Caption, Wide: wide, SVG: template.HTML(chartSVG(c, id, w, chartHeight))})
	}
	v.Skipped = p.skipped
	for _, s := range p.sections {
		hs := htmlSection{ID: s.id, Title: s.title}
		for _, bl := range s.blocks {
			hb := htmlBlock{Para: bl.para, Items: bl.items}
			if bl.table != nil {
				t := htmlTable(*bl.table)
				hb.Table = &t
			}
			hs.Blocks = append(hs.Blocks, hb)
		}
		if s.charts {
			hs.Charts, hs.Skipped = v.charts, v.Skipped
			hs.HasCharts = true
		}
		v.Sections = append(v.Sections, hs)
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("could not render the report: %w", err)
	}
	return b.Bytes(), nil
}

type htmlView struct {
	Title    string
	Meta     []string
	Verdict  string
	Broke    bool
	Warning  string
	Cards    []card
	Sections []htmlSection
	Skipped  []model.SkippedChart
	CSS      template.CSS
	charts   []htmlChart
}

type htmlSection struct {
	ID, Title string
	Blocks    []htmlBlock
	HasCharts bool
	Charts    []htmlChart
	Skipped   []model.SkippedChart
}

type htmlChart struct {
	ID, Title, Caption string
	Wide               bool
	SVG                template.HTML
}

// htmlBlock is a paragraph (Para), a list (Items) or a table.
type htmlBlock struct {
	Para  string
	Items []string
	Table *htmlTab
}

type htmlTab struct {
	Caption string
	KV      bool
	Head    []htmlCell
	Rows    [][]htmlCell
}

type htmlCell struct {
	Text  string
	Class string
}

func htmlTable(t table) htmlTab {
	h := htmlTab{Caption: t.caption, KV: t.kv}
	cls := func(i int, bad bool) string {
		var c []string
		if i < len(t.right) && t.right[i] {
			c = append(c, "num")
		}
		if i < len(t.nowrap) && t.nowrap[i] {
			c = append(c, "nw")
		}
		if bad {
			c = append(c, "bad")
		}
		return strings.Join(c, " ")
	}
	for i, x := range t.head {
		h.Head = append(h.Head, htmlCell{Text: x, Class: cls(i, false)})
	}
	for _, row := range t.rows {
		var hr []htmlCell
		for i, c := range row {
			hr = append(hr, htmlCell{Text: c.text, Class: cls(i, c.bad)})
		}
		h.Rows = append(h.Rows, hr)
	}
	return h
}

// Accessors the template reads; the card fields are unexported.
func (c card) Label() string { return c.label }
func (c card) Value() string { return c.value }
func (c card) Sub() string   { return c.sub }
func (c card) Tone() string  { return c.tone }

func sanitizeID(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="headroom">
<title>{{.Title}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<main>
<header class="head" id="top">
<p class="eyebrow">headroom · capacity report</p>
<h1>{{.Title}}</h1>
{{range .Meta}}<p class="meta">{{.}}</p>
{{end}}</header>
{{if .Warning}}<p class="warning" id="warning" role="alert"><strong>Warning:</strong> {{.Warning}}</p>
{{end}}<section class="verdict {{if .Broke}}broke{{else}}held{{end}}" id="verdict">
<p class="verdict-label">{{if .Broke}}Breaking point found{{else}}No breaking point in the tested range{{end}}</p>
<p class="verdict-text">{{.Verdict}}</p>
</section>
<section class="cards" id="key-numbers" aria-label="Key numbers">
{{range .Cards}}<div class="card {{.Tone}}"><p class="card-label">{{.Label}}</p><p class="card-value">{{.Value}}</p>{{if .Sub}}<p class="card-sub">{{.Sub}}</p>{{end}}</div>
{{end}}</section>
<nav class="toc" aria-label="Contents">{{range .Sections}}<a href="#{{.ID}}">{{.Title}}</a> {{end}}</nav>
{{range .Sections}}<section class="part" id="{{.ID}}">
<h2>{{.Title}}</h2>
{{if .HasCharts}}{{if .Charts}}<p>Dots are the measurements at each step; lines are medians by load over the rising and steady part of the run (a ramp-down, where queues drain, is left out of them).</p>
{{end}}<div class="charts">
{{range .Charts}}<figure class="figure{{if .Wide}} wide{{end}}" id="{{.ID}}-figure">
<figcaption><span class="fig-title">{{.Title}}</span> {{.Caption}}</figcaption>
{{.SVG}}
</figure>
{{end}}</div>
{{if .Skipped}}<ul class="skipped">{{range .Skipped}}<li><strong>{{.Title}}</strong> not drawn: {{.Reason}}.</li>{{end}}</ul>
{{end}}{{end}}{{range .Blocks}}{{if .Table}}{{with .Table}}{{$kv := .KV}}<div class="table-wrap"><table{{if .KV}} class="kv"{{end}}>
{{if .Caption}}<caption>{{.Caption}}</caption>{{end}}
{{if not .KV}}<thead><tr>{{range .Head}}<th{{if .Class}} class="{{.Class}}"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
{{end}}<tbody>
{{range .Rows}}<tr>{{range $i, $c := .}}{{if and $kv (eq $i 0)}}<th scope="row">{{$c.Text}}</th>{{else}}<td{{if $c.Class}} class="{{$c.Class}}"{{end}}>{{$c.Text}}</td>{{end}}{{end}}</tr>
{{end}}</tbody>
</table></div>
{{end}}{{else if .Items}}<ul>
{{range .Items}}<li>{{.}}</li>
{{end}}</ul>
{{else}}<p>{{.Para}}</p>
{{end}}{{end}}</section>
{{end}}<footer><p>Made by headroom. report.json holds the same numbers and each chart's data; report.md the same tables.</p></footer>
</main>
</body>
</html>
`))

const pageCSS = `
:root { color-scheme: light; --ink: #0f172a; --muted: #475569; --line: #e2e8f0; --bg: #f8fafc; --card: #ffffff; --bad: #b91c1c; --bad-bg: #fef2f2; --good: #15803d; --good-bg: #f0fdf4; --accent: #2563eb; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 28px; line-height: 1.2; margin: 2px 0 6px; }
h2 { font-size: 20px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
.eyebrow { margin: 0; text-transform: uppercase; letter-spacing: .08em; font-size: 12px; font-weight: 600; color: var(--accent); }
.meta { margin: 0; color: var(--muted); font-size: 14px; }
.verdict { margin: 20px 0 16px; padding: 16px 20px; border-radius: 10px; border: 1px solid var(--line); border-left: 6px solid var(--good); background: var(--card); }
.verdict.broke { border-left-color: var(--bad); }
.warning { margin: 20px 0 0; padding: 12px 20px; border-radius: 10px; border: 1px solid var(--bad); background: var(--card); color: var(--bad); font-weight: 600; line-height: 1.4; }
.verdict-label { margin: 0 0 4px; font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .06em; color: var(--good); }
.verdict.broke .verdict-label { color: var(--bad); }
.verdict-text { margin: 0; font-size: 19px; line-height: 1.4; font-weight: 600; white-space: pre-line; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin-bottom: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; min-width: 0; overflow-wrap: break-word; }
.card p { margin: 0; }
.card-label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; font-weight: 600; }
.card-value { font-size: 19px; line-height: 1.25; font-weight: 700; margin: 2px 0 !important; font-variant-numeric: tabular-nums; }
.card-sub { font-size: 13px; color: var(--muted); }
.card.bad .card-value { color: var(--bad); }
.card.good .card-value { color: var(--good); }
.toc { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 0 0 8px; font-size: 14px; }
.toc a { color: var(--accent); text-decoration: none; }
.toc a:hover { text-decoration: underline; }
.part { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin-top: 16px; }
.part p { margin: 0 0 10px; }
.part ul { margin: 0 0 6px; padding-left: 20px; }
.part li { margin: 2px 0; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px 10px 4px; background: #fff; }
.figure.wide { grid-column: 1 / -1; }
.figure figcaption { font-size: 13px; color: var(--muted); margin-bottom: 4px; }
.fig-title { display: block; font-size: 15px; font-weight: 700; color: var(--ink); }
svg.chart { display: block; width: 100%; height: auto; font-family: inherit; }
.skipped { margin-top: 12px !important; color: var(--muted); font-size: 14px; }
.table-wrap { overflow-x: auto; margin: 0 0 14px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
caption { text-align: left; font-weight: 600; padding: 0 0 6px; color: var(--ink); }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nw { white-space: nowrap; }
td.bad { color: var(--bad); background: var(--bad-bg); font-weight: 600; }
tbody tr:last-child td, tbody tr:last-child th { border-bottom: none; }
table.kv { width: auto; min-width: 50%; }
table.kv th { background: none; font-weight: 500; color: var(--muted); padding-right: 32px; }
footer { margin-top: 24px; color: var(--muted); font-size: 13px; }
@media (max-width: 860px) { .charts { grid-template-columns: 1fr; } main { padding: 16px 12px 32px; } }
@media print { body { background: #fff; } .part, .figure, .card, .verdict { break-inside: avoid; } .toc { display: none; } }
`
