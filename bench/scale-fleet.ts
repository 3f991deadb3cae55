/**
 * The scale bench's supervisord fleet: K real supervisords with 50 `sleep` programs each, on unix
 * sockets, logging at `trace` so every XML-RPC call they serve is counted from their own side.
 * Everything is stopped by pid: supervisords politely by `stop()`, and on an abnormal exit (error,
 * SIGINT) their programs are SIGKILLed by pid before the fixtures SIGKILL the supervisords.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SupervisorClient } from '../src/supervisor/client.js';
import { waitUntil } from '../test/fixtures/processes.js';
import { runSupervisord } from '../test/fixtures/supervisord.js';
import { tempDir } from '../test/fixtures/tmp.js';
import { sleepers } from './programs.js';

/** One supervisord of the fleet. */
export interface FleetMember {
  /** The connection name the triggerer config gives it. */
  name: string;
  url: string;
  pid: number;
  logPath: string;
  client: SupervisorClient;
}

const supervisordPids = new Set<number>();

// Runs before the fixtures' own exit handler (which SIGKILLs supervisord and would orphan programs).
process.prependListener('exit', () => {
  for (const pid of supervisordPids) for (const child of childrenOf(pid)) kill(child);
});

/** The program names every member runs. */
export function programNames(count = 50): string[] {
  return Object.keys(sleepers(count));
}

/** Starts `count` supervisords (a few at a time) and waits until all their programs are RUNNING. */
export async function startFleet(
  count: number,
  programs = 50,
): Promise<{ members: FleetMember[]; stop(): Promise<void> }> {
  const stops: (() => Promise<void>)[] = [];
  const members: FleetMember[] = [];
  const stop = async () => {
    for (const member of members) member.client.close();
    await Promise.all(stops.map((s) => s()));
  };
  try {
    for (let first = 0; first < count; first += 10) {
      const batch = Array.from({ length: Math.min(10, count - first) }, (_, i) => first + i);
      members.push(...(await Promise.all(batch.map((i) => startMember(`sup-${i}`, programs, stops)))));
    }
    await Promise.all(members.map((m) => waitAllRunning(m, programs)));
  } catch (error) {
    await stop();
    throw error;
  }
  return { members, stop };
}

async function startMember(
  name: string,
  programs: number,
  stops: (() => Promise<void>)[],
): Promise<FleetMember> {
  const dir = await tempDir('scale-');
  const socket = join(dir.path, 's.sock');
  const logPath = join(dir.path, 'supervisord.log');
  const body = Object.entries(sleepers(programs))
    .map(([program, text]) => `[program:${program}]\n${text}\n`)
    .join('\n');
  const text = [
    `[supervisord]\nlogfile=${logPath}\nlogfile_maxbytes=0\npidfile=${join(dir.path, 'sd.pid')}\nchildlogdir=${dir.path}\nnodaemon=true\nloglevel=trace\n`,
    `[unix_http_server]\nfile=${socket}\nchmod=0700\n`,
    `[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n`,
    body,
  ].join('\n');
  const configPath = join(dir.path, 'supervisord.conf');
  await writeFile(configPath, text, { mode: 0o600 });
  const url = `unix://${socket}`;
  const running = await runSupervisord(configPath, { url }, { cwd: dir.path, timeoutMs: 60_000 });
  supervisordPids.add(running.pid);
  stops.push(async () => {
    await running.stop();
    supervisordPids.delete(running.pid);
    await dir.remove();
  });
  return { name, url, pid: running.pid, logPath, client: new SupervisorClient({ url }) };
}

/** Waits until every program of `member` is RUNNING. */
export async function waitAllRunning(member: FleetMember, programs = 50): Promise<void> {
  await waitUntil(
    async () => {
      const infos = await member.client.getAllProcessInfo();
      return infos.filter((i) => i.statename === 'RUNNING').length === programs ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `${programs} programs RUNNING on ${member.name}` },
  );
}

/** Counts getAllProcessInfo calls a member's log shows since the last call of the returned counter. */
export function pollCounter(member: FleetMember): () => Promise<number> {
  let offset = 0;
  return async () => {
    const file = await open(member.logPath, 'r');
    try {
      const { size } = await file.stat();
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      await file.read(buffer, 0, buffer.length, offset);
      offset = size;
      return buffer.toString('utf8').split('method called: supervisor.getAllProcessInfo()').length - 1;
    } finally {
      await file.close();
    }
  };
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
