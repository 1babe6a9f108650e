// Package numfmt formats numbers for people and for generated text (PromQL,
// JavaScript, Markdown), the same way everywhere.
//
// model does not use it: model stays stdlib-only, and the one number model
// formats itself (a CPU quantity, "500m") is a unit of its own, not one of
// these.
package numfmt

import (
	"strconv"
	"strings"
)

// Plain writes f with as few digits as read back exactly, never in
// exponent form: 0.5, 120, 1e-07 as 0.0000001.
func Plain(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// Round writes f rounded to at most decimals digits after the point, with
// trailing zeros dropped: Round(2.96, 1) is "3", Round(0.75, 1) "0.8",
// Round(12.50, 2) "12.5". Rounding is of f's exact value (as
// strconv.FormatFloat does), and a result of zero never has a sign.
func Round(f float64, decimals int) string {
	s := strconv.FormatFloat(f, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}
