/** Counts of trigger jobs per endpoint and state, for `supervisor-triggerer status`. */
import { Queue, type JobType } from 'bullmq';
import { TRIGGERS_QUEUE } from '../record.js';
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
