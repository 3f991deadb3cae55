/**
 * Where a job's supervisord runs, and the queue its steps go to. A local supervisord is always
 * driven from its own machine, so a job's steps go to the queue of its host, served by the workers
 * of that host. Remote hosts (a `host:` section) add their kind here.
 */
import { hostname } from 'node:os';
import type { JobConfig } from '../config/job.js';
import type { LifecycleOptions } from '../supervisor/lifecycle/context.js';

/** The machine a job's supervisord runs on. */
export interface JobHost {
  kind: 'local';
  /** The machine's OS hostname. */
  name: string;
}

/** Prefix of every step queue. */
export const JOBS_QUEUE_PREFIX = 'st-jobs';

/** The local machine. */
export function localJobHost(): JobHost {
  return { kind: 'local', name: hostname() };
}

/** The host of a job: the one place that reads it from the job file (local until SSH hosts exist). */
export function hostOf(job: JobConfig): JobHost {
  void job;
  return localJobHost();
}

/** The BullMQ queue of a host's steps: `st-jobs.<hostname>` (no `:`, which BullMQ keys use). */
export function queueOf(host: JobHost): string {
  return `${JOBS_QUEUE_PREFIX}.${host.name.replaceAll(':', '_')}`;
}

/** The lifecycle options that drive a job's supervisord on its host. */
export function lifecycleOn(host: JobHost, base: LifecycleOptions = {}): LifecycleOptions {
  void host; // the local host is the lifecycle's default; an SSH host passes its own here
  return base;
}
