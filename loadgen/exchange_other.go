//go:build !unix

package loadgen

import (
	"net"
	"syscall"
)

// exchange is writeThenWait's state on unix; nothing here.
type exchange struct{}

// writeThenWait is Write then Read on other platforms: ok is false.
func writeThenWait(*h1conn, []byte) (written int, ok bool, err error) {
	return 0, false, nil
}

// readFirst is not called on other platforms (writeThenWait is never ok).
func readFirst(hc *h1conn, p []byte) (int, error) { return hc.c.Read(p) }

func rawConn(net.Conn) syscall.RawConn { return nil }
