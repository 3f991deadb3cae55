/**
 * The scale bench's load: N ProgramStateTrigger watchers deferred with continuations through the
 * SDK, spread evenly over the fleet's programs, and one continuation worker that records when
 * each continuation starts: a ClaimingWorker (what the README advises for continuations that come
 * in bursts), or BullMQ's own Worker with `SCALE_CONSUMER=bullmq`.
 */
import { Job, Queue, Worker, type ConnectionOptions, type Processor } from 'bullmq';
import { ClaimingWorker } from '../src/queue/claims.js';
import { defer } from '../src/client/defer.js';
import { readTriggerEvent } from '../src/client/continuation.js';
import { TRIGGERS_QUEUE } from '../src/protocol/index.js';
import type { FleetMember } from './scale-fleet.js';

/** The continuations' queue. */
export const RESUME_QUEUE = 'scale-resume';

/** Which program watcher `i` of `n` watches: round-robin over members, then over programs. */
export function watchedBy(i: number, members: FleetMember[], programs: string[]) {
  const member = members[i % members.length];
  const program = programs[Math.floor(i / members.length) % programs.length];
  if (member === undefined || program === undefined) throw new Error('empty fleet');
  return { member, program };
}

/** Defers `n` watchers (STOPPED or EXITED, checked every 5 s), `parallel` defers at a time. */
export async function deferWatchers(
  n: number,
  members: FleetMember[],
  programs: string[],
  connection: ConnectionOptions,
  parallel = 64,
): Promise<void> {
  let next = 0;
  const one = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const { member, program } = watchedBy(i, members, programs);
      await defer(
        {
          classpath: 'supervisor.ProgramStateTrigger',
          kwargs: {
            endpoint: member.name,
            programs: [program],
            states: ['STOPPED', 'EXITED'],
            interval: '5s',
          },
        },
        {
          connection,
          id: `w-${i}`,
          continuation: { queue: RESUME_QUEUE, name: 'resume', data: { endpoint: member.name, program } },
        },
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, one));
}

/** Start times (unix ms) of continuations, by `endpoint/program`, and their event statuses. */
export interface ResumeLog {
  starts: Map<string, number[]>;
  /** When the triggerer saw each outcome (the event's `firedAt`), by `endpoint/program`. */
  fired: Map<string, number[]>;
  statuses: Map<string, number>;
  /**
   * Per continuation, ms from the event's firedAt to: the trigger job finished in Redis (BullMQ's
   * `finishedOn`), the continuation claimed (`processedOn`), the continuation's code started.
   */
  phases: { firedAt: number; finished: number; claimed: number; started: number }[];
  total: number;
  close(): Promise<void>;
}

/** Runs the continuation worker in this process. */
export async function recordResumes(connection: ConnectionOptions): Promise<ResumeLog> {
  const log: ResumeLog = {
    starts: new Map(),
    fired: new Map(),
    statuses: new Map(),
    phases: [],
    total: 0,
    close: async () => {
      await worker.close();
      await triggers.close();
    },
  };
  const triggers = new Queue(TRIGGERS_QUEUE, { connection });
  const record: Processor = async (job) => {
    const startedAt = Date.now();
    const { endpoint, program } = job.data as { endpoint: string; program: string };
    const key = `${endpoint}/${program}`;
    log.starts.set(key, [...(log.starts.get(key) ?? []), startedAt]);
    log.total += 1;
    const event = await readTriggerEvent(job);
    log.statuses.set(event.status, (log.statuses.get(event.status) ?? 0) + 1);
    const firedAt = Date.parse(event.firedAt);
    log.fired.set(key, [...(log.fired.get(key) ?? []), firedAt]);
    const trigger = await Job.fromId(triggers, event.triggerId);
    log.phases.push({
      firedAt,
      finished: (trigger?.finishedOn ?? NaN) - firedAt,
      claimed: (job.processedOn ?? NaN) - firedAt,
      started: startedAt - firedAt,
    });
  };
  const options = { connection, concurrency: 500, removeOnComplete: { count: 0 } };
  // `SCALE_CONSUMER=bullmq`: BullMQ's own Worker, which claims one job at a time and starts the
  // claimed ones only when it has claimed all that were waiting (for comparison).
  let worker: Worker;
  if (process.env.SCALE_CONSUMER === 'bullmq') {
    worker = new Worker(RESUME_QUEUE, record, options);
  } else {
    const claiming = new ClaimingWorker(RESUME_QUEUE, record, options);
    void claiming.run();
    worker = claiming;
  }
  await worker.waitUntilReady();
  return log;
}

/** Active and waiting trigger jobs. */
export async function triggerCounts(
  connection: ConnectionOptions,
): Promise<{ active: number; waiting: number }> {
  const queue = new Queue(TRIGGERS_QUEUE, { connection });
  try {
    const counts = await queue.getJobCounts('active', 'wait');
    return { active: counts.active ?? 0, waiting: counts.wait ?? 0 };
  } finally {
    await queue.close();
  }
}
