/**
 * Heartbeats: each triggerer keeps a Redis hash `<prefix>:st:triggerers:<id>` (who it is and its
 * load) alive with a TTL of a few intervals, and a sorted set `<prefix>:st:triggerers` of ids by last
 * beat so `listTriggerers` needs no SCAN. A graceful close deletes the hash; a crashed triggerer's
 * hash expires on its own, and the next listing prunes its id from the set. `<prefix>` is the BullMQ
 * prefix of the fleet (protocol/keys.ts).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './connection.js';
import { protocolKeys } from '../protocol/index.js';
import { prefixFor } from './prefix.js';

/** Default beat period (Airflow's triggerer beats every 5 s, too). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000;

/** What a triggerer reports about its load at each beat. */
export interface TriggererLoad {
  capacity: number;
  running: number;
  /** Watchers per endpoint name. */
  endpoints: Record<string, number>;
  /** Names of the endpoints it has a connection for (its peers route triggers for them to it). */
  knows?: string[];
  /** Owners of the lock tokens of the triggers it holds (`status` finds a trigger's holder by them). */
  owners?: string[];
}

/** A live triggerer as `listTriggerers` reads it. */
export interface TriggererInfo extends TriggererLoad {
  id: string;
  hostname: string;
  pid: number;
  /** When it started (ISO 8601). */
  started: string;
  /** Its last beat (ISO 8601). */
  beat: string;
  version: string;
  intervalMs: number;
}

/** Options for {@link startHeartbeat}. */
export interface HeartbeatOptions {
  /** An ioredis connection the caller owns (the heartbeat never closes it). */
  redis: RedisClient;
  /** Read at every beat. */
  load: () => TriggererLoad;
  /** @default `<hostname>-<pid>-<random>` */
  id?: string;
  /** @default 5000 */
  intervalMs?: number;
  /** Lifetime of a beat; the triggerer counts as gone this long after its last one. @default 3 × interval */
  ttlMs?: number;
  /** The fleet's BullMQ key prefix. @default 'bull' ('{bull}' on a cluster) */
  prefix?: string;
  /** Which fleet beats: the triggerers or the job step workers. @default 'triggerers' */
  fleet?: Fleet;
  /** @default this package's version */
  version?: string;
  /** A beat that failed (Redis down); the next one retries. @default ignored */
  onError?: (error: Error) => void;
}

/** A beating heartbeat. */
export interface Heartbeat {
  readonly id: string;
  /** Writes one beat now. */
  beat(): Promise<void>;
  /** Stops beating; with `remove` (the default) deletes the beat so peers see the triggerer gone at once. */
  stop(options?: { remove?: boolean }): Promise<void>;
}

/** Writes the first beat, then one every interval until `stop`. */
export async function startHeartbeat(options: HeartbeatOptions): Promise<Heartbeat> {
  const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const ttlMs = options.ttlMs ?? 3 * intervalMs;
  if (!(intervalMs > 0) || !(ttlMs > intervalMs)) {
    throw new RangeError(
      `heartbeat needs interval > 0 and ttl > interval (got ${intervalMs} ms, ${ttlMs} ms)`,
    );
  }
  const keys = fleetKeys(prefixFor(options.redis, options.prefix), options.fleet);
  const id = options.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const key = keys.member(id);
  const identity = {
    id,
    hostname: hostname(),
    pid: String(process.pid),
    started: new Date().toISOString(),
    version: options.version ?? packageVersion(),
    intervalMs: String(intervalMs),
  };
  const { redis } = options;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();

  const beat = (): Promise<void> => {
    const load = options.load();
    const now = Date.now();
    const run = async () => {
      await redis
        .multi()
        .hset(key, {
          ...identity,
          capacity: String(load.capacity),
          running: String(load.running),
          endpoints: JSON.stringify(load.endpoints),
          knows: JSON.stringify(load.knows ?? []),
          owners: JSON.stringify(load.owners ?? []),
          beat: new Date(now).toISOString(),
        })
        .pexpire(key, ttlMs)
        .zadd(keys.set, now, id)
        .exec();
    };
    inFlight = inFlight.then(run, run);
    return inFlight;
  };

  await beat();
  const timer = setInterval(() => {
    if (stopped) return;
    beat().catch((error: unknown) => options.onError?.(error as Error));
  }, intervalMs);
  timer.unref();

  return {
    id,
    beat,
    async stop({ remove = true } = {}) {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await inFlight.catch(() => undefined);
      if (remove) await redis.multi().del(key).zrem(keys.set, id).exec();
    },
  };
}

/** Removes ids whose hash is gone, atomically, so a triggerer that beat again meanwhile stays listed. */
const PRUNE = `for _, id in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[1] .. ':' .. id) == 0 then redis.call('ZREM', KEYS[1], id) end
end
return 0`;

/**
 * The live members of a fleet (`triggerers` by default) with BullMQ prefix `prefix` whose last beat
 * has not expired, oldest first; prunes the ids of expired ones.
 */
export async function listTriggerers(
  redis: RedisClient,
  { prefix, fleet }: { prefix?: string; fleet?: Fleet } = {},
): Promise<TriggererInfo[]> {
  const keys = fleetKeys(prefixFor(redis, prefix), fleet);
  const ids = await redis.zrange(keys.set, 0, '-1');
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetall(keys.member(id));
  const replies = (await pipeline.exec()) ?? [];
  const live: TriggererInfo[] = [];
  const gone: string[] = [];
  ids.forEach((id, index) => {
    const [error, hash] = replies[index] ?? [];
    const info = error ? undefined : parseBeat(hash as Record<string, string>);
    if (info) live.push(info);
    else gone.push(id);
  });
  if (gone.length > 0) await redis.eval(PRUNE, 1, keys.set, ...gone);
  return live.sort((a, b) => a.started.localeCompare(b.started));
}

/** Which fleet a heartbeat belongs to. */
export type Fleet = 'triggerers' | 'workers';

/** The sorted set of a fleet and the hash of one member. */
function fleetKeys(prefix: string, fleet: Fleet = 'triggerers') {
  const keys = protocolKeys(prefix);
  return fleet === 'workers'
    ? { set: keys.workers, member: keys.worker }
    : { set: keys.triggerers, member: keys.triggerer };
}

function parseBeat(hash: Record<string, string> | undefined): TriggererInfo | undefined {
  if (!hash || hash.id === undefined) return undefined;
  let endpoints: Record<string, number> = {};
  let knows: string[] = [];
  let owners: string[] = [];
  try {
    endpoints = JSON.parse(hash.endpoints ?? '{}') as Record<string, number>;
    knows = JSON.parse(hash.knows ?? '[]') as string[];
    owners = JSON.parse(hash.owners ?? '[]') as string[];
  } catch {
    // a beat from an incompatible version: show it without endpoints
  }
  return {
    id: hash.id,
    hostname: hash.hostname ?? '',
    pid: Number(hash.pid),
    started: hash.started ?? '',
    beat: hash.beat ?? '',
    version: hash.version ?? '',
    intervalMs: Number(hash.intervalMs),
    capacity: Number(hash.capacity),
    running: Number(hash.running),
    endpoints,
    knows: Array.isArray(knows) ? knows : [],
    owners: Array.isArray(owners) ? owners : [],
  };
}

let cachedVersion: string | undefined;

/** This package's version, read once from its package.json (src/ and dist/src/ sit at different depths). */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  for (const relative of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'supervisor-triggerer' && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      // try the next depth
    }
  }
  return (cachedVersion = 'unknown');
}
