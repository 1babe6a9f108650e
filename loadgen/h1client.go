package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// h1client sends plain-HTTP/1.1 requests to the target on a connection owned
// by each VU, the way wrk and k6 do. net/http's Transport hands every request
// to a connection's read and write goroutines through channels and builds
// several objects per request; on a two-core machine that costs as much CPU
// as the server's work. Here the VU's own goroutine writes the request and
// reads the response with one system call each and a single wait between
// them (writeThenWait, readFirst), parses the response from a pooled buffer
// taken once the response has begun, and an idle VU, or one waiting for its
// response, holds nothing but its socket. The request timeout is enforced by
// the runner's watchdog, not by a deadline set per request.
//
// It serves http:// targets when no HTTPClient is configured. TLS, redirects
// to other hosts and absolute step URLs to other hosts go through net/http.
type h1client struct {
	// host is the Host header; addr is the dial address.
	host, addr string
	dialer     *net.Dialer
	timeout    time.Duration
	// maxBody is the largest response body read, in bytes.
	maxBody int64
}

// DefaultMaxResponseBody is the largest response body the runner reads
// (64 MiB): a larger one fails the request rather than the runner's memory.
const DefaultMaxResponseBody = 64 << 20

// ErrBodyTooLarge marks a response whose body exceeds the limit.
var ErrBodyTooLarge = errors.New("response body too large")

func newH1Client(target *url.URL, timeout time.Duration, maxBody int64) *h1client {
	addr := target.Host
	if target.Port() == "" {
		addr = net.JoinHostPort(target.Hostname(), "80")
	}
	return &h1client{
		host:    target.Host,
		addr:    addr,
		dialer:  &net.Dialer{Timeout: min(10*time.Second, timeout), KeepAlive: 30 * time.Second},
		timeout: timeout,
		maxBody: maxBody,
	}
}

// h1conn is a VU's connection.
type h1conn struct {
	c net.Conn
	// rc is c's raw connection for writeThenWait and readFirst; nil when there is none.
	rc syscall.RawConn
	// x is writeThenWait's and readFirst's state.
	x exchange
	// rd is what the response parser reads from (kept here so that no
	// request allocates it).
	rd h1reader
	// due is when the request in flight times out, in nanoseconds since
	// the run's start: 0 while the connection is idle, -1 once the
	// runner's watchdog has put its deadline in the past. The watchdog
	// replaces a SetDeadline per request, which costs a timer update and
	// a clock read each time.
	due atomic.Int64
	// lastUsed is when the last response was read (monotonic).
	lastUsed time.Time
	reused   bool
	// ctx is the context whose cancellation aborts the connection's I/O.
	ctx  context.Context
	stop func() bool
}

func (hc *h1conn) close() {
	if hc.stop != nil {
		hc.stop()
	}
	_ = hc.c.Close()
}

// longAgo is a deadline in the past: it makes blocked I/O return at once.
var longAgo = time.Unix(1, 0)

// conn returns the VU's connection, dialling a new one when it has none or
// when the server closed it while idle. now is the clock read of the
// request about to go out.
// A request that must not be replayed (strict) checks a reused connection
// every time, so that it is not lost on one the server already closed.
func (v *vu) conn(ctx context.Context, h *h1client, strict bool, now time.Time) (*h1conn, error) {
	hc := v.hc
	if hc != nil && hc.ctx != ctx && hc.stop != nil && !hc.stop() {
		// The context the connection served was cancelled, which put its
		// deadline in the past: it cannot carry another request.
		hc.stop = nil
		v.dropConn()
		hc = nil
	}
	if hc != nil && (strict || now.Sub(hc.lastUsed) > time.Second) && !peerAlive(hc.c) {
		v.dropConn()
		hc = nil
	}
	if hc == nil {
		c, err := h.dialer.DialContext(ctx, "tcp", h.addr)
		if err != nil {
			return nil, err
		}
		hc = &h1conn{c: c, rc: rawConn(c)}
		v.hc = hc
	}
	if hc.ctx != ctx {
		c := hc.c
		hc.ctx = ctx
		hc.stop = context.AfterFunc(ctx, func() { _ = c.SetDeadline(longAgo) })
	}
	return hc, nil
}

func (v *vu) dropConn() {
	if v.hc != nil {
		v.inflight.CompareAndSwap(v.hc, nil)
		v.hc.close()
		v.hc = nil
	}
}

// h1reader is the connection as readH1Response reads it. Its send writes
// the request and waits for the response to begin (writeThenWait) before the
// parser takes a buffer; its first Read then reads the response's first
// bytes (readFirst), later ones read from the connection.
type h1reader struct {
	hc  *h1conn
	req []byte
	// written counts the request bytes sent.
	written int
	// first is set when the next Read is the response's first, after
	// writeThenWait.
	first bool
}

// send writes the request and, where it can, waits until the response
// begins.
func (x *h1reader) send() error {
	w, ok, err := writeThenWait(x.hc, x.req)
	x.written = w
	if ok {
		x.first = err == nil
		return err
	}
	// The rest of the request goes through the poller.
	w, err = x.hc.c.Write(x.req[w:])
	x.written += w
	return err
}

func (x *h1reader) Read(p []byte) (int, error) {
	if x.first {
		x.first = false
		return readFirst(x.hc, p)
	}
	return x.hc.c.Read(p)
}

// watchdog enforces the request timeout of plain-HTTP requests: every tick
// it puts the deadline of each connection whose request is overdue in the
// past, which ends the request's I/O with a timeout error. A request thus
// times out between timeout and timeout plus one tick after it was sent.
func (r *Runner) watchdog(ctx context.Context) {
	t := time.NewTicker(watchdogTick(r.timeout))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := int64(r.elapsed())
		r.vusMu.Lock()
		for _, v := range r.allVUs {
			hc := v.inflight.Load()
			if hc == nil {
				continue
			}
			if d := hc.due.Load(); d > 0 && now >= d && hc.due.CompareAndSwap(d, -1) {
				_ = hc.c.SetDeadline(longAgo)
			}
		}
		r.vusMu.Unlock()
	}
}

// watchdogTick is how often the watchdog looks: a fiftieth of the timeout,
// from 1 ms to 250 ms, so that a request times out at most 2% (or 250 ms)
// late.
func watchdogTick(timeout time.Duration) time.Duration {
	return min(max(timeout/50, time.Millisecond), 250*time.Millisecond)
}

var (
	brPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	// A request buffer starts small and grows with the requests it renders:
	// at a run's start every VU holds one at once.
	reqPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}
)

// h1request is a request rendered for the wire.
type h1request struct {
	method string
	// target is the request target: the path and query.
	target string
	host   string
	body   []byte
}

// errMalformed marks a response that does not parse as HTTP/1.x.
var errMalformed = errors.New("malformed HTTP response")

// sendH1 renders and sends a step's request on the VU's connection and reads
// the response, following redirects on the same host.
func (v *vu) sendH1(ctx context.Context, s *stepRT, intended time.Time) result {
	r := v.r
	h := r.h1
	target, other, err := v.requestTarget(s)
	if err != nil {
		return result{status: statusError, err: err}
	}
	body, err := v.stepBody(s)
	if err != nil {
		return result{status: statusError, err: err}
	}
	if other != nil {
		start := intended
		if start.IsZero() {
			start = time.Now()
		}
		res := v.sendStd(ctx, s, other, s.method, body)
		res.dur = time.Since(start)
		return res
	}
	host := h.host
	if s.host != nil {
		if host, err = s.host.string(v); err != nil {
			return result{status: statusError, err: err}
		}
	}
	bp := reqPool.Get().(*[]byte)
	defer reqPool.Put(bp)
	buf, err := v.appendH1Request((*bp)[:0], s, s.method, target, host, body)
	*bp = buf
	if err != nil {
		return result{status: statusError, err: err}
	}
	// One clock read when the request goes out and one when its
	// response is in; the VU's connection and its iteration reuse them.
	now := r.now()
	start := intended
	if start.IsZero() {
		start = now
	}
	v.sentAt.Store(max(1, int64(start.Sub(r.startMono))))
	defer v.sentAt.Store(0)
	method := s.method
	for hop := 0; ; hop++ {
		res, loc, end := v.roundTripH1(ctx, buf, method, s.needBody, now)
		v.lastEnd = end
		if res.err != nil || loc == "" || hop >= 10 {
			res.dur = end.Sub(start)
			return res
		}
		now = end
		// Follow a redirect as net/http's client does: 301, 302 and 303
		// become GET without a body; 307 and 308 repeat the request.
		if res.body != nil {
			putBuf(res.body)
		}
		next, err := url.Parse(loc)
		if err != nil {
			return result{status: statusError, dur: time.Since(start), timed: true, err: fmt.Errorf("bad redirect location %q: %w", loc, err)}
		}
		base := &url.URL{Scheme: "http", Host: h.host, Path: "/"}
		next = base.ResolveReference(next)
		if res.status != http.StatusTemporaryRedirect && res.status != http.StatusPermanentRedirect {
			if method != http.MethodHead {
				method = http.MethodGet
			}
			body = nil
		}
		if next.Scheme != "http" || next.Host != h.host {
			res := v.sendStd(ctx, s, next, method, body)
			res.dur = time.Since(start)
			return res
		}
		if buf, err = v.appendH1Request(buf[:0], s, method, next.RequestURI(), host, body); err != nil {
			return result{status: statusError, dur: time.Since(start), timed: true, err: err}
		}
		*bp = buf
	}
}

// roundTripH1 writes a rendered request and reads the response. A request on
// a reused connection that the server closed before answering is sent once
// more on a new connection, as net/http does. loc is the Location of a
// redirect to follow. now is the clock read when the request goes out; end
// the one when its response was read (or the request failed).
func (v *vu) roundTripH1(ctx context.Context, req []byte, method string, needBody bool, now time.Time) (res result, loc string, end time.Time) {
	r := v.r
	h := r.h1
	for attempt := 0; ; attempt++ {
		hc, err := v.conn(ctx, h, !idempotent(method), now)
		if err != nil {
			if ctx.Err() != nil {
				return result{err: errInterrupted}, "", r.now()
			}
			return result{status: statusError, timed: true, err: err}, "", r.now()
		}
		// Arm the watchdog: the request times out h.timeout from now.
		hc.due.Store(int64(now.Sub(r.startMono) + h.timeout))
		if v.inflight.Load() != hc {
			v.inflight.Store(hc)
		}
		hc.rd = h1reader{hc: hc, req: req}
		// The response buffer is taken only once the response begins.
		var resp h1response
		err = hc.rd.send()
		if err == nil {
			resp, err = readH1Response(&hc.rd, method, needBody, h.maxBody)
		}
		written := hc.rd.written
		hc.rd = h1reader{}
		end = r.now()
		if hc.due.Swap(0) < 0 {
			// The watchdog put the deadline in the past (the response
			// may still have made it): the connection is done.
			resp.keep = false
		}
		if err != nil {
			reused := hc.reused
			v.dropConn()
			if ctx.Err() != nil {
				if written == 0 {
					return result{err: errInterrupted}, "", end
				}
				return result{status: statusError, timed: true, err: errCutShort}, "", end
			}
			// A server may close an idle keep-alive connection just as a
			// request goes out on it. The request is sent again on a new
			// connection only when the server cannot have acted on it:
			// nothing of it was written, or its method is idempotent (RFC
			// 9110, 9.2.2), as net/http does.
			if reused && resp.read == 0 && attempt == 0 && retryable(err) && (written == 0 || idempotent(method)) {
				now = end
				continue
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				err = fmt.Errorf("timeout after %s: %w", h.timeout, err)
			}
			return result{status: statusError, timed: true, err: err}, "", end
		}
		if resp.keep {
			hc.lastUsed = end
			hc.reused = true
		} else {
			v.dropConn()
		}
		return result{status: resp.status, timed: true, body: resp.body}, resp.location, end
	}
}

// idempotent says whether a request with this method may be sent twice
// with the same effect as once (RFC 9110, 9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// retryable says whether an error means the server closed an idle
// connection before reading the request.
func retryable(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// requestTarget renders the step's path as a request target for the target
// host, or returns the URL of a request to another host or scheme, which
// goes through net/http.
func (v *vu) requestTarget(s *stepRT) (string, *url.URL, error) {
	h := v.r.h1
	if s.url != nil {
		if s.url.Scheme == "http" && s.url.Host == h.host {
			return s.target, nil, nil
		}
		cp := *s.url
		return "", &cp, nil
	}
	p, err := s.path.string(v)
	if err != nil {
		return "", nil, err
	}
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		u, err := url.Parse(p)
		if err != nil {
			return "", nil, fmt.Errorf("URL %q: %w", p, err)
		}
		if u.Scheme == "http" && u.Host == h.host {
			return u.RequestURI(), nil, nil
		}
		return "", u, nil
	}
	if len(p) == 0 || p[0] != '/' {
		p = "/" + p
	}
	if validTarget(p) {
		return p, nil, nil
	}
	// Escape what a request target cannot hold (spaces, non-ASCII).
	u, err := url.Parse(p)
	if err != nil {
		return "", nil, fmt.Errorf("path %q: %w", p, err)
	}
	return u.RequestURI(), nil, nil
}

// validTarget reports whether p can be sent as it is: printable ASCII
// without spaces.
func validTarget(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// appendH1Request renders a request.
func (v *vu) appendH1Request(b []byte, s *stepRT, method, target, host string, body []byte) ([]byte, error) {
	r := v.r
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	hasUA := false
	for _, hd := range s.headers {
		if body == nil && hd.key == "Content-Type" {
			continue
		}
		if hd.key == "User-Agent" {
			hasUA = true
		}
		b = append(b, hd.key...)
		b = append(b, ": "...)
		n := len(b)
		var err error
		if b, err = hd.val.appendTo(b, v); err != nil {
			return b, err
		}
		if bytes.ContainsAny(b[n:], "\r\n") {
			return b, fmt.Errorf("header %s: the value holds a line break", hd.key)
		}
		b = append(b, "\r\n"...)
	}
	if a := r.auth; a != nil && s.sendsAuth {
		if tok, ok := v.lookup(a.token); ok {
			b = append(b, a.header...)
			b = append(b, ": "...)
			if !a.schemeNone {
				b = append(b, a.scheme...)
				b = append(b, ' ')
			}
			n := len(b)
			b = appendText(b, tok)
			if bytes.ContainsAny(b[n:], "\r\n") {
				return b, fmt.Errorf("header %s: the token holds a line break", a.header)
			}
			b = append(b, "\r\n"...)
		}
	}
	if !hasUA {
		b = append(b, "User-Agent: "+userAgent+"\r\n"...)
	}
	if body != nil {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n\r\n"...)
		return append(b, body...), nil
	}
	if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		b = append(b, "Content-Length: 0\r\n"...)
	}
	return append(b, "\r\n"...), nil
}

// h1response is what readH1Response found.
type h1response struct {
	status   int
	keep     bool
	location string
	body     *bytes.Buffer
	// read counts response bytes read, to tell a connection closed before
	// the response from one closed during it.
	read int
}

// readH1Response reads one response. The body is kept when keepBody is set
// and discarded otherwise.
func readH1Response(c io.Reader, method string, keepBody bool, maxBody int64) (resp h1response, err error) {
	br := brPool.Get().(*bufio.Reader)
	br.Reset(c)
	defer func() {
		if br.Buffered() > 0 {
			// Bytes beyond the response: the connection is out of step.
			resp.keep = false
		}
		br.Reset(nil)
		brPool.Put(br)
	}()
	var (
		length  int64 = -1
		chunked bool
		closeC  bool
		http10  bool
	)
	for {
		line, err := readLine(br, &resp.read)
		if err != nil {
			return resp, err
		}
		// "HTTP/1.1 200 OK"
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return resp, fmt.Errorf("%w: status line %q", errMalformed, trimLine(line))
		}
		http10 = line[7] == '0'
		// The status code may follow more than one space, and the reason
		// may be missing, as net/http accepts.
		rest := bytes.TrimLeft(line[9:], " ")
		code, ok := 0, len(rest) >= 3 && (len(rest) == 3 || rest[3] == ' ')
		if ok {
			code, ok = atoi3(rest[:3])
		}
		if !ok {
			return resp, fmt.Errorf("%w: status line %q", errMalformed, trimLine(line))
		}
		resp.status = code
		keepAlive := false
		for {
			h, err := readLine(br, &resp.read)
			if err != nil {
				return resp, err
			}
			if len(h) == 0 {
				break
			}
			i := bytes.IndexByte(h, ':')
			if i <= 0 {
				return resp, fmt.Errorf("%w: header line %q", errMalformed, trimLine(h))
			}
			name, val := h[:i], bytes.TrimSpace(h[i+1:])
			switch {
			case asciiEqualFold(name, "content-length"):
				n, err := strconv.ParseInt(string(val), 10, 64)
				if err != nil || n < 0 {
					return resp, fmt.Errorf("%w: Content-Length %q", errMalformed, val)
				}
				length = n
			case asciiEqualFold(name, "transfer-encoding"):
				chunked = bytes.Contains(bytes.ToLower(val), []byte("chunked"))
			case asciiEqualFold(name, "connection"):
				lv := bytes.ToLower(val)
				closeC = bytes.Contains(lv, []byte("close"))
				keepAlive = bytes.Contains(lv, []byte("keep-alive"))
			case asciiEqualFold(name, "location"):
				if code >= 300 && code < 400 {
					resp.location = string(val)
				}
			}
		}
		if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
			// An interim response; the real one follows.
			length, chunked, closeC = -1, false, false
			continue
		}
		resp.keep = !closeC && (!http10 || keepAlive)
		if http10 && chunked {
			// Transfer-Encoding is HTTP/1.1's: in an HTTP/1.0 response
			// it is ignored, as net/http does, and the connection, whose
			// framing is then in doubt, is closed (RFC 9112, 6.1).
			chunked, resp.keep = false, false
		}
		break
	}
	switch c := resp.status; {
	case c != http.StatusMovedPermanently && c != http.StatusFound && c != http.StatusSeeOther &&
		c != http.StatusTemporaryRedirect && c != http.StatusPermanentRedirect:
		resp.location = ""
	}
	var sink io.Writer = io.Discard
	if keepBody {
		resp.body = getBuf()
		sink = resp.body
	}
	noBody := method == http.MethodHead || resp.status == http.StatusNoContent || resp.status == http.StatusNotModified
	switch {
	case noBody:
	case chunked:
		err = readChunked(br, sink, &resp.read, maxBody)
	case length > maxBody:
		resp.keep = false
		err = fmt.Errorf("%w: Content-Length %d is more than the %d bytes allowed", ErrBodyTooLarge, length, maxBody)
	case length >= 0:
		err = copyN(br, sink, length, &resp.read)
	default:
		// No length: the body runs to the end of the connection.
		resp.keep = false
		var n int64
		n, err = io.Copy(sink, io.LimitReader(br, maxBody+1))
		resp.read += int(n)
		if err == nil && n > maxBody {
			err = fmt.Errorf("%w: more than the %d bytes allowed", ErrBodyTooLarge, maxBody)
		}
	}
	if err != nil && resp.body != nil {
		putBuf(resp.body)
		resp.body = nil
	}
	return resp, err
}

// readLine reads a CRLF- or LF-terminated line without its terminator. Lines
// longer than the buffer are assembled.
func readLine(br *bufio.Reader, read *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*read += len(line)
	if err == bufio.ErrBufferFull {
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(long) > 1<<20 {
				return nil, fmt.Errorf("%w: a header line is longer than 1 MiB", errMalformed)
			}
			line, err = br.ReadSlice('\n')
			*read += len(line)
			long = append(long, line...)
		}
		line = long
	}
	if err != nil {
		if err == io.EOF && *read > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func copyN(br *bufio.Reader, w io.Writer, n int64, read *int) error {
	if w == io.Discard {
		d, err := br.Discard(int(n))
		*read += d
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	c, err := io.CopyN(w, br, n)
	*read += int(c)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func readChunked(br *bufio.Reader, w io.Writer, read *int, maxBody int64) error {
	var total int64
	for {
		line, err := readLine(br, read)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if size == 0 {
			// Trailer lines until an empty one.
			for {
				t, err := readLine(br, read)
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if size > maxBody-total {
			return fmt.Errorf("%w: chunks of more than the %d bytes allowed", ErrBodyTooLarge, maxBody)
		}
		total += size
		if err := copyN(br, w, size, read); err != nil {
			return err
		}
		if crlf, err := readLine(br, read); err != nil || len(crlf) != 0 {
			if err == nil {
				err = fmt.Errorf("%w: missing CRLF after a chunk", errMalformed)
			}
			return err
		}
	}
}

func atoi3(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func trimLine(b []byte) string {
	if len(b) > 80 {
		b = b[:80]
	}
	return string(b)
}
