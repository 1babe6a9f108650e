// Package poolmetrics exports connection pools under the names of the
// common Prometheus collectors — pgxpool_*, go_sql_stats_connections_*,
// go_redis_pool_* — read at scrape time. The examples (checkout, shapes)
// share it, so the names headroom's catalog reads are written once.
package poolmetrics

import (
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// metric is one series of a snapshot collector: its description, its type
// and how to read it from a snapshot.
type metric[S any] struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(S) float64
}

// snapshot is a collector that takes one snapshot of a pool per scrape and
// exports each metric from it.
type snapshot[S any] struct {
	stat    func() S
	metrics []metric[S]
}

// def declares one metric of a snapshot collector.
type def[S any] struct {
	name, help string
	typ        prometheus.ValueType
	value      func(S) float64
}

func newSnapshot[S any](prefix string, labels prometheus.Labels, stat func() S, defs []def[S]) *snapshot[S] {
	c := &snapshot[S]{stat: stat, metrics: make([]metric[S], len(defs))}
	for i, d := range defs {
		c.metrics[i] = metric[S]{desc: prometheus.NewDesc(prefix+d.name, d.help, nil, labels), typ: d.typ, value: d.value}
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *snapshot[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
}

// Collect implements prometheus.Collector.
func (c *snapshot[S]) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.value(s))
	}
}

const (
	gauge   = prometheus.GaugeValue
	counter = prometheus.CounterValue
)

func seconds(d time.Duration) float64 { return d.Seconds() }

// PgxStats is a database pool snapshot in pgxpool.Stat's terms.
type PgxStats struct {
	Acquired, Idle, Total, Max, Constructing int64
	AcquireCount                             int64
	CanceledAcquireCount                     int64
	EmptyAcquireCount                        int64
	AcquireDuration                          time.Duration
	EmptyAcquireWaitTime                     time.Duration
	NewConns                                 int64
	MaxLifetimeDestroyCount                  int64
	MaxIdleDestroyCount                      int64
}

// NewPgxPool exports a database pool as pgxpool_*.
func NewPgxPool(stat func() PgxStats) prometheus.Collector {
	return newSnapshot("pgxpool_", nil, stat, []def[PgxStats]{
		{"acquired_conns", "Number of connections currently acquired from the pool.", gauge, func(s PgxStats) float64 { return float64(s.Acquired) }},
		{"idle_conns", "Number of idle connections in the pool.", gauge, func(s PgxStats) float64 { return float64(s.Idle) }},
		{"total_conns", "Total number of connections in the pool: constructing + acquired + idle.", gauge, func(s PgxStats) float64 { return float64(s.Total) }},
		{"max_conns", "Maximum size of the pool.", gauge, func(s PgxStats) float64 { return float64(s.Max) }},
		{"constructing_conns", "Number of connections being constructed.", gauge, func(s PgxStats) float64 { return float64(s.Constructing) }},
		{"acquire_count_total", "Cumulative count of successful acquires from the pool.", counter, func(s PgxStats) float64 { return float64(s.AcquireCount) }},
		{"canceled_acquire_count_total", "Cumulative count of acquires canceled by a context.", counter, func(s PgxStats) float64 { return float64(s.CanceledAcquireCount) }},
		{"empty_acquire_count_total", "Cumulative count of successful acquires that waited for a connection to be released or constructed because the pool was empty.", counter, func(s PgxStats) float64 { return float64(s.EmptyAcquireCount) }},
		{"acquire_duration_seconds_total", "Cumulative time spent waiting to acquire a connection, in seconds, over successful acquires.", counter, func(s PgxStats) float64 { return seconds(s.AcquireDuration) }},
		{"empty_acquire_wait_time_seconds_total", "Cumulative time successful acquires waited because the pool was empty, in seconds.", counter, func(s PgxStats) float64 { return seconds(s.EmptyAcquireWaitTime) }},
		{"new_conns_count_total", "Cumulative count of new connections opened.", counter, func(s PgxStats) float64 { return float64(s.NewConns) }},
		{"max_lifetime_destroy_count_total", "Cumulative count of connections destroyed because they exceeded MaxConnLifetime.", counter, func(s PgxStats) float64 { return float64(s.MaxLifetimeDestroyCount) }},
		{"max_idle_destroy_count_total", "Cumulative count of connections destroyed because they exceeded MaxConnIdleTime.", counter, func(s PgxStats) float64 { return float64(s.MaxIdleDestroyCount) }},
	})
}

// RedisStats is a Redis client pool snapshot in go-redis PoolStats' terms.
type RedisStats struct {
	Hits, Misses, Timeouts int64
	WaitCount              int64
	WaitDuration           time.Duration
	Total, Idle, Max       int64
	Stale                  int64
}

// RedisStatsOf reads go-redis's pool statistics; max is the configured
// pool size, which go-redis does not report.
func RedisStatsOf(st *redis.PoolStats, max int) RedisStats {
	return RedisStats{
		Hits:         int64(st.Hits),
		Misses:       int64(st.Misses),
		Timeouts:     int64(st.Timeouts),
		WaitCount:    int64(st.WaitCount),
		WaitDuration: time.Duration(st.WaitDurationNs),
		Total:        int64(st.TotalConns),
		Idle:         int64(st.IdleConns),
		Stale:        int64(st.StaleConns),
		Max:          int64(max),
	}
}

// NewRedisPool exports a Redis client pool as go_redis_pool_*.
func NewRedisPool(stat func() RedisStats) prometheus.Collector {
	return newSnapshot("go_redis_pool_", nil, stat, []def[RedisStats]{
		{"hits_total", "Number of times a free connection was found in the pool.", counter, func(s RedisStats) float64 { return float64(s.Hits) }},
		{"misses_total", "Number of times a free connection was not found in the pool.", counter, func(s RedisStats) float64 { return float64(s.Misses) }},
		{"timeouts_total", "Number of times a wait for a connection timed out.", counter, func(s RedisStats) float64 { return float64(s.Timeouts) }},
		{"wait_count_total", "Number of times a caller waited for a connection.", counter, func(s RedisStats) float64 { return float64(s.WaitCount) }},
		{"wait_duration_seconds_total", "Cumulative time callers waited for a connection, in seconds.", counter, func(s RedisStats) float64 { return seconds(s.WaitDuration) }},
		{"total_conns", "Number of connections in the pool.", gauge, func(s RedisStats) float64 { return float64(s.Total) }},
		{"idle_conns", "Number of idle connections in the pool.", gauge, func(s RedisStats) float64 { return float64(s.Idle) }},
		{"stale_conns_total", "Number of stale connections removed from the pool.", counter, func(s RedisStats) float64 { return float64(s.Stale) }},
		{"max_conns", "Maximum number of connections in the pool (the configured pool size).", gauge, func(s RedisStats) float64 { return float64(s.Max) }},
	})
}

// NewSQLStats exports a database/sql pool under the names of the common
// database/sql collector (go_sql_stats_connections_*), labelled with the
// database's name.
func NewSQLStats(dbName string, db *sql.DB) prometheus.Collector {
	return newSnapshot("go_sql_stats_connections_", prometheus.Labels{"db_name": dbName}, db.Stats, []def[sql.DBStats]{
		{"max_open", "The limit on the number of open connections to the database (0 is unlimited).", gauge, func(s sql.DBStats) float64 { return float64(s.MaxOpenConnections) }},
		{"open", "The number of established connections, both in use and idle.", gauge, func(s sql.DBStats) float64 { return float64(s.OpenConnections) }},
		{"in_use", "The number of connections currently in use.", gauge, func(s sql.DBStats) float64 { return float64(s.InUse) }},
		{"idle", "The number of idle connections.", gauge, func(s sql.DBStats) float64 { return float64(s.Idle) }},
		{"waited_for", "The total number of connections waited for.", counter, func(s sql.DBStats) float64 { return float64(s.WaitCount) }},
		{"blocked_seconds", "The total time blocked waiting for a new connection, in seconds.", counter, func(s sql.DBStats) float64 { return seconds(s.WaitDuration) }},
		{"closed_max_idle", "The total number of connections closed due to SetMaxIdleConns.", counter, func(s sql.DBStats) float64 { return float64(s.MaxIdleClosed) }},
		{"closed_max_lifetime", "The total number of connections closed due to SetConnMaxLifetime.", counter, func(s sql.DBStats) float64 { return float64(s.MaxLifetimeClosed) }},
		{"closed_max_idle_time", "The total number of connections closed due to SetConnMaxIdleTime.", counter, func(s sql.DBStats) float64 { return float64(s.MaxIdleTimeClosed) }},
	})
}
