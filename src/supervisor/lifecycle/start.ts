/** `start`: supervisord up and running the job's current config. */
import { createHash } from 'node:crypto';
import { EndpointUnreachable, SupervisorError, ShutdownStateFault } from '../errors.js';
import {
  contextOf,
  jobPidfile,
  pollUntil,
  withClient,
  type Context,
  type LifecycleOptions,
} from './context.js';
import {
  JobNotReady,
  PortInUse,
  StalePidfile,
  SupervisordNotFound,
  SupervisordStartFailed,
} from './errors.js';
import { CommandNotFound } from '../host/errors.js';
import { appliedConfigPath, logfilePath, pidfilePath, type LifecycleJob } from './job.js';

/** What `start` did. */
export interface StartResult {
  /** supervisord's pid. */
  pid: number;
  /** `started` a new supervisord, found it `running` the current config, or `applied` a changed one. */
  action: 'started' | 'running' | 'applied';
  /** Program groups `applied` added, changed or removed. */
  changes?: { added: string[]; changed: string[]; removed: string[] };
  /** Things worth telling the user (a stale pidfile removed). */
  notes: string[];
}

/**
 * Starts the job's supervisord (daemonized, found by its pidfile) unless it runs; if it runs and the
 * config file changed since it started, applies the change like `supervisorctl update`.
 */
export async function start(job: LifecycleJob, options: LifecycleOptions = {}): Promise<StartResult> {
  const ctx = contextOf(options, job);
  const config = await ctx.host.readText(job.configPath);
  if (config === undefined) {
    throw new JobNotReady(`${job.configPath} does not exist: run 'configure' first`);
  }
  if (job.supervisor.supervisord?.nodaemon === true) {
    throw new JobNotReady(`'start' runs supervisord as a daemon: remove supervisord.nodaemon from the job`);
  }
  const digest = sha256(config);
  const notes: string[] = [];
  const status = await jobPidfile(ctx, job);
  if (status.kind === 'running') {
    await waitRunning(ctx, job, status.pid);
    const applied = await ctx.host.readText(appliedConfigPath(job));
    if (applied?.trim() === digest) return { pid: status.pid, action: 'running', notes };
    const changes = await withClient(ctx, job, (client) => client.applyConfigChanges());
    await ctx.host.writeText(appliedConfigPath(job), `${digest}\n`, 0o600);
    return { pid: status.pid, action: 'applied', changes, notes };
  }
  if (status.kind === 'stale') {
    await ctx.host.remove(pidfilePath(job));
    notes.push(`${new StalePidfile(pidfilePath(job), status.pid ?? 0, status.reason).message}: removed it`);
  }
  await launch(ctx, job);
  const pid = await waitRunning(ctx, job, undefined);
  await ctx.host.writeText(appliedConfigPath(job), `${digest}\n`, 0o600);
  return { pid, action: 'started', notes };
}

/** Runs `supervisord -c CONFIG`; its first process exits once the daemon has forked (or failed). */
async function launch(ctx: Context, job: LifecycleJob): Promise<void> {
  let result;
  try {
    result = await ctx.host.run(ctx.supervisordBin, ['-c', job.configPath], {
      cwd: job.workingDir,
      env: ctx.env,
      timeoutMs: ctx.startTimeoutMs,
    });
  } catch (error) {
    if (error instanceof CommandNotFound) throw new SupervisordNotFound(ctx.supervisordBin, ctx.host.name);
    throw error;
  }
  if (result.code === 0) return;
  const how = result.code === null ? `was killed (${result.signal})` : `exited with ${result.code}`;
  if (/already listening/i.test(result.output)) {
    throw new PortInUse(
      `supervisord ${how}: another program already listens on ${job.endpoint.url} (or another ` +
        `http server of ${job.configPath}); stop it or choose another port or socket`,
      result.output,
    );
  }
  throw new SupervisordStartFailed(`supervisord -c ${job.configPath} ${how}`, result.output);
}

/**
 * Waits until the pidfile names a live supervisord that answers getState RUNNING; fails early, with
 * the tail of supervisord's log, when the daemon dies on the way.
 */
async function waitRunning(ctx: Context, job: LifecycleJob, knownPid: number | undefined): Promise<number> {
  let last = 'no pidfile yet';
  return withClient(ctx, job, (client) =>
    pollUntil(
      async () => {
        const status = await jobPidfile(ctx, job);
        // A pid of undefined is a pidfile caught half-written: look again.
        if (
          status.kind === 'stale' &&
          status.pid !== undefined &&
          (knownPid === undefined || status.pid === knownPid)
        ) {
          const log = await tail(ctx, logfilePath(job));
          throw new SupervisordStartFailed(
            `supervisord died while starting (pid ${status.pid} ${status.reason})`,
            log,
          );
        }
        if (status.kind !== 'running') return undefined;
        try {
          const state = await client.getState();
          last = `supervisord is ${state.statename}`;
          return state.statename === 'RUNNING' ? status.pid : undefined;
        } catch (error) {
          if (!(error instanceof EndpointUnreachable || error instanceof ShutdownStateFault)) throw error;
          last = error instanceof SupervisorError ? error.message : String(error);
          return undefined;
        }
      },
      {
        timeoutMs: ctx.startTimeoutMs,
        intervalMs: ctx.pollIntervalMs,
        what: () => `waiting for supervisord at ${job.endpoint.url} to be RUNNING (${last})`,
      },
    ),
  );
}

/** The last lines of supervisord's log, read from its end only (it may be 50 MB, and on a remote host). */
async function tail(ctx: Context, path: string): Promise<string> {
  const result = await ctx.host
    .run('tail', ['-c', String(LOG_TAIL_BYTES), path], { timeoutMs: 10_000 })
    .catch(() => undefined);
  if (result?.code !== 0) return '';
  return result.output.split('\n').slice(-15).join('\n');
}

/** How much of the end of supervisord's log is read for its last lines. */
const LOG_TAIL_BYTES = 16 * 1024;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
