// Package checkout is the demo system under test: a small checkout API
// (login, cart, orders) on PostgreSQL and Redis, instrumented the way
// headroom expects, with an in-memory "sim" backend that keeps the same
// bounded pools, hold times and metric names so it can be load tested with
// nothing but Go.
//
// # Routes
//
//	POST /api/auth/login     {"username","password"} → {"token","expires_in"}
//	POST /api/cart/add       {"product_id","variant","quantity"} → cart
//	POST /api/orders/create  {} or {"cart_id"} → 201 order
//	GET  /api/orders/{id}    → order (404 when missing or not the caller's)
//	GET  /healthz, GET /metrics
//
// Users user1 … user1000 exist, all with the password "secret". Every route
// under /api except login needs "Authorization: Bearer <token>".
//
// # Capacity by construction
//
// Creating an order holds a database connection for Config.OrderDBHold
// (default 40 ms) inside its transaction, so the database pool saturates at
// a known rate while CPU stays low:
//
//	capacity ≈ PoolSize / OrderDBHold = 20 / 40 ms = 500 orders/s
//
// Past that rate requests queue for a connection: pgxpool_acquired_conns
// sits at pgxpool_max_conns and pgxpool_acquire_duration_seconds_total rises
// with latency, which is the signature headroom's analyzer names as a
// "DB connection pool" bottleneck.
//
// # Backends
//
// Backend "real" uses PostgreSQL through pgxpool and Redis through go-redis.
// Backend "sim" replaces both with in-memory stores behind FIFO pools of the
// same sizes: an order holds a simulated database connection for
// OrderDBHold, reading an uncached order holds one for SimOrderReadHold, and
// each cart or cache operation holds a simulated Redis connection for
// SimRedisOpHold. Both backends export the same pgxpool_* and go_redis_pool_*
// series with the same meaning, so the same formula gives the capacity of
// either.
package checkout
