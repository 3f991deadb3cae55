/**
 * Schedules: a job file's `schedule` (cron, in its `timezone`) becomes a BullMQ job scheduler on the
 * job's host queue, whose jobs start a run (`job schedule JOBFILE`). A scheduled start while the job
 * runs is refused quietly: logged, and noted in the running run's events.
 */
import type { Job, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { JobRunError, JobAlreadyRunning } from './errors.js';
import { loadJob, type LoadedJob } from './load.js';
import { beginRun } from './runs.js';
import type { RunStore } from './store.js';

/** Name of the jobs a job scheduler adds. */
export const SCHEDULED_START = 'scheduled-start';

/** What a scheduled start carries: how to load the job (never a secret). */
interface ScheduledStartData {
  name: string;
  files: string[];
  overrides: string[];
}

/** The scheduler id of a job. */
export function schedulerId(name: string): string {
  return `job.${name}`;
}

/** A job's registered schedule. */
export interface JobSchedule {
  name: string;
  pattern: string;
  timezone?: string;
  /** The next start (ISO 8601), if known. */
  next?: string;
}

/** Registers (or updates) the job's schedule on its host queue. Throws when the job has none. */
export async function upsertSchedule(queue: Queue, store: RunStore, loaded: LoadedJob): Promise<JobSchedule> {
  const { spec, config } = loaded;
  if (config.schedule === undefined) {
    throw new JobRunError(
      `job ${spec.name} has no schedule: add schedule: "0 8 * * 1-5" (cron) to its job file`,
    );
  }
  const data: ScheduledStartData = { name: spec.name, files: spec.files, overrides: spec.overrides };
  let job: Job;
  try {
    job = await queue.upsertJobScheduler(
      schedulerId(spec.name),
      { pattern: config.schedule, ...(config.timezone !== undefined && { tz: config.timezone }) },
      {
        name: SCHEDULED_START,
        data,
        opts: { removeOnComplete: { age: 86_400 }, removeOnFail: { age: 86_400 } },
      },
    );
  } catch (error) {
    throw new JobRunError(
      `job ${spec.name}: schedule '${config.schedule}' refused: ${(error as Error).message}`,
    );
  }
  await store.redis
    .multi()
    .sadd(store.keys.names, spec.name)
    .set(store.keys.spec(spec.name), JSON.stringify(spec))
    .exec();
  const next = job.opts.prevMillis ?? job.timestamp + (job.opts.delay ?? 0);
  return {
    name: spec.name,
    pattern: config.schedule,
    ...(config.timezone !== undefined && { timezone: config.timezone }),
    next: new Date(next).toISOString(),
  };
}

/** Removes the job's schedule; false when it had none. */
export async function removeSchedule(queue: Queue, name: string): Promise<boolean> {
  return queue.removeJobScheduler(schedulerId(name));
}

/** The schedules registered on a queue. */
export async function schedulesOf(queue: Queue): Promise<JobSchedule[]> {
  const schedulers = await queue.getJobSchedulers(0, -1, true);
  return schedulers
    .filter((s) => s.key.startsWith('job.') || s.id?.startsWith('job.'))
    .map((s) => ({
      name: (s.id ?? s.key).slice('job.'.length),
      pattern: s.pattern ?? '',
      ...(s.tz && { timezone: s.tz }),
      ...(s.next !== undefined && { next: new Date(s.next).toISOString() }),
    }));
}

/** The processor of a scheduled start: a run whose reference time is the scheduled time. */
export async function scheduledStart(
  job: Job,
  { store, queue, logger }: { store: RunStore; queue: Queue; logger: Logger },
): Promise<void> {
  const data = job.data as ScheduledStartData;
  const at = job.opts.prevMillis ?? job.timestamp + (job.opts.delay ?? 0);
  try {
    const loaded = await loadJob(data.files, { overrides: data.overrides });
    const run = await beginRun(store, queue, loaded, {
      referenceTime: at,
      by: `schedule ${schedulerId(data.name)}`,
    });
    logger.info({ job: data.name, runId: run.runId }, 'scheduled run started');
  } catch (error) {
    if (error instanceof JobAlreadyRunning) {
      logger.info({ job: data.name, runId: error.runId }, 'scheduled start refused: the job is running');
      await store.event(error.runId, {
        at: new Date().toISOString(),
        step: 'schedule',
        cycle: 0,
        message: `scheduled start at ${new Date(at).toISOString()} refused: this run is active`,
      });
      return;
    }
    logger.error({ job: data.name, err: error }, 'scheduled start failed');
    throw error;
  }
}
