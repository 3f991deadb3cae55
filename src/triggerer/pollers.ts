/**
 * Shared pollers: every watcher of one supervisord endpoint (at one interval) shares one
 * `getAllProcessInfo` poll, started by the first subscriber and stopped when the last one leaves.
 */
import { defer, NEVER, Observable, share, Subject, Subscription, tap } from 'rxjs';
import type { Logger } from 'pino';
import { pushedChanges } from '../push/feed.js';
import type { PushedChange } from '../push/lines.js';
import { SupervisorClient } from '../supervisor/client.js';
import type { SupervisorEndpoint } from '../supervisor/endpoint.js';
import { AuthenticationError, EndpointUnreachable } from '../supervisor/errors.js';
import type { ProcessInfo } from '../supervisor/states.js';
import { exponentialBackoff } from './operators/backoff.js';
import { BudgetedDelivery, checkBudget } from './operators/fail-after-budget.js';
import { pollEvery, type PollResult } from './operators/poll-every.js';
import { TriggererError } from './errors.js';

/** Options for {@link SharedPollers}. */
export interface SharedPollersOptions {
  /** Turns an endpoint name from a record into where to reach it; throws for an unknown name. */
  resolveEndpoint: (name: string) => SupervisorEndpoint;
  logger?: Logger;
  /** Poll interval when a subscriber names none. @default 5000 */
  defaultIntervalMs?: number;
  /** How long an endpoint may fail continuously before its subscribers error. @default 60000 */
  defaultUnreachableBudgetMs?: number;
  /** Builds the client of an endpoint (tests wrap it to count calls). @default new SupervisorClient */
  createClient?: (endpoint: SupervisorEndpoint) => SupervisorClient;
  /**
   * Loads a named endpoint again (its job's credentials may have changed); resolves true when it
   * changed. Called when the endpoint refuses the credentials or cannot be reached, at most once a
   * second (every 5 s while unreachable) until a call succeeds again, and the call is retried at
   * once with what it loaded.
   * @default none: endpoints never change
   */
  refreshEndpoint?: (name: string) => Promise<boolean>;
  /**
   * Called after every finished poll (the daemon feeds its metrics and the status page's program
   * tables from it) with the process table it returned or the error it failed with.
   */
  onPoll?: (
    endpoint: string,
    outcome: 'ok' | 'error',
    durationMs: number,
    sight: { infos: ProcessInfo[] } | { error: unknown },
  ) => void;
  /**
   * Share one poll among the subscribers of an endpoint and interval. False gives every subscriber
   * its own poll: the "not shared" baseline of the scale benchmark, never a production setting.
   * @default true
   */
  share?: boolean;
}

/** Options of one {@link SharedPollers.processInfo} subscription. */
export interface ProcessInfoOptions {
  /** Poll interval; subscribers with the same endpoint and interval share one poll. */
  intervalMs?: number;
  /** Continuous failure this subscriber tolerates before its stream errors with the last error. */
  unreachableBudgetMs?: number;
  /**
   * When a poll this subscription starts makes its first call. `now` (default): at once, and a
   * poll waiting for its first beat is woken. `beat`: on the endpoint's next beat (for a trigger
   * adopted from a peer: the endpoint was polled until a moment ago, on the same beats).
   */
  firstPoll?: 'now' | 'beat';
  /**
   * Unix ms: polls that started before it are not delivered to this subscriber. The daemon passes
   * when the trigger was created, so that triggers deferred before a poll started share its call.
   * @default when it subscribes (the first snapshot is of the next call)
   */
  since?: number;
}

/** Counters of one endpoint, summed over its intervals (the daemon exports them as metrics). */
export interface EndpointPollStats {
  /** getAllProcessInfo calls finished (successful or not). */
  polls: number;
  /** Calls that failed. */
  failures: number;
  /** Current subscribers. */
  subscribers: number;
  /** Duration of the last finished call in ms. */
  lastPollMs: number;
  /** When the last call finished (unix ms), 0 before the first. */
  lastPollAt: number;
  /** Polls currently running (one per interval in use); 0 once every subscriber has left. */
  activePolls: number;
  /** State changes its push listener reported (push mode), each waking its polls. */
  pushed: number;
}

/** The pollers were closed; their streams end with this error. */
export class PollersClosedError extends TriggererError {
  override name = 'PollersClosedError';
  constructor() {
    super('the shared pollers were closed');
  }
}

/** One shared getAllProcessInfo poll per endpoint and interval, with per-subscriber budgets. */
export class SharedPollers {
  private readonly clients = new Map<string, SupervisorClient>();
  /** When each endpoint was last refreshed (unix ms), until a call succeeds. */
  private readonly refreshedAt = new Map<string, number>();
  private readonly polls = new Map<string, FanOut>();
  /** The push feed of each push-mode endpoint, shared by its polls while any runs. */
  private readonly feeds = new Map<string, Observable<PushedChange>>();
  private readonly counters = new Map<string, EndpointPollStats>();
  /** The polls running now (anyone listening), ended by close(). */
  private readonly running = new Set<FanOut>();
  private isClosed = false;
  private readonly defaultIntervalMs: number;
  private readonly defaultBudgetMs: number;

  constructor(private readonly options: SharedPollersOptions) {
    this.defaultIntervalMs = options.defaultIntervalMs ?? 5000;
    this.defaultBudgetMs = options.defaultUnreachableBudgetMs ?? 60_000;
  }

  /**
   * The process table of `endpoint`, once per poll. A subscriber sees only polls that started at or
   * after its `since` (by default when it subscribed): a snapshot taken before may predate what its
   * trigger waits for, so it is not news to it. Its first snapshot is therefore the endpoint poll's
   * next call: at once when nobody polls the endpoint at this interval yet, else on the poll's next
   * beat (within one interval). Errors when the endpoint fails longer than the budget, at once on
   * bad credentials. An endpoint in push mode is polled at its reconciliation interval (or the
   * subscriber's, when longer) and besides at once whenever its listener reports a change.
   */
  processInfo(endpoint: string, options: ProcessInfoOptions = {}): Observable<ProcessInfo[]> {
    const requestedMs = options.intervalMs ?? this.defaultIntervalMs;
    const budgetMs = options.unreachableBudgetMs ?? this.defaultBudgetMs;
    checkBudget(budgetMs);
    const firstPoll = options.firstPoll;
    // Written out (one per watcher, thousands at once): the subscriber gets a delivery of its own in
    // the endpoint's fan-out, instead of a budget operator and a subscription to a shared Subject.
    return new Observable<ProcessInfo[]>((subscriber) => {
      if (this.isClosed) throw new PollersClosedError();
      // an unknown endpoint name errors now, not after the budget
      const push = this.client(endpoint).endpoint.push;
      const intervalMs = push === undefined ? requestedMs : Math.max(requestedMs, push.reconcileMs);
      const stats = this.statsOf(endpoint);
      stats.subscribers += 1;
      const poll = this.sharedPoll(endpoint, intervalMs);
      const delivery = new BudgetedDelivery(subscriber, budgetMs, isFatal);
      // Read by the run this subscription may start.
      poll.firstCall = firstPoll === 'beat' ? 'beat' : 'now';
      poll.add(delivery, options.since);
      // Started now if it was not running; woken if it runs but still waits for its first beat.
      if (firstPoll !== 'beat' && !poll.polled) poll.wake.next();
      return () => {
        delivery.stop();
        poll.remove(delivery);
        stats.subscribers -= 1;
      };
    });
  }

  /** The cached client of a named endpoint, for actions. Throws if the name cannot be resolved. */
  client(endpoint: string): SupervisorClient {
    let client = this.clients.get(endpoint);
    if (client === undefined) {
      const resolved = this.options.resolveEndpoint(endpoint);
      client = this.options.createClient?.(resolved) ?? new SupervisorClient(resolved);
      this.clients.set(endpoint, client);
    }
    return client;
  }

  /**
   * The process table of `endpoint` from one call; when the call is refused (401) or cannot reach
   * the endpoint, the endpoint is refreshed and, if it changed, called again with the new client.
   */
  private async callProcessInfo(endpoint: string): Promise<ProcessInfo[]> {
    let infos: ProcessInfo[];
    try {
      infos = await this.client(endpoint).getAllProcessInfo();
    } catch (error) {
      if (!(await this.refreshed(endpoint, error))) throw error;
      infos = await this.client(endpoint).getAllProcessInfo();
    }
    // A failure after this success is news: it may refresh at once.
    this.refreshedAt.delete(endpoint);
    return infos;
  }

  /** Refreshes `endpoint` after `error` if allowed now; true when its client was replaced. */
  private async refreshed(endpoint: string, error: unknown): Promise<boolean> {
    const refresh = this.options.refreshEndpoint;
    const refused = error instanceof AuthenticationError;
    if (!refresh || this.isClosed || !(refused || error instanceof EndpointUnreachable)) return false;
    const since = Date.now() - (this.refreshedAt.get(endpoint) ?? 0);
    if (since < (refused ? REFRESH_REFUSED_MS : REFRESH_UNREACHABLE_MS)) return false;
    this.refreshedAt.set(endpoint, Date.now());
    if (!(await refresh(endpoint).catch(() => false))) return false;
    const stale = this.clients.get(endpoint);
    this.clients.delete(endpoint);
    await stale?.close();
    this.options.logger?.info({ endpoint }, 'endpoint reloaded (its connection changed)');
    return true;
  }

  /** Counters per endpoint name. */
  stats(): Record<string, EndpointPollStats> {
    return Object.fromEntries([...this.counters].map(([name, stats]) => [name, { ...stats }]));
  }

  /** Ends every stream with {@link PollersClosedError} and closes the clients. */
  async close(): Promise<void> {
    this.isClosed = true;
    const running = [...this.running];
    this.running.clear();
    for (const poll of running) poll.close(new PollersClosedError());
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(clients.map((client) => client.close()));
  }

  private statsOf(endpoint: string): EndpointPollStats {
    let stats = this.counters.get(endpoint);
    if (stats === undefined) {
      stats = {
        polls: 0,
        failures: 0,
        subscribers: 0,
        lastPollMs: 0,
        lastPollAt: 0,
        activePolls: 0,
        pushed: 0,
      };
      this.counters.set(endpoint, stats);
    }
    return stats;
  }

  /**
   * The pushed changes of `endpoint`, counted, shared by its polls: the stream is open while any of
   * them runs. Nothing for an endpoint that does not push.
   */
  private feedOf(endpoint: string): Observable<PushedChange> {
    if (this.client(endpoint).endpoint.push === undefined) return NEVER;
    let feed = this.feeds.get(endpoint);
    if (feed === undefined) {
      const stats = this.statsOf(endpoint);
      const logger = this.options.logger?.child({ endpoint });
      feed = defer(() => {
        const push = this.client(endpoint).endpoint.push;
        if (push === undefined) return NEVER;
        return pushedChanges({ client: () => this.client(endpoint), listener: push.listener, logger });
      }).pipe(
        tap((change) => {
          stats.pushed += 1;
          logger?.debug({ change }, 'pushed state change');
        }),
        share(),
      );
      this.feeds.set(endpoint, feed);
    }
    return feed;
  }

  /** The poll of `endpoint` at `intervalMs`: cached and shared, or a new one when `share` is false. */
  private sharedPoll(endpoint: string, intervalMs: number): FanOut {
    if (this.options.share === false) {
      const phaseMs = pollPhase(endpoint, intervalMs);
      // Each subscriber's own poll keeps the endpoint's phase from its own start, as polls that
      // are not shared would: on the endpoint's beats, every one would call at the same moment.
      return this.newPoll(endpoint, intervalMs, (Date.now() + phaseMs) % intervalMs || intervalMs);
    }
    const key = `${endpoint}\u0000${intervalMs}`;
    let poll = this.polls.get(key);
    if (poll === undefined) {
      poll = this.newPoll(endpoint, intervalMs, pollPhase(endpoint, intervalMs));
      this.polls.set(key, poll);
    }
    return poll;
  }

  private newPoll(endpoint: string, intervalMs: number, phaseMs: number): FanOut {
    const stats = this.statsOf(endpoint);
    const logger = this.options.logger?.child({ endpoint, intervalMs });
    let failing = false;
    const poll: FanOut = new FanOut(
      // Deferred: the first call of each run of the poll is decided by the subscription starting it.
      defer(() =>
        pollEvery(intervalMs, () => (poll.callStarted(), this.callProcessInfo(endpoint)), {
          backoff: exponentialBackoff({ initialMs: Math.min(100, intervalMs), maxMs: intervalMs }),
          phaseMs,
          firstCall: poll.firstCall,
          wake: poll.wake,
          nudge: this.feedOf(endpoint),
        }),
      ).pipe(
        tap((result) => {
          stats.polls += 1;
          stats.lastPollMs = result.durationMs;
          stats.lastPollAt = Date.now();
          this.options.onPoll?.(
            endpoint,
            result.ok ? 'ok' : 'error',
            result.durationMs,
            result.ok ? { infos: result.value } : { error: result.error },
          );
          if (result.ok) {
            if (failing) logger?.info('endpoint poll recovered');
            failing = false;
            return;
          }
          stats.failures += 1;
          if (!failing) logger?.warn({ err: result.error }, 'endpoint poll failing');
          failing = true;
        }),
      ),
      (started) => {
        stats.activePolls += started ? 1 : -1;
        if (started) this.running.add(poll);
        else this.running.delete(poll);
      },
    );
    return poll;
  }
}

/**
 * One endpoint's poll at one interval and its subscribers: the poll runs while anyone listens (the
 * first delivery starts it, the last one leaving stops it) and each result goes to every delivery
 * that joined before the call producing it started; a delivery that joins a running poll waits for
 * its next call. What `share` does, without a subscriber chain per watcher: a delivery is one object
 * in a Set, so adding one costs no subscription and removing one no search through an array
 * (10,000 watchers of one endpoint leaving at once was quadratic).
 */
class FanOut {
  /** The first call of the poll's next run (set by the subscription that may start it). */
  firstCall: 'now' | 'beat' = 'now';
  /** Makes a run waiting for its first beat call at once. */
  readonly wake = new Subject<void>();
  /** This run has made a call. */
  polled = false;
  /** Each delivery, with the number of the first call whose result it takes. */
  private readonly deliveries = new Map<BudgetedDelivery<ProcessInfo[]>, number>();
  /** Calls started so far (over every run): the number of the latest. */
  private calls = 0;
  /** When the latest call started (unix ms). */
  private callStartedAt = 0;
  /** The poll's run, while anyone listens. */
  private run: Subscription | undefined;

  constructor(
    private readonly source: Observable<PollResult<ProcessInfo[]>>,
    private readonly onRunning: (started: boolean) => void,
  ) {}

  /**
   * Adds a delivery that takes the results of calls started at or after `since` (unix ms): the one
   * in flight (or made last) if it started since, else from the next. Without `since`, from the next.
   */
  add(delivery: BudgetedDelivery<ProcessInfo[]>, since?: number): void {
    const current = since !== undefined && this.calls > 0 && this.callStartedAt >= since;
    this.deliveries.set(delivery, current ? this.calls : this.calls + 1);
    if (this.run === undefined) this.start();
  }

  /** The poll is making a call (results come back in order, one call at a time). */
  callStarted(): void {
    this.calls += 1;
    this.callStartedAt = Date.now();
  }

  remove(delivery: BudgetedDelivery<ProcessInfo[]>): void {
    if (this.deliveries.delete(delivery) && this.deliveries.size === 0) this.stop();
  }

  /** Stops the poll and ends every delivery with `error`. */
  close(error: unknown): void {
    this.end((delivery) => delivery.fail(error));
  }

  private start(): void {
    const run = new Subscription();
    this.run = run;
    this.onRunning(true);
    run.add(
      this.source.subscribe({
        next: (result) => this.deliver(result),
        // pollEvery reports failures as results and never ends; if its stream does, so do the deliveries.
        error: (error: unknown) => this.close(error),
        complete: () => this.end((delivery) => delivery.end()),
      }),
    );
  }

  private stop(): void {
    const run = this.run;
    if (run === undefined) return;
    this.run = undefined;
    this.polled = false;
    this.deliveries.clear();
    this.onRunning(false);
    run.unsubscribe();
  }

  private deliver(result: PollResult<ProcessInfo[]>): void {
    this.polled = true;
    // A delivery removed during the loop is skipped; one added during it is reached, and takes
    // this result only if its call started since.
    for (const [delivery, first] of this.deliveries) if (this.calls >= first) delivery.result(result);
  }

  /** Stops the poll and ends every delivery with `each`. */
  private end(each: (delivery: BudgetedDelivery<ProcessInfo[]>) => void): void {
    const deliveries = [...this.deliveries.keys()];
    this.stop();
    for (const delivery of deliveries) each(delivery);
  }
}

const isFatal = (error: unknown) => error instanceof AuthenticationError;

/** Least time between two refreshes of an endpoint that refused the credentials. */
const REFRESH_REFUSED_MS = 1000;
/** Least time between two refreshes of an endpoint that cannot be reached. */
const REFRESH_UNREACHABLE_MS = 5000;

/**
 * Where an endpoint's beats fall within its interval, from a hash of its name: the polls of a
 * triggerer that claimed many triggers at once (start-up) would otherwise all come in step, every
 * interval, and every supervisord and every continuation worker would get its work in one burst.
 * Spread, the load is even and the latency of a state change is the same (it falls anywhere in the
 * interval either way). The beats are on the clock (see `pollEvery`), so every triggerer polls an
 * endpoint on the same beats: a trigger adopted from a closing peer waits for the next one.
 */
export function pollPhase(endpoint: string, intervalMs: number): number {
  // FNV-1a, 32 bits, then murmur3's finaliser so that names differing in one character spread.
  let hash = 0x811c9dc5;
  for (let i = 0; i < endpoint.length; i++) hash = Math.imul(hash ^ endpoint.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  hash = (hash ^ (hash >>> 16)) >>> 0;
  return Math.max(1, Math.ceil((hash / 2 ** 32) * intervalMs));
}
