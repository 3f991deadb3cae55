/**
 * Connections to Redis, made in one place: a URL (see url.ts) becomes BullMQ connection options for
 * a server or a Sentinel group, or an ioredis `Cluster` for a Redis Cluster (BullMQ takes a cluster
 * only as a client); `connect` makes every further client of the same kind. Also how a CLI in
 * another shell finds the triggerer's embedded redis (a discovery file in the state directory).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions, RedisOptions } from 'bullmq';
import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import type { Logger } from 'pino';
import { within } from '../util/within.js';
import { InvalidRedisUrl, parseRedisUrl } from './url.js';

export { InvalidRedisUrl, parseRedisUrl, redactRedisUrl, type RedisTarget } from './url.js';

/** A client of either kind: their commands, MULTI, pipelines, scripts and pub/sub are the same. */
export type RedisClient = Redis | Cluster;

/** No REDIS_URL and no running embedded redis to discover. */
export class RedisNotFound extends Error {
  override name = 'RedisNotFound';
}

/** File in the state directory that names the embedded redis. */
export const DISCOVERY_FILE = 'redis.json';

/** What the discovery file holds. */
export interface RedisDiscovery {
  url: string;
  pid: number;
  /** The redis-server's start time (see `startTicks`), so a reused pid is never taken for it. */
  startTicks?: number;
}

/**
 * ioredis options for the URL of a server (`redis://[user:pass@]host[:port][/db]`, `rediss://...`,
 * `unix:///path`) or of a Sentinel group (`redis+sentinel://...`). A cluster URL is refused: a
 * cluster needs a client of its own kind, see {@link redisConnection}.
 */
export function redisOptions(url: string): RedisOptions {
  const target = parseRedisUrl(url);
  if (target.kind === 'cluster') {
    throw new InvalidRedisUrl('a redis+cluster:// URL needs a cluster client: use redisConnection(url)');
  }
  return target.options;
}

/**
 * BullMQ connection options for any Redis URL: options for a server or a Sentinel group, a new
 * ioredis `Cluster` (not connected until first used) for a cluster. BullMQ shares a client it is
 * given and never closes it: close it with {@link releaseConnection} once what used it is closed.
 */
export function redisConnection(url: string): ConnectionOptions {
  const target = parseRedisUrl(url);
  if (target.kind !== 'cluster') return target.options;
  // BullMQ's workers block: their clients must retry a command without end, as for a server.
  return new Cluster(target.nodes, {
    lazyConnect: true,
    redisOptions: { ...target.options, maxRetriesPerRequest: null },
  });
}

/** Closes a connection made by {@link redisConnection} when it is a client; options need nothing. */
export async function releaseConnection(connection: ConnectionOptions, waitMs = 1000): Promise<void> {
  if (connection instanceof Redis || connection instanceof Cluster) await closeConnection(connection, waitMs);
}

/**
 * The Redis URL in the first line of a file (`--redis-url-file`), so that a URL holding a password
 * need not be on a command line. Errors name the file, never its content.
 */
export async function readRedisUrlFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidRedisUrl(
      `cannot read the Redis URL file ${path}: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  const url = (text.split('\n', 1)[0] ?? '').trim();
  if (!url) throw new InvalidRedisUrl(`the Redis URL file ${path} has an empty first line`);
  return url;
}

/**
 * The triggerer's state directory: `$SUPERVISOR_TRIGGERER_STATE_DIR`, else
 * `$XDG_STATE_HOME/supervisor-triggerer`, else `~/.local/state/supervisor-triggerer`.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SUPERVISOR_TRIGGERER_STATE_DIR) return env.SUPERVISOR_TRIGGERER_STATE_DIR;
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'supervisor-triggerer');
}

/** Reads the discovery file; undefined when there is none or it is unreadable. */
export async function readDiscovery(stateDir: string): Promise<RedisDiscovery | undefined> {
  try {
    const data = JSON.parse(
      await readFile(join(stateDir, DISCOVERY_FILE), 'utf8'),
    ) as Partial<RedisDiscovery>;
    if (typeof data.url !== 'string' || typeof data.pid !== 'number') return undefined;
    return {
      url: data.url,
      pid: data.pid,
      ...(typeof data.startTicks === 'number' && { startTicks: data.startTicks }),
    };
  } catch {
    return undefined;
  }
}

/** True when a process with that pid exists (signal 0 probes without sending). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The Redis URL a client should use: the explicit one, else `REDIS_URL`, else the embedded redis a
 * running triggerer advertised in the state directory.
 */
export async function findRedisUrl({
  url,
  env = process.env,
  stateDir = defaultStateDir(env),
}: { url?: string; env?: NodeJS.ProcessEnv; stateDir?: string } = {}): Promise<string> {
  if (url) return url;
  if (env.REDIS_URL) return env.REDIS_URL;
  const found = await readDiscovery(stateDir);
  if (found && isAlive(found.pid)) return found.url;
  throw new RedisNotFound(
    `no Redis: set REDIS_URL, pass --redis-url, or start 'supervisor-triggerer triggerer' (state dir ${stateDir})`,
  );
}

/**
 * Options for a live view's client (`status --watch`, the status page): a read fails within seconds
 * while Redis is away (the view says so and tries again at its next tick), and the client keeps
 * reconnecting meanwhile.
 */
export const VIEW_CLIENT_OPTIONS = {
  maxRetriesPerRequest: 1,
  commandTimeout: 5000,
  retryStrategy: (times: number) => Math.min(times * 200, 2000),
} satisfies Partial<RedisOptions>;

/**
 * A new client from BullMQ connection options, of their kind: a duplicate of a given client (a
 * cluster's too), else a server or sentinel client. `extra` are ioredis options; on a cluster those
 * of each node's connection go to its `redisOptions`. With `errors`, the 'error' events ioredis emits
 * while it reconnects are logged at debug (readiness and the callers' own failures report an outage)
 * instead of as ioredis's "Unhandled error event".
 */
export function connect(
  connection: ConnectionOptions,
  extra: Partial<RedisOptions> = {},
  errors?: { logger: Logger; what: string },
): RedisClient {
  const redis =
    connection instanceof Cluster
      ? // A duplicate connects at once, as a new server client does (the template waits for its first use).
        connection.duplicate([], clusterOptions(connection, { lazyConnect: false, ...extra }))
      : connection instanceof Redis
        ? connection.duplicate(extra)
        : new Redis({
            ...(connection as RedisOptions),
            maxRetriesPerRequest: null,
            ...sentinelRetry(extra),
            ...extra,
          });
  if (errors)
    redis.on('error', (error: Error) =>
      errors.logger.debug({ err: error }, `${errors.what} connection error`),
    );
  return redis;
}

/**
 * A retry policy given for the connection holds for reaching the sentinels too: ioredis asks them
 * again without end by default, and a disconnect does not stop it.
 */
function sentinelRetry(extra: Partial<RedisOptions>): Partial<RedisOptions> {
  return extra.retryStrategy === undefined ? {} : { sentinelRetryStrategy: extra.retryStrategy };
}

/** Options of a cluster's whole client; every other ioredis option is one of each node's connection. */
const CLUSTER_LEVEL = new Set([
  'shardedSubscribers',
  'lazyConnect',
  'enableAutoPipelining',
  'enableOfflineQueue',
  'enableReadyCheck',
]);

/** `extra` split between a cluster's own options and its nodes' (`retryStrategy` is the cluster's). */
function clusterOptions(cluster: Cluster, extra: Partial<RedisOptions>): ClusterOptions {
  const own: Record<string, unknown> = {};
  const nodes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extra)) {
    if (key === 'retryStrategy') own.clusterRetryStrategy = value;
    else (CLUSTER_LEVEL.has(key) ? own : nodes)[key] = value;
  }
  return { ...own, redisOptions: { ...cluster.options.redisOptions, ...nodes } };
}

/**
 * Closes a connection: QUIT, waited for at most `waitMs` (with `maxRetriesPerRequest: null` a Redis
 * that is away never answers and would hold a shutdown forever), then the socket is dropped.
 */
export async function closeConnection(redis: RedisClient, waitMs = 1000): Promise<void> {
  await within(redis.quit(), waitMs);
  redis.disconnect();
}
