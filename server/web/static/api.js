// The JSON API client: every call carries the bearer token kept in
// sessionStorage (so it is forgotten when the tab closes); a 401 asks the
// page for a token again.

const TOKEN_KEY = 'headroom.token';

// memoryToken keeps the token when sessionStorage is unavailable.
let memoryToken = '';

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage may be disabled; the token then lasts until the page reloads.
  }
  memoryToken = token || '';
  window.dispatchEvent(new CustomEvent('headroom:token'));
}

function token() {
  return getToken() || memoryToken;
}

// APIError is a failed call: status is the HTTP status (0 when the service
// could not be reached) and message the API's own error text.
export class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'APIError';
    this.status = status;
  }
}

async function call(method, path, body, accept) {
  const headers = { Accept: accept };
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new APIError(0, `could not reach the headroom service (${method} ${path}): ${err.message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let msg = '';
    try {
      msg = JSON.parse(text).error || '';
    } catch {
      msg = text.trim().slice(0, 500);
    }
    if (!msg) msg = `${res.status} ${res.statusText}`;
    if (res.status === 401) {
      window.dispatchEvent(new CustomEvent('headroom:unauthorized', { detail: msg }));
    }
    throw new APIError(res.status, `${method} ${path}: ${msg} (HTTP ${res.status})`);
  }
  return { res, text };
}

// api calls the JSON API and returns the decoded body (null when empty).
export async function api(method, path, body) {
  const { text } = await call(method, path, body, 'application/json');
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new APIError(500, `${method} ${path}: the response is not JSON: ${err.message}`);
  }
}

// apiText fetches a text resource such as report.html.
export async function apiText(path) {
  const { text } = await call('GET', path, undefined, 'text/html');
  return text;
}

// Paths of the API, with ids escaped.
export const paths = {
  runs: '/api/v1/runs',
  run: (id) => `/api/v1/runs/${encodeURIComponent(id)}`,
  analyses: '/api/v1/analyses',
  analysis: (id) => `/api/v1/analyses/${encodeURIComponent(id)}`,
  analysisReport: (id) => `/api/v1/analyses/${encodeURIComponent(id)}/report.html`,
  plans: '/api/v1/plans',
  plan: (id) => `/api/v1/plans/${encodeURIComponent(id)}`,
  planReport: (id) => `/api/v1/plans/${encodeURIComponent(id)}/report.html`,
  reviews: '/api/v1/reviews',
  review: (service) => `/api/v1/reviews/${encodeURIComponent(service)}`,
  reviewRun: (service) => `/api/v1/reviews/${encodeURIComponent(service)}/run`,
};
