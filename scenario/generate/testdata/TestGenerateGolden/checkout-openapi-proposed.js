// k6 script for the headroom scenario "checkout" from ../../examples/checkout/openapi.yaml, written by headroom.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8080 script.js
//
// Requests are tagged with endpoint, flow and stage as headroom tags them, so
// `headroom import k6 --json results.json` turns `k6 run --out json=results.json`
// into a run.json that `headroom analyze` reads.
import http from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Rate, Trend } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || "http://127.0.0.1:8080").replace(/\/+$/, '');
const TIMEOUT = "10s";

export const options = {
  scenarios: {
    "ramping-vus": {
      executor: "ramping-vus",
      startVUs: 0,
      stages: [
        { duration: "30s", target: 10 }, // warmup
        { duration: "1m", target: 25 }, // stage-1
        { duration: "1m", target: 50 }, // stage-2
        { duration: "1m", target: 100 }, // stage-3
        { duration: "30s", target: 0 }, // cooldown
      ],
      gracefulRampDown: "30s",
      gracefulStop: "30s",
      exec: "default",
    },
  },
  thresholds: {
    "checks": ["rate>0.95"],
    "http_req_duration": ["p(95)<800", "p(99)<1500"],
    "http_req_failed": ["rate<0.05"],
  },
};

// errors counts failed requests (status >= 400 or no response) as headroom does;
// flow_duration is the time one flow took, tagged with the flow.
const errors = new Rate('errors');
const flowDuration = new Trend('flow_duration', true);

// Stage names and their ends (ms from the executor's start), per k6 scenario.
const STAGES = {
  "ramping-vus": [["warmup", 30000], ["stage-1", 90000], ["stage-2", 150000], ["stage-3", 210000], ["cooldown", 240000]],
};

// SEQ_STRIDE spaces the seq() counters of different VUs apart: k6 VUs share no memory.
const SEQ_STRIDE = 100;

// Scenario-wide headers, sent with every request unless a step overrides them.
const HEADERS = () => ({});

// The token captured by login() is sent in Authorization; a 401 response logs in again
// and retries the request once.
const AUTH = { token: "token", header: "Authorization", scheme: "Bearer", refreshOn: [401] };

// Each VU keeps its own variables: captures and the token.
const vars = {};
let started = false;

function startVU() {
  started = true;
  login();
}

// login runs the auth step; its captures set the token.
function login() {
  // POST /api/auth/login
  {
    const res = send("POST", () => "/api/auth/login", () => ({
      "password": "secret",
      "username": "user" + text(vu()),
    }), () => ({}), true, { endpoint: "POST /api/auth/login", flow: '' }, false);
    const tags = { endpoint: "POST /api/auth/login", stage: stageName() };
    const doc = parseJSON(res);
    captureVar(doc, "token", ["token"], "POST /api/auth/login capture token", tags);
    check(res, {
      "POST /api/auth/login status 200": (r) => [200].includes(r.status),
    }, tags);
  }
}

// Flow "cart" (weight 1).
function flowCart() {
  const flow = "cart";
  const t0 = Date.now();
  // POST /api/cart/add
  {
    const res = send("POST", () => "/api/cart/add", () => ({
      "product_id": "prod_" + text(randomInt(1, 500)),
      "quantity": skewedInt(1, 10),
      "variant": pickWeighted([["S", 20], ["M", 35], ["L", 25], ["XL", 12]]),
    }), () => ({}), true, { endpoint: "POST /api/cart/add", flow: flow }, true);
    const tags = { endpoint: "POST /api/cart/add", flow: flow, stage: stageName() };
    check(res, {
      "POST /api/cart/add status 200": (r) => [200].includes(r.status),
    }, tags);
  }
  sleep(uniform(0.5, 1.5));
  flowDuration.add(Date.now() - t0, { flow });
}

// Flow "orders" (weight 1).
function flowOrders() {
  const flow = "orders";
  const t0 = Date.now();
  // POST /api/orders/create
  {
    const res = send("POST", () => "/api/orders/create", () => ({}), () => ({}), true, { endpoint: "POST /api/orders/create", flow: flow }, true);
    const tags = { endpoint: "POST /api/orders/create", flow: flow, stage: stageName() };
    const doc = parseJSON(res);
    captureVar(doc, "orderId", ["id"], "POST /api/orders/create capture orderId", tags);
    check(res, {
      "POST /api/orders/create status 201": (r) => [201].includes(r.status),
    }, tags);
  }
  sleep(uniform(0.5, 1.5));
  // GET /api/orders/{id}
  {
    const res = send("GET", () => "/api/orders/" + text(v("orderId")), () => undefined, () => ({}), false, { endpoint: "GET /api/orders/{id}", flow: flow }, true);
    const tags = { endpoint: "GET /api/orders/{id}", flow: flow, stage: stageName() };
    check(res, {
      "GET /api/orders/{id} status 200": (r) => [200].includes(r.status),
    }, tags);
  }
  sleep(uniform(0.5, 1.5));
  flowDuration.add(Date.now() - t0, { flow });
}

// Each iteration runs one flow, chosen by weight.
export default function () {
  if (!started) startVU();
  const r = Math.random() * 2;
  if (r < 1) flowCart();
  else flowOrders();
}

// ---- helpers (the same behaviour as headroom's runner) ----

class MissingVariable extends Error {}

// v reads a VU variable; "order.id" walks into a captured object.
function v(name) {
  if (name in vars) return vars[name];
  const dot = name.indexOf('.');
  if (dot > 0 && name.slice(0, dot) in vars) {
    const val = lookup(vars[name.slice(0, dot)], name.slice(dot + 1).split('.'));
    if (val !== undefined) return val;
  }
  throw new MissingVariable('missing variable ' + name);
}

function text(x) {
  return typeof x === 'string' ? x : JSON.stringify(x);
}

function asText(x) {
  return x === undefined ? undefined : text(x);
}

function stageName() {
  const list = STAGES[exec.scenario.name];
  if (!list || list.length === 0) return '';
  const t = Date.now() - exec.scenario.startTime;
  for (const [name, end] of list) {
    if (t < end) return name;
  }
  return list[list.length - 1][0];
}

// send renders and sends one request. A request that cannot be rendered
// (a variable a failed capture should have set) counts as a failed request.
function send(method, path, body, headers, hasBody, tags, withAuth) {
  const allTags = Object.assign({ name: tags.endpoint, stage: stageName() }, tags);
  for (const k of Object.keys(allTags)) {
    if (allTags[k] === '') delete allTags[k];
  }
  let url, payload, hdrs;
  try {
    url = path();
    if (!/^https?:\/\//.test(url)) url = BASE_URL + (url.startsWith('/') ? '' : '/') + url;
    hdrs = Object.assign({}, HEADERS(), headers());
    if (hasBody) {
      const b = body();
      if (typeof b === 'string') {
        payload = b;
        if (!hasHeader(hdrs, 'Content-Type')) hdrs['Content-Type'] = /^\s*[{[]/.test(b) ? 'application/json' : 'text/plain; charset=utf-8';
      } else {
        payload = JSON.stringify(b);
        if (!hasHeader(hdrs, 'Content-Type')) hdrs['Content-Type'] = 'application/json';
      }
    }
  } catch (e) {
    if (!(e instanceof MissingVariable)) throw e;
    errors.add(1, allTags);
    return { status: 0, body: null, error: e.message, timings: { duration: 0 } };
  }
  const params = () => {
    const h = Object.assign({}, hdrs);
    if (AUTH && withAuth && !hasHeader(h, AUTH.header) && vars[AUTH.token] !== undefined) {
      h[AUTH.header] = (AUTH.scheme ? AUTH.scheme + ' ' : '') + text(vars[AUTH.token]);
    }
    return { headers: h, tags: allTags, timeout: TIMEOUT };
  };
  let res = http.request(method, url, payload, params());
  errors.add(res.status === 0 || res.status >= 400, allTags);
  if (AUTH && withAuth && AUTH.refreshOn.includes(res.status)) {
    login();
    res = http.request(method, url, payload, params());
    errors.add(res.status === 0 || res.status >= 400, allTags);
  }
  return res;
}

function hasHeader(h, name) {
  const l = name.toLowerCase();
  return Object.keys(h).some((k) => k.toLowerCase() === l);
}

function parseJSON(res) {
  try {
    return res.body ? JSON.parse(res.body) : undefined;
  } catch (e) {
    return undefined;
  }
}

// captureVar sets a variable from the response, or unsets it so that later
// steps that need it count as failed; either way it is a check.
function captureVar(doc, name, path, checkName, tags) {
  const val = lookup(doc, path);
  if (val !== undefined) vars[name] = val;
  else delete vars[name];
  check(null, { [checkName]: () => val !== undefined }, tags);
}

function lookup(doc, path) {
  let cur = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (typeof k === 'number') {
      if (!Array.isArray(cur) || k >= cur.length) return undefined;
    } else if (Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, k)) {
      return undefined;
    }
    cur = cur[k];
  }
  return cur;
}

function uniform(lo, hi) {
  return lo + Math.random() * (hi - lo);
}

function exponential(mean) {
  return -Math.log(1 - Math.random()) * mean;
}

function normal(mean, sd) {
  const u = 1 - Math.random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  return Math.max(0, mean + z * sd);
}

function randomInt(lo, hi) {
  lo = Math.ceil(lo);
  hi = Math.floor(hi);
  if (hi < lo) return lo;
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

// skewedInt squares a uniform draw: about half the values fall in the
// lowest quarter of the range, as quantities do.
function skewedInt(lo, hi) {
  lo = Math.ceil(lo);
  hi = Math.floor(hi);
  if (hi < lo) return lo;
  const u = Math.random();
  return Math.min(hi, lo + Math.floor(u * u * (hi - lo + 1)));
}

function randomFloat(lo, hi, decimals) {
  const f = lo + Math.random() * (hi - lo);
  if (decimals === undefined) return f;
  const p = Math.pow(10, decimals);
  return Math.round(f * p) / p;
}

function pick(values) {
  return values[Math.floor(Math.random() * values.length)];
}

function pickWeighted(pairs) {
  let total = 0;
  for (const [, w] of pairs) total += w;
  let x = Math.random() * total;
  for (const [val, w] of pairs) {
    if (x < w) return val;
    x -= w;
  }
  return pairs[pairs.length - 1][0];
}

function uuid() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = Math.floor(Math.random() * 16);
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

const seqCounters = {};
function seq(start) {
  if (start === undefined) start = 1;
  const n = seqCounters[start] || 0;
  seqCounters[start] = n + 1;
  return start + (exec.vu.idInTest - 1) + n * SEQ_STRIDE;
}

function vu() {
  return exec.vu.idInTest;
}

function iter() {
  return exec.vu.iterationInScenario;
}

const FIRST_NAMES = ['Ada', 'Alan', 'Amara', 'Ben', 'Carla', 'Chen', 'Elena', 'Farah', 'Grace', 'Hugo', 'Ines', 'Kai', 'Leo', 'Maya', 'Noah', 'Omar', 'Priya', 'Rosa', 'Sam', 'Yara'];
const LAST_NAMES = ['Adams', 'Bauer', 'Costa', 'Dubois', 'Garcia', 'Gupta', 'Hansen', 'Kim', 'Lopez', 'Meyer', 'Nakamura', 'Okafor', 'Patel', 'Rossi', 'Santos', 'Silva', 'Tanaka', 'Walker', 'Weber', 'Zhang'];
const WORDS = ['amber', 'anchor', 'birch', 'canyon', 'cedar', 'comet', 'delta', 'ember', 'falcon', 'harbor', 'juniper', 'lagoon', 'maple', 'meadow', 'orbit', 'pebble', 'quartz', 'river', 'summit', 'willow'];
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function firstName() {
  return pick(FIRST_NAMES);
}

function lastName() {
  return pick(LAST_NAMES);
}

function fullName() {
  return firstName() + ' ' + lastName();
}

function email() {
  return firstName().toLowerCase() + '.' + lastName().toLowerCase() + randomInt(0, 99999) + '@example.com';
}

function word() {
  return pick(WORDS);
}

function randomString(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALNUM[Math.floor(Math.random() * ALNUM.length)];
  return s;
}

function now() {
  return new Date().toISOString();
}
