/**
 * The triggerer daemon: a BullMQ worker on the triggers queue whose processor turns each claimed
 * record into an RxJS watcher and completes the job with the watcher's first outcome, as a
 * TriggerEvent. The processor only awaits that first value, so one process holds `capacity`
 * triggers at once without blocking. The job lock is the lease: a crashed triggerer's triggers go
 * back to wait through BullMQ's stalled check and another triggerer adopts them.
 */
import { UnrecoverableError, WaitingError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { pino, type Logger } from 'pino';
import {
  catchError,
  defer as deferObservable,
  firstValueFrom,
  map,
  merge,
  of,
  BehaviorSubject,
  filter,
  take,
  timer,
  type Observable,
} from 'rxjs';
import { TRIGGER_STATUSES, TRIGGERS_QUEUE, type TriggerEvent, type TriggerOutcome } from '../record.js';
import type { SupervisorClient } from '../supervisor/client.js';
import type { SupervisorEndpoint } from '../supervisor/endpoint.js';
import type { ProcessInfo } from '../supervisor/states.js';
import type { TriggerContext } from './definition.js';
import { acceptTrigger, InvalidTriggerRecord, type TriggerLookup } from './intake.js';
import {
  DEFAULT_CAPACITY,
  DEFAULT_INTERVAL_MS,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_STALLED_INTERVAL_MS,
} from './options.js';
import { SharedPollers } from './pollers.js';

/** What a trigger's context needs from the pollers (SharedPollers in production). */
export interface PollerSource {
  processInfo(
    endpoint: string,
    options?: { intervalMs?: number; unreachableBudgetMs?: number },
  ): Observable<ProcessInfo[]>;
  client(endpoint: string): SupervisorClient;
  close(): Promise<void>;
}

/** Options for {@link Triggerer}. */
export interface TriggererOptions {
  /** BullMQ/ioredis connection options (see `redisOptions(url)`). */
  connection: ConnectionOptions;
  /** Definitions by classpath: the built-ins plus the configured plugins. */
  registry: TriggerLookup;
  /** Endpoint names to endpoints (a ConnectionResolver). */
  endpoints: { resolve(name: string): SupervisorEndpoint };
  /** Triggers this process watches at once. @default 1000 */
  capacity?: number;
  /** BullMQ job lock duration in ms; renewed every half of it. @default 6000 */
  lockDurationMs?: number;
  /** BullMQ stalled-check period in ms. Crash failover takes at most lock + stalled. @default 3000 */
  stalledIntervalMs?: number;
  /**
   * Crashes a trigger may survive: past this many stalled-check recoveries its job fails (and its
   * continuation sees `failed`), so a trigger that kills every triggerer cannot loop forever. @default 3
   */
  maxStalledCount?: number;
  /** Poll interval of an endpoint when a trigger names none. @default 5000 */
  defaultIntervalMs?: number;
  /** BullMQ key prefix. @default 'bull' */
  prefix?: string;
  /** @default a pino logger at info */
  logger?: Logger;
  /** The pollers (tests inject their own). @default new SharedPollers(...) */
  pollers?: PollerSource;
  /** Clock in unix ms. @default Date.now */
  now?: () => number;
}

/** The sentinel a watcher yields when its trigger is handed back to the queue. */
const HANDED_OFF: unique symbol = Symbol('handed-off');

/** The triggerer: claims trigger jobs, watches them, completes each with its TriggerEvent. */
export class Triggerer {
  private worker: Worker | undefined;
  private readonly pollers: PollerSource;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Emits true once on close; replayed, so a job BullMQ claims while closing is handed back too. */
  private readonly handOff = new BehaviorSubject(false);
  private readonly active = new Set<string>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: TriggererOptions) {
    this.logger = options.logger ?? pino({ name: 'triggerer' });
    this.now = options.now ?? Date.now;
    this.pollers =
      options.pollers ??
      new SharedPollers({
        resolveEndpoint: (name) => options.endpoints.resolve(name),
        logger: this.logger,
        defaultIntervalMs: options.defaultIntervalMs ?? DEFAULT_INTERVAL_MS,
      });
  }

  /** Triggers being watched right now. */
  get running(): number {
    return this.active.size;
  }

  /** Starts claiming triggers; resolves when the worker is connected. */
  async start(): Promise<void> {
    if (this.worker) return;
    const capacity = this.options.capacity ?? DEFAULT_CAPACITY;
    this.worker = new Worker(TRIGGERS_QUEUE, (job, token) => this.process(job, token), {
      connection: this.options.connection,
      prefix: this.options.prefix,
      concurrency: capacity,
      lockDuration: this.options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
      stalledInterval: this.options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
      maxStalledCount: this.options.maxStalledCount ?? 3,
      // Keep results a day for waitFor/status; a flow's parent keeps its own copy of the value.
      removeOnComplete: { age: 86_400, count: 100_000 },
      removeOnFail: { age: 7 * 86_400, count: 100_000 },
      autorun: false,
    });
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'worker error'));
    this.worker.on('failed', (job, error) => {
      if (job && !(error instanceof WaitingError)) {
        this.logger.warn({ triggerId: job.id, reason: error.message }, 'trigger job failed');
      }
    });
    void this.worker.run().catch((error: unknown) => this.logger.error({ err: error }, 'worker stopped'));
    await this.worker.waitUntilReady();
    this.logger.info({ capacity }, 'triggerer started');
  }

  /**
   * Hand-off: stops claiming, puts every active trigger back to wait (no onCancel, no event) and
   * closes the pollers. Another triggerer adopts the triggers at once. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const worker = this.worker;
      if (worker) {
        const closed = worker.close();
        this.handOff.next(true);
        await closed;
      }
      await this.pollers.close();
      this.logger.info('triggerer stopped');
    })();
    return this.closing;
  }

  private async process(job: Job, token: string | undefined): Promise<TriggerEvent> {
    const triggerId = job.id ?? '';
    if (this.handOff.value) {
      // BullMQ may claim one more job while closing (the blocking fetch wakes up): hand it back.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    let accepted;
    try {
      accepted = acceptTrigger(job.data, this.options.registry, this.options.endpoints);
    } catch (error) {
      if (!(error instanceof InvalidTriggerRecord)) throw error;
      this.logger.warn({ triggerId, kind: error.kind, reason: error.message }, 'bad trigger record');
      throw new UnrecoverableError(error.message);
    }
    const { record, definition, kwargs, endpoint } = accepted;
    const log = this.logger.child({ triggerId, classpath: record.classpath, endpoint });
    const deadline = record.deadline === undefined ? undefined : Date.parse(record.deadline);
    const event = (outcome: TriggerOutcome): TriggerEvent => ({
      triggerId,
      status: outcome.status,
      payload: outcome.payload,
      firedAt: new Date(this.now()).toISOString(),
    });
    if (deadline !== undefined && deadline <= this.now()) {
      log.info('deadline passed before the trigger started');
      return event(timeoutOutcome(record.deadline ?? ''));
    }
    const ctx = this.context(triggerId, deadline, log);
    const watcher: Observable<TriggerOutcome | typeof HANDED_OFF> = merge(
      deferObservable(() => definition.run(kwargs, ctx)).pipe(
        take(1),
        map(checkOutcome),
        catchError((error: unknown) => of(failedOutcome(error))),
      ),
      deadline === undefined
        ? []
        : timer(Math.max(0, deadline - this.now())).pipe(map(() => timeoutOutcome(record.deadline ?? ''))),
      this.handOff.pipe(
        filter(Boolean),
        map((): typeof HANDED_OFF => HANDED_OFF),
      ),
    ).pipe(take(1));
    this.active.add(triggerId);
    log.debug('watching');
    let outcome: TriggerOutcome | typeof HANDED_OFF;
    try {
      outcome = await firstValueFrom(watcher, {
        defaultValue: { status: 'failed', payload: { error: 'trigger completed without an event' } },
      });
    } finally {
      this.active.delete(triggerId);
    }
    if (outcome === HANDED_OFF) {
      await job.moveToWait(token);
      log.info('handed back to the queue');
      throw new WaitingError();
    }
    log.info({ status: outcome.status }, 'trigger finished');
    return event(outcome);
  }

  private context(triggerId: string, deadline: number | undefined, logger: Logger): TriggerContext {
    const defaultIntervalMs = this.options.defaultIntervalMs ?? DEFAULT_INTERVAL_MS;
    return {
      triggerId,
      ...(deadline !== undefined && { deadline }),
      logger,
      processInfo: (endpoint, options) =>
        this.pollers.processInfo(endpoint, { intervalMs: defaultIntervalMs, ...stripUndefined(options) }),
      client: (endpoint) => this.pollers.client(endpoint),
      now: this.now,
    };
  }
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function timeoutOutcome(deadline: string): TriggerOutcome {
  return { status: 'timeout', payload: { deadline } };
}

/** A watcher error becomes `failed` with the reason, so the continuation still runs and decides. */
function failedOutcome(error: unknown): TriggerOutcome {
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : 'Error';
  return { status: 'failed', payload: { error: message, errorType: name } };
}

/** A definition that emits something that is not an outcome fails its trigger, not the daemon. */
function checkOutcome(value: TriggerOutcome): TriggerOutcome {
  const ok =
    value !== null &&
    typeof value === 'object' &&
    (TRIGGER_STATUSES as readonly string[]).includes(value.status) &&
    value.payload !== null &&
    typeof value.payload === 'object';
  if (!ok) throw new Error('trigger emitted something that is not a {status, payload} outcome');
  return value;
}
