/**
 * Always-on jobs at steady state: JOBS runs over SUPERVISORDS supervisords (JOBS / SUPERVISORDS job
 * files share each one: the same working dir and programs, their own names), served by one worker
 * and one triggerer process (the compiled CLI) on a private redis-server. Once every run watches,
 * measures each process's CPU over MEASURE_S seconds while nothing changes: the worker should use
 * (almost) none, since no step runs between two state changes.
 * Run: node --import tsx bench/jobs-scale.ts   (JOBS=1000 SUPERVISORDS=20 CHECK_INTERVAL=5s MEASURE_S=60)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadJob } from '../src/jobs/load.js';
import { beginRun, type StartedRun } from '../src/jobs/runs.js';
import { RunStore } from '../src/jobs/store.js';
import { redisOptions } from '../src/redis/connection.js';
import { stopDaemons, watchPidfile, writeJobFile } from '../test/fixtures/daemon.js';
import { waitUntil } from '../test/fixtures/processes.js';
import { startRedis } from '../test/fixtures/redis.js';
import { tempDir } from '../test/fixtures/tmp.js';
import { benchTriggerer, benchWorker } from './jobs-processes.js';
import { cpuSeconds } from './scale-triggerer.js';
import { machine } from './stats.js';

const jobs = Number(process.env.JOBS ?? 1000);
const supervisords = Number(process.env.SUPERVISORDS ?? 20);
const programs = Number(process.env.PROGRAMS ?? 2);
const checkInterval = process.env.CHECK_INTERVAL ?? '5s';
const measureS = Number(process.env.MEASURE_S ?? 60);
const settleS = Number(process.env.SETTLE_S ?? 10);
const perSupervisord = Math.ceil(jobs / supervisords);

const redis = await startRedis();
const dir = await tempDir('jbs-');
const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
const store = new RunStore(conn);
try {
  const triggerer = await benchTriggerer(dir.path, redis.url);
  const worker = await benchWorker(redis.url);
  try {
    const files: string[][] = [];
    for (let s = 0; s < supervisords; s++) {
      const workingDir = join(dir.path, `wd${s}`);
      watchPidfile(join(workingDir, 'supervisord.pid'));
      const family: string[] = [];
      for (let j = 0; j < perSupervisord && s * perSupervisord + j < jobs; j++) {
        family.push(
          await writeJobFile(
            dir.path,
            {
              name: `j${s}-${j}`,
              working_dir: workingDir,
              check_interval: checkInterval,
              // one password for the family: their configs must render alike
              unix_http_server: { password: `bench-${s}` },
              program: Object.fromEntries(
                Array.from({ length: programs }, (_, p) => [
                  `p${p}`,
                  { command: 'sleep 100000', startsecs: 0 },
                ]),
              ),
            },
            `j${s}-${j}.json`,
          ),
        );
      }
      files.push(family);
    }
    const queue = new Queue((await loadJob([files[0]![0]!])).spec.queue, {
      connection: redisOptions(redis.url),
    });
    const started: StartedRun[] = [];
    const startAll = async (list: string[]) => {
      for (const file of list) started.push(await beginRun(store, queue, await loadJob([file])));
    };
    const allWatching = (what: string) =>
      waitUntil(
        async () => {
          const pipeline = conn.pipeline();
          for (const run of started) pipeline.hmget(store.keys.run(run.runId), 'step', 'outcome');
          const rows = ((await pipeline.exec()) ?? []).map(
            ([, row]) => row as [string | null, string | null],
          );
          const ended = rows.findIndex(([, outcome]) => outcome !== null);
          if (ended !== -1) {
            const failed = rows
              .map(([, o], i) => (o !== null ? started[i]!.runId : undefined))
              .filter(Boolean);
            const events = await store.events(failed[0]!, 30);
            throw new Error(
              `runs ended: ${failed.join(', ')}: ${rows[ended]![1]}\n${events.map((e) => `${e.at} ${e.step} ${e.message}`).join('\n')}`,
            );
          }
          const watching = rows.filter(([step]) => step === 'watch').length;
          if (Date.now() - lastReport > 10_000) {
            lastReport = Date.now();
            console.error(`${what}: ${watching} of ${rows.length} watching`);
          }
          return watching === rows.length ? true : undefined;
        },
        { timeoutMs: Number(process.env.SETUP_TIMEOUT_S ?? 1800) * 1000, intervalMs: 1000, what },
      );
    let lastReport = Date.now();
    const t0 = performance.now();
    // Round r starts the r-th job of every supervisord: the first round starts them, later ones find
    // them running. Jobs that share a supervisord set up one at a time (their configure steps write
    // the same file, which is not an atomic write).
    for (let round = 0; round < perSupervisord; round++) {
      await startAll(files.flatMap((family) => (family[round] === undefined ? [] : [family[round]!])));
      await allWatching(`${started.length} runs watching`);
    }
    const setupS = (performance.now() - t0) / 1000;
    await queue.close();
    await new Promise((resolve) => setTimeout(resolve, settleS * 1000));

    const measured = { worker: worker.owned.pid, triggerer: triggerer.owned.pid, redis: redis.pid };
    const before = Object.fromEntries(Object.entries(measured).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const w0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, measureS * 1000));
    const wall = (performance.now() - w0) / 1000;
    const cores = Object.fromEntries(
      Object.entries(measured).map(([k, pid]) => [k, (cpuSeconds(pid) - before[k]!) / wall]),
    );
    console.log(machine());
    console.log(
      `${jobs} runs over ${supervisords} supervisords (${programs} programs each), check_interval ${checkInterval}: ` +
        `all watching after ${setupS.toFixed(1)} s`,
    );
    console.log(
      `steady state over ${wall.toFixed(0)} s: worker ${cores.worker!.toFixed(4)} cores ` +
        `(target under 0.05: ${cores.worker! < 0.05 ? 'met' : 'NOT met'}), triggerer ${cores.triggerer!.toFixed(4)}, ` +
        `redis ${cores.redis!.toFixed(4)}; worker RSS ${rssMiB(worker.owned.pid).toFixed(0)} MiB, ` +
        `triggerer RSS ${rssMiB(triggerer.owned.pid).toFixed(0)} MiB`,
    );
  } finally {
    await worker.owned.stop();
    await triggerer.owned.stop();
  }
} finally {
  await stopDaemons();
  await conn.quit();
  await redis.stop();
  await dir.remove();
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
}
