/**
 * `start-programs`, `restart-programs`, `stop-programs`: every program of the job's supervisord, or
 * the ones named (`name`, `group:name`, `group:*`). Idempotent: a running program is not started
 * again, a stopped one is not stopped again.
 */
import type { SupervisorClient } from '../client.js';
import { FaultCode, SupervisorFault } from '../errors.js';
import {
  blankProcessInfo,
  isRunning,
  isStopped,
  qualifiedName,
  type ProcessInfo,
  type ProcessStateName,
} from '../states.js';
import type { ProcessStatus } from '../xmlrpc/shapes.js';
import {
  contextOf,
  jobPidfile,
  pollUntil,
  withClient,
  type Context,
  type LifecycleOptions,
} from './context.js';
import {
  LifecycleTimeout,
  ProgramStartFailed,
  SupervisordNotRunning,
  type ProgramFailure,
} from './errors.js';
import { exitCodesOf, longestStopWaitSecs, type LifecycleJob } from './job.js';
import { selectProcesses } from './select.js';

/** Options of `stopPrograms`, and of `startPrograms` with the ones below. */
export interface ProgramsOptions extends LifecycleOptions {
  /** Only these programs: `name`, `group:name` or `group:*`. @default every program */
  programs?: readonly string[];
}

/** Options of `startPrograms`. */
export interface StartProgramsOptions extends ProgramsOptions {
  /** Stop the programs first. @default false */
  restart?: boolean;
  /** Called after each look at the programs in which one changed state. @default none */
  onProgress?: (progress: StartProgress) => void;
}

/** What changed while `startPrograms` waits. */
export interface StartProgress {
  /** Programs (`group:name`) whose state changed since the last look. */
  changes: { name: string; from: ProcessStateName; to: ProcessStateName }[];
  /** Programs not yet RUNNING, finished or failed. */
  waiting: string[];
}

/** The processes after a step, as supervisord reported them last. */
export interface ProgramsResult {
  processes: ProcessInfo[];
  notes: string[];
}

/**
 * Starts the programs and waits until each has been RUNNING for `steadyMs`, has run and exited with
 * an accepted code, or has failed; then fails naming every program that failed (a refused start,
 * FATAL, or an exit with an unexpected code) with its reason and log tail. Programs already running
 * are left alone unless `restart`.
 */
export async function startPrograms(
  job: LifecycleJob,
  options: StartProgramsOptions = {},
): Promise<ProgramsResult> {
  const ctx = contextOf(options, job);
  await requireRunning(ctx, job);
  return withClient(ctx, job, async (client) => {
    const infos = await client.getAllProcessInfo();
    const selected = selectProcesses(infos, options.programs ?? []);
    const names =
      selected.length < infos.length || options.programs?.length ? selected.map(qualifiedName) : undefined;
    if (options.restart) await stopEach(ctx, job, client, names);
    const before = pick(await client.getAllProcessInfo(), selected);
    const results = names
      ? await eachProcess(names, (name) => client.startProcess(name, false))
      : await client.startAllProcesses(false);
    // supervisord refuses some starts at once (NO_FILE, NOT_EXECUTABLE): the process stays STOPPED, so
    // its state alone would never tell. SPAWN_ERROR is not one: its process shows how it failed.
    const refused = results.filter(
      (r) =>
        r.status !== FaultCode.SUCCESS &&
        r.status !== FaultCode.ALREADY_STARTED &&
        r.status !== FaultCode.SPAWN_ERROR,
    );
    const start = judgeStart(job, before, refused, ctx.steadyMs);
    const report = progressReporter(before, start.settled, options.onProgress);
    let last = before;
    let late: ProgramFailure[] = [];
    try {
      await pollUntil(
        async () => {
          last = start.look(pick(await client.getAllProcessInfo(), selected));
          report(last);
          return last.every(start.settled) ? last : undefined;
        },
        {
          timeoutMs: ctx.programsTimeoutMs,
          intervalMs: ctx.pollIntervalMs,
          what: () =>
            `waiting for ${describeWaiting(last.filter((i) => !start.settled(i)))} of ${job.configPath} to be RUNNING`,
        },
      );
    } catch (error) {
      // a program still starting at the deadline is named along with the ones that failed meanwhile
      if (!(error instanceof LifecycleTimeout) || (refused.length === 0 && !last.some(start.failed)))
        throw error;
      late = last.filter((i) => !start.settled(i)).map((info) => stillStarting(info, ctx.programsTimeoutMs));
    }
    const failed = last.filter(start.failed);
    if (refused.length > 0 || failed.length > 0) {
      throw new ProgramStartFailed([...(await failures(client, last, refused, failed)), ...late]);
    }
    return { processes: last, notes: [] };
  });
}

/** `startPrograms` with `restart`: stop the programs, then start them. */
export function restartPrograms(
  job: LifecycleJob,
  options: StartProgramsOptions = {},
): Promise<ProgramsResult> {
  return startPrograms(job, { ...options, restart: true });
}

/** Stops the programs and waits until none runs; fine when supervisord or the programs are down. */
export async function stopPrograms(
  job: LifecycleJob,
  options: ProgramsOptions = {},
): Promise<ProgramsResult> {
  const ctx = contextOf(options, job);
  if ((await jobPidfile(ctx, job)).kind !== 'running') {
    return { processes: [], notes: ['supervisord is not running: no program to stop'] };
  }
  return withClient(ctx, job, async (client) => {
    const infos = await client.getAllProcessInfo();
    const selected = selectProcesses(infos, options.programs ?? []);
    const names =
      selected.length < infos.length || options.programs?.length ? selected.map(qualifiedName) : undefined;
    return { processes: await stopEach(ctx, job, client, names), notes: [] };
  });
}

/**
 * Stops the named processes (all when `names` is undefined) without waiting in the call (a long
 * stopwaitsecs would outlast it), then watches them until they are stopped.
 */
async function stopEach(
  ctx: Context,
  job: LifecycleJob,
  client: SupervisorClient,
  names: string[] | undefined,
): Promise<ProcessInfo[]> {
  const results = names
    ? await eachProcess(names, (name) => client.stopProcess(name, false))
    : await client.stopAllProcesses(false);
  const failed = results.filter((r) => r.status !== FaultCode.SUCCESS && r.status !== FaultCode.NOT_RUNNING);
  if (failed.length > 0) {
    const lines = failed.map((r) => `${r.group}:${r.name}: ${r.description}`).join('; ');
    throw new SupervisorFault(FaultCode.FAILED, `could not stop: ${lines}`, job.endpoint.url, 'stopProcess');
  }
  const wanted = names && new Set(names);
  return pollUntil(
    async () => {
      const infos = (await client.getAllProcessInfo()).filter((i) => !wanted || wanted.has(qualifiedName(i)));
      return infos.every((info) => isStopped(info)) ? infos : undefined;
    },
    {
      timeoutMs: (longestStopWaitSecs(job) + 10) * 1000,
      intervalMs: ctx.pollIntervalMs,
      what: () => `waiting for ${names ? names.join(', ') : 'every program'} of ${job.configPath} to stop`,
    },
  );
}

/** Calls `act` for each `group:name`, answering like the `…AllProcesses` calls: one status each. */
async function eachProcess(
  names: string[],
  act: (name: string) => Promise<unknown>,
): Promise<ProcessStatus[]> {
  const statuses: ProcessStatus[] = [];
  for (const name of names) {
    const [group = '', process = ''] = name.split(':');
    try {
      await act(name);
      statuses.push({ group, name: process, status: FaultCode.SUCCESS, description: 'OK' });
    } catch (error) {
      if (!(error instanceof SupervisorFault)) throw error;
      statuses.push({ group, name: process, status: error.code, description: error.faultString });
    }
  }
  return statuses;
}

/**
 * How each program stands after our start. Settled: refused, RUNNING for `steadyMs` (seen so across
 * our looks, or up that long by supervisord's clock, whole seconds so one more), done or failed.
 * Failed: FATAL or UNKNOWN, or exited with an unexpected code after our start; a refused start is
 * reported on its own.
 */
function judgeStart(
  job: LifecycleJob,
  before: readonly ProcessInfo[],
  refused: readonly ProcessStatus[],
  steadyMs: number,
) {
  const since = Math.min(...before.map((info) => info.now));
  const refusedNames = new Set(refused.map((r) => `${r.group}:${r.name}`));
  const runningSince = new Map<string, number>();
  const steady = (info: ProcessInfo) => {
    const seen = runningSince.get(qualifiedName(info));
    if (!isRunning(info) || seen === undefined) return false;
    return Date.now() - seen >= steadyMs || (info.now - info.start - 1) * 1000 >= steadyMs;
  };
  const failed = (info: ProcessInfo) => !refusedNames.has(qualifiedName(info)) && crashed(job, info, since);
  return {
    /** Takes note of which programs run now; returns `infos`. */
    look(infos: ProcessInfo[]): ProcessInfo[] {
      for (const info of infos) {
        const name = qualifiedName(info);
        if (!isRunning(info)) runningSince.delete(name);
        else if (!runningSince.has(name)) runningSince.set(name, Date.now());
      }
      return infos;
    },
    settled: (info: ProcessInfo) =>
      refusedNames.has(qualifiedName(info)) || steady(info) || finished(job, info, since) || failed(info),
    failed,
  };
}

function stillStarting(info: ProcessInfo, timeoutMs: number): ProgramFailure {
  return {
    name: qualifiedName(info),
    statename: info.statename,
    spawnerr: `still ${info.statename} after ${timeoutMs} ms`,
    exitstatus: info.exitstatus,
    logTail: '',
  };
}

/** The entries of `infos` for the `selected` processes, in supervisord's order. */
function pick(infos: readonly ProcessInfo[], selected: readonly ProcessInfo[]): ProcessInfo[] {
  const names = new Set(selected.map(qualifiedName));
  return infos.filter((info) => names.has(qualifiedName(info)));
}

/** Reports state changes between looks to `onProgress`, if any. */
function progressReporter(
  before: readonly ProcessInfo[],
  settled: (info: ProcessInfo) => boolean,
  onProgress: StartProgramsOptions['onProgress'],
): (infos: ProcessInfo[]) => void {
  const states = new Map(before.map((info) => [qualifiedName(info), info.statename]));
  return (infos) => {
    const changes: StartProgress['changes'] = [];
    for (const info of infos) {
      const name = qualifiedName(info);
      const from = states.get(name);
      if (from !== undefined && from !== info.statename) changes.push({ name, from, to: info.statename });
      states.set(name, info.statename);
    }
    if (changes.length > 0 && onProgress) {
      onProgress({ changes, waiting: infos.filter((info) => !settled(info)).map(qualifiedName) });
    }
  };
}

function describeWaiting(infos: readonly ProcessInfo[]): string {
  return infos.map((info) => `${qualifiedName(info)} (${info.statename})`).join(', ') || 'every program';
}

/** Every failure: refused starts first, then the programs that crashed, each with its log tail. */
async function failures(
  client: SupervisorClient,
  infos: readonly ProcessInfo[],
  refused: readonly ProcessStatus[],
  failed: readonly ProcessInfo[],
): Promise<ProgramFailure[]> {
  const refusedInfos = refused.map(
    (r) => infos.find((i) => i.group === r.group && i.name === r.name) ?? blankProcessInfo(r.group, r.name),
  );
  return Promise.all([
    ...refused.map((r, index) => describe(client, refusedInfos[index]!, r.description)),
    ...failed.map((info) => describe(client, info, '')),
  ]);
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
