package poolmetrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

// The names, types and help texts are what headroom's catalog and the
// examples' READMEs rely on: a change here is a change of the contract.
func TestRedisPoolExportsGoRedisNames(t *testing.T) {
	st := &redis.PoolStats{Hits: 5, Misses: 2, Timeouts: 1, WaitCount: 3, WaitDurationNs: int64(1500 * time.Millisecond), TotalConns: 4, IdleConns: 1, StaleConns: 0}
	c := NewRedisPool(func() RedisStats { return RedisStatsOf(st, 8) })
	const want = `# HELP go_redis_pool_hits_total Number of times a free connection was found in the pool.
# TYPE go_redis_pool_hits_total counter
go_redis_pool_hits_total 5
# HELP go_redis_pool_idle_conns Number of idle connections in the pool.
# TYPE go_redis_pool_idle_conns gauge
go_redis_pool_idle_conns 1
# HELP go_redis_pool_max_conns Maximum number of connections in the pool (the configured pool size).
# TYPE go_redis_pool_max_conns gauge
go_redis_pool_max_conns 8
# HELP go_redis_pool_misses_total Number of times a free connection was not found in the pool.
# TYPE go_redis_pool_misses_total counter
go_redis_pool_misses_total 2
# HELP go_redis_pool_stale_conns_total Number of stale connections removed from the pool.
# TYPE go_redis_pool_stale_conns_total counter
go_redis_pool_stale_conns_total 0
# HELP go_redis_pool_timeouts_total Number of times a wait for a connection timed out.
# TYPE go_redis_pool_timeouts_total counter
go_redis_pool_timeouts_total 1
# HELP go_redis_pool_total_conns Number of connections in the pool.
# TYPE go_redis_pool_total_conns gauge
go_redis_pool_total_conns 4
# HELP go_redis_pool_wait_count_total Number of times a caller waited for a connection.
# TYPE go_redis_pool_wait_count_total counter
go_redis_pool_wait_count_total 3
# HELP go_redis_pool_wait_duration_seconds_total Cumulative time callers waited for a connection, in seconds.
# TYPE go_redis_pool_wait_duration_seconds_total counter
go_redis_pool_wait_duration_seconds_total 1.5
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestPgxPoolExportsPgxpoolNames(t *testing.T) {
	c := NewPgxPool(func() PgxStats { return PgxStats{Acquired: 3, Max: 4, EmptyAcquireWaitTime: 2 * time.Second} })
	if n := testutil.CollectAndCount(c); n != 13 {
		t.Errorf("%d series; want 13", n)
	}
	const want = `# HELP pgxpool_acquired_conns Number of connections currently acquired from the pool.
# TYPE pgxpool_acquired_conns gauge
pgxpool_acquired_conns 3
# HELP pgxpool_max_conns Maximum size of the pool.
# TYPE pgxpool_max_conns gauge
pgxpool_max_conns 4
# HELP pgxpool_empty_acquire_wait_time_seconds_total Cumulative time successful acquires waited because the pool was empty, in seconds.
# TYPE pgxpool_empty_acquire_wait_time_seconds_total counter
pgxpool_empty_acquire_wait_time_seconds_total 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "pgxpool_acquired_conns", "pgxpool_max_conns", "pgxpool_empty_acquire_wait_time_seconds_total"); err != nil {
		t.Error(err)
	}
}
