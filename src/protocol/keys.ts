/**
 * Every Redis key and channel this project reads or writes beside BullMQ's own, built from the one
 * BullMQ prefix (as BullMQ's QueueKeys builds its own): triggerers of two fleets with different
 * prefixes on one Redis never see each other's cancels, hand-offs or heartbeats. Part of the wire
 * protocol (see index.ts): other processes and languages use these names.
 */

/** BullMQ's default key prefix, and ours. */
export const DEFAULT_PREFIX = 'bull';

/** The keys and channels of one prefix. */
export interface ProtocolKeys {
  readonly prefix: string;
  /** Pub/sub channel cancels are announced on. */
  readonly cancelChannel: string;
  /** The marker of one trigger's cancel (a string, with a TTL). */
  cancelMarker(triggerId: string): string;
  /** Pub/sub channel hand-off offers are announced on. */
  readonly handOffChannel: string;
  /** The list a closing triggerer offers its claims on. */
  handOffList(owner: string): string;
  /** The counter of peers done with an offer. */
  handOffDone(list: string): string;
  /** Set once every claim of a streamed offer is on its list. */
  handOffComplete(list: string): string;
  /** Sorted set of live triggerer ids by last beat. */
  readonly triggerers: string;
  /** One triggerer's heartbeat hash. */
  triggerer(id: string): string;
  /** Sorted set of live job step workers by last beat. */
  readonly workers: string;
  /** One worker's heartbeat hash. */
  worker(id: string): string;
  /**
   * A trigger's own log lines (a list of the triggerer's JSON lines for that trigger id, oldest
   * first, capped), kept while the trigger runs and for days after it finished.
   */
  triggerLog(triggerId: string): string;
  /** The keys of the always-on jobs. */
  readonly jobs: JobKeys;
}

/** The keys of the always-on jobs. Values never hold credentials: a job is known by its files. */
export interface JobKeys {
  /** Set of every job name ever started. */
  readonly names: string;
  /** The id of the job's active run, set NX at start and removed when its teardown ends. */
  activeRun(job: string): string;
  /** The id of the job's latest run (active or ended). */
  lastRun(job: string): string;
  /** How the job was started: files, overrides, queue (JSON). */
  spec(job: string): string;
  /** A run's record (hash): what `job status` shows. */
  run(runId: string): string;
  /** A run's events, newest first (list of JSON). */
  events(runId: string): string;
  /** Each step's committed successor (hash: step job id to JSON), so a retried step adds the same one. */
  successors(runId: string): string;
  /** Set when a user asked the run to stop (the reason). */
  stop(runId: string): string;
  /** A watched supervisord: the job spec the triggerer resolves its endpoint from (JSON). */
  endpoint(name: string): string;
}

/** The keys of `prefix` (BullMQ's `prefix` option; `bull` by default). */
export function protocolKeys(prefix: string = DEFAULT_PREFIX): ProtocolKeys {
  const handOffChannel = `${prefix}:st:handoff`;
  const triggerers = `${prefix}:st:triggerers`;
  const workers = `${prefix}:st:workers`;
  const st = `${prefix}:st`;
  return {
    prefix,
    cancelChannel: `${prefix}:st:cancel`,
    cancelMarker: (triggerId) => `${prefix}:st:cancel:${triggerId}`,
    handOffChannel,
    handOffList: (owner) => `${handOffChannel}:${owner}`,
    handOffDone: (list) => `${list}:done`,
    handOffComplete: (list) => `${list}:complete`,
    triggerers,
    triggerer: (id) => `${triggerers}:${id}`,
    workers,
    worker: (id) => `${workers}:${id}`,
    triggerLog: (triggerId) => `${st}:trigger:${triggerId}:log`,
    jobs: {
      names: `${st}:jobs`,
      activeRun: (job) => `${st}:job:${job}:run`,
      lastRun: (job) => `${st}:job:${job}:last`,
      spec: (job) => `${st}:job:${job}:spec`,
      run: (runId) => `${st}:run:${runId}`,
      events: (runId) => `${st}:run:${runId}:events`,
      successors: (runId) => `${st}:run:${runId}:next`,
      stop: (runId) => `${st}:run:${runId}:stop`,
      endpoint: (name) => `${st}:endpoint:${name}`,
    },
  };
}
