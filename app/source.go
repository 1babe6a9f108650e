package app

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/headroom-sh/headroom/collector"
	"github.com/headroom-sh/headroom/model"
)

// ErrNoMetrics is returned when neither the options nor the run say where
// the series are.
var ErrNoMetrics = errors.New("no metrics location: the run records neither a Prometheus URL nor an embedded store, and no Prometheus was given")

// SourceRequest says which metrics source to open.
type SourceRequest struct {
	// Run is the run whose series are wanted; nil for a window of
	// Prometheus alone.
	Run *model.Run
	// RunDir is the directory of the run's run.json: a relative embedded
	// store is found from it.
	RunDir string
	// Prometheus is the Prometheus to read: its URL, when set, wins over
	// the run's location; its credentials and TLS settings apply to the
	// run's recorded Prometheus as well.
	Prometheus PrometheusOptions
	// Logger receives the source's warnings; nil discards them.
	Logger *slog.Logger
}

// Source is an open metrics source.
type Source struct {
	collector.Source
	// Where describes the source for messages: "embedded store DIR" or
	// "Prometheus at URL".
	Where   string
	closeFn func() error
}

// Close releases the source (an embedded store is closed; a Prometheus
// needs nothing).
func (s *Source) Close() error {
	if s == nil || s.closeFn == nil {
		return nil
	}
	return s.closeFn()
}

// OpenSource opens the explicit Prometheus, else the run's Prometheus, else
// the run's embedded store read-only.
func OpenSource(req SourceRequest) (*Source, error) {
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prom := req.Prometheus
	if prom.URL == "" && req.Run != nil && req.Run.Metrics != nil {
		m := req.Run.Metrics
		if m.Prometheus == "" && m.Store != "" {
			dir := m.Store
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(req.RunDir, dir)
			}
			st, err := collector.OpenStore(collector.StoreConfig{Dir: dir, ReadOnly: true, Logger: Quiet(log)})
			if err != nil {
				return nil, fmt.Errorf("could not open the embedded store of run %s: %w", req.Run.RunID, err)
			}
			return &Source{Source: st, Where: "embedded store " + dir, closeFn: st.Close}, nil
		}
		prom = prom.WithURL(m.Prometheus)
	}
	if prom.URL == "" {
		return nil, ErrNoMetrics
	}
	p, err := OpenPrometheus(prom, log)
	if err != nil {
		return nil, err
	}
	return &Source{Source: p, Where: "Prometheus at " + p.URL()}, nil
}
