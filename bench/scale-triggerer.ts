/**
 * A triggerer under measurement: `supervisor-triggerer triggerer --config FILE` in its own process
 * (so its CPU and RSS are its own), the compiled CLI a user runs (`buildCli()` compiles it first;
 * run from source through tsx it costs ~15% more CPU), stopped by pid.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/fixtures/ports.js';
import { spawnOwned, waitUntil, type OwnedProcess } from '../test/fixtures/processes.js';
import type { FleetMember } from './scale-fleet.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'supervisor-triggerer.js');
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Options of one triggerer process. */
export interface TriggererProcessOptions {
  dir: string;
  name: string;
  redisUrl: string;
  members: Pick<FleetMember, 'name' | 'url'>[];
  capacity: number;
  sharePollers: boolean;
}

/** A running triggerer process. */
export interface TriggererProcess {
  owned: OwnedProcess;
  pid: number;
  /** User + system CPU seconds used so far. */
  cpuSeconds(): number;
  /** Resident set size in MiB. */
  rssMiB(): number;
  /** Triggers it is watching now (its `triggers_running` gauge on /metrics). */
  running(): Promise<number>;
  /** Triggers it holds, watched or still being set up (its `triggers_held` gauge). */
  held(): Promise<number>;
  /** Its JSON log lines so far whose message is `msg`, parsed (reading them costs it nothing). */
  logLines(msg: string): Record<string, unknown>[];
}

let built: Promise<void> | undefined;

/**
 * Builds the CLI to dist/ with the package's own build (as `npm ci` does: the compiled code and the
 * status page's files), once per bench run, so what is measured is current.
 */
export function buildCli(): Promise<void> {
  built ??= (async () => {
    const tsc = spawnOwned('npm', ['run', '--silent', 'build'], { cwd: ROOT });
    await tsc.exited;
    if (tsc.child.exitCode !== 0) throw new Error(`building the CLI failed:\n${tsc.output()}`);
  })();
  return built;
}

/** Writes the config (K connections), starts the process and waits for `triggerer ready`. */
export async function startTriggerer(options: TriggererProcessOptions): Promise<TriggererProcess> {
  await buildCli();
  const configPath = join(options.dir, `${options.name}.json`);
  const config = {
    capacity: options.capacity,
    share_pollers: options.sharePollers,
    default_interval: '5s',
    log_level: 'info',
    metrics_port: await freePort(),
    connections: Object.fromEntries(options.members.map((m) => [m.name, { url: m.url }])),
  };
  await writeFile(configPath, JSON.stringify(config, null, 2));
  // `SCALE_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"` profiles the triggerers (for diagnosis).
  const nodeArgs = process.env.SCALE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const owned = spawnOwned(process.execPath, [...nodeArgs, BIN, 'triggerer', '--config', configPath], {
    env: { ...process.env, REDIS_URL: options.redisUrl },
  });
  await waitUntil(
    () => {
      if (owned.child.exitCode !== null) throw new Error(`triggerer exited: ${owned.output()}`);
      return owned.output().includes('triggerer ready') ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 50, what: `${options.name} to be ready` },
  );
  const pid = owned.pid;
  const metricsUrl = `http://127.0.0.1:${config.metrics_port}/metrics`;
  const gauge = async (name: string) => {
    const text = await (await fetch(metricsUrl)).text();
    const line = new RegExp(`^supervisor_triggerer_${name} (\\d+)$`, 'm').exec(text);
    if (!line) throw new Error(`no ${name} in ${metricsUrl}`);
    return Number(line[1]);
  };
  return {
    owned,
    pid,
    cpuSeconds: () => cpuSeconds(pid),
    rssMiB: () => rssMiB(pid),
    running: () => gauge('triggers_running'),
    held: () => gauge('triggers_held'),
    logLines: (msg) =>
      owned
        .output()
        .split('\n')
        .filter((l) => l.includes(`"msg":"${msg}"`))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** User + system CPU seconds process `pid` has used. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kib / 1024;
}
