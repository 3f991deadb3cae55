import { Observable, type MonoTypeOperatorFunction } from 'rxjs';

/**
 * Calls `onChange(+1)` when a subscriber subscribes and `onChange(-1)` when it leaves (unsubscribe,
 * error or completion), leaving the values untouched.
 *
 * @example counter for stats: `shared.pipe(countSubscribers((d) => (stats.subscribers += d)))`
 */
export function countSubscribers<T>(onChange: (delta: 1 | -1) => void): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      onChange(1);
      // The source's teardown joins the subscriber's; this one runs once, on unsubscribe, error or
      // completion (each ends the subscriber).
      source.subscribe(subscriber);
      return () => onChange(-1);
    });
}
