package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/scenario/generate"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// openapiLargeSize is the size from which a document is read by the large
// document path (loadLargeOpenAPI) rather than the OpenAPI library's own
// loader. The library reads every document, JSON too, through a YAML
// parser that records the origin of every node: on a 2.4 MB document with
// 4,000 operations that took 440 MB and 5 s, and it grows with the size.
// The large path decodes JSON directly (YAML is converted to JSON first),
// and records the lines of paths, operations and components itself; what
// it gives up is the document order of properties inside schemas, which
// are then listed by name. Tests lower it to compare both paths.
var openapiLargeSize = 1 << 20

// specPos is where an element of the document starts: its line, and its
// rank in document order.
type specPos struct{ line, order int }

// specIndex holds the position of the elements under /paths and
// /components down to three levels, by JSON pointer
// ("/paths/~1orders/post", "/components/schemas/Order").
type specIndex map[string]specPos

func (ix specIndex) line(pointer string) int { return ix[pointer].line }

// indexedPointer says whether an element at this pointer and depth is
// worth a position.
func indexedPointer(p string, depth int) bool {
	return depth >= 2 && depth <= 3 && (strings.HasPrefix(p, "/paths/") || strings.HasPrefix(p, "/components/"))
}

// indexJSON scans JSON text once for the keys of the elements specIndex
// holds. It trusts the text to be valid JSON: the decoder checks it.
func indexJSON(data []byte) specIndex {
	type frame struct {
		obj, expectKey bool
		// ptr is the frame's JSON pointer, "" below the indexed depth.
		ptr, key string
	}
	ix := specIndex{}
	var stack []frame
	line, order := 1, 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '\n':
			line++
		case '"':
			j, escaped := scanJSONString(data, i)
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
				top := &stack[n-1]
				top.expectKey = false
				if n <= 3 && (n == 1 || top.ptr != "") {
					key := jsonString(data, i, j, escaped)
					top.key = key
					if p := top.ptr + "/" + escapePointer(key); indexedPointer(p, n) {
						ix[p] = specPos{line: line, order: order}
						order++
					}
				}
			}
			i = j
		case '{', '[':
			ptr := ""
			if n := len(stack); n == 0 {
				ptr = ""
			} else if n < 3 && stack[n-1].obj && (n == 1 || stack[n-1].ptr != "") {
				ptr = stack[n-1].ptr + "/" + escapePointer(stack[n-1].key)
			}
			stack = append(stack, frame{obj: c == '{', expectKey: c == '{', ptr: ptr})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].obj {
				stack[n-1].expectKey = true
			}
		}
	}
	return ix
}

// scanJSONString finds the end of the string that starts at data[i] (a
// quote): j is the index of its closing quote (len(data) when there is
// none), escaped whether it holds a backslash escape.
func scanJSONString(data []byte, i int) (j int, escaped bool) {
	j = i + 1
	for j < len(data) && data[j] != '"' {
		if data[j] == '\\' {
			escaped = true
			j++
		}
		j++
	}
	return j, escaped
}

// jsonString is the value of the string scanJSONString found from i to j.
func jsonString(data []byte, i, j int, escaped bool) string {
	if !escaped {
		return string(data[i+1 : min(j, len(data))])
	}
	s := ""
	_ = json.Unmarshal(data[i:min(j+1, len(data))], &s)
	return s
}

// indexYAML records the same positions from a parsed YAML document.
func indexYAML(doc *yaml.Node) specIndex {
	ix := specIndex{}
	order := 0
	var walk func(n *yaml.Node, ptr string, depth int)
	walk = func(n *yaml.Node, ptr string, depth int) {
		if n == nil || n.Kind != yaml.MappingNode || depth > 3 {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := ptr + "/" + escapePointer(n.Content[i].Value)
			if depth == 1 || indexedPointer(p, depth) {
				if depth > 1 {
					ix[p] = specPos{line: n.Content[i].Line, order: order}
					order++
				}
				walk(n.Content[i+1], p, depth+1)
			}
		}
	}
	if doc != nil && doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		walk(doc.Content[0], "", 1)
	}
	return ix
}

// yamlToJSON writes a parsed YAML document as JSON. The values it may
// write are bounded by the size of the text, so that a document that
// expands through aliases ("billion laughs") is refused, not expanded.
func yamlToJSON(doc *yaml.Node, size int) ([]byte, error) {
	var b bytes.Buffer
	budget := 1_000_000 + size
	var write func(n *yaml.Node, depth int) error
	write = func(n *yaml.Node, depth int) error {
		budget--
		if budget < 0 {
			return errors.New("the document expands to too many values through its aliases")
		}
		if depth > 10_000 {
			return errors.New("the document is nested too deeply")
		}
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				b.WriteString("null")
				return nil
			}
			return write(n.Content[0], depth)
		case yaml.AliasNode:
			return write(n.Alias, depth+1)
		case yaml.SequenceNode:
			b.WriteByte('[')
			for i, c := range n.Content {
				if i > 0 {
					b.WriteByte(',')
				}
				if err := write(c, depth+1); err != nil {
					return err
				}
			}
			b.WriteByte(']')
		case yaml.MappingNode:
			b.WriteByte('{')
			first := true
			var entries func(m *yaml.Node, depth int) error
			entries = func(m *yaml.Node, depth int) error {
				for m.Kind == yaml.AliasNode {
					m = m.Alias
				}
				for i := 0; i+1 < len(m.Content); i += 2 {
					k, v := m.Content[i], m.Content[i+1]
					if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
						// A merge key (<<: *base) brings the entries of
						// the mapping, or mappings, it names.
						for v.Kind == yaml.AliasNode {
							v = v.Alias
						}
						ms := []*yaml.Node{v}
						if v.Kind == yaml.SequenceNode {
							ms = v.Content
						}
						for _, mm := range ms {
							if err := entries(mm, depth+1); err != nil {
								return err
							}
						}
						continue
					}
					if !first {
						b.WriteByte(',')
					}
					first = false
					kb, _ := json.Marshal(k.Value)
					b.Write(kb)
					b.WriteByte(':')
					if err := write(v, depth+1); err != nil {
						return err
					}
				}
				return nil
			}
			if err := entries(n, depth); err != nil {
				return err
			}
			b.WriteByte('}')
		case yaml.ScalarNode:
			b.Write(yamlScalarJSON(n))
		}
		return nil
	}
	if err := write(doc, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// yamlScalarJSON is a YAML scalar as JSON, by its resolved tag.
func yamlScalarJSON(n *yaml.Node) []byte {
	switch n.ShortTag() {
	case "!!null":
		return []byte("null")
	case "!!bool":
		if v, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
			return strconv.AppendBool(nil, v)
		}
	case "!!int":
		if v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return strconv.AppendInt(nil, v, 10)
		}
	case "!!float":
		if v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
			return strconv.AppendFloat(nil, v, 'g', -1, 64)
		}
	}
	s, _ := json.Marshal(n.Value)
	return s
}

// largeSpecJSON gives the JSON text of a large document and the index of
// its elements: JSON as it is, YAML (already parsed by specVersion)
// converted.
func largeSpecJSON(data []byte, node *yaml.Node, path string) ([]byte, specIndex, error) {
	if node == nil {
		return data, indexJSON(data), nil
	}
	ix := indexYAML(node)
	j, err := yamlToJSON(node, len(data))
	if err != nil {
		return nil, nil, &generate.SpecError{File: path, Msg: err.Error()}
	}
	return j, ix, nil
}

// loadLargeOpenAPI decodes the JSON text of a large document and resolves
// its references. isJSON says the text is the file's own, so that offsets
// name its lines.
func loadLargeOpenAPI(jsonData []byte, isJSON bool, ix specIndex, path string, loader *openapi3.Loader, location *url.URL) (*openapi3.T, error) {
	doc, err := decodeOpenAPIJSON(jsonData)
	if err != nil {
		return nil, decodeError(err, ix, path, jsonData, isJSON)
	}
	if err := loader.ResolveRefsIn(doc, location); err != nil {
		return nil, err
	}
	return doc, nil
}

// decodeError places an error of decoding the JSON text of a large
// document: by the pointer of the piece being decoded, else by offset.
func decodeError(err error, ix specIndex, path string, jsonData []byte, isJSON bool) error {
	se := &generate.SpecError{File: path, Msg: err.Error()}
	var pe *pieceError
	if errors.As(err, &pe) {
		se.Pointer = "#" + pe.pointer
		se.Line = ix.line(pe.pointer)
		err = pe.err
		se.Msg = err.Error()
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		if isJSON && pe == nil {
			se.Line = bytes.Count(jsonData[:min(int(syn.Offset), len(jsonData))], []byte("\n")) + 1
		}
		se.Msg = "syntax error: " + syn.Error()
	case errors.As(err, &typ):
		if isJSON && pe == nil {
			se.Line = bytes.Count(jsonData[:min(int(typ.Offset), len(jsonData))], []byte("\n")) + 1
		}
		se.Msg = fmt.Sprintf("expected %s, found %s", typ.Type, typ.Value)
	}
	return se
}

// pieceError is an error in one path item or component, with its pointer.
type pieceError struct {
	pointer string
	err     error
}

func (e *pieceError) Error() string { return e.pointer + ": " + e.err.Error() }
func (e *pieceError) Unwrap() error { return e.err }

// decodeOpenAPIJSON decodes a document one path item and one component at
// a time. The library's decoder reads each object twice, once into a
// generic map to find its extensions, and does so for the whole document
// at once: a 10 MB document held several hundred MB of maps. Piece by
// piece, only one path item's or component's map lives at a time.
func decodeOpenAPIJSON(data []byte) (*openapi3.T, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	rawPaths, rawComps := top["paths"], top["components"]
	delete(top, "paths")
	delete(top, "components")
	rest, err := json.Marshal(top)
	if err != nil {
		return nil, err
	}
	top = nil
	doc := &openapi3.T{}
	if err := json.Unmarshal(rest, doc); err != nil {
		return nil, err
	}
	if rawPaths != nil {
		var items map[string]json.RawMessage
		if err := json.Unmarshal(rawPaths, &items); err != nil {
			return nil, &pieceError{"/paths", err}
		}
		doc.Paths = openapi3.NewPaths()
		for k, raw := range items {
			if strings.HasPrefix(k, "x-") {
				var v any
				if err := json.Unmarshal(raw, &v); err != nil {
					return nil, &pieceError{"/paths/" + escapePointer(k), err}
				}
				if doc.Paths.Extensions == nil {
					doc.Paths.Extensions = map[string]any{}
				}
				doc.Paths.Extensions[k] = v
				continue
			}
			item := &openapi3.PathItem{}
			if err := json.Unmarshal(raw, item); err != nil {
				return nil, &pieceError{"/paths/" + escapePointer(k), err}
			}
			doc.Paths.Set(k, item)
		}
	}
	if rawComps != nil {
		comps, err := decodeComponents(rawComps)
		if err != nil {
			return nil, err
		}
		doc.Components = comps
	}
	return doc, nil
}

// decodeComponents decodes the big sections of components entry by entry
// and the rest as the library does.
func decodeComponents(data []byte) (*openapi3.Components, error) {
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(data, &sections); err != nil {
		return nil, &pieceError{"/components", err}
	}
	entries := func(section string, each func(name string, raw json.RawMessage) error) error {
		raw, ok := sections[section]
		if !ok {
			return nil
		}
		delete(sections, section)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return &pieceError{"/components/" + section, err}
		}
		for name, r := range m {
			if err := each(name, r); err != nil {
				return &pieceError{"/components/" + section + "/" + escapePointer(name), err}
			}
		}
		return nil
	}
	c := &openapi3.Components{}
	var (
		schemas   = openapi3.Schemas{}
		params    = openapi3.ParametersMap{}
		headers   = openapi3.Headers{}
		bodies    = openapi3.RequestBodies{}
		responses = openapi3.ResponseBodies{}
		examples  = openapi3.Examples{}
	)
	steps := []struct {
		section string
		each    func(string, json.RawMessage) error
	}{
		{"schemas", func(n string, r json.RawMessage) error {
			v := &openapi3.SchemaRef{}
			schemas[n] = v
			return json.Unmarshal(r, v)
		}},
		{"parameters", func(n string, r json.RawMessage) error {
			v := &openapi3.ParameterRef{}
			params[n] = v
			return json.Unmarshal(r, v)
		}},
		{"headers", func(n string, r json.RawMessage) error {
			v := &openapi3.HeaderRef{}
			headers[n] = v
			return json.Unmarshal(r, v)
		}},
		{"requestBodies", func(n string, r json.RawMessage) error {
			v := &openapi3.RequestBodyRef{}
			bodies[n] = v
			return json.Unmarshal(r, v)
		}},
		{"responses", func(n string, r json.RawMessage) error {
			v := &openapi3.ResponseRef{}
			responses[n] = v
			return json.Unmarshal(r, v)
		}},
		{"examples", func(n string, r json.RawMessage) error {
			v := &openapi3.ExampleRef{}
			examples[n] = v
			return json.Unmarshal(r, v)
		}},
	}
	present := map[string]bool{}
	for _, st := range steps {
		_, present[st.section] = sections[st.section]
		if err := entries(st.section, st.each); err != nil {
			return nil, err
		}
	}
	rest, err := json.Marshal(sections)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(rest, c); err != nil {
		return nil, &pieceError{"/components", err}
	}
	if present["schemas"] {
		c.Schemas = schemas
	}
	if present["parameters"] {
		c.Parameters = params
	}
	if present["headers"] {
		c.Headers = headers
	}
	if present["requestBodies"] {
		c.RequestBodies = bodies
	}
	if present["responses"] {
		c.Responses = responses
	}
	if present["examples"] {
		c.Examples = examples
	}
	return c, nil
}
