/**
 * The run of one claimed trigger, from its record to its event: the cancel marker, the record's
 * intake, the deadline, the definition's watcher raced against a stop and a cancel, and the event
 * the job completes with. A claim that stops without an outcome of its own (hand-off, lost lock, a
 * peer that knows its endpoint) leaves its job as it is.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import type { Logger } from 'pino';
import type { Observable } from 'rxjs';
import { RECORD_LIMITS, type TriggerEvent, type TriggerOutcome } from '../protocol/index.js';
import type { SupervisorClient } from '../supervisor/client.js';
import type { ProcessInfo } from '../supervisor/states.js';
import type { CancelRequest, CancelSignals } from './cancel.js';
import { forgiveCrashes } from './crash-count.js';
import type { TriggerContext, TriggerDefinition } from './definition.js';
import { listTriggerers } from '../redis/heartbeat.js';
import { handBack, LEAVE_JOB, type Holding, type Holdings } from './holdings.js';
import {
  acceptTrigger,
  boundText,
  InvalidTriggerRecord,
  refusedRecordData,
  type AcceptedTrigger,
  type EndpointLookup,
  type TriggerLookup,
} from './intake.js';
import { triggerLogger } from './logger.js';
import type { TriggererMetrics } from './metrics.js';
import {
  cancelledOutcome,
  eventOf,
  firstOutcome,
  HANDED_OFF,
  isCancelSignal,
  LOCK_LOST,
  timeoutOutcome,
  type StopReason,
} from './outcomes.js';

/** A trigger routed to a peer waits this long, plus as much at random, before it is claimed again. */
const ROUTE_DELAY_MS = 250;

/** What a trigger's context needs from the pollers (SharedPollers in production). */
export interface PollerSource {
  processInfo(
    endpoint: string,
    options?: {
      intervalMs?: number;
      unreachableBudgetMs?: number;
      firstPoll?: 'now' | 'beat';
      /** Polls started before this (unix ms) are not delivered. */
      since?: number;
    },
  ): Observable<ProcessInfo[]>;
  client(endpoint: string): SupervisorClient;
  close(): Promise<void>;
  /** Subscribers per endpoint, for the metrics and the heartbeat's load. */
  stats?(): Record<string, { subscribers: number }>;
}

/** What the run of a trigger needs from its triggerer. */
export interface RunContext {
  readonly registry: TriggerLookup;
  readonly endpoints: EndpointLookup & {
    refresh?(name: string): Promise<boolean>;
    knows?(name: string): boolean;
  };
  readonly pollers: PollerSource;
  readonly logger: Logger;
  readonly metrics: TriggererMetrics;
  readonly holdings: Holdings;
  readonly now: () => number;
  /** Poll interval of a trigger that names none. */
  readonly defaultIntervalMs: number;
  /** A trigger watched this long has its crash count reset. */
  readonly crashResetMs: number;
  /** The clients of the trigger contexts (one function for every trigger). */
  readonly clientOf: (endpoint: string) => SupervisorClient;
  /** Where each trigger's lines are kept too (its own log, in Redis). @default not kept */
  readonly triggerLog?: Logger;
  /** A trigger finished here with an event: its own log is kept for days from now. */
  readonly triggerFinished?: (triggerId: string) => void;
  /** Cancel requests from any process, once started. */
  cancels(): CancelSignals | undefined;
  /** A Redis connection of the triggerer's, once started. */
  redis(): RedisClient | undefined;
  /** The Redis key of a trigger's job. */
  jobKey(triggerId: string): string;
  /** This triggerer's heartbeat id, once started. */
  selfId(): string | undefined;
  /** The fleet's BullMQ key prefix. */
  readonly prefix: string;
  /** Whether the triggerer is closing: a claim not set up yet goes back as it is. */
  closing(): boolean;
  /** Resolves when this claim may be set up (after the burst it came in, one batch per turn). */
  setUpTurn(): Promise<void>;
}

/**
 * Watches one claimed trigger until its outcome, hand-off, lost lock or cancel, and resolves with
 * its event (or throws LEAVE_JOB / UnrecoverableError for BullMQ); `release` ends the claim once
 * everything here has settled. Every return awaits what it returns, so `release` runs last.
 */
export async function runTrigger(
  ctx: RunContext,
  job: Job,
  token: string | undefined,
  holding: Holding,
  release: () => void,
): Promise<TriggerEvent> {
  try {
    const triggerId = job.id ?? '';
    const cancels = ctx.cancels();
    // Listen before reading the marker, so a cancel published in between is heard, not lost.
    const cancelRequests = cancels?.listen(triggerId);
    const marked = await readMarker(ctx, triggerId, job.timestamp);
    await ctx.setUpTurn();
    if (ctx.closing()) {
      // Closing began before this claim was set up: nothing to stop, hand it back as it is.
      cancels?.release(triggerId);
      ctx.metrics.triggerHandedOff({ watching: false });
      return await handBack(holding);
    }
    let accepted;
    try {
      accepted = await accept(ctx, job.data);
    } catch (error) {
      if (!(error instanceof InvalidTriggerRecord)) throw error;
      cancels?.release(triggerId);
      if (error.kind === 'unknown-endpoint' && !marked && (await routeToPeer(ctx, job, token, error))) {
        throw LEAVE_JOB;
      }
      // Cancelled before anyone could read it: the cancel is the answer (no definition, no onCancel).
      if (marked) return await cancelledEarly(ctx, triggerId, marked, undefined);
      return await refuse(ctx, job, error);
    }
    const { record, definition, kwargs, endpoint } = accepted;
    const log = triggerLogger(
      ctx.logger,
      { triggerId, classpath: record.classpath, endpoint },
      ctx.triggerLog,
    );
    const deadline = record.deadline === undefined ? undefined : Date.parse(record.deadline);
    if (marked) {
      // Cancelled while waiting, or while being handed off or claimed: onCancel runs here.
      cancels?.release(triggerId);
      const context = triggerContext(ctx, triggerId, deadline, log, job.timestamp);
      return await cancelledEarly(ctx, triggerId, marked, () =>
        cancelOutcome(marked, definition, kwargs, context, log),
      );
    }
    if (deadline !== undefined && deadline <= ctx.now()) {
      cancels?.release(triggerId);
      log.info('deadline passed before the trigger started');
      ctx.metrics.triggerStarted();
      ctx.metrics.triggerFinished('timeout');
      return eventOf(triggerId, timeoutOutcome(record.deadline ?? ''), ctx.now());
    }
    // Adopted from a closing peer: its endpoints were polled until a moment ago, on the same beats
    // (an endpoint's phase is the same in every triggerer), so a poll started for it waits for the
    // next beat instead of calling at once: a hand-off is not a burst of first polls.
    const adopted = ctx.holdings.isAdopted(triggerId);
    const context = triggerContext(ctx, triggerId, deadline, log, job.timestamp, adopted);
    const first = firstOutcome({
      run: () => definition.run(kwargs, context),
      ...(deadline !== undefined && {
        deadline: { at: deadline, now: ctx.now, deadline: record.deadline ?? '' },
      }),
      stop: holding.stop,
      cancels: cancelRequests,
      jobTimestamp: job.timestamp,
    });
    ctx.metrics.triggerStarted();
    ctx.holdings.watchingNow(triggerId);
    log.debug('watching');
    const forgive = forgiveLater(ctx, job, token, log);
    let outcome: TriggerOutcome | StopReason | undefined;
    try {
      // The first of event, deadline, hand-off, lost lock and cancel wins; a cancel runs onCancel.
      const winner = await first;
      outcome = isCancelSignal(winner)
        ? await cancelOutcome(winner.cancel, definition, kwargs, context, log)
        : winner;
    } finally {
      clearTimeout(forgive);
      cancels?.release(triggerId);
      if (outcome === HANDED_OFF) ctx.metrics.triggerHandedOff();
      else if (outcome === LOCK_LOST) ctx.metrics.triggerLockLost();
      else ctx.metrics.triggerFinished(outcome?.status ?? 'failed');
    }
    if (outcome === LOCK_LOST) {
      // No lock, so nothing to move: BullMQ's stalled check returns the job to wait and it is
      // claimed again, here or elsewhere. WaitingError makes the worker leave the job alone.
      log.warn('lost the job lock; the trigger returns to the queue');
      throw LEAVE_JOB;
    }
    if (outcome === HANDED_OFF) {
      log.debug('handed off');
      return await handBack(holding);
    }
    log.info({ status: outcome.status }, 'trigger finished');
    ctx.triggerFinished?.(triggerId);
    return eventOf(triggerId, outcome, ctx.now());
  } finally {
    release();
  }
}

/** Fails a record that cannot become a trigger, once, keeping no secret and nothing over the bounds. */
async function refuse(ctx: RunContext, job: Job, error: InvalidTriggerRecord): Promise<never> {
  const triggerId = boundText(job.id ?? '', RECORD_LIMITS.maxNameChars);
  // Kept with the trigger's own log too: the line a task most needs to read back is why it was refused.
  ctx.logger.warn({ triggerId, kind: error.kind, reason: error.message }, 'bad trigger record');
  ctx.triggerLog?.warn({ triggerId, kind: error.kind, reason: error.message }, 'bad trigger record');
  ctx.triggerFinished?.(triggerId);
  const kept = refusedRecordData(job.data, error);
  if (kept !== undefined) await job.updateData(kept).catch(() => undefined);
  // Its continuation sees a `failed` event (readTriggerEvent), so it counts as one.
  ctx.metrics.triggerStarted();
  ctx.metrics.triggerFinished('failed');
  throw new UnrecoverableError(error.message);
}

/**
 * `acceptTrigger`, and once more after reloading a connection this triggerer has but could not
 * use (a job file that did not exist, or was not configured, when it started).
 */
async function accept(ctx: RunContext, data: unknown): Promise<AcceptedTrigger> {
  const { registry, endpoints } = ctx;
  try {
    return acceptTrigger(data, registry, endpoints);
  } catch (error) {
    const name = error instanceof InvalidTriggerRecord ? error.endpoint : undefined;
    if (name === undefined || !endpoints.knows?.(name) || !(await endpoints.refresh?.(name))) throw error;
    return acceptTrigger(data, registry, endpoints);
  }
}

/**
 * A trigger for an endpoint this triggerer has no connection for, while a live peer has one: it
 * goes back to the queue (delayed a moment, so that a peer claims it) instead of failing. True
 * when it went back.
 */
async function routeToPeer(
  ctx: RunContext,
  job: Job,
  token: string | undefined,
  error: InvalidTriggerRecord,
): Promise<boolean> {
  const name = error.endpoint;
  const redis = ctx.redis();
  if (name === undefined || token === undefined || !redis || ctx.endpoints.knows?.(name)) return false;
  const self = ctx.selfId();
  const peers = await listTriggerers(redis, { prefix: ctx.prefix }).catch(() => []);
  if (!peers.some((peer) => peer.id !== self && peer.knows?.includes(name))) return false;
  ctx.logger.debug(
    { triggerId: job.id, endpoint: name },
    'endpoint unknown here: left for a peer that knows it',
  );
  await job.moveToDelayed(Date.now() + ROUTE_DELAY_MS + Math.floor(Math.random() * ROUTE_DELAY_MS), token);
  return true;
}

/**
 * For a trigger that survived crashes (BullMQ's stalled counter above 0): resets its crash count
 * once this process has watched it for `crashResetMs` without dying of it.
 */
function forgiveLater(
  ctx: RunContext,
  job: Job,
  token: string | undefined,
  log: Logger,
): NodeJS.Timeout | undefined {
  const redis = ctx.redis();
  if (!job.stalledCounter || token === undefined || !redis) return undefined;
  return setTimeout(() => {
    forgiveCrashes(redis, ctx.jobKey(job.id ?? ''), token).then(
      (done) =>
        done && log.info({ crashes: job.stalledCounter }, 'watched well since its last crash: count reset'),
      (error: unknown) => log.warn({ err: error }, 'could not reset the crash count'),
    );
  }, ctx.crashResetMs);
}

/** The cancel marker of a claimed job; a failed read is logged (the pub/sub message still counts). */
async function readMarker(
  ctx: RunContext,
  triggerId: string,
  jobTimestamp: number,
): Promise<CancelRequest | undefined> {
  try {
    return await ctx.cancels()?.marker(triggerId, jobTimestamp);
  } catch (error) {
    ctx.logger.warn({ triggerId, err: error }, 'could not read the cancel marker');
    return undefined;
  }
}

/** The event of a trigger found cancelled when claimed. */
async function cancelledEarly(
  ctx: RunContext,
  triggerId: string,
  request: CancelRequest,
  withOnCancel: (() => Promise<TriggerOutcome>) | undefined,
): Promise<TriggerEvent> {
  ctx.metrics.triggerStarted();
  const outcome = withOnCancel ? await withOnCancel() : cancelledOutcome(request);
  ctx.metrics.triggerFinished('cancelled');
  ctx.logger.info({ triggerId }, 'trigger cancelled before it started watching');
  return eventOf(triggerId, { status: 'cancelled', payload: outcome.payload }, ctx.now());
}

/**
 * Runs the definition's onCancel (only ever on a user's cancel, never on hand-off) and gives the
 * `cancelled` outcome; an onCancel that fails is reported in the payload, the status stays cancelled.
 */
async function cancelOutcome(
  request: CancelRequest,
  definition: TriggerDefinition,
  kwargs: unknown,
  context: TriggerContext,
  log: Logger,
): Promise<TriggerOutcome> {
  log.info({ reason: request.reason }, 'cancelled');
  if (!definition.onCancel) return cancelledOutcome(request);
  try {
    await definition.onCancel(kwargs, context);
    return cancelledOutcome(request);
  } catch (error) {
    log.warn({ err: error }, 'onCancel failed');
    return cancelledOutcome(request, error instanceof Error ? error.message : String(error));
  }
}

/** What a trigger's definition is given: its shared polls and clients, its clock and deadline. */
function triggerContext(
  ctx: RunContext,
  triggerId: string,
  deadline: number | undefined,
  logger: Logger,
  enqueuedAt: number,
  adopted = false,
): TriggerContext {
  // A fresh trigger's first poll is now; an adopted one's endpoint was polled until a moment ago,
  // so its first poll waits for the endpoint's next beat.
  const firstPoll = adopted ? 'beat' : 'now';
  const { pollers, defaultIntervalMs } = ctx;
  return {
    triggerId,
    ...(deadline !== undefined && { deadline }),
    logger,
    // Only what was polled once the trigger existed is news to it: a shared poll's earlier
    // snapshot may predate what it waits for.
    processInfo: (endpoint, options) =>
      pollers.processInfo(endpoint, {
        intervalMs: defaultIntervalMs,
        ...stripUndefined(options),
        firstPoll,
        since: enqueuedAt,
      }),
    client: ctx.clientOf,
    now: ctx.now,
    enqueuedAt,
  };
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  // A loop, not entries/filter/fromEntries: this runs for every watcher set up (thousands at once).
  const kept: Partial<T> = {};
  for (const key in value) if (value[key] !== undefined) kept[key] = value[key];
  return kept;
}
