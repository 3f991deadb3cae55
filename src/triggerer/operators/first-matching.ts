import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Emits the first defined result of `decide` over the source, then completes and unsubscribes from
 * the source. `decide` returns `undefined` for "keep watching"; an error it throws is the stream's.
 *
 * @example decide = (n) => (n > 2 ? `big ${n}` : undefined)
 * ```
 * source  1-2-3-4
 * output  ----(big 3|)
 * ```
 */
export function firstMatching<T, R>(decide: (value: T) => R | undefined): OperatorFunction<T, R> {
  // Written out rather than piped from map, filter, take and map: one runs per watcher (thousands
  // per triggerer), and each piped operator is one more subscriber per watcher.
  return (source) =>
    new Observable<R>((subscriber) =>
      source.subscribe({
        next: (value) => {
          let decision: R | undefined;
          try {
            decision = decide(value);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          if (decision === undefined) return;
          subscriber.next(decision);
          subscriber.complete();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
}
