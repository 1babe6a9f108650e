package openapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/headroom-sh/headroom/scenario/generate"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeLargeSpec lets a user write the benchmark's document to a file to
// measure the command line on it:
//
//	go test ./scenario/openapi -run TestWriteLargeSpec -large-spec /tmp/large.json [-large-spec-operations 80000]
var (
	writeLargeSpec      = flag.String("large-spec", "", "write the large generated OpenAPI document to this `file`")
	largeSpecOperations = flag.Int("large-spec-operations", 16000, "the `number` of operations of the document -large-spec writes (a multiple of 10)")
)

// largeOpenAPISpec builds an OpenAPI 3.0 document in compact one-line JSON
// with resources×10 operations. Each resource has a schema that refers to
// itself (a tree), to two other resources (a deep $ref graph), extends a
// shared base with allOf and holds a oneOf with a discriminator, so the
// document has the shapes that made big real specs slow.
func largeOpenAPISpec(resources int) []byte {
	name := func(i int) string { return fmt.Sprintf("Res%04d", i) }
	ref := func(n string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + n} }
	schemas := map[string]any{
		"Base": map[string]any{"type": "object", "required": []any{"id"}, "properties": map[string]any{
			"id": map[string]any{"type": "string", "format": "uuid", "readOnly": true}, "createdAt": map[string]any{"type": "string", "format": "date-time", "readOnly": true}}},
		"Error": map[string]any{"type": "object", "properties": map[string]any{"code": map[string]any{"type": "integer"}, "message": map[string]any{"type": "string"}}},
		"Cat":   map[string]any{"type": "object", "required": []any{"kind"}, "properties": map[string]any{"kind": map[string]any{"type": "string"}, "lives": map[string]any{"type": "integer", "minimum": 1, "maximum": 9}}},
		"Dog":   map[string]any{"type": "object", "required": []any{"kind"}, "properties": map[string]any{"kind": map[string]any{"type": "string"}, "breed": map[string]any{"type": "string", "enum": []any{"collie", "pug"}}}},
	}
	paths := map[string]any{}
	errResp := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
	for i := range resources {
		n := name(i)
		props := map[string]any{
			"name":     map[string]any{"type": "string", "minLength": 1, "maxLength": 80, "description": "The name of the " + n + " as users see it in lists and on its page."},
			"children": map[string]any{"type": "array", "items": ref(n)},
			"parent":   ref(n),
			"next":     ref(name((i + 1) % resources)),
			"related":  map[string]any{"type": "array", "items": ref(name((i * 7) % resources))},
			"pet": map[string]any{"oneOf": []any{ref("Cat"), ref("Dog")}, "discriminator": map[string]any{"propertyName": "kind",
				"mapping": map[string]any{"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"}}},
		}
		for j := range 24 {
			var p map[string]any
			switch j % 4 {
			case 0:
				p = map[string]any{"type": "string", "description": fmt.Sprintf("Field %d of %s, kept for the clients that still read it.", j, n)}
			case 1:
				p = map[string]any{"type": "integer", "minimum": 0, "maximum": 1000}
			case 2:
				p = map[string]any{"type": "boolean"}
			default:
				p = map[string]any{"type": "string", "enum": []any{"draft", "active", "archived"}}
			}
			props[fmt.Sprintf("field%02d", j)] = p
		}
		schemas[n] = map[string]any{"allOf": []any{ref("Base"), map[string]any{"type": "object", "required": []any{"name"}, "properties": props}}}
		schemas[n+"Input"] = map[string]any{"type": "object", "required": []any{"name"}, "properties": map[string]any{
			"name": map[string]any{"type": "string", "example": "item " + n}, "field01": map[string]any{"type": "integer"}, "pet": props["pet"]}}
		schemas[n+"Page"] = map[string]any{"type": "object", "properties": map[string]any{"items": map[string]any{"type": "array", "items": ref(n)}, "total": map[string]any{"type": "integer"}}}
		one := func(code string, schema any) map[string]any {
			return map[string]any{code: map[string]any{"description": "ok", "content": map[string]any{"application/json": map[string]any{"schema": schema}}}, "default": errResp}
		}
		body := map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(n + "Input")}}}
		idParam := func(p string) map[string]any {
			return map[string]any{"name": p, "in": "path", "required": true, "schema": map[string]any{"type": "string"}}
		}
		coll := fmt.Sprintf("/res%04d", i)
		item := coll + "/{id}"
		paths[coll] = map[string]any{
			"get": map[string]any{"operationId": "list" + n, "parameters": []any{map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "maximum": 100}}},
				"responses": one("200", ref(n+"Page"))},
			"post": map[string]any{"operationId": "create" + n, "requestBody": body, "responses": one("201", ref(n))},
		}
		paths[item] = map[string]any{
			"parameters": []any{idParam("id")},
			"get":        map[string]any{"operationId": "get" + n, "responses": one("200", ref(n))},
			"put":        map[string]any{"operationId": "replace" + n, "requestBody": body, "responses": one("200", ref(n))},
			"patch":      map[string]any{"operationId": "update" + n, "requestBody": body, "responses": one("200", ref(n))},
			"delete":     map[string]any{"operationId": "delete" + n, "responses": map[string]any{"204": map[string]any{"description": "gone"}}},
		}
		paths[item+"/notes"] = map[string]any{
			"parameters": []any{idParam("id")},
			"get":        map[string]any{"operationId": "listNotes" + n, "responses": one("200", map[string]any{"type": "array", "items": ref(n)})},
			"post":       map[string]any{"operationId": "addNote" + n, "requestBody": body, "responses": one("201", ref(n))},
		}
		paths[item+"/notes/{noteId}"] = map[string]any{
			"parameters": []any{idParam("id"), idParam("noteId")},
			"get":        map[string]any{"operationId": "getNote" + n, "responses": one("200", ref(n))},
			"delete":     map[string]any{"operationId": "deleteNote" + n, "responses": map[string]any{"204": map[string]any{"description": "gone"}}},
		}
	}
	doc := map[string]any{
		"openapi":    "3.0.3",
		"info":       map[string]any{"title": "Large API", "version": "1.0.0"},
		"servers":    []any{map[string]any{"url": "http://127.0.0.1:8080/api"}},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
		"security":   []any{map[string]any{"bearer": []any{}}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func TestWriteLargeSpec(t *testing.T) {
	if *writeLargeSpec == "" {
		t.Skip("no -large-spec file to write")
	}
	if *largeSpecOperations < 10 {
		t.Fatalf("-large-spec-operations %d: expected at least 10", *largeSpecOperations)
	}
	if err := os.WriteFile(*writeLargeSpec, largeOpenAPISpec(*largeSpecOperations/10), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkReadLargeOpenAPI reads documents of 4,000 and 16,000
// operations (2.4 MB and 9.8 MB of one-line JSON), and of
// -large-spec-operations when it names another size (80,000 operations
// are 49 MB), and generates a scenario and the dry run's summary from
// them, as `headroom generate --dry-run` does. Besides time and
// allocations it reports the peak of the live heap, sampled every 5 ms
// while it runs:
//
//	go test ./scenario/openapi -run XXX -bench ReadLargeOpenAPI -large-spec-operations 80000
func BenchmarkReadLargeOpenAPI(b *testing.B) {
	sizes := []int{4000, 16000}
	if n := *largeSpecOperations; n >= 10 && !slices.Contains(sizes, n/10*10) {
		sizes = append(sizes, n/10*10)
	}
	for _, ops := range sizes {
		data := largeOpenAPISpec(ops / 10)
		b.Run(fmt.Sprintf("%d-operations", ops), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			runtime.GC()
			peak := sampleHeapPeak()
			for b.Loop() {
				api, err := Parse(data, "large.json")
				if err != nil {
					b.Fatal(err)
				}
				gen, err := generate.Generate(api, generate.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if len(generate.Summary(api, gen)) == 0 {
					b.Fatal("no summary")
				}
			}
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
		})
	}
}

// sampleHeapPeak samples the heap in use until the returned function is
// called, which gives the highest value seen.
func sampleHeapPeak() func() uint64 {
	var mu sync.Mutex
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			mu.Lock()
			peak = max(peak, m.HeapAlloc)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

func TestTheVersionFieldIsFoundByParsingNotByLines(t *testing.T) {
	yes := map[string]string{
		"compact one-line JSON":                    `{"info":{"title":"T","version":"1"},"openapi":"3.0.3","paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}}}}}}`,
		"JSON with a byte order mark and newlines": "\ufeff\n{\n \"openapi\" : \"3.1.0\",\n \"info\": {\"title\": \"T\", \"version\": \"1\"},\n \"paths\": {\"/a\": {\"get\": {\"responses\": {\"200\": {\"description\": \"ok\"}}}}}\n}",
		"a YAML flow mapping":                      `{openapi: 3.0.3, info: {title: T, version: "1"}, paths: {/a: {get: {responses: {"200": {description: ok}}}}}}`,
		"YAML with the version after other fields": "info:\n  title: T\n  version: '1'\npaths:\n  /a:\n    get:\n      responses:\n        '200': {description: ok}\nopenapi: '3.0.3'\n",
		"the large generated document":             string(largeOpenAPISpec(3)),
	}
	for name, doc := range yes {
		t.Run(name, func(t *testing.T) {
			api, err := Parse([]byte(doc), "spec")
			if err != nil {
				t.Fatal(err)
			}
			if len(api.Routes) == 0 {
				t.Error("no routes")
			}
		})
	}
	no := map[string]string{
		"an openapi field nested in a JSON object is not the document's": `{"info":{"openapi":"3.0.3"},"paths":{}}`,
		"an openapi field nested in YAML is not the document's":          "info:\n  openapi: 3.0.3\npaths: {}\n",
	}
	for name, doc := range no {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(doc), "spec")
			if err == nil || !strings.Contains(err.Error(), "not an OpenAPI document") {
				t.Errorf("got %v", err)
			}
		})
	}
	_, err := Parse([]byte(`{"swagger":"2.0","info":{}}`), "spec.json")
	if err == nil || !strings.Contains(err.Error(), "Swagger 2.0 is not supported") {
		t.Errorf("Swagger 2 in compact JSON: %v", err)
	}
	_, err = Parse([]byte("{\n\"openapi\": \"3.0.3\",\n\"paths\": {,}\n}"), "spec.json")
	if err == nil || !strings.Contains(err.Error(), "spec.json:3:") {
		t.Errorf("broken JSON names its line: %v", err)
	}
}

// sortedProps gives a schema's properties by name, recursively, so that
// models read by both paths compare equal although only the library's
// path keeps document order.
func normalizedModel(api *generate.APIModel) string {
	var norm func(s *generate.Schema, depth int)
	seen := map[*generate.Schema]bool{}
	norm = func(s *generate.Schema, depth int) {
		if s == nil || seen[s] || depth > 20 {
			return
		}
		seen[s] = true
		sort.Slice(s.Properties, func(i, j int) bool { return s.Properties[i].Name < s.Properties[j].Name })
		for _, p := range s.Properties {
			norm(p.Schema, depth+1)
		}
		norm(s.Items, depth+1)
		for _, a := range s.AnyOf {
			norm(a, depth+1)
		}
	}
	for i := range api.Routes {
		norm(api.Routes[i].Body, 0)
		norm(api.Routes[i].Response, 0)
		for _, p := range api.Routes[i].Params {
			norm(p.Schema, 0)
		}
	}
	b, err := json.MarshalIndent(api, "", " ")
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestLargeDocumentsAreReadLikeSmallOnes(t *testing.T) {
	docs := []string{
		"../../examples/checkout/openapi.yaml",
		"testdata/petstore/openapi.yaml",
		"testdata/refs/openapi.yaml",
		"testdata/edge/recursive.yaml",
		"testdata/edge/openapi31.json",
	}
	large := filepath.Join(t.TempDir(), "large.json")
	// Indented, so that document order is the order of lines for both.
	var indented bytes.Buffer
	if err := json.Indent(&indented, largeOpenAPISpec(12), "", " "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(large, indented.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	docs = append(docs, large)
	for _, doc := range docs {
		t.Run(filepath.Base(filepath.Dir(doc))+"/"+filepath.Base(doc), func(t *testing.T) {
			small, err := Read(doc)
			if err != nil {
				t.Fatal(err)
			}
			defer func(size int) { openapiLargeSize = size }(openapiLargeSize)
			openapiLargeSize = 0
			big, err := Read(doc)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := normalizedModel(small), normalizedModel(big); a != b {
				t.Errorf("the two paths differ:\n%s", firstDiff(a, b))
			}
			// Batches of one path item give the same as one batch.
			defer func(n int) { largeBatchSize = n }(largeBatchSize)
			largeBatchSize = 1
			one, err := Read(doc)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := normalizedModel(big), normalizedModel(one); a != b {
				t.Errorf("batches of one path item differ:\n%s", firstDiff(a, b))
			}
		})
	}
}

// modelJSON is the model as JSON, property order kept.
func modelJSON(t *testing.T, api *generate.APIModel) string {
	t.Helper()
	b, err := json.MarshalIndent(api, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A document read in batches gives exactly the model the whole document
// gives: the same routes in the same order, and the same schemas, cut at
// the same places where they refer to each other in cycles, however the
// paths fall into batches.
func TestBatchesReadLikeTheWholeDocument(t *testing.T) {
	defer func(size, n int, on bool) { openapiLargeSize, largeBatchSize, readInBatches = size, n, on }(openapiLargeSize, largeBatchSize, readInBatches)
	openapiLargeSize = 0
	data := largeOpenAPISpec(9)
	var indented bytes.Buffer
	if err := json.Indent(&indented, data, "", " "); err != nil {
		t.Fatal(err)
	}
	// Components that are only a $ref to another, met before and after
	// the one they name, in cycles.
	alias := []byte(`{"openapi":"3.0.3","info":{"title":"T","version":"1"},"paths":{
"/x":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/A"}}}}}}},
"/y":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/B"}}}}}}},
"/z":{"post":{"requestBody":{"content":{"application/json":{"schema":{"type":"array","items":{"$ref":"#/components/schemas/C"}}}}},"responses":{"201":{"description":"ok"}}}}},
"components":{"schemas":{"A":{"$ref":"#/components/schemas/B"},"C":{"$ref":"#/components/schemas/A"},
"B":{"type":"object","properties":{"self":{"$ref":"#/components/schemas/A"},"other":{"$ref":"#/components/schemas/C"},"n":{"type":"string","example":"x"}}}}}}`)
	for name, doc := range map[string][]byte{"one-line": data, "indented": indented.Bytes(), "aliases": alias} {
		readInBatches = false
		whole, err := Parse(doc, "large.json")
		if err != nil {
			t.Fatal(err)
		}
		want := modelJSON(t, whole)
		readInBatches = true
		for _, n := range []int{1, 2, 5, 17, 1000} {
			largeBatchSize = n
			got, err := Parse(doc, "large.json")
			if err != nil {
				t.Fatalf("%s, batches of %d: %v", name, n, err)
			}
			if g := modelJSON(t, got); g != want {
				t.Errorf("%s, batches of %d path items:\n%s", name, n, firstDiff(want, g))
			}
		}
	}
}

// Checks that span the whole document still do when it is read in
// batches, with the messages the whole document gives.
func TestBatchesKeepTheChecksOfTheWholeDocument(t *testing.T) {
	defer func(size, n, on any) {
		openapiLargeSize, largeBatchSize, readInBatches = size.(int), n.(int), on.(bool)
	}(openapiLargeSize, largeBatchSize, readInBatches)
	openapiLargeSize, largeBatchSize = 0, 1
	doc := func(paths, schemas string) []byte {
		return []byte("{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"T\",\"version\":\"1\"},\n\"paths\":{" + paths +
			"},\n\"components\":{\"schemas\":{" + schemas + "}}}")
	}
	ok := `{"type":"object","properties":{"a":{"type":"string"}}}`
	op := func(id, schema string) string {
		return `{"operationId":"` + id + `","responses":{"200":{"description":"ok","content":{"application/json":{"schema":` + schema + `}}}}}`
	}
	cases := []struct {
		name string
		doc  []byte
		want []string
	}{
		{"a duplicate operation id in two batches", doc(`"/a":{"get":`+op("same", `{"$ref":"#/components/schemas/S"}`)+`},
"/b":{"get":`+op("same", `{"$ref":"#/components/schemas/S"}`)+`}`, `"S":`+ok),
			[]string{`operations "GET /a" and "GET /b" have the same operation id "same"`, "#/paths"}},
		{"conflicting templates in two batches", doc(`"/a/{x}":{"parameters":[{"name":"x","in":"path","required":true,"schema":{"type":"string"}}],"get":`+op("one", ok)+`},
"/a/{y}":{"parameters":[{"name":"y","in":"path","required":true,"schema":{"type":"string"}}],"get":`+op("two", ok)+`}`, `"S":`+ok),
			[]string{`conflicting paths "/a/{y}" and "/a/{x}"`, "#/paths"}},
		{"an invalid component no path uses", doc(`"/a":{"get":`+op("one", ok)+`}`, `"S":`+ok+`,
"Unused":{"type":"strng"}`),
			[]string{"large.json:4:", "#/components/schemas/Unused", `unsupported 'type' value "strng"`}},
		{"an invalid component a later batch uses", doc(`"/a":{"get":`+op("one", `{"$ref":"#/components/schemas/S"}`)+`},
"/b":{"get":`+op("two", `{"$ref":"#/components/schemas/Bad"}`)+`}`, `"S":`+ok+`,
"Bad":{"type":"object","properties":{"n":{"type":"strng"}}}`),
			[]string{"large.json:5:", "#/components/schemas/Bad", `unsupported 'type' value "strng"`}},
		{"a $ref to a missing component in a later batch", doc(`"/a":{"get":`+op("one", `{"$ref":"#/components/schemas/S"}`)+`},
"/b":{"get":`+op("two", `{"$ref":"#/components/schemas/Missing"}`)+`}`, `"S":`+ok),
			[]string{"large.json:3:", "does not resolve"}},
		{"a path item of the wrong type in a later batch", doc(`"/a":{"get":`+op("one", ok)+`},
"/b":{"get":{"responses":"no"}}`, `"S":`+ok),
			[]string{"large.json:3:", "#/paths/~1b", "responses"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var errs [2]error
			for i, on := range []bool{false, true} {
				readInBatches = on
				_, errs[i] = Parse(c.doc, "large.json")
				if errs[i] == nil {
					t.Fatalf("batches %v: no error", on)
				}
				for _, w := range c.want {
					if !strings.Contains(errs[i].Error(), w) {
						t.Errorf("batches %v: error %q lacks %q", on, errs[i], w)
					}
				}
			}
			if errs[0].Error() != errs[1].Error() {
				t.Errorf("whole: %v\nbatches: %v", errs[0], errs[1])
			}
		})
	}
}

func TestLargeDocumentErrorsNameTheirPlace(t *testing.T) {
	defer func(size int) { openapiLargeSize = size }(openapiLargeSize)
	openapiLargeSize = 0
	cases := []struct {
		name, file string
		want       []string
	}{
		{"a $ref to a missing component names its line", "bad-ref.yaml", []string{"bad-ref.yaml:14:", "does not resolve"}},
		{"an invalid schema names the operation and its line", "bad-type.yaml", []string{"bad-type.yaml:9:", "#/paths/~1b/post", `unsupported 'type' value "strng"`}},
		{"a remote $ref is not fetched", "bad-remote-ref.yaml", []string{"bad-remote-ref.yaml:10:", "only local files are followed"}},
		{"a document without operations says so", "no-paths.yaml", []string{"#/paths", "no operations"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(filepath.Join("testdata/edge", c.file))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	_, err := Parse([]byte("{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"T\",\"version\":\"1\"},\n\"paths\":{\"/a\":{\"get\":{\"responses\":\"no\"}}}}"), "spec.json")
	if err == nil || !strings.Contains(err.Error(), "spec.json:2: #/paths/~1a:") || !strings.Contains(err.Error(), "responses") {
		t.Errorf("a JSON value of the wrong type names the file, line, path and field: %v", err)
	}
	alias := "openapi: 3.0.3\ninfo: {title: T, version: '1'}\nx-a: &a [1,1,1,1,1,1,1,1,1,1]\nx-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nx-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nx-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\nx-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nx-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\nx-g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nx-h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\npaths: {}\n"
	if _, err := Parse([]byte(alias), "laughs.yaml"); err == nil || !strings.Contains(err.Error(), "too many values") {
		t.Errorf("a YAML document that expands through aliases: %v", err)
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  library: %s\n  large:   %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(al), len(bl))
}

func TestProposedFlowsCreateParentsFirstAndDeleteThemLast(t *testing.T) {
	api, err := Parse(largeOpenAPISpec(2), "large.json")
	if err != nil {
		t.Fatal(err)
	}
	gen, err := generate.Generate(api, generate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range gen.Scenario.Flows {
		pos := map[string]int{}
		for i, st := range f.Steps {
			pos[st.Endpoint] = i + 1
		}
		coll := "/api/" + f.Name
		for _, before := range [][2]string{
			{"POST " + coll, "POST " + coll + "/{id}/notes"},
			{"POST " + coll + "/{id}/notes", "GET " + coll + "/{id}/notes/{noteId}"},
			{"DELETE " + coll + "/{id}/notes/{noteId}", "DELETE " + coll + "/{id}"},
		} {
			if pos[before[0]] == 0 || pos[before[1]] == 0 || pos[before[0]] > pos[before[1]] {
				t.Errorf("flow %s: %s should come before %s: %v", f.Name, before[0], before[1], pos)
			}
		}
	}
}

// Reading a large document holds little more than the model it gives: the
// library's objects of its path items and components are let go batch by
// batch and component by component. The generated document's schemas form
// a chain of $refs through every resource, which held all of them at once:
// on this 9.8 MB document the heap peaked at 260 MB (28 times its size);
// now at about 140 MB.
func TestReadingALargeDocumentHoldsLittleMoreThanItsModel(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a 9.8 MB document")
	}
	data := largeOpenAPISpec(1600)
	runtime.GC()
	peak := sampleHeapPeak()
	api, err := Parse(data, "large.json")
	top := peak()
	if err != nil {
		t.Fatal(err)
	}
	if len(api.Routes) != 16000 {
		t.Fatalf("%d routes, want 16000", len(api.Routes))
	}
	if limit := 22 * uint64(len(data)); top > limit {
		t.Errorf("the heap peaked at %d MB reading a %d MB document; want at most %d MB", top>>20, len(data)>>20, limit>>20)
	} else {
		t.Logf("the heap peaked at %d MB reading a %.1f MB document", top>>20, float64(len(data))/(1<<20))
	}
}
