/**
 * The closing side of a hand-off: stop every watcher (no event, no onCancel) and give each claim,
 * lock and all, to a listening peer; what no peer takes goes back to wait. A crash hands nothing
 * over: its locks run out and BullMQ's stalled check returns the triggers to wait.
 */
import type { RedisClient } from '../redis/connection.js';
import type { Logger } from 'pino';
import type { ClaimingWorker } from '../queue/claims.js';
import {
  type Claim,
  handOffListKey,
  offerChunks,
  offerSettled,
  offerStream,
  offeredCopy,
  withdrawClaims,
} from './handoff.js';
import { moveToWait, tokened, type Holding } from './holdings.js';
import { HANDED_OFF } from './outcomes.js';
import { settable } from '../util/settable.js';

/**
 * How long a closing triggerer waits for its peers to take its claims before it puts the rest back
 * to wait. Its locks are renewed meanwhile; this bounds only its exit (a peer's adoption of 10,000
 * takes a few seconds on a 2-core machine).
 */
const OFFER_WAIT_MS = 10_000;

/** What giving back needs from the closing triggerer. */
export interface GiveBackContext {
  readonly worker: Pick<ClaimingWorker, 'id' | 'extendJobLocks'>;
  /** The hand-off connection, if the triggerer got as far as opening it. */
  readonly redis: RedisClient | undefined;
  readonly prefix: string;
  readonly lockDurationMs: number;
  readonly logger: Logger;
  /** Called once every claim is on the offer list and a peer heard of it. */
  offered(): void;
}

/** How a closing triggerer's claims went. */
export interface GiveBackResult {
  /** Claims a peer took. */
  taken: number;
  /** Peers that heard the offer. */
  peers: number;
  /** performance.now() when the offer was announced, if it was. */
  announcedAt?: number;
  /** performance.now() when the last watcher stopped. */
  stoppedAt: number;
}

/**
 * Stops a closing triggerer's watchers (HANDED_OFF), a slice at a time in the order given; each
 * holding is stopped once, however the calls interleave.
 */
class Stopper {
  private next = 0;
  /** performance.now() when the last watcher stopped (when the stopping began, until then). */
  stoppedAt = performance.now();
  /** Every holding stopped for the hand-off so far. */
  readonly handedOff: Holding[] = [];

  constructor(private readonly holdings: readonly Holding[]) {}

  /** The holdings not stopped yet. */
  get remaining(): readonly Holding[] {
    return this.holdings.slice(this.next);
  }

  /** The next `count` holdings, not stopped yet. */
  upcoming(count: number): readonly Holding[] {
    return this.holdings.slice(this.next, this.next + count);
  }

  /** Stops the next `count` watchers (all by default); resolves with those that stopped for the hand-off. */
  async stop(count = Infinity): Promise<Holding[]> {
    const slice = this.holdings.slice(this.next, this.next + count);
    this.next += slice.length;
    for (const holding of slice) holding.stop.fire(HANDED_OFF);
    const handedOff: Holding[] = [];
    // false: it had ended otherwise (fired, failed, lost its lock) and is not this hand-off's.
    for (const holding of slice) if (await holding.stopped.promise) handedOff.push(holding);
    this.handedOff.push(...handedOff);
    this.stoppedAt = performance.now();
    return handedOff;
  }
}

/**
 * Extends the locks of `claims` for a whole lock duration; resolves with the ids whose lock is
 * lost (only the holder of a lock's token can extend it).
 */
export async function extendLocks(
  worker: Pick<ClaimingWorker, 'extendJobLocks'>,
  claims: readonly { id: string; token: string }[],
  lockDurationMs: number,
): Promise<Set<string>> {
  if (claims.length === 0) return new Set();
  const lost = await worker.extendJobLocks(
    claims.map((c) => c.id),
    claims.map((c) => c.token),
    lockDurationMs,
  );
  return new Set(lost);
}

/**
 * Stops the watchers of `holdings` (no event, no onCancel) and offers their claims to the
 * listening peers a chunk at a time, in `holdings`' order: the first chunk is offered while the
 * rest still watch, so peers start on it at once, and each next chunk is stopped and added while
 * they take. What no peer took goes back to wait, in that order. The locks are renewed here until
 * the offer is settled. Each holding's `moved` is settled here.
 */
export async function giveBack(ctx: GiveBackContext, holdings: Holding[]): Promise<GiveBackResult> {
  const stopper = new Stopper(holdings);
  // Each claim is settled once: moved back, or left where it is (taken by a peer, or to expire).
  const settled = new Set<Holding>();
  const settle = (list: Holding[], move: boolean) => {
    for (const holding of list) {
      if (settled.has(holding)) continue;
      settled.add(holding);
      holding.moved?.resolve(move ? moveToWait(holding) : undefined);
    }
  };
  /** Stops every watcher not stopped yet; what ends with them goes back to wait (`move`) or not. */
  const stopRest = async (move: boolean): Promise<GiveBackResult> => {
    settle(await stopper.stop(), move);
    return { taken: 0, peers: 0, stoppedAt: stopper.stoppedAt };
  };
  const { redis } = ctx;
  // Nothing to offer (only a claim with a lock token can be): straight back to wait.
  if (!redis || !holdings.some((h) => h.claim.token !== undefined)) return stopRest(true);
  if (redis.status !== 'ready') {
    // Redis is away: nothing can be offered or moved; the locks run out and BullMQ's stalled
    // check returns the triggers to wait, as after a crash.
    ctx.logger.warn('Redis is not connected; the triggers return to wait by lock expiry');
    return stopRest(false);
  }
  // Redis going away now: every step of the offer would wait for it forever (commands queue
  // until it is back). By this bound the locks have run out anyway; the claims are left to
  // BullMQ's stalled check, as after a crash, and the process can exit.
  const unreachable = settable<Omit<GiveBackResult, 'stoppedAt'>>();
  const timer = setTimeout(() => {
    ctx.logger.warn('Redis did not answer the hand-off; the triggers return to wait by lock expiry');
    void stopRest(false);
    settle(holdings, false);
    unreachable.resolve({ taken: 0, peers: 0 });
  }, ctx.lockDurationMs + OFFER_WAIT_MS);
  try {
    const result = await Promise.race([offer(ctx, redis, stopper, settle), unreachable.promise]);
    return { ...result, stoppedAt: stopper.stoppedAt };
  } finally {
    clearTimeout(timer);
  }
}

/** giveBack's Redis part: stop and offer, wait for the peers, withdraw and move back what is left. */
async function offer(
  ctx: GiveBackContext,
  redis: RedisClient,
  stopper: Stopper,
  settle: (list: Holding[], move: boolean) => void,
): Promise<Omit<GiveBackResult, 'stoppedAt'>> {
  const { worker, lockDurationMs } = ctx;
  const listKey = handOffListKey(worker.id, ctx.prefix);
  /** Every claim put on the list (or about to be). */
  const offered: Holding[] = [];
  /**
   * Stops the next `count` watchers while Redis renews their locks for a whole lock duration (a
   * peer gets that long to make each claim its own); resolves with the claims to offer. A claim
   * without a token goes back at once; one whose lock was already lost is not ours to offer: its
   * move fails as before and BullMQ's stalled check returns the job to wait.
   */
  const stopForOffer = async (count: number): Promise<Claim[]> => {
    const next = stopper.upcoming(count);
    const extended = extendLocks(worker, tokened(next), lockDurationMs);
    extended.catch(() => undefined); // awaited below, after the watchers are stopped
    const stopped = await stopper.stop(count);
    const lost = await extended;
    const chunk: Holding[] = [];
    const back: Holding[] = [];
    for (const h of stopped) (h.claim.token !== undefined && !lost.has(h.claim.id) ? chunk : back).push(h);
    settle(back, true);
    offered.push(...chunk);
    return chunk.map((h) => {
      const job = offeredCopy(h.job);
      return { id: h.claim.id, token: h.claim.token ?? '', ...(job && { job }) };
    });
  };
  let announcedAt: number | undefined;
  try {
    const [firstCount = 0, ...restCounts] = offerChunks(stopper.remaining).map((chunk) => chunk.length);
    const first = await stopForOffer(firstCount);
    const sent = await offerStream(redis, {
      owner: worker.id,
      prefix: ctx.prefix,
      first,
      ...(restCounts.length > 0 && {
        rest: (async function* () {
          for (const count of restCounts) yield await stopForOffer(count);
        })(),
      }),
      ttlMs: lockDurationMs,
      onAnnounced: () => (announcedAt = performance.now()),
    });
    if (sent.peers === 0) {
      // Nobody heard the announcement: nobody holds any of them, and nobody knows the list.
      await withdrawClaims(redis, listKey).catch(() => undefined);
      settle(offered, true);
      settle(await stopper.stop(), true);
      return { taken: 0, peers: 0, announcedAt };
    }
    // Every claim is on the list and peers heard of it: they need nothing more from this process.
    ctx.offered();
    await offerSettled(redis, listKey, { peers: sent.peers, maxMs: OFFER_WAIT_MS });
    const left = new Set((await withdrawClaims(redis, listKey)).map((c) => c.id));
    settle(
      offered.filter((h) => left.has(h.claim.id)),
      true,
    );
    settle(offered, false);
    return { taken: offered.length - left.size, peers: sent.peers, announcedAt };
  } catch (error) {
    ctx.logger.warn({ err: error }, 'hand-off to peers failed; the triggers go back to the queue');
    await stopper.stop();
    if (announcedAt === undefined) {
      // Nothing was announced: every claim is still only ours (a first chunk already stored is
      // known to nobody; taken off the list, or left to expire if Redis will not).
      await withdrawClaims(redis, listKey).catch(() => undefined);
      settle(stopper.handedOff, true);
      return { taken: 0, peers: 0 };
    }
    // Announced: a claim a peer took must not be moved. What cannot be withdrawn now (taken, or
    // in a chunk that never reached the list) is left to the lock expiry and the stalled check;
    // what was never offered is ours alone.
    const left = await withdrawClaims(redis, listKey).catch(() => []);
    const ids = new Set(left.map((c) => c.id));
    settle(
      offered.filter((h) => ids.has(h.claim.id)),
      true,
    );
    settle(offered, false);
    settle(stopper.handedOff, true);
    return { taken: 0, peers: 0, announcedAt };
  }
}
