/**
 * Every Redis key of the always-on jobs, from the one BullMQ prefix, so a test can list them all.
 * Values never hold credentials: a job is known by its files, read where a step runs.
 */

/** Heartbeat prefix of the workers (the triggerers beat under `st:triggerers`). */
export const WORKER_HEARTBEAT_PREFIX = 'st:workers';

/** The keys of the jobs under BullMQ prefix `prefix`. */
export function jobKeys(prefix = 'bull') {
  const base = `${prefix}:st`;
  return {
    /** Set of every job name ever started. */
    jobs: `${base}:jobs`,
    /** The id of the job's active run, set NX at start and removed when its teardown ends. */
    activeRun: (job: string) => `${base}:job:${job}:run`,
    /** The id of the job's latest run (active or ended). */
    lastRun: (job: string) => `${base}:job:${job}:last`,
    /** How the job was started: files, overrides, queue (JSON). */
    spec: (job: string) => `${base}:job:${job}:spec`,
    /** A run's record (hash): what `job status` shows. */
    run: (runId: string) => `${base}:run:${runId}`,
    /** A run's events, newest first (list of JSON). */
    events: (runId: string) => `${base}:run:${runId}:events`,
    /** Each step's committed successor (hash: step job id → JSON), so a retried step adds the same one. */
    successors: (runId: string) => `${base}:run:${runId}:next`,
    /** Set when a user asked the run to stop (the reason). */
    stop: (runId: string) => `${base}:run:${runId}:stop`,
    /** A watched supervisord: the job spec the triggerer resolves its endpoint from (JSON). */
    endpoint: (name: string) => `${base}:endpoint:${name}`,
  };
}
export type JobKeys = ReturnType<typeof jobKeys>;
