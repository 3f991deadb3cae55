/**
 * What the status page reads of the triggerer that serves it: a narrow, read-only seam, so the page
 * (src/web/) never holds the daemon and the daemon never imports the page. The daemon builds one;
 * `statusPage` in the options turns it into the routes of its HTTP server.
 */
import type { ConnectionOptions } from 'bullmq';
import type { LatencyHistory } from './metrics.js';
import type { EndpointRow } from './program-tables.js';

/** Counters of the shared poll of one endpoint (see SharedPollers.stats). */
export interface PollCounters {
  polls?: number;
  failures?: number;
  /** Watchers subscribed now. */
  subscribers: number;
}

/** The serving triggerer, as the status page sees it. */
export interface TriggererView {
  /** Its heartbeat id (undefined until started). */
  id(): string | undefined;
  /** The fleet's Redis: the page reads triggers, jobs and heartbeats there. */
  readonly connection: ConnectionOptions;
  /** The fleet's BullMQ key prefix. */
  readonly prefix: string;
  /** Triggers it watches at once. */
  readonly capacity: number;
  /** Triggers it holds now. */
  running(): number;
  /** Names of the endpoints it has a connection for. */
  endpointNames(): string[];
  /** Its shared polls' counters, per endpoint. */
  pollCounters(): Record<string, PollCounters>;
  /** What it last saw of each endpoint it polled (its watchers' polls and the page's). */
  endpoints(): EndpointRow[];
  /**
   * Polls `endpoint` once, outside the watchers' polls, and records what it saw (the page does this
   * for endpoints no watcher polls while someone looks at it). Never throws: a failure is recorded.
   */
  pollEndpoint(endpoint: string): Promise<void>;
  /** Poll latency per endpoint and resume latency, a point per minute over the last hour. */
  latencyHistory(): LatencyHistory;
}
