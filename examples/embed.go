// Package examples holds the example files headroom's demo uses when it
// runs outside a checkout of the repository.
package examples

import _ "embed"

// Topology is examples/topology.yaml: the checkout service's production
// (pods, pool, database, cache, baseline traffic) for `headroom plan`.
//
//go:embed topology.yaml
var Topology []byte
