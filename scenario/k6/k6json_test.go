package k6

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/internal/golden"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// k6Out writes k6 JSON output lines, in k6's older layout (Metric data
// without name, tags only) or its newer one (data.name, data.metadata).
type k6Out struct {
	buf    bytes.Buffer
	newer  bool
	seen   map[string]bool
	thresh map[string][]string
}

func (o *k6Out) metric(name, typ string) {
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	if o.seen[name] {
		return
	}
	o.seen[name] = true
	data := map[string]any{"type": typ, "contains": "default", "thresholds": o.thresh[name], "submetrics": nil}
	if o.thresh[name] == nil {
		data["thresholds"] = []string{}
	}
	if o.newer {
		data["name"] = name
	} else {
		data["tainted"] = nil
	}
	b, _ := json.Marshal(map[string]any{"type": "Metric", "data": data, "metric": name})
	o.buf.Write(append(b, '\n'))
}

func (o *k6Out) point(name, typ string, t time.Time, v float64, tags map[string]string) {
	o.metric(name, typ)
	data := map[string]any{"time": t.Format(time.RFC3339Nano), "value": v, "tags": tags}
	if o.newer {
		data["metadata"] = map[string]string{"vu": "1", "iter": "7"}
	}
	b, _ := json.Marshal(map[string]any{"type": "Point", "data": data, "metric": name})
	o.buf.Write(append(b, '\n'))
}

// k6Ramp is a k6 ramping-vus profile: stages of linear VU change.
var k6Ramp = []struct {
	dur    int // seconds
	target float64
}{{30, 10}, {30, 10}, {30, 30}, {30, 30}, {10, 0}}

// vusAt is the profile's VU count at second s, as k6 reports it (whole).
func vusAtSecond(s float64) float64 {
	prev, t0 := 0.0, 0.0
	for _, st := range k6Ramp {
		if s <= t0+float64(st.dur) {
			return math.Floor(prev + (st.target-prev)*(s-t0)/float64(st.dur))
		}
		prev, t0 = st.target, t0+float64(st.dur)
	}
	return prev
}

var k6Start = time.Date(2026, 1, 2, 15, 4, 5, 300_000_000, time.UTC)

// syntheticK6 writes a k6 run following k6Ramp: every VU makes two
// requests a second (a cart add and an order read with its id in the URL),
// latency grows with the VUs, and 5% of the order reads fail at 30 VUs.
// It returns the output and the number of requests and failures.
func syntheticK6(newer bool, stageTags bool) (data []byte, requests, failures int) {
	o := &k6Out{newer: newer, thresh: map[string][]string{
		"http_req_duration": {"p(95)<500", "avg<200"},
		"http_req_failed":   {"rate<0.01"},
		"checks":            {"rate>0.9"},
	}}
	total := 0
	for _, st := range k6Ramp {
		total += st.dur
	}
	n := 0
	for s := 0; s <= total; s++ {
		t := k6Start.Add(time.Duration(s) * time.Second)
		vus := vusAtSecond(float64(s))
		o.point("vus", "gauge", t, vus, map[string]string{})
		stage := ""
		for i, acc := 0, 0; i < len(k6Ramp); i++ {
			acc += k6Ramp[i].dur
			if s < acc || i == len(k6Ramp)-1 {
				stage = fmt.Sprintf("stage-%d", i+1)
				break
			}
		}
		for v := 0; v < int(vus); v++ {
			for r := 0; r < 2; r++ {
				n++
				at := t.Add(time.Duration(v*40+r*500) * time.Millisecond / 2)
				tags := map[string]string{"group": "", "proto": "HTTP/1.1", "scenario": "default", "expected_response": "true", "status": "200"}
				if r == 0 {
					tags["method"], tags["url"], tags["name"] = "POST", "http://127.0.0.1:8080/api/cart/add", "http://127.0.0.1:8080/api/cart/add"
				} else {
					u := fmt.Sprintf("http://127.0.0.1:8080/api/orders/%d", n)
					tags["method"], tags["url"], tags["name"] = "GET", u, u
					if vus == 30 && n%20 == 0 {
						tags["status"], tags["expected_response"] = "500", "false"
						failures++
					}
				}
				if stageTags {
					tags["stage"] = stage
				}
				ms := 20 + 2*vus + float64(n%7)
				o.point("http_reqs", "counter", at, 1, tags)
				o.point("http_req_duration", "trend", at, ms, tags)
				o.point("http_req_waiting", "trend", at, ms-1, tags)
				failed := 0.0
				if tags["status"] != "200" {
					failed = 1
				}
				o.point("http_req_failed", "rate", at, failed, tags)
				o.point("checks", "rate", at, 1-failed, map[string]string{"check": "status is 200", "group": ""})
				requests++
			}
			o.point("iterations", "counter", t.Add(900*time.Millisecond), 1, map[string]string{"group": ""})
		}
	}
	return o.buf.Bytes(), requests, failures
}

func importK6(t *testing.T, data []byte, name string) *Import {
	t.Helper()
	res, err := ReadJSON(bytes.NewReader(data), name, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestK6StagesAreFoundWhereTheVUTrendChanges reads a synthetic k6 run in
// both layouts and checks that the stage windows fall where the ramp
// changes slope, and that every request is counted once.
func TestK6StagesAreFoundWhereTheVUTrendChanges(t *testing.T) {
	for _, newer := range []bool{false, true} {
		t.Run(fmt.Sprintf("newer=%v", newer), func(t *testing.T) {
			data, requests, failures := syntheticK6(newer, false)
			res := importK6(t, data, "results.json")
			run := res.Run
			if run.Total.Requests != int64(requests) || run.Total.Errors != int64(failures) {
				t.Fatalf("total %d requests, %d errors; want %d, %d", run.Total.Requests, run.Total.Errors, requests, failures)
			}
			var sum int64
			for _, st := range run.Stages {
				sum += st.Requests
			}
			if sum != int64(requests) {
				t.Errorf("stages hold %d requests, want %d", sum, requests)
			}
			if len(run.Stages) != len(k6Ramp) {
				for _, st := range run.Stages {
					t.Logf("%s %s–%s vus %d", st.Name, st.Start.Sub(k6Start), st.End.Sub(k6Start), st.VUs)
				}
				t.Fatalf("%d stages, want %d", len(run.Stages), len(k6Ramp))
			}
			at := 0
			for i, st := range run.Stages {
				if i > 0 {
					got := st.Start.Sub(k6Start).Seconds()
					if math.Abs(got-float64(at)) > 3 {
						t.Errorf("stage %d starts at %.1fs, want %ds ± 3s", i+1, got, at)
					}
				}
				at += k6Ramp[i].dur
			}
			// The stage at 30 VUs holds the failures and the slowest requests.
			hot := run.Stages[3]
			if hot.VUs != 30 || hot.Errors == 0 || hot.ErrorRate < 0.02 || hot.ErrorRate > 0.08 {
				t.Errorf("stage 4: vus %d, errors %d (%.3f)", hot.VUs, hot.Errors, hot.ErrorRate)
			}
			if hot.P50Ms < 78 || hot.P50Ms > 90 || run.Stages[1].P50Ms > 46 {
				t.Errorf("p50 at 30 VUs %.1f ms, at 10 VUs %.1f ms", hot.P50Ms, run.Stages[1].P50Ms)
			}
			if math.Abs(hot.RPS-60) > 6 {
				t.Errorf("stage 4 RPS %.1f, want ~60 (30 VUs × 2/s)", hot.RPS)
			}
			var eps []string
			for _, e := range run.Endpoints {
				eps = append(eps, e.Endpoint)
			}
			if want := []string{"GET /api/orders/{id}", "POST /api/cart/add"}; !reflect.DeepEqual(eps, want) {
				t.Errorf("endpoints %v, want %v (ids in URLs collapse)", eps, want)
			}
			if run.Target != "http://127.0.0.1:8080" || run.Scenario != "k6" || run.Status != model.RunCompleted || !strings.HasPrefix(run.RunID, "k6-20260102T150405Z") {
				t.Errorf("target %q, scenario %q, status %q, run id %q", run.Target, run.Scenario, run.Status, run.RunID)
			}
			if len(run.Checks) != 1 || run.Checks[0].Passes+run.Checks[0].Fails != int64(requests) || run.Checks[0].Fails != int64(failures) {
				t.Errorf("checks %+v", run.Checks)
			}
			var iters int64
			for _, st := range run.Stages {
				iters += st.Iterations
			}
			if iters != int64(requests/2) {
				t.Errorf("%d iterations, want %d", iters, requests/2)
			}
			if len(run.Executors) != 1 || len(run.Executors[0].Stages) != len(k6Ramp) {
				t.Errorf("executors %+v", run.Executors)
			}
			// Series at 5 s, covering the run.
			if run.IntervalMs != 5000 || len(run.Series) < 26 || len(run.Series) > 28 {
				t.Errorf("interval %v, %d series points", run.IntervalMs, len(run.Series))
			}
			var sreq int64
			for _, p := range run.Series {
				sreq += p.Requests
			}
			if sreq != int64(requests) {
				t.Errorf("series hold %d requests, want %d", sreq, requests)
			}
			got := map[string]bool{}
			for _, th := range run.Thresholds {
				got[th.Metric+" "+th.Expr] = th.Passed
			}
			want := map[string]bool{"http_req_duration p(95)<500": true, "http_req_duration avg<200": true, "http_req_failed rate<0.01": false, "checks rate>0.9": true}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("thresholds %v, want %v", got, want)
			}
		})
	}
}

func TestK6StageTagsGiveTheStageWindows(t *testing.T) {
	data, requests, _ := syntheticK6(true, true)
	run := importK6(t, data, "results.json").Run
	if len(run.Stages) != len(k6Ramp) {
		t.Fatalf("%d stages, want %d", len(run.Stages), len(k6Ramp))
	}
	var sum int64
	for i, st := range run.Stages {
		if st.Name != fmt.Sprintf("stage-%d", i+1) {
			t.Errorf("stage %d is named %q", i, st.Name)
		}
		sum += st.Requests
	}
	if sum != int64(requests) {
		t.Errorf("stages hold %d requests, want %d", sum, requests)
	}
}

func TestK6GzipIsReadLikePlain(t *testing.T) {
	data, _, _ := syntheticK6(true, false)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(data)
	zw.Close()
	plain := importK6(t, data, "results.json").Run
	zipped := importK6(t, z.Bytes(), "results.json.gz").Run
	if !reflect.DeepEqual(plain, zipped) {
		t.Error("the gzipped file reads differently")
	}
	path := filepath.Join(t.TempDir(), "results.json.gz")
	if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ReadJSONFile(path, ImportOptions{Scenario: "checkout", RunID: "r1", Interval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Scenario != "checkout" || res.Run.RunID != "r1" || res.Run.IntervalMs != 10000 {
		t.Errorf("options not applied: %q %q %v", res.Run.Scenario, res.Run.RunID, res.Run.IntervalMs)
	}
}

// TestK6ImportGolden keeps the run.json of two small hand-written files in
// k6's older and newer layouts.
func TestK6ImportGolden(t *testing.T) {
	for _, name := range []string{"older-layout", "newer-layout"} {
		t.Run(name, func(t *testing.T) {
			res, err := ReadJSONFile("testdata/"+name+".json", ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) > 0 {
				t.Errorf("warnings: %v", res.Warnings)
			}
			b, err := json.MarshalIndent(res.Run, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "", ".json", append(b, '\n'))
		})
	}
}

func TestK6EndpointsAreNamedFromTags(t *testing.T) {
	cases := []struct {
		name string
		tags map[string]any
		want string
	}{
		{"the endpoint tag of headroom's scripts wins", map[string]any{"endpoint": "get /a/{id}", "name": "x", "method": "GET"}, "GET /a/{id}"},
		{"a name of the form METHOD /path is used as it is", map[string]any{"name": "POST /api/cart/add", "method": "POST"}, "POST /api/cart/add"},
		{"numeric ids in the URL become {id}", map[string]any{"name": "http://h/api/orders/123", "method": "GET"}, "GET /api/orders/{id}"},
		{"UUIDs become {id}", map[string]any{"url": "http://h/u/7ff0ba25-7b9d-485c-97ef-b160cf4d0c82/x", "method": "DELETE"}, "DELETE /u/{id}/x"},
		{"a k6 URL template becomes a parameter", map[string]any{"name": "http://h/orders/${}", "method": "GET"}, "GET /orders/{id}"},
		{"the query string is dropped", map[string]any{"name": "http://h/search?q=1", "method": "GET"}, "GET /search"},
		{"a grouped name that is a path keeps its words", map[string]any{"name": "http://h/items/by-name", "method": "put"}, "PUT /items/by-name"},
		{"no tags at all still names something", map[string]any{}, "GET /"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := k6Endpoint(c.tags); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestBadK6OutputIsReportedByLine(t *testing.T) {
	good, _, _ := syntheticK6(false, false)
	lines := strings.SplitAfter(string(good), "\n")
	cases := []struct {
		name    string
		data    string
		wantErr string
		warn    string
	}{
		{"a line that is not JSON names its line", strings.Join(lines[:5], "") + "hello world\n" + strings.Join(lines[5:], ""), "results.json:6: not a k6 JSON output line", ""},
		{"a Point without a time names its line", lines[0] + `{"type":"Point","data":{"value":1},"metric":"vus"}` + "\n" + strings.Join(lines[1:], ""), "results.json:2:", ""},
		{"a truncated last line is skipped with a warning", string(good) + `{"type":"Point","data":{"time":"2026-`, "", "line "},
		{"a file without requests says what it expected", lines[0] + lines[1], "no k6 request samples", ""},
		{"an empty file says what it expected", "", "no k6 request samples", ""},
		{"a first line that is not k6 output is an error even alone", "<html>", "results.json:1:", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := ReadJSON(strings.NewReader(c.data), "results.json", ImportOptions{})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], c.warn) {
				t.Errorf("warnings %v", res.Warnings)
			}
		})
	}
	if _, err := ReadJSON(strings.NewReader("{}\n{}"), "x", ImportOptions{}); !errors.Is(err, ErrBadK6Output) {
		t.Errorf("got %v, want ErrBadK6Output", err)
	}
	if _, err := ReadJSON(strings.NewReader(""), "x", ImportOptions{}); !errors.Is(err, ErrNoK6Samples) {
		t.Errorf("got %v, want ErrNoK6Samples", err)
	}
	if _, err := ReadJSONFile("testdata/missing.json", ImportOptions{}); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("a missing file: %v", err)
	}
}

// FuzzReadK6JSON checks that no input makes the k6 reader panic.
func FuzzReadK6JSON(f *testing.F) {
	for _, name := range []string{"older-layout", "newer-layout"} {
		b, err := os.ReadFile("testdata/" + name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	data, _, _ := syntheticK6(true, true)
	f.Add(data[:4096])
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Add([]byte(`{"type":"Point","data":{"time":"2026-01-02T15:04:05Z","value":1e308,"tags":{"status":7}},"metric":"http_req_duration"}`))
	f.Add([]byte(`{"type":"Metric","data":{"thresholds":["p(",{"source":"rate<1"}]},"metric":"checks"}` + "\n" + `{"type":"Point","data":{"time":"2026-01-02T15:04:05Z","value":-1,"tags":null},"metric":"checks"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ReadJSON(bytes.NewReader(data), "fuzz.json", ImportOptions{})
		if err != nil {
			return
		}
		if res.Run == nil || res.Run.Total.Requests <= 0 {
			t.Fatalf("accepted input gave no requests: %+v", res.Run)
		}
		if _, err := json.Marshal(res.Run); err != nil {
			t.Fatalf("the run cannot be written as JSON: %v", err)
		}
	})
}

func TestVUBreakpointsOfAFlatRunAreNone(t *testing.T) {
	var s []k6Sample
	for i := 0; i < 300; i++ {
		v := 50.0
		if i%7 == 0 {
			v = 49 // k6's VU gauge jitters by one
		}
		s = append(s, k6Sample{k6Start.Add(time.Duration(i) * time.Second), v})
	}
	if b := vuBreakpoints(s); len(b) != 0 {
		t.Errorf("a flat run split at %v", b)
	}
}

// BenchmarkReadK6JSON measures the import of a 130-second synthetic k6
// run (about 2,600 requests, 17,000 lines).
func BenchmarkReadK6JSON(b *testing.B) {
	data, _, _ := syntheticK6(true, false)
	lines := bytes.Count(data, []byte("\n"))
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ReadJSON(bytes.NewReader(data), "bench.json", ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// TestImpossibleK6ValuesAreRefused: a negative duration or VU count, and
// samples spread over more time than a run's series can hold (one dated
// 1970 among samples of today), are refused with an error naming the line,
// instead of a run.json of hundreds of megabytes.
func TestImpossibleK6ValuesAreRefused(t *testing.T) {
	point := func(metric, when string, v float64) string {
		return fmt.Sprintf(`{"type":"Point","data":{"time":%q,"value":%g,"tags":{"method":"GET","name":"http://x/","status":"200","url":"http://x/"}},"metric":%q}`+"\n", when, v, metric)
	}
	cases := []struct {
		name, data string
		opt        ImportOptions
		want       []string
	}{
		{"a negative duration names its line and value",
			point("http_req_duration", "2026-03-01T10:00:00Z", 12) + point("http_req_duration", "2026-03-01T10:00:01Z", -5),
			ImportOptions{}, []string{"results.json:2:", "http_req_duration", "-5"}},
		{"a negative VU count names its line",
			point("vus", "2026-03-01T10:00:00Z", -1) + point("http_req_duration", "2026-03-01T10:00:01Z", 5),
			ImportOptions{}, []string{"results.json:1:", "vus", "-1"}},
		{"a sample dated 1970 among today's names both ends of the span",
			point("http_req_duration", "1970-01-01T00:00:00Z", 12) + point("http_req_duration", "2026-03-01T10:00:00Z", 12),
			ImportOptions{}, []string{"line 1", "1970-01-01T00:00:00Z", "line 2", "--interval"}},
		{"an interval far below the run's length is refused",
			point("http_req_duration", "2026-03-01T10:00:00Z", 12) + point("http_req_duration", "2026-03-01T11:00:00Z", 12),
			ImportOptions{Interval: time.Millisecond}, []string{"1h0m0s", "--interval"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := ReadJSON(strings.NewReader(c.data), "results.json", c.opt)
			if err == nil {
				data, _ := json.Marshal(res.Run)
				t.Fatalf("accepted: a run.json of %d bytes", len(data))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
