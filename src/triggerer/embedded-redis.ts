/**
 * The embedded default: a private `redis-server` on a unix socket in the state directory, started by
 * the triggerer when no Redis URL is given and stopped (by its pid) when the triggerer exits. Its
 * append-only file lives there too, so deferred triggers survive a triggerer restart.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DISCOVERY_FILE, isAlive, readDiscovery, type RedisDiscovery } from './redis.js';

/** redis-server could not be started. */
export class EmbeddedRedisError extends Error {
  override name = 'EmbeddedRedisError';
}

export interface EmbeddedRedis {
  /** `unix:///<state dir>/redis.sock`. */
  url: string;
  pid: number;
  /** False when another triggerer's embedded redis was found running and is reused. */
  owned: boolean;
  /** Stops the redis-server if this process started it and removes the discovery file. Idempotent. */
  stop(): Promise<void>;
}

export interface EmbeddedRedisOptions {
  /** @default 'redis-server' */
  command?: string;
  /** @default 10000 */
  startTimeoutMs?: number;
}

/** Starts (or reuses) the embedded redis-server of a state directory. */
export async function startEmbeddedRedis(
  stateDir: string,
  { command = 'redis-server', startTimeoutMs = 10_000 }: EmbeddedRedisOptions = {},
): Promise<EmbeddedRedis> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const socketPath = join(stateDir, 'redis.sock');
  if (Buffer.byteLength(socketPath) > 100) {
    throw new EmbeddedRedisError(`state dir path too long for a unix socket: ${socketPath}`);
  }
  const existing = await readDiscovery(stateDir);
  if (existing && isAlive(existing.pid) && (await pingRedis(socketPath))) {
    return { url: existing.url, pid: existing.pid, owned: false, stop: async () => {} };
  }
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
    { stdio: 'ignore' },
  );
  const failed = new Promise<Error>((resolve) => {
    child.once('error', (error) => resolve(error));
    child.once('exit', (code) => resolve(new Error(`exited with code ${code} (see ${stateDir}/redis.log)`)));
  });
  const stopChild = async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(
      () => child.pid !== undefined && isAlive(child.pid) && child.kill('SIGKILL'),
      5000,
    );
    await exited;
    clearTimeout(timer);
  };
  // A triggerer that exits without calling stop() still takes its redis-server with it.
  const onExit = () => child.exitCode === null && child.kill('SIGTERM');
  process.once('exit', onExit);
  const deadline = Date.now() + startTimeoutMs;
  let ready = false;
  while (!ready && Date.now() < deadline) {
    const early = await Promise.race([failed, delay(50).then(() => undefined)]);
    if (early) {
      process.removeListener('exit', onExit);
      throw new EmbeddedRedisError(`${command} did not start: ${early.message}`);
    }
    ready = await pingRedis(socketPath);
  }
  if (!ready || child.pid === undefined) {
    await stopChild();
    process.removeListener('exit', onExit);
    throw new EmbeddedRedisError(`${command} did not answer on ${socketPath} within ${startTimeoutMs} ms`);
  }
  const discovery: RedisDiscovery = { url: `unix://${socketPath}`, pid: child.pid };
  const discoveryPath = join(stateDir, DISCOVERY_FILE);
  await writeFile(discoveryPath, JSON.stringify(discovery) + '\n', { mode: 0o600 });
  let stopped: Promise<void> | undefined;
  return {
    url: discovery.url,
    pid: child.pid,
    owned: true,
    stop() {
      stopped ??= (async () => {
        await rm(discoveryPath, { force: true });
        await stopChild();
        process.removeListener('exit', onExit);
      })();
      return stopped;
    },
  };
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
