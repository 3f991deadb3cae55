/**
 * What the lifecycle reads from a resolved job (`ResolvedJob` from src/config satisfies it), and the
 * paths and facts derived from it in one place.
 */
import { dirname, join, resolve } from 'node:path';
import type { SupervisorEndpoint } from '../endpoint.js';
import type { SshHostOptions } from '../host/ssh-options.js';

/** The part of a program section the lifecycle uses. */
interface ProgramFacts {
  exitcodes?: readonly number[];
  stopwaitsecs?: number;
  stdout_logfile?: string;
  stderr_logfile?: string;
  directory?: string;
}

/** The fields of a resolved job the lifecycle steps read. */
export interface LifecycleJob {
  workingDir: string;
  configPath: string;
  /**
   * Where the job's generated values (password, auto port) and the paths `configure` created are
   * kept; removed by unconfigure.
   */
  statePath?: string;
  /** Whether `configure` may create missing directories outside working_dir. @default 'require' */
  outsideDirs?: 'require' | 'create';
  endpoint: SupervisorEndpoint;
  /** The SSH host supervisord runs on (every path above is a path there). @default this machine */
  host?: SshHostOptions;
  supervisor: {
    supervisord?: {
      pidfile?: string;
      logfile?: string;
      childlogdir?: string;
      directory?: string;
      nodaemon?: boolean;
    };
    unix_http_server?: { file?: string };
    program?: Record<string, ProgramFacts>;
  };
}

/** supervisord's pidfile: the one the config names, else supervisord's default relative to its cwd. */
export function pidfilePath(job: LifecycleJob): string {
  return job.supervisor.supervisord?.pidfile ?? join(job.workingDir, 'supervisord.pid');
}

/** supervisord's own log file, for error messages. */
export function logfilePath(job: LifecycleJob): string {
  return job.supervisor.supervisord?.logfile ?? join(job.workingDir, 'supervisord.log');
}

/** Records the sha256 of the config supervisord runs with, so `start` knows when to apply a change. */
export function appliedConfigPath(job: LifecycleJob): string {
  return `${job.configPath}.applied`;
}

/** Directories the programs' log files live in (values supervisord expands itself are skipped). */
export function programLogDirs(job: LifecycleJob): string[] {
  const dirs = new Set<string>();
  for (const program of Object.values(job.supervisor.program ?? {})) {
    for (const file of [program.stdout_logfile, program.stderr_logfile]) {
      const path = literalPath(job, file);
      if (path !== undefined) dirs.add(dirname(path));
    }
  }
  return [...dirs];
}

/** Accepted exit codes of the program (or group) a process belongs to. @default [0] */
export function exitCodesOf(job: LifecycleJob, group: string, name: string): readonly number[] {
  const programs = job.supervisor.program ?? {};
  return programs[group]?.exitcodes ?? programs[name]?.exitcodes ?? [0];
}

/** The longest `stopwaitsecs` of any program (supervisord's default is 10). */
export function longestStopWaitSecs(job: LifecycleJob): number {
  const waits = Object.values(job.supervisor.program ?? {}).map((p) => p.stopwaitsecs ?? 10);
  return Math.max(10, ...waits);
}

/** Log file values that name no file. */
const NOT_A_FILE = ['NONE', 'AUTO', 'SYSLOG'];

/**
 * The absolute path supervisord reads from a value: relative ones resolve in working_dir (where
 * supervisord runs); undefined for values it expands itself (`%(…)s`) or that name no file.
 */
function literalPath(job: LifecycleJob, path: string | undefined): string | undefined {
  if (path === undefined || path.includes('%(') || NOT_A_FILE.includes(path.toUpperCase())) return undefined;
  return resolve(job.workingDir, path);
}

/**
 * Directories supervisord needs before it starts: those of its log file, pidfile and socket, its
 * child log dir and its own working directory (relative paths resolve in working_dir, which exists).
 */
export function daemonDirs(job: LifecycleJob): string[] {
  const daemon = job.supervisor.supervisord ?? {};
  const files = [daemon.logfile, daemon.pidfile, job.supervisor.unix_http_server?.file];
  const dirs = [daemon.childlogdir, daemon.directory];
  return [
    ...files.map((file) => literalPath(job, file)).map((file) => file && dirname(file)),
    ...dirs.map((dir) => literalPath(job, dir)),
  ].filter((dir): dir is string => dir !== undefined);
}

/** Program working directories supervisord would fail to chdir into if missing. */
export function programDirs(job: LifecycleJob): string[] {
  return Object.values(job.supervisor.program ?? {})
    .map((program) => literalPath(job, program.directory))
    .filter((dir): dir is string => dir !== undefined);
}
