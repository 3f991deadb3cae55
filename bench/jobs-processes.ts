/**
 * The processes of the jobs benches: a triggerer and a worker, each the compiled CLI a user runs
 * (`buildCli()` first) in its own process so that its CPU is its own, stopped by pid.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnOwned, waitUntil, type OwnedProcess } from '../test/fixtures/processes.js';
import { buildCli, cpuSeconds } from './scale-triggerer.js';

const BIN = join(fileURLToPath(new URL('..', import.meta.url)), 'bin', 'supervisor-triggerer.js');

/** A measured process. */
export interface Measured {
  owned: OwnedProcess;
  cpuSeconds(): number;
}

async function started(owned: OwnedProcess, ready: string): Promise<Measured> {
  await waitUntil(
    () => {
      if (owned.child.exitCode !== null) throw new Error(`exited: ${owned.output().slice(-2000)}`);
      return owned.output().includes(ready) ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 50, what: ready },
  );
  return { owned, cpuSeconds: () => cpuSeconds(owned.pid) };
}

/** A `triggerer` process (no metrics server), logging at warn. */
export async function benchTriggerer(dir: string, redisUrl: string): Promise<Measured> {
  await buildCli();
  const config = join(dir, 'triggerer.json');
  await writeFile(config, JSON.stringify({ metrics_port: 'none', log_level: 'info' }));
  const owned = spawnOwned(process.execPath, [BIN, 'triggerer', '--config', config], {
    env: { ...process.env, REDIS_URL: redisUrl },
  });
  return started(owned, 'triggerer ready');
}

/** A `worker` process. */
export async function benchWorker(redisUrl: string, args: string[] = []): Promise<Measured> {
  await buildCli();
  const owned = spawnOwned(process.execPath, [BIN, 'worker', ...args], {
    env: { ...process.env, REDIS_URL: redisUrl },
  });
  return started(owned, 'worker ready');
}
