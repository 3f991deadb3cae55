/**
 * What the status page reads, as plain JSON for its API: the fleet from Redis (triggerers' and
 * workers' heartbeats, trigger counts and lists, jobs) and the serving triggerer from its view
 * (endpoints and their programs, the latency chart). Every value is bounded, a record's kwargs and
 * payloads are redacted (`shownValue`), and a job shows an allowlist of fields, never its files'
 * environment or its overrides. Redis is read on one connection of the page's own, so a Redis that
 * is away fails a read fast (and the page says so) instead of queueing it.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { Cluster, type RedisOptions } from 'ioredis';
import {
  describeTrigger,
  listTriggers,
  TRIGGER_STATES,
  type TriggerDetail,
  type TriggerList,
  type TriggerState,
} from '../client/status.js';
import { triggerLogsText } from '../client/log-text.js';
import { readTriggerLogs } from '../client/trigger-log.js';
import { shownValue } from '../client/redact.js';
import { runStatus, type RunStatus } from '../jobs/runs.js';
import { RunStore } from '../jobs/store.js';
import { TRIGGERS_QUEUE } from '../protocol/index.js';
import { connect, VIEW_CLIENT_OPTIONS, type RedisClient } from '../redis/connection.js';
import { listTriggerers, type TriggererInfo } from '../redis/heartbeat.js';
import type { LatencyHistory } from '../triggerer/metrics.js';
import type { EndpointRow } from '../triggerer/program-tables.js';
import type { TriggererView } from '../triggerer/view.js';

/** A member of a fleet (triggerer or job step worker) as the page shows it. */
export interface FleetMember {
  id: string;
  hostname: string;
  pid: number;
  version: string;
  started: string;
  /** Ms since its last beat. */
  beatAgeMs: number;
  intervalMs: number;
  /** Its last beat is at most two intervals old. */
  healthy: boolean;
  capacity: number;
  running: number;
  /** Watchers per endpoint (triggerers). */
  endpoints: Record<string, number>;
  /** Queues it serves (workers) or endpoints it has a connection for (triggerers). */
  knows: string[];
  /** The triggerer serving this page. */
  self?: boolean;
}

/** An endpoint as the page shows it: what the serving triggerer last saw of it. */
export interface EndpointOverview extends EndpointRow {
  /** Watchers of the serving triggerer on it now (0: polled for the page only). */
  watchers: number;
  /** The serving triggerer has a connection of that name. */
  known: boolean;
}

/**
 * A job's latest run, as the page shows it: its status without the job's options (they may name
 * commands and paths the page has no need to show), the outcome's message and program names bounded.
 */
export type JobRow = Omit<RunStatus, 'options' | 'outcome'> & {
  outcome?: { status: string; reason: string; message: string };
};

/** Everything the page shows but the trigger list. */
export interface Overview {
  /** When it was read (ISO 8601). */
  at: string;
  servedBy: { id?: string; capacity: number; running: number };
  /** The actions are on (a token is configured). */
  actions: boolean;
  /** Why the Redis part is missing or stale, when Redis could not be read. */
  redisError?: string;
  triggerers: FleetMember[];
  workers: FleetMember[];
  endpoints: EndpointOverview[];
  /** Trigger jobs per state. */
  triggerCounts?: Record<TriggerState, number>;
  jobs: JobRow[];
  /** Jobs left out past the page's limit. */
  moreJobs: number;
  chart: LatencyHistory;
}

/** What the trigger list shows. */
export interface TriggerFilter {
  /** One state, or every state. */
  state?: TriggerState;
  /** Only triggers naming this endpoint (`-`: naming none). */
  endpoint?: string;
}

/** One trigger in full, with a place for its logs. */
export interface TriggerDetailView extends TriggerDetail {
  /**
   * What the trigger left, as text (its own log lines, then its event's program logs), or why it
   * could not be read.
   */
  logs: { text: string } | { error: string };
}

/** Options for {@link StatusReader}. */
export interface StatusReaderOptions {
  /** Jobs shown. @default 50 */
  maxJobs?: number;
  /** Events shown per job. @default 5 */
  jobEvents?: number;
  /** Triggers in one list. @default 50 */
  listLimit?: number;
  /** Clock in unix ms. @default Date.now */
  now?: () => number;
}

const EVENT_CHARS = 500;
const MEMBERS = 200;
/** Longest endpoint name or trigger id the page passes on to Redis. */
export const MAX_NAME_CHARS = 256;

/** Reads what the page shows; one Redis connection, opened at the first read. */
export class StatusReader {
  private redis: RedisClient | undefined;
  private queue: Queue | undefined;
  private store: RunStore | undefined;
  private readonly connection: ConnectionOptions;
  private readonly maxJobs: number;
  private readonly jobEvents: number;
  private readonly listLimit: number;
  private readonly now: () => number;

  constructor(
    private readonly view: TriggererView,
    options: StatusReaderOptions = {},
  ) {
    this.connection = optionsOf(view.connection);
    this.maxJobs = options.maxJobs ?? 50;
    this.jobEvents = options.jobEvents ?? 5;
    this.listLimit = options.listLimit ?? 50;
    this.now = options.now ?? Date.now;
  }

  /** The overview; what Redis cannot give is left empty and `redisError` says why. */
  async overview(actions: boolean): Promise<Overview> {
    const now = this.now();
    const selfId = this.view.id();
    const overview: Overview = {
      at: new Date(now).toISOString(),
      servedBy: {
        ...(selfId !== undefined && { id: selfId }),
        capacity: this.view.capacity,
        running: this.view.running(),
      },
      actions,
      triggerers: [],
      workers: [],
      endpoints: this.endpoints(),
      jobs: [],
      moreJobs: 0,
      chart: this.view.latencyHistory(),
    };
    try {
      const { redis, queue, store } = this.open();
      const prefix = this.view.prefix;
      const [triggerers, workers, counts, names] = await Promise.all([
        listTriggerers(redis, { prefix }),
        listTriggerers(redis, { prefix, fleet: 'workers' }),
        queue.getJobCounts(...TRIGGER_STATES),
        store.jobs(),
      ]);
      overview.triggerers = triggerers.slice(0, MEMBERS).map((t) => memberOf(t, now, selfId));
      overview.workers = workers.slice(0, MEMBERS).map((w) => memberOf(w, now, undefined));
      overview.triggerCounts = Object.fromEntries(
        TRIGGER_STATES.map((state) => [state, counts[state] ?? 0]),
      ) as Record<TriggerState, number>;
      const shown = names.slice(0, this.maxJobs);
      overview.moreJobs = names.length - shown.length;
      const runs = await Promise.all(
        shown.map((name) => runStatus(store, name, { events: this.jobEvents }).catch(() => undefined)),
      );
      overview.jobs = runs.filter((run): run is RunStatus => run !== undefined).map(jobRowOf);
    } catch (error) {
      overview.redisError = redisMessage(error);
    }
    return overview;
  }

  /** A page of triggers, newest first within each state. */
  triggers(filter: TriggerFilter): Promise<TriggerList> {
    return listTriggers({
      connection: this.connection,
      prefix: this.view.prefix,
      limit: this.listLimit,
      ...(filter.state !== undefined && { states: [filter.state] }),
      ...(filter.endpoint !== undefined && { endpoint: filter.endpoint }),
    });
  }

  /** One trigger in full. Throws TriggerNotFound. */
  async trigger(triggerId: string): Promise<TriggerDetailView> {
    const detail = await describeTrigger(triggerId, {
      connection: this.connection,
      prefix: this.view.prefix,
    });
    const logs = await readTriggerLogs(triggerId, {
      connection: this.connection,
      prefix: this.view.prefix,
    }).then(
      (found) => ({ text: triggerLogsText(triggerId, found) }),
      (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
    );
    return { ...detail, logs };
  }

  /** The connection options the page's SDK calls use (cancel, stop). */
  get connectionOptions(): ConnectionOptions {
    return this.connection;
  }

  /** The run store on the page's connection (stop a job). */
  runStore(): RunStore {
    return this.open().store;
  }

  /** Closes the page's connection. */
  async close(): Promise<void> {
    const { redis, queue } = this;
    this.redis = undefined;
    this.queue = undefined;
    this.store = undefined;
    await queue?.close().catch(() => undefined);
    redis?.disconnect();
  }

  private endpoints(): EndpointOverview[] {
    const counters = this.view.pollCounters();
    const known = new Set(this.view.endpointNames());
    return this.view.endpoints().map((row) => ({
      ...row,
      watchers: counters[row.name]?.subscribers ?? 0,
      known: known.has(row.name),
    }));
  }

  private open(): { redis: RedisClient; queue: Queue; store: RunStore } {
    if (!this.redis || !this.queue || !this.store) {
      // A read fails within seconds while Redis is away (the page says so and retries at its next
      // tick) instead of waiting for it without end.
      const redis = connect(this.connection, VIEW_CLIENT_OPTIONS);
      redis.on('error', () => undefined); // reported by the reads that fail
      this.redis = redis;
      this.queue = new Queue(TRIGGERS_QUEUE, { connection: redis, prefix: this.view.prefix });
      this.queue.on('error', () => undefined);
      this.store = new RunStore(redis, this.view.prefix);
    }
    return { redis: this.redis, queue: this.queue, store: this.store };
  }
}

/**
 * Connection options of the page's own: a client instance given to the triggerer is never shared (a
 * Cluster client is kept: its options describe the cluster, not one node, and `connect` duplicates it).
 */
function optionsOf(connection: ConnectionOptions): ConnectionOptions {
  if (connection instanceof Cluster) return connection;
  const client = connection as { duplicate?: unknown; options?: RedisOptions };
  return typeof client.duplicate === 'function' ? ({ ...client.options } as ConnectionOptions) : connection;
}

function memberOf(info: TriggererInfo, now: number, selfId: string | undefined): FleetMember {
  const beatAgeMs = Math.max(0, now - Date.parse(info.beat));
  return {
    id: info.id,
    hostname: info.hostname,
    pid: info.pid,
    version: info.version,
    started: info.started,
    beatAgeMs,
    intervalMs: info.intervalMs,
    healthy: beatAgeMs <= 2 * info.intervalMs,
    capacity: info.capacity,
    running: info.running,
    endpoints: info.endpoints,
    knows: (info.knows ?? []).slice(0, 100),
    ...(selfId !== undefined && info.id === selfId && { self: true }),
  };
}

/** The fields of a run the page shows (an allowlist: nothing of its files or overrides). */
function jobRowOf(run: RunStatus): JobRow {
  return {
    name: run.name,
    runId: run.runId,
    active: run.active,
    host: run.host,
    queue: run.queue,
    step: run.step,
    cycle: run.cycle,
    retriggers: run.retriggers,
    startedAt: run.startedAt,
    referenceTime: run.referenceTime,
    ...(run.endedAt && { endedAt: run.endedAt }),
    ...(run.outcome && {
      outcome: {
        status: run.outcome.status,
        reason: run.outcome.reason,
        message: bounded(run.outcome.message),
      },
    }),
    limits: {
      ...(run.limits.runtimeEndsAt && { runtimeEndsAt: run.limits.runtimeEndsAt }),
      ...(run.limits.endtimeAt && { endtimeAt: run.limits.endtimeAt }),
      ...(run.limits.watchDeadline && { watchDeadline: run.limits.watchDeadline }),
      ...(run.limits.maxretrigger !== undefined && { maxretrigger: run.limits.maxretrigger }),
    },
    programs: run.programs.slice(0, 100).map((p) => ({
      name: bounded(p.name),
      state: p.state,
      ...(p.pid !== undefined && { pid: p.pid }),
      ...(p.exitstatus !== undefined && { exitstatus: p.exitstatus }),
    })),
    ...(run.trigger && { trigger: run.trigger }),
    ...(run.stopRequested !== undefined && { stopRequested: bounded(run.stopRequested) }),
    events: run.events.map((e) => ({
      at: e.at,
      step: e.step,
      cycle: e.cycle,
      message: bounded(e.message),
      ...(e.level && { level: e.level }),
    })),
    workers: run.workers,
  };
}

function bounded(text: string): string {
  return String(shownValue(text, { stringChars: EVENT_CHARS }));
}

/** One line saying why Redis could not be read (ioredis messages name the address, never a password). */
export function redisMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return `Redis: ${(text.split('\n')[0] ?? '').slice(0, 300)}`;
}
