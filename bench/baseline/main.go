// Command baseline is the benchmark's plain-Go reference generator: a
// closed loop of --c workers sending GET requests with net/http and nothing
// else (no metrics, no templates, no checks), in the manner of vegeta's
// attacker. It shows what a plain Go client costs on this machine, so the
// overhead headroom adds on top of net/http is visible.
//
// It only sends to loopback addresses and stops after --duration. It prints
// one line: requests=N errors=N seconds=S rps=R.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "baseline: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	target := fs.String("url", "", "loopback `URL` to send GET requests to (required)")
	workers := fs.Int("c", 64, "concurrent workers, each with its own request loop")
	duration := fs.Duration("duration", 15*time.Second, "how long to send")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: expected an absolute http URL such as http://127.0.0.1:8080/", *target)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--url %q: the baseline only sends to loopback addresses", *target)
	}
	if *workers < 1 {
		return fmt.Errorf("--c %d: expected at least 1 worker", *workers)
	}
	if *duration <= 0 || *duration > 10*time.Minute {
		return fmt.Errorf("--duration %s: expected a duration between 0 and 10m", *duration)
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = *workers
	tr.MaxIdleConnsPerHost = *workers
	tr.DisableCompression = true
	// A stuck server cannot hold a worker past the bound: no answer within
	// 30 s fails the request. (http.Client.Timeout would do the same at the
	// cost of a timer and a goroutine per request, which a plain client
	// that wants to be fast does not pay.)
	tr.ResponseHeaderTimeout = 30 * time.Second
	client := &http.Client{Transport: tr}

	var stop atomic.Bool
	timer := time.AfterFunc(*duration, func() { stop.Store(true) })
	defer timer.Stop()
	var requests, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				req, _ := http.NewRequest(http.MethodGet, *target, nil)
				resp, err := client.Do(req)
				if err != nil {
					requests.Add(1)
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				requests.Add(1)
				if resp.StatusCode >= 400 {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	n := requests.Load()
	fmt.Printf("requests=%d errors=%d seconds=%.3f rps=%.1f\n", n, errs.Load(), secs, float64(n)/secs)
	return nil
}
