/**
 * The local machine as a `SupervisorHost`: node:fs for files, /proc for processes (Linux), and
 * node:child_process to run supervisord. Zombies count as gone: a daemonized supervisord is not our
 * child, and where PID 1 does not reap, a killed one lingers as a zombie forever.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import {
  CommandNotFound,
  type CommandResult,
  type HostProcess,
  type SupervisorHost,
} from '../lifecycle/host.js';

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
    await writeFile(path, text, { mode });
    // `mode` only applies when the file is created: tighten an existing one too.
    await chmod(path, mode);
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

  async process(pid: number): Promise<HostProcess | undefined> {
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    const stat = await readProcStat(pid);
    if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return undefined;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    return { pid, ppid: stat.ppid, pgid: stat.pgid, command: cmdline.split('\0').join(' ').trim() };
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

  run(
    command: string,
    args: string[],
    { cwd, timeoutMs, env }: { cwd?: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
  ): Promise<CommandResult> {
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
}

interface ProcStat {
  state: string;
  ppid: number;
  pgid: number;
}

/** Parses /proc/PID/stat; the command name may contain spaces and parentheses, so split after the last `)`. */
async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid, pgid] = fields;
  if (state === undefined) return undefined;
  return { state, ppid: Number(ppid), pgid: Number(pgid) };
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}
