/**
 * A trigger's crash count is BullMQ's stalled counter (`stc` in its job hash): the stalled check
 * raises it each time the trigger's holder died and fails the job past `maxStalledCount`, so that a
 * record which kills every triggerer taking it cannot loop forever. A long watch (days, through
 * rolling deploys) meets more crashes than that without being at fault: once a trigger has been
 * watched for a while by a holder that did not die of it, its count goes back to 0.
 */
import type { RedisClient } from '../redis/connection.js';

/** Sets the job's stalled counter to 0, if `token` still holds its lock (one atomic step). */
const FORGIVE = `
if redis.call('GET', KEYS[2]) == ARGV[1] then
  return redis.call('HSET', KEYS[1], 'stc', 0)
end
return -1`;

/**
 * Resets the crash count of the job at `jobKey` (BullMQ's `queue.toKey(id)`) held under `token`.
 * Resolves false when the lock is no longer this holder's (nothing changed).
 */
export async function forgiveCrashes(redis: RedisClient, jobKey: string, token: string): Promise<boolean> {
  const result = await redis.eval(FORGIVE, 2, jobKey, `${jobKey}:lock`, token);
  return result !== -1;
}
