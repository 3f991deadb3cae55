/**
 * The taking side of a hand-off: claims a closing peer offers are made this triggerer's own, lock
 * and all (no trip through the queue), as many as its capacity leaves room for.
 */
import type { Job } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../redis/connection.js';
import type { Logger } from 'pino';
import type { TriggerEvent } from '../protocol/index.js';
import type { ClaimingWorker } from '../queue/claims.js';
import { extendLocks } from './give-back.js';
import { doneWithOffer, type Offer, offeredJob, takeClaims, type Taken } from './handoff.js';
import type { Holdings } from './holdings.js';

/** Claims taken from a peer's hand-off per round trip. */
const ADOPT_BATCH = 500;
/** Pause before looking again at a streamed offer found empty while its peer is still adding to it. */
const STREAM_POLL_MS = 5;

/** What adopting needs from the triggerer. */
export interface AdoptContext {
  /** The worker, unless closing (then nothing is taken). */
  readonly worker: ClaimingWorker<unknown, TriggerEvent> | undefined;
  readonly redis: RedisClient;
  readonly holdings: Holdings;
  readonly lockDurationMs: number;
  readonly logger: Logger;
  /** Whether this triggerer began closing (it stops taking). */
  closing(): boolean;
}

/**
 * Takes claims a closing peer offers, as many as there is room for. A streamed offer is taken
 * while its peer adds to it, until it is complete and empty (or the peer went silent for a lock
 * duration: it died while offering, and what it did not add is left to the stalled check).
 */
export async function adoptOffer(ctx: AdoptContext, offer: Offer): Promise<void> {
  const listKey = offer.list;
  const { worker, redis, lockDurationMs } = ctx;
  if (!worker || ctx.closing()) {
    // Closing (the offer came just before this process stopped listening): take nothing, but say
    // so, or the offering peer waits for this one until its time is up.
    await doneWithOffer(redis, listKey, lockDurationMs).catch(() => undefined);
    return;
  }
  let adopted = 0;
  const startedAt = performance.now();
  const setUp: Promise<void>[] = [];
  try {
    let lastTaken = performance.now();
    while (!ctx.closing()) {
      const round: { taken?: Taken } = {};
      adopted += await worker.adopt(async (room) => {
        const taken = await takeClaims(redis, offer, Math.min(room, ADOPT_BATCH));
        round.taken = taken;
        const claims = taken.claims;
        if (claims.length === 0) return [];
        // A claim whose lock ran out is not ours to take: BullMQ's stalled check returns it.
        const lost = await extendLocks(worker, claims, lockDurationMs);
        const jobs = await Promise.all(
          claims
            .filter((c) => !lost.has(c.id))
            .map(async (c) => ({ job: await offeredJob(worker, c), token: c.token })),
        );
        const found = jobs.filter(
          (j): j is { job: Job<unknown, TriggerEvent>; token: string } => j.job !== undefined,
        );
        for (const { job } of found) setUp.push(ctx.holdings.expectAdopted(job.id ?? ''));
        return found;
      });
      const taken = round.taken;
      // Not taken at all: this process is full or closing.
      if (!taken) break;
      if (taken.claims.length > 0) {
        lastTaken = performance.now();
        continue;
      }
      if (taken.complete || performance.now() - lastTaken > lockDurationMs) break;
      // Empty for now: the peer is still adding claims.
      await sleep(STREAM_POLL_MS);
    }
  } catch (error) {
    ctx.logger.warn({ err: error, listKey }, "could not adopt a peer's triggers");
  }
  const takenMs = Math.round(performance.now() - startedAt);
  // The offering peer stops waiting once every listener is done; a failed note only makes it wait longer.
  await doneWithOffer(redis, listKey, lockDurationMs).catch(() => undefined);
  if (adopted === 0) return;
  await Promise.all(setUp);
  const watchingMs = Math.round(performance.now() - startedAt);
  ctx.logger.info({ triggers: adopted, takenMs, watchingMs }, 'adopted triggers from a closing peer');
}
