package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/scenario"
	"github.com/headroom-sh/headroom/scenario/generate"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Read reads an OpenAPI 3.0 or 3.1 document, YAML or JSON, following
// $refs into other local files (never over the network), and returns its
// routes as an APIModel. A broken document gives a *SpecError naming the
// file, line and JSON pointer.
func Read(path string) (*generate.APIModel, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("could not read OpenAPI document %q: %w", path, err)
	}
	return parseOpenAPI(data, path, true)
}

// Parse reads an OpenAPI document from memory; $refs to other files
// are refused. filename names the document in errors.
func Parse(data []byte, filename string) (*generate.APIModel, error) {
	return parseOpenAPI(data, filename, false)
}

func parseOpenAPI(data []byte, path string, externalRefs bool) (api *generate.APIModel, err error) {
	// The OpenAPI library is large; a document it cannot cope with must
	// still give an error, never a crash.
	defer func() {
		if r := recover(); r != nil {
			api, err = nil, &generate.SpecError{File: path, Msg: fmt.Sprintf("the document could not be processed (%v)", r)}
		}
	}()
	// A byte order mark is not part of the document.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	v, node, err := specVersion(data, path)
	if err != nil {
		return nil, err
	}
	switch {
	case v.key == "":
		return nil, &generate.SpecError{File: path, Msg: "not an OpenAPI document: expected a top-level \"openapi: 3.x\" field"}
	case v.key == "swagger":
		return nil, &generate.SpecError{File: path, Line: v.line, Pointer: "#/swagger", Msg: fmt.Sprintf("Swagger %s is not supported: convert the document to OpenAPI 3 first (for example with swagger2openapi)", v.value)}
	case !strings.HasPrefix(v.value, "3."):
		return nil, &generate.SpecError{File: path, Line: v.line, Pointer: "#/openapi", Msg: fmt.Sprintf("OpenAPI %s is not supported: expected 3.0 or 3.1", v.value)}
	}

	newLoader := func() *openapi3.Loader {
		loader := openapi3.NewLoader()
		loader.IsExternalRefsAllowed = externalRefs
		loader.ReadFromURIFunc = func(l *openapi3.Loader, u *url.URL) ([]byte, error) {
			if !externalRefs {
				return nil, fmt.Errorf("$ref to %q: references to other files are not followed here", u.String())
			}
			if u.Scheme != "" && u.Scheme != "file" {
				return nil, fmt.Errorf("$ref to %q: only local files are followed, not URLs; download the file next to the document and refer to it by path", u.String())
			}
			return openapi3.ReadFromFile(l, u)
		}
		return loader
	}
	var location *url.URL
	if externalRefs {
		abs, aerr := filepath.Abs(path)
		if aerr != nil {
			abs = path
		}
		location = &url.URL{Path: filepath.ToSlash(abs)}
	}
	var doc *openapi3.T
	var ix specIndex
	if len(data) >= openapiLargeSize {
		var jsonData []byte
		jsonData, ix, err = largeSpecJSON(data, node, path)
		if err != nil {
			return nil, err
		}
		isJSON := node == nil
		// The parsed YAML is no longer needed: let it go before decoding.
		node = nil
		if readInBatches {
			api, batched, err := readLargeInBatches(jsonData, data, !strings.HasPrefix(v.value, "3.0"), isJSON, ix, path, newLoader, location)
			if batched {
				return api, err
			}
		}
		doc, err = loadLargeOpenAPI(jsonData, isJSON, ix, path, newLoader(), location)
		var se *generate.SpecError
		if errors.As(err, &se) {
			return nil, err
		}
		if err != nil {
			return nil, loadError(path, data, err)
		}
	} else {
		loader := newLoader()
		loader.IncludeOrigin = true
		if location != nil {
			doc, err = loader.LoadFromDataWithPath(data, location)
		} else {
			doc, err = loader.LoadFromData(data)
		}
		if err != nil {
			return nil, loadError(path, data, err)
		}
	}
	node = nil
	if err := validateOpenAPI(doc, openapi3.DisableExamplesValidation()); err != nil {
		return nil, validationError(path, doc, ix, err)
	}
	r := &openapiReader{doc: doc, file: path, index: ix, done: map[*openapi3.Schema]*generate.Schema{}, active: map[*openapi3.Schema]bool{}}
	return r.read()
}

// lineOf is the 1-based line where needle starts in data, or 0.
func lineOf(data, needle []byte) int {
	i := bytes.Index(data, needle)
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

var (
	yamlErrLineRE = regexp.MustCompile(`yaml: line (\d+): (.*)$`)
	quotedRefRE   = regexp.MustCompile(`"([^"]+)"`)
)

// loadError turns a loader error into a SpecError with the line of the
// syntax error or of the $ref that does not resolve.
func loadError(path string, data []byte, err error) error {
	msg := err.Error()
	if m := yamlErrLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &generate.SpecError{File: path, Line: line, Msg: "syntax error: " + m[2]}
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line := bytes.Count(data[:min(int(syn.Offset), len(data))], []byte("\n")) + 1
		return &generate.SpecError{File: path, Line: line, Msg: "syntax error: " + syn.Error()}
	}
	// The quoted parts of the message that look like references first.
	var quoted []string
	for _, m := range quotedRefRE.FindAllStringSubmatch(msg, -1) {
		if strings.ContainsAny(m[1], "#/") {
			quoted = append(quoted, m[1])
		}
	}
	for _, ref := range quoted {
		// Find the $ref in the document to name its line and pointer.
		for _, needle := range []string{ref, strings.TrimPrefix(ref, "#")} {
			if line := refLine(data, needle); line > 0 && needle != "" {
				if strings.Contains(msg, ref+"\": only local files") || strings.HasPrefix(msg, "$ref to") {
					return &generate.SpecError{File: path, Line: line, Msg: msg}
				}
				return &generate.SpecError{File: path, Line: line, Pointer: refPointer(ref), Msg: fmt.Sprintf("$ref %q does not resolve: %s", ref, msg)}
			}
		}
	}
	return &generate.SpecError{File: path, Msg: msg}
}

func refPointer(ref string) string {
	if i := strings.IndexByte(ref, '#'); i >= 0 {
		return ref[i:]
	}
	return ""
}

// refLine finds the line of a `$ref` whose value contains needle.
func refLine(data []byte, needle string) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if bytes.Contains(l, []byte("$ref")) && bytes.Contains(l, []byte(needle)) {
			return i + 1
		}
	}
	return 0
}

// validationError places a validation error at its path, operation or
// component.
func validationError(path string, doc *openapi3.T, ix specIndex, err error) error {
	se := &generate.SpecError{File: path, Msg: err.Error()}
	var pe *openapi3.PathValidationError
	if errors.As(err, &pe) {
		se.Pointer = "#/paths/" + escapePointer(pe.Path)
		var item *openapi3.PathItem
		if doc.Paths != nil {
			item = doc.Paths.Value(pe.Path)
		}
		if item != nil && item.Origin != nil && item.Origin.Key != nil {
			se.Line = item.Origin.Key.Line
		} else if l := ix.line(strings.TrimPrefix(se.Pointer, "#")); l > 0 {
			se.Line = l
		}
		var oe *openapi3.OperationValidationError
		if errors.As(err, &oe) {
			se.Pointer += "/" + strings.ToLower(oe.Method)
			if item != nil {
				if op := item.GetOperation(strings.ToUpper(oe.Method)); op != nil && op.Origin != nil && op.Origin.Key != nil {
					se.Line = op.Origin.Key.Line
				}
			}
			if l := ix.line(strings.TrimPrefix(se.Pointer, "#")); l > 0 {
				se.Line = l
			}
		}
		se.Msg = innermost(err)
		return se
	}
	var ce *openapi3.ComponentValidationError
	if errors.As(err, &ce) {
		section := map[string]string{"schema": "schemas", "parameter": "parameters", "header": "headers", "request body": "requestBodies",
			"response": "responses", "security scheme": "securitySchemes", "example": "examples", "link": "links", "callback": "callbacks"}[ce.Section]
		se.Pointer = "#/components/" + section + "/" + escapePointer(ce.Name)
		if ce.Section == "schema" && doc.Components != nil {
			if s := doc.Components.Schemas[ce.Name]; s != nil && s.Value != nil && s.Value.Origin != nil && s.Value.Origin.Key != nil {
				se.Line = s.Value.Origin.Key.Line
			}
		}
		if l := ix.line(strings.TrimPrefix(se.Pointer, "#")); l > 0 && se.Line == 0 {
			se.Line = l
		}
		se.Msg = innermost(err)
		return se
	}
	var sec *openapi3.SectionValidationError
	if errors.As(err, &sec) {
		se.Pointer = "#/" + sec.Section
	}
	return se
}

// innermost drops the "invalid paths: invalid path /a: invalid operation
// GET:" context that the pointer already gives.
func innermost(err error) string {
	msg := err.Error()
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return msg
		}
		switch err.(type) {
		case *openapi3.SectionValidationError, *openapi3.PathValidationError, *openapi3.OperationValidationError, *openapi3.ComponentValidationError:
			msg = u.Error()
		default:
			return msg
		}
		err = u
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

type openapiReader struct {
	doc  *openapi3.T
	file string
	// index places paths and operations of a large document, read without
	// the library's origins; nil otherwise.
	index specIndex
	// done memoizes converted schemas; active holds those being converted,
	// so that a schema that refers back to itself is cut, not followed.
	done     map[*openapi3.Schema]*generate.Schema
	active   map[*openapi3.Schema]bool
	warnings []string
	// base is the base path of the first server.
	base string
	// A document read in batches (readLargeInBatches) has its schema
	// components as a stub: stubName names the component a $ref to it
	// stands for, load decodes it when the converter first meets it, and named and
	// activeNamed play the parts of done and active for components, by
	// name. alias maps a component that is only a $ref to the one it names.
	// inComponent counts the components being converted: the schemas
	// written inside one are met once, and are neither memoized nor held.
	stub        *openapi3.Schema
	stubName    func(ref string) string
	named       map[string]*generate.Schema
	activeNamed map[string]bool
	alias       map[string]string
	load        func(name string) (*openapi3.Schema, string, error)
	inComponent int
	// err is the first error met while converting (decoding a component).
	err error
}

var methodOrder = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"}

func (r *openapiReader) read() (*generate.APIModel, error) {
	api := r.begin()
	var all []located
	if r.doc.Paths != nil {
		all = r.routes(r.doc.Paths, r.doc.Paths.InMatchingOrder(), all)
	}
	return r.finish(api, all)
}

// located is a route with its place in the document.
type located struct {
	route generate.Route
	line  int
	order int
}

// begin gives the model without its routes: title, base path, target and
// security schemes.
func (r *openapiReader) begin() *generate.APIModel {
	doc := r.doc
	api := &generate.APIModel{Source: r.file, Kind: "OpenAPI " + doc.OpenAPI}
	if doc.Info != nil {
		api.Title = doc.Info.Title
	}
	r.base = r.servers(api)
	api.BasePath = r.base
	if doc.Components != nil {
		names := make([]string, 0, len(doc.Components.SecuritySchemes))
		for n := range doc.Components.SecuritySchemes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ref := doc.Components.SecuritySchemes[n]
			if ref == nil || ref.Value == nil {
				continue
			}
			v := ref.Value
			sc := generate.SecurityScheme{Name: n, Type: v.Type, Scheme: strings.ToLower(v.Scheme), In: v.In, Param: v.Name}
			api.Schemes = append(api.Schemes, sc)
		}
	}
	return api
}

// routes converts the operations of the paths named by keys, in that order,
// and appends them to all.
func (r *openapiReader) routes(paths *openapi3.Paths, keys []string, all []located) []located {
	if paths == nil {
		return all
	}
	base := r.base
	for _, p := range keys {
		item := paths.Value(p)
		if item == nil {
			continue
		}
		ops := item.Operations()
		for mi, method := range methodOrder {
			op := ops[method]
			if op == nil {
				continue
			}
			rt := r.route(base+p, method, item, op)
			line, rank := 0, 0
			if op.Origin != nil && op.Origin.Key != nil {
				line = op.Origin.Key.Line
			} else if item.Origin != nil && item.Origin.Key != nil {
				line = item.Origin.Key.Line
			}
			rank = line
			if r.index != nil {
				pos, ok := r.index["/paths/"+escapePointer(p)+"/"+strings.ToLower(method)]
				if !ok {
					pos = r.index["/paths/"+escapePointer(p)]
				}
				line, rank = pos.line, pos.order
			}
			if line > 0 {
				rt.Source = r.file + ":" + strconv.Itoa(line)
			}
			all = append(all, located{route: rt, line: rank, order: mi})
		}
	}
	return all
}

// finish puts the routes in the order the document lists them.
func (r *openapiReader) finish(api *generate.APIModel, all []located) (*generate.APIModel, error) {
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].line != all[j].line {
			return all[i].line < all[j].line
		}
		return all[i].route.Path < all[j].route.Path
	})
	api.Routes = make([]generate.Route, 0, len(all))
	for _, l := range all {
		api.Routes = append(api.Routes, l.route)
	}
	api.Warnings = r.warnings
	if len(api.Routes) == 0 {
		return nil, &generate.SpecError{File: r.file, Pointer: "#/paths", Msg: "the document has no operations: expected paths with get, post, ... operations"}
	}
	return api, nil
}

// servers finds the base path of the first server and, when it is a local
// address, the target.
func (r *openapiReader) servers(api *generate.APIModel) string {
	if len(r.doc.Servers) == 0 || r.doc.Servers[0] == nil {
		return ""
	}
	s := r.doc.Servers[0]
	raw := s.URL
	for name, v := range s.Variables {
		if v != nil {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		r.warn("servers[0].url %q is not a URL; ignored", s.URL)
		return ""
	}
	base := strings.TrimRight(u.Path, "/")
	if u.Host != "" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			api.Target = u.Scheme + "://" + u.Host
		} else {
			r.warn("server %s is not on this machine: the scenario targets %s unless --target says otherwise", raw, scenario.DefaultTarget)
		}
	}
	return base
}

func (r *openapiReader) warn(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

func (r *openapiReader) route(path, method string, item *openapi3.PathItem, op *openapi3.Operation) generate.Route {
	rt := generate.Route{Method: method, Path: path, OperationID: op.OperationID, Summary: op.Summary, Tags: op.Tags, SuccessStatus: 200}
	// Operation parameters override path-level ones of the same name and place.
	params := map[string]*openapi3.Parameter{}
	var order []string
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, pr := range list {
			if pr == nil || pr.Value == nil {
				continue
			}
			k := pr.Value.In + ":" + pr.Value.Name
			if _, ok := params[k]; !ok {
				order = append(order, k)
			}
			params[k] = pr.Value
		}
	}
	for _, k := range order {
		p := params[k]
		var s *generate.Schema
		if p.Schema != nil {
			s = r.schema(p.Schema)
		} else {
			for _, mt := range p.Content {
				if mt != nil && mt.Schema != nil {
					s = r.schema(mt.Schema)
					break
				}
			}
		}
		if s == nil {
			s = &generate.Schema{}
		}
		if p.Example != nil {
			s = withExample(s, normalizeJSON(p.Example))
		}
		for _, name := range sortedExampleNames(p.Examples) {
			if ex := p.Examples[name]; ex != nil && ex.Value != nil && ex.Value.Value != nil {
				s = withExample(s, normalizeJSON(ex.Value.Value))
			}
		}
		rt.Params = append(rt.Params, generate.Param{Name: p.Name, In: p.In, Required: p.Required || p.In == "path", Schema: s})
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		rb := op.RequestBody.Value
		mt, ctype := jsonMedia(rb.Content)
		switch {
		case mt != nil:
			var s *generate.Schema
			if mt.Schema != nil {
				s = r.schema(mt.Schema)
			} else {
				s = &generate.Schema{}
			}
			if ex, ok := mediaExample(mt); ok {
				s = applyExample(s, ex, 0)
			}
			rt.Body = s
			rt.BodyRequired = rb.Required
		case len(rb.Content) > 0:
			r.warn("%s %s: request body %s is not JSON; the step is sent without a body", method, path, ctype)
		}
	}
	if op.Responses != nil {
		codes := make([]string, 0)
		for code := range op.Responses.Map() {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		chosen := ""
		for _, c := range codes {
			if len(c) == 3 && c[0] == '2' && c[1] != 'X' && c[1] != 'x' {
				chosen = c
				break
			}
		}
		if chosen == "" {
			for _, c := range codes {
				if strings.EqualFold(c, "2XX") {
					chosen = c
				}
			}
		}
		if chosen == "" && op.Responses.Value("default") != nil {
			// Only a default response: it describes success too.
			chosen = "default"
		}
		if chosen != "" {
			if n, err := strconv.Atoi(chosen); err == nil {
				rt.SuccessStatus = n
			}
			if resp := op.Responses.Value(chosen); resp != nil && resp.Value != nil {
				if mt, _ := jsonMedia(resp.Value.Content); mt != nil && mt.Schema != nil {
					rt.Response = r.schema(mt.Schema)
				}
			}
		}
	}
	reqs := r.doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	optional := false
	for _, req := range reqs {
		if len(req) == 0 {
			optional = true
		}
		for name := range req {
			rt.Security = append(rt.Security, name)
		}
	}
	sort.Strings(rt.Security)
	rt.Auth = len(rt.Security) > 0 && !optional
	return rt
}

func sortedExampleNames(ex openapi3.Examples) []string {
	names := make([]string, 0, len(ex))
	for n := range ex {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// jsonMedia picks the JSON media type of a content map.
func jsonMedia(content openapi3.Content) (*openapi3.MediaType, string) {
	if len(content) == 0 {
		return nil, ""
	}
	keys := make([]string, 0, len(content))
	for k := range content {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ct := strings.ToLower(strings.TrimSpace(strings.Split(k, ";")[0]))
		if ct == "application/json" || strings.HasSuffix(ct, "+json") {
			return content[k], k
		}
	}
	for _, k := range keys {
		if k == "*/*" || k == "application/*" {
			return content[k], k
		}
	}
	return nil, keys[0]
}

func mediaExample(mt *openapi3.MediaType) (any, bool) {
	if mt.Example != nil {
		return normalizeJSON(mt.Example), true
	}
	for _, n := range sortedExampleNames(mt.Examples) {
		if ex := mt.Examples[n]; ex != nil && ex.Value != nil && ex.Value.Value != nil {
			return normalizeJSON(ex.Value.Value), true
		}
	}
	return nil, false
}

// normalizeJSON gives a value the types encoding/json would: float64
// numbers, map[string]any objects, []any lists.
func normalizeJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}

// withExample returns a copy of s with ex as its first example.
func withExample(s *generate.Schema, ex any) *generate.Schema {
	if ex == nil {
		return s
	}
	c := *s
	c.Examples = append([]any{ex}, s.Examples...)
	return &c
}

// applyExample spreads a whole-body example over the schema's fields, so
// each field without its own example gets the one the body example shows.
// The schema is copied, never changed: converted schemas are shared.
func applyExample(s *generate.Schema, ex any, depth int) *generate.Schema {
	if s == nil || depth > generate.MaxDepth {
		return s
	}
	obj, isObj := ex.(map[string]any)
	if !isObj || !s.IsObject() {
		if len(s.Examples) == 0 && len(s.Properties) == 0 && s.Type != "array" {
			return withExample(s, ex)
		}
		if s.Type == "array" && s.Items != nil {
			if l, ok := ex.([]any); ok && len(l) > 0 {
				c := *s
				c.Items = applyExample(s.Items, l[0], depth+1)
				return &c
			}
		}
		return s
	}
	c := *s
	c.Properties = make([]generate.Property, len(s.Properties))
	copy(c.Properties, s.Properties)
	for i, p := range c.Properties {
		v, ok := obj[p.Name]
		if !ok || p.Schema == nil {
			continue
		}
		if len(p.Schema.Examples) == 0 || p.Schema.IsObject() || p.Schema.Type == "array" {
			c.Properties[i].Schema = applyExample(p.Schema, v, depth+1)
		}
	}
	if len(s.Properties) == 0 {
		c.Examples = append([]any{ex}, s.Examples...)
	}
	return &c
}

// refName is the last part of a $ref: "#/components/schemas/CartItem" → CartItem.
func refName(ref string) string {
	if ref == "" {
		return ""
	}
	if i := strings.LastIndexAny(ref, "/#"); i >= 0 {
		ref = ref[i+1:]
	}
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(ref, ".yaml"), ".yml"), ".json")
}

// schema converts a schema, cutting cycles: a schema met again while it is
// being converted becomes a Recursive placeholder.
func (r *openapiReader) schema(ref *openapi3.SchemaRef) *generate.Schema {
	if ref == nil || ref.Value == nil {
		return &generate.Schema{Name: refName(refString(ref))}
	}
	v := ref.Value
	if r.stub != nil && v == r.stub {
		return r.component(r.stubName(ref.Ref), ref)
	}
	if r.inComponent > 0 {
		// ref is not used past this point, so that v's children can go
		// as they are converted.
		name := refName(ref.Ref)
		s := r.convert(v)
		if s.Name == "" {
			s.Name = name
		}
		return s
	}
	if s, ok := r.done[v]; ok {
		return s
	}
	name := refName(ref.Ref)
	if r.active[v] {
		return &generate.Schema{Name: name, Type: "object", Recursive: true}
	}
	r.active[v] = true
	defer delete(r.active, v)
	s := r.convert(v)
	if s.Name == "" {
		s.Name = name
	}
	// A schema that is only reached through a cut cycle is still
	// complete; memoize it when nothing below it was cut.
	r.done[v] = s
	return s
}

// component converts the schema a component defines once for all batches,
// as schema does for one document.
func (r *openapiReader) component(key string, ref *openapi3.SchemaRef) *generate.Schema {
	for i := 0; r.alias[key] != "" && i < 64; i++ {
		key = r.alias[key]
	}
	if s, ok := r.named[key]; ok {
		return s
	}
	name := refName(ref.Ref)
	if r.activeNamed[key] {
		return &generate.Schema{Name: name, Type: "object", Recursive: true}
	}
	if r.err != nil {
		return &generate.Schema{Name: name}
	}
	v, alias, err := r.load(key)
	if err != nil {
		r.err = err
		return &generate.Schema{Name: name}
	}
	if alias != "" {
		if alias == key || len(r.alias) > 1<<20 {
			r.err = &generate.SpecError{File: r.file, Pointer: "#/components/schemas/" + escapePointer(key), Msg: "the schema is a $ref to itself"}
			return &generate.Schema{Name: name}
		}
		r.alias[key] = alias
		return r.component(alias, ref)
	}
	r.activeNamed[key] = true
	r.inComponent++

	s := r.convert(v)
	r.inComponent--
	delete(r.activeNamed, key)
	if s.Name == "" {
		s.Name = name
	}
	r.named[key] = s
	return s
}

func refString(ref *openapi3.SchemaRef) string {
	if ref == nil {
		return ""
	}
	return ref.Ref
}

func (r *openapiReader) convert(v *openapi3.Schema) *generate.Schema {
	s := &generate.Schema{
		Format:      v.Format,
		Description: v.Description,
		Pattern:     v.Pattern,
		Nullable:    v.Nullable,
		ReadOnly:    v.ReadOnly,
		WriteOnly:   v.WriteOnly,
		MultipleOf:  v.MultipleOf,
		Minimum:     v.Min,
		Maximum:     v.Max,
	}
	if v.Type != nil {
		for _, t := range v.Type.Slice() {
			if t == "null" {
				s.Nullable = true
				continue
			}
			if s.Type == "" {
				s.Type = t
			}
		}
		if s.Type == "" && s.Nullable {
			s.Type = "null"
		}
	}
	if v.ExclusiveMin.IsTrue() {
		s.ExclusiveMinimum = true
	} else if v.ExclusiveMin.Value != nil {
		m := *v.ExclusiveMin.Value
		s.Minimum, s.ExclusiveMinimum = &m, true
	}
	if v.ExclusiveMax.IsTrue() {
		s.ExclusiveMaximum = true
	} else if v.ExclusiveMax.Value != nil {
		m := *v.ExclusiveMax.Value
		s.Maximum, s.ExclusiveMaximum = &m, true
	}
	if v.MinLength > 0 {
		n := clampInt(v.MinLength)
		s.MinLength = &n
	}
	if v.MaxLength != nil {
		n := clampInt(*v.MaxLength)
		s.MaxLength = &n
	}
	if v.MinItems > 0 {
		n := clampInt(v.MinItems)
		s.MinItems = &n
	}
	if v.MaxItems != nil {
		n := clampInt(*v.MaxItems)
		s.MaxItems = &n
	}
	for _, e := range v.Enum {
		s.Enum = append(s.Enum, normalizeJSON(e))
	}
	if v.Const != nil {
		s.Enum = []any{normalizeJSON(v.Const)}
	}
	if v.Example != nil {
		s.Examples = append(s.Examples, normalizeJSON(v.Example))
	}
	for _, e := range v.Examples {
		s.Examples = append(s.Examples, normalizeJSON(e))
	}
	if v.Default != nil {
		s.Default = normalizeJSON(v.Default)
	}
	// The children are taken out of v, and each let go once converted, so
	// that a large document's schemas can be collected as the conversion
	// goes (a chain of $refs thousands long is converted in one descent).
	items := v.Items
	names := propertyOrder(v)
	props := make([]*openapi3.SchemaRef, len(names))
	for i, name := range names {
		props[i] = v.Properties[name]
	}
	required := map[string]bool{}
	for _, n := range v.Required {
		required[n] = true
	}
	additional := v.AdditionalProperties.Has != nil || v.AdditionalProperties.Schema != nil
	allOf := slices.Clone(v.AllOf)
	altRefs := append(append(openapi3.SchemaRefs{}, v.OneOf...), v.AnyOf...)
	v = nil
	if items != nil {
		s.Items = r.schema(items)
		items = nil
		if s.Type == "" {
			s.Type = "array"
		}
	}
	for i, name := range names {
		p := props[i]
		props[i] = nil
		s.Properties = append(s.Properties, generate.Property{Name: name, Required: required[name], Schema: r.schema(p)})
	}
	if len(s.Properties) > 0 && s.Type == "" {
		s.Type = "object"
	}
	if s.Type == "" && additional {
		s.Type = "object"
	}
	for i, sub := range allOf {
		allOf[i] = nil
		s.MergeAllOf(r.schema(sub))
	}
	var alts []*generate.Schema
	for i, sub := range altRefs {
		altRefs[i] = nil
		alts = append(alts, r.schema(sub))
	}
	if len(alts) > 0 {
		if enum, ok := generate.ScalarAlternatives(alts); ok && len(s.Properties) == 0 {
			s.Enum = append(s.Enum, enum...)
			if s.Type == "" {
				s.Type = alts[0].Type
			}
		} else if len(s.Properties) == 0 && s.Type == "" {
			s.AnyOf = alts
		} else if s.IsObject() {
			// Properties next to oneOf: the first object alternative adds
			// its fields, as a request must match one of them.
			for _, a := range alts {
				if a.IsObject() && !a.Recursive {
					s.MergeAllOf(a)
					break
				}
			}
		}
	}
	return s
}

func clampInt(u uint64) int {
	if u > 1<<20 {
		return 1 << 20
	}
	return int(u)
}

// propertyOrder lists a schema's properties in document order when the
// loader recorded it, else by name.
func propertyOrder(v *openapi3.Schema) []string {
	names := make([]string, 0, len(v.Properties))
	for n := range v.Properties {
		names = append(names, n)
	}
	lines := map[string]int{}
	for _, n := range names {
		p := v.Properties[n]
		if p == nil || p.Ref != "" || p.Value == nil || p.Value.Origin == nil || p.Value.Origin.Key == nil {
			// A property that is a $ref has the line of its target:
			// document order is unknown, so all go by name.
			sort.Strings(names)
			return names
		}
		lines[n] = p.Value.Origin.Key.Line
	}
	sort.Slice(names, func(i, j int) bool {
		if lines[names[i]] != lines[names[j]] {
			return lines[names[i]] < lines[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}
