//go:build unix

package loadgen

import (
	"io"
	"net"
	"os"
	"syscall"
)

// exchange is the state of writeThenWait's and readFirst's callback. It lives in the
// connection, with the callback bound to it once, so that no request
// allocates a closure.
type exchange struct {
	req, p     []byte
	written, n int
	sent       bool
	// errno is the failed system call's error, op its name ("write" or
	// "read"); eof, that the peer closed the connection.
	errno syscall.Errno
	op    string
	eof   bool
	fn    func(fd uintptr) bool
}

// writeThenWait writes a request and waits until its response begins (the
// socket is readable) with one system call and one wait, where Write then
// Read on the net.Conn would try the empty socket once more (EAGAIN) before
// waiting. It reads nothing: the caller takes a buffer for the response only
// once the response is there (readFirst), so that a VU waiting on a slow
// server holds no response buffer; at a run's start, when every VU waits at
// once, those buffers were most of the process's memory.
//
// The write happens inside RawConn.Read's callback, after Go's poller has
// been armed for this read (poll.FD.RawRead calls prepareRead before the
// callback). Readiness that the response signals after the write is
// therefore never lost; waiting before writing is not safe, because
// prepareRead forgets readiness signalled before it. readFirst then tries
// the socket before it waits, so nothing is lost between the two either.
//
// The socket is non-blocking, so its write and read return at once; on
// Linux they are made as raw system calls (rawWrite, rawRead), which skip
// the scheduler's bookkeeping for a call that may block: on a core shared
// by every VU, that bookkeeping (and the system monitor taking the
// processor from a goroutine it finds in a system call) cost more than the
// calls themselves.
//
// ok is false when the exchange could not run this way: no raw connection,
// or the socket took only part of the request (its buffer is full). written
// says how much of req went out; the caller writes the rest and reads the
// usual way. err is an I/O error with net.Conn's wording, so that errors
// read and group as they do there.
func writeThenWait(hc *h1conn, req []byte) (written int, ok bool, err error) {
	if hc.rc == nil {
		return 0, false, nil
	}
	written, _, err = hc.x.run(hc, req, nil)
	if err == nil && written < len(req) {
		return written, false, nil
	}
	return written, true, err
}

// readFirst reads the first bytes of the response that writeThenWait waited
// for into p, waiting again if they are not there after all. n bytes are in
// p; err is an I/O error (io.EOF when the peer closed the connection before
// answering).
func readFirst(hc *h1conn, p []byte) (n int, err error) {
	_, n, err = hc.x.run(hc, nil, p)
	return n, err
}

// run is one RawConn.Read: it writes req, if any, and then waits for the
// socket to be readable (p nil) or reads into p.
func (x *exchange) run(hc *h1conn, req, p []byte) (written, n int, err error) {
	c := hc.c
	if x.fn == nil {
		x.fn = x.step
	}
	x.req, x.p = req, p
	x.written, x.n, x.sent, x.errno, x.op, x.eof = 0, 0, req == nil, 0, "", false
	rerr := hc.rc.Read(x.fn)
	written, n = x.written, x.n
	errno, op, eof := x.errno, x.op, x.eof
	x.req, x.p = nil, nil
	if rerr != nil {
		// The poller's own errors: a deadline that passed (the request
		// timeout or a cancelled run) or a closed connection.
		if oe, isOp := rerr.(*net.OpError); isOp {
			rerr = &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: oe.Err}
			if written < len(req) {
				rerr.(*net.OpError).Op = "write"
			}
		}
		return written, 0, rerr
	}
	switch {
	case errno != 0:
		return written, 0, &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
	case eof:
		return written, 0, io.EOF
	}
	return written, n, nil
}

// step is RawConn.Read's callback: the first call writes the request (when
// there is one), the following ones read, or with no buffer to read into
// only say that the socket is readable.
func (x *exchange) step(fd uintptr) bool {
	if !x.sent {
		x.sent = true
		for x.written < len(x.req) {
			w, e := rawWrite(fd, x.req[x.written:])
			if w > 0 {
				x.written += w
			}
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN || e == syscall.EWOULDBLOCK:
				// The send buffer is full: the caller writes the rest
				// through the poller.
				return true
			case e != 0:
				x.errno, x.op = e, "write"
				return true
			}
		}
		// Wait for the response.
		return false
	}
	if x.p == nil {
		// The poller found the socket readable.
		return true
	}
	for {
		r, e := rawRead(fd, x.p)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN || e == syscall.EWOULDBLOCK:
			return false
		case e != 0:
			x.errno, x.op = e, "read"
		case r == 0:
			x.eof = true
		default:
			x.n = r
		}
		return true
	}
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
