package k6

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/headroom-sh/headroom/internal/numfmt"
	"github.com/headroom-sh/headroom/scenario"
	"io"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// ScriptOptions tune Script.
type ScriptOptions struct {
	// Source names what the scenario came from, for the header comment.
	Source string
}

// Script writes a scenario as a k6 script of the shape k6 users expect:
// options.scenarios with the same executors and stages, the thresholds,
// custom Rate and Trend metrics, checks named as headroom names them, think
// time, the base URL from __ENV.BASE_URL and a login whose token is reused
// and refreshed. Requests carry the tags headroom reports by (endpoint,
// flow, stage), so thresholds with tag filters keep their meaning and the
// k6 results can be imported back (ReadJSON). The script is an ES module.
// s is not modified.
func Script(s *model.Scenario, opt ScriptOptions) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteScript(&buf, s, opt); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteScript writes the script Script gives to out, flow by flow through
// a buffer, so that the script of tens of thousands of flows is never held
// whole. An error in writing leaves part of the script written; an error
// in the scenario is found before anything is written.
func WriteScript(out io.Writer, s *model.Scenario, opt ScriptOptions) error {
	if s == nil {
		return fmt.Errorf("could not write k6 script: scenario is nil")
	}
	sc := s.Clone()
	sc.SetDefaults()
	if err := sc.Validate(); err != nil {
		return fmt.Errorf("could not write k6 script for scenario %q: %w", sc.Name, err)
	}
	if err := checkExecutors(sc); err != nil {
		return fmt.Errorf("could not write k6 script for scenario %q: %w", sc.Name, err)
	}
	w := &k6Writer{s: sc, opt: opt, b: bufio.NewWriterSize(out, 64<<10)}
	if err := w.write(); err != nil {
		return fmt.Errorf("could not write k6 script for scenario %q: %w", sc.Name, err)
	}
	if err := w.b.Flush(); err != nil {
		return fmt.Errorf("could not write k6 script: %w", err)
	}
	return nil
}

// checkExecutors reports an executor k6 has no equivalent of.
func checkExecutors(s *model.Scenario) error {
	for _, e := range s.Executors {
		switch e.Type {
		case model.ExecutorRampingVUs, model.ExecutorConstantVUs, model.ExecutorConstantArrivalRate, model.ExecutorRampingArrivalRate:
		default:
			return fmt.Errorf("executor %q: type %q has no k6 equivalent", e.Name, e.Type)
		}
	}
	return nil
}

type k6Writer struct {
	s   *model.Scenario
	opt ScriptOptions
	// b buffers the output; its errors stick, and Flush reports them.
	b *bufio.Writer
	// execNames are the k6 scenario names of the executors.
	execNames []string
	// flowFuncs are the JS function names of the flows.
	flowFuncs []string
}

func (w *k6Writer) p(format string, args ...any) {
	fmt.Fprintf(w.b, format, args...)
	w.b.WriteByte('\n')
}

// js encodes a value as a JavaScript literal (JSON is valid JavaScript;
// Go escapes U+2028 and U+2029, which JavaScript strings cannot hold raw).
func js(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "null"
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

var jsIdentRE = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// jsIdent turns a name into a JavaScript identifier: "purchase-v2" → purchaseV2.
func jsIdent(prefix, name string) string {
	parts := jsIdentRE.Split(name, -1)
	var b strings.Builder
	b.WriteString(prefix)
	for _, p := range parts {
		if p == "" {
			continue
		}
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

var k6NameRE = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func (w *k6Writer) write() error {
	s := w.s
	src := ""
	if w.opt.Source != "" {
		src = " from " + w.opt.Source
	}
	w.p("// k6 script for the headroom scenario %s%s, written by headroom.", js(s.Name), src)
	w.p("//")
	w.p("//   k6 run -e BASE_URL=%s script.js", s.Target)
	w.p("//")
	w.p("// Requests are tagged with endpoint, flow and stage as headroom tags them, so")
	w.p("// `headroom import k6 --json results.json` turns `k6 run --out json=results.json`")
	w.p("// into a run.json that `headroom analyze` reads.")
	w.p("import http from 'k6/http';")
	w.p("import { check, sleep } from 'k6';")
	w.p("import exec from 'k6/execution';")
	w.p("import { Rate, Trend } from 'k6/metrics';")
	if a := s.Auth; a != nil && a.Basic != nil {
		w.p("import encoding from 'k6/encoding';")
	}
	w.p("")
	target := s.Target
	if target == "" {
		target = scenario.DefaultTarget
	}
	w.p("const BASE_URL = (__ENV.BASE_URL || %s).replace(/\\/+$/, '');", js(target))
	w.p("const TIMEOUT = %s;", js(s.Timeout.String()))
	w.p("")
	if err := w.options(); err != nil {
		return err
	}
	w.p("")
	w.p("// errors counts failed requests (status >= 400 or no response) as headroom does;")
	w.p("// flow_duration is the time one flow took, tagged with the flow.")
	w.p("const errors = new Rate('errors');")
	w.p("const flowDuration = new Trend('flow_duration', true);")
	w.p("")
	w.stageTable()
	w.p("")
	w.secretFiles()
	w.p("// Scenario-wide headers, sent with every request unless a step overrides them.")
	hdrs := map[string]string{}
	for k, v := range s.Headers {
		hdrs[http.CanonicalHeaderKey(k)] = v
	}
	obj := w.objectOfTemplates(hdrs)
	if a := s.Auth; a != nil && !a.IsLogin() {
		// Basic or Bearer credentials go with every request.
		var val string
		if a.Basic != nil {
			val = "'Basic ' + encoding.b64encode(" + w.template(a.Basic.Username) + " + ':' + " + w.template(a.Basic.Password) + ")"
		} else {
			scheme := a.Scheme + " "
			if strings.EqualFold(a.Scheme, model.AuthSchemeNone) {
				scheme = ""
			}
			val = w.template(scheme + a.Bearer)
		}
		entry := js(http.CanonicalHeaderKey(a.Header)) + ": " + val
		if obj == "{}" {
			obj = "{ " + entry + " }"
		} else {
			obj = "{ " + entry + ", " + strings.TrimPrefix(obj, "{ ")
		}
	}
	w.p("const HEADERS = () => (%s);", obj)
	w.p("")
	w.authConst()
	w.p("")
	w.p("// Each VU keeps its own variables: captures and the token.")
	w.p("const vars = {};")
	w.p("let started = false;")
	w.p("")
	w.p("function startVU() {")
	w.p("  started = true;")
	for _, k := range slices.Sorted(maps.Keys(s.Variables)) {
		w.p("  vars[%s] = %s;", js(k), w.template(s.Variables[k]))
	}
	if s.Auth.IsLogin() {
		w.p("  login();")
	}
	w.p("}")
	w.p("")
	if s.Auth.IsLogin() {
		w.p("// login runs the auth step; its captures set the token.")
		w.p("function login() {")
		w.step("  ", &s.Auth.Step, "", true)
		w.p("}")
		w.p("")
	}
	for i := range s.Flows {
		f := &s.Flows[i]
		fn := jsIdent("flow", f.Name)
		w.flowFuncs = append(w.flowFuncs, fn)
		w.p("// Flow %s (weight %s).", js(f.Name), numfmt.Plain(f.Weight))
		w.p("function %s() {", fn)
		w.p("  const flow = %s;", js(f.Name))
		w.p("  const t0 = Date.now();")
		for j := range f.Steps {
			w.step("  ", &f.Steps[j], f.Name, false)
		}
		w.p("  flowDuration.add(Date.now() - t0, { flow });")
		w.p("}")
		w.p("")
	}
	w.entryPoints()
	w.p("")
	w.b.WriteString(k6Prelude)
	return nil
}

// options writes options.scenarios and options.thresholds.
func (w *k6Writer) options() error {
	s := w.s
	w.p("export const options = {")
	w.p("  scenarios: {")
	used := map[string]bool{}
	for i := range s.Executors {
		e := &s.Executors[i]
		name := k6NameRE.ReplaceAllString(e.Name, "_")
		if name == "" {
			name = "executor"
		}
		for base, n := name, 2; used[name]; n++ {
			name = base + "_" + strconv.Itoa(n)
		}
		used[name] = true
		w.execNames = append(w.execNames, name)
		w.p("    %s: {", js(name))
		w.p("      executor: %s,", js(e.Type))
		if e.StartTime > 0 {
			w.p("      startTime: %s,", js(e.StartTime.String()))
		}
		switch e.Type {
		case model.ExecutorRampingVUs:
			w.p("      startVUs: %d,", e.StartVUs)
			w.p("      stages: [")
			for _, st := range e.Stages {
				w.p("        { duration: %s, target: %d }, // %s", js(st.Duration.String()), int(math.Round(st.Target)), st.Name)
			}
			w.p("      ],")
			w.p("      gracefulRampDown: %s,", js(e.GracefulRampDown.String()))
		case model.ExecutorConstantVUs:
			w.p("      vus: %d,", e.VUs)
			w.p("      duration: %s,", js(e.Duration.String()))
		case model.ExecutorConstantArrivalRate, model.ExecutorRampingArrivalRate:
			// k6 wants whole numbers of iterations per time unit: scale
			// the unit until every rate is whole (2.5/s is 5 per 2s).
			rates := []float64{e.Rate, e.StartRate}
			for _, st := range e.Stages {
				rates = append(rates, st.Target)
			}
			m := wholeMultiplier(rates)
			unit := time.Duration(float64(e.TimeUnit.D()) * m)
			if e.Type == model.ExecutorConstantArrivalRate {
				w.p("      rate: %s,", numfmt.Plain(math.Round(e.Rate*m)))
				w.p("      duration: %s,", js(e.Duration.String()))
			} else {
				w.p("      startRate: %s,", numfmt.Plain(math.Round(e.StartRate*m)))
				w.p("      stages: [")
				for _, st := range e.Stages {
					w.p("        { duration: %s, target: %s }, // %s", js(st.Duration.String()), numfmt.Plain(math.Round(st.Target*m)), st.Name)
				}
				w.p("      ],")
			}
			w.p("      timeUnit: %s,", js(model.FormatDuration(unit)))
			w.p("      preAllocatedVUs: %d,", e.PreAllocatedVUs)
			w.p("      maxVUs: %d,", e.MaxVUs)
		default:
			return fmt.Errorf("executor %q: type %q has no k6 equivalent", e.Name, e.Type)
		}
		w.p("      gracefulStop: %s,", js(e.GracefulStop.String()))
		w.p("      exec: %s,", js(w.execFunc(i)))
		w.p("    },")
	}
	w.p("  },")
	w.p("  thresholds: {")
	for _, k := range sortedThresholdKeys(s.Thresholds) {
		var items []string
		for _, t := range s.Thresholds[k] {
			if !t.AbortOnFail && t.DelayAbortEval == 0 {
				items = append(items, js(t.Expr))
				continue
			}
			obj := "{ threshold: " + js(t.Expr) + ", abortOnFail: " + strconv.FormatBool(t.AbortOnFail)
			if t.DelayAbortEval > 0 {
				obj += ", delayAbortEval: " + js(t.DelayAbortEval.String())
			}
			items = append(items, obj+" }")
		}
		w.p("    %s: [%s],", js(k), strings.Join(items, ", "))
	}
	w.p("  },")
	w.p("};")
	return nil
}

func sortedThresholdKeys(m map[string][]model.Threshold) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// wholeMultiplier is the smallest of 1, 2, 4, 5, 10, ... 1000 that makes
// every rate whole.
func wholeMultiplier(rates []float64) float64 {
	for _, m := range []float64{1, 2, 4, 5, 10, 20, 25, 50, 100, 1000} {
		ok := true
		for _, r := range rates {
			if x := r * m; math.Abs(x-math.Round(x)) > 1e-6 {
				ok = false
			}
		}
		if ok {
			return m
		}
	}
	return 1000
}

// execFunc names the function an executor runs: default for all flows, or
// one restricted to the executor's flows.
func (w *k6Writer) execFunc(i int) string {
	if len(w.s.Executors[i].Flows) == 0 {
		return "default"
	}
	return jsIdent("run", w.execNames[i])
}

// stageTable writes each executor's stage ends, so requests can be tagged
// with the stage they ran in, as headroom tags them.
func (w *k6Writer) stageTable() {
	w.p("// Stage names and their ends (ms from the executor's start), per k6 scenario.")
	w.p("const STAGES = {")
	for i, e := range w.s.Executors {
		var parts []string
		var end time.Duration
		for _, st := range e.Stages {
			end += st.Duration.D()
			parts = append(parts, fmt.Sprintf("[%s, %d]", js(st.Name), end.Milliseconds()))
		}
		w.p("  %s: [%s],", js(w.execNames[i]), strings.Join(parts, ", "))
	}
	w.p("};")
	w.p("")
	w.p("// SEQ_STRIDE spaces the seq() counters of different VUs apart: k6 VUs share no memory.")
	peak := 1
	for _, e := range w.s.Executors {
		peak = max(peak, e.VUs, e.StartVUs, e.MaxVUs)
		if !e.IsOpenModel() {
			for _, st := range e.Stages {
				peak = max(peak, int(math.Ceil(st.Target)))
			}
		}
	}
	w.p("const SEQ_STRIDE = %d;", peak)
}

// secretFiles writes the files that file() reads: k6 opens files only in
// its init context, so each is read once there.
func (w *k6Writer) secretFiles() {
	// The scenario is walked as its JSON shape, keys sorted; the flows
	// one at a time, so that only one flow's tree is held.
	head := *w.s
	head.Flows = nil
	var tree map[string]any
	if !jsonTree(&head, &tree) {
		return
	}
	seen := map[string]bool{}
	var paths []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if !strings.Contains(x, "{{") {
				return
			}
			t, err := model.ParseTemplate(x)
			if err != nil {
				return
			}
			for _, p := range t.Parts {
				if p.Func == "file" {
					if path, _ := p.Args[0].(string); !seen[path] {
						seen[path] = true
						paths = append(paths, path)
					}
				}
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(tree)) {
		if k != "flows" {
			walk(tree[k])
			continue
		}
		for i := range w.s.Flows {
			var ft any
			if !jsonTree(&w.s.Flows[i], &ft) {
				// As the whole scenario would: no files.
				return
			}
			walk(ft)
		}
	}
	if len(paths) == 0 {
		return
	}
	w.p("// Files read by file() (mounted secrets), without their final newline.")
	w.p("const SECRET_FILES = {")
	for _, p := range paths {
		w.p("  %s: open(%s).replace(/\\r?\\n$/, ''),", js(p), js(p))
	}
	w.p("};")
	w.p("")
}

// jsonTree decodes the JSON of v into tree, and says whether it could.
func jsonTree(v, tree any) bool {
	doc, err := json.Marshal(v)
	return err == nil && json.Unmarshal(doc, tree) == nil
}

// authConst writes how the token is sent.
func (w *k6Writer) authConst() {
	a := w.s.Auth
	if !a.IsLogin() {
		w.p("const AUTH = null;")
		return
	}
	scheme := a.Scheme
	if strings.EqualFold(scheme, model.AuthSchemeNone) {
		scheme = ""
	}
	codes := make([]string, len(a.RefreshOn))
	for i, c := range a.RefreshOn {
		codes[i] = strconv.Itoa(c)
	}
	w.p("// The token captured by login() is sent in %s; a %s response logs in again", a.Header, strings.Join(codes, " or "))
	w.p("// and retries the request once.")
	w.p("const AUTH = { token: %s, header: %s, scheme: %s, refreshOn: [%s] };", js(a.Token), js(http.CanonicalHeaderKey(a.Header)), js(scheme), strings.Join(codes, ", "))
}

// entryPoints writes the default function (every flow by weight) and one
// function per executor restricted to some flows.
func (w *k6Writer) entryPoints() {
	pick := func(indent string, flows []int) {
		total := 0.0
		for _, i := range flows {
			total += w.s.Flows[i].Weight
		}
		if len(flows) == 1 {
			w.p("%s%s();", indent, w.flowFuncs[flows[0]])
			return
		}
		w.p("%sconst r = Math.random() * %s;", indent, numfmt.Plain(total))
		acc := 0.0
		for n, i := range flows {
			acc += w.s.Flows[i].Weight
			switch {
			case n == 0:
				w.p("%sif (r < %s) %s();", indent, numfmt.Plain(acc), w.flowFuncs[i])
			case n == len(flows)-1:
				w.p("%selse %s();", indent, w.flowFuncs[i])
			default:
				w.p("%selse if (r < %s) %s();", indent, numfmt.Plain(acc), w.flowFuncs[i])
			}
		}
	}
	all := make([]int, len(w.s.Flows))
	for i := range all {
		all[i] = i
	}
	w.p("// Each iteration runs one flow, chosen by weight.")
	w.p("export default function () {")
	w.p("  if (!started) startVU();")
	pick("  ", all)
	w.p("}")
	byName := map[string]int{}
	for i, f := range w.s.Flows {
		byName[f.Name] = i
	}
	for i, e := range w.s.Executors {
		if len(e.Flows) == 0 {
			continue
		}
		var flows []int
		for _, n := range e.Flows {
			flows = append(flows, byName[n])
		}
		w.p("")
		w.p("// Executor %s runs only %s.", js(e.Name), strings.Join(e.Flows, ", "))
		w.p("export function %s() {", w.execFunc(i))
		w.p("  if (!started) startVU();")
		pick("  ", flows)
		w.p("}")
	}
}

// step writes one request with its captures, checks and think time.
func (w *k6Writer) step(ind string, st *model.Step, flow string, isAuth bool) {
	ep := st.Endpoint
	w.p("%s// %s", ind, ep)
	w.p("%s{", ind)
	in := ind + "  "
	hdrs := map[string]string{}
	for k, v := range st.Headers {
		hdrs[http.CanonicalHeaderKey(k)] = v
	}
	body := "undefined"
	if st.Body != nil {
		body = w.bodyExpr(st.Body, in)
	}
	flowExpr := "flow"
	if flow == "" {
		flowExpr = "''"
	}
	// The login is tagged without a flow.
	w.p("%sconst res = send(%s, %s, () => %s, () => (%s), %s, { endpoint: %s, flow: %s }, %t);",
		in, js(st.Method), w.pathExpr(st.Path), body, w.objectOfTemplates(hdrs), strconv.FormatBool(st.Body != nil),
		js(ep), flowExpr, !isAuth)
	if len(st.Capture) > 0 || len(st.Checks) > 0 {
		if flow == "" {
			w.p("%sconst tags = { endpoint: %s, stage: stageName() };", in, js(ep))
		} else {
			w.p("%sconst tags = { endpoint: %s, flow: %s, stage: stageName() };", in, js(ep), flowExpr)
		}
	}
	if len(st.Capture) > 0 || hasJSONCheck(st) {
		w.p("%sconst doc = parseJSON(res);", in)
	}
	for _, k := range slices.Sorted(maps.Keys(st.Capture)) {
		path, _ := model.ParseJSONPath(st.Capture[k])
		w.p("%scaptureVar(doc, %s, %s, %s, tags);", in, js(k), jsPath(path), js(ep+" capture "+k))
	}
	if len(st.Checks) > 0 {
		w.p("%scheck(res, {", in)
		for _, c := range st.Checks {
			name, fn := checkJS(ep, c)
			w.p("%s  %s: %s,", in, js(name), fn)
		}
		w.p("%s}, tags);", in)
	}
	w.p("%s}", ind)
	if st.Think != nil {
		w.p("%ssleep(%s);", ind, thinkExpr(st.Think))
	}
}

func hasJSONCheck(st *model.Step) bool {
	for _, c := range st.Checks {
		if c.JSONPath != "" {
			return true
		}
	}
	return false
}

// checkJS names a check as headroom's runner does and writes its test.
func checkJS(ep string, c model.Check) (string, string) {
	switch {
	case len(c.Status) > 0:
		codes := make([]string, len(c.Status))
		for i, code := range c.Status {
			codes[i] = strconv.Itoa(code)
		}
		name := ep + " status " + codes[0]
		if len(codes) > 1 {
			name = ep + " status in " + strings.Join(codes, ",")
		}
		if c.Name != "" {
			name = c.Name
		}
		return name, "(r) => [" + strings.Join(codes, ", ") + "].includes(r.status)"
	case c.JSONPath != "":
		path, _ := model.ParseJSONPath(c.JSONPath)
		name := ep + " " + c.JSONPath + " exists"
		test := "() => lookup(doc, " + jsPath(path) + ") !== undefined"
		if c.Equals != "" {
			name = ep + " " + c.JSONPath + " == " + c.Equals
			test = "() => asText(lookup(doc, " + jsPath(path) + ")) === " + js(c.Equals)
		}
		if c.Name != "" {
			name = c.Name
		}
		return name, test
	default:
		name := ep + " duration <= " + c.MaxDuration.String()
		if c.Name != "" {
			name = c.Name
		}
		return name, fmt.Sprintf("(r) => r.status > 0 && r.timings.duration <= %s", numfmt.Plain(float64(c.MaxDuration.D())/float64(time.Millisecond)))
	}
}

// jsPath writes a parsed JSON path as a list of keys and indexes.
func jsPath(path []model.JSONPathStep) string {
	parts := make([]string, len(path))
	for i, p := range path {
		if p.IsIndex {
			parts[i] = strconv.Itoa(p.Index)
		} else {
			parts[i] = js(p.Key)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// thinkExpr writes a think time in seconds, drawn as headroom draws it.
func thinkExpr(t *model.Think) string {
	sec := func(d model.Duration) string { return numfmt.Plain(d.D().Seconds()) }
	switch t.Distribution {
	case model.ThinkUniform:
		return fmt.Sprintf("uniform(%s, %s)", sec(t.Min), sec(t.Max))
	case model.ThinkExponential:
		return fmt.Sprintf("exponential(%s)", sec(t.Duration))
	case model.ThinkNormal:
		return fmt.Sprintf("normal(%s, %s)", sec(t.Duration), sec(t.StdDev))
	}
	return sec(t.Duration)
}

// pathExpr writes a path template as an expression giving the URL.
func (w *k6Writer) pathExpr(p string) string {
	return "() => " + w.template(p)
}

// objectOfTemplates writes a map of header templates as an object literal.
func (w *k6Writer) objectOfTemplates(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, js(k)+": "+w.template(m[k]))
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// bodyExpr writes a body template as a JavaScript expression building the
// value; subtrees without templates are written as JSON.
func (w *k6Writer) bodyExpr(b any, indent string) string {
	switch x := b.(type) {
	case string:
		return w.template(x)
	case map[string]any:
		if len(x) == 0 {
			return "({})"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var lines []string
		for _, k := range keys {
			lines = append(lines, indent+"  "+js(k)+": "+w.bodyExpr(x[k], indent+"  ")+",")
		}
		return "({\n" + strings.Join(lines, "\n") + "\n" + indent + "})"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = w.bodyExpr(e, indent)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return js(b)
}

// template writes a template as an expression: a literal as a string, one
// expression as itself (keeping its type), several joined as a string.
func (w *k6Writer) template(s string) string {
	if !strings.Contains(s, "{{") {
		return js(s)
	}
	t, err := model.ParseTemplate(s)
	if err != nil {
		return js(s)
	}
	if part, ok := t.Single(); ok {
		return partExpr(part)
	}
	var parts []string
	for _, p := range t.Parts {
		if p.Var == "" && p.Func == "" {
			parts = append(parts, js(p.Literal))
		} else {
			parts = append(parts, "text("+partExpr(p)+")")
		}
	}
	if t.Parts[0].Var != "" || t.Parts[0].Func != "" {
		parts = append([]string{"''"}, parts...)
	}
	return strings.Join(parts, " + ")
}

// partExpr writes one template expression as a call of the prelude.
func partExpr(p model.TemplatePart) string {
	if p.Var != "" {
		return "v(" + js(p.Var) + ")"
	}
	args := make([]string, len(p.Args))
	for i, a := range p.Args {
		args[i] = js(a)
	}
	switch p.Func {
	case "pick":
		return "pick([" + strings.Join(args, ", ") + "])"
	case "pickWeighted":
		var pairs []string
		for i := 0; i+1 < len(args); i += 2 {
			pairs = append(pairs, "["+args[i]+", "+args[i+1]+"]")
		}
		return "pickWeighted([" + strings.Join(pairs, ", ") + "])"
	case "name":
		return "fullName()"
	case "env":
		// env() takes a variable name (checked by the template parser),
		// so it is a valid property name.
		return "__ENV." + p.Args[0].(string)
	case "file":
		return "SECRET_FILES[" + args[0] + "]"
	}
	return p.Func + "(" + strings.Join(args, ", ") + ")"
}

// k6Prelude is the runtime the generated code calls: requests, captures
// and the template functions, written to behave as headroom's runner does.
const k6Prelude = `// ---- helpers (the same behaviour as headroom's runner) ----

class MissingVariable extends Error {}

// v reads a VU variable; "order.id" walks into a captured object.
function v(name) {
  if (name in vars) return vars[name];
  const dot = name.indexOf('.');
  if (dot > 0 && name.slice(0, dot) in vars) {
    const val = lookup(vars[name.slice(0, dot)], name.slice(dot + 1).split('.'));
    if (val !== undefined) return val;
  }
  throw new MissingVariable('missing variable ' + name);
}

function text(x) {
  return typeof x === 'string' ? x : JSON.stringify(x);
}

function asText(x) {
  return x === undefined ? undefined : text(x);
}

function stageName() {
  const list = STAGES[exec.scenario.name];
  if (!list || list.length === 0) return '';
  const t = Date.now() - exec.scenario.startTime;
  for (const [name, end] of list) {
    if (t < end) return name;
  }
  return list[list.length - 1][0];
}

// send renders and sends one request. A request that cannot be rendered
// (a variable a failed capture should have set) counts as a failed request.
function send(method, path, body, headers, hasBody, tags, withAuth) {
  const allTags = Object.assign({ name: tags.endpoint, stage: stageName() }, tags);
  for (const k of Object.keys(allTags)) {
    if (allTags[k] === '') delete allTags[k];
  }
  let url, payload, hdrs;
  try {
    url = path();
    if (!/^https?:\/\//.test(url)) url = BASE_URL + (url.startsWith('/') ? '' : '/') + url;
    hdrs = Object.assign({}, HEADERS(), headers());
    if (hasBody) {
      const b = body();
      if (typeof b === 'string') {
        payload = b;
        if (!hasHeader(hdrs, 'Content-Type')) hdrs['Content-Type'] = /^\s*[{[]/.test(b) ? 'application/json' : 'text/plain; charset=utf-8';
      } else {
        payload = JSON.stringify(b);
        if (!hasHeader(hdrs, 'Content-Type')) hdrs['Content-Type'] = 'application/json';
      }
    }
  } catch (e) {
    if (!(e instanceof MissingVariable)) throw e;
    errors.add(1, allTags);
    return { status: 0, body: null, error: e.message, timings: { duration: 0 } };
  }
  const params = () => {
    const h = Object.assign({}, hdrs);
    if (AUTH && withAuth && !hasHeader(h, AUTH.header) && vars[AUTH.token] !== undefined) {
      h[AUTH.header] = (AUTH.scheme ? AUTH.scheme + ' ' : '') + text(vars[AUTH.token]);
    }
    return { headers: h, tags: allTags, timeout: TIMEOUT };
  };
  let res = http.request(method, url, payload, params());
  errors.add(res.status === 0 || res.status >= 400, allTags);
  if (AUTH && withAuth && AUTH.refreshOn.includes(res.status)) {
    login();
    res = http.request(method, url, payload, params());
    errors.add(res.status === 0 || res.status >= 400, allTags);
  }
  return res;
}

function hasHeader(h, name) {
  const l = name.toLowerCase();
  return Object.keys(h).some((k) => k.toLowerCase() === l);
}

function parseJSON(res) {
  try {
    return res.body ? JSON.parse(res.body) : undefined;
  } catch (e) {
    return undefined;
  }
}

// captureVar sets a variable from the response, or unsets it so that later
// steps that need it count as failed; either way it is a check.
function captureVar(doc, name, path, checkName, tags) {
  const val = lookup(doc, path);
  if (val !== undefined) vars[name] = val;
  else delete vars[name];
  check(null, { [checkName]: () => val !== undefined }, tags);
}

function lookup(doc, path) {
  let cur = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (typeof k === 'number') {
      if (!Array.isArray(cur) || k >= cur.length) return undefined;
    } else if (Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, k)) {
      return undefined;
    }
    cur = cur[k];
  }
  return cur;
}

function uniform(lo, hi) {
  return lo + Math.random() * (hi - lo);
}

function exponential(mean) {
  return -Math.log(1 - Math.random()) * mean;
}

function normal(mean, sd) {
  const u = 1 - Math.random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  return Math.max(0, mean + z * sd);
}

function randomInt(lo, hi) {
  lo = Math.ceil(lo);
  hi = Math.floor(hi);
  if (hi < lo) return lo;
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

// skewedInt squares a uniform draw: about half the values fall in the
// lowest quarter of the range, as quantities do.
function skewedInt(lo, hi) {
  lo = Math.ceil(lo);
  hi = Math.floor(hi);
  if (hi < lo) return lo;
  const u = Math.random();
  return Math.min(hi, lo + Math.floor(u * u * (hi - lo + 1)));
}

function randomFloat(lo, hi, decimals) {
  const f = lo + Math.random() * (hi - lo);
  if (decimals === undefined) return f;
  const p = Math.pow(10, decimals);
  return Math.round(f * p) / p;
}

function pick(values) {
  return values[Math.floor(Math.random() * values.length)];
}

function pickWeighted(pairs) {
  let total = 0;
  for (const [, w] of pairs) total += w;
  let x = Math.random() * total;
  for (const [val, w] of pairs) {
    if (x < w) return val;
    x -= w;
  }
  return pairs[pairs.length - 1][0];
}

function uuid() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = Math.floor(Math.random() * 16);
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

const seqCounters = {};
function seq(start) {
  if (start === undefined) start = 1;
  const n = seqCounters[start] || 0;
  seqCounters[start] = n + 1;
  return start + (exec.vu.idInTest - 1) + n * SEQ_STRIDE;
}

function vu() {
  return exec.vu.idInTest;
}

function iter() {
  return exec.vu.iterationInScenario;
}

const FIRST_NAMES = ['Ada', 'Alan', 'Amara', 'Ben', 'Carla', 'Chen', 'Elena', 'Farah', 'Grace', 'Hugo', 'Ines', 'Kai', 'Leo', 'Maya', 'Noah', 'Omar', 'Priya', 'Rosa', 'Sam', 'Yara'];
const LAST_NAMES = ['Adams', 'Bauer', 'Costa', 'Dubois', 'Garcia', 'Gupta', 'Hansen', 'Kim', 'Lopez', 'Meyer', 'Nakamura', 'Okafor', 'Patel', 'Rossi', 'Santos', 'Silva', 'Tanaka', 'Walker', 'Weber', 'Zhang'];
const WORDS = ['amber', 'anchor', 'birch', 'canyon', 'cedar', 'comet', 'delta', 'ember', 'falcon', 'harbor', 'juniper', 'lagoon', 'maple', 'meadow', 'orbit', 'pebble', 'quartz', 'river', 'summit', 'willow'];
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function firstName() {
  return pick(FIRST_NAMES);
}

function lastName() {
  return pick(LAST_NAMES);
}

function fullName() {
  return firstName() + ' ' + lastName();
}

function email() {
  return firstName().toLowerCase() + '.' + lastName().toLowerCase() + randomInt(0, 99999) + '@example.com';
}

function word() {
  return pick(WORDS);
}

function randomString(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[Math.floor(Math.random() * ALNUM.length)];
  return s;
}

function now() {
  return new Date().toISOString();
}
`
