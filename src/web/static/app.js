// @ts-check
/**
 * The status page: live updates from /api/stream (Server-Sent Events: the overview and the trigger
 * list of the current filter, every couple of seconds), one trigger's detail from /api/triggers/<id>,
 * and the two actions, which send the token the operator typed (kept in this tab's sessionStorage
 * only) as `Authorization: Bearer`. No value is ever inserted as markup (see dom.js).
 */
import { chartsView } from './chart.js';
import { h } from './dom.js';
import {
  endpointsView,
  jobsView,
  triggerDetailView,
  triggerersView,
  triggersView,
  workersView,
} from './views.js';

const STATES = ['active', 'waiting', 'delayed', 'failed', 'completed'];
const TOKEN_KEY = 'supervisor-triggerer-status-token';

const state = {
  /** @type {any} */ overview: null,
  /** @type {any} */ triggers: null,
  filter: { state: '', endpoint: '' },
  /** @type {string | undefined} */ selected: undefined,
  /** @type {any} */ detail: null,
  detailMessage: '',
  /** @type {Map<string, string>} */ jobMessages: new Map(),
  token: sessionStorage.getItem(TOKEN_KEY) ?? '',
  /** @type {EventSource | null} */ source: null,
  lastAt: 0,
  endpointOptions: '',
};

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

function connect() {
  state.source?.close();
  const params = new URLSearchParams();
  if (state.filter.state) params.set('state', state.filter.state);
  if (state.filter.endpoint) params.set('endpoint', state.filter.endpoint);
  const source = new EventSource(`/api/stream?${params}`);
  state.source = source;
  source.addEventListener('message', (event) => {
    const tick = JSON.parse(/** @type {MessageEvent} */ (event).data);
    state.overview = tick.shared;
    state.triggers = tick.own;
    state.lastAt = Date.now();
    render();
    if (state.selected !== undefined) void loadDetail(state.selected);
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      // Refused (too many live views) or the server is gone: try again a little later.
      showLive('offline', 'live updates refused or lost; retrying…');
      setTimeout(() => state.source === source && connect(), 5000);
    } else showLive('reconnecting', 'reconnecting…');
  });
}

/**
 * @param {string} live
 * @param {string} text
 */
function showLive(live, text) {
  const element = byId('live');
  element.dataset.live = live;
  element.textContent = text;
}

function render() {
  const o = state.overview;
  if (!o) return;
  const now = Date.now();
  byId('served-by').textContent =
    `served by ${o.servedBy.id ?? 'this triggerer'} · ${o.servedBy.running} / ${o.servedBy.capacity} held`;
  const banner = byId('banner');
  banner.hidden = !o.redisError;
  banner.textContent = o.redisError ? `${o.redisError} — Redis data below may be missing or stale` : '';
  const healthy = o.triggerers.filter((/** @type {any} */ t) => t.healthy).length;
  byId('triggerers-summary').textContent = `${healthy} healthy of ${o.triggerers.length} live`;
  byId('triggerers').replaceChildren(triggerersView(o.triggerers));
  byId('workers').replaceChildren(workersView(o.workers));
  byId('charts').replaceChildren(chartsView(o.chart, now));
  byId('endpoints').replaceChildren(endpointsView(o.endpoints, now));
  renderFilters(o);
  if (state.triggers)
    byId('triggers').replaceChildren(triggersView(state.triggers, now, state.selected, select));
  byId('jobs').replaceChildren(
    jobsView(o.jobs, o.moreJobs, now, { actions: o.actions, onStop: stopJob, messages: state.jobMessages }),
  );
  showLive('live', 'live · updated just now');
}

/** @param {any} o */
function renderFilters(o) {
  const counts = o.triggerCounts ?? {};
  const all = STATES.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
  const chip = (/** @type {string} */ value, /** @type {string} */ label) =>
    h(
      'button',
      {
        type: 'button',
        class: `chip ${state.filter.state === value ? 'on' : ''}`,
        'data-filter-state': value || 'all',
        onclick: () => setFilter({ ...state.filter, state: value }),
      },
      label,
    );
  byId('state-filter').replaceChildren(
    chip('', `all ${all}`),
    ...STATES.map((s) => chip(s, `${s} ${counts[s] ?? 0}`)),
  );
  const names = new Set(o.endpoints.map((/** @type {any} */ e) => e.name));
  for (const t of o.triggerers) for (const name of Object.keys(t.endpoints ?? {})) names.add(name);
  if (state.filter.endpoint) names.add(state.filter.endpoint);
  const sorted = [...names].sort();
  const key = JSON.stringify(sorted);
  if (key === state.endpointOptions) return;
  state.endpointOptions = key;
  const select = /** @type {HTMLSelectElement} */ (byId('endpoint-filter'));
  select.replaceChildren(
    h('option', { value: '' }, 'any'),
    h('option', { value: '-' }, '- (names none)'),
    ...sorted.map((name) => h('option', { value: name }, name)),
  );
  select.value = state.filter.endpoint;
}

/** @param {{ state: string, endpoint: string }} filter */
function setFilter(filter) {
  state.filter = filter;
  state.triggers = null;
  byId('triggers').replaceChildren(h('p', { class: 'empty' }, 'loading…'));
  connect();
}

/** @param {string} id */
function select(id) {
  state.selected = id;
  state.detailMessage = '';
  state.detail = null;
  renderDetail();
  void loadDetail(id);
}

/** @param {string} id */
async function loadDetail(id) {
  try {
    const response = await fetch(`/api/triggers/${encodeURIComponent(id)}`, { cache: 'no-store' });
    const body = await response.json();
    if (state.selected !== id) return;
    const detail = response.ok ? body : { error: body.error ?? `HTTP ${response.status}` };
    // Redrawn only when something but the ages changed: a button is not replaced under the pointer.
    if (state.detail && sameDetail(state.detail, detail)) return;
    state.detail = detail;
  } catch (error) {
    if (state.selected !== id) return;
    state.detail = { error: String(error) };
  }
  renderDetail();
}

/**
 * @param {any} a
 * @param {any} b
 */
function sameDetail(a, b) {
  const key = (/** @type {any} */ d) =>
    JSON.stringify({ ...d, ageMs: 0, lock: d.lock && { ...d.lock, ttlMs: 0 } });
  return key(a) === key(b);
}

function renderDetail() {
  const panel = byId('trigger-detail');
  if (state.selected === undefined) {
    panel.hidden = true;
    panel.replaceChildren();
    return;
  }
  panel.hidden = false;
  const d = state.detail;
  if (!d) panel.replaceChildren(h('p', { class: 'empty' }, 'loading…'));
  else if (d.error)
    panel.replaceChildren(
      h('p', { class: 'error' }, d.error),
      h('button', { type: 'button', onclick: closeDetail }, 'close'),
    );
  else {
    panel.replaceChildren(
      triggerDetailView(d, Date.now(), {
        actions: Boolean(state.overview?.actions),
        onCancel: () => void cancelTrigger(d.triggerId),
        onClose: closeDetail,
        message: state.detailMessage,
      }),
    );
  }
}

function closeDetail() {
  state.selected = undefined;
  state.detail = null;
  renderDetail();
  render();
}

/**
 * POSTs an action with the token; resolves with a line saying what happened.
 * @param {string} path
 */
async function act(path) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  try {
    const response = await fetch(path, { method: 'POST', headers, cache: 'no-store' });
    const body = await response.json().catch(() => ({}));
    if (response.ok) return { ok: true, text: 'requested' };
    return {
      ok: false,
      text: `${response.status === 401 ? 'refused' : 'failed'} (${response.status}): ${body.error ?? ''}`,
    };
  } catch (error) {
    return { ok: false, text: `failed: ${String(error)}` };
  }
}

/** @param {string} id */
async function cancelTrigger(id) {
  state.detailMessage = 'cancelling…';
  renderDetail();
  const result = await act(`/api/triggers/${encodeURIComponent(id)}/cancel`);
  state.detailMessage = result.ok ? 'cancel requested: the trigger ends with status cancelled' : result.text;
  renderDetail();
}

/** @param {string} name */
async function stopJob(name) {
  state.jobMessages.set(name, 'stopping…');
  render();
  const result = await act(`/api/jobs/${encodeURIComponent(name)}/stop`);
  state.jobMessages.set(name, result.ok ? 'stop requested: the run tears down' : result.text);
  render();
}

function setUpToken() {
  const form = /** @type {HTMLFormElement} */ (byId('token-form'));
  const input = /** @type {HTMLInputElement} */ (byId('token'));
  const forget = byId('token-forget');
  const show = () => {
    forget.hidden = !state.token;
    input.placeholder = state.token ? 'token set for this tab' : 'status token for actions';
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    state.token = input.value.trim();
    input.value = '';
    if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
    else sessionStorage.removeItem(TOKEN_KEY);
    show();
  });
  forget.addEventListener('click', () => {
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    show();
  });
  show();
}

function setUpFilters() {
  byId('endpoint-filter').addEventListener('change', (event) => {
    setFilter({ ...state.filter, endpoint: /** @type {HTMLSelectElement} */ (event.target).value });
  });
}

/** Says how fresh the data is between updates, and when it went stale. */
function tickLiveness() {
  if (!state.lastAt || state.source?.readyState !== EventSource.OPEN) return;
  const age = Math.round((Date.now() - state.lastAt) / 1000);
  if (age >= 10) showLive('stale', `no update for ${age}s`);
  else if (age >= 2) showLive('live', `live · updated ${age}s ago`);
}

setUpToken();
setUpFilters();
connect();
setInterval(tickLiveness, 1000);
