/** `unconfigure`: what `configure` created gone, once the job's supervisord is down. */
import { resolve } from 'node:path';
import { EndpointUnreachable } from '../errors.js';
import { contextOf, jobPidfile, withClient, type LifecycleOptions } from './context.js';
import { JobNotReady, SupervisordStillRunning } from './errors.js';
import { appliedConfigPath, type LifecycleJob } from './job.js';

/** What `unconfigure` removed. */
export interface UnconfigureResult {
  removed: string[];
}

/**
 * Removes what `configure` recorded as created (the working dir with its logs when configure made
 * it; otherwise only the files and directories it added), the applied-config digest and the state
 * file. Anything else, in or beside the working dir, stays. Refuses while the job's supervisord
 * runs: stop it first. Running it again is fine.
 */
export async function unconfigure(
  job: LifecycleJob,
  options: LifecycleOptions = {},
): Promise<UnconfigureResult> {
  const ctx = contextOf(options, job);
  const status = await jobPidfile(ctx, job);
  if (status.kind === 'running') {
    throw new SupervisordStillRunning(
      `supervisord of ${job.configPath} is still running (pid ${status.pid}): run 'stop' before 'unconfigure'`,
      status.pid,
    );
  }
  if (job.endpoint.url.startsWith('unix:') && (await answers(ctx, job))) {
    throw new SupervisordStillRunning(
      `a supervisord still answers at ${job.endpoint.url} (its pidfile is gone): run 'stop' before 'unconfigure'`,
      undefined,
    );
  }
  const created = job.statePath === undefined ? [] : await createdPaths(ctx, job.statePath);
  const guarded = await ctx.host.guardedDirs();
  created.forEach((path) => refuseDangerous(path, guarded));
  const removed: string[] = [];
  const owned = [appliedConfigPath(job), ...created.reverse(), job.statePath];
  for (const path of owned) {
    if (path === undefined || !(await ctx.host.exists(path))) continue;
    await ctx.host.remove(path);
    removed.push(path);
  }
  return { removed };
}

/** The paths the state file says `configure` created (none when there is no state file). */
async function createdPaths(ctx: ReturnType<typeof contextOf>, statePath: string): Promise<string[]> {
  const text = await ctx.host.readText(statePath);
  if (text === undefined) return [];
  try {
    const created = (JSON.parse(text) as { created?: unknown }).created;
    return Array.isArray(created) ? created.filter((path): path is string => typeof path === 'string') : [];
  } catch {
    throw new JobNotReady(`unreadable job state ${statePath}: remove the job's files by hand`);
  }
}

/** Whether a supervisord answers on the job's own unix socket (its pidfile may have been removed). */
async function answers(ctx: ReturnType<typeof contextOf>, job: LifecycleJob): Promise<boolean> {
  try {
    await withClient(ctx, { ...job, endpoint: { ...job.endpoint, timeoutMs: 2000 } }, (client) =>
      client.getState(),
    );
    return true;
  } catch (error) {
    return !(error instanceof EndpointUnreachable);
  }
}

/** `/`, a top-level directory, or the host's home or temp dir itself is never ours to delete. */
function refuseDangerous(dir: string, guarded: readonly string[]): void {
  const path = resolve(dir);
  if (path.split('/').filter(Boolean).length < 2 || guarded.some((other) => resolve(other) === path)) {
    throw new JobNotReady(`refusing to remove ${path}: choose a directory of its own for the job`);
  }
}
