//go:build unix

package loadgen

import (
	"io"
	"net"
	"os"
	"syscall"
)

// writeThenRead writes a request and reads the first bytes of its response
// into p with the two system calls that take, where Write then Read on the
// net.Conn take three: Read tries the socket at once, finds it empty
// (EAGAIN) and only then waits for the poller.
//
// The write happens inside RawConn.Read's callback, after Go's poller has
// been armed for this read (poll.FD.RawRead calls prepareRead before the
// callback). Readiness that the response signals after the write is
// therefore never lost; waiting before writing is not safe, because
// prepareRead forgets readiness signalled before it.
//
// ok is false when the exchange could not run this way: no raw connection,
// or the socket took only part of the request (its buffer is full). written
// says how much of req went out; the caller writes the rest and reads the
// usual way. n bytes of the response are in p; err is an I/O error (io.EOF
// when the peer closed the connection before answering), with net.Conn's
// wording so that errors read and group as they do there.
func writeThenRead(c net.Conn, rc syscall.RawConn, req, p []byte) (written, n int, ok bool, err error) {
	if rc == nil {
		return 0, 0, false, nil
	}
	sent := false
	var opErr error
	rerr := rc.Read(func(fd uintptr) bool {
		if !sent {
			sent = true
			for written < len(req) {
				w, e := syscall.Write(int(fd), req[written:])
				if w > 0 {
					written += w
				}
				switch {
				case e == syscall.EINTR:
					continue
				case e == syscall.EAGAIN || e == syscall.EWOULDBLOCK:
					// The send buffer is full: the caller writes the rest
					// through the poller.
					return true
				case e != nil:
					opErr = &net.OpError{Op: "write", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("write", e)}
					return true
				}
			}
			// Wait for the response.
			return false
		}
		for {
			r, e := syscall.Read(int(fd), p)
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN || e == syscall.EWOULDBLOCK:
				return false
			case e != nil:
				opErr = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", e)}
			case r == 0:
				opErr = io.EOF
			default:
				n = r
			}
			return true
		}
	})
	if rerr != nil {
		// The poller's own errors: a deadline that passed (the request
		// timeout or a cancelled run) or a closed connection.
		if oe, isOp := rerr.(*net.OpError); isOp {
			rerr = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: oe.Err}
			if written < len(req) {
				rerr.(*net.OpError).Op = "write"
			}
		}
		return written, 0, true, rerr
	}
	if opErr != nil {
		return written, 0, true, opErr
	}
	if written < len(req) {
		return written, 0, false, nil
	}
	return written, n, true, nil
}

// rawConn returns c's raw connection, or nil.
func rawConn(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
