/**
 * Where a watcher reaches a job's supervisord, and with which credentials: read from the job's files
 * and the state file `configure` wrote (on the job's own host, over SSH for a remote job). Shared by
 * the triggerer's `job:` connections and the endpoints of always-on jobs.
 */
import { hostOptions } from '../../config/host.js';
import { resolveJob, type ResolvedJob } from '../../config/convenience.js';
import type { JobConfig } from '../../config/job.js';
import type { SupervisorEndpoint } from '../endpoint.js';
import { HostError } from './errors.js';
import { sshHost } from './shared.js';

/** Options of {@link jobEndpoint}. */
export interface JobEndpointOptions {
  /** Where an SSH key's passphrase variable and `SSH_AUTH_SOCK` are read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** What was read before: kept while a remote host cannot be reached. */
  previous?: SupervisorEndpoint;
}

/**
 * The endpoint of a job: a local one as its job resolves; a remote one through the SSH tunnel, its
 * state read over SSH (while the host is down: what was read before, else the endpoint alone, whose
 * polls then report the host's failure). A job not configured yet has no credentials to read: the
 * ones resolveJob makes up are not the ones `configure` will write, so none are sent until a later
 * read finds the real ones.
 */
export async function jobEndpoint(
  job: JobConfig,
  options: JobEndpointOptions = {},
): Promise<SupervisorEndpoint> {
  let resolved: ResolvedJob;
  let reach = (endpoint: SupervisorEndpoint) => endpoint;
  if (job.host === undefined) resolved = await resolveJob(job);
  else {
    const host = sshHost(hostOptions(job.host), options.env);
    reach = (endpoint) => host.reach(endpoint);
    try {
      resolved = await resolveJob(job, { files: host });
    } catch (error) {
      if (!(error instanceof HostError)) throw error;
      if (options.previous !== undefined) return options.previous;
      resolved = await resolveJob(job, { files: null });
    }
  }
  const { endpoint } = resolved;
  const known = resolved.generated
    ? { url: endpoint.url, username: endpoint.username, ...(endpoint.push && { push: endpoint.push }) }
    : endpoint;
  return reach(known);
}
