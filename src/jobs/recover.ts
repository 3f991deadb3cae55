/**
 * A run whose step job failed for good (more crashes than the stalled limit, data no worker can read,
 * an error past every retry) or vanished (a start that died between claiming the run and adding its
 * first step) must not stay active forever: the job could never start again. Its way on is committed
 * as a step would commit it (teardown, or for `end` the run released), from the worker that saw the
 * failure or from `job stop`.
 */
import type { Job, Queue } from 'bullmq';
import { STEP_JOB_OPTIONS, stepJobId } from './names.js';
import { TEARDOWN_STEPS } from './points.js';
import { RunDataSchema, type Outcome, type RunData } from './run-data.js';
import { afterError, type Successor } from './step-context.js';
import type { RunStore } from './store.js';

/** Adds a step job (a no-op when its deterministic id exists). */
export async function addStep(queue: Queue, data: RunData): Promise<void> {
  await queue.add(data.step, data, {
    ...STEP_JOB_OPTIONS,
    jobId: stepJobId(data.runId, data.cycle, data.step),
  });
}

/** Records the run's outcome (unless `end` did), notes why it ended here, and releases its job. */
export async function endRun(
  store: RunStore,
  run: { name: string; runId: string; step: string; cycle: number },
  outcome: Outcome,
  why: string,
): Promise<void> {
  const at = new Date().toISOString();
  const recorded = (await store.readRecord(run.runId))?.outcome;
  if (recorded === undefined)
    await store.record(run.runId, { outcome: JSON.stringify(outcome), endedAt: at });
  await store.event(run.runId, { at, step: run.step, cycle: run.cycle, level: 'error', message: why });
  await store.release(run.name, run.runId);
}

/**
 * Goes on from a step job that failed for good with `reason`: commits and adds its teardown successor
 * (what a step that fails for good leads to), or ends the run when it was `end` or its data cannot
 * be read.
 */
export async function recoverStep(store: RunStore, queue: Queue, job: Job, reason: string): Promise<void> {
  const parsed = RunDataSchema.safeParse(job.data);
  const why = `step job ${job.id} failed for good: ${reason}`;
  if (!parsed.success) {
    const runId = runIdOf(job);
    const name = runId && (await store.readRecord(runId))?.job;
    if (runId === undefined || name === undefined) return;
    const outcome: Outcome = { status: 'failed', reason: 'error', message: why };
    return endRun(store, { name, runId, step: String(job.name), cycle: 0 }, outcome, `${why}: run ended`);
  }
  const data = parsed.data;
  const successor = afterError(data, reason);
  if (successor.kind === 'none') {
    const outcome = data.outcome ?? { status: 'failed', reason: 'error', message: why };
    const run = { name: data.job.name, runId: data.runId, step: data.step, cycle: data.cycle };
    return endRun(store, run, outcome, `${why}: run ended`);
  }
  await store.event(data.runId, {
    at: new Date().toISOString(),
    step: data.step,
    cycle: data.cycle,
    level: 'error',
    message: `${why}: ${TEARDOWN_STEPS.includes(data.step) ? 'teardown goes on' : 'tearing down'}`,
  });
  await commitAndAdd(store, queue, job.id ?? stepJobId(data.runId, data.cycle, data.step), successor);
}

/** Commits `successor` for `stepId` (the first committed wins) and adds it. */
async function commitAndAdd(
  store: RunStore,
  queue: Queue,
  stepId: string,
  successor: Successor,
): Promise<void> {
  const runId = successor.kind === 'none' ? undefined : successor.data.runId;
  if (runId === undefined) return;
  const committed = JSON.parse(await store.commit(runId, stepId, JSON.stringify(successor))) as Successor;
  if (committed.kind === 'step') await addStep(queue, committed.data);
}

/**
 * Whether the run's current step (the one its record names) is dead, and if so goes on from it: a
 * failed step job is recovered as above; a step job that is gone, with nothing committed after it
 * that still lives, ends the run. True when it did something.
 */
export async function reviveRun(
  store: RunStore,
  queue: Queue,
  name: string,
  runId: string,
): Promise<boolean> {
  const record = await store.readRecord(runId);
  if (record?.step === undefined) return false;
  const cycle = Number(record.cycle ?? 1);
  const stepId = stepJobId(runId, cycle, record.step as RunData['step']);
  const job = await queue.getJob(stepId);
  const state = job ? await job.getState() : 'unknown';
  if (job && state === 'failed') {
    await recoverStep(store, queue, job, job.failedReason || 'failed');
    return true;
  }
  if (state !== 'unknown') return false;
  const committed = await store.committed(runId, stepId);
  if (committed !== undefined) {
    const successor = JSON.parse(committed) as Successor;
    if (successor.kind === 'none') return false;
    const { data } = successor;
    const then = await queue.getJobState(stepJobId(data.runId, data.cycle, data.step));
    if (then !== 'unknown') return false;
  }
  const outcome: Outcome = {
    status: 'failed',
    reason: 'error',
    message: `its step ${stepId} is gone (its worker or its start died): nothing runs it`,
  };
  await endRun(store, { name, runId, step: record.step, cycle }, outcome, `${outcome.message}: run ended`);
  return true;
}

/** The run id in a step job's id (`<run id>.<cycle>.<step>`). */
function runIdOf(job: Job): string | undefined {
  return /^(.+)\.\d+\.[a-z-]+$/.exec(String(job.id ?? ''))?.[1];
}
