package k6

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

// Errors of ReadJSON, matched with errors.Is.
var (
	// ErrNoK6Samples is returned when a k6 JSON file holds no request samples.
	ErrNoK6Samples = errors.New("no k6 request samples")
	// ErrBadK6Output is wrapped by the error naming a line that is not k6
	// JSON output.
	ErrBadK6Output = errors.New("not a k6 JSON output line")
)

// ImportOptions tune ReadJSON. The zero value gives the defaults.
type ImportOptions struct {
	// Interval is the resolution of the run's series (default 5s).
	Interval time.Duration
	// Scenario names the run (default: the k6 scenario tag when it is not
	// "default", else "k6").
	Scenario string
	// RunID identifies the run (default "k6-" and the start time).
	RunID string
}

// Import is a k6 run read back: the run.json document and what was
// skipped on the way.
type Import struct {
	Run *model.Run
	// Lines and Points count what was read.
	Lines, Points int64
	// Warnings name lines that were skipped and assumptions made.
	Warnings []string
}

// maxK6Line bounds one line of k6 JSON output.
const maxK6Line = 16 << 20

// MaxSeriesPoints bounds the series of an imported run: 50,000 points
// are 69 hours at the default 5 s interval. Samples spread over more time
// than that are refused rather than written as a run.json of hundreds of
// megabytes; a larger interval admits longer runs.
const MaxSeriesPoints = 50_000

// ReadJSONFile reads the output of `k6 run --out json=FILE`, plain or
// gzip-compressed (json=FILE.gz); see ReadJSON.
func ReadJSONFile(path string, opt ImportOptions) (*Import, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("could not read k6 results %q: %w", path, err)
	}
	defer f.Close()
	return ReadJSON(f, path, opt)
}

// ReadJSON reads k6's JSON output — Metric and Point lines, in the older
// layout (no "name" in Metric data, tags only) and the newer one (data.name,
// data.metadata) — and builds a run.json document: stage windows from the
// vus samples (a boundary wherever the VU count's trend changes, or the
// stage tag when requests carry one), per-stage and per-endpoint
// statistics from the http_req_duration points and their name, url, method
// and status tags, checks, iterations, the thresholds k6 declared, and a
// series at Interval. Gzip input is detected by its magic bytes. Bad input
// gives an error naming the line; a truncated last line is skipped with a
// warning.
func ReadJSON(r io.Reader, name string, opt ImportOptions) (*Import, error) {
	if opt.Interval <= 0 {
		opt.Interval = 5 * time.Second
	}
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("could not read k6 results %q: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	im := &k6Importer{
		name:       name,
		opt:        opt,
		endpointID: map[string]int{},
		cells:      map[k6CellKey]*k6Cell{},
		thresholds: map[string]*k6Threshold{},
		checkNames: map[string]*model.CheckStats{},
		stageSeen:  map[string]*k6StageTag{},
		scenarios:  map[string]bool{},
		secIter:    map[int64]int64{},
		secDrop:    map[int64]int64{},
		secCheck:   map[int64][2]int64{},
		secVUs:     map[int64]float64{},
	}
	out := &Import{}
	var pending []byte
	pendingLine := int64(0)
	for {
		line, err := readK6Line(br)
		if len(line) > 0 || err == nil {
			out.Lines++
			if pending != nil {
				// The previous line was bad and was not the last: an error.
				return nil, im.lineError(pendingLine, pending)
			}
			im.lineNo = out.Lines
			if perr := im.line(line); perr != nil {
				pending, pendingLine = perr, out.Lines
			}
			if im.err != nil {
				return nil, im.err
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("could not read k6 results %q at line %d: %w", name, out.Lines+1, err)
		}
	}
	if pending != nil {
		if pendingLine == 1 {
			return nil, im.lineError(pendingLine, pending)
		}
		im.warn("line %d is not a complete k6 JSON line and was skipped (a run that was cut short?)", pendingLine)
	}
	out.Points = im.points
	if err := im.checkSpan(); err != nil {
		return nil, err
	}
	run, err := im.build()
	if err != nil {
		return nil, err
	}
	out.Run = run
	out.Warnings = im.warnings
	return out, nil
}

// readK6Line reads one line without its newline; a line longer than
// maxK6Line is an error.
func readK6Line(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxK6Line {
			return nil, fmt.Errorf("a line is longer than %d bytes", maxK6Line)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

type k6CellKey struct {
	sec      int64
	endpoint int
	stage    int
}

// k6Cell aggregates the requests of one endpoint in one second.
type k6Cell struct {
	n, errs int64
	sum     float64
	max     float64
	status  map[string]int64
	hist    logHist
}

// logHist is a sparse histogram with logarithmic buckets 0.1% wide, for
// percentiles of millions of durations in little memory.
type logHist map[int32]int64

const logHistBase = 1.001

func logHistIndex(v float64) int32 {
	if v <= 0.001 {
		return math.MinInt32
	}
	return int32(math.Floor(math.Log(v) / math.Log(logHistBase)))
}

func logHistValue(i int32) float64 {
	if i == math.MinInt32 {
		return 0
	}
	// The geometric middle of the bucket.
	return math.Pow(logHistBase, float64(i)+0.5)
}

func (h logHist) add(v float64) { h[logHistIndex(v)]++ }

func (h logHist) merge(o logHist) {
	for k, c := range o {
		h[k] += c
	}
}

// quantile is the q-quantile (0..1) of the histogram, clamped to max.
func (h logHist) quantile(q, maxV float64) float64 {
	var total int64
	keys := make([]int32, 0, len(h))
	for k, c := range h {
		total += c
		keys = append(keys, k)
	}
	if total == 0 {
		return 0
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	rank := int64(math.Ceil(q * float64(total)))
	if rank < 1 {
		rank = 1
	}
	var acc int64
	for _, k := range keys {
		acc += h[k]
		if acc >= rank {
			return math.Min(logHistValue(k), maxV)
		}
	}
	return maxV
}

// k6Threshold is a threshold k6 declared, with what it needs to be evaluated.
type k6Threshold struct {
	metric, kind string
	exprs        []string
	n            int64
	sum, nonzero float64
	min, max     float64
	hist         logHist
}

type k6StageTag struct {
	order      int
	first, end time.Time
	executor   string
}

type k6Importer struct {
	name     string
	opt      ImportOptions
	warnings []string
	points   int64

	start, end time.Time
	started    bool
	// startLine and endLine are the lines of the first and last samples.
	startLine, endLine int64
	// lineNo is the line being read; err, an impossible value on it.
	lineNo int64
	err    error

	endpoints  []string
	endpointID map[string]int
	cells      map[k6CellKey]*k6Cell
	stageNames []string

	vus []k6Sample

	thresholds map[string]*k6Threshold
	checkNames map[string]*model.CheckStats
	checkOrder []string
	stageSeen  map[string]*k6StageTag
	scenarios  map[string]bool
	target     string

	secIter  map[int64]int64
	secDrop  map[int64]int64
	secCheck map[int64][2]int64
	secVUs   map[int64]float64
}

type k6Sample struct {
	t time.Time
	v float64
}

func (im *k6Importer) warn(format string, args ...any) {
	if len(im.warnings) < 50 {
		im.warnings = append(im.warnings, fmt.Sprintf(format, args...))
	}
}

func (im *k6Importer) lineError(n int64, line []byte) error {
	shown := string(line)
	if len(shown) > 120 {
		shown = shown[:120] + "…"
	}
	return fmt.Errorf("%s:%d: %w: expected {\"type\":\"Point\"|\"Metric\",\"data\":{...},\"metric\":\"...\"}, got %q", im.name, n, ErrBadK6Output, shown)
}

// interesting are the metrics whose points are decoded; other points are
// skipped unread unless a threshold names them.
var k6Interesting = map[string]bool{
	"http_req_duration": true, "vus": true, "iterations": true, "checks": true, "dropped_iterations": true,
}

// k6Line is one line of k6 JSON output. Metric and Point lines share the
// struct, so each line is decoded once.
type k6Line struct {
	Type   string `json:"type"`
	Metric string `json:"metric"`
	Data   struct {
		// Point fields.
		Time   string         `json:"time"`
		Value  *float64       `json:"value"`
		Tags   map[string]any `json:"tags"`
		Metric string         `json:"metric"`
		// Metric fields (name also names a point in some writers).
		Name       string            `json:"name"`
		Type       string            `json:"type"`
		Thresholds []json.RawMessage `json:"thresholds"`
	} `json:"data"`
}

// metricNames lists the values of every "metric":"..." field of a line
// without decoding it.
func metricNames(b []byte, fn func(name []byte) bool) {
	key := []byte(`"metric":"`)
	for {
		i := bytes.Index(b, key)
		if i < 0 {
			return
		}
		b = b[i+len(key):]
		j := bytes.IndexByte(b, '"')
		if j < 0 {
			return
		}
		if fn(b[:j]) {
			return
		}
		b = b[j:]
	}
}

// line handles one line; it returns the line when it is not k6 output.
func (im *k6Importer) line(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	if b[0] != '{' {
		return b
	}
	// Skip the points of metrics nobody reads without decoding them.
	if b[len(b)-1] == '}' && bytes.Contains(b, []byte(`"Point"`)) {
		want, found := false, false
		metricNames(b, func(n []byte) bool {
			found = true
			want = k6Interesting[string(n)] || im.thresholds[string(n)] != nil
			return want
		})
		if found && !want {
			im.points++
			return nil
		}
	}
	var l k6Line
	if err := json.Unmarshal(b, &l); err != nil || l.Type == "" {
		return b
	}
	d := &l.Data
	switch l.Type {
	case "Metric":
		name := l.Metric
		if name == "" {
			name = d.Name
		}
		if name == "" || len(d.Thresholds) == 0 {
			return nil
		}
		th := im.thresholds[name]
		if th == nil {
			th = &k6Threshold{metric: name, kind: d.Type, hist: logHist{}, min: math.Inf(1), max: math.Inf(-1)}
			im.thresholds[name] = th
		}
		for _, raw := range d.Thresholds {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				var o struct {
					Source    string `json:"source"`
					Threshold string `json:"threshold"`
				}
				if json.Unmarshal(raw, &o) != nil {
					continue
				}
				s = o.Source + o.Threshold
			}
			if s != "" && !hasString(th.exprs, s) {
				th.exprs = append(th.exprs, s)
			}
		}
	case "Point":
		if d.Value == nil {
			return b
		}
		t, err := time.Parse(time.RFC3339Nano, d.Time)
		if err != nil {
			return b
		}
		name := l.Metric
		if name == "" {
			name = d.Metric
		}
		if name == "" {
			name = d.Name
		}
		im.points++
		im.point(name, t, *d.Value, d.Tags)
	}
	return nil
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func tagString(tags map[string]any, k string) string {
	switch v := tags[k].(type) {
	case string:
		return v
	case float64:
		return numfmt.Plain(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func (im *k6Importer) point(metric string, t time.Time, v float64, tags map[string]any) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if v < 0 && k6Interesting[metric] {
		// Durations, VUs and counts cannot be negative: such a file was
		// not written by k6, or was edited.
		im.err = fmt.Errorf("%s:%d: %s is %g: expected a value of 0 or more", im.name, im.lineNo, metric, v)
		return
	}
	if !im.started || t.Before(im.start) {
		im.start, im.startLine = t, im.lineNo
	}
	if !im.started || t.After(im.end) {
		im.end, im.endLine = t, im.lineNo
	}
	im.started = true
	if th := im.thresholds[metric]; th != nil {
		th.n++
		th.sum += v
		if v != 0 {
			th.nonzero++
		}
		th.min = math.Min(th.min, v)
		th.max = math.Max(th.max, v)
		if th.kind == "trend" {
			th.hist.add(v)
		}
	}
	sec := t.Unix()
	switch metric {
	case "vus":
		im.vus = append(im.vus, k6Sample{t, v})
		im.secVUs[sec] = math.Max(im.secVUs[sec], v)
	case "iterations":
		im.secIter[sec] += int64(math.Round(v))
	case "dropped_iterations":
		im.secDrop[sec] += int64(math.Round(v))
	case "checks":
		c := im.secCheck[sec]
		pass := v != 0
		if pass {
			c[0]++
		} else {
			c[1]++
		}
		im.secCheck[sec] = c
		name := tagString(tags, "check")
		cs := im.checkNames[name]
		if cs == nil {
			cs = &model.CheckStats{Name: name}
			im.checkNames[name] = cs
			im.checkOrder = append(im.checkOrder, name)
		}
		if pass {
			cs.Passes++
		} else {
			cs.Fails++
		}
	case "http_req_duration":
		ep := k6Endpoint(tags)
		id, ok := im.endpointID[ep]
		if !ok {
			id = len(im.endpoints)
			im.endpoints = append(im.endpoints, ep)
			im.endpointID[ep] = id
		}
		stage := -1
		if st := tagString(tags, "stage"); st != "" {
			stage = im.stageTag(st, t, tagString(tags, "scenario"))
		}
		if sc := tagString(tags, "scenario"); sc != "" {
			im.scenarios[sc] = true
		}
		if im.target == "" {
			if u, err := url.Parse(tagString(tags, "url")); err == nil && u.Scheme != "" && u.Host != "" {
				im.target = u.Scheme + "://" + u.Host
			}
		}
		key := k6CellKey{sec: sec, endpoint: id, stage: stage}
		c := im.cells[key]
		if c == nil {
			c = &k6Cell{status: map[string]int64{}, hist: logHist{}}
			im.cells[key] = c
		}
		status := tagString(tags, "status")
		if status == "" || status == "0" {
			status = "error"
		}
		c.n++
		code, _ := strconv.Atoi(status)
		if status == "error" || code >= 400 {
			c.errs++
		}
		c.status[status]++
		c.sum += v
		c.max = math.Max(c.max, v)
		c.hist.add(v)
	}
}

func (im *k6Importer) stageTag(name string, t time.Time, executor string) int {
	st := im.stageSeen[name]
	if st == nil {
		st = &k6StageTag{order: len(im.stageNames), first: t, end: t, executor: executor}
		im.stageSeen[name] = st
		im.stageNames = append(im.stageNames, name)
	}
	if t.Before(st.first) {
		st.first = t
	}
	if t.After(st.end) {
		st.end = t
	}
	return st.order
}

var (
	dynamicSegRE = regexp.MustCompile(`^([0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}|\$\{[^}]*\})$`)
	methodPathRE = regexp.MustCompile(`^([A-Za-z]+) (/.*)$`)
)

// k6Endpoint names a request's endpoint from its tags: the endpoint tag
// that headroom's k6 scripts set, a name of the form "METHOD /path", the
// path of the name (or url) tag with numeric and UUID segments as {id}.
func k6Endpoint(tags map[string]any) string {
	if ep := tagString(tags, "endpoint"); ep != "" {
		if m := methodPathRE.FindStringSubmatch(ep); m != nil {
			return model.EndpointName(m[1], m[2])
		}
		return ep
	}
	method := strings.ToUpper(tagString(tags, "method"))
	if method == "" {
		method = "GET"
	}
	name := tagString(tags, "name")
	if m := methodPathRE.FindStringSubmatch(name); m != nil {
		return model.EndpointName(m[1], m[2])
	}
	if name == "" {
		name = tagString(tags, "url")
	}
	path := name
	if u, err := url.Parse(name); err == nil && u.Host != "" {
		path = u.EscapedPath()
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
	} else if i := strings.Index(name, "://"); i >= 0 {
		// A k6 URL template (http.url) such as http://x/orders/${}.
		rest := name[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			path = rest[j:]
		} else {
			path = "/"
		}
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if dynamicSegRE.MatchString(s) {
			segs[i] = "{id}"
		}
	}
	return method + " " + model.RouteTemplate(strings.Join(segs, "/"))
}

// k6Window is a stage window of the imported run.
type k6Window struct {
	name, executor string
	start, end     time.Time
	// tag is the index of the stage tag it came from, or -1.
	tag int
}

func (im *k6Importer) build() (*model.Run, error) {
	if len(im.cells) == 0 {
		return nil, fmt.Errorf("could not import k6 results %q: %w: expected Point lines of http_req_duration, as `k6 run --out json=results.json` writes", im.name, ErrNoK6Samples)
	}
	run := &model.Run{
		RunID:      im.opt.RunID,
		Shard:      "0/1",
		Scenario:   im.opt.Scenario,
		Target:     im.target,
		Status:     model.RunCompleted,
		Start:      im.start,
		End:        im.end,
		IntervalMs: float64(im.opt.Interval) / float64(time.Millisecond),
	}
	if run.RunID == "" {
		run.RunID = "k6-" + im.start.UTC().Format("20060102T150405Z")
	}
	if run.Scenario == "" {
		run.Scenario = "k6"
		if len(im.scenarios) == 1 {
			for s := range im.scenarios {
				if s != "default" {
					run.Scenario = s
				}
			}
		}
	}
	sort.Slice(im.vus, func(i, j int) bool { return im.vus[i].t.Before(im.vus[j].t) })
	windows := im.windows()
	// Executors record the load shape the VU samples show.
	exec := model.Executor{Name: "k6", Type: model.ExecutorRampingVUs}
	for _, w := range windows {
		if w.executor != "" {
			exec.Name = w.executor
		}
		exec.Stages = append(exec.Stages, model.Stage{Name: w.name, Duration: model.Duration(w.end.Sub(w.start).Round(time.Second)), Target: im.vusAt(w.end)})
	}
	if len(im.vus) > 0 {
		exec.StartVUs = int(im.vus[0].v)
	}
	run.Executors = []model.Executor{exec}

	for _, w := range windows {
		st := im.stats(w)
		run.Stages = append(run.Stages, st)
	}
	run.Total = im.stats(k6Window{name: "total", start: im.start, end: im.end.Add(time.Nanosecond), tag: -2})
	run.Total.Name = "total"
	run.Endpoints = run.Total.Endpoints
	run.Total.Endpoints = nil
	run.Series = im.series(windows)
	for _, n := range im.checkOrder {
		run.Checks = append(run.Checks, *im.checkNames[n])
	}
	run.Thresholds = im.evalThresholds(run)
	run.DroppedIterations = run.Total.DroppedIterations
	return run, nil
}

// vusAt is the last VU sample at or before t.
func (im *k6Importer) vusAt(t time.Time) float64 {
	i := sort.Search(len(im.vus), func(i int) bool { return im.vus[i].t.After(t) })
	if i == 0 {
		if len(im.vus) > 0 {
			return im.vus[0].v
		}
		return 0
	}
	return im.vus[i-1].v
}

// windows are the stages: from the stage tags when requests carry them,
// else from the trend of the VU samples.
func (im *k6Importer) windows() []k6Window {
	end := im.end.Add(time.Nanosecond)
	if len(im.stageNames) > 0 {
		var ws []k6Window
		for i, n := range im.stageNames {
			st := im.stageSeen[n]
			ws = append(ws, k6Window{name: n, executor: st.executor, start: st.first, end: st.end, tag: i})
		}
		sort.SliceStable(ws, func(i, j int) bool { return ws[i].start.Before(ws[j].start) })
		// Windows meet: each ends where the next begins.
		for i := range ws {
			if i+1 < len(ws) {
				ws[i].end = ws[i+1].start
			} else {
				ws[i].end = end
			}
		}
		ws[0].start = im.start
		return ws
	}
	bounds := vuBreakpoints(im.vus)
	var ws []k6Window
	prev := im.start
	for _, b := range bounds {
		if !b.After(prev) || !b.Before(end) {
			continue
		}
		ws = append(ws, k6Window{start: prev, end: b, tag: -1})
		prev = b
	}
	ws = append(ws, k6Window{start: prev, end: end, tag: -1})
	for i := range ws {
		ws[i].name = "stage-" + strconv.Itoa(i+1)
	}
	return ws
}

// vuBreakpoints finds where the VU count's trend changes: a segmented
// least-squares fit of straight lines (Bellman 1961; Kleinberg and Tardos,
// Algorithm Design, §6.3) with a penalty per segment, so each k6 stage —
// a linear ramp or a plateau — becomes one segment. It returns the start
// time of every segment after the first.
func vuBreakpoints(samples []k6Sample) []time.Time {
	if len(samples) < 6 {
		return nil
	}
	// Bin to at most maxPts points so the fit stays O(n²) on small n.
	const maxPts = 1200
	type pt struct {
		t    time.Time
		x, y float64
	}
	t0 := samples[0].t
	var pts []pt
	binSize := (len(samples) + maxPts - 1) / maxPts
	for i := 0; i < len(samples); i += binSize {
		j := min(i+binSize, len(samples))
		var sx, sy float64
		for _, s := range samples[i:j] {
			sx += s.t.Sub(t0).Seconds()
			sy += s.v
		}
		n := float64(j - i)
		pts = append(pts, pt{t: samples[i].t, x: sx / n, y: sy / n})
	}
	n := len(pts)
	if n < 6 {
		return nil
	}
	// Noise: VU counts are whole numbers, so a straight ramp sampled once
	// a second is off by up to one; estimate the rest from the second
	// differences (robustly, by their median).
	var d2 []float64
	for i := 1; i+1 < n; i++ {
		d2 = append(d2, math.Abs(pts[i+1].y-2*pts[i].y+pts[i-1].y))
	}
	sort.Float64s(d2)
	med := d2[len(d2)/2]
	sigma2 := math.Max(1.0/12, med*med/6)
	penalty := math.Max(4, 6*sigma2*math.Log(float64(n)))
	const minLen = 3

	sx := make([]float64, n+1)
	sy := make([]float64, n+1)
	sxx := make([]float64, n+1)
	syy := make([]float64, n+1)
	sxy := make([]float64, n+1)
	for i, p := range pts {
		x := p.x
		sx[i+1] = sx[i] + x
		sy[i+1] = sy[i] + p.y
		sxx[i+1] = sxx[i] + x*x
		syy[i+1] = syy[i] + p.y*p.y
		sxy[i+1] = sxy[i] + x*p.y
	}
	sse := func(i, j int) float64 { // points i..j-1
		m := float64(j - i)
		ax, ay := sx[j]-sx[i], sy[j]-sy[i]
		vxx := sxx[j] - sxx[i] - ax*ax/m
		vyy := syy[j] - syy[i] - ay*ay/m
		vxy := sxy[j] - sxy[i] - ax*ay/m
		if vxx <= 1e-12 {
			return math.Max(0, vyy)
		}
		return math.Max(0, vyy-vxy*vxy/vxx)
	}
	opt := make([]float64, n+1)
	from := make([]int, n+1)
	for j := 1; j <= n; j++ {
		opt[j] = math.Inf(1)
		for i := 0; i <= j-minLen; i++ {
			if i > 0 && i < minLen {
				continue
			}
			c := opt[i] + sse(i, j) + penalty
			if c < opt[j] {
				opt[j], from[j] = c, i
			}
		}
		if math.IsInf(opt[j], 1) {
			opt[j], from[j] = sse(0, j)+penalty, 0
		}
	}
	var starts []int
	for j := n; j > 0; j = from[j] {
		if from[j] > 0 {
			starts = append(starts, from[j])
		}
		if from[j] >= j {
			break
		}
	}
	sort.Ints(starts)
	out := make([]time.Time, 0, len(starts))
	for _, i := range starts {
		out = append(out, pts[i].t)
	}
	return out
}

// stats aggregates the cells of a window into a stage row.
func (im *k6Importer) stats(w k6Window) model.StageStats {
	st := model.StageStats{Name: w.name, Executor: w.executor, Start: w.start, End: w.end, Status: map[string]int64{}}
	type agg struct {
		n, errs  int64
		sum, max float64
		status   map[string]int64
		hist     logHist
	}
	byEP := map[int]*agg{}
	all := &agg{status: map[string]int64{}, hist: logHist{}}
	for k, c := range im.cells {
		var in bool
		switch {
		case w.tag == -2:
			in = true
		case w.tag >= 0:
			in = k.stage == w.tag
		default:
			in = im.secIn(w, k.sec)
		}
		if !in {
			continue
		}
		a := byEP[k.endpoint]
		if a == nil {
			a = &agg{status: map[string]int64{}, hist: logHist{}}
			byEP[k.endpoint] = a
		}
		for _, x := range []*agg{a, all} {
			x.n += c.n
			x.errs += c.errs
			x.sum += c.sum
			x.max = math.Max(x.max, c.max)
			for s, n := range c.status {
				x.status[s] += n
			}
			x.hist.merge(c.hist)
		}
	}
	secs := w.end.Sub(w.start).Seconds()
	rate := func(n int64) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(n) / secs
	}
	st.Requests, st.Errors, st.MaxMs = all.n, all.errs, all.max
	st.RPS = rate(all.n)
	if all.n > 0 {
		st.MeanMs = all.sum / float64(all.n)
		st.ErrorRate = float64(all.errs) / float64(all.n)
		st.P50Ms = all.hist.quantile(0.50, all.max)
		st.P90Ms = all.hist.quantile(0.90, all.max)
		st.P95Ms = all.hist.quantile(0.95, all.max)
		st.P99Ms = all.hist.quantile(0.99, all.max)
	}
	st.Status = all.status
	if len(st.Status) == 0 {
		st.Status = nil
	}
	ids := make([]int, 0, len(byEP))
	for id := range byEP {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return im.endpoints[ids[i]] < im.endpoints[ids[j]] })
	for _, id := range ids {
		a := byEP[id]
		e := model.EndpointStats{Endpoint: im.endpoints[id], Requests: a.n, Errors: a.errs, RPS: rate(a.n), MaxMs: a.max, Status: a.status}
		if a.n > 0 {
			e.MeanMs = a.sum / float64(a.n)
			e.ErrorRate = float64(a.errs) / float64(a.n)
			e.P50Ms = a.hist.quantile(0.50, a.max)
			e.P90Ms = a.hist.quantile(0.90, a.max)
			e.P95Ms = a.hist.quantile(0.95, a.max)
			e.P99Ms = a.hist.quantile(0.99, a.max)
		}
		st.Endpoints = append(st.Endpoints, e)
	}
	inWindow := func(sec int64) bool { return w.tag == -2 || im.secIn(w, sec) }
	for sec, n := range im.secIter {
		if inWindow(sec) {
			st.Iterations += n
		}
	}
	for sec, n := range im.secDrop {
		if inWindow(sec) {
			st.DroppedIterations += n
		}
	}
	for sec, c := range im.secCheck {
		if inWindow(sec) {
			st.ChecksPassed += c[0]
			st.ChecksFailed += c[1]
		}
	}
	for sec, v := range im.secVUs {
		if inWindow(sec) {
			st.VUs = max(st.VUs, int(v))
		}
	}
	return st
}

// secIn reports whether the second starting at sec belongs to the window:
// checkSpan refuses samples spread over more time than the run's series
// may cover at the interval: that is nearly always one sample with a wrong
// clock, and the series would have a point per interval in between.
func (im *k6Importer) checkSpan() error {
	if !im.started {
		return nil
	}
	span := im.end.Sub(im.start)
	if points := span / im.opt.Interval; points <= MaxSeriesPoints {
		return nil
	}
	return fmt.Errorf("%s: the samples span %s, from line %d at %s to line %d at %s: at an interval of %s that is more than the %d points a run's series may have; "+
		"remove the samples with a wrong clock, or pass a larger --interval",
		im.name, span.Round(time.Second), im.startLine, im.start.UTC().Format(time.RFC3339Nano), im.endLine, im.end.UTC().Format(time.RFC3339Nano),
		im.opt.Interval, MaxSeriesPoints)
}

// a second is counted where it starts (the run's first second where the
// run starts), so every second falls in exactly one of adjacent windows.
func (im *k6Importer) secIn(w k6Window, sec int64) bool {
	t := time.Unix(sec, 0)
	if t.Before(im.start) {
		t = im.start
	}
	return !t.Before(w.start) && t.Before(w.end)
}

// series summarises the run per interval.
func (im *k6Importer) series(windows []k6Window) []model.SeriesPoint {
	iv := im.opt.Interval
	var out []model.SeriesPoint
	// Intervals start on whole seconds, as the samples are counted per second.
	for t := im.start.Truncate(time.Second); t.Before(im.end.Add(time.Nanosecond)); t = t.Add(iv) {
		end := t.Add(iv)
		w := k6Window{start: t, end: end, tag: -1}
		st := im.stats(w)
		p := model.SeriesPoint{
			Time: end, VUs: st.VUs, RPS: st.RPS, P50Ms: st.P50Ms, P95Ms: st.P95Ms, P99Ms: st.P99Ms,
			MeanMs: st.MeanMs, ErrorRate: st.ErrorRate, Requests: st.Requests, Errors: st.Errors, Dropped: st.DroppedIterations,
		}
		mid := t.Add(iv / 2)
		for _, win := range windows {
			if !mid.Before(win.start) && mid.Before(win.end) {
				p.Stage = win.name
			}
		}
		out = append(out, p)
		if len(out) > 1_000_000 {
			break
		}
	}
	return out
}

// evalThresholds evaluates the thresholds k6 declared on whole metrics.
func (im *k6Importer) evalThresholds(run *model.Run) []model.ThresholdResult {
	names := make([]string, 0, len(im.thresholds))
	for n := range im.thresholds {
		names = append(names, n)
	}
	sort.Strings(names)
	secs := run.End.Sub(run.Start).Seconds()
	var out []model.ThresholdResult
	for _, n := range names {
		th := im.thresholds[n]
		for _, src := range th.exprs {
			expr, err := model.ParseThreshold(src)
			if err != nil {
				im.warn("threshold %q on %s was not evaluated: %v", src, n, err)
				continue
			}
			var obs float64
			switch expr.Agg {
			case "p":
				obs = th.hist.quantile(expr.Quantile, th.max)
			case "avg":
				if th.n > 0 {
					obs = th.sum / float64(th.n)
				}
			case "min":
				obs = th.min
			case "max":
				obs = th.max
			case "count":
				obs = th.sum
				if th.kind != "counter" {
					obs = float64(th.n)
				}
			case "rate":
				switch {
				case th.kind == "rate" && th.n > 0:
					obs = th.nonzero / float64(th.n)
				case secs > 0:
					obs = th.sum / secs
				}
			}
			if th.n == 0 || math.IsInf(obs, 0) {
				obs = 0
			}
			out = append(out, model.ThresholdResult{Metric: n, Expr: src, Observed: obs, Passed: expr.Eval(obs)})
		}
	}
	return out
}
