import {
  asyncScheduler,
  defer,
  mergeMap,
  of,
  switchMap,
  throwError,
  timer,
  type OperatorFunction,
} from 'rxjs';
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
  return (source) =>
    defer(() => {
      const subscribedAt = asyncScheduler.now();
      return source.pipe(
        switchMap((result) => {
          if (result.ok) return of(result.value);
          const fail = throwError(() => result.error);
          if (isFatal(result.error)) return fail;
          const remaining = Math.max(result.failingSince, subscribedAt) + budgetMs - asyncScheduler.now();
          return remaining <= 0 ? fail : timer(remaining).pipe(mergeMap(() => fail));
        }),
      );
    });
}
