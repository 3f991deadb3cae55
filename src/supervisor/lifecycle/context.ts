/**
 * What every step shares: its options with their defaults, reading supervisord's pidfile, polling
 * with a deadline, and a client whose auth failure becomes a clear `CredentialsRejected`.
 */
import type { SupervisorClient } from '../client.js';
import type { SupervisorEndpoint } from '../endpoint.js';
import { AuthenticationError } from '../errors.js';
import type { SupervisorHost } from '../host/host.js';
import { LocalHost } from '../host/local.js';
import { hostFor } from '../host/shared.js';
import { CredentialsRejected, LifecycleTimeout } from './errors.js';
import { pidfilePath, type LifecycleJob } from './job.js';

/** Options every lifecycle step accepts; each step reads the ones it needs. */
export interface LifecycleOptions {
  /**
   * The machine supervisord runs on. @default the job's `host` (this process's shared SSH
   * connection to it), else the local host
   */
  host?: SupervisorHost;
  /**
   * The supervisord executable. @default on the local host `$SUPERVISORD_BIN`, else `supervisord`
   * on PATH; on a remote host `supervisord` on its PATH (after its command prefix)
   */
  supervisordBin?: string;
  /**
   * Environment for `SUPERVISORD_BIN` and for a local supervisord, and where an SSH host's
   * passphrase variable is read (never sent to a remote host). @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /** Makes the XML-RPC client for the job's endpoint. @default the host's `connect` */
  connect?: (endpoint: SupervisorEndpoint) => SupervisorClient;
  /** How often waiting steps look again. @default 200 */
  pollIntervalMs?: number;
  /** How long `start` waits for supervisord to answer RUNNING. @default 30000 */
  startTimeoutMs?: number;
  /** How long `start-programs` waits for every program to be RUNNING. @default 60000 */
  programsTimeoutMs?: number;
  /**
   * How long `start-programs` sees a program RUNNING before it counts as started, so that one that
   * crashes right after its start is reported (supervisord's `startsecs` may be 0). @default 1000
   */
  steadyMs?: number;
  /** How long `stop` waits after the XML-RPC shutdown. @default the longest stopwaitsecs + 10 s */
  shutdownTimeoutMs?: number;
  /** How long `stop` waits after SIGTERM before SIGKILL. @default 10000 */
  killGraceMs?: number;
}

/** The options with every default filled in. */
export interface Context {
  host: SupervisorHost;
  supervisordBin: string;
  env: NodeJS.ProcessEnv;
  connect: (endpoint: SupervisorEndpoint) => SupervisorClient;
  pollIntervalMs: number;
  startTimeoutMs: number;
  programsTimeoutMs: number;
  steadyMs: number;
  shutdownTimeoutMs: number | undefined;
  killGraceMs: number;
}

/** The options with their defaults; `job` names the host when the options do not. */
export function contextOf(options: LifecycleOptions = {}, job?: Pick<LifecycleJob, 'host'>): Context {
  const env = options.env ?? process.env;
  const host = options.host ?? hostFor(job ?? {}, env);
  // SUPERVISORD_BIN names a file on this machine: a remote host finds supervisord on its own PATH.
  const localBin = host instanceof LocalHost ? env.SUPERVISORD_BIN : undefined;
  return {
    host,
    supervisordBin: options.supervisordBin ?? (localBin || 'supervisord'),
    env,
    connect: options.connect ?? ((endpoint) => host.connect(endpoint)),
    pollIntervalMs: options.pollIntervalMs ?? 200,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    programsTimeoutMs: options.programsTimeoutMs ?? 60_000,
    steadyMs: options.steadyMs ?? 1000,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    killGraceMs: options.killGraceMs ?? 10_000,
  };
}

/** What the pidfile says about the job's supervisord. */
export type PidfileStatus =
  | { kind: 'absent' }
  | { kind: 'running'; pid: number }
  | { kind: 'stale'; pid: number | undefined; reason: string };

/** Reads the pidfile and checks that its pid is a live supervisord. */
export async function readPidfile(host: SupervisorHost, pidfile: string): Promise<PidfileStatus> {
  const text = await host.readText(pidfile);
  if (text === undefined) return { kind: 'absent' };
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 1) {
    return {
      kind: 'stale',
      pid: undefined,
      reason: `does not hold a pid (${JSON.stringify(text.slice(0, 40))})`,
    };
  }
  const found = await host.process(pid);
  if (found === undefined) return { kind: 'stale', pid, reason: 'is not running' };
  if (!found.command.includes('supervisord')) {
    return { kind: 'stale', pid, reason: `is not a supervisord (it is '${found.command.slice(0, 80)}')` };
  }
  return { kind: 'running', pid };
}

/** `readPidfile` for the job's own pidfile. */
export function jobPidfile(ctx: Context, job: LifecycleJob): Promise<PidfileStatus> {
  return readPidfile(ctx.host, pidfilePath(job));
}

/** Calls `check` every `intervalMs` until it returns a value; a `LifecycleTimeout` after `timeoutMs`. */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  { timeoutMs, intervalMs, what }: { timeoutMs: number; intervalMs: number; what: () => string },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new LifecycleTimeout(`timed out after ${timeoutMs} ms ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Runs `use` with a client for the job's endpoint, closed afterwards; a 401 becomes `CredentialsRejected`. */
export async function withClient<T>(
  ctx: Context,
  job: LifecycleJob,
  use: (client: SupervisorClient) => Promise<T>,
): Promise<T> {
  const client = ctx.connect(job.endpoint);
  try {
    return await use(client);
  } catch (error) {
    if (error instanceof AuthenticationError) {
      throw new CredentialsRejected(
        `supervisord at ${job.endpoint.url} rejected the job's credentials (HTTP 401): it was started ` +
          `with another username or password than ${job.configPath} holds now. Stop it with the old ` +
          `credentials, or run 'force-kill', then start again`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await client.close();
  }
}
