/**
 * The triggerer daemon: a BullMQ worker on the triggers queue (a ClaimingWorker, which claims a
 * burst several jobs at a time and renews each lock from its claim) whose processor turns each
 * claimed record into an RxJS watcher and completes the job with the watcher's first outcome, as a
 * TriggerEvent (trigger-run.ts). The processor only awaits that first value, so one process holds
 * `capacity` triggers at once without blocking. The job lock is the lease: on close a triggerer
 * gives its claims, locks and all, to its running peers (give-back.ts), which adopt them
 * (adopt.ts); a crashed triggerer's triggers go back to wait through BullMQ's stalled check and
 * another triggerer claims them. This file keeps the daemon's start, close and processor.
 */
import { WaitingError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { TRIGGERS_QUEUE, type TriggerEvent } from '../protocol/index.js';
import { adoptOffer } from './adopt.js';
import { CancelSignals } from './cancel.js';
import { ClaimingWorker } from '../queue/claims.js';
import { giveBack } from './give-back.js';
import { HandOffs } from './handoff.js';
import { Holdings, LEAVE_JOB } from './holdings.js';
import { createLogger, type LogLevel } from './logger.js';
import { TriggerLogStore } from './trigger-logs.js';
import { TriggererMetrics } from './metrics.js';
import { startObservability, type Observability } from './observability.js';
import { triggererSettings, type TriggererOptions, type TriggererSettings } from './options.js';
import { HANDED_OFF, LOCK_LOST } from './outcomes.js';
import { Pacer } from '../util/pacer.js';
import { SharedPollers } from './pollers.js';
import { ProgramTables } from './program-tables.js';
import type { TriggererView } from './view.js';
import { settable } from '../util/settable.js';
import { runTrigger, type PollerSource, type RunContext } from './trigger-run.js';
import { within } from '../util/within.js';

export type { TriggererOptions } from './options.js';
export type { PollerSource } from './trigger-run.js';

/** How BullMQ's lock manager words the error it emits for each lock it could not renew. */
const LOCK_RENEWAL_ERROR = 'could not renew lock for job ';
/** How long closing waits for BullMQ to close its connections before it drops them. */
const CLOSE_WAIT_MS = 5000;

/** The triggerer: claims trigger jobs, watches them, completes each with its TriggerEvent. */
export class Triggerer {
  private worker: ClaimingWorker<unknown, TriggerEvent> | undefined;
  private readonly pollers: PollerSource;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Spreads the set-up of a burst of claims over turns of the event loop. */
  private readonly pacer = new Pacer();
  /** Set on close: every claim from then on is handed back to the queue. */
  private handingOff = false;
  /** The claims being processed. */
  private readonly holdings: Holdings;
  private closing: Promise<void> | undefined;
  /** Whether `onOffered` was called. */
  private offeredCalled = false;
  /** Hears peers' hand-off offers; started with the worker, stopped first thing on close. */
  private handOffs: HandOffs | undefined;
  /** Cancel requests from any process (pub/sub + markers); started with the worker. */
  private cancels: CancelSignals | undefined;
  /** This triggerer's metrics (served on /metrics when a metrics port is set). */
  readonly metrics: TriggererMetrics;
  private observability: Observability | undefined;
  /** Each trigger's own log lines, kept in Redis. */
  private readonly triggerLogs: TriggerLogStore;
  /** What the run of each trigger needs from this triggerer. */
  private readonly runContext: RunContext;
  /** The options with their defaults. */
  private readonly settings: TriggererSettings;
  /** What the polls of this process last saw of each endpoint (the status page shows it). */
  private readonly programTables = new ProgramTables();

  constructor(options: TriggererOptions) {
    const settings = triggererSettings(options);
    this.settings = settings;
    this.logger = options.logger ?? createLogger();
    this.triggerLogs = new TriggerLogStore(
      () => this.handOffs?.redis,
      settings.prefix,
      (error) => this.logger.debug({ err: error }, 'could not keep trigger log lines'),
    );
    const keptLines = this.triggerLogs.logger(this.logger.level as LogLevel);
    this.now = settings.now;
    this.holdings = new Holdings(settings.lockDurationMs);
    this.metrics = options.metrics ?? new TriggererMetrics({ capacity: settings.capacity });
    this.metrics.watchEndpoints(() => this.watchers());
    this.metrics.watchHeld(() => this.holdings.size);
    const { defaultIntervalMs } = settings;
    const pollers =
      options.pollers ??
      new SharedPollers({
        resolveEndpoint: (name) => options.endpoints.resolve(name),
        refreshEndpoint: options.endpoints.refresh && ((name) => options.endpoints.refresh!(name)),
        logger: this.logger,
        defaultIntervalMs,
        onPoll: (endpoint, outcome, ms, sight) => {
          this.metrics.observePoll(endpoint, outcome, ms);
          this.programTables.observe(endpoint, sight, ms);
        },
        share: settings.sharePollers,
      });
    this.pollers = pollers;
    this.runContext = {
      registry: options.registry,
      endpoints: options.endpoints,
      pollers,
      logger: this.logger,
      metrics: this.metrics,
      holdings: this.holdings,
      now: this.now,
      defaultIntervalMs,
      crashResetMs: settings.crashResetMs,
      clientOf: (endpoint) => pollers.client(endpoint),
      triggerLog: keptLines,
      triggerFinished: (triggerId) => this.triggerLogs.finished(triggerId),
      cancels: () => this.cancels,
      redis: () => this.handOffs?.redis,
      jobKey: (triggerId) => this.worker?.toKey(triggerId) ?? '',
      selfId: () => this.id,
      prefix: settings.prefix,
      closing: () => this.handingOff,
      // Claims from the queue come in bursts (start-up, a batch of defers): take the whole burst
      // first (each lock is renewed from its claim), then set the watchers up a batch per turn, so
      // that timers (lock renewal) keep running while thousands are set up. A peer's hand-off is
      // not waited for: its locks were extended for a whole lock duration when offered and again
      // when taken, and setting up while the next batch is on its way keeps this process busy
      // instead of waiting for Redis.
      setUpTurn: async () => {
        await this.worker?.burstClaimed();
        await this.pacer.turn();
      },
    };
  }

  /**
   * Triggers this process holds: claimed, whether their watchers are set up yet or not (the
   * heartbeat's load). Watchers running: `metrics.watching`.
   */
  get running(): number {
    return this.holdings.size;
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
    const { capacity, lockDurationMs, connection, prefix } = this.settings;
    // Listen for cancels before claiming anything, so no cancel of a claimed trigger is missed.
    this.cancels = new CancelSignals(connection, prefix, this.logger);
    await this.cancels.start();
    this.worker = new ClaimingWorker<unknown, TriggerEvent>(
      TRIGGERS_QUEUE,
      (job, token) => this.process(job, token),
      {
        connection,
        prefix,
        concurrency: capacity,
        lockDuration: lockDurationMs,
        stalledInterval: this.settings.stalledIntervalMs,
        maxStalledCount: this.settings.maxStalledCount,
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
      for (const id of ids) this.holdings.get(id)?.stop.fire(LOCK_LOST);
    });
    this.worker.on('failed', (job, error) => {
      // Also a job BullMQ failed without running the processor (a deferred failure).
      if (job) this.holdings.watchingNow(job.id ?? '');
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
    this.handOffs = new HandOffs(connection, prefix, this.logger, (offer) => void this.adopt(offer));
    try {
      await this.handOffs.start();
      this.observability = await startObservability({
        connection,
        metrics: this.metrics,
        logger: this.logger,
        load: () => ({
          capacity,
          running: this.running,
          endpoints: this.watchers(),
          knows: this.settings.endpoints.names?.() ?? [],
          owners: this.holdings.tokenOwners(),
        }),
        workerRunning: () => this.worker?.isRunning() ?? false,
        metricsPort: this.settings.metricsPort,
        metricsHost: this.settings.metricsHost,
        ...(this.settings.metricsPort != null &&
          this.settings.statusPage && { routes: this.settings.statusPage(this.view()) }),
        heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
        prefix,
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
        const holdings = this.holdings.newestFirst();
        for (const holding of holdings) holding.moved = settable();
        const { taken, peers, announcedAt, stoppedAt } = await giveBack(
          {
            worker,
            redis: this.handOffs?.redis,
            prefix: this.settings.prefix,
            lockDurationMs: this.settings.lockDurationMs,
            logger: this.logger,
            offered: () => this.offered(),
          },
          holdings,
        );
        // An offer some peer heard says so sooner (in giveBack); every other way ends here.
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
      // Bounded: with Redis away the write would wait for it without end.
      await within(this.triggerLogs.close(), CLOSE_WAIT_MS);
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
      this.settings.onOffered?.();
    } catch (error) {
      this.logger.warn({ err: error }, 'onOffered failed');
    }
  }

  /** The read-only view of this triggerer that its status page reads. */
  private view(): TriggererView {
    const { connection, prefix, capacity, endpoints } = this.settings;
    const tables = this.programTables;
    return {
      id: () => this.id,
      connection,
      prefix,
      capacity,
      running: () => this.running,
      endpointNames: () => endpoints.names?.() ?? [],
      pollCounters: () => this.pollers.stats?.() ?? {},
      endpoints: () => tables.rows(),
      pollEndpoint: async (endpoint) => {
        const started = performance.now();
        try {
          const infos = await this.pollers.client(endpoint).getAllProcessInfo();
          tables.observe(endpoint, { infos }, performance.now() - started);
        } catch (error) {
          tables.observe(endpoint, { error }, performance.now() - started);
        }
      },
      latencyHistory: () => this.metrics.latencyHistory(),
    };
  }

  /** Takes what a closing peer offers (see adopt.ts). */
  private adopt(offer: Parameters<typeof adoptOffer>[1]): Promise<void> {
    const redis = this.handOffs?.redis;
    if (!redis) return Promise.resolve();
    return adoptOffer(
      {
        worker: this.worker,
        redis,
        holdings: this.holdings,
        lockDurationMs: this.settings.lockDurationMs,
        logger: this.logger,
        closing: () => this.handingOff,
      },
      offer,
    );
  }

  /** BullMQ's processor: holds the claim and runs its trigger (trigger-run.ts). */
  private async process(job: Job, token: string | undefined): Promise<TriggerEvent> {
    if (this.handingOff) {
      // BullMQ may claim one more job while closing (the blocking fetch wakes up): hand it back.
      this.holdings.watchingNow(job.id ?? '');
      await job.moveToWait(token);
      throw LEAVE_JOB;
    }
    const { holding, release } = await this.holdings.hold(job, token);
    // Closing began while this claim waited for a superseded one to end.
    if (this.handingOff) holding.stop.fire(HANDED_OFF);
    // The run ends the claim in its own `finally`: this frame is not kept, suspended, for as long
    // as the trigger is watched (thousands at once; each suspended async frame is ~450 bytes).
    return runTrigger(this.runContext, job, token, holding, release);
  }
}
