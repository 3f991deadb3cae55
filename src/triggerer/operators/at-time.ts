import { asyncScheduler, defer, of, switchMap, timer, type Observable, type Subscription } from 'rxjs';

/** Longer timer delays overflow setTimeout's 32-bit limit and fire at once, so long waits go in steps. */
const MAX_STEP_MS = 24 * 60 * 60 * 1000;

/**
 * Emits `targetMs` once when the clock `now()` reaches it (at once if it has passed), then completes.
 * Waits beyond a day are taken in steps; each step re-reads the clock, so it never fires early.
 *
 * @example atTime(Date.parse('2030-01-01T00:00:00Z'), Date.now) emits 1893456000000 on that moment.
 */
export function atTime(targetMs: number, now: () => number): Observable<number> {
  // re-reading the clock after every timer also guards against timers firing a millisecond early
  const step = (): Observable<number> =>
    defer(() => {
      const remaining = targetMs - now();
      return remaining <= 0 ? of(targetMs) : timer(Math.min(remaining, MAX_STEP_MS)).pipe(switchMap(step));
    });
  return step();
}

/**
 * Runs `work` once the scheduler's clock reaches `dueMs`, in steps of at most a day (a longer delay
 * would overflow setTimeout and run at once). The plain-callback form of {@link atTime}, for code
 * that keeps one per watcher.
 */
export function scheduleAt(dueMs: number, work: () => void): Subscription {
  return asyncScheduler.schedule(
    function step(this: { schedule(state?: undefined, delay?: number): void }) {
      const remaining = dueMs - asyncScheduler.now();
      if (remaining <= 0) work();
      else this.schedule(undefined, Math.min(remaining, MAX_STEP_MS));
    },
    Math.max(0, Math.min(dueMs - asyncScheduler.now(), MAX_STEP_MS)),
  );
}
