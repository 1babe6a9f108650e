package express

import (
	"github.com/headroom-sh/headroom/scenario/generate"
	"strconv"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
)

// Request bodies from validation middleware: joi and celebrate, zod,
// express-validator chains and class-validator DTOs. A route's validator
// says what the body must hold more precisely than the handler's code
// usually does, so its fields win over untyped ones read from req.body.

// validatorBody reads the body schema the middleware in front of a
// handler validates, nil when none says.
func (p *jsProject) validatorBody(f *jsFile, nodes []*sitter.Node) *generate.Schema {
	var out *generate.Schema
	add := func(s *generate.Schema) {
		if s == nil || len(s.Properties) == 0 {
			return
		}
		if out == nil {
			out = &generate.Schema{Type: "object"}
		}
		mergeProps(out, s)
	}
	for _, n := range nodes {
		n = unwrapExpr(n)
		if n == nil {
			continue
		}
		switch n.Type() {
		case "array":
			var items []*sitter.Node
			for i := 0; i < int(n.NamedChildCount()); i++ {
				items = append(items, n.NamedChild(i))
			}
			add(p.validatorBody(f, items))
		case "call_expression":
			if prop, ok := p.expressValidatorField(f, n); ok {
				add(&generate.Schema{Type: "object", Properties: []generate.Property{prop}})
				continue
			}
			for _, a := range argList(n) {
				add(p.bodySchemaArg(f, a, 0))
			}
		case "identifier", "member_expression":
			// A validation chain kept in a variable: const rules = [body(...)].
			if vf, v := p.evalNode(f, n, 0); v != nil && v != n && (v.Type() == "array" || v.Type() == "call_expression") {
				add(p.validatorBody(vf, []*sitter.Node{v}))
			}
		}
	}
	return out
}

// mergeProps adds b's properties to a, replacing those a has untyped.
func mergeProps(a, b *generate.Schema) {
	for _, bp := range b.Properties {
		found := false
		for i, ap := range a.Properties {
			if ap.Name == bp.Name {
				found = true
				if ap.Schema == nil || ap.Schema.Type == "" {
					a.Properties[i] = bp
				}
			}
		}
		if !found {
			a.Properties = append(a.Properties, bp)
		}
	}
}

// bodySchemaArg reads an argument of a validation middleware: an object
// with a body field ({ body: Joi.object(...) }, celebrate's
// { [Segments.BODY]: ... }), a zod object with a body field, a schema of
// the body itself, or a DTO class.
func (p *jsProject) bodySchemaArg(f *jsFile, n *sitter.Node, depth int) *generate.Schema {
	n = unwrapExpr(n)
	if n == nil || depth > 8 {
		return nil
	}
	switch n.Type() {
	case "object":
		for i := 0; i < int(n.NamedChildCount()); i++ {
			c := n.NamedChild(i)
			if c.Type() != "pair" {
				continue
			}
			k := strings.ToLower(strings.Trim(f.text(c.ChildByFieldName("key")), "[]'\""))
			if k == "body" || strings.HasSuffix(k, ".body") {
				return p.validatorSchema(f, c.ChildByFieldName("value"), 0)
			}
		}
		return nil
	case "identifier", "member_expression":
		vf, v := p.evalNode(f, n, depth+1)
		if v == nil || v == n {
			return nil
		}
		if v.Type() == "class_declaration" {
			return p.dtoSchema(vf, v)
		}
		return p.bodySchemaArg(vf, v, depth+1)
	case "call_expression":
		s := p.validatorSchema(f, n, 0)
		if s == nil {
			return nil
		}
		// z.object({ body: z.object(...), params: ... }) validates the
		// whole request.
		if b := s.Prop("body"); b != nil && b.IsObject() && (s.Prop("params") != nil || s.Prop("query") != nil || len(s.Properties) == 1) {
			return b
		}
		return s
	}
	return nil
}

// validatorChain lists the calls of a chain from its start: Joi.string()
// .email().required() → string, email, required.
type chainCall struct {
	name string
	args []*sitter.Node
}

func (p *jsProject) validatorChain(f *jsFile, n *sitter.Node) (root string, calls []chainCall) {
	for i := 0; n != nil && i < 64; i++ {
		n = unwrapExpr(n)
		switch n.Type() {
		case "call_expression":
			fn := n.ChildByFieldName("function")
			if fn == nil {
				return "", nil
			}
			if fn.Type() == "member_expression" {
				calls = append([]chainCall{{name: f.text(fn.ChildByFieldName("property")), args: argList(n)}}, calls...)
				n = fn.ChildByFieldName("object")
				continue
			}
			calls = append([]chainCall{{name: f.text(fn), args: argList(n)}}, calls...)
			return "", calls
		case "member_expression":
			// z.coerce.number(): the member is part of the root.
			calls = append([]chainCall{{name: f.text(n.ChildByFieldName("property"))}}, calls...)
			n = n.ChildByFieldName("object")
		case "identifier":
			return f.text(n), calls
		default:
			return "", nil
		}
	}
	return "", nil
}

// validatorSchema reads a joi or zod schema expression.
func (p *jsProject) validatorSchema(f *jsFile, n *sitter.Node, depth int) *generate.Schema {
	n = unwrapExpr(n)
	if n == nil || depth > 12 {
		return nil
	}
	if n.Type() == "identifier" || n.Type() == "member_expression" {
		vf, v := p.evalNode(f, n, depth+1)
		if v != nil && v != n {
			return p.validatorSchema(vf, v, depth+1)
		}
		return nil
	}
	if n.Type() == "object" {
		// Joi.object().keys({...}) and celebrate accept a plain object of
		// field schemas.
		return p.validatorFields(f, n, false, depth)
	}
	root, calls := p.validatorChain(f, n)
	if len(calls) == 0 {
		return nil
	}
	lib := strings.ToLower(root)
	zod := lib == "z" || lib == "zod"
	if !zod && lib != "joi" && lib != "yup" {
		// A wrapper around a schema (registry.register('Name',
		// z.object(...))): the schema among its arguments.
		for _, a := range calls[len(calls)-1].args {
			if a.Type() == "call_expression" || a.Type() == "identifier" || a.Type() == "member_expression" {
				if s := p.validatorSchema(f, a, depth+1); s != nil {
					return s
				}
			}
		}
		return nil
	}
	s := &generate.Schema{}
	for _, c := range calls {
		switch c.name {
		case "string":
			s.Type = "string"
		case "number":
			if s.Type != "integer" {
				s.Type = "number"
			}
		case "int", "integer":
			s.Type = "integer"
		case "boolean", "bool":
			s.Type = "boolean"
		case "date":
			s.Type, s.Format = "string", "date-time"
		case "email":
			s.Type, s.Format = "string", "email"
		case "uuid", "guid":
			s.Type, s.Format = "string", "uuid"
		case "url", "uri":
			s.Type, s.Format = "string", "uri"
		case "isoDate", "datetime":
			s.Type, s.Format = "string", "date-time"
		case "min", "gte", "greater", "positive", "nonnegative":
			if v, ok := p.numberArg(f, c.args); ok {
				if s.Type == "string" {
					n := int(v)
					s.MinLength = &n
				} else {
					s.Minimum = &v
				}
			} else if c.name == "positive" {
				one := 1.0
				s.Minimum = &one
			} else if c.name == "nonnegative" {
				zero := 0.0
				s.Minimum = &zero
			}
		case "max", "lte", "less":
			if v, ok := p.numberArg(f, c.args); ok {
				if s.Type == "string" {
					n := int(v)
					s.MaxLength = &n
				} else {
					s.Maximum = &v
				}
			}
		case "length":
			if v, ok := p.numberArg(f, c.args); ok && s.Type == "string" {
				n := int(v)
				s.MinLength, s.MaxLength = &n, &n
			}
		case "valid", "allow", "enum", "literal", "oneOf", "nativeEnum":
			var args []*sitter.Node
			for _, a := range c.args {
				if a.Type() == "array" {
					for i := 0; i < int(a.NamedChildCount()); i++ {
						args = append(args, a.NamedChild(i))
					}
				} else {
					args = append(args, a)
				}
			}
			for _, a := range args {
				if v, ok := p.evalString(f, a, 0); ok && a.Type() != "number" {
					s.Enum = append(s.Enum, v)
					if s.Type == "" {
						s.Type = "string"
					}
				} else if a.Type() == "number" {
					if v, err := strconv.ParseFloat(f.text(a), 64); err == nil {
						s.Enum = append(s.Enum, v)
					}
				}
			}
		case "regex", "pattern":
			if len(c.args) > 0 && c.args[0].Type() == "regex" {
				if pat := c.args[0].ChildByFieldName("pattern"); pat != nil {
					s.Pattern = f.text(pat)
				}
			}
		case "object", "keys", "strictObject", "append":
			if len(c.args) > 0 {
				if obj := p.validatorFields(f, c.args[0], zod, depth); obj != nil {
					if s.Type == "object" {
						mergeProps(s, obj)
					} else {
						*s = *obj
					}
				}
			}
			s.Type = "object"
		case "array":
			s.Type = "array"
			if len(c.args) > 0 {
				s.Items = p.validatorSchema(f, c.args[0], depth+1)
			}
		case "items":
			if len(c.args) > 0 {
				s.Items = p.validatorSchema(f, c.args[0], depth+1)
			}
		case "default":
			if len(c.args) > 0 {
				if v, ok := p.evalString(f, c.args[0], 0); ok && s.Type == "string" {
					s.Default = v
				}
			}
		}
	}
	if s.Type == "" && len(s.Properties) == 0 && len(s.Enum) == 0 {
		return nil
	}
	return s
}

// requiredIn says whether a field's chain makes it required: joi fields
// are optional unless .required(), zod fields required unless
// .optional(), .nullish() or .default().
func (p *jsProject) requiredIn(f *jsFile, n *sitter.Node, zod bool) bool {
	_, calls := p.validatorChain(f, unwrapExpr(n))
	for _, c := range calls {
		switch c.name {
		case "required", "exist":
			return true
		case "optional", "nullish", "default":
			return false
		}
	}
	return zod
}

// validatorFields reads an object literal of field schemas.
func (p *jsProject) validatorFields(f *jsFile, n *sitter.Node, zod bool, depth int) *generate.Schema {
	n = unwrapExpr(n)
	if n == nil {
		return nil
	}
	if n.Type() == "identifier" || n.Type() == "member_expression" {
		if vf, v := p.evalNode(f, n, depth+1); v != nil && v != n {
			return p.validatorFields(vf, v, zod, depth+1)
		}
		return nil
	}
	if n.Type() != "object" {
		return nil
	}
	s := &generate.Schema{Type: "object"}
	for i := 0; i < int(n.NamedChildCount()); i++ {
		c := n.NamedChild(i)
		if c.Type() != "pair" {
			continue
		}
		k := c.ChildByFieldName("key")
		name := f.text(k)
		if k != nil && k.Type() == "string" {
			name = jsStringValue(k, f.src)
		}
		v := c.ChildByFieldName("value")
		fs := p.validatorSchema(f, v, depth+1)
		if fs == nil {
			fs = &generate.Schema{}
		}
		s.Properties = append(s.Properties, generate.Property{Name: name, Required: p.requiredIn(f, v, zod), Schema: fs})
	}
	return s
}

func (p *jsProject) numberArg(f *jsFile, args []*sitter.Node) (float64, bool) {
	if len(args) == 0 {
		return 0, false
	}
	a := unwrapExpr(args[0])
	if a.Type() == "unary_expression" || a.Type() == "number" {
		v, err := strconv.ParseFloat(strings.ReplaceAll(f.text(a), "_", ""), 64)
		return v, err == nil
	}
	if s, ok := p.evalString(f, a, 0); ok {
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	return 0, false
}

// expressValidatorField reads one express-validator chain:
// body('email').isEmail(), check('age').isInt({ min: 18 }).optional().
func (p *jsProject) expressValidatorField(f *jsFile, n *sitter.Node) (generate.Property, bool) {
	root, calls := p.validatorChain(f, n)
	if root != "" || len(calls) == 0 || (calls[0].name != "body" && calls[0].name != "check") || len(calls[0].args) == 0 {
		return generate.Property{}, false
	}
	name, ok := p.evalString(f, calls[0].args[0], 0)
	if !ok || name == "" || strings.ContainsAny(name, ".*[") {
		return generate.Property{}, false
	}
	s := &generate.Schema{}
	required := true
	opts := func(c chainCall) (lo, hi *float64) {
		if len(c.args) == 0 || c.args[0].Type() != "object" {
			return nil, nil
		}
		if _, v := p.propertyOf(f, c.args[0], "min", 0); v != nil {
			if x, err := strconv.ParseFloat(f.text(v), 64); err == nil {
				lo = &x
			}
		}
		if _, v := p.propertyOf(f, c.args[0], "max", 0); v != nil {
			if x, err := strconv.ParseFloat(f.text(v), 64); err == nil {
				hi = &x
			}
		}
		return lo, hi
	}
	for _, c := range calls[1:] {
		switch c.name {
		case "isEmail", "normalizeEmail":
			s.Type, s.Format = "string", "email"
		case "isInt":
			s.Type = "integer"
			s.Minimum, s.Maximum = opts(c)
		case "isFloat", "isNumeric", "isDecimal":
			s.Type = "number"
			s.Minimum, s.Maximum = opts(c)
		case "isBoolean":
			s.Type = "boolean"
		case "isUUID", "isMongoId":
			s.Type = "string"
			if c.name == "isUUID" {
				s.Format = "uuid"
			}
		case "isISO8601", "isDate":
			s.Type, s.Format = "string", "date-time"
		case "isURL":
			s.Type, s.Format = "string", "uri"
		case "isArray":
			s.Type = "array"
		case "isLength":
			if s.Type == "" {
				s.Type = "string"
			}
			lo, hi := opts(c)
			if lo != nil {
				n := int(*lo)
				s.MinLength = &n
			}
			if hi != nil {
				n := int(*hi)
				s.MaxLength = &n
			}
		case "isIn":
			if len(c.args) > 0 && c.args[0].Type() == "array" {
				for i := 0; i < int(c.args[0].NamedChildCount()); i++ {
					if v, ok := p.evalString(f, c.args[0].NamedChild(i), 0); ok {
						s.Enum = append(s.Enum, v)
					}
				}
				if s.Type == "" {
					s.Type = "string"
				}
			}
		case "isString", "notEmpty", "trim", "escape", "isAlphanumeric", "isStrongPassword":
			if s.Type == "" {
				s.Type = "string"
			}
			if c.name == "isStrongPassword" {
				n := 8
				s.MinLength = &n
			}
		case "optional":
			required = false
		}
	}
	return generate.Property{Name: name, Required: required, Schema: s}, true
}

// dtoSchema reads a class-validator DTO: its fields with their TypeScript
// types, refined by the decorators (@IsEmail, @IsOptional, @Length(2, 20),
// @Min(1), @IsInt, @IsIn([...])).
func (p *jsProject) dtoSchema(f *jsFile, cls *sitter.Node) *generate.Schema {
	body := cls.ChildByFieldName("body")
	if body == nil {
		return nil
	}
	s := &generate.Schema{Type: "object"}
	if nm := cls.ChildByFieldName("name"); nm != nil {
		s.Name = f.text(nm)
	}
	var decorators []*sitter.Node
	for i := 0; i < int(body.NamedChildCount()); i++ {
		c := body.NamedChild(i)
		if c.Type() == "decorator" {
			// Some grammars put a field's decorators before it in the body.
			decorators = append(decorators, c)
			continue
		}
		if c.Type() != "public_field_definition" && c.Type() != "field_definition" {
			decorators = nil
			continue
		}
		for j := 0; j < int(c.NamedChildCount()); j++ {
			if d := c.NamedChild(j); d.Type() == "decorator" {
				decorators = append(decorators, d)
			}
		}
		name := c.ChildByFieldName("name")
		if name == nil {
			decorators = nil
			continue
		}
		fs := &generate.Schema{}
		if t := c.ChildByFieldName("type"); t != nil {
			fs = p.types.schemaOf(f, typeInner(t), nil)
			cp := *fs
			fs = &cp
		}
		required := !strings.Contains(f.text(c), "?:")
		for _, d := range decorators {
			txt := f.text(d)
			call := txt[1:]
			dn := call
			if i := strings.IndexByte(call, '('); i >= 0 {
				dn = call[:i]
			}
			var args []*sitter.Node
			walkNodes(d, func(m *sitter.Node) bool {
				if m.Type() == "call_expression" && args == nil {
					args = argList(m)
					return false
				}
				return true
			})
			switch dn {
			case "IsOptional":
				required = false
			case "IsEmail":
				fs.Type, fs.Format = "string", "email"
			case "IsString", "IsNotEmpty":
				if fs.Type == "" {
					fs.Type = "string"
				}
			case "IsInt":
				fs.Type = "integer"
			case "IsNumber", "IsPositive":
				if fs.Type != "integer" {
					fs.Type = "number"
				}
				if dn == "IsPositive" {
					one := 1.0
					fs.Minimum = &one
				}
			case "IsBoolean":
				fs.Type = "boolean"
			case "IsUUID":
				fs.Type, fs.Format = "string", "uuid"
			case "IsDateString", "IsISO8601":
				fs.Type, fs.Format = "string", "date-time"
			case "Min":
				if v, ok := p.numberArg(f, args); ok {
					fs.Minimum = &v
				}
			case "Max":
				if v, ok := p.numberArg(f, args); ok {
					fs.Maximum = &v
				}
			case "MinLength":
				if v, ok := p.numberArg(f, args); ok {
					n := int(v)
					fs.MinLength = &n
				}
			case "MaxLength":
				if v, ok := p.numberArg(f, args); ok {
					n := int(v)
					fs.MaxLength = &n
				}
			case "Length":
				if v, ok := p.numberArg(f, args); ok {
					n := int(v)
					fs.MinLength = &n
				}
				if len(args) > 1 {
					if v, ok := p.numberArg(f, args[1:]); ok {
						n := int(v)
						fs.MaxLength = &n
					}
				}
			case "IsIn":
				if len(args) > 0 && args[0].Type() == "array" {
					fs.Enum = nil
					for k := 0; k < int(args[0].NamedChildCount()); k++ {
						if v, ok := p.evalString(f, args[0].NamedChild(k), 0); ok {
							fs.Enum = append(fs.Enum, v)
						}
					}
				}
			}
		}
		decorators = nil
		s.Properties = append(s.Properties, generate.Property{Name: f.text(name), Required: required, Schema: fs})
	}
	if len(s.Properties) == 0 {
		return nil
	}
	return s
}
