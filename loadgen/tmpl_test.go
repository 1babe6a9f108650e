package loadgen

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// testVU is a VU of a runner that only has what template evaluation needs.
func testVU(runID string, base map[string]any) *vu {
	r := &Runner{cfg: Config{RunID: runID}, baseVars: base}
	return r.newVU(nil)
}

func mustTmpl(t *testing.T, s string, seqs *tmplContext) *tmpl {
	t.Helper()
	if seqs == nil {
		seqs = &tmplContext{}
	}
	tm, err := compileTemplate(s, seqs)
	if err != nil {
		t.Fatalf("compileTemplate(%q): %v", s, err)
	}
	return tm
}

func TestTemplatesRenderVariablesAndFunctions(t *testing.T) {
	v := testVU("run", map[string]any{"region": "eu"})
	v.setVar("order", map[string]any{"id": json.Number("12345678901234567"), "lines": []any{map[string]any{"sku": "A-1"}}})
	cases := []struct {
		name, in string
		match    string
	}{
		{"a literal stays as it is", "/api/products", `^/api/products$`},
		{"a scenario variable is substituted", "/{{region}}/x", `^/eu/x$`},
		{"a dotted name walks into a captured object", "/orders/{{order.id}}", `^/orders/12345678901234567$`},
		{"randomInt stays in its bounds", "{{randomInt(3, 3)}}", `^3$`},
		{"uuid is a version 4 UUID", "{{uuid()}}", `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
		{"vu is the VU number", "vu-{{vu()}}", `^vu-1$`},
		{"iter starts at 0", "{{iter()}}", `^0$`},
		{"email looks like an address", "{{email()}}", `^[a-z]+\.[a-z]+[0-9]+@example\.com$`},
		{"name is a first and a last name", "{{name()}}", `^[A-Z][a-z]+ [A-Z][a-z]+$`},
		{"randomString has the asked length", "{{randomString(12)}}", `^[A-Za-z0-9]{12}$`},
		{"randomFloat rounds to its decimals", "{{randomFloat(1, 2, 2)}}", `^[12](\.[0-9]{1,2})?$`},
		{"now is RFC 3339", "{{now()}}", `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`},
		{"pick returns one of its arguments", "{{pick('a', 'b')}}", `^[ab]$`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := mustTmpl(t, c.in, nil).string(v)
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(c.match).MatchString(got) {
				t.Errorf("%q rendered %q, want a match of %s", c.in, got, c.match)
			}
		})
	}
}

func TestAMissingVariableIsAnErrorNamingIt(t *testing.T) {
	_, err := mustTmpl(t, "/orders/{{orderId}}", nil).string(testVU("run", nil))
	if err == nil || err.Error() != "missing variable orderId" {
		t.Errorf("err %v, want missing variable orderId", err)
	}
}

func TestSeqIsOneRunWideSequence(t *testing.T) {
	seqs := &tmplContext{}
	a, b := testVU("run", nil), testVU("run", nil)
	t1 := mustTmpl(t, "{{seq()}}", seqs)
	t2 := mustTmpl(t, "id-{{seq()}}", seqs)
	t3 := mustTmpl(t, "{{seq(100)}}", seqs)
	var got []string
	for _, p := range []struct {
		t *tmpl
		v *vu
	}{{t1, a}, {t2, b}, {t1, b}, {t3, a}, {t3, b}} {
		s, err := p.t.string(p.v)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if want := "1 id-2 3 100 101"; strings.Join(got, " ") != want {
		t.Errorf("sequence %v, want %s", got, want)
	}
}

func TestRandomValuesAreRepeatablePerRunAndVU(t *testing.T) {
	tm := mustTmpl(t, "{{randomInt(1, 1000000)}}-{{uuid()}}", nil)
	draw := func(runID string) string {
		v := testVU(runID, nil)
		s, _ := tm.string(v)
		return s
	}
	if a, b := draw("run-a"), draw("run-a"); a != b {
		t.Errorf("the same run id and VU drew %q and %q", a, b)
	}
	if a, b := draw("run-a"), draw("run-b"); a == b {
		t.Errorf("different run ids drew the same %q", a)
	}
}

func TestDistributionsHaveTheirShape(t *testing.T) {
	v := testVU("dist", nil)
	const n = 20000
	skewed := mustTmpl(t, "{{skewedInt(1, 100)}}", nil)
	weighted := mustTmpl(t, "{{pickWeighted('a', 3, 'b', 1, 'never', 0)}}", nil)
	uniform := mustTmpl(t, "{{randomInt(1, 10)}}", nil)
	low, counts := 0, map[string]int{}
	seen := map[int64]bool{}
	for i := 0; i < n; i++ {
		x, _ := skewed.value(v)
		k := x.(int64)
		if k < 1 || k > 100 {
			t.Fatalf("skewedInt(1, 100) gave %d", k)
		}
		if k <= 25 {
			low++
		}
		w, _ := weighted.string(v)
		counts[w]++
		u, _ := uniform.value(v)
		seen[u.(int64)] = true
	}
	// u² ≤ 0.25 for half of the draws: about half fall in the lowest quarter.
	if f := float64(low) / n; f < 0.45 || f > 0.55 {
		t.Errorf("skewedInt put %.2f of draws in the lowest quarter, want about 0.5", f)
	}
	if counts["never"] != 0 {
		t.Errorf("a value of weight 0 was picked %d times", counts["never"])
	}
	if f := float64(counts["a"]) / n; f < 0.72 || f > 0.78 {
		t.Errorf("weight 3 of 4 was picked %.3f of the time", f)
	}
	if len(seen) != 10 {
		t.Errorf("randomInt(1, 10) produced %d distinct values, want 10", len(seen))
	}
}

func TestABodyTemplateKeepsTheJSONTypeOfASingleExpression(t *testing.T) {
	v := testVU("body", nil)
	v.setVar("id", json.Number("12345678901234567"))
	v.setVar("tags", []any{"a", "b"})
	body := map[string]any{
		"qty":     "{{randomInt(5, 5)}}",
		"label":   "qty {{randomInt(5, 5)}}",
		"id":      "{{id}}",
		"tags":    "{{tags}}",
		"static":  map[string]any{"x": 1, "y": []any{true, nil}},
		"items":   []any{map[string]any{"sku": "{{pick('s\"1')}}"}},
		"price":   "{{randomFloat(2.5, 2.5)}}",
		"literal": "no templates",
	}
	n, err := compileBody(body, &tmplContext{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.appendTo(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":12345678901234567,"items":[{"sku":"s\"1"}],"label":"qty 5","literal":"no templates","price":2.5,"qty":5,"static":{"x":1,"y":[true,null]},"tags":["a","b"]}`
	if string(b) != want {
		t.Errorf("body\n got %s\nwant %s", b, want)
	}
	if !json.Valid(b) {
		t.Errorf("body is not valid JSON: %s", b)
	}
	text, err := compileBody(`{"raw": {{randomInt(7, 7)}}}`, &tmplContext{})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := text.appendTo(nil, v); string(b) != `{"raw": 7}` {
		t.Errorf("a string body is sent as text; got %s", b)
	}
}

func TestJSONPathsFindValues(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"a":{"b":[{"c":1},{"c":"two"}]},"odd key":true,"n":12345678901234567}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"$.a.b[0].c":    "1",
		"a.b[1].c":      "two",
		`$["odd key"]`:  "true",
		"$.n":           "12345678901234567",
		"$.a.b[2].c":    "<missing>",
		"$.a.x":         "<missing>",
		"$.a.b.c":       "<missing>",
		"$.a.b[0].c.d":  "<missing>",
		"$.a.b[0]['c']": "1",
	}
	for path, want := range cases {
		p, err := compileJSONPath(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		got := "<missing>"
		if v, ok := p.lookup(doc); ok {
			got = string(appendText(nil, v))
		}
		if got != want {
			t.Errorf("%s = %s, want %s", path, got, want)
		}
	}
}

func TestThinkTimesFollowTheirDistribution(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ms := func(d time.Duration) model.Duration { return model.Duration(d * time.Millisecond) }
	const n = 10000
	mean := func(th model.Think) (float64, time.Duration, time.Duration) {
		var sum, lo, hi time.Duration
		lo = time.Hour
		for i := 0; i < n; i++ {
			d := sampleThink(&th, rng)
			sum += d
			lo, hi = min(lo, d), max(hi, d)
		}
		return float64(sum/n) / float64(time.Millisecond), lo, hi
	}
	if m, lo, hi := mean(model.Think{Distribution: model.ThinkConstant, Duration: ms(100)}); m != 100 || lo != hi {
		t.Errorf("constant: mean %.1fms, range %v…%v", m, lo, hi)
	}
	if m, lo, hi := mean(model.Think{Distribution: model.ThinkUniform, Min: ms(50), Max: ms(150)}); m < 97 || m > 103 || lo < 50*time.Millisecond || hi > 150*time.Millisecond {
		t.Errorf("uniform 50…150ms: mean %.1fms, range %v…%v", m, lo, hi)
	}
	if m, _, _ := mean(model.Think{Distribution: model.ThinkExponential, Duration: ms(100)}); m < 95 || m > 105 {
		t.Errorf("exponential mean 100ms: mean %.1fms", m)
	}
	if _, lo, _ := mean(model.Think{Distribution: model.ThinkNormal, Duration: ms(10), StdDev: ms(20)}); lo < 0 {
		t.Errorf("normal clamps at 0, got %v", lo)
	}
}
