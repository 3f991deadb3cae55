import { asyncScheduler, Observable, type OperatorFunction, type Subscription } from 'rxjs';
import type { PollResult } from './poll-every.js';

/** Options for {@link failAfterBudget}. */
export interface FailAfterBudgetOptions {
  /** Errors that no retry can cure (e.g. bad credentials): fail at once. @default none */
  isFatal?: (error: unknown) => boolean;
}

/**
 * Unwraps poll results into values, tolerating failures until the source has been failing for
 * `budgetMs` without a success, then errors with the last failure. The budget of a subscriber starts
 * no earlier than its subscription, so a late subscriber to a long-failing poll gets its full budget.
 *
 * @example budget 5 frames (a = ok, x = failed):
 * ```
 * source  a-x-x-a-x-x-x---
 * output  a-----a-------#   (errors 5 frames after the first failure of the second run)
 * ```
 */
export function failAfterBudget<T>(
  budgetMs: number,
  { isFatal = () => false }: FailAfterBudgetOptions = {},
): OperatorFunction<PollResult<T>, T> {
  if (!(budgetMs >= 0)) throw new RangeError(`unreachable budget must be >= 0 ms (got ${budgetMs})`);
  // Written out rather than piped from defer/switchMap: one of these runs per watcher (thousands
  // per triggerer), and operators allocate a subscriber chain per subscription and per value.
  return (source) =>
    new Observable<T>((subscriber) => {
      const subscribedAt = asyncScheduler.now();
      /** The failure due when the budget runs out, cancelled by the next result. */
      let due: Subscription | undefined;
      const upstream = source.subscribe({
        next: (result) => {
          due?.unsubscribe();
          due = undefined;
          if (result.ok) {
            subscriber.next(result.value);
            return;
          }
          if (isFatal(result.error)) {
            subscriber.error(result.error);
            return;
          }
          const remaining = Math.max(result.failingSince, subscribedAt) + budgetMs - asyncScheduler.now();
          if (remaining <= 0) subscriber.error(result.error);
          else due = asyncScheduler.schedule(() => subscriber.error(result.error), remaining);
        },
        error: (error: unknown) => subscriber.error(error),
        // A failure already due still comes (as switchMap would wait for its inner timer).
        complete: () => {
          if (!due) subscriber.complete();
        },
      });
      return () => {
        due?.unsubscribe();
        upstream.unsubscribe();
      };
    });
}
