// Package e2e holds headroom's end-to-end tests: the checkout demo on a real
// PostgreSQL and Redis, driven by the load runner and the built CLI, with
// its series in a real Prometheus (remote write, scrapes of the app and of
// postgres_exporter, redis_exporter and node_exporter) and in the embedded
// store, analyzed by the collector and the analyzer as a user would.
//
// The package has no code of its own: only tests and their helpers. The
// real components come from scripts/testenv.sh (see internal/testenv); a
// test that needs one fails under CI and is skipped elsewhere when it is
// not configured. The tests run load for about three minutes in all.
package e2e
