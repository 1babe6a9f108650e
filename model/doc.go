// Package model holds the plain data types of every document headroom reads or
// writes (scenarios, runs, stage statistics, resource catalogs, analyses) with
// their JSON and YAML tags and their validation.
//
// The package imports only the standard library and performs no I/O, so every
// other package can depend on it.
package model
