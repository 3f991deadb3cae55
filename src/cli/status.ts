/**
 * `supervisor-triggerer status [ID | --triggers …] [--json]`: live triggerers with their load and
 * triggers per endpoint and state; or a list of triggers; or one trigger in full.
 */
import { parseArgs } from 'node:util';
import {
  describeTrigger,
  listTriggers,
  liveTriggerers,
  readTriggerLogs,
  TRIGGER_STATES,
  TriggerNotFound,
  triggerStatus,
  triggerLogsText,
  type StateCounts,
  type TriggerDetail,
  type TriggerState,
  type TriggerSummary,
} from '../client/index.js';
import type { TriggererInfo } from '../redis/heartbeat.js';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from './io.js';
import { durationFlag, positiveIntFlag, REDIS_FLAGS, REDIS_HELP, redisUrlOf, usageErrors } from './args.js';
import { ago, relative, table } from './format.js';

const HELP = `usage: supervisor-triggerer status [--json]
       supervisor-triggerer status --triggers [--state S]... [--endpoint NAME] [--limit N] [--json]
       supervisor-triggerer status ID [--json]
       supervisor-triggerer status ID --logs [--json]
       supervisor-triggerer status --watch [--interval DUR] [--json]   (also: supervisor-triggerer top)

Without arguments: the live triggerers (heartbeats in Redis) with their load, then the triggers per
endpoint (kwargs.endpoint; '-' for none) and state. --json prints { triggerers: [...], triggers: {...} }.
With --triggers: one line per trigger, newest first within each state. With ID: that trigger in full
(classpath, kwargs with secret-like keys redacted, state, lock, age, deadline, event or failure).
With ID --logs: the trigger's own log lines (the triggerer's lines for it) and the program logs its
event carries.
With --watch: a full-screen view redrawn every interval (triggerers, workers, triggers, jobs with
their programs); q or Ctrl-C quits. When stdout is not a terminal it prints a plain frame every
interval instead; with --json, one JSON object per line.

options:
  --json                 print JSON instead of tables
  --triggers             list triggers (--state, --endpoint and --limit imply it)
  --state S              only triggers in state S (${TRIGGER_STATES.join(', ')}); repeatable or S1,S2
  --endpoint NAME        only triggers naming that endpoint ('-': naming none)
  --limit N              at most N triggers (default 100)
  --logs                 with ID: its log lines and its event's program logs
  --watch                live view, redrawn every --interval
  --interval DUR         period of --watch (default 2s; at least 200ms)
${REDIS_HELP}`;

const COLUMNS: (keyof StateCounts)[] = ['waiting', 'active', 'delayed', 'completed', 'failed'];
/** Period of `--watch`, and the shortest one allowed (each frame is a few Redis round trips). */
const DEFAULT_WATCH_MS = 2000;
const MIN_WATCH_MS = 200;
/** Characters of a kwargs or payload line in the text view (the values themselves are bounded too). */
const LINE_CHARS = 2000;

/** Runs `status`. */
export async function run(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({
      args,
      options: {
        json: { type: 'boolean' },
        triggers: { type: 'boolean' },
        state: { type: 'string', multiple: true },
        endpoint: { type: 'string' },
        limit: { type: 'string' },
        logs: { type: 'boolean' },
        watch: { type: 'boolean' },
        interval: { type: 'string' },
        ...REDIS_FLAGS,
      },
      strict: true,
      allowPositionals: true,
    }),
  );
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  const [triggerId, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] ?? ''}'`);
  const list =
    values.triggers ||
    values.state !== undefined ||
    values.endpoint !== undefined ||
    values.limit !== undefined;
  if (list && triggerId !== undefined) throw new UsageError('give a trigger id or --triggers, not both');
  if (values.watch && (list || triggerId !== undefined)) {
    throw new UsageError(
      '--watch shows everything: give no trigger id, --triggers, --state, --endpoint or --limit',
    );
  }
  if (values.interval !== undefined && !values.watch) throw new UsageError('--interval goes with --watch');
  const intervalMs =
    values.interval === undefined ? DEFAULT_WATCH_MS : durationFlag('--interval', values.interval);
  if (intervalMs < MIN_WATCH_MS)
    throw new UsageError(`--interval: at least ${MIN_WATCH_MS}ms, got '${values.interval}'`);
  const states = values.state === undefined ? undefined : statesOf(values.state);
  const limit = values.limit === undefined ? undefined : positiveIntFlag('--limit', values.limit);
  if (values.logs && triggerId === undefined) throw new UsageError('--logs needs a trigger id');
  const connection = await redisUrlOf(values, io);
  if (triggerId !== undefined && values.logs)
    return showTriggerLogs(triggerId, connection, values.json === true, io);
  if (values.watch) {
    const { processTerminal, watchStatus } = await import('./status-watch.js');
    return watchStatus({ url: connection, intervalMs, json: values.json === true }, processTerminal());
  }
  if (triggerId !== undefined) return showTrigger(triggerId, connection, values.json === true, io);
  if (list) {
    const found = await listTriggers({
      connection,
      ...(states && { states }),
      ...(values.endpoint !== undefined && { endpoint: values.endpoint }),
      ...(limit !== undefined && { limit }),
    });
    io.stdout(values.json ? `${JSON.stringify(found, null, 2)}\n` : listText(found.triggers, found.more));
    return EXIT_OK;
  }
  const [triggerers, triggers] = await Promise.all([
    liveTriggerers({ connection }),
    triggerStatus({ connection }),
  ]);
  if (values.json) {
    io.stdout(`${JSON.stringify({ triggerers, triggers }, null, 2)}\n`);
    return EXIT_OK;
  }
  const now = Date.now();
  const triggererRows = triggerers.map((t) => [
    t.id,
    t.hostname,
    String(t.pid),
    `${t.running}/${t.capacity}`,
    endpointsCell(t),
    `${Math.max(0, Math.round((now - Date.parse(t.beat)) / 1000))}s ago`,
  ]);
  const triggerRows = [
    ...Object.entries(triggers.endpoints)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, counts]) => [name, ...COLUMNS.map((c) => String(counts[c]))]),
    ['TOTAL', ...COLUMNS.map((c) => String(triggers.total[c]))],
  ];
  io.stdout(
    [
      `triggerers (${triggerers.length} live)`,
      ...(triggerers.length === 0
        ? ['  none: no triggerer has beaten in the last few intervals']
        : table([['ID', 'HOST', 'PID', 'RUNNING/CAPACITY', 'ENDPOINTS', 'LAST BEAT'], ...triggererRows])),
      '',
      'triggers',
      ...table([['ENDPOINT', ...COLUMNS.map((c) => c.toUpperCase())], ...triggerRows]),
    ].join('\n') + '\n',
  );
  return EXIT_OK;
}

async function showTrigger(triggerId: string, connection: string, json: boolean, io: CliIO): Promise<number> {
  let detail: TriggerDetail;
  try {
    detail = await describeTrigger(triggerId, { connection });
  } catch (error) {
    if (!(error instanceof TriggerNotFound)) throw error;
    io.stderr(`supervisor-triggerer status: ${error.message}\n`);
    return EXIT_FAILED;
  }
  io.stdout(json ? `${JSON.stringify(detail, null, 2)}\n` : detailText(detail));
  return EXIT_OK;
}

async function showTriggerLogs(
  triggerId: string,
  connection: string,
  json: boolean,
  io: CliIO,
): Promise<number> {
  try {
    const logs = await readTriggerLogs(triggerId, { connection });
    io.stdout(json ? `${JSON.stringify(logs, null, 2)}\n` : triggerLogsText(triggerId, logs));
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof TriggerNotFound)) throw error;
    io.stderr(`supervisor-triggerer status: ${error.message}\n`);
    return EXIT_FAILED;
  }
}

function detailText(t: TriggerDetail): string {
  const now = Date.now();
  const rows: [string, string][] = [
    ['state', t.state],
    ['classpath', t.classpath],
    ['endpoint', t.endpoint ?? '-'],
    ['kwargs', line(t.kwargs)],
    ['deferred', `${t.createdAt} (${ago(t.ageMs)})`],
    [
      'deadline',
      t.deadline === undefined ? '-' : `${t.deadline} (${relative(Date.parse(t.deadline) - now)})`,
    ],
  ];
  if (t.claimedAt) rows.push(['claimed', `${t.claimedAt} (${ago(now - Date.parse(t.claimedAt))})`]);
  if (t.lock) rows.push(['holder', holderText(t.lock)]);
  if (t.continuation) rows.push(['continuation', t.continuation]);
  if (t.task !== undefined) rows.push(['task', line(t.task)]);
  if (t.finishedAt) rows.push(['finished', `${t.finishedAt} (${ago(now - Date.parse(t.finishedAt))})`]);
  if (t.event?.status === 'failed' && typeof t.event.payload.error === 'string') {
    rows.push(['failed', t.event.payload.error]);
  } else if (t.event) {
    rows.push(['event', `${t.event.status} ${line(t.event.payload)}`]);
  }
  return [`trigger ${t.triggerId}`, ...table(rows.map(([k, v]) => [k, v]))].join('\n') + '\n';
}

function holderText(lock: NonNullable<TriggerSummary['lock']>): string {
  if (!lock.held) return 'none: no triggerer holds its lock (it returns to wait at the next stalled check)';
  const ttl =
    lock.ttlMs === undefined ? '' : `, renewed by it; expires in ${(lock.ttlMs / 1000).toFixed(1)}s`;
  const who = lock.holder
    ? `triggerer ${lock.holder.id} (${lock.holder.hostname}, pid ${lock.holder.pid})`
    : 'a triggerer (not among the live heartbeats yet)';
  return `${who} holds its lock${ttl}`;
}

function listText(triggers: TriggerSummary[], more: boolean): string {
  if (triggers.length === 0) return 'no triggers match\n';
  const now = Date.now();
  const rows = triggers.map((t) => [
    t.triggerId,
    t.state,
    t.classpath,
    t.endpoint ?? '-',
    ago(t.ageMs),
    t.deadline === undefined ? '-' : relative(Date.parse(t.deadline) - now),
    t.status ?? (t.lock ? (t.lock.held ? 'locked' : 'lock lost') : '-'),
  ]);
  const lines = table([['ID', 'STATE', 'CLASSPATH', 'ENDPOINT', 'AGE', 'DEADLINE', 'OUTCOME'], ...rows]);
  if (more) lines.push(`  … more triggers match: narrow with --state/--endpoint or raise --limit`);
  return lines.join('\n') + '\n';
}

function statesOf(values: string[]): TriggerState[] {
  const states = values.flatMap((v) => v.split(',')).map((s) => s.trim());
  for (const state of states) {
    if (!(TRIGGER_STATES as readonly string[]).includes(state)) {
      throw new UsageError(`--state: unknown state '${state}' (expected ${TRIGGER_STATES.join(', ')})`);
    }
  }
  return states as TriggerState[];
}

/** A value as one JSON line, cut at LINE_CHARS. */
function line(value: unknown): string {
  const text = JSON.stringify(value) ?? '';
  return text.length <= LINE_CHARS
    ? text
    : `${text.slice(0, LINE_CHARS)}… (${text.length - LINE_CHARS} more characters)`;
}

function endpointsCell(t: TriggererInfo): string {
  const entries = Object.entries(t.endpoints).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '-' : entries.map(([name, n]) => `${name}:${n}`).join(' ');
}
