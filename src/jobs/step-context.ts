/**
 * What a step runs with, what it leads to, and the transitions every step shares: to teardown (with
 * an outcome), to the unhealthy path (a hook or a restart, bounded by maxretrigger), and the checks
 * a setup step makes first (a user stop, an end condition).
 */
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { ResolvedJob } from '../config/convenience.js';
import type { JobConfig } from '../config/job.js';
import type { TriggerRecord } from '../protocol/index.js';
import type { LifecycleOptions } from '../supervisor/lifecycle/context.js';
import type { HookResult, JobHookMap, JobHooks } from './hooks.js';
import type { JobHost } from './host.js';
import { limitReached } from './limits.js';
import type { HookPoint, Step } from './points.js';
import type { Outcome, RunData } from './run-data.js';
import { JobRunError } from './errors.js';
import type { JobSpec, RunStore } from './store.js';

/** What a step leads to: the next step job, a watch (trigger + evaluate continuation), or nothing. */
export type Successor =
  | { kind: 'step'; data: RunData }
  | { kind: 'watch'; data: RunData; triggerId: string; record: TriggerRecord }
  | { kind: 'none' };

/** Everything a step needs; built by the worker for each step job. */
export interface StepContext {
  data: RunData;
  spec: JobSpec;
  /** The job as loaded on this worker; undefined when its files no longer load (teardown goes on without it). */
  job: ResolvedJob | undefined;
  config: JobConfig | undefined;
  host: JobHost;
  store: RunStore;
  lifecycle: LifecycleOptions;
  /** The step job (evaluate reads its trigger child's event from it). */
  bullJob: Job;
  log: Logger;
  now(): number;
  /** Records an event of the run (and logs it). */
  note(message: string, level?: 'info' | 'warn' | 'error'): Promise<void>;
  /** Runs the hooks of a point with the run's context. */
  hook<P extends HookPoint>(
    point: P,
    extra?: Omit<JobHookMap[P], keyof JobHookMap['before_start']>,
  ): Promise<HookResult>;
  /** The worker's TypeScript hooks (to know whether a point has one). */
  hooks?: JobHooks;
}

/** The programs' states as the run record keeps them (what `job status` shows). */
export async function recordProgramStates(
  ctx: StepContext,
  processes: readonly { group: string; name: string; statename: string; pid?: number; exitstatus: number }[],
): Promise<void> {
  const programs = processes.map((p) => ({
    name: `${p.group}:${p.name}`,
    state: p.statename,
    ...(p.pid ? { pid: p.pid } : {}),
    exitstatus: p.exitstatus,
  }));
  await ctx.store.record(ctx.data.runId, { programs: JSON.stringify(programs) });
}

/** The job as loaded, or an error saying it could not be (setup steps need it). */
export function jobOf(ctx: StepContext): ResolvedJob {
  if (ctx.job === undefined)
    throw new JobRunError(
      `job ${ctx.data.job.name}: its files do not load on this worker (see the run's events)`,
    );
  return ctx.job;
}

/** The next step with the run's data. */
export function next(data: RunData, step: Step, changes: Partial<RunData> = {}): Successor {
  return { kind: 'step', data: { ...data, ...changes, step } };
}

/** Teardown with `outcome` (a run already tearing down keeps its first outcome). */
export function teardown(data: RunData, outcome: Outcome): Successor {
  return next(data, 'stop-programs', { outcome: data.outcome ?? outcome, restart: undefined });
}

/** The run failed: teardown, with the reason. */
export function failed(data: RunData, reason: string, message: string): Successor {
  return teardown(data, { status: 'failed', reason, message });
}

/**
 * What a setup step checks before it acts: a user stop (teardown, stopped) or an end condition
 * (teardown, succeeded). Undefined when the step may go on.
 */
export async function interrupted(ctx: StepContext): Promise<Successor | undefined> {
  const stop = await ctx.store.stopRequested(ctx.data.runId);
  if (stop !== undefined) {
    return teardown(ctx.data, { status: 'stopped', reason: 'stop', message: stop });
  }
  const limit = limitReached(ctx.data.limits, ctx.now());
  if (limit) return teardown(ctx.data, { status: 'succeeded', reason: limit.reason, message: limit.message });
  return undefined;
}

/** A `before_*`/`after_*` hook of a setup step that failed: the run fails with its summary. */
export function hookFailed(ctx: StepContext, result: HookResult): Successor | undefined {
  return result.ok ? undefined : failed(ctx.data, 'hook', `hook failed: ${result.summary}`);
}

/**
 * Programs unhealthy (the watch fired `restart`, or they failed to start): past maxretrigger the run
 * fails; otherwise the retrigger count goes up and the `on_unhealthy` hook takes the place of the
 * restart when it succeeds, else the unhealthy programs are restarted; then a new watch.
 */
export async function unhealthy(ctx: StepContext, bad: string[], message: string): Promise<Successor> {
  const { data } = ctx;
  const max = ctx.job?.options.maxretrigger;
  if (max !== undefined && data.retriggers >= max) {
    return failed(data, 'maxretrigger', `${message}; maxretrigger (${max}) reached`);
  }
  const changes: Partial<RunData> = {
    retriggers: data.retriggers + 1,
    cycle: data.cycle + 1,
    watchFailures: 0,
  };
  const hasHook = ctx.job?.options.hooks.on_unhealthy !== undefined || ctx.hooks?.on_unhealthy !== undefined;
  if (hasHook) {
    const result = await ctx.hook('on_unhealthy', { bad, message });
    if (result.ok) {
      await ctx.note(`${message}: on_unhealthy handled it, watching again`);
      return next(data, 'watch', changes);
    }
    await ctx.note(`on_unhealthy failed, restarting instead: ${result.summary}`, 'warn');
  }
  const restart = ctx.job?.options.restartOnRetrigger ? 'all' : bad;
  await ctx.note(`${message}: restarting ${restart === 'all' ? 'every program' : bad.join(', ')}`);
  return next(data, 'restart-programs', { ...changes, restart });
}
