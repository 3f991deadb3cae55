/**
 * What `supervisor-triggerer status` shows: live triggerers, trigger jobs per endpoint and state, a
 * list of triggers, and one trigger in full. Read-only; kwargs and payloads are shown redacted and
 * bounded (`shownValue`).
 */
import { Queue, type Job, type JobType } from 'bullmq';
import { listTriggerers, type TriggererInfo } from '../redis/heartbeat.js';
import { TRIGGERS_QUEUE, type TriggerEvent, type TriggerStatus } from '../protocol/index.js';
import { RedisCall, type RedisConnection } from './connection.js';
import { TriggerNotFound } from './errors.js';
import { shownValue } from './redact.js';
import { readJob } from './jobs.js';
import { eventOfJob } from './wait.js';

/** The states `status` reads, in the order it lists them. */
export const TRIGGER_STATES = ['active', 'waiting', 'delayed', 'failed', 'completed'] as const;
export type TriggerState = (typeof TRIGGER_STATES)[number];
export type StateCounts = Record<TriggerState, number>;

/** Triggers per endpoint (`kwargs.endpoint`, or `-` when a trigger names none) and in total. */
export interface TriggerStatusReport {
  endpoints: Record<string, StateCounts>;
  total: StateCounts;
}

/** Where the triggers are: the Redis and the BullMQ prefix. */
export interface StatusOptions {
  connection: RedisConnection;
  /** BullMQ key prefix; on a Redis Cluster it must hold a hash tag. @default 'bull' ('{bull}' on a cluster) */
  prefix?: string;
}

/** One trigger as a list shows it. */
export interface TriggerSummary {
  triggerId: string;
  /** The BullMQ job state (`active`: a triggerer watches it). */
  state: string;
  /** `?` when the job holds no classpath (a bad record). */
  classpath: string;
  /** `kwargs.endpoint`, when the trigger names one. */
  endpoint?: string;
  /** When it was deferred (ISO 8601). */
  createdAt: string;
  /** Ms since it was deferred. */
  ageMs: number;
  /** The record's absolute deadline, if any. */
  deadline?: string;
  /** When a triggerer last claimed it (ISO 8601). */
  claimedAt?: string;
  /** When it finished (ISO 8601). */
  finishedAt?: string;
  /** The status of its event, once finished. */
  status?: TriggerStatus;
  /**
   * An active trigger's job lock: held by the triggerer watching it, renewed while it runs; not held
   * means it is about to return to wait (its triggerer is gone). `holder` (in `describeTrigger`) is
   * the live triggerer whose heartbeat names the owner of the lock's token.
   */
  lock?: { held: boolean; ttlMs?: number; holder?: { id: string; hostname: string; pid: number } };
}

/** One trigger in full. */
export interface TriggerDetail extends TriggerSummary {
  /** The record's kwargs, secret-like keys redacted, bounded. */
  kwargs: Record<string, unknown>;
  /** The record's `task` (who waits), bounded. */
  task?: unknown;
  /** The continuation job, `<queue>:<job id>`, when deferred with one. */
  continuation?: string;
  /** Its event once finished (a failed job: `failed` with the reason); payload redacted, bounded. */
  event?: TriggerEvent;
}

/** Options for {@link listTriggers}. */
export interface ListTriggersOptions extends StatusOptions {
  /** Only these states. @default every state in TRIGGER_STATES */
  states?: readonly TriggerState[];
  /** Only triggers naming this endpoint (`-`: naming none). @default every trigger */
  endpoint?: string;
  /** At most this many. @default 100 */
  limit?: number;
}

/** A page of {@link listTriggers}. */
export interface TriggerList {
  triggers: TriggerSummary[];
  /** More triggers match than `limit`. */
  more: boolean;
}

/** Jobs read from Redis at a time while listing. */
const PAGE = 500;

function zero(): StateCounts {
  return { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
}

/** Reads every trigger job's state and endpoint. Reads all retained jobs: meant for operators. */
export async function triggerStatus({ connection, prefix }: StatusOptions): Promise<TriggerStatusReport> {
  return RedisCall.run(connection, async (call) => {
    const queue = call.own(
      new Queue(TRIGGERS_QUEUE, { connection: call.options, prefix: call.prefix(prefix) }),
    );
    const report: TriggerStatusReport = { endpoints: {}, total: zero() };
    for (const state of TRIGGER_STATES) {
      for (const job of await queue.getJobs([state as JobType])) {
        if (!job) continue;
        const counts = (report.endpoints[endpointOf(recordOf(job.data)) ?? '-'] ??= zero());
        counts[state] += 1;
        report.total[state] += 1;
      }
    }
    return report;
  });
}

/** The triggerers whose heartbeat in Redis is alive, oldest first, with their load. */
export async function liveTriggerers({
  connection,
  prefix,
}: {
  connection: RedisConnection;
  /** The fleet's BullMQ key prefix; on a Redis Cluster it must hold a hash tag. @default 'bull' ('{bull}' on a cluster) */
  prefix?: string;
}): Promise<TriggererInfo[]> {
  return RedisCall.run(connection, (call) => listTriggerers(call.redis(), { prefix: call.prefix(prefix) }));
}

/** Triggers newest first within each state (active, waiting, delayed, failed, completed), filtered. */
export async function listTriggers(options: ListTriggersOptions): Promise<TriggerList> {
  const limit = options.limit ?? 100;
  const states = options.states ?? TRIGGER_STATES;
  return RedisCall.run(options.connection, async (call) => {
    const queue = call.own(
      new Queue(TRIGGERS_QUEUE, { connection: call.options, prefix: call.prefix(options.prefix) }),
    );
    const found: [Job, TriggerState][] = [];
    // One past the limit, to know whether there are more.
    for (const state of states) {
      for (let start = 0; found.length <= limit; start += PAGE) {
        const jobs = (await queue.getJobs([state as JobType], start, start + PAGE - 1)).filter(Boolean);
        for (const job of jobs) {
          if (options.endpoint === undefined || (endpointOf(recordOf(job.data)) ?? '-') === options.endpoint)
            found.push([job, state]);
        }
        if (jobs.length < PAGE) break;
      }
      if (found.length > limit) break;
    }
    const shown = found.slice(0, limit);
    const locks = await lockTtls(
      call,
      queue,
      shown.filter(([, state]) => state === 'active').map(([job]) => job.id ?? ''),
    );
    const now = Date.now();
    return {
      triggers: shown.map(([job, state]) => summaryOf(job, state, now, locks.get(job.id ?? ''))),
      more: found.length > limit,
    };
  });
}

/** One trigger in full. Throws TriggerNotFound. */
export async function describeTrigger(triggerId: string, options: StatusOptions): Promise<TriggerDetail> {
  return RedisCall.run(options.connection, async (call) => {
    const prefix = call.prefix(options.prefix);
    const queue = call.own(new Queue(TRIGGERS_QUEUE, { connection: call.options, prefix }));
    // The state first, then the job (as finishedEvent): a job read after a final state holds its result.
    const state = await queue.getJobState(triggerId);
    const job = state === 'unknown' ? undefined : await readJob(queue, triggerId);
    if (!job) throw new TriggerNotFound(triggerId);
    const lock = state === 'active' ? (await lockTtls(call, queue, [triggerId])).get(triggerId) : undefined;
    if (lock?.held) {
      const holder = await holderOf(call, queue, triggerId, prefix);
      if (holder) lock.holder = holder;
    }
    const summary = summaryOf(job, state, Date.now(), lock);
    const record = recordOf(job.data);
    const event =
      state === 'completed' || state === 'failed'
        ? eventOfJob(job, state)
        : (undefined as TriggerEvent | undefined);
    return {
      ...summary,
      kwargs: (shownValue(isObject(record.kwargs) ? record.kwargs : {}) ?? {}) as Record<string, unknown>,
      ...(record.task !== undefined && { task: shownValue(record.task) }),
      ...(job.parentKey !== undefined && { continuation: continuationOf(job.parentKey) }),
      ...(event && { event: { ...event, payload: shownValue(event.payload) as Record<string, unknown> } }),
    };
  });
}

function summaryOf(job: Job, state: string, now: number, lock: TriggerSummary['lock']): TriggerSummary {
  const record = recordOf(job.data);
  const endpoint = endpointOf(record);
  const finished = state === 'completed' || state === 'failed';
  return {
    triggerId: job.id ?? '',
    state,
    classpath: typeof record.classpath === 'string' ? String(shownValue(record.classpath)) : '?',
    ...(endpoint !== undefined && { endpoint: String(shownValue(endpoint)) }),
    createdAt: new Date(job.timestamp).toISOString(),
    ageMs: Math.max(0, now - job.timestamp),
    ...(typeof record.deadline === 'string' && { deadline: String(shownValue(record.deadline)) }),
    ...(job.processedOn && { claimedAt: new Date(job.processedOn).toISOString() }),
    ...(finished && job.finishedOn && { finishedAt: new Date(job.finishedOn).toISOString() }),
    ...(finished && { status: eventOfJob(job, state).status }),
    ...(lock && { lock }),
  };
}

/**
 * The live triggerer holding a trigger's lock: the one whose heartbeat lists the owner of the lock's
 * token (`<owner>:<n>`; a hand-off keeps the token, and the adopter lists its owner).
 */
async function holderOf(
  call: RedisCall,
  queue: Queue,
  triggerId: string,
  prefix: string,
): Promise<{ id: string; hostname: string; pid: number } | undefined> {
  const redis = call.redis();
  const token = await redis.get(`${queue.toKey(triggerId)}:lock`);
  if (!token) return undefined;
  const owner = token.slice(0, token.lastIndexOf(':'));
  const holder = (await listTriggerers(redis, { prefix })).find((t) => t.owners?.includes(owner));
  return holder && { id: holder.id, hostname: holder.hostname, pid: holder.pid };
}

/** PTTL of each job's lock key (BullMQ's `<prefix>:<queue>:<id>:lock`), in one round trip. */
async function lockTtls(
  call: RedisCall,
  queue: Queue,
  ids: string[],
): Promise<Map<string, NonNullable<TriggerSummary['lock']>>> {
  const locks = new Map<string, NonNullable<TriggerSummary['lock']>>();
  if (ids.length === 0) return locks;
  const pipeline = call.redis().pipeline();
  for (const id of ids) pipeline.pttl(`${queue.toKey(id)}:lock`);
  const replies = (await pipeline.exec()) ?? [];
  ids.forEach((id, i) => {
    const ttl = Number(replies[i]?.[1]);
    // -2: no lock key; -1: a lock without expiry (not BullMQ's), held all the same.
    locks.set(
      id,
      ttl === -2 || Number.isNaN(ttl) ? { held: false } : { held: true, ...(ttl >= 0 && { ttlMs: ttl }) },
    );
  });
  return locks;
}

/** The job data as a record-like object: a producer may also store the record as a JSON string. */
function recordOf(data: unknown): Record<string, unknown> {
  let value = data;
  if (typeof value === 'string' && value.length <= 1_000_000) {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  return isObject(value) ? value : {};
}

function endpointOf(record: Record<string, unknown>): string | undefined {
  const endpoint = isObject(record.kwargs) ? record.kwargs.endpoint : undefined;
  return typeof endpoint === 'string' ? endpoint : undefined;
}

/** `<queue>:<id>` of a parent key `<prefix>:<queue>:<id>` (the prefix may hold colons). */
function continuationOf(parentKey: string): string {
  const last = parentKey.lastIndexOf(':');
  const queueStart = parentKey.lastIndexOf(':', last - 1);
  return parentKey.slice(queueStart + 1);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
