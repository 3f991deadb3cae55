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
import { TEARDOWN_STEPS, type HookPoint, type Step } from './points.js';
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
  /**
   * The job as its files declare it now, resolved without its host (options, paths, programs): its
   * credentials are not read, so it never calls supervisord. Undefined when the files do not load.
   */
  declared: ResolvedJob | undefined;
  config: JobConfig | undefined;
  /**
   * The job with its state read from its host (credentials, an auto port), on first use. Throws
   * JobRunError when its files do not load, a host error when the host cannot be reached.
   */
  live(): Promise<ResolvedJob>;
  host: JobHost;
  store: RunStore;
  /** The lifecycle options on the job's host. */
  lifecycle: LifecycleOptions;
  /** The worker's lifecycle options, before a host is chosen (teardown picks the recorded one). */
  baseLifecycle: LifecycleOptions;
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

/** The job as declared, or an error saying its files do not load (setup steps need it). */
export function declaredOf(ctx: StepContext): ResolvedJob {
  if (ctx.declared === undefined)
    throw new JobRunError(
      `job ${ctx.data.job.name}: its files do not load on this worker (see the run's events)`,
    );
  return ctx.declared;
}

/** The next step with the run's data. */
export function next(data: RunData, step: Step, changes: Partial<RunData> = {}): Successor {
  return { kind: 'step', data: { ...data, ...changes, step } };
}

/** Teardown with `outcome` (a run already tearing down keeps its first outcome). */
export function teardown(data: RunData, outcome: Outcome): Successor {
  return next(data, 'stop-programs', { outcome: data.outcome ?? outcome, restart: undefined });
}

/**
 * What a step that failed for good leads to: a setup step fails the run (teardown); teardown goes on,
 * and a `stop` or `unconfigure` that failed makes the run `failed` (`teardown`) whatever it ended with
 * before, since what it leaves (a running supervisord, the working dir) is still there. `end` leads
 * nowhere (the worker releases the run).
 */
export function afterError(data: RunData, message: string): Successor {
  const index = TEARDOWN_STEPS.indexOf(data.step);
  if (index === -1) return failed(data, 'error', `${data.step} failed: ${message}`);
  const then = TEARDOWN_STEPS[index + 1];
  if (then === undefined) return { kind: 'none' };
  if (data.step === 'stop-programs') return next(data, then);
  return next(data, then, { outcome: teardownFailed(data, message) });
}

/** The outcome of a run whose teardown failed (the first such failure is kept). */
function teardownFailed(data: RunData, message: string): Outcome {
  if (data.outcome?.reason === 'teardown') return data.outcome;
  const before = data.outcome
    ? `; before that the run ${data.outcome.status} (${data.outcome.reason}: ${data.outcome.message})`
    : '';
  return { status: 'failed', reason: 'teardown', message: `${data.step} failed: ${message}${before}` };
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

/** How an unhealthy run goes on when supervisord itself is gone. */
export interface SupervisordDown {
  /** Failed watches in a row so far, carried to the next watch. */
  watchFailures: number;
}

/**
 * Programs unhealthy (the watch fired `restart`, or they failed to start): past maxretrigger the run
 * fails; otherwise the retrigger count goes up and the `on_unhealthy` hook takes the place of the
 * restart when it succeeds, else the unhealthy programs are restarted; then a new watch. With `down`
 * (supervisord is gone) the way on is always `start` (supervisord, then every program): a hook cannot
 * bring supervisord back, so it runs as a notification, and the failed watches are carried.
 */
export async function unhealthy(
  ctx: StepContext,
  bad: string[],
  message: string,
  down?: SupervisordDown,
): Promise<Successor> {
  const { data } = ctx;
  const max = ctx.declared?.options.maxretrigger;
  if (max !== undefined && data.retriggers >= max) {
    return failed(data, 'maxretrigger', `${message}; maxretrigger (${max}) reached`);
  }
  const changes: Partial<RunData> = {
    retriggers: data.retriggers + 1,
    cycle: data.cycle + 1,
    watchFailures: down?.watchFailures ?? 0,
  };
  const hasHook =
    ctx.declared?.options.hooks.on_unhealthy !== undefined || ctx.hooks?.on_unhealthy !== undefined;
  if (hasHook) {
    const result = await ctx.hook('on_unhealthy', { bad, message });
    if (down) {
      const ran = result.ok ? 'ran' : `failed (${result.summary})`;
      await ctx.note(
        `${message}: on_unhealthy ${ran}; starting supervisord again`,
        result.ok ? 'info' : 'warn',
      );
      return next(data, 'start', { ...changes, restart: undefined });
    }
    if (result.ok) {
      await ctx.note(`${message}: on_unhealthy handled it, watching again`);
      return next(data, 'watch', changes);
    }
    await ctx.note(`on_unhealthy failed, restarting instead: ${result.summary}`, 'warn');
  }
  if (down) {
    await ctx.note(`${message}: starting supervisord again`);
    return next(data, 'start', { ...changes, restart: undefined });
  }
  const restart = ctx.declared?.options.restartOnRetrigger ? 'all' : bad;
  await ctx.note(`${message}: restarting ${restart === 'all' ? 'every program' : bad.join(', ')}`);
  return next(data, 'restart-programs', { ...changes, restart });
}
