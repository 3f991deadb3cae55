/**
 * `defer`: hands a task's waiting to the triggerer. With a continuation it adds a BullMQ flow whose
 * parent is the continuation job on the task's own queue and whose child is the trigger job; BullMQ
 * moves the parent to wait exactly once, when the child finishes. Without one it adds the trigger job
 * alone (for `waitFor`).
 */
import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue, type JobsOptions } from 'bullmq';
import { parseDuration } from '../config/duration.js';
import {
  TRIGGERS_QUEUE,
  TriggerRecordSchema,
  type TriggerRecord,
  type TriggerRecordInput,
} from '../protocol/index.js';
import { RedisCall, type RedisConnection } from './connection.js';
import { InvalidDeferral } from './errors.js';

/** The job that resumes the task: a job on the task's own queue, run when the trigger finishes. */
export interface Continuation {
  queue: string;
  name: string;
  data?: unknown;
  /** BullMQ job options of the continuation. @default jobId `<triggerId>-resume` */
  opts?: Omit<JobsOptions, 'parent'>;
}

/** Options for {@link defer}. */
export interface DeferOptions {
  connection: RedisConnection;
  /** The trigger id (the job id). No `:`. Deferring an id that exists is a no-op. @default a UUID */
  id?: string;
  /** `'10m'`, `'250ms'`, `'PT5M'`, or a number of SECONDS: becomes the record's absolute `deadline`, fixed now. */
  timeout?: string | number;
  continuation?: Continuation;
  /** BullMQ key prefix; on a Redis Cluster it must hold a hash tag. @default 'bull' ('{bull}' on a cluster) */
  prefix?: string;
  /** Clock in unix ms. @default Date.now */
  now?: () => number;
  /**
   * A long-lived caller's own FlowProducer and `triggers` Queue (it closes them), used instead of
   * connections opened and closed per call. @default new ones for this call
   */
  producer?: { flows: FlowProducer; triggers: Queue };
}

/** What {@link defer} did. */
export interface DeferredTrigger {
  triggerId: string;
  /** The continuation's job id, when there is one. */
  continuationId?: string;
  /** False when a trigger with that id existed already (nothing was added). */
  created: boolean;
  /** The record as stored. */
  record: TriggerRecord;
}

/** The record a caller gives: `v` may be left out. */
export type DeferRecord = Omit<TriggerRecordInput, 'v'> & { v?: 1 };

/** Validates a record and fixes its deadline from `timeout`; throws InvalidDeferral. */
export function buildRecord(
  record: DeferRecord,
  { timeout, now = Date.now }: Pick<DeferOptions, 'timeout' | 'now'> = {},
): TriggerRecord {
  let deadline = record.deadline;
  if (timeout !== undefined) {
    let ms: number;
    try {
      ms = parseDuration(timeout);
    } catch (error) {
      throw new InvalidDeferral(`invalid timeout: ${(error as Error).message}`);
    }
    if (!Number.isFinite(ms) || ms < 0) throw new InvalidDeferral(`invalid timeout: ${timeout}`);
    deadline = new Date(now() + ms).toISOString();
  }
  const parsed = TriggerRecordSchema.safeParse({
    v: 1,
    ...record,
    ...(deadline !== undefined && { deadline }),
  });
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`,
    );
    throw new InvalidDeferral(`invalid trigger record: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Enqueues a trigger (and its continuation). Idempotent per trigger id. Throws InvalidDeferral, and
 * RedisUnreachable / RedisAuthFailed at once when Redis is away or refuses the credentials.
 */
export async function defer(record: DeferRecord, options: DeferOptions): Promise<DeferredTrigger> {
  const triggerId = options.id ?? randomUUID();
  if (triggerId === '' || triggerId.includes(':')) {
    throw new InvalidDeferral(`invalid trigger id '${triggerId}': must be non-empty and contain no ':'`);
  }
  const stored = buildRecord(record, options);
  return RedisCall.run(options.connection, async (call) => {
    const { producer } = options;
    const prefix = call.prefix(options.prefix);
    const queue =
      producer?.triggers ?? call.own(new Queue(TRIGGERS_QUEUE, { connection: call.options, prefix }));
    // Its state, not the job: a job another producer wrote with data that is not JSON exists too.
    if ((await queue.getJobState(triggerId)) !== 'unknown') {
      return { triggerId, created: false, record: stored };
    }
    // attempts: 1 because a bad record fails for good; ignoreDependencyOnFailure lets the parent run
    // when the trigger job fails, and readTriggerEvent turns that failure into a `failed` event.
    const triggerOpts: JobsOptions = { jobId: triggerId, attempts: 1, ignoreDependencyOnFailure: true };
    if (!options.continuation) {
      await queue.add(stored.classpath, stored, triggerOpts);
      return { triggerId, created: true, record: stored };
    }
    const { continuation } = options;
    const continuationId = continuation.opts?.jobId ?? `${triggerId}-resume`;
    const flows = producer?.flows ?? call.own(new FlowProducer({ connection: call.options, prefix }));
    await flows.add({
      name: continuation.name,
      queueName: continuation.queue,
      data: continuation.data,
      opts: { ...continuation.opts, jobId: continuationId },
      children: [{ name: stored.classpath, queueName: TRIGGERS_QUEUE, data: stored, opts: triggerOpts }],
    });
    return { triggerId, continuationId, created: true, record: stored };
  });
}
