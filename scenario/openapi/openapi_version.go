package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/scenario/generate"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// specVersionField is the top-level field that says which specification a
// document follows: key is "openapi", "swagger" or "" when there is none.
type specVersionField struct {
	key, value string
	line       int
}

// specVersion finds the top-level openapi or swagger field by parsing the
// document: JSON (one line or many) by decoding only those two fields,
// YAML by its top-level mapping, which it returns to be reused. It never
// takes a nested field that happens to be named openapi.
func specVersion(data []byte, path string) (specVersionField, *yaml.Node, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		v, err := jsonSpecVersion(data)
		if err == nil {
			return v, nil, nil
		}
		if syn := (*json.SyntaxError)(nil); errors.As(err, &syn) && !looksLikeYAMLFlow(trimmed) {
			line := bytes.Count(data[:min(int(syn.Offset), len(data))], []byte("\n")) + 1
			return specVersionField{}, nil, &generate.SpecError{File: path, Line: line, Msg: "syntax error: " + syn.Error()}
		}
	}
	return yamlSpecVersion(data, path)
}

// looksLikeYAMLFlow tells a YAML flow mapping ({openapi: 3.0.0}) from
// broken JSON: its first key is not quoted.
func looksLikeYAMLFlow(b []byte) bool {
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	return len(b) > 0 && b[0] != '"' && b[0] != '}'
}

// jsonSpecVersion decodes the two version fields of a JSON document; the
// decoder checks the whole text and skips every other value without
// keeping it.
func jsonSpecVersion(data []byte) (specVersionField, error) {
	var top struct {
		OpenAPI json.RawMessage `json:"openapi"`
		Swagger json.RawMessage `json:"swagger"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			// A document that is a JSON value but not an object.
			return specVersionField{}, nil
		}
		return specVersionField{}, err
	}
	for _, f := range []struct {
		key string
		raw json.RawMessage
	}{{"openapi", top.OpenAPI}, {"swagger", top.Swagger}} {
		if f.raw == nil {
			continue
		}
		v := specVersionField{key: f.key, line: lineOf(data, []byte(`"`+f.key+`"`))}
		var s string
		if json.Unmarshal(f.raw, &s) == nil {
			v.value = s
		} else {
			v.value = string(f.raw)
		}
		return v, nil
	}
	return specVersionField{}, nil
}

// yamlTopVersionRE finds a version key at the start of a line, where the
// keys of a YAML document's top-level block mapping are.
var yamlTopVersionRE = regexp.MustCompile(`(?m)^["']?(openapi|swagger)["']?[ \t]*:[ \t]*["']?([0-9][0-9.]*)`)

// yamlSpecVersion reads the top-level mapping of a YAML document. Only the
// keys and scalar values of the first level are kept, but the YAML library
// parses the whole document to give them.
func yamlSpecVersion(data []byte, path string) (specVersionField, *yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// A document broken further down still names its version on a
		// top-level line; the loader then reports the syntax error.
		if m := yamlTopVersionRE.FindSubmatch(data); m != nil {
			return specVersionField{key: string(m[1]), value: string(m[2]), line: lineOf(data, m[0])}, nil, nil
		}
		if m := yamlErrLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return specVersionField{}, nil, &generate.SpecError{File: path, Line: line, Msg: "syntax error: " + m[2]}
		}
		return specVersionField{}, nil, &generate.SpecError{File: path, Msg: fmt.Sprintf("syntax error: %v", err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return specVersionField{}, nil, nil
	}
	m := doc.Content[0]
	var found specVersionField
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if (k.Value == "openapi" || k.Value == "swagger") && (found.key == "" || k.Value == "openapi") {
			found = specVersionField{key: k.Value, line: k.Line}
			if v.Kind == yaml.ScalarNode {
				found.value = v.Value
			}
		}
	}
	return found, &doc, nil
}
