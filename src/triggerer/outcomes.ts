/**
 * How one trigger's watch ends: the race between the definition's first outcome, its deadline, a
 * stop (hand-off, lost lock) and a user's cancel, and the outcomes each of them makes.
 */
import type { Subscription, Observable } from 'rxjs';
import { TRIGGER_STATUSES, type TriggerEvent, type TriggerOutcome } from '../protocol/index.js';
import type { CancelListener, CancelRequest } from './cancel.js';
import { boundText, MAX_REASON_CHARS } from './intake.js';
import type { Latch } from '../util/latch.js';
import { atTime } from './operators/at-time.js';

/** The sentinel a watch ends with when its trigger is handed off (to a peer or back to the queue). */
export const HANDED_OFF: unique symbol = Symbol('handed-off');
/** The sentinel a watch ends with when this process no longer holds its job's lock. */
export const LOCK_LOST: unique symbol = Symbol('lock-lost');
/** Why a claim stops being watched without an outcome of its own. */
export type StopReason = typeof HANDED_OFF | typeof LOCK_LOST;

/** What a watch yields when a user cancelled its trigger. */
export interface CancelSignal {
  readonly cancel: CancelRequest;
}

/** What {@link firstOutcome} races. */
export interface Race {
  /** The definition's watcher (called once; a throw is a failed outcome). */
  run: () => Observable<TriggerOutcome>;
  deadline?: { at: number; now: () => number; deadline: string };
  stop: Latch<StopReason>;
  cancels: CancelListener | undefined;
  /** Cancel requests for another job with this id are not for this one. */
  jobTimestamp: number;
}

/**
 * The first of: the definition's first outcome (a watcher error, or something that is not an
 * outcome, is `failed`; completing without one too), the deadline, a stop (hand-off, lost lock) and
 * a cancel. Plain callbacks rather than an RxJS merge: one set per trigger, thousands at once.
 */
export function firstOutcome(race: Race): Promise<TriggerOutcome | StopReason | CancelSignal> {
  return new Promise((resolve) => {
    let done = false;
    let subscription: Subscription | undefined;
    let deadline: Subscription | undefined;
    const finish = (winner: TriggerOutcome | StopReason | CancelSignal) => {
      if (done) return;
      done = true;
      race.stop.clear();
      race.cancels?.clear();
      deadline?.unsubscribe();
      subscription?.unsubscribe();
      resolve(winner);
    };
    race.stop.listen(finish);
    race.cancels?.onRequest((cancel) => {
      if (cancel.jobTimestamp === race.jobTimestamp) finish({ cancel });
    });
    if (race.deadline && !done) {
      const { at, now, deadline: text } = race.deadline;
      deadline = atTime(at, now).subscribe(() => finish(timeoutOutcome(text)));
    }
    if (done) return;
    try {
      subscription = race.run().subscribe({
        next: (value) => {
          let outcome: TriggerOutcome;
          try {
            outcome = checkOutcome(value);
          } catch (error) {
            outcome = failedOutcome(error);
          }
          finish(outcome);
        },
        error: (error: unknown) => finish(failedOutcome(error)),
        complete: () =>
          finish({ status: 'failed', payload: { error: 'trigger completed without an event' } }),
      });
    } catch (error) {
      finish(failedOutcome(error));
    }
    // It may have finished while subscribing (a synchronous outcome): then it is unsubscribed here.
    if (done) subscription?.unsubscribe();
  });
}

/** The event of a trigger's outcome, stamped at `now`. */
export function eventOf(triggerId: string, outcome: TriggerOutcome, now: number): TriggerEvent {
  return {
    triggerId,
    status: outcome.status,
    payload: outcome.payload,
    firedAt: new Date(now).toISOString(),
  };
}

export function cancelledOutcome(request: CancelRequest, onCancelError?: string): TriggerOutcome {
  return {
    status: 'cancelled',
    payload: {
      ...(request.reason !== undefined && { reason: request.reason }),
      requestedAt: request.requestedAt,
      ...(onCancelError !== undefined && { onCancelError }),
    },
  };
}

export function isCancelSignal(value: unknown): value is CancelSignal {
  return typeof value === 'object' && value !== null && 'cancel' in value;
}

export function timeoutOutcome(deadline: string): TriggerOutcome {
  return { status: 'timeout', payload: { deadline } };
}

/** A watcher error becomes `failed` with the reason (bounded), so the continuation still runs and decides. */
export function failedOutcome(error: unknown): TriggerOutcome {
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : 'Error';
  return { status: 'failed', payload: { error: boundText(message, MAX_REASON_CHARS), errorType: name } };
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
