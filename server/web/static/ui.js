// Small DOM and formatting helpers shared by the pages. Elements are built
// with h() (never from HTML strings), so API text is always shown as text.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'srcdoc') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// --- Numbers. Rates and ratios are fractions; durations milliseconds. ---

export function isNum(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

export function fmtNum(v, digits) {
  if (!isNum(v)) return '–';
  const a = Math.abs(v);
  if (digits === undefined) digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : a === 0 ? 0 : 3;
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtInt(v) {
  return isNum(v) ? Math.round(v).toLocaleString('en-US') : '–';
}

export function fmtRPS(v) {
  return isNum(v) ? fmtNum(v, Math.abs(v) >= 100 ? 0 : 1) : '–';
}

export function fmtMs(v) {
  if (!isNum(v)) return '–';
  if (Math.abs(v) >= 10000) return fmtNum(v / 1000, 1) + ' s';
  return fmtNum(v, Math.abs(v) >= 100 ? 0 : 1) + ' ms';
}

export function fmtPct(v, digits) {
  if (!isNum(v)) return '–';
  const p = v * 100;
  if (digits === undefined) digits = p === 0 ? 0 : Math.abs(p) < 1 ? 2 : Math.abs(p) < 10 ? 1 : 0;
  return p.toFixed(digits) + '%';
}

export function fmtDuration(ms) {
  if (!isNum(ms)) return '–';
  let sec = Math.round(ms / 1000);
  if (sec < 60) return sec + ' s';
  const hh = Math.floor(sec / 3600);
  const mm = Math.floor((sec % 3600) / 60);
  sec %= 60;
  if (hh) return `${hh} h ${String(mm).padStart(2, '0')} min`;
  return `${mm} min ${String(sec).padStart(2, '0')} s`;
}

// fmtClock writes seconds as m:ss (or h:mm:ss).
export function fmtClock(seconds) {
  if (!isNum(seconds)) return '–';
  const neg = seconds < 0;
  let t = Math.round(Math.abs(seconds));
  const hh = Math.floor(t / 3600);
  const mm = Math.floor((t % 3600) / 60);
  t %= 60;
  const out = hh ? `${hh}:${String(mm).padStart(2, '0')}:${String(t).padStart(2, '0')}` : `${mm}:${String(t).padStart(2, '0')}`;
  return neg ? '-' + out : out;
}

export function parseTime(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) || d.getFullYear() < 1971 ? null : d;
}

export function fmtTime(v) {
  const d = v instanceof Date ? v : parseTime(v);
  if (!d) return '–';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtAgo(v) {
  const d = v instanceof Date ? v : parseTime(v);
  if (!d) return '–';
  const sec = (Date.now() - d.getTime()) / 1000;
  if (sec < 0) return 'in ' + fmtDuration(-sec * 1000);
  if (sec < 45) return 'just now';
  if (sec < 3600) return Math.round(sec / 60) + ' min ago';
  if (sec < 86400) return Math.round(sec / 3600) + ' h ago';
  return Math.round(sec / 86400) + ' d ago';
}

// timeEl shows a time as "5 min ago" with the exact time on hover.
export function timeEl(v) {
  const d = parseTime(v);
  if (!d) return h('span', { class: 'muted' }, '–');
  return h('time', { datetime: d.toISOString(), title: fmtTime(d) }, fmtAgo(d));
}

export function shortID(id) {
  return id && id.length > 14 ? id.slice(0, 12) + '…' : id || '';
}

// --- Building blocks. ---

export function badge(status) {
  return h('span', { class: 'badge ' + (status || ''), 'data-status': status || '' }, status || 'unknown');
}

// tile is a stat panel: label, big value with unit, optional sub line.
// opts: id, tone (good, warn, bad, info), sub, title, wide (two columns),
// text (a name rather than a number: smaller and wrapped).
export function tile(label, value, unit, opts = {}) {
  return h(
    'div',
    { class: ['tile', opts.tone, opts.wide && 'wide', opts.text && 'text'].filter(Boolean).join(' '), 'data-tile': opts.id || label, title: opts.title },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value, unit ? h('span', { class: 'unit' }, unit) : null),
    opts.sub ? h('div', { class: 'sub' }, opts.sub) : null,
  );
}

// table builds a table from column specs {label, num (right-aligned),
// wrap (long text that may wrap; other cells do not), get(row) → text or
// Node, cls(row) → extra class} and rows.
export function table(columns, rows, opts = {}) {
  const head = h('tr', null, columns.map((c) => h('th', { class: c.num ? 'num' : '' , title: c.title }, c.label)));
  const body = rows.map((r) => {
    const tr = h(
      'tr',
      { class: opts.onRow ? 'clickable' : '' },
      columns.map((c) => h('td', { class: [c.num ? 'num' : '', c.wrap ? 'wrap' : '', c.cls ? c.cls(r) : ''].join(' ').trim() }, c.get(r))),
    );
    if (opts.onRow) {
      tr.addEventListener('click', (ev) => {
        if (ev.target.closest('a, button')) return;
        opts.onRow(r);
      });
    }
    return tr;
  });
  return h('div', { class: 'table-wrap' }, h('table', { id: opts.id }, h('thead', null, head), h('tbody', null, body)));
}

export function alertBox(message, kind) {
  return h('div', { class: 'alert ' + (kind || ''), role: kind === 'info' ? 'status' : 'alert' }, message);
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

export function pageHead(title, metaParts, actions) {
  return h(
    'div',
    { class: 'page-head' },
    h(
      'div',
      { class: 'titles' },
      h('h1', null, title),
      metaParts && metaParts.length ? h('div', { class: 'meta' }, metaParts.filter(Boolean).map((m) => h('span', null, m))) : null,
    ),
    actions ? h('div', { class: 'actions' }, actions) : null,
  );
}

// link makes an in-app link that the router handles without a reload.
export function link(href, text, attrs) {
  return h('a', { href, 'data-link': true, ...(attrs || {}) }, text);
}
