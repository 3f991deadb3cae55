/**
 * The setup steps: configure → start → start-programs, and restart-programs. Each checks first for a
 * user stop and the run's end conditions (a run started after its end does nothing and says why),
 * runs its `before_*` hook, the idempotent lifecycle step, then its `after_*` hook.
 */
import { configure, restartPrograms, start, startPrograms } from '../../supervisor/lifecycle/index.js';
import { ProgramStartFailed } from '../../supervisor/lifecycle/errors.js';
import { limitReached } from '../limits.js';
import { stepHook } from '../points.js';
import { restartNamed } from '../restart.js';
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
    try {
      const result = await startPrograms(job, { ...ctx.lifecycle, restart });
      await recordProgramStates(ctx, result.processes);
      await ctx.note(`programs ${restart ? 'restarted' : 'started'}: ${summary(result.processes)}`);
    } catch (error) {
      if (!(error instanceof ProgramStartFailed)) throw error;
      return {
        detour: await unhealthy(
          ctx,
          error.failures.map((f) => f.name),
          startFailure(error),
        ),
      };
    }
    return next(ctx.data, 'watch');
  });
}

/** `restart-programs`: every program (restart_on_retrigger), or the unhealthy ones only. */
export async function restartProgramsStep(ctx: StepContext): Promise<Successor> {
  return guarded(ctx, async () => {
    const job = await ctx.live();
    const which = ctx.data.restart ?? 'all';
    if (which === 'all') {
      try {
        const result = await restartPrograms(job, ctx.lifecycle);
        await recordProgramStates(ctx, result.processes);
        await ctx.note(`programs restarted: ${summary(result.processes)}`);
      } catch (error) {
        if (!(error instanceof ProgramStartFailed)) throw error;
        return {
          detour: await unhealthy(
            ctx,
            error.failures.map((f) => f.name),
            startFailure(error),
          ),
        };
      }
    } else {
      const result = await restartNamed(job, which, ctx.lifecycle);
      if (result.started.length) await ctx.note(`restarted ${result.started.join(', ')}`);
      if (result.refused.length) {
        const why = result.refused.map((r) => `${r.name}: ${r.why}`).join('; ');
        return {
          detour: await unhealthy(
            ctx,
            result.refused.map((r) => r.name),
            `could not start ${why}`,
          ),
        };
      }
    }
    return next(ctx.data, 'watch', { restart: undefined });
  });
}

function notes(list: string[]): string {
  return list.length ? ` (${list.join('; ')})` : '';
}

function summary(processes: { group: string; name: string; statename: string; pid: number }[]): string {
  return processes
    .map((p) => `${p.group === p.name ? p.name : `${p.group}:${p.name}`} ${p.statename}`)
    .join(', ');
}

/** One line for a ProgramStartFailed: each program with why (its log tail stays in the run's events). */
function startFailure(error: ProgramStartFailed): string {
  const which = error.failures.map((f) => `${f.name} (${f.spawnerr || `${f.statename} ${f.exitstatus}`})`);
  return which.length ? `failed to start: ${which.join(', ')}` : error.message.split('\n')[0]!;
}
