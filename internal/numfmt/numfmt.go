// Package numfmt formats numbers for people and for generated text (PromQL,
// JavaScript, Markdown), the same way everywhere.
package numfmt

import "strconv"

// Plain writes f with as few digits as read back exactly, never in
// exponent form: 0.5, 120, 1e-07 as 0.0000001.
func Plain(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
