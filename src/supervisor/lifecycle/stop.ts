/** `stop` and `force-kill`: the job's supervisord gone, its pidfile with it. */
import { CallTimeout, EndpointUnreachable, ShutdownStateFault } from '../errors.js';
import {
  contextOf,
  jobPidfile,
  pollUntil,
  withClient,
  type Context,
  type LifecycleOptions,
} from './context.js';
import { CredentialsRejected, LifecycleTimeout, StalePidfile } from './errors.js';
import { longestStopWaitSecs, pidfilePath, type LifecycleJob } from './job.js';

/** What `stop` or `forceKill` did. */
export interface StopResult {
  /** `not-running`: nothing to do; `shutdown` over XML-RPC; `terminated` by SIGTERM; `killed` by SIGKILL. */
  action: 'not-running' | 'shutdown' | 'terminated' | 'killed';
  /** The supervisord pid that was stopped. */
  pid?: number;
  notes: string[];
}

/**
 * Stops supervisord (and with it its programs): shutdown over XML-RPC, wait for the pid to exit,
 * then SIGTERM, then SIGKILL of supervisord and its programs after a grace period. A supervisord
 * that is not running is fine.
 */
export async function stop(job: LifecycleJob, options: LifecycleOptions = {}): Promise<StopResult> {
  const ctx = contextOf(options, job);
  const found = await runningPid(ctx, job);
  if (found.pid === undefined) return { action: 'not-running', notes: found.notes };
  const { pid, notes } = found;
  const asked = await askShutdown(ctx, job, notes);
  // SIGTERM is supervisord's own graceful shutdown: programs still get their stopwaitsecs.
  if (!asked) await ctx.host.signal(pid, 'SIGTERM');
  const shutdownMs = ctx.shutdownTimeoutMs ?? (longestStopWaitSecs(job) + 10) * 1000;
  if (await exits(ctx, pid, shutdownMs)) return done(ctx, job, asked ? 'shutdown' : 'terminated', pid, notes);
  if (asked) {
    notes.push(`supervisord (pid ${pid}) was still running ${shutdownMs} ms after shutdown: sent SIGTERM`);
    await ctx.host.signal(pid, 'SIGTERM');
    if (await exits(ctx, pid, ctx.killGraceMs)) return done(ctx, job, 'terminated', pid, notes);
  }
  notes.push(`supervisord (pid ${pid}) did not exit: killed it and its programs`);
  await killTree(ctx, pid);
  return done(ctx, job, 'killed', pid, notes);
}

/** SIGKILLs supervisord and every program it runs (by their process groups), then removes the pidfile. */
export async function forceKill(job: LifecycleJob, options: LifecycleOptions = {}): Promise<StopResult> {
  const ctx = contextOf(options, job);
  const found = await runningPid(ctx, job);
  if (found.pid === undefined) return { action: 'not-running', notes: found.notes };
  await killTree(ctx, found.pid);
  return done(ctx, job, 'killed', found.pid, found.notes);
}

/**
 * Asks for shutdown over XML-RPC. True when asked (or already shutting down); false when it could not
 * be asked (not answering, wrong credentials), so the caller signals instead.
 */
async function askShutdown(ctx: Context, job: LifecycleJob, notes: string[]): Promise<boolean> {
  try {
    await withClient(ctx, job, (client) => client.shutdown());
    return true;
  } catch (error) {
    if (error instanceof ShutdownStateFault) return true;
    if (error instanceof CredentialsRejected) {
      notes.push('supervisord rejected the job credentials (HTTP 401): stopping it by SIGTERM');
      return false;
    }
    if (error instanceof EndpointUnreachable || error instanceof CallTimeout) {
      notes.push(`supervisord did not answer the shutdown call (${error.message}): stopping it by SIGTERM`);
      return false;
    }
    throw error;
  }
}

/** The pid of the job's live supervisord; a stale pidfile is removed (and noted), never signalled. */
async function runningPid(ctx: Context, job: LifecycleJob): Promise<{ pid?: number; notes: string[] }> {
  const status = await jobPidfile(ctx, job);
  if (status.kind === 'running') return { pid: status.pid, notes: [] };
  if (status.kind === 'absent') return { notes: ['supervisord is not running'] };
  await ctx.host.remove(pidfilePath(job));
  const stale = new StalePidfile(pidfilePath(job), status.pid ?? 0, status.reason);
  return { notes: [`${stale.message}: removed it`] };
}

/**
 * Freezes supervisord first so it cannot restart what we kill, SIGKILLs each child's process group
 * (supervisord puts every program in its own) and then supervisord, and waits until all are gone.
 */
async function killTree(ctx: Context, pid: number): Promise<void> {
  await ctx.host.signal(pid, 'SIGSTOP');
  const children = await ctx.host.children(pid);
  for (const child of children) {
    await ctx.host.signal(child.pid, 'SIGKILL', { group: child.pgid === child.pid });
    await ctx.host.signal(child.pid, 'SIGKILL');
  }
  await ctx.host.signal(pid, 'SIGKILL');
  const pids = [pid, ...children.map((c) => c.pid)];
  await pollUntil(
    async () =>
      (await Promise.all(pids.map((p) => ctx.host.process(p)))).every((p) => p === undefined)
        ? true
        : undefined,
    {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: () => `waiting for pids ${pids.join(', ')} to die after SIGKILL`,
    },
  );
}

/** Whether `pid` is gone within `timeoutMs`. */
async function exits(ctx: Context, pid: number, timeoutMs: number): Promise<boolean> {
  try {
    await pollUntil(async () => ((await ctx.host.process(pid)) === undefined ? true : undefined), {
      timeoutMs,
      intervalMs: ctx.pollIntervalMs,
      what: () => `waiting for pid ${pid} to exit`,
    });
    return true;
  } catch (error) {
    if (error instanceof LifecycleTimeout) return false;
    throw error;
  }
}

/** supervisord removes its pidfile on a clean exit; after a kill it is ours to remove. */
async function done(
  ctx: Context,
  job: LifecycleJob,
  action: StopResult['action'],
  pid: number,
  notes: string[],
): Promise<StopResult> {
  await ctx.host.remove(pidfilePath(job));
  return { action, pid, notes };
}
