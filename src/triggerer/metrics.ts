/**
 * Prometheus metrics of one triggerer, in a registry of its own (never prom-client's global one), so
 * several triggerers in one process each report only themselves. The daemon calls the small API
 * below; `render()` is what `/metrics` serves.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TriggerStatus } from '../protocol/index.js';
import { LatencySeries, type LatencyPoint } from './latency-series.js';

/** Prefix of every triggerer series. */
export const METRIC_PREFIX = 'supervisor_triggerer_';

/** Whether a poll answered. */
export type PollOutcome = 'ok' | 'error';

/** What {@link TriggererMetrics.latencyHistory} returns. */
export interface LatencyHistory {
  /** Answered polls, per endpoint. */
  poll: Record<string, LatencyPoint[]>;
  /** From the state change a watcher saw to its event committed (the continuation resumes). */
  resume: LatencyPoint[];
}

/** Options for {@link TriggererMetrics}. */
export interface TriggererMetricsOptions {
  /** Triggers this process may watch at once (capacity left = capacity - running). @default 0 */
  capacity?: number;
  /** Also export prom-client's process and Node.js metrics (CPU, memory, nodejs_eventloop_lag_*). @default true */
  defaultMetrics?: boolean;
  /** Sampling period of the event-loop delay monitor in ms. @default 10 */
  eventLoopResolutionMs?: number;
}

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The triggerer's metrics and the calls that feed them. */
export class TriggererMetrics {
  /** This triggerer's own registry. */
  readonly registry = new Registry();
  private running = 0;
  private capacity: number;
  private readonly loopDelay: IntervalHistogram;
  private readonly finished: Counter<'status'>;
  private readonly handedOff: Counter;
  private readonly lockLost: Counter;
  private readonly polls: Counter<'endpoint' | 'outcome'>;
  private readonly pollDuration: Histogram<'endpoint'>;
  private readonly eventLatency: Histogram;
  /** Per-minute p50/p99 of answered polls per endpoint, over the last hour (the status page's chart). */
  private readonly pollSeries = new LatencySeries();
  /** Per-minute p50/p99 of the resume latency (event latency), over the last hour. */
  private readonly resumeSeries = new LatencySeries({ maxKeys: 1 });
  private watchers: () => Record<string, number> = () => ({});
  private held: () => number = () => this.running;

  constructor(options: TriggererMetricsOptions = {}) {
    this.capacity = options.capacity ?? 0;
    const registers = [this.registry];
    this.gauge('triggers_running', 'Triggers this process is watching now.', () => this.running);
    this.gauge(
      'triggers_held',
      'Triggers this process holds: claimed or adopted, watched or still being set up.',
      () => this.held(),
    );
    this.gauge('capacity', 'Triggers this process may watch at once.', () => this.capacity);
    this.gauge('capacity_left', 'Triggers this process may still claim (capacity minus running).', () =>
      Math.max(0, this.capacity - this.running),
    );
    this.finished = new Counter({
      name: `${METRIC_PREFIX}triggers_finished_total`,
      help: 'Triggers that ended with an event, by status.',
      labelNames: ['status'],
      registers,
    });
    this.handedOff = new Counter({
      name: `${METRIC_PREFIX}triggers_handed_off_total`,
      help: 'Triggers put back to wait for another triggerer (graceful hand-off).',
      registers,
    });
    this.lockLost = new Counter({
      name: `${METRIC_PREFIX}triggers_lock_lost_total`,
      help: 'Triggers whose job lock this process lost (event loop or Redis too slow to renew it).',
      registers,
    });
    this.polls = new Counter({
      name: `${METRIC_PREFIX}polls_total`,
      help: 'getAllProcessInfo polls by endpoint and outcome.',
      labelNames: ['endpoint', 'outcome'],
      registers,
    });
    this.pollDuration = new Histogram({
      name: `${METRIC_PREFIX}poll_duration_seconds`,
      help: 'Duration of getAllProcessInfo polls, by endpoint.',
      labelNames: ['endpoint'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.eventLatency = new Histogram({
      name: `${METRIC_PREFIX}event_latency_seconds`,
      help: 'From the state change seen by a watcher to its event committed in Redis.',
      buckets: SECONDS_BUCKETS,
      registers,
    });
    const watchers: Gauge<'endpoint'> = new Gauge({
      name: `${METRIC_PREFIX}endpoint_watchers`,
      help: 'Watchers subscribed to each endpoint poll.',
      labelNames: ['endpoint'],
      registers,
      collect: () => {
        watchers.reset();
        for (const [endpoint, count] of Object.entries(this.watchers())) watchers.set({ endpoint }, count);
      },
    });
    const resolution = options.eventLoopResolutionMs ?? 10;
    this.loopDelay = monitorEventLoopDelay({ resolution });
    this.loopDelay.enable();
    this.gauge(
      'eventloop_delay_p99_seconds',
      'p99 event-loop delay since the previous scrape: a blocked loop delays every trigger.',
      () => {
        // An empty window (no sample yet) reads as 0 rather than the histogram's huge initial min.
        const p99 = this.loopDelay.count > 0 ? this.loopDelay.percentile(99) / 1e9 : 0;
        this.loopDelay.reset();
        return p99;
      },
    );
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: resolution });
    }
  }

  /** A gauge whose value is read at each scrape. */
  private gauge(name: string, help: string, value: () => number): void {
    const gauge: Gauge = new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      registers: [this.registry],
      collect: () => gauge.set(value()),
    });
  }

  /** Triggers whose watcher is running now (the `triggers_running` gauge). */
  get watching(): number {
    return this.running;
  }

  /** The Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** A trigger was claimed and its watcher started. */
  triggerStarted(): void {
    this.running += 1;
  }

  /**
   * A trigger ended with an event of `status`; `latencyMs` is the time from the state change its
   * watcher saw to the event committed.
   */
  triggerFinished(status: TriggerStatus, latencyMs?: number): void {
    this.running = Math.max(0, this.running - 1);
    this.finished.inc({ status });
    if (latencyMs !== undefined) this.observeEventLatency(latencyMs);
  }

  /** One event committed `latencyMs` after the state change its watcher saw (when known only then). */
  observeEventLatency(latencyMs: number): void {
    this.eventLatency.observe(Math.max(0, latencyMs) / 1000);
    this.resumeSeries.observe('resume', latencyMs);
  }

  /** A trigger went back to wait without an event (hand-off); it no longer counts as running. */
  triggerHandedOff({ watching = true } = {}): void {
    if (watching) this.running = Math.max(0, this.running - 1);
    this.handedOff.inc();
  }

  /** A trigger stopped because its job lock was lost; BullMQ returns it to wait. */
  triggerLockLost(): void {
    this.running = Math.max(0, this.running - 1);
    this.lockLost.inc();
  }

  /** Sets the capacity (triggers watched at once). */
  setCapacity(capacity: number): void {
    if (!Number.isFinite(capacity) || capacity < 0) {
      throw new RangeError(`capacity must be a non-negative number, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** One finished poll of `endpoint`. */
  observePoll(endpoint: string, outcome: PollOutcome, durationMs: number): void {
    this.polls.inc({ endpoint, outcome });
    this.pollDuration.observe({ endpoint }, Math.max(0, durationMs) / 1000);
    // A refused or unreachable endpoint answers in no time or a timeout: not the latency to chart.
    if (outcome === 'ok') this.pollSeries.observe(endpoint, durationMs);
  }

  /** The last hour, a point per minute: poll latency per endpoint and resume latency. */
  latencyHistory(): LatencyHistory {
    return { poll: this.pollSeries.history(), resume: this.resumeSeries.history().resume ?? [] };
  }

  /** Reads the triggers held at each scrape (the daemon's claims). */
  watchHeld(source: () => number): void {
    this.held = source;
  }

  /** Reads watchers per endpoint at each scrape (e.g. from SharedPollers.stats()). */
  watchEndpoints(source: () => Record<string, number>): void {
    this.watchers = source;
  }

  /** The Prometheus text exposition of every series. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops the event-loop monitor. The registry still renders. */
  close(): void {
    this.loopDelay.disable();
  }
}
