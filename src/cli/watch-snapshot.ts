/**
 * What `status --watch` reads at each frame, all from Redis: the triggerers and job workers (their
 * heartbeats), trigger jobs per state, the newest triggers, and each job's latest run. One Redis
 * connection for the whole watch, so a frame costs a few round trips, not a connection each; a
 * Redis that is away fails a frame within seconds and the next frame tries again.
 */
import { Queue } from 'bullmq';
import { listTriggers, TRIGGER_STATES, type TriggerState, type TriggerSummary } from '../client/index.js';
import { runStatus, type RunStatus } from '../jobs/runs.js';
import { RunStore } from '../jobs/store.js';
import { TRIGGERS_QUEUE } from '../protocol/index.js';
import { RedisCall } from '../client/connection.js';
import {
  connect,
  VIEW_CLIENT_OPTIONS,
  redactRedisUrl,
  redisConnection,
  type RedisClient,
} from '../redis/connection.js';
import { prefixFor } from '../redis/prefix.js';
import { listTriggerers, type TriggererInfo } from '../redis/heartbeat.js';

/** One frame's data. */
export interface WatchSnapshot {
  /** When it was read (unix ms). */
  at: number;
  triggerers: TriggererInfo[];
  workers: TriggererInfo[];
  /** Trigger jobs per state. */
  counts: Record<TriggerState, number>;
  /** The newest triggers, active first. */
  triggers: TriggerSummary[];
  moreTriggers: boolean;
  /** Each job's latest run, by name. */
  jobs: RunStatus[];
  moreJobs: number;
}

/** Options for {@link WatchReader}. */
export interface WatchReaderOptions {
  /** Triggers read per frame. @default 50 */
  triggers?: number;
  /** Jobs read per frame. @default 30 */
  jobs?: number;
}

/** Reads snapshots on one connection until closed. */
export class WatchReader {
  private readonly call: RedisCall;
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly queue: Queue;
  private readonly store: RunStore;
  /** The Redis as it may be shown (no password). */
  readonly where: string;

  constructor(
    url: string,
    private readonly options: WatchReaderOptions = {},
  ) {
    this.where = redactRedisUrl(url);
    // Used only to translate a failed frame into one line naming the Redis and why (the client's
    // last error, e.g. ECONNREFUSED, rather than "max retries"); the client itself keeps retrying.
    this.call = new RedisCall(url);
    // Any kind of Redis the URL names (one server, a Sentinel group, a Cluster) and its prefix.
    const connection = redisConnection(url);
    this.prefix = prefixFor(connection);
    this.redis = this.call.own(connect(connection, VIEW_CLIENT_OPTIONS));
    this.queue = new Queue(TRIGGERS_QUEUE, { connection: this.redis, prefix: this.prefix });
    this.queue.on('error', () => undefined);
    this.store = new RunStore(this.redis, this.prefix);
  }

  /** One snapshot; throws when Redis cannot be read. */
  async read(): Promise<WatchSnapshot> {
    try {
      return await this.readOnce();
    } catch (error) {
      throw this.call.failure(error);
    }
  }

  private async readOnce(): Promise<WatchSnapshot> {
    const [triggerers, workers, counts, names, list] = await Promise.all([
      listTriggerers(this.redis, { prefix: this.prefix }),
      listTriggerers(this.redis, { fleet: 'workers', prefix: this.prefix }),
      this.queue.getJobCounts(...TRIGGER_STATES),
      this.store.jobs(),
      listTriggers({ connection: this.redis, prefix: this.prefix, limit: this.options.triggers ?? 50 }),
    ]);
    const shown = names.slice(0, this.options.jobs ?? 30);
    const jobs = await Promise.all(
      shown.map((name) => runStatus(this.store, name, { events: 1 }).catch(() => undefined)),
    );
    return {
      at: Date.now(),
      triggerers,
      workers,
      counts: Object.fromEntries(TRIGGER_STATES.map((s) => [s, counts[s] ?? 0])) as Record<
        TriggerState,
        number
      >,
      triggers: list.triggers,
      moreTriggers: list.more,
      jobs: jobs.filter((job): job is RunStatus => job !== undefined),
      moreJobs: names.length - shown.length,
    };
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => undefined);
    this.redis.disconnect();
  }
}
