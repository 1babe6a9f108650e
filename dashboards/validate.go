package dashboards

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/headroom-sh/headroom/model"
)

// ValidateOptions says what a dashboard may refer to.
type ValidateOptions struct {
	// Datasources are the datasource uids panels may name directly, besides
	// a datasource template variable and Grafana's built-in ones (default:
	// DatasourceUID, the provisioned one).
	Datasources []string
}

// Grafana's built-in datasources, which every Grafana has.
var builtinDatasources = map[string]string{
	grafanaDatasourceUID: "grafana",
	"grafana":            "grafana",
	"-- Mixed --":        "mixed",
	"-- Dashboard --":    "dashboard",
}

// variableRef matches a template variable in Grafana's three syntaxes:
// $name, ${name} or ${name:format}, and [[name]] or [[name:format]].
var variableRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]|\$([A-Za-z0-9_]+)`)

// variableNames returns the names of the template variables s refers to.
func variableNames(s string) []string {
	var out []string
	for _, m := range variableRef.FindAllStringSubmatch(s, -1) {
		for _, g := range m[1:] {
			if g != "" {
				out = append(out, g)
			}
		}
	}
	return out
}

// builtinVariable reports whether name is one of Grafana's global
// variables ($__rate_interval, $__range, $__from, …), which all start with
// two underscores, or the legacy $timeFilter.
func builtinVariable(name string) bool {
	return strings.HasPrefix(name, "__") || name == "timeFilter"
}

// Validate checks a dashboard's JSON structurally, as Grafana would need it
// to work: it has a title; panel ids are unique and panels fit the 24-column
// grid; every panel, target, annotation and variable names a datasource
// that exists (one of opts.Datasources, a Grafana built-in, or a template
// variable of type datasource); every $variable used in a query, legend or
// title is defined; and every PromQL expression — targets, annotations,
// and the label_values(…)/query_result(…) of variables — parses with
// promql/parser once variables are replaced by plausible values
// ($__rate_interval → 1m, a query variable → x).
//
// The JSON may be the dashboard itself or the API's {"dashboard": …}
// wrapper. All problems are returned together as model.ValidationErrors.
func Validate(js []byte, opts ValidateOptions) error {
	var top map[string]any
	if err := json.Unmarshal(js, &top); err != nil {
		return model.ValidationErrors{{Msg: fmt.Sprintf("not a dashboard: %v", err)}}
	}
	if inner, ok := top["dashboard"].(map[string]any); ok {
		top = inner
	}
	v := &validator{known: map[string]bool{}, vars: map[string]variable{}}
	if len(opts.Datasources) == 0 {
		opts.Datasources = []string{DatasourceUID}
	}
	for _, uid := range opts.Datasources {
		v.known[uid] = true
	}
	v.dashboard(top)
	if len(v.errs) > 0 {
		return v.errs
	}
	return nil
}

// variable is a template variable as far as validation cares.
type variable struct {
	kind string
	// plugin is the datasource type of a datasource variable.
	plugin string
	// value is a plausible value to put in its place.
	value string
}

type validator struct {
	known map[string]bool
	vars  map[string]variable
	errs  model.ValidationErrors
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, model.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) dashboard(d map[string]any) {
	if s, _ := d["title"].(string); strings.TrimSpace(s) == "" {
		v.add("title", "missing: a dashboard needs a title")
	}
	if uid, _ := d["uid"].(string); len(uid) > 40 {
		v.add("uid", "%q is longer than Grafana's 40 characters", uid)
	}
	// Variables first: everything else refers to them.
	list := listAt(d, "templating", "list")
	for i, raw := range list {
		path := fmt.Sprintf("templating.list[%d]", i)
		tv, ok := raw.(map[string]any)
		if !ok {
			v.add(path, "expected an object")
			continue
		}
		name, _ := tv["name"].(string)
		kind, _ := tv["type"].(string)
		switch {
		case name == "":
			v.add(path+".name", "missing: a variable needs a name")
			continue
		case builtinVariable(name):
			v.add(path+".name", "%q is a Grafana global variable's name", name)
		}
		if _, dup := v.vars[name]; dup {
			v.add(path+".name", "variable %q is defined twice", name)
		}
		nv := variable{kind: kind, value: "x"}
		if kind == "datasource" {
			nv.plugin, _ = tv["query"].(string)
		}
		if cur := currentValue(tv); cur != "" && kind != "query" && kind != "datasource" {
			nv.value = cur
		}
		v.vars[name] = nv
	}
	for i, raw := range list {
		tv, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		v.variable(fmt.Sprintf("templating.list[%d]", i), tv)
	}
	for i, raw := range listAt(d, "annotations", "list") {
		path := fmt.Sprintf("annotations.list[%d]", i)
		a, ok := raw.(map[string]any)
		if !ok {
			v.add(path, "expected an object")
			continue
		}
		if b, _ := a["builtIn"].(float64); b == 1 {
			continue
		}
		typ := v.datasource(path+".datasource", a["datasource"], true)
		for _, f := range []string{"expr", "titleFormat", "textFormat"} {
			if s, ok := a[f].(string); ok {
				v.refs(path+"."+f, s)
			}
		}
		if expr, ok := a["expr"].(string); ok && typ == DatasourceType {
			v.promql(path+".expr", expr)
		}
	}
	ids := map[float64]string{}
	v.panels("panels", d["panels"], ids)
}

// panels checks a list of panels, rows' nested panels included.
func (v *validator) panels(path string, raw any, ids map[float64]string) {
	list, _ := raw.([]any)
	for i, rp := range list {
		pp := fmt.Sprintf("%s[%d]", path, i)
		p, ok := rp.(map[string]any)
		if !ok {
			v.add(pp, "expected an object")
			continue
		}
		title, _ := p["title"].(string)
		v.refs(pp+".title", title)
		if id, ok := p["id"].(float64); ok {
			if other, dup := ids[id]; dup {
				v.add(pp+".id", "panel id %v of %q is also the id of %q", id, title, other)
			}
			ids[id] = title
		} else {
			v.add(pp+".id", "panel %q has no id", title)
		}
		if gp, ok := p["gridPos"].(map[string]any); ok {
			x, _ := gp["x"].(float64)
			w, _ := gp["w"].(float64)
			if w <= 0 || x < 0 || x+w > 24 {
				v.add(pp+".gridPos", "panel %q spans columns %v to %v; the grid has 24", title, x, x+w)
			}
		}
		if typ, _ := p["type"].(string); typ == "row" {
			v.panels(pp+".panels", p["panels"], ids)
			continue
		}
		targets, _ := p["targets"].([]any)
		panelType := ""
		if p["datasource"] != nil || len(targets) > 0 {
			panelType = v.datasource(pp+".datasource", p["datasource"], len(targets) == 0 || p["datasource"] != nil)
		}
		for j, rt := range targets {
			tp := fmt.Sprintf("%s.targets[%d]", pp, j)
			t, ok := rt.(map[string]any)
			if !ok {
				v.add(tp, "expected an object")
				continue
			}
			typ := panelType
			if t["datasource"] != nil {
				typ = v.datasource(tp+".datasource", t["datasource"], true)
			} else if p["datasource"] == nil {
				v.add(tp+".datasource", "panel %q: neither the target nor the panel names a datasource; expected {\"type\": \"prometheus\", \"uid\": \"${datasource}\"}", title)
			}
			for _, f := range []string{"expr", "legendFormat"} {
				if s, ok := t[f].(string); ok {
					v.refs(tp+"."+f, s)
				}
			}
			if typ != DatasourceType {
				continue
			}
			expr, _ := t["expr"].(string)
			if strings.TrimSpace(expr) == "" {
				v.add(tp+".expr", "panel %q: a Prometheus target without an expression", title)
				continue
			}
			v.promql(tp+".expr", expr)
		}
	}
}

// variable checks one template variable's datasource and query.
func (v *validator) variable(path string, tv map[string]any) {
	kind, _ := tv["type"].(string)
	if kind != "query" {
		return
	}
	typ := v.datasource(path+".datasource", tv["datasource"], true)
	q := tv["query"]
	if m, ok := q.(map[string]any); ok {
		q = m["query"]
	}
	s, _ := q.(string)
	if strings.TrimSpace(s) == "" {
		v.add(path+".query", "missing: a query variable needs a query")
		return
	}
	v.refs(path+".query", s)
	if typ == DatasourceType {
		v.variableQuery(path+".query", s)
	}
}

// Grafana's Prometheus variable queries.
var (
	labelValuesQuery = regexp.MustCompile(`^label_values\((?:(.+),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)\s*$`)
	labelNamesQuery  = regexp.MustCompile(`^label_names\((.*)\)\s*$`)
	metricsQuery     = regexp.MustCompile(`^metrics\((.+)\)\s*$`)
	queryResultQuery = regexp.MustCompile(`^query_result\((.+)\)\s*$`)
)

// variableQuery checks a Prometheus variable query: the series selector of
// label_values(…) and label_names(…), or the expression of query_result(…).
func (v *validator) variableQuery(path, q string) {
	q = strings.TrimSpace(q)
	switch {
	case labelValuesQuery.MatchString(q):
		if sel := labelValuesQuery.FindStringSubmatch(q)[1]; sel != "" {
			v.selector(path, sel)
		}
	case labelNamesQuery.MatchString(q):
		if sel := strings.TrimSpace(labelNamesQuery.FindStringSubmatch(q)[1]); sel != "" {
			v.selector(path, sel)
		}
	case metricsQuery.MatchString(q):
		if _, err := regexp.Compile(v.substitute(metricsQuery.FindStringSubmatch(q)[1])); err != nil {
			v.add(path, "metrics(…) takes a regular expression: %v", err)
		}
	case queryResultQuery.MatchString(q):
		v.promql(path, queryResultQuery.FindStringSubmatch(q)[1])
	default:
		v.add(path, "%q is not a Prometheus variable query: expected label_values(…), label_names(…), metrics(…) or query_result(…)", q)
	}
}

// selector checks a series selector inside a variable query.
func (v *validator) selector(path, sel string) {
	e, err := promParser.ParseExpr(v.substitute(sel))
	if err != nil {
		v.add(path, "%s: %v", sel, err)
		return
	}
	if _, ok := e.(*parser.VectorSelector); !ok {
		v.add(path, "%s: expected a series selector such as up{job=\"x\"}", sel)
	}
}

// datasource checks a datasource reference and returns its type ("" when
// unknown). required says whether a missing reference is a problem.
func (v *validator) datasource(path string, raw any, required bool) string {
	switch ref := raw.(type) {
	case nil:
		if required {
			v.add(path, "missing: expected {\"type\": \"prometheus\", \"uid\": \"${datasource}\"}")
		}
		return ""
	case string:
		if names := variableNames(ref); len(names) == 1 {
			return v.datasourceVar(path, names[0])
		}
		v.add(path, "datasource %q is named by a string; expected {\"type\": …, \"uid\": …} with a uid that exists", ref)
		return ""
	case map[string]any:
		uid, _ := ref["uid"].(string)
		typ, _ := ref["type"].(string)
		if names := variableNames(uid); len(names) == 1 {
			vt := v.datasourceVar(path+".uid", names[0])
			if typ != "" && vt != "" && typ != vt {
				v.add(path+".type", "type %q but variable $%s lists %s datasources", typ, names[0], vt)
			}
			if typ == "" {
				typ = vt
			}
			return typ
		}
		if t, ok := builtinDatasources[uid]; ok {
			return t
		}
		switch {
		case uid == "":
			v.add(path+".uid", "missing: expected the uid of a datasource or ${datasource}")
		case !v.known[uid]:
			v.add(path+".uid", "no datasource with uid %q: expected one of %s or a datasource variable", uid, strings.Join(sortedKeys(v.known), ", "))
		}
		return typ
	}
	v.add(path, "expected a datasource reference {\"type\": …, \"uid\": …}")
	return ""
}

// datasourceVar checks that name is a datasource variable and returns the
// type of datasource it lists.
func (v *validator) datasourceVar(path, name string) string {
	tv, ok := v.vars[name]
	switch {
	case !ok:
		v.add(path, "$%s is not a template variable of the dashboard", name)
		return ""
	case tv.kind != "datasource":
		v.add(path, "$%s is a %s variable, not a datasource variable", name, tv.kind)
		return ""
	}
	return tv.plugin
}

// refs checks that every variable s refers to is defined.
func (v *validator) refs(path, s string) {
	for _, name := range variableNames(s) {
		if builtinVariable(name) {
			continue
		}
		if _, ok := v.vars[name]; !ok {
			v.add(path, "$%s is not a template variable of the dashboard", name)
		}
	}
}

// promql checks that expr parses once its variables are substituted.
func (v *validator) promql(path, expr string) {
	if _, err := promParser.ParseExpr(v.substitute(expr)); err != nil {
		v.add(path, "%v in %s", err, expr)
	}
}

// substitute replaces variables with plausible values: durations for the
// interval and range variables, numbers for their _ms and _s forms and for
// $__from and $__to, a variable's current value when it has a fixed one,
// and x otherwise (a valid label value, regular expression and name).
func (v *validator) substitute(s string) string {
	return variableRef.ReplaceAllStringFunc(s, func(ref string) string {
		names := variableNames(ref)
		if len(names) != 1 {
			return ref
		}
		name := names[0]
		switch name {
		case "__rate_interval", "__interval", "__range", "__auto":
			return "1m"
		case "__interval_ms", "__range_ms", "__from", "__to":
			return "60000"
		case "__range_s":
			return "60"
		}
		if tv, ok := v.vars[name]; ok && tv.value != "" {
			return tv.value
		}
		return "x"
	})
}

// currentValue is a variable's current value when it is one plain string.
func currentValue(tv map[string]any) string {
	cur, _ := tv["current"].(map[string]any)
	switch val := cur["value"].(type) {
	case string:
		if val != "$__all" {
			return val
		}
	case []any:
		if len(val) == 1 {
			if s, ok := val[0].(string); ok && s != "$__all" {
				return s
			}
		}
	}
	return ""
}

// listAt returns d[a][b] as a list.
func listAt(d map[string]any, a, b string) []any {
	m, _ := d[a].(map[string]any)
	l, _ := m[b].([]any)
	return l
}
