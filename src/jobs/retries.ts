/**
 * How long a step that failed for a reason that may pass (Redis, a socket, a host that cannot be
 * reached) is tried again. A setup step gets 3 attempts (then the run fails and tears down); a
 * teardown step is tried for as long as the worker's `teardownRetryMs` allows (minutes), since giving
 * up there leaves a supervisord running. The waits between attempts double from 2 s up to 30 s.
 */
import { TEARDOWN_STEPS, type Step } from './points.js';

/** BullMQ backoff type of step jobs: the worker's `retryDelayMs`. */
export const STEP_BACKOFF = 'st-step';
/** Attempts of a setup step. */
export const SETUP_ATTEMPTS = 3;
/** Longest wait between two attempts. */
const MAX_DELAY_MS = 30_000;
/** Longest teardown retry a worker may be configured with. */
export const MAX_TEARDOWN_RETRY_MS = 3_600_000;
/**
 * BullMQ attempts of every step job: more than any budget needs (the worker decides when to stop
 * retrying, and then commits the run's way on instead of failing the job).
 */
export const MAX_STEP_ATTEMPTS = 2 + Math.ceil(MAX_TEARDOWN_RETRY_MS / MAX_DELAY_MS) + 5;

/** The wait before the next attempt after `failures` failed ones: 2 s, 4 s, 8 s, 16 s, then 30 s. */
export function retryDelayMs(failures: number): number {
  return Math.min(1000 * 2 ** Math.max(1, failures), MAX_DELAY_MS);
}

/** The time spent waiting between attempts once `failures` attempts failed and the next is due. */
function waitedMs(failures: number): number {
  let total = 0;
  for (let n = 1; n <= failures; n++) total += retryDelayMs(n);
  return total;
}

/** Whether a step whose `failures`-th attempt just failed (transiently) is tried again. */
export function mayRetry(step: Step, failures: number, teardownRetryMs: number): boolean {
  if (!TEARDOWN_STEPS.includes(step)) return failures < SETUP_ATTEMPTS;
  return failures < MAX_STEP_ATTEMPTS && waitedMs(failures) <= teardownRetryMs;
}
