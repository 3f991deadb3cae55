import { asyncScheduler, Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';
import { scheduleAt } from './at-time.js';
import type { PollResult } from './poll-every.js';

/** Options for {@link failAfterBudget}. */
export interface FailAfterBudgetOptions {
  /** Errors that no retry can cure (e.g. bad credentials): fail at once. @default none */
  isFatal?: (error: unknown) => boolean;
}

const neverFatal = () => false;

/**
 * One subscriber's view of a stream of poll results under a budget: values pass, failures are
 * tolerated until the source has been failing for `budgetMs` without a success, then the subscriber
 * errors with the last failure. The budget starts no earlier than the subscription, so a late
 * subscriber to a long-failing poll gets its full budget. A plain object with methods rather than an
 * observer of closures: the shared pollers keep one per watcher (thousands per triggerer) and hand
 * each poll result to it directly.
 */
export class BudgetedDelivery<T> {
  private readonly subscribedAt = asyncScheduler.now();
  /** The failure due when the budget runs out, cancelled by the next result. */
  private due: Subscription | undefined;

  constructor(
    private readonly subscriber: Subscriber<T>,
    private readonly budgetMs: number,
    private readonly isFatal: (error: unknown) => boolean = neverFatal,
  ) {}

  /** A poll result for this subscriber. */
  result(result: PollResult<T>): void {
    this.due?.unsubscribe();
    this.due = undefined;
    if (result.ok) {
      this.subscriber.next(result.value);
      return;
    }
    if (this.isFatal(result.error)) {
      this.subscriber.error(result.error);
      return;
    }
    const dueAt = Math.max(result.failingSince, this.subscribedAt) + this.budgetMs;
    if (dueAt <= asyncScheduler.now()) this.subscriber.error(result.error);
    else this.due = scheduleAt(dueAt, () => this.subscriber.error(result.error));
  }

  /** The source ended: a failure already due still comes (as switchMap would wait for its inner timer). */
  end(): void {
    if (!this.due) this.subscriber.complete();
  }

  /** The source errored (or was closed). */
  fail(error: unknown): void {
    this.subscriber.error(error);
  }

  /** The subscriber left: drops a failure still due. */
  stop(): void {
    this.due?.unsubscribe();
    this.due = undefined;
  }
}

/**
 * Unwraps poll results into values, tolerating failures until the source has been failing for
 * `budgetMs` without a success, then errors with the last failure (see {@link BudgetedDelivery}).
 *
 * @example budget 5 frames (a = ok, x = failed):
 * ```
 * source  a-x-x-a-x-x-x---
 * output  a-----a-------#   (errors 5 frames after the first failure of the second run)
 * ```
 */
export function failAfterBudget<T>(
  budgetMs: number,
  { isFatal }: FailAfterBudgetOptions = {},
): OperatorFunction<PollResult<T>, T> {
  checkBudget(budgetMs);
  return (source) =>
    new Observable<T>((subscriber) => {
      const delivery = new BudgetedDelivery(subscriber, budgetMs, isFatal);
      const upstream = source.subscribe({
        next: (result) => delivery.result(result),
        error: (error: unknown) => delivery.fail(error),
        complete: () => delivery.end(),
      });
      return () => {
        delivery.stop();
        upstream.unsubscribe();
      };
    });
}

/** Refuses a budget that is not a number of ms >= 0. */
export function checkBudget(budgetMs: number): void {
  if (!(budgetMs >= 0)) throw new RangeError(`unreachable budget must be >= 0 ms (got ${budgetMs})`);
}
