/** `config import`: an existing supervisord.conf as an equivalent job file. */
import { stringify } from 'yaml';
import { parseIni } from './ini.js';
import type { JobConfigInput } from './job.js';

/** Converts supervisord.conf text into a job (working_dir given by the caller, e.g. the file's folder). */
export function importSupervisorConfig(text: string, workingDir: string): JobConfigInput {
  const config = parseIni(text);
  return { working_dir: workingDir, ...config } as JobConfigInput;
}

/** The job as YAML, with a note on where it came from. */
export function jobToYaml(job: JobConfigInput, source?: string): string {
  const header = source ? `# imported from ${source}\n` : '';
  return header + stringify(job, { lineWidth: 0 });
}
