/** Argument and output helpers the subcommands share. */
import { waitFor, WaitTimeout, type RedisConnection } from '../client/index.js';
import { parseDuration } from '../config/duration.js';
import type { TriggerStatus } from '../protocol/index.js';
import { findRedisUrl, readRedisUrlFile } from '../redis/connection.js';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from './io.js';

/** Runs an argument parser (`util.parseArgs`) so that its problems are usage errors (exit 2). */
export function usageErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Flags of every command that talks to the triggerer's Redis, plus --help. */
export const REDIS_FLAGS = {
  'redis-url': { type: 'string' },
  'redis-url-file': { type: 'string' },
  'state-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The help of REDIS_FLAGS, the same in every command that takes them. */
export const REDIS_HELP = `  --redis-url URL        the Redis to use; other users of the host see it in 'ps': for a URL with a
                         password use --redis-url-file or $REDIS_URL instead
  --redis-url-file FILE  read the Redis URL from the first line of FILE
  --state-dir DIR        where to find the embedded redis (default ~/.local/state/supervisor-triggerer)

Redis: --redis-url, else --redis-url-file, else $REDIS_URL, else the embedded redis of a running
triggerer (found in the state dir). A password in the URL is never printed.
`;

/** The Redis URL of REDIS_FLAGS: the flag, the file, $REDIS_URL, else the embedded redis. */
export async function redisUrlOf(
  values: { 'redis-url'?: string; 'redis-url-file'?: string; 'state-dir'?: string },
  io: CliIO,
): Promise<string> {
  const file = values['redis-url-file'];
  if (values['redis-url'] !== undefined && file !== undefined) {
    throw new UsageError('give --redis-url or --redis-url-file, not both');
  }
  return findRedisUrl({
    url: file === undefined ? values['redis-url'] : await readRedisUrlFile(file),
    env: io.env,
    stateDir: values['state-dir'],
  });
}

/** A duration flag's value in ms, or a usage error naming the flag. */
export function durationFlag(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

/** A flag's positive integer; anything else is a usage error naming the flag. */
export function positiveIntFlag(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new UsageError(`${flag}: expected a positive integer, got '${text}'`);
  return value;
}

/** Exit code of `defer --wait` / `cancel --wait` per event status. */
export const EXIT_BY_STATUS: Record<TriggerStatus, number> = {
  fired: EXIT_OK,
  failed: EXIT_FAILED,
  timeout: 3,
  cancelled: 4,
};

/** How often a wait says on a terminal that it is still waiting. */
export const STILL_WAITING_EVERY_MS = 10_000;

/** The line a wait prints on a terminal every `STILL_WAITING_EVERY_MS`. */
export function stillWaitingLine(triggerId: string, elapsedMs: number): string {
  return `still waiting for ${triggerId} (${Math.round(elapsedMs / 1000)}s)\n`;
}

/**
 * Waits for a trigger's event, prints it as one JSON line and returns the exit code of its status.
 * On a terminal, says every `everyMs` that it is still waiting.
 */
export async function printEventWhenFinished(
  command: string,
  triggerId: string,
  connection: RedisConnection,
  timeoutMs: number | undefined,
  io: CliIO,
  everyMs = STILL_WAITING_EVERY_MS,
): Promise<number> {
  const started = Date.now();
  const ticker = io.stderrIsTTY
    ? setInterval(() => io.stderr(stillWaitingLine(triggerId, Date.now() - started)), everyMs)
    : undefined;
  try {
    const event = await waitFor(triggerId, { connection, timeoutMs, pollMs: 500 });
    io.stdout(`${JSON.stringify(event)}\n`);
    return EXIT_BY_STATUS[event.status];
  } catch (error) {
    if (!(error instanceof WaitTimeout)) throw error;
    io.stderr(`supervisor-triggerer ${command}: ${error.message} (is a triggerer running?)\n`);
    return EXIT_BY_STATUS.timeout;
  } finally {
    clearInterval(ticker);
  }
}
