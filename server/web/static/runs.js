// The runs list with the form that starts a run, and the run page: live
// statistics and charts while it runs (polled every second), the stage
// table once it has finished, and the buttons that stop or analyse it.

import { api, paths, APIError } from './api.js';
import {
  h, badge, tile, table, alertBox, empty, pageHead, link, timeEl, shortID, parseTime,
  fmtNum, fmtInt, fmtRPS, fmtMs, fmtPct, fmtDuration, fmtClock, fmtTime,
} from './ui.js';
import { LineChart, colors, shortNum } from './chart.js';

const POLL_MS = 1000;
const FINISHED = ['completed', 'aborted', 'interrupted', 'stopped', 'failed'];

export const EXAMPLE_SCENARIO = `# A short closed-model ramp against the checkout demo
# (go run ./examples/checkout/cmd/checkout -backend sim, or headroom demo).
name: checkout-quick
target: http://127.0.0.1:8080
timeout: 10s
headers:
  Content-Type: application/json

auth:
  step:
    method: POST
    path: /api/auth/login
    body:
      username: "user{{vu()}}"
      password: secret
    capture:
      token: $.token

flows:
  - name: order
    steps:
      - method: POST
        path: /api/orders/create
        body: {}
        checks:
          - status: [201]
        think:
          min: 100ms
          max: 300ms

executors:
  - type: ramping-vus
    stages:
      - {duration: 20s, target: 20}
      - {duration: 20s, target: 60}
      - {duration: 20s, target: 120}
`;

function durationOf(r) {
  const a = parseTime(r.started_at);
  if (!a) return null;
  const b = parseTime(r.ended_at) || (r.status === 'running' ? new Date() : null);
  return b ? b - a : null;
}

// --- The runs list. ---

export async function runsPage(main, _params, ctx) {
  const list = h('div', { id: 'runs-list' }, empty('Loading runs…'));
  const form = runForm(ctx);
  main.append(pageHead('Runs', ['Load tests started by this service, newest first']), form, h('div', { class: 'section' }, h('h2', null, 'Recent runs')), list);
  let first = true;

  let timer = 0;
  const load = async () => {
    const res = await api('GET', paths.runs + '?limit=100');
    if (ctx.signal.aborted) return;
    const runs = (res && res.runs) || [];
    // The form starts open when there is nothing to look at yet.
    if (first && !runs.length) form.open = true;
    first = false;
    if (!runs.length) {
      list.replaceChildren(h('div', { class: 'panel' }, empty('No runs yet. Start one with the form above.')));
    } else {
      list.replaceChildren(
        h(
          'div',
          { class: 'panel' },
          table(
            [
              { label: 'Status', get: (r) => badge(r.status) },
              { label: 'Run', get: (r) => link(`/ui/runs/${encodeURIComponent(r.id)}`, r.id, { class: 'mono' }) },
              { label: 'Scenario', get: (r) => r.scenario || '–' },
              { label: 'Target', get: (r) => h('span', { class: 'mono' }, r.target || '–') },
              { label: 'Started', get: (r) => timeEl(r.started_at) },
              { label: 'Duration', num: true, get: (r) => fmtDuration(durationOf(r)) },
              { label: 'Error', wrap: true, get: (r) => (r.error ? h('span', { class: 'bad-cell' }, r.error) : '') },
            ],
            runs,
            { id: 'runs-table', onRow: (r) => ctx.navigate(`/ui/runs/${encodeURIComponent(r.id)}`) },
          ),
        ),
      );
    }
    // Refresh while something runs, so statuses move on their own.
    if (runs.some((r) => r.status === 'running')) timer = setTimeout(() => load().catch(ctx.showError), 3000);
  };
  ctx.signal.addEventListener('abort', () => clearTimeout(timer));
  await load();
}

function runForm(ctx) {
  const scenario = h('textarea', { id: 'run-scenario', rows: 20, spellcheck: 'false', value: EXAMPLE_SCENARIO });
  const target = h('input', { id: 'run-target', type: 'url', placeholder: 'http://127.0.0.1:8080', value: '' });
  const selector = h('input', { id: 'run-selector', type: 'text', placeholder: '{job="checkout"}' });
  const scrape = h('input', { id: 'run-scrape', type: 'text', placeholder: 'checkout=http://127.0.0.1:8080/metrics' });
  const err = h('div', { class: 'form-error', id: 'run-error', role: 'alert' });
  const submit = h('button', { class: 'primary', type: 'submit', id: 'run-start' }, 'Start run');
  const form = h(
    'form',
    {
      class: 'form',
      id: 'run-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        err.textContent = '';
        const body = { scenario_yaml: scenario.value };
        if (target.value.trim()) body.target = target.value.trim();
        const options = {};
        if (selector.value.trim()) options.selector = selector.value.trim();
        const scr = scrape.value.split(/[\s,]+/).filter(Boolean);
        if (scr.length) options.scrape = scr;
        if (Object.keys(options).length) body.options = options;
        submit.disabled = true;
        submit.textContent = 'Starting…';
        try {
          const run = await api('POST', paths.runs, body);
          ctx.navigate(`/ui/runs/${encodeURIComponent(run.id)}`);
        } catch (e) {
          err.textContent = e.message;
        } finally {
          submit.disabled = false;
          submit.textContent = 'Start run';
        }
      },
    },
    h(
      'div',
      { class: 'run-form-grid' },
      h('div', null, h('label', { for: 'run-scenario' }, 'Scenario (scenario.yaml)'), scenario),
      h(
        'div',
        { class: 'fields' },
        h('div', { class: 'field' }, h('label', { for: 'run-target' }, 'Target'), target, h('div', { class: 'hint' }, "Overrides the scenario's target; its host must be on the service's allowlist.")),
        h('div', { class: 'field' }, h('label', { for: 'run-selector' }, 'Selector (optional)'), selector, h('div', { class: 'hint' }, "PromQL label selector of the system's series, recorded for the analysis.")),
        h('div', { class: 'field' }, h('label', { for: 'run-scrape' }, 'Scrape (optional)'), scrape, h('div', { class: 'hint' }, 'Embedded store only: /metrics endpoints to record during the run, [JOB=]URL, comma-separated. Needed to name a bottleneck.')),
        h('div', { class: 'buttons' }, submit),
        err,
      ),
    ),
  );
  return h('details', { class: 'panel', id: 'run-form-panel' }, h('summary', null, 'Start a run'), form);
}

// --- One run. ---

// The points polled while a run runs are kept in the tab's sessionStorage,
// so that leaving the page and coming back keeps the chart's history (the
// API gives the current values only).
const LIVE_KEY = 'headroom.live.';
const LIVE_MAX = 1800;

function loadLive(id) {
  try {
    const v = JSON.parse(sessionStorage.getItem(LIVE_KEY + id) || 'null');
    if (v && Array.isArray(v.points) && Array.isArray(v.stages)) return v;
  } catch {
    // Unreadable or absent: start afresh.
  }
  return { points: [], stages: [] };
}

function saveLive(id, points, stages) {
  try {
    sessionStorage.setItem(LIVE_KEY + id, JSON.stringify({ points, stages }));
  } catch {
    // Storage is full or disabled: the history lasts as long as the page.
  }
}

export async function runPage(main, [id], ctx) {
  const saved = loadLive(id);
  const live = saved.points; // polled points: {x (s), rps, p95, vus, rate, err}
  const liveStages = saved.stages; // {x, label} where the live stage changed
  let lastStage = liveStages.length ? liveStages[liveStages.length - 1].label : '';
  let shown = null; // the last run resource

  const charts = {
    rps: new LineChart({ id: 'chart-rps', title: 'Throughput', unit: 'req/s', xLabel: 'elapsed', format: (v, full) => (full ? fmtRPS(v) : shortNum(v)), series: [
      { key: 'rps', name: 'completed req/s', color: colors.green, area: true },
      { key: 'rate', name: 'target rate (iterations/s)', color: colors.grey, dashed: true },
    ] }),
    p95: new LineChart({ id: 'chart-p95', title: 'Latency p95', unit: 'ms', xLabel: 'elapsed', format: (v, full) => (full ? fmtMs(v) : shortNum(v)), series: [
      { key: 'p95', name: 'p95', color: colors.yellow, area: true },
      { key: 'p99', name: 'p99', color: colors.orange, dashed: true },
    ] }),
    vus: new LineChart({ id: 'chart-vus', title: 'Virtual users', unit: 'VUs', xLabel: 'elapsed', format: (v, full) => (full ? fmtInt(v) : shortNum(v)), series: [
      { key: 'vus', name: 'active VUs', color: colors.blue, area: true },
    ] }),
    err: new LineChart({ id: 'chart-errors', title: 'Error rate', unit: '%', xLabel: 'elapsed', yMinMax: 0.01, format: (v, full) => (full ? fmtPct(v) : fmtPct(v, v === 0 ? 0 : 1)), series: [
      { key: 'err', name: 'failed / all requests', color: colors.red, area: true },
    ] }),
  };
  ctx.signal.addEventListener('abort', () => Object.values(charts).forEach((c) => c.destroy()));

  const head = h('div');
  const progress = h('div', { id: 'run-progress' });
  const notice = h('div');
  const tiles = h('div', { class: 'tiles', id: 'run-tiles' });
  const details = h('div', { id: 'run-details' });
  const root = h(
    'div',
    { id: 'run-page', 'data-run-id': id },
    head,
    notice,
    progress,
    tiles,
    h('div', { class: 'grid charts two' }, charts.rps.el, charts.p95.el, charts.vus.el, charts.err.el),
    details,
  );
  main.append(root);

  const actions = { stop: null, analyze: null };
  let analyses = null;

  const loadAnalyses = async () => {
    try {
      const res = await api('GET', paths.analyses + '?limit=1000');
      analyses = ((res && res.analyses) || []).filter((a) => a.run_id === id);
    } catch (e) {
      analyses = [];
      ctx.showError(e);
    }
  };

  const renderHead = (r) => {
    const finished = FINISHED.includes(r.status);
    const stop = h('button', { class: 'danger', id: 'run-stop', type: 'button', hidden: finished }, 'Stop run');
    let armed = 0;
    stop.addEventListener('click', async () => {
      if (!armed) {
        stop.textContent = 'Click again to stop';
        armed = setTimeout(() => { armed = 0; stop.textContent = 'Stop run'; }, 3000);
        return;
      }
      clearTimeout(armed);
      stop.disabled = true;
      stop.textContent = 'Stopping…';
      try {
        const res = await api('DELETE', paths.run(id));
        if (!ctx.signal.aborted) update(res);
      } catch (e) {
        ctx.showError(e);
        stop.disabled = false;
        stop.textContent = 'Stop run';
      }
    });
    const canAnalyze = finished && r.status !== 'failed';
    const analyze = h('button', { class: 'primary', id: 'run-analyze', type: 'button', hidden: !canAnalyze }, 'Analyze');
    analyze.addEventListener('click', async () => {
      analyze.disabled = true;
      analyze.textContent = 'Analyzing…';
      try {
        const res = await api('POST', paths.analyses, { run_id: id });
        ctx.navigate(`/ui/analyses/${encodeURIComponent(res.id)}`);
      } catch (e) {
        if (!ctx.signal.aborted) {
          ctx.showError(e);
          analyze.disabled = false;
          analyze.textContent = 'Analyze';
        }
      }
    });
    const existing = (analyses || []).map((a) => link(`/ui/analyses/${encodeURIComponent(a.id)}`, 'Analysis ' + shortID(a.id), { class: 'button', 'data-analysis-link': a.id }));
    actions.stop = stop;
    actions.analyze = analyze;
    const started = parseTime(r.started_at);
    head.replaceChildren(
      pageHead(
        [h('span', { class: 'muted' }, 'Run'), h('span', { class: 'mono', id: 'run-id' }, id), h('span', { id: 'run-status' }, badge(r.status))],
        [
          r.scenario ? 'scenario ' + r.scenario : '',
          r.target ? h('span', { class: 'mono' }, r.target) : '',
          started ? 'started ' + fmtTime(started) : '',
          r.status === 'running' ? '' : 'duration ' + fmtDuration(durationOf(r)),
        ],
        [existing, stop, analyze],
      ),
    );
    notice.replaceChildren(
      r.error ? alertBox(`The run failed: ${r.error}`) : '',
      r.status === 'interrupted' ? alertBox('The service stopped while this run was in progress; the results below are partial.', 'info') : '',
      r.status === 'stopped' ? alertBox('This run was stopped before its end; the results below are partial.', 'info') : '',
      r.status === 'aborted' ? alertBox('A threshold with abortOnFail failed and ended the run early.', 'info') : '',
    );
  };

  const update = (r) => {
    const prev = shown;
    shown = r;
    root.dataset.status = r.status;
    if (!prev || prev.status !== r.status || !actions.stop) renderHead(r);
    else {
      const st = document.getElementById('run-status');
      if (st) st.replaceChildren(badge(r.status));
    }
    const L = r.live;
    if (r.status === 'running' && !L) {
      progress.replaceChildren(h('div', { class: 'panel muted' }, 'Starting…'));
      return;
    }
    if (r.status === 'running') {
      const x = (L.elapsed_ms || 0) / 1000;
      if (live.length && x - live[live.length - 1].x > 5) {
        // The page was away: break the lines rather than draw across.
        live.push({ x: live[live.length - 1].x + 1, rps: null, p95: null, vus: null, rate: null, err: null });
      }
      if (!live.length || x > live[live.length - 1].x) {
        live.push({ x, rps: L.rps, p95: L.p95_ms, vus: L.vus, rate: L.target_rate > 0 ? L.target_rate : null, err: L.error_rate });
      }
      if (L.stage && L.stage !== lastStage) {
        liveStages.push({ x, label: L.stage });
        lastStage = L.stage;
      }
      if (live.length > LIVE_MAX) {
        // Thin the oldest half to keep a long run's history bounded.
        const half = Math.floor(live.length / 2);
        live.splice(0, half, ...live.slice(0, half).filter((_, i) => i % 2 === 0));
      }
      saveLive(id, live, liveStages);
      root.dataset.livePoints = String(live.length);
      renderLive(r);
    } else {
      progress.replaceChildren();
      renderFinished(r);
    }
  };

  const renderLive = (r) => {
    const L = r.live;
    const total = (L.total_ms || 0) / 1000;
    const pct = total > 0 ? Math.min(100, (100 * (L.elapsed_ms || 0)) / 1000 / total) : 0;
    progress.replaceChildren(
      h('div', { class: 'panel' },
        h('div', { class: 'progress-row' },
          h('span', null, 'stage ', h('b', { id: 'run-stage' }, L.stage || '–')),
          h('span', { class: 'mono' }, `${fmtClock((L.elapsed_ms || 0) / 1000)} / ${fmtClock(total)}`)),
        h('div', { class: 'progress' }, h('div', { style: `width:${pct.toFixed(1)}%` }))),
    );
    tiles.replaceChildren(
      tile('Throughput', fmtRPS(L.rps), 'req/s', { tone: 'good', id: 'rps' }),
      tile('Latency p95', fmtNum(L.p95_ms, L.p95_ms >= 100 ? 0 : 1), 'ms', { tone: 'info', id: 'p95' }),
      tile('Virtual users', fmtInt(L.vus), '', { id: 'vus', sub: L.target_rate > 0 ? `target ${fmtRPS(L.target_rate)} it/s` : '' }),
      tile('Error rate', fmtPct(L.error_rate), '', { tone: L.error_rate > 0.01 ? 'bad' : '', id: 'errors', sub: `${fmtInt(L.errors)} errors` }),
      tile('Requests', fmtInt(L.requests), '', { id: 'requests', sub: `${fmtInt(L.iterations)} iterations` }),
      tile('Dropped iterations', fmtInt(L.dropped), '', { tone: L.dropped > 0 ? 'warn' : '', id: 'dropped' }),
    );
    const xDomain = total > 0 ? [0, total] : null;
    const pick = (k) => live.map((p) => ({ x: p.x, y: p[k] }));
    charts.rps.setData({ rps: pick('rps'), rate: pick('rate') }, { vlines: liveStages, xDomain });
    charts.p95.setData({ p95: pick('p95') }, { vlines: liveStages, xDomain });
    charts.vus.setData({ vus: pick('vus') }, { vlines: liveStages, xDomain });
    charts.err.setData({ err: pick('err') }, { vlines: liveStages, xDomain });
  };

  const renderFinished = (r) => {
    const run = r.run;
    if (!run) {
      tiles.replaceChildren();
      if (!live.length) {
        for (const c of Object.values(charts)) c.setData({}, {});
      }
      details.replaceChildren(r.status === 'failed' ? '' : alertBox('The run document is not available.', 'info'));
      return;
    }
    const t0 = parseTime(run.start) || parseTime(r.started_at);
    const series = (run.series || []).map((p) => ({
      x: t0 ? (parseTime(p.time) - t0) / 1000 : 0,
      rps: p.rps, p95: p.p95_ms, p99: p.p99_ms, vus: p.vus, err: p.error_rate, rate: null,
    }));
    // A short run may have fewer recorded intervals (5 s by default) than
    // the points polled live on this page; show whichever is finer.
    const useLive = live.length > series.length;
    const pts = useLive ? live : series;
    const stages = run.stages || [];
    const vlines = t0 ? stages.map((st) => ({ x: (parseTime(st.start) - t0) / 1000, label: st.name })) : liveStages;
    const pick = (k) => pts.map((p) => ({ x: p.x, y: p[k] }));
    root.dataset.chartSource = useLive ? 'live' : 'series';
    charts.rps.setData({ rps: pick('rps'), rate: useLive ? pick('rate') : offeredRate(run, t0) }, { vlines, xDomain: [0, 0] });
    charts.p95.setData({ p95: pick('p95'), p99: useLive ? [] : pick('p99') }, { vlines, xDomain: [0, 0] });
    charts.vus.setData({ vus: pick('vus') }, { vlines, xDomain: [0, 0] });
    charts.err.setData({ err: pick('err') }, { vlines, xDomain: [0, 0] });

    const T = run.total || {};
    const maxVUs = Math.max(0, ...stages.map((st) => st.vus || 0));
    const thr = run.thresholds || [];
    const failed = thr.filter((t) => !t.passed).length;
    tiles.replaceChildren(
      tile('Throughput', fmtRPS(T.rps), 'req/s', { tone: 'good', id: 'rps', sub: 'whole run' }),
      tile('Latency p95', fmtNum(T.p95_ms, T.p95_ms >= 100 ? 0 : 1), 'ms', { tone: 'info', id: 'p95', sub: `p50 ${fmtMs(T.p50_ms)} · p99 ${fmtMs(T.p99_ms)}` }),
      tile('Peak VUs', fmtInt(maxVUs), '', { id: 'vus' }),
      tile('Error rate', fmtPct(T.error_rate), '', { tone: T.error_rate > 0.01 ? 'bad' : 'good', id: 'errors', sub: `${fmtInt(T.errors)} errors` }),
      tile('Requests', fmtInt(T.requests), '', { id: 'requests', sub: `${fmtInt(T.iterations)} iterations` }),
      thr.length
        ? tile('Thresholds', failed ? `${failed} failed` : 'passed', '', { tone: failed ? 'bad' : 'good', id: 'thresholds', sub: `${thr.length} checked` })
        : tile('Dropped iterations', fmtInt(run.dropped_iterations), '', { tone: run.dropped_iterations > 0 ? 'warn' : '', id: 'dropped' }),
    );

    const parts = [];
    parts.push(h('div', { class: 'section' }, h('h2', null, 'Stages'), h('span', { class: 'muted' }, 'one row per stage, in the order they ran')));
    parts.push(h('div', { class: 'panel' }, stages.length ? stageTable(stages, t0) : empty('No stage ran.')));
    if (thr.length) {
      parts.push(h('div', { class: 'section' }, h('h2', null, 'Thresholds')));
      parts.push(h('div', { class: 'panel' }, table([
        { label: 'Result', get: (t) => h('span', { class: 'badge ' + (t.passed ? 'ok' : 'bad') }, t.passed ? 'passed' : t.aborted ? 'failed, aborted the run' : 'failed') },
        { label: 'Metric', wrap: true, get: (t) => h('span', { class: 'mono' }, t.metric) },
        { label: 'Threshold', get: (t) => h('span', { class: 'mono' }, t.threshold) },
        { label: 'Observed', num: true, get: (t) => fmtNum(t.observed) },
      ], thr)));
    }
    const eps = run.endpoints || [];
    if (eps.length) {
      parts.push(h('div', { class: 'section' }, h('h2', null, 'Endpoints'), h('span', { class: 'muted' }, 'whole run')));
      parts.push(h('div', { class: 'panel' }, table([
        { label: 'Endpoint', get: (e) => h('span', { class: 'mono' }, e.endpoint) },
        { label: 'Requests', num: true, get: (e) => fmtInt(e.requests) },
        { label: 'req/s', num: true, get: (e) => fmtRPS(e.rps) },
        { label: 'p50', num: true, get: (e) => fmtMs(e.p50_ms) },
        { label: 'p95', num: true, get: (e) => fmtMs(e.p95_ms) },
        { label: 'p99', num: true, get: (e) => fmtMs(e.p99_ms) },
        { label: 'Max', num: true, get: (e) => fmtMs(e.max_ms) },
        { label: 'Errors', num: true, get: (e) => fmtPct(e.error_rate), cls: (e) => (e.error_rate > 0.01 ? 'bad-cell' : '') },
      ], eps, { id: 'endpoint-table' })));
    }
    const checks = run.checks || [];
    if (checks.length) {
      parts.push(h('div', { class: 'section' }, h('h2', null, 'Checks')));
      parts.push(h('div', { class: 'panel' }, table([
        { label: 'Check', wrap: true, get: (c) => c.name },
        { label: 'Passes', num: true, get: (c) => fmtInt(c.passes) },
        { label: 'Fails', num: true, get: (c) => fmtInt(c.fails), cls: (c) => (c.fails > 0 ? 'bad-cell' : '') },
      ], checks)));
    }
    details.replaceChildren(...parts);
  };

  await loadAnalyses();
  if (ctx.signal.aborted) return;
  let timer = 0;
  let failures = 0;
  const poll = async () => {
    let r;
    try {
      r = await api('GET', paths.run(id));
      failures = 0;
    } catch (e) {
      if (ctx.signal.aborted) return;
      if (e instanceof APIError && (e.status === 404 || e.status === 401)) throw e;
      failures++;
      ctx.showError(e);
      timer = setTimeout(() => poll().catch(() => {}), Math.min(10000, POLL_MS * 2 ** failures));
      return;
    }
    if (ctx.signal.aborted) return;
    const wasRunning = shown && shown.status === 'running';
    if (wasRunning && r.status !== 'running') await loadAnalyses();
    if (ctx.signal.aborted) return;
    update(r);
    if (r.status === 'running') timer = setTimeout(() => poll().catch((e) => ctx.showError(e)), POLL_MS);
  };
  ctx.signal.addEventListener('abort', () => clearTimeout(timer));
  await poll();
}

// offeredRate draws an open-model run's arrival rate from its stages: each
// stage ramps linearly to its target_rate (iterations/s), starting from the
// executor's start rate. A closed-model run has none.
function offeredRate(run, t0) {
  const stages = (run.stages || []).filter((st) => st.target_rate > 0);
  if (!t0 || !stages.length) return [];
  const ex = (run.executors || []).find((e) => e.type === 'ramping-arrival-rate' || e.type === 'constant-arrival-rate') || {};
  const at = (v) => (parseTime(v) - t0) / 1000;
  const out = [];
  const first = isFinite(ex.start_rate) && ex.type === 'ramping-arrival-rate' ? ex.start_rate : ex.rate;
  if (first > 0) out.push({ x: at(stages[0].start), y: first });
  for (const st of stages) out.push({ x: at(st.end), y: st.target_rate });
  return out;
}

function stageTable(stages, t0) {
  return table(
    [
      { label: 'Stage', get: (st) => h('b', null, st.name) },
      { label: 'Executor', get: (st) => st.executor || '–' },
      { label: 'Start', num: true, get: (st) => (t0 ? '+' + fmtClock((parseTime(st.start) - t0) / 1000) : fmtTime(st.start)) },
      { label: 'Duration', num: true, get: (st) => fmtDuration(parseTime(st.end) - parseTime(st.start)) },
      { label: 'VUs', num: true, get: (st) => fmtInt(st.vus) },
      { label: 'Target rate', num: true, get: (st) => (st.target_rate ? fmtRPS(st.target_rate) + ' it/s' : '–') },
      { label: 'req/s', num: true, get: (st) => fmtRPS(st.rps) },
      { label: 'p50', num: true, get: (st) => fmtMs(st.p50_ms) },
      { label: 'p95', num: true, get: (st) => fmtMs(st.p95_ms) },
      { label: 'p99', num: true, get: (st) => fmtMs(st.p99_ms) },
      { label: 'Max', num: true, get: (st) => fmtMs(st.max_ms) },
      { label: 'Errors', num: true, get: (st) => fmtPct(st.error_rate), cls: (st) => (st.error_rate > 0.05 ? 'bad-cell' : st.error_rate > 0.01 ? 'warn-cell' : '') },
      { label: 'Requests', num: true, get: (st) => fmtInt(st.requests) },
      { label: 'Dropped', num: true, get: (st) => fmtInt(st.dropped_iterations || 0), cls: (st) => (st.dropped_iterations > 0 ? 'warn-cell' : '') },
    ],
    stages,
    { id: 'stage-table' },
  );
}
