package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
	pmodel "github.com/prometheus/common/model"
)

// Metadata is what an exposition says of a metric besides its samples:
// its # TYPE, # HELP and # UNIT lines.
type Metadata struct {
	// Type is counter, gauge, histogram, summary, ... or empty when unknown.
	Type pmodel.MetricType `json:"type,omitempty"`
	Help string            `json:"help,omitempty"`
	Unit string            `json:"unit,omitempty"`
}

// MetadataSource is a Source that also knows the metadata of the metrics
// it holds: Prometheus through /api/v1/metadata, the embedded store from
// the expositions it scraped. The analysis uses it where it helps (to tell
// a counter from a gauge) and does without it where a source has none.
type MetadataSource interface {
	// Metadata returns the metadata of every metric name the source knows.
	Metadata(ctx context.Context) (map[string]Metadata, error)
}

var (
	_ MetadataSource = (*Prometheus)(nil)
	_ MetadataSource = (*Store)(nil)
)

// Metadata returns what Prometheus's /api/v1/metadata knows: for a name
// exposed with several types by different targets, the first one.
func (p *Prometheus) Metadata(ctx context.Context) (map[string]Metadata, error) {
	ctx, call := withCall(ctx)
	m, err := p.api.Metadata(ctx, "", "")
	if err != nil {
		return nil, fmt.Errorf("could not read metric metadata at %s: %w", p.url, describe(err, call))
	}
	out := make(map[string]Metadata, len(m))
	for name, ms := range m {
		if len(ms) == 0 {
			continue
		}
		out[name] = Metadata{Type: pmodel.MetricType(ms[0].Type), Help: ms[0].Help, Unit: ms[0].Unit}
	}
	return out, nil
}

// Metadata returns the metadata of the metrics scraped into the store or
// written to it, kept beside its blocks in metadata.json.
func (s *Store) Metadata(ctx context.Context) (map[string]Metadata, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.meta.snapshot(), nil
}

// metadataFile is where a store keeps its metadata, beside its blocks. The
// TSDB ignores files it does not know.
const metadataFile = "metadata.json"

// metadataSet is a store's metadata, safe for concurrent use.
type metadataSet struct {
	mu sync.Mutex
	m  map[string]Metadata
	// changed is set when m differs from the file.
	changed bool
}

func (ms *metadataSet) snapshot() map[string]Metadata {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return maps.Clone(ms.m)
}

// update changes one field of a metric's metadata through set.
func (ms *metadataSet) update(name string, set func(*Metadata)) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.m == nil {
		ms.m = map[string]Metadata{}
	}
	old := ms.m[name]
	md := old
	set(&md)
	if md != old {
		ms.m[name] = md
		ms.changed = true
	}
}

func (ms *metadataSet) setType(name string, t pmodel.MetricType) {
	ms.update(name, func(m *Metadata) { m.Type = t })
}

func (ms *metadataSet) setHelp(name, help string) {
	ms.update(name, func(m *Metadata) { m.Help = help })
}

func (ms *metadataSet) setUnit(name, unit string) {
	ms.update(name, func(m *Metadata) { m.Unit = unit })
}

// addFamilies records the metadata of families written to the store.
func (ms *metadataSet) addFamilies(families []*dto.MetricFamily) {
	for _, mf := range families {
		if mf == nil || mf.GetName() == "" {
			continue
		}
		t := dtoType(mf.GetType())
		ms.update(mf.GetName(), func(m *Metadata) {
			m.Type, m.Help, m.Unit = t, mf.GetHelp(), mf.GetUnit()
		})
	}
}

func dtoType(t dto.MetricType) pmodel.MetricType {
	switch t {
	case dto.MetricType_COUNTER:
		return pmodel.MetricTypeCounter
	case dto.MetricType_GAUGE:
		return pmodel.MetricTypeGauge
	case dto.MetricType_SUMMARY:
		return pmodel.MetricTypeSummary
	case dto.MetricType_HISTOGRAM:
		return pmodel.MetricTypeHistogram
	case dto.MetricType_GAUGE_HISTOGRAM:
		return pmodel.MetricTypeGaugeHistogram
	default:
		return pmodel.MetricTypeUnknown
	}
}

// load reads dir's metadata file; a store without one (written before
// stores kept metadata) has none.
func (ms *metadataSet) load(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, metadataFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("could not read the store's metadata: %w", err)
	}
	var m map[string]Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("could not read the store's metadata %s: %w", filepath.Join(dir, metadataFile), err)
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.m = m
	return nil
}

// save writes the metadata file of dir when the metadata changed, through
// a temporary file so that a reader never sees half of it.
func (ms *metadataSet) save(dir string) error {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if !ms.changed {
		return nil
	}
	names := make([]string, 0, len(ms.m))
	for n := range ms.m {
		names = append(names, n)
	}
	sort.Strings(names)
	// One metric a line keeps the file readable and diffable.
	var b strings.Builder
	b.WriteString("{\n")
	for i, n := range names {
		k, _ := json.Marshal(n)
		v, _ := json.Marshal(ms.m[n])
		fmt.Fprintf(&b, "%s: %s", k, v)
		if i < len(names)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	tmp := filepath.Join(dir, metadataFile+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("could not write the store's metadata: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, metadataFile)); err != nil {
		return fmt.Errorf("could not write the store's metadata: %w", err)
	}
	ms.changed = false
	return nil
}
