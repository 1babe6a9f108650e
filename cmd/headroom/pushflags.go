package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/headroom-sh/headroom/app"
	"github.com/headroom-sh/headroom/loadgen"
)

// pushFlags are --push-gauges and --push-gauges-header: one remote write
// of the service gauges, registered alike by analyze, report and review.
type pushFlags struct {
	url     string
	headers stringList
}

func (p *pushFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.url, "push-gauges", "", "remote-write the service gauges (capacity, headroom, bottleneck) once to this `URL`, such as http://127.0.0.1:9090/api/v1/write (bearer token from HEADROOM_REMOTE_WRITE_TOKEN)")
	fs.Var(&p.headers, "push-gauges-header", "header sent with --push-gauges, 'Name: value' (repeatable)")
}

// config checks the flags and returns the remote write (its URL empty when
// nothing is pushed). Errors name the command and the flag.
func (p *pushFlags) config(e *env, cmd string) (loadgen.RemoteWriteConfig, error) {
	if len(p.headers) > 0 && p.url == "" {
		return loadgen.RemoteWriteConfig{}, fmt.Errorf("%s: --push-gauges-header needs --push-gauges URL", cmd)
	}
	hdrs, err := parseHeaderFlags(cmd, "--push-gauges-header", p.headers)
	if err != nil {
		return loadgen.RemoteWriteConfig{}, err
	}
	return loadgen.RemoteWriteConfig{URL: p.url, Headers: hdrs, BearerToken: e.getenv("HEADROOM_REMOTE_WRITE_TOKEN"), Logger: e.log}, nil
}

// push remote-writes the gauges once, stamped now. One push is one sample:
// Prometheus shows it for its lookback (5 minutes by default), so alerts
// that need the gauges all the time need a push on a schedule, headroom
// serve, or the textfile collector (--gauges-file).
func (p *pushFlags) push(ctx context.Context, rw loadgen.RemoteWriteConfig, fams []*dto.MetricFamily) error {
	return app.PushGauges(ctx, rw, time.Now(), fams)
}
