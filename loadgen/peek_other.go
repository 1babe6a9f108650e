//go:build !unix

package loadgen

import "net"

// peerAlive cannot peek on this platform; a request on a connection the
// server closed is retried once instead.
func peerAlive(net.Conn) bool { return true }
