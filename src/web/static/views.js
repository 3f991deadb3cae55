// @ts-check
/**
 * The page's sections, each rendered afresh from the API's JSON. Values go through dom.js (text
 * only). Rows carry data-* attributes naming what they show, for people and tests alike.
 */
import { ago, badge, duration, h, json, relative, table } from './dom.js';

/** @param {any[]} members */
export function triggerersView(members) {
  return table(
    ['id', 'host', 'pid', 'version', 'heartbeat', 'load', 'watching'],
    members.map((t) =>
      h(
        'tr',
        { 'data-triggerer': t.id, class: t.healthy ? '' : 'bad' },
        h('td', {}, t.id, t.self ? h('span', { class: 'tag' }, 'serves this page') : null),
        h('td', {}, t.hostname),
        h('td', { class: 'num' }, t.pid),
        h('td', {}, t.version),
        h('td', {}, badge(t.healthy ? 'healthy' : 'late', 'health'), ` ${duration(t.beatAgeMs)} ago`),
        h(
          'td',
          {},
          h('meter', { min: 0, max: Math.max(1, t.capacity), value: t.running, high: t.capacity * 0.9 }),
          ` ${t.running} / ${t.capacity}`,
        ),
        h('td', {}, countsText(t.endpoints)),
      ),
    ),
    'no live triggerer: none has beaten in the last few intervals',
  );
}

/** @param {any[]} members */
export function workersView(members) {
  return table(
    ['id', 'host', 'pid', 'heartbeat', 'running', 'queues'],
    members.map((w) =>
      h(
        'tr',
        { 'data-worker': w.id, class: w.healthy ? '' : 'bad' },
        h('td', {}, w.id),
        h('td', {}, w.hostname),
        h('td', { class: 'num' }, w.pid),
        h('td', {}, badge(w.healthy ? 'healthy' : 'late', 'health'), ` ${duration(w.beatAgeMs)} ago`),
        h('td', { class: 'num' }, w.running),
        h('td', {}, w.knows.join(' ') || '-'),
      ),
    ),
    'no live worker',
  );
}

/**
 * @param {any[]} endpoints
 * @param {number} now
 */
export function endpointsView(endpoints, now) {
  if (endpoints.length === 0) {
    return h('p', { class: 'empty' }, 'none polled yet: this triggerer has no connection and no watcher');
  }
  return h(
    'div',
    { class: 'endpoints' },
    ...endpoints.map((e) =>
      h(
        'article',
        { class: `endpoint ${e.reachable ? '' : 'bad'}`, 'data-endpoint': e.name },
        h(
          'h3',
          {},
          e.name,
          ' ',
          badge(e.reachable ? 'reachable' : 'unreachable', 'reach'),
          h(
            'span',
            { class: 'muted' },
            ` last poll ${e.lastPollAt ? `${duration(now - e.lastPollAt)} ago` : 'never'}, ${e.lastPollMs} ms · `,
            e.watchers > 0 ? `${e.watchers} watching` : 'polled for this page',
          ),
        ),
        e.error ? h('p', { class: 'error' }, e.error) : null,
        programsTable(e, now),
      ),
    ),
  );
}

/**
 * @param {any} e
 * @param {number} now
 */
function programsTable(e, now) {
  const taken = e.programsAt ? ` (as of ${duration(now - e.programsAt)} ago)` : '';
  const rows = e.programs.map((/** @type {any} */ p) =>
    h(
      'tr',
      { 'data-program': p.name, 'data-state': p.state },
      h('td', {}, p.name),
      h('td', {}, badge(p.state)),
      h('td', { class: 'num' }, p.pid || '-'),
      h('td', {}, p.uptimeS === undefined ? '-' : duration(p.uptimeS * 1000)),
      h('td', { class: 'num' }, p.restarts),
      h('td', { class: 'num' }, p.state === 'EXITED' || p.state === 'FATAL' ? p.exitstatus : '-'),
      h('td', { class: 'error' }, p.spawnerr ?? ''),
    ),
  );
  const more = e.morePrograms > 0 ? h('p', { class: 'muted' }, `… ${e.morePrograms} more programs`) : null;
  return h(
    'div',
    {},
    table(
      ['program', 'state', 'pid', 'uptime', 'restarts seen', 'exit', 'spawn error'],
      rows,
      `no program${taken}`,
    ),
    more,
  );
}

/**
 * @param {any} list
 * @param {number} now
 * @param {string | undefined} selected
 * @param {(id: string) => void} onSelect
 */
export function triggersView(list, now, selected, onSelect) {
  if (list.error) return h('p', { class: 'error' }, list.error);
  const rows = list.triggers.map((/** @type {any} */ t) =>
    h(
      'tr',
      {
        'data-trigger': t.triggerId,
        'data-state': t.state,
        class: `clickable ${t.triggerId === selected ? 'selected' : ''}`,
        tabindex: 0,
        onclick: () => onSelect(t.triggerId),
        onkeydown: (/** @type {Event} */ event) => {
          if (/** @type {KeyboardEvent} */ (event).key === 'Enter') onSelect(t.triggerId);
        },
      },
      h('td', {}, t.triggerId),
      h('td', {}, badge(t.state, 'trigger')),
      h('td', {}, t.classpath),
      h('td', {}, t.endpoint ?? '-'),
      h('td', {}, duration(t.ageMs)),
      h('td', {}, relative(t.deadline, now)),
      h('td', {}, t.status ? badge(t.status, 'event') : t.lock ? (t.lock.held ? 'held' : 'lock lost') : '-'),
    ),
  );
  return h(
    'div',
    {},
    table(['id', 'state', 'classpath', 'endpoint', 'age', 'deadline', 'outcome'], rows, 'no trigger matches'),
    list.more ? h('p', { class: 'muted' }, '… more match: narrow the filter') : null,
  );
}

/**
 * @param {any} t a trigger in full
 * @param {number} now
 * @param {{ actions: boolean, onCancel: () => void, onClose: () => void, message?: string }} props
 */
export function triggerDetailView(t, now, { actions, onCancel, onClose, message }) {
  const finished = t.state === 'completed' || t.state === 'failed';
  /** @type {[string, Node | string][]} */
  const fields = [
    ['state', badge(t.state, 'trigger')],
    ['classpath', t.classpath],
    ['endpoint', t.endpoint ?? '-'],
    ['deferred', `${t.createdAt} (${ago(t.createdAt, now)})`],
    ['deadline', t.deadline ? `${t.deadline} (${relative(t.deadline, now)})` : '-'],
  ];
  if (t.claimedAt) fields.push(['claimed', `${t.claimedAt} (${ago(t.claimedAt, now)})`]);
  if (t.lock) fields.push(['holder', holderText(t.lock)]);
  if (t.continuation) fields.push(['continuation', t.continuation]);
  if (t.finishedAt) fields.push(['finished', `${t.finishedAt} (${ago(t.finishedAt, now)})`]);
  if (t.event) fields.push(['event', badge(t.event.status, 'event')]);
  return h(
    'div',
    { 'data-detail': t.triggerId },
    h(
      'header',
      {},
      h('h3', {}, 'trigger ', h('code', {}, t.triggerId)),
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          'data-action': 'cancel',
          disabled: finished || !actions,
          title: actions
            ? 'cancel this trigger (its continuation runs with status cancelled)'
            : 'set the status token to act',
          onclick: onCancel,
        },
        'cancel trigger',
      ),
      h('button', { type: 'button', onclick: onClose }, 'close'),
    ),
    message ? h('p', { class: 'message', 'data-message': '' }, message) : null,
    h('dl', {}, ...fields.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('h4', {}, 'kwargs'),
    h('pre', {}, json(t.kwargs)),
    t.task !== undefined ? [h('h4', {}, 'task'), h('pre', {}, json(t.task))] : null,
    t.event ? [h('h4', {}, 'event payload'), h('pre', { 'data-payload': '' }, json(t.event.payload))] : null,
    h('h4', {}, 'logs'),
    t.logs?.text !== undefined
      ? h('pre', { 'data-logs': '' }, t.logs.text)
      : h('p', { class: 'muted', 'data-logs': '' }, t.logs?.error ?? 'no logs'),
  );
}

/** @param {any} lock */
function holderText(lock) {
  if (!lock.held) return 'none: no triggerer holds its lock (it returns to wait at the next stalled check)';
  const who = lock.holder
    ? `triggerer ${lock.holder.id} (${lock.holder.hostname}, pid ${lock.holder.pid})`
    : 'a triggerer (not among the live heartbeats yet)';
  const ttl =
    lock.ttlMs === undefined ? '' : `; expires in ${(lock.ttlMs / 1000).toFixed(1)}s unless renewed`;
  return `${who}${ttl}`;
}

/**
 * @param {any[]} jobs
 * @param {number} more
 * @param {number} now
 * @param {{ actions: boolean, onStop: (name: string) => void, messages: Map<string, string> }} props
 */
export function jobsView(jobs, more, now, { actions, onStop, messages }) {
  const rows = jobs.map((j) => {
    const last = j.events[0];
    const message = messages.get(j.name);
    return h(
      'tr',
      { 'data-job': j.name, class: j.outcome?.status === 'failed' ? 'bad' : '' },
      h('td', {}, j.name, h('div', { class: 'muted small' }, j.runId)),
      h(
        'td',
        {},
        j.active ? badge('active', 'run') : badge(j.outcome?.status ?? 'ended', 'run'),
        j.outcome ? h('div', { class: 'small' }, `${j.outcome.reason}: ${j.outcome.message}`) : null,
        j.stopRequested ? h('div', { class: 'small' }, `stop requested: ${j.stopRequested}`) : null,
      ),
      h('td', {}, j.host, h('div', { class: 'muted small' }, `${j.queue} · ${j.workers} worker(s)`)),
      h('td', {}, j.step, h('div', { class: 'muted small' }, `cycle ${j.cycle}`)),
      h(
        'td',
        { class: 'num' },
        j.limits.maxretrigger === undefined ? j.retriggers : `${j.retriggers} / ${j.limits.maxretrigger}`,
      ),
      h('td', { class: 'small' }, limitsText(j.limits, now)),
      h(
        'td',
        {},
        ...j.programs.map((/** @type {any} */ p) =>
          h('div', { class: 'small' }, `${p.name} `, badge(p.state)),
        ),
      ),
      h(
        'td',
        { class: 'small' },
        ...j.events.map((/** @type {any} */ e) =>
          h(
            'div',
            { class: e.level === 'error' ? 'error' : e.level === 'warn' ? 'warn' : '' },
            `${ago(e.at, now)} · ${e.step}: ${e.message}`,
          ),
        ),
        last ? null : '-',
      ),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            'data-action': 'stop',
            disabled: !j.active || !actions,
            title: actions ? 'stop this run (a teardown)' : 'set the status token to act',
            onclick: () => onStop(j.name),
          },
          'stop',
        ),
        message ? h('div', { class: 'message small' }, message) : null,
      ),
    );
  });
  return h(
    'div',
    {},
    table(
      ['job', 'run', 'host', 'step', 'retriggers', 'limits', 'programs', 'last events', ''],
      rows,
      'no job has run',
    ),
    more > 0 ? h('p', { class: 'muted' }, `… ${more} more jobs`) : null,
  );
}

/**
 * @param {any} limits
 * @param {number} now
 */
function limitsText(limits, now) {
  const parts = [];
  if (limits.runtimeEndsAt) parts.push(`runtime ends ${relative(limits.runtimeEndsAt, now)}`);
  if (limits.endtimeAt) parts.push(`endtime ${relative(limits.endtimeAt, now)}`);
  if (limits.watchDeadline) parts.push(`check timeout ${relative(limits.watchDeadline, now)}`);
  return parts.length === 0 ? '-' : parts.map((p) => h('div', {}, p));
}

/** @param {Record<string, number>} counts */
function countsText(counts) {
  const entries = Object.entries(counts ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '-' : entries.map(([name, n]) => `${name}: ${n}`).join(', ');
}
