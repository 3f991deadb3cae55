/**
 * `waitFor`: for callers that block on a trigger instead of handing over a continuation (the CLI's
 * `defer --wait`, scripts). Listens to the queue's events and re-checks the job's state on each
 * event and once a second, so an event that finished before the call, or one missed between
 * subscribing and reading, is still seen. A Redis that is away at the start fails the wait at once; one
 * that goes away during it may stay away for `unreachableBudgetMs` (a restart) before the wait fails.
 */
import { Queue, QueueEvents, type Job } from 'bullmq';
import { TRIGGERS_QUEUE, TriggerEventSchema, type TriggerEvent } from '../protocol/index.js';
import { RedisCall, type RedisConnection } from './connection.js';
import { readJob } from './jobs.js';
import { RedisUnreachable, TriggerNotFound, WaitTimeout } from './errors.js';

/** Default of {@link WaitForOptions.unreachableBudgetMs}. */
export const DEFAULT_UNREACHABLE_BUDGET_MS = 10_000;

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  connection: RedisConnection;
  /** Give up after this many ms with WaitTimeout. @default wait forever */
  timeoutMs?: number;
  /** How often the job state is re-read besides events, in ms. @default 1000 */
  pollMs?: number;
  /** BullMQ key prefix; on a Redis Cluster it must hold a hash tag. @default 'bull' ('{bull}' on a cluster) */
  prefix?: string;
  /**
   * How long Redis may stay unreachable during the wait (no state read succeeds) before the wait
   * fails with RedisUnreachable; the trigger itself is not touched. @default 10000
   */
  unreachableBudgetMs?: number;
}

/** The event of a finished trigger job, or undefined while it is not finished. */
export async function finishedEvent(queue: Queue, triggerId: string): Promise<TriggerEvent | undefined> {
  // The state first, then the job: BullMQ saves the result and the state in one script, so a job
  // read after its state is final holds the result; one read before may predate it.
  const state = await queue.getJobState(triggerId);
  if (state === 'unknown') throw new TriggerNotFound(triggerId);
  if (state !== 'completed' && state !== 'failed') return undefined;
  const job = await readJob(queue, triggerId);
  if (!job) throw new TriggerNotFound(triggerId);
  return eventOfJob(job, state);
}

/** The event of a trigger job read in a final state: its return value, or `failed` with its reason. */
export function eventOfJob(
  job: Pick<Job, 'id' | 'returnvalue' | 'failedReason' | 'finishedOn'>,
  state: 'completed' | 'failed',
): TriggerEvent {
  const triggerId = job.id ?? '';
  if (state === 'completed') {
    const parsed = TriggerEventSchema.safeParse(job.returnvalue);
    if (parsed.success) return parsed.data;
    return failedEvent(triggerId, 'trigger job completed without a TriggerEvent', job.finishedOn);
  }
  return failedEvent(triggerId, job.failedReason, job.finishedOn);
}

/** The `failed` event of a trigger job that failed (a bad record): the continuation still decides. */
export function failedEvent(triggerId: string, reason: string, finishedOn?: number): TriggerEvent {
  return {
    triggerId,
    status: 'failed',
    payload: { error: reason },
    firedAt: new Date(finishedOn ?? Date.now()).toISOString(),
  };
}

/**
 * Resolves with the trigger's event once its job finishes (at once if it already has). Throws
 * TriggerNotFound, WaitTimeout, and RedisUnreachable / RedisAuthFailed (at once when Redis is away at
 * the start; after `unreachableBudgetMs` when it goes away during the wait).
 */
export async function waitFor(triggerId: string, options: WaitForOptions): Promise<TriggerEvent> {
  const budgetMs = options.unreachableBudgetMs ?? DEFAULT_UNREACHABLE_BUDGET_MS;
  return RedisCall.run(
    options.connection,
    async (call) => {
      const prefix = call.prefix(options.prefix);
      const queue = call.own(new Queue(TRIGGERS_QUEUE, { connection: call.options, prefix }));
      const events = call.own(new QueueEvents(TRIGGERS_QUEUE, { connection: call.blockingOptions, prefix }));
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
      call.reached();
      const timers: NodeJS.Timeout[] = [];
      try {
        return await new Promise<TriggerEvent>((resolve, reject) => {
          let checking = false;
          let lastRead = Date.now();
          const check = async () => {
            if (checking) return;
            checking = true;
            try {
              const event = await finishedEvent(queue, triggerId);
              lastRead = Date.now();
              if (event) resolve(event);
            } catch (error) {
              // A read that failed for want of Redis is retried at the next tick, within the budget.
              if (!(call.failure(error) instanceof RedisUnreachable)) reject(error);
            } finally {
              checking = false;
            }
          };
          const onFinished = ({ jobId }: { jobId: string }) => {
            if (jobId === triggerId) void check();
          };
          events.on('completed', onFinished);
          events.on('failed', onFinished);
          timers.push(setInterval(() => void check(), options.pollMs ?? 1000));
          // Apart from the reads: a read may itself wait for Redis (up to the command timeout).
          timers.push(
            setInterval(
              () => {
                if (Date.now() - lastRead <= budgetMs) return;
                reject(call.lastFailure() ?? new RedisUnreachable(call.url, `no answer for ${budgetMs} ms`));
              },
              Math.min(250, budgetMs),
            ),
          );
          const { timeoutMs } = options;
          if (timeoutMs !== undefined) {
            timers.push(setTimeout(() => reject(new WaitTimeout(triggerId, timeoutMs)), timeoutMs));
          }
          void check();
        });
      } finally {
        for (const t of timers) clearTimeout(t);
      }
    },
    { reconnect: true },
  );
}
