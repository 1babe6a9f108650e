// Line charts drawn as inline SVG: axes with ticks and labels, grid lines,
// stage markers, threshold lines, a legend and a hover cursor with a
// tooltip. A chart re-draws itself when its panel changes width.

import { h, s, isNum, fmtClock } from './ui.js';

export const colors = {
  green: '#73bf69',
  yellow: '#fade2a',
  blue: '#5794f2',
  orange: '#ff9830',
  red: '#f2495c',
  purple: '#b877d9',
  grey: '#8e919b',
};

const MARGIN = { top: 18, right: 14, bottom: 26, left: 54 };

// shortNum writes axis values compactly: 0.05, 12, 950, 1.2k, 3.4M.
export function shortNum(v) {
  if (!isNum(v)) return '';
  const a = Math.abs(v);
  if (a >= 1e6) return trim((v / 1e6).toFixed(a >= 1e7 ? 0 : 1)) + 'M';
  if (a >= 1e3) return trim((v / 1e3).toFixed(a >= 1e4 ? 0 : 1)) + 'k';
  if (a >= 10 || a === 0) return String(Math.round(v));
  if (a >= 1) return trim(v.toFixed(1));
  return trim(v.toPrecision(2));
}

function trim(str) {
  return str.includes('.') ? str.replace(/\.?0+$/, '') : str;
}

// niceTicks returns about count round values covering [lo, hi].
export function niceTicks(lo, hi, count) {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  // The ticks cover the whole range: the first is at or below lo, the last
  // at or above hi.
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const out = [];
  for (let i = first; i <= last; i++) {
    const v = i * step;
    out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return { ticks: out, step };
}

const ELAPSED_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];
const MIN = 60e3;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TIME_STEPS = [MIN, 5 * MIN, 15 * MIN, 30 * MIN, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY];

function xTicks(kind, lo, hi, width) {
  const want = Math.max(2, Math.floor(width / 90));
  const span = Math.max(hi - lo, 1e-9);
  if (kind === 'number') return niceTicks(lo, hi, want).ticks.filter((v) => v >= lo - 1e-9 && v <= hi + 1e-9);
  const steps = kind === 'time' ? TIME_STEPS : ELAPSED_STEPS;
  let step = steps[steps.length - 1];
  for (const st of steps) {
    if (span / st <= want) {
      step = st;
      break;
    }
  }
  const offset = kind === 'time' ? new Date(lo).getTimezoneOffset() * -MIN : 0;
  const out = [];
  for (let v = Math.ceil((lo + offset) / step) * step - offset; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

function pad2(n) {
  return String(n).padStart(2, '0');
}

export function fmtX(kind, v, span) {
  if (kind === 'elapsed') return fmtClock(v);
  if (kind === 'number') return shortNum(v);
  const d = new Date(v);
  const day = `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  if (span === undefined) return `${d.getFullYear()}-${day} ${hm}`;
  if (span >= 3 * DAY) return day;
  if (span >= DAY) return `${day} ${hm}`;
  return hm;
}

// LineChart is one chart panel. spec: {id, title, unit, format(v) → text,
// xKind: 'elapsed' (seconds) | 'time' (epoch ms) | 'number', xLabel,
// height, yMinMax (the least top of the y axis), empty (text without
// data), series: [{key, name, color, dashed, area}]}.
export class LineChart {
  constructor(spec) {
    this.spec = { height: 220, xKind: 'elapsed', format: shortNum, ...spec };
    this.data = {};
    this.vlines = [];
    this.hlines = [];
    this.xDomain = null;
    this.svg = s('svg', { role: 'img', 'aria-label': spec.title, class: 'chart-svg', id: spec.id ? spec.id + '-svg' : undefined });
    this.tooltip = h('div', { class: 'tooltip', hidden: true });
    this.legend = h(
      'div',
      { class: 'legend' },
      this.spec.series.map((se) =>
        h('span', { 'data-legend': se.key }, h('i', { class: se.dashed ? 'dashed' : '', style: `background:${se.color};color:${se.color}` }), se.name),
      ),
    );
    this.latest = h('span', { class: 'muted mono', 'data-latest': true });
    this.box = h('div', { class: 'chart' }, this.svg, this.tooltip, this.legend);
    this.el = h(
      'section',
      { class: 'panel chart-panel', id: spec.id, 'data-chart': spec.id || '' },
      h('header', null, h('h3', null, spec.title, spec.unit ? h('span', { class: 'muted' }, ` (${spec.unit})`) : null), this.latest),
      this.box,
    );
    this.width = 0;
    if (typeof ResizeObserver === 'function') {
      this.observer = new ResizeObserver(() => {
        const w = this.box.clientWidth;
        if (w && Math.abs(w - this.width) > 1) this.render();
      });
      this.observer.observe(this.box);
    }
  }

  // setData replaces the points: data maps a series key to [{x, y}].
  setData(data, opts = {}) {
    this.data = data || {};
    if ('vlines' in opts) this.vlines = opts.vlines || [];
    if ('hlines' in opts) this.hlines = opts.hlines || [];
    if ('xDomain' in opts) this.xDomain = opts.xDomain;
    this.render();
  }

  // points counts the points drawn, over every series.
  points() {
    let n = 0;
    for (const se of this.spec.series) n += (this.data[se.key] || []).filter((p) => isNum(p.y)).length;
    return n;
  }

  destroy() {
    if (this.observer) this.observer.disconnect();
  }

  render() {
    const { spec } = this;
    const W = Math.max(this.box.clientWidth || 0, 280);
    const H = spec.height;
    this.width = W;
    const svg = this.svg;
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('height', String(H));
    const pw = W - MARGIN.left - MARGIN.right;
    const ph = H - MARGIN.top - MARGIN.bottom;

    const all = [];
    for (const se of spec.series) for (const p of this.data[se.key] || []) if (isNum(p.x) && isNum(p.y)) all.push(p);
    svg.dataset.points = String(all.length);
    for (const se of spec.series) {
      const item = this.legend.querySelector(`[data-legend="${se.key}"]`);
      if (item) item.hidden = spec.series.length > 1 && !(this.data[se.key] || []).some((p) => isNum(p.y));
    }
    const last = this.spec.series.map((se) => {
      const pts = (this.data[se.key] || []).filter((p) => isNum(p.y));
      return pts.length ? `${se.name} ${spec.format(pts[pts.length - 1].y)}` : '';
    });
    this.latest.textContent = all.length ? last.filter(Boolean).join(' · ') : '';

    let [x0, x1] = this.xDomain || [Infinity, -Infinity];
    if (!this.xDomain) {
      for (const p of all) {
        x0 = Math.min(x0, p.x);
        x1 = Math.max(x1, p.x);
      }
    } else {
      for (const p of all) x1 = Math.max(x1, p.x);
    }
    if (!isNum(x0) || !isNum(x1)) {
      x0 = 0;
      x1 = 1;
    }
    if (x1 <= x0) x1 = x0 + (spec.xKind === 'time' ? HOUR : 1);
    let y1 = 0;
    let y0 = Math.min(0, ...all.map((p) => p.y));
    for (const p of all) y1 = Math.max(y1, p.y);
    for (const l of this.hlines) if (isNum(l.y)) y1 = Math.max(y1, l.y);
    if (isNum(spec.yMinMax)) y1 = Math.max(y1, spec.yMinMax);
    if (y1 <= y0) y1 = y0 + 1;
    const yt = niceTicks(y0, y1 * 1.05, Math.max(2, Math.round(ph / 45)));
    y0 = yt.ticks[0];
    y1 = yt.ticks[yt.ticks.length - 1];
    const X = (v) => MARGIN.left + ((v - x0) / (x1 - x0)) * pw;
    const Y = (v) => MARGIN.top + ph - ((v - y0) / (y1 - y0)) * ph;

    // Grid and axes.
    const axis = s('g', { class: 'axis' });
    for (const t of yt.ticks) {
      const y = Y(t);
      axis.append(s('line', { class: 'grid-line', x1: MARGIN.left, x2: W - MARGIN.right, y1: y, y2: y }));
      axis.append(s('text', { x: MARGIN.left - 8, y: y + 4, 'text-anchor': 'end' }, spec.format(t)));
    }
    const span = x1 - x0;
    for (const t of xTicks(spec.xKind, x0, x1, pw)) {
      const x = X(t);
      axis.append(s('line', { class: 'grid-line', x1: x, x2: x, y1: MARGIN.top, y2: MARGIN.top + ph, opacity: 0.5 }));
      axis.append(s('text', { x, y: H - 8, 'text-anchor': 'middle' }, fmtX(spec.xKind, t, span)));
    }
    axis.append(s('line', { class: 'axis-line', x1: MARGIN.left, x2: W - MARGIN.right, y1: MARGIN.top + ph, y2: MARGIN.top + ph }));
    if (spec.xLabel) {
      axis.append(s('text', { x: W - MARGIN.right, y: MARGIN.top + ph - 6, 'text-anchor': 'end', opacity: 0.7 }, spec.xLabel));
    }
    svg.append(axis);

    // Stage markers.
    let lastLabelX = -Infinity;
    for (const v of this.vlines) {
      if (!isNum(v.x) || v.x < x0 || v.x > x1) continue;
      const x = X(v.x);
      svg.append(s('line', { class: 'vline', x1: x, x2: x, y1: MARGIN.top - 4, y2: MARGIN.top + ph }));
      if (v.label && x - lastLabelX > 70 && x < W - MARGIN.right - 20) {
        svg.append(s('text', { class: 'vline-label', x: x + 3, y: MARGIN.top - 6 }, clip(v.label, 16)));
        lastLabelX = x;
      }
    }
    for (const l of this.hlines) {
      if (!isNum(l.y)) continue;
      const y = Y(l.y);
      svg.append(s('line', { class: 'hline', x1: MARGIN.left, x2: W - MARGIN.right, y1: y, y2: y, stroke: l.color || colors.red }));
      if (l.label) svg.append(s('text', { class: 'hline-label', x: W - MARGIN.right - 4, y: y - 4, 'text-anchor': 'end', fill: l.color || colors.red }, l.label));
    }

    if (!all.length) {
      svg.append(s('text', { class: 'nodata', x: MARGIN.left + pw / 2, y: MARGIN.top + ph / 2, 'text-anchor': 'middle' }, this.spec.empty || 'No data yet'));
    }

    // Series: a line (broken at gaps), an optional area, dots when sparse.
    this.drawn = [];
    for (const se of spec.series) {
      const pts = (this.data[se.key] || []).filter((p) => isNum(p.x)).sort((a, b) => a.x - b.x);
      const valid = pts.filter((p) => isNum(p.y));
      this.drawn.push({ se, pts: valid });
      if (!valid.length) continue;
      let d = '';
      let pen = false;
      const segments = [];
      let seg = [];
      for (const p of pts) {
        if (!isNum(p.y)) {
          pen = false;
          if (seg.length) segments.push(seg);
          seg = [];
          continue;
        }
        d += (pen ? 'L' : 'M') + X(p.x).toFixed(1) + ' ' + Y(p.y).toFixed(1);
        pen = true;
        seg.push(p);
      }
      if (seg.length) segments.push(seg);
      if (se.area) {
        for (const sg of segments) {
          if (sg.length < 2) continue;
          let a = `M${X(sg[0].x).toFixed(1)} ${Y(y0).toFixed(1)}`;
          for (const p of sg) a += `L${X(p.x).toFixed(1)} ${Y(p.y).toFixed(1)}`;
          a += `L${X(sg[sg.length - 1].x).toFixed(1)} ${Y(y0).toFixed(1)}Z`;
          svg.append(s('path', { class: 'area', d: a, fill: se.color }));
        }
      }
      svg.append(
        s('path', {
          class: 'series',
          d,
          stroke: se.color,
          'stroke-dasharray': se.dashed ? '6 4' : undefined,
          'data-series': se.key,
          'data-points': valid.length,
        }),
      );
      if (valid.length < 40 || segments.some((sg) => sg.length === 1)) {
        for (const p of valid) svg.append(s('circle', { cx: X(p.x).toFixed(1), cy: Y(p.y).toFixed(1), r: valid.length < 40 ? 2.5 : 1.5, fill: se.color }));
      }
    }

    // Hover cursor and tooltip.
    const cursor = s('line', { class: 'cursor', y1: MARGIN.top, y2: MARGIN.top + ph, visibility: 'hidden' });
    const dots = s('g', { 'pointer-events': 'none' });
    const overlay = s('rect', { x: MARGIN.left, y: MARGIN.top, width: pw, height: ph, fill: 'transparent' });
    svg.append(cursor, dots, overlay);
    const hide = () => {
      cursor.setAttribute('visibility', 'hidden');
      dots.replaceChildren();
      this.tooltip.hidden = true;
    };
    overlay.addEventListener('mouseleave', hide);
    overlay.addEventListener('mousemove', (ev) => {
      if (!all.length) return;
      const r = svg.getBoundingClientRect();
      const px = ((ev.clientX - r.left) / r.width) * W;
      const xv = x0 + ((px - MARGIN.left) / pw) * (x1 - x0);
      let best = null;
      for (const { pts } of this.drawn) {
        for (const p of pts) if (!best || Math.abs(p.x - xv) < Math.abs(best - xv)) best = p.x;
      }
      if (best === null) return hide();
      const cx = X(best);
      cursor.setAttribute('x1', cx);
      cursor.setAttribute('x2', cx);
      cursor.setAttribute('visibility', 'visible');
      dots.replaceChildren();
      const rows = [];
      for (const { se, pts } of this.drawn) {
        let near = null;
        for (const p of pts) if (!near || Math.abs(p.x - best) < Math.abs(near.x - best)) near = p;
        if (!near || Math.abs(near.x - best) > (x1 - x0) / 50) continue;
        dots.append(s('circle', { cx: X(near.x), cy: Y(near.y), r: 4, fill: se.color, stroke: '#111217', 'stroke-width': 1.5 }));
        rows.push(h('div', { class: 'r' }, h('i', { style: `background:${se.color}` }), se.name, h('b', null, spec.format(near.y, true))));
      }
      this.tooltip.replaceChildren(h('div', { class: 't' }, fmtX(spec.xKind, best)), ...rows);
      this.tooltip.hidden = false;
      const bw = this.box.clientWidth;
      const left = (cx / W) * r.width;
      const tw = this.tooltip.offsetWidth;
      this.tooltip.style.left = Math.max(0, Math.min(bw - tw, left + 12 + tw > bw ? left - tw - 12 : left + 12)) + 'px';
      this.tooltip.style.top = MARGIN.top + 'px';
    });
  }
}

function clip(text, n) {
  return text.length > n ? text.slice(0, n - 1) + '…' : text;
}
