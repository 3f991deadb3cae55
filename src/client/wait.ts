/**
 * `waitFor`: for callers that block on a trigger instead of handing over a continuation (the CLI's
 * `defer --wait`, scripts). Listens to the queue's events and re-checks the job's state on each
 * event and once a second, so an event that finished before the call, or one missed between
 * subscribing and reading, is still seen.
 */
import { Queue, QueueEvents } from 'bullmq';
import { TRIGGERS_QUEUE, TriggerEventSchema, type TriggerEvent } from '../protocol/index.js';
import { toConnectionOptions, type RedisConnection } from './connection.js';
import { TriggerNotFound, WaitTimeout } from './errors.js';

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  connection: RedisConnection;
  /** Give up after this many ms with WaitTimeout. @default wait forever */
  timeoutMs?: number;
  /** How often the job state is re-read besides events, in ms. @default 1000 */
  pollMs?: number;
  /** BullMQ key prefix. @default 'bull' */
  prefix?: string;
}

/** The event of a finished trigger job, or undefined while it is not finished. */
export async function finishedEvent(queue: Queue, triggerId: string): Promise<TriggerEvent | undefined> {
  // The state first, then the job: BullMQ saves the result and the state in one script, so a job
  // read after its state is final holds the result; one read before may predate it.
  const state = await queue.getJobState(triggerId);
  if (state === 'unknown') throw new TriggerNotFound(triggerId);
  if (state !== 'completed' && state !== 'failed') return undefined;
  // The outcome fields only: a job whose data another producer wrote as something other than JSON
  // cannot be built as a Job, and its outcome is still the answer.
  const client = await queue.getBackend().client;
  const [returnvalue, failedReason, finishedOn] = await client.hmget(
    queue.toKey(triggerId),
    'returnvalue',
    'failedReason',
    'finishedOn',
  );
  if (!returnvalue && !failedReason && !finishedOn) throw new TriggerNotFound(triggerId);
  const finished = finishedOn ? Number(finishedOn) : undefined;
  if (state === 'completed') {
    const parsed = TriggerEventSchema.safeParse(parseJson(returnvalue));
    if (parsed.success) return parsed.data;
    return failedEvent(triggerId, 'trigger job completed without a TriggerEvent', finished);
  }
  return failedEvent(triggerId, failedReason ?? 'trigger job failed', finished);
}

function parseJson(text: string | null | undefined): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
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

/** Resolves with the trigger's event once its job finishes (at once if it already has). */
export async function waitFor(triggerId: string, options: WaitForOptions): Promise<TriggerEvent> {
  const connection = toConnectionOptions(options.connection);
  const queue = new Queue(TRIGGERS_QUEUE, { connection, prefix: options.prefix });
  const events = new QueueEvents(TRIGGERS_QUEUE, { connection, prefix: options.prefix });
  const timers: NodeJS.Timeout[] = [];
  try {
    await events.waitUntilReady();
    return await new Promise<TriggerEvent>((resolve, reject) => {
      let checking = false;
      const check = async () => {
        if (checking) return;
        checking = true;
        try {
          const event = await finishedEvent(queue, triggerId);
          if (event) resolve(event);
        } catch (error) {
          reject(error);
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
      const { timeoutMs } = options;
      if (timeoutMs !== undefined) {
        timers.push(setTimeout(() => reject(new WaitTimeout(triggerId, timeoutMs)), timeoutMs));
      }
      void check();
    });
  } finally {
    for (const t of timers) clearTimeout(t);
    await events.close();
    await queue.close();
  }
}
