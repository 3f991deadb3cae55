/**
 * The context a step runs with: the job as its files declare it now (undefined when they no longer
 * load: teardown goes on without them), the job with its state read from its host (on first use), its
 * host and lifecycle options, the run's events, and its hooks with the run's context (the programs
 * read live from supervisord). Files that do not load are the only failure kept here; anything else
 * (a host that cannot be reached) surfaces where the step needs it, so the step is retried.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { resolveJob, type ResolvedJob } from '../config/convenience.js';
import { ConfigError } from '../config/errors.js';
import type { JobConfig } from '../config/job.js';
import { loadJobFiles } from '../config/load.js';
import { check } from '../supervisor/lifecycle/check.js';
import type { LifecycleOptions } from '../supervisor/lifecycle/context.js';
import { JobRunError } from './errors.js';
import { runHooks, type HookProgram, type JobHookMap, type JobHooks } from './hooks.js';
import { hostOf, lifecycleOn, localJobHost, type JobHost } from './host.js';
import type { HookPoint } from './points.js';
import type { RunData } from './run-data.js';
import type { StepContext } from './step-context.js';
import type { JobSpec, RunStore } from './store.js';

/** Default hook timeout when the job's files do not load (its own `hook_timeout` otherwise). */
const FALLBACK_HOOK_TIMEOUT_MS = 300_000;

/** What the worker lends each step. */
export interface StepDeps {
  store: RunStore;
  now: () => number;
  lifecycle?: LifecycleOptions;
  hooks?: JobHooks;
  /** Process groups of the shell hooks running now (the worker kills them when it abandons steps). */
  hookGroups: Set<number>;
}

/** Loads the job on this worker and builds the context a step runs with. */
export async function stepContext(
  bullJob: Job,
  data: RunData,
  log: Logger,
  deps: StepDeps,
): Promise<StepContext> {
  const { store, now } = deps;
  let config: JobConfig | undefined;
  let declared: ResolvedJob | undefined;
  try {
    config = await loadJobFiles(data.job.files, { overrides: data.job.overrides });
    declared = await resolveJob(config, { files: null });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    config = undefined;
    log.error({ err: error }, 'the job files do not load');
    await store.event(data.runId, {
      at: new Date(now()).toISOString(),
      step: data.step,
      cycle: data.cycle,
      level: 'error',
      message: `the job files do not load on this worker: ${error.message}`,
    });
  }
  const host: JobHost = config ? hostOf(config) : localJobHost();
  const spec: JobSpec = { ...data.job, queue: bullJob.queueName, host: host.name };
  let live: Promise<ResolvedJob> | undefined;
  const ctx: StepContext = {
    data,
    spec,
    declared,
    config,
    live: () =>
      (live ??= config
        ? resolveJob(config)
        : Promise.reject(
            new JobRunError(
              `job ${data.job.name}: its files do not load on this worker (see the run's events)`,
            ),
          )),
    host,
    store,
    lifecycle: lifecycleOn(host, deps.lifecycle),
    baseLifecycle: deps.lifecycle ?? {},
    bullJob,
    log,
    now: now,
    hooks: deps.hooks,
    note: async (message, level = 'info') => {
      log[level](message);
      await store.event(data.runId, {
        at: new Date(now()).toISOString(),
        step: ctx.data.step,
        cycle: ctx.data.cycle,
        message,
        ...(level !== 'info' && { level }),
      });
    },
    hook: async <P extends HookPoint>(point: P, extra?: object) => {
      const shell = declared?.options.hooks[point];
      const fn = deps.hooks?.[point];
      if (shell === undefined && fn === undefined) return { ok: true, ran: false, summary: '' };
      const context = {
        point,
        job: data.job.name,
        runId: data.runId,
        cycle: ctx.data.cycle,
        step: ctx.data.step,
        retriggers: ctx.data.retriggers,
        referenceTime: ctx.data.referenceTime,
        workingDir: declared?.workingDir ?? ctx.data.teardown?.workingDir ?? '',
        programs: await programsNow(ctx),
        ...(ctx.data.lastEvent && { event: ctx.data.lastEvent }),
        ...extra,
      } as JobHookMap[P];
      const workingDir = context.workingDir;
      const result = await runHooks(context, {
        shell,
        hooks: deps.hooks,
        timeoutMs: declared?.options.hookTimeoutMs ?? FALLBACK_HOOK_TIMEOUT_MS,
        passEnv: declared?.options.hookEnv ?? [],
        cwd: workingDir !== '' && existsSync(workingDir) ? workingDir : dirname(data.job.files[0]!),
        onSpawn: (pid, done) => {
          deps.hookGroups.add(pid);
          void done.then(() => deps.hookGroups.delete(pid));
        },
      });
      await ctx.note(result.summary, result.ok ? 'info' : 'warn');
      return result;
    },
  };
  return ctx;
}

/** The programs as supervisord reports them now; empty when it is down or unreachable. */
async function programsNow(ctx: StepContext): Promise<HookProgram[]> {
  try {
    const result = await check(await ctx.live(), ctx.lifecycle);
    return result.programs.map((p) => ({
      name: p.name,
      state: p.state,
      pid: p.pid,
      exitstatus: p.exitstatus ?? 0,
    }));
  } catch {
    return [];
  }
}
