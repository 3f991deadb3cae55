/** `unconfigure`: the job's files gone, once its supervisord is down. */
import { homedir, tmpdir } from 'node:os';
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
 * Removes the config file and the working dir (logs included). Refuses while the job's supervisord
 * runs: stop it first. Running it again is fine.
 */
export async function unconfigure(
  job: LifecycleJob,
  options: LifecycleOptions = {},
): Promise<UnconfigureResult> {
  const ctx = contextOf(options);
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
  refuseDangerous(job.workingDir);
  const removed: string[] = [];
  for (const path of [job.configPath, appliedConfigPath(job), job.statePath, job.workingDir]) {
    if (path === undefined || !(await ctx.host.exists(path))) continue;
    await ctx.host.remove(path);
    removed.push(path);
  }
  return { removed };
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

/** A working dir of `/`, the home or the temp dir itself is a configuration mistake, never ours to delete. */
function refuseDangerous(dir: string): void {
  const path = resolve(dir);
  if (
    path.split('/').filter(Boolean).length < 2 ||
    path === resolve(homedir()) ||
    path === resolve(tmpdir())
  ) {
    throw new JobNotReady(
      `refusing to remove working_dir ${path}: choose a directory of its own for the job`,
    );
  }
}
