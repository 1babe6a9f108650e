package yamldoc

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/headroom-sh/headroom/model"
)

// Options are what differs between the documents headroom reads.
type Options struct {
	// Kind is the sentinel the *Error matches with errors.Is.
	Kind error
	// Empty is the message for a document with nothing in it, such as
	// "empty document: expected a scenario mapping with flows and
	// executors". Empty "" means an empty document is fine: v is left as
	// it is.
	Empty string
	// ItemKeys name the items of a list of mappings in paths by one of
	// their fields instead of their index: with ItemKeys {"kind", "name"}
	// the item `- kind: db_pool` of `resources` is `resources[db_pool]`,
	// as model.ResourcePath names it. The first key the item's type has is
	// used; an item that leaves it empty keeps its index.
	ItemKeys []string
	// AtKey shows a validation problem of a single value at its key rather
	// than at the value (problems found while decoding are always shown at
	// the value).
	AtKey bool
}

// Doc is one document being read: the problems found so far and where each
// field path was written.
type Doc struct {
	file  string
	opts  Options
	items []Item
	read  bool
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

// Limits against documents that expand without bound through aliases: a
// document may be visited at most baseVisits plus visitsPerNode times its
// own node count, and nest at most maxDepth deep.
const (
	baseVisits    = 20_000
	visitsPerNode = 20
	maxDepth      = 100
)

// Decode reads exactly one YAML (or JSON) document from data into v, a
// pointer, by the fields' yaml tags (their json names are accepted too, so
// that a document written as JSON by another tool reads back). Problems are
// collected in the returned Doc, never returned at once: call Validation
// with the result of the value's Validate, then Err.
func Decode(data []byte, file string, v any, opts Options) *Doc {
	d := &Doc{file: file, opts: opts, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	root, ok := d.parse(data)
	if !ok {
		return d
	}
	d.read = true
	if root == nil {
		return d
	}
	d.maxVisits = baseVisits + visitsPerNode*countNodes(root)
	d.decode(root, "", reflect.ValueOf(v).Elem())
	return d
}

// Read reports whether the document was read as YAML (possibly with values
// that could not be decoded): then validating the value makes sense.
func (d *Doc) Read() bool { return d.read }

// Failed reports whether any problem has been found.
func (d *Doc) Failed() bool { return len(d.items) > 0 }

// Written reports whether the document wrote the field at path (its key,
// or its list item, is there).
func (d *Doc) Written(path string) bool {
	_, ok := d.nodes[path]
	return ok
}

// Add reports a problem at the field path, shown where that field (or its
// nearest enclosing one) was written.
func (d *Doc) Add(path, format string, args ...any) {
	d.AddAt(path, path, format, args...)
}

// AddAt reports a problem about path shown at the place of another path,
// such as the index path `resources[3]` of a resource named by its kind.
func (d *Doc) AddAt(at, path, format string, args ...any) {
	it := Item{Path: path, Msg: fmt.Sprintf(format, args...)}
	it.Line, it.Column = d.position(at)
	d.items = append(d.items, it)
}

// Validation adds the problems a Validate method found (model.ValidationErrors,
// or any error as a problem of the whole document), each at its line, except
// those that follow from a problem already reported.
func (d *Doc) Validation(err error) {
	if err == nil {
		return
	}
	var verrs model.ValidationErrors
	if !errors.As(err, &verrs) {
		verrs = model.ValidationErrors{{Msg: err.Error()}}
	}
	for _, fe := range verrs {
		if d.suppressed(fe.Path) {
			continue
		}
		d.Add(fe.Path, "%s", fe.Msg)
	}
}

// Err returns every problem, in document order, as an *Error; nil when
// there is none.
func (d *Doc) Err() error {
	if len(d.items) == 0 {
		return nil
	}
	sort.SliceStable(d.items, func(i, j int) bool {
		a, b := d.items[i], d.items[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return &Error{File: d.file, Kind: d.opts.Kind, Items: d.items}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads exactly one YAML document into a node tree; the root is nil
// for an empty document that Options allow.
func (d *Doc) parse(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if err != nil && !errors.Is(err, io.EOF) {
		d.syntax(err)
		return nil, false
	}
	if err != nil || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		if d.opts.Empty == "" {
			return nil, true
		}
		it := Item{Msg: d.opts.Empty}
		if len(data) > 0 {
			it.Line, it.Column = 1, 1
		}
		d.items = append(d.items, it)
		return nil, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d.items = append(d.items, Item{Line: extra.Line, Column: extra.Column,
			Msg: "a second YAML document: a file holds one YAML document (remove the \"---\" separator)"})
		return nil, false
	case !errors.Is(err, io.EOF):
		d.syntax(err)
		return nil, false
	}
	return doc.Content[0], true
}

func (d *Doc) syntax(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.items = append(d.items, Item{Line: line, Msg: "invalid YAML: " + m[2]})
		return
	}
	d.items = append(d.items, Item{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")})
}

// countNodes counts the nodes written in the document, not following aliases.
func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

func (d *Doc) errorAt(n *yaml.Node, path, format string, args ...any) {
	d.items = append(d.items, Item{Line: n.Line, Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// bad reports a value that could not be read.
func (d *Doc) bad(n *yaml.Node, path, format string, args ...any) {
	d.badValue = append(d.badValue, path)
	d.markProblemIn(parentPath(path))
	d.errorAt(n, path, format, args...)
}

// enter counts a visit and reports whether decoding may go on.
func (d *Doc) enter(n *yaml.Node, path string) bool {
	d.visits++
	if d.visits > d.maxVisits || d.depth > maxDepth {
		if !d.tooBig {
			d.tooBig = true
			d.bad(n, path, "the document nests or expands (through aliases) too deeply to be read")
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

func isNull(n *yaml.Node) bool {
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

var textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// expected says what a value of a type that reads itself from text looks
// like, for "expected …, got a list".
var expected = map[reflect.Type]string{
	reflect.TypeOf(model.Duration(0)): `a duration such as "30s" or "1m30s"`,
	reflect.TypeOf(model.Threshold{}): `a threshold expression such as "p(95)<800" or a mapping (threshold, abortOnFail, delayAbortEval)`,
	reflect.TypeOf(model.CPU(0)):      `a CPU quantity: cores such as 0.5 or 2, or millicores such as 500m`,
	reflect.TypeOf(model.Bytes(0)):    `a memory quantity such as 512Mi, 1Gi or 2G`,
}

func readsText(v reflect.Value) bool {
	return v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType)
}

// decode fills v from n.
func (d *Doc) decode(n *yaml.Node, path string, v reflect.Value) {
	n = resolveAlias(n)
	if n == nil || !d.enter(n, path) {
		return
	}
	d.depth++
	defer func() { d.depth-- }()
	if _, seen := d.nodes[path]; !seen {
		d.nodes[path] = n
	}
	if isNull(n) {
		return
	}
	t := v.Type()
	if readsText(v) && (n.Kind == yaml.ScalarNode || t.Kind() != reflect.Struct) {
		if n.Kind != yaml.ScalarNode {
			what, ok := expected[t]
			if !ok {
				what = "a single value"
			}
			d.bad(n, path, "expected %s, got %s", what, describe(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.bad(n, path, "%s", err.Error())
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			what, ok := expected[t]
			if !ok {
				_, names := fieldsOf(t)
				what = "a mapping with keys " + strings.Join(names, ", ")
			}
			d.bad(n, path, "expected %s, got %s", what, describe(n))
			return
		}
		d.decodeStruct(n, path, v)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, path, v.Elem())
	case reflect.Slice:
		d.decodeSlice(n, path, v)
	case reflect.Map:
		d.decodeMap(n, path, v)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			d.bad(n, path, "cannot decode into %s", t)
			return
		}
		if a := d.decodeAny(n, path); a != nil {
			v.Set(reflect.ValueOf(a))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.bad(n, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := wholeNumber(n)
		if !ok {
			d.bad(n, path, "expected a whole number, got %s", describe(n))
			return
		}
		if v.OverflowInt(i) {
			d.bad(n, path, "%s is too large", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, ok := wholeNumber(n)
		if !ok || i < 0 {
			d.bad(n, path, "expected a whole number ≥ 0, got %s", describe(n))
			return
		}
		if v.OverflowUint(uint64(i)) {
			d.bad(n, path, "%s is too large", n.Value)
			return
		}
		v.SetUint(uint64(i))
	case reflect.Float64, reflect.Float32:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
			hint := ""
			if n.Kind == yaml.ScalarNode && strings.HasSuffix(strings.TrimSpace(n.Value), "%") {
				hint = " (write ratios as fractions: 0.7, not 70%)"
			}
			d.bad(n, path, "expected a number, got %s%s", describe(n), hint)
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
			d.bad(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		d.bad(n, path, "cannot decode into %s", t)
	}
}

// wholeNumber reads an integer; "2.0" is accepted where a whole number is
// expected.
func wholeNumber(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	var i int64
	if n.Tag == "!!int" && n.Decode(&i) == nil {
		return i, true
	}
	var f float64
	if n.Tag != "!!float" || n.Decode(&f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// oneOf reports whether a single value may stand for a one-item list of t:
// `status: 200`, `http_req_duration: p(95)<800`.
func oneOf(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Int, reflect.Int64, reflect.Float64, reflect.Bool:
		return true
	}
	return reflect.PointerTo(t).Implements(textUnmarshalerType)
}

func (d *Doc) decodeSlice(n *yaml.Node, path string, v reflect.Value) {
	t := v.Type()
	if n.Kind == yaml.ScalarNode && oneOf(t.Elem()) {
		elem := reflect.New(t.Elem()).Elem()
		d.decode(n, path+"[0]", elem)
		v.Set(reflect.Append(reflect.MakeSlice(t, 0, 1), elem))
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.bad(n, path, "expected a list, got %s", describe(n))
		return
	}
	out := reflect.MakeSlice(t, len(n.Content), len(n.Content))
	for i, c := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		if id := d.itemID(c, t.Elem()); id != "" {
			// The index path finds the item too (AddAt).
			if _, seen := d.nodes[ip]; !seen {
				d.nodes[ip] = resolveAlias(c)
			}
			ip = path + "[" + id + "]"
		}
		d.decode(c, ip, out.Index(i))
	}
	v.Set(out)
}

// itemID names a list item by the first of Options.ItemKeys its type has.
func (d *Doc) itemID(n *yaml.Node, t reflect.Type) string {
	n = resolveAlias(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if len(d.opts.ItemKeys) == 0 || n == nil || n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return ""
	}
	byName, _ := fieldsOf(t)
	for _, key := range d.opts.ItemKeys {
		if _, ok := byName[key]; !ok {
			continue
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := resolveAlias(n.Content[i]), resolveAlias(n.Content[i+1])
			if k != nil && val != nil && k.Value == key && val.Kind == yaml.ScalarNode && !isNull(val) {
				return val.Value
			}
		}
		return ""
	}
	return ""
}

func (d *Doc) decodeMap(n *yaml.Node, path string, v reflect.Value) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.bad(n, path, "cannot decode into %s", t)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.bad(n, path, "expected a mapping of names to values, got %s", describe(n))
		return
	}
	out := reflect.MakeMap(t)
	d.entries(n, path, func(k, ep string, value *yaml.Node) {
		elem := reflect.New(t.Elem()).Elem()
		d.decode(value, ep, elem)
		out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), elem)
	})
	v.Set(out)
}

// entries calls f with each entry of the mapping n (merge keys expanded)
// and its path `path["key"]`; a key written twice is reported and skipped.
func (d *Doc) entries(n *yaml.Node, path string, f func(key, entryPath string, value *yaml.Node)) {
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
		f(k, ep, kv.value)
	}
}

type nodePair struct{ key, value *yaml.Node }

// pairs lists a mapping's entries with YAML merge keys ("<<: *base")
// expanded; explicit entries win over merged ones.
func (d *Doc) pairs(n *yaml.Node, path string) []nodePair {
	var explicit, merged []nodePair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.bad(k, path, "a key must be a plain name, got %s", describe(k))
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
			if len(maps) == 0 {
				d.bad(k, path, "a merge (<<) takes a mapping or a list of mappings")
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

// field is one struct field as written in documents.
type field struct {
	index []int
	name  string // the YAML name
}

// fieldsOf maps YAML and JSON names to fields (those of `,inline` structs
// included), and lists the YAML names.
func fieldsOf(t reflect.Type) (map[string]field, []string) {
	byName := map[string]field{}
	var names []string
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			y, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			index := append(append([]int(nil), prefix...), i)
			if y == "" && strings.Contains(","+opts+",", ",inline,") && sf.Type.Kind() == reflect.Struct && (sf.IsExported() || sf.Anonymous) {
				walk(sf.Type, index)
				continue
			}
			if !sf.IsExported() || y == "-" {
				continue
			}
			if y == "" {
				y = strings.ToLower(sf.Name)
			}
			f := field{index: index, name: y}
			byName[y] = f
			names = append(names, y)
			if j, _, _ := strings.Cut(sf.Tag.Get("json"), ","); j != "" && j != "-" {
				if _, taken := byName[j]; !taken {
					byName[j] = f
				}
			}
		}
	}
	walk(t, nil)
	return byName, names
}

func (d *Doc) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	byName, names := fieldsOf(v.Type())
	seen := map[string]*yaml.Node{}
	for _, kv := range d.pairs(n, path) {
		k := kv.key.Value
		f, ok := byName[k]
		if !ok {
			d.markProblemIn(path)
			msg := fmt.Sprintf("unknown field %q", k)
			if sug := model.Suggest(k, names); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			d.errorAt(kv.key, fieldPath(path, k), "%s; expected one of %s", msg, strings.Join(names, ", "))
			continue
		}
		fp := fieldPath(path, f.name)
		if prev, dup := seen[f.name]; dup {
			d.bad(kv.key, fp, "duplicate key %q (first written at line %d)", k, prev.Line)
			continue
		}
		seen[f.name] = kv.key
		d.keys[fp] = kv.key
		d.decode(kv.value, fp, v.FieldByIndex(f.index))
	}
}

// decodeAny reads a free-form value: string, int64, float64, bool, nil,
// []any or map[string]any.
func (d *Doc) decodeAny(n *yaml.Node, path string) any {
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
		d.entries(n, path, func(k, ep string, value *yaml.Node) { m[k] = d.decodeAny(value, ep) })
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
func (d *Doc) markProblemIn(path string) {
	if d.problemIn == nil {
		d.problemIn = map[string]bool{}
	}
	d.problemIn[path] = true
}

// position is where a problem at path is shown: the value for a single
// value (its key with Options.AtKey), the key for a list or mapping, or
// the nearest enclosing field written in the document when path itself is
// not.
func (d *Doc) position(path string) (int, int) {
	for p := path; ; p = parentPath(p) {
		if n, ok := d.nodes[p]; ok {
			if k, hasKey := d.keys[p]; hasKey && (d.opts.AtKey || n.Kind != yaml.ScalarNode || isNull(n)) {
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
func (d *Doc) suppressed(path string) bool {
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

// describe shows a node briefly for "got …" in messages.
func describe(n *yaml.Node) string {
	n = resolveAlias(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" || n.Tag == "" {
			return truncate(strconv.Quote(n.Value))
		}
		return truncate(n.Value)
	case yaml.SequenceNode:
		return "a list " + truncate(flowText(n, 0))
	case yaml.MappingNode:
		return "a mapping " + truncate(flowText(n, 0))
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

func truncate(s string) string {
	const max = 60
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
