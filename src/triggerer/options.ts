/**
 * The triggerer's options as the TypeScript API takes them, their defaults, and the one function
 * that applies them (`triggererSettings`): no other module writes a default of its own.
 */
import type { ConnectionOptions } from 'bullmq';
import { prefixFor } from '../redis/prefix.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../redis/heartbeat.js';

export { DEFAULT_HEARTBEAT_INTERVAL_MS };
import type { Logger } from 'pino';
import type { SupervisorEndpoint } from '../supervisor/endpoint.js';
import type { TriggerLookup } from './intake.js';
import type { HttpRoutes } from './http.js';
import type { TriggererMetrics } from './metrics.js';
import type { PollerSource } from './trigger-run.js';
import type { TriggererView } from './view.js';

/** Default number of triggers one process watches at once (Airflow's default, too). */
export const DEFAULT_CAPACITY = 1000;
/**
 * Default BullMQ lock duration: a crashed triggerer's triggers are adopted at most
 * `lockDuration + stalledInterval` after the crash (6 s + 1.5 s = 7.5 s with the defaults), then
 * claimed again (1-2 s for 10,000 on two cores): 10 s or less in all. Locks are renewed every
 * 1.5-3 s, so an event loop or Redis stalled for up to ~3 s loses no lock.
 */
export const DEFAULT_LOCK_DURATION_MS = 6000;
/** Default period of BullMQ's stalled-job check (see DEFAULT_LOCK_DURATION_MS). */
export const DEFAULT_STALLED_INTERVAL_MS = 1500;
/** Default time a trigger is watched by one holder before its crash count is reset. */
export const DEFAULT_CRASH_RESET_MS = 30_000;
/** Default poll interval of an endpoint when a trigger names none. */
export const DEFAULT_INTERVAL_MS = 5000;

/** Default crashes a trigger may survive in a row before its job fails. */
export const DEFAULT_MAX_STALLED_COUNT = 3;
/**
 * Default port of /metrics /healthz /readyz of the CLI's triggerer (the OpenTelemetry Prometheus
 * exporter's); the library serves none unless asked.
 */
export const DEFAULT_METRICS_PORT = 9464;
/** Default address of that server: loopback only. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

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
  /** BullMQ job lock duration in ms; renewed every quarter to half of it. @default 6000 */
  lockDurationMs?: number;
  /** BullMQ stalled-check period in ms. Crash failover takes at most lock + stalled. @default 1500 */
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
  /** BullMQ key prefix; on a Redis Cluster it must hold a hash tag. @default 'bull' ('{bull}' on a cluster) */
  prefix?: string;
  /** @default createLogger(): pino JSON at info, pretty in a terminal, credentials redacted */
  logger?: Logger;
  /** Metrics of this triggerer. @default new TriggererMetrics({ capacity }) */
  metrics?: TriggererMetrics;
  /** Port of /metrics /healthz /readyz; undefined or null: no server; 0: any free port. @default none */
  metricsPort?: number | null;
  /** Address of that server. @default '127.0.0.1' */
  metricsHost?: string;
  /**
   * Builds more routes of the metrics server from a view of this triggerer: the status page
   * (`statusPage()` of src/web/). Served only when a metrics port is set. @default none
   */
  statusPage?: (view: TriggererView) => HttpRoutes;
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

/** The options with every default applied. */
export type TriggererSettings = Required<
  Pick<
    TriggererOptions,
    | 'capacity'
    | 'lockDurationMs'
    | 'stalledIntervalMs'
    | 'maxStalledCount'
    | 'crashResetMs'
    | 'defaultIntervalMs'
    | 'prefix'
    | 'metricsHost'
    | 'heartbeatIntervalMs'
    | 'sharePollers'
    | 'now'
  >
> &
  TriggererOptions;

/** Applies the defaults of {@link TriggererOptions}. */
export function triggererSettings(options: TriggererOptions): TriggererSettings {
  return {
    ...options,
    capacity: options.capacity ?? DEFAULT_CAPACITY,
    lockDurationMs: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
    stalledIntervalMs: options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
    maxStalledCount: options.maxStalledCount ?? DEFAULT_MAX_STALLED_COUNT,
    crashResetMs: options.crashResetMs ?? DEFAULT_CRASH_RESET_MS,
    defaultIntervalMs: options.defaultIntervalMs ?? DEFAULT_INTERVAL_MS,
    prefix: prefixFor(options.connection, options.prefix),
    metricsHost: options.metricsHost ?? DEFAULT_METRICS_HOST,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    sharePollers: options.sharePollers ?? true,
    now: options.now ?? Date.now,
  };
}
