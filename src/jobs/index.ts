/**
 * The always-on jobs: a run as a chain of step jobs on its host's queue, the worker that runs them,
 * hooks, schedules, and the run API the CLI uses (start, stop, status).
 */
export { JobWorker, type JobWorkerOptions } from './worker.js';
export {
  runHooks,
  loadHookModule,
  hookBaseEnvironment,
  hookEnvironment,
  type JobHooks,
  type JobHookMap,
  type HookContext,
  type UnhealthyContext,
  type EndContext,
  type HookProgram,
} from './hooks.js';
export { STEPS, TEARDOWN_STEPS, HOOK_POINTS, type Step, type HookPoint } from './points.js';
export {
  beginRun,
  requestStop,
  runStatus,
  workersFor,
  requireWorker,
  type RunStatus,
  type StartedRun,
} from './runs.js';
export { loadJob, type LoadedJob } from './load.js';
export { RunStore, type JobSpec, type RunEvent } from './store.js';
export { hostOf, queueOf, localJobHost, type JobHost } from './host.js';
export { limitsOf, limitReached, endtimeOn, type RunLimits } from './limits.js';
export { upsertSchedule, removeSchedule, schedulesOf, type JobSchedule } from './schedules.js';
export { JobEndpoints, JOB_ENDPOINT_PREFIX } from './endpoints.js';
export type { RunData, Outcome } from './run-data.js';
export * from './errors.js';
