/**
 * Who uses the embedded redis of a state directory. Every triggerer that uses it registers a file
 * named for its pid in `redis.users/`; the last one alive to stop stops the redis-server. A user that
 * crashed (SIGKILL) leaves its file behind, and is recognised as gone by its pid. Starting, reusing
 * and stopping run one at a time per state directory, under `redis.lock`, so a triggerer starting
 * to use the redis-server cannot race the last one stopping it.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isAlive } from './connection.js';

const USERS_DIR = 'redis.users';
const LOCK_FILE = 'redis.lock';

/** The lock of a state directory stayed held past the wait. */
export class StateDirLocked extends Error {
  override name = 'StateDirLocked';
}

/**
 * Runs `body` holding the state directory's lock. A lock whose holder is gone is taken over. The lock
 * file is created whole (written aside, then hard-linked), so it is never seen without its pid.
 */
export async function withStateLock<T>(stateDir: string, waitMs: number, body: () => Promise<T>): Promise<T> {
  const path = join(stateDir, LOCK_FILE);
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(aside, `${process.pid}\n`, { mode: 0o600 });
  const deadline = Date.now() + waitMs;
  try {
    for (;;) {
      try {
        await link(aside, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readPid(path);
      if (holder !== undefined && !isAlive(holder)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new StateDirLocked(`${stateDir} stayed locked by process ${holder ?? '?'} for ${waitMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await rm(aside, { force: true });
  }
  try {
    return await body();
  } finally {
    await rm(path, { force: true });
  }
}

/** Registers this process as a user; returns the path of its registration. */
export async function registerUser(stateDir: string): Promise<string> {
  await mkdir(join(stateDir, USERS_DIR), { recursive: true, mode: 0o700 });
  const path = join(stateDir, USERS_DIR, `${process.pid}-${randomBytes(4).toString('hex')}`);
  await writeFile(path, '', { mode: 0o600 });
  return path;
}

/** Removes the registrations of users that are gone and returns how many are alive. */
export async function liveUsers(stateDir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(join(stateDir, USERS_DIR));
  } catch {
    return 0;
  }
  let alive = 0;
  for (const name of names) {
    if (isAlive(pidOf(name))) alive += 1;
    else await rm(join(stateDir, USERS_DIR, name), { force: true });
  }
  return alive;
}

/** Forgets every user: their redis-server is gone, so their registrations are about nothing. */
export async function clearUsers(stateDir: string): Promise<void> {
  await rm(join(stateDir, USERS_DIR), { recursive: true, force: true });
}

/**
 * For a process that is exiting (no await possible): removes its registration and says whether
 * another user is alive. Runs without the lock, as the last thing the process does.
 */
export function leaveAtExit(stateDir: string, registration: string): boolean {
  rmSync(registration, { force: true });
  try {
    return readdirSync(join(stateDir, USERS_DIR)).some((name) => isAlive(pidOf(name)));
  } catch {
    return false;
  }
}

function pidOf(name: string): number {
  return Number(name.split('-', 1)[0]);
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when the process is gone or a zombie (where nothing reaps an orphan, it stays one). */
export function processGone(pid: number): boolean {
  return !isAlive(pid) || procStat(pid)?.[0] === 'Z';
}

/**
 * When the process started, in clock ticks since boot (`/proc/<pid>/stat`); undefined where there is
 * no /proc. With the pid it names one process for good: a pid reused later has another start time.
 */
export function startTicks(pid: number): number | undefined {
  const ticks = Number(procStat(pid)?.[19]);
  return Number.isFinite(ticks) ? ticks : undefined;
}

/** True when `pid` is still the process that had `ticks` as its start time (without /proc: alive). */
export function sameProcess(pid: number, ticks: number | undefined): boolean {
  if (processGone(pid)) return false;
  return ticks === undefined || startTicks(pid) === ticks;
}

/** The fields of `/proc/<pid>/stat` after the command name (state first). */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
