package express

import (
	"encoding/json"
	"github.com/headroom-sh/headroom/scenario/generate"
	"regexp"
	"strconv"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// This file reads TypeScript types (interfaces, type aliases, enums) into
// Schemas, with the hints JSDoc comments give (@minimum, @example, ...).
// Parsing is tree-sitter's TypeScript grammar; see express.go for the files.

// tsTypeDecl is a named type: an interface, a type alias or an enum.
type tsTypeDecl struct {
	file   *jsFile
	node   *sitter.Node
	name   string
	params []string
	doc    *jsDoc
}

// jsDoc is a parsed /** ... */ comment.
type jsDoc struct {
	text string
	tags map[string][]string
}

var (
	jsDocTagRE       = regexp.MustCompile(`(?m)^\s*@([A-Za-z][\w-]*)[ \t]*(.*)$`)
	jsDocInlineTagRE = regexp.MustCompile(`[ \t]+@([A-Za-z])`)
)

// parseJSDoc reads a block comment; nil when it is not a /** comment.
func parseJSDoc(c string) *jsDoc {
	if !strings.HasPrefix(c, "/**") || !strings.HasSuffix(c, "*/") {
		return nil
	}
	body := strings.TrimSuffix(strings.TrimPrefix(c, "/**"), "*/")
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimSpace(l)
		l = strings.TrimSpace(strings.TrimPrefix(l, "*"))
		if strings.HasPrefix(l, "@") {
			// Several tags may share a line: "@minimum 0 @maximum 5".
			lines = append(lines, strings.Split(jsDocInlineTagRE.ReplaceAllString(l, "\n@$1"), "\n")...)
			continue
		}
		lines = append(lines, l)
	}
	d := &jsDoc{tags: map[string][]string{}}
	var text []string
	inTags := false
	last := ""
	for _, l := range lines {
		if m := jsDocTagRE.FindStringSubmatch(l); m != nil {
			inTags = true
			last = strings.ToLower(m[1])
			d.tags[last] = append(d.tags[last], strings.TrimSpace(m[2]))
			continue
		}
		if inTags {
			// A continuation of the previous tag's value.
			if l != "" && last != "" {
				vals := d.tags[last]
				vals[len(vals)-1] = strings.TrimSpace(vals[len(vals)-1] + " " + l)
			}
			continue
		}
		text = append(text, l)
	}
	d.text = strings.TrimSpace(strings.Join(text, " "))
	return d
}

// tag returns the first value of a tag.
func (d *jsDoc) tag(names ...string) (string, bool) {
	if d == nil {
		return "", false
	}
	for _, n := range names {
		if v, ok := d.tags[strings.ToLower(n)]; ok && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// jsDocValue reads a tag value: JSON when it parses ("user42", 2, true),
// else the text as it is.
func jsDocValue(s string) any {
	s = strings.TrimSpace(s)
	var v any
	if err := json.Unmarshal([]byte(s), &v); err == nil {
		return v
	}
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	return s
}

// docBefore finds the JSDoc comment right before n (or before the export
// statement wrapping it).
func docBefore(n *sitter.Node, src []byte) *jsDoc {
	for cur := n; cur != nil; cur = cur.Parent() {
		prev := cur.PrevSibling()
		for prev != nil && !prev.IsNamed() {
			prev = prev.PrevSibling()
		}
		if prev != nil && prev.Type() == "comment" {
			if d := parseJSDoc(prev.Content(src)); d != nil {
				return d
			}
		}
		p := cur.Parent()
		if p == nil || p.Type() != "export_statement" {
			return nil
		}
	}
	return nil
}

// applyDoc sets what a JSDoc comment says about a value on its schema.
func applyDoc(s *generate.Schema, d *jsDoc) {
	if d == nil || s == nil {
		return
	}
	if d.text != "" && s.Description == "" {
		s.Description = d.text
	}
	if v, ok := d.tag("description"); ok && s.Description == "" {
		s.Description = v
	}
	num := func(names ...string) *float64 {
		if v, ok := d.tag(names...); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return &f
			}
		}
		return nil
	}
	intv := func(names ...string) *int {
		if f := num(names...); f != nil && *f >= 0 && *f < 1<<20 {
			n := int(*f)
			return &n
		}
		return nil
	}
	if f := num("minimum", "min"); f != nil {
		s.Minimum = f
	}
	if f := num("maximum", "max"); f != nil {
		s.Maximum = f
	}
	if f := num("exclusiveMinimum"); f != nil {
		s.Minimum, s.ExclusiveMinimum = f, true
	}
	if f := num("exclusiveMaximum"); f != nil {
		s.Maximum, s.ExclusiveMaximum = f, true
	}
	if f := num("multipleOf"); f != nil {
		s.MultipleOf = f
	}
	if n := intv("minLength"); n != nil {
		s.MinLength = n
	}
	if n := intv("maxLength"); n != nil {
		s.MaxLength = n
	}
	if n := intv("minItems"); n != nil {
		s.MinItems = n
	}
	if n := intv("maxItems"); n != nil {
		s.MaxItems = n
	}
	if v, ok := d.tag("pattern"); ok {
		s.Pattern = strings.TrimSpace(v)
	}
	if v, ok := d.tag("format"); ok {
		s.Format = strings.TrimSpace(v)
	}
	for _, ex := range d.tags["example"] {
		if ex != "" {
			s.Examples = append(s.Examples, jsDocValue(ex))
		}
	}
	if v, ok := d.tag("default"); ok {
		s.Default = jsDocValue(v)
	}
	if v, ok := d.tag("type", "asType", "TJS-type"); ok && strings.Contains(v, "integer") {
		s.Type = "integer"
	}
	if _, ok := d.tag("isInt", "integer"); ok {
		s.Type = "integer"
	}
	if _, ok := d.tag("readOnly"); ok {
		s.ReadOnly = true
	}
}

// integerNameRE names numbers that are whole: quantities, counts, ids,
// amounts in cents.
var integerNameRE = regexp.MustCompile(`(?i)(qty|quantity|quota|count|number|num|page|pages|limit|offset|size|age|year|index|rank|stock|cents|seconds|minutes|hours|days|units|items|seats|guests|nights|retries|attempts|version)$`)

// tsNumber decides whether a TypeScript number is an integer: the JSDoc
// says so, or the name is one of whole things and no example has a fraction.
func tsNumber(s *generate.Schema, name string) {
	if s.Type != "number" {
		return
	}
	if !(integerNameRE.MatchString(name) || generate.IsIDName(name)) {
		return
	}
	for _, ex := range s.Examples {
		if f, ok := ex.(float64); ok && f != float64(int64(f)) {
			return
		}
	}
	for _, b := range []*float64{s.Minimum, s.Maximum} {
		if b != nil && *b != float64(int64(*b)) {
			return
		}
	}
	s.Type = "integer"
}

// tsTypes converts TypeScript type nodes into Schemas.
type tsTypes struct {
	p *jsProject
	// active holds the declarations being converted, to cut cycles.
	active map[*tsTypeDecl]bool
	depth  int
}

const tsMaxDepth = 24

// schemaOf converts a type node in the scope of file f; env binds type
// parameters of the declaration being converted.
func (c *tsTypes) schemaOf(f *jsFile, n *sitter.Node, env map[string]*generate.Schema) *generate.Schema {
	if n == nil {
		return &generate.Schema{}
	}
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > tsMaxDepth {
		return &generate.Schema{}
	}
	src := f.src
	switch n.Type() {
	case "type_annotation", "parenthesized_type", "readonly_type", "type_arguments":
		if n.NamedChildCount() > 0 {
			return c.schemaOf(f, n.NamedChild(int(n.NamedChildCount())-1), env)
		}
		return &generate.Schema{}
	case "predefined_type":
		switch n.Content(src) {
		case "string":
			return &generate.Schema{Type: "string"}
		case "number", "bigint":
			return &generate.Schema{Type: "number"}
		case "boolean":
			return &generate.Schema{Type: "boolean"}
		case "null", "undefined", "void":
			return &generate.Schema{Type: "null"}
		case "object":
			return &generate.Schema{Type: "object"}
		}
		return &generate.Schema{}
	case "literal_type":
		return c.literal(n, src)
	case "template_literal_type":
		return &generate.Schema{Type: "string"}
	case "array_type":
		items := &generate.Schema{}
		if n.NamedChildCount() > 0 {
			items = c.schemaOf(f, n.NamedChild(0), env)
		}
		return &generate.Schema{Type: "array", Items: items}
	case "tuple_type":
		var items *generate.Schema
		if n.NamedChildCount() > 0 {
			items = c.schemaOf(f, n.NamedChild(0), env)
		}
		return &generate.Schema{Type: "array", Items: items}
	case "union_type":
		return c.union(f, n, env)
	case "intersection_type":
		out := &generate.Schema{Type: "object"}
		for i := 0; i < int(n.NamedChildCount()); i++ {
			out.MergeAllOf(c.schemaOf(f, n.NamedChild(i), env))
		}
		return out
	case "object_type", "interface_body":
		return c.object(f, n, env)
	case "type_identifier", "identifier":
		return c.named(f, n.Content(src), nil, env)
	case "nested_type_identifier":
		name := n.ChildByFieldName("name")
		if name == nil {
			return &generate.Schema{}
		}
		return c.named(f, name.Content(src), nil, env)
	case "generic_type":
		nameNode := n.ChildByFieldName("name")
		if nameNode != nil && nameNode.Type() == "nested_type_identifier" {
			nameNode = nameNode.ChildByFieldName("name")
		}
		var args []*sitter.Node
		if ta := n.ChildByFieldName("type_arguments"); ta != nil {
			for i := 0; i < int(ta.NamedChildCount()); i++ {
				args = append(args, ta.NamedChild(i))
			}
		}
		if nameNode == nil {
			return &generate.Schema{}
		}
		return c.generic(f, nameNode.Content(src), args, env)
	}
	return &generate.Schema{}
}

func (c *tsTypes) literal(n *sitter.Node, src []byte) *generate.Schema {
	if n.NamedChildCount() == 0 {
		return &generate.Schema{}
	}
	v := n.NamedChild(0)
	switch v.Type() {
	case "string":
		s := jsStringValue(v, src)
		return &generate.Schema{Type: "string", Enum: []any{s}}
	case "number":
		f, err := strconv.ParseFloat(v.Content(src), 64)
		if err != nil {
			return &generate.Schema{Type: "number"}
		}
		return &generate.Schema{Type: "number", Enum: []any{f}}
	case "true", "false":
		return &generate.Schema{Type: "boolean", Enum: []any{v.Type() == "true"}}
	case "null", "undefined":
		return &generate.Schema{Type: "null"}
	case "unary_expression":
		if f, err := strconv.ParseFloat(v.Content(src), 64); err == nil {
			return &generate.Schema{Type: "number", Enum: []any{f}}
		}
	}
	return &generate.Schema{}
}

// union reads A | B: literals become an enum, null and undefined make the
// rest nullable, object types become alternatives.
func (c *tsTypes) union(f *jsFile, n *sitter.Node, env map[string]*generate.Schema) *generate.Schema {
	var members []*generate.Schema
	var walk func(m *sitter.Node)
	walk = func(m *sitter.Node) {
		if m.Type() == "union_type" {
			for i := 0; i < int(m.NamedChildCount()); i++ {
				walk(m.NamedChild(i))
			}
			return
		}
		members = append(members, c.schemaOf(f, m, env))
	}
	walk(n)
	nullable := false
	var rest []*generate.Schema
	for _, m := range members {
		if m.Type == "null" {
			nullable = true
			continue
		}
		rest = append(rest, m)
	}
	if len(rest) == 0 {
		return &generate.Schema{Type: "null"}
	}
	if len(rest) == 1 {
		s := *rest[0]
		s.Nullable = s.Nullable || nullable
		return &s
	}
	if enum, ok := generate.ScalarAlternatives(rest); ok {
		t := rest[0].Type
		for _, m := range rest {
			if m.Type != t {
				t = ""
			}
		}
		return &generate.Schema{Type: t, Enum: enum, Nullable: nullable}
	}
	// A plain type absorbs its literals: string | 'x' is a string.
	for _, m := range rest {
		if len(m.Enum) == 0 && !m.IsObject() && m.Type != "" && m.Type != "array" {
			s := *m
			s.Nullable = nullable
			return &s
		}
	}
	return &generate.Schema{AnyOf: rest, Nullable: nullable}
}

// object reads an object type or interface body.
func (c *tsTypes) object(f *jsFile, n *sitter.Node, env map[string]*generate.Schema) *generate.Schema {
	s := &generate.Schema{Type: "object"}
	src := f.src
	for i := 0; i < int(n.NamedChildCount()); i++ {
		m := n.NamedChild(i)
		if m.Type() != "property_signature" {
			continue
		}
		nameNode := m.ChildByFieldName("name")
		if nameNode == nil {
			continue
		}
		name := nameNode.Content(src)
		if nameNode.Type() == "string" {
			name = jsStringValue(nameNode, src)
		}
		optional := false
		for j := 0; j < int(m.ChildCount()); j++ {
			if ch := m.Child(j); !ch.IsNamed() && ch.Type() == "?" {
				optional = true
			}
		}
		ps := c.schemaOf(f, m.ChildByFieldName("type"), env)
		cp := *ps
		ps = &cp
		applyDoc(ps, docBefore(m, src))
		tsNumber(ps, name)
		if ps.Nullable && !optional {
			// `x: T | undefined` is optional in practice.
			optional = strings.Contains(m.Content(src), "undefined")
		}
		s.Properties = append(s.Properties, generate.Property{Name: name, Required: !optional, Schema: ps})
	}
	return s
}

// named resolves a type name: a type parameter, a built-in, or a declared
// type of the project.
func (c *tsTypes) named(f *jsFile, name string, args []*sitter.Node, env map[string]*generate.Schema) *generate.Schema {
	if s, ok := env[name]; ok {
		return s
	}
	switch name {
	case "Date":
		return &generate.Schema{Type: "string", Format: "date-time"}
	case "String":
		return &generate.Schema{Type: "string"}
	case "Number":
		return &generate.Schema{Type: "number"}
	case "Boolean":
		return &generate.Schema{Type: "boolean"}
	case "Object":
		return &generate.Schema{Type: "object"}
	}
	decl := c.p.findType(f, name)
	if decl == nil {
		return &generate.Schema{Name: name}
	}
	if c.active[decl] {
		return &generate.Schema{Name: name, Type: "object", Recursive: true}
	}
	c.active[decl] = true
	defer delete(c.active, decl)
	inner := map[string]*generate.Schema{}
	for i, p := range decl.params {
		if i < len(args) {
			inner[p] = c.schemaOf(f, args[i], env)
		} else {
			inner[p] = &generate.Schema{}
		}
	}
	var s *generate.Schema
	df := decl.file
	switch decl.node.Type() {
	case "interface_declaration":
		s = &generate.Schema{Type: "object"}
		if body := decl.node.ChildByFieldName("body"); body != nil {
			s = c.object(df, body, inner)
		}
		for i := 0; i < int(decl.node.NamedChildCount()); i++ {
			ch := decl.node.NamedChild(i)
			if ch.Type() != "extends_type_clause" && ch.Type() != "extends_clause" {
				continue
			}
			for j := 0; j < int(ch.NamedChildCount()); j++ {
				s.MergeAllOf(c.schemaOf(df, ch.NamedChild(j), inner))
			}
		}
	case "type_alias_declaration":
		v := c.schemaOf(df, decl.node.ChildByFieldName("value"), inner)
		cp := *v
		s = &cp
	case "enum_declaration":
		s = c.enum(df, decl.node)
	default:
		s = &generate.Schema{}
	}
	if s.Name == "" {
		s.Name = name
	}
	applyDoc(s, decl.doc)
	return s
}

// enum reads a TypeScript enum's values.
func (c *tsTypes) enum(f *jsFile, n *sitter.Node) *generate.Schema {
	s := &generate.Schema{}
	body := n.ChildByFieldName("body")
	if body == nil {
		return s
	}
	next := 0.0
	for i := 0; i < int(body.NamedChildCount()); i++ {
		m := body.NamedChild(i)
		switch m.Type() {
		case "property_identifier", "identifier":
			s.Enum = append(s.Enum, next)
			s.Type = "number"
			next++
		case "enum_assignment":
			v := m.ChildByFieldName("value")
			if v == nil {
				continue
			}
			switch v.Type() {
			case "string":
				s.Enum = append(s.Enum, jsStringValue(v, f.src))
				s.Type = "string"
			case "number":
				if x, err := strconv.ParseFloat(v.Content(f.src), 64); err == nil {
					s.Enum = append(s.Enum, x)
					s.Type = "number"
					next = x + 1
				}
			}
		}
	}
	if s.Type == "number" {
		s.Type = "integer"
	}
	return s
}

// generic resolves Name<Args>: arrays, TypeScript's utility types, and
// the project's own generic types.
func (c *tsTypes) generic(f *jsFile, name string, args []*sitter.Node, env map[string]*generate.Schema) *generate.Schema {
	arg := func(i int) *generate.Schema {
		if i < len(args) {
			return c.schemaOf(f, args[i], env)
		}
		return &generate.Schema{}
	}
	keys := func(i int) map[string]bool {
		out := map[string]bool{}
		if i < len(args) {
			for _, v := range arg(i).Enum {
				if s, ok := v.(string); ok {
					out[s] = true
				}
			}
		}
		return out
	}
	switch name {
	case "Array", "ReadonlyArray", "Set":
		return &generate.Schema{Type: "array", Items: arg(0)}
	case "Promise", "Readonly", "NonNullable", "Awaited":
		return arg(0)
	case "Record", "Map":
		return &generate.Schema{Type: "object"}
	case "Partial", "Required":
		s := *arg(0)
		if s.Name != "" {
			s.Name = name + "<" + s.Name + ">"
		}
		s.Properties = append([]generate.Property(nil), s.Properties...)
		for i := range s.Properties {
			s.Properties[i].Required = name == "Required"
		}
		return &s
	case "Pick", "Omit":
		s := *arg(0)
		ks := keys(1)
		var props []generate.Property
		for _, p := range s.Properties {
			if ks[p.Name] == (name == "Pick") {
				props = append(props, p)
			}
		}
		s.Properties = props
		s.Name = ""
		return &s
	}
	return c.named(f, name, args, env)
}

// jsStringValue is the value of a string literal node.
func jsStringValue(n *sitter.Node, src []byte) string {
	raw := n.Content(src)
	if len(raw) >= 2 {
		q := raw[0]
		if (q == '"' || q == '\'' || q == '`') && raw[len(raw)-1] == q {
			body := raw[1 : len(raw)-1]
			if q == '"' {
				if s, err := strconv.Unquote(raw); err == nil {
					return s
				}
			}
			if !strings.Contains(body, `\`) {
				return body
			}
			if s, err := strconv.Unquote(`"` + strings.ReplaceAll(strings.ReplaceAll(body, `\'`, `'`), `"`, `\"`) + `"`); err == nil {
				return s
			}
			return body
		}
	}
	return raw
}
