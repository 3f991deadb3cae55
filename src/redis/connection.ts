/**
 * Where Redis is: `redis://`, `rediss://` (TLS) or `unix://` URLs with an optional ACL user and
 * password, turned into ioredis options for BullMQ; and how a CLI in another shell finds the
 * triggerer's embedded redis (a discovery file in the state directory).
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions, RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { within } from '../util/within.js';

/** A Redis URL that cannot be used. The message never contains the password. */
export class InvalidRedisUrl extends Error {
  override name = 'InvalidRedisUrl';
}

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

/** ioredis options for a URL: `redis://[user:pass@]host[:port][/db]`, `rediss://...`, `unix:///path`. */
export function redisOptions(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidRedisUrl(
      'Redis URL is not a URL (expected redis://host:port, rediss:// or unix:///path)',
    );
  }
  const username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  const auth = { ...(username && { username }), ...(password && { password }) };
  if (parsed.protocol === 'unix:') {
    if (!parsed.pathname) throw new InvalidRedisUrl('unix:// Redis URL needs a socket path');
    return { path: parsed.pathname, ...auth };
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InvalidRedisUrl(
      `unsupported Redis URL scheme ${parsed.protocol} (expected redis:, rediss:, unix:)`,
    );
  }
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db)) {
    throw new InvalidRedisUrl(`Redis URL database '${parsed.pathname.slice(1)}' is not a number`);
  }
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(db !== undefined && { db }),
    ...auth,
    ...(parsed.protocol === 'rediss:' && { tls: { servername: parsed.hostname } }),
  };
}

/** The URL with its password replaced by `***`, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.protocol === 'unix:' ? `unix://${parsed.pathname}` : parsed.toString();
  } catch {
    return '(invalid Redis URL)';
  }
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
 * A new ioredis connection from BullMQ connection options (or a duplicate of a given client). With
 * `errors`, the 'error' events ioredis emits while it reconnects are logged at debug (readiness and
 * the callers' own failures report an outage) instead of as ioredis's "Unhandled error event".
 */
export function connect(
  connection: ConnectionOptions,
  extra: Partial<RedisOptions> = {},
  errors?: { logger: Logger; what: string },
): Redis {
  const redis =
    connection instanceof Redis
      ? connection.duplicate(extra)
      : new Redis({ ...(connection as RedisOptions), maxRetriesPerRequest: null, ...extra });
  if (errors)
    redis.on('error', (error: Error) =>
      errors.logger.debug({ err: error }, `${errors.what} connection error`),
    );
  return redis;
}

/**
 * Closes a connection: QUIT, waited for at most `waitMs` (with `maxRetriesPerRequest: null` a Redis
 * that is away never answers and would hold a shutdown forever), then the socket is dropped.
 */
export async function closeConnection(redis: Redis, waitMs = 1000): Promise<void> {
  await within(redis.quit(), waitMs);
  redis.disconnect();
}
