package openapi

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The OpenAPI library decodes a schema by decoding its whole text twice
// (into its fields, and into a map to find extensions), and each schema
// inside it again the same way: a schema nested n deep is decoded about 2n
// times. decodeSchemaRef gives the library each schema with its
// subschemas (properties, items, allOf, oneOf, anyOf, not) written as {},
// decodes those itself the same way, and puts them in place: the same
// objects, each byte decoded a few times. Anything unusual (a $ref, keys
// that differ only in case, duplicate keys, an error) is left whole to the
// library.

// jsonMember is a member of a JSON object: its key, and where its key and
// value are in the text.
type jsonMember struct {
	key                  string
	keyStart, valueStart int
	valueEnd             int
}

func jsonSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipJSONValue gives the end of the JSON value that starts at i (valid
// JSON assumed), or -1.
func skipJSONValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				e := skipJSONValue(data, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(data) && !jsonSpace(data[j]) && data[j] != ',' && data[j] != '}' && data[j] != ']' {
			j++
		}
		return j
	}
}

// jsonObjectMembers lists the members of the JSON object in data; ok is
// false when data is not an object.
func jsonObjectMembers(data []byte) (members []jsonMember, ok bool) {
	i := 0
	skip := func() {
		for i < len(data) && jsonSpace(data[i]) {
			i++
		}
	}
	skip()
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	i++
	for {
		skip()
		if i >= len(data) {
			return nil, false
		}
		if data[i] == '}' {
			return members, true
		}
		if data[i] == ',' {
			i++
			skip()
		}
		if i >= len(data) || data[i] != '"' {
			return nil, false
		}
		ks := i
		ke := skipJSONValue(data, i)
		if ke < 0 {
			return nil, false
		}
		var key string
		if bytes.IndexByte(data[ks+1:ke-1], '\\') >= 0 {
			if json.Unmarshal(data[ks:ke], &key) != nil {
				return nil, false
			}
		} else {
			key = string(data[ks+1 : ke-1])
		}
		i = ke
		skip()
		if i >= len(data) || data[i] != ':' {
			return nil, false
		}
		i++
		skip()
		vs := i
		ve := skipJSONValue(data, i)
		if ve < 0 {
			return nil, false
		}
		members = append(members, jsonMember{key: key, keyStart: ks, valueStart: vs, valueEnd: ve})
		i = ve
	}
}

// subschemaKeys are the members of a schema whose subschemas
// decodeSchemaRef decodes itself.
var subschemaKeys = []string{"properties", "items", "allOf", "oneOf", "anyOf", "not"}

// decodeSchemaRef decodes a schema (or a $ref to one) as the library's
// SchemaRef.UnmarshalJSON does.
func decodeSchemaRef(data []byte) (*openapi3.SchemaRef, error) {
	if ref, ok := decodeSchemaRefShallow(data, new(bytes.Buffer)); ok {
		return ref, nil
	}
	ref := &openapi3.SchemaRef{}
	if err := json.Unmarshal(data, ref); err != nil {
		return nil, err
	}
	return ref, nil
}

type subschema struct {
	key   string // the member of the parent
	name  string // the property, for properties
	index int    // the place, for allOf, oneOf and anyOf
	text  []byte
}

// decodeSchemaRefShallow writes the reduced text in out, which the library
// does not keep: one buffer serves every level.
func decodeSchemaRefShallow(data []byte, out *bytes.Buffer) (*openapi3.SchemaRef, bool) {
	members, ok := plainMembers(data, subschemaKeys)
	if !ok {
		return nil, false
	}
	var subs []subschema
	out.Reset()
	out.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			out.WriteByte(',')
		}
		out.Write(data[m.keyStart:m.valueStart])
		value := data[m.valueStart:m.valueEnd]
		switch m.key {
		case "items", "not":
			if value[0] == '{' {
				subs = append(subs, subschema{key: m.key, text: value})
				out.WriteString("{}")
				continue
			}
		case "properties":
			props, ok := jsonObjectMembers(value)
			if !ok {
				break
			}
			names := make(map[string]bool, len(props))
			out.WriteByte('{')
			for j, p := range props {
				if names[p.key] {
					return nil, false
				}
				names[p.key] = true
				if j > 0 {
					out.WriteByte(',')
				}
				out.Write(value[p.keyStart:p.valueStart])
				pv := value[p.valueStart:p.valueEnd]
				if pv[0] == '{' {
					subs = append(subs, subschema{key: m.key, name: p.key, text: pv})
					out.WriteString("{}")
				} else {
					out.Write(pv)
				}
			}
			out.WriteByte('}')
			continue
		case "allOf", "oneOf", "anyOf":
			if value[0] != '[' {
				break
			}
			// The elements of the array, each replaced by {} when it
			// is an object.
			out.WriteByte('[')
			j, n := 1, 0
			for {
				for j < len(value) && (jsonSpace(value[j]) || value[j] == ',') {
					j++
				}
				if j >= len(value) || value[j] == ']' {
					break
				}
				e := skipJSONValue(value, j)
				if e < 0 {
					return nil, false
				}
				if n > 0 {
					out.WriteByte(',')
				}
				if value[j] == '{' {
					subs = append(subs, subschema{key: m.key, index: n, text: value[j:e]})
					out.WriteString("{}")
				} else {
					out.Write(value[j:e])
				}
				n++
				j = e
			}
			out.WriteByte(']')
			continue
		}
		out.Write(value)
	}
	out.WriteByte('}')
	ref := &openapi3.SchemaRef{}
	if err := json.Unmarshal(out.Bytes(), ref); err != nil || ref.Value == nil || ref.Ref != "" {
		return nil, false
	}
	v := ref.Value
	for _, sub := range subs {
		child, ok := decodeSchemaRefShallow(sub.text, out)
		if !ok {
			child = &openapi3.SchemaRef{}
			if err := json.Unmarshal(sub.text, child); err != nil {
				return nil, false
			}
		}
		switch sub.key {
		case "items":
			v.Items = child
		case "not":
			v.Not = child
		case "properties":
			if v.Properties[sub.name] == nil {
				return nil, false
			}
			v.Properties[sub.name] = child
		case "allOf", "oneOf", "anyOf":
			list := map[string]openapi3.SchemaRefs{"allOf": v.AllOf, "oneOf": v.OneOf, "anyOf": v.AnyOf}[sub.key]
			if sub.index >= len(list) {
				return nil, false
			}
			list[sub.index] = child
		}
	}
	return ref, true
}

// plainMembers gives the members of the object data, or ok false when it
// has a $ref, a key twice, or a key that differs from one of keys only in
// case (the library's decoder would match it too): such an object is
// decoded by the library whole.
func plainMembers(data []byte, keys []string) ([]jsonMember, bool) {
	members, ok := jsonObjectMembers(data)
	if !ok {
		return nil, false
	}
	seen := make(map[string]bool, len(members))
	for _, m := range members {
		if m.key == "$ref" || seen[m.key] {
			return nil, false
		}
		seen[m.key] = true
		for _, k := range keys {
			if m.key != k && strings.EqualFold(m.key, k) {
				return nil, false
			}
		}
	}
	return members, true
}

// reduceObject writes the object data to out with the members named in keys
// whose values are objects written as {}, and gives those members. ok is
// false when the object has a $ref, a key twice, or a key that differs from
// one of keys only in case (the decoder would match it too).
func reduceObject(data []byte, out *bytes.Buffer, keys []string) (subs []jsonMember, ok bool) {
	members, ok := plainMembers(data, keys)
	if !ok {
		return nil, false
	}
	out.Reset()
	out.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			out.WriteByte(',')
		}
		out.Write(data[m.keyStart:m.valueStart])
		if data[m.valueStart] == '{' && slices.Contains(keys, m.key) {
			subs = append(subs, m)
			out.WriteString("{}")
			continue
		}
		out.Write(data[m.valueStart:m.valueEnd])
	}
	out.WriteByte('}')
	return subs, true
}

var operationKeys = []string{"connect", "delete", "get", "head", "options", "patch", "post", "put", "trace", "query"}

// decodePathItem decodes a path item as the library's
// PathItem.UnmarshalJSON does, its operations taken apart the same way.
func decodePathItem(data []byte) (*openapi3.PathItem, error) {
	if item, ok := decodePathItemShallow(data, new(bytes.Buffer)); ok {
		return item, nil
	}
	item := &openapi3.PathItem{}
	if err := json.Unmarshal(data, item); err != nil {
		return nil, err
	}
	return item, nil
}

func decodePathItemShallow(data []byte, out *bytes.Buffer) (*openapi3.PathItem, bool) {
	subs, ok := reduceObject(data, out, operationKeys)
	if !ok {
		return nil, false
	}
	item := &openapi3.PathItem{}
	if json.Unmarshal(out.Bytes(), item) != nil {
		return nil, false
	}
	for _, m := range subs {
		text := data[m.valueStart:m.valueEnd]
		op, ok := decodeOperationShallow(text, out)
		if !ok {
			op = &openapi3.Operation{}
			if json.Unmarshal(text, op) != nil {
				return nil, false
			}
		}
		// m.key is one of operationKeys: SetOperation puts each in its field.
		item.SetOperation(strings.ToUpper(m.key), op)
	}
	return item, true
}

func decodeOperationShallow(data []byte, out *bytes.Buffer) (*openapi3.Operation, bool) {
	subs, ok := reduceObject(data, out, []string{"responses", "requestBody"})
	if !ok {
		return nil, false
	}
	op := &openapi3.Operation{}
	if json.Unmarshal(out.Bytes(), op) != nil {
		return nil, false
	}
	for _, m := range subs {
		text := data[m.valueStart:m.valueEnd]
		switch m.key {
		case "responses":
			r := &openapi3.Responses{}
			if json.Unmarshal(text, r) != nil {
				return nil, false
			}
			op.Responses = r
		case "requestBody":
			b := &openapi3.RequestBodyRef{}
			if json.Unmarshal(text, b) != nil {
				return nil, false
			}
			op.RequestBody = b
		}
	}
	return op, true
}
