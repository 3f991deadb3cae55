/**
 * Names of runs, step jobs and triggers. BullMQ job ids hold no `:`; each step job's id is
 * deterministic, so a retried step that adds its successor again adds nothing.
 */
import { randomBytes } from 'node:crypto';
import { basename, extname } from 'node:path';
import { JOB_NAME_PATTERN, type JobConfig } from '../config/job.js';
import { ConfigError } from '../config/errors.js';
import type { Step } from './points.js';
import { MAX_STEP_ATTEMPTS, STEP_BACKOFF } from './retries.js';

/** The job's name: its `name` key, else the first job file's base name without its extension. */
export function jobNameOf(job: JobConfig, files: readonly string[]): string {
  if (job.name !== undefined) return job.name;
  const file = files[0] ?? '';
  const name = basename(file, extname(file));
  if (!JOB_NAME_PATTERN.test(name)) {
    throw new ConfigError([
      {
        path: 'name',
        message: `the file name '${name}' is not a job name (letters, digits, _ . -): set name in the job file`,
      },
    ]);
  }
  return name;
}

/** A new run id: `<name>.<UTC time>-<random>`, e.g. `web.20300101T080000Z-1a2b`. */
export function newRunId(name: string, at: number = Date.now()): string {
  const time = new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return `${name}.${time}-${randomBytes(2).toString('hex')}`;
}

/** The id of a run's step job in a cycle. */
export function stepJobId(runId: string, cycle: number, step: Step): string {
  return `${runId}.${cycle}.${step}`;
}

/** The id of a cycle's watch trigger. */
export function watchTriggerId(runId: string, cycle: number): string {
  return `${runId}.${cycle}.trigger`;
}

/**
 * BullMQ options of every step job: retried with the worker's backoff while the step's budget lasts
 * (src/jobs/retries.ts); kept a day after it completed, so that a predecessor retried meanwhile finds
 * it and adds no second one.
 */
export const STEP_JOB_OPTIONS = {
  attempts: MAX_STEP_ATTEMPTS,
  backoff: { type: STEP_BACKOFF },
  removeOnComplete: { age: 86_400 },
  removeOnFail: { age: 7 * 86_400 },
} as const;
