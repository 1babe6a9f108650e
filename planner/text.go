package planner

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

func cloneTopology(t *model.Topology) (*model.Topology, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("could not copy the topology: %w", err)
	}
	var out model.Topology
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("could not copy the topology: %w", err)
	}
	return &out, nil
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }

func round(v float64, digits int) float64 {
	s := math.Pow(10, float64(digits))
	return math.Round(v*s) / s
}

func roundUp(n, step int) int { return (n + step - 1) / step * step }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// rps formats a rate in requests/s with no decimals.
func rps(v float64) string { return fmt.Sprintf("%.0f", v) }

// num formats a number with at most one decimal.
func num(v float64) string { return numfmt.Round(v, 1) }

// num2 formats a number with at most two decimals.
func num2(v float64) string { return numfmt.Round(v, 2) }

// coresText formats a number of cores: "1 core", "0.5 cores".
func coresText(v float64) string {
	if v == 1 {
		return "1 core"
	}
	return num2(v) + " cores"
}

func ratio1(v float64) string { return num2(v) + "×" }

func pct(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }

func signedPct(v float64) string {
	if v >= 0 {
		return fmt.Sprintf("+%.0f%%", v*100)
	}
	return fmt.Sprintf("−%.0f%%", -v*100)
}

// money formats an amount of currency: "$1,084.19" for USD, "1,084.19 EUR"
// otherwise.
func money(v float64, currency string) string {
	neg := v < 0
	s := thousands(fmt.Sprintf("%.2f", math.Abs(v)))
	switch currency {
	case "USD", "":
		s = "$" + s
	case "EUR":
		s = "€" + s
	case "GBP":
		s = "£" + s
	default:
		s = s + " " + currency
	}
	if neg {
		s = "−" + s
	}
	return s
}

func signedMoney(v float64, currency string) string {
	if v > 0 {
		return "+" + money(v, currency)
	}
	return money(v, currency)
}

func thousands(s string) string {
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func orName(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
