/**
 * What the lifecycle needs from the machine supervisord runs on: files, processes and running a
 * command. The local host implements it with node:fs and node:child_process; a remote host can
 * implement it over SSH, so the steps themselves never touch the machine directly.
 */

/** One live process as the host sees it. */
export interface HostProcess {
  pid: number;
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** The command line, arguments joined by spaces. */
  command: string;
}

/** The outcome of a command run to completion. */
export interface CommandResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: string | null;
  /** stdout and stderr, interleaved. */
  output: string;
}

export interface SupervisorHost {
  /** A name for messages, e.g. `local`. */
  readonly name: string;
  /** The file's text, or undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>;
  /** Writes the file with `mode` (also when it already exists), creating no directories. */
  writeText(path: string, text: string, mode: number): Promise<void>;
  /** Creates a directory and its parents; fine when it exists. */
  makeDir(path: string, mode?: number): Promise<void>;
  /** Removes a file or a directory tree; fine when it does not exist. */
  remove(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** The live process `pid` (zombies count as gone), or undefined. */
  process(pid: number): Promise<HostProcess | undefined>;
  /** The live children of `pid`. */
  children(pid: number): Promise<HostProcess[]>;
  /** Sends `signal` to a process, or to a process group when `group` is set; false when none exists. */
  signal(pid: number, signal: NodeJS.Signals, options?: { group?: boolean }): Promise<boolean>;
  /**
   * Runs `command` until it exits (or `timeoutMs` passes, then kills it). Throws `CommandNotFound`
   * when the executable does not exist.
   */
  run(
    command: string,
    args: string[],
    options: { cwd?: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
  ): Promise<CommandResult>;
}

/** The executable given to `SupervisorHost.run` does not exist. */
export class CommandNotFound extends Error {
  override name = 'CommandNotFound';
  constructor(readonly command: string) {
    super(`${command}: command not found`);
  }
}
