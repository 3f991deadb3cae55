/**
 * The claims one triggerer holds: each trigger job it has claimed (from the queue or adopted from a
 * closing peer), with what stops its watch and what settles it. A claim ends when its processor
 * returns; `release` is what ends it.
 */
import { WaitingError, type Job } from 'bullmq';
import { Latch } from '../util/latch.js';
import { LOCK_LOST, type StopReason } from './outcomes.js';
import { settable, type Settable } from '../util/settable.js';

/**
 * Thrown by a processor to make BullMQ leave its job as it is (handed back, given to a peer, its lock
 * lost, or delayed for a peer). One instance: a hand-off throws it for thousands of jobs at once, and
 * building each with its stack trace cost more than anything else the closing process did per trigger.
 */
export const LEAVE_JOB = new WaitingError();

/** One claim of a trigger by this process. */
export interface Holding {
  /** The job id and the lock token it is held under (what a hand-off offers a peer). */
  readonly claim: { id: string; token: string | undefined };
  /** The job as claimed (a hand-off offers a copy of it with the claim). */
  readonly job: Job;
  /**
   * Stops the watcher, remembered for a watcher not set up yet; the first reason wins. LOCK_LOST:
   * the claim's lock is gone (renewal failed, or BullMQ handed the job out again). HANDED_OFF: this
   * process hands the trigger off (close).
   */
  readonly stop: Latch<StopReason>;
  /** Resolves when the claim's processor has returned. */
  readonly done: Promise<void>;
  /** Resolves when the watcher has stopped: true for a hand-off, false when it ended otherwise. */
  readonly stopped: Settable<boolean>;
  /**
   * Set by `close`: resolves when the claim's hand-off is settled, with its move back to wait (in
   * close's order) or at once when a peer took it over. Unset: the processor moves it itself.
   */
  moved?: Settable<void>;
}

/** Puts a claim's job back to wait (BullMQ's atomic move, with the claim's lock token). */
export async function moveToWait(holding: Holding): Promise<void> {
  await holding.job.moveToWait(holding.claim.token);
}

/** The claims of `holdings` that have a lock token. */
export function tokened(holdings: readonly Holding[]): { id: string; token: string }[] {
  return holdings.flatMap(({ claim: { id, token } }) => (token === undefined ? [] : [{ id, token }]));
}

/**
 * Ends a handed-off claim once the close settled it (given to a peer, or moved back to wait in the
 * close's order); moves it back itself when the close never saw it. Never resolves.
 */
export async function handBack(holding: Holding): Promise<never> {
  holding.stopped.resolve(true);
  await (holding.moved ? holding.moved.promise : moveToWait(holding));
  throw LEAVE_JOB;
}

/** The claims of one triggerer, by trigger id. */
export class Holdings {
  private readonly active = new Map<string, Holding>();
  /** Adopted claims not watched yet: each is called once its watcher is set up or it ended. */
  private readonly settingUp = new Map<string, () => void>();

  /** @param lockDurationMs how long every claim's lock lasts (a superseding claim renews its own). */
  constructor(private readonly lockDurationMs: number) {}

  /** Claims held now, watched or still being set up. */
  get size(): number {
    return this.active.size;
  }

  /**
   * The owners of the lock tokens of the claims held (a token is `<owner>:<n>`, the owner the BullMQ
   * worker that claimed it first; a hand-off keeps it), for the heartbeat: `status` finds the holder
   * of a trigger from its lock's token.
   */
  tokenOwners(): string[] {
    const owners = new Set<string>();
    for (const { claim } of this.active.values()) {
      const token = claim.token;
      if (token !== undefined) owners.add(token.slice(0, token.lastIndexOf(':')));
    }
    return [...owners];
  }

  /** The claim of a trigger id, if held. */
  get(triggerId: string): Holding | undefined {
    return this.active.get(triggerId);
  }

  /** Every claim held, newest first. */
  newestFirst(): Holding[] {
    return [...this.active.values()].reverse();
  }

  /**
   * Holds a claimed job: ends an earlier claim of the same id first (BullMQ handed out a job this
   * process still watched: the earlier claim lost its lock before the renewal failure was seen).
   * Resolves with the holding and `release`, which ends it (call once, when its watch settled).
   */
  async hold(job: Job, token: string | undefined): Promise<{ holding: Holding; release: () => void }> {
    const triggerId = job.id ?? '';
    const previous = this.active.get(triggerId);
    if (previous) {
      previous.stop.fire(LOCK_LOST);
      await previous.done;
    }
    const finished = settable<void>();
    const holding: Holding = {
      claim: { id: triggerId, token },
      job,
      // Remembered: a loss or a hand-off seen before the watcher is set up still ends it.
      stop: new Latch(),
      done: finished.promise,
      stopped: settable(),
    };
    this.active.set(triggerId, holding);
    // The earlier claim's processor untracks this job id in BullMQ's lock manager when it ends, so
    // a superseding claim renews its own lock.
    const renewal = previous && token !== undefined ? this.renewLock(job, token, holding.stop) : undefined;
    const release = () => {
      clearInterval(renewal);
      holding.stopped.resolve(false);
      this.watchingNow(triggerId);
      if (this.active.get(triggerId) === holding) this.active.delete(triggerId);
      finished.resolve();
    };
    return { holding, release };
  }

  /** An adopted claim is expected: resolves once it is watched (or ended before). */
  expectAdopted(triggerId: string): Promise<void> {
    const watching = settable<void>();
    this.settingUp.set(triggerId, () => watching.resolve());
    return watching.promise;
  }

  /** Whether the claim of this id was adopted from a peer and is not watched yet. */
  isAdopted(triggerId: string): boolean {
    return this.settingUp.has(triggerId);
  }

  /** An adopted claim is set up (watching, or ended before). */
  watchingNow(triggerId: string): void {
    const resolve = this.settingUp.get(triggerId);
    if (!resolve) return;
    this.settingUp.delete(triggerId);
    resolve();
  }

  /** Keeps a claim's lock alive by itself (see `hold`); a failed renewal means the lock is lost. */
  private renewLock(job: Job, token: string, stop: Holding['stop']): NodeJS.Timeout {
    const lockDurationMs = this.lockDurationMs;
    return setInterval(() => {
      job.extendLock(token, lockDurationMs).then(
        (ok) => ok || stop.fire(LOCK_LOST),
        () => stop.fire(LOCK_LOST),
      );
    }, lockDurationMs / 2);
  }
}
