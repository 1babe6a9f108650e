package loadgen

import (
	"context"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Sink receives snapshots of the runner's metrics. The runner keeps its
// metrics in a prometheus.Registry and, every flush interval and once more at
// the end of a run, hands the gathered families with their timestamp to each
// sink. A served /metrics endpoint needs no sink: it reads the registry.
//
// Implementations: remote write (this package) and the embedded store
// (collector), which satisfies this interface without importing loadgen.
type Sink interface {
	Write(ctx context.Context, ts time.Time, families []*dto.MetricFamily) error
}
