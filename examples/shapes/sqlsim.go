package shapes

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"
	"time"

	"github.com/headroom-sh/headroom/examples/internal/serving"
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
	if err := serving.Sleep(ctx, c.c.hold(int(n))); err != nil {
		return nil, err
	}
	return driver.RowsAffected(1), nil
}
