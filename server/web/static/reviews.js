// Capacity reviews: one panel per reviewed service with its last review
// (capacity, peak, headroom against the target) and the capacity trend.

import { api, paths } from './api.js';
import { h, tile, alertBox, empty, pageHead, timeEl, isNum, parseTime, fmtRPS, fmtPct, fmtTime } from './ui.js';
import { LineChart, colors, shortNum } from './chart.js';

const DEFAULT_TARGET_HEADROOM = 0.2;

export async function reviewsPage(main, _params, ctx) {
  main.append(pageHead('Capacity reviews', ['Production capacity fitted from the metrics that already exist, on a schedule']));
  const list = h('div', { class: 'review-grid', id: 'reviews' }, empty('Loading reviews…'));
  main.append(list);
  const res = await api('GET', paths.reviews);
  if (ctx.signal.aborted) return;
  const reviews = (res && res.reviews) || [];
  if (!reviews.length) {
    list.replaceChildren(
      h('div', { class: 'panel' }, empty('No services are reviewed yet. Add one with PUT /api/v1/reviews/{service} or the reviews section of the config file.')),
    );
    return;
  }
  list.replaceChildren(...reviews.map((r) => reviewPanel(r, ctx)));
}

function reviewPanel(summary, ctx) {
  const service = summary.service;
  const body = h('div', { class: 'review-body' });
  const runBtn = h('button', { type: 'button', 'data-review-run': service }, 'Review now');
  const err = h('div', { class: 'form-error' });
  const panel = h(
    'section',
    { class: 'panel review', 'data-service': service },
    h('header', null,
      h('h3', null, service),
      h('span', { class: 'muted' }, summary.spec && summary.spec.schedule ? `schedule ${summary.spec.schedule}` : 'on request only'),
      summary.next_at ? h('span', { class: 'muted' }, ' · next ', timeEl(summary.next_at)) : null,
      runBtn),
    err,
    body,
  );
  const charts = [];
  ctx.signal.addEventListener('abort', () => charts.forEach((c) => c.destroy()));

  const load = async () => {
    const d = await api('GET', paths.review(service) + '?limit=500');
    if (ctx.signal.aborted) return;
    charts.forEach((c) => c.destroy());
    charts.length = 0;
    body.replaceChildren(...renderReview(d, charts));
  };
  runBtn.addEventListener('click', async () => {
    runBtn.disabled = true;
    runBtn.textContent = 'Reviewing…';
    err.textContent = '';
    try {
      const rec = await api('POST', paths.reviewRun(service));
      if (rec && rec.error) err.textContent = `The review failed: ${rec.error}`;
      await load();
    } catch (e) {
      err.textContent = e.message;
    } finally {
      runBtn.disabled = false;
      runBtn.textContent = 'Review now';
    }
  });
  load().catch((e) => {
    if (!ctx.signal.aborted) body.replaceChildren(alertBox(e.message));
  });
  return panel;
}

function renderReview(d, charts) {
  const spec = d.spec || {};
  const last = d.last;
  const rv = last && last.review;
  const target = rv && isNum(rv.target_headroom_ratio) && rv.target_headroom_ratio > 0
    ? rv.target_headroom_ratio
    : spec.target_headroom || DEFAULT_TARGET_HEADROOM;
  const out = [];
  if (last && last.error) out.push(alertBox(`The last review (${fmtTime(last.at)}) failed: ${last.error}`));
  if (rv) {
    const below = rv.below_target || rv.headroom_ratio < target;
    out.push(
      h('div', { class: 'tiles' },
        tile('Capacity', fmtRPS(rv.capacity_rps), 'req/s', { tone: 'good', id: 'capacity', sub: rv.limited_by ? 'limited by ' + limitName(rv, rv.limited_by) : '' }),
        tile('Peak traffic', fmtRPS(rv.peak_rps), 'req/s', { tone: 'info', id: 'peak' }),
        tile('Headroom', fmtPct(rv.headroom_ratio, 0), '', { tone: below ? 'bad' : 'good', id: 'headroom', sub: `target ${fmtPct(target, 0)}${below ? ' · below target' : ''}` }),
        tile('Bottleneck', limitName(rv, rv.bottleneck), '', { text: true, id: 'bottleneck', sub: rv.confidence ? rv.confidence + ' confidence' : '' }),
        tile('Last review', h('span', { style: 'font-size:16px' }, timeEl(last.at)), '', { id: 'last', sub: rv.points ? `${rv.points} points fitted` : '' }),
      ),
    );
  } else if (!last) {
    out.push(alertBox('Not reviewed yet.', 'info'));
  }
  const trend = (d.trend || []).filter((p) => parseTime(p.at));
  const pts = (k) => trend.map((p) => ({ x: parseTime(p.at).getTime(), y: p[k] }));
  const needed = trend.map((p) => ({ x: parseTime(p.at).getTime(), y: isNum(p.peak_rps) ? p.peak_rps * (1 + target) : null }));
  const cap = new LineChart({
    id: `trend-${cssID(d.service)}`,
    title: 'Capacity trend',
    unit: 'req/s',
    xKind: 'time',
    height: 200,
    empty: 'No successful reviews yet',
    format: (v, full) => (full ? fmtRPS(v) + ' req/s' : shortNum(v)),
    series: [
      { key: 'capacity', name: 'capacity', color: colors.green, area: true },
      { key: 'peak', name: 'peak traffic', color: colors.blue },
      { key: 'needed', name: `peak + ${fmtPct(target, 0)} headroom`, color: colors.red, dashed: true },
    ],
  });
  const head = new LineChart({
    id: `headroom-${cssID(d.service)}`,
    title: 'Headroom',
    unit: '%',
    xKind: 'time',
    height: 200,
    empty: 'No successful reviews yet',
    format: (v, full) => fmtPct(v, full ? 1 : 0),
    series: [{ key: 'headroom', name: 'capacity / peak − 1', color: colors.yellow, area: true }],
  });
  charts.push(cap, head);
  out.push(h('div', { class: 'grid charts' }, cap.el, head.el));
  // Draw once the panels are in the document and have a width.
  requestAnimationFrame(() => {
    cap.setData({ capacity: pts('capacity_rps'), peak: pts('peak_rps'), needed });
    head.setData({ headroom: pts('headroom_ratio') }, { hlines: [{ y: target, label: `target ${fmtPct(target, 0)}`, color: colors.red }] });
  });
  return out;
}

// limitName names what limits capacity: the SLO, the error-rate limit or a
// resource (by its name from the review's resources when it has one).
function limitName(rv, kind) {
  if (!kind) return '–';
  if (kind === 'latency_slo') return 'the p95 SLO';
  if (kind === 'error_rate') return 'the error-rate limit';
  const r = (rv.resources || []).find((x) => x.kind === kind);
  return r && r.name ? r.name : kind;
}

function cssID(name) {
  return String(name).replace(/[^a-zA-Z0-9_-]/g, '_');
}
