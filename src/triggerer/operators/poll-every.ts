import {
  asyncScheduler,
  catchError,
  defer,
  expand,
  ignoreElements,
  map,
  merge,
  NEVER,
  of,
  race,
  Subject,
  switchMap,
  take,
  tap,
  throwIfEmpty,
  timer,
  type Observable,
  type ObservableInput,
} from 'rxjs';

/** One poll's outcome: failures are values, so the stream itself never errors. */
export type PollResult<T> =
  | {
      ok: true;
      value: T;
      /** When the poll finished (scheduler ms). */
      at: number;
      durationMs: number;
    }
  | {
      ok: false;
      error: unknown;
      at: number;
      durationMs: number;
      /** Consecutive failures including this one. */
      failures: number;
      /** When the first of these consecutive failed polls started. */
      failingSince: number;
    };

/** Options for {@link pollEvery}. */
export interface PollEveryOptions {
  /** Delay before the next attempt after `failures` consecutive failures. @default the interval */
  backoff?: (failures: number) => number;
  /**
   * Where the beats fall on the scheduler's clock: at every time `t` with `t % intervalMs ===
   * phaseMs % intervalMs` (0 < phaseMs <= intervalMs). Pollers with different phases spread their
   * calls over the interval instead of calling in step; pollers of the same phase and interval call
   * in step, whichever process runs them and whenever they started. No gap is ever longer than the
   * interval.
   * @default intervalMs (beats on multiples of the interval)
   */
  phaseMs?: number;
  /**
   * `now` (default): the first call at once, the next on the first beat after it. `beat`: the first
   * call on the next beat, or when `wake` emits, whichever comes first.
   */
  firstCall?: 'now' | 'beat';
  /** With `firstCall: 'beat'`, makes the first call at once (later emissions are ignored). */
  wake?: Observable<unknown>;
  /**
   * Each emission asks for a call as soon as none is in flight: at once while waiting for a beat
   * (or a backoff), right after the call in flight otherwise (that call may have read what was
   * there before the news). Emissions during one call make one more call, not one each. The beats
   * go on as before: push mode's reconciliation.
   * @default none
   */
  nudge?: Observable<unknown>;
}

/**
 * Calls `poll` now and then on every beat of `intervalMs` (see `phaseMs`), one call at a time: a call
 * slower than the interval skips the beats it overlapped instead of piling up calls. After a failure
 * the next attempt comes after `backoff(failures)` instead. Never errors; each call becomes one
 * {@link PollResult}.
 *
 * @example interval 3, poll takes 1 frame, second call fails, backoff 1:
 * ```
 * calls   a--b--c-d--
 * output  -A--B!--C-D    (B! = { ok: false }, retried 1 frame after it failed)
 * ```
 * A poll taking 4 frames with interval 3: calls start at 0 and 6 (the beat at 3 is skipped).
 *
 * @example interval 10, poll takes 2 frames, nudged at 4 and again during the call that started:
 * ```
 * nudge   ----nn-----
 * calls   a---b-c---d    (c: right after b, for the nudge during it; d: the beat at 10)
 * ```
 */
export function pollEvery<T>(
  intervalMs: number,
  poll: () => ObservableInput<T>,
  {
    backoff = () => intervalMs,
    phaseMs = intervalMs,
    firstCall = 'now',
    wake = NEVER,
    nudge = NEVER,
  }: PollEveryOptions = {},
): Observable<PollResult<T>> {
  if (!(intervalMs > 0)) throw new RangeError(`poll interval must be > 0 ms (got ${intervalMs})`);
  if (!(phaseMs > 0 && phaseMs <= intervalMs)) {
    throw new RangeError(`poll phase must be > 0 and <= the interval ${intervalMs} ms (got ${phaseMs})`);
  }
  /** The first beat strictly after `t`. */
  const beatAfter = (t: number): number => {
    const ahead = (((phaseMs - t) % intervalMs) + intervalMs) % intervalMs;
    return t + (ahead === 0 ? intervalMs : ahead);
  };
  return defer(() => {
    let failures = 0;
    let failingSince = 0;
    /** Nudges so far, and how many there were when the latest call started. */
    let nudges = 0;
    let nudgesAtCall = 0;
    const nudged = new Subject<void>();
    const attempt = (): Observable<PollResult<T>> =>
      defer(() => {
        nudgesAtCall = nudges;
        const start = asyncScheduler.now();
        return defer(poll).pipe(
          take(1),
          throwIfEmpty(() => new Error('poll completed without a value')),
          map((value): PollResult<T> => {
            failures = 0;
            const at = asyncScheduler.now();
            return { ok: true, value, at, durationMs: at - start };
          }),
          catchError((error: unknown) => {
            if (failures === 0) failingSince = start;
            failures += 1;
            const at = asyncScheduler.now();
            return of<PollResult<T>>({
              ok: false,
              error,
              at,
              durationMs: at - start,
              failures,
              failingSince,
            });
          }),
        );
      });
    // The next call: on the first beat after this one started, or, when this one ran past it, on
    // the first beat after it finished.
    const delayAfter = (result: PollResult<T>): number => {
      if (!result.ok) return backoff(result.failures);
      const start = result.at - result.durationMs;
      const beat = beatAfter(start);
      return (beat > result.at ? beat : beatAfter(result.at)) - result.at;
    };
    const next = (result: PollResult<T>): Observable<PollResult<T>> =>
      nudges > nudgesAtCall
        ? attempt()
        : race(timer(delayAfter(result)), nudged).pipe(take(1), switchMap(attempt));
    const now = asyncScheduler.now();
    // 'beat': on the next beat, or now if now is one.
    const first =
      firstCall === 'now'
        ? attempt()
        : race(timer(beatAfter(now - 1) - now), wake, nudged).pipe(take(1), switchMap(attempt));
    const counting = nudge.pipe(
      tap(() => {
        nudges += 1;
        nudged.next();
      }),
      ignoreElements(),
    );
    return merge(first.pipe(expand(next)), counting);
  });
}
