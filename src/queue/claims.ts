/**
 * A BullMQ Worker for jobs that come in bursts.
 *
 * BullMQ's own loop fetches strictly one job at a time ("we await here so that we fetch jobs in
 * sequence"), starts none of a burst until it has claimed all of it, and only then starts renewing
 * their locks: a burst slower to claim than the lock duration stalls back to wait (a triggerer
 * adopting thousands of handed-off triggers; a continuation queue receiving a poll's worth at once).
 * This Worker waits for work exactly as BullMQ does (its blocking marker, one waiter), then claims
 * with `claimLanes` fetches in flight until the queue is empty or the concurrency is reached, and
 * starts each job as it is claimed, so its lock is renewed from its claim. A processor whose set-up
 * is costly can `await burstClaimed()` to let the burst be claimed first. Everything after the claim
 * is BullMQ's own: each job goes through `Worker.processJob` (lock tracking and renewal, completion,
 * failure, events), and the stalled check runs as in `Worker.run`.
 *
 * Not supported, and refused: rate limits (`limiter`) and `pause()` (the triggers queue uses neither).
 */
import { Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';
import { settable } from '../util/settable.js';

/** Default number of claims in flight at once during a burst. */
export const DEFAULT_CLAIM_LANES = 8;
/** Pause of the claim loop after a failed fetch (Redis unreachable, a script error). */
const RETRY_DELAY_MS = 1000;

export interface ClaimingWorkerOptions extends Omit<WorkerOptions, 'autorun' | 'limiter'> {
  /** Claims in flight at once when a burst of jobs is waiting. @default 8 */
  claimLanes?: number;
}

export class ClaimingWorker<D = unknown, R = unknown> extends Worker<D, R, string> {
  private readonly lanes: number;
  /** Jobs claimed and still being processed. */
  private held = 0;
  /** Fetches in flight (each may bring a job, so they count against the concurrency). */
  private fetching = 0;
  private tokens = 0;
  /** Resolves the claim loop's wait for room when a held job ends. */
  private roomFreed: (() => void) | undefined;
  private readonly processing = new Set<Promise<unknown>>();
  /** The burst being claimed (lanes running), if any. */
  private burst: Promise<void> | undefined;

  /** Call `run()` to start claiming (autorun is off: the subclass must be built first). */
  constructor(name: string, processor: Processor<D, R, string>, options: ClaimingWorkerOptions) {
    if ('limiter' in options && options.limiter !== undefined) {
      throw new TypeError("ClaimingWorker does not support rate limits (limiter): use BullMQ's Worker");
    }
    super(name, processor, { ...options, autorun: false });
    const lanes = options.claimLanes ?? DEFAULT_CLAIM_LANES;
    if (!Number.isInteger(lanes) || lanes < 1) throw new RangeError(`claimLanes must be >= 1, got ${lanes}`);
    this.lanes = lanes;
  }

  /**
   * A job whose data is not JSON (a producer in another language wrote the hash itself) cannot be
   * built by BullMQ: the claim threw, the job stayed active without a renewed lock, and the stalled
   * check handed it out again, forever. Such a job is built with its data as the raw text instead,
   * so its processor sees it and can fail it once with the reason.
   */
  protected override createJob(
    data: Parameters<Worker<D, R, string>['createJob']>[0],
    jobId: string,
  ): Job<D, R> {
    try {
      return super.createJob(data, jobId);
    } catch (error) {
      if (!(error instanceof SyntaxError) || typeof data?.data !== 'string') throw error;
      return super.createJob({ ...data, data: JSON.stringify(data.data) }, jobId);
    }
  }

  /** Not supported: this loop does not look at BullMQ's pause flag, so pausing would not pause it. */
  override pause(): Promise<void> {
    return Promise.reject(new Error('ClaimingWorker does not support pause(): close it instead'));
  }

  /** Starts the stalled check, the lock renewal and the claim loop; resolves when the loop ends. */
  override async run(): Promise<void> {
    if (this.running) throw new Error('Worker is already running.');
    try {
      this.running = true;
      if (this.closing) return;
      await this.startStalledCheckTimer();
      if (!this.opts.skipLockRenewal) this.lockManager.start();
      // Worker.close waits for this promise (after disconnecting the blocking wait).
      this.mainLoopRunning = this.claimLoop();
      await this.mainLoopRunning;
    } finally {
      this.running = false;
    }
  }

  private async claimLoop(): Promise<void> {
    while (!this.closing) {
      if (this.held + this.fetching >= this.concurrency) {
        // Room comes back when a held job ends or an adoption took less than it reserved.
        await new Promise<void>((resolve) => (this.roomFreed = resolve));
        continue;
      }
      // BullMQ's own wait: blocks on the queue's marker when the queue was found empty.
      const first = await this.claim((token) => this.getNextJob(token, { block: true }));
      if (!first) continue;
      // One job came: a burst (a hand-off, a batch of defers) may be behind it. The burst is known
      // before the first job starts, so its processor can wait for the rest to be claimed.
      const claimed = settable<void>();
      this.burst = claimed.promise;
      this.start(first);
      await Promise.all(Array.from({ length: this.lanes }, () => this.lane()));
      this.burst = undefined;
      claimed.resolve();
    }
    // Closing: the jobs held end through their processors (the triggerer hands them back).
    await Promise.allSettled(this.processing);
  }

  /**
   * Resolves when the burst being claimed now, if any, is claimed. A processor whose set-up is
   * costly can wait for it, so that a burst is claimed (and its locks renewed) at full speed and set
   * up after, instead of each claim waiting behind the set-ups of the ones before it.
   */
  async burstClaimed(): Promise<void> {
    await this.burst;
  }

  /**
   * For a close that cannot finish because Redis is away (BullMQ closes its connections with QUIT,
   * which waits for Redis): stops renewing locks and drops the connections, so nothing of this
   * worker keeps the process alive. Call after `close()` and after every job has settled.
   */
  async abandon(): Promise<void> {
    await this.lockManager.close();
    await this.disconnect();
  }

  /**
   * Starts jobs claimed some other way (a peer's hand-off): `take(room)` gets at most `room` of
   * them, room the concurrency still allows, counted as in flight while it runs. Resolves with the
   * number started (0 when full or closing, without calling `take`).
   */
  async adopt(take: (room: number) => Promise<{ job: Job<D, R>; token: string }[]>): Promise<number> {
    const room = this.concurrency - this.held - this.fetching;
    if (room <= 0 || this.closing) return 0;
    this.fetching += room;
    let claims: { job: Job<D, R>; token: string }[];
    try {
      claims = (await take(room)).slice(0, room);
    } finally {
      this.fetching -= room;
      this.roomFreed?.();
      this.roomFreed = undefined;
    }
    for (const claim of claims) {
      this.held += 1;
      this.start(claim);
    }
    return claims.length;
  }

  /** Claims jobs one after another until the queue is empty, the worker full or closing. */
  private async lane(): Promise<void> {
    while (!this.closing && this.held + this.fetching < this.concurrency) {
      const claimed = await this.claim((token) => this.moveToActive(token));
      if (!claimed) return;
      this.start(claimed);
    }
  }

  /** One fetch; a job it brings counts as held from then on. Errors are reported, then paced. */
  private async claim(
    fetch: (token: string) => Promise<Job<D, R> | undefined>,
  ): Promise<{ job: Job<D, R>; token: string } | undefined> {
    const token = `${this.id}:${this.tokens++}`;
    this.fetching += 1;
    let job: Job<D, R> | undefined;
    try {
      job = await fetch(token);
    } catch (error) {
      if (this.closing) return undefined;
      this.emit('error', error as Error);
      await this.delay(RETRY_DELAY_MS);
      return undefined;
    } finally {
      this.fetching -= 1;
    }
    if (!job) return undefined;
    this.held += 1;
    return { job, token };
  }

  /** Processes a claimed job through BullMQ (lock tracking, completion, events). */
  private start({ job, token }: { job: Job<D, R>; token: string }): void {
    // No fetch-next on completion: claiming is this loop's job.
    const processed = this.processJob(job, token, () => false)
      .catch((error: unknown) => void this.emit('error', error as Error))
      .finally(() => {
        this.held -= 1;
        this.processing.delete(processed);
        this.roomFreed?.();
        this.roomFreed = undefined;
      });
    this.processing.add(processed);
  }
}
