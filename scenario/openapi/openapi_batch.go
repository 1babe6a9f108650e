package openapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/scenario/generate"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// A large document is read in batches of path items, so that the OpenAPI
// library's model of the whole document never exists at once: on an
// 80,000-operation, 49 MB document that model (its path items and the
// schemas of its components) was over 500 MB of live heap.
//
// Each batch decodes its path items, and only the components their $refs
// reach, found by scanning the batch's JSON text and, transitively, the
// text of those components. A schema component is converted once: its
// converted form is kept by name, and in later batches the component is a
// placeholder that the converter recognizes, never decoded again. The
// batch is resolved and validated as a document of its own, its routes
// converted, and its library objects dropped. Checks that span batches
// (conflicting path templates, duplicate operation ids) are made over the
// whole document, and components that no path reaches are validated at
// the end. Paths are converted in the library's matching order, as the
// whole document was, so that where a cycle of schemas is cut is the
// same.
//
// A document whose $refs point elsewhere than into its components (other
// files, other paths), or whose shape the batches cannot split, is read
// whole (loadLargeOpenAPI).

// largeBatchSize is the number of path items decoded at once;
// readInBatches turns batches off (tests compare both ways).
var (
	largeBatchSize = 1000
	readInBatches  = true
)

// span is where a value starts and ends in the JSON text.
type span struct{ start, end int }

// docSpans holds where the parts of a document are: its top-level members,
// the members of /paths, the sections of /components and their entries.
type docSpans struct {
	top, paths, sections map[string]span
	components           map[string]map[string]span
}

// scanSpans finds the spans of a JSON document's parts in one pass. It
// trusts the text to be valid JSON (specVersion decoded it). ok is false
// when the document is not an object or /paths, /components or one of its
// sections is not an object.
func scanSpans(data []byte) (ds docSpans, ok bool) {
	ds = docSpans{top: map[string]span{}, paths: map[string]span{}, sections: map[string]span{}, components: map[string]map[string]span{}}
	const (
		levelOther = iota
		levelTop
		levelPaths
		levelComponents
		levelSection
	)
	type frame struct {
		level       int
		obj         bool
		expectKey   bool
		key         string
		valStart    int
		section     map[string]span
		sectionName string
	}
	var stack []frame
	record := func(f *frame, end int) {
		if f.valStart < 0 || f.level == levelOther {
			return
		}
		for end > f.valStart && (data[end-1] == ' ' || data[end-1] == '\t' || data[end-1] == '\n' || data[end-1] == '\r') {
			end--
		}
		s := span{f.valStart, end}
		switch f.level {
		case levelTop:
			ds.top[f.key] = s
		case levelPaths:
			ds.paths[f.key] = s
		case levelComponents:
			ds.sections[f.key] = s
		case levelSection:
			f.section[f.key] = s
		}
		f.valStart = -1
	}
	// startValue notes where the value of the top frame's member starts.
	startValue := func(i int) {
		if n := len(stack); n > 0 && stack[n-1].obj && !stack[n-1].expectKey && stack[n-1].valStart < 0 {
			stack[n-1].valStart = i
		}
	}
	sawTop := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case ' ', '\t', '\n', '\r', ':':
		case '"':
			j, escaped := scanJSONString(data, i)
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
				top := &stack[n-1]
				top.expectKey = false
				top.valStart = -1
				if top.level != levelOther {
					key := jsonString(data, i, j, escaped)
					top.key = key
				}
			} else {
				startValue(i)
			}
			i = j
		case '{', '[':
			level := levelOther
			var f frame
			if n := len(stack); n == 0 {
				if c != '{' || sawTop {
					return ds, false
				}
				sawTop = true
				level = levelTop
			} else {
				startValue(i)
				parent := &stack[n-1]
				switch {
				case parent.level == levelTop && parent.key == "paths":
					level = levelPaths
				case parent.level == levelTop && parent.key == "components":
					level = levelComponents
				case parent.level == levelComponents:
					level = levelSection
					f.section = map[string]span{}
					ds.components[parent.key] = f.section
					f.sectionName = parent.key
				}
				if level != levelOther && c != '{' {
					return ds, false
				}
			}
			f.level, f.obj, f.expectKey, f.valStart = level, c == '{', c == '{', -1
			stack = append(stack, f)
		case '}', ']':
			n := len(stack)
			if n == 0 {
				return ds, false
			}
			if stack[n-1].obj {
				record(&stack[n-1], i)
			}
			stack = stack[:n-1]
		case ',':
			if n := len(stack); n > 0 && stack[n-1].obj {
				record(&stack[n-1], i)
				stack[n-1].expectKey = true
			}
		default:
			startValue(i)
		}
	}
	if !sawTop {
		return ds, false
	}
	for _, k := range []string{"paths", "components"} {
		if s, has := ds.top[k]; has && data[s.start] != '{' {
			return ds, false
		}
	}
	for name, s := range ds.sections {
		if lazySection(name) && data[s.start] != '{' {
			return ds, false
		}
	}
	return ds, true
}

// The sections of /components decoded entry by entry, as batches need
// them; the others are small and decoded once.
var lazySections = []string{"schemas", "parameters", "headers", "requestBodies", "responses", "examples"}

func lazySection(name string) bool { return slices.Contains(lazySections, name) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// componentRef is an entry of a section of /components.
type componentRef struct{ section, name string }

// componentNeed says which components a batch needs; true when a $ref
// points inside the component (#/components/schemas/A/properties/b), so
// that it must be decoded even when its converted form is known.
type componentNeed map[componentRef]bool

func (n componentNeed) add(refs []componentRef, deep bool) {
	for _, c := range refs {
		n[c] = n[c] || deep
	}
}

// addText adds the components the $refs of a JSON text name.
func (n componentNeed) addText(text []byte) {
	scanRefs(text, func(ref string) {
		refs, deep, _ := localComponentRefs(ref)
		n.add(refs, deep)
	})
}

// scanRefs calls each for every $ref value in a JSON text. It reads the
// text, not a model: a "$ref" inside an example counts too, which costs
// at most a component decoded for nothing.
func scanRefs(data []byte, each func(ref string)) {
	key := []byte(`"$ref"`)
	for i := 0; ; {
		k := bytes.Index(data[i:], key)
		if k < 0 {
			return
		}
		j := i + k + len(key)
		i = j
		for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
			j++
		}
		if j >= len(data) || data[j] != ':' {
			continue
		}
		j++
		for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
			j++
		}
		if j >= len(data) || data[j] != '"' {
			continue
		}
		e, escaped := j+1, false
		for e < len(data) && data[e] != '"' {
			if data[e] == '\\' {
				escaped = true
				e++
			}
			e++
		}
		if e >= len(data) {
			return
		}
		ref := string(data[j+1 : e])
		if escaped {
			_ = json.Unmarshal(data[j:e+1], &ref)
		}
		each(ref)
		i = e + 1
	}
}

// localComponentRefs gives the components a $ref names, or ok false when
// the $ref points elsewhere than into /components.
func localComponentRefs(ref string) (refs []componentRef, deep, ok bool) {
	rest, found := strings.CutPrefix(ref, "#/components/")
	if !found {
		return nil, false, false
	}
	section, name, _ := strings.Cut(rest, "/")
	if name == "" {
		return nil, false, false
	}
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name, deep = name[:i], true
	}
	name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
	refs = append(refs, componentRef{section, name})
	if strings.Contains(name, "%") {
		if u, err := url.PathUnescape(name); err == nil && u != name {
			refs = append(refs, componentRef{section, u})
		}
	}
	return refs, deep, true
}

// batchable says whether every $ref of the document names a whole entry of
// its components, so that batches can resolve them. In OpenAPI 3.1 the
// fields next to a $ref are merged with what it names: such a $ref must
// stand alone.
func batchable(data []byte, v31 bool) bool {
	ok := true
	scanRefs(data, func(ref string) {
		if _, deep, local := localComponentRefs(ref); !local || deep {
			ok = false
		}
	})
	if ok && v31 {
		ok = !refsHaveSiblings(data)
	}
	return ok
}

// refsHaveSiblings says whether an object holding a "$ref" has other
// members: a "$ref" key then follows a ',' or its value is followed by one.
func refsHaveSiblings(data []byte) bool {
	key := []byte(`"$ref"`)
	space := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for i := 0; ; {
		k := bytes.Index(data[i:], key)
		if k < 0 {
			return false
		}
		at := i + k
		i = at + len(key)
		b := at - 1
		for b >= 0 && space(data[b]) {
			b--
		}
		if b < 0 || (data[b] != ',' && data[b] != '{') {
			continue // a string value, not a key
		}
		if data[b] == ',' {
			return true
		}
		j := i
		for j < len(data) && space(data[j]) {
			j++
		}
		if j >= len(data) || data[j] != ':' {
			continue
		}
		j++
		for j < len(data) && space(data[j]) {
			j++
		}
		if j >= len(data) || data[j] != '"' {
			return true
		}
		e := j + 1
		for e < len(data) && data[e] != '"' {
			if data[e] == '\\' {
				e++
			}
			e++
		}
		e++
		for e < len(data) && space(data[e]) {
			e++
		}
		if e < len(data) && data[e] != '}' {
			return true
		}
		i = e
	}
}

// matchingOrder is the library's Paths.InMatchingOrder: fewer path
// parameters first, then by key, descending.
func matchingOrder(keys []string) []string {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(strings.Count(a, "}"), strings.Count(b, "}")); c != 0 {
			return c
		}
		return cmp.Compare(b, a)
	})
	return out
}

// largeReader reads a large document in batches.
type largeReader struct {
	data      []byte // the JSON text
	orig      []byte // the file as written, for loadError
	isJSON    bool
	path      string
	ix        specIndex
	spans     docSpans
	newLoader func() *openapi3.Loader
	location  *url.URL
	base      *openapi3.T // the document without paths and lazy sections
	// baseRefs are the components the base refers to, needed by every batch.
	baseRefs componentNeed
	// validated lists the components decoded (and so validated) so far.
	validated map[componentRef]bool
	// stub stands for every schema component in batches: the converter
	// knows it by its pointer, and which component by the $ref's text.
	stub *openapi3.Schema
	r    *openapiReader
}

func (lr *largeReader) decodeError(err error) error {
	return decodeError(err, lr.ix, lr.path, lr.data, lr.isJSON)
}

// readLargeInBatches reads a large document in batches; ok is false when
// it cannot be, and the caller reads it whole.
func readLargeInBatches(data, orig []byte, v31, isJSON bool, ix specIndex, path string, newLoader func() *openapi3.Loader, location *url.URL) (api *generate.APIModel, ok bool, err error) {
	ds, ok := scanSpans(data)
	if !ok || !batchable(data, v31) {
		return nil, false, nil
	}
	lr := &largeReader{data: data, orig: orig, isJSON: isJSON, path: path, ix: ix, spans: ds, newLoader: newLoader, location: location,
		validated: map[componentRef]bool{}, stub: &openapi3.Schema{}}
	api, err = lr.read()
	return api, true, err
}

// object writes a JSON object of the members of m named by keys.
func (lr *largeReader) object(m map[string]span, keep func(string) bool) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		if keep(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		s := m[k]
		b.Write(lr.data[s.start:s.end])
	}
	b.WriteByte('}')
	return b.Bytes()
}

func (lr *largeReader) text(s span) []byte { return lr.data[s.start:s.end] }

func (lr *largeReader) read() (*generate.APIModel, error) {
	ds := lr.spans
	// The document without its paths and components, then the components
	// without the lazy sections.
	rest := lr.object(ds.top, func(k string) bool { return k != "paths" && k != "components" })
	base := &openapi3.T{}
	if err := json.Unmarshal(rest, base); err != nil {
		return nil, lr.decodeError(err)
	}
	roots := componentNeed{}
	roots.addText(rest)
	if s, has := ds.top["components"]; has && lr.data[s.start] == '{' {
		eager := lr.object(ds.sections, func(k string) bool { return !lazySection(k) })
		comps := &openapi3.Components{}
		if err := json.Unmarshal(eager, comps); err != nil {
			return nil, lr.decodeError(&pieceError{"/components", err})
		}
		base.Components = comps
		roots.addText(eager)
	} else if has {
		return nil, lr.decodeError(&pieceError{"/components", fmt.Errorf("expected an object")})
	}
	lr.baseRefs = roots
	lr.base = base

	// The paths, and the extensions of /paths.
	var keys []string
	var pathExt map[string]any
	for k, s := range ds.paths {
		if strings.HasPrefix(k, "x-") {
			var v any
			if err := json.Unmarshal(lr.text(s), &v); err != nil {
				return nil, lr.decodeError(&pieceError{"/paths/" + escapePointer(k), err})
			}
			if pathExt == nil {
				pathExt = map[string]any{}
			}
			pathExt[k] = v
			continue
		}
		keys = append(keys, k)
	}
	_, hasPaths := ds.top["paths"]

	r := &openapiReader{doc: base, file: lr.path, index: lr.ix, done: map[*openapi3.Schema]*generate.Schema{}, active: map[*openapi3.Schema]bool{},
		stub: lr.stub, stubName: lr.stubName, named: map[string]*generate.Schema{}, activeNamed: map[string]bool{}, alias: map[string]string{},
		load: lr.loadSchema}
	lr.r = r
	api := r.begin()
	var all []located
	opIDs := map[string][]string{}
	ordered := matchingOrder(keys)
	for start := 0; start < len(ordered) || start == 0; start += largeBatchSize {
		batch := ordered[start:min(start+largeBatchSize, len(ordered))]
		doc, err := lr.batch(batch, hasPaths, pathExt)
		if err != nil {
			return nil, err
		}
		for _, p := range batch {
			ops := doc.Paths.Value(p).Operations()
			for m, op := range ops {
				if op != nil && op.OperationID != "" {
					opIDs[op.OperationID] = append(opIDs[op.OperationID], m+" "+p)
				}
			}
		}
		r.doc = doc
		all = r.routes(doc.Paths, batch, all)
		if r.err != nil {
			return nil, r.err
		}
		// The batch's library objects go; the converted schemas stay.
		clear(r.done)

		if len(ordered) == 0 {
			break
		}
	}
	if err := lr.acrossBatches(keys, opIDs); err != nil {
		return nil, err
	}
	if err := lr.validateUnreached(); err != nil {
		return nil, err
	}
	r.doc = base
	return r.finish(api, all)
}

// batch decodes, resolves and validates the path items named by keys, with
// the components they reach.
func (lr *largeReader) batch(keys []string, hasPaths bool, pathExt map[string]any) (*openapi3.T, error) {
	doc := *lr.base
	if hasPaths {
		doc.Paths = openapi3.NewPathsWithCapacity(len(keys))
		doc.Paths.Extensions = pathExt
	}
	need := maps.Clone(lr.baseRefs)
	for _, k := range keys {
		text := lr.text(lr.spans.paths[k])
		item, err := decodePathItem(text)
		if err != nil {
			return nil, lr.decodeError(&pieceError{"/paths/" + escapePointer(k), err})
		}
		doc.Paths.Set(k, item)
		need.addText(text)
	}
	comps, err := lr.components(need, nil)
	if err != nil {
		return nil, err
	}
	doc.Components = comps
	if err := lr.newLoader().ResolveRefsIn(&doc, lr.location); err != nil {
		return nil, loadError(lr.path, lr.orig, err)
	}
	if err := validateOpenAPI(&doc, openapi3.DisableExamplesValidation()); err != nil {
		return nil, validationError(lr.path, &doc, lr.ix, err)
	}
	return &doc, nil
}

// components decodes the components named by need and those they refer to,
// into a copy of the base's. Schemas are stubs (the converter decodes each
// when it first meets it, loadSchema) except those only names, for the
// validation of unreached components.
func (lr *largeReader) components(need componentNeed, only map[string]bool) (*openapi3.Components, error) {
	comps := &openapi3.Components{}
	if lr.base.Components != nil {
		*comps = *lr.base.Components
	}
	present := func(section string) bool { _, ok := lr.spans.components[section]; return ok }
	if present("schemas") {
		comps.Schemas = openapi3.Schemas{}
	}
	if present("parameters") {
		comps.Parameters = openapi3.ParametersMap{}
	}
	if present("headers") {
		comps.Headers = openapi3.Headers{}
	}
	if present("requestBodies") {
		comps.RequestBodies = openapi3.RequestBodies{}
	}
	if present("responses") {
		comps.Responses = openapi3.ResponseBodies{}
	}
	if present("examples") {
		comps.Examples = openapi3.Examples{}
	}
	queue := make([]componentRef, 0, len(need))
	for c := range need {
		queue = append(queue, c)
	}
	slices.SortFunc(queue, func(a, b componentRef) int {
		return cmp.Or(cmp.Compare(b.section, a.section), cmp.Compare(b.name, a.name))
	})
	done := map[componentRef]bool{}
	for len(queue) > 0 {
		c := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if done[c] || !lazySection(c.section) {
			continue
		}
		done[c] = true
		s, ok := lr.spans.components[c.section][c.name]
		if !ok {
			// The loader says it does not resolve.
			continue
		}
		if c.section == "schemas" && !only[c.name] {
			comps.Schemas[c.name] = lr.stubRef()
			continue
		}
		text := lr.text(s)
		var err error
		switch c.section {
		case "schemas":
			var v *openapi3.SchemaRef
			if v, err = decodeSchemaRef(text); err == nil {
				comps.Schemas[c.name] = v
			}
		case "parameters":
			v := &openapi3.ParameterRef{}
			comps.Parameters[c.name] = v
			err = json.Unmarshal(text, v)
		case "headers":
			v := &openapi3.HeaderRef{}
			comps.Headers[c.name] = v
			err = json.Unmarshal(text, v)
		case "requestBodies":
			v := &openapi3.RequestBodyRef{}
			comps.RequestBodies[c.name] = v
			err = json.Unmarshal(text, v)
		case "responses":
			v := &openapi3.ResponseRef{}
			comps.Responses[c.name] = v
			err = json.Unmarshal(text, v)
		case "examples":
			v := &openapi3.ExampleRef{}
			comps.Examples[c.name] = v
			err = json.Unmarshal(text, v)
		}
		if err != nil {
			return nil, lr.decodeError(&pieceError{"/components/" + c.section + "/" + escapePointer(c.name), err})
		}
		lr.validated[c] = true
		scanRefs(text, func(ref string) {
			refs, _, _ := localComponentRefs(ref)
			for _, d := range refs {
				if !done[d] {
					queue = append(queue, d)
				}
			}
		})
	}
	return comps, nil
}

// stubRef is the placeholder of a schema component in batches.
func (lr *largeReader) stubRef() *openapi3.SchemaRef { return &openapi3.SchemaRef{Value: lr.stub} }

// stubName is the schema component a $ref names.
func (lr *largeReader) stubName(ref string) string {
	refs, _, _ := localComponentRefs(ref)
	for _, c := range refs {
		if _, ok := lr.spans.components["schemas"][c.name]; ok && c.section == "schemas" {
			return c.name
		}
	}
	if len(refs) > 0 {
		return refs[0].name
	}
	return ""
}

// loadSchema decodes, resolves and validates one schema component, its
// $refs to other schemas resolved to their stubs. A component that is only
// a $ref to another gives that one's name as alias.
func (lr *largeReader) loadSchema(name string) (v *openapi3.Schema, alias string, err error) {
	s, ok := lr.spans.components["schemas"][name]
	if !ok {
		return nil, "", &generate.SpecError{File: lr.path, Pointer: "#/components/schemas/" + escapePointer(name), Msg: "the schema is not in the document"}
	}
	text := lr.text(s)
	ref, err := decodeSchemaRef(text)
	if err != nil {
		return nil, "", lr.decodeError(&pieceError{"/components/schemas/" + escapePointer(name), err})
	}
	lr.validated[componentRef{"schemas", name}] = true
	// The component goes into the document under a name no $ref uses, so
	// that its $refs to itself resolve to its stub too; its own name holds
	// the stub, and errors are given its name back.
	self := "headroom.loading"
	for i := 0; ; i++ {
		if _, taken := lr.spans.components["schemas"][self]; !taken {
			break
		}
		self = fmt.Sprintf("headroom.loading.%d", i)
	}
	doc := &openapi3.T{OpenAPI: lr.base.OpenAPI, Info: lr.base.Info, Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{Schemas: openapi3.Schemas{self: ref, name: lr.stubRef()}}}
	scanRefs(text, func(r string) {
		refs, _, _ := localComponentRefs(r)
		for _, c := range refs {
			if _, has := lr.spans.components[c.section][c.name]; c.section == "schemas" && has {
				doc.Components.Schemas[c.name] = lr.stubRef()
			}
		}
	})
	if err := lr.newLoader().ResolveRefsIn(doc, lr.location); err != nil {
		return nil, "", loadError(lr.path, lr.orig, err)
	}
	if err := validateOpenAPI(doc, openapi3.DisableExamplesValidation()); err != nil {
		var ce *openapi3.ComponentValidationError
		if errors.As(err, &ce) && ce.Name == self {
			ce.Name = name
		}
		return nil, "", validationError(lr.path, doc, lr.ix, err)
	}
	if ref.Value == nil {
		return nil, "", &generate.SpecError{File: lr.path, Pointer: "#/components/schemas/" + escapePointer(name), Msg: fmt.Sprintf("$ref %q does not resolve", ref.Ref)}
	}
	if ref.Value == lr.stub {
		return nil, lr.stubName(ref.Ref), nil
	}
	return ref.Value, "", nil
}

// acrossBatches makes the checks of the library's Paths.Validate that span
// batches, as it makes them: conflicting templates in sorted order, then
// operation ids.
func (lr *largeReader) acrossBatches(keys []string, opIDs map[string][]string) error {
	sorted := slices.Clone(keys)
	sort.Strings(sorted)
	normalized := map[string]string{}
	for _, p := range sorted {
		if p == "" || p[0] != '/' {
			continue
		}
		n := normalizeTemplatedPath(p)
		if old, ok := normalized[n]; ok {
			return validationError(lr.path, lr.base, lr.ix, &openapi3.SectionValidationError{Section: "paths", Cause: &openapi3.ConflictingPathsError{Path1: p, Path2: old}})
		}
		normalized[n] = p
	}
	// The library walks paths and methods in sorted order and reports the
	// first operation id met a second time.
	type endpoint struct{ path, method string }
	var first *openapi3.DuplicateOperationIDError
	var firstAt endpoint
	for id, eps := range opIDs {
		if len(eps) < 2 {
			continue
		}
		parsed := make([]endpoint, len(eps))
		for i, e := range eps {
			m, p, _ := strings.Cut(e, " ")
			parsed[i] = endpoint{p, m}
		}
		slices.SortFunc(parsed, func(a, b endpoint) int { return cmp.Or(cmp.Compare(a.path, b.path), cmp.Compare(a.method, b.method)) })
		second := parsed[1]
		if first == nil || cmp.Or(cmp.Compare(second.path, firstAt.path), cmp.Compare(second.method, firstAt.method)) < 0 {
			e1, e2 := parsed[1].method+" "+parsed[1].path, parsed[0].method+" "+parsed[0].path
			if e1 > e2 {
				e1, e2 = e2, e1
			}
			first, firstAt = &openapi3.DuplicateOperationIDError{Endpoint1: e1, Endpoint2: e2, OperationID: id}, second
		}
	}
	if first != nil {
		return validationError(lr.path, lr.base, lr.ix, &openapi3.SectionValidationError{Section: "paths", Cause: first})
	}
	return nil
}

// normalizeTemplatedPath is the library's: each {name} becomes {} (a
// trailing * kept), so that /a/{x} and /a/{y} are the same template.
func normalizeTemplatedPath(path string) string {
	if strings.IndexByte(path, '{') < 0 {
		return path
	}
	var b strings.Builder
	var cc rune
	isVariable := false
	for i, c := range path {
		if isVariable {
			if c == '}' {
				isVariable = false
				if i > 0 && cc == '*' {
					b.WriteRune(cc)
				}
			} else {
				cc = c
				continue
			}
		} else if c == '{' {
			isVariable = true
		}
		b.WriteRune(c)
		cc = c
	}
	return b.String()
}

// validateUnreached validates, in batches, the components no path reached:
// the whole document was validated, used or not.
func (lr *largeReader) validateUnreached() error {
	var left []componentRef
	for _, section := range lazySections {
		names := make([]string, 0, len(lr.spans.components[section]))
		for n := range lr.spans.components[section] {
			if !lr.validated[componentRef{section, n}] {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			left = append(left, componentRef{section, n})
		}
	}
	for start := 0; start < len(left); start += largeBatchSize * 4 {
		chunk := left[start:min(start+largeBatchSize*4, len(left))]
		need := maps.Clone(lr.baseRefs)
		only := map[string]bool{}
		for _, c := range chunk {
			if _, ok := need[c]; !ok {
				need[c] = false
			}
			if c.section == "schemas" {
				only[c.name] = true
			}
		}
		comps, err := lr.components(need, only)
		if err != nil {
			return err
		}
		doc := *lr.base
		doc.Components = comps
		if doc.Paths == nil {
			doc.Paths = openapi3.NewPaths()
		}
		if err := lr.newLoader().ResolveRefsIn(&doc, lr.location); err != nil {
			return loadError(lr.path, lr.orig, err)
		}
		if err := validateOpenAPI(&doc, openapi3.DisableExamplesValidation()); err != nil {
			return validationError(lr.path, &doc, lr.ix, err)
		}
	}
	return nil
}
