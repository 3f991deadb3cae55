/** `configure`: the rendered config file, the working dir and the programs' directories. */
import { renderIni, writeJobState, type ResolvedJob } from '../../config/index.js';
import { contextOf, type LifecycleOptions } from './context.js';
import { programDirs, programLogDirs } from './job.js';

/** What `configure` did. */
export interface ConfigureResult {
  configPath: string;
  /** False when the file already held exactly this config. */
  changed: boolean;
}

/**
 * Writes the rendered config (mode 0600: it holds the password), creates the working dir (0700)
 * and each program's directory and log directory, and persists the job's generated values so every
 * later resolve of this job reaches the same endpoint. Running it again changes nothing.
 */
export async function configure(job: ResolvedJob, options: LifecycleOptions = {}): Promise<ConfigureResult> {
  const { host } = contextOf(options);
  const text = renderIni(job.supervisor);
  await host.makeDir(job.workingDir, 0o700);
  for (const dir of new Set([...programDirs(job), ...programLogDirs(job)])) await host.makeDir(dir);
  const before = await host.readText(job.configPath);
  await host.writeText(job.configPath, text, 0o600);
  await writeJobState(job);
  return { configPath: job.configPath, changed: before !== text };
}
