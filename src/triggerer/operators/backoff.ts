/** Delay schedules for retrying a failed poll. */

/** Options for {@link exponentialBackoff}. */
export interface BackoffOptions {
  /** Delay after the first failure. @default 100 */
  initialMs?: number;
  /** Upper bound of any delay. */
  maxMs: number;
  /** Growth factor per consecutive failure. @default 2 */
  factor?: number;
}

/**
 * The delay before retry number `failures` (1-based): initial, initial×factor, … capped at `maxMs`.
 *
 * @example exponentialBackoff({ initialMs: 100, maxMs: 500 }) gives 100, 200, 400, 500, 500, …
 */
export function exponentialBackoff({
  initialMs = 100,
  maxMs,
  factor = 2,
}: BackoffOptions): (failures: number) => number {
  if (!(initialMs > 0) || !(maxMs > 0) || !(factor >= 1)) {
    throw new RangeError(
      `backoff needs initialMs > 0, maxMs > 0 and factor >= 1 (got ${initialMs}, ${maxMs}, ${factor})`,
    );
  }
  return (failures) => Math.min(maxMs, initialMs * factor ** Math.max(0, failures - 1));
}
