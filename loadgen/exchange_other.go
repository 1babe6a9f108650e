//go:build !unix

package loadgen

import (
	"net"
	"syscall"
)

// writeThenRead is Write then Read on other platforms: ok is false.
func writeThenRead(net.Conn, syscall.RawConn, []byte, []byte) (written, n int, ok bool, err error) {
	return 0, 0, false, nil
}

func rawConn(net.Conn) syscall.RawConn { return nil }
