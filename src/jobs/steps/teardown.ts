/**
 * Teardown: stop-programs → stop → unconfigure → end, whatever the run's outcome. Each acts on what
 * `configure` recorded (src/jobs/teardown-target.ts), so a job file changed or broken since changes
 * nothing. `stop_on_exit: false` leaves supervisord and the programs running; `cleanup: false` keeps
 * the working dir (and cleanup never removes what a running supervisord uses). A hook that fails
 * here is recorded, never a reason to leave something running. `end` runs `on_end` and releases the
 * job's run key.
 */
import { stop, stopPrograms, unconfigure } from '../../supervisor/lifecycle/index.js';
import { stepHook, type Step } from '../points.js';
import type { Outcome } from '../run-data.js';
import { next, recordProgramStates, type StepContext, type Successor } from '../step-context.js';
import { teardownOf, type Teardown } from '../teardown-target.js';

/** Runs a teardown step's work between its hooks; a failing hook is noted and the step goes on. */
async function between(
  ctx: StepContext,
  work: (target: Teardown) => Promise<void>,
  then: Step,
): Promise<Successor> {
  const before = stepHook('before', ctx.data.step);
  if (before) await noted(ctx, await ctx.hook(before));
  const target = await teardownOf(ctx);
  if (target === undefined) {
    await ctx.note(
      `${ctx.data.step} skipped: the job's files do not load on this worker and the run never configured`,
      'error',
    );
  } else {
    await work(target);
  }
  const after = stepHook('after', ctx.data.step);
  if (after) await noted(ctx, await ctx.hook(after));
  return next(ctx.data, then);
}

async function noted(ctx: StepContext, result: { ok: boolean; summary: string }): Promise<void> {
  if (!result.ok) await ctx.note(`hook failed (teardown goes on): ${result.summary}`, 'warn');
}

/** `stop-programs`: every program stopped, when the job says stop_on_exit. */
export function stopProgramsStep(ctx: StepContext): Promise<Successor> {
  return between(
    ctx,
    async ({ job, lifecycle, stopOnExit }) => {
      if (!stopOnExit) return ctx.note('programs left running (stop_on_exit: false)');
      const result = await stopPrograms(job, lifecycle);
      await recordProgramStates(ctx, result.processes);
      await ctx.note(result.notes.length ? result.notes.join('; ') : 'programs stopped');
    },
    'stop',
  );
}

/** `stop`: supervisord stopped (SIGTERM, then SIGKILL of it and its programs), when stop_on_exit. */
export function stopStep(ctx: StepContext): Promise<Successor> {
  return between(
    ctx,
    async ({ job, lifecycle, stopOnExit }) => {
      if (!stopOnExit) return ctx.note('supervisord left running (stop_on_exit: false)');
      const result = await stop(job, lifecycle);
      const pid = result.pid === undefined ? '' : ` (pid ${result.pid})`;
      await ctx.note(
        `supervisord ${result.action}${pid}${result.notes.length ? `: ${result.notes.join('; ')}` : ''}`,
      );
    },
    'unconfigure',
  );
}

/** `unconfigure`: what configure created removed, when cleanup and supervisord is down. */
export function unconfigureStep(ctx: StepContext): Promise<Successor> {
  return between(
    ctx,
    async ({ job, lifecycle, stopOnExit, cleanup }) => {
      if (!cleanup) return ctx.note(`working dir kept (cleanup: false): ${job.workingDir}`);
      if (!stopOnExit) {
        return ctx.note(`working dir kept: supervisord still runs from it (stop_on_exit: false)`);
      }
      const result = await unconfigure(job, lifecycle);
      await ctx.note(`removed ${result.removed.length} paths of ${job.workingDir}`);
    },
    'end',
  );
}

/** `end`: on_end, the outcome recorded, the job's run key released. */
export async function endStep(ctx: StepContext): Promise<Successor> {
  const outcome: Outcome = ctx.data.outcome ?? { status: 'succeeded', reason: 'done', message: 'ended' };
  const result = await ctx.hook('on_end', { outcome });
  if (!result.ok) await ctx.note(`on_end failed: ${result.summary}`, 'warn');
  await ctx.store.record(ctx.data.runId, {
    outcome: JSON.stringify(outcome),
    endedAt: new Date(ctx.now()).toISOString(),
  });
  await ctx.note(`run ${outcome.status}: ${outcome.message}`, outcome.status === 'failed' ? 'error' : 'info');
  await ctx.store.release(ctx.data.job.name, ctx.data.runId);
  return { kind: 'none' };
}
