/**
 * A job as a run knows it: its files as absolute paths (a worker in another directory reads the
 * same files), its overrides, its name, host and step queue.
 */
import { isAbsolute, resolve } from 'node:path';
import { resolveJob, type ResolvedJob } from '../config/convenience.js';
import type { JobConfig } from '../config/job.js';
import { ConfigError } from '../config/errors.js';
import { loadJobFiles } from '../config/load.js';
import { hostOf, queueOf, type JobHost } from './host.js';
import { jobNameOf } from './names.js';
import type { JobSpec } from './store.js';

/** A validated job, ready to start a run of. */
export interface LoadedJob {
  spec: JobSpec;
  config: JobConfig;
  resolved: ResolvedJob;
  host: JobHost;
}

/**
 * Loads and validates job files for a run. A relative `working_dir` is pinned to this directory
 * (an override), so the worker uses the same one. Throws ConfigError naming each problem.
 */
export async function loadJob(
  files: readonly string[],
  {
    overrides = [],
    env,
    cwd = process.cwd(),
  }: { overrides?: readonly string[]; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<LoadedJob> {
  refuseSecrets(overrides);
  const absolute = files.map((file) => resolve(cwd, file));
  let all = [...overrides];
  let config = await loadJobFiles(absolute, { overrides: all, env });
  if (!isAbsolute(config.working_dir)) {
    all = [...all, `working_dir=${JSON.stringify(resolve(cwd, config.working_dir))}`];
    config = await loadJobFiles(absolute, { overrides: all, env });
  }
  // Only the job's options are needed here: a remote job's state stays on its host (the worker that
  // runs its steps reads it; the machine starting the run may hold no SSH key for it).
  const resolved = await resolveJob(config, { files: null });
  const host = hostOf(config);
  const spec: JobSpec = {
    name: jobNameOf(config, absolute),
    files: absolute,
    overrides: all,
    queue: queueOf(host),
    host: host.name,
  };
  return { spec, config, resolved, host };
}

/**
 * Overrides travel with every step job and stay in Redis: a password among them is refused (the job
 * file, or `${VAR}` in it read where the steps run, is where it belongs).
 */
function refuseSecrets(overrides: readonly string[]): void {
  for (const override of overrides) {
    const key = override.split('=', 1)[0]!.trim();
    if (/(^|\.)password$/i.test(key)) {
      throw new ConfigError([
        {
          path: key,
          message:
            'a password may not be given with --set for a run (it would be stored in Redis): put it in the job file or in ${VAR} read on the worker',
        },
      ]);
    }
  }
}
