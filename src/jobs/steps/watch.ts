/**
 * `watch` and `evaluate`. Watch defers a `supervisor.ProgramWatchTrigger` to the triggerer (its
 * interval is check_interval, its deadline check_timeout, and it fires at the run's runtime/endtime
 * itself) with evaluate as the continuation, so nothing runs on a worker while the programs are
 * healthy. Evaluate reads how the watch ended and decides, per the semantics table in docs/jobs.md.
 */
import { readTriggerEvent } from '../../client/continuation.js';
import { buildRecord } from '../../client/defer.js';
import type { ResolvedJob } from '../../config/convenience.js';
import type { TriggerEvent } from '../../protocol/index.js';
import type { ProgramSummary } from '../../../triggers/programs.js';
import { check } from '../../supervisor/lifecycle/check.js';
import { SupervisordNotRunning } from '../../supervisor/lifecycle/errors.js';
import { jobPidfile, contextOf } from '../../supervisor/lifecycle/context.js';
import { JOB_ENDPOINT_PREFIX } from '../endpoints.js';
import { endpointHostOf, type JobHost } from '../host.js';
import { noteEventLogs } from '../program-logs.js';
import { stepHook } from '../points.js';
import type { LastEvent, RunData } from '../run-data.js';
import { stepJobId, watchTriggerId } from '../names.js';
import {
  failed,
  hookFailed,
  interrupted,
  declaredOf,
  next,
  recordProgramStates,
  teardown,
  unhealthy,
  type StepContext,
  type Successor,
} from '../step-context.js';

/** Classpath of the trigger a watch defers. */
export const WATCH_CLASSPATH = 'supervisor.ProgramWatchTrigger';
/** Watches in a row that may end `failed` (the endpoint unreachable past its budget) before the run fails. */
export const MAX_WATCH_FAILURES = 3;

/**
 * The endpoint name a job's supervisord is watched under: one per supervisord on a host (its login
 * and config path), so jobs that share one share its poll. The triggerer resolves it from the job spec the
 * worker registers under it, reading the job's credentials from its own copy of the files.
 */
export function endpointNameOf(host: JobHost, job: ResolvedJob): string {
  return `${JOB_ENDPOINT_PREFIX}${endpointHostOf(host)}:${job.configPath}`;
}

/** `watch`: registers the endpoint and defers the watch trigger; its continuation is `evaluate`. */
export async function watchStep(ctx: StepContext): Promise<Successor> {
  const stopped = await interrupted(ctx);
  if (stopped) return stopped;
  const before = stepHook('before', 'watch')!;
  const failure = hookFailed(ctx, await ctx.hook(before));
  if (failure) return failure;
  const job = declaredOf(ctx);
  const endpoint = endpointNameOf(ctx.host, job);
  await ctx.store.registerEndpoint(endpoint, ctx.spec);
  const { data } = ctx;
  const triggerId = watchTriggerId(data.runId, data.cycle);
  const evaluate: RunData = { ...data, step: 'evaluate' };
  const record = buildRecord(
    {
      classpath: WATCH_CLASSPATH,
      kwargs: {
        endpoint,
        interval: `${job.options.checkIntervalMs}ms`,
        ...exitCodes(job),
        // the run's limits as fixed at its start (as every step judges them), not the files now
        ...(data.limits.runtimeEndsAt !== undefined && {
          runtime: `${Date.parse(data.limits.runtimeEndsAt) - Date.parse(data.referenceTime)}ms`,
          reference_time: data.referenceTime,
        }),
        ...(data.limits.endtimeAt !== undefined && { endtime: data.limits.endtimeAt }),
      },
      task: {
        queue: ctx.bullJob.queueName,
        id: stepJobId(data.runId, data.cycle, 'evaluate'),
        name: data.job.name,
      },
    },
    { timeout: `${job.options.checkTimeoutMs}ms`, now: ctx.now },
  );
  await ctx.store.record(data.runId, { trigger: triggerId, watchDeadline: record.deadline ?? '' });
  await ctx.note(
    `watching every ${job.options.checkIntervalMs} ms until ${record.deadline} (trigger ${triggerId})`,
  );
  return { kind: 'watch', data: evaluate, triggerId, record };
}

/** The watch's exit codes: one list when every program accepts the same codes, else one per program. */
function exitCodes(job: ResolvedJob): { exitcodes: number[]; program_exitcodes?: Record<string, number[]> } {
  const perProgram = Object.fromEntries(
    Object.entries(job.supervisor.program ?? {}).map(([name, p]) => [name, [...(p.exitcodes ?? [0])]]),
  );
  const lists = Object.values(perProgram).map((codes) => JSON.stringify(codes));
  if (new Set(lists).size <= 1) return { exitcodes: Object.values(perProgram)[0] ?? [0] };
  return { exitcodes: [0], program_exitcodes: perProgram };
}

/** `evaluate`: the watch's continuation. */
export async function evaluateStep(ctx: StepContext): Promise<Successor> {
  const event = await readTriggerEvent(ctx.bullJob);
  const lastEvent = toLastEvent(event);
  ctx.data = { ...ctx.data, lastEvent };
  await recordPrograms(ctx, event);
  await ctx.note(`watch ended: ${event.status}${lastEvent.message ? ` (${lastEvent.message})` : ''}`);
  await noteEventLogs(ctx, event);
  const afterWatch = hookFailed(ctx, await ctx.hook('after_watch'));
  if (afterWatch) return afterWatch;
  const beforeEvaluate = hookFailed(ctx, await ctx.hook('before_evaluate'));
  if (beforeEvaluate) return beforeEvaluate;
  const decided = await decide(ctx, event);
  if (decided.kind === 'step' && decided.data.outcome === undefined) {
    const afterEvaluate = hookFailed(ctx, await ctx.hook('after_evaluate'));
    if (afterEvaluate) return afterEvaluate;
  }
  return decided;
}

async function decide(ctx: StepContext, event: TriggerEvent): Promise<Successor> {
  const { data } = ctx;
  const stop = await ctx.store.stopRequested(data.runId);
  if (stop !== undefined || event.status === 'cancelled') {
    const message =
      stop ?? `the watch trigger was cancelled (${String(event.payload.reason ?? 'no reason')})`;
    return teardown(data, { status: 'stopped', reason: 'stop', message });
  }
  const job = declaredOf(ctx);
  if (event.status === 'fired') {
    const decision = String(event.payload.decision);
    const reason = String(event.payload.reason ?? '');
    const message = String(event.payload.message ?? '');
    if (decision === 'stop') return teardown(data, { status: 'succeeded', reason, message });
    const bad = Array.isArray(event.payload.bad) ? event.payload.bad.map(String) : [];
    return unhealthy(ctx, bad, message);
  }
  if (event.status === 'timeout') {
    // check_timeout with the programs healthy: the always-on loop goes round again
    const max = job.options.maxretrigger;
    if (max !== undefined && data.retriggers >= max) {
      return teardown(data, {
        status: 'succeeded',
        reason: 'maxretrigger',
        message: `check_timeout reached after maxretrigger (${max}) retriggers`,
      });
    }
    const changes: Partial<RunData> = {
      retriggers: data.retriggers + 1,
      cycle: data.cycle + 1,
      watchFailures: 0,
    };
    if (job.options.restartOnRetrigger) return next(data, 'restart-programs', { ...changes, restart: 'all' });
    return next(data, 'watch', changes);
  }
  return watchFailed(ctx, String(event.payload.error ?? event.payload.reason ?? 'unknown error'));
}

/**
 * A watch that ended `failed` (the endpoint unreachable past its budget, a bad record): supervisord
 * gone is a crash (unhealthy: start it again); up, it is watched again. Past MAX_WATCH_FAILURES in a
 * row the run fails.
 */
export async function watchFailed(ctx: StepContext, error: string): Promise<Successor> {
  const { data } = ctx;
  const failures = data.watchFailures + 1;
  if (failures > MAX_WATCH_FAILURES) {
    return failed(data, 'watch', `the watch failed ${failures} times in a row: ${error}`);
  }
  const lifecycle = contextOf(ctx.lifecycle);
  const down = (await jobPidfile(lifecycle, declaredOf(ctx))).kind !== 'running';
  // the restart of a supervisord that died is a start: supervisord, then every program
  if (down) return unhealthy(ctx, [], `supervisord is not running (${error})`, { watchFailures: failures });
  await ctx.note(`the watch failed (${error}): watching again`, 'warn');
  return next(data, 'watch', { cycle: data.cycle + 1, watchFailures: failures });
}

function toLastEvent(event: TriggerEvent): LastEvent {
  const payload = event.payload;
  const text = (key: string) => (typeof payload[key] === 'string' ? (payload[key] as string) : undefined);
  return {
    status: event.status,
    ...(text('decision') && { decision: text('decision') }),
    ...(text('reason') && { reason: text('reason') }),
    message:
      text('message') ?? text('error') ?? (event.status === 'timeout' ? 'check_timeout reached' : undefined),
    at: event.firedAt,
  };
}

/** Keeps the programs' states in the run record: from the event, else (timeout) from one look. */
async function recordPrograms(ctx: StepContext, event: TriggerEvent): Promise<void> {
  if (Array.isArray(event.payload.programs)) {
    return recordProgramStates(ctx, event.payload.programs as ProgramSummary[]);
  }
  if (!ctx.declared) return;
  try {
    const infos = (await check(await ctx.live(), ctx.lifecycle)).programs;
    await recordProgramStates(
      ctx,
      infos.map((p) => {
        const [group = '', name = ''] = p.name.split(':');
        return { group, name, statename: p.state, pid: p.pid, exitstatus: p.exitstatus ?? 0 };
      }),
    );
  } catch (error) {
    if (!(error instanceof SupervisordNotRunning))
      ctx.log.debug({ err: error }, 'could not read the programs');
  }
}
