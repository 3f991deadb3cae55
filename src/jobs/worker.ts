/**
 * The worker: runs the step jobs of the hosts it reaches (a queue per host: `st-jobs.<hostname>` for
 * this machine). Each step job runs one step of a run and adds its successor, committed first in
 * Redis so that a step retried after a crash adds the very same successor (its deterministic id makes
 * the second add a no-op). A watch's successor is a flow: the trigger on the triggerer's queue, and
 * the evaluate step as its continuation, so no worker holds a run while it waits.
 *
 * Durability: a worker killed mid-step leaves the step job active with a lock that expires; BullMQ's
 * stalled check puts it back and another worker runs it again (every step is idempotent). A worker
 * that closes (SIGTERM) stops taking steps and never tears a run down.
 */
import { FlowProducer, Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { cancel } from '../client/cancel.js';
import { defer } from '../client/defer.js';
import { InvalidDeferral, TriggerAlreadyFinished, TriggerNotFound } from '../client/errors.js';
import { ConfigError } from '../config/errors.js';
import { TRIGGERS_QUEUE } from '../protocol/index.js';
import type { LifecycleOptions } from '../supervisor/lifecycle/context.js';
import { LifecycleError, LifecycleTimeout } from '../supervisor/lifecycle/errors.js';
import { startHeartbeat, type Heartbeat } from '../redis/heartbeat.js';
import { createLogger } from '../triggerer/logger.js';
import { closeConnection, connect, type RedisClient } from '../redis/connection.js';
import { prefixFor } from '../redis/prefix.js';
import { within } from '../util/within.js';
import { stepContext } from './context.js';
import { JobRunError } from './errors.js';
import { killGroup, type JobHooks } from './hooks.js';
import { localJobHost, queueOf } from './host.js';
import { STEP_JOB_OPTIONS, stepJobId } from './names.js';
import { TEARDOWN_STEPS, type Step } from './points.js';
import { addStep, endRun, recoverStep } from './recover.js';
import { mayRetry, retryDelayMs } from './retries.js';
import { parseRunData, type RunData } from './run-data.js';
import { scheduledStart, SCHEDULED_START } from './schedules.js';
import { afterError, type Successor } from './step-context.js';
import { STEP_FUNCTIONS } from './steps/index.js';
import { RunStore } from './store.js';

/** Options for {@link JobWorker}. */
export interface JobWorkerOptions {
  /** BullMQ/ioredis connection options (see `redisOptions(url)`). */
  connection: ConnectionOptions;
  /** BullMQ key prefix; on a Redis Cluster it must hold a hash tag. @default 'bull' ('{bull}' on a cluster) */
  prefix?: string;
  /** Step queues served. @default the local host's queue, `st-jobs.<hostname>` */
  queues?: string[];
  /** Steps run at once. @default 20 */
  concurrency?: number;
  /** BullMQ lock of a running step, renewed while it runs: a killed worker's step is retried this long after. @default 10000 */
  lockDurationMs?: number;
  /** BullMQ stalled-check period. @default 2000 */
  stalledIntervalMs?: number;
  /** Times a step may be recovered from a dead worker before it fails. @default 5 */
  maxStalledCount?: number;
  /** TypeScript hooks (a module named in the worker's config). @default none */
  hooks?: JobHooks;
  /** @default createLogger({ name: 'worker' }) */
  logger?: Logger;
  /** Heartbeat period. @default 5000 */
  heartbeatIntervalMs?: number;
  /** Passed to every lifecycle step. @default {} */
  lifecycle?: LifecycleOptions;
  /**
   * How long a teardown step that fails for a reason that may pass (the host unreachable, a timeout)
   * is tried again before it counts as failed (then the run ends `failed`, `teardown`). @default 600000
   */
  teardownRetryMs?: number;
  /** How long `close` waits for the steps in flight before it leaves them to another worker. @default 10000 */
  closeGraceMs?: number;
  /** Clock in unix ms. @default Date.now */
  now?: () => number;
}

/** Runs the step jobs of job runs. */
export class JobWorker {
  private readonly workers: Worker[] = [];
  private readonly queues = new Map<string, Queue>();
  private redis: RedisClient | undefined;
  private store: RunStore | undefined;
  private flows: FlowProducer | undefined;
  private triggers: Queue | undefined;
  private heartbeat: Heartbeat | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly prefix: string;
  /** Steps running now. */
  private active = 0;
  private closing: Promise<void> | undefined;
  /** Set when close gave up waiting: a step still running commits nothing, another worker runs it again. */
  private abandoned = false;
  /** Process groups of the shell hooks running now (killed when their steps are abandoned). */
  private readonly hookGroups = new Set<number>();

  constructor(private readonly options: JobWorkerOptions) {
    this.logger = options.logger ?? createLogger({ name: 'worker' });
    this.now = options.now ?? Date.now;
    this.prefix = prefixFor(options.connection, options.prefix);
  }

  /** The queues this worker serves. */
  get queueNames(): string[] {
    return this.options.queues ?? [queueOf(localJobHost())];
  }

  /** The heartbeat id, once started. */
  get id(): string | undefined {
    return this.heartbeat?.id;
  }

  /** Connects, starts taking steps and beating. */
  async start(): Promise<void> {
    const { connection } = this.options;
    this.redis = connect(connection, {}, { logger: this.logger, what: 'worker' });
    this.store = new RunStore(this.redis, this.prefix);
    this.flows = new FlowProducer({ connection, prefix: this.prefix });
    this.triggers = new Queue(TRIGGERS_QUEUE, { connection, prefix: this.prefix });
    for (const name of this.queueNames) {
      const worker = new Worker(name, (job) => this.process(job), {
        connection,
        prefix: this.prefix,
        concurrency: this.options.concurrency ?? 20,
        lockDuration: this.options.lockDurationMs ?? 10_000,
        stalledInterval: this.options.stalledIntervalMs ?? 2000,
        maxStalledCount: this.options.maxStalledCount ?? 5,
        settings: { backoffStrategy: (attemptsMade) => retryDelayMs(attemptsMade) },
      });
      worker.on('error', (error) => this.logger.error({ err: error }, 'worker error'));
      worker.on('failed', (job, error) => void this.failedForGood(job, error));
      this.workers.push(worker);
      await worker.waitUntilReady();
    }
    this.heartbeat = await startHeartbeat({
      redis: this.redis,
      prefix: this.prefix,
      fleet: 'workers',
      intervalMs: this.options.heartbeatIntervalMs ?? 5000,
      load: () => ({
        capacity: this.options.concurrency ?? 20,
        running: this.active,
        endpoints: {},
        knows: this.queueNames,
      }),
      onError: (error) => this.logger.debug({ err: error }, 'worker heartbeat failed'),
    });
    this.logger.info({ queues: this.queueNames, id: this.heartbeat.id }, 'worker started');
  }

  /**
   * Stops taking steps and waits up to `closeGraceMs` for those in flight; what is still running then
   * is abandoned (its hooks killed, nothing of it committed) and left to another worker, through
   * BullMQ's stalled check. Never tears a run down, never closes the process's shared SSH connections
   * (src/supervisor/host/shared.ts: the process's owner does). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.heartbeat?.stop();
      const closed = Promise.all(this.workers.map((w) => w.close()));
      if (!(await within(closed, this.options.closeGraceMs ?? 10_000))) {
        this.logger.warn({ active: this.active }, 'steps still running: left to another worker');
        this.abandoned = true;
        for (const pid of this.hookGroups) killGroup(pid);
        await within(Promise.all(this.workers.map((w) => w.close(true))), 1000);
      }
      await Promise.all([...this.queues.values()].map((q) => q.close()));
      await this.flows?.close();
      await this.triggers?.close();
      if (this.redis) await closeConnection(this.redis);
      // The process's SSH connections stay open: they are shared (a triggerer in the same process
      // watches through them); whoever ends the process closes them (closeSshHosts).
    })();
    return this.closing;
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.options.connection, prefix: this.prefix });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** The processor of every job on a step queue. */
  private async process(bullJob: Job): Promise<void> {
    this.active += 1;
    try {
      if (bullJob.name === SCHEDULED_START) {
        await scheduledStart(bullJob, {
          store: this.store!,
          queue: this.queue(bullJob.queueName),
          logger: this.logger,
        });
        return;
      }
      await this.runStep(bullJob);
    } finally {
      this.active -= 1;
    }
  }

  private async runStep(bullJob: Job): Promise<void> {
    const store = this.store!;
    let data: RunData;
    try {
      data = parseRunData(bullJob.data);
    } catch (error) {
      throw new UnrecoverableError((error as Error).message);
    }
    const stepId = bullJob.id ?? stepJobId(data.runId, data.cycle, data.step);
    const log = this.logger.child({ runId: data.runId, step: data.step, cycle: data.cycle });
    let successor: Successor;
    try {
      const already = await store.committed(data.runId, stepId);
      if (already !== undefined) {
        log.info('step done before (retried after a crash): adding its successor again');
        await this.enqueue(JSON.parse(already) as Successor, bullJob.queueName, data.runId);
        return;
      }
      const ctx = await stepContext(bullJob, data, log, {
        store,
        now: this.now,
        lifecycle: this.options.lifecycle,
        hooks: this.options.hooks,
        hookGroups: this.hookGroups,
      });
      await store.record(data.runId, {
        step: data.step,
        cycle: String(data.cycle),
        retriggers: String(data.retriggers),
        updatedAt: new Date(this.now()).toISOString(),
        worker: this.heartbeat?.id ?? '',
      });
      successor = await STEP_FUNCTIONS[data.step](ctx);
    } catch (error) {
      if (this.abandoned) throw error;
      successor = await this.afterFailure(bullJob, data, error, log);
    }
    // a closing worker that gave up waiting for this step leaves it, uncommitted, to the next worker
    if (this.abandoned) throw new JobRunError(`${stepId}: abandoned by a closing worker`);
    const committed = JSON.parse(
      await store.commit(data.runId, stepId, JSON.stringify(successor)),
    ) as Successor;
    await this.enqueue(committed, bullJob.queueName, data.runId);
    // a new cycle: what the steps of cycles long past committed is no longer read
    if (committed.kind !== 'none' && committed.data.cycle > data.cycle)
      await store.forgetBefore(data.runId, committed.data.cycle - KEPT_CYCLES);
  }

  /**
   * A step that threw: rethrown (BullMQ tries it again after its backoff) while the error may pass
   * and the step's budget lasts, else what a step that failed for good leads to (teardown; for `end`,
   * the run released here). Either way the run's events say so.
   */
  private async afterFailure(bullJob: Job, data: RunData, error: unknown, log: Logger): Promise<Successor> {
    const store = this.store!;
    const message = error instanceof Error ? error.message : String(error);
    const failures = bullJob.attemptsMade + 1;
    const event = (text: string, level: 'warn' | 'error') =>
      store.event(data.runId, {
        at: new Date(this.now()).toISOString(),
        step: data.step,
        cycle: data.cycle,
        level,
        message: text,
      });
    if (
      retryable(error, data.step) &&
      mayRetry(data.step, failures, this.options.teardownRetryMs ?? 600_000)
    ) {
      const wait = retryDelayMs(failures);
      log.warn({ err: error, attempt: failures }, 'step failed; it will be retried');
      await event(
        `${data.step} failed (attempt ${failures}), trying again in ${wait / 1000} s: ${message}`,
        'warn',
      );
      throw error;
    }
    await event(`${data.step} failed: ${message}`, 'error');
    const successor = afterError(data, message);
    if (successor.kind === 'none') {
      const outcome = data.outcome ?? {
        status: 'failed' as const,
        reason: 'error',
        message: `end failed: ${message}`,
      };
      const run = { name: data.job.name, runId: data.runId, step: data.step, cycle: data.cycle };
      await endRun(store, run, outcome, `end failed: ${message}: run released`);
    }
    return successor;
  }

  /**
   * A step job BullMQ failed for good (data no worker can read, past every attempt): its run goes on
   * to teardown, or ends, so that it never stays active with nothing to run it.
   */
  private async failedForGood(job: Job | undefined, error: Error): Promise<void> {
    if (job === undefined || !job.finishedOn || job.name === SCHEDULED_START) return;
    this.logger.error({ stepJob: job.id, err: error }, 'step job failed for good');
    try {
      await recoverStep(this.store!, this.queue(job.queueName), job, error.message);
    } catch (failure) {
      this.logger.error({ stepJob: job.id, err: failure }, 'could not go on from a failed step job');
    }
  }

  /** Adds a committed successor: a step job, or a watch flow; no-ops when it exists. */
  private async enqueue(successor: Successor, queueName: string, runId: string): Promise<void> {
    if (successor.kind === 'none') return;
    const { data } = successor;
    if (successor.kind === 'step') {
      await addStep(this.queue(queueName), data);
      return;
    }
    await defer(successor.record, {
      connection: this.options.connection,
      prefix: this.prefix,
      id: successor.triggerId,
      producer: { flows: this.flows!, triggers: this.triggers! },
      continuation: {
        queue: queueName,
        name: data.step,
        data,
        opts: { ...STEP_JOB_OPTIONS, jobId: stepJobId(data.runId, data.cycle, data.step) },
      },
    });
    // A stop that came while this step ran found no trigger to cancel: cancel it now.
    const stop = await this.store!.stopRequested(runId);
    if (stop !== undefined)
      await cancelQuietly(successor.triggerId, stop, this.options.connection, this.prefix);
  }
}

/** Cycles whose committed successors are kept (a step retried late still finds its own). */
const KEPT_CYCLES = 3;

/**
 * Errors worth another attempt: not a step's own verdict (lifecycle, config, jobs errors), except a
 * lifecycle wait that ran out in teardown (programs or supervisord slow to go: look again).
 */
function retryable(error: unknown, step: Step): boolean {
  if (error instanceof LifecycleTimeout) return TEARDOWN_STEPS.includes(step);
  return !(
    error instanceof LifecycleError ||
    error instanceof ConfigError ||
    error instanceof JobRunError ||
    error instanceof InvalidDeferral
  );
}

async function cancelQuietly(
  triggerId: string,
  reason: string,
  connection: ConnectionOptions,
  prefix: string,
): Promise<void> {
  try {
    await cancel(triggerId, { connection, prefix, reason });
  } catch (error) {
    if (!(error instanceof TriggerNotFound || error instanceof TriggerAlreadyFinished)) throw error;
  }
}
