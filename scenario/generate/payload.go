package generate

import (
	"fmt"
	"github.com/headroom-sh/headroom/internal/numfmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Schema is the shape of a JSON value, reduced to what payload synthesis
// needs. The OpenAPI reader and the TypeScript reader both produce it, so
// one synthesizer serves both.
type Schema struct {
	// Name is the type or component name when the schema has one ("CartItem").
	Name string `json:"name,omitempty"`
	// Type is object, array, string, integer, number, boolean or null;
	// empty means unknown (a JavaScript handler without types).
	Type        string `json:"type,omitempty"`
	Format      string `json:"format,omitempty"`
	Description string `json:"description,omitempty"`
	// Enum lists the allowed values (a string-literal union, an enum, a const).
	Enum []any `json:"enum,omitempty"`
	// Examples are sample values, the preferred first.
	Examples []any `json:"examples,omitempty"`
	Default  any   `json:"default,omitempty"`
	// Minimum and Maximum bound numbers; Exclusive* make the bound exclusive.
	Minimum          *float64 `json:"minimum,omitempty"`
	Maximum          *float64 `json:"maximum,omitempty"`
	ExclusiveMinimum bool     `json:"exclusive_minimum,omitempty"`
	ExclusiveMaximum bool     `json:"exclusive_maximum,omitempty"`
	MultipleOf       *float64 `json:"multiple_of,omitempty"`
	MinLength        *int     `json:"min_length,omitempty"`
	MaxLength        *int     `json:"max_length,omitempty"`
	Pattern          string   `json:"pattern,omitempty"`
	// Properties are an object's fields in declaration order.
	Properties []Property `json:"properties,omitempty"`
	// Items is an array's element schema.
	Items    *Schema `json:"items,omitempty"`
	MinItems *int    `json:"min_items,omitempty"`
	MaxItems *int    `json:"max_items,omitempty"`
	// AnyOf lists alternatives (oneOf, anyOf, a union of object types).
	AnyOf     []*Schema `json:"any_of,omitempty"`
	Nullable  bool      `json:"nullable,omitempty"`
	ReadOnly  bool      `json:"read_only,omitempty"`
	WriteOnly bool      `json:"write_only,omitempty"`
	// Recursive marks a reference back to an enclosing schema; synthesis
	// stops there instead of recursing forever.
	Recursive bool `json:"recursive,omitempty"`
}

// Property is one field of an object schema.
type Property struct {
	Name     string  `json:"name"`
	Required bool    `json:"required,omitempty"`
	Schema   *Schema `json:"schema"`
}

// Prop returns the named property's schema, or nil.
func (s *Schema) Prop(name string) *Schema {
	if s == nil {
		return nil
	}
	for _, p := range s.Properties {
		if p.Name == name {
			return p.Schema
		}
	}
	return nil
}

// IsObject reports whether the schema describes a JSON object.
func (s *Schema) IsObject() bool {
	return s != nil && (s.Type == "object" || (s.Type == "" && len(s.Properties) > 0))
}

// describeMax bounds a description: past it, the rest is "…". Large APIs
// have thousands of routes whose schemas nest and refer to each other, and
// the dry run must stay readable (and small: 4,000 routes described in
// full made 35 MB of output).
const describeMax = 600

// Describe renders the schema compactly for --dry-run output:
// {product_id: string, variant: "S"|"M"|"L"|"XL", quantity?: integer[1..10]}.
func (s *Schema) Describe() string {
	var b strings.Builder
	describeSchema(&b, s, 0)
	return b.String()
}

func describeSchema(b *strings.Builder, s *Schema, depth int) {
	switch {
	case b.Len() > describeMax:
		if !strings.HasSuffix(b.String(), "…") {
			b.WriteString("…")
		}
		return
	case s == nil:
		b.WriteString("none")
		return
	case s.Recursive:
		b.WriteString(s.Name + " (recursive)")
		return
	case depth > 6:
		b.WriteString("…")
		return
	}
	if len(s.Enum) > 0 {
		for i, v := range s.Enum {
			if i > 0 {
				b.WriteString("|")
			}
			if str, ok := v.(string); ok {
				b.WriteString(strconv.Quote(str))
			} else {
				fmt.Fprint(b, v)
			}
		}
		return
	}
	switch {
	case s.IsObject():
		b.WriteString("{")
		for i, p := range s.Properties {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.Name)
			if !p.Required {
				b.WriteString("?")
			}
			b.WriteString(": ")
			describeSchema(b, p.Schema, depth+1)
		}
		b.WriteString("}")
	case s.Type == "array":
		describeSchema(b, s.Items, depth+1)
		b.WriteString("[]")
	case len(s.AnyOf) > 0:
		for i, a := range s.AnyOf {
			if i > 0 {
				b.WriteString(" | ")
			}
			describeSchema(b, a, depth+1)
		}
	default:
		t := s.Type
		if t == "" {
			t = "unknown"
		}
		b.WriteString(t)
		if s.Format != "" {
			b.WriteString("(" + s.Format + ")")
		}
		if s.Minimum != nil || s.Maximum != nil {
			b.WriteString("[")
			if s.Minimum != nil {
				b.WriteString(numfmt.Plain(*s.Minimum))
			}
			b.WriteString("..")
			if s.Maximum != nil {
				b.WriteString(numfmt.Plain(*s.Maximum))
			}
			b.WriteString("]")
		}
	}
}

// Limits of synthesis: objects nest at most this deep and arrays get at
// most this many items, so a generated body stays small.
const (
	// MaxDepth is how deep synthesis (and example merging) follows nested objects.
	MaxDepth      = 6
	synthMaxItems = 3
)

// synth builds body templates from schemas. Values the runner can vary are
// written as templates ({{skewedInt(1,10)}}); fixed choices (a character
// drawn for a pattern) come from an RNG seeded by the field name, so the
// same schema always gives the same scenario.
type synth struct {
	// literalExamples prefers examples over generated values even where a
	// generator exists (login credentials must be real ones).
	literalExamples bool
}

// Synthesize returns a body template for s: a map, list or scalar whose
// strings may hold {{...}} templates. ok is false when the schema gives
// nothing to send.
func Synthesize(s *Schema) (body any, ok bool) {
	return (&synth{}).value(s, "", 0, nil)
}

// SynthesizeCredentials is Synthesize preferring the schema's examples,
// for login bodies whose values must be real credentials.
func SynthesizeCredentials(s *Schema) (body any, ok bool) {
	return (&synth{literalExamples: true}).value(s, "", 0, nil)
}

// value synthesizes one value; name is the field name, used for hints.
func (sy *synth) value(s *Schema, name string, depth int, stack []*Schema) (any, bool) {
	if s == nil || s.Recursive {
		return nil, false
	}
	for _, up := range stack {
		if up == s {
			return nil, false
		}
	}
	if depth > MaxDepth {
		return nil, false
	}
	if len(s.Enum) > 0 {
		return enumTemplate(s.Enum, s.Default, name), true
	}
	if len(s.AnyOf) > 0 && len(s.Properties) == 0 && s.Type == "" {
		return sy.value(pickAlternative(s.AnyOf), name, depth, stack)
	}
	stack = append(stack, s)
	switch {
	case s.IsObject():
		obj := map[string]any{}
		for _, p := range s.Properties {
			if p.Schema != nil && p.Schema.ReadOnly {
				continue
			}
			if !p.Required && (!hasValueHint(p.Schema) || idNameRE.MatchString(p.Name)) {
				// An optional reference to another item (cart_id) is only
				// sent when an earlier step returned one; see Generate.
				continue
			}
			v, ok := sy.value(p.Schema, p.Name, depth+1, stack)
			if !ok {
				if !p.Required {
					continue
				}
				v = emptyValue(p.Schema)
			}
			obj[p.Name] = v
		}
		if len(obj) == 0 && len(s.Properties) == 0 {
			if ex, ok := firstExample(s); ok {
				if m, ok := ex.(map[string]any); ok {
					return safeLiteral(m), true
				}
			}
		}
		return obj, true
	case s.Type == "array":
		n := 1
		if s.MinItems != nil && *s.MinItems > n {
			n = *s.MinItems
		}
		if n > synthMaxItems {
			n = synthMaxItems
		}
		if s.MaxItems != nil && *s.MaxItems < n {
			n = *s.MaxItems
		}
		out := []any{}
		if s.Items == nil {
			if ex, ok := firstExample(s); ok {
				if l, ok := ex.([]any); ok {
					return safeLiteral(l), true
				}
			}
			return out, true
		}
		for i := 0; i < n; i++ {
			v, ok := sy.value(s.Items, singular(name), depth+1, stack)
			if !ok {
				break
			}
			out = append(out, v)
		}
		return out, true
	case s.Type == "string":
		return sy.stringValue(s, name), true
	case s.Type == "integer":
		return sy.numberValue(s, name, true), true
	case s.Type == "number":
		return sy.numberValue(s, name, false), true
	case s.Type == "boolean":
		if s.Default != nil {
			return s.Default, true
		}
		if ex, ok := firstExample(s); ok {
			if b, ok := ex.(bool); ok {
				return b, true
			}
		}
		return false, true
	case s.Type == "null":
		return nil, true
	}
	// No type: a JavaScript handler that reads req.body.quantity, or a
	// schema written without one. Examples first, then the name.
	if ex, ok := firstExample(s); ok {
		if str, ok := ex.(string); ok {
			return sy.stringValue(&Schema{Type: "string", Examples: []any{str}}, name), true
		}
		return safeLiteral(ex), true
	}
	return guessByName(name), true
}

// hasValueHint reports whether an optional field says what to send: an
// example, a default, an enum or bounds. Optional fields without one are
// left out, since a made-up value (a coupon code) is likelier to be refused
// than no value.
func hasValueHint(s *Schema) bool {
	if s == nil || s.Recursive {
		return false
	}
	if len(s.Examples) > 0 || s.Default != nil || len(s.Enum) > 0 || s.Minimum != nil || s.Maximum != nil {
		return true
	}
	return false
}

// emptyValue is what a required field gets when nothing can be
// synthesized for it (a required recursive child).
func emptyValue(s *Schema) any {
	switch {
	case s == nil:
		return nil
	case s.Type == "array":
		return []any{}
	case s.IsObject():
		return map[string]any{}
	}
	return nil
}

// pickAlternative chooses which alternative of a oneOf/anyOf to send: one
// with an example, else the first that is not null.
func pickAlternative(alts []*Schema) *Schema {
	for _, a := range alts {
		if a != nil && len(a.Examples) > 0 && a.Type != "null" {
			return a
		}
	}
	for _, a := range alts {
		if a != nil && a.Type != "null" {
			return a
		}
	}
	return alts[0]
}

func firstExample(s *Schema) (any, bool) {
	for _, ex := range s.Examples {
		if ex != nil && !containsTemplate(ex) {
			return ex, true
		}
	}
	if s.Default != nil && !containsTemplate(s.Default) {
		return s.Default, true
	}
	return nil, false
}

// containsTemplate reports whether a literal value holds "{{", which the
// runner would read as a template.
func containsTemplate(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, "{{")
	case map[string]any:
		for _, e := range x {
			if containsTemplate(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if containsTemplate(e) {
				return true
			}
		}
	}
	return false
}

// safeLiteral copies an example value for use as a body, dropping strings
// that would be read as templates.
func safeLiteral(v any) any {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, "{{") {
			return strings.ReplaceAll(x, "{{", "{ {")
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = safeLiteral(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = safeLiteral(e)
		}
		return out
	case int:
		return int64(x)
	}
	return v
}

// sizeWeights are plausible shares of garment sizes: the middle sizes sell most.
var sizeWeights = map[string]float64{
	"XXS": 2, "XS": 6, "S": 20, "M": 35, "L": 25, "XL": 12, "XXL": 4, "XXXL": 2, "2XL": 4, "3XL": 2,
	"SMALL": 25, "MEDIUM": 40, "LARGE": 25, "X-LARGE": 10,
}

// enumTemplate samples an enum: pickWeighted with weights that fall with
// the position (the first value of an enum is usually the common case,
// Zipf-like 60, 30, 20, 15, ...), sizes weighted toward the middle, and the
// default, when there is one, the most likely.
func enumTemplate(values []any, def any, name string) any {
	var vals []any
	for _, v := range values {
		switch x := v.(type) {
		case string:
			if _, ok := quoteArg(x); ok {
				vals = append(vals, x)
			}
		case float64, int64, int:
			vals = append(vals, x)
		}
	}
	if len(vals) == 0 {
		return safeLiteral(values[0])
	}
	if len(vals) == 1 {
		return safeLiteral(vals[0])
	}
	weights := make([]float64, len(vals))
	allSizes := true
	for _, v := range vals {
		s, ok := v.(string)
		if _, known := sizeWeights[strings.ToUpper(s)]; !ok || !known {
			allSizes = false
		}
	}
	for i, v := range vals {
		if allSizes {
			weights[i] = sizeWeights[strings.ToUpper(v.(string))]
		} else {
			weights[i] = math.Round(60 / float64(i+1))
		}
	}
	if def != nil {
		top := 0.0
		for _, w := range weights {
			top = math.Max(top, w)
		}
		for i, v := range vals {
			if fmt.Sprint(v) == fmt.Sprint(def) {
				weights[i] = top * 2
			}
		}
	}
	var b strings.Builder
	b.WriteString("{{pickWeighted(")
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		switch x := v.(type) {
		case string:
			q, _ := quoteArg(x)
			b.WriteString(q)
		default:
			b.WriteString(numfmt.Plain(toFloat(x)))
		}
		b.WriteString(", " + numfmt.Plain(weights[i]))
	}
	b.WriteString(")}}")
	return b.String()
}

// quoteArg writes a string as a template function argument: bare when the
// template parser reads it back as the same string, else quoted. ok is
// false when it cannot be written (it holds both quote characters).
func quoteArg(s string) (string, bool) {
	if strings.Contains(s, "{{") || strings.Contains(s, "}}") {
		return "", false
	}
	bare := s != "" && strings.TrimSpace(s) == s && !strings.ContainsAny(s, ",'\"()")
	if bare {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return s, true
		}
	}
	switch {
	case !strings.Contains(s, "'"):
		return "'" + s + "'", true
	case !strings.Contains(s, `"`):
		return `"` + s + `"`, true
	}
	return "", false
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return 0
}

// idTokenRE matches identifiers made of a prefix and a number: prod_42,
// user1, SKU-0042.
var idTokenRE = regexp.MustCompile(`\b([A-Za-z][A-Za-z]*(?:[_-][A-Za-z]+)*[_-]?)([0-9]{1,9})\b`)

// idRange finds the range of numbered identifiers a field's examples,
// description and pattern reveal: examples prod_1 and prod_500 (or a
// description "prod_1 … prod_500") give prod_ and 1..500; a single example
// prod_42 gives 1..42, as lower numbers likely exist too; a pattern
// ^prod_\d{1,3}$ gives 1..999.
func idRange(s *Schema) (prefix string, lo, hi int64, ok bool) {
	nums := map[string][]int64{}
	var order []string
	add := func(text string, whole bool) {
		var ms [][]string
		if whole {
			if m := idTokenRE.FindStringSubmatch(text); m != nil && m[0] == text {
				ms = [][]string{m}
			}
		} else {
			ms = idTokenRE.FindAllStringSubmatch(text, -1)
		}
		for _, m := range ms {
			n, err := strconv.ParseInt(m[2], 10, 64)
			if err != nil {
				continue
			}
			if _, seen := nums[m[1]]; !seen {
				order = append(order, m[1])
			}
			nums[m[1]] = append(nums[m[1]], n)
		}
	}
	for _, ex := range s.Examples {
		if str, ok := ex.(string); ok {
			add(str, true)
		}
	}
	if str, ok := s.Default.(string); ok {
		add(str, true)
	}
	exPrefixes := len(order)
	if s.Description != "" {
		add(s.Description, false)
	}
	patPrefix, patMin, patMax, patOK := patternIDBound(s.Pattern)
	// The prefix is the examples' when there are any, else the
	// description's most mentioned one, else the pattern's.
	best := ""
	if exPrefixes > 0 {
		best = order[0]
	} else {
		for _, p := range order {
			if len(nums[p]) >= 2 && (best == "" || len(nums[p]) > len(nums[best])) {
				best = p
			}
		}
	}
	if best == "" {
		if patOK {
			return patPrefix, patMin, patMax, true
		}
		return "", 0, 0, false
	}
	ns := nums[best]
	sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
	lo, hi = ns[0], ns[len(ns)-1]
	switch {
	case lo != hi:
	case patOK && patPrefix == best:
		lo, hi = patMin, patMax
	case hi >= 2 && strings.ContainsAny(best[len(best)-1:], "_-"):
		// One example such as prod_42: the lower numbers likely exist
		// too. Without a separator (hunter2) a number is just part of
		// the value.
		lo = 1
	default:
		return "", 0, 0, false
	}
	return best, lo, hi, true
}

// patternIDBound reads patterns of a literal prefix and a number:
// ^prod_\d{1,3}$ (1..999) or ^prod_([1-9][0-9]?|[1-4][0-9]{2}|500)$
// (1..500).
func patternIDBound(pattern string) (string, int64, int64, bool) {
	if pattern == "" || len(pattern) > 512 {
		return "", 0, 0, false
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", 0, 0, false
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat {
		return "", 0, 0, false
	}
	var subs []*syntax.Regexp
	for _, sub := range re.Sub {
		switch sub.Op {
		case syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine:
		default:
			subs = append(subs, sub)
		}
	}
	if len(subs) < 2 || subs[0].Op != syntax.OpLiteral {
		return "", 0, 0, false
	}
	prefix := string(subs[0].Rune)
	if prefix == "" || unicode.IsDigit(rune(prefix[len(prefix)-1])) || !idTokenRE.MatchString(prefix+"1") {
		return "", 0, 0, false
	}
	lo, hi, ok := digitSpan(&syntax.Regexp{Op: syntax.OpConcat, Sub: subs[1:]})
	if !ok {
		return "", 0, 0, false
	}
	a, err1 := strconv.ParseInt(lo, 10, 64)
	b, err2 := strconv.ParseInt(hi, 10, 64)
	if err1 != nil || err2 != nil || b < 1 {
		return "", 0, 0, false
	}
	if a < 1 {
		a = 1
	}
	return prefix, a, b, a <= b
}

// digitSpan gives the smallest and largest digit strings a fragment made
// only of digits matches, compared as numbers. Unbounded repetitions count
// as up to three digits.
func digitSpan(re *syntax.Regexp) (lo, hi string, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		for _, r := range s {
			if r < '0' || r > '9' {
				return "", "", false
			}
		}
		return s, s, true
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return "", "", false
		}
		minD, maxD := rune('9'), rune('0')
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i] < '0' || re.Rune[i+1] > '9' {
				return "", "", false
			}
			minD = min(minD, re.Rune[i])
			maxD = max(maxD, re.Rune[i+1])
		}
		return string(minD), string(maxD), true
	case syntax.OpCapture:
		return digitSpan(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			l, h, ok := digitSpan(sub)
			if !ok {
				return "", "", false
			}
			lo += l
			hi += h
		}
		if len(hi) > 18 {
			return "", "", false
		}
		return lo, hi, true
	case syntax.OpQuest, syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		l, h, ok := digitSpan(re.Sub[0])
		if !ok {
			return "", "", false
		}
		minRep, maxRep := 0, 1
		switch re.Op {
		case syntax.OpStar:
			maxRep = 3
		case syntax.OpPlus:
			minRep, maxRep = 1, 3
		case syntax.OpRepeat:
			minRep, maxRep = re.Min, re.Max
			if maxRep < 0 {
				maxRep = minRep + 2
			}
		}
		if maxRep > 18 {
			return "", "", false
		}
		return strings.Repeat(l, minRep), strings.Repeat(h, maxRep), true
	case syntax.OpAlternate:
		var bestLo, bestHi string
		for i, sub := range re.Sub {
			l, h, ok := digitSpan(sub)
			if !ok {
				return "", "", false
			}
			if i == 0 || numLess(l, bestLo) {
				bestLo = l
			}
			if i == 0 || numLess(bestHi, h) {
				bestHi = h
			}
		}
		return bestLo, bestHi, true
	}
	return "", "", false
}

// numLess compares digit strings as numbers.
func numLess(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// isDigitRun returns the maximum length of a run of digits (\d{1,3} → 3,
// \d+ → 3 by convention), or 0 when sub is not one.
func isDigitRun(sub *syntax.Regexp) int {
	var class *syntax.Regexp
	maxLen := 0
	switch sub.Op {
	case syntax.OpPlus, syntax.OpStar:
		class, maxLen = sub.Sub[0], 3
	case syntax.OpRepeat:
		class, maxLen = sub.Sub[0], sub.Max
		if maxLen < 0 {
			maxLen = sub.Min + 2
		}
	case syntax.OpConcat:
		// \d\d\d after simplification.
		for _, s := range sub.Sub {
			if !isDigitClass(s) {
				return 0
			}
		}
		return len(sub.Sub)
	default:
		if isDigitClass(sub) {
			return 1
		}
		return 0
	}
	if !isDigitClass(class) || maxLen <= 0 {
		return 0
	}
	if maxLen > 9 {
		maxLen = 9
	}
	return maxLen
}

func isDigitClass(re *syntax.Regexp) bool {
	return re.Op == syntax.OpCharClass && len(re.Rune) == 2 && re.Rune[0] == '0' && re.Rune[1] == '9'
}

// stringValue synthesizes a string: an enum or numbered ID range first,
// then the format, the example, the pattern, hints from the field name,
// and a word as the last resort.
func (sy *synth) stringValue(s *Schema, name string) any {
	secret := strings.EqualFold(s.Format, "password") || secretNameRE.MatchString(name)
	if prefix, lo, hi, ok := idRange(s); ok && !secret {
		if lo == hi {
			return prefix + strconv.FormatInt(lo, 10)
		}
		if sy.literalExamples && lo == 1 {
			// Credentials: each VU logs in as its own user (user1,
			// user2, ...), so VUs do not share carts or sessions.
			return prefix + "{{vu()}}"
		}
		return fmt.Sprintf("%s{{randomInt(%d,%d)}}", prefix, lo, hi)
	}
	ex, hasEx := firstExample(s)
	exStr, _ := ex.(string)
	if hasEx && sy.literalExamples {
		return safeLiteral(ex)
	}
	switch strings.ToLower(s.Format) {
	case "uuid", "guid":
		return "{{uuid()}}"
	case "email", "idn-email":
		return "{{email()}}"
	case "date-time", "datetime":
		return "{{now()}}"
	case "uri", "url", "iri", "uri-reference":
		return "https://example.com/{{word()}}"
	case "hostname", "idn-hostname":
		return "{{word()}}.example.com"
	case "ipv4":
		return "10.{{randomInt(0,255)}}.{{randomInt(0,255)}}.{{randomInt(1,254)}}"
	case "password":
		if hasEx {
			return safeLiteral(ex)
		}
		return "{{randomString(12)}}"
	case "date":
		if hasEx {
			return safeLiteral(ex)
		}
		return "2025-06-15"
	case "time":
		if hasEx {
			return safeLiteral(ex)
		}
		return "12:30:00"
	case "byte":
		if hasEx {
			return safeLiteral(ex)
		}
		return "aGVhZHJvb20="
	}
	if hasEx && exStr != "" {
		return exStr
	}
	if s.Pattern != "" {
		if v, ok := patternTemplate(s.Pattern, name); ok {
			return v
		}
	}
	v := guessByName(name)
	if str, ok := v.(string); ok && strings.HasPrefix(str, "{{") && !isStringTemplate(str) {
		// The name suggested a number (quantity) but the schema says
		// string: keep it a string.
		v = "{{word()}}"
	}
	str, _ := v.(string)
	if s.MaxLength != nil && *s.MaxLength < 8 && (str == "{{word()}}" || str == "") {
		n := *s.MaxLength
		if n <= 0 {
			return ""
		}
		return fmt.Sprintf("{{randomString(%d)}}", n)
	}
	if s.MinLength != nil && *s.MinLength > 8 && str == "{{word()}}" {
		n := *s.MinLength
		if n > 64 {
			n = 64
		}
		return fmt.Sprintf("{{randomString(%d)}}", n)
	}
	return v
}

// isStringTemplate reports whether a template always renders as a string.
func isStringTemplate(s string) bool {
	for _, fn := range []string{"randomInt(", "skewedInt(", "randomFloat(", "seq(", "vu(", "iter("} {
		if strings.HasPrefix(s, "{{"+fn) && strings.Count(s, "{{") == 1 && strings.HasSuffix(s, "}}") {
			return false
		}
	}
	return true
}

var (
	quantityNameRE = regexp.MustCompile(`(?i)(^|_|[a-z])(qty|quantity|count|amount|units|items|seats|guests|nights|pieces|copies|size|limit|page|per_?page|page_?size)$`)
	idNameRE       = regexp.MustCompile(`(?i)(^id$|_id$|[a-z]Id$|^uuid$|_uuid$|[a-z]Uuid$)`)
	yearNameRE     = regexp.MustCompile(`(?i)(^|_)year$|[a-z]Year$`)
	priceNameRE    = regexp.MustCompile(`(?i)(price|cost|total|amount|balance|fee|salary)$`)
	secretNameRE   = regexp.MustCompile(`(?i)(password|passwd|secret|token|api_?key|pin)$`)
)

// normName lower-cases a field name and turns camelCase into snake_case.
func normName(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		} else if r == '-' {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// guessByName picks a generator from a field's name alone.
func guessByName(name string) any {
	n := normName(name)
	has := func(words ...string) bool {
		for _, w := range words {
			if n == w || strings.HasSuffix(n, "_"+w) {
				return true
			}
		}
		return false
	}
	switch {
	case n == "":
		return "{{word()}}"
	case has("email", "mail", "email_address"):
		return "{{email()}}"
	case has("first_name", "firstname", "given_name"):
		return "{{firstName()}}"
	case has("last_name", "lastname", "surname", "family_name"):
		return "{{lastName()}}"
	case has("name", "full_name", "fullname", "display_name", "customer_name", "author"):
		return "{{name()}}"
	case has("username", "user_name", "login", "handle"):
		return "{{word()}}{{randomInt(1,9999)}}"
	case has("password", "passwd", "secret", "pin"):
		return "{{randomString(12)}}"
	case has("phone", "phone_number", "mobile", "tel"):
		return "+1555{{randomInt(1000000,9999999)}}"
	case has("url", "uri", "link", "website", "homepage", "avatar", "image", "photo", "photo_url", "image_url"):
		return "https://example.com/{{word()}}"
	case has("description", "comment", "comments", "note", "notes", "message", "text", "body", "bio", "content", "summary", "review"):
		return "{{word()}} {{word()}} {{word()}}"
	case has("title", "label", "tag", "category", "slug", "city", "street", "nickname"):
		return "{{word()}}"
	case has("created_at", "updated_at", "timestamp", "date_time", "time", "at"):
		return "{{now()}}"
	case has("currency"):
		return "{{pickWeighted(USD, 50, EUR, 30, GBP, 20)}}"
	case has("country", "country_code"):
		return "{{pickWeighted(US, 40, DE, 20, GB, 20, FR, 10, JP, 10)}}"
	case has("zip", "zipcode", "zip_code", "postal_code", "postcode"):
		return "{{randomInt(1,9)}}{{randomInt(1000,9999)}}"
	case idNameRE.MatchString(name):
		return "{{uuid()}}"
	case quantityNameRE.MatchString(name):
		return "{{skewedInt(1,10)}}"
	case priceNameRE.MatchString(name):
		return "{{randomFloat(1,200,2)}}"
	case has("age"):
		return "{{randomInt(18,80)}}"
	case yearNameRE.MatchString(name):
		return "{{randomInt(1950,2025)}}"
	case has("pages", "page_count"):
		return "{{skewedInt(50,900)}}"
	case has("enabled", "active", "verified", "confirmed", "accepted"):
		return true
	}
	return "{{word()}}"
}

// numberValue synthesizes an integer or a number within the schema's
// bounds: quantities skewed toward small values, identifiers uniform, and
// without bounds a range around the example.
func (sy *synth) numberValue(s *Schema, name string, integer bool) any {
	ex, hasEx := firstExample(s)
	exNum, exIsNum := ex.(float64)
	if i, ok := ex.(int64); ok {
		exNum, exIsNum = float64(i), true
	}
	if hasEx && exIsNum && sy.literalExamples {
		return safeLiteral(ex)
	}
	step := 0.0
	if s.MultipleOf != nil && *s.MultipleOf > 0 {
		step = *s.MultipleOf
	}
	if !integer && step >= 1 && step == math.Trunc(step) {
		integer = true
	}
	isID := idNameRE.MatchString(name) || yearNameRE.MatchString(name)
	isQty := quantityNameRE.MatchString(name)
	var lo, hi float64
	hasLo, hasHi := s.Minimum != nil, s.Maximum != nil
	if hasLo {
		lo = *s.Minimum
	}
	if hasHi {
		hi = *s.Maximum
	}
	unit := 1.0
	if !integer {
		unit = 0.01
	}
	if s.ExclusiveMinimum && hasLo {
		lo += unit
	}
	if s.ExclusiveMaximum && hasHi {
		hi -= unit
	}
	span := 99.0
	if isQty {
		span = 9
	}
	switch {
	case hasLo && hasHi:
	case hasLo:
		hi = lo + span
		if exIsNum && exNum > lo {
			hi = math.Max(lo+span, exNum*2)
		}
	case hasHi:
		lo = math.Min(1, hi)
		if isQty || isID {
			lo = math.Min(1, hi)
		}
	case exIsNum && isID:
		lo, hi = 1, math.Max(1, exNum)
	case exIsNum && exNum > 0:
		lo, hi = math.Max(1, math.Ceil(exNum/2)), exNum*2
		if !integer {
			lo = exNum / 2
		}
	case exIsNum:
		return exNum
	default:
		lo, hi = 1, 1+span
		if yearNameRE.MatchString(name) {
			lo, hi = 2000, 2025
		}
		if !integer && priceNameRE.MatchString(name) {
			lo, hi = 1, 200
		}
	}
	if integer {
		lo, hi = math.Ceil(lo), math.Floor(hi)
		if hi < lo {
			hi = lo
		}
		if lo == hi {
			return int64(lo)
		}
		fn := "skewedInt"
		if isID || (!isQty && hasLo && hasHi && lo > 1 && hi-lo < 10) {
			fn = "randomInt"
		}
		return fmt.Sprintf("{{%s(%s,%s)}}", fn, numfmt.Plain(lo), numfmt.Plain(hi))
	}
	if hi < lo {
		hi = lo
	}
	decimals := 2
	if step > 0 && step < 1 {
		decimals = int(math.Max(0, math.Ceil(-math.Log10(step)-1e-9)))
	}
	lo = roundTo(lo, decimals)
	hi = roundTo(hi, decimals)
	if lo == hi {
		return lo
	}
	return fmt.Sprintf("{{randomFloat(%s,%s,%d)}}", numfmt.Plain(lo), numfmt.Plain(hi), decimals)
}

func roundTo(f float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(f*p) / p
}

// patternTemplate writes a value matching a simple regular expression:
// literal parts as they are, runs of digits as randomInt templates (so each
// iteration sends a new value), other character classes as characters
// drawn once. It gives up (ok false) on patterns it cannot follow.
func patternTemplate(pattern, name string) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	h := fnv.New64a()
	_, _ = h.Write([]byte(name + "\x00" + pattern))
	g := &patternGen{rng: rand.New(rand.NewPCG(h.Sum64(), 7))}
	g.walk(re)
	if g.failed || g.b.Len() > 256 {
		return "", false
	}
	out := g.b.String()
	// A lone randomInt would be sent as a number; the field is a string.
	if t := strings.TrimSpace(out); strings.HasPrefix(t, "{{") && strings.HasSuffix(t, "}}") && strings.Count(t, "{{") == 1 {
		return strconv.Itoa(g.rng.IntN(9) + 1), true
	}
	return out, true
}

type patternGen struct {
	b      strings.Builder
	rng    *rand.Rand
	failed bool
}

func (g *patternGen) walk(re *syntax.Regexp) {
	if g.failed {
		return
	}
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
	case syntax.OpLiteral:
		s := string(re.Rune)
		if strings.Contains(s, "{") || strings.Contains(s, "}") {
			g.failed = true
			return
		}
		g.b.WriteString(s)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		g.b.WriteRune(g.classRune(re))
	case syntax.OpCapture:
		g.walk(re.Sub[0])
	case syntax.OpConcat:
		subs := re.Sub
		for i := 0; i < len(subs); i++ {
			// Consecutive single digits ([0-9][0-9][0-9], as \d{3}
			// simplifies to) form one number.
			if isDigitClass(subs[i]) {
				n := 1
				for i+n < len(subs) && isDigitClass(subs[i+n]) {
					n++
				}
				g.digits(n, true)
				i += n - 1
				continue
			}
			if d := isDigitRun(subs[i]); d > 0 && subs[i].Op != syntax.OpConcat {
				n := d
				fixed := subs[i].Op == syntax.OpRepeat && subs[i].Min == subs[i].Max
				if fixed {
					n = subs[i].Min
				}
				g.digits(n, fixed)
				continue
			}
			g.walk(subs[i])
		}
	case syntax.OpAlternate:
		g.walk(re.Sub[0])
	case syntax.OpStar:
		// Zero repetitions is the simplest match.
	case syntax.OpPlus:
		g.repeat(re.Sub[0], 1)
	case syntax.OpQuest:
	case syntax.OpRepeat:
		n := re.Min
		if n == 0 {
			n = 1
			if re.Max == 0 {
				n = 0
			}
		}
		if n > 32 {
			n = 32
		}
		g.repeat(re.Sub[0], n)
	default:
		g.failed = true
	}
}

func (g *patternGen) repeat(sub *syntax.Regexp, n int) {
	if isDigitClass(sub) {
		g.digits(n, true)
		return
	}
	for i := 0; i < n; i++ {
		g.walk(sub)
	}
}

// digits writes a run of n digits; fixed says whether exactly n are needed
// (else any number of digits up to n is fine).
func (g *patternGen) digits(n int, fixed bool) {
	switch {
	case n <= 0:
	case n == 1:
		g.b.WriteString("{{randomInt(0,9)}}")
	case !fixed:
		fmt.Fprintf(&g.b, "{{randomInt(1,%d)}}", int64(math.Pow10(n))-1)
	default:
		// A leading digit and the rest, so leading zeros are not lost.
		fmt.Fprintf(&g.b, "{{randomInt(1,9)}}{{randomInt(%d,%d)}}", int64(math.Pow10(n-2)), int64(math.Pow10(n-1))-1)
	}
}

// classRune draws a character of a class, preferring letters and digits.
func (g *patternGen) classRune(re *syntax.Regexp) rune {
	if re.Op != syntax.OpCharClass {
		return 'x'
	}
	var nice, any []rune
	for i := 0; i+1 < len(re.Rune); i += 2 {
		lo, hi := re.Rune[i], re.Rune[i+1]
		if hi-lo > 256 {
			hi = lo + 256
		}
		for r := lo; r <= hi; r++ {
			if r < 0x20 || r == 0x7f {
				continue
			}
			if r == '{' || r == '}' {
				continue
			}
			any = append(any, r)
			if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				nice = append(nice, r)
			}
		}
	}
	if len(nice) > 0 {
		return nice[g.rng.IntN(len(nice))]
	}
	if len(any) > 0 {
		return any[g.rng.IntN(len(any))]
	}
	g.failed = true
	return 'x'
}

// singular turns a plural resource name into its singular: orders → order,
// categories → category, addresses → address.
func singular(s string) string {
	l := strings.ToLower(s)
	switch {
	case strings.HasSuffix(l, "ies") && len(s) > 4:
		return s[:len(s)-3] + "y"
	case strings.HasSuffix(l, "sses") || strings.HasSuffix(l, "shes") || strings.HasSuffix(l, "ches") || strings.HasSuffix(l, "xes"):
		return s[:len(s)-2]
	case strings.HasSuffix(l, "ss") || strings.HasSuffix(l, "us") || strings.HasSuffix(l, "is"):
		return s
	case strings.HasSuffix(l, "s") && len(s) > 2:
		return s[:len(s)-1]
	}
	return s
}

// MergeAllOf folds one allOf member into s: its properties (first
// definition wins), required fields, and what s lacks.
func (s *Schema) MergeAllOf(part *Schema) {
	if part == nil || part.Recursive {
		return
	}
	have := map[string]int{}
	for i, p := range s.Properties {
		have[p.Name] = i
	}
	for _, p := range part.Properties {
		if i, ok := have[p.Name]; ok {
			s.Properties[i].Required = s.Properties[i].Required || p.Required
			continue
		}
		have[p.Name] = len(s.Properties)
		s.Properties = append(s.Properties, p)
	}
	if s.Type == "" {
		s.Type = part.Type
	}
	if s.Format == "" {
		s.Format = part.Format
	}
	if len(s.Enum) == 0 {
		s.Enum = part.Enum
	}
	if s.Items == nil {
		s.Items = part.Items
	}
	if s.Minimum == nil {
		s.Minimum, s.ExclusiveMinimum = part.Minimum, part.ExclusiveMinimum
	}
	if s.Maximum == nil {
		s.Maximum, s.ExclusiveMaximum = part.Maximum, part.ExclusiveMaximum
	}
	if s.Pattern == "" {
		s.Pattern = part.Pattern
	}
	s.Examples = append(s.Examples, part.Examples...)
	if s.Default == nil {
		s.Default = part.Default
	}
	if s.Description == "" {
		s.Description = part.Description
	}
}

// ScalarAlternatives reads a oneOf of constants (or enums) as one enum.
func ScalarAlternatives(alts []*Schema) ([]any, bool) {
	var out []any
	for _, a := range alts {
		if a == nil || len(a.Enum) == 0 || a.IsObject() || a.Type == "array" {
			return nil, false
		}
		out = append(out, a.Enum...)
	}
	return out, true
}

// IsIDName reports whether a field name reads as an identifier (id,
// user_id, orderId, uuid).
func IsIDName(name string) bool { return idNameRE.MatchString(name) }
