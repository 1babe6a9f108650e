package express

import (
	"errors"
	"github.com/headroom-sh/headroom/scenario/generate"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// routeMap indexes routes by endpoint.
func routeMap(api *generate.APIModel) map[string]*generate.Route {
	m := map[string]*generate.Route{}
	for i := range api.Routes {
		m[api.Routes[i].Endpoint()] = &api.Routes[i]
	}
	return m
}

func parseSources(t *testing.T, files map[string]string) *generate.APIModel {
	t.Helper()
	in := map[string][]byte{}
	for k, v := range files {
		in[k] = []byte(v)
	}
	api, err := ParseSources(in)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func TestExpressReaderOnTheCheckoutTwin(t *testing.T) {
	api := readAPI(t, "../../examples/checkout/express")
	rs := routeMap(api)
	for _, ep := range []string{"POST /api/auth/login", "POST /api/cart/add", "POST /api/orders/create", "GET /api/orders/{id}", "GET /healthz"} {
		if rs[ep] == nil {
			t.Errorf("route %s not found; got %v", ep, keys(rs))
		}
	}
	if len(rs) != 5 {
		t.Errorf("%d routes, want 5: %v", len(rs), keys(rs))
	}
	add := rs["POST /api/cart/add"]
	if !add.Auth || add.Body == nil || add.Body.Name != "CartItem" || add.Source != "src/routes/cart.ts:9" {
		t.Errorf("add to cart: auth %v, body %+v, source %s", add.Auth, add.Body, add.Source)
	}
	q := add.Body.Prop("quantity")
	if q.Type != "integer" || *q.Minimum != 1 || *q.Maximum != 10 || len(q.Examples) != 1 {
		t.Errorf("quantity %+v (number with @minimum/@maximum, named a quantity, is an integer)", q)
	}
	if v := add.Body.Prop("variant"); len(v.Enum) != 4 {
		t.Errorf("variant enum %v", v.Enum)
	}
	create := rs["POST /api/orders/create"]
	if create.SuccessStatus != 201 || create.Response == nil || create.Response.Name != "Order" || create.Body.Name != "CreateOrderRequest" {
		t.Errorf("create order: status %d, response %+v, body %+v", create.SuccessStatus, create.Response, create.Body)
	}
	if rs["POST /api/auth/login"].Auth || rs["GET /healthz"].Auth {
		t.Error("login and health need no token")
	}
	if api.Target != "http://127.0.0.1:8080" {
		t.Errorf("target %q from app.listen", api.Target)
	}
	if got := rs["GET /api/orders/{id}"].Params; len(got) != 1 || got[0].Name != "id" || got[0].Schema.Type != "string" {
		t.Errorf("params from Request<OrderParams>: %+v", got)
	}
}

func keys(m map[string]*generate.Route) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestExpressRoutingForms(t *testing.T) {
	api := parseSources(t, map[string]string{
		"app.ts": `
import express from 'express';
import users from './users';
import * as routes from './routes';
const app = express();
const v1 = express.Router();
v1.use('/users', users);
v1.use(routes.items);
app.use('/api/v1', v1);
app.get(['/a', '/b/:x?'], (req, res) => res.sendStatus(204));
app.listen(4000);
`,
		"users.ts": `
import { Router } from 'express';
const router = Router();
router.use(requireLogin);
router.route('/:userId(\\d+)').get(show).put(update).delete(remove);
router.get('/', list);
export default router;
function show(req, res) {}
function update(req, res) {}
function remove(req, res) {}
function list(req, res) {}
function requireLogin(req, res, next) { next(); }
`,
		"routes/index.ts": `export { items } from './items';`,
		"routes/items.ts": `
import { Router } from 'express';
export const items = Router();
items.post('/items', rateLimiter({ max: 5 }), cors(), (req, res) => res.json({}));
`,
	})
	rs := routeMap(api)
	want := map[string]bool{
		"GET /api/v1/users/{userId}": true, "PUT /api/v1/users/{userId}": true, "DELETE /api/v1/users/{userId}": true,
		"GET /api/v1/users": true, "POST /api/v1/items": false, "GET /a": false, "GET /b/{x}": false,
	}
	for ep, auth := range want {
		r := rs[ep]
		if r == nil {
			t.Errorf("route %s not found; got %v", ep, keys(rs))
			continue
		}
		if r.Auth != auth {
			t.Errorf("%s: auth %v, want %v (middleware %v)", ep, r.Auth, auth, r.Middleware)
		}
	}
	if len(rs) != len(want) {
		t.Errorf("routes %v", keys(rs))
	}
	if mw := rs["POST /api/v1/items"].Middleware; strings.Join(mw, ",") != "rateLimiter(),cors()" {
		t.Errorf("unknown middleware is named but not auth: %v", mw)
	}
	if api.Target != "http://127.0.0.1:4000" {
		t.Errorf("target %q", api.Target)
	}
}

func TestExpressBodyTypes(t *testing.T) {
	api := parseSources(t, map[string]string{
		"types.ts": `
/** A size. */
export type Size = 'S' | 'M' | 'L';
export enum Color { Red = 'red', Blue = 'blue' }
export interface Base { id: string; created: Date }
export interface Line extends Base {
  sku: string;
  /** @minimum 1 @maximum 9 @example 3 */
  qty: number;
  size?: Size | null;
  color: Color;
  tags: string[];
  meta: Record<string, string>;
  parts: Array<{ name: string; weight?: number }>;
  next?: Line;
}
export interface TypedBody<T> extends Express.Request { body: T }
`,
		"app.ts": `
import express, { Request, RequestHandler } from 'express';
import type { Line, TypedBody } from './types';
const app = express();
app.post('/as', (req, res) => { const l = req.body as Line; res.status(201).json(l); });
app.post('/assert', (req, res) => { const l = <Pick<Line, 'sku' | 'qty'>>req.body; });
app.post('/decl', (req, res) => { const l: Omit<Line, 'id' | 'created'> = req.body; });
app.post('/generic', (req: Request<{}, {}, Partial<Line>>, res) => {});
app.post('/typed', (req: TypedBody<Line>, res) => {});
const handler: RequestHandler<{ lineId: string }, Line, Line> = async (req, res) => {};
app.put('/lines/:lineId', handler);
app.post('/wrapped', asyncHandler(async (request: Request<{}, any, Line>, response) => {}));
app.post('/untyped', (req, res) => { const { a, b } = req.body; if (req.body.c) {} });
app.post('/none', (req, res) => { res.json({ ok: true }); });
`,
	})
	rs := routeMap(api)
	check := func(ep string, props ...string) *generate.Schema {
		t.Helper()
		r := rs[ep]
		if r == nil || r.Body == nil {
			t.Fatalf("%s: no body read (routes %v)", ep, keys(rs))
		}
		for _, p := range props {
			if r.Body.Prop(p) == nil {
				t.Errorf("%s: body lacks %s: %s", ep, p, r.Body.Describe())
			}
		}
		return r.Body
	}
	line := check("POST /as", "id", "created", "sku", "qty", "size", "color", "tags", "meta", "parts", "next")
	if q := line.Prop("qty"); q.Type != "integer" || *q.Maximum != 9 || q.Examples[0] != 3.0 {
		t.Errorf("qty %+v", q)
	}
	if s := line.Prop("size"); len(s.Enum) != 3 || !s.Nullable {
		t.Errorf("size %+v", s)
	}
	if c := line.Prop("color"); len(c.Enum) != 2 || c.Enum[0] != "red" {
		t.Errorf("color %+v", c)
	}
	if n := line.Prop("next"); !n.Recursive {
		t.Errorf("next is not cut as recursive: %+v", n)
	}
	if c := line.Prop("created"); c.Format != "date-time" {
		t.Errorf("Date: %+v", c)
	}
	if rs["POST /as"].SuccessStatus != 201 {
		t.Errorf("status %d", rs["POST /as"].SuccessStatus)
	}
	if b := check("POST /assert", "sku", "qty"); len(b.Properties) != 2 {
		t.Errorf("Pick: %s", b.Describe())
	}
	if b := check("POST /decl", "sku"); b.Prop("id") != nil {
		t.Errorf("Omit: %s", b.Describe())
	}
	for _, p := range check("POST /generic", "sku").Properties {
		if p.Required {
			t.Errorf("Partial: %s is required", p.Name)
		}
	}
	check("POST /typed", "sku")
	check("PUT /lines/{lineId}", "sku")
	if p := rs["PUT /lines/{lineId}"].Params; len(p) != 1 || p[0].Schema.Type != "string" {
		t.Errorf("params from RequestHandler<{lineId: string}>: %+v", p)
	}
	if r := rs["PUT /lines/{lineId}"].Response; r == nil || r.Prop("sku") == nil {
		t.Errorf("response from RequestHandler<P, Line>: %+v", r)
	}
	check("POST /wrapped", "sku")
	if b := check("POST /untyped", "a", "b", "c"); b.Prop("a").Type != "" {
		t.Errorf("untyped fields have no type: %+v", b.Prop("a"))
	}
	if r := rs["POST /none"]; r.Body != nil || r.Response == nil || r.Response.Prop("ok") == nil {
		t.Errorf("no body, literal response: %+v %+v", r.Body, r.Response)
	}
}

func TestExpressProblemsAreReported(t *testing.T) {
	_, err := ParseSources(map[string][]byte{"a.js": []byte("console.log('no routes here')")})
	if !errors.Is(err, generate.ErrBadSpec) || !strings.Contains(err.Error(), "no Express routes found") {
		t.Errorf("no routes: %v", err)
	}
	api := parseSources(t, map[string]string{
		"a.js": "const app = require('express')();\nconst express = require('express');\nconst r = express.Router();\nr.get('/x', missingHandler);\nr.get(`/y/${z}`, h);\napp.get('/ok', (req, res) => {})\nfunction (\n",
	})
	joined := strings.Join(api.Warnings, "\n")
	for _, w := range []string{"syntax error", "could not be found", "could not be folded to a constant", "not mounted"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings lack %q:\n%s", w, joined)
		}
	}
	if _, err := Read("testdata/nope"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing directory: %v", err)
	}
}

func TestExpressSkipsDependenciesAndTests(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(s), 0o644)
	}
	write("src/app.js", "const express = require('express'); const app = express(); app.get('/real', (q, s) => {});")
	write("node_modules/x/index.js", "const app = require('express')(); app.get('/dep', (q, s) => {});")
	write("src/app.test.js", "const app = require('express')(); app.get('/test', (q, s) => {});")
	write("dist/app.js", "const app = require('express')(); app.get('/built', (q, s) => {});")
	api, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rs := routeMap(api); len(rs) != 1 || rs["GET /real"] == nil {
		t.Errorf("routes %v", keys(rs))
	}
}

// FuzzParseExpressSources checks that no source makes the Express reader
// or the generator panic.
func FuzzParseExpressSources(f *testing.F) {
	for _, p := range []string{"../../examples/checkout/express/src/routes/orders.ts", "../../examples/checkout/express/src/types/cart.ts", "testdata/express-edge/src/routes/members.ts", "testdata/express-edge/src/server.js"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, strings.HasSuffix(p, ".ts"))
	}
	f.Add([]byte("app.get('/a/:b', (req: Request<{b: B}, R, Q>) => req.body as T); type T = T[]; interface B extends B { x: B }"), true)
	f.Fuzz(func(t *testing.T, src []byte, ts bool) {
		name := "app.js"
		if ts {
			name = "app.ts"
		}
		api, err := ParseSources(map[string][]byte{name: src, "types.ts": []byte("export interface T { a: T; b: 'x' | 'y' }")})
		if err != nil {
			return
		}
		g, err := generate.Generate(api, generate.Options{})
		if err != nil {
			return
		}
		if err := g.Scenario.Validate(); err != nil {
			t.Fatalf("generated an invalid scenario: %v", err)
		}
	})
}

// readAPI reads the Express sources below dir, failing the test on an error.
func readAPI(t *testing.T, dir string) *generate.APIModel {
	t.Helper()
	api, err := Read(dir)
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return api
}
