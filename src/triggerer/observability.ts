/**
 * What a running triggerer shows of itself beyond its logs: its heartbeat in Redis and the health
 * and metrics server. The daemon builds one at start and stops it on close; this keeps the daemon's
 * own code about claiming and watching triggers.
 */
import type { ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import { connect, type RedisClient } from '../redis/connection.js';
import { startHeartbeat, type Heartbeat, type TriggererLoad } from '../redis/heartbeat.js';
import { startHealthServer, type HealthServer, type HealthStatus, type HttpRoutes } from './http.js';
import type { TriggererMetrics } from './metrics.js';
import { within } from '../util/within.js';

/** Options for {@link startObservability}. */
export interface ObservabilityOptions {
  /** The triggerer's Redis (the heartbeat uses its own connection to it). */
  connection: ConnectionOptions;
  metrics: TriggererMetrics;
  logger: Logger;
  /** Read at each beat. */
  load: () => TriggererLoad;
  /** Whether the worker is claiming triggers (readiness). */
  workerRunning: () => boolean;
  /** Port of the health and metrics server; undefined or null: no server; 0: any free port. */
  metricsPort?: number | null;
  /** @default '127.0.0.1' */
  metricsHost?: string;
  /** More routes of that server (the status page); closed with it. @default none */
  routes?: HttpRoutes;
  /** @default 5000 */
  heartbeatIntervalMs?: number;
  /** The fleet's BullMQ key prefix (the heartbeat's keys are built from it). @default 'bull' */
  prefix?: string;
  /** @default 3 × heartbeatIntervalMs */
  heartbeatTtlMs?: number;
  /** Heartbeat id. @default `<hostname>-<pid>-<random>` */
  id?: string;
}

/** A started heartbeat and (when asked) health server. */
export interface Observability {
  /** The heartbeat id of this triggerer. */
  readonly id: string;
  /** The health server, when one was asked for. */
  readonly server: HealthServer | undefined;
  /** What `/healthz` and `/readyz` report. */
  health(): HealthStatus;
  /** Removes the heartbeat, stops the server, closes the heartbeat connection. */
  stop(): Promise<void>;
}

/** Connects the heartbeat, writes the first beat and starts the health server. */
export async function startObservability(options: ObservabilityOptions): Promise<Observability> {
  const { logger } = options;
  const redis = heartbeatConnection(options.connection);
  // ioredis reports a lost connection as 'error' events while it reconnects; readiness shows it.
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'heartbeat connection error'));
  let stopping = false;
  let failing = false;
  const health = (): HealthStatus => {
    const reason =
      redis.status !== 'ready'
        ? 'redis not connected'
        : !options.workerRunning()
          ? 'worker not running'
          : stopping
            ? 'shutting down'
            : undefined;
    return {
      live: true,
      ready: reason === undefined,
      detail: { redis: redis.status, ...(reason && { reason }) },
    };
  };
  let heartbeat: Heartbeat | undefined;
  let server: HealthServer | undefined;
  try {
    heartbeat = await startHeartbeat({
      redis,
      load: options.load,
      ...(options.id !== undefined && { id: options.id }),
      ...(options.prefix !== undefined && { prefix: options.prefix }),
      ...(options.heartbeatIntervalMs !== undefined && { intervalMs: options.heartbeatIntervalMs }),
      ...(options.heartbeatTtlMs !== undefined && { ttlMs: options.heartbeatTtlMs }),
      onError: (error) => {
        if (!failing) logger.warn({ err: error }, 'heartbeat failed; retrying at the next beat');
        failing = true;
      },
    });
    if (options.metricsPort !== undefined && options.metricsPort !== null) {
      server = await startHealthServer({
        port: options.metricsPort,
        ...(options.metricsHost !== undefined && { host: options.metricsHost }),
        metrics: options.metrics,
        health,
        ...(options.routes && { routes: options.routes }),
      });
      logger.info(
        { url: server.url },
        options.routes
          ? 'serving the status page, /metrics, /healthz, /readyz'
          : 'serving /metrics, /healthz, /readyz',
      );
    }
  } catch (error) {
    if (!server) await options.routes?.close?.();
    await heartbeat?.stop().catch(() => undefined);
    redis.disconnect();
    throw error;
  }
  const beating = heartbeat;
  return {
    id: beating.id,
    server,
    health,
    async stop() {
      stopping = true;
      // A Redis that is away must not hold the shutdown: the beat then expires on its own.
      const removed = within(
        beating
          .stop()
          .catch((error: unknown) => logger.warn({ err: error }, 'could not remove the heartbeat')),
        1000,
      );
      if (!(await removed)) logger.warn('could not remove the heartbeat in time; it expires on its own');
      await server?.close();
      redis.disconnect();
    },
  };
}

/** A connection of the heartbeat's own, of the connection's kind. */
function heartbeatConnection(connection: ConnectionOptions): RedisClient {
  // Fail a beat fast when Redis is away rather than queue it: the next beat retries anyway.
  return connect(connection, { maxRetriesPerRequest: 1 });
}
