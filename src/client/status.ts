/** What `supervisor-triggerer status` shows: live triggerers, and trigger jobs per endpoint and state. */
import { Queue, type JobType } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { listTriggerers, type TriggererInfo } from '../triggerer/heartbeat.js';
import { TRIGGERS_QUEUE } from '../protocol/index.js';
import { toConnectionOptions, type RedisConnection } from './connection.js';

const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;
export type StateCounts = Record<(typeof STATES)[number], number>;

/** Triggers per endpoint (`kwargs.endpoint`, or `-` when a trigger names none) and in total. */
export interface TriggerStatusReport {
  endpoints: Record<string, StateCounts>;
  total: StateCounts;
}

function zero(): StateCounts {
  return { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
}

/** Reads every trigger job's state and endpoint. Reads all retained jobs: meant for operators. */
export async function triggerStatus({
  connection,
  prefix,
}: {
  connection: RedisConnection;
  prefix?: string;
}): Promise<TriggerStatusReport> {
  const queue = new Queue(TRIGGERS_QUEUE, { connection: toConnectionOptions(connection), prefix });
  try {
    const report: TriggerStatusReport = { endpoints: {}, total: zero() };
    for (const state of STATES) {
      const jobs = await queue.getJobs([state as JobType]);
      for (const job of jobs) {
        if (!job) continue;
        const kwargs = (job.data as { kwargs?: { endpoint?: unknown } } | undefined)?.kwargs;
        const endpoint = typeof kwargs?.endpoint === 'string' ? kwargs.endpoint : '-';
        const counts = (report.endpoints[endpoint] ??= zero());
        counts[state] += 1;
        report.total[state] += 1;
      }
    }
    return report;
  } finally {
    await queue.close();
  }
}

/** The triggerers whose heartbeat in Redis is alive, oldest first, with their load. */
export async function liveTriggerers({
  connection,
  prefix,
}: {
  connection: RedisConnection;
  /** The fleet's BullMQ key prefix. @default 'bull' */
  prefix?: string;
}): Promise<TriggererInfo[]> {
  const options = toConnectionOptions(connection);
  const given = options as { duplicate?: () => Redis };
  // A client instance is duplicated so that closing ours leaves the caller's open.
  const redis =
    typeof given.duplicate === 'function'
      ? given.duplicate()
      : new Redis({ ...(options as RedisOptions), maxRetriesPerRequest: 1 });
  try {
    return await listTriggerers(redis, prefix === undefined ? {} : { prefix });
  } finally {
    redis.disconnect();
  }
}
