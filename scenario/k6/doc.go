// Package k6 translates between headroom and k6: Script writes a scenario as
// a k6 script, and ReadJSON imports the results k6 wrote with --out json as
// a headroom run.
package k6
