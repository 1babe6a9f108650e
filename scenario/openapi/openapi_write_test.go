package openapi

import (
	"io"
	"runtime"
	"testing"

	"github.com/headroom-sh/headroom/scenario"
	"github.com/headroom-sh/headroom/scenario/generate"
	"github.com/headroom-sh/headroom/scenario/k6"
)

// Writing the scenario and the k6 script of a large document holds little
// more than the scenario: both are written piece by piece, a flow at a
// time. Built whole (a YAML node tree of every flow, then the script in one
// buffer), they made the heap grow by about 420 MB over the scenario's
// 12 MB for this 9.8 MB document (16,000 operations); `headroom generate`
// peaked at 720 MB of RSS on it, and at 3.5 GB on the 80,000-operation one.
func TestWritingTheScenarioOfALargeDocumentHoldsLittleMoreThanTheScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("generates from a 9.8 MB document")
	}
	data := largeOpenAPISpec(1600)
	size := uint64(len(data))
	api, err := Parse(data, "large.json")
	if err != nil {
		t.Fatal(err)
	}
	data = nil
	gen, err := generate.Generate(api, generate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(gen.Scenario.Flows); n < 1000 {
		t.Fatalf("%d flows; want a scenario of many flows", n)
	}
	api = nil
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapAlloc

	peak := sampleHeapPeak()
	var yamlBytes, jsBytes countingWriter
	err = scenario.Write(&yamlBytes, gen.Scenario)
	if err == nil {
		err = k6.WriteScript(&jsBytes, gen.Scenario, k6.ScriptOptions{Source: "large.json"})
	}
	top := peak()
	if err != nil {
		t.Fatal(err)
	}
	if yamlBytes == 0 || jsBytes == 0 {
		t.Fatalf("wrote %d bytes of YAML and %d of JavaScript", yamlBytes, jsBytes)
	}
	grew := top - min(top, base)
	if limit := 12 * size; grew > limit {
		t.Errorf("writing %d KB of YAML and %d KB of JavaScript, the heap grew by %d MB over the scenario's %d MB; want at most %d MB",
			yamlBytes>>10, jsBytes>>10, grew>>20, base>>20, limit>>20)
	} else {
		t.Logf("writing %d KB of YAML and %d KB of JavaScript, the heap grew by %d MB over the scenario's %d MB",
			yamlBytes>>10, jsBytes>>10, grew>>20, base>>20)
	}
	runtime.KeepAlive(gen)
}

// countingWriter counts the bytes written to it and drops them.
type countingWriter uint64

func (c *countingWriter) Write(b []byte) (int, error) {
	*c += countingWriter(len(b))
	return len(b), nil
}

var _ io.Writer = (*countingWriter)(nil)
