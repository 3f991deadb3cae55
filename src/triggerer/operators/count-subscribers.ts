import { defer, finalize, type MonoTypeOperatorFunction } from 'rxjs';

/**
 * Calls `onChange(+1)` when a subscriber subscribes and `onChange(-1)` when it leaves (unsubscribe,
 * error or completion), leaving the values untouched.
 *
 * @example counter for stats: `shared.pipe(countSubscribers((d) => (stats.subscribers += d)))`
 */
export function countSubscribers<T>(onChange: (delta: 1 | -1) => void): MonoTypeOperatorFunction<T> {
  return (source) =>
    defer(() => {
      onChange(1);
      return source.pipe(finalize(() => onChange(-1)));
    });
}
