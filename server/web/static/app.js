// The headroom web UI: a small router over the pages in runs.js,
// analyses.js and reviews.js, plus the API token prompt.

import { getToken, setToken, APIError } from './api.js';
import { h, alertBox } from './ui.js';
import { runsPage, runPage } from './runs.js';
import { analysesPage, analysisPage, plansPage, planPage } from './analyses.js';
import { reviewsPage } from './reviews.js';

const routes = [
  { re: /^\/(?:ui\/?)?$/, page: runsPage, section: 'runs' },
  { re: /^\/ui\/runs\/?$/, page: runsPage, section: 'runs' },
  { re: /^\/ui\/runs\/([^/]+)\/?$/, page: runPage, section: 'runs' },
  { re: /^\/ui\/analyses\/?$/, page: analysesPage, section: 'analyses' },
  { re: /^\/ui\/analyses\/([^/]+)\/?$/, page: analysisPage, section: 'analyses' },
  { re: /^\/ui\/plans\/?$/, page: plansPage, section: 'plans' },
  { re: /^\/ui\/plans\/([^/]+)\/?$/, page: planPage, section: 'plans' },
  { re: /^\/ui\/reviews\/?$/, page: reviewsPage, section: 'reviews' },
];

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const tokenState = document.getElementById('token-state');

let current = null; // {controller} of the page shown

// navigate shows path as a new history entry.
export function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState(null, '', path);
  render();
}

// showError puts a message in the banner under the top bar; null hides it.
export function showError(err) {
  if (!err) {
    banner.hidden = true;
    banner.replaceChildren();
    return;
  }
  if (err instanceof APIError && err.status === 401) return; // the token prompt says it
  banner.replaceChildren(
    h('span', { class: 'msg', id: 'banner-msg' }, err.message || String(err)),
    h('button', { type: 'button', class: 'link', onclick: () => showError(null) }, 'Dismiss'),
  );
  banner.hidden = false;
}

function render() {
  if (current) current.controller.abort();
  showError(null);
  const path = location.pathname;
  const route = routes.find((r) => r.re.test(path));
  for (const a of document.querySelectorAll('.nav a[data-section]')) {
    a.classList.toggle('active', !!route && a.dataset.section === route.section);
  }
  const controller = new AbortController();
  current = { controller };
  main.replaceChildren();
  if (!getToken()) {
    main.append(tokenPrompt(''));
    return;
  }
  if (!route) {
    main.append(alertBox(`There is no page at ${path}.`), h('p', null, h('a', { href: '/ui/runs', 'data-link': true }, 'Go to the runs')));
    return;
  }
  const params = path.match(route.re).slice(1).map(decodeURIComponent);
  const ctx = { signal: controller.signal, navigate, showError };
  Promise.resolve()
    .then(() => route.page(main, params, ctx))
    .catch((err) => {
      if (controller.signal.aborted) return;
      if (err instanceof APIError && err.status === 401) return;
      main.append(alertBox(err.message || String(err)));
    });
}

function tokenPrompt(reason) {
  const input = h('input', {
    type: 'password',
    id: 'token-input',
    placeholder: 'API token (from HEADROOM_API_TOKENS or the token file)',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const form = h(
    'form',
    {
      class: 'panel auth-card',
      id: 'token-form',
      onsubmit: (ev) => {
        ev.preventDefault();
        const t = input.value.trim();
        if (!t) return;
        setToken(t);
        render();
      },
    },
    h('h2', null, 'Sign in with an API token'),
    h(
      'p',
      { class: 'muted' },
      'Every call to the headroom API carries a bearer token. It is kept in this tab only (sessionStorage) and sent to this service, nowhere else.',
    ),
    reason ? alertBox(reason) : null,
    h('div', { class: 'form-row' }, input, h('button', { class: 'primary', type: 'submit', id: 'token-save' }, 'Use token')),
  );
  queueMicrotask(() => input.focus());
  return form;
}

function updateTokenState() {
  const has = !!getToken();
  const forget = h('button', { type: 'button', class: 'link', id: 'token-forget', onclick: () => { setToken(''); render(); } }, 'forget');
  tokenState.replaceChildren(h('span', { class: 'dot' + (has ? ' ok' : '') }), has ? 'token set' : 'no token');
  if (has) tokenState.append(forget);
}

window.addEventListener('headroom:unauthorized', (ev) => {
  // Only the first refusal counts: calls still in flight then went out
  // without a token and would only say that.
  if (!getToken()) return;
  if (current) current.controller.abort();
  setToken('');
  main.replaceChildren(tokenPrompt(`The service refused the token: ${ev.detail}`));
});
window.addEventListener('headroom:token', updateTokenState);
window.addEventListener('popstate', render);
document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-link]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
});

// A token in the query (?token=...) is taken once and removed from the URL
// so it does not stay in the history or get bookmarked.
{
  const params = new URLSearchParams(location.search);
  const t = params.get('token');
  if (t) {
    setToken(t);
    params.delete('token');
    const q = params.toString();
    history.replaceState(null, '', location.pathname + (q ? '?' + q : '') + location.hash);
  }
}
if (location.pathname === '/' || location.pathname === '/ui' || location.pathname === '/ui/') {
  history.replaceState(null, '', '/ui/runs' + location.search);
}
updateTokenState();
render();
