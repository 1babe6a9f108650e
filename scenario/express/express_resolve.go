package express

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// tsAlias is one entry of a tsconfig.json "paths" map: imports that start
// with prefix (and end with suffix) are looked up in each target.
type tsAlias struct {
	prefix, suffix string
	wildcard       bool
	targets        []string
}

// readTSConfig finds the tsconfig.json of the sources (in the directory or
// up to two parents) and reads its baseUrl and path aliases, so that
// imports such as "@/api/user" and "@routes/users.route" resolve.
func (p *jsProject) readTSConfig() {
	dir := p.root
	for i := 0; i < 3 && dir != ""; i++ {
		b, err := os.ReadFile(filepath.Join(dir, "tsconfig.json"))
		if err == nil {
			p.parseTSConfig(dir, b)
			return
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return
		}
		dir = parent
	}
}

var (
	jsonCommentRE       = regexp.MustCompile(`(?s)("(?:[^"\\]|\\.)*")|//[^\n]*|/\*.*?\*/`)
	jsonTrailingCommaRE = regexp.MustCompile(`,(\s*[}\]])`)
)

func (p *jsProject) parseTSConfig(dir string, b []byte) {
	// tsconfig.json is JSON with comments and trailing commas.
	clean := jsonCommentRE.ReplaceAllFunc(b, func(m []byte) []byte {
		if len(m) > 0 && m[0] == '"' {
			return m
		}
		return nil
	})
	clean = jsonTrailingCommaRE.ReplaceAll(clean, []byte("$1"))
	var cfg struct {
		CompilerOptions struct {
			BaseURL string              `json:"baseUrl"`
			Paths   map[string][]string `json:"paths"`
		} `json:"compilerOptions"`
	}
	if err := json.Unmarshal(clean, &cfg); err != nil {
		p.warn("%s: could not read (%v); path aliases are not followed", filepath.Join(dir, "tsconfig.json"), err)
		return
	}
	base := dir
	if cfg.CompilerOptions.BaseURL != "" {
		base = filepath.Join(dir, filepath.FromSlash(cfg.CompilerOptions.BaseURL))
		p.baseURL = base
	}
	for pattern, targets := range cfg.CompilerOptions.Paths {
		a := tsAlias{prefix: pattern}
		if i := strings.IndexByte(pattern, '*'); i >= 0 {
			a.prefix, a.suffix, a.wildcard = pattern[:i], pattern[i+1:], true
		}
		for _, t := range targets {
			a.targets = append(a.targets, filepath.Join(base, filepath.FromSlash(t)))
		}
		p.aliases = append(p.aliases, a)
	}
}

// aliasCandidates lists the paths a non-relative import may name through
// the tsconfig aliases and baseUrl.
func (p *jsProject) aliasCandidates(module string) []string {
	var out []string
	for _, a := range p.aliases {
		if !a.wildcard {
			if module == a.prefix {
				out = append(out, a.targets...)
			}
			continue
		}
		if strings.HasPrefix(module, a.prefix) && strings.HasSuffix(module, a.suffix) && len(module) >= len(a.prefix)+len(a.suffix) {
			rest := module[len(a.prefix) : len(module)-len(a.suffix)]
			for _, t := range a.targets {
				out = append(out, strings.Replace(t, "*", filepath.FromSlash(rest), 1))
			}
		}
	}
	if p.baseURL != "" {
		out = append(out, filepath.Join(p.baseURL, filepath.FromSlash(module)))
	}
	return out
}

// Values found by constant folding.

// evalDepth bounds the chains of names and members followed.
const evalDepth = 24

// evalString folds an expression to a string when it is built from
// constants: literals, templates over constants, concatenation, constant
// names (also imported), members of constant objects (a config module's
// api.prefix), this.path in a class, process.env.X || "default", and the
// default of a zod field (env.API_PREFIX of z.object({API_PREFIX:
// z.string().default("/api")}).parse(process.env)).
func (p *jsProject) evalString(f *jsFile, n *sitter.Node, depth int) (string, bool) {
	n = unwrapExpr(n)
	if n == nil || depth > evalDepth {
		return "", false
	}
	switch n.Type() {
	case "string":
		return jsStringValue(n, f.src), true
	case "number":
		return f.text(n), true
	case "template_string":
		var b strings.Builder
		raw := f.text(n)
		start := int(n.StartByte())
		pos := 1
		for i := 0; i < int(n.NamedChildCount()); i++ {
			c := n.NamedChild(i)
			if c.Type() != "template_substitution" {
				continue
			}
			b.WriteString(raw[pos : int(c.StartByte())-start])
			if c.NamedChildCount() == 0 {
				return "", false
			}
			s, ok := p.evalString(f, c.NamedChild(0), depth+1)
			if !ok {
				return "", false
			}
			b.WriteString(s)
			pos = int(c.EndByte()) - start
		}
		if pos <= len(raw)-1 {
			b.WriteString(raw[pos : len(raw)-1])
		}
		return unescapeTemplate(b.String()), true
	case "binary_expression":
		op := ""
		if o := n.ChildByFieldName("operator"); o != nil {
			op = f.text(o)
		}
		l, r := n.ChildByFieldName("left"), n.ChildByFieldName("right")
		switch op {
		case "+":
			a, ok1 := p.evalString(f, l, depth+1)
			b, ok2 := p.evalString(f, r, depth+1)
			return a + b, ok1 && ok2
		case "||", "??":
			if a, ok := p.evalString(f, l, depth+1); ok && a != "" {
				return a, true
			}
			return p.evalString(f, r, depth+1)
		}
	case "call_expression":
		// z.string().default("/api"), String(x), x.toString().
		if s, ok := p.zodDefault(f, n, depth); ok {
			return s, true
		}
	}
	vf, v := p.evalNode(f, n, depth+1)
	if v == nil || v == n {
		return "", false
	}
	return p.evalString(vf, v, depth+1)
}

// unescapeTemplate reads the escapes of a template literal's text.
func unescapeTemplate(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// zodDefault reads the argument of .default(x) in a call chain.
func (p *jsProject) zodDefault(f *jsFile, n *sitter.Node, depth int) (string, bool) {
	for i := 0; n != nil && n.Type() == "call_expression" && i < 16; i++ {
		fn := n.ChildByFieldName("function")
		if fn == nil || fn.Type() != "member_expression" {
			return "", false
		}
		if f.text(fn.ChildByFieldName("property")) == "default" {
			if args := argList(n); len(args) > 0 {
				return p.evalString(f, args[0], depth+1)
			}
		}
		n = fn.ChildByFieldName("object")
	}
	return "", false
}

// evalNode follows an expression to the node that defines its value: a
// name to its declaration's value (through imports), a member to the
// property of an object literal, this.x to the class field, and a zod
// schema's parse() result to the field's schema.
func (p *jsProject) evalNode(f *jsFile, n *sitter.Node, depth int) (*jsFile, *sitter.Node) {
	n = unwrapExpr(n)
	if n == nil || depth > evalDepth {
		return f, nil
	}
	switch n.Type() {
	case "identifier":
		if d := localDecl(f, n, f.text(n)); d != nil {
			return f, declValue(f, d)
		}
		b, ok := p.resolveName(f, f.text(n), 0)
		if !ok || b.name == "*" {
			return f, nil
		}
		d := b.file.decls[b.name]
		if d == nil {
			return f, nil
		}
		if d.Type() == "variable_declarator" {
			v := declValue(b.file, d)
			// const validations = require('./validations'): the module's
			// export.
			if mod, member, ok := requireCall(b.file, v); ok {
				if t := p.resolveModule(b.file, mod); t != nil {
					if eb, ok := p.resolveExport(t, member, 0); ok {
						return eb.file, nodeIdent(eb)
					}
				}
				return b.file, nil
			}
			return b.file, v
		}
		if mod, member, ok := requireCall(b.file, d); ok {
			if t := p.resolveModule(b.file, mod); t != nil {
				if eb, ok := p.resolveExport(t, member, 0); ok {
					return eb.file, nodeIdent(eb)
				}
			}
			return b.file, nil
		}
		return b.file, d
	case "member_expression":
		obj, prop := n.ChildByFieldName("object"), f.text(n.ChildByFieldName("property"))
		if obj == nil {
			return f, nil
		}
		if obj.Type() == "this" {
			if v := classField(f, n, prop); v != nil {
				return f, unwrapExpr(v)
			}
			return f, nil
		}
		if obj.Type() == "identifier" {
			if b, ok := p.resolveName(f, f.text(obj), 0); ok && b.name == "*" {
				if eb, ok := p.resolveExport(b.file, prop, 0); ok {
					return eb.file, nodeIdent(eb)
				}
				return f, nil
			}
		}
		of, o := p.evalNode(f, obj, depth+1)
		if o == nil {
			return f, nil
		}
		return p.propertyOf(of, o, prop, depth+1)
	}
	return f, nil
}

// propertyOf finds a property's value in an object literal, or a field's
// schema in a zod object (z.object({...}) or schema.parse(...)).
func (p *jsProject) propertyOf(f *jsFile, o *sitter.Node, prop string, depth int) (*jsFile, *sitter.Node) {
	o = unwrapExpr(o)
	if o == nil || depth > evalDepth {
		return f, nil
	}
	switch o.Type() {
	case "object":
		for i := 0; i < int(o.NamedChildCount()); i++ {
			c := o.NamedChild(i)
			switch c.Type() {
			case "pair":
				k := c.ChildByFieldName("key")
				name := f.text(k)
				if k != nil && k.Type() == "string" {
					name = jsStringValue(k, f.src)
				}
				if name == prop {
					return f, unwrapExpr(c.ChildByFieldName("value"))
				}
			case "shorthand_property_identifier":
				if f.text(c) == prop {
					b, ok := p.resolveName(f, prop, 0)
					if !ok || b.name == "*" {
						return f, nil
					}
					if d := b.file.decls[b.name]; d != nil && d.Type() == "variable_declarator" {
						return b.file, declValue(b.file, d)
					}
					return b.file, b.file.decls[b.name]
				}
			}
		}
	case "call_expression":
		fn := o.ChildByFieldName("function")
		if fn == nil {
			return f, nil
		}
		if fn.Type() == "member_expression" {
			method := f.text(fn.ChildByFieldName("property"))
			switch method {
			case "safeParse", "safeParseAsync":
				// schema.safeParse(env).data is the parsed object.
				if prop == "data" {
					return f, o
				}
				fallthrough
			case "parse", "parseAsync":
				// schema.parse(process.env): the schema's field.
				sf, s := p.evalNode(f, fn.ChildByFieldName("object"), depth+1)
				if s == nil {
					sf, s = f, fn.ChildByFieldName("object")
				}
				return p.propertyOf(sf, s, prop, depth+1)
			case "object":
				if args := argList(o); len(args) > 0 {
					return p.propertyOf(f, args[0], prop, depth+1)
				}
			}
		}
	case "identifier", "member_expression":
		vf, v := p.evalNode(f, o, depth+1)
		if v != nil && v != o {
			return p.propertyOf(vf, v, prop, depth+1)
		}
	}
	return f, nil
}

// enclosingClass is the class declaration around n.
func enclosingClass(n *sitter.Node) *sitter.Node {
	for n != nil {
		if t := n.Type(); t == "class_declaration" || t == "class" || t == "abstract_class_declaration" {
			return n
		}
		n = n.Parent()
	}
	return nil
}

// classField finds the value given to this.<name> in the class around n:
// a field initializer (public path = '/posts') or an assignment in the
// constructor (this.path = '/posts').
func classField(f *jsFile, n *sitter.Node, name string) *sitter.Node {
	cls := enclosingClass(n)
	if cls == nil {
		return nil
	}
	body := cls.ChildByFieldName("body")
	if body == nil {
		return nil
	}
	var found *sitter.Node
	for i := 0; i < int(body.NamedChildCount()) && found == nil; i++ {
		c := body.NamedChild(i)
		switch c.Type() {
		case "public_field_definition", "field_definition":
			k := c.ChildByFieldName("name")
			if k == nil {
				k = c.ChildByFieldName("property")
			}
			if k != nil && f.text(k) == name {
				found = c.ChildByFieldName("value")
			}
		}
	}
	if found != nil {
		return found
	}
	walkNodes(body, func(m *sitter.Node) bool {
		if found != nil {
			return false
		}
		if m.Type() == "assignment_expression" {
			if l := m.ChildByFieldName("left"); l != nil && f.text(l) == "this."+name {
				found = m.ChildByFieldName("right")
			}
		}
		return true
	})
	return found
}

// className names the class around n, "" outside one.
func className(f *jsFile, n *sitter.Node) string {
	cls := enclosingClass(n)
	if cls == nil {
		return ""
	}
	if nm := cls.ChildByFieldName("name"); nm != nil {
		return f.text(nm)
	}
	return "class@" + f.rel
}

// localDecl finds the declaration of name in the blocks around at (a
// variable declared inside a function), nil for top-level names.
func localDecl(f *jsFile, at *sitter.Node, name string) *sitter.Node {
	for n := at.Parent(); n != nil; n = n.Parent() {
		switch n.Type() {
		case "statement_block", "switch_body":
			for i := 0; i < int(n.NamedChildCount()); i++ {
				c := n.NamedChild(i)
				if c.Type() != "lexical_declaration" && c.Type() != "variable_declaration" {
					continue
				}
				for j := 0; j < int(c.NamedChildCount()); j++ {
					d := c.NamedChild(j)
					if d.Type() == "variable_declarator" {
						if nm := d.ChildByFieldName("name"); nm != nil && nm.Type() == "identifier" && f.text(nm) == name {
							return d
						}
					}
				}
			}
		case "program", "class_body":
			return nil
		}
	}
	return nil
}

// localKey names a router held in a local variable, so that two functions
// of a file with a local "router" each have their own.
func localKey(f *jsFile, d *sitter.Node) string {
	return f.text(d.ChildByFieldName("name")) + "\x00@" + strconv.Itoa(int(d.StartByte()))
}

// declValue is the value of a declaration; a variable declared without
// one (let env; ... env = schema.parse(...)) takes the value of the one
// assignment to it in its file.
func declValue(f *jsFile, d *sitter.Node) *sitter.Node {
	if v := d.ChildByFieldName("value"); v != nil {
		return unwrapExpr(v)
	}
	name := f.text(d.ChildByFieldName("name"))
	var found *sitter.Node
	count := 0
	walkNodes(f.root, func(n *sitter.Node) bool {
		if n.Type() == "assignment_expression" {
			if l := n.ChildByFieldName("left"); l != nil && l.Type() == "identifier" && f.text(l) == name {
				found = n.ChildByFieldName("right")
				count++
			}
		}
		return count < 2
	})
	if count != 1 {
		return nil
	}
	return unwrapExpr(found)
}
