//go:build !unix

package loadgen

import (
	"net"
	"syscall"
)

// exchange is writeThenRead's state on unix; nothing here.
type exchange struct{}

// writeThenRead is Write then Read on other platforms: ok is false.
func writeThenRead(*h1conn, []byte, []byte) (written, n int, ok bool, err error) {
	return 0, 0, false, nil
}

func rawConn(net.Conn) syscall.RawConn { return nil }
