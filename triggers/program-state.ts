/**
 * `supervisor.ProgramStateTrigger`: fires when the named programs reach one of the target states,
 * all of them (`mode: all`) or any one (`mode: any`).
 */
import { mergeMap } from 'rxjs';
import { z } from 'zod';
import type { ProcessInfo } from '../src/supervisor/states.js';
import { defineTrigger } from '../src/triggerer/definition.js';
import { firstMatching } from '../src/triggerer/operators/first-matching.js';
import { selectPrograms } from '../src/triggerer/operators/to-program-states.js';
import * as kw from './kwargs.js';
import { withProgramLogs } from './log-tails.js';
import { stopWatchedPrograms, summarize } from './programs.js';

export const ProgramStateKwargs = z.strictObject({
  endpoint: kw.endpoint(),
  programs: kw.programs(),
  states: kw.states(),
  mode: z.enum(['all', 'any'], { error: 'expected "all" or "any"' }).default('all'),
  /** When given, an EXITED program counts as EXITED only with one of these codes. */
  exitcodes: kw.exitcodes().optional(),
  interval: kw.interval().optional(),
  unreachable_budget: kw.unreachableBudget(),
  on_cancel: kw.onCancel(),
  log_tail: kw.logTail(),
});
export type ProgramStateKwargs = z.output<typeof ProgramStateKwargs>;

/** Whether one process is in a target state. */
function inTarget(info: ProcessInfo, k: ProgramStateKwargs): boolean {
  if (!k.states.includes(info.statename)) return false;
  return info.statename !== 'EXITED' || k.exitcodes === undefined || k.exitcodes.includes(info.exitstatus);
}

export const ProgramStateTrigger = defineTrigger({
  classpath: 'supervisor.ProgramStateTrigger',
  kwargs: ProgramStateKwargs,
  // One operator per watcher rather than select, decide and map piped (thousands of watchers per
  // triggerer: each piped operator is one more subscriber kept per watcher).
  run: (k, ctx) =>
    ctx.processInfo(k.endpoint, { intervalMs: k.interval, unreachableBudgetMs: k.unreachable_budget }).pipe(
      firstMatching((snapshot) => {
        const infos = selectPrograms(snapshot, k.programs);
        const matched = infos.filter((info) => inTarget(info, k));
        const fires = k.mode === 'all' ? matched.length === infos.length : matched.length > 0;
        if (!fires) return undefined;
        const outcome = {
          status: 'fired' as const,
          payload: { programs: infos.map(summarize), matched: matched.map((i) => `${i.group}:${i.name}`) },
        };
        return { outcome, matched };
      }),
      // The logs of the programs that matched, read now (after the decision: one read per event).
      mergeMap(({ outcome, matched }) =>
        withProgramLogs(outcome, ctx.client(k.endpoint), matched, k.log_tail),
      ),
    ),
  async onCancel(k, ctx) {
    if (k.on_cancel === 'stop_programs')
      await stopWatchedPrograms(ctx.client(k.endpoint), k.programs, ctx.logger);
  },
});
