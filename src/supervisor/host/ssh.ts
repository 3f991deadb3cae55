/**
 * A remote machine as a `SupervisorHost`, over one shared SSH connection: files over SFTP (written
 * atomically, with the modes the local host uses), commands and signals over exec (each after the
 * host's command prefix), processes read from the host's /proc, and XML-RPC through the connection
 * to the supervisord's socket or loopback port. Nothing secret is ever put on a remote command line:
 * the supervisord config (with its password) travels as an SFTP file.
 */
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import type { FileEntry, SFTPWrapper, Stats } from 'ssh2';
import { SupervisorClient, type SupervisorClientOptions } from '../client.js';
import type { SupervisorEndpoint } from '../endpoint.js';
import {
  CommandNotFound,
  HostError,
  HostUnreachable,
  RemoteCommandFailed,
  RemoteCommandTimeout,
} from './errors.js';
import type { CommandResult, HostProcess, RunOptions, SupervisorHost } from './host.js';
import { commandLine, isGone, parseProcStat } from './proc.js';
import { commandLineOf, quote } from './shell.js';
import type { SshConnection } from './ssh-connection.js';
import type { SshHostSettings } from './ssh-options.js';

/** SFTP status code of a missing file. */
const NO_SUCH_FILE = 2;

/** Every process's /proc stat line, read by the shell's builtins (no process per entry). */
const ALL_PROC_STATS = `for f in /proc/[0-9]*/stat; do read -r l < "$f" && printf '%s\\n' "$l"; done 2>/dev/null; true`;

/** A host reached over SSH. */
export class SshHost implements SupervisorHost {
  readonly name: string;
  private guarded: Promise<string[]> | undefined;

  constructor(
    /** The shared connection (one per host and process). */
    readonly connection: SshConnection,
    /** What this host's commands use: its prefix and timeout (jobs on one host may differ). */
    private readonly commands: Pick<SshHostSettings, 'commandPrefix' | 'commandTimeoutMs'>,
  ) {
    this.name = connection.name;
  }

  async readText(path: string): Promise<string | undefined> {
    try {
      return await this.file(`read ${path}`, (sftp, done) => sftp.readFile(path, 'utf8', done as never));
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return undefined;
      throw this.fileError(error, `read ${path}`);
    }
  }

  async writeText(path: string, text: string, mode: number): Promise<void> {
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const what = `write ${path}`;
    try {
      // Owner-only until renamed: the text may hold a password.
      await this.file(what, (sftp, done) => sftp.writeFile(temp, text, { mode: 0o600 }, done));
      await this.file(what, (sftp, done) => sftp.chmod(temp, mode, done));
      await this.file(what, (sftp, done) => sftp.ext_openssh_rename(temp, path, done));
    } catch (error) {
      await this.file(`remove ${temp}`, (sftp, done) => sftp.unlink(temp, done)).catch(() => undefined);
      throw this.fileError(error, what);
    }
  }

  async makeDir(path: string, mode = 0o755): Promise<void> {
    const missing: string[] = [];
    for (let dir = path; dir !== dirname(dir) && !(await this.exists(dir)); dir = dirname(dir))
      missing.unshift(dir);
    for (const dir of missing) {
      try {
        await this.file(`mkdir ${dir}`, (sftp, done) => sftp.mkdir(dir, { mode }, done));
      } catch (error) {
        // Made meanwhile by someone else: as fine as it is locally.
        if (!(await this.exists(dir))) throw this.fileError(error, `mkdir ${dir}`);
      }
    }
  }

  async remove(path: string): Promise<void> {
    // Over SFTP rather than `rm -rf`: no remote shell to start (a login shell's rc files can take a
    // second), and a symlink is removed, never followed.
    let stats;
    try {
      stats = await this.file<Stats>(`lstat ${path}`, (sftp, done) => sftp.lstat(path, done));
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return;
      throw this.fileError(error, `lstat ${path}`);
    }
    try {
      if (stats.isDirectory()) {
        const entries = await this.file<FileEntry[]>(`readdir ${path}`, (sftp, done) =>
          sftp.readdir(path, done),
        );
        for (const entry of entries) await this.remove(`${path}/${entry.filename}`);
        await this.file(`rmdir ${path}`, (sftp, done) => sftp.rmdir(path, done));
      } else {
        await this.file(`unlink ${path}`, (sftp, done) => sftp.unlink(path, done));
      }
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return;
      throw this.fileError(error, `remove ${path}`);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.file(`stat ${path}`, (sftp, done) => sftp.stat(path, done));
      return true;
    } catch (error) {
      if (sftpCode(error) === NO_SUCH_FILE) return false;
      throw this.fileError(error, `stat ${path}`);
    }
  }

  guardedDirs(): Promise<string[]> {
    this.guarded ??= this.check(`printf '%s\\n%s\\n' "$HOME" "\${TMPDIR:-/tmp}"`, 'reading $HOME').then(
      (out) => out.split('\n').filter((line) => line.startsWith('/')),
    );
    this.guarded.catch(() => (this.guarded = undefined));
    return this.guarded;
  }

  async process(pid: number): Promise<HostProcess | undefined> {
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    const stat = parseProcStat((await this.readProc(`/proc/${pid}/stat`)) ?? '');
    if (stat === undefined || isGone(stat.state)) return undefined;
    const cmdline = (await this.readProc(`/proc/${pid}/cmdline`)) ?? '';
    return { pid, ppid: stat.ppid, pgid: stat.pgid, command: commandLine(cmdline) };
  }

  async children(pid: number): Promise<HostProcess[]> {
    const lines = (await this.check(ALL_PROC_STATS, 'listing processes')).split('\n');
    const found: HostProcess[] = [];
    for (const line of lines) {
      const stat = parseProcStat(line);
      if (stat === undefined || stat.ppid !== pid || stat.state === 'Z') continue;
      const info = await this.process(stat.pid);
      if (info) found.push(info);
    }
    return found;
  }

  async signal(pid: number, signal: NodeJS.Signals, { group = false } = {}): Promise<boolean> {
    if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`refusing to signal pid ${pid}`);
    const name = signal.replace(/^SIG/, '');
    if (!/^[A-Z0-9]+$/.test(name)) throw new Error(`not a signal name: ${signal}`);
    const what = `kill -s ${name} -- ${group ? -pid : pid}`;
    const result = await this.exec(what, what, this.commands.commandTimeoutMs);
    if (result.code === 0) return true;
    if (/no such process/i.test(result.output)) return false;
    throw new RemoteCommandFailed(
      `${what} on ${this.name} failed: ${result.output.trim() || `exit ${result.code}`}`,
      this.name,
    );
  }

  async run(command: string, args: string[], { cwd, timeoutMs }: RunOptions): Promise<CommandResult> {
    const words = commandLineOf(command, args);
    // sshd does not pass a signal to a root session, nor kill a command whose channel closes: the
    // host's own `timeout` kills the command there when ours fires here (a daemon that forked off
    // and left the process group is not touched).
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const bounded =
      `if command -v timeout >/dev/null 2>&1; then exec timeout -s KILL ${seconds} ${words}; ` +
      `else exec ${words}; fi`;
    const line = `${cwd === undefined ? '' : `cd ${quote(cwd)} && `}${bounded}`;
    const result = await this.exec(line, words, timeoutMs);
    // The shell's "not found" (127) or "not executable" (126) for the command itself.
    if ((result.code === 127 || result.code === 126) && result.output.includes(command)) {
      throw new CommandNotFound(command, this.name);
    }
    return result;
  }

  reach(endpoint: SupervisorEndpoint): SupervisorEndpoint {
    return { ...endpoint, tunnel: this.connection };
  }

  connect(endpoint: SupervisorEndpoint, options?: SupervisorClientOptions): SupervisorClient {
    return new SupervisorClient(this.reach(endpoint), options);
  }

  toJSON(): string {
    return this.name;
  }

  /** A /proc file, or undefined when the server cannot read it (the process is gone). */
  private async readProc(path: string): Promise<string | undefined> {
    try {
      return await this.file(`read ${path}`, (sftp, done) => sftp.readFile(path, 'utf8', done as never));
    } catch (error) {
      if (sftpCode(error) !== undefined) return undefined;
      throw error;
    }
  }

  /** Runs a command line after the host's command prefix. */
  private exec(line: string, what: string, timeoutMs: number): Promise<CommandResult> {
    const prefix = this.commands.commandPrefix;
    return this.connection.exec(prefix === undefined ? line : `${prefix} && ${line}`, { timeoutMs, what });
  }

  /** Runs a helper command that must succeed; resolves with its output. */
  private async check(line: string, what: string): Promise<string> {
    const result = await this.exec(line, what, this.commands.commandTimeoutMs);
    if (result.code !== 0) {
      throw new RemoteCommandFailed(
        `${what} on ${this.name} failed: ${result.output.trim() || `exit ${result.code}`}`,
        this.name,
      );
    }
    return result.output;
  }

  /** One SFTP request, bounded by the command timeout. */
  private async file<T>(
    what: string,
    call: (sftp: SFTPWrapper, done: (error: Error | null | undefined, value?: T) => void) => void,
  ): Promise<T> {
    const timeoutMs = this.commands.commandTimeoutMs;
    const sftp = await this.connection.sftp(timeoutMs, `sftp ${what}`);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RemoteCommandTimeout(`sftp ${what}`, this.name, timeoutMs)),
        timeoutMs,
      );
      call(sftp, (error, value) => {
        clearTimeout(timer);
        if (!error) resolve(value as T);
        // A status from the server is about the file; anything else means the channel went away.
        else if (sftpCode(error) !== undefined) reject(error);
        else {
          const lost = `the connection to ${this.name} was lost during sftp ${what} (${error.message})`;
          reject(new HostUnreachable(lost, this.name, 'ECONNRESET', { cause: error }));
        }
      });
    });
  }

  /** An SFTP failure as a host error naming the file (host errors pass through). */
  private fileError(error: unknown, what: string): Error {
    if (error instanceof HostError || sftpCode(error) === undefined) return error as Error;
    return new RemoteCommandFailed(`sftp ${what} on ${this.name}: ${(error as Error).message}`, this.name, {
      cause: error,
    });
  }
}

function sftpCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
