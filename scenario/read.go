package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/headroom-sh/headroom/model"
	"go.yaml.in/yaml/v3"

	"github.com/headroom-sh/headroom/internal/readfile"
)

// DefaultTarget is where generated scenarios send load unless told otherwise.
const DefaultTarget = "http://127.0.0.1:8080"

// ErrInvalid is matched (with errors.Is) by every *Error: the scenario file
// was read but its content is wrong.
var ErrInvalid = errors.New("invalid scenario")

// Error is every problem found in one scenario file, each with its place.
type Error struct {
	// File is the name the problems are reported under.
	File  string
	Items []ErrorItem
}

// ErrorItem is one problem: where it is and what was expected.
type ErrorItem struct {
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Path names the field as in model.FieldError: `flows[0].steps[1].method`.
	// It is empty for problems of the document as a whole.
	Path string
	Msg  string
}

// String formats the item as "line:col: path: message" (without the file).
func (it ErrorItem) String() string {
	var b strings.Builder
	if it.Line > 0 {
		b.WriteString(strconv.Itoa(it.Line))
		if it.Column > 0 {
			b.WriteString(":" + strconv.Itoa(it.Column))
		}
		b.WriteString(": ")
	}
	if it.Path != "" {
		b.WriteString(it.Path + ": ")
	}
	b.WriteString(it.Msg)
	return b.String()
}

// Error lists every problem on its own line as
// "file:line:col: path: message".
func (e *Error) Error() string {
	lines := make([]string, len(e.Items))
	for i, it := range e.Items {
		lines[i] = e.File + ":" + it.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// MaxScenarioBytes bounds a scenario file: generated scenarios of
// thousands of endpoints stay far below it.
const MaxScenarioBytes = 32 << 20

// ReadFile reads, defaults and validates a scenario file (YAML or JSON).
// A file that cannot be read gives a wrapped os error; a file whose content
// is wrong gives an *Error listing every problem with its line.
func ReadFile(path string) (*model.Scenario, error) {
	data, err := readfile.Read(path, MaxScenarioBytes)
	if err != nil {
		return nil, fmt.Errorf("could not read scenario %q: %w", path, err)
	}
	return Parse(data, path)
}

// Parse decodes a scenario document (YAML, or JSON, which YAML includes),
// applies model.Scenario.SetDefaults and model.Scenario.Validate, and
// returns the scenario or an *Error naming filename, line, column and field
// of every problem. Keys are the camelCase YAML names of model.Scenario; the
// snake_case JSON names are accepted too, so a scenario written as JSON by
// another tool reads back. A threshold is a bare expression ("p(95)<800")
// or an object {threshold, abortOnFail, delayAbortEval}.
func Parse(data []byte, filename string) (*model.Scenario, error) {
	if filename == "" {
		filename = "scenario"
	}
	root, item := parseYAML(data)
	if item != nil {
		return nil, &Error{File: filename, Items: []ErrorItem{*item}}
	}
	d := &decoder{nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	d.maxVisits = baseVisits + visitsPerNode*countNodes(root)
	s := &model.Scenario{}
	d.decode(root, "", reflect.ValueOf(s).Elem())

	s.SetDefaults()
	if err := s.Validate(); err != nil {
		var verrs model.ValidationErrors
		if !errors.As(err, &verrs) {
			verrs = model.ValidationErrors{{Msg: err.Error()}}
		}
		for _, fe := range verrs {
			if d.suppressed(fe.Path) {
				continue
			}
			it := ErrorItem{Path: fe.Path, Msg: fe.Msg}
			it.Line, it.Column = d.position(fe.Path)
			d.items = append(d.items, it)
		}
	}
	if len(d.items) == 0 {
		return s, nil
	}
	sort.SliceStable(d.items, func(i, j int) bool {
		a, b := d.items[i], d.items[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return nil, &Error{File: filename, Items: d.items}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML reads exactly one YAML document into a node tree.
func parseYAML(data []byte) (*yaml.Node, *ErrorItem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ErrorItem{Line: 1, Column: 1, Msg: "empty document: expected a scenario mapping with flows and executors"}
		}
		return nil, syntaxItem(err)
	}
	if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
		return nil, &ErrorItem{Line: 1, Column: 1, Msg: "empty document: expected a scenario mapping with flows and executors"}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &ErrorItem{Line: extra.Line, Column: extra.Column, Msg: "a scenario file holds one YAML document; found a second one (remove the \"---\" separator)"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxItem(err)
	}
	return doc.Content[0], nil
}

func syntaxItem(err error) *ErrorItem {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ErrorItem{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &ErrorItem{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// Limits against documents that expand without bound through aliases: a
// document may be visited at most baseVisits plus visitsPerNode times its
// own node count, and nest at most maxDepth deep.
const (
	baseVisits    = 20_000
	visitsPerNode = 20
	maxDepth      = 100
)

// countNodes counts the nodes written in the document, not following aliases.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

// decoder turns a node tree into model values, recording where each field
// path was written so that validation problems can be given a line.
type decoder struct {
	items []ErrorItem
	// nodes maps a field path to its value node; keys to its key node.
	nodes map[string]*yaml.Node
	keys  map[string]*yaml.Node
	// problemIn holds the paths of mappings that had an unknown key or a
	// value that could not be read, and badValue the paths of those values.
	problemIn map[string]bool
	badValue  []string
	visits    int
	maxVisits int
	depth     int
	tooBig    bool
}

var (
	durationType  = reflect.TypeOf(model.Duration(0))
	thresholdType = reflect.TypeOf(model.Threshold{})
)

func (d *decoder) errorAt(n *yaml.Node, path, format string, args ...any) {
	d.items = append(d.items, ErrorItem{Line: n.Line, Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) bad(n *yaml.Node, path, format string, args ...any) {
	d.badValue = append(d.badValue, path)
	d.markProblemIn(parentPath(path))
	d.errorAt(n, path, format, args...)
}

// enter counts a visit and reports whether decoding may go on.
func (d *decoder) enter(n *yaml.Node, path string) bool {
	d.visits++
	if d.visits > d.maxVisits || d.depth > maxDepth {
		if !d.tooBig {
			d.tooBig = true
			d.bad(n, path, "the document nests or expands (through aliases) too deeply to be a scenario")
		}
		return false
	}
	return true
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNullNode(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func fieldPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func entryPath(parent, key string) string {
	return parent + "[" + strconv.Quote(key) + "]"
}

// decode fills v from n.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	n = resolveAlias(n)
	if n == nil || !d.enter(n, path) {
		return
	}
	d.depth++
	defer func() { d.depth-- }()
	if _, seen := d.nodes[path]; !seen {
		d.nodes[path] = n
	}
	if isNullNode(n) {
		return
	}
	t := v.Type()
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			d.bad(n, path, "expected a duration such as \"30s\" or \"1m30s\", got %s", describeNode(n))
			return
		}
		dur, err := model.ParseDuration(n.Value)
		if err != nil {
			d.bad(n, path, "%s", err.Error())
			return
		}
		v.SetInt(int64(dur))
		return
	case t == thresholdType && n.Kind == yaml.ScalarNode:
		v.Set(reflect.ValueOf(model.Threshold{Expr: n.Value}))
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			what := "a mapping of " + docTypeName(t) + " fields (" + strings.Join(docFieldNames(t), ", ") + ")"
			if t == thresholdType {
				what = "a threshold expression such as \"p(95)<800\" or a mapping (threshold, abortOnFail, delayAbortEval)"
			}
			d.bad(n, path, "expected %s, got %s", what, describeNode(n))
			return
		}
		d.decodeStruct(n, path, v)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, path, v.Elem())
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && (isScalarKindOf(t.Elem().Kind()) || t.Elem() == thresholdType) {
			// A single value stands for a one-item list: `status: 200`,
			// `http_req_duration: p(95)<800`.
			elem := reflect.New(t.Elem()).Elem()
			d.decode(n, path+"[0]", elem)
			v.Set(reflect.Append(reflect.MakeSlice(t, 0, 1), elem))
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.bad(n, path, "expected a list, got %s", describeNode(n))
			return
		}
		out := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, fmt.Sprintf("%s[%d]", path, i), out.Index(i))
		}
		v.Set(out)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.bad(n, path, "expected a mapping of names to values, got %s", describeNode(n))
			return
		}
		out := reflect.MakeMap(t)
		first := map[string]*yaml.Node{}
		for _, kv := range d.pairs(n, path) {
			k := kv.key.Value
			if prev, dup := first[k]; dup {
				d.bad(kv.key, entryPath(path, k), "duplicate key %q (first written at line %d)", k, prev.Line)
				continue
			}
			first[k] = kv.key
			ep := entryPath(path, k)
			d.keys[ep] = kv.key
			elem := reflect.New(t.Elem()).Elem()
			d.decode(kv.value, ep, elem)
			out.SetMapIndex(reflect.ValueOf(k), elem)
		}
		v.Set(out)
	case reflect.Interface:
		v.Set(reflect.ValueOf(d.decodeAny(n, path)))
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.bad(n, path, "expected a string, got %s", describeNode(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64, reflect.Int32:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			if f, ok := wholeFloatOf(n); ok {
				i = f
			} else {
				d.bad(n, path, "expected a whole number, got %s", describeNode(n))
				return
			}
		}
		if v.OverflowInt(i) {
			d.bad(n, path, "%s is too large", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64, reflect.Float32:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
			d.bad(n, path, "expected a number, got %s", describeNode(n))
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.bad(n, path, "expected a finite number, got %s", n.Value)
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.bad(n, path, "expected true or false, got %s", describeNode(n))
			return
		}
		v.SetBool(b)
	default:
		d.bad(n, path, "cannot decode into %s", t)
	}
}

// wholeFloat accepts "2.0" where a whole number is expected.
func wholeFloatOf(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!float" {
		return 0, false
	}
	var f float64
	if n.Decode(&f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func isScalarKindOf(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Int, reflect.Int64, reflect.Float64, reflect.Bool:
		return true
	}
	return false
}

type nodePair struct{ key, value *yaml.Node }

// pairs lists a mapping's entries with YAML merge keys ("<<: *base")
// expanded; explicit entries win over merged ones.
func (d *decoder) pairs(n *yaml.Node, path string) []nodePair {
	var explicit, merged []nodePair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.bad(k, path, "a key must be a plain name, got %s", describeNode(k))
			continue
		}
		if k.Tag == "!!merge" {
			src := resolveAlias(val)
			if src == nil || !d.enter(src, path) {
				continue
			}
			var maps []*yaml.Node
			switch src.Kind {
			case yaml.MappingNode:
				maps = []*yaml.Node{src}
			case yaml.SequenceNode:
				for _, c := range src.Content {
					maps = append(maps, resolveAlias(c))
				}
			}
			for _, m := range maps {
				if m == nil || m.Kind != yaml.MappingNode {
					d.bad(k, path, "a merge (<<) takes a mapping or a list of mappings")
					continue
				}
				d.depth++
				merged = append(merged, d.pairs(m, path)...)
				d.depth--
			}
			continue
		}
		explicit = append(explicit, nodePair{k, val})
	}
	if len(merged) == 0 {
		return explicit
	}
	have := map[string]bool{}
	for _, p := range explicit {
		have[p.key.Value] = true
	}
	out := explicit
	for _, p := range merged {
		if !have[p.key.Value] {
			have[p.key.Value] = true
			out = append(out, p)
		}
	}
	return out
}

// docField is one struct field as written in documents.
type docField struct {
	index int
	name  string // YAML name
}

// fieldsOf maps YAML and JSON names to fields, and lists the YAML names.
func docFieldsOf(t reflect.Type) (map[string]docField, []string) {
	byName := map[string]docField{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		y := yamlTagName(sf.Tag.Get("yaml"))
		if y == "-" {
			continue
		}
		if y == "" {
			y = strings.ToLower(sf.Name)
		}
		f := docField{index: i, name: y}
		byName[y] = f
		names = append(names, y)
		if j := yamlTagName(sf.Tag.Get("json")); j != "" && j != "-" {
			if _, taken := byName[j]; !taken {
				byName[j] = f
			}
		}
	}
	return byName, names
}

func yamlTagName(tag string) string {
	name, _, _ := strings.Cut(tag, ",")
	return name
}

func docFieldNames(t reflect.Type) []string {
	_, names := docFieldsOf(t)
	return names
}

func docTypeName(t reflect.Type) string {
	return strings.ToLower(t.Name())
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	byName, names := docFieldsOf(v.Type())
	seen := map[int]*yaml.Node{}
	for _, kv := range d.pairs(n, path) {
		k := kv.key.Value
		f, ok := byName[k]
		if !ok {
			d.markProblemIn(path)
			msg := fmt.Sprintf("unknown field %q in %s", k, docTypeName(v.Type()))
			if sug := model.Suggest(k, names); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			d.errorAt(kv.key, fieldPath(path, k), "%s; expected one of %s", msg, strings.Join(names, ", "))
			continue
		}
		fp := fieldPath(path, f.name)
		if prev, dup := seen[f.index]; dup {
			d.bad(kv.key, fp, "duplicate key %q (first written at line %d)", k, prev.Line)
			continue
		}
		seen[f.index] = kv.key
		d.keys[fp] = kv.key
		d.decode(kv.value, fp, v.Field(f.index))
	}
}

// decodeAny reads a body value: string, int64, float64, bool, nil,
// []any or map[string]any.
func (d *decoder) decodeAny(n *yaml.Node, path string) any {
	n = resolveAlias(n)
	if n == nil || !d.enter(n, path) {
		return nil
	}
	d.depth++
	defer func() { d.depth-- }()
	if _, seen := d.nodes[path]; !seen {
		d.nodes[path] = n
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		first := map[string]*yaml.Node{}
		for _, kv := range d.pairs(n, path) {
			k := kv.key.Value
			ep := entryPath(path, k)
			if prev, dup := first[k]; dup {
				d.bad(kv.key, ep, "duplicate key %q (first written at line %d)", k, prev.Line)
				continue
			}
			first[k] = kv.key
			d.keys[ep] = kv.key
			m[k] = d.decodeAny(kv.value, ep)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = d.decodeAny(c, fmt.Sprintf("%s[%d]", path, i))
		}
		return l
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b
			}
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return i
			}
			var f float64
			if n.Decode(&f) == nil {
				return f
			}
		case "!!float":
			var f float64
			if n.Decode(&f) == nil {
				if math.IsNaN(f) || math.IsInf(f, 0) {
					d.bad(n, path, "%s is not a JSON number", n.Value)
					return nil
				}
				return f
			}
		}
		return n.Value
	}
	return nil
}

// markProblemIn records that the mapping at path had a key or value that
// could not be read.
func (d *decoder) markProblemIn(path string) {
	if d.problemIn == nil {
		d.problemIn = map[string]bool{}
	}
	d.problemIn[path] = true
}

// position is where a validation problem at path is shown: the value for a
// scalar, the key for a list or mapping, or the nearest enclosing field
// written in the document when path itself is not.
func (d *decoder) position(path string) (int, int) {
	for p := path; ; p = parentPath(p) {
		n, ok := d.nodes[p]
		if ok {
			if k, hasKey := d.keys[p]; hasKey && (n.Kind != yaml.ScalarNode || isNullNode(n)) {
				n = k
			}
			return n.Line, n.Column
		}
		if p == "" {
			return 0, 0
		}
	}
}

// suppressed reports whether a validation problem at path follows from a
// decoding problem already reported: a value that could not be read, or a
// field missing from a mapping that had an unknown (likely misspelt) key or
// an unreadable value (so the field was probably meant to be there).
func (d *decoder) suppressed(path string) bool {
	for _, b := range d.badValue {
		if path == b || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return true
		}
	}
	if _, written := d.nodes[path]; written {
		return false
	}
	for p := parentPath(path); ; p = parentPath(p) {
		if _, ok := d.nodes[p]; ok {
			return d.problemIn[p]
		}
		if p == "" {
			return false
		}
	}
}

// parentPath drops the last segment of a field path: `a.b[0]["k"]` →
// `a.b[0]` → `a.b` → `a` → "".
func parentPath(p string) string {
	last := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '.':
			last = i
		case '[':
			last = i
			if i+1 < len(p) && p[i+1] == '"' {
				if q, err := strconv.QuotedPrefix(p[i+1:]); err == nil {
					i += len(q)
				}
			}
		}
	}
	return p[:last]
}

// describe shows a node briefly for "got ..." in messages.
func describeNode(n *yaml.Node) string {
	n = resolveAlias(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" || n.Tag == "" {
			return truncateText(strconv.Quote(n.Value))
		}
		return truncateText(n.Value)
	case yaml.SequenceNode:
		return "a list " + truncateText(flowText(n, 0))
	case yaml.MappingNode:
		return "a mapping " + truncateText(flowText(n, 0))
	}
	return "an unexpected node"
}

func flowText(n *yaml.Node, depth int) string {
	n = resolveAlias(n)
	if n == nil || depth > 3 {
		return "…"
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value
	case yaml.SequenceNode:
		parts := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			parts = append(parts, flowText(c, depth+1))
			if len(parts) > 8 {
				parts = append(parts, "…")
				break
			}
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case yaml.MappingNode:
		var parts []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			parts = append(parts, flowText(n.Content[i], depth+1)+": "+flowText(n.Content[i+1], depth+1))
			if len(parts) > 8 {
				parts = append(parts, "…")
				break
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return "…"
}

func truncateText(s string) string {
	const max = 60
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
