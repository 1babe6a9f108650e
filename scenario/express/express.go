package express

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/headroom-sh/headroom/scenario/generate"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/javascript"
	"github.com/smacker/go-tree-sitter/typescript/tsx"
	"github.com/smacker/go-tree-sitter/typescript/typescript"
)

// Limits that keep a huge or hostile source tree from exhausting memory.
const (
	expressMaxFiles    = 5000
	expressMaxFileSize = 2 << 20
	expressMaxMounts   = 64
)

// Read reads the Express.js application under dir (JavaScript or
// TypeScript) with tree-sitter and returns its routes: app.METHOD,
// router.METHOD, router.route(path).get().post(), routers mounted with
// app.use('/prefix', router) across files and imports, path parameters,
// middleware names (an auth-like name such as authenticate marks the route
// as needing a token), request bodies from TypeScript types
// (Request<Params, Res, Body>, req.body as T, typed handlers), response
// shapes and success statuses. Files under node_modules, build output and
// tests are skipped.
func Read(dir string) (*generate.APIModel, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("could not read Express sources %q: %w", dir, err)
	}
	p := newJSProject(dir)
	if !st.IsDir() {
		if err := p.addFile(dir); err != nil {
			return nil, err
		}
		p.root = filepath.Dir(dir)
	} else {
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if path != dir && (strings.HasPrefix(name, ".") || skipDirs[name]) {
					return filepath.SkipDir
				}
				return nil
			}
			if !isSourceFile(name) {
				return nil
			}
			if len(p.files) >= expressMaxFiles {
				return fmt.Errorf("more than %d source files: point --express at the application's source directory", expressMaxFiles)
			}
			return p.addFile(path)
		})
		if err != nil {
			return nil, fmt.Errorf("could not read Express sources %q: %w", dir, err)
		}
	}
	p.readTSConfig()
	return p.read()
}

// ParseSources reads Express sources from memory: file names (with
// their extension) to content. It is what fuzz tests call.
func ParseSources(files map[string][]byte) (*generate.APIModel, error) {
	p := newJSProject("")
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := p.addSource(n, files[n]); err != nil {
			return nil, err
		}
	}
	return p.read()
}

var skipDirs = map[string]bool{"node_modules": true, "dist": true, "build": true, "coverage": true, "out": true, "__tests__": true, "test": true, "tests": true}

func isSourceFile(name string) bool {
	if strings.Contains(name, ".test.") || strings.Contains(name, ".spec.") {
		return false
	}
	switch filepath.Ext(name) {
	case ".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs":
		return true
	}
	return false
}

// jsFile is one parsed source file with its top-level names.
type jsFile struct {
	path string
	rel  string
	src  []byte
	tree *sitter.Tree
	root *sitter.Node
	// imports maps a local name to where it comes from.
	imports map[string]jsImport
	// exports maps an exported name ("default" too) to the local name.
	exports map[string]string
	// reexports lists `export * from` modules.
	reexports []string
	// decls are the file's variable, function and class declarations by name.
	decls map[string]*sitter.Node
	types map[string]*tsTypeDecl
}

type jsImport struct {
	module string
	// name is the imported name: "default", "*" or a named export.
	name string
}

// jsProject is every parsed file of an application.
type jsProject struct {
	root string
	// baseURL and aliases come from tsconfig.json.
	baseURL  string
	aliases  []tsAlias
	files    []*jsFile
	byPath   map[string]*jsFile
	warnings []string
	types    *tsTypes
}

func newJSProject(root string) *jsProject {
	p := &jsProject{root: root, byPath: map[string]*jsFile{}}
	p.types = &tsTypes{p: p, active: map[*tsTypeDecl]bool{}}
	return p
}

func (p *jsProject) warn(format string, args ...any) {
	if len(p.warnings) < 100 {
		p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
	}
}

func (p *jsProject) addFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("could not read %q: %w", path, err)
	}
	if st.Size() > expressMaxFileSize {
		p.warn("%s: larger than %d bytes, skipped", path, expressMaxFileSize)
		return nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("could not read %q: %w", path, err)
	}
	return p.addSource(path, src)
}

func (p *jsProject) addSource(path string, src []byte) error {
	var lang *sitter.Language
	switch filepath.Ext(path) {
	case ".ts", ".mts", ".cts":
		lang = typescript.GetLanguage()
	case ".tsx":
		lang = tsx.GetLanguage()
	default:
		lang = javascript.GetLanguage()
	}
	parser := sitter.NewParser()
	defer parser.Close()
	parser.SetLanguage(lang)
	tree, err := parser.ParseCtx(context.Background(), nil, src)
	if err != nil {
		return fmt.Errorf("could not parse %q: %w", path, err)
	}
	rel := path
	if p.root != "" {
		if r, err := filepath.Rel(p.root, path); err == nil {
			rel = filepath.ToSlash(r)
		}
	}
	f := &jsFile{path: path, rel: rel, src: src, tree: tree, root: tree.RootNode(),
		imports: map[string]jsImport{}, exports: map[string]string{}, decls: map[string]*sitter.Node{}, types: map[string]*tsTypeDecl{}}
	if f.root.HasError() {
		if n := firstError(f.root); n != nil {
			p.warn("%s:%d: syntax error; the parts that parse are still read", rel, n.StartPoint().Row+1)
		}
	}
	p.index(f)
	p.files = append(p.files, f)
	p.byPath[filepath.Clean(path)] = f
	return nil
}

func firstError(n *sitter.Node) *sitter.Node {
	if n.IsError() || n.IsMissing() {
		return n
	}
	for i := 0; i < int(n.ChildCount()); i++ {
		if c := n.Child(i); c.HasError() || c.IsMissing() {
			if e := firstError(c); e != nil {
				return e
			}
		}
	}
	return nil
}

// line is the 1-based line of a node.
func (f *jsFile) line(n *sitter.Node) int { return int(n.StartPoint().Row) + 1 }

func (f *jsFile) text(n *sitter.Node) string {
	if n == nil {
		return ""
	}
	return n.Content(f.src)
}

// index records a file's imports, exports and declarations.
func (p *jsProject) index(f *jsFile) {
	root := f.root
	for i := 0; i < int(root.NamedChildCount()); i++ {
		n := root.NamedChild(i)
		p.indexStatement(f, n, false)
	}
}

func (p *jsProject) indexStatement(f *jsFile, n *sitter.Node, exported bool) {
	switch n.Type() {
	case "import_statement":
		src := n.ChildByFieldName("source")
		if src == nil {
			return
		}
		mod := jsStringValue(src, f.src)
		for i := 0; i < int(n.NamedChildCount()); i++ {
			c := n.NamedChild(i)
			if c.Type() != "import_clause" {
				continue
			}
			for j := 0; j < int(c.NamedChildCount()); j++ {
				k := c.NamedChild(j)
				switch k.Type() {
				case "identifier":
					f.imports[f.text(k)] = jsImport{module: mod, name: "default"}
				case "namespace_import":
					if k.NamedChildCount() > 0 {
						f.imports[f.text(k.NamedChild(0))] = jsImport{module: mod, name: "*"}
					}
				case "named_imports":
					for m := 0; m < int(k.NamedChildCount()); m++ {
						spec := k.NamedChild(m)
						if spec.Type() != "import_specifier" {
							continue
						}
						name := spec.ChildByFieldName("name")
						alias := spec.ChildByFieldName("alias")
						local := name
						if alias != nil {
							local = alias
						}
						if name != nil {
							f.imports[f.text(local)] = jsImport{module: mod, name: f.text(name)}
						}
					}
				}
			}
		}
	case "export_statement":
		if src := n.ChildByFieldName("source"); src != nil {
			mod := jsStringValue(src, f.src)
			clause := false
			for i := 0; i < int(n.NamedChildCount()); i++ {
				c := n.NamedChild(i)
				if c.Type() == "export_clause" {
					clause = true
					for j := 0; j < int(c.NamedChildCount()); j++ {
						spec := c.NamedChild(j)
						name, alias := spec.ChildByFieldName("name"), spec.ChildByFieldName("alias")
						if name == nil {
							continue
						}
						out := name
						if alias != nil {
							out = alias
						}
						local := "\x00reexport:" + f.text(out)
						f.imports[local] = jsImport{module: mod, name: f.text(name)}
						f.exports[f.text(out)] = local
					}
				}
			}
			if !clause {
				f.reexports = append(f.reexports, mod)
			}
			return
		}
		if d := n.ChildByFieldName("declaration"); d != nil {
			p.indexStatement(f, d, true)
			return
		}
		isDefault := false
		for i := 0; i < int(n.ChildCount()); i++ {
			c := n.Child(i)
			if !c.IsNamed() && c.Type() == "default" {
				isDefault = true
			}
			// export = router: TypeScript's form of module.exports.
			if !c.IsNamed() && c.Type() == "=" && i+1 < int(n.ChildCount()) {
				if v := n.Child(i + 1); v.IsNamed() {
					if v.Type() == "identifier" {
						f.exports["default"] = f.text(v)
					} else {
						f.decls["\x00default"] = v
						f.exports["default"] = "\x00default"
					}
					return
				}
			}
		}
		if v := n.ChildByFieldName("value"); v != nil && isDefault {
			if v.Type() == "identifier" {
				f.exports["default"] = f.text(v)
			} else {
				f.decls["\x00default"] = v
				f.exports["default"] = "\x00default"
			}
			return
		}
		for i := 0; i < int(n.NamedChildCount()); i++ {
			c := n.NamedChild(i)
			switch c.Type() {
			case "export_clause":
				for j := 0; j < int(c.NamedChildCount()); j++ {
					spec := c.NamedChild(j)
					name, alias := spec.ChildByFieldName("name"), spec.ChildByFieldName("alias")
					if name == nil {
						continue
					}
					out := name
					if alias != nil {
						out = alias
					}
					f.exports[f.text(out)] = f.text(name)
				}
			case "function_declaration", "class_declaration", "abstract_class_declaration", "generator_function_declaration":
				if isDefault {
					name := c.ChildByFieldName("name")
					if name != nil {
						f.decls[f.text(name)] = c
						f.exports["default"] = f.text(name)
					} else {
						f.decls["\x00default"] = c
						f.exports["default"] = "\x00default"
					}
				}
			}
		}
	case "lexical_declaration", "variable_declaration":
		for i := 0; i < int(n.NamedChildCount()); i++ {
			d := n.NamedChild(i)
			if d.Type() != "variable_declarator" {
				continue
			}
			name, value := d.ChildByFieldName("name"), d.ChildByFieldName("value")
			if name == nil {
				continue
			}
			if name.Type() == "identifier" {
				f.decls[f.text(name)] = d
				if exported {
					f.exports[f.text(name)] = f.text(name)
				}
				if mod, member, ok := requireCall(f, value); ok {
					f.imports[f.text(name)] = jsImport{module: mod, name: member}
				}
				continue
			}
			if name.Type() == "object_pattern" {
				if mod, _, ok := requireCall(f, value); ok {
					for j := 0; j < int(name.NamedChildCount()); j++ {
						c := name.NamedChild(j)
						switch c.Type() {
						case "shorthand_property_identifier_pattern":
							f.imports[f.text(c)] = jsImport{module: mod, name: f.text(c)}
						case "pair_pattern":
							k, v := c.ChildByFieldName("key"), c.ChildByFieldName("value")
							if k != nil && v != nil && v.Type() == "identifier" {
								f.imports[f.text(v)] = jsImport{module: mod, name: f.text(k)}
							}
						}
					}
				}
			}
		}
	case "function_declaration", "class_declaration", "abstract_class_declaration", "generator_function_declaration":
		if name := n.ChildByFieldName("name"); name != nil {
			f.decls[f.text(name)] = n
			if exported {
				f.exports[f.text(name)] = f.text(name)
			}
		}
	case "interface_declaration", "type_alias_declaration", "enum_declaration":
		name := n.ChildByFieldName("name")
		if name == nil {
			return
		}
		decl := &tsTypeDecl{file: f, node: n, name: f.text(name), doc: docBefore(n, f.src)}
		if tp := n.ChildByFieldName("type_parameters"); tp != nil {
			for i := 0; i < int(tp.NamedChildCount()); i++ {
				if pn := tp.NamedChild(i).ChildByFieldName("name"); pn != nil {
					decl.params = append(decl.params, f.text(pn))
				}
			}
		}
		f.types[decl.name] = decl
		if exported {
			f.exports[decl.name] = decl.name
		}
	case "expression_statement":
		if n.NamedChildCount() == 0 {
			return
		}
		e := n.NamedChild(0)
		if e.Type() != "assignment_expression" {
			return
		}
		left, right := e.ChildByFieldName("left"), e.ChildByFieldName("right")
		lt := f.text(left)
		switch {
		case lt == "module.exports":
			if right.Type() == "identifier" {
				f.exports["default"] = f.text(right)
			} else if right.Type() == "object" {
				// The object is the default export, and each of its
				// members a named one.
				f.decls["\x00default"] = right
				f.exports["default"] = "\x00default"
				for j := 0; j < int(right.NamedChildCount()); j++ {
					c := right.NamedChild(j)
					switch c.Type() {
					case "shorthand_property_identifier":
						f.exports[f.text(c)] = f.text(c)
					case "pair":
						k, v := c.ChildByFieldName("key"), c.ChildByFieldName("value")
						if k != nil && v != nil {
							f.decls["\x00export:"+f.text(k)] = v
							f.exports[f.text(k)] = "\x00export:" + f.text(k)
						}
					}
				}
			} else {
				f.decls["\x00default"] = right
				f.exports["default"] = "\x00default"
			}
		case strings.HasPrefix(lt, "module.exports.") || strings.HasPrefix(lt, "exports."):
			name := lt[strings.LastIndexByte(lt, '.')+1:]
			if right.Type() == "identifier" {
				f.exports[name] = f.text(right)
			} else {
				f.decls["\x00export:"+name] = right
				f.exports[name] = "\x00export:" + name
			}
		}
	}
}

// requireCall reads require('m') and require('m').name.
func requireCall(f *jsFile, n *sitter.Node) (module, member string, ok bool) {
	if n == nil {
		return "", "", false
	}
	member = "default"
	if n.Type() == "member_expression" {
		member = f.text(n.ChildByFieldName("property"))
		n = n.ChildByFieldName("object")
	}
	if n == nil || n.Type() != "call_expression" || f.text(n.ChildByFieldName("function")) != "require" {
		return "", "", false
	}
	args := n.ChildByFieldName("arguments")
	if args == nil || args.NamedChildCount() == 0 || args.NamedChild(0).Type() != "string" {
		return "", "", false
	}
	return jsStringValue(args.NamedChild(0), f.src), member, true
}

// resolveModule finds the file a relative import names.
func (p *jsProject) resolveModule(from *jsFile, module string) *jsFile {
	if !strings.HasPrefix(module, ".") && !strings.HasPrefix(module, "/") {
		for _, base := range p.aliasCandidates(module) {
			if f := p.moduleFile(base); f != nil {
				return f
			}
		}
		return nil
	}
	return p.moduleFile(filepath.Join(filepath.Dir(from.path), filepath.FromSlash(module)))
}

// moduleFile finds the source file an import path names, trying the
// extensions and index files the module resolution tries.
func (p *jsProject) moduleFile(base string) *jsFile {
	cands := []string{base}
	// Compiled-style imports name .js for a .ts source.
	if ext := filepath.Ext(base); ext == ".js" || ext == ".mjs" || ext == ".cjs" {
		stem := strings.TrimSuffix(base, ext)
		cands = append(cands, stem+".ts", stem+".tsx", stem+".mts", stem+".cts")
	}
	for _, ext := range []string{".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts"} {
		cands = append(cands, base+ext)
	}
	for _, ext := range []string{".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs"} {
		cands = append(cands, filepath.Join(base, "index"+ext))
	}
	for _, c := range cands {
		if f, ok := p.byPath[filepath.Clean(c)]; ok {
			return f
		}
	}
	return nil
}

// jsBinding is a name resolved to the file and local name that defines it.
type jsBinding struct {
	file *jsFile
	name string
}

// resolveName follows imports and re-exports to the declaring file.
func (p *jsProject) resolveName(f *jsFile, name string, depth int) (jsBinding, bool) {
	if depth > 16 {
		return jsBinding{}, false
	}
	if imp, ok := f.imports[name]; ok {
		target := p.resolveModule(f, imp.module)
		if target == nil {
			return jsBinding{}, false
		}
		if imp.name == "*" {
			return jsBinding{file: target, name: "*"}, true
		}
		return p.resolveExport(target, imp.name, depth+1)
	}
	if _, ok := f.decls[name]; ok {
		return jsBinding{file: f, name: name}, true
	}
	return jsBinding{}, false
}

func (p *jsProject) resolveExport(f *jsFile, name string, depth int) (jsBinding, bool) {
	if depth > 16 {
		return jsBinding{}, false
	}
	if local, ok := f.exports[name]; ok {
		if local == name || strings.HasPrefix(local, "\x00") && f.decls[local] != nil {
			if _, ok := f.decls[local]; ok {
				return jsBinding{file: f, name: local}, true
			}
		}
		return p.resolveName(f, local, depth+1)
	}
	for _, mod := range f.reexports {
		if t := p.resolveModule(f, mod); t != nil {
			if b, ok := p.resolveExport(t, name, depth+1); ok {
				return b, true
			}
		}
	}
	return jsBinding{}, false
}

// findType finds a declared type by name: in the file, through its
// imports, or anywhere in the project.
func (p *jsProject) findType(f *jsFile, name string) *tsTypeDecl {
	if d, ok := f.types[name]; ok {
		return d
	}
	if imp, ok := f.imports[name]; ok {
		if t := p.resolveModule(f, imp.module); t != nil {
			if d := p.findExportedType(t, imp.name, 0); d != nil {
				return d
			}
		}
	}
	for _, g := range p.files {
		if d, ok := g.types[name]; ok {
			return d
		}
	}
	return nil
}

func (p *jsProject) findExportedType(f *jsFile, name string, depth int) *tsTypeDecl {
	if depth > 16 {
		return nil
	}
	if d, ok := f.types[name]; ok {
		return d
	}
	if local, ok := f.exports[name]; ok {
		if d, ok := f.types[local]; ok {
			return d
		}
		if imp, ok := f.imports[local]; ok {
			if t := p.resolveModule(f, imp.module); t != nil {
				return p.findExportedType(t, imp.name, depth+1)
			}
		}
	}
	for _, mod := range f.reexports {
		if t := p.resolveModule(f, mod); t != nil {
			if d := p.findExportedType(t, name, depth+1); d != nil {
				return d
			}
		}
	}
	return nil
}

// expressMethods are the router methods that register routes.
var expressMethods = map[string]string{"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE", "del": "DELETE", "head": "HEAD", "options": "OPTIONS"}

func walkNodes(n *sitter.Node, fn func(*sitter.Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	for i := 0; i < int(n.NamedChildCount()); i++ {
		walkNodes(n.NamedChild(i), fn)
	}
}

// unwrapExpr drops parentheses, type assertions and awaits around an expression.
func unwrapExpr(n *sitter.Node) *sitter.Node {
	for n != nil {
		switch n.Type() {
		case "parenthesized_expression", "await_expression", "non_null_expression":
			if n.NamedChildCount() == 0 {
				return n
			}
			n = n.NamedChild(0)
		case "as_expression", "satisfies_expression":
			if n.NamedChildCount() == 0 {
				return n
			}
			n = n.NamedChild(0)
		default:
			return n
		}
	}
	return nil
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// routeChain reads router.route('/path') at the bottom of a method chain.
func (p *jsProject) routeChain(f *jsFile, n *sitter.Node) (path string, base *sitter.Node, ok bool) {
	for depth := 0; n != nil && n.Type() == "call_expression" && depth < 32; depth++ {
		fn := n.ChildByFieldName("function")
		if fn == nil || fn.Type() != "member_expression" {
			return "", nil, false
		}
		prop := f.text(fn.ChildByFieldName("property"))
		obj := fn.ChildByFieldName("object")
		if prop == "route" {
			args := argList(n)
			if len(args) == 0 {
				return "", nil, false
			}
			paths, ok := p.pathArg(f, args[0])
			if !ok || len(paths) != 1 {
				return "", nil, false
			}
			return paths[0], obj, true
		}
		if _, isMethod := expressMethods[strings.ToLower(prop)]; !isMethod && prop != "all" {
			return "", nil, false
		}
		n = obj
	}
	return "", nil, false
}

func argList(call *sitter.Node) []*sitter.Node {
	a := call.ChildByFieldName("arguments")
	if a == nil {
		return nil
	}
	var out []*sitter.Node
	for i := 0; i < int(a.NamedChildCount()); i++ {
		if c := a.NamedChild(i); c.Type() != "comment" {
			out = append(out, c)
		}
	}
	return out
}

var numberLitRE = regexp.MustCompile(`\b([0-9]{2,5})\b`)

// portOf reads the port an app listens on: a number, or the number in the
// declaration of the variable passed (Number(process.env.PORT ?? 8080)).
func (p *jsProject) portOf(f *jsFile, n *sitter.Node) int {
	text := f.text(n)
	if n.Type() == "identifier" {
		// The variable may be declared in a block: if (require.main ...) { const port = ... }.
		name := text
		walkNodes(f.root, func(d *sitter.Node) bool {
			if d.Type() == "variable_declarator" && f.text(d.ChildByFieldName("name")) == name {
				text = f.text(d.ChildByFieldName("value"))
				return false
			}
			return true
		})
	}
	if m := numberLitRE.FindStringSubmatch(text); m != nil {
		if port, err := strconv.Atoi(m[1]); err == nil && port > 0 && port < 65536 {
			return port
		}
	}
	return 0
}

// expander walks mounted routers and turns registrations into routes.
type expander struct {
	p      *jsProject
	routes []generate.Route
	seen   map[*jsRouter]int
	count  int
}

func joinPaths(prefix, p string) string {
	if p == "" || p == "/" {
		if prefix == "" {
			return "/"
		}
		return prefix
	}
	return strings.TrimRight(prefix, "/") + "/" + strings.TrimLeft(p, "/")
}

var (
	expressParamRE = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?\??`)
)

// openAPIPath writes an Express path in template form: /orders/:id → /orders/{id}.
func openAPIPath(p string) string {
	p = expressParamRE.ReplaceAllString(p, "{$1}")
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// docSummaryRE strips a leading "POST /api/cart/add:" from a route's comment.
var docSummaryRE = regexp.MustCompile(`^[A-Z]+ \S+:\s*`)

// statementDoc is the JSDoc comment before the statement holding n.
func statementDoc(n *sitter.Node, src []byte) *jsDoc {
	for n != nil && n.Type() != "expression_statement" {
		n = n.Parent()
	}
	if n == nil {
		return nil
	}
	prev := n.PrevNamedSibling()
	if prev == nil || prev.Type() != "comment" {
		return nil
	}
	return parseJSDoc(prev.Content(src))
}

// authMiddlewareRE matches middleware names that check credentials.
var authMiddlewareRE = regexp.MustCompile(`(?i)(auth|jwt|token|passport|protect|guard|ensure(logged|signed)|require(user|login|session|admin|role)|is(logged|signed)in|isadmin|admin_?only|verify(user|session|token|jwt)|bearer|session|logged_?in|current_?user|clerk|firebase)`)

// isAuthMiddleware reports whether a middleware name marks a route as
// needing credentials: authenticate, requireAuth, passport.authenticate().
func isAuthMiddleware(name string) bool {
	return authMiddlewareRE.MatchString(name) && !notAuthMiddlewareRE.MatchString(name)
}

// notAuthMiddlewareRE matches middleware that protects or prepares
// requests without asking for credentials: CSRF and header hardening,
// rate limits, passport.initialize(), sessions being created, cookie
// parsing. Applied to every route of real apps, they made every route look
// as if it needed a token.
var notAuthMiddlewareRE = regexp.MustCompile(`(?i)(csrf|xss|frame_?guard|helmet|hsts|sniff|content_?security|limit|initialize\(\)|^session\(\)$|passport\.session\(\)|express_?session|cookie|logger)`)

// middlewareNames names middleware arguments: identifiers, member
// expressions, and calls by their callee (passport.authenticate('jwt')).
func (p *jsProject) middlewareNames(f *jsFile, nodes []*sitter.Node) []string {
	var out []string
	for _, n := range nodes {
		n = unwrapExpr(n)
		if n == nil {
			continue
		}
		switch n.Type() {
		case "identifier", "member_expression":
			out = append(out, f.text(n))
		case "call_expression":
			out = append(out, f.text(n.ChildByFieldName("function"))+"()")
		case "array":
			var items []*sitter.Node
			for i := 0; i < int(n.NamedChildCount()); i++ {
				items = append(items, n.NamedChild(i))
			}
			out = append(out, p.middlewareNames(f, items)...)
		case "arrow_function", "function_expression", "function":
			out = append(out, "(inline)")
		}
	}
	return out
}

// handlerFunc finds the function node of a handler argument.
func (p *jsProject) handlerFunc(f *jsFile, n *sitter.Node, depth int) (*jsFile, *sitter.Node, *sitter.Node) {
	n = unwrapExpr(n)
	if n == nil || depth > 8 {
		return nil, nil, nil
	}
	switch n.Type() {
	case "arrow_function", "function_expression", "function", "function_declaration", "method_definition", "generator_function":
		return f, n, nil
	case "identifier":
		b, ok := p.resolveName(f, f.text(n), 0)
		if !ok || b.name == "*" {
			return nil, nil, nil
		}
		d := b.file.decls[b.name]
		if d == nil {
			return nil, nil, nil
		}
		if d.Type() == "variable_declarator" {
			typ := d.ChildByFieldName("type")
			hf, fn, _ := p.handlerFunc(b.file, d.ChildByFieldName("value"), depth+1)
			return hf, fn, typ
		}
		return p.handlerFunc(b.file, d, depth+1)
	case "call_expression":
		// asyncHandler(async (req, res) => ...): the function inside.
		for _, a := range argList(n) {
			if hf, fn, typ := p.handlerFunc(f, a, depth+1); fn != nil {
				return hf, fn, typ
			}
		}
	case "member_expression":
		obj, prop := n.ChildByFieldName("object"), f.text(n.ChildByFieldName("property"))
		if obj == nil || obj.Type() != "identifier" {
			return nil, nil, nil
		}
		b, ok := p.resolveName(f, f.text(obj), 0)
		if !ok {
			return nil, nil, nil
		}
		if b.name == "*" {
			if eb, ok := p.resolveExport(b.file, prop, 0); ok {
				return p.handlerFunc(eb.file, nodeIdent(eb), depth+1)
			}
			return nil, nil, nil
		}
		return p.memberFunc(b, prop, depth)
	}
	return nil, nil, nil
}

// nodeIdent returns a declaration node to resolve a binding through.
func nodeIdent(b jsBinding) *sitter.Node {
	d := b.file.decls[b.name]
	if d != nil && d.Type() == "variable_declarator" {
		if v := d.ChildByFieldName("value"); v != nil {
			return v
		}
	}
	return d
}

// memberFunc finds controller.create in an object literal or a class.
func (p *jsProject) memberFunc(b jsBinding, prop string, depth int) (*jsFile, *sitter.Node, *sitter.Node) {
	d := b.file.decls[b.name]
	if d == nil {
		return nil, nil, nil
	}
	if d.Type() == "variable_declarator" {
		v := unwrapExpr(d.ChildByFieldName("value"))
		if v != nil && v.Type() == "new_expression" {
			if ctor := v.ChildByFieldName("constructor"); ctor != nil {
				if cb, ok := p.resolveName(b.file, b.file.text(ctor), 0); ok {
					return p.memberFunc(cb, prop, depth+1)
				}
			}
			return nil, nil, nil
		}
		d = v
	}
	if d == nil {
		return nil, nil, nil
	}
	// The members are the direct children of an object literal or of a
	// class body.
	if d.Type() == "class_declaration" || d.Type() == "class" {
		d = d.ChildByFieldName("body")
		if d == nil {
			return nil, nil, nil
		}
	}
	var found *sitter.Node
	for i := 0; i < int(d.NamedChildCount()) && found == nil; i++ {
		n := d.NamedChild(i)
		switch n.Type() {
		case "pair", "public_field_definition", "field_definition":
			k := n.ChildByFieldName("key")
			if k == nil {
				k = n.ChildByFieldName("name")
			}
			if k == nil {
				k = n.ChildByFieldName("property")
			}
			if k != nil && b.file.text(k) == prop {
				found = n.ChildByFieldName("value")
			}
		case "method_definition":
			if k := n.ChildByFieldName("name"); k != nil && b.file.text(k) == prop {
				found = n
			}
		case "shorthand_property_identifier":
			if b.file.text(n) == prop {
				if fb, ok := p.resolveName(b.file, prop, 0); ok {
					return p.handlerFunc(fb.file, nodeIdent(fb), depth+1)
				}
			}
		}
	}
	if found == nil {
		return nil, nil, nil
	}
	return p.handlerFunc(b.file, found, depth+1)
}

// requestTypes are the type names whose generic arguments are
// <Params, ResBody, ReqBody, Query>.
var requestTypes = map[string]bool{"Request": true, "RequestHandler": true, "Handler": true}

// handlerInfo reads a handler's body type, path parameter types, response
// type and success status into rt.
func (p *jsProject) handlerInfo(f *jsFile, handler *sitter.Node, rt *generate.Route) {
	hf, fn, varType := p.handlerFunc(f, handler, 0)
	if fn == nil {
		if handler != nil {
			p.warn("%s: the handler of %s %s (%s) could not be found; its body and response are unknown", rt.Source, rt.Method, rt.Path, clipText(f.text(handler), 40))
		}
		return
	}
	tc := p.types
	params := fn.ChildByFieldName("parameters")
	var reqName, resName string
	var reqType, resType *sitter.Node
	if params != nil {
		var ps []*sitter.Node
		for i := 0; i < int(params.NamedChildCount()); i++ {
			if c := params.NamedChild(i); c.Type() == "required_parameter" || c.Type() == "optional_parameter" || c.Type() == "identifier" {
				ps = append(ps, c)
			}
		}
		name := func(n *sitter.Node) string {
			if n.Type() == "identifier" {
				return hf.text(n)
			}
			if pat := n.ChildByFieldName("pattern"); pat != nil && pat.Type() == "identifier" {
				return hf.text(pat)
			}
			return ""
		}
		if len(ps) > 0 {
			reqName, reqType = name(ps[0]), ps[0].ChildByFieldName("type")
		}
		if len(ps) > 1 {
			resName, resType = name(ps[1]), ps[1].ChildByFieldName("type")
		}
	} else if pn := fn.ChildByFieldName("parameter"); pn != nil {
		reqName = hf.text(pn)
	}
	// Generic arguments of Request<P, ResBody, ReqBody> or of a typed
	// handler variable RequestHandler<P, ResBody, ReqBody>.
	genericArgs := func(t *sitter.Node) (string, []*sitter.Node) {
		t = typeInner(t)
		if t == nil {
			return "", nil
		}
		if t.Type() != "generic_type" {
			n := hf.text(t)
			if i := strings.LastIndexByte(n, '.'); i >= 0 {
				n = n[i+1:]
			}
			return n, nil
		}
		nameNode := t.ChildByFieldName("name")
		n := hf.text(nameNode)
		if i := strings.LastIndexByte(n, '.'); i >= 0 {
			n = n[i+1:]
		}
		var args []*sitter.Node
		if ta := t.ChildByFieldName("type_arguments"); ta != nil {
			for i := 0; i < int(ta.NamedChildCount()); i++ {
				args = append(args, ta.NamedChild(i))
			}
		}
		return n, args
	}
	var paramsT, resBodyT, reqBodyT *sitter.Node
	for _, t := range []*sitter.Node{varType, reqType} {
		if t == nil {
			continue
		}
		name, args := genericArgs(t)
		if requestTypes[name] {
			if len(args) > 0 && paramsT == nil {
				paramsT = args[0]
			}
			if len(args) > 1 && resBodyT == nil {
				resBodyT = args[1]
			}
			if len(args) > 2 && reqBodyT == nil {
				reqBodyT = args[2]
			}
		} else if t == reqType && name != "" && reqBodyT == nil {
			// A request type of the project: its body property.
			s := tc.schemaOf(hf, typeInner(t), nil)
			if b := s.Prop("body"); b != nil && (b.IsObject() || b.Type != "") {
				rt.Body = b
			}
		}
	}
	if resType != nil {
		if name, args := genericArgs(resType); name == "Response" && len(args) > 0 {
			resBodyT = args[0]
		}
	}
	body := fn.ChildByFieldName("body")
	if reqBodyT != nil && !isEmptyType(hf, reqBodyT) {
		rt.Body = tc.schemaOf(hf, reqBodyT, nil)
	}
	if rt.Body == nil && body != nil && reqName != "" {
		rt.Body = p.bodyFromUsage(hf, body, reqName)
	}
	if rt.Body != nil && rt.Body.Type == "" && len(rt.Body.Properties) == 0 && rt.Body.Name == "" && len(rt.Body.AnyOf) == 0 {
		rt.Body = nil
	}
	if paramsT != nil {
		ps := tc.schemaOf(hf, paramsT, nil)
		for _, prop := range ps.Properties {
			rt.Params = append(rt.Params, generate.Param{Name: prop.Name, In: "path", Required: true, Schema: prop.Schema})
		}
	}
	for _, name := range generate.PathParams(rt.Path) {
		found := false
		for _, prm := range rt.Params {
			found = found || prm.Name == name
		}
		if !found {
			rt.Params = append(rt.Params, generate.Param{Name: name, In: "path", Required: true, Schema: &generate.Schema{}})
		}
	}
	if resBodyT != nil {
		rt.Response = successAlternative(tc.schemaOf(hf, resBodyT, nil))
	}
	if body != nil && resName != "" {
		status, resp := p.responseFromUsage(hf, body, resName)
		if status > 0 {
			rt.SuccessStatus = status
		}
		if rt.Response == nil || (rt.Response.Type == "" && len(rt.Response.Properties) == 0) {
			if resp != nil {
				rt.Response = resp
			}
		}
	}
	if rt.Response != nil && rt.Response.Type == "" && len(rt.Response.Properties) == 0 && rt.Response.Name == "" {
		rt.Response = nil
	}
}

func typeInner(t *sitter.Node) *sitter.Node {
	for t != nil && (t.Type() == "type_annotation" || t.Type() == "parenthesized_type") && t.NamedChildCount() > 0 {
		t = t.NamedChild(0)
	}
	return t
}

// isEmptyType reports whether a type argument says nothing: {}, any,
// unknown, never.
func isEmptyType(f *jsFile, t *sitter.Node) bool {
	switch strings.TrimSpace(f.text(t)) {
	case "{}", "any", "unknown", "never", "object", "Record<string, any>", "Record<string, unknown>", "ParamsDictionary", "core.ParamsDictionary":
		return true
	}
	return false
}

// successAlternative picks, from a union of response types, the one that
// is not an error.
func successAlternative(s *generate.Schema) *generate.Schema {
	if s == nil || len(s.AnyOf) == 0 {
		return s
	}
	for _, a := range s.AnyOf {
		if !strings.Contains(strings.ToLower(a.Name), "error") && a.Prop("error") == nil {
			return a
		}
	}
	return s.AnyOf[0]
}

// isReqBody reports whether n is <req>.body, possibly wrapped:
// (req.body ?? {}), req.body || {}.
func isReqBody(f *jsFile, n *sitter.Node, req string) bool {
	n = unwrapExpr(n)
	if n == nil {
		return false
	}
	if n.Type() == "binary_expression" {
		return isReqBody(f, n.ChildByFieldName("left"), req)
	}
	if n.Type() != "member_expression" {
		return false
	}
	obj := n.ChildByFieldName("object")
	return obj != nil && f.text(obj) == req && f.text(n.ChildByFieldName("property")) == "body"
}

// bodyFromUsage finds the body type in a handler's code: req.body as T,
// <T>req.body, const x: T = req.body; without types, the fields it reads
// (const { a, b } = req.body, req.body.c).
func (p *jsProject) bodyFromUsage(f *jsFile, body *sitter.Node, req string) *generate.Schema {
	var typed *generate.Schema
	fields := map[string]bool{}
	var order []string
	addField := func(name string) {
		if name != "" && !fields[name] {
			fields[name] = true
			order = append(order, name)
		}
	}
	walkNodes(body, func(n *sitter.Node) bool {
		if typed != nil {
			return false
		}
		switch n.Type() {
		case "as_expression", "satisfies_expression":
			if n.NamedChildCount() >= 2 && isReqBody(f, n.NamedChild(0), req) {
				typed = p.types.schemaOf(f, n.NamedChild(int(n.NamedChildCount())-1), nil)
			}
		case "type_assertion":
			if n.NamedChildCount() >= 2 && isReqBody(f, n.NamedChild(1), req) {
				typed = p.types.schemaOf(f, n.NamedChild(0), nil)
			}
		case "variable_declarator":
			v := n.ChildByFieldName("value")
			if v == nil || !isReqBody(f, v, req) {
				return true
			}
			if t := n.ChildByFieldName("type"); t != nil {
				typed = p.types.schemaOf(f, t, nil)
				return false
			}
			if name := n.ChildByFieldName("name"); name != nil && name.Type() == "object_pattern" {
				for i := 0; i < int(name.NamedChildCount()); i++ {
					c := name.NamedChild(i)
					switch c.Type() {
					case "shorthand_property_identifier_pattern":
						addField(f.text(c))
					case "pair_pattern", "object_assignment_pattern":
						k := c.ChildByFieldName("key")
						if k == nil {
							k = c.ChildByFieldName("left")
						}
						addField(f.text(k))
					}
				}
			}
		case "member_expression":
			obj := n.ChildByFieldName("object")
			if obj != nil && isReqBody(f, obj, req) {
				addField(f.text(n.ChildByFieldName("property")))
			}
		}
		return true
	})
	if typed != nil {
		return typed
	}
	if len(order) == 0 {
		return nil
	}
	s := &generate.Schema{Type: "object"}
	for _, name := range order {
		s.Properties = append(s.Properties, generate.Property{Name: name, Required: true, Schema: &generate.Schema{}})
	}
	return s
}

// responseFromUsage reads res.status(201) and res.json({...}) in a handler:
// the success status, and the shape of an object literal sent.
func (p *jsProject) responseFromUsage(f *jsFile, body *sitter.Node, res string) (int, *generate.Schema) {
	status := 0
	var shape *generate.Schema
	walkNodes(body, func(n *sitter.Node) bool {
		if n.Type() != "call_expression" {
			return true
		}
		fn := n.ChildByFieldName("function")
		if fn == nil || fn.Type() != "member_expression" {
			return true
		}
		prop := f.text(fn.ChildByFieldName("property"))
		// The chain must start at res: res.status(201).location(...).json(...).
		root := fn.ChildByFieldName("object")
		for root != nil && (root.Type() == "call_expression" || root.Type() == "member_expression") {
			if root.Type() == "call_expression" {
				root = root.ChildByFieldName("function")
			} else {
				root = root.ChildByFieldName("object")
			}
		}
		if root == nil || f.text(root) != res {
			return true
		}
		args := argList(n)
		switch prop {
		case "status", "sendStatus":
			if len(args) > 0 && args[0].Type() == "number" {
				if code, err := strconv.Atoi(f.text(args[0])); err == nil && code >= 200 && code < 300 && (status == 0 || code < status) {
					status = code
				}
			}
		case "json", "send":
			if len(args) > 0 && shape == nil {
				shape = p.literalShape(f, args[0])
			}
		}
		return true
	})
	return status, shape
}

// literalShape reads the shape of an object literal or an expression cast
// to a type.
func (p *jsProject) literalShape(f *jsFile, n *sitter.Node) *generate.Schema {
	switch n.Type() {
	case "as_expression", "satisfies_expression":
		if n.NamedChildCount() >= 2 {
			return p.types.schemaOf(f, n.NamedChild(int(n.NamedChildCount())-1), nil)
		}
	case "object":
		s := &generate.Schema{Type: "object"}
		for i := 0; i < int(n.NamedChildCount()); i++ {
			c := n.NamedChild(i)
			var name string
			ps := &generate.Schema{}
			switch c.Type() {
			case "shorthand_property_identifier":
				name = f.text(c)
			case "pair":
				k := c.ChildByFieldName("key")
				name = f.text(k)
				if k != nil && k.Type() == "string" {
					name = jsStringValue(k, f.src)
				}
				if v := c.ChildByFieldName("value"); v != nil {
					switch v.Type() {
					case "number":
						ps.Type = "number"
					case "string", "template_string":
						ps.Type = "string"
					case "true", "false":
						ps.Type = "boolean"
					case "object":
						ps = p.literalShape(f, v)
					case "array":
						ps.Type = "array"
					}
				}
			}
			if name != "" {
				s.Properties = append(s.Properties, generate.Property{Name: name, Required: true, Schema: ps})
			}
		}
		return s
	}
	return nil
}

// packageName is the name in the package.json of dir or of one of its
// two parents, for the scenario's name.
func packageName(dir string) string {
	for i := 0; i < 3 && dir != ""; i++ {
		b, err := os.ReadFile(filepath.Join(dir, "package.json"))
		if err == nil {
			var pkg struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(b, &pkg) == nil && pkg.Name != "" {
				return strings.TrimPrefix(pkg.Name[strings.LastIndexByte(pkg.Name, '/')+1:], "@")
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}
