/**
 * The setup steps: configure → start → start-programs, and restart-programs. Each checks first for a
 * user stop and the run's end conditions (a run started after its end does nothing and says why),
 * runs its `before_*` hook, the idempotent lifecycle step, then its `after_*` hook.
 */
import { configure, start, startPrograms } from '../../supervisor/lifecycle/index.js';
import type { ProgramsResult } from '../../supervisor/lifecycle/programs.js';
import { ProgramStartFailed } from '../../supervisor/lifecycle/errors.js';
import { limitReached } from '../limits.js';
import { noteFailedStartLogs } from '../program-logs.js';
import { stepHook } from '../points.js';
import { stepJobId } from '../names.js';
import { restartOnce, type RestartStep } from '../restart.js';
import { targetOf } from '../teardown-target.js';
import {
  hookFailed,
  interrupted,
  next,
  recordProgramStates,
  unhealthy,
  type StepContext,
  type Successor,
} from '../step-context.js';

/** A step that did not go as planned (programs unhealthy): its `after_*` hook does not run. */
interface Detour {
  detour: Successor;
}

/** Runs a setup step's work between its hooks, after the stop and limit checks. */
async function guarded(ctx: StepContext, work: () => Promise<Successor | Detour>): Promise<Successor> {
  const stopped = await interrupted(ctx);
  if (stopped) return stopped;
  const before = stepHook('before', ctx.data.step);
  if (before) {
    const failure = hookFailed(ctx, await ctx.hook(before));
    if (failure) return failure;
  }
  const result = await work();
  if ('detour' in result) return result.detour;
  const after = stepHook('after', ctx.data.step);
  if (after) {
    const failure = hookFailed(ctx, await ctx.hook(after));
    if (failure) return failure;
  }
  return result;
}

/** `configure`: the config file and directories. A run started after its end goes straight to `end`. */
export async function configureStep(ctx: StepContext): Promise<Successor> {
  const late = limitReached(ctx.data.limits, ctx.now());
  if (late) {
    return next(ctx.data, 'end', {
      outcome: { status: 'skipped', reason: 'late', message: `started after its end: ${late.message}` },
    });
  }
  return guarded(ctx, async () => {
    const job = await ctx.live();
    const result = await configure(job, ctx.lifecycle);
    await ctx.note(`configured ${result.configPath}${result.changed ? '' : ' (unchanged)'}`);
    // from now on teardown acts on what was configured here, whatever the job files say later
    return next(ctx.data, 'start', { teardown: targetOf(job) });
  });
}

/** `start`: supervisord up with the job's config. */
export async function startStep(ctx: StepContext): Promise<Successor> {
  return guarded(ctx, async () => {
    const result = await start(await ctx.live(), ctx.lifecycle);
    await ctx.note(`supervisord ${result.action} (pid ${result.pid})${notes(result.notes)}`);
    return next(ctx.data, 'start-programs');
  });
}

/** `start-programs`: every program RUNNING; `restart_on_initial` restarts them on the first cycle. */
export async function startProgramsStep(ctx: StepContext): Promise<Successor> {
  return guarded(ctx, async () => {
    const job = await ctx.live();
    const restart = ctx.data.cycle === 1 && job.options.restartOnInitial;
    return programsUp(ctx, restart ? 'restarted' : 'started', () =>
      restart ? restartOnce(job, [], restartStep(ctx), ctx.lifecycle) : startPrograms(job, ctx.lifecycle),
    );
  });
}

/** `restart-programs`: every program (restart_on_retrigger), or the unhealthy ones only. */
export async function restartProgramsStep(ctx: StepContext): Promise<Successor> {
  return guarded(ctx, async () => {
    const job = await ctx.live();
    const which = ctx.data.restart ?? 'all';
    const programs = which === 'all' ? [] : which;
    const up = await programsUp(ctx, 'restarted', () =>
      restartOnce(job, programs, restartStep(ctx), ctx.lifecycle),
    );
    return 'detour' in up ? up : next(ctx.data, 'watch', { restart: undefined });
  });
}

/**
 * Starts or restarts programs and records how they came up; a program that fails to start is the
 * unhealthy case (a detour: on_unhealthy or a restart, retrigger count + 1).
 */
async function programsUp(
  ctx: StepContext,
  done: string,
  work: () => Promise<ProgramsResult & { skipped?: string[] }>,
): Promise<Successor | Detour> {
  try {
    const result = await work();
    await recordProgramStates(ctx, result.processes);
    const skipped = result.skipped?.length
      ? ` (${result.skipped.join(', ')} restarted by an earlier attempt of this step)`
      : '';
    await ctx.note(`programs ${done}: ${summary(result.processes)}${skipped}`);
  } catch (error) {
    if (!(error instanceof ProgramStartFailed)) throw error;
    const failed = error.failures.map((f) => f.name);
    await noteFailedStartLogs(ctx, await ctx.live(), failed, ctx.lifecycle);
    return { detour: await unhealthy(ctx, failed, startFailure(error)) };
  }
  return next(ctx.data, 'watch');
}

/** Where the step keeps when it first restarted programs (a retry restarts none twice). */
function restartStep(ctx: StepContext): RestartStep {
  const { data } = ctx;
  return {
    store: ctx.store,
    runId: data.runId,
    stepId: ctx.bullJob.id ?? stepJobId(data.runId, data.cycle, data.step),
  };
}

function notes(list: string[]): string {
  return list.length ? ` (${list.join('; ')})` : '';
}

function summary(processes: { group: string; name: string; statename: string; pid: number }[]): string {
  return processes
    .map((p) => `${p.group === p.name ? p.name : `${p.group}:${p.name}`} ${p.statename}`)
    .join(', ');
}

/** One line for a ProgramStartFailed: each program with why (its logs are noted in the run's events). */
function startFailure(error: ProgramStartFailed): string {
  const which = error.failures.map((f) => {
    const state = f.statename === 'EXITED' ? `EXITED ${f.exitstatus}` : f.statename;
    return `${f.name} (${state}${f.spawnerr ? `: ${f.spawnerr}` : ''})`;
  });
  return which.length ? `failed to start: ${which.join(', ')}` : error.message.split('\n')[0]!;
}
