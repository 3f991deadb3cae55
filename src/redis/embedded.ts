/**
 * The embedded default: a private `redis-server` on a unix socket in the state directory, started by
 * the first triggerer that needs one and shared by every triggerer on that state directory. Each
 * registers as a user (`lease.ts`); the last one alive to stop stops it by its pid, whichever
 * process started it. Its append-only file lives there too, so deferred triggers survive a restart.
 * It runs in a process group of its own, so a Ctrl-C meant for one triggerer's terminal does not stop
 * the Redis that triggerer (and its peers) still hand their triggers over through.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DISCOVERY_FILE, readDiscovery, type RedisDiscovery } from './connection.js';
import {
  clearUsers,
  leaveAtExit,
  liveUsers,
  processGone,
  registerUser,
  sameProcess,
  startTicks,
  withStateLock,
} from './lease.js';

/** redis-server could not be started. */
export class EmbeddedRedisError extends Error {
  override name = 'EmbeddedRedisError';
}

export interface EmbeddedRedis {
  /** `unix:///<state dir>/redis.sock`. */
  url: string;
  pid: number;
  /** True when this process started the redis-server; false when it reuses a running one. */
  owned: boolean;
  /**
   * Ends this process's use of it: the last user alive stops the redis-server (by pid) and removes
   * the discovery file; otherwise it keeps running for the others. Idempotent.
   */
  stop(): Promise<void>;
}

export interface EmbeddedRedisOptions {
  /** @default 'redis-server' */
  command?: string;
  /** @default 10000 */
  startTimeoutMs?: number;
}

/** How long a stop waits for the redis-server to exit after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5000;

/** Starts the embedded redis-server of a state directory, or reuses the one running there. */
export async function startEmbeddedRedis(
  stateDir: string,
  { command = 'redis-server', startTimeoutMs = 10_000 }: EmbeddedRedisOptions = {},
): Promise<EmbeddedRedis> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const socketPath = join(stateDir, 'redis.sock');
  if (Buffer.byteLength(socketPath) > 100) {
    throw new EmbeddedRedisError(`state dir path too long for a unix socket: ${socketPath}`);
  }
  // The lock is held while a redis-server starts: wait for that, and then some.
  const lockWaitMs = startTimeoutMs + STOP_GRACE_MS + 5000;
  const started = await withStateLock(stateDir, lockWaitMs, async () => {
    const existing = await readDiscovery(stateDir);
    if (existing && sameProcess(existing.pid, existing.startTicks) && (await pingRedis(socketPath))) {
      return { discovery: existing, registration: await registerUser(stateDir), child: undefined };
    }
    // Registrations left from a redis-server that is gone are about nothing now.
    await clearUsers(stateDir);
    const child = await spawnRedis(command, stateDir, socketPath, startTimeoutMs);
    const ticks = startTicks(child.pid);
    const discovery: RedisDiscovery = {
      url: `unix://${socketPath}`,
      pid: child.pid,
      ...(ticks !== undefined && { startTicks: ticks }),
    };
    await writeFile(join(stateDir, DISCOVERY_FILE), JSON.stringify(discovery) + '\n', { mode: 0o600 });
    return { discovery, registration: await registerUser(stateDir), child };
  });
  const { discovery, registration, child } = started;
  // A triggerer that exits without calling stop() (a second signal, a crash) still leaves: the last
  // user takes the redis-server with it.
  let left = false;
  const onExit = () => {
    if (left) return;
    left = true;
    const others = leaveAtExit(stateDir, registration);
    if (!others && sameProcess(discovery.pid, discovery.startTicks)) signal(discovery.pid, 'SIGTERM');
  };
  process.once('exit', onExit);
  let stopped: Promise<void> | undefined;
  return {
    url: discovery.url,
    pid: discovery.pid,
    owned: child !== undefined,
    stop() {
      stopped ??= withStateLock(stateDir, lockWaitMs, async () => {
        process.removeListener('exit', onExit);
        left = true;
        await rm(registration, { force: true });
        if ((await liveUsers(stateDir)) > 0) {
          // Another triggerer still uses it: it outlives this process.
          child?.unref();
          return;
        }
        const current = await readDiscovery(stateDir);
        if (current?.pid === discovery.pid) await rm(join(stateDir, DISCOVERY_FILE), { force: true });
        // Only the redis-server this process used: its pid may have been reused since it exited.
        if (sameProcess(discovery.pid, discovery.startTicks)) await stopRedis(discovery.pid);
      }).catch(async (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        // The state directory was removed meanwhile: nobody can find this redis-server any more (no
        // discovery file, no users), so it goes with this process instead of running on unowned.
        process.removeListener('exit', onExit);
        left = true;
        if (sameProcess(discovery.pid, discovery.startTicks)) await stopRedis(discovery.pid);
      });
      return stopped;
    },
  };
}

/** Spawns redis-server on the socket and waits until it answers PING. */
async function spawnRedis(
  command: string,
  stateDir: string,
  socketPath: string,
  startTimeoutMs: number,
): Promise<{ pid: number; unref(): void }> {
  await rm(socketPath, { force: true });
  const child = spawn(
    command,
    [
      '--port',
      '0',
      '--unixsocket',
      socketPath,
      '--unixsocketperm',
      '700',
      '--dir',
      stateDir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--logfile',
      join(stateDir, 'redis.log'),
    ],
    { stdio: 'ignore', detached: true },
  );
  const failed = new Promise<Error>((resolve) => {
    child.once('error', (error) => resolve(error));
    child.once('exit', (code) => resolve(new Error(`exited with code ${code} (see ${stateDir}/redis.log)`)));
  });
  const deadline = Date.now() + startTimeoutMs;
  let ready = false;
  while (!ready && Date.now() < deadline) {
    const early = await Promise.race([failed, delay(50).then(() => undefined)]);
    if (early) throw new EmbeddedRedisError(`${command} did not start: ${early.message}`);
    ready = await pingRedis(socketPath);
  }
  if (!ready || child.pid === undefined) {
    if (child.pid !== undefined && child.exitCode === null) await stopRedis(child.pid);
    throw new EmbeddedRedisError(`${command} did not answer on ${socketPath} within ${startTimeoutMs} ms`);
  }
  return { pid: child.pid, unref: () => child.unref() };
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone (or after 1 s more). */
async function stopRedis(pid: number): Promise<void> {
  signal(pid, 'SIGTERM');
  if (await gone(pid, STOP_GRACE_MS)) return;
  signal(pid, 'SIGKILL');
  await gone(pid, 1000);
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (!processGone(pid)) {
    if (Date.now() > deadline) return false;
    await delay(25);
  }
  return true;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * True when a redis-server answers PONG at `target` (a unix socket path, or a TCP port on
 * 127.0.0.1), within 500 ms. A raw PING, so no client library retries or queues it.
 */
export function pingRedis(target: string | number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = typeof target === 'number' ? connect(target, '127.0.0.1') : connect(target);
    let text = '';
    socket.setTimeout(500, () => socket.destroy());
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(text.includes('+PONG')));
    socket.on('data', (chunk) => {
      text += chunk.toString();
      if (text.includes('PONG')) socket.end();
    });
    socket.write(password ? `AUTH ${password}\r\nPING\r\n` : 'PING\r\n');
  });
}
