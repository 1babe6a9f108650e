// Package shapes serves small HTTP targets whose capacity is known by
// construction, one for each common way a service saturates, so that
// headroom's answers can be checked against ground truth.
//
// Every target serves GET /work (the flow target serves three endpoints)
// and /metrics with the metric families real exporters publish for the
// resource that limits it:
//
//   - pool: a database/sql pool of PoolSize connections, each query holding
//     its connection for Hold; capacity PoolSize / Hold. go_sql_stats_*.
//   - cpu: every request burns Work of CPU time on one of Cores workers
//     (the process's CPU quota); capacity Cores / Work. cAdvisor's
//     container_cpu_usage_seconds_total and container_spec_cpu_quota/period,
//     and in its own process process_cpu_seconds_total with
//     go_sched_gomaxprocs_threads.
//   - redis: every request runs a Lua loop of RedisWork in a real
//     redis-server, whose single thread is the ceiling; capacity
//     1 / RedisWork. The Redis series come from redis_exporter.
//   - shed: the pool of the pool target behind an admission limit that
//     answers 503 at once when every connection is busy; capacity
//     PoolSize / Hold of successful requests.
//   - retrograde: queries slow down with the number of queries running
//     together (contention and coherency), so throughput peaks and then
//     falls: hold(n) = Hold·(1 + σ(n−1) + κn(n−1)), the Universal
//     Scalability Law, peak at n* = √((1−σ)/κ).
//   - slo: latency grows with the request rate (Hold + SLOSlope per
//     request/s) while nothing caps throughput, so a latency SLO is crossed
//     long before throughput saturates.
//   - none: a pool far larger than any load the tests offer.
//   - flow: GET /api/products and GET /api/orders/{id} use no shared
//     resource; POST /api/orders uses the pool. One iteration of the flow
//     does all three, so the flow's capacity is 3 · PoolSize / Hold
//     requests/s.
//
// Service times are drawn uniformly within ±Jitter of their mean from a
// seeded generator, so a run is reproducible up to the host's noise.
package shapes
