// Command target is the benchmark's system under test: a minimal, fast HTTP
// server on the loopback interface that answers every GET with a small JSON
// document, so that load generators can be compared against the same server
// on the same cores.
//
// It prints "listening on http://ADDR" on stdout once it accepts
// connections, writes the address to --addr-file when asked, and stops by
// itself after --lifetime or on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "target: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("target", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "loopback `address` to listen on; port 0 picks a free port")
	delay := fs.Duration("delay", 0, "wait this long before answering each request")
	addrFile := fs.String("addr-file", "", "write the listening address (host:port) to this `file`")
	lifetime := fs.Duration("lifetime", time.Hour, "stop by itself after this long")
	closeConns := fs.Bool("close", false, "answer with Connection: close, so clients keep no idle connections")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", *listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--listen %q: expected a loopback address such as 127.0.0.1:0", *listen)
	}

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("could not listen on %s: %w", *listen, err)
	}
	addr := l.Addr().String()
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(addr+"\n"), 0o644); err != nil {
			return fmt.Errorf("could not write --addr-file %q: %w", *addrFile, err)
		}
	}

	var served atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *delay > 0 {
			time.Sleep(*delay)
		}
		n := served.Add(1)
		body := make([]byte, 0, 64)
		body = append(body, `{"ok":true,"id":`...)
		body = strconv.AppendInt(body, n, 10)
		body = append(body, `,"name":"headroom bench"}`...)
		if *closeConns {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *lifetime)
	defer cancel()
	go func() {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		defer c()
		_ = srv.Shutdown(sctx)
	}()

	fmt.Printf("listening on http://%s\n", addr)
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintf(os.Stderr, "target: served %d requests\n", served.Load())
	return nil
}
