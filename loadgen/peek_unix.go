//go:build unix

package loadgen

import (
	"net"
	"syscall"
)

// peerAlive reports whether an idle connection is still open: a
// non-blocking peek that finds the peer's FIN (or stray bytes) means the
// connection cannot carry another request.
func peerAlive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := true
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
		case err != nil, n == 0, n > 0:
			alive = false
		}
		return true
	})
	return err == nil && alive
}
