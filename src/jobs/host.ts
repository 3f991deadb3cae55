/**
 * Where a job's supervisord runs, and the queue its steps go to. A local supervisord is always
 * driven from its own machine: its steps go to the queue of that machine, served by its workers. A
 * remote one (a `host:` section) is driven over SSH: its steps go to the queue of that host, served
 * by any worker configured to reach it (`ssh_hosts`), which reads the job file and its SSH key.
 */
import { hostname } from 'node:os';
import { hostOptions } from '../config/host.js';
import type { JobConfig } from '../config/job.js';
import type { LifecycleOptions } from '../supervisor/lifecycle/context.js';
import { sshHost } from '../supervisor/host/shared.js';
import { sshName, sshSettings, type SshHostOptions } from '../supervisor/host/ssh-options.js';

/** The machine a job's supervisord runs on. */
export type JobHost =
  | {
      kind: 'local';
      /** The machine's OS hostname. */
      name: string;
    }
  | {
      kind: 'ssh';
      /** `ssh.<hostname>`, the host as the job file names it. */
      name: string;
      options: SshHostOptions;
    };

/** Prefix of every step queue. */
export const JOBS_QUEUE_PREFIX = 'st-jobs';

/** The local machine. */
export function localJobHost(): JobHost {
  return { kind: 'local', name: hostname() };
}

/** The name of the host a remote job's `host:` section names, as its queue knows it. */
export function sshJobHostName(hostname: string): string {
  return `ssh.${hostname}`;
}

/** The host of a job: the one place that reads it from the job file. */
export function hostOf(job: JobConfig): JobHost {
  if (job.host === undefined) return localJobHost();
  return { kind: 'ssh', name: sshJobHostName(job.host.hostname), options: hostOptions(job.host) };
}

/**
 * The host as the name of a watched endpoint: the machine, or the whole SSH login
 * (`ssh.deploy@box-3:22`), so that two hosts that differ only by port or user never share a name.
 */
export function endpointHostOf(host: JobHost): string {
  return host.kind === 'local' ? host.name : sshName(sshSettings(host.options)).replace(' ', '.');
}

/** The BullMQ queue of a host's steps: `st-jobs.<hostname>` or `st-jobs.ssh.<hostname>` (no `:`). */
export function queueOf(host: Pick<JobHost, 'name'>): string {
  return `${JOBS_QUEUE_PREFIX}.${host.name.replaceAll(':', '_')}`;
}

/** The lifecycle options that drive a job's supervisord on its host (one SSH connection per host). */
export function lifecycleOn(host: JobHost, base: LifecycleOptions = {}): LifecycleOptions {
  if (host.kind === 'local') return base;
  return { ...base, host: sshHost(host.options, base.env) };
}
