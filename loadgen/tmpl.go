package loadgen

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// Template function identifiers, so evaluation switches on an int.
const (
	fnNone = iota
	fnRandomInt
	fnSkewedInt
	fnRandomFloat
	fnPick
	fnPickWeighted
	fnUUID
	fnSeq
	fnVU
	fnIter
	fnFirstName
	fnLastName
	fnName
	fnEmail
	fnWord
	fnRandomString
	fnNow
)

var funcIDs = map[string]int{
	"randomInt":    fnRandomInt,
	"skewedInt":    fnSkewedInt,
	"randomFloat":  fnRandomFloat,
	"pick":         fnPick,
	"pickWeighted": fnPickWeighted,
	"uuid":         fnUUID,
	"seq":          fnSeq,
	"vu":           fnVU,
	"iter":         fnIter,
	"firstName":    fnFirstName,
	"lastName":     fnLastName,
	"name":         fnName,
	"email":        fnEmail,
	"word":         fnWord,
	"randomString": fnRandomString,
	"now":          fnNow,
}

// tmpl is a template parsed once when the runner is built and evaluated per
// request. Literal templates cost nothing to evaluate.
type tmpl struct {
	raw     string
	literal bool
	parts   []tpart
}

// tpart is one parsed part with what evaluation needs precomputed.
type tpart struct {
	model.TemplatePart
	fn int
	// lo and hi are the numeric bounds of randomInt, skewedInt and randomFloat.
	lo, hi float64
	// decimals is randomFloat's rounding; -1 means none.
	decimals int
	// cum holds pickWeighted's cumulative weights.
	cum []float64
	// seq is the run-wide counter of seq().
	seq   *atomic.Int64
	start int64
}

// tmplContext is what templates are compiled against: one run-wide counter
// per seq() start value, and the source of env() and file().
type tmplContext struct {
	secrets Secrets

	mu sync.Mutex
	m  map[int64]*atomic.Int64
}

func (s *tmplContext) get(start int64) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[int64]*atomic.Int64{}
	}
	c, ok := s.m[start]
	if !ok {
		c = new(atomic.Int64)
		s.m[start] = c
	}
	return c
}

func compileTemplate(s string, seqs *tmplContext) (*tmpl, error) {
	t, err := model.ParseTemplate(s)
	if err != nil {
		return nil, err
	}
	out := &tmpl{raw: s, literal: t.IsLiteral()}
	for _, p := range t.Parts {
		tp := tpart{TemplatePart: p, decimals: -1}
		if model.SecretFuncs[p.Func] {
			// A secret is read once, now, and is a literal from then on.
			v, err := seqs.secrets.secret(s, p)
			if err != nil {
				return nil, err
			}
			tp = tpart{TemplatePart: model.TemplatePart{Literal: v}, decimals: -1}
		} else if p.Func != "" {
			tp.fn = funcIDs[p.Func]
			if tp.fn == fnNone {
				return nil, fmt.Errorf("template %q: function %q is not implemented", s, p.Func)
			}
			switch tp.fn {
			case fnRandomInt, fnSkewedInt, fnRandomFloat:
				tp.lo, _ = numArg(p.Args[0])
				tp.hi, _ = numArg(p.Args[1])
				if tp.fn == fnRandomFloat && len(p.Args) == 3 {
					d, ok := p.Args[2].(int64)
					if !ok || d < 0 || d > 15 {
						return nil, fmt.Errorf("template %q: randomFloat's decimals must be an integer from 0 to 15", s)
					}
					tp.decimals = int(d)
				}
			case fnPickWeighted:
				total := 0.0
				for i := 1; i < len(p.Args); i += 2 {
					w, _ := numArg(p.Args[i])
					total += w
					tp.cum = append(tp.cum, total)
				}
				if total <= 0 {
					return nil, fmt.Errorf("template %q: pickWeighted needs a positive weight", s)
				}
			case fnSeq:
				if len(p.Args) == 1 {
					tp.start = p.Args[0].(int64)
				} else {
					tp.start = 1
				}
				tp.seq = seqs.get(tp.start)
			case fnRandomString:
				if n := p.Args[0].(int64); n < 0 || n > 1<<20 {
					return nil, fmt.Errorf("template %q: randomString length must be from 0 to 1048576", s)
				}
			}
		}
		out.parts = append(out.parts, tp)
	}
	if !out.literal {
		// A template of text and secrets only is a literal.
		var b strings.Builder
		literal := true
		for _, p := range out.parts {
			if p.Var != "" || p.fn != fnNone {
				literal = false
				break
			}
			b.WriteString(p.Literal)
		}
		if literal {
			out.raw, out.literal = b.String(), true
		}
	}
	return out, nil
}

func numArg(a any) (float64, bool) {
	switch x := a.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// single returns the only expression of a template that is exactly one
// expression.
func (t *tmpl) single() (*tpart, bool) {
	if len(t.parts) == 1 && (t.parts[0].Var != "" || t.parts[0].fn != fnNone) {
		return &t.parts[0], true
	}
	return nil, false
}

// missingVarError is the error of a template that refers to a variable the
// VU does not have (a capture that failed, a typo).
type missingVarError struct{ name string }

func (e *missingVarError) Error() string { return "missing variable " + e.name }

// appendTo appends the evaluated template to buf.
func (t *tmpl) appendTo(buf []byte, v *vu) ([]byte, error) {
	if t.literal {
		return append(buf, t.raw...), nil
	}
	for i := range t.parts {
		p := &t.parts[i]
		if p.Var == "" && p.fn == fnNone {
			buf = append(buf, p.Literal...)
			continue
		}
		val, err := p.eval(v)
		if err != nil {
			return buf, err
		}
		buf = appendText(buf, val)
	}
	return buf, nil
}

// string evaluates the template to a string.
func (t *tmpl) string(v *vu) (string, error) {
	if t.literal {
		return t.raw, nil
	}
	if p, ok := t.single(); ok {
		val, err := p.eval(v)
		if err != nil {
			return "", err
		}
		if s, ok := val.(string); ok {
			return s, nil
		}
		return string(appendText(nil, val)), nil
	}
	b, err := t.appendTo(make([]byte, 0, len(t.raw)+16), v)
	return string(b), err
}

// value evaluates the template keeping the JSON type of a template that is
// exactly one expression.
func (t *tmpl) value(v *vu) (any, error) {
	if p, ok := t.single(); ok {
		return p.eval(v)
	}
	return t.string(v)
}

// appendText formats a value as text: strings as they are, numbers in their
// shortest form, anything else as JSON.
func appendText(buf []byte, val any) []byte {
	switch x := val.(type) {
	case string:
		return append(buf, x...)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case int:
		return strconv.AppendInt(buf, int64(x), 10)
	case float64:
		return appendFloat(buf, x)
	case json.Number:
		return append(buf, x...)
	case bool:
		return strconv.AppendBool(buf, x)
	case nil:
		return append(buf, "null"...)
	}
	b, err := json.Marshal(val)
	if err != nil {
		return append(buf, fmt.Sprint(val)...)
	}
	return append(buf, b...)
}

func appendFloat(buf []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(buf, "null"...)
	}
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}

// appendJSON appends val encoded as JSON.
func appendJSON(buf []byte, val any) []byte {
	switch x := val.(type) {
	case string:
		return appendJSONString(buf, x)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case int:
		return strconv.AppendInt(buf, int64(x), 10)
	case float64:
		return appendFloat(buf, x)
	case json.Number:
		return append(buf, x...)
	case bool:
		return strconv.AppendBool(buf, x)
	case nil:
		return append(buf, "null"...)
	}
	b, err := json.Marshal(val)
	if err != nil {
		return append(buf, "null"...)
	}
	return append(buf, b...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// eval computes one expression for a VU.
func (p *tpart) eval(v *vu) (any, error) {
	if p.Var != "" {
		val, ok := v.lookup(p.Var)
		if !ok {
			return nil, &missingVarError{name: p.Var}
		}
		return val, nil
	}
	rng := v.rng
	switch p.fn {
	case fnRandomInt:
		lo, hi := int64(math.Ceil(p.lo)), int64(math.Floor(p.hi))
		if hi < lo {
			return lo, nil
		}
		return lo + rng.Int64N(hi-lo+1), nil
	case fnSkewedInt:
		// Squaring a uniform draw puts more weight on small values: about
		// half of the draws fall in the lowest quarter of the range, which
		// is how quantities and page numbers are usually spread.
		lo, hi := int64(math.Ceil(p.lo)), int64(math.Floor(p.hi))
		if hi < lo {
			return lo, nil
		}
		u := rng.Float64()
		n := lo + int64(u*u*float64(hi-lo+1))
		if n > hi {
			n = hi
		}
		return n, nil
	case fnRandomFloat:
		f := p.lo + rng.Float64()*(p.hi-p.lo)
		if p.decimals >= 0 {
			pow := math.Pow(10, float64(p.decimals))
			f = math.Round(f*pow) / pow
		}
		return f, nil
	case fnPick:
		return p.Args[rng.IntN(len(p.Args))], nil
	case fnPickWeighted:
		x := rng.Float64() * p.cum[len(p.cum)-1]
		for i, c := range p.cum {
			if x < c {
				return p.Args[2*i], nil
			}
		}
		return p.Args[len(p.Args)-2], nil
	case fnUUID:
		return uuidV4(rng.Uint64(), rng.Uint64()), nil
	case fnSeq:
		return p.start + p.seq.Add(1) - 1, nil
	case fnVU:
		return v.id, nil
	case fnIter:
		return v.iter, nil
	case fnFirstName:
		return firstNames[rng.IntN(len(firstNames))], nil
	case fnLastName:
		return lastNames[rng.IntN(len(lastNames))], nil
	case fnName:
		return firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))], nil
	case fnEmail:
		f := strings.ToLower(firstNames[rng.IntN(len(firstNames))])
		l := strings.ToLower(lastNames[rng.IntN(len(lastNames))])
		return f + "." + l + strconv.Itoa(rng.IntN(100000)) + "@example.com", nil
	case fnWord:
		return words[rng.IntN(len(words))], nil
	case fnRandomString:
		n := int(p.Args[0].(int64))
		b := make([]byte, n)
		for i := range b {
			b[i] = alnum[rng.IntN(len(alnum))]
		}
		return string(b), nil
	case fnNow:
		return time.Now().UTC().Format(time.RFC3339Nano), nil
	}
	return nil, fmt.Errorf("unknown template function %q", p.Func)
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// uuidV4 formats 128 random bits as an RFC 4122 version 4 UUID.
func uuidV4(hi, lo uint64) string {
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j] = hexDigits[c>>4]
		out[j+1] = hexDigits[c&0xf]
		j += 2
	}
	return string(out[:])
}

var firstNames = []string{
	"Ada", "Alan", "Amara", "Ana", "Arjun", "Ben", "Carla", "Chen", "Dara", "David",
	"Elena", "Emma", "Farah", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jada", "James",
	"Kai", "Karin", "Leo", "Lina", "Luca", "Maya", "Mei", "Mohamed", "Nadia", "Noah",
	"Olga", "Omar", "Priya", "Quinn", "Rafael", "Rosa", "Sam", "Sara", "Tomas", "Uma",
	"Victor", "Wen", "Yara", "Yusuf", "Zoe",
}

var lastNames = []string{
	"Adams", "Alvarez", "Bauer", "Brown", "Chen", "Costa", "Dubois", "Eriksson", "Fischer", "Garcia",
	"Gupta", "Hansen", "Ivanova", "Jensen", "Kim", "Kowalski", "Lee", "Lopez", "Martin", "Meyer",
	"Nakamura", "Novak", "Okafor", "Olsen", "Patel", "Rossi", "Santos", "Schmidt", "Silva", "Smith",
	"Tanaka", "Taylor", "Nguyen", "Walker", "Wang", "Weber", "Williams", "Yilmaz", "Zhang", "Ziegler",
}

var words = []string{
	"amber", "anchor", "apple", "arrow", "basil", "beacon", "birch", "breeze", "canyon", "cedar",
	"cobalt", "comet", "coral", "crystal", "delta", "dune", "ember", "falcon", "fern", "forest",
	"galaxy", "garnet", "glacier", "harbor", "hazel", "horizon", "iris", "island", "jade", "juniper",
	"lagoon", "lantern", "maple", "meadow", "meteor", "mint", "nebula", "ocean", "olive", "onyx",
	"orbit", "pebble", "pine", "prairie", "quartz", "raven", "river", "saffron", "sierra", "spruce",
	"summit", "tide", "timber", "topaz", "tundra", "valley", "velvet", "willow", "zephyr", "zinc",
}
