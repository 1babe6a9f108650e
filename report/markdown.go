package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/headroom-sh/headroom/model"
)

// Markdown renders report.md: the headline, the key numbers and every table
// of the report as GitHub-flavoured Markdown, for pull-request comments and
// wikis. Charts are listed with what they show; they are drawn in
// report.html.
func Markdown(in model.ReportInput) ([]byte, error) {
	r, err := Build(in)
	if err != nil {
		return nil, err
	}
	return renderMarkdown(r), nil
}

// AnalysisTitle heads an analysis rendered alone.
const AnalysisTitle = "Capacity analysis"

// AnalysisMarkdown renders one analysis alone as Markdown — `headroom
// analyze --format markdown`, for pull-request comments — with the
// report's sections and tables (run is optional) but no charts section,
// since nothing is drawn. It is the same renderer as report.md.
func AnalysisMarkdown(a *model.Analysis, run *model.Run, service string) ([]byte, error) {
	r, err := Build(model.ReportInput{Title: AnalysisTitle, Service: service, Analysis: a, Run: run})
	if err != nil {
		return nil, err
	}
	p := layout(r)
	kept := p.sections[:0]
	for _, s := range p.sections {
		if !s.charts {
			kept = append(kept, s)
		}
	}
	p.sections = kept
	return pageMarkdown(p), nil
}

func renderMarkdown(r *model.Report) []byte {
	return pageMarkdown(layout(r))
}

func pageMarkdown(p *page) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", mdText(p.title))
	if p.warning != "" {
		fmt.Fprintf(&b, "> **Warning: %s**\n\n", mdText(p.warning))
	}
	for _, m := range p.meta {
		fmt.Fprintf(&b, "%s  \n", mdText(m))
	}
	b.WriteString("\n")
	label := "No breaking point in the tested range"
	if p.broke {
		label = "Breaking point found"
	}
	fmt.Fprintf(&b, "**%s.** %s\n\n", label, mdText(p.verdict))
	kn := table{head: []string{"", ""}}
	for _, c := range p.cards {
		v := c.value
		if c.sub != "" {
			v += " — " + c.sub
		}
		kn.add(c.label, v)
	}
	writeMDTable(&b, kn, true)
	for _, s := range p.sections {
		fmt.Fprintf(&b, "\n## %s\n\n", mdText(s.title))
		if s.charts {
			if len(p.charts) > 0 {
				b.WriteString("Drawn in report.html:\n\n")
				for _, c := range p.charts {
					fmt.Fprintf(&b, "- **%s.** %s\n", mdText(c.Title), mdText(c.Caption))
				}
			}
			for _, sk := range p.skipped {
				fmt.Fprintf(&b, "- **%s** not drawn: %s.\n", mdText(sk.Title), mdText(sk.Reason))
			}
			continue
		}
		for _, bl := range s.blocks {
			switch {
			case bl.table != nil:
				if bl.table.caption != "" {
					fmt.Fprintf(&b, "%s:\n\n", mdText(bl.table.caption))
				}
				writeMDTable(&b, *bl.table, bl.table.kv)
			case bl.items != nil:
				for _, it := range bl.items {
					fmt.Fprintf(&b, "- %s\n", mdText(it))
				}
			default:
				fmt.Fprintf(&b, "%s\n", mdText(bl.para))
			}
			b.WriteString("\n")
		}
	}
	// One blank line between blocks and sections, and one newline at the end.
	out := regexp.MustCompile(`\n{3,}`).ReplaceAll(b.Bytes(), []byte("\n\n"))
	out = bytes.TrimRight(out, "\n")
	return append(out, '\n')
}

// writeMDTable writes a table with padded columns; bad cells are bold.
// headless drops the header's text (a key–value table).
func writeMDTable(b *bytes.Buffer, t table, headless bool) {
	rows := make([][]string, 0, len(t.rows)+1)
	head := make([]string, len(t.head))
	for i, h := range t.head {
		if !headless {
			head[i] = mdCell(h)
		}
	}
	rows = append(rows, head)
	for _, r := range t.rows {
		row := make([]string, len(t.head))
		for i := range row {
			if i < len(r) {
				row[i] = mdCell(r[i].text)
				if r[i].bad && row[i] != "" {
					row[i] = "**" + row[i] + "**"
				}
			}
		}
		rows = append(rows, row)
	}
	width := make([]int, len(t.head))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c), 3)
		}
	}
	line := func(cells []string) {
		b.WriteString("|")
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i < len(t.right) && t.right[i] {
				fmt.Fprintf(b, " %s%s |", pad, c)
			} else {
				fmt.Fprintf(b, " %s%s |", c, pad)
			}
		}
		b.WriteString("\n")
	}
	line(rows[0])
	b.WriteString("|")
	for i := range width {
		if i < len(t.right) && t.right[i] {
			fmt.Fprintf(b, " %s: |", strings.Repeat("-", width[i]-1))
		} else {
			fmt.Fprintf(b, " %s |", strings.Repeat("-", width[i]))
		}
	}
	b.WriteString("\n")
	for _, r := range rows[1:] {
		line(r)
	}
}

// mdCell makes text safe in a table cell: no pipes or line breaks.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r", " ")
	return mdText(strings.ReplaceAll(s, "\n", " "))
}

// mdText escapes the characters that would start HTML in Markdown.
func mdText(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}
