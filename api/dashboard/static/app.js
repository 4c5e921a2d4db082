/* rta dashboard.
 *
 * One state object, mirrored in the query string (a copied link reproduces the view); one fetch helper that
 * turns every non-2xx answer into a readable message; one loader and one renderer per panel.
 * Live minutes arrive over Server-Sent Events and are merged into the live charts in place; the other panels
 * are re-fetched only when a minute becomes final (as_of advances), never on a timer.
 */
'use strict';

(() => {
  // ---- test hooks and global error capture ----------------------------------------------------------

  const rta = (window.rta = { ready: false, readyMs: null, loads: 0, pushes: 0, errors: [], lastPush: null });

  /** A programming error: record it for the browser tests and make it visible in the console. */
  function reportBug(err) {
    rta.errors.push(String((err && err.message) || err));
    console.error(err);
  }
  window.addEventListener('error', (e) => reportBug(e.error || e.message));
  window.addEventListener('unhandledrejection', (e) => reportBug(e.reason));

  // ---- constants --------------------------------------------------------------------------------------

  const MIN = 60_000;
  const HOUR = 60 * MIN;
  const DAY = 24 * HOUR;
  const PRESETS = { '15m': 15 * MIN, '1h': HOUR, '6h': 6 * HOUR, '24h': DAY, '7d': 7 * DAY };
  const DEFAULT_RANGE = '1h';
  const FILTERS = ['device_type', 'os', 'browser', 'location', 'product_category'];
  // A session spans categories: /metrics/sessions refuses product_category with a 422.
  const SESSION_FILTERS = ['device_type', 'os', 'browser', 'location'];
  const DEVICE_TYPES = ['desktop', 'mobile', 'tablet'];
  const PSORTS = ['revenue', 'views', 'purchases', 'add_to_carts', 'units'];
  const SSORTS = ['last_event_time', 'first_event_time', 'events', 'revenue', 'orders'];
  const BREAKDOWNS = ['', 'device_type', 'product_category'];
  const PAGE = 10;
  const RECORDS_PER_PARTITION = 5;
  const FRESH_OK_S = 90;
  const FRESH_WARN_S = 300;
  const STREAM_RETRY_MS = 5000;
  let ZONES = timeZones(); // replaced by the API's own list (GET /time-zones) at start
  const PANELS = [
    'kpis', 'live', 'funnel', 'products', 'categories', 'sessions', 'quality', 'deadletters', 'topics',
    'locations', 'hours', 'frequency', 'revenue-by-product', 'dimensions',
    'referrers', 'landing', 'visits', 'daytodate', 'retention',
  ];
  const KPIS = [
    ['product_views', 'Views', 'int'],
    ['add_to_carts', 'Add-to-carts', 'int'],
    ['purchases', 'Purchases', 'int'],
    ['revenue', 'Revenue', 'money'],
    ['active_users', 'Active users', 'int'],
    ['orders', 'Orders', 'int'],
    ['unique_products_viewed', 'Unique products viewed', 'int'],
    ['average_sale_price', 'Average sale price', 'money'],
    ['average_order_value', 'Average order value', 'money'],
    ['conversion', 'Conversion', 'pct'],
    ['page_views', 'Page views', 'int'],
    ['sessions', 'Sessions', 'int'],
    ['customers', 'Customers', 'int'],
    ['units', 'Units sold', 'int'],
    ['events', 'Events', 'int'],
  ];
  const EVENT_TYPES = [
    ['page_view', 'Page view'],
    ['product_view', 'Product view'],
    ['add_to_cart', 'Add to cart'],
    ['purchase', 'Purchase'],
  ];
  const STEPS = [
    ['product_view', 'Product view'],
    ['add_to_cart', 'Add to cart'],
    ['purchase', 'Purchase'],
  ];
  const PALETTE = ['#3b6fd8', '#2aa198', '#e0a030', '#d9534f', '#8e6cc4', '#5b8c5a', '#c0607e', '#6b7a8f'];
  const PREVIOUS_COLOR = '#9aa3ae';
  const OPEN_STYLE = { opacity: 0.4, borderType: 'dashed', borderColor: '#6b7280', borderWidth: 1 };
  const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

  // ---- state and the URL ---------------------------------------------------------------------------------

  const state = {
    range: DEFAULT_RANGE, from: '', to: '', tz: 'UTC', live: true, compare: false,
    device_type: '', os: '', browser: '', location: '', product_category: '',
    breakdown: '', psort: 'revenue', ppage: 1, ssort: 'last_event_time', spage: 1, topic: '', session: '',
  };

  function readUrl() {
    const q = new URLSearchParams(window.location.search);
    const pick = (key, allowed, fallback) => (allowed.includes(q.get(key)) ? q.get(key) : fallback);
    const page = (key) => Math.max(1, Math.min(10_000, parseInt(q.get(key), 10) || 1));
    state.range = pick('range', [...Object.keys(PRESETS), 'custom'], DEFAULT_RANGE);
    state.from = state.range === 'custom' ? q.get('from') || '' : '';
    state.to = state.range === 'custom' ? q.get('to') || '' : '';
    state.tz = pick('tz', ZONES, 'UTC');
    state.live = q.get('live') !== '0';
    state.compare = q.get('compare') === '1';
    for (const f of FILTERS) state[f] = (q.get(f) || '').slice(0, 64);
    state.device_type = pick('device_type', DEVICE_TYPES, '');
    state.breakdown = pick('breakdown', BREAKDOWNS, '');
    state.psort = pick('psort', PSORTS, 'revenue');
    state.ssort = pick('ssort', SSORTS, 'last_event_time');
    state.ppage = page('ppage');
    state.spage = page('spage');
    state.topic = q.get('topic') || '';
    state.session = (q.get('session') || '').slice(0, 64);
  }

  /** The whole view in the query string (pages are 1-based), replaced on every change. */
  function writeUrl() {
    const q = new URLSearchParams({ range: state.range });
    if (state.range === 'custom') {
      if (state.from) q.set('from', state.from);
      if (state.to) q.set('to', state.to);
    }
    q.set('tz', state.tz);
    q.set('live', state.live ? '1' : '0');
    q.set('compare', state.compare ? '1' : '0');
    for (const f of FILTERS) if (state[f]) q.set(f, state[f]);
    if (state.breakdown) q.set('breakdown', state.breakdown);
    q.set('psort', state.psort);
    q.set('ppage', String(state.ppage));
    q.set('ssort', state.ssort);
    q.set('spage', String(state.spage));
    if (state.topic) q.set('topic', state.topic);
    if (openSessionId) q.set('session', openSessionId);
    history.replaceState(null, '', `${window.location.pathname}?${q}`);
  }

  function timeZones() {
    let zones = [];
    try {
      zones = Intl.supportedValuesOf('timeZone');
    } catch (_) {
      // An older browser: UTC only.
    }
    return ['UTC', ...zones.filter((z) => z !== 'UTC')];
  }

  /** Span of the range in ms (custom: wall-clock difference, close enough to choose a granularity). */
  function rangeSpan() {
    if (state.range !== 'custom') return PRESETS[state.range];
    const wall = (s) => Date.parse(`${s}Z`);
    return wall(state.to || toWall(Date.now())) - wall(state.from || toWall(Date.now() - HOUR));
  }

  function granularity() {
    const span = rangeSpan();
    if (!(span > 0) || span <= 6 * HOUR) return 'minute';
    return span <= 7 * DAY ? 'hour' : 'day';
  }

  /** from/to/tz/granularity of every range route. A custom datetime-local value has no offset: the API
   *  reads it in `tz`, so it is sent as typed. Presets are relative, resolved by the API at request time. */
  function rangeParams() {
    const custom = state.range === 'custom';
    return {
      from: custom ? state.from || '-1h' : `-${state.range}`,
      to: custom ? state.to || 'now' : 'now',
      tz: state.tz,
      granularity: granularity(),
    };
  }

  function filterParams(keys = FILTERS) {
    const out = {};
    for (const k of keys) if (state[k]) out[k] = state[k];
    return out;
  }

  // ---- formatting -----------------------------------------------------------------------------------------

  const NF = {
    int: new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 }),
    money: new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    pct: new Intl.NumberFormat(undefined, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }),
    one: new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
  };

  function fmt(value, kind = 'int') {
    return value == null || !Number.isFinite(value) ? '–' : NF[kind].format(value);
  }

  /** Change against the previous period, as the KPI tiles show it. */
  function change(cur, prev) {
    if (cur == null || prev == null) return { text: '–', cls: '' };
    if (prev === 0) return cur === 0 ? { text: '–', cls: '' } : { text: 'new', cls: 'up' };
    const pct = ((cur - prev) / Math.abs(prev)) * 100;
    const sign = pct > 0 ? '+' : pct < 0 ? '−' : '';
    return { text: `${sign}${NF.one.format(Math.abs(pct))} %`, cls: pct > 0 ? 'up' : pct < 0 ? 'down' : '' };
  }

  const DTF_OPTIONS = {
    minute: { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
    hour: { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
    day: { year: 'numeric', month: 'short', day: 'numeric' },
    full: { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' },
  };
  const dtfCache = new Map();

  /** An instant (epoch ms) as text in the chosen time zone. */
  function fmtTime(ms, kind = 'full') {
    if (ms == null || !Number.isFinite(ms)) return '–';
    const key = `${state.tz}|${kind}`;
    if (!dtfCache.has(key)) dtfCache.set(key, new Intl.DateTimeFormat(undefined, { ...DTF_OPTIONS[kind], timeZone: state.tz }));
    return dtfCache.get(key).format(ms);
  }

  /** The wall time of `ms` in the chosen zone, as a datetime-local value (YYYY-MM-DDTHH:mm). */
  function toWall(ms) {
    const parts = {};
    const f = new Intl.DateTimeFormat('en-CA', {
      timeZone: state.tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    });
    for (const p of f.formatToParts(ms)) parts[p.type] = p.value;
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
  }

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  // ---- DOM helpers ----------------------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  /** createElement with attributes (all via setAttribute; false/null skipped) and children (text-safe). */
  function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v != null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
    }
    node.append(...children.flat().filter((c) => c != null).map((c) => (typeof c === 'number' ? String(c) : c)));
    return node;
  }

  const td = (text, cls) => h('td', { class: cls }, text);
  const num = (value, kind) => td(fmt(value, kind), 'num');

  /** Rows, or one "No data in this range" row: a table is never silently blank. */
  function fillRows(tbody, rows, columns, emptyText = 'No data in this range') {
    tbody.replaceChildren(...(rows.length ? rows : [h('tr', { class: 'empty-row' }, h('td', { colspan: columns }, emptyText))]));
  }

  function errorBox(panel) {
    return document.querySelector(`[data-testid="error-${panel}"]`);
  }

  function showError(panel, err) {
    const box = errorBox(panel);
    if (!box) return;
    box.textContent = err.message;
    box.hidden = false;
  }

  function clearError(panel) {
    const box = errorBox(panel);
    if (!box) return;
    box.textContent = '';
    box.hidden = true;
  }

  function debounce(fn, ms) {
    let timer = 0;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  // ---- the fetch helper -------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status, retryAfterS = 0) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
      this.retryAfterS = retryAfterS;
    }
  }

  function queryString(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v != null && v !== '') q.set(k, String(v));
    const text = q.toString();
    return text ? `?${text}` : '';
  }

  /** The API's error body ({detail: [{loc, msg, type}]}) as one readable sentence. */
  async function toApiError(res) {
    let item = null;
    try {
      const body = await res.json();
      item = Array.isArray(body.detail) ? body.detail[0] : { msg: String(body.detail || '') };
    } catch (_) {
      // Not JSON (a proxy page, say): the status text has to do.
    }
    const msg = (item && item.msg) || res.statusText || 'no details';
    const loc = (item && Array.isArray(item.loc) && item.loc.length) ? item.loc[item.loc.length - 1] : '';
    if (res.status === 422) return new ApiError(`Bad parameter${loc ? ` ${loc}` : ''}: ${msg}`, 422);
    if (res.status === 404) return new ApiError(`Not found: ${msg}`, 404);
    if (res.status === 401) {
      askForKey();
      return new ApiError('This API needs a key: enter it above', 401);
    }
    if (res.status === 403) return new ApiError(`Not allowed with this key: ${msg}`, 403);
    if (res.status === 429) {
      const retry = Math.max(1, parseInt(res.headers.get('Retry-After'), 10) || 1);
      return new ApiError(`Too many requests for this key — wait ${retry} s`, 429, retry);
    }
    if (res.status === 503) {
      const retry = Math.max(1, parseInt(res.headers.get('Retry-After'), 10) || 5);
      return new ApiError(`Data store unavailable — retrying in ${retry} s`, 503, retry);
    }
    return new ApiError(`Error ${res.status}: ${msg}`, res.status);
  }

  function abortError() {
    return new DOMException('superseded', 'AbortError');
  }

  /** GET JSON from the API; throws ApiError (readable message) or AbortError (superseded: stay quiet). */
  async function api(path, params, signal) {
    let res;
    try {
      res = await fetch(path + queryString(params), { signal, headers: { Accept: 'application/json' } });
    } catch (_) {
      if (signal && signal.aborted) throw abortError();
      throw new ApiError('API unreachable', 0);
    }
    if (!res.ok) throw await toApiError(res);
    try {
      const body = await res.json();
      noteAsOf(body.meta);
      return body;
    } catch (_) {
      if (signal && signal.aborted) throw abortError();
      throw new ApiError('The API answered something that is not JSON', res.status);
    }
  }

  // ---- panel loading: one loader per panel, the newest load of a panel wins ---------------------------------

  const loaders = {};
  const controllers = {};
  const retryTimers = {};

  /** Load one panel: aborts that panel's previous load, shows or clears its error, retries a 503. */
  async function loadPanel(name) {
    if (controllers[name]) controllers[name].abort();
    clearTimeout(retryTimers[name]);
    const ctl = new AbortController();
    controllers[name] = ctl;
    try {
      await loaders[name](ctl.signal);
      if (!ctl.signal.aborted) clearError(name);
    } catch (err) {
      if (ctl.signal.aborted || (err && err.name === 'AbortError')) return;
      if (!(err instanceof ApiError)) reportBug(err);
      showError(name, err);
      if (err.status === 503 || err.status === 429) {
        retryTimers[name] = setTimeout(() => loadPanel(name), err.retryAfterS * 1000);
      }
    } finally {
      if (controllers[name] === ctl) controllers[name] = null;
    }
  }

  let loadSeq = 0;
  let refreshing = null;
  let refreshQueued = false;
  let refreshTimer = 0;
  let supersedeNext = false;

  /** Debounced full refresh. `supersede` (a user change) starts at once, aborting what is in flight;
   *  otherwise (a live push) it waits for an in-flight refresh to finish: refreshes never overlap. */
  function scheduleRefresh(delay, supersede = false) {
    supersedeNext = supersedeNext || supersede;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      const force = supersedeNext;
      supersedeNext = false;
      if (refreshing && !force) refreshQueued = true;
      else refreshAll();
    }, delay);
  }

  async function refreshAll() {
    const seq = ++loadSeq;
    refreshQueued = false;
    refreshAsOfMs = null;
    const run = Promise.all(PANELS.map(loadPanel));
    refreshing = run;
    await run;
    if (refreshing === run) refreshing = null;
    if (seq !== loadSeq) return; // superseded by a newer refresh, which does the bookkeeping
    if (refreshAsOfMs != null) lastAsOfMs = refreshAsOfMs;
    rta.loads += 1;
    if (!rta.ready) {
      rta.ready = true;
      rta.readyMs = performance.now(); // ms since navigation started: the page's load time, all panels in
      document.body.dataset.ready = '1';
    }
    if (refreshQueued) scheduleRefresh(0);
  }

  // ---- freshness ------------------------------------------------------------------------------------------------

  const fresh = { asOfMs: null };
  let lastAsOfMs = null; // newest as_of seen: a newer one means a minute became final

  function setFreshness(asOf, behindS) {
    const badge = $('freshness');
    const ms = asOf ? Date.parse(asOf) : null;
    fresh.asOfMs = ms;
    badge.dataset.asOf = asOf || '';
    badge.dataset.behindS = behindS == null ? '' : String(behindS);
    const level = behindS == null ? 'none' : behindS < FRESH_OK_S ? 'ok' : behindS < FRESH_WARN_S ? 'warn' : 'bad';
    badge.className = `badge fresh-${level}`;
    badge.textContent = ms == null ? 'no data yet' : `as of ${fmtTime(ms)} · ${fmt(behindS)} s behind`;
    badge.title = 'Newest closed minute (event time minus the watermark delay)';
  }

  /** A response's meta.as_of: use it unless a live push already told us something newer. */
  function noteMeta(meta) {
    if (!meta) return;
    const ms = meta.as_of ? Date.parse(meta.as_of) : null;
    // A push's behind_s is measured by the server: keep it unless this answer is strictly newer.
    const pushed = rta.lastPush != null;
    if (fresh.asOfMs != null && (ms == null || ms < fresh.asOfMs || (pushed && ms === fresh.asOfMs))) return;
    setFreshness(meta.as_of, ms == null ? null : Math.max(0, Math.round((Date.now() - ms) / 1000)));
  }

  /** The oldest as_of among a refresh's answers: a push newer than it refreshes again, so no panel is
   *  left a minute behind when a minute became final in the middle of a refresh. */
  let refreshAsOfMs = null;
  function noteAsOf(meta) {
    const ms = meta && meta.as_of ? Date.parse(meta.as_of) : null;
    if (ms != null) refreshAsOfMs = refreshAsOfMs == null ? ms : Math.min(refreshAsOfMs, ms);
  }

  // ---- charts -------------------------------------------------------------------------------------------------------

  const charts = {};
  const BASE_OPTION = {
    color: PALETTE,
    aria: { enabled: true },
    textStyle: { fontFamily: FONT },
    animationDuration: 250,
    animationDurationUpdate: 250,
    grid: { left: 8, right: 8, top: 36, bottom: 8 },
  };

  function chart(id) {
    if (typeof echarts === 'undefined') return null;
    if (!charts[id]) charts[id] = echarts.init($(id), null, { renderer: 'canvas' });
    return charts[id];
  }

  /** Set a chart's option (series replaced by id, so removed series disappear) and its empty note. */
  function draw(id, option, empty) {
    const c = chart(id);
    if (c) c.setOption({ ...BASE_OPTION, ...option }, { replaceMerge: ['series'] });
    const note = document.querySelector(`[data-empty-for="${id}"]`);
    note.textContent = c ? 'No data in this range' : 'Charts unavailable: echarts.min.js did not load';
    note.hidden = Boolean(c) && !empty;
  }

  /** A category axis of bucket starts (epoch ms as text: unique even across a DST fall-back hour). */
  function bucketAxis(points, gran) {
    return {
      type: 'category',
      data: points.map((p) => String(p.t)),
      axisLabel: { formatter: (v) => fmtTime(Number(v), gran), hideOverlap: true },
      axisTick: { alignWithLabel: true },
    };
  }

  /** Axis tooltip: a header line, then one line per series, values formatted by series id. */
  function axisTooltip(header, kindOf = () => 'int') {
    return {
      trigger: 'axis',
      confine: true,
      axisPointer: { type: 'shadow' },
      formatter: (params) => {
        const list = [].concat(params);
        if (!list.length) return '';
        const lines = list.map((p) => `${p.marker}${esc(p.seriesName)}: <b>${esc(fmt(p.value, kindOf(p.seriesId)))}</b>`);
        return [esc(header(list[0]))].concat(lines).join('<br>');
      },
    };
  }

  const isMoney = (id) => /revenue/.test(id) ? 'money' : 'int';

  function resizeCharts() {
    for (const c of Object.values(charts)) c.resize();
  }

  // ---- KPI tiles -------------------------------------------------------------------------------------------------------

  function buildKpiTiles() {
    $('kpis').replaceChildren(...KPIS.map(([field, label]) => h('div', { class: 'kpi' },
      h('div', { class: 'kpi-label', id: `kpi-label-${field}` }, label),
      h('div', { class: 'kpi-value', 'data-testid': `kpi-${field}`, 'data-value': '', 'aria-describedby': `kpi-label-${field}` }, '–'),
      h('div', { class: 'kpi-change', id: `kpi-change-${field}`, title: 'against the previous period' }, '–'))));
  }

  loaders.kpis = async (signal) => {
    const params = { ...rangeParams(), ...filterParams(), compare: 'previous_period' };
    const r = await api('/metrics/summary', params, signal);
    noteMeta(r.meta);
    renderKpis(r);
  };

  function renderKpis(r) {
    for (const [field, , kind] of KPIS) {
      const value = r.data[field];
      const el = document.querySelector(`[data-testid="kpi-${field}"]`);
      el.dataset.value = value == null ? '' : String(value);
      el.textContent = fmt(value, kind);
      const c = change(value, r.previous ? r.previous[field] : null);
      const box = $(`kpi-change-${field}`);
      box.textContent = c.text;
      box.className = `kpi-change ${c.cls}`;
    }
    const m = r.meta;
    $('range-caption').textContent =
      `${fmtTime(Date.parse(m.from))} – ${fmtTime(Date.parse(m.to))} (${m.tz}) · change vs the previous period`;
  }

  // ---- live charts ------------------------------------------------------------------------------------------------------

  /** The live charts' points: one per bucket, the three series merged by bucket start, pushes merged in. */
  const live = { points: [], gran: 'minute', window: 0, sliding: false, loaded: false };
  let lastPushAt = 0;

  loaders.live = async (signal) => {
    const started = Date.now();
    const params = { ...rangeParams(), ...filterParams(), compare: state.compare ? 'previous_period' : null };
    const paths = ['/metrics/active-users', '/metrics/events', '/metrics/revenue'];
    const results = await Promise.allSettled(paths.map((p) => api(p, params, signal)));
    if (signal.aborted) throw abortError();
    const failed = results.find((r) => r.status === 'rejected');
    if (failed && results.every((r) => r.status === 'rejected')) throw failed.reason; // keep what is shown
    const answers = results.map((r) => (r.status === 'fulfilled' ? r.value : null));
    buildLive(answers);
    // A push that arrived while these answers were on their way is newer than they are: apply it again.
    if (rta.lastPush && lastPushAt > started) mergeSnapshot(rta.lastPush);
    renderLive();
    if (failed) throw failed.reason;
  };

  function buildLive(answers) {
    const byT = new Map();
    let meta = null;
    for (const answer of answers) {
      if (!answer) continue;
      meta = meta || answer.meta;
      answer.data.forEach((point, i) => {
        const t = Date.parse(point.bucket);
        const merged = byT.get(t) || { t, bucket: point.bucket, prev: null };
        Object.assign(merged, point);
        const before = answer.previous && answer.previous[i];
        if (before) merged.prev = { ...merged.prev, ...before };
        byT.set(t, merged);
      });
    }
    const points = [...byT.values()].sort((a, b) => a.t - b.t);
    // A bucket is final once it ends at or before as_of; the newest one ends with the range (newest_bucket_final).
    const asOf = meta && meta.as_of ? Date.parse(meta.as_of) : null;
    points.forEach((p, i) => {
      const next = points[i + 1];
      p.final = next ? asOf != null && next.t <= asOf : Boolean(meta && meta.newest_bucket_final);
    });
    if (meta) noteMeta(meta);
    live.points = points;
    live.gran = (meta && meta.granularity) || granularity();
    live.sliding = state.range !== 'custom';
    live.window = points.length || Math.round(rangeSpan() / MIN) + 1;
    live.loaded = true;
  }

  /** Replace or append the pushed minutes (only while the charts show minutes). A relative range slides:
   *  a new minute is appended and the oldest dropped; a custom range only has its own minutes replaced. */
  function mergeSnapshot(snap) {
    if (live.gran !== 'minute') return;
    const size = live.window || Math.round(rangeSpan() / MIN) + 1;
    for (const p of snap.data || []) {
      const t = Date.parse(p.bucket);
      let point = live.points.find((x) => x.t === t);
      if (!point) {
        const last = live.points[live.points.length - 1];
        if (!live.sliding || (last && t < last.t)) continue;
        point = { t, bucket: p.bucket, prev: null, units: null };
        live.points.push(point);
        while (live.points.length > size) live.points.shift();
      }
      Object.assign(point, {
        final: p.final, active_users: p.active_users, sessions: p.sessions, events: p.events,
        page_view: p.page_view, product_view: p.product_view, add_to_cart: p.add_to_cart, purchase: p.purchase,
        revenue: p.revenue, orders: p.orders, average_order_value: p.orders ? p.revenue / p.orders : null,
      });
    }
  }

  /** Open (not final) buckets: lighter, dashed bars, and a dashed "open" line where they start. */
  function openMarker(points) {
    const first = points.find((p) => p.final === false);
    return {
      silent: true,
      symbol: ['none', 'none'],
      lineStyle: { type: 'dashed', color: '#b45309' },
      label: { formatter: 'open', position: 'insideEndTop', color: '#b45309' },
      data: first ? [{ xAxis: String(first.t) }] : [],
    };
  }

  function renderLive() {
    const pts = live.points;
    const gran = live.gran;
    const per = { minute: 'per minute', hour: 'per hour', day: 'per day' }[gran] || '';
    $('cap-users').textContent = `Active users ${per}`;
    $('cap-events').textContent = `Events ${per} by type`;
    $('cap-revenue').textContent = `Revenue and orders ${per}`;
    const item = (p, v) => (p.final === false ? { value: v, itemStyle: OPEN_STYLE } : v);
    const header = (param) => {
      const p = pts[param.dataIndex];
      return p ? `${fmtTime(p.t)}${p.final === false ? ' · open' : ''}` : '';
    };
    const withPrev = state.compare && pts.some((p) => p.prev);
    const previous = (id, name, field, yAxisIndex = 0) => (withPrev ? [{
      id, name, type: 'line', yAxisIndex, showSymbol: false, connectNulls: false,
      lineStyle: { type: 'dashed', width: 1.5, color: PREVIOUS_COLOR }, itemStyle: { color: PREVIOUS_COLOR },
      data: pts.map((p) => (p.prev ? p.prev[field] : null)),
    }] : []);
    const mark = openMarker(pts);
    const common = { legend: { top: 0, type: 'scroll' }, xAxis: bucketAxis(pts, gran) };

    draw('chart-users', {
      ...common,
      tooltip: axisTooltip(header),
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { id: 'users', name: 'Active users', type: 'line', showSymbol: pts.length < 80, data: pts.map((p) => item(p, p.active_users)), markLine: mark },
        ...previous('prev-users', 'Previous period', 'active_users'),
      ],
    }, !pts.some((p) => p.active_users > 0));

    draw('chart-events', {
      ...common,
      tooltip: axisTooltip(header),
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        ...EVENT_TYPES.map(([field, name], i) => ({
          id: field, name, type: 'bar', stack: 'events', data: pts.map((p) => item(p, p[field])),
          markLine: i === 0 ? mark : { data: [] },
        })),
        ...previous('prev-events', 'Previous period (all)', 'events'),
      ],
    }, !pts.some((p) => p.events > 0));

    draw('chart-revenue', {
      ...common,
      tooltip: axisTooltip(header, isMoney),
      grid: { left: 8, right: 8, top: 44, bottom: 8 },
      yAxis: [
        { type: 'value', name: 'revenue', axisLabel: { formatter: (v) => fmt(v) } },
        { type: 'value', name: 'orders', minInterval: 1, splitLine: { show: false } },
      ],
      series: [
        { id: 'revenue', name: 'Revenue', type: 'bar', data: pts.map((p) => item(p, p.revenue)), markLine: mark },
        { id: 'orders', name: 'Orders', type: 'line', yAxisIndex: 1, showSymbol: pts.length < 80, data: pts.map((p) => item(p, p.orders)) },
        ...previous('prev-revenue', 'Previous revenue', 'revenue'),
      ],
    }, !pts.some((p) => p.revenue > 0 || p.orders > 0));

    const total = pts.reduce((sum, p) => sum + (p.events || 0), 0);
    const totalEl = $('live-total-events');
    totalEl.dataset.value = String(total);
    totalEl.textContent = `${fmt(total)} events shown`;
  }

  /** The newest pushed minute, as pushed (bucket string in UTC, events, final). */
  function renderNewest(snap) {
    const el = $('live-newest');
    const p = snap.data && snap.data.length ? snap.data[snap.data.length - 1] : null;
    el.dataset.bucket = p ? p.bucket : '';
    el.dataset.events = p ? String(p.events) : '';
    el.dataset.final = p ? String(p.final) : '';
    el.textContent = p
      ? `newest minute ${fmtTime(Date.parse(p.bucket), 'minute')}: ${fmt(p.events)} events (${p.final ? 'final' : 'open'})`
      : 'no live minutes yet';
  }

  // ---- live stream (Server-Sent Events) -------------------------------------------------------------------------------

  let source = null;
  let sourceKey = '';
  let reopenTimer = 0;
  let streamUnavailable = false;

  /** data-state is one of live / reconnecting / off; the first connection attempt reads "connecting". */
  function setLiveState(value, text = value) {
    const el = $('live-state');
    el.dataset.state = value;
    el.textContent = `live: ${text}`;
    el.className = `badge live-${value}`;
  }

  /** One EventSource with the current filters while live is on; reopened when the filters change. */
  function syncStream() {
    const key = queryString(filterParams());
    if (state.live && needKey) {
      closeStream();
      setLiveState('reconnecting', 'waiting for an API key');
      return;
    }
    if (state.live && document.hidden) {
      closeStream(); // reopened when the tab is shown again: a hidden tab holds none of the six
      setLiveState('reconnecting', 'paused (tab hidden)'); // HTTP/1.1 connections a browser allows per host
      return;
    }
    if (!state.live) {
      closeStream();
      setLiveState('off');
      $('live-newest').textContent = 'live updates off';
      return;
    }
    if (source && key === sourceKey) return;
    closeStream();
    openStream(key);
  }

  function closeStream() {
    clearTimeout(reopenTimer);
    if (source) source.close();
    source = null;
  }

  function openStream(key) {
    const es = new EventSource(`/metrics/stream${key}`);
    source = es;
    sourceKey = key;
    setLiveState('reconnecting', 'connecting');
    if (!rta.lastPush) $('live-newest').textContent = 'waiting for live data';
    es.onopen = () => {
      if (source === es) setLiveState('live');
    };
    // The browser reconnects by itself after a dropped connection (CONNECTING); after a refused one
    // (an HTTP error such as 503: CLOSED) it gives up, so we reopen after a pause. No console output here.
    es.onerror = () => {
      if (source !== es) return;
      setLiveState('reconnecting');
      if (es.readyState === EventSource.CLOSED) {
        clearTimeout(reopenTimer);
        reopenTimer = setTimeout(async () => {
          if (source === es) {
            source = null;
            await checkAccess(); // a refused stream may be a key gone stale: ask for one, not retry forever
            syncStream();
          }
        }, STREAM_RETRY_MS);
      }
    };
    es.addEventListener('live', (ev) => {
      if (source !== es) return;
      let snap;
      try {
        snap = JSON.parse(ev.data);
      } catch (_) {
        showError('live', new Error('A live update could not be read'));
        return;
      }
      onPush(snap);
    });
    // While Pinot cannot answer, the stream stays open and sends `unavailable` (an error body) instead.
    es.addEventListener('unavailable', () => {
      if (source !== es) return;
      streamUnavailable = true;
      showError('live', new ApiError('Data store unavailable — retrying', 503));
    });
  }

  function onPush(snap) {
    setLiveState('live');
    if (streamUnavailable) {
      streamUnavailable = false; // the stream's own error only: a failed load keeps its message
      clearError('live');
    }
    lastPushAt = Date.now();
    rta.lastPush = snap;
    setFreshness(snap.as_of, snap.behind_s);
    renderNewest(snap);
    // Before the range's series has loaded there is nothing to merge into (and the panel may show an error).
    if (live.loaded && live.gran === 'minute') {
      mergeSnapshot(snap);
      renderLive();
    }
    rta.pushes += 1;
    // A newer as_of means a minute became final: the other panels are re-fetched once (debounced).
    const ms = snap.as_of ? Date.parse(snap.as_of) : null;
    if (ms != null && (lastAsOfMs == null || ms > lastAsOfMs)) {
      lastAsOfMs = ms;
      scheduleRefresh(1000);
    }
  }

  // ---- funnel ----------------------------------------------------------------------------------------------------------

  loaders.funnel = async (signal) => {
    const params = { ...rangeParams(), ...filterParams(), breakdown: state.breakdown };
    renderFunnel(await api('/metrics/funnel', params, signal));
  };

  const stepOf = (segment, name) => segment.steps.find((s) => s.step === name) || null;

  function renderFunnel(r) {
    const segs = r.data || [];
    const el = $('chart-funnel');
    const height = `${Math.max(180, 70 + segs.length * 48)}px`;
    if (el.style.height !== height) {
      el.style.height = height; // one row per segment: the chart grows with the breakdown
      if (charts['chart-funnel']) charts['chart-funnel'].resize();
    }
    draw('chart-funnel', {
      legend: { top: 0 },
      tooltip: {
        trigger: 'axis', confine: true, axisPointer: { type: 'shadow' },
        formatter: (params) => funnelTooltip(segs[params[0].dataIndex]),
      },
      grid: { left: 8, right: 56, top: 36, bottom: 8 },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', inverse: true, data: segs.map((s) => s.segment), axisLabel: { width: 110, overflow: 'truncate' } },
      series: STEPS.map(([step, name], k) => ({
        id: step, name, type: 'bar',
        data: segs.map((s) => (stepOf(s, step) ? stepOf(s, step).sessions : 0)),
        label: {
          show: true, position: 'right',
          formatter: (p) => {
            const st = stepOf(segs[p.dataIndex], step);
            return k === 0 || !st ? fmt(p.value) : fmt(st.conversion_from_previous, 'pct');
          },
        },
      })),
    }, !segs.some((s) => stepOf(s, 'product_view') && stepOf(s, 'product_view').sessions > 0));

    const cell = (s, name) => {
      const st = stepOf(s, name);
      if (!st) return td('–', 'num');
      const conv = st.conversion_from_previous;
      return td(name === 'product_view' || conv == null ? fmt(st.sessions) : `${fmt(st.sessions)} (${fmt(conv, 'pct')})`, 'num');
    };
    fillRows($('funnel-body'), segs.map((s) => h('tr', {},
      h('th', { scope: 'row' }, s.segment),
      cell(s, 'product_view'), cell(s, 'add_to_cart'), cell(s, 'purchase'),
      num(s.overall_conversion, 'pct'))), 5);
  }

  function funnelTooltip(seg) {
    if (!seg) return '';
    const lines = seg.steps.map((st) => {
      const conv = st.conversion_from_previous == null ? '' : ` · ${fmt(st.conversion_from_previous, 'pct')} of the step before`;
      return `${esc(st.step)}: <b>${esc(fmt(st.sessions))}</b> sessions, ${esc(fmt(st.events))} events${esc(conv)}`;
    });
    return [`<b>${esc(seg.segment)}</b>`, ...lines, `overall: ${esc(fmt(seg.overall_conversion, 'pct'))}`].join('<br>');
  }

  // ---- products, categories, revenue by product ---------------------------------------------------------------------------

  loaders.products = async (signal) => {
    const params = { ...rangeParams(), ...filterParams(), sort: state.psort, limit: PAGE, offset: (state.ppage - 1) * PAGE };
    renderProducts(await api('/metrics/products', params, signal));
  };

  function renderProducts(r) {
    fillRows($('products-body'), r.data.map((p) => h('tr', { 'data-testid': 'product-row', 'data-product-id': p.product_id },
      num(p.rank),
      h('td', {}, p.product_name, h('div', { class: 'sub' }, p.product_id)),
      td(p.product_category),
      num(p.views), num(p.add_to_carts), num(p.purchases), num(p.units),
      num(p.revenue, 'money'), num(p.avg_price, 'money'))), 9,
      state.ppage > 1 ? 'No more products in this range' : 'No data in this range');
    $('products-page').textContent = `Page ${state.ppage}`;
    $('products-prev').disabled = state.ppage <= 1;
    $('products-next').disabled = r.data.length < PAGE;
  }

  /** Horizontal bars of a ranking (labels truncated; the tooltip has the whole name). */
  function rankingBars(id, labels, values, name, kind) {
    draw(id, {
      tooltip: {
        trigger: 'axis', confine: true, axisPointer: { type: 'shadow' },
        formatter: (ps) => `${esc(ps[0].name)}<br>${ps[0].marker}${esc(name)}: <b>${esc(fmt(ps[0].value, kind))}</b>`,
      },
      grid: { left: 8, right: 72, top: 8, bottom: 8 },
      xAxis: { type: 'value', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'category', inverse: true, data: labels, axisLabel: { width: 130, overflow: 'truncate' } },
      series: [{ id: 'value', name, type: 'bar', data: values, label: { show: true, position: 'right', formatter: (p) => fmt(p.value, kind) } }],
    }, !values.some((v) => v > 0));
  }

  loaders.categories = async (signal) => {
    const params = { ...rangeParams(), ...filterParams(), sort: 'revenue', limit: 10 };
    const r = await api('/metrics/categories', params, signal);
    rankingBars('chart-categories', r.data.map((c) => c.product_category), r.data.map((c) => c.revenue), 'Revenue', 'money');
  };

  loaders['revenue-by-product'] = async (signal) => {
    const params = { ...rangeParams(), ...filterParams(), sort: 'revenue', limit: 10 };
    const r = await api('/metrics/products', params, signal);
    rankingBars('chart-rbp', r.data.map((p) => p.product_name), r.data.map((p) => p.revenue), 'Revenue', 'money');
  };

  // ---- sessions and the drill-down -------------------------------------------------------------------------------------------

  let openSessionId = null;
  let sessionTotal = 0;

  loaders.sessions = async (signal) => {
    const params = {
      ...rangeParams(), ...filterParams(SESSION_FILTERS), sort: state.ssort, limit: PAGE, offset: (state.spage - 1) * PAGE,
    };
    renderSessions(await api('/metrics/sessions', params, signal));
    if (openSessionId) loadPanel('session'); // the open drill-down follows the refresh
  };

  function renderSessions(r) {
    sessionTotal = r.total;
    fillRows($('sessions-body'), r.data.map((s) => h('tr', {
      'data-testid': 'session-row', 'data-session-id': s.session_id, class: s.session_id === openSessionId ? 'selected' : null,
    },
    h('td', {}, h('button', { type: 'button', class: 'link', 'data-open': s.session_id }, s.session_id)),
    td(s.user_id), td(s.device_type), td(s.location),
    num(s.events), num(s.page_views), num(s.orders), num(s.revenue, 'money'),
    td(fmtTime(s.first_event_time)), td(fmtTime(s.last_event_time)))), 10,
    state.spage > 1 ? 'No more sessions in this range' : 'No data in this range');
    const pages = Math.max(1, Math.ceil(r.total / PAGE));
    $('sessions-page').textContent = `Page ${state.spage} of ${fmt(pages)} · ${fmt(r.total)} sessions`;
    $('sessions-prev').disabled = state.spage <= 1;
    $('sessions-next').disabled = state.spage * PAGE >= r.total;
    $('sessions-note').textContent = state.product_category ? 'the category filter does not apply to sessions' : '';
    for (const th of document.querySelectorAll('th[data-sort]')) {
      th.setAttribute('aria-sort', th.dataset.sort === state.ssort ? 'descending' : 'none');
    }
  }

  loaders.session = async (signal) => {
    const id = openSessionId;
    if (!id) return;
    const s = await api(`/metrics/sessions/${encodeURIComponent(id)}`, null, signal);
    renderSession(s);
  };

  function openSession(id) {
    openSessionId = id;
    const pane = $('session-detail');
    pane.hidden = false;
    pane.removeAttribute('data-session-id');
    $('session-detail-title').textContent = `Session ${id}`;
    $('session-fields').replaceChildren(h('p', { class: 'hint' }, 'Loading…'));
    for (const row of document.querySelectorAll('[data-testid="session-row"]')) {
      row.classList.toggle('selected', row.dataset.sessionId === id);
    }
    loadPanel('session');
    writeUrl();
  }

  function closeSession() {
    openSessionId = null;
    if (controllers.session) controllers.session.abort();
    $('session-detail').hidden = true;
    $('session-detail').removeAttribute('data-session-id');
    for (const row of document.querySelectorAll('[data-testid="session-row"].selected')) row.classList.remove('selected');
    writeUrl();
  }

  function renderSession(s) {
    const pane = $('session-detail');
    pane.dataset.sessionId = s.session_id;
    $('session-detail-title').textContent = `Session ${s.session_id}`;
    const minutes = (s.last_event_time - s.first_event_time) / MIN;
    const fields = [
      ['User', s.user_id], ['Device', s.device_type], ['OS', s.os], ['Browser', s.browser], ['Location', s.location],
      ['Events', fmt(s.events)], ['Page views', fmt(s.page_views)], ['Products viewed', fmt(s.products_viewed)],
      ['Products carted', fmt(s.products_carted)], ['Orders', fmt(s.orders)], ['Units', fmt(s.units)],
      ['Revenue', fmt(s.revenue, 'money')], ['First event', fmtTime(s.first_event_time)],
      ['Last event', fmtTime(s.last_event_time)], ['Duration', `${fmt(minutes, 'one')} min`],
    ];
    $('session-fields').replaceChildren(...fields.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v == null ? '–' : v)]));
  }

  // ---- data quality and dead letters ---------------------------------------------------------------------------------------------

  loaders.quality = async (signal) => {
    const r = await api('/metrics/data-quality', rangeParams(), signal);
    const pts = r.data.map((p) => ({ ...p, t: Date.parse(p.bucket) }));
    const gran = r.meta.granularity || granularity();
    draw('chart-quality', {
      legend: { top: 0 },
      tooltip: axisTooltip((param) => fmtTime(pts[param.dataIndex] ? pts[param.dataIndex].t : null)),
      xAxis: bucketAxis(pts, gran),
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { id: 'accepted', name: 'Accepted', type: 'bar', data: pts.map((p) => p.accepted), itemStyle: { color: PALETTE[0] } },
        { id: 'late', name: 'Late', type: 'line', showSymbol: false, data: pts.map((p) => p.late), itemStyle: { color: PALETTE[2] } },
        { id: 'dead', name: 'Dead-lettered', type: 'line', showSymbol: false, data: pts.map((p) => p.dead_lettered), itemStyle: { color: PALETTE[3] } },
      ],
    }, !pts.some((p) => p.accepted > 0 || p.late > 0 || p.dead_lettered > 0));
  };

  loaders.deadletters = async (signal) => {
    const r = await api('/metrics/dead-letters', { ...rangeParams(), limit: PAGE, offset: 0 }, signal);
    $('deadletters-total').textContent = `${fmt(r.total)} in this range · all traffic`;
    fillRows($('deadletters-body'), r.data.map((d) => h('tr', { 'data-testid': 'deadletter-row' },
      td(fmtTime(d.source_timestamp)),
      td(`${d.source_partition}:${d.source_offset}`, 'mono'),
      td(d.reason_code, 'mono'),
      td(d.reason_field == null ? '–' : d.reason_field, 'mono'),
      td(d.reason),
      h('td', {}, h('pre', { class: 'payload', title: payloadNote(d) }, d.payload == null ? '(empty record)' : d.payload),
        d.payload_truncated ? h('div', { class: 'sub' }, 'cut; `rta tail` shows the whole record') : null))), 6);
  };

  function payloadNote(d) {
    const size = d.payload_bytes == null ? '' : `${fmt(d.payload_bytes)} bytes`;
    return [d.payload_encoding, size].filter(Boolean).join(', ');
  }

  // ---- Kafka topics --------------------------------------------------------------------------------------------------------------------

  loaders.topics = async (signal) => {
    const topic = state.topic;
    const [topics, records] = await Promise.allSettled([
      api('/kafka/topics', null, signal),
      topic ? api(`/kafka/topics/${encodeURIComponent(topic)}/records`, { last: RECORDS_PER_PARTITION }, signal) : null,
    ]);
    if (signal.aborted) throw abortError();
    // The table and the records fail independently (a topic may be gone while the others are listed).
    if (topics.status === 'fulfilled') renderTopics(topics.value);
    if (records.status === 'fulfilled') renderRecords(records.value);
    else $('records').replaceChildren();
    const failed = [topics, records].find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };

  function renderTopics(r) {
    $('topics-bootstrap').textContent = r.bootstrap ? `bootstrap ${r.bootstrap}` : '';
    const groups = [...new Set(r.data.flatMap((t) => t.partitions.flatMap((p) => Object.keys(p.lag || {}))))].sort();
    $('topics-head').replaceChildren(h('tr', {},
      h('th', { scope: 'col' }, 'Topic / partition'),
      h('th', { scope: 'col', class: 'num' }, 'Start offset'),
      h('th', { scope: 'col', class: 'num' }, 'End offset'),
      h('th', { scope: 'col', class: 'num' }, 'Records'),
      groups.map((g) => h('th', { scope: 'col', class: 'num' }, `Lag ${g}`))));
    const sum = (list) => list.reduce((a, b) => a + b, 0);
    const lagCell = (values) => (values.length ? num(sum(values)) : td('–', 'num'));
    const rows = r.data.flatMap((t) => {
      const selected = t.topic === state.topic;
      const topicRow = h('tr', { 'data-testid': 'topic-row', 'data-topic': t.topic, class: `topic-row${selected ? ' selected' : ''}` },
        h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', 'data-topic': t.topic, 'aria-pressed': String(selected) }, t.topic),
          h('span', { class: 'sub' }, ` ${t.partitions.length} partition${t.partitions.length === 1 ? '' : 's'}`)),
        td(''), td(''),
        num(sum(t.partitions.map((p) => p.end_offset - p.start_offset))),
        groups.map((g) => lagCell(t.partitions.filter((p) => g in (p.lag || {})).map((p) => p.lag[g]))));
      const partRows = t.partitions.map((p) => h('tr', { class: 'partition-row' },
        h('th', { scope: 'row', class: 'indent' }, `partition ${p.partition}`),
        num(p.start_offset), num(p.end_offset), num(p.end_offset - p.start_offset),
        groups.map((g) => (p.lag && g in p.lag ? num(p.lag[g]) : td('–', 'num')))));
      return [topicRow, ...partRows];
    });
    fillRows($('topics-body'), rows, 4 + groups.length, 'No topics');
  }

  function renderRecords(r) {
    const box = $('records');
    if (!r) {
      box.replaceChildren(h('p', { class: 'hint' }, 'Choose a topic to see its newest committed records.'));
      return;
    }
    const items = r.data.map((rec) => h('article', { class: 'record' },
      h('div', { class: 'record-head' },
        `partition ${rec.partition} · offset ${rec.offset} · ${rec.timestamp == null ? 'no timestamp' : fmtTime(rec.timestamp)}`,
        rec.key == null ? '' : ` · key ${rec.key}`),
      h('pre', {}, rec.value)));
    box.replaceChildren(h('h3', {}, `${r.topic}: newest ${RECORDS_PER_PARTITION} committed records per partition`),
      ...(items.length ? items : [h('p', { class: 'empty-text' }, 'No committed records')]));
  }

  // ---- customers, hours, order frequency ------------------------------------------------------------------------------------------------

  loaders.locations = async (signal) => {
    const params = { ...rangeParams(), ...filterParams(), sort: 'revenue', limit: 10 };
    const r = await api('/metrics/customers/locations', params, signal);
    draw('chart-locations', {
      legend: { top: 0 },
      tooltip: {
        ...axisTooltip((p) => p.name, isMoney),
      },
      grid: { left: 8, right: 8, top: 44, bottom: 8 },
      xAxis: { type: 'category', data: r.data.map((l) => l.location), axisLabel: { interval: 0, rotate: 30, width: 90, overflow: 'truncate' } },
      yAxis: [
        { type: 'value', name: 'revenue', axisLabel: { formatter: (v) => fmt(v) } },
        { type: 'value', name: 'customers', minInterval: 1, splitLine: { show: false } },
      ],
      series: [
        { id: 'revenue', name: 'Revenue', type: 'bar', data: r.data.map((l) => l.revenue) },
        { id: 'customers', name: 'Customers', type: 'bar', yAxisIndex: 1, data: r.data.map((l) => l.customers) },
      ],
    }, !r.data.some((l) => l.revenue > 0 || l.customers > 0 || l.users > 0));
  };

  loaders.hours = async (signal) => {
    const r = await api('/metrics/page-views/hour-of-day', { ...rangeParams(), ...filterParams() }, signal);
    $('hours-tz').textContent = `local hours of ${r.meta ? r.meta.tz : state.tz}`;
    const label = (hour) => `${String(hour).padStart(2, '0')}:00`;
    draw('chart-hours', {
      tooltip: axisTooltip((p) => `${p.name}–${String((Number(p.name.slice(0, 2)) + 1) % 24).padStart(2, '0')}:00`),
      xAxis: { type: 'category', data: r.data.map((row) => label(row.hour)), axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ id: 'page_views', name: 'Page views', type: 'bar', data: r.data.map((row) => row.page_views) }],
    }, !r.data.some((row) => row.page_views > 0));
  };

  loaders.frequency = async (signal) => {
    const r = await api('/metrics/customers/order-frequency', { ...rangeParams(), ...filterParams() }, signal);
    $('frequency-total').textContent = `${fmt(r.customers)} customers with orders`;
    draw('chart-frequency', {
      tooltip: axisTooltip((p) => `${p.name} order${p.name === '1' ? '' : 's'}`),
      xAxis: { type: 'category', name: 'orders', nameLocation: 'middle', nameGap: 24, data: r.data.map((row) => String(row.orders)) },
      yAxis: { type: 'value', name: 'customers', minInterval: 1 },
      grid: { left: 8, right: 8, top: 36, bottom: 28 },
      series: [{ id: 'customers', name: 'Customers', type: 'bar', data: r.data.map((row) => row.customers), itemStyle: { color: PALETTE[1] } }],
    }, !r.data.some((row) => row.customers > 0));
  };

  // ---- traffic sources, visits, day to date, retention ---------------------------------------------------------------------

  loaders.referrers = async (signal) => {
    const r = await api('/metrics/referrers', { ...rangeParams(), sort: 'page_views', limit: 10 }, signal);
    fillRows($('referrers-body'), r.data.map((x) => h('tr', { 'data-testid': 'referrer-row', 'data-host': x.referrer_host },
      num(x.rank), td(x.referrer_host), num(x.page_views), num(x.sessions))), 4);
  };

  loaders.landing = async (signal) => {
    const params = { ...rangeParams(), ...filterParams(SESSION_FILTERS), sort: 'sessions', limit: 10 };
    const r = await api('/metrics/landing-pages', params, signal);
    fillRows($('landing-body'), r.data.map((x) => h('tr', { 'data-testid': 'landing-row', 'data-page': x.landing_page },
      num(x.rank), td(x.landing_page), num(x.sessions), num(x.bounce_rate, 'pct'))), 4);
  };

  loaders.visits = async (signal) => {
    const r = await api('/metrics/visits', rangeParams(), signal);
    const pts = r.data.map((p) => ({ ...p, t: Date.parse(p.bucket) }));
    draw('chart-visits', {
      legend: { top: 0 },
      tooltip: axisTooltip((param) => fmtTime(pts[param.dataIndex] ? pts[param.dataIndex].t : null), (id) => (id === 'bounce_rate' ? 'pct' : 'one')),
      xAxis: bucketAxis(pts, r.meta.granularity || granularity()),
      yAxis: [
        { type: 'value', name: 'visits', minInterval: 1 },
        { type: 'value', name: 'bounce rate', min: 0, max: 1, axisLabel: { formatter: (v) => fmt(v, 'pct') }, splitLine: { show: false } },
      ],
      series: [
        { id: 'visits', name: 'Visits', type: 'bar', data: pts.map((p) => p.visits), itemStyle: { color: PALETTE[0] } },
        { id: 'bounce_rate', name: 'Bounce rate', type: 'line', yAxisIndex: 1, showSymbol: false, connectNulls: false, data: pts.map((p) => p.bounce_rate), itemStyle: { color: PALETTE[3] } },
      ],
    }, !pts.some((p) => p.visits > 0));
  };

  loaders.daytodate = async (signal) => {
    const r = await api('/metrics/day-to-date', rangeParams(), signal);
    const pts = r.data.map((p) => ({ ...p, t: Date.parse(p.bucket) }));
    $('daytodate-zone').textContent = `business days of ${r.business_time_zone}`;
    draw('chart-daytodate', {
      legend: { top: 0 },
      tooltip: axisTooltip((param) => {
        const p = pts[param.dataIndex];
        return p ? `${fmtTime(p.t)} (business day ${p.business_day})` : '';
      }, (id) => (id === 'revenue' ? 'money' : 'int')),
      xAxis: bucketAxis(pts, 'minute'),
      yAxis: [
        { type: 'value', name: 'users', minInterval: 1 },
        { type: 'value', name: 'revenue', axisLabel: { formatter: (v) => fmt(v) }, splitLine: { show: false } },
      ],
      series: [
        { id: 'users', name: 'Users so far', type: 'line', showSymbol: false, data: pts.map((p) => p.users), itemStyle: { color: PALETTE[0] } },
        { id: 'revenue', name: 'Revenue so far', type: 'line', yAxisIndex: 1, showSymbol: false, data: pts.map((p) => p.revenue), itemStyle: { color: PALETTE[1] } },
      ],
    }, !pts.some((p) => p.users > 0));
  };

  loaders.retention = async (signal) => {
    const r = await api('/metrics/retention', { ...rangeParams(), period: 'day' }, signal);
    const most = Math.max(0, ...r.cohorts.map((c) => c.retention.length));
    $('retention-head').replaceChildren(h('tr', {}, h('th', { scope: 'col' }, 'Cohort'), h('th', { scope: 'col', class: 'num' }, 'Users'),
      ...Array.from({ length: most }, (_, k) => h('th', { scope: 'col', class: 'num' }, `Day ${k}`))));
    fillRows($('retention-body'), r.cohorts.map((c) => h('tr', { 'data-testid': 'cohort-row', 'data-cohort': c.cohort },
      td(c.cohort), num(c.users), ...c.retention.map((p) => num(p.share, 'pct')))), most + 2);
    $('retention-note').textContent = r.complete ? `business days of ${r.business_time_zone}` : 'too many users: shares are approximate';
  };

  // ---- filter pickers ------------------------------------------------------------------------------------------------------------------------

  loaders.dimensions = async (signal) => {
    const r = await api('/metrics/dimensions', rangeParams(), signal);
    for (const f of ['os', 'browser', 'location', 'product_category']) fillSelect($(f), r[f], state[f]);
  };

  /** "any" plus the values seen; the current value stays selectable even when the range has none of it. */
  function fillSelect(select, values, current) {
    const list = [...new Set([...(values || []), ...(current ? [current] : [])])];
    select.replaceChildren(h('option', { value: '' }, 'any'), ...list.map((v) => h('option', { value: v }, v)));
    select.value = current;
  }

  // ---- controls --------------------------------------------------------------------------------------------------------------------------------

  function syncControls() {
    $('range').value = state.range;
    $('from').value = state.range === 'custom' ? state.from : '';
    $('to').value = state.range === 'custom' ? state.to : '';
    $('tz').value = state.tz;
    $('live').checked = state.live;
    $('compare').checked = state.compare;
    $('device_type').value = state.device_type;
    for (const f of ['os', 'browser', 'location', 'product_category']) fillSelect($(f), [], state[f]);
    $('breakdown').value = state.breakdown;
    $('psort').value = state.psort;
  }

  /** After a change: the URL first (a copied link is always current), then what the change affects. */
  function changed({ panels = null, stream = false } = {}) {
    writeUrl();
    if (stream) syncStream();
    if (panels) panels.forEach(loadPanel);
    else scheduleRefresh(50, true);
  }

  function onRangeChange() {
    const span = PRESETS[state.range] || HOUR;
    state.range = $('range').value;
    if (state.range === 'custom') {
      // Start the custom range where the preset was, in the chosen zone's wall time.
      if (!$('from').value) $('from').value = toWall(Date.now() - span);
      if (!$('to').value) $('to').value = toWall(Date.now());
      state.from = $('from').value;
      state.to = $('to').value;
    } else {
      state.from = '';
      state.to = '';
      $('from').value = '';
      $('to').value = '';
    }
    state.ppage = 1;
    state.spage = 1;
    changed();
  }

  /** Typing a date-time makes the range custom (an empty `to` means now). */
  function onCustomChange() {
    state.range = 'custom';
    $('range').value = 'custom';
    state.from = $('from').value;
    state.to = $('to').value;
    state.ppage = 1;
    state.spage = 1;
    changed();
  }

  function wireControls() {
    document.addEventListener('visibilitychange', syncStream);
    $('range').addEventListener('change', onRangeChange);
    $('from').addEventListener('change', onCustomChange);
    $('to').addEventListener('change', onCustomChange);
    $('tz').addEventListener('change', () => {
      state.tz = $('tz').value;
      changed();
    });
    $('live').addEventListener('change', () => {
      state.live = $('live').checked;
      // Turning live on catches up at once; turning it off freezes the view.
      changed(state.live ? { stream: true } : { panels: [], stream: true });
    });
    $('compare').addEventListener('change', () => {
      state.compare = $('compare').checked;
      changed({ panels: ['live'] }); // the KPI tiles always compare; the live charts draw the previous period
    });
    for (const f of FILTERS) {
      $(f).addEventListener('change', () => {
        state[f] = $(f).value;
        state.ppage = 1;
        state.spage = 1;
        changed({ stream: true });
      });
    }
    $('breakdown').addEventListener('change', () => {
      state.breakdown = $('breakdown').value;
      changed({ panels: ['funnel'] });
    });
    $('psort').addEventListener('change', () => {
      state.psort = $('psort').value;
      state.ppage = 1;
      changed({ panels: ['products'] });
    });
    $('products-prev').addEventListener('click', () => {
      state.ppage = Math.max(1, state.ppage - 1);
      changed({ panels: ['products'] });
    });
    $('products-next').addEventListener('click', () => {
      state.ppage += 1;
      changed({ panels: ['products'] });
    });
    wireSessions();
    wireTopics();
    window.addEventListener('resize', debounce(resizeCharts, 100));
  }

  function wireSessions() {
    for (const button of document.querySelectorAll('th[data-sort] button')) {
      button.addEventListener('click', () => {
        state.ssort = button.dataset.sort;
        state.spage = 1;
        changed({ panels: ['sessions'] });
      });
    }
    $('sessions-prev').addEventListener('click', () => {
      state.spage = Math.max(1, state.spage - 1);
      changed({ panels: ['sessions'] });
    });
    $('sessions-next').addEventListener('click', () => {
      if (state.spage * PAGE >= sessionTotal) return;
      state.spage += 1;
      changed({ panels: ['sessions'] });
    });
    // One listener for all rows: a click anywhere on a row (or its button, by keyboard) opens the drill-down.
    $('sessions-body').addEventListener('click', (e) => {
      const row = e.target.closest('[data-testid="session-row"]');
      if (row) openSession(row.dataset.sessionId);
    });
    $('session-close').addEventListener('click', closeSession);
  }

  function wireTopics() {
    $('topics-body').addEventListener('click', (e) => {
      const row = e.target.closest('[data-testid="topic-row"]');
      if (!row) return;
      state.topic = state.topic === row.dataset.topic ? '' : row.dataset.topic; // a second click hides the records
      changed({ panels: ['topics'] });
    });
    $('topics-refresh').addEventListener('click', () => loadPanel('topics'));
  }

  function buildTimeZones() {
    $('tz').replaceChildren(...ZONES.map((z) => h('option', { value: z }, z)));
  }

  // ---- start -------------------------------------------------------------------------------------------------------------------------------------

  /** The zones the API accepts for `tz` (the browser's list names some zones differently: Asia/Katmandu). */
  async function loadZones() {
    try {
      const res = await fetch('/time-zones');
      if (res.ok) {
        ZONES = (await res.json()).data;
        return;
      }
    } catch (_) {
      // The API is unreachable: the panels say so; the browser's own list stands in meanwhile.
    }
    // Keep the link's zone even if the browser names it otherwise: the API judges it (a 422 if unknown).
    const wanted = new URLSearchParams(window.location.search).get('tz');
    if (wanted && !ZONES.includes(wanted)) ZONES = [...ZONES, wanted];
  }

  // ---- API keys (access control on) ----------------------------------------------------------------------

  /** The API answered 401: ask for a key once. It is handed to the API, which keeps it in an HttpOnly
   *  cookie (the live stream's EventSource cannot send headers); the page never stores it itself. */
  let needKey = false; // no stream is opened until the API has a key: it would only be refused

  /** Whether the API wants a key this browser has not given it (POST /auth/session with no key: 204 when
   *  access control is off or the cookie holds a valid key, 401 otherwise). */
  async function checkAccess() {
    try {
      const res = await fetch('/auth/session', { method: 'POST' });
      if (res.status === 401) askForKey();
    } catch (_) {
      // Unreachable: every panel says so.
    }
  }

  function askForKey() {
    needKey = true;
    syncStream(); // closes the stream until a key is given
    const form = $('key-form');
    if (!form.hidden) return;
    form.hidden = false;
    $('api-key').focus();
  }

  async function useKey(e) {
    e.preventDefault();
    const key = $('api-key').value.trim();
    if (!key) return;
    let res;
    try {
      res = await fetch('/auth/session', { method: 'POST', headers: { 'X-API-Key': key } });
    } catch (_) {
      $('key-error').textContent = 'API unreachable';
      return;
    }
    if (!res.ok) {
      $('key-error').textContent = res.status === 401 ? 'Unknown key' : `Error ${res.status}`;
      return;
    }
    $('api-key').value = '';
    $('key-error').textContent = '';
    $('key-form').hidden = true;
    needKey = false;
    closeStream();
    syncStream();
    refreshAll();
  }

  async function init() {
    $('key-form').addEventListener('submit', (e) => useKey(e).catch(reportBug));
    await checkAccess();
    await loadZones();
    readUrl();
    buildTimeZones();
    buildKpiTiles();
    syncControls();
    wireControls();
    writeUrl();
    syncStream();
    refreshAll();
    if (state.session) openSession(state.session); // a link to a drill-down opens it
  }

  init().catch(reportBug);
})();
