package express

import (
	"github.com/headroom-sh/headroom/scenario/generate"
	"regexp"
	"sort"
	"strconv"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// routerKind says what an object is: an Express app or a router.
type routerKind int

const (
	notRouter routerKind = iota
	kindApp
	kindRouter
)

// jsRouter is an app or router object with its registrations in source
// order. It is named by where it lives: a variable (file and name), a
// class field ("\x00class:PostController.router") or an expression that
// creates it (Router().use(a) exported as it is).
type jsRouter struct {
	file    *jsFile
	name    string
	kind    routerKind
	regs    []*jsReg
	mounted bool
	port    int
}

// jsReg is one registration: a route, a middleware or a mounted router.
type jsReg struct {
	line int
	pos  uint32
	// node is the registering call, for its JSDoc comment.
	node   *sitter.Node
	method string // GET, POST, ... for routes; "" for use()
	paths  []string
	// unresolved is the text of a mount path that could not be folded to
	// a constant; the routes under it are listed without it, with a
	// warning.
	unresolved string
	// handlers are the arguments after the path: middleware, then the
	// handler; argFile is the file they are written in (an element of a
	// route table may live in another file than the use() call).
	handlers []*sitter.Node
	argFile  *jsFile
	// targets are the routers use() mounts; fieldOfAny mounts every class
	// router held in a field of this name (a list of controllers iterated
	// where the list itself cannot be followed).
	targets    []*jsRouter
	fieldOfAny string
	resolved   bool
	// via says how the mount was written, for the dry run.
	via string
}

func (reg *jsReg) file(r *jsRouter) *jsFile {
	if reg.argFile != nil {
		return reg.argFile
	}
	return r.file
}

// routerSet holds every router of the project by key.
type routerSet struct {
	p     *jsProject
	byKey map[jsBinding]*jsRouter
	order []*jsRouter
}

func (rs *routerSet) get(f *jsFile, name string, kind routerKind) *jsRouter {
	b := jsBinding{file: f, name: name}
	if r, ok := rs.byKey[b]; ok {
		if r.kind == notRouter {
			r.kind = kind
		}
		return r
	}
	r := &jsRouter{file: f, name: name, kind: kind}
	rs.byKey[b] = r
	rs.order = append(rs.order, r)
	return r
}

func (p *jsProject) read() (*generate.APIModel, error) {
	api := &generate.APIModel{Source: p.root, Kind: "Express", Title: packageName(p.root)}
	rs := &routerSet{p: p, byKey: map[jsBinding]*jsRouter{}}
	// Pass 1: find every registration on an object that is proven to be
	// an app or a router.
	for _, f := range p.files {
		walkNodes(f.root, func(n *sitter.Node) bool {
			if n.Type() == "call_expression" {
				p.registration(f, n, rs)
				p.routerPassed(f, n, rs)
			}
			return true
		})
	}
	for _, r := range rs.order {
		sort.SliceStable(r.regs, func(i, j int) bool { return r.regs[i].pos < r.regs[j].pos })
	}
	// Pass 2: resolve mounted routers.
	for _, r := range rs.order {
		for _, reg := range r.regs {
			if reg.method != "" || reg.resolved {
				continue
			}
			var rest []*sitter.Node
			for _, h := range reg.handlers {
				if t := p.routerRef(reg.file(r), h, rs, 0); t != nil && t != r && len(reg.targets) == 0 {
					reg.targets = append(reg.targets, t)
					continue
				}
				rest = append(rest, h)
			}
			reg.handlers = rest
		}
	}
	for _, r := range rs.order {
		for _, reg := range r.regs {
			if reg.fieldOfAny == "" {
				continue
			}
			for _, t := range rs.order {
				if strings.HasPrefix(t.name, "\x00class:") && strings.HasSuffix(t.name, "."+reg.fieldOfAny) && t.hasRoutes() && !t.mounted {
					reg.targets = append(reg.targets, t)
				}
			}
		}
	}
	for _, r := range rs.order {
		for _, reg := range r.regs {
			for _, t := range reg.targets {
				t.mounted = true
			}
		}
	}
	// Pass 3: expand from the roots: apps, and routers nobody mounts.
	var roots []*jsRouter
	for _, r := range rs.order {
		if r.kind == kindApp && !r.mounted && len(r.regs) > 0 {
			roots = append(roots, r)
		}
	}
	for _, r := range rs.order {
		if r.kind != kindApp && !r.mounted && r.hasRoutes() {
			if len(roots) > 0 {
				p.warn("%s: %s is not mounted by any app that was found; its routes are read without a prefix", r.file.rel, displayName(r.name))
			}
			roots = append(roots, r)
		}
	}
	ex := &expander{p: p, seen: map[*jsRouter]int{}}
	for _, r := range roots {
		ex.expand(r, "", nil, nil, nil, 0)
		if r.port > 0 && api.Target == "" {
			api.Target = "http://127.0.0.1:" + strconv.Itoa(r.port)
		}
	}
	api.Routes = ex.routes
	api.Warnings = p.warnings
	if len(api.Routes) == 0 {
		return nil, &generate.SpecError{File: p.root, Msg: "no Express routes found: expected calls such as app.get('/path', handler), router.post(...) or router.route('/path').get(...)"}
	}
	return api, nil
}

// displayName is a router's name as a user wrote it.
func displayName(name string) string {
	switch {
	case strings.HasPrefix(name, "\x00class:"):
		return "this." + name[strings.LastIndexByte(name, '.')+1:] + " of " + strings.TrimPrefix(name[:strings.LastIndexByte(name, '.')], "\x00class:")
	case strings.HasPrefix(name, "\x00expr:"):
		return "the router created at byte " + strings.TrimPrefix(name, "\x00expr:")
	case name == "\x00default":
		return "the default export"
	}
	return name
}

func (r *jsRouter) hasRoutes() bool {
	for _, reg := range r.regs {
		if reg.method != "" || len(reg.targets) > 0 {
			return true
		}
	}
	return false
}

// routerCreation says whether n creates an app (express()) or a router
// (Router(), express.Router(), new Router(), Router({ mergeParams: true })).
func (p *jsProject) routerCreation(f *jsFile, n *sitter.Node) routerKind {
	n = unwrapExpr(n)
	if n == nil {
		return notRouter
	}
	var callee *sitter.Node
	switch n.Type() {
	case "call_expression":
		callee = n.ChildByFieldName("function")
	case "new_expression":
		callee = n.ChildByFieldName("constructor")
	default:
		return notRouter
	}
	if callee == nil {
		return notRouter
	}
	if mod, _, ok := requireCall(f, callee); ok && mod == "express" {
		// require('express')() and require('express').Router().
		if callee.Type() == "member_expression" {
			return kindRouter
		}
		return kindApp
	}
	name := f.text(callee)
	imp, imported := f.imports[name]
	switch {
	case name == "express" || imported && imp.module == "express" && (imp.name == "default" || imp.name == "*"):
		return kindApp
	case name == "express.Router" || name == "Router" || imported && imp.module == "express" && imp.name == "Router":
		return kindRouter
	case strings.HasSuffix(name, ".Router") && callee.Type() == "member_expression":
		obj := f.text(callee.ChildByFieldName("object"))
		if oi, ok := f.imports[obj]; ok && oi.module == "express" || obj == "express" {
			return kindRouter
		}
	}
	return notRouter
}

// chainBase walks down a chain of use(), route() and method calls to the
// object at its start: Router().use(a).use(b) → Router().
func (p *jsProject) chainBase(f *jsFile, n *sitter.Node) *sitter.Node {
	n = unwrapExpr(n)
	for i := 0; n != nil && n.Type() == "call_expression" && i < 64; i++ {
		fn := n.ChildByFieldName("function")
		if fn == nil || fn.Type() != "member_expression" {
			return n
		}
		prop := f.text(fn.ChildByFieldName("property"))
		if _, ok := expressMethods[strings.ToLower(prop)]; !ok && prop != "use" && prop != "route" && prop != "all" {
			return n
		}
		n = unwrapExpr(fn.ChildByFieldName("object"))
	}
	return n
}

func exprKey(n *sitter.Node) string { return "\x00expr:" + strconv.Itoa(int(n.StartByte())) }

// routerOf names the router an object expression is: a variable, this.x
// in a class, or an expression that creates a router.
func (p *jsProject) routerOf(f *jsFile, obj *sitter.Node, rs *routerSet) *jsRouter {
	obj = unwrapExpr(obj)
	if obj == nil {
		return nil
	}
	switch obj.Type() {
	case "identifier":
		name := f.text(obj)
		if d := localDecl(f, obj, name); d != nil {
			if v := declValue(f, d); v != nil {
				if k := p.routerCreation(f, v); k != notRouter {
					return rs.get(f, localKey(f, d), k)
				}
				if base := p.chainBase(f, v); base != v {
					if k := p.routerCreation(f, base); k != notRouter {
						return rs.get(f, exprKey(base), k)
					}
				}
			}
			if k := p.typedRouter(f, d.ChildByFieldName("type")); k != notRouter {
				return rs.get(f, localKey(f, d), k)
			}
			return nil
		}
		if d, ok := f.decls[name]; ok && d.Type() == "variable_declarator" {
			if v := unwrapExpr(d.ChildByFieldName("value")); v != nil {
				if k := p.routerCreation(f, v); k != notRouter {
					return rs.get(f, name, k)
				}
				if base := p.chainBase(f, v); base != v {
					if k := p.routerCreation(f, base); k != notRouter {
						return rs.get(f, exprKey(base), k)
					}
				}
				if k := p.typedRouter(f, d.ChildByFieldName("type")); k != notRouter {
					return rs.get(f, name, k)
				}
				if v.Type() == "call_expression" {
					// const app = createApp(): the router the factory
					// returns, or, when the factory cannot be read (a
					// package), the name says.
					if r := p.routerRef(f, v, rs, 0); r != nil {
						return r
					}
					if k := looksLikeRouterName(name); k != notRouter {
						return rs.get(f, name, k)
					}
				}
			}
		}
		if k := p.paramRouter(f, obj, name); k != notRouter {
			return rs.get(f, name, k)
		}
		if b, ok := p.resolveName(f, name, 0); ok && b.file != f {
			// An imported router: the registrations go to its home.
			if d := b.file.decls[b.name]; d != nil && d.Type() == "variable_declarator" {
				if k := p.routerCreation(b.file, d.ChildByFieldName("value")); k != notRouter {
					return rs.get(b.file, b.name, k)
				}
			}
		}
	case "member_expression":
		o := obj.ChildByFieldName("object")
		if o != nil && o.Type() == "this" {
			field := f.text(obj.ChildByFieldName("property"))
			cls := className(f, obj)
			if cls == "" {
				return nil
			}
			k := p.classRouterKind(f, enclosingClass(obj), field, 0)
			if k == notRouter {
				return nil
			}
			return rs.get(f, "\x00class:"+cls+"."+field, k)
		}
	case "call_expression", "new_expression":
		base := p.chainBase(f, obj)
		if k := p.routerCreation(f, base); k != notRouter {
			return rs.get(f, exprKey(base), k)
		}
	}
	return nil
}

var routerTypeRE = regexp.MustCompile(`\b(Router|Express|Application|IRouter|Router\w*)\b`)

// typedRouter reads a type annotation that says router or app.
func (p *jsProject) typedRouter(f *jsFile, t *sitter.Node) routerKind {
	if t == nil {
		return notRouter
	}
	txt := f.text(t)
	if m := routerTypeRE.FindString(txt); m != "" {
		if m == "Express" || m == "Application" {
			return kindApp
		}
		return kindRouter
	}
	return notRouter
}

// classFieldType reads the declared type of a class field (public app:
// express.Application).
func (p *jsProject) classFieldType(f *jsFile, n *sitter.Node, field string) routerKind {
	cls := enclosingClass(n)
	if cls == nil {
		return notRouter
	}
	body := cls.ChildByFieldName("body")
	for i := 0; body != nil && i < int(body.NamedChildCount()); i++ {
		c := body.NamedChild(i)
		if c.Type() != "public_field_definition" && c.Type() != "field_definition" {
			continue
		}
		if k := c.ChildByFieldName("name"); k != nil && f.text(k) == field {
			return p.typedRouter(f, c.ChildByFieldName("type"))
		}
	}
	return notRouter
}

// paramRouter says whether name is a parameter of an enclosing function
// that is a router: typed so (app: Router), or named app or router.
func (p *jsProject) paramRouter(f *jsFile, at *sitter.Node, name string) routerKind {
	for n := at.Parent(); n != nil; n = n.Parent() {
		switch n.Type() {
		case "arrow_function", "function_expression", "function_declaration", "function", "method_definition":
		default:
			continue
		}
		params := n.ChildByFieldName("parameters")
		if params == nil {
			if pn := n.ChildByFieldName("parameter"); pn != nil && f.text(pn) == name {
				return looksLikeRouterName(name)
			}
			continue
		}
		for i := 0; i < int(params.NamedChildCount()); i++ {
			c := params.NamedChild(i)
			pat := c
			if pp := c.ChildByFieldName("pattern"); pp != nil {
				pat = pp
			}
			switch pat.Type() {
			case "identifier":
				if f.text(pat) == name {
					if k := p.typedRouter(f, c.ChildByFieldName("type")); k != notRouter {
						return k
					}
					return looksLikeRouterName(name)
				}
			case "object_pattern":
				found := false
				walkNodes(pat, func(m *sitter.Node) bool {
					if (m.Type() == "shorthand_property_identifier_pattern" || m.Type() == "identifier") && f.text(m) == name {
						found = true
					}
					return !found
				})
				if found {
					if t := c.ChildByFieldName("type"); t != nil && routerTypeRE.MatchString(f.text(t)) {
						return kindApp
					}
					return looksLikeRouterName(name)
				}
			}
		}
	}
	return notRouter
}

func looksLikeRouterName(name string) routerKind {
	l := strings.ToLower(name)
	switch {
	case l == "app" || l == "server" || strings.HasSuffix(l, "app"):
		return kindApp
	case l == "router" || l == "route" || strings.HasSuffix(l, "router") || strings.HasSuffix(l, "routes"):
		return kindRouter
	}
	return notRouter
}

// registration records X.METHOD(path, ...), X.use(...) and
// X.route(path).METHOD(...) chains, on objects proven to be routers.
func (p *jsProject) registration(f *jsFile, call *sitter.Node, rs *routerSet) {
	fn := call.ChildByFieldName("function")
	if fn == nil || fn.Type() != "member_expression" {
		return
	}
	prop := f.text(fn.ChildByFieldName("property"))
	obj := unwrapExpr(fn.ChildByFieldName("object"))
	args := argList(call)
	if obj == nil {
		return
	}
	src := f.rel + ":" + strconv.Itoa(f.line(call))
	// X.route(path).get(h).post(h): walk down to route().
	if m, ok := expressMethods[strings.ToLower(prop)]; ok && obj.Type() == "call_expression" {
		if path, base, ok := p.routeChain(f, obj); ok {
			if r := p.routerOf(f, base, rs); r != nil {
				r.regs = append(r.regs, &jsReg{line: f.line(call), pos: call.StartByte(), node: call, method: m, paths: []string{path}, handlers: args, argFile: f, via: src})
			}
			return
		}
	}
	switch prop {
	case "listen":
		if r := p.routerOf(f, obj, rs); r != nil && len(args) > 0 {
			r.port = p.portOf(f, args[0])
		}
	case "use":
		r := p.routerOf(f, obj, rs)
		if r == nil {
			return
		}
		if loops := p.loopElements(f, call); loops != nil {
			p.loopUse(f, call, r, args, loops, src)
			return
		}
		reg := &jsReg{line: f.line(call), pos: call.StartByte(), argFile: f, via: src}
		rest := args
		if len(rest) > 0 {
			if paths, ok := p.pathArg(f, rest[0]); ok {
				reg.paths = paths
				rest = rest[1:]
			} else if len(rest) > 1 && looksLikePathExpr(f, rest[0]) && p.routerRef(f, rest[0], rs, 0) == nil {
				reg.unresolved = f.text(rest[0])
				rest = rest[1:]
			}
		}
		if lp := p.loopParamField(f, call, rest); lp != "" {
			reg.fieldOfAny = lp
			reg.resolved = true
			rest = nil
		}
		reg.handlers = rest
		r.regs = append(r.regs, reg)
	default:
		m, ok := expressMethods[strings.ToLower(prop)]
		if !ok || len(args) < 2 {
			return
		}
		r := p.routerOf(f, obj, rs)
		if r == nil {
			return
		}
		paths, ok := p.pathArg(f, args[0])
		if !ok {
			p.warn("%s: %s.%s with a path that could not be folded to a constant (%s) is skipped", src, clipText(f.text(obj), 30), prop, clipText(f.text(args[0]), 40))
			return
		}
		if m == "OPTIONS" && isPreflight(f, paths, args[1:]) {
			// app.options('*', cors()) answers CORS preflights; it is not
			// a route to load.
			return
		}
		r.regs = append(r.regs, &jsReg{line: f.line(call), pos: call.StartByte(), node: call, method: m, paths: paths, handlers: args[1:], argFile: f, via: src})
	}
}

// isPreflight reports an OPTIONS registration that answers CORS
// preflights: on every path, or with the cors middleware.
func isPreflight(f *jsFile, paths []string, handlers []*sitter.Node) bool {
	for _, p := range paths {
		if p == "*" || p == "/*" || p == "(.*)" || p == "/{*splat}" {
			return true
		}
	}
	for _, h := range handlers {
		if strings.HasPrefix(strings.ToLower(f.text(h)), "cors") {
			return true
		}
	}
	return false
}

var pathNameRE = regexp.MustCompile(`(?i)(path|prefix|base|url|mount|route|api)\w*$`)

// looksLikePathExpr says whether an expression in first place of use() is
// meant as a mount path that could not be folded.
func looksLikePathExpr(f *jsFile, n *sitter.Node) bool {
	n = unwrapExpr(n)
	switch n.Type() {
	case "template_string", "binary_expression":
		return true
	case "identifier", "member_expression":
		return pathNameRE.MatchString(f.text(n))
	}
	return false
}

// loopBinding is one element of a table iterated by forEach, map or
// for…of around a use() call, bound to the loop's variable.
type loopBinding struct {
	param   string
	fields  map[string]string
	file    *jsFile
	element *sitter.Node
}

// loopElements finds the table a use() call iterates: routes.forEach((r)
// => router.use(r.path, r.route)), routes.map(...), for (const r of
// routes). It returns nil when the call is not in such a loop or the
// table cannot be followed to an array literal.
func (p *jsProject) loopElements(f *jsFile, call *sitter.Node) []loopBinding {
	param, fields, list := p.enclosingLoop(f, call)
	if list == nil {
		return nil
	}
	lf, arr := p.evalNode(f, list, 0)
	if arr == nil && list.Type() == "array" {
		lf, arr = f, list
	}
	if arr == nil || arr.Type() != "array" {
		return nil
	}
	var out []loopBinding
	for i := 0; i < int(arr.NamedChildCount()); i++ {
		el := arr.NamedChild(i)
		if el.Type() == "comment" {
			continue
		}
		out = append(out, loopBinding{param: param, fields: fields, file: lf, element: el})
	}
	return out
}

// enclosingLoop finds the loop variable and iterated expression around n.
func (p *jsProject) enclosingLoop(f *jsFile, n *sitter.Node) (param string, fields map[string]string, list *sitter.Node) {
	for c := n.Parent(); c != nil; c = c.Parent() {
		switch c.Type() {
		case "arrow_function", "function_expression", "function":
			args := c.Parent()
			if args == nil || args.Type() != "arguments" {
				return "", nil, nil
			}
			call := args.Parent()
			fn := call.ChildByFieldName("function")
			if fn == nil || fn.Type() != "member_expression" {
				return "", nil, nil
			}
			switch f.text(fn.ChildByFieldName("property")) {
			case "forEach", "map":
			default:
				return "", nil, nil
			}
			param, fields = loopParam(f, c)
			return param, fields, fn.ChildByFieldName("object")
		case "for_in_statement":
			left, right := c.ChildByFieldName("left"), c.ChildByFieldName("right")
			if left == nil || right == nil {
				return "", nil, nil
			}
			param, fields = patternNames(f, left)
			return param, fields, right
		case "class_body", "program", "method_definition":
			return "", nil, nil
		}
	}
	return "", nil, nil
}

// loopParam reads a callback's first parameter: a name, or { path, route }.
func loopParam(f *jsFile, fn *sitter.Node) (string, map[string]string) {
	if pn := fn.ChildByFieldName("parameter"); pn != nil {
		return f.text(pn), nil
	}
	params := fn.ChildByFieldName("parameters")
	if params == nil || params.NamedChildCount() == 0 {
		return "", nil
	}
	c := params.NamedChild(0)
	if pat := c.ChildByFieldName("pattern"); pat != nil {
		c = pat
	}
	return patternNames(f, c)
}

// patternNames reads a binding pattern: a name, or the names an object
// pattern binds to fields ({ path, route: r } → path→path, r→route).
func patternNames(f *jsFile, n *sitter.Node) (string, map[string]string) {
	if n.Type() == "lexical_declaration" || n.Type() == "variable_declaration" {
		for i := 0; i < int(n.NamedChildCount()); i++ {
			if d := n.NamedChild(i); d.Type() == "variable_declarator" {
				if nm := d.ChildByFieldName("name"); nm != nil {
					return patternNames(f, nm)
				}
			}
		}
	}
	if n.Type() == "identifier" {
		return f.text(n), nil
	}
	if n.Type() != "object_pattern" {
		return "", nil
	}
	fields := map[string]string{}
	for i := 0; i < int(n.NamedChildCount()); i++ {
		c := n.NamedChild(i)
		switch c.Type() {
		case "shorthand_property_identifier_pattern":
			fields[f.text(c)] = f.text(c)
		case "pair_pattern":
			k, v := c.ChildByFieldName("key"), c.ChildByFieldName("value")
			if k != nil && v != nil {
				fields[f.text(v)] = f.text(k)
			}
		}
	}
	return "", fields
}

// loopField says which field of the loop's element an argument reads:
// r.path with r the loop variable, or path bound by a pattern.
func loopField(f *jsFile, n *sitter.Node, lb loopBinding) (string, bool) {
	n = unwrapExpr(n)
	if n == nil {
		return "", false
	}
	if n.Type() == "member_expression" && lb.param != "" {
		if o := n.ChildByFieldName("object"); o != nil && f.text(o) == lb.param {
			return f.text(n.ChildByFieldName("property")), true
		}
	}
	if n.Type() == "identifier" && lb.fields != nil {
		if field, ok := lb.fields[f.text(n)]; ok {
			return field, true
		}
	}
	return "", false
}

// loopUse records one use() per element of an iterated route table.
func (p *jsProject) loopUse(f *jsFile, call *sitter.Node, r *jsRouter, args []*sitter.Node, loops []loopBinding, src string) {
	for _, lb := range loops {
		reg := &jsReg{line: f.line(call), pos: call.StartByte(), via: src + " (an element of " + clipText(f.text(enclosingLoopList(f, call)), 30) + ")"}
		var handlers []*sitter.Node
		argFile := f
		for i, a := range args {
			field, isField := loopField(f, a, lb)
			if !isField {
				if i == 0 {
					if paths, ok := p.pathArg(f, a); ok {
						reg.paths = paths
						continue
					}
				}
				handlers = append(handlers, a)
				continue
			}
			vf, v := p.propertyOf(lb.file, lb.element, field, 0)
			if v == nil {
				if i == 0 {
					reg.unresolved = f.text(a)
				}
				continue
			}
			if i == 0 {
				if s, ok := p.evalString(vf, v, 0); ok {
					reg.paths = []string{s}
					continue
				}
			}
			handlers = append(handlers, v)
			argFile = vf
		}
		reg.handlers = handlers
		reg.argFile = argFile
		r.regs = append(r.regs, reg)
	}
}

func enclosingLoopList(f *jsFile, n *sitter.Node) *sitter.Node {
	_, _, list := (&jsProject{}).enclosingLoop(f, n)
	return list
}

// loopParamField recognizes this.app.use('/', route.router) inside a loop
// over a list that cannot be followed (a constructor parameter): it gives
// the field name, "router", so that every class router held in such a
// field is mounted there.
func (p *jsProject) loopParamField(f *jsFile, call *sitter.Node, rest []*sitter.Node) string {
	if len(rest) != 1 {
		return ""
	}
	param, _, list := p.enclosingLoop(f, call)
	if list == nil || param == "" {
		return ""
	}
	a := unwrapExpr(rest[0])
	if a.Type() != "member_expression" {
		return ""
	}
	if o := a.ChildByFieldName("object"); o == nil || f.text(o) != param {
		return ""
	}
	return f.text(a.ChildByFieldName("property"))
}

// routerPassed handles a router given to a function that registers on
// its parameter: auth(app) with export default (app: Router) => {
// app.use('/auth', route) }. The function's parameter is the same router,
// so it is mounted where the call is, without a prefix.
func (p *jsProject) routerPassed(f *jsFile, call *sitter.Node, rs *routerSet) {
	fn := call.ChildByFieldName("function")
	if fn == nil || fn.Type() != "identifier" {
		return
	}
	args := argList(call)
	for i, a := range args {
		a = unwrapExpr(a)
		if a == nil || a.Type() != "identifier" {
			continue
		}
		caller := p.routerOf(f, a, rs)
		if caller == nil {
			continue
		}
		b, ok := p.resolveName(f, f.text(fn), 0)
		if !ok || b.name == "*" {
			return
		}
		d := nodeIdent(b)
		if d == nil {
			return
		}
		switch d.Type() {
		case "arrow_function", "function_expression", "function_declaration", "function":
		default:
			return
		}
		params := d.ChildByFieldName("parameters")
		if params == nil || int(params.NamedChildCount()) <= i {
			return
		}
		pn := params.NamedChild(i)
		if pat := pn.ChildByFieldName("pattern"); pat != nil {
			pn = pat
		}
		if pn.Type() != "identifier" {
			return
		}
		callee := rs.get(b.file, b.file.text(pn), caller.kind)
		if callee == caller {
			return
		}
		caller.regs = append(caller.regs, &jsReg{line: f.line(call), pos: call.StartByte(), targets: []*jsRouter{callee}, resolved: true,
			via: f.rel + ":" + strconv.Itoa(f.line(call)) + " (" + clipText(f.text(call), 30) + ")"})
	}
}

// routerRef resolves an argument of use() to a router: a name of this
// file or an import, require('./x'), a call of a function that returns a
// router, an expression that builds one, or obj.router of a controller
// instance.
func (p *jsProject) routerRef(f *jsFile, n *sitter.Node, rs *routerSet, depth int) *jsRouter {
	n = unwrapExpr(n)
	if n == nil || depth > 12 {
		return nil
	}
	switch n.Type() {
	case "identifier":
		if d := localDecl(f, n, f.text(n)); d != nil {
			if r, ok := rs.byKey[jsBinding{file: f, name: localKey(f, d)}]; ok {
				return r
			}
			if v := declValue(f, d); v != nil && v != n {
				if k := p.routerCreation(f, v); k != notRouter {
					return rs.get(f, localKey(f, d), k)
				}
				return p.routerRef(f, v, rs, depth+1)
			}
			return nil
		}
		b, ok := p.resolveName(f, f.text(n), 0)
		if !ok || b.name == "*" {
			return nil
		}
		if r, ok := rs.byKey[b]; ok && (r.kind != notRouter || r.hasRoutes()) {
			return r
		}
		if d := b.file.decls[b.name]; d != nil && d.Type() == "variable_declarator" {
			if k := p.routerCreation(b.file, d.ChildByFieldName("value")); k != notRouter {
				return rs.get(b.file, b.name, k)
			}
		}
		if d := b.file.decls[b.name]; d != nil {
			v := d
			if d.Type() == "variable_declarator" {
				v = d.ChildByFieldName("value")
			}
			if v != nil && v != n {
				switch unwrapExpr(v).Type() {
				case "call_expression", "new_expression", "identifier", "member_expression":
					if r := p.routerRef(b.file, v, rs, depth+1); r != nil {
						return r
					}
				}
			}
		}
		return p.returnedRouter(b, rs, depth)
	case "call_expression", "new_expression":
		if base := p.chainBase(f, n); base != nil {
			if k := p.routerCreation(f, base); k != notRouter {
				return rs.get(f, exprKey(base), k)
			}
		}
		if mod, member, ok := requireCall(f, n); ok {
			if t := p.resolveModule(f, mod); t != nil {
				if b, ok := p.resolveExport(t, member, 0); ok {
					if r, ok := rs.byKey[b]; ok {
						return r
					}
					if r := p.routerRef(b.file, nodeIdent(b), rs, depth+1); r != nil {
						return r
					}
					return p.returnedRouter(b, rs, depth)
				}
			}
			return nil
		}
		// createOrdersRouter(): the router the function returns.
		callee := n.ChildByFieldName("function")
		if callee != nil && callee.Type() == "identifier" {
			if b, ok := p.resolveName(f, f.text(callee), 0); ok {
				return p.returnedRouter(b, rs, depth)
			}
		}
		// routes.getRouter() on a class instance: the field it returns.
		if callee != nil && callee.Type() == "member_expression" {
			if cf, cls := p.instanceClass(f, callee.ChildByFieldName("object"), depth); cls != nil {
				if field := p.methodReturnedField(cf, cls, f.text(callee.ChildByFieldName("property")), 0); field != "" {
					if nm := cls.ChildByFieldName("name"); nm != nil {
						if r, ok := rs.byKey[jsBinding{file: cf, name: "\x00class:" + cf.text(nm) + "." + field}]; ok {
							return r
						}
					}
				}
			}
		}
	case "member_expression":
		obj := unwrapExpr(n.ChildByFieldName("object"))
		prop := f.text(n.ChildByFieldName("property"))
		if obj == nil {
			return nil
		}
		if obj.Type() == "identifier" {
			if b, ok := p.resolveName(f, f.text(obj), 0); ok && b.name == "*" {
				if eb, ok := p.resolveExport(b.file, prop, 0); ok {
					if r, ok := rs.byKey[eb]; ok {
						return r
					}
					return p.routerRef(eb.file, nodeIdent(eb), rs, depth+1)
				}
				return nil
			}
		}
		// new PostController().router, or a variable holding one.
		cf, cls := p.instanceClass(f, obj, depth)
		if cls != nil {
			if nm := cls.ChildByFieldName("name"); nm != nil {
				if r, ok := rs.byKey[jsBinding{file: cf, name: "\x00class:" + cf.text(nm) + "." + prop}]; ok {
					return r
				}
			}
		}
		// A router kept in an object: routes.users.
		if vf, v := p.evalNode(f, n, depth+1); v != nil && v != n {
			return p.routerRef(vf, v, rs, depth+1)
		}
	}
	return nil
}

// instanceClass finds the class of new C() or of a name holding one.
func (p *jsProject) instanceClass(f *jsFile, n *sitter.Node, depth int) (*jsFile, *sitter.Node) {
	n = unwrapExpr(n)
	if n == nil || depth > 12 {
		return nil, nil
	}
	if n.Type() == "identifier" {
		vf, v := p.evalNode(f, n, depth+1)
		if v == nil || v == n {
			return nil, nil
		}
		return p.instanceClass(vf, v, depth+1)
	}
	if n.Type() != "new_expression" {
		return nil, nil
	}
	ctor := n.ChildByFieldName("constructor")
	if ctor == nil {
		return nil, nil
	}
	b, ok := p.resolveName(f, f.text(ctor), 0)
	if !ok {
		return nil, nil
	}
	d := b.file.decls[b.name]
	if d == nil || (d.Type() != "class_declaration" && d.Type() != "abstract_class_declaration") {
		return nil, nil
	}
	return b.file, d
}

// returnedRouter finds the router a function returns, or the router a
// default export is.
func (p *jsProject) returnedRouter(b jsBinding, rs *routerSet, depth int) *jsRouter {
	d := b.file.decls[b.name]
	if d == nil || depth > 12 {
		return nil
	}
	if d.Type() == "variable_declarator" {
		d = d.ChildByFieldName("value")
	}
	d = unwrapExpr(d)
	if d == nil {
		return nil
	}
	switch d.Type() {
	case "identifier", "call_expression", "new_expression", "member_expression":
		return p.routerRef(b.file, d, rs, depth+1)
	case "arrow_function":
		if body := d.ChildByFieldName("body"); body != nil && body.Type() != "statement_block" {
			return p.routerRef(b.file, body, rs, depth+1)
		}
	}
	var found *jsRouter
	walkNodes(d, func(n *sitter.Node) bool {
		if found != nil {
			return false
		}
		if n.Type() == "return_statement" && n.NamedChildCount() > 0 {
			found = p.routerRef(b.file, n.NamedChild(0), rs, depth+1)
		}
		return true
	})
	return found
}

// pathArg reads a path argument: a string or anything that folds to one
// (templates over constants, concatenation, config members), an array of
// those, or a regular expression (kept as its source).
func (p *jsProject) pathArg(f *jsFile, n *sitter.Node) ([]string, bool) {
	n = unwrapExpr(n)
	if n == nil {
		return nil, false
	}
	switch n.Type() {
	case "array":
		var out []string
		for i := 0; i < int(n.NamedChildCount()); i++ {
			ps, ok := p.pathArg(f, n.NamedChild(i))
			if !ok {
				return nil, false
			}
			out = append(out, ps...)
		}
		return out, len(out) > 0
	case "regex":
		return []string{regexRoutePath(f.text(n))}, true
	}
	if s, ok := p.evalString(f, n, 0); ok {
		return []string{s}, true
	}
	return nil, false
}

// regexRoutePath turns a regular expression route into a path: the
// literal text of /^\/health\/?$/ is /health.
func regexRoutePath(re string) string {
	body := re
	if i := strings.LastIndexByte(body, '/'); i > 0 {
		body = body[1:i]
	}
	body = strings.ReplaceAll(body, `\/`, "/")
	body = strings.TrimPrefix(body, "^")
	body = strings.TrimSuffix(body, "$")
	body = strings.TrimSuffix(body, "/?")
	body = strings.ReplaceAll(body, `\.`, ".")
	return body
}

// mountStep is one use() a route is under: its path and where it is.
type mountStep struct {
	path, via, unresolved string
}

func (ex *expander) expand(r *jsRouter, prefix string, inherited []string, mounts []mountStep, unresolved []mountStep, depth int) {
	if depth > 16 || ex.seen[r] > 0 || ex.count > expressMaxMounts*64 {
		return
	}
	ex.seen[r]++
	defer func() { ex.seen[r]-- }()
	mw := append([]string(nil), inherited...)
	for _, reg := range r.regs {
		if reg.method == "" {
			names := ex.p.middlewareNames(reg.file(r), reg.handlers)
			paths := reg.paths
			if len(paths) == 0 {
				paths = []string{""}
			}
			if len(reg.targets) > 0 {
				for _, t := range reg.targets {
					for _, pth := range paths {
						step := mountStep{path: pth, via: reg.via, unresolved: reg.unresolved}
						un := unresolved
						if reg.unresolved != "" {
							un = append(append([]mountStep(nil), unresolved...), step)
						}
						ex.expand(t, joinPaths(prefix, pth), append(append([]string(nil), mw...), names...), append(append([]mountStep(nil), mounts...), step), un, depth+1)
					}
				}
				continue
			}
			if len(reg.paths) == 0 && reg.unresolved == "" {
				// router.use(authenticate): every later route has it.
				mw = append(mw, names...)
			}
			continue
		}
		if len(reg.handlers) == 0 {
			continue
		}
		handler := reg.handlers[len(reg.handlers)-1]
		rf := reg.file(r)
		own := ex.p.middlewareNames(rf, reg.handlers[:len(reg.handlers)-1])
		for _, pth := range reg.paths {
			ex.count++
			full := openAPIPath(joinPaths(prefix, pth))
			rt := generate.Route{
				Method:        reg.method,
				Path:          full,
				SuccessStatus: 200,
				Middleware:    append(append([]string(nil), mw...), own...),
				Source:        rf.rel + ":" + strconv.Itoa(reg.line),
			}
			for _, m := range mounts {
				if m.path == "" || m.path == "/" {
					if m.unresolved == "" {
						continue
					}
				}
				desc := m.path
				if m.unresolved != "" {
					desc = "?(" + clipText(m.unresolved, 40) + ")"
				}
				rt.Mounts = append(rt.Mounts, desc+" at "+m.via)
			}
			for _, u := range unresolved {
				ex.p.warn("%s %s (%s): the prefix at %s, %s, could not be resolved statically; the route is listed without it", rt.Method, rt.Path, rt.Source, u.via, clipText(u.unresolved, 60))
			}
			for _, m := range rt.Middleware {
				if isAuthMiddleware(m) {
					rt.Auth = true
				}
			}
			if d := statementDoc(reg.node, rf.src); d != nil {
				rt.Summary = docSummaryRE.ReplaceAllString(d.text, "")
			}
			ex.p.handlerInfo(rf, handler, &rt)
			if rt.Method != "GET" && rt.Method != "HEAD" && rt.Method != "DELETE" {
				if vb := ex.p.validatorBody(rf, reg.handlers[:len(reg.handlers)-1]); vb != nil {
					if rt.Body == nil || !rt.Body.IsObject() {
						rt.Body = vb
					} else {
						merged := *rt.Body
						merged.Properties = append([]generate.Property(nil), rt.Body.Properties...)
						mergeProps(&merged, vb)
						rt.Body = &merged
					}
				}
			}
			ex.routes = append(ex.routes, rt)
		}
	}
}

// classRouterKind says whether a class field holds a router or an app:
// created in its initializer or constructor, or declared with a router
// type, in the class or a class it extends.
func (p *jsProject) classRouterKind(f *jsFile, cls *sitter.Node, field string, depth int) routerKind {
	if cls == nil || depth > 8 {
		return notRouter
	}
	body := cls.ChildByFieldName("body")
	if body == nil {
		return notRouter
	}
	if v := classField(f, body.NamedChild(0), field); v != nil && body.NamedChildCount() > 0 {
		if k := p.routerCreation(f, v); k != notRouter {
			return k
		}
	}
	if k := p.classFieldType(f, body, field); k != notRouter {
		return k
	}
	if bf, base := p.baseClass(f, cls); base != nil {
		return p.classRouterKind(bf, base, field, depth+1)
	}
	return notRouter
}

// baseClass finds the declaration of the class cls extends.
func (p *jsProject) baseClass(f *jsFile, cls *sitter.Node) (*jsFile, *sitter.Node) {
	var name string
	for i := 0; i < int(cls.NamedChildCount()); i++ {
		c := cls.NamedChild(i)
		if c.Type() != "class_heritage" {
			continue
		}
		walkNodes(c, func(n *sitter.Node) bool {
			if name != "" {
				return false
			}
			if n.Type() == "extends_clause" && n.NamedChildCount() > 0 {
				name = f.text(n.NamedChild(0))
				return false
			}
			return true
		})
		if name == "" && c.NamedChildCount() > 0 {
			name = f.text(c.NamedChild(0))
		}
	}
	if name == "" {
		return nil, nil
	}
	b, ok := p.resolveName(f, name, 0)
	if !ok {
		return nil, nil
	}
	d := b.file.decls[b.name]
	if d == nil || (d.Type() != "class_declaration" && d.Type() != "abstract_class_declaration") {
		return nil, nil
	}
	return b.file, d
}

// methodReturnedField finds the field a method returns (getRouter() {
// return this.router }), in the class or a class it extends.
func (p *jsProject) methodReturnedField(f *jsFile, cls *sitter.Node, method string, depth int) string {
	if cls == nil || depth > 8 {
		return ""
	}
	body := cls.ChildByFieldName("body")
	for i := 0; body != nil && i < int(body.NamedChildCount()); i++ {
		m := body.NamedChild(i)
		if m.Type() != "method_definition" {
			continue
		}
		if nm := m.ChildByFieldName("name"); nm == nil || f.text(nm) != method {
			continue
		}
		field := ""
		walkNodes(m, func(n *sitter.Node) bool {
			if field != "" {
				return false
			}
			if n.Type() == "return_statement" && n.NamedChildCount() > 0 {
				if r := unwrapExpr(n.NamedChild(0)); r != nil && r.Type() == "member_expression" {
					if o := r.ChildByFieldName("object"); o != nil && o.Type() == "this" {
						field = f.text(r.ChildByFieldName("property"))
					}
				}
			}
			return true
		})
		return field
	}
	if bf, base := p.baseClass(f, cls); base != nil {
		return p.methodReturnedField(bf, base, method, depth+1)
	}
	return ""
}
