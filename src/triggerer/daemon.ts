/**
 * The triggerer daemon: a BullMQ worker on the triggers queue (a ClaimingWorker, which claims a
 * burst several jobs at a time and renews each lock from its claim) whose processor turns each
 * claimed record into an RxJS watcher and completes the job with the watcher's first outcome, as a
 * TriggerEvent. The processor only awaits that first value, so one process holds `capacity`
 * triggers at once without blocking. The job lock is the lease: a crashed triggerer's triggers go
 * back to wait through BullMQ's stalled check and another triggerer adopts them.
 */
import { UnrecoverableError, WaitingError, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import {
  catchError,
  concatMap,
  defer as deferObservable,
  from,
  NEVER,
  firstValueFrom,
  map,
  merge,
  of,
  ReplaySubject,
  type Subject,
  filter,
  take,
  timer,
  type Observable,
} from 'rxjs';
import { TRIGGER_STATUSES, TRIGGERS_QUEUE, type TriggerEvent, type TriggerOutcome } from '../record.js';
import type { SupervisorClient } from '../supervisor/client.js';
import type { SupervisorEndpoint } from '../supervisor/endpoint.js';
import type { ProcessInfo } from '../supervisor/states.js';
import type { TriggerContext, TriggerDefinition } from './definition.js';
import { CancelSignals, type CancelRequest } from './cancel.js';
import { ClaimingWorker } from './claims.js';
import { acceptTrigger, InvalidTriggerRecord, type TriggerLookup } from './intake.js';
import { createLogger, triggerLogger } from './logger.js';
import { TriggererMetrics } from './metrics.js';
import { startObservability, type Observability } from './observability.js';
import {
  DEFAULT_CAPACITY,
  DEFAULT_INTERVAL_MS,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_STALLED_INTERVAL_MS,
} from './options.js';
import { Pacer } from './pacer.js';
import { SharedPollers } from './pollers.js';
import { settable, type Settable } from './settable.js';

/** What a trigger's context needs from the pollers (SharedPollers in production). */
export interface PollerSource {
  processInfo(
    endpoint: string,
    options?: { intervalMs?: number; unreachableBudgetMs?: number },
  ): Observable<ProcessInfo[]>;
  client(endpoint: string): SupervisorClient;
  close(): Promise<void>;
  /** Subscribers per endpoint, for the metrics and the heartbeat's load. */
  stats?(): Record<string, { subscribers: number }>;
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
  /** BullMQ job lock duration in ms; renewed every half of it. @default 8000 */
  lockDurationMs?: number;
  /** BullMQ stalled-check period in ms. Crash failover takes at most lock + stalled. @default 2000 */
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
  /** @default createLogger(): pino JSON at info, pretty in a terminal, credentials redacted */
  logger?: Logger;
  /** Metrics of this triggerer. @default new TriggererMetrics({ capacity }) */
  metrics?: TriggererMetrics;
  /** Port of /metrics /healthz /readyz; undefined or null: no server; 0: any free port. @default none */
  metricsPort?: number | null;
  /** Address of that server. @default '127.0.0.1' */
  metricsHost?: string;
  /** Heartbeat period in ms (the beat lives 3 periods). @default 5000 */
  heartbeatIntervalMs?: number;
  /** Share one poll per endpoint and interval among its triggers (false: the benchmark baseline). @default true */
  sharePollers?: boolean;
  /** The pollers (tests inject their own). @default new SharedPollers(...) */
  pollers?: PollerSource;
  /** Clock in unix ms. @default Date.now */
  now?: () => number;
}

/** How BullMQ's lock manager words the error it emits for each lock it could not renew. */
const LOCK_RENEWAL_ERROR = 'could not renew lock for job ';

/** The sentinel a watcher yields when its trigger is handed back to the queue. */
const HANDED_OFF: unique symbol = Symbol('handed-off');
/** The sentinel a watcher yields when this process no longer holds its job's lock. */
const LOCK_LOST: unique symbol = Symbol('lock-lost');

/** One claim of a trigger by this process. */
interface Holding {
  /** Emits when the claim's lock is gone (renewal failed, or BullMQ handed the job out again). */
  readonly lost: Subject<void>;
  /** Emits when this process hands the trigger back to the queue (close). */
  readonly handOff: Subject<void>;
  /** Resolves when the claim's processor has returned. */
  readonly done: Promise<void>;
  /** Resolves when the watcher has stopped: true for a hand-off, false when it ended otherwise. */
  readonly stopped: Settable<boolean>;
  /** The move back to wait when `close` issues it (in its order); unset: the processor moves. */
  moved?: Settable<void>;
  /** Puts the job back to wait (BullMQ's atomic move, with this claim's lock token). */
  moveToWait(): Promise<void>;
}

/** What a watcher yields when a user cancelled its trigger. */
interface CancelSignal {
  readonly cancel: CancelRequest;
}

/** The triggerer: claims trigger jobs, watches them, completes each with its TriggerEvent. */
export class Triggerer {
  private worker: ClaimingWorker<unknown, TriggerEvent> | undefined;
  private readonly pollers: PollerSource;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Spreads the set-up of a burst of claims over turns of the event loop. */
  private readonly pacer = new Pacer();
  /** Set on close: every claim from then on is handed back to the queue. */
  private handingOff = false;
  /** The claims being processed, by trigger id. */
  private readonly active = new Map<string, Holding>();
  private closing: Promise<void> | undefined;
  /** Cancel requests from any process (pub/sub + markers); started with the worker. */
  private cancels: CancelSignals | undefined;
  /** This triggerer's metrics (served on /metrics when a metrics port is set). */
  readonly metrics: TriggererMetrics;
  private observability: Observability | undefined;

  constructor(private readonly options: TriggererOptions) {
    this.logger = options.logger ?? createLogger();
    this.now = options.now ?? Date.now;
    this.metrics =
      options.metrics ?? new TriggererMetrics({ capacity: options.capacity ?? DEFAULT_CAPACITY });
    this.metrics.watchEndpoints(() => this.watchers());
    this.pollers =
      options.pollers ??
      new SharedPollers({
        resolveEndpoint: (name) => options.endpoints.resolve(name),
        logger: this.logger,
        defaultIntervalMs: options.defaultIntervalMs ?? DEFAULT_INTERVAL_MS,
        onPoll: (endpoint, outcome, ms) => this.metrics.observePoll(endpoint, outcome, ms),
        share: options.sharePollers ?? true,
      });
  }

  /** Triggers being watched right now. */
  get running(): number {
    return this.active.size;
  }

  /** The heartbeat id of this triggerer, once started. */
  get id(): string | undefined {
    return this.observability?.id;
  }

  /** `http://host:port` of /metrics /healthz /readyz, once started with a metrics port. */
  get metricsUrl(): string | undefined {
    return this.observability?.server?.url;
  }

  /** Watchers per endpoint with at least one. */
  private watchers(): Record<string, number> {
    const stats = this.pollers.stats?.() ?? {};
    return Object.fromEntries(
      Object.entries(stats)
        .filter(([, s]) => s.subscribers > 0)
        .map(([name, s]) => [name, s.subscribers]),
    );
  }

  /** Starts claiming triggers; resolves when the worker is connected. */
  async start(): Promise<void> {
    if (this.worker) return;
    const capacity = this.options.capacity ?? DEFAULT_CAPACITY;
    // Listen for cancels before claiming anything, so no cancel of a claimed trigger is missed.
    this.cancels = new CancelSignals(this.options.connection, this.options.prefix ?? 'bull', this.logger);
    await this.cancels.start();
    this.worker = new ClaimingWorker<unknown, TriggerEvent>(
      TRIGGERS_QUEUE,
      (job, token) => this.process(job, token),
      {
        connection: this.options.connection,
        prefix: this.options.prefix,
        concurrency: capacity,
        lockDuration: this.options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
        stalledInterval: this.options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
        maxStalledCount: this.options.maxStalledCount ?? 3,
        // Keep results a day for waitFor/status; a flow's parent keeps its own copy of the value.
        removeOnComplete: { age: 86_400, count: 100_000 },
        removeOnFail: { age: 7 * 86_400, count: 100_000 },
      },
    );
    this.worker.on('error', (error) => {
      // BullMQ repeats each failed renewal as an error with a stack; 'lockRenewalFailed' below is
      // the same fact, handled and logged once per trigger by its watcher.
      if (error.message.startsWith(LOCK_RENEWAL_ERROR)) return;
      this.logger.error({ err: error }, 'worker error');
    });
    // A lock that could not be renewed is gone: stop watching, so the slot is free for the job when
    // BullMQ's stalled check returns it to wait (here or in another triggerer). A trigger already
    // handed back to wait has no lock to renew any more: nothing to do for it.
    this.worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) this.active.get(id)?.lost.next();
    });
    this.worker.on('failed', (job, error) => {
      if (job && !(error instanceof WaitingError)) {
        this.logger.warn({ triggerId: job.id, reason: error.message }, 'trigger job failed');
      }
    });
    void this.worker.run().catch((error: unknown) => this.logger.error({ err: error }, 'worker stopped'));
    // 'completed' fires after BullMQ committed the event; firedAt is when the outcome was seen.
    this.worker.on('completed', (_job, result: TriggerEvent) =>
      this.metrics.observeEventLatency(this.now() - Date.parse(result.firedAt)),
    );
    await this.worker.waitUntilReady();
    try {
      this.observability = await startObservability({
        connection: this.options.connection,
        metrics: this.metrics,
        logger: this.logger,
        load: () => ({ capacity, running: this.running, endpoints: this.watchers() }),
        workerRunning: () => this.worker?.isRunning() ?? false,
        metricsPort: this.options.metricsPort,
        ...(this.options.metricsHost !== undefined && { metricsHost: this.options.metricsHost }),
        ...(this.options.heartbeatIntervalMs !== undefined && {
          heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        }),
      });
    } catch (error) {
      await this.close();
      throw error;
    }
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
        this.handingOff = true;
        const startedAt = performance.now();
        // Claims not set up yet go straight to the hand-off.
        this.pacer.flush();
        // Newest claim first: BullMQ's move back to wait removes the job from the active list with
        // an LREM that scans from the newest end, so this order finds each job at once instead of
        // scanning past every older claim (quadratic: seconds of Redis time at 10,000 triggers).
        // The watchers stop in any order; the moves are issued here, in this one.
        const holdings = [...this.active.values()].reverse();
        for (const holding of holdings) holding.moved = settable();
        for (const holding of holdings) holding.handOff.next();
        for (const holding of holdings) {
          if (await holding.stopped.promise) holding.moved?.resolve(holding.moveToWait());
        }
        await closed;
        if (holdings.length > 0) {
          const ms = Math.round(performance.now() - startedAt);
          this.logger.info({ triggers: holdings.length, ms }, 'handed the active triggers back to the queue');
        }
      }
      await this.cancels?.close();
      await this.pollers.close();
      await this.observability?.stop();
      this.metrics.close();
      this.logger.info('triggerer stopped');
    })();
    return this.closing;
  }

  private async process(job: Job, token: string | undefined): Promise<TriggerEvent> {
    const triggerId = job.id ?? '';
    if (this.handingOff) {
      // BullMQ may claim one more job while closing (the blocking fetch wakes up): hand it back.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const previous = this.active.get(triggerId);
    if (previous) {
      // BullMQ handed out a job this process still watches: the earlier claim lost its lock (a
      // stalled check returned it to wait before the renewal failure was seen). End that one first.
      previous.lost.next();
      await previous.done;
    }
    // Replayed: a loss or a hand-off seen before the watcher subscribes still ends it.
    const lost = new ReplaySubject<void>(1);
    const handOff = new ReplaySubject<void>(1);
    const finished = settable<void>();
    const holding: Holding = {
      lost,
      handOff,
      done: finished.promise,
      stopped: settable(),
      moveToWait: async () => void (await job.moveToWait(token)),
    };
    this.active.set(triggerId, holding);
    // Closing began while this claim waited for a superseded one to end.
    if (this.handingOff) handOff.next();
    // The earlier claim's processor untracks this job id in BullMQ's lock manager when it ends, so
    // a superseding claim renews its own lock.
    const renewal = previous && token !== undefined ? this.renewLock(job, token, lost) : undefined;
    try {
      return await this.watch(job, token, holding);
    } finally {
      clearInterval(renewal);
      holding.stopped.resolve(false);
      if (this.active.get(triggerId) === holding) this.active.delete(triggerId);
      finished.resolve();
    }
  }

  /** Puts a claim back to wait, in `close`'s order when `close` saw it; never resolves. */
  private async handBack(holding: Holding, log: Logger): Promise<never> {
    holding.stopped.resolve(true);
    await (holding.moved ? holding.moved.promise : holding.moveToWait());
    log.debug('handed back to the queue');
    throw new WaitingError();
  }

  /** Keeps a claim's lock alive by itself (see `process`); a failed renewal means the lock is lost. */
  private renewLock(job: Job, token: string, lost: Subject<void>): NodeJS.Timeout {
    const lockDurationMs = this.options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS;
    return setInterval(() => {
      job.extendLock(token, lockDurationMs).then(
        (ok) => ok || lost.next(),
        () => lost.next(),
      );
    }, lockDurationMs / 2);
  }

  private async watch(job: Job, token: string | undefined, holding: Holding): Promise<TriggerEvent> {
    const triggerId = job.id ?? '';
    // Listen before reading the marker, so a cancel published in between is heard, not lost.
    const cancelRequests =
      this.cancels?.watch(triggerId).pipe(filter((r) => r.jobTimestamp === job.timestamp)) ?? NEVER;
    const marked = await this.readMarker(triggerId, job.timestamp);
    // Claims come in bursts (start-up, an adopted hand-off): claim the whole burst first (each
    // lock is renewed from its claim), then set the watchers up a batch per turn, so that timers
    // (lock renewal) keep running while thousands are set up.
    await this.worker?.burstClaimed();
    await this.pacer.turn();
    if (this.handingOff) {
      // Closing began before this claim was set up: nothing to stop, hand it back as it is.
      this.cancels?.release(triggerId);
      this.metrics.triggerHandedOff({ watching: false });
      return this.handBack(holding, this.logger.child({ triggerId }));
    }
    let accepted;
    try {
      accepted = acceptTrigger(job.data, this.options.registry, this.options.endpoints);
    } catch (error) {
      if (!(error instanceof InvalidTriggerRecord)) throw error;
      if (marked) {
        // Cancelled before anyone could read it: the cancel is the answer (no definition, no onCancel).
        this.cancels?.release(triggerId);
        return this.cancelledEarly(triggerId, marked, undefined);
      }
      this.logger.warn({ triggerId, kind: error.kind, reason: error.message }, 'bad trigger record');
      // Its continuation sees a `failed` event (readTriggerEvent), so it counts as one.
      this.metrics.triggerStarted();
      this.metrics.triggerFinished('failed');
      throw new UnrecoverableError(error.message);
    }
    const { record, definition, kwargs, endpoint } = accepted;
    const log = triggerLogger(this.logger, { triggerId, classpath: record.classpath, endpoint });
    const deadline = record.deadline === undefined ? undefined : Date.parse(record.deadline);
    const event = (outcome: TriggerOutcome): TriggerEvent => ({
      triggerId,
      status: outcome.status,
      payload: outcome.payload,
      firedAt: new Date(this.now()).toISOString(),
    });
    if (marked) {
      // Cancelled while waiting, or while being handed off or claimed: onCancel runs here.
      this.cancels?.release(triggerId);
      const ctx = this.context(triggerId, deadline, log, job.timestamp);
      return this.cancelledEarly(triggerId, marked, () =>
        this.cancelOutcome(marked, definition, kwargs, ctx, log),
      );
    }
    if (deadline !== undefined && deadline <= this.now()) {
      this.cancels?.release(triggerId);
      log.info('deadline passed before the trigger started');
      this.metrics.triggerStarted();
      this.metrics.triggerFinished('timeout');
      return event(timeoutOutcome(record.deadline ?? ''));
    }
    const ctx = this.context(triggerId, deadline, log, job.timestamp);
    const watcher: Observable<TriggerOutcome | typeof HANDED_OFF | typeof LOCK_LOST> = merge(
      deferObservable(() => definition.run(kwargs, ctx)).pipe(
        take(1),
        map(checkOutcome),
        catchError((error: unknown) => of(failedOutcome(error))),
      ),
      deadline === undefined
        ? []
        : timer(Math.max(0, deadline - this.now())).pipe(map(() => timeoutOutcome(record.deadline ?? ''))),
      holding.handOff.pipe(map((): typeof HANDED_OFF => HANDED_OFF)),
      cancelRequests.pipe(map((cancel): CancelSignal => ({ cancel }))),
      holding.lost.pipe(map((): typeof LOCK_LOST => LOCK_LOST)),
    ).pipe(
      take(1),
      // The first of event, deadline, hand-off and cancel wins; a cancel then runs onCancel.
      concatMap((first) =>
        isCancelSignal(first)
          ? from(this.cancelOutcome(first.cancel, definition, kwargs, ctx, log))
          : of(first),
      ),
    );
    this.metrics.triggerStarted();
    log.debug('watching');
    let outcome: TriggerOutcome | typeof HANDED_OFF | typeof LOCK_LOST | undefined;
    try {
      outcome = await firstValueFrom(watcher, {
        defaultValue: { status: 'failed', payload: { error: 'trigger completed without an event' } },
      });
    } finally {
      this.cancels?.release(triggerId);
      if (outcome === HANDED_OFF) this.metrics.triggerHandedOff();
      else if (outcome === LOCK_LOST) this.metrics.triggerLockLost();
      else this.metrics.triggerFinished(outcome?.status ?? 'failed');
    }
    if (outcome === LOCK_LOST) {
      // No lock, so nothing to move: BullMQ's stalled check returns the job to wait and it is
      // claimed again, here or elsewhere. WaitingError makes the worker leave the job alone.
      log.warn('lost the job lock; the trigger returns to the queue');
      throw new WaitingError();
    }
    if (outcome === HANDED_OFF) return this.handBack(holding, log);
    log.info({ status: outcome.status }, 'trigger finished');
    return event(outcome);
  }

  /** The cancel marker of a claimed job; a failed read is logged (the pub/sub message still counts). */
  private async readMarker(triggerId: string, jobTimestamp: number): Promise<CancelRequest | undefined> {
    try {
      return await this.cancels?.marker(triggerId, jobTimestamp);
    } catch (error) {
      this.logger.warn({ triggerId, err: error }, 'could not read the cancel marker');
      return undefined;
    }
  }

  /** The event of a trigger found cancelled when claimed. */
  private async cancelledEarly(
    triggerId: string,
    request: CancelRequest,
    withOnCancel: (() => Promise<TriggerOutcome>) | undefined,
  ): Promise<TriggerEvent> {
    this.metrics.triggerStarted();
    const outcome = withOnCancel ? await withOnCancel() : cancelledOutcome(request);
    this.metrics.triggerFinished('cancelled');
    this.logger.info({ triggerId }, 'trigger cancelled before it started watching');
    return {
      triggerId,
      status: 'cancelled',
      payload: outcome.payload,
      firedAt: new Date(this.now()).toISOString(),
    };
  }

  /**
   * Runs the definition's onCancel (only ever on a user's cancel, never on hand-off) and gives the
   * `cancelled` outcome; an onCancel that fails is reported in the payload, the status stays cancelled.
   */
  private async cancelOutcome(
    request: CancelRequest,
    definition: TriggerDefinition,
    kwargs: unknown,
    ctx: TriggerContext,
    log: Logger,
  ): Promise<TriggerOutcome> {
    log.info({ reason: request.reason }, 'cancelled');
    if (!definition.onCancel) return cancelledOutcome(request);
    try {
      await definition.onCancel(kwargs, ctx);
      return cancelledOutcome(request);
    } catch (error) {
      log.warn({ err: error }, 'onCancel failed');
      return cancelledOutcome(request, error instanceof Error ? error.message : String(error));
    }
  }

  private context(
    triggerId: string,
    deadline: number | undefined,
    logger: Logger,
    enqueuedAt: number,
  ): TriggerContext {
    const defaultIntervalMs = this.options.defaultIntervalMs ?? DEFAULT_INTERVAL_MS;
    return {
      triggerId,
      ...(deadline !== undefined && { deadline }),
      logger,
      processInfo: (endpoint, options) =>
        this.pollers.processInfo(endpoint, { intervalMs: defaultIntervalMs, ...stripUndefined(options) }),
      client: (endpoint) => this.pollers.client(endpoint),
      now: this.now,
      enqueuedAt,
    };
  }
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function cancelledOutcome(request: CancelRequest, onCancelError?: string): TriggerOutcome {
  return {
    status: 'cancelled',
    payload: {
      ...(request.reason !== undefined && { reason: request.reason }),
      requestedAt: request.requestedAt,
      ...(onCancelError !== undefined && { onCancelError }),
    },
  };
}

function isCancelSignal(value: unknown): value is CancelSignal {
  return typeof value === 'object' && value !== null && 'cancel' in value;
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
