// Package planner turns an analysis into a capacity plan: given what a load
// test found (model.Analysis), what production runs (model.Topology), the
// traffic to carry and a price catalog, it decides what to change, what each
// change costs a month, and what it could not know (model.Plan).
//
// Decisions come free configuration first: each pod's DB pool sized by
// Little's law (connections = request rate per pod × mean connection hold
// time, the hold time derived from the pool's measured use), checked
// against the database's max_connections at the autoscaler's maximum less a
// reserve, and raised while the class's memory allows, else a pooler. Then
// capacity that costs money: pods for the required rate at the measured
// per-pod capacity and an HPA (min, max, CPU target); a larger database
// class when its CPU at the target would pass 70% or it was the bottleneck;
// cache shards when Redis's one core would; a read replica to consider when
// reads carry most of the request time. Totals give the monthly cost before
// and after, the cost per 1,000 RPS and the expected headroom; rows that
// rest on extrapolation are marked as assumptions.
//
// Verify turns a plan into its pre-launch test: 120% of the target rate with
// p95 under the SLO and errors under 1%, the full flow with think time and a
// soak, and a CI smoke profile to compare against a stored baseline.
//
// The package is pure: ParseTopology and ParsePrices decode bytes the
// caller read (with errors naming file, line and field), Build and Verify
// compute, Markdown and VerifyReadme render. The built-in price catalog,
// AWS us-east-1 on-demand with the date and source of every figure, is
// compiled in (prices.yaml) and DefaultPrices returns it.
package planner
