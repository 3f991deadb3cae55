/**
 * What teardown stops and removes: the supervisord `configure` set up, as the run recorded it then
 * (`RunData.teardown`), not as the job files say now. A job file edited or broken mid-run, or a host
 * that cannot be reached for a while, never makes teardown skip: the first is not read, the second is
 * retried (its error passes through). Only a run that never got as far as `configure` falls back to
 * the job as loaded now.
 */
import { ConfigError } from '../config/errors.js';
import { readState, type ResolvedJob } from '../config/convenience.js';
import { contextOf, type LifecycleOptions } from '../supervisor/lifecycle/context.js';
import type { LifecycleJob } from '../supervisor/lifecycle/job.js';
import { pidfilePath } from '../supervisor/lifecycle/job.js';
import { JobRunError } from './errors.js';
import { lifecycleOn, localJobHost, sshJobHostName } from './host.js';
import type { TeardownTarget } from './run-data.js';
import type { StepContext } from './step-context.js';

/** What a teardown step acts on. */
export interface Teardown {
  job: LifecycleJob;
  lifecycle: LifecycleOptions;
  stopOnExit: boolean;
  cleanup: boolean;
}

/** The record of what `configure` set up, for the run's data (no credentials). */
export function targetOf(job: ResolvedJob): TeardownTarget {
  const programs = Object.fromEntries(
    Object.entries(job.supervisor.program ?? {}).map(([name, p]) => [
      name,
      p.stopwaitsecs === undefined ? {} : { stopwaitsecs: p.stopwaitsecs },
    ]),
  );
  return {
    workingDir: job.workingDir,
    configPath: job.configPath,
    statePath: job.statePath,
    pidfile: pidfilePath(job),
    endpoint: { url: job.endpoint.url, ...(job.endpoint.username && { username: job.endpoint.username }) },
    ...(job.host && { host: job.host }),
    programs,
    stopOnExit: job.options.stopOnExit,
    cleanup: job.options.cleanup,
  };
}

/**
 * What the step tears down: the recorded target, its password read from the state file on its host;
 * else the job as loaded now; undefined when there is neither (the files do not load and configure
 * never ran). A host error passes through, so the step is retried.
 */
export async function teardownOf(ctx: StepContext): Promise<Teardown | undefined> {
  const target = ctx.data.teardown;
  if (target === undefined) return loadedNow(ctx);
  const host = target.host
    ? { kind: 'ssh' as const, name: sshJobHostName(target.host.hostname), options: target.host }
    : localJobHost();
  const lifecycle = lifecycleOn(host, ctx.baseLifecycle);
  const job: LifecycleJob = {
    workingDir: target.workingDir,
    configPath: target.configPath,
    statePath: target.statePath,
    endpoint: target.endpoint,
    ...(target.host && { host: target.host }),
    supervisor: { supervisord: { pidfile: target.pidfile }, program: target.programs },
  };
  const password = await storedPassword(job, lifecycle);
  return {
    job: { ...job, endpoint: { ...target.endpoint, ...(password !== undefined && { password }) } },
    lifecycle,
    stopOnExit: target.stopOnExit,
    cleanup: target.cleanup,
  };
}

async function loadedNow(ctx: StepContext): Promise<Teardown | undefined> {
  try {
    const job = await ctx.live();
    return {
      job,
      lifecycle: ctx.lifecycle,
      stopOnExit: job.options.stopOnExit,
      cleanup: job.options.cleanup,
    };
  } catch (error) {
    if (error instanceof JobRunError || error instanceof ConfigError) return undefined;
    throw error;
  }
}

/** The password `configure` kept in the state file; none once it is gone (then stop signals instead). */
async function storedPassword(job: LifecycleJob, lifecycle: LifecycleOptions): Promise<string | undefined> {
  try {
    return (await readState(job.statePath!, contextOf(lifecycle, job).host))?.password;
  } catch (error) {
    if (error instanceof ConfigError) return undefined;
    throw error;
  }
}
