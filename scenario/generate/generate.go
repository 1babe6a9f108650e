package generate

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/headroom-sh/headroom/internal/numfmt"
	"github.com/headroom-sh/headroom/scenario"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// APIModel is what a reader found in an API's definitions: its routes with
// their parameters, request and response shapes and auth requirements. The
// OpenAPI reader (scenario/openapi) and the Express reader (scenario/express) both
// produce it, and Generate turns it into a scenario.
type APIModel struct {
	// Title names the API ("Checkout API").
	Title string `json:"title,omitempty"`
	// Source is the file or directory the model was read from.
	Source string `json:"source"`
	// Kind says what was read: "OpenAPI 3.0.3", "Express".
	Kind string `json:"kind"`
	// BasePath is the path prefix every route has (an OpenAPI server's
	// path, /api/v3); --flow steps may leave it out.
	BasePath string `json:"base_path,omitempty"`
	// Target is the base URL the definitions suggest for a local run
	// (a localhost server entry, or the port an Express app listens on).
	Target string `json:"target,omitempty"`
	// Routes are in the order of the source.
	Routes []Route `json:"routes"`
	// Schemes are the security schemes by name.
	Schemes []SecurityScheme `json:"schemes,omitempty"`
	// Warnings name what was skipped or assumed, with file and line.
	Warnings []string `json:"warnings,omitempty"`
}

// SecurityScheme is how a route wants its credentials.
type SecurityScheme struct {
	Name string `json:"name"`
	// Type is http, apiKey, oauth2 or openIdConnect.
	Type string `json:"type"`
	// Scheme is the HTTP auth scheme of type http: bearer or basic.
	Scheme string `json:"scheme,omitempty"`
	// In and Param place an API key: in header, param X-API-Key.
	In    string `json:"in,omitempty"`
	Param string `json:"param,omitempty"`
}

// Route is one operation: a method on a path template.
type Route struct {
	// Method is upper case.
	Method string `json:"method"`
	// Path is the template in OpenAPI form: /api/orders/{id}.
	Path        string   `json:"path"`
	OperationID string   `json:"operation_id,omitempty"`
	Summary     string   `json:"summary,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Params      []Param  `json:"params,omitempty"`
	// Body is the JSON request body's schema, nil without one.
	Body         *Schema `json:"body,omitempty"`
	BodyRequired bool    `json:"body_required,omitempty"`
	// SuccessStatus is the documented success status (200 when unknown).
	SuccessStatus int `json:"success_status"`
	// Response is the success response body's schema, nil when unknown.
	Response *Schema `json:"response,omitempty"`
	// Auth says the route needs credentials: a security requirement, or an
	// auth middleware in front of the handler.
	Auth bool `json:"auth,omitempty"`
	// Security names the schemes that apply.
	Security []string `json:"security,omitempty"`
	// Middleware names the handlers in front of an Express route.
	Middleware []string `json:"middleware,omitempty"`
	// Source is file:line of the definition.
	Source string `json:"source,omitempty"`
	// Mounts say where an Express route's prefix comes from: each use()
	// it is under, outermost first, as "/v1 at src/app.ts:54".
	Mounts []string `json:"mounts,omitempty"`
}

// Param is a path, query or header parameter.
type Param struct {
	Name     string  `json:"name"`
	In       string  `json:"in"`
	Required bool    `json:"required,omitempty"`
	Schema   *Schema `json:"schema,omitempty"`
}

// Endpoint is the route's name in the one shared form: "POST /api/cart/add".
func (r *Route) Endpoint() string { return model.EndpointName(r.Method, r.Path) }

// ErrNoRoutes is returned when the definitions hold no route to load.
var ErrNoRoutes = errors.New("no routes found")

// Options tune Generate. The zero value gives the defaults.
type Options struct {
	// Name is the scenario's name (default: from the API's title).
	Name string
	// Target overrides the base URL (default: the model's, else
	// http://127.0.0.1:8080).
	Target string
	// Flows pick and order the steps, one entry per flow, each written as
	// --flow takes it: "POST /api/cart/add, POST /api/orders/create,
	// GET /api/orders/{id}", optionally with a name: "checkout: POST ...".
	// Without flows, one flow per resource is proposed.
	Flows []string
	// Think is the pause after each step (default uniform 500ms–1.5s).
	Think *model.Think
	// Executors replace the default ramp.
	Executors []model.Executor
}

// Generated is a scenario built from an API model, with what was decided
// on the way.
type Generated struct {
	Scenario *model.Scenario
	// Proposed is true when the flows were proposed by resource rather
	// than given with --flow.
	Proposed bool
	// Notes say what was assumed and what the user may want to change.
	Notes []string
}

// Generate builds a scenario from an API model: the flows given in
// opt.Flows (or one per resource), realistic bodies from the request
// schemas, identifiers captured from responses and reused in later paths,
// a login step whose token every request carries, a default ramp and
// thresholds. The scenario is defaulted and valid.
func Generate(api *APIModel, opt Options) (*Generated, error) {
	if api == nil || len(api.Routes) == 0 {
		src := ""
		if api != nil {
			src = api.Source
		}
		return nil, fmt.Errorf("could not generate a scenario from %q: %w", src, ErrNoRoutes)
	}
	g := &generator{api: api, opt: opt, out: &Generated{}}
	return g.run()
}

type generator struct {
	api   *APIModel
	opt   Options
	out   *Generated
	login *Route
	// varOwner maps the flow's capture variables to the step that sets them.
	varOwner map[string]int
}

// flowPlan is a flow before it becomes steps.
type flowPlan struct {
	name   string
	routes []*Route
}

func (g *generator) run() (*Generated, error) {
	g.login = g.findLogin()
	var plans []flowPlan
	if len(g.opt.Flows) > 0 {
		for i, spec := range g.opt.Flows {
			p, err := g.planFromSpec(spec, i)
			if err != nil {
				return nil, err
			}
			plans = append(plans, p)
		}
	} else {
		g.out.Proposed = true
		plans = g.proposeFlows()
		if len(plans) == 0 {
			return nil, fmt.Errorf("could not generate a scenario from %q: every route was left out (login, health and metrics routes are not load-tested on their own); pick steps with --flow", g.api.Source)
		}
	}
	s := &model.Scenario{
		Name:    g.scenarioName(),
		Target:  g.target(),
		Timeout: model.Duration(10 * time.Second),
	}
	needAuth := false
	usedNames := map[string]int{}
	for _, p := range plans {
		f := g.buildFlow(p)
		usedNames[f.Name]++
		if n := usedNames[f.Name]; n > 1 {
			f.Name += "-" + strconv.Itoa(n)
		}
		s.Flows = append(s.Flows, f)
		for _, r := range p.routes {
			needAuth = needAuth || r.Auth
		}
	}
	if needAuth {
		g.addAuth(s)
	}
	// A copy: SetDefaults fills in names and must not touch the caller's.
	s.Executors = (&model.Scenario{Executors: g.opt.Executors}).Clone().Executors
	if len(s.Executors) == 0 {
		s.Executors = DefaultExecutors()
	}
	s.Thresholds = DefaultThresholds()
	s.SetDefaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("generated scenario for %q is invalid (a bug in headroom generate): %w", g.api.Source, err)
	}
	g.out.Scenario = s
	return g.out, nil
}

// DefaultExecutors is the ramp a generated scenario starts with: a short
// warm-up, three steps of load and a cool-down, closed model.
func DefaultExecutors() []model.Executor {
	sec := func(n int) model.Duration { return model.Duration(time.Duration(n) * time.Second) }
	return []model.Executor{{
		Type: model.ExecutorRampingVUs,
		Stages: []model.Stage{
			{Name: "warmup", Duration: sec(30), Target: 10},
			{Duration: sec(60), Target: 25},
			{Duration: sec(60), Target: 50},
			{Duration: sec(60), Target: 100},
			{Name: "cooldown", Duration: sec(30), Target: 0},
		},
	}}
}

// DefaultThresholds are the pass criteria a generated scenario starts with.
func DefaultThresholds() map[string][]model.Threshold {
	return map[string][]model.Threshold{
		"http_req_duration": {{Expr: "p(95)<800"}, {Expr: "p(99)<1500"}},
		"http_req_failed":   {{Expr: "rate<0.05"}},
		"checks":            {{Expr: "rate>0.95"}},
	}
}

func (g *generator) note(format string, args ...any) {
	g.out.Notes = append(g.out.Notes, fmt.Sprintf(format, args...))
}

func (g *generator) scenarioName() string {
	if g.opt.Name != "" {
		return g.opt.Name
	}
	n := slug(g.api.Title)
	n = strings.TrimSuffix(n, "-api")
	if n == "" || n == "api" {
		return "api"
	}
	return n
}

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	return strings.Trim(slugRE.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

func (g *generator) target() string {
	switch {
	case g.opt.Target != "":
		return strings.TrimRight(g.opt.Target, "/")
	case g.api.Target != "":
		return strings.TrimRight(g.api.Target, "/")
	}
	return scenario.DefaultTarget
}

// pathSegments splits a path template into its segments.
func pathSegments(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isParamSeg(s string) bool { return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") }

// actionWords are path segments that name an action rather than a
// collection: POST /api/orders/create creates an order.
var actionWords = map[string]bool{
	"create": true, "add": true, "new": true, "search": true, "find": true, "list": true, "all": true,
	"update": true, "delete": true, "remove": true, "get": true, "edit": true, "query": true,
}

// prefixWords are leading path segments that are not resources.
var prefixWords = map[string]bool{"api": true, "rest": true, "public": true, "internal": true}

var versionSegRE = regexp.MustCompile(`^v[0-9]+(\.[0-9]+)?$`)

// resourceOf is the first meaningful segment of a route: /api/v1/orders/{id} → orders.
func resourceOf(path string) string {
	for _, s := range pathSegments(path) {
		l := strings.ToLower(s)
		if prefixWords[l] || versionSegRE.MatchString(l) || isParamSeg(s) {
			continue
		}
		return s
	}
	return ""
}

// collectionOf is the collection a route creates or addresses: the segment
// before a trailing parameter (/orders/{id} → orders), else the last
// segment that is not an action word (/orders/create → orders).
func collectionOf(path string) string {
	segs := pathSegments(path)
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if isParamSeg(s) {
			if i == len(segs)-1 {
				continue
			}
			continue
		}
		if actionWords[strings.ToLower(s)] || strings.HasPrefix(strings.ToLower(s), "findby") {
			continue
		}
		return s
	}
	return ""
}

// isItemRoute reports whether the route addresses one item: its path ends
// in a parameter.
func isItemRoute(path string) bool {
	segs := pathSegments(path)
	return len(segs) > 0 && isParamSeg(segs[len(segs)-1])
}

var (
	loginPathRE  = regexp.MustCompile(`(?i)/(login|signin|sign-in|sign_in|authenticate|token|tokens|session|sessions|oauth/token)/?$`)
	healthPathRE = regexp.MustCompile(`(?i)/(health|healthz|healthcheck|livez|readyz|ready|ping|metrics|status|version|docs|swagger[^/]*|openapi[^/]*|api-docs)/?$`)
	tokenNames   = []string{"token", "access_token", "accessToken", "jwt", "id_token", "idToken", "auth_token", "authToken", "session_token", "sessionToken", "api_key", "apiKey"}
)

// findLogin picks the route that hands out tokens: a POST to a login-like
// path that does not itself need credentials.
func (g *generator) findLogin() *Route {
	var best *Route
	for i := range g.api.Routes {
		r := &g.api.Routes[i]
		if r.Method != "POST" || r.Auth || !loginPathRE.MatchString(r.Path) {
			continue
		}
		if best == nil || (tokenPath(r.Response) != "" && tokenPath(best.Response) == "") {
			best = r
		}
	}
	return best
}

// tokenPath is the JSON path of a token in a login response, "" when none
// is known.
func tokenPath(s *Schema) string {
	if s == nil {
		return ""
	}
	for _, n := range tokenNames {
		if s.Prop(n) != nil {
			return "$." + n
		}
	}
	for _, wrap := range []string{"data", "result", "auth"} {
		if in := s.Prop(wrap); in != nil {
			for _, n := range tokenNames {
				if in.Prop(n) != nil {
					return "$." + wrap + "." + n
				}
			}
		}
	}
	return ""
}

// idPath is the JSON path of the identifier a response returns, for the
// collection it belongs to: $.id, $.order_id, $.data.id, or for a list
// $[0].id, $.items[0].id.
func idPath(s *Schema, collection string) string {
	if s == nil {
		return ""
	}
	one := singular(strings.ToLower(collection))
	names := []string{"id", one + "_id", one + "Id", "uuid", "key"}
	find := func(o *Schema) string {
		if !o.IsObject() {
			return ""
		}
		for _, n := range names {
			if o.Prop(n) != nil {
				return n
			}
		}
		for _, p := range o.Properties {
			if strings.EqualFold(p.Name, one+"id") || strings.EqualFold(p.Name, one+"_id") {
				return p.Name
			}
		}
		return ""
	}
	if n := find(s); n != "" {
		return "$." + n
	}
	if s.Type == "array" && s.Items != nil {
		if n := find(s.Items); n != "" {
			return "$[0]." + n
		}
		return ""
	}
	if !s.IsObject() {
		return ""
	}
	for _, wrap := range []string{"data", "result", one, collection, "item", "items", "results", "content"} {
		in := s.Prop(wrap)
		if in == nil {
			continue
		}
		if n := find(in); n != "" {
			return "$." + wrap + "." + n
		}
		if in.Type == "array" && in.Items != nil {
			if n := find(in.Items); n != "" {
				return "$." + wrap + "[0]." + n
			}
		}
	}
	return ""
}

// proposeFlows groups routes by resource, one flow each, ordered through
// an item's life: create, list, read, update, delete. Writes to one item
// are only proposed when the flow creates that item first, so a proposed
// flow never deletes data it did not make.
func (g *generator) proposeFlows() []flowPlan {
	var order []string
	groups := map[string][]*Route{}
	for i := range g.api.Routes {
		r := &g.api.Routes[i]
		if r == g.login || healthPathRE.MatchString(r.Path) {
			continue
		}
		if r.Method == "HEAD" || r.Method == "OPTIONS" {
			continue
		}
		res := resourceOf(r.Path)
		if res == "" {
			res = "root"
		}
		if _, ok := groups[res]; !ok {
			order = append(order, res)
		}
		groups[res] = append(groups[res], r)
	}
	var plans []flowPlan
	for _, res := range order {
		routes := groups[res]
		sort.SliceStable(routes, func(i, j int) bool {
			ri, rj := lifeRank(routes[i]), lifeRank(routes[j])
			if ri != rj {
				return ri < rj
			}
			// A parent is created before its children, and deleted after
			// them, so that no step acts on an item already gone.
			di, dj := len(pathSegments(routes[i].Path)), len(pathSegments(routes[j].Path))
			if ri == 0 {
				return di < dj
			}
			if ri == 5 {
				return di > dj
			}
			return false
		})
		creates := map[string]bool{}
		var kept []*Route
		for _, r := range routes {
			if isItemRoute(r.Path) && r.Method != "GET" {
				if !creates[strings.ToLower(singular(collectionOf(r.Path)))] {
					g.note("%s is not in the proposed %q flow: it changes an item the flow did not create (add it with --flow if you want it)", r.Endpoint(), res)
					continue
				}
			}
			kept = append(kept, r)
			if r.Method == "POST" && !isItemRoute(r.Path) {
				creates[strings.ToLower(singular(collectionOf(r.Path)))] = true
			}
		}
		if len(kept) > 0 {
			plans = append(plans, flowPlan{name: slug(res), routes: kept})
		}
	}
	return plans
}

// lifeRank orders a resource's routes: create, list, read, update, other
// actions, delete.
func lifeRank(r *Route) int {
	item := isItemRoute(r.Path)
	switch {
	case r.Method == "POST" && !item:
		return 0
	case r.Method == "GET" && !item:
		return 1
	case r.Method == "GET":
		return 2
	case r.Method == "PUT" || r.Method == "PATCH":
		return 3
	case r.Method == "DELETE":
		return 5
	}
	return 4
}

// FlowEntry is one step of a --flow: a method and a path.
type FlowEntry struct {
	Method, Path string
}

// ParseFlowSpec reads a --flow value: "POST /api/cart/add, GET /api/orders/{id}",
// optionally named: "checkout: POST /api/cart/add, ...". Paths may use
// {param} or :param.
func ParseFlowSpec(spec string) (name string, entries []FlowEntry, err error) {
	s := strings.TrimSpace(spec)
	if i := strings.IndexByte(s, ':'); i > 0 {
		head := strings.TrimSpace(s[:i])
		if !strings.ContainsAny(head, " /{") && !isMethod(head) {
			name, s = head, strings.TrimSpace(s[i+1:])
		}
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Fields(part)
		if len(f) != 2 || !isMethod(f[0]) || !strings.HasPrefix(f[1], "/") {
			return "", nil, fmt.Errorf("--flow step %q: expected METHOD PATH such as \"POST /api/cart/add\" (steps separated by commas)", part)
		}
		entries = append(entries, FlowEntry{Method: strings.ToUpper(f[0]), Path: f[1]})
	}
	if len(entries) == 0 {
		return "", nil, fmt.Errorf("--flow %q has no steps: expected \"METHOD PATH, METHOD PATH, ...\"", spec)
	}
	return name, entries, nil
}

func isMethod(s string) bool {
	for _, m := range model.Methods {
		if strings.EqualFold(s, m) {
			return true
		}
	}
	return false
}

// routeKey normalizes a route for matching: parameters lose their names.
func routeKey(method, path string) string {
	segs := pathSegments(model.RouteTemplate(path))
	for i, s := range segs {
		if isParamSeg(s) {
			segs[i] = "{}"
		}
	}
	return strings.ToUpper(method) + " /" + strings.Join(segs, "/")
}

func (g *generator) planFromSpec(spec string, idx int) (flowPlan, error) {
	name, entries, err := ParseFlowSpec(spec)
	if err != nil {
		return flowPlan{}, err
	}
	byKey := map[string]*Route{}
	var all []string
	for i := range g.api.Routes {
		r := &g.api.Routes[i]
		k := routeKey(r.Method, r.Path)
		if _, dup := byKey[k]; !dup {
			byKey[k] = r
			all = append(all, r.Endpoint())
		}
	}
	p := flowPlan{name: name}
	var resources []string
	for _, e := range entries {
		r, ok := byKey[routeKey(e.Method, e.Path)]
		if !ok && g.api.BasePath != "" {
			// The path as the API documents it, below the server's base path.
			r, ok = byKey[routeKey(e.Method, strings.TrimRight(g.api.BasePath, "/")+e.Path)]
		}
		if !ok {
			msg := fmt.Sprintf("--flow step \"%s %s\" matches no route of %s", e.Method, e.Path, g.api.Source)
			if sug := model.Suggest(e.Method+" "+model.RouteTemplate(e.Path), all); sug != "" {
				msg += fmt.Sprintf("; did you mean %q?", sug)
			}
			return flowPlan{}, fmt.Errorf("%s; routes found: %s", msg, strings.Join(all, ", "))
		}
		if r == g.login {
			g.note("%s logs in: it runs once per VU as the auth step rather than in flow %d", r.Endpoint(), idx+1)
			continue
		}
		p.routes = append(p.routes, r)
		res := slug(resourceOf(r.Path))
		if res != "" && (len(resources) == 0 || resources[len(resources)-1] != res) {
			resources = append(resources, res)
		}
	}
	if len(p.routes) == 0 {
		return flowPlan{}, fmt.Errorf("--flow %q has only the login step; add the requests a user makes after logging in", spec)
	}
	if p.name == "" {
		p.name = strings.Join(dedupe(resources), "-")
		if p.name == "" {
			p.name = "flow-" + strconv.Itoa(idx+1)
		}
	}
	return p, nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// producer is an earlier step of a flow whose response may hold an
// identifier a later step needs.
type producer struct {
	step       int
	collection string
	// response is the step's response schema, nil when unknown.
	response *Schema
	// creates is set for a POST to a collection.
	creates  bool
	endpoint string
	// vars maps the JSON paths captured so far to their variable names.
	vars map[string]string
}

var paramRE = regexp.MustCompile(`\{([^{}/]+)\}`)

// PathParams lists the names of a route path's {parameters}, in order.
func PathParams(path string) []string {
	var out []string
	for _, m := range paramRE.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// buildFlow turns a plan into steps: paths with captured or synthesized
// parameters, bodies, captures and checks.
func (g *generator) buildFlow(p flowPlan) model.Flow {
	f := model.Flow{Name: p.name}
	var producers []*producer
	g.varOwner = map[string]int{}
	for _, r := range p.routes {
		st := model.Step{
			Method: r.Method,
			Checks: []model.Check{{Status: []int{successStatus(r)}}},
			Think:  g.think(),
		}
		if r.Summary != "" && len(r.Summary) <= 60 {
			st.Name = strings.TrimRight(r.Summary, ".")
		}
		write := r.Method != "GET" && r.Method != "HEAD"
		path := paramRE.ReplaceAllStringFunc(r.Path, func(m string) string {
			name := m[1 : len(m)-1]
			if v := g.bind(producers, f.Steps, paramCollection(r.Path, name), name, write); v != "" {
				return "{{" + v + "}}"
			}
			return paramValue(r, name)
		})
		var query []string
		for _, prm := range r.Params {
			if prm.In != "query" || (!prm.Required && !hasValueHint(prm.Schema)) {
				continue
			}
			query = append(query, prm.Name+"="+paramValue(r, prm.Name))
		}
		if len(query) > 0 {
			path += "?" + strings.Join(query, "&")
		}
		st.Path = path
		if strings.Contains(path, "{{") {
			st.Endpoint = r.Endpoint()
		}
		for _, prm := range r.Params {
			if prm.In == "header" && prm.Required && !strings.EqualFold(prm.Name, "Authorization") {
				if st.Headers == nil {
					st.Headers = map[string]string{}
				}
				st.Headers[prm.Name] = paramValue(r, prm.Name)
			}
		}
		if r.Body != nil {
			if body, ok := Synthesize(r.Body); ok {
				st.Body = body
			}
			// A body field that refers to an item an earlier step
			// returned (cart_id after adding to the cart) carries it.
			if obj, ok := st.Body.(map[string]any); ok && r.Body.IsObject() {
				for _, prop := range r.Body.Properties {
					base := idFieldBase(prop.Name)
					if base == "" || (prop.Schema != nil && prop.Schema.ReadOnly) {
						continue
					}
					if v := g.bind(producers, f.Steps, base, prop.Name, false); v != "" {
						obj[prop.Name] = "{{" + v + "}}"
					}
				}
			}
		}
		f.Steps = append(f.Steps, st)
		creates := r.Method == "POST" && !isItemRoute(r.Path)
		if r.Response != nil || creates {
			producers = append(producers, &producer{step: len(f.Steps) - 1, collection: collectionOf(r.Path), response: r.Response,
				creates: creates, endpoint: r.Endpoint(), vars: map[string]string{}})
		}
	}
	return f
}

// idFieldBase is the collection a body field refers to: cart_id → cart,
// orderId → order; "" for other fields.
func idFieldBase(name string) string {
	for _, suf := range []string{"_id", "Id", "ID"} {
		if b := strings.TrimSuffix(name, suf); b != name && b != "" {
			return b
		}
	}
	return ""
}

// isIDName reports whether a parameter names an identifier: id, orderId,
// order_id, uuid.
func isIDName(name string) bool {
	return idNameRE.MatchString(name) || strings.EqualFold(name, "id")
}

// bind finds the earlier step whose response holds the value of param (of
// collection coll), makes it capture the value and returns the variable.
// A response field named like the parameter wins (username from a user);
// an identifier parameter takes the collection's id. Writes (PUT, PATCH,
// DELETE) prefer the step that created the item.
func (g *generator) bind(producers []*producer, steps []model.Step, coll, param string, write bool) string {
	try := func(pr *producer) string {
		if !sameCollection(pr.collection, coll) {
			return ""
		}
		path, name, assumed := "", "", false
		switch {
		case pr.response != nil && pr.response.Prop(param) != nil:
			path = "$." + param
			if !strings.EqualFold(param, "id") {
				name = camel(param)
			}
		case !isIDName(param):
			return ""
		case pr.response != nil:
			path = idPath(pr.response, pr.collection)
		case pr.creates:
			// Nothing says what the response holds; creating routes
			// usually return the new item with an id.
			path, assumed = "$.id", true
		}
		if path == "" {
			return ""
		}
		if name == "" {
			name = captureVarName(pr.collection, param)
		}
		if v, ok := pr.vars[path]; ok {
			return v
		}
		// Two steps capturing into one variable would overwrite each
		// other: the later one gets a numbered name.
		for base, n := name, 2; ; n++ {
			owner, taken := g.varOwner[name]
			if !taken || owner == pr.step {
				break
			}
			name = base + strconv.Itoa(n)
		}
		g.varOwner[name] = pr.step
		pr.vars[path] = name
		st := &steps[pr.step]
		if st.Capture == nil {
			st.Capture = map[string]string{}
		}
		st.Capture[name] = path
		if assumed {
			g.note("%s: the response shape is unknown; assuming it returns the new item's id as %s (captured as %s)", pr.endpoint, path, name)
		}
		return name
	}
	if write {
		for i := len(producers) - 1; i >= 0; i-- {
			if producers[i].creates {
				if v := try(producers[i]); v != "" {
					return v
				}
			}
		}
	}
	for i := len(producers) - 1; i >= 0; i-- {
		if v := try(producers[i]); v != "" {
			return v
		}
	}
	return ""
}

// paramCollection is the collection a path parameter identifies: the
// segment before it (/orders/{id} → orders), or its own name
// (/pets/{petId}/photos → pet).
func paramCollection(path, param string) string {
	segs := pathSegments(path)
	for i, s := range segs {
		if s == "{"+param+"}" {
			base := strings.TrimSuffix(strings.TrimSuffix(param, "Id"), "_id")
			if base != param && base != "" {
				return base
			}
			if i > 0 && !isParamSeg(segs[i-1]) {
				return segs[i-1]
			}
		}
	}
	return param
}

func sameCollection(a, b string) bool {
	return a != "" && strings.EqualFold(singular(a), singular(b))
}

// captureVarName names a captured identifier: orderId, petId.
func captureVarName(collection, param string) string {
	if strings.HasSuffix(param, "Id") || strings.HasSuffix(param, "_id") {
		return camel(param)
	}
	return camel(singular(collection)) + "Id"
}

// camel writes snake or kebab case as lower camelCase.
func camel(s string) string {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' || r == ' ' || r == '.' })
	for i, p := range parts {
		if i == 0 {
			parts[i] = strings.ToLower(p[:1]) + p[1:]
			continue
		}
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	out := strings.Join(parts, "")
	if out == "" {
		return "id"
	}
	return out
}

// paramValue synthesizes a path or query parameter as text.
func paramValue(r *Route, name string) string {
	var s *Schema
	for _, p := range r.Params {
		if p.Name == name {
			s = p.Schema
		}
	}
	if s == nil {
		s = &Schema{}
	}
	v, ok := (&synth{}).value(s, name, 0, nil)
	if !ok {
		return "1"
	}
	if s.Type == "" && len(s.Examples) == 0 {
		// An untyped path parameter is most often a numeric id.
		if idNameRE.MatchString(name) || name == "id" {
			return "{{randomInt(1,100)}}"
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return numfmt.Plain(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	return "1"
}

func successStatus(r *Route) int {
	if r.SuccessStatus >= 100 && r.SuccessStatus <= 599 {
		return r.SuccessStatus
	}
	return 200
}

func (g *generator) think() *model.Think {
	if g.opt.Think != nil {
		t := *g.opt.Think
		return &t
	}
	return &model.Think{
		Distribution: model.ThinkUniform,
		Min:          model.Duration(500 * time.Millisecond),
		Max:          model.Duration(1500 * time.Millisecond),
	}
}

// addAuth adds the login step, or a token variable when the API has no
// login route.
func (g *generator) addAuth(s *model.Scenario) {
	scheme := g.authScheme()
	header, prefix := "Authorization", "Bearer"
	if scheme != nil {
		switch {
		case scheme.Type == "apiKey" && scheme.In == "header":
			header, prefix = scheme.Param, model.AuthSchemeNone
		case scheme.Type == "apiKey":
			g.note("security scheme %q sends its key in the %s %q, which generated scenarios do not fill in: add it to the paths", scheme.Name, scheme.In, scheme.Param)
		case scheme.Type == "http" && strings.EqualFold(scheme.Scheme, "basic"):
			g.note("security scheme %q is HTTP basic auth: set an Authorization: Basic header in the scenario's headers", scheme.Name)
			return
		}
	}
	if g.login == nil {
		name := "token"
		if prefix == model.AuthSchemeNone {
			name = "apiKey"
		}
		if s.Variables == nil {
			s.Variables = map[string]string{}
		}
		s.Variables[name] = "REPLACE_ME"
		value := "{{" + name + "}}"
		if prefix != model.AuthSchemeNone {
			value = prefix + " " + value
		}
		s.Headers = map[string]string{header: value}
		g.note("routes need credentials but no login route was found: set variables.%s to a valid credential (sent as %s)", name, header)
		return
	}
	r := g.login
	st := model.Step{
		Name:   "login",
		Method: r.Method,
		Path:   r.Path,
		Checks: []model.Check{{Status: []int{successStatus(r)}}},
	}
	if r.Body != nil {
		if body, ok := SynthesizeCredentials(r.Body); ok {
			st.Body = body
		}
	}
	tp := tokenPath(r.Response)
	if tp == "" {
		tp = "$.token"
		g.note("%s: the response shape is unknown; assuming the token is at %s", r.Endpoint(), tp)
	}
	st.Capture = map[string]string{"token": tp}
	s.Auth = &model.Auth{Step: st, Token: "token", Header: header, Scheme: prefix}
	if b, ok := st.Body.(map[string]any); ok {
		for _, k := range sortedKeysAny(b) {
			if v, ok := b[k].(string); ok && strings.Contains(v, "{{vu()}}") {
				g.note("auth.step.body.%s is %q: each VU logs in as its own user, so run no more VUs than there are users", k, v)
			}
		}
	}
	g.note("each VU logs in once with %s and sends the token as %s; check auth.step.body holds credentials that exist", r.Endpoint(), header)
}

// authScheme is the scheme the routes that need credentials name first.
func (g *generator) authScheme() *SecurityScheme {
	for _, r := range g.api.Routes {
		for _, name := range r.Security {
			for i := range g.api.Schemes {
				if g.api.Schemes[i].Name == name {
					return &g.api.Schemes[i]
				}
			}
		}
	}
	if len(g.api.Schemes) > 0 {
		return &g.api.Schemes[0]
	}
	return nil
}

// Summary describes what was found and generated, for the terminal: the
// routes with their body types, the auth step and the flows.
func Summary(api *APIModel, gen *Generated) string {
	var b strings.Builder
	_ = WriteSummary(&b, api, gen)
	return b.String()
}

// WriteSummary writes what Summary gives to w as it goes: a large API's
// summary is tens of MB, better not held whole.
func WriteSummary(w io.Writer, api *APIModel, gen *Generated) error {
	b := bufio.NewWriterSize(w, 64<<10)
	kind := api.Kind
	if api.Title != "" {
		kind += fmt.Sprintf(" %q", api.Title)
	}
	fmt.Fprintf(b, "Read %s (%s): %d routes\n", api.Source, kind, len(api.Routes))
	for _, r := range api.Routes {
		fmt.Fprintf(b, "  %-7s %s", r.Method, r.Path)
		var tags []string
		if r.Auth {
			tags = append(tags, "auth")
		}
		if len(r.Middleware) > 0 {
			tags = append(tags, "middleware: "+strings.Join(r.Middleware, ", "))
		}
		if len(tags) > 0 {
			fmt.Fprintf(b, "  [%s]", strings.Join(tags, "; "))
		}
		b.WriteString("\n")
		if len(r.Mounts) > 0 {
			fmt.Fprintf(b, "          prefix from %s\n", strings.Join(r.Mounts, ", "))
		}
		if r.Body != nil {
			name := r.Body.Name
			if name != "" {
				name += " "
			}
			fmt.Fprintf(b, "          body %s%s\n", name, r.Body.Describe())
		}
		if r.Response != nil {
			fmt.Fprintf(b, "          %d %s\n", successStatus(&r), r.Response.Describe())
		}
	}
	for _, sc := range api.Schemes {
		fmt.Fprintf(b, "Security scheme %s: %s", sc.Name, sc.Type)
		if sc.Scheme != "" {
			b.WriteString(" " + sc.Scheme)
		}
		if sc.Param != "" {
			fmt.Fprintf(b, " (%s %s)", sc.In, sc.Param)
		}
		b.WriteString("\n")
	}
	if gen == nil {
		return b.Flush()
	}
	s := gen.Scenario
	if s.Auth != nil {
		fmt.Fprintf(b, "Auth: each VU runs %s once, captures %s and sends it in %s\n", s.Auth.Step.Endpoint, s.Auth.Step.Capture[s.Auth.Token], s.Auth.Header)
	}
	if gen.Proposed {
		b.WriteString("Proposed flows, one per resource (pick and order steps with --flow \"METHOD PATH, ...\"):\n")
	} else {
		b.WriteString("Flows:\n")
	}
	for _, f := range s.Flows {
		fmt.Fprintf(b, "  %s:\n", f.Name)
		for _, st := range f.Steps {
			fmt.Fprintf(b, "    %s", st.Endpoint)
			if len(st.Capture) > 0 {
				var caps []string
				for _, k := range sortedStrings(st.Capture) {
					caps = append(caps, k+" = "+st.Capture[k])
				}
				fmt.Fprintf(b, "  (captures %s)", strings.Join(caps, ", "))
			}
			b.WriteString("\n")
		}
	}
	for _, w := range api.Warnings {
		fmt.Fprintf(b, "warning: %s\n", w)
	}
	for _, n := range gen.Notes {
		fmt.Fprintf(b, "note: %s\n", n)
	}
	return b.Flush()
}

func sortedStrings(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeysAny(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
