/**
 * A job as a run knows it: its files as absolute paths (a worker in another directory reads the
 * same files), its overrides (never a secret), its name, host and step queue.
 */
import { isAbsolute, resolve } from 'node:path';
import { resolveJob, type ResolvedJob } from '../config/convenience.js';
import type { JobConfig } from '../config/job.js';
import { ConfigError, formatPath } from '../config/errors.js';
import { applyOverride, loadJobFiles } from '../config/load.js';
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
 * Loads and validates job files for a run. Relative paths that name files on this machine
 * (`working_dir` of a local job, the `host:` key, known_hosts and agent socket) are pinned to this
 * directory (overrides), so a worker elsewhere uses the same ones. Throws ConfigError naming each
 * problem.
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
  const pins = pinnedPaths(config, cwd);
  if (pins.length > 0) {
    all = [...all, ...pins];
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

/** Overrides that pin the job's relative local paths to `cwd` (`~/...` stays: the worker's home). */
function pinnedPaths(config: JobConfig, cwd: string): string[] {
  const relative = (path: unknown): path is string =>
    typeof path === 'string' && !isAbsolute(path) && path !== '~' && !path.startsWith('~/');
  const pin = (key: string, path: string) => `${key}=${JSON.stringify(resolve(cwd, path))}`;
  const pins: string[] = [];
  if (relative(config.working_dir)) pins.push(pin('working_dir', config.working_dir));
  for (const key of ['identity_file', 'known_hosts', 'agent'] as const) {
    const path = config.host?.[key];
    if (relative(path)) pins.push(pin(`host.${key}`, path));
  }
  return pins;
}

/** Key names that hold a secret (`passphrase_env` and the like name a variable instead). */
const SECRET_KEY = /pass(word|wd|phrase)|secret|token|credential/i;

/**
 * Overrides travel with every step job and stay in Redis: one that sets a secret-like key, at any
 * depth of its value (`inet_http_server={port: ..., password: ...}`), is refused (the job file, or
 * `${VAR}` in it read where the steps run, is where it belongs). The message never holds the value.
 */
function refuseSecrets(overrides: readonly string[]): void {
  for (const override of overrides) {
    const key = secretKeyIn(applyOverride({}, override), []);
    if (key !== undefined) {
      throw new ConfigError([
        {
          path: key,
          message:
            'a password or other secret may not be given with --set for a run (it would be stored in Redis): put it in the job file or in ${VAR} read on the worker',
        },
      ]);
    }
  }
}

/** The path of the first secret-like key in `value`, if any. */
function secretKeyIn(value: unknown, path: PropertyKey[]): string | undefined {
  const entries: [PropertyKey, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : value !== null && typeof value === 'object'
      ? Object.entries(value)
      : [];
  for (const [key, item] of entries) {
    const at = [...path, key];
    if (typeof key === 'string' && SECRET_KEY.test(key) && !key.endsWith('_env')) return formatPath(at);
    const found = secretKeyIn(item, at);
    if (found !== undefined) return found;
  }
  return undefined;
}
