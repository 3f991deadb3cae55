/**
 * Starting, stopping and reading runs, from any process (the CLI, a schedule, a TypeScript task).
 * One active run per job: the run key is set NX at start and released when the run's teardown ends.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { cancel } from '../client/cancel.js';
import { TriggerAlreadyFinished, TriggerNotFound } from '../client/errors.js';
import { listTriggerers, type TriggererInfo } from '../redis/heartbeat.js';
import { JobAlreadyRunning, JobNotRunning, NoWorker, UnknownJob } from './errors.js';
import { limitsOf } from './limits.js';
import type { LoadedJob } from './load.js';
import { newRunId, STEP_JOB_OPTIONS, stepJobId } from './names.js';
import { reviveRun } from './recover.js';
import type { Outcome, RunData } from './run-data.js';
import type { RunEvent, RunStore } from './store.js';

/** A run just started. */
export interface StartedRun {
  name: string;
  runId: string;
  queue: string;
  referenceTime: string;
}

/** Options of {@link beginRun}. */
export interface BeginRunOptions {
  /** The run's reference time (unix ms): the runtime counts from it. @default now */
  referenceTime?: number;
  /** Clock in unix ms. @default Date.now */
  now?: () => number;
  /** What started it, for the first event. @default 'job start' */
  by?: string;
}

/**
 * Starts a run of a loaded job: claims the job's run key, writes the run record and adds the first
 * step (configure) to its host's queue. Throws JobAlreadyRunning with the active run's id.
 */
export async function beginRun(
  store: RunStore,
  queue: Queue,
  loaded: LoadedJob,
  options: BeginRunOptions = {},
): Promise<StartedRun> {
  const now = (options.now ?? Date.now)();
  const reference = options.referenceTime ?? now;
  const { spec, resolved } = loaded;
  const o = resolved.options;
  const runId = newRunId(spec.name, now);
  const limits = limitsOf(o, reference);
  const referenceTime = new Date(reference).toISOString();
  const record: Record<string, string> = {
    job: spec.name,
    runId,
    host: spec.host,
    queue: spec.queue,
    files: JSON.stringify(spec.files),
    startedAt: new Date(now).toISOString(),
    referenceTime,
    limits: JSON.stringify(limits),
    options: JSON.stringify({
      check_interval_ms: o.checkIntervalMs,
      check_timeout_ms: o.checkTimeoutMs,
      runtime_ms: o.runtimeMs,
      endtime: o.endtime,
      timezone: o.timezone,
      maxretrigger: o.maxretrigger,
      stop_on_exit: o.stopOnExit,
      cleanup: o.cleanup,
      restart_on_initial: o.restartOnInitial,
      restart_on_retrigger: o.restartOnRetrigger,
    }),
    step: 'configure',
    cycle: '1',
    retriggers: '0',
  };
  const current = await store.claim(spec, runId, record);
  if (current !== undefined) throw new JobAlreadyRunning(spec.name, current);
  const data: RunData = {
    v: 1,
    job: { name: spec.name, files: spec.files, overrides: spec.overrides },
    runId,
    step: 'configure',
    cycle: 1,
    retriggers: 0,
    referenceTime,
    limits,
    watchFailures: 0,
  };
  try {
    await queue.add('configure', data, { ...STEP_JOB_OPTIONS, jobId: stepJobId(runId, 1, 'configure') });
  } catch (error) {
    await store.release(spec.name, runId);
    throw error;
  }
  await store.event(runId, {
    at: new Date(now).toISOString(),
    step: 'configure',
    cycle: 1,
    message: `run started by ${options.by ?? 'job start'} on ${spec.queue}`,
  });
  return { name: spec.name, runId, queue: spec.queue, referenceTime };
}

/** The live workers (of the fleet with BullMQ prefix `prefix`) that serve `queue`. */
export async function workersFor(
  redis: RedisClient,
  queue: string,
  prefix?: string,
): Promise<TriggererInfo[]> {
  const workers = await listTriggerers(redis, { prefix, fleet: 'workers' });
  return workers.filter((worker) => worker.knows?.includes(queue));
}

/** Throws NoWorker unless a live worker serves the job's queue. */
export async function requireWorker(redis: RedisClient, loaded: LoadedJob, prefix?: string): Promise<void> {
  if ((await workersFor(redis, loaded.spec.queue, prefix)).length === 0) {
    throw new NoWorker(loaded.spec.queue, loaded.spec.host);
  }
}

/** What `job stop` did. */
export interface StopRequest {
  runId: string;
  /** The run's outcome, when the caller waited for its end and it ended. */
  outcome?: Outcome;
}

/**
 * Asks the job's active run to stop: marks it (any step that starts goes to teardown) and cancels
 * its watch (its evaluate step runs at once and tears down). A run whose current step job failed for
 * good or is gone goes on to teardown, or ends, from here (src/jobs/recover.ts): nothing else would
 * run it. With `waitMs`, waits for the run to end.
 */
export async function requestStop(
  store: RunStore,
  connection: ConnectionOptions,
  name: string,
  {
    reason = 'stopped by job stop',
    waitMs = 0,
    prefix,
  }: { reason?: string; waitMs?: number; prefix?: string } = {},
): Promise<StopRequest> {
  const runId = await store.activeRun(name);
  if (runId === undefined) throw new JobNotRunning(name);
  await store.requestStop(runId, reason);
  await store.event(runId, {
    at: new Date().toISOString(),
    step: 'stop',
    cycle: 0,
    message: `stop requested: ${reason}`,
  });
  const record = await store.readRecord(runId);
  if (record?.queue) {
    const queue = new Queue(record.queue, { connection, prefix });
    try {
      await reviveRun(store, queue, name, runId);
    } finally {
      await queue.close();
    }
  }
  const trigger = record?.trigger;
  if (trigger) {
    try {
      await cancel(trigger, { connection, reason, ...(prefix !== undefined && { prefix }) });
    } catch (error) {
      // No watch now (another step runs, or its evaluate): that step sees the mark.
      if (!(error instanceof TriggerNotFound || error instanceof TriggerAlreadyFinished)) throw error;
    }
  }
  if (waitMs <= 0) return { runId };
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    if ((await store.activeRun(name)) !== runId) {
      const outcome = (await store.readRecord(runId))?.outcome;
      return { runId, ...(outcome && { outcome: JSON.parse(outcome) as Outcome }) };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { runId };
}

/** What `job status` shows of a run. */
export interface RunStatus {
  name: string;
  runId: string;
  active: boolean;
  host: string;
  queue: string;
  step: string;
  cycle: number;
  retriggers: number;
  startedAt: string;
  referenceTime: string;
  endedAt?: string;
  outcome?: Outcome;
  limits: { runtimeEndsAt?: string; endtimeAt?: string; watchDeadline?: string; maxretrigger?: number };
  options: Record<string, unknown>;
  programs: { name: string; state: string; pid?: number; exitstatus?: number }[];
  trigger?: string;
  stopRequested?: string;
  /** Newest first. */
  events: RunEvent[];
  /** Live workers of the run's queue. */
  workers: number;
}

/** The job's active run, else its latest; throws UnknownJob when it never ran. */
export async function runStatus(store: RunStore, name: string, { events = 10 } = {}): Promise<RunStatus> {
  const active = await store.activeRun(name);
  const runId = active ?? (await store.lastRun(name));
  if (runId === undefined) throw new UnknownJob(name);
  const record = await store.readRecord(runId);
  if (record === undefined) throw new UnknownJob(name);
  const json = <T>(text: string | undefined, fallback: T): T => (text ? (JSON.parse(text) as T) : fallback);
  const options = json<Record<string, unknown>>(record.options, {});
  const queue = record.queue ?? '';
  const stop = await store.stopRequested(runId);
  return {
    name,
    runId,
    active: active === runId,
    host: record.host ?? '',
    queue,
    step: record.step ?? '',
    cycle: Number(record.cycle ?? 0),
    retriggers: Number(record.retriggers ?? 0),
    startedAt: record.startedAt ?? '',
    referenceTime: record.referenceTime ?? '',
    ...(record.endedAt && { endedAt: record.endedAt }),
    ...(record.outcome && { outcome: json<Outcome>(record.outcome, undefined as never) }),
    limits: {
      ...json<object>(record.limits, {}),
      ...(record.watchDeadline && { watchDeadline: record.watchDeadline }),
      ...(typeof options.maxretrigger === 'number' && { maxretrigger: options.maxretrigger }),
    },
    options,
    programs: json(record.programs, []),
    ...(record.trigger && { trigger: record.trigger }),
    ...(stop !== undefined && { stopRequested: stop }),
    events: await store.events(runId, events),
    workers: queue ? (await workersFor(store.redis, queue)).length : 0,
  };
}
