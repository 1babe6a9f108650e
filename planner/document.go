package planner

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/headroom-sh/headroom/model"
)

// Sentinels matched with errors.Is by every *DocumentError of that kind.
var (
	// ErrInvalidTopology: a topology file was read but its content is wrong.
	ErrInvalidTopology = errors.New("invalid topology")
	// ErrInvalidPrices: a price catalog was read but its content is wrong.
	ErrInvalidPrices = errors.New("invalid price catalog")
)

// DocumentError is every problem found in one topology or price file, each
// with its line and the field it concerns.
type DocumentError struct {
	// File is the name the problems are reported under.
	File string
	// Kind is ErrInvalidTopology or ErrInvalidPrices.
	Kind  error
	Items []DocumentErrorItem
}

// DocumentErrorItem is one problem: where it is and what was expected.
type DocumentErrorItem struct {
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Path names the field with the YAML keys a user writes, such as
	// `database.max_connections` or `entries[3].price`; empty for problems
	// of the document as a whole.
	Path string
	Msg  string
}

// String formats the item as "line:col: path: message".
func (it DocumentErrorItem) String() string {
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

// Error lists every problem on its own line as "file:line:col: path: message".
func (e *DocumentError) Error() string {
	lines := make([]string, len(e.Items))
	for i, it := range e.Items {
		sep := ":"
		if it.Line == 0 {
			sep = ": "
		}
		lines[i] = e.File + sep + it.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalidTopology) (or ErrInvalidPrices) true.
func (e *DocumentError) Is(target error) bool { return target == e.Kind }

// document decodes one YAML (or JSON) document into a struct by its yaml
// tags, strictly: unknown keys, wrong types and duplicate keys are errors
// with their line. It remembers where each field was so that validation
// errors, which name fields by path, can be given a line too.
type document struct {
	file  string
	kind  error
	items []DocumentErrorItem
	// nodes maps a field path to its value node, keys to its key node.
	nodes map[string]*yaml.Node
	keys  map[string]*yaml.Node
}

func newDocument(file string, kind error) *document {
	return &document{file: file, kind: kind, nodes: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads data into v (a pointer to a struct). It returns false when
// the YAML itself could not be read.
func (d *document) parse(data []byte, v any) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if err == io.EOF {
			d.items = append(d.items, DocumentErrorItem{Msg: "the file is empty"})
			return false
		}
		it := DocumentErrorItem{Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			it.Line, _ = strconv.Atoi(m[1])
			it.Msg = m[2]
		}
		d.items = append(d.items, it)
		return false
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		d.items = append(d.items, DocumentErrorItem{Line: next.Line, Column: next.Column, Msg: "a second YAML document: expected exactly one"})
		return false
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if isNull(n) {
		d.items = append(d.items, DocumentErrorItem{Line: n.Line, Msg: "the file is empty"})
		return false
	}
	d.decode(n, "", reflect.ValueOf(v).Elem())
	return true
}

func (d *document) bad(n *yaml.Node, path, format string, args ...any) {
	it := DocumentErrorItem{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		it.Line, it.Column = n.Line, n.Column
	}
	d.items = append(d.items, it)
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

var textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

func (d *document) decode(n *yaml.Node, path string, v reflect.Value) {
	n = resolve(n)
	if path != "" {
		d.nodes[path] = n
	}
	if isNull(n) {
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType) {
		if n.Kind != yaml.ScalarNode {
			d.bad(n, path, "expected a single value, got %s", describe(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.bad(n, path, "%s", err.Error())
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, path, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.bad(n, path, "expected a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, fmt.Sprintf("%s[%d]", path, i), s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.bad(n, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if n.Kind != yaml.ScalarNode || err != nil {
			if f, ferr := strconv.ParseFloat(n.Value, 64); n.Kind == yaml.ScalarNode && ferr == nil && f == float64(int64(f)) {
				v.SetInt(int64(f))
				return
			}
			d.bad(n, path, "expected a whole number, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if n.Kind != yaml.ScalarNode || err != nil || n.Tag == "!!bool" {
			hint := ""
			if n.Kind == yaml.ScalarNode && strings.HasSuffix(strings.TrimSpace(n.Value), "%") {
				hint = " (write ratios as fractions: 0.7, not 70%)"
			}
			d.bad(n, path, "expected a number, got %s%s", describe(n), hint)
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			d.bad(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		d.bad(n, path, "cannot read a %s here", v.Type())
	}
}

// fieldsOf maps a struct type's yaml keys to field indexes.
func fieldsOf(t reflect.Type) (map[string]int, []string) {
	m := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
		names = append(names, name)
	}
	return m, names
}

func (d *document) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.bad(n, path, "expected a mapping of keys to values, got %s", describe(n))
		return
	}
	fields, names := fieldsOf(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.bad(k, path, "expected a key, got %s", describe(k))
			continue
		}
		key := k.Value
		p := key
		if path != "" {
			p = path + "." + key
		}
		if prev, dup := seen[key]; dup {
			d.bad(k, p, "is given twice (first on line %d)", prev.Line)
			continue
		}
		seen[key] = k
		idx, ok := fields[key]
		if !ok {
			msg := fmt.Sprintf("unknown field %q", key)
			if s := model.Suggest(key, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.bad(k, p, "%s; expected one of %s", msg, strings.Join(names, ", "))
			continue
		}
		d.keys[p] = k
		d.decode(val, p, v.Field(idx))
	}
}

// describe names a node for an error: its value for scalars.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		return strconv.Quote(v)
	}
	return "nothing"
}

// position finds the line of a field path, falling back to its parents
// (a missing field is reported at the mapping that should hold it).
func (d *document) position(path string) (int, int) {
	for p := path; p != ""; p = parentPath(p) {
		if k, ok := d.keys[p]; ok {
			return k.Line, k.Column
		}
		if n, ok := d.nodes[p]; ok && n != nil {
			return n.Line, n.Column
		}
	}
	return 0, 0
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// suppressed reports whether a problem was already reported at path or a
// parent (a value that could not be read is not validated again).
func (d *document) suppressed(path string) bool {
	for _, it := range d.items {
		if it.Path == "" {
			continue
		}
		for p := path; p != ""; p = parentPath(p) {
			if it.Path == p {
				return true
			}
		}
	}
	return false
}

// addValidation appends the problems Validate found, with their lines.
func (d *document) addValidation(err error) {
	if err == nil {
		return
	}
	var verrs model.ValidationErrors
	if !errors.As(err, &verrs) {
		d.items = append(d.items, DocumentErrorItem{Msg: err.Error()})
		return
	}
	for _, fe := range verrs {
		if d.suppressed(fe.Path) {
			continue
		}
		it := DocumentErrorItem{Path: fe.Path, Msg: fe.Msg}
		it.Line, it.Column = d.position(fe.Path)
		d.items = append(d.items, it)
	}
}

// err returns the collected problems as a *DocumentError, or nil.
func (d *document) err() error {
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
	return &DocumentError{File: d.file, Kind: d.kind, Items: d.items}
}

// ParseTopology decodes a topology document (YAML, or JSON), applies
// model.Topology.SetDefaults and Validate, and returns the topology or a
// *DocumentError naming filename, line and field of every problem. It does
// no I/O: the caller reads the file.
func ParseTopology(data []byte, filename string) (*model.Topology, error) {
	if filename == "" {
		filename = "topology"
	}
	d := newDocument(filename, ErrInvalidTopology)
	t := &model.Topology{}
	if d.parse(data, t) {
		t.SetDefaults()
		d.addValidation(t.Validate())
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return t, nil
}
