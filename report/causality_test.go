package report

import (
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"
)

// sectionText flattens a section's paragraphs, items and table cells.
func sectionText(s section) string {
	var b strings.Builder
	for _, bl := range s.blocks {
		b.WriteString(bl.para + "\n")
		for _, it := range bl.items {
			b.WriteString(it + "\n")
		}
		if bl.table != nil {
			for _, row := range bl.table.rows {
				for _, c := range row {
					b.WriteString(c.text + " | ")
				}
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

func TestReportShowsASaturatedResourceThatIsNotLimitingAndTheExperiment(t *testing.T) {
	at, after := 102.0, 122.0
	a := &model.Analysis{
		Bottleneck: model.Bottleneck{
			Resource: model.KindHostCPU, Name: "Host CPU", Confidence: model.ConfidenceMedium,
			Evidence:  "node_exporter reached 90% of its limit (2 cores)",
			Contender: model.KindDBPool, ContenderName: "DB connection pool",
			Experiment: &model.Experiment{Resource: model.KindDBPool, Text: "raise the DB connection pool from 4 to 8 connections in a short run at about 120 RPS"},
		},
		Resources: []model.ResourceAnalysis{
			{Kind: model.KindHostCPU, Name: "Host CPU", Rank: 1, Saturated: true, SaturatedBy: "utilization"},
			{Kind: model.KindDBPool, Name: "DB connection pool", Rank: 2, Saturated: true, SaturatedBy: "utilization", SaturatedAtRPS: &at,
				NotLimiting: true, GoodputAtSaturationRPS: &at, GoodputAfterRPS: &after},
		},
	}
	bn := sectionText(bottleneckSection(a))
	if !strings.Contains(bn, "To tell the suspects apart: raise the DB connection pool from 4 to 8 connections") {
		t.Errorf("bottleneck section lacks the experiment:\n%s", bn)
	}
	rs, ok := resourcesSection(a)
	if !ok {
		t.Fatal("no resources section")
	}
	if txt := sectionText(rs); !strings.Contains(txt, "not limiting yet (goodput rose to 122 RPS)") {
		t.Errorf("resources section does not say the pool is not limiting:\n%s", txt)
	}
}
