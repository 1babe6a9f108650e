package loadgen

import (
	"context"
	"net"
	"runtime"
	rtmetrics "runtime/metrics"
	"sync"
	"testing"
	"time"
)

// TestAVUWaitingForAResponseHoldsNoReadBuffer: a VU whose request is out
// and whose response has not begun holds no response buffer, so that many
// VUs waiting on a slow server (all of a run's VUs at its start) cost little
// memory. Here 500 VUs send to a server that reads their requests and never
// answers; the live heap they add, per VU, must stay well below the 4 KiB a
// response buffer takes.
func TestAVUWaitingForAResponseHoldsNoReadBuffer(t *testing.T) {
	const n = 500
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The server counts each request whose head it has read, then holds
	// the connection open without answering until the test ends.
	got := make(chan struct{}, n)
	var conns sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				buf := make([]byte, 256)
				seen := false
				for {
					k, err := c.Read(buf)
					if err != nil {
						return
					}
					if !seen && k > 0 {
						seen = true
						got <- struct{}{}
					}
				}
			}()
		}
	}()

	sc := getScenario("http://"+ln.Addr().String(), "/", constantVUs(n, time.Minute))
	r, e := startedByHand(t, sc)
	if r.h1 == nil {
		t.Fatal("the plain-HTTP client is not in use")
	}
	vus := make([]*vu, n)
	for i := range vus {
		vus[i] = r.newVU(e)
	}
	// One VU's first request creates the statistics cells and pools.
	before := liveHeap()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for _, v := range vus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.iteration(ctx, e, time.Time{})
		}()
	}
	timeout := time.After(30 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-got:
		case <-timeout:
			cancel()
			t.Fatalf("the server saw %d of %d requests in 30s", i, n)
		}
	}
	after := liveHeap()
	cancel()
	wg.Wait()
	ln.Close()

	per := float64(int64(after)-int64(before)) / n
	t.Logf("live heap: %d bytes before, %d with %d VUs waiting: %.0f bytes per waiting VU (the server's side of each connection included)", before, after, n, per)
	// A connection costs about 1.5 KiB on each side (net.Conn, the VU's
	// connection state, the server's 256-byte buffer); a 4 KiB response
	// buffer per waiting VU would put it above 5.5 KiB.
	if per > 4000 {
		t.Errorf("%.0f bytes of live heap per VU waiting for a response, want at most 4000", per)
	}
}

// liveHeap is the heap the last of two full collections found live.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64()
}
