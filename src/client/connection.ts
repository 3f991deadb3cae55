/**
 * How the SDK reaches Redis: BullMQ connection options, or a URL (`redis://`, `rediss://`, `unix://`,
 * `redis+sentinel://`, `redis+cluster://`: see docs/operations.md).
 * Every SDK call goes through a {@link RedisCall}, the one place where a Redis that is away or refuses
 * the credentials becomes a `RedisUnreachable` / `RedisAuthFailed` naming the URL without its
 * password, instead of a call that retries forever or a client library printing its errors.
 */
import type { ConnectionOptions, RedisOptions } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import {
  parseRedisUrl,
  redactRedisUrl,
  redisConnection,
  type RedisClient,
  type RedisTarget,
} from '../redis/connection.js';
import { prefixFor } from '../redis/prefix.js';
import { within } from '../util/within.js';
import { RedisAuthFailed, RedisConnectionError, RedisUnreachable } from './errors.js';

/** A Redis URL or BullMQ/ioredis connection options. */
export type RedisConnection = ConnectionOptions | string;

/**
 * BullMQ connection options for a URL or options: for a `redis+cluster://` URL an ioredis `Cluster`,
 * which BullMQ never closes (close it with `quit()` once the Worker or Queue using it is closed).
 */
export function toConnectionOptions(connection: RedisConnection): ConnectionOptions {
  return typeof connection === 'string' ? redisConnection(connection) : connection;
}

/**
 * The key prefix to give BullMQ next to `connection`: `prefix`, else `bull` (`{bull}` on a Redis
 * Cluster). Throws `InvalidPrefix` for a prefix without a hash tag on a cluster.
 */
export function keyPrefix(connection: RedisConnection, prefix?: string): string {
  return prefixFor(typeof connection === 'string' ? parseRedisUrl(connection) : connection, prefix);
}

/** How long a connection attempt may take before it counts as unreachable (ioredis: 10 s). */
const CONNECT_TIMEOUT_MS = 5000;
/** How long one command may go unanswered (a Redis that accepts connections but is stopped). */
const COMMAND_TIMEOUT_MS = 10_000;
/** How long closing a client may wait for Redis before its connection is dropped. */
const CLOSE_WAIT_MS = 1000;

/** System error codes that mean nothing answers at the address (or the connection broke). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOENT',
  'EACCES',
  'ENOTSOCK',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** Messages of ioredis and BullMQ for a command that could not be sent or was not answered. */
/**
 * Messages of a connection lost or never made. "Invalid version" is BullMQ's: a client that
 * (re)connects reads the server's version first, and without an answer has none to check.
 */
const LOST =
  /^(Connection is closed|Reached the max retries per request limit|Command timed out|Stream isn't writeable|Invalid version|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready|All sentinels are unreachable)/;
const REFUSED = /^(WRONGPASS|NOAUTH|NOPERM)\b/;

/** What a call closes at its end: a BullMQ Queue, FlowProducer, QueueEvents, or an ioredis client. */
interface Closable {
  on(event: 'error', listener: (error: Error) => void): unknown;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  disconnect(): unknown;
}

/** Options for a {@link RedisCall}. */
export interface RedisCallOptions {
  /**
   * Reconnect after a lost connection (a wait that outlives a Redis restart) instead of failing the
   * call at the first loss. The first connection is never retried either way. @default false
   */
  reconnect?: boolean;
}

/**
 * One SDK call's use of Redis. Its clients get options that never retry the first connection and
 * bound every command, their connection errors are kept as the cause of a failure (not printed), and
 * `failure` turns a connection failure into a typed error. A client instance the caller passed keeps
 * its own retry policy; only its errors are translated.
 */
export class RedisCall {
  /** The Redis as it may be shown: its URL without the password. */
  readonly url: string;
  private readonly given: ConnectionOptions;
  /** The nodes and credentials of a cluster named by a URL: each client of the call is a new Cluster. */
  private readonly cluster: Extract<RedisTarget, { kind: 'cluster' }> | undefined;
  private readonly password: string | undefined;
  private readonly reconnect: boolean;
  private reachedOnce = false;
  private closing = false;
  /** A failure for want of Redis was reported: closing then drops the connections at once. */
  private failed = false;
  private lastError: Error | undefined;
  private readonly clients: Closable[] = [];

  constructor(connection: RedisConnection, { reconnect = false }: RedisCallOptions = {}) {
    const target = typeof connection === 'string' ? parseRedisUrl(connection) : undefined;
    this.cluster = target?.kind === 'cluster' ? target : undefined;
    this.given = target === undefined ? (connection as ConnectionOptions) : target.options;
    this.url = typeof connection === 'string' ? redactRedisUrl(connection) : describe(this.given);
    this.password = (optionsOf(this.given) as { password?: string } | undefined)?.password;
    this.reconnect = reconnect;
  }

  /** Options for a client that sends commands (Queue, FlowProducer, a plain ioredis client). */
  get options(): ConnectionOptions {
    if (isClient(this.given)) return this.given;
    const commands = { commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1 };
    if (this.cluster) return this.own(this.clusterClient(commands));
    return { ...this.bounded(), ...commands };
  }

  /** Options for a client that blocks (QueueEvents): BullMQ needs `maxRetriesPerRequest: null` there. */
  get blockingOptions(): ConnectionOptions {
    if (isClient(this.given)) return this.given;
    return this.cluster ? this.own(this.clusterClient({ maxRetriesPerRequest: null })) : this.bounded();
  }

  /** The key prefix on this Redis (see {@link keyPrefix}). */
  prefix(prefix?: string): string {
    return prefixFor(this.cluster ?? this.given, prefix);
  }

  /** Marks the connections as made once: from now on a lost one is retried (with `reconnect`). */
  reached(): void {
    this.reachedOnce = true;
  }

  /** Registers a client: its errors are kept as the cause, and `close` closes it. */
  own<T extends Closable>(client: T): T {
    client.on('error', (error: Error) => (this.lastError = error));
    this.clients.push(client);
    return client;
  }

  /** A new ioredis client of this call (a duplicate when the caller passed a client). */
  redis(): RedisClient {
    if (this.cluster) return this.options as Cluster;
    const client = isClient(this.given)
      ? (this.given as { duplicate(): RedisClient }).duplicate()
      : new Redis(this.options as RedisOptions);
    return this.own(client);
  }

  /** A connection failure as RedisUnreachable or RedisAuthFailed; any other error unchanged. */
  failure(error: unknown): unknown {
    const translated = this.translate(error);
    if (translated instanceof RedisConnectionError) this.failed = true;
    return translated;
  }

  private translate(error: unknown): unknown {
    if (!(error instanceof Error) || error instanceof RedisConnectionError) return error;
    if (REFUSED.test(error.message)) return new RedisAuthFailed(this.url, this.reason(error));
    const code = (error as NodeJS.ErrnoException).code;
    const network = code !== undefined && NETWORK_CODES.has(code);
    if (!network && !LOST.test(error.message) && error.name !== 'MaxRetriesPerRequestError') return error;
    // "Connection is closed" says only that; the client's own error event said why.
    const cause = network ? error : (this.lastError ?? error);
    if (REFUSED.test(cause.message)) return new RedisAuthFailed(this.url, this.reason(cause));
    return new RedisUnreachable(this.url, this.reason(cause), (cause as NodeJS.ErrnoException).code);
  }

  /** The last connection error a client of this call reported, translated; undefined when none. */
  lastFailure(): RedisConnectionError | undefined {
    if (!this.lastError) return undefined;
    const translated = this.failure(this.lastError);
    if (translated instanceof RedisConnectionError) return translated;
    this.failed = true;
    return new RedisUnreachable(this.url, this.reason(this.lastError));
  }

  /**
   * Closes every client of this call: gracefully while Redis answers (at most CLOSE_WAIT_MS each),
   * else the connections are dropped at once, so that no client keeps reconnecting after the call.
   */
  async close(): Promise<void> {
    this.closing = true;
    const drop = (client: Closable) =>
      within(
        Promise.resolve().then(() => client.disconnect()),
        CLOSE_WAIT_MS,
      );
    await Promise.all(
      this.clients.map(async (client) => {
        if (this.failed) return drop(client);
        const closing = client.close?.() ?? client.quit?.() ?? Promise.resolve();
        if (!(await within(closing, CLOSE_WAIT_MS))) await drop(client);
      }),
    );
  }

  /** Runs `body` with a call on `connection`: failures translated, every client closed at the end. */
  static async run<T>(
    connection: RedisConnection,
    body: (call: RedisCall) => Promise<T>,
    options?: RedisCallOptions,
  ): Promise<T> {
    const call = new RedisCall(connection, options);
    try {
      return await body(call);
    } catch (error) {
      throw call.failure(error);
    } finally {
      await call.close();
    }
  }

  /** A cluster client: its first connection is never retried, its nodes' connections bounded. */
  private clusterClient(nodes: Partial<RedisOptions>): Cluster {
    const { nodes: startup, options } = this.cluster!;
    return new Cluster(startup, {
      lazyConnect: true,
      clusterRetryStrategy: (times: number) =>
        this.reconnect && this.reachedOnce && !this.closing ? Math.min(times * 100, 1000) : null,
      redisOptions: { connectTimeout: CONNECT_TIMEOUT_MS, ...options, ...nodes },
    });
  }

  private bounded(): RedisOptions {
    const retry = (times: number) =>
      this.reconnect && this.reachedOnce && !this.closing ? Math.min(times * 100, 1000) : null;
    // ioredis asks the sentinels of a group again without end unless told otherwise.
    return {
      connectTimeout: CONNECT_TIMEOUT_MS,
      ...(this.given as RedisOptions),
      retryStrategy: retry,
      sentinelRetryStrategy: retry,
    };
  }

  /** One line, bounded, never the password (some messages quote what was sent). */
  private reason(error: Error): string {
    let text = (error.message.split('\n')[0] ?? '').slice(0, 300) || error.name;
    if (this.password) text = text.split(this.password).join('***');
    return text;
  }
}

function isClient(connection: ConnectionOptions): boolean {
  return typeof (connection as { duplicate?: unknown }).duplicate === 'function';
}

function optionsOf(connection: ConnectionOptions): RedisOptions | undefined {
  if (connection instanceof Cluster) return connection.options.redisOptions as RedisOptions | undefined;
  return isClient(connection)
    ? ((connection as Redis).options as RedisOptions)
    : (connection as RedisOptions);
}

/** `redis://[user@]host:port[/db]`, `rediss://…` or `unix:///path` of connection options: never a password. */
function describe(connection: ConnectionOptions): string {
  const options = optionsOf(connection) ?? {};
  if (connection instanceof Cluster) {
    const user = options.username ? `${encodeURIComponent(options.username)}@` : '';
    // Its startup nodes, as given: `nodes()` lists only those connected so far.
    const nodes = (connection as unknown as { startupNodes: { host?: string; port?: number }[] }).startupNodes
      .map((node) => `${node.host ?? '127.0.0.1'}:${node.port ?? 6379}`)
      .join(',');
    return `redis+cluster://${user}${nodes}`;
  }
  if (Array.isArray(options.sentinels)) {
    const user = options.username ? `${encodeURIComponent(options.username)}@` : '';
    const hosts = (options.sentinels as { host?: string; port?: number }[])
      .map((node) => `${node.host ?? '127.0.0.1'}:${node.port ?? 26379}`)
      .join(',');
    return `redis+sentinel://${user}${hosts}/${encodeURIComponent(String(options.name ?? ''))}`;
  }
  if (options.path) return `unix://${options.path}`;
  const user = options.username ? `${encodeURIComponent(options.username)}@` : '';
  const db = options.db ? `/${options.db}` : '';
  return `${options.tls ? 'rediss' : 'redis'}://${user}${options.host ?? '127.0.0.1'}:${options.port ?? 6379}${db}`;
}
