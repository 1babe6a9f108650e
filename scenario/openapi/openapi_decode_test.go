package openapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// decodeSchemaRef gives exactly the objects the library's own decoding
// gives, for schemas of every shape it takes apart and those it leaves
// whole.
func TestSchemasDecodeAsTheLibraryDoes(t *testing.T) {
	schemas := []string{
		`{"type":"object","required":["a"],"properties":{"a":{"type":"string","x-note":{"nested":{"properties":1}}},"b":{"$ref":"#/components/schemas/B"},"c":true,"d":{"type":"array","items":{"type":"object","properties":{"e":{"type":"integer","minimum":1}}}}},"x-extra":[1,{"a":"}{]["}]}`,
		`{"allOf":[{"$ref":"#/components/schemas/Base"},{"type":"object","properties":{"n":{"type":"string","enum":["a","b\"}"]}}}],"oneOf":[{"type":"string"},false,{"type":"integer"}],"anyOf":[{"not":{"type":"null"}}],"discriminator":{"propertyName":"kind"}}`,
		`{"type":["string","null"],"examples":["x"],"const":"x","prefixItems":[{"type":"string"}],"additionalProperties":{"type":"object","properties":{"z":{}}}}`,
		`{"$ref":"#/components/schemas/Other","description":"sibling"}`,
		`{"type":"object","Properties":{"a":{"type":"string"}},"properties":{"b":{"type":"string"}}}`,
		`{"type":"object","properties":{"a":{"type":"string"},"a":{"type":"integer"}}}`,
		`{"type":"object","properties":{"a":{"type":"string"}},"properties":{"b":{"type":"integer"}}}`,
		`{ "type" : "object" , "properties" : { "a\u0062" : { "type" : "string" } , "c" : { } } , "items" : { "type" : "string" } }`,
		`{"type":"object","properties":{"a":{"type":"string","minLength":"no"}}}`,
		`{"type":"object","properties":{"a":{"type":"string"}},"not":{"$ref":"#/components/schemas/X"},"items":{"allOf":[{}]}}`,
		`true`,
		`{}`,
	}
	var large struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(largeOpenAPISpec(3), &large); err != nil {
		t.Fatal(err)
	}
	takenApart := map[int]bool{0: true, 1: true, 2: true, 7: true, 9: true, 11: true}
	for _, s := range large.Components.Schemas {
		takenApart[len(schemas)] = true
		schemas = append(schemas, string(s))
	}
	for i, s := range schemas {
		if _, ok := decodeSchemaRefShallow([]byte(s), new(bytes.Buffer)); ok != takenApart[i] {
			t.Errorf("%s: taken apart %v, want %v", s, ok, takenApart[i])
		}
	}
	for _, s := range schemas {
		want := &openapi3.SchemaRef{}
		wantErr := json.Unmarshal([]byte(s), want)
		got, err := decodeSchemaRef([]byte(s))
		if (err != nil) != (wantErr != nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Errorf("%s: error %v, the library's %v", s, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("%s:\n got %s\nwant %s", s, g, w)
		}
	}
}

// decodePathItem gives exactly the library's objects too.
func TestPathItemsDecodeAsTheLibraryDoes(t *testing.T) {
	items := []string{
		`{"summary":"s","parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],"get":{"operationId":"g","x-a":{"get":{}},"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/A"}}}},"default":{"$ref":"#/components/responses/E"},"x-r":1}},"post":{"requestBody":{"content":{"application/json":{"schema":{"type":"object"}}}},"responses":{"201":{"description":"made"}},"callbacks":{"cb":{"{$request.body#/url}":{"post":{"responses":{"200":{"description":"ok"}}}}}}},"x-item":{"post":{}}}`,
		`{"get":{"responses":null},"put":{"requestBody":{"$ref":"#/components/requestBodies/B"},"responses":{"204":{"description":"none"}}}}`,
		`{"$ref":"#/paths/~1other"}`,
		`{"GET":{"responses":{}},"get":{"responses":{}}}`,
		`{"get":{"responses":{}},"get":{"operationId":"second","responses":{}}}`,
		`{"get":{"responses":"no"}}`,
		`{"get":{"Responses":{"200":{"description":"a"}},"responses":{"200":{"description":"b"}}}}`,
		`{"delete":{"responses":{"204":{"description":"gone"}}},"head":{"responses":{"200":{"description":"h"}}},"options":{"responses":{}},"patch":{"responses":{}},"trace":{"responses":{}},"query":{"responses":{}}}`,
	}
	var large struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(largeOpenAPISpec(2), &large); err != nil {
		t.Fatal(err)
	}
	for _, s := range large.Paths {
		items = append(items, string(s))
	}
	for i, s := range items {
		want := &openapi3.PathItem{}
		wantErr := json.Unmarshal([]byte(s), want)
		got, err := decodePathItem([]byte(s))
		if (err != nil) != (wantErr != nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Errorf("%s: error %v, the library's %v", s, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("%s:\n got %s\nwant %s", s, g, w)
		}
		_, shallow := decodePathItemShallow([]byte(s), new(bytes.Buffer))
		if want := i == 0 || i == 1 || i >= 6; shallow != want {
			t.Errorf("%s: taken apart %v, want %v", s, shallow, want)
		}
	}
}
