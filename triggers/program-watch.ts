/**
 * `supervisor.ProgramWatchTrigger`: the always-on watch. Fires when the watched programs stop being
 * healthy, with a decision: `stop` (all done, or the runtime/endtime limit reached) or `restart`
 * (some program FATAL, UNKNOWN, BACKOFF or EXITED with an unexpected code).
 */
import { map, merge, mergeMap, tap } from 'rxjs';
import { z } from 'zod';
import { isBad, isDone, qualifiedName, type ProcessInfo } from '../src/supervisor/states.js';
import { defineTrigger } from '../src/triggerer/definition.js';
import { atTime } from '../src/triggerer/operators/at-time.js';
import { firstMatching } from '../src/triggerer/operators/first-matching.js';
import { toProgramStates } from '../src/triggerer/operators/to-program-states.js';
import type { TriggerOutcome } from '../src/protocol/index.js';
import * as kw from './kwargs.js';
import { withProgramLogs } from './log-tails.js';
import { stopWatchedPrograms, summarize } from './programs.js';

export const ProgramWatchKwargs = z.strictObject({
  endpoint: kw.endpoint(),
  programs: kw.programs(),
  exitcodes: kw.exitcodes().default([0]),
  /** Accepted exit codes per program (`name` or `group:name`), where they differ from `exitcodes`. */
  program_exitcodes: z.record(z.string(), kw.exitcodes()).optional(),
  interval: kw.interval().optional(),
  unreachable_budget: kw.unreachableBudget(),
  /** Longest run, measured from `reference_time` (kept unchanged across retriggers). */
  runtime: kw.duration().optional(),
  /** When the run started; defaults to when the record was enqueued. */
  reference_time: kw.isoTime().optional(),
  /** Wall-clock end of the run. */
  endtime: kw.isoTime().optional(),
  on_cancel: kw.onCancel(),
  log_tail: kw.logTail(),
});
export type ProgramWatchKwargs = z.output<typeof ProgramWatchKwargs>;

export type WatchReason = 'done' | 'unhealthy' | 'runtime' | 'endtime';

/** The payload of a ProgramWatchTrigger event. */
export interface WatchDecision {
  decision: 'stop' | 'restart';
  reason: WatchReason;
  /** Human-readable explanation. */
  message: string;
  programs: ReturnType<typeof summarize>[];
  /** Qualified names of the programs that made it `restart`. */
  bad: string[];
}

interface Limits {
  runtimeEndsAt?: number;
  endtime?: number;
}

/** Accepted exit codes of each program: its own entry (`group:name`, then its group), else the default. */
export type ExitCodes = readonly number[] | ((info: ProcessInfo) => readonly number[]);

/** Exit codes per program from the kwargs. */
function exitCodesOf(exitcodes: readonly number[], perProgram?: Record<string, number[]>): ExitCodes {
  if (perProgram === undefined) return exitcodes;
  return (info) =>
    perProgram[qualifiedName(info)] ?? perProgram[info.group] ?? perProgram[info.name] ?? exitcodes;
}

/** The decision on one snapshot at time `now`, or undefined while the programs are healthy. */
export function decideWatch(
  infos: readonly ProcessInfo[],
  exitcodes: ExitCodes,
  limits: Limits,
  now: number,
): WatchDecision | undefined {
  const codes = typeof exitcodes === 'function' ? exitcodes : () => exitcodes;
  const programs = infos.map(summarize);
  if (limits.endtime !== undefined && now >= limits.endtime) {
    return { decision: 'stop', reason: 'endtime', message: 'the endtime has passed', programs, bad: [] };
  }
  if (limits.runtimeEndsAt !== undefined && now >= limits.runtimeEndsAt) {
    return {
      decision: 'stop',
      reason: 'runtime',
      message: 'the runtime limit was reached',
      programs,
      bad: [],
    };
  }
  const bad = infos.filter((info) => isBad(info, codes(info)) || info.statename === 'BACKOFF');
  if (bad.length > 0) {
    const which = bad.map(
      (i) => `${qualifiedName(i)} (${i.statename}${i.statename === 'EXITED' ? ` ${i.exitstatus}` : ''})`,
    );
    return {
      decision: 'restart',
      reason: 'unhealthy',
      message: `unhealthy: ${which.join(', ')}`,
      programs,
      bad: bad.map(qualifiedName),
    };
  }
  if (infos.every((info) => isDone(info, codes(info)))) {
    return { decision: 'stop', reason: 'done', message: 'all programs finished', programs, bad: [] };
  }
  return undefined;
}

const fired = (payload: WatchDecision): TriggerOutcome => ({ status: 'fired', payload: { ...payload } });

export const ProgramWatchTrigger = defineTrigger({
  classpath: 'supervisor.ProgramWatchTrigger',
  kwargs: ProgramWatchKwargs,
  run(k, ctx) {
    const reference =
      k.reference_time !== undefined ? Date.parse(k.reference_time) : (ctx.enqueuedAt ?? ctx.now());
    const limits: Limits = {
      runtimeEndsAt: k.runtime !== undefined ? reference + k.runtime : undefined,
      endtime: k.endtime !== undefined ? Date.parse(k.endtime) : undefined,
    };
    const exitcodes = exitCodesOf(k.exitcodes, k.program_exitcodes);
    let last: ProcessInfo[] = [];
    const onSnapshots = ctx
      .processInfo(k.endpoint, { intervalMs: k.interval, unreachableBudgetMs: k.unreachable_budget })
      .pipe(
        toProgramStates(k.programs),
        tap((infos) => (last = infos)),
        map((infos) => decideWatch(infos, exitcodes, limits, ctx.now())),
      );
    // the limits also fire between polls and while the endpoint is down
    const onLimits = [limits.runtimeEndsAt, limits.endtime]
      .filter((at): at is number => at !== undefined)
      .map((at) =>
        atTime(at, () => ctx.now()).pipe(map(() => decideWatch(last, exitcodes, limits, ctx.now()))),
      );
    return merge(onSnapshots, ...onLimits).pipe(
      firstMatching((decision) => decision),
      // The logs of the programs that made it restart, or of all of them when they are done.
      mergeMap((decision) => {
        const affected =
          decision.reason === 'unhealthy'
            ? last.filter((info) => decision.bad.includes(qualifiedName(info)))
            : decision.reason === 'done'
              ? last
              : [];
        return withProgramLogs(fired(decision), ctx.client(k.endpoint), affected, k.log_tail);
      }),
    );
  },
  async onCancel(k, ctx) {
    if (k.on_cancel === 'stop_programs')
      await stopWatchedPrograms(ctx.client(k.endpoint), k.programs, ctx.logger);
  },
});
