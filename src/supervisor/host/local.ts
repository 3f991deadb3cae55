/**
 * The local machine as a `SupervisorHost`: node:fs for files, /proc for processes (Linux), and
 * node:child_process to run supervisord. Zombies count as gone: a daemonized supervisord is not our
 * child, and where PID 1 does not reap, a killed one lingers as a zombie forever.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { SupervisorClient, type SupervisorClientOptions } from '../client.js';
import type { SupervisorEndpoint } from '../endpoint.js';
import { CommandNotFound } from './errors.js';
import type { CommandResult, HostProcess, RunOptions, SupervisorHost } from './host.js';
import { commandLine, isGone, parseProcStat } from './proc.js';

/** The machine this process runs on. */
export class LocalHost implements SupervisorHost {
  readonly name = 'local';

  async readText(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  async writeText(path: string, text: string, mode: number): Promise<void> {
    // Owner-only until renamed: the text may hold a password.
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, text, { mode: 0o600 });
      // `mode` of writeFile passes through the umask: set it exactly.
      await chmod(temp, mode);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async makeDir(path: string, mode = 0o755): Promise<void> {
    await mkdir(path, { recursive: true, mode });
  }

  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
  }

  async guardedDirs(): Promise<string[]> {
    return [homedir(), tmpdir()];
  }

  async process(pid: number): Promise<HostProcess | undefined> {
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    const stat = await readProcStat(pid);
    if (stat === undefined || isGone(stat.state)) return undefined;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    return { pid, ppid: stat.ppid, pgid: stat.pgid, command: commandLine(cmdline) };
  }

  async children(pid: number): Promise<HostProcess[]> {
    const entries = await readdir('/proc');
    const found: HostProcess[] = [];
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readProcStat(Number(entry));
      if (stat?.ppid !== pid || stat.state === 'Z') continue;
      const info = await this.process(Number(entry));
      if (info) found.push(info);
    }
    return found;
  }

  async signal(pid: number, signal: NodeJS.Signals, { group = false } = {}): Promise<boolean> {
    if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`refusing to signal pid ${pid}`);
    try {
      process.kill(group ? -pid : pid, signal);
      return true;
    } catch (error) {
      if (errorCode(error) === 'ESRCH') return false;
      throw error;
    }
  }

  run(command: string, args: string[], { cwd, timeoutMs, env }: RunOptions): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      // detached: a Ctrl-C meant for the CLI must not reach a daemon before it has left our group.
      const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-20_000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(errorCode(error) === 'ENOENT' ? new CommandNotFound(command) : error);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, output });
      });
    });
  }

  reach(endpoint: SupervisorEndpoint): SupervisorEndpoint {
    return endpoint;
  }

  connect(endpoint: SupervisorEndpoint, options?: SupervisorClientOptions): SupervisorClient {
    return new SupervisorClient(endpoint, options);
  }
}

async function readProcStat(pid: number) {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}
