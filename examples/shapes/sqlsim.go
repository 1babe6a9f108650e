package shapes

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// simConnector is a database/sql connector whose connections answer every
// statement by holding the connection for a service time, like a query the
// database takes that long to run. database/sql's own pool (SetMaxOpenConns)
// does the pooling, so its DBStats are the real thing.
type simConnector struct {
	// hold returns the service time of a statement that starts while
	// active statements (itself included) are running.
	hold   func(active int) time.Duration
	active atomic.Int64
}

// Connect implements driver.Connector.
func (c *simConnector) Connect(context.Context) (driver.Conn, error) { return &simConn{c: c}, nil }

// Driver implements driver.Connector.
func (c *simConnector) Driver() driver.Driver { return simDriver{c} }

type simDriver struct{ c *simConnector }

// Open implements driver.Driver.
func (d simDriver) Open(string) (driver.Conn, error) { return &simConn{c: d.c}, nil }

// simConn is one simulated connection.
type simConn struct{ c *simConnector }

var errSimUnsupported = errors.New("the simulated database only runs statements with ExecContext")

// Prepare implements driver.Conn.
func (*simConn) Prepare(string) (driver.Stmt, error) { return nil, errSimUnsupported }

// Close implements driver.Conn.
func (*simConn) Close() error { return nil }

// Begin implements driver.Conn.
func (*simConn) Begin() (driver.Tx, error) { return nil, errSimUnsupported }

// ExecContext implements driver.ExecerContext: the statement takes the
// connector's service time.
func (c *simConn) ExecContext(ctx context.Context, _ string, _ []driver.NamedValue) (driver.Result, error) {
	n := c.c.active.Add(1)
	defer c.c.active.Add(-1)
	if err := sleepCtx(ctx, c.c.hold(int(n))); err != nil {
		return nil, err
	}
	return driver.RowsAffected(1), nil
}

// sqlStatsCollector exports sql.DBStats under the names of the common
// database/sql Prometheus collector (go_sql_stats_connections_*), read at
// scrape time, labelled with the database name.
type sqlStatsCollector struct {
	db *sql.DB

	maxOpen, open, inUse, idle                       *prometheus.Desc
	waitedFor, blocked, closedMaxIdle, closedMaxLife *prometheus.Desc
	closedMaxIdleTime                                *prometheus.Desc
}

func newSQLStatsCollector(dbName string, db *sql.DB) *sqlStatsCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("go_sql_stats_connections_"+name, help, nil, prometheus.Labels{"db_name": dbName})
	}
	return &sqlStatsCollector{
		db:                db,
		maxOpen:           d("max_open", "The limit on the number of open connections to the database (0 is unlimited)."),
		open:              d("open", "The number of established connections, both in use and idle."),
		inUse:             d("in_use", "The number of connections currently in use."),
		idle:              d("idle", "The number of idle connections."),
		waitedFor:         d("waited_for", "The total number of connections waited for."),
		blocked:           d("blocked_seconds", "The total time blocked waiting for a new connection, in seconds."),
		closedMaxIdle:     d("closed_max_idle", "The total number of connections closed due to SetMaxIdleConns."),
		closedMaxLife:     d("closed_max_lifetime", "The total number of connections closed due to SetConnMaxLifetime."),
		closedMaxIdleTime: d("closed_max_idle_time", "The total number of connections closed due to SetConnMaxIdleTime."),
	}
}

// Describe implements prometheus.Collector.
func (c *sqlStatsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waitedFor, c.blocked, c.closedMaxIdle, c.closedMaxLife, c.closedMaxIdleTime} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *sqlStatsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Stats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.maxOpen, float64(s.MaxOpenConnections))
	gauge(c.open, float64(s.OpenConnections))
	gauge(c.inUse, float64(s.InUse))
	gauge(c.idle, float64(s.Idle))
	counter(c.waitedFor, float64(s.WaitCount))
	counter(c.blocked, s.WaitDuration.Seconds())
	counter(c.closedMaxIdle, float64(s.MaxIdleClosed))
	counter(c.closedMaxLife, float64(s.MaxLifetimeClosed))
	counter(c.closedMaxIdleTime, float64(s.MaxIdleTimeClosed))
}
