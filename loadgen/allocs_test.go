package loadgen

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestAPlainHTTPRequestAllocatesNothing: once its connection is up, a VU's
// request to a plain-HTTP target (write, read, parse, record) allocates
// nothing, so that the load generator's garbage collector has no work that
// grows with the request rate.
func TestAPlainHTTPRequestAllocatesNothing(t *testing.T) {
	sc := getScenario(cannedServer(t), "/", constantVUs(1, time.Second))
	r, e := startedByHand(t, sc)
	if r.h1 == nil {
		t.Fatal("the plain-HTTP client is not in use")
	}
	v := r.newVU(e)
	ctx := context.Background()
	// The first requests dial and create the statistics cells.
	for i := 0; i < 10; i++ {
		v.iteration(ctx, e, time.Time{})
	}
	allocs := testing.AllocsPerRun(200, func() { v.iteration(ctx, e, time.Time{}) })
	if allocs > 0 {
		t.Errorf("a request allocates %.1f objects, want none", allocs)
	}
	if n := r.nReq.Load(); n < 210 {
		t.Errorf("%d requests recorded, want at least 210", n)
	}
	if n := r.nErr.Load(); n != 0 {
		t.Errorf("%d requests failed, want none", n)
	}
}

// cannedServer answers every request on a connection with the same
// keep-alive response, allocating nothing per request itself (it runs in
// the test's process, whose allocations the test counts).
func cannedServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\n\r\n{\"ok\":true,\"id\":42}")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				have := 0
				for {
					n, err := c.Read(buf[have:])
					if err != nil {
						return
					}
					have += n
					// Answer each complete request head (these requests
					// have no body).
					for {
						i := bytes.Index(buf[:have], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						copy(buf, buf[i+4:have])
						have -= i + 4
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
					if have == len(buf) {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// TestTheRunnersClockIsMonotonicAndAgreesWithTimeNow: the clock that times
// requests reads only the monotonic clock, and tells the time that
// time.Now() does.
func TestTheRunnersClockIsMonotonicAndAgreesWithTimeNow(t *testing.T) {
	r := &Runner{startMono: time.Now()}
	time.Sleep(2 * time.Millisecond)
	before := time.Now()
	got := r.now()
	after := time.Now()
	if !strings.Contains(got.String(), " m=") {
		t.Fatalf("r.now() = %s has no monotonic reading", got)
	}
	if got.Before(before) || got.After(after) {
		t.Errorf("r.now() = %s, want between %s and %s", got, before, after)
	}
	if d := got.Sub(r.startMono); d < 2*time.Millisecond {
		t.Errorf("r.now() is %s after the start, want at least 2ms", d)
	}
}
