/**
 * The run's truth in Redis besides its step jobs: the job's active-run key (one run per job), the
 * run record `job status` reads, its events, the stop mark and each step's committed successor.
 * Whatever must be atomic is one script.
 */
import type { RedisClient } from '../redis/connection.js';
import { protocolKeys, type JobKeys } from '../protocol/index.js';
import { prefixFor } from '../redis/prefix.js';

/** How long an ended run's record stays readable. */
export const ENDED_RUN_TTL_S = 7 * 86_400;
/** Events kept per run (newest first). */
export const MAX_EVENTS = 100;
/** Characters kept of one event's message (hook output included). */
export const MAX_EVENT_CHARS = 4000;

/** How a job was started: what a worker loads, what the triggerer resolves an endpoint from. */
export interface JobSpec {
  name: string;
  /** Absolute paths of the job files. */
  files: string[];
  overrides: string[];
  /** The step queue of its host. */
  queue: string;
  /** Its host's name. */
  host: string;
}

/** One entry of a run's event list. */
export interface RunEvent {
  at: string;
  step: string;
  cycle: number;
  message: string;
  /** `info`, `warn` or `error`. */
  level?: string;
}

/** SET NX the active run; on success also the last run, the job set, the spec and the record. */
const CLAIM = `local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SET', KEYS[4], ARGV[3])
redis.call('HSET', KEYS[5], unpack(cjson.decode(ARGV[4])))
return false`;

/** Deletes the active-run key only while it still names this run; the run's keys then expire. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
for i = 2, #KEYS do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
return 0`;

/** HSETNX then HGET: the first successor committed for a step wins, every retry reads it back. */
const COMMIT = `redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])`;

/** The jobs' Redis state, on a connection the caller owns. */
export class RunStore {
  readonly keys: JobKeys;

  constructor(
    readonly redis: RedisClient,
    prefix?: string,
  ) {
    this.keys = protocolKeys(prefixFor(redis, prefix)).jobs;
  }

  /**
   * Makes `runId` the job's active run and writes its first record; returns undefined, or the id of
   * the run that is active already (then nothing is written).
   */
  async claim(spec: JobSpec, runId: string, record: Record<string, string>): Promise<string | undefined> {
    const k = this.keys;
    const fields = Object.entries(record).flat();
    const current = (await this.redis.eval(
      CLAIM,
      5,
      k.activeRun(spec.name),
      k.lastRun(spec.name),
      k.names,
      k.spec(spec.name),
      k.run(runId),
      runId,
      spec.name,
      JSON.stringify(spec),
      JSON.stringify(fields),
    )) as string | null;
    return current ?? undefined;
  }

  /** Ends the run's hold on its job and lets its keys expire. */
  async release(job: string, runId: string): Promise<void> {
    const k = this.keys;
    await this.redis.eval(
      RELEASE,
      5,
      k.activeRun(job),
      k.run(runId),
      k.events(runId),
      k.successors(runId),
      k.stop(runId),
      runId,
      String(ENDED_RUN_TTL_S),
    );
  }

  /** The job's active run id, if any. */
  async activeRun(job: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.activeRun(job))) ?? undefined;
  }

  /** The job's latest run id (active or ended), if any. */
  async lastRun(job: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.lastRun(job))) ?? undefined;
  }

  /** Every job name ever started, sorted. */
  async jobs(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.names)).sort();
  }

  /** How the job was last started. */
  async spec(job: string): Promise<JobSpec | undefined> {
    const text = await this.redis.get(this.keys.spec(job));
    return text === null ? undefined : (JSON.parse(text) as JobSpec);
  }

  /** Updates fields of the run record. */
  async record(runId: string, fields: Record<string, string>): Promise<void> {
    await this.redis.hset(this.keys.run(runId), fields);
  }

  /** The run record, or undefined once it expired. */
  async readRecord(runId: string): Promise<Record<string, string> | undefined> {
    const hash = await this.redis.hgetall(this.keys.run(runId));
    return Object.keys(hash).length === 0 ? undefined : hash;
  }

  /** Adds an event (bounded) to the run's list. */
  async event(runId: string, event: RunEvent): Promise<void> {
    const entry = { ...event, message: event.message.slice(0, MAX_EVENT_CHARS) };
    await this.redis
      .multi()
      .lpush(this.keys.events(runId), JSON.stringify(entry))
      .ltrim(this.keys.events(runId), 0, MAX_EVENTS - 1)
      .exec();
  }

  /** The run's last `count` events, newest first. */
  async events(runId: string, count = MAX_EVENTS): Promise<RunEvent[]> {
    const list = await this.redis.lrange(this.keys.events(runId), 0, count - 1);
    return list.map((text) => JSON.parse(text) as RunEvent);
  }

  /** Marks the run as asked to stop. */
  async requestStop(runId: string, reason: string): Promise<void> {
    await this.redis.set(this.keys.stop(runId), reason);
  }

  /** Why the run was asked to stop, if it was. */
  async stopRequested(runId: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.stop(runId))) ?? undefined;
  }

  /** Commits `successor` as what step job `stepId` leads to, unless one is; returns the committed one. */
  async commit(runId: string, stepId: string, successor: string): Promise<string> {
    return (await this.redis.eval(COMMIT, 1, this.keys.successors(runId), stepId, successor)) as string;
  }

  /**
   * Keeps `mark` (JSON) as how the programs stood when step job `stepId` first restarted them, unless
   * an earlier attempt kept one; returns the kept one. In the run record, which expires with it.
   */
  async restartMark(runId: string, stepId: string, mark: string): Promise<string> {
    return (await this.redis.eval(COMMIT, 1, this.keys.run(runId), `restartMark.${stepId}`, mark)) as string;
  }

  /**
   * Forgets what steps of cycles before `cycle` committed (successors, restart marks), so a run's
   * keys do not grow for its whole life; the recent cycles are kept for a step retried late.
   */
  async forgetBefore(runId: string, cycle: number): Promise<void> {
    const old = (field: string) => {
      const found = /\.(\d+)\.[a-z-]+$/.exec(field);
      return found !== null && Number(found[1]) < cycle;
    };
    const [successors, record] = await Promise.all([
      this.redis.hkeys(this.keys.successors(runId)),
      this.redis.hkeys(this.keys.run(runId)),
    ]);
    const stale = successors.filter(old);
    const marks = record.filter((field) => field.startsWith('restartMark.') && old(field));
    const multi = this.redis.multi();
    if (stale.length) multi.hdel(this.keys.successors(runId), ...stale);
    if (marks.length) multi.hdel(this.keys.run(runId), ...marks);
    if (stale.length || marks.length) await multi.exec();
  }

  /** The successor committed for step job `stepId`, if any. */
  async committed(runId: string, stepId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.successors(runId), stepId)) ?? undefined;
  }

  /** Names the job spec a watched supervisord's endpoint is resolved from. */
  async registerEndpoint(endpoint: string, spec: JobSpec): Promise<void> {
    await this.redis.set(this.keys.endpoint(endpoint), JSON.stringify(spec));
  }

  /** The job spec of a watched endpoint. */
  async endpointSpec(endpoint: string): Promise<JobSpec | undefined> {
    const text = await this.redis.get(this.keys.endpoint(endpoint));
    return text === null ? undefined : (JSON.parse(text) as JobSpec);
  }
}
