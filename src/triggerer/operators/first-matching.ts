import { filter, map, take, type OperatorFunction } from 'rxjs';

/**
 * Emits the first defined result of `decide` over the source, then completes. `decide` returns
 * `undefined` for "keep watching".
 *
 * @example decide = (n) => (n > 2 ? `big ${n}` : undefined)
 * ```
 * source  1-2-3-4
 * output  ----(big 3|)
 * ```
 */
export function firstMatching<T, R>(decide: (value: T) => R | undefined): OperatorFunction<T, R> {
  return (source) =>
    source.pipe(
      map((value) => ({ decision: decide(value) })),
      filter((wrapped): wrapped is { decision: R } => wrapped.decision !== undefined),
      take(1),
      map(({ decision }) => decision),
    );
}
