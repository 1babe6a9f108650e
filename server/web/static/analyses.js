// Analyses and plans: lists, and pages that show the headline numbers and
// embed the same self-contained HTML report (SVG charts) as
// `headroom report`, fetched with the token and shown in a sandboxed frame.

import { api, apiText, paths } from './api.js';
import {
  h, tile, table, alertBox, empty, pageHead, link, timeEl, shortID, isNum, parseTime,
  fmtNum, fmtInt, fmtRPS, fmtMs, fmtPct, fmtDuration, fmtTime,
} from './ui.js';

const REASONS = {
  latency_slo: 'p95 latency crossed the SLO',
  error_rate: 'the error rate crossed its limit',
  throughput_peak: 'throughput peaked',
  retrograde: 'throughput fell as load rose',
};

function bottleneckName(b) {
  if (!b || !b.resource) return '–';
  if (b.resource === 'none') return 'none';
  if (b.resource === 'unknown') return 'unknown';
  return b.name || b.resource;
}

// --- Analyses. ---

export async function analysesPage(main, _params, ctx) {
  main.append(pageHead('Analyses', ['Where each analysed run broke and what broke first, newest first']));
  const res = await api('GET', paths.analyses + '?limit=200');
  if (ctx.signal.aborted) return;
  const rows = (res && res.analyses) || [];
  if (!rows.length) {
    main.append(h('div', { class: 'panel' }, empty('No analyses yet. Open a finished run and press Analyze.')));
    return;
  }
  main.append(
    h('div', { class: 'panel' }, table(
      [
        { label: 'Analysis', get: (a) => link(`/ui/analyses/${encodeURIComponent(a.id)}`, shortID(a.id), { class: 'mono' }) },
        { label: 'Run', get: (a) => (a.run_id ? link(`/ui/runs/${encodeURIComponent(a.run_id)}`, shortID(a.run_id), { class: 'mono' }) : 'window') },
        { label: 'Scenario', get: (a) => (a.analysis && a.analysis.scenario) || '–' },
        { label: 'Created', get: (a) => timeEl(a.created_at) },
        { label: 'Breaking point', num: true, get: (a) => (a.analysis && a.analysis.breaking_point ? fmtRPS(a.analysis.breaking_point.rps) + ' req/s' : 'none') },
        { label: 'Bottleneck', get: (a) => bottleneckName(a.analysis && a.analysis.bottleneck) },
        { label: 'Verdict', wrap: true, get: (a) => h('span', { class: 'muted' }, (a.analysis && a.analysis.verdict) || '') },
      ],
      rows,
      { id: 'analyses-table', onRow: (a) => ctx.navigate(`/ui/analyses/${encodeURIComponent(a.id)}`) },
    )),
  );
}

export async function analysisPage(main, [id], ctx) {
  const res = await api('GET', paths.analysis(id));
  if (ctx.signal.aborted) return;
  const a = res.analysis || {};
  const bp = a.breaking_point;
  const b = a.bottleneck || {};
  const w = a.window || {};
  const winMs = parseTime(w.end) && parseTime(w.start) ? parseTime(w.end) - parseTime(w.start) : null;
  const root = h('div', { id: 'analysis-page', 'data-analysis-id': id });
  main.append(root);
  root.append(
    pageHead(
      [h('span', { class: 'muted' }, 'Analysis'), h('span', { class: 'mono' }, id)],
      [
        res.run_id ? h('span', null, 'run ', link(`/ui/runs/${encodeURIComponent(res.run_id)}`, shortID(res.run_id), { class: 'mono' })) : 'Prometheus window',
        a.scenario ? 'scenario ' + a.scenario : '',
        a.load_model ? a.load_model + ' model' : '',
        winMs ? 'window ' + fmtDuration(winMs) : '',
        'created ' + fmtTime(res.created_at),
      ],
      [res.run_id ? link(`/ui/runs/${encodeURIComponent(res.run_id)}`, 'Open run', { class: 'button' }) : null],
    ),
    h('section', { class: 'verdict' + (bp ? ' broke' : ''), id: 'analysis-verdict' },
      h('div', { class: 'label' }, bp ? 'Breaking point found' : 'No breaking point in the tested range'),
      h('p', null, a.verdict || '–')),
  );
  const slo = a.slo || {};
  const usl = a.usl;
  root.append(
    h('div', { class: 'tiles', id: 'analysis-tiles' },
      bp
        ? tile('Breaking point', fmtRPS(bp.rps), 'req/s', { tone: 'warn', id: 'breaking-point', sub: `${fmtNum(bp.vus, 0)} VUs · ${REASONS[bp.reason] || bp.reason}` })
        : tile('Breaking point', 'none', '', { tone: 'good', id: 'breaking-point', sub: 'held in the tested range' }),
      tile('Tested up to', fmtRPS(a.tested_up_to_rps), 'req/s', { id: 'tested', sub: isNum(a.tested_up_to_vus) && a.tested_up_to_vus ? `${fmtNum(a.tested_up_to_vus, 0)} VUs` : '' }),
      tile('Bottleneck', bottleneckName(b), '', {
        text: true,
        tone: b.resource && b.resource !== 'none' && b.resource !== 'unknown' ? 'bad' : '',
        id: 'bottleneck',
        sub: [b.confidence ? b.confidence + ' confidence' : '', isNum(b.saturated_at_rps) ? `saturated at ${fmtRPS(b.saturated_at_rps)} req/s` : ''].filter(Boolean).join(' · '),
        title: b.evidence,
      }),
      usl && isNum(usl.peak_x)
        ? tile('USL peak', fmtRPS(usl.peak_x), 'req/s', { id: 'usl', sub: `at ${fmtNum(usl.peak_n, 0)} concurrency · R² ${fmtNum(usl.r2, 2)}` })
        : tile('USL fit', usl ? `R² ${fmtNum(usl.r2, 2)}` : '–', '', { id: 'usl', sub: usl ? 'no peak in range' : a.usl_error || '' }),
      tile('SLO p95', fmtNum(slo.p95_ms, 0), 'ms', { id: 'slo', sub: `errors ≤ ${fmtPct(slo.max_error_rate)}` }),
      tile('Requests', fmtInt(a.total && a.total.requests), '', { id: 'requests', sub: a.total ? `${fmtPct(a.total.error_rate)} errors · p95 ${fmtMs(a.total.p95_ms)}` : '' }),
    ),
  );
  if (b.evidence) root.append(alertBox(`Bottleneck evidence: ${b.evidence}`, 'info'));
  const warnings = a.warnings || [];
  if (warnings.length) {
    root.append(h('div', { class: 'alert info' }, h('b', null, 'Warnings'), h('ul', null, warnings.map((x) => h('li', null, x.message || x.text || JSON.stringify(x))))));
  }
  root.append(planForm(id, ctx));
  root.append(reportPanel(paths.analysisReport(id), `Report of analysis ${id}`, ctx));
}

const EXAMPLE_TOPOLOGY = {
  service: 'checkout',
  api: { pods: 3, instance_type: 'm6i.large', cpu_request: '500m', cpu_limit: '1', memory_request: '512Mi', memory_limit: '1Gi', db_pool_size: 20 },
  database: { engine: 'postgres', instance_class: 'db.r5.large', max_connections: 100, reserved_connections: 10, cpu_utilization: 0.3 },
  cache: { engine: 'redis', node_type: 'cache.r6g.large', nodes: 1 },
  baseline: { rps: 180, peak_rps: 210 },
};

function planForm(analysisID, ctx) {
  const topo = h('textarea', { id: 'plan-topology', rows: 16, spellcheck: 'false', value: JSON.stringify(EXAMPLE_TOPOLOGY, null, 2) });
  const mult = h('input', { id: 'plan-multiplier', type: 'number', step: 'any', min: '0', value: '3' });
  const rps = h('input', { id: 'plan-target-rps', type: 'number', step: 'any', min: '0', placeholder: 'or a target in req/s' });
  const headroom = h('input', { id: 'plan-headroom', type: 'number', step: 'any', min: '0', placeholder: '0.20' });
  const err = h('div', { class: 'form-error', id: 'plan-error', role: 'alert' });
  const submit = h('button', { class: 'primary', type: 'submit', id: 'plan-create' }, 'Make plan');
  const form = h('form', {
    class: 'form',
    onsubmit: async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      let topology;
      try {
        topology = JSON.parse(topo.value);
      } catch (e) {
        err.textContent = `topology: not valid JSON: ${e.message}`;
        return;
      }
      const body = { analysis_id: analysisID, topology };
      if (rps.value) body.target_rps = Number(rps.value);
      else if (mult.value) body.target_multiplier = Number(mult.value);
      if (headroom.value) body.target_headroom = Number(headroom.value);
      submit.disabled = true;
      try {
        const res = await api('POST', paths.plans, body);
        ctx.navigate(`/ui/plans/${encodeURIComponent(res.id)}`);
      } catch (e) {
        err.textContent = e.message;
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('div', null, h('label', { for: 'plan-topology' }, 'Production topology (topology.yaml as JSON)'), topo),
  h('div', { class: 'row' },
    h('div', { class: 'field' }, h('label', { for: 'plan-multiplier' }, 'Target multiplier of baseline traffic'), mult),
    h('div', { class: 'field' }, h('label', { for: 'plan-target-rps' }, 'Target req/s (instead of a multiplier)'), rps),
    h('div', { class: 'field' }, h('label', { for: 'plan-headroom' }, 'Spare capacity wanted (fraction)'), headroom)),
  h('div', { class: 'buttons' }, submit, err));
  return h('details', { class: 'panel', id: 'plan-form-panel' }, h('summary', null, 'Plan capacity from this analysis'), form);
}

// reportPanel fetches an HTML report with the token and shows it in a
// frame sized to its content. The frame may not run scripts; it shares the
// page's origin only so that the page can measure it.
function reportPanel(url, title, ctx) {
  const frame = h('iframe', { class: 'report-frame', id: 'report-frame', title, sandbox: 'allow-same-origin allow-popups', referrerpolicy: 'no-referrer' });
  const status = h('span', { class: 'muted', id: 'report-status' }, 'loading…');
  const open = h('a', { class: 'button', target: '_blank', rel: 'noopener', hidden: true, id: 'report-open' }, 'Open in a new tab');
  const panel = h('section', { class: 'panel report-panel', id: 'report-panel' }, h('header', null, h('h3', null, 'Report'), status, open), frame);
  const fit = () => {
    const doc = frame.contentDocument;
    if (!doc || !doc.documentElement) return;
    frame.style.height = Math.max(600, doc.documentElement.scrollHeight + 4) + 'px';
  };
  let observer = null;
  frame.addEventListener('load', () => {
    fit();
    // The frame is as tall as the report, so its own links to sections
    // (the contents) scroll this page instead.
    const doc = frame.contentDocument;
    if (doc) {
      doc.addEventListener('click', (ev) => {
        const a = ev.target.closest && ev.target.closest('a[href^="#"]');
        if (!a) return;
        const el = doc.getElementById(decodeURIComponent(a.getAttribute('href').slice(1)));
        if (!el) return;
        ev.preventDefault();
        const top = frame.getBoundingClientRect().top + window.scrollY + el.getBoundingClientRect().top - 56;
        // Smooth unless the user asked for less motion.
        const still = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
        window.scrollTo({ top, behavior: still ? 'auto' : 'smooth' });
      });
    }
    // Re-fit when the report reflows (fonts, a narrower window).
    if (observer) observer.disconnect();
    if (typeof ResizeObserver === 'function' && frame.contentDocument && frame.contentDocument.body) {
      observer = new ResizeObserver(fit);
      observer.observe(frame.contentDocument.body);
    }
    panel.dataset.loaded = 'true';
    status.textContent = '';
  });
  const onResize = () => fit();
  window.addEventListener('resize', onResize);
  ctx.signal.addEventListener('abort', () => {
    window.removeEventListener('resize', onResize);
    if (observer) observer.disconnect();
  });
  apiText(url)
    .then((html) => {
      if (ctx.signal.aborted) return;
      frame.srcdoc = html;
      const blobURL = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
      open.href = blobURL;
      open.hidden = false;
      ctx.signal.addEventListener('abort', () => URL.revokeObjectURL(blobURL));
    })
    .catch((e) => {
      if (ctx.signal.aborted) return;
      status.textContent = '';
      panel.replaceChildren(alertBox(`Could not load the report: ${e.message}`));
    });
  return panel;
}

// --- Plans. ---

export async function plansPage(main, _params, ctx) {
  main.append(pageHead('Plans', ['Capacity plans made from analyses, newest first']));
  const res = await api('GET', paths.plans + '?limit=200');
  if (ctx.signal.aborted) return;
  const rows = (res && res.plans) || [];
  if (!rows.length) {
    main.append(h('div', { class: 'panel' }, empty('No plans yet. Open an analysis and make one.')));
    return;
  }
  main.append(h('div', { class: 'panel' }, table(
    [
      { label: 'Plan', get: (p) => link(`/ui/plans/${encodeURIComponent(p.id)}`, shortID(p.id), { class: 'mono' }) },
      { label: 'Service', get: (p) => (p.plan && p.plan.service) || '–' },
      { label: 'Analysis', get: (p) => link(`/ui/analyses/${encodeURIComponent(p.analysis_id)}`, shortID(p.analysis_id), { class: 'mono' }) },
      { label: 'Created', get: (p) => timeEl(p.created_at) },
      { label: 'Target', num: true, get: (p) => (p.plan && p.plan.target ? fmtRPS(p.plan.target.target_rps) + ' req/s' : '–') },
      { label: 'Cost change / month', num: true, get: (p) => money(p.plan && p.plan.totals, 'delta_monthly') },
      { label: 'Verdict', wrap: true, get: (p) => h('span', { class: 'muted' }, (p.plan && p.plan.verdict) || '') },
    ],
    rows,
    { id: 'plans-table', onRow: (p) => ctx.navigate(`/ui/plans/${encodeURIComponent(p.id)}`) },
  )));
}

const SYMBOLS = { USD: '$', EUR: '€', GBP: '£', JPY: '¥' };

// money writes an amount of totals.currency, such as +$288 or 120 CHF.
function money(totals, key) {
  if (!totals || !isNum(totals[key])) return '–';
  return amount(totals[key], totals.currency, key === 'delta_monthly');
}

function amount(v, currency, signed) {
  const sign = signed && v > 0 ? '+' : v < 0 ? '−' : '';
  const n = fmtNum(Math.abs(v), 0);
  const sym = SYMBOLS[currency];
  return sym ? `${sign}${sym}${n}` : `${sign}${n} ${currency || ''}`.trim();
}

export async function planPage(main, [id], ctx) {
  const res = await api('GET', paths.plan(id));
  if (ctx.signal.aborted) return;
  const p = res.plan || {};
  const t = p.target || {};
  const m = p.measured || {};
  const tot = p.totals || {};
  const root = h('div', { id: 'plan-page', 'data-plan-id': id });
  main.append(root);
  root.append(
    pageHead(
      [h('span', { class: 'muted' }, 'Plan'), h('span', { class: 'mono' }, id)],
      [
        p.service ? 'service ' + p.service : '',
        h('span', null, 'analysis ', link(`/ui/analyses/${encodeURIComponent(res.analysis_id)}`, shortID(res.analysis_id), { class: 'mono' })),
        'created ' + fmtTime(res.created_at),
      ],
      [link(`/ui/analyses/${encodeURIComponent(res.analysis_id)}`, 'Open analysis', { class: 'button' })],
    ),
    h('section', { class: 'verdict' + ((p.changes || []).some((c) => !c.optional) ? ' broke' : ''), id: 'plan-verdict' },
      h('div', { class: 'label' }, 'Plan'), h('p', null, p.verdict || '–')),
    h('div', { class: 'tiles', id: 'plan-tiles' },
      tile('Target', fmtRPS(t.target_rps), 'req/s', { tone: 'info', id: 'target', sub: `${fmtNum(t.multiplier, 1)}× baseline ${fmtRPS(t.baseline_rps)} req/s` }),
      tile('Required', fmtRPS(t.required_rps), 'req/s', { id: 'required', sub: `with ${fmtPct(t.headroom_ratio)} headroom` }),
      tile('Capacity today', fmtRPS(m.production_capacity_rps || m.capacity_rps), 'req/s', {
        tone: (m.production_capacity_rps || m.capacity_rps) < t.required_rps ? 'bad' : 'good',
        id: 'capacity',
        sub: `headroom ${fmtPct(m.current_headroom_ratio)} · bottleneck ${m.bottleneck_name || m.bottleneck || 'unknown'}`,
      }),
      tile('Capacity after', fmtRPS(tot.expected_capacity_rps), 'req/s', { tone: 'good', id: 'expected', sub: tot.expected_limit ? 'then limited by ' + tot.expected_limit : '' }),
      tile('Cost change', money(tot, 'delta_monthly'), '/month', { id: 'cost', sub: `${money(tot, 'current_monthly')} → ${money(tot, 'new_monthly')}` }),
    ),
  );
  const changes = p.changes || [];
  if (changes.length) {
    root.append(h('div', { class: 'section' }, h('h2', null, 'Changes')));
    root.append(h('div', { class: 'panel' }, table(
      [
        { label: 'Change', get: (c) => h('span', null, h('b', null, c.title), c.optional ? h('span', { class: 'muted' }, ' (optional)') : null) },
        { label: 'From → to', get: (c) => (c.from || c.to ? `${c.from || '–'} → ${c.to || '–'}` : '–') },
        { label: 'Why', wrap: true, get: (c) => h('span', { class: 'muted' }, c.why || c.what || '') },
        { label: 'Cost / month', num: true, get: (c) => (isNum(c.monthly_cost_delta) ? amount(c.monthly_cost_delta, tot.currency, true) : '–') },
      ],
      changes,
      { id: 'plan-changes' },
    )));
  }
  root.append(reportPanel(paths.planReport(id), `Report of plan ${id}`, ctx));
}

