/** `start-programs`, `restart-programs`, `stop-programs`: every program of the job's supervisord. */
import type { SupervisorClient } from '../client.js';
import { FaultCode, SupervisorFault } from '../errors.js';
import { blankProcessInfo, isRunning, isStopped, qualifiedName, type ProcessInfo } from '../states.js';
import {
  contextOf,
  jobPidfile,
  pollUntil,
  withClient,
  type Context,
  type LifecycleOptions,
} from './context.js';
import { ProgramStartFailed, SupervisordNotRunning, type ProgramFailure } from './errors.js';
import { exitCodesOf, longestStopWaitSecs, type LifecycleJob } from './job.js';

/** Options of `startPrograms`. */
export interface StartProgramsOptions extends LifecycleOptions {
  /** Stop every program first. @default false */
  restart?: boolean;
}

/** The processes after a step, as supervisord reported them last. */
export interface ProgramsResult {
  processes: ProcessInfo[];
  notes: string[];
}

/**
 * Starts every program and waits until each is RUNNING (or has run and exited with an accepted
 * code). Fails fast with the spawn error and the log tail of any program that cannot start or turns
 * FATAL; programs already running are left alone unless `restart`.
 */
export async function startPrograms(
  job: LifecycleJob,
  options: StartProgramsOptions = {},
): Promise<ProgramsResult> {
  const ctx = contextOf(options, job);
  await requireRunning(ctx, job);
  return withClient(ctx, job, async (client) => {
    if (options.restart) await stopAll(ctx, job, client);
    const before = await client.getAllProcessInfo();
    const since = Math.min(...before.map((info) => info.now));
    const results = await client.startAllProcesses(false);
    // supervisord refuses some starts at once (NO_FILE, NOT_EXECUTABLE, SPAWN_ERROR): the process
    // stays STOPPED, so its state alone would never tell.
    const refused = results.filter(
      (r) => r.status !== FaultCode.SUCCESS && r.status !== FaultCode.ALREADY_STARTED,
    );
    if (refused.length > 0) {
      const infos = await client.getAllProcessInfo();
      const failures = await Promise.all(
        refused.map((r) => {
          const info = infos.find((i) => i.group === r.group && i.name === r.name);
          return describe(client, info ?? blankProcessInfo(r.group, r.name), r.description);
        }),
      );
      throw new ProgramStartFailed(failures);
    }
    const processes = await pollUntil(
      async () => {
        const infos = await client.getAllProcessInfo();
        const failed = infos.filter((info) => crashed(job, info, since));
        if (failed.length > 0) {
          throw new ProgramStartFailed(await Promise.all(failed.map((info) => describe(client, info, ''))));
        }
        return infos.every((info) => isRunning(info) || finished(job, info, since)) ? infos : undefined;
      },
      {
        timeoutMs: ctx.programsTimeoutMs,
        intervalMs: ctx.pollIntervalMs,
        what: () => `waiting for every program of ${job.configPath} to be RUNNING`,
      },
    );
    return { processes, notes: [] };
  });
}

/** `startPrograms` with `restart`: stop every program, then start them all. */
export function restartPrograms(job: LifecycleJob, options: LifecycleOptions = {}): Promise<ProgramsResult> {
  return startPrograms(job, { ...options, restart: true });
}

/** Stops every program and waits until none runs; fine when supervisord or the programs are down. */
export async function stopPrograms(
  job: LifecycleJob,
  options: LifecycleOptions = {},
): Promise<ProgramsResult> {
  const ctx = contextOf(options, job);
  if ((await jobPidfile(ctx, job)).kind !== 'running') {
    return { processes: [], notes: ['supervisord is not running: no program to stop'] };
  }
  return withClient(ctx, job, async (client) => ({ processes: await stopAll(ctx, job, client), notes: [] }));
}

/** stopAllProcesses without waiting in the call (a long stopwaitsecs would outlast it), then watch. */
async function stopAll(ctx: Context, job: LifecycleJob, client: SupervisorClient): Promise<ProcessInfo[]> {
  const results = await client.stopAllProcesses(false);
  const failed = results.filter((r) => r.status !== FaultCode.SUCCESS && r.status !== FaultCode.NOT_RUNNING);
  if (failed.length > 0) {
    const lines = failed.map((r) => `${r.group}:${r.name}: ${r.description}`).join('; ');
    throw new SupervisorFault(
      FaultCode.FAILED,
      `could not stop: ${lines}`,
      job.endpoint.url,
      'stopAllProcesses',
    );
  }
  return pollUntil(
    async () => {
      const infos = await client.getAllProcessInfo();
      return infos.every((info) => isStopped(info)) ? infos : undefined;
    },
    {
      timeoutMs: (longestStopWaitSecs(job) + 10) * 1000,
      intervalMs: ctx.pollIntervalMs,
      what: () => `waiting for every program of ${job.configPath} to stop`,
    },
  );
}

async function requireRunning(ctx: Context, job: LifecycleJob): Promise<void> {
  const status = await jobPidfile(ctx, job);
  if (status.kind !== 'running') {
    const why =
      status.kind === 'stale' ? `stale pidfile: pid ${status.pid ?? '?'} ${status.reason}` : 'no pidfile';
    throw new SupervisordNotRunning(
      `supervisord of ${job.configPath} is not running (${why}): run 'start' first`,
    );
  }
}

/** FATAL or UNKNOWN, or exited with an unexpected code after our start. */
function crashed(job: LifecycleJob, info: ProcessInfo, since: number): boolean {
  if (info.statename === 'FATAL' || info.statename === 'UNKNOWN') return true;
  return (
    info.statename === 'EXITED' &&
    info.start >= since &&
    !exitCodesOf(job, info.group, info.name).includes(info.exitstatus)
  );
}

/** Ran after our start and exited with an accepted code: a short job that is already done. */
function finished(job: LifecycleJob, info: ProcessInfo, since: number): boolean {
  return (
    info.statename === 'EXITED' &&
    info.start >= since &&
    exitCodesOf(job, info.group, info.name).includes(info.exitstatus)
  );
}

async function describe(
  client: SupervisorClient,
  info: ProcessInfo,
  refusal: string,
): Promise<ProgramFailure> {
  const name = qualifiedName(info);
  return {
    name,
    statename: info.statename,
    spawnerr: refusal || info.spawnerr,
    exitstatus: info.exitstatus,
    logTail: await logTail(client, name),
  };
}

/** The end of the program's stderr log, else of its stdout log (redirect_stderr); '' when neither exists. */
async function logTail(client: SupervisorClient, name: string): Promise<string> {
  for (const read of [client.tailProcessStderrLog, client.tailProcessStdoutLog]) {
    try {
      const { text } = await read.call(client, name, 0, 2000);
      if (text.trim()) return text;
    } catch {
      // no such log (NO_FILE): try the other one
    }
  }
  return '';
}
