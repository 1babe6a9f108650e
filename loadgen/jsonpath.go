package loadgen

import (
	"bytes"
	"encoding/json"

	"github.com/headroom-sh/headroom/model"
)

// jsonPath is a JSON path parsed once by model.ParseJSONPath ("$.a.b[0].c",
// "a.b", `$["odd key"]`, "$").
type jsonPath struct {
	raw   string
	steps []model.JSONPathStep
}

func compileJSONPath(s string) (jsonPath, error) {
	steps, err := model.ParseJSONPath(s)
	if err != nil {
		return jsonPath{}, err
	}
	return jsonPath{raw: s, steps: steps}, nil
}

// lookup finds the path's value in a decoded JSON document.
func (p jsonPath) lookup(doc any) (any, bool) {
	cur := doc
	for _, s := range p.steps {
		if s.IsIndex {
			arr, ok := cur.([]any)
			if !ok || s.Index >= len(arr) {
				return nil, false
			}
			cur = arr[s.Index]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = obj[s.Key]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// lookupDotted resolves the rest of a dotted variable name ("order.id")
// inside a captured value.
func lookupDotted(val any, rest string) (any, bool) {
	p, err := compileJSONPath(rest)
	if err != nil {
		return nil, false
	}
	return p.lookup(val)
}

// decodeJSON decodes a response body keeping numbers exact (json.Number), so
// an id captured as 12345678901234567 is sent back unchanged.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
