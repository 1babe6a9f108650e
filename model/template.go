package model

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Template functions usable in step paths, headers and bodies, with the
// number of literal arguments each takes. Evaluation lives with the runner
// (loadgen); this table is the one place the names are defined.
var TemplateFuncs = map[string]TemplateFunc{
	"randomInt":    {MinArgs: 2, MaxArgs: 2, Doc: "randomInt(min, max): uniform integer in [min, max]"},
	"skewedInt":    {MinArgs: 2, MaxArgs: 2, Doc: "skewedInt(min, max): integer in [min, max], small values more likely (quantities)"},
	"randomFloat":  {MinArgs: 2, MaxArgs: 3, Doc: "randomFloat(min, max[, decimals]): uniform number in [min, max]"},
	"pick":         {MinArgs: 1, MaxArgs: -1, Doc: "pick(a, b, ...): one of the arguments, uniformly"},
	"pickWeighted": {MinArgs: 2, MaxArgs: -1, Doc: "pickWeighted(value, weight, value, weight, ...): one value by weight"},
	"uuid":         {MinArgs: 0, MaxArgs: 0, Doc: "uuid(): a random RFC 4122 version 4 UUID"},
	"seq":          {MinArgs: 0, MaxArgs: 1, Doc: "seq([start]): a run-wide sequence 1, 2, 3, ... (or from start)"},
	"vu":           {MinArgs: 0, MaxArgs: 0, Doc: "vu(): the VU's number, from 1"},
	"iter":         {MinArgs: 0, MaxArgs: 0, Doc: "iter(): the VU's iteration number, from 0"},
	"firstName":    {MinArgs: 0, MaxArgs: 0, Doc: "firstName(): a first name"},
	"lastName":     {MinArgs: 0, MaxArgs: 0, Doc: "lastName(): a last name"},
	"name":         {MinArgs: 0, MaxArgs: 0, Doc: "name(): a full name"},
	"email":        {MinArgs: 0, MaxArgs: 0, Doc: "email(): a unique-looking e-mail address"},
	"word":         {MinArgs: 0, MaxArgs: 0, Doc: "word(): a lower-case word"},
	"randomString": {MinArgs: 1, MaxArgs: 1, Doc: "randomString(n): n random letters and digits"},
	"now":          {MinArgs: 0, MaxArgs: 0, Doc: "now(): the current time, RFC 3339"},
	"env":          {MinArgs: 1, MaxArgs: 1, Doc: "env(NAME): the environment variable NAME, read once when the run starts (an error when unset)"},
	"file":         {MinArgs: 1, MaxArgs: 1, Doc: "file(PATH): the content of a file such as a mounted secret, read once when the run starts, without its final newline"},
}

// SecretFuncs are the template functions whose value is a secret read when
// the run starts: their values are never printed or stored.
var SecretFuncs = map[string]bool{"env": true, "file": true}

// TemplateFunc describes one template function's arity; MaxArgs -1 means no limit.
type TemplateFunc struct {
	MinArgs, MaxArgs int
	Doc              string
}

// Template is a parsed string with {{ ... }} expressions.
type Template struct {
	Parts []TemplatePart
}

// TemplatePart is a literal, a variable reference or a function call.
type TemplatePart struct {
	Literal string
	// Var is set for {{name}}.
	Var string
	// Func and Args are set for {{fn(arg, ...)}}; Args are string, float64 or int64.
	Func string
	Args []any
}

// IsLiteral reports whether the template has no expressions.
func (t *Template) IsLiteral() bool {
	for _, p := range t.Parts {
		if p.Var != "" || p.Func != "" {
			return false
		}
	}
	return true
}

// Single returns the only part when the template is exactly one expression,
// so that a body value keeps the expression's JSON type.
func (t *Template) Single() (TemplatePart, bool) {
	if len(t.Parts) == 1 && (t.Parts[0].Var != "" || t.Parts[0].Func != "") {
		return t.Parts[0], true
	}
	return TemplatePart{}, false
}

// Vars lists the variables the template refers to.
func (t *Template) Vars() []string {
	var out []string
	for _, p := range t.Parts {
		if p.Var != "" {
			out = append(out, p.Var)
		}
	}
	return out
}

// ParseTemplate parses s. Errors say which expression is wrong and why.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.Parts = append(t.Parts, TemplatePart{Literal: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.Parts = append(t.Parts, TemplatePart{Literal: rest[:i]})
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("template %q: unclosed \"{{\"", s)
		}
		expr := strings.TrimSpace(rest[i+2 : i+j])
		part, err := parseExpr(expr)
		if err != nil {
			return nil, fmt.Errorf("template %q: %w", s, err)
		}
		t.Parts = append(t.Parts, part)
		rest = rest[i+j+2:]
	}
}

func isIdent(s string, dots bool) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (unicode.IsDigit(r) || r == '-' || (dots && r == '.')):
		default:
			return false
		}
	}
	return true
}

func parseExpr(expr string) (TemplatePart, error) {
	if expr == "" {
		return TemplatePart{}, fmt.Errorf("empty expression \"{{}}\"")
	}
	open := strings.IndexByte(expr, '(')
	if open < 0 {
		if !isIdent(expr, true) {
			return TemplatePart{}, fmt.Errorf("%q is neither a variable name nor a function call such as randomInt(1, 10)", expr)
		}
		return TemplatePart{Var: expr}, nil
	}
	name := strings.TrimSpace(expr[:open])
	if !strings.HasSuffix(expr, ")") {
		return TemplatePart{}, fmt.Errorf("function call %q must end with \")\"", expr)
	}
	fn, ok := TemplateFuncs[name]
	if !ok {
		return TemplatePart{}, fmt.Errorf("unknown function %q; known functions: %s", name, strings.Join(templateFuncNames(), ", "))
	}
	args, err := splitArgs(expr[open+1 : len(expr)-1])
	if err != nil {
		return TemplatePart{}, fmt.Errorf("%s: %w", name, err)
	}
	if len(args) < fn.MinArgs || (fn.MaxArgs >= 0 && len(args) > fn.MaxArgs) {
		return TemplatePart{}, fmt.Errorf("%s takes %s, got %d (%s)", name, arity(fn), len(args), fn.Doc)
	}
	if name == "pickWeighted" {
		if len(args)%2 != 0 {
			return TemplatePart{}, fmt.Errorf("pickWeighted takes value, weight pairs, got %d arguments", len(args))
		}
		for k := 1; k < len(args); k += 2 {
			w, ok := asFloat(args[k])
			if !ok || w < 0 {
				return TemplatePart{}, fmt.Errorf("pickWeighted: weight %v must be a non-negative number", args[k])
			}
		}
	}
	switch name {
	case "randomInt", "skewedInt", "randomFloat":
		lo, ok1 := asFloat(args[0])
		hi, ok2 := asFloat(args[1])
		if !ok1 || !ok2 {
			return TemplatePart{}, fmt.Errorf("%s: min and max must be numbers", name)
		}
		if lo > hi {
			return TemplatePart{}, fmt.Errorf("%s: min %v is greater than max %v", name, lo, hi)
		}
	case "env":
		if n, ok := args[0].(string); !ok || !isEnvName(n) {
			return TemplatePart{}, fmt.Errorf("env: %v is not an environment variable name: expected letters, digits and \"_\", such as env(API_TOKEN)", args[0])
		}
	case "file":
		if p, ok := args[0].(string); !ok || strings.TrimSpace(p) == "" {
			return TemplatePart{}, fmt.Errorf("file: expected a path, such as file(/run/secrets/api-token)")
		}
	case "randomString", "seq":
		if len(args) == 1 {
			if _, ok := args[0].(int64); !ok {
				return TemplatePart{}, fmt.Errorf("%s: argument must be an integer", name)
			}
		}
	}
	return TemplatePart{Func: name, Args: args}, nil
}

// isEnvName reports whether s is a portable environment variable name.
func isEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func arity(fn TemplateFunc) string {
	switch {
	case fn.MaxArgs < 0:
		return fmt.Sprintf("at least %d arguments", fn.MinArgs)
	case fn.MinArgs == fn.MaxArgs:
		return fmt.Sprintf("%d arguments", fn.MinArgs)
	default:
		return fmt.Sprintf("%d to %d arguments", fn.MinArgs, fn.MaxArgs)
	}
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func templateFuncNames() []string {
	names := make([]string, 0, len(TemplateFuncs))
	for n := range TemplateFuncs {
		names = append(names, n)
	}
	sortStrings(names)
	return names
}

// splitArgs reads comma-separated literals: numbers, 'single' or "double"
// quoted strings, or bare words (read as strings).
func splitArgs(s string) ([]any, error) {
	var args []any
	s = strings.TrimSpace(s)
	for s != "" {
		var tok string
		if s[0] == '"' || s[0] == '\'' {
			q := s[0]
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string %s", s)
			}
			args = append(args, s[1:end+1])
			s = strings.TrimSpace(s[end+2:])
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			tok = strings.TrimSpace(s[:end])
			s = s[end:]
			if tok == "" {
				return nil, fmt.Errorf("empty argument")
			}
			if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
				args = append(args, n)
			} else if f, err := strconv.ParseFloat(tok, 64); err == nil {
				args = append(args, f)
			} else {
				args = append(args, tok)
			}
		}
		s = strings.TrimSpace(s)
		if s == "" {
			break
		}
		if s[0] != ',' {
			return nil, fmt.Errorf("expected \",\" between arguments at %q", s)
		}
		s = strings.TrimSpace(s[1:])
		if s == "" {
			return nil, fmt.Errorf("trailing \",\"")
		}
	}
	return args, nil
}

func sortStrings(a []string) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// RouteTemplate turns a path template into the endpoint form shared by
// every document: "/api/orders/{{orderId}}" → "/api/orders/{orderId}",
// "/orders/:id" → "/orders/{id}"; a query string is dropped.
func RouteTemplate(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	var b strings.Builder
	for path != "" {
		i := strings.Index(path, "{{")
		if i < 0 {
			b.WriteString(path)
			break
		}
		b.WriteString(path[:i])
		j := strings.Index(path[i:], "}}")
		if j < 0 {
			b.WriteString(path[i:])
			break
		}
		expr := strings.TrimSpace(path[i+2 : i+j])
		if open := strings.IndexByte(expr, '('); open >= 0 {
			expr = strings.TrimSpace(expr[:open])
		}
		if k := strings.LastIndexByte(expr, '.'); k >= 0 {
			expr = expr[k+1:]
		}
		b.WriteString("{" + expr + "}")
		path = path[i+j+2:]
	}
	segs := strings.Split(b.String(), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") && len(s) > 1 {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// EndpointName is the one form of an endpoint name: "METHOD /path/{param}".
func EndpointName(method, path string) string {
	return strings.ToUpper(method) + " " + RouteTemplate(path)
}
