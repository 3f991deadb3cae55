/**
 * The triggerer daemon: a BullMQ worker on the triggers queue (a ClaimingWorker, which claims a
 * burst several jobs at a time and renews each lock from its claim) whose processor turns each
 * claimed record into an RxJS watcher and completes the job with the watcher's first outcome, as a
 * TriggerEvent. The processor only awaits that first value, so one process holds `capacity`
 * triggers at once without blocking. The job lock is the lease: on close a triggerer hands its
 * claims, locks and all, to its running peers (handoff.ts); a crashed triggerer's triggers go back
 * to wait through BullMQ's stalled check and another triggerer claims them.
 */
import { UnrecoverableError, WaitingError, type ConnectionOptions, type Job } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Observable, Subscription } from 'rxjs';
import {
  RECORD_LIMITS,
  TRIGGER_STATUSES,
  TRIGGERS_QUEUE,
  type TriggerEvent,
  type TriggerOutcome,
} from '../record.js';
import type { SupervisorClient } from '../supervisor/client.js';
import type { SupervisorEndpoint } from '../supervisor/endpoint.js';
import type { ProcessInfo } from '../supervisor/states.js';
import type { TriggerContext, TriggerDefinition } from './definition.js';
import { CancelSignals, type CancelListener, type CancelRequest } from './cancel.js';
import { ClaimingWorker } from './claims.js';
import {
  type Claim,
  doneWithOffer,
  handOffListKey,
  HandOffs,
  offeredCopy,
  type Offer,
  offerChunks,
  offerStream,
  offeredJob,
  offerSettled,
  takeClaims,
  type Taken,
  withdrawClaims,
} from './handoff.js';
import {
  acceptTrigger,
  boundText,
  InvalidTriggerRecord,
  refusedRecordData,
  type AcceptedTrigger,
  type TriggerLookup,
} from './intake.js';
import { createLogger, triggerLogger } from './logger.js';
import { TriggererMetrics } from './metrics.js';
import { startObservability, type Observability } from './observability.js';
import { forgiveCrashes } from './crash-count.js';
import { listTriggerers } from './heartbeat.js';
import {
  DEFAULT_CAPACITY,
  DEFAULT_CRASH_RESET_MS,
  DEFAULT_INTERVAL_MS,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_STALLED_INTERVAL_MS,
} from './options.js';
import { Pacer } from './pacer.js';
import { SharedPollers } from './pollers.js';
import { Latch } from './latch.js';
import { within } from './within.js';
import { atTime } from './operators/at-time.js';
import { settable, type Settable } from './settable.js';

/** What a trigger's context needs from the pollers (SharedPollers in production). */
export interface PollerSource {
  processInfo(
    endpoint: string,
    options?: {
      intervalMs?: number;
      unreachableBudgetMs?: number;
      firstPoll?: 'now' | 'beat';
      /** Polls started before this (unix ms) are not delivered. */
      since?: number;
    },
  ): Observable<ProcessInfo[]>;
  client(endpoint: string): SupervisorClient;
  close(): Promise<void>;
  /** Subscribers per endpoint, for the metrics and the heartbeat's load. */
  stats?(): Record<string, { subscribers: number }>;
}

/** Options for {@link Triggerer}. */
export interface TriggererOptions {
  /** BullMQ/ioredis connection options (see `redisOptions(url)`). */
  connection: ConnectionOptions;
  /** Definitions by classpath: the built-ins plus the configured plugins. */
  registry: TriggerLookup;
  /** Endpoint names to endpoints (a ConnectionResolver). */
  endpoints: {
    resolve(name: string): SupervisorEndpoint;
    /** Loads a name again; true when it changed (a job configured anew). */
    refresh?(name: string): Promise<boolean>;
    /** Whether a connection of that name exists here, usable or not. */
    knows?(name: string): boolean;
    /** Every name it knows. */
    names?(): string[];
  };
  /** Triggers this process watches at once. @default 1000 */
  capacity?: number;
  /** BullMQ job lock duration in ms; renewed every half of it. @default 8000 */
  lockDurationMs?: number;
  /** BullMQ stalled-check period in ms. Crash failover takes at most lock + stalled. @default 2000 */
  stalledIntervalMs?: number;
  /**
   * Crashes a trigger may survive: past this many stalled-check recoveries its job fails (and its
   * continuation sees `failed`), so a trigger that kills every triggerer cannot loop forever. @default 3
   */
  maxStalledCount?: number;
  /**
   * A trigger watched this long by one holder has its crash count reset: a long watch survives any
   * number of crashes that are not its fault, while a record that kills its holder sooner still
   * fails after `maxStalledCount` of them. @default 30000
   */
  crashResetMs?: number;
  /** Poll interval of an endpoint when a trigger names none. @default 5000 */
  defaultIntervalMs?: number;
  /** BullMQ key prefix. @default 'bull' */
  prefix?: string;
  /** @default createLogger(): pino JSON at info, pretty in a terminal, credentials redacted */
  logger?: Logger;
  /** Metrics of this triggerer. @default new TriggererMetrics({ capacity }) */
  metrics?: TriggererMetrics;
  /** Port of /metrics /healthz /readyz; undefined or null: no server; 0: any free port. @default none */
  metricsPort?: number | null;
  /** Address of that server. @default '127.0.0.1' */
  metricsHost?: string;
  /** Heartbeat period in ms (the beat lives 3 periods). @default 5000 */
  heartbeatIntervalMs?: number;
  /** Share one poll per endpoint and interval among its triggers (false: the benchmark baseline). @default true */
  sharePollers?: boolean;
  /** The pollers (tests inject their own). @default new SharedPollers(...) */
  pollers?: PollerSource;
  /** Clock in unix ms. @default Date.now */
  now?: () => number;
  /**
   * Called once while closing a started triggerer, when the hand-off needs nothing more of this
   * process's CPU: every watcher stopped and every claim offered to the listening peers (or on its
   * way back to wait). What is left (settling the claims, closing the connections) only delays this
   * process's own exit. The CLI lowers its priority here, not before: a closing process starved of
   * CPU while it still stops and offers would hold the whole hand-off up.
   */
  onOffered?: () => void;
}

/**
 * Thrown by a processor to make BullMQ leave its job as it is (handed back, given to a peer, or its
 * lock lost). One instance: a hand-off throws it for thousands of jobs at once, and building each
 * with its stack trace cost more than anything else the closing process did per trigger.
 */
const LEAVE_JOB = new WaitingError();

/** How BullMQ's lock manager words the error it emits for each lock it could not renew. */
const LOCK_RENEWAL_ERROR = 'could not renew lock for job ';

/** A trigger routed to a peer waits this long, plus as much at random, before it is claimed again. */
const ROUTE_DELAY_MS = 250;
/** Claims taken from a peer's hand-off per round trip. */
const ADOPT_BATCH = 500;
/** Pause before looking again at a streamed offer found empty while its peer is still adding to it. */
const STREAM_POLL_MS = 5;
/**
 * How long a closing triggerer waits for its peers to take its claims before it puts the rest back
 * to wait. Its locks are renewed meanwhile; this bounds only its exit (a peer's adoption of 10,000
 * takes a few seconds on a 2-core machine).
 */
const OFFER_WAIT_MS = 10_000;
/** How long closing waits for BullMQ to close its connections before it drops them. */
const CLOSE_WAIT_MS = 5000;

/** The sentinel a watcher yields when its trigger is handed off (to a peer or back to the queue). */
const HANDED_OFF: unique symbol = Symbol('handed-off');
/** The sentinel a watcher yields when this process no longer holds its job's lock. */
const LOCK_LOST: unique symbol = Symbol('lock-lost');

/** One claim of a trigger by this process. */
interface Holding {
  /** The job id and the lock token it is held under (what a hand-off offers a peer). */
  readonly claim: { id: string; token: string | undefined };
  /** The job as claimed (a hand-off offers a copy of it with the claim). */
  readonly job: Job;
  /**
   * Stops the watcher, remembered for a watcher not set up yet; the first reason wins. LOCK_LOST:
   * the claim's lock is gone (renewal failed, or BullMQ handed the job out again). HANDED_OFF: this
   * process hands the trigger off (close).
   */
  readonly stop: Latch<typeof HANDED_OFF | typeof LOCK_LOST>;
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
async function moveToWait(holding: Holding): Promise<void> {
  await holding.job.moveToWait(holding.claim.token);
}

/** How a closing triggerer's claims went: how many peers took, how many heard, when it was announced. */
interface HandOffResult {
  taken: number;
  peers: number;
  /** performance.now() when the offer was announced, if it was. */
  announcedAt?: number;
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

/** The claims of `holdings` that have a lock token. */
function tokened(holdings: readonly Holding[]): { id: string; token: string }[] {
  return holdings.flatMap(({ claim: { id, token } }) => (token === undefined ? [] : [{ id, token }]));
}

/** What a watcher yields when a user cancelled its trigger. */
interface CancelSignal {
  readonly cancel: CancelRequest;
}

/** The triggerer: claims trigger jobs, watches them, completes each with its TriggerEvent. */
export class Triggerer {
  private worker: ClaimingWorker<unknown, TriggerEvent> | undefined;
  private readonly pollers: PollerSource;
  /** Poll interval of a trigger that names none. */
  private readonly defaultIntervalMs: number;
  /** A trigger context's clients (one function shared by every trigger). */
  private readonly clientOf: TriggerContext['client'];
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Spreads the set-up of a burst of claims over turns of the event loop. */
  private readonly pacer = new Pacer();
  /** Set on close: every claim from then on is handed back to the queue. */
  private handingOff = false;
  /** The claims being processed, by trigger id. */
  private readonly active = new Map<string, Holding>();
  private closing: Promise<void> | undefined;
  /** Whether `onOffered` was called. */
  private offeredCalled = false;
  /** Adopted claims not watched yet: each is called once its watcher is set up or it ended. */
  private readonly settingUp = new Map<string, () => void>();
  /** Hears peers' hand-off offers; started with the worker, stopped first thing on close. */
  private handOffs: HandOffs | undefined;
  /** Cancel requests from any process (pub/sub + markers); started with the worker. */
  private cancels: CancelSignals | undefined;
  /** This triggerer's metrics (served on /metrics when a metrics port is set). */
  readonly metrics: TriggererMetrics;
  /** BullMQ key prefix. */
  private readonly prefix: string;
  /** The job lock's duration (every claim and every adopted claim is held this long). */
  private readonly lockDurationMs: number;
  private observability: Observability | undefined;

  constructor(private readonly options: TriggererOptions) {
    this.logger = options.logger ?? createLogger();
    this.prefix = options.prefix ?? 'bull';
    this.lockDurationMs = options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS;
    this.now = options.now ?? Date.now;
    this.metrics =
      options.metrics ?? new TriggererMetrics({ capacity: options.capacity ?? DEFAULT_CAPACITY });
    this.metrics.watchEndpoints(() => this.watchers());
    this.metrics.watchHeld(() => this.active.size);
    this.pollers =
      options.pollers ??
      new SharedPollers({
        resolveEndpoint: (name) => options.endpoints.resolve(name),
        refreshEndpoint: options.endpoints.refresh && ((name) => options.endpoints.refresh!(name)),
        logger: this.logger,
        defaultIntervalMs: options.defaultIntervalMs ?? DEFAULT_INTERVAL_MS,
        onPoll: (endpoint, outcome, ms) => this.metrics.observePoll(endpoint, outcome, ms),
        share: options.sharePollers ?? true,
      });
    this.defaultIntervalMs = options.defaultIntervalMs ?? DEFAULT_INTERVAL_MS;
    this.clientOf = (endpoint) => this.pollers.client(endpoint);
  }

  /**
   * Triggers this process holds: claimed, whether their watchers are set up yet or not (the
   * heartbeat's load). Watchers running: `metrics.watching`.
   */
  get running(): number {
    return this.active.size;
  }

  /** Whether the hand-off connection to Redis is up (closing skips what needs Redis when not). */
  private get redisConnected(): boolean {
    return this.handOffs?.redis.status === 'ready';
  }

  /** The heartbeat id of this triggerer, once started. */
  get id(): string | undefined {
    return this.observability?.id;
  }

  /** `http://host:port` of /metrics /healthz /readyz, once started with a metrics port. */
  get metricsUrl(): string | undefined {
    return this.observability?.server?.url;
  }

  /** Watchers per endpoint with at least one. */
  private watchers(): Record<string, number> {
    const stats = this.pollers.stats?.() ?? {};
    return Object.fromEntries(
      Object.entries(stats)
        .filter(([, s]) => s.subscribers > 0)
        .map(([name, s]) => [name, s.subscribers]),
    );
  }

  /** Starts claiming triggers; resolves when the worker is connected. */
  async start(): Promise<void> {
    if (this.worker) return;
    const capacity = this.options.capacity ?? DEFAULT_CAPACITY;
    // Listen for cancels before claiming anything, so no cancel of a claimed trigger is missed.
    this.cancels = new CancelSignals(this.options.connection, this.prefix, this.logger);
    await this.cancels.start();
    this.worker = new ClaimingWorker<unknown, TriggerEvent>(
      TRIGGERS_QUEUE,
      (job, token) => this.process(job, token),
      {
        connection: this.options.connection,
        prefix: this.options.prefix,
        concurrency: capacity,
        lockDuration: this.lockDurationMs,
        stalledInterval: this.options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
        maxStalledCount: this.options.maxStalledCount ?? 3,
        // Keep results a day for waitFor/status; a flow's parent keeps its own copy of the value.
        removeOnComplete: { age: 86_400, count: 100_000 },
        removeOnFail: { age: 7 * 86_400, count: 100_000 },
      },
    );
    this.worker.on('error', (error) => {
      // BullMQ repeats each failed renewal as an error with a stack; 'lockRenewalFailed' below is
      // the same fact, handled and logged once per trigger by its watcher.
      if (error.message.startsWith(LOCK_RENEWAL_ERROR)) return;
      this.logger.error({ err: error }, 'worker error');
    });
    // A lock that could not be renewed is gone: stop watching, so the slot is free for the job when
    // BullMQ's stalled check returns it to wait (here or in another triggerer). A trigger already
    // handed back to wait has no lock to renew any more: nothing to do for it.
    this.worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) this.active.get(id)?.stop.fire(LOCK_LOST);
    });
    this.worker.on('failed', (job, error) => {
      // Also a job BullMQ failed without running the processor (a deferred failure).
      if (job) this.watchingNow(job.id ?? '');
      if (job && !(error instanceof WaitingError)) {
        this.logger.warn({ triggerId: job.id, reason: error.message }, 'trigger job failed');
      }
    });
    void this.worker.run().catch((error: unknown) => this.logger.error({ err: error }, 'worker stopped'));
    // 'completed' fires after BullMQ committed the event; firedAt is when the outcome was seen.
    this.worker.on('completed', (_job, result: TriggerEvent) =>
      this.metrics.observeEventLatency(this.now() - Date.parse(result.firedAt)),
    );
    await this.worker.waitUntilReady();
    this.handOffs = new HandOffs(
      this.options.connection,
      this.prefix,
      this.logger,
      (offer) => void this.adopt(offer),
    );
    try {
      await this.handOffs.start();
      this.observability = await startObservability({
        connection: this.options.connection,
        metrics: this.metrics,
        logger: this.logger,
        load: () => ({
          capacity,
          running: this.running,
          endpoints: this.watchers(),
          knows: this.options.endpoints.names?.() ?? [],
        }),
        workerRunning: () => this.worker?.isRunning() ?? false,
        metricsPort: this.options.metricsPort,
        ...(this.options.metricsHost !== undefined && { metricsHost: this.options.metricsHost }),
        ...(this.options.heartbeatIntervalMs !== undefined && {
          heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        }),
      });
    } catch (error) {
      await this.close();
      throw error;
    }
    this.logger.info({ capacity }, 'triggerer started');
  }

  /**
   * Hand-off: stops claiming, stops every watcher (no onCancel, no event) and gives the claims to
   * the triggerers listening for hand-offs, each claim to one of them with its lock (no trip
   * through the queue); what none of them takes goes back to wait. Then closes the pollers.
   * Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const worker = this.worker;
      // No more offers to this process, and its own offer must not count it as a peer.
      await this.handOffs?.stopListening();
      if (worker) {
        const closed = worker.close();
        this.handingOff = true;
        const startedAt = performance.now();
        // Claims not set up yet go straight to the hand-off.
        this.pacer.flush();
        // Newest claim first: BullMQ's move back to wait removes the job from the active list with
        // an LREM that scans from the newest end, so this order finds each job at once instead of
        // scanning past every older claim (quadratic: seconds of Redis time at 10,000 triggers).
        // The watchers stop in this order, a chunk at a time, and the moves are issued in it.
        const holdings = [...this.active.values()].reverse();
        for (const holding of holdings) holding.moved = settable();
        const { taken, peers, announcedAt, stoppedAt } = await this.giveBack(worker, holdings);
        // An offer some peer heard says so sooner (in `offer`); every other way ends here.
        this.offered();
        const stoppedMs = Math.round(stoppedAt - startedAt);
        // BullMQ closes its connections with QUIT, which waits for a Redis that is away; by then
        // every claim is settled, so the connections are dropped.
        if (!(await within(closed, this.redisConnected ? CLOSE_WAIT_MS : 1000))) {
          this.logger.warn('the worker did not close in time (Redis away?); dropping its connections');
          await within(worker.abandon(), 1000);
        }
        if (holdings.length > 0) {
          const ms = Math.round(performance.now() - startedAt);
          this.logger.info(
            {
              triggers: holdings.length,
              toPeers: taken,
              peers,
              stoppedMs,
              ...(announcedAt !== undefined && { offeredMs: Math.round(announcedAt - startedAt) }),
              ms,
            },
            'handed the active triggers back to the queue',
          );
        }
      }
      await this.handOffs?.close();
      await this.cancels?.close();
      await this.pollers.close();
      await this.observability?.stop();
      this.metrics.close();
      this.logger.info('triggerer stopped');
    })();
    return this.closing;
  }

  /** Calls `onOffered` the first time; a callback that throws is logged, and the close goes on. */
  private offered(): void {
    if (this.offeredCalled) return;
    this.offeredCalled = true;
    try {
      this.options.onOffered?.();
    } catch (error) {
      this.logger.warn({ err: error }, 'onOffered failed');
    }
  }

  /**
   * Extends the locks of `claims` for a whole lock duration; resolves with the ids whose lock is
   * lost (only the holder of a lock's token can extend it).
   */
  private async extendLocks(
    worker: ClaimingWorker<unknown, TriggerEvent>,
    claims: readonly { id: string; token: string }[],
  ): Promise<Set<string>> {
    if (claims.length === 0) return new Set();
    const lost = await worker.extendJobLocks(
      claims.map((c) => c.id),
      claims.map((c) => c.token),
      this.lockDurationMs,
    );
    return new Set(lost);
  }

  /**
   * Stops the watchers of `holdings` (no event, no onCancel) and offers their claims to the
   * listening peers a chunk at a time, in `holdings`' order: the first chunk is offered while the
   * rest still watch, so peers start on it at once, and each next chunk is stopped and added while
   * they take. What no peer took goes back to wait, in that order. The locks are renewed here until
   * the offer is settled. Resolves with the claims peers took, how many peers heard the offer, and
   * when the last watcher stopped.
   */
  private async giveBack(
    worker: ClaimingWorker<unknown, TriggerEvent>,
    holdings: Holding[],
  ): Promise<HandOffResult & { stoppedAt: number }> {
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
    const stopRest = async (move: boolean) => {
      settle(await stopper.stop(), move);
      return { stoppedAt: stopper.stoppedAt };
    };
    const handOffs = this.handOffs;
    // Nothing to offer (only a claim with a lock token can be): straight back to wait.
    if (!handOffs || !holdings.some((h) => h.claim.token !== undefined))
      return { taken: 0, peers: 0, ...(await stopRest(true)) };
    if (!this.redisConnected) {
      // Redis is away: nothing can be offered or moved; the locks run out and BullMQ's stalled
      // check returns the triggers to wait, as after a crash.
      this.logger.warn('Redis is not connected; the triggers return to wait by lock expiry');
      return { taken: 0, peers: 0, ...(await stopRest(false)) };
    }
    // Redis going away now: every step of the offer would wait for it forever (commands queue
    // until it is back). By this bound the locks have run out anyway; the claims are left to
    // BullMQ's stalled check, as after a crash, and the process can exit.
    const unreachable = settable<HandOffResult>();
    const timer = setTimeout(() => {
      this.logger.warn('Redis did not answer the hand-off; the triggers return to wait by lock expiry');
      void stopRest(false);
      settle(holdings, false);
      unreachable.resolve({ taken: 0, peers: 0 });
    }, this.lockDurationMs + OFFER_WAIT_MS);
    try {
      const result = await Promise.race([
        this.offer(worker, handOffs.redis, stopper, settle),
        unreachable.promise,
      ]);
      return { ...result, stoppedAt: stopper.stoppedAt };
    } finally {
      clearTimeout(timer);
    }
  }

  /** giveBack's Redis part: stop and offer, wait for the peers, withdraw and move back what is left. */
  private async offer(
    worker: ClaimingWorker<unknown, TriggerEvent>,
    redis: Redis,
    stopper: Stopper,
    settle: (list: Holding[], move: boolean) => void,
  ): Promise<HandOffResult> {
    const lockDurationMs = this.lockDurationMs;
    const listKey = handOffListKey(worker.id, this.prefix);
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
      const extended = this.extendLocks(worker, tokened(next));
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
        prefix: this.prefix,
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
      this.offered();
      await offerSettled(redis, listKey, { peers: sent.peers, maxMs: OFFER_WAIT_MS });
      const left = new Set((await withdrawClaims(redis, listKey)).map((c) => c.id));
      settle(
        offered.filter((h) => left.has(h.claim.id)),
        true,
      );
      settle(offered, false);
      return { taken: offered.length - left.size, peers: sent.peers, announcedAt };
    } catch (error) {
      this.logger.warn({ err: error }, 'hand-off to peers failed; the triggers go back to the queue');
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

  /**
   * Takes claims a closing peer offers, as many as there is room for. A streamed offer is taken
   * while its peer adds to it, until it is complete and empty (or the peer went silent for a lock
   * duration: it died while offering, and what it did not add is left to the stalled check).
   */
  private async adopt(offer: Offer): Promise<void> {
    const listKey = offer.list;
    const worker = this.worker;
    const handOffs = this.handOffs;
    if (!handOffs) return;
    const lockDurationMs = this.lockDurationMs;
    if (!worker || this.handingOff) {
      // Closing (the offer came just before this process stopped listening): take nothing, but say
      // so, or the offering peer waits for this one until its time is up.
      await doneWithOffer(handOffs.redis, listKey, lockDurationMs).catch(() => undefined);
      return;
    }
    let adopted = 0;
    const startedAt = performance.now();
    const setUp: Promise<void>[] = [];
    try {
      let lastTaken = performance.now();
      while (!this.handingOff) {
        const round: { taken?: Taken } = {};
        adopted += await worker.adopt(async (room) => {
          const taken = await takeClaims(handOffs.redis, offer, Math.min(room, ADOPT_BATCH));
          round.taken = taken;
          const claims = taken.claims;
          if (claims.length === 0) return [];
          // A claim whose lock ran out is not ours to take: BullMQ's stalled check returns it.
          const lost = await this.extendLocks(worker, claims);
          const jobs = await Promise.all(
            claims
              .filter((c) => !lost.has(c.id))
              .map(async (c) => ({ job: await offeredJob(worker, c), token: c.token })),
          );
          const found = jobs.filter((j): j is { job: Job; token: string } => j.job !== undefined);
          for (const { job } of found) {
            const watching = settable<void>();
            this.settingUp.set(job.id ?? '', () => watching.resolve());
            setUp.push(watching.promise);
          }
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
      this.logger.warn({ err: error, listKey }, "could not adopt a peer's triggers");
    }
    const takenMs = Math.round(performance.now() - startedAt);
    // The offering peer stops waiting once every listener is done; a failed note only makes it wait longer.
    await doneWithOffer(handOffs.redis, listKey, lockDurationMs).catch(() => undefined);
    if (adopted === 0) return;
    await Promise.all(setUp);
    const watchingMs = Math.round(performance.now() - startedAt);
    this.logger.info({ triggers: adopted, takenMs, watchingMs }, 'adopted triggers from a closing peer');
  }

  private async process(job: Job, token: string | undefined): Promise<TriggerEvent> {
    const triggerId = job.id ?? '';
    if (this.handingOff) {
      // BullMQ may claim one more job while closing (the blocking fetch wakes up): hand it back.
      this.watchingNow(triggerId);
      await job.moveToWait(token);
      throw LEAVE_JOB;
    }
    const previous = this.active.get(triggerId);
    if (previous) {
      // BullMQ handed out a job this process still watches: the earlier claim lost its lock (a
      // stalled check returned it to wait before the renewal failure was seen). End that one first.
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
    // Closing began while this claim waited for a superseded one to end.
    if (this.handingOff) holding.stop.fire(HANDED_OFF);
    // The earlier claim's processor untracks this job id in BullMQ's lock manager when it ends, so
    // a superseding claim renews its own lock.
    const renewal = previous && token !== undefined ? this.renewLock(job, token, holding.stop) : undefined;
    // The watch ends the claim in its own `finally`: this frame is not kept, suspended, for as long
    // as the trigger is watched (thousands at once; each suspended async frame is ~450 bytes).
    return this.watch(job, token, holding, () => {
      clearInterval(renewal);
      holding.stopped.resolve(false);
      this.watchingNow(triggerId);
      if (this.active.get(triggerId) === holding) this.active.delete(triggerId);
      finished.resolve();
    });
  }

  /** An adopted claim is set up (watching, or ended before). */
  private watchingNow(triggerId: string): void {
    const resolve = this.settingUp.get(triggerId);
    if (!resolve) return;
    this.settingUp.delete(triggerId);
    resolve();
  }

  /**
   * Ends a handed-off claim once `close` settled it (given to a peer, or moved back to wait in
   * close's order); moves it back itself when close never saw it. Never resolves.
   */
  private async handBack(holding: Holding, log: Logger): Promise<never> {
    holding.stopped.resolve(true);
    await (holding.moved ? holding.moved.promise : moveToWait(holding));
    log.debug('handed off');
    throw LEAVE_JOB;
  }

  /** Keeps a claim's lock alive by itself (see `process`); a failed renewal means the lock is lost. */
  private renewLock(job: Job, token: string, stop: Holding['stop']): NodeJS.Timeout {
    const lockDurationMs = this.lockDurationMs;
    return setInterval(() => {
      job.extendLock(token, lockDurationMs).then(
        (ok) => ok || stop.fire(LOCK_LOST),
        () => stop.fire(LOCK_LOST),
      );
    }, lockDurationMs / 2);
  }

  /**
   * Watches one claimed trigger until its outcome, hand-off, lost lock or cancel; `release` ends the
   * claim (see `process`) once everything here has settled.
   */
  private async watch(
    job: Job,
    token: string | undefined,
    holding: Holding,
    release: () => void,
  ): Promise<TriggerEvent> {
    // Every return below awaits what it returns: `release` must run after it has settled.
    try {
      const triggerId = job.id ?? '';
      // Listen before reading the marker, so a cancel published in between is heard, not lost.
      const cancelRequests = this.cancels?.listen(triggerId);
      const marked = await this.readMarker(triggerId, job.timestamp);
      // Claims from the queue come in bursts (start-up, a batch of defers): take the whole burst
      // first (each lock is renewed from its claim), then set the watchers up a batch per turn, so
      // that timers (lock renewal) keep running while thousands are set up. A peer's hand-off is not
      // waited for: its locks were extended for a whole lock duration when offered and again when
      // taken, and setting up while the next batch is on its way keeps this process busy instead of
      // waiting for Redis.
      await this.worker?.burstClaimed();
      await this.pacer.turn();
      if (this.handingOff) {
        // Closing began before this claim was set up: nothing to stop, hand it back as it is.
        this.cancels?.release(triggerId);
        this.metrics.triggerHandedOff({ watching: false });
        return await this.handBack(holding, this.logger.child({ triggerId }));
      }
      let accepted;
      try {
        accepted = await this.accept(job.data);
      } catch (error) {
        if (!(error instanceof InvalidTriggerRecord)) throw error;
        if (error.kind === 'unknown-endpoint' && !marked && (await this.routeToPeer(job, token, error))) {
          this.cancels?.release(triggerId);
          throw LEAVE_JOB;
        }
        if (marked) {
          // Cancelled before anyone could read it: the cancel is the answer (no definition, no onCancel).
          this.cancels?.release(triggerId);
          return await this.cancelledEarly(triggerId, marked, undefined);
        }
        this.logger.warn(
          {
            triggerId: boundText(triggerId, RECORD_LIMITS.maxNameChars),
            kind: error.kind,
            reason: error.message,
          },
          'bad trigger record',
        );
        const kept = refusedRecordData(job.data, error);
        if (kept !== undefined) await job.updateData(kept).catch(() => undefined);
        // Its continuation sees a `failed` event (readTriggerEvent), so it counts as one.
        this.metrics.triggerStarted();
        this.metrics.triggerFinished('failed');
        throw new UnrecoverableError(error.message);
      }
      const { record, definition, kwargs, endpoint } = accepted;
      const log = triggerLogger(this.logger, { triggerId, classpath: record.classpath, endpoint });
      const deadline = record.deadline === undefined ? undefined : Date.parse(record.deadline);
      if (marked) {
        // Cancelled while waiting, or while being handed off or claimed: onCancel runs here.
        this.cancels?.release(triggerId);
        const ctx = this.context(triggerId, deadline, log, job.timestamp);
        return await this.cancelledEarly(triggerId, marked, () =>
          this.cancelOutcome(marked, definition, kwargs, ctx, log),
        );
      }
      if (deadline !== undefined && deadline <= this.now()) {
        this.cancels?.release(triggerId);
        log.info('deadline passed before the trigger started');
        this.metrics.triggerStarted();
        this.metrics.triggerFinished('timeout');
        return this.event(triggerId, timeoutOutcome(record.deadline ?? ''));
      }
      // Adopted from a closing peer: its endpoints were polled until a moment ago, on the same beats
      // (an endpoint's phase is the same in every triggerer), so a poll started for it waits for the
      // next beat instead of calling at once: a hand-off is not a burst of first polls.
      const adopted = this.settingUp.has(triggerId);
      const ctx = this.context(triggerId, deadline, log, job.timestamp, adopted);
      const first = firstOutcome({
        run: () => definition.run(kwargs, ctx),
        ...(deadline !== undefined && {
          deadline: { at: deadline, now: this.now, deadline: record.deadline ?? '' },
        }),
        stop: holding.stop,
        cancels: cancelRequests,
        jobTimestamp: job.timestamp,
      });
      this.metrics.triggerStarted();
      this.watchingNow(triggerId);
      log.debug('watching');
      const forgive = this.forgiveLater(job, token, log);
      let outcome: TriggerOutcome | typeof HANDED_OFF | typeof LOCK_LOST | undefined;
      try {
        // The first of event, deadline, hand-off, lost lock and cancel wins; a cancel runs onCancel.
        const winner = await first;
        outcome = isCancelSignal(winner)
          ? await this.cancelOutcome(winner.cancel, definition, kwargs, ctx, log)
          : winner;
      } finally {
        clearTimeout(forgive);
        this.cancels?.release(triggerId);
        if (outcome === HANDED_OFF) this.metrics.triggerHandedOff();
        else if (outcome === LOCK_LOST) this.metrics.triggerLockLost();
        else this.metrics.triggerFinished(outcome?.status ?? 'failed');
      }
      if (outcome === LOCK_LOST) {
        // No lock, so nothing to move: BullMQ's stalled check returns the job to wait and it is
        // claimed again, here or elsewhere. WaitingError makes the worker leave the job alone.
        log.warn('lost the job lock; the trigger returns to the queue');
        throw LEAVE_JOB;
      }
      if (outcome === HANDED_OFF) return await this.handBack(holding, log);
      log.info({ status: outcome.status }, 'trigger finished');
      return this.event(triggerId, outcome);
    } finally {
      release();
    }
  }

  /**
   * `acceptTrigger`, and once more after reloading a connection this triggerer has but could not
   * use (a job file that did not exist, or was not configured, when it started).
   */
  private async accept(data: unknown): Promise<AcceptedTrigger> {
    const { registry, endpoints } = this.options;
    try {
      return acceptTrigger(data, registry, endpoints);
    } catch (error) {
      const name = error instanceof InvalidTriggerRecord ? error.endpoint : undefined;
      if (name === undefined || !endpoints.knows?.(name) || !(await endpoints.refresh?.(name))) throw error;
      return acceptTrigger(data, registry, endpoints);
    }
  }

  /**
   * A trigger for an endpoint this triggerer has no connection for, while a live peer has one: it
   * goes back to the queue (delayed a moment, so that a peer claims it) instead of failing. True
   * when it went back.
   */
  private async routeToPeer(
    job: Job,
    token: string | undefined,
    error: InvalidTriggerRecord,
  ): Promise<boolean> {
    const name = error.endpoint;
    const redis = this.handOffs?.redis;
    if (name === undefined || token === undefined || !redis || this.options.endpoints.knows?.(name))
      return false;
    const peers = await listTriggerers(redis).catch(() => []);
    if (!peers.some((peer) => peer.id !== this.id && peer.knows?.includes(name))) return false;
    this.logger.debug(
      { triggerId: job.id, endpoint: name },
      'endpoint unknown here: left for a peer that knows it',
    );
    await job.moveToDelayed(Date.now() + ROUTE_DELAY_MS + Math.floor(Math.random() * ROUTE_DELAY_MS), token);
    return true;
  }

  /**
   * For a trigger that survived crashes (BullMQ's stalled counter above 0): resets its crash count
   * once this process has watched it for `crashResetMs` without dying of it.
   */
  private forgiveLater(job: Job, token: string | undefined, log: Logger): NodeJS.Timeout | undefined {
    const redis = this.handOffs?.redis;
    const worker = this.worker;
    if (!job.stalledCounter || token === undefined || !redis || !worker) return undefined;
    return setTimeout(() => {
      forgiveCrashes(redis, worker.toKey(job.id ?? ''), token).then(
        (done) =>
          done && log.info({ crashes: job.stalledCounter }, 'watched well since its last crash: count reset'),
        (error: unknown) => log.warn({ err: error }, 'could not reset the crash count'),
      );
    }, this.options.crashResetMs ?? DEFAULT_CRASH_RESET_MS);
  }

  /** The event of a trigger's outcome, stamped now. */
  private event(triggerId: string, outcome: TriggerOutcome): TriggerEvent {
    return {
      triggerId,
      status: outcome.status,
      payload: outcome.payload,
      firedAt: new Date(this.now()).toISOString(),
    };
  }

  /** The cancel marker of a claimed job; a failed read is logged (the pub/sub message still counts). */
  private async readMarker(triggerId: string, jobTimestamp: number): Promise<CancelRequest | undefined> {
    try {
      return await this.cancels?.marker(triggerId, jobTimestamp);
    } catch (error) {
      this.logger.warn({ triggerId, err: error }, 'could not read the cancel marker');
      return undefined;
    }
  }

  /** The event of a trigger found cancelled when claimed. */
  private async cancelledEarly(
    triggerId: string,
    request: CancelRequest,
    withOnCancel: (() => Promise<TriggerOutcome>) | undefined,
  ): Promise<TriggerEvent> {
    this.metrics.triggerStarted();
    const outcome = withOnCancel ? await withOnCancel() : cancelledOutcome(request);
    this.metrics.triggerFinished('cancelled');
    this.logger.info({ triggerId }, 'trigger cancelled before it started watching');
    return this.event(triggerId, { status: 'cancelled', payload: outcome.payload });
  }

  /**
   * Runs the definition's onCancel (only ever on a user's cancel, never on hand-off) and gives the
   * `cancelled` outcome; an onCancel that fails is reported in the payload, the status stays cancelled.
   */
  private async cancelOutcome(
    request: CancelRequest,
    definition: TriggerDefinition,
    kwargs: unknown,
    ctx: TriggerContext,
    log: Logger,
  ): Promise<TriggerOutcome> {
    log.info({ reason: request.reason }, 'cancelled');
    if (!definition.onCancel) return cancelledOutcome(request);
    try {
      await definition.onCancel(kwargs, ctx);
      return cancelledOutcome(request);
    } catch (error) {
      log.warn({ err: error }, 'onCancel failed');
      return cancelledOutcome(request, error instanceof Error ? error.message : String(error));
    }
  }

  private context(
    triggerId: string,
    deadline: number | undefined,
    logger: Logger,
    enqueuedAt: number,
    adopted = false,
  ): TriggerContext {
    // A fresh trigger's first poll is now; an adopted one's endpoint was polled until a moment ago,
    // so its first poll waits for the endpoint's next beat.
    const firstPoll = adopted ? 'beat' : 'now';
    const { pollers, defaultIntervalMs } = this;
    return {
      triggerId,
      ...(deadline !== undefined && { deadline }),
      logger,
      // Only what was polled once the trigger existed is news to it: a shared poll's earlier
      // snapshot may predate what it waits for.
      processInfo: (endpoint, options) =>
        pollers.processInfo(endpoint, {
          intervalMs: defaultIntervalMs,
          ...stripUndefined(options),
          firstPoll,
          since: enqueuedAt,
        }),
      client: this.clientOf,
      now: this.now,
      enqueuedAt,
    };
  }
}

/** What {@link firstOutcome} races. */
interface Race {
  /** The definition's watcher (called once; a throw is a failed outcome). */
  run: () => Observable<TriggerOutcome>;
  deadline?: { at: number; now: () => number; deadline: string };
  stop: Holding['stop'];
  cancels: CancelListener | undefined;
  /** Cancel requests for another job with this id are not for this one. */
  jobTimestamp: number;
}

/**
 * The first of: the definition's first outcome (a watcher error, or something that is not an
 * outcome, is `failed`; completing without one too), the deadline, a stop (hand-off, lost lock) and
 * a cancel. Plain callbacks rather than an RxJS merge: one set per trigger, thousands at once.
 */
function firstOutcome(
  race: Race,
): Promise<TriggerOutcome | typeof HANDED_OFF | typeof LOCK_LOST | CancelSignal> {
  return new Promise((resolve) => {
    let done = false;
    let subscription: Subscription | undefined;
    let deadline: Subscription | undefined;
    const finish = (winner: TriggerOutcome | typeof HANDED_OFF | typeof LOCK_LOST | CancelSignal) => {
      if (done) return;
      done = true;
      race.stop.clear();
      race.cancels?.clear();
      deadline?.unsubscribe();
      subscription?.unsubscribe();
      resolve(winner);
    };
    race.stop.listen(finish);
    race.cancels?.onRequest((cancel) => {
      if (cancel.jobTimestamp === race.jobTimestamp) finish({ cancel });
    });
    if (race.deadline && !done) {
      const { at, now, deadline: text } = race.deadline;
      deadline = atTime(at, now).subscribe(() => finish(timeoutOutcome(text)));
    }
    if (done) return;
    try {
      subscription = race.run().subscribe({
        next: (value) => {
          let outcome: TriggerOutcome;
          try {
            outcome = checkOutcome(value);
          } catch (error) {
            outcome = failedOutcome(error);
          }
          finish(outcome);
        },
        error: (error: unknown) => finish(failedOutcome(error)),
        complete: () =>
          finish({ status: 'failed', payload: { error: 'trigger completed without an event' } }),
      });
    } catch (error) {
      finish(failedOutcome(error));
    }
    // It may have finished while subscribing (a synchronous outcome): then it is unsubscribed here.
    if (done) subscription?.unsubscribe();
  });
}

function stripUndefined<T extends object>(value: T | undefined): Partial<T> {
  // A loop, not entries/filter/fromEntries: this runs for every watcher set up (thousands at once).
  const kept: Partial<T> = {};
  for (const key in value) if (value[key] !== undefined) kept[key] = value[key];
  return kept;
}

function cancelledOutcome(request: CancelRequest, onCancelError?: string): TriggerOutcome {
  return {
    status: 'cancelled',
    payload: {
      ...(request.reason !== undefined && { reason: request.reason }),
      requestedAt: request.requestedAt,
      ...(onCancelError !== undefined && { onCancelError }),
    },
  };
}

function isCancelSignal(value: unknown): value is CancelSignal {
  return typeof value === 'object' && value !== null && 'cancel' in value;
}

function timeoutOutcome(deadline: string): TriggerOutcome {
  return { status: 'timeout', payload: { deadline } };
}

/** A watcher error becomes `failed` with the reason, so the continuation still runs and decides. */
function failedOutcome(error: unknown): TriggerOutcome {
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : 'Error';
  return { status: 'failed', payload: { error: message, errorType: name } };
}

/** A definition that emits something that is not an outcome fails its trigger, not the daemon. */
function checkOutcome(value: TriggerOutcome): TriggerOutcome {
  const ok =
    value !== null &&
    typeof value === 'object' &&
    (TRIGGER_STATUSES as readonly string[]).includes(value.status) &&
    value.payload !== null &&
    typeof value.payload === 'object';
  if (!ok) throw new Error('trigger emitted something that is not a {status, payload} outcome');
  return value;
}
