// Command shapes serves one target of known capacity (see package shapes)
// in its own process, for end-to-end tests and benchmarks:
//
//	shapes --shape pool                       # 10 connections × 40 ms → 250 requests/s
//	shapes --shape cpu --cpu-quota 0.25       # 250m, 2.5 ms of CPU per request → 100 requests/s
//	shapes --shape redis --redis-addr 127.0.0.1:6390
//
// Once it listens it prints one JSON line on stdout: the address, the
// shape and its capacity by construction.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"runtime"
	"time"

	"github.com/headroom-sh/headroom/examples/internal/serving"
	"github.com/headroom-sh/headroom/examples/shapes"
)

func main() { serving.Main("shapes", run) }

// ready is the line printed once the target listens.
type ready struct {
	Addr     string  `json:"addr"`
	Shape    string  `json:"shape"`
	Capacity float64 `json:"capacity_rps"`
	Describe string  `json:"describe"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("shapes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := shapes.Config{OwnProcess: true}
	var listen string
	var slo time.Duration
	fs.StringVar(&cfg.Shape, "shape", shapes.Pool, fmt.Sprintf("the target: one of %v", shapes.Names))
	fs.StringVar(&listen, "listen", "127.0.0.1:0", "HTTP listen address")
	fs.IntVar(&cfg.PoolSize, "pool", 0, "database pool size (pool, shed, flow, none)")
	fs.DurationVar(&cfg.Hold, "hold", 0, "mean time a query holds its connection")
	fs.Float64Var(&cfg.CPUQuota, "cpu-quota", 0, "cpu: the CPU quota in cores, 0.25 for 250m (GOMAXPROCS is set to it, rounded up)")
	fs.DurationVar(&cfg.CPUWork, "cpu-work", 0, "cpu: CPU time per request")
	fs.StringVar(&cfg.RedisAddr, "redis-addr", "", "redis: the redis-server to work on")
	fs.DurationVar(&cfg.RedisWork, "redis-work", 0, "redis: Redis time per request")
	fs.Float64Var(&cfg.Sigma, "sigma", 0, "retrograde: USL contention coefficient")
	fs.Float64Var(&cfg.Kappa, "kappa", 0, "retrograde: USL coherency coefficient")
	fs.DurationVar(&cfg.SLOGrowth, "slo-growth", 0, "slo: latency added at --slo-rate requests/s (it grows with the rate squared)")
	fs.Float64Var(&cfg.SLORate, "slo-rate", 0, "slo: the rate at which --slo-growth is added")
	fs.Float64Var(&cfg.Jitter, "jitter", 0, "half-width of the service times' uniform spread, a fraction of the mean")
	fs.Int64Var(&cfg.Seed, "seed", 0, "seed of the service times")
	fs.DurationVar(&slo, "slo-p95", shapes.DefaultSLOP95, "the SLO the slo shape's capacity is stated against")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	full, err := cfg.WithDefaults()
	if err != nil {
		return err
	}
	if full.Shape == shapes.CPU {
		// The quota covers the whole process, HTTP serving included.
		runtime.GOMAXPROCS(int(math.Ceil(full.CPUQuota)))
	}
	srv, err := shapes.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	line, err := json.Marshal(ready{Addr: ln.Addr().String(), Shape: full.Shape, Capacity: full.Capacity(slo), Describe: full.Describe(slo)})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		return srv.Close()
	case err := <-errc:
		return err
	}
}
