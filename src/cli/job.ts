/**
 * `supervisor-triggerer job <command>`: start, stop and inspect the always-on runs of job files, and
 * register their schedules. The steps run on the workers of the job's host; this only talks to Redis.
 */
import { parseArgs } from 'node:util';
import { Queue, type ConnectionOptions } from 'bullmq';
import { resolveJob } from '../config/convenience.js';
import { loadJobFiles } from '../config/load.js';
import { JobRunError, UnknownJob } from '../jobs/errors.js';
import { loadJob } from '../jobs/load.js';
import { beginRun, requestStop, requireWorker, runStatus, workersFor, type RunStatus } from '../jobs/runs.js';
import { removeSchedule, schedulesOf, upsertSchedule, type JobSchedule } from '../jobs/schedules.js';
import { RunStore } from '../jobs/store.js';
import { hostOptions } from '../config/host.js';
import { closeSshHosts, hostFor } from '../supervisor/host/index.js';
import { tailProgramLog } from '../supervisor/lifecycle/logs.js';
import {
  closeConnection,
  connect,
  findRedisUrl,
  redactRedisUrl,
  redisConnection,
  releaseConnection,
  type RedisClient,
} from '../redis/connection.js';
import { prefixFor } from '../redis/prefix.js';
import { durationFlag, REDIS_FLAGS, usageErrors } from './args.js';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from './io.js';

const USAGE = `usage: supervisor-triggerer job <command> ...

commands:
  start JOBFILE... [--set k=v]...   start a run of the job (its name: the file's 'name', else its base
                                    name); refused while one runs, or when no worker serves its host
  stop NAME [--no-wait] [--timeout DUR] [--reason R]
                                    tear the run down now (stop_on_exit and cleanup honoured); waits
                                    for the teardown (default up to 5m) and prints how the run ended
  status NAME [--json] [--events N] the run's step, cycle, retriggers, programs, limits, last events
  list [--json]                     every job: its active or last run, and its schedule
  logs NAME [PROGRAM] [--stderr] [--lines N]
                                    the run's events; with PROGRAM, the last lines of its log (default
                                    20, at most 10000), from the job's host
  schedule JOBFILE... [--set k=v]   register the job file's 'schedule' (cron, in its timezone)
  unschedule NAME                   remove it

options of every command: --redis-url URL, --state-dir DIR (default: $REDIS_URL, else the embedded
redis of a running triggerer)
exit codes: 0 ok, 1 failed (not running, already running, invalid job file, no worker), 2 usage
`;

const COMMANDS: Record<string, (c: Invocation) => Promise<number>> = {
  start: startCommand,
  stop: stopCommand,
  status: statusCommand,
  list: listCommand,
  logs: logsCommand,
  schedule: scheduleCommand,
  unschedule: unscheduleCommand,
};

interface Invocation {
  io: CliIO;
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
  store: RunStore;
  /** BullMQ connection options of the Redis (a cluster's client on a cluster). */
  connection: ConnectionOptions;
  /** The fleet's key prefix (`bull`, `{bull}` on a cluster). */
  prefix: string;
}

/** Runs `job`. */
export async function run(args: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(USAGE);
    return command === undefined ? 2 : EXIT_OK;
  }
  const handler = COMMANDS[command];
  if (!handler) throw new UsageError(`unknown command '${command}'\n${USAGE}`);
  const { values, positionals } = usageErrors(() =>
    parseArgs({
      args: rest,
      options: {
        ...REDIS_FLAGS,
        set: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        events: { type: 'string' },
        'no-wait': { type: 'boolean' },
        timeout: { type: 'string' },
        reason: { type: 'string' },
        stderr: { type: 'boolean' },
        lines: { type: 'string' },
      },
      strict: true,
      allowPositionals: true,
    }),
  );
  if (values.help) {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  const redisUrl = await findRedisUrl({
    url: values['redis-url'],
    env: io.env,
    stateDir: values['state-dir'],
  });
  // a command, not a daemon: a Redis that cannot be reached is an error after a few tries, not a wait
  const connection = redisConnection(redisUrl);
  const prefix = prefixFor(connection);
  const redis: RedisClient = connect(connection, {
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  });
  let lastError: string | undefined;
  redis.on('error', (error: Error) => (lastError = error.message)); // the ping below reports it
  try {
    await redis.ping().catch((error: Error) => {
      throw new JobRunError(
        `cannot reach Redis at ${redactRedisUrl(redisUrl)}: ${lastError ?? error.message}`,
      );
    });
    const store = new RunStore(redis, prefix);
    return await handler({ io, positionals, values, store, connection, prefix });
  } finally {
    await closeConnection(redis);
    await releaseConnection(connection);
  }
}

async function startCommand({
  io,
  positionals,
  values,
  store,
  connection,
  prefix,
}: Invocation): Promise<number> {
  if (positionals.length === 0) throw new UsageError('start: name at least one job file');
  const loaded = await loadJob(positionals, { overrides: (values.set as string[]) ?? [], env: io.env });
  await requireWorker(store.redis, loaded, prefix);
  const queue = new Queue(loaded.spec.queue, { connection, prefix });
  try {
    const run = await beginRun(store, queue, loaded);
    if (values.json) io.stdout(`${JSON.stringify(run)}\n`);
    else io.stdout(`${run.runId}\n`);
    return EXIT_OK;
  } finally {
    await queue.close();
  }
}

async function stopCommand({
  io,
  positionals,
  values,
  store,
  connection,
  prefix,
}: Invocation): Promise<number> {
  const name = oneName('stop', positionals);
  const waitMs = values['no-wait'] ? 0 : durationFlag('--timeout', (values.timeout as string) ?? '5m');
  const status = await store.activeRun(name);
  const queue = status && (await store.readRecord(status))?.queue;
  if (queue && waitMs > 0 && (await workersFor(store.redis, queue, prefix)).length === 0) {
    io.stderr(`job ${name}: no worker serves ${queue}: the stop is recorded and happens when one starts\n`);
  }
  const result = await requestStop(store, connection, name, {
    waitMs,
    prefix,
    ...(values.reason !== undefined && { reason: values.reason as string }),
  });
  if (waitMs === 0) {
    io.stdout(`${result.runId}: stop requested\n`);
    return EXIT_OK;
  }
  if (!result.outcome) {
    io.stderr(
      `job ${name}: run ${result.runId} did not end within ${values.timeout ?? '5m'} (see 'job status ${name}')\n`,
    );
    return EXIT_FAILED;
  }
  io.stdout(`${result.runId}: ${result.outcome.status} (${result.outcome.message})\n`);
  return EXIT_OK;
}

async function statusCommand({ io, positionals, values, store }: Invocation): Promise<number> {
  const name = oneName('status', positionals);
  const events = values.events === undefined ? 10 : Number(values.events);
  if (!Number.isInteger(events) || events < 0) throw new UsageError('--events: expected a number');
  const status = await runStatus(store, name, { events });
  if (values.json) {
    io.stdout(`${JSON.stringify(status, null, 2)}\n`);
    return EXIT_OK;
  }
  io.stdout(formatStatus(status));
  return EXIT_OK;
}

async function listCommand({ io, values, store, connection, prefix }: Invocation): Promise<number> {
  const rows: {
    name: string;
    run?: string;
    state: string;
    step?: string;
    cycle?: number;
    schedule?: JobSchedule;
  }[] = [];
  const schedules = new Map<string, JobSchedule>();
  const queues = new Set<string>();
  for (const name of await store.jobs()) {
    const spec = await store.spec(name);
    if (spec) queues.add(spec.queue);
  }
  for (const name of queues) {
    const queue = new Queue(name, { connection, prefix });
    try {
      for (const schedule of await schedulesOf(queue)) schedules.set(schedule.name, schedule);
    } finally {
      await queue.close();
    }
  }
  for (const name of await store.jobs()) {
    let status: RunStatus | undefined;
    try {
      status = await runStatus(store, name, { events: 0 });
    } catch (error) {
      if (!(error instanceof UnknownJob)) throw error;
    }
    rows.push({
      name,
      ...(status && { run: status.runId, step: status.step, cycle: status.cycle }),
      state:
        status === undefined ? 'never run' : status.active ? 'running' : (status.outcome?.status ?? 'ended'),
      ...(schedules.has(name) && { schedule: schedules.get(name) }),
    });
  }
  if (values.json) {
    io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT_OK;
  }
  if (rows.length === 0) {
    io.stdout('no jobs\n');
    return EXIT_OK;
  }
  io.stdout(
    table([
      ['JOB', 'STATE', 'RUN', 'STEP', 'CYCLE', 'SCHEDULE'],
      ...rows.map((r) => [
        r.name,
        r.state,
        r.run ?? '-',
        r.step ?? '-',
        r.cycle === undefined ? '-' : String(r.cycle),
        r.schedule
          ? `${r.schedule.pattern}${r.schedule.timezone ? ` ${r.schedule.timezone}` : ''} (next ${r.schedule.next ?? '?'})`
          : '-',
      ]),
    ]),
  );
  return EXIT_OK;
}

async function logsCommand({ io, positionals, values, store }: Invocation): Promise<number> {
  const [name, program, ...extra] = positionals;
  if (name === undefined || extra.length > 0) throw new UsageError('logs: expected NAME [PROGRAM]');
  if (program === undefined) {
    const status = await runStatus(store, name, { events: 100 });
    io.stdout(`${status.runId}\n${[...status.events].reverse().map(formatEvent).join('\n')}\n`);
    return EXIT_OK;
  }
  const spec = await store.spec(name);
  if (!spec) throw new UnknownJob(name);
  const lines = values.lines === undefined ? DEFAULT_LOG_LINES : logLines(values.lines as string);
  const config = await loadJobFiles(spec.files, { overrides: spec.overrides, env: io.env });
  // the log is read where supervisord runs: over SSH for a remote job, whose connection is closed after
  const host = hostFor({ host: config.host && hostOptions(config.host) }, io.env);
  try {
    const job = await resolveJob(config, { env: io.env, files: host });
    const channel = values.stderr ? 'stderr' : 'stdout';
    const end = await tailProgramLog(job, program, { env: io.env, host, channel, lines });
    io.stdout(end.text);
    return EXIT_OK;
  } finally {
    closeSshHosts();
  }
}

/** Lines `job logs NAME PROGRAM` prints by default, and at most (the read is bounded at 1 MiB too). */
const DEFAULT_LOG_LINES = 20;
const MAX_LOG_LINES = 10_000;

function logLines(text: string): number {
  const count = Number(text);
  if (!/^\d+$/.test(text) || count < 1 || count > MAX_LOG_LINES)
    throw new UsageError(`--lines: expected a number from 1 to ${MAX_LOG_LINES}, got '${text}'`);
  return count;
}

async function scheduleCommand({
  io,
  positionals,
  values,
  store,
  connection,
  prefix,
}: Invocation): Promise<number> {
  if (positionals.length === 0) throw new UsageError('schedule: name at least one job file');
  const loaded = await loadJob(positionals, { overrides: (values.set as string[]) ?? [], env: io.env });
  const queue = new Queue(loaded.spec.queue, { connection, prefix });
  try {
    const schedule = await upsertSchedule(queue, store, loaded);
    io.stdout(
      `${schedule.name}: ${schedule.pattern}${schedule.timezone ? ` (${schedule.timezone})` : ''}, next ${schedule.next}\n`,
    );
    if ((await workersFor(store.redis, loaded.spec.queue, prefix)).length === 0) {
      io.stderr(
        `job ${schedule.name}: no worker serves ${loaded.spec.queue} now: runs start once one does\n`,
      );
    }
    return EXIT_OK;
  } finally {
    await queue.close();
  }
}

async function unscheduleCommand({
  io,
  positionals,
  store,
  connection,
  prefix,
}: Invocation): Promise<number> {
  const name = oneName('unschedule', positionals);
  const spec = await store.spec(name);
  if (!spec) throw new UnknownJob(name);
  const queue = new Queue(spec.queue, { connection, prefix });
  try {
    if (!(await removeSchedule(queue, name))) {
      io.stderr(`job ${name} has no schedule\n`);
      return EXIT_FAILED;
    }
    io.stdout(`${name}: schedule removed\n`);
    return EXIT_OK;
  } finally {
    await queue.close();
  }
}

function oneName(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`${command}: expected one job NAME`);
  return positionals[0]!;
}

/** `job status` as text. */
export function formatStatus(s: RunStatus): string {
  const lines = [`job ${s.name}: run ${s.runId} (${s.active ? 'active' : 'ended'})`];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(10)}  ${value}`);
  row('host', `${s.host} (queue ${s.queue}, ${s.workers} live worker${s.workers === 1 ? '' : 's'})`);
  const max = s.limits.maxretrigger === undefined ? '' : ` of ${s.limits.maxretrigger}`;
  row('step', `${s.step}, cycle ${s.cycle}, retriggers ${s.retriggers}${max}`);
  row('started', `${s.startedAt} (reference time ${s.referenceTime})`);
  if (s.endedAt) row('ended', s.endedAt);
  if (s.outcome) row('outcome', `${s.outcome.status} (${s.outcome.reason}): ${s.outcome.message}`);
  if (s.stopRequested && s.active) row('stopping', s.stopRequested);
  const due = [
    s.limits.runtimeEndsAt && `runtime ends ${s.limits.runtimeEndsAt}`,
    s.limits.endtimeAt && `endtime ${s.limits.endtimeAt}`,
    s.active && s.limits.watchDeadline && `check_timeout ${s.limits.watchDeadline}`,
  ].filter(Boolean);
  row('limits', due.length ? due.join('; ') : 'none');
  if (s.programs.length === 0) row('programs', '-');
  for (const [i, p] of s.programs.entries()) {
    const pid = p.pid ? ` pid ${p.pid}` : '';
    const exit = p.state === 'EXITED' ? ` exit ${p.exitstatus}` : '';
    row(i === 0 ? 'programs' : '', `${p.name} ${p.state}${pid}${exit}`);
  }
  if (s.active && s.workers === 0)
    lines.push(`  WARNING: no worker serves ${s.queue}: the run waits until one starts`);
  if (s.events.length) {
    lines.push('  events (newest first)');
    for (const event of s.events) lines.push(`    ${formatEvent(event)}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatEvent(e: {
  at: string;
  step: string;
  cycle: number;
  message: string;
  level?: string;
}): string {
  const level = e.level && e.level !== 'info' ? `${e.level.toUpperCase()} ` : '';
  return `${e.at} [${e.step}${e.cycle ? `/${e.cycle}` : ''}] ${level}${e.message.replace(/\n/g, '\n      ')}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return `${rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}
