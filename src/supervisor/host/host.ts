/**
 * The machine a supervisord runs on, as the lifecycle steps and the pollers need it: files,
 * processes, running a command, and how a client on this machine reaches the supervisord's XML-RPC
 * interface. `LocalHost` implements it with node:fs and node:child_process, `SshHost` over one SSH
 * connection, so no step assumes the local machine.
 */
import type { SupervisorClient, SupervisorClientOptions } from '../client.js';
import type { SupervisorEndpoint } from '../endpoint.js';

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

/** Options of {@link SupervisorHost.run}. */
export interface RunOptions {
  /** Directory the command runs in. @default the host's default (cwd, or the remote home) */
  cwd?: string;
  /** Kill the command after this long. */
  timeoutMs: number;
  /**
   * Environment of the command on the local host. A remote host never sends it (it would carry this
   * machine's secrets): the command gets the remote login environment and the host's command prefix.
   */
  env?: NodeJS.ProcessEnv;
}

export interface SupervisorHost {
  /** A name for messages, e.g. `local` or `ssh deploy@box-3:22`. */
  readonly name: string;
  /** The file's text, or undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>;
  /**
   * Replaces the file atomically (a temporary file renamed over it) with `mode`, also when it
   * already exists; creates no directories.
   */
  writeText(path: string, text: string, mode: number): Promise<void>;
  /** Creates a directory and its parents; fine when it exists. */
  makeDir(path: string, mode?: number): Promise<void>;
  /** Removes a file or a directory tree; fine when it does not exist. */
  remove(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Directories no step may ever remove on this host: the user's home and the temp dir. */
  guardedDirs(): Promise<string[]>;
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
  run(command: string, args: string[], options: RunOptions): Promise<CommandResult>;
  /**
   * The endpoint as a client in this process reaches it: unchanged for the local host, through the
   * host's tunnel for a remote one (its URL names a socket or port on that host).
   */
  reach(endpoint: SupervisorEndpoint): SupervisorEndpoint;
  /** A client of the supervisord at `endpoint` on this host. */
  connect(endpoint: SupervisorEndpoint, options?: SupervisorClientOptions): SupervisorClient;
}
