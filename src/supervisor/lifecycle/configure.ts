/** `configure`: the rendered config file, the working dir and the directories supervisord needs. */
import { dirname, relative, isAbsolute } from 'node:path';
import { readState, renderIni, writeJobState, type ResolvedJob } from '../../config/index.js';
import { PUSH_LISTENER_SCRIPT } from '../../push/listener-script.js';
import { contextOf, type LifecycleOptions } from './context.js';
import { JobNotReady } from './errors.js';
import type { SupervisorHost } from '../host/host.js';
import { daemonDirs, programDirs, programLogDirs } from './job.js';

/** What `configure` did. */
export interface ConfigureResult {
  configPath: string;
  /** False when the file already held exactly this config. */
  changed: boolean;
  /** Files and directories this run created (the state file records them for `unconfigure`). */
  created: string[];
}

function isWithin(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Creates `dir` and its missing parents; returns the topmost directory it created, if any. */
async function makeDirRecorded(
  host: SupervisorHost,
  dir: string,
  mode?: number,
): Promise<string | undefined> {
  let top: string | undefined;
  for (let path = dir; !(await host.exists(path)); path = dirname(path)) top = path;
  if (top === undefined) return undefined;
  await host.makeDir(dir, mode);
  return top;
}

/**
 * Writes the rendered config (mode 0600: it holds the password), the push listener of a job in push
 * mode, and creates the working dir (0700)
 * and the missing directories supervisord needs (its log, pidfile and socket directories, each
 * program's directory and log directory). Outside working_dir it creates nothing unless the job
 * says `outside_dirs: create`: a missing directory there is an error naming it. What it created is
 * recorded in the job's state file, so `unconfigure` removes exactly that. Running it again changes
 * nothing.
 */
export async function configure(job: ResolvedJob, options: LifecycleOptions = {}): Promise<ConfigureResult> {
  const { host } = contextOf(options, job);
  const text = renderIni(job.supervisor);
  const needed = [...new Set([...daemonDirs(job), ...programDirs(job), ...programLogDirs(job)])];
  const missingOutside: string[] = [];
  for (const dir of needed) {
    if (!isWithin(dir, job.workingDir) && job.outsideDirs !== 'create' && !(await host.exists(dir))) {
      missingOutside.push(dir);
    }
  }
  if (missingOutside.length) {
    throw new JobNotReady(
      `missing directories outside working_dir ${job.workingDir}: ${missingOutside.join(', ')}: ` +
        `create them, or set outside_dirs: create in the job to let configure create them`,
    );
  }
  const before = await host.readText(job.configPath);
  const state = await readState(job.statePath, host);
  if (
    before !== undefined &&
    !isWithin(job.configPath, job.workingDir) &&
    !(state?.created ?? []).includes(job.configPath)
  ) {
    throw new JobNotReady(
      `refusing to overwrite ${job.configPath}: configure did not create it (set config_path to a new file)`,
    );
  }
  const created: string[] = [];
  const record = (path: string | undefined) => path !== undefined && created.push(path);
  record(await makeDirRecorded(host, job.workingDir, 0o700));
  for (const dir of needed) record(await makeDirRecorded(host, dir));
  record(await makeDirRecorded(host, dirname(job.configPath)));
  await host.writeText(job.configPath, text, 0o600);
  if (before === undefined) record(job.configPath);
  if (job.push !== undefined) {
    // The listener supervisord runs for push mode: written here so that a remote host needs
    // nothing of this package installed (it is inside working_dir, so cleanup removes it).
    const existed = await host.exists(job.push.scriptPath);
    await host.writeText(job.push.scriptPath, PUSH_LISTENER_SCRIPT, 0o700);
    if (!existed) record(job.push.scriptPath);
  }
  await writeJobState(job, created, host);
  return { configPath: job.configPath, changed: before !== text, created };
}
