/**
 * The cost of claiming and setting up watchers in one process, nothing else running: one real
 * supervisord (50 programs), a private redis-server, an in-process Triggerer; N ProgramStateTrigger
 * records added at once. Prints the wall time until all N are watched, the CPU it took, and the heap
 * and RSS each watcher keeps (after a full GC).
 * Run: node --expose-gc --import tsx bench/setup.ts   (N=10000 by default)
 * `SETUP_PROCESS=cli` runs the same in a `supervisor-triggerer triggerer` process instead (its CPU
 * from /proc; no heap figures).
 */
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { buildRecord } from '../src/client/defer.js';
import { TRIGGERS_QUEUE } from '../src/protocol/index.js';
import { ConnectionResolver } from '../src/triggerer/connections.js';
import { Triggerer } from '../src/triggerer/daemon.js';
import { redisOptions } from '../src/redis/connection.js';
import { waitUntil } from '../test/fixtures/processes.js';
import { startRedis } from '../test/fixtures/redis.js';
import { startSupervisord } from '../test/fixtures/supervisord.js';
import { TriggerRegistry } from '../triggers/index.js';
import { tempDir } from '../test/fixtures/tmp.js';
import { startTriggerer } from './scale-triggerer.js';
import { machine } from './stats.js';

const n = Number(process.env.N ?? 10_000);
const WARM = 100;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const programs = Object.fromEntries(
  Array.from({ length: 50 }, (_, i) => [`p${i}`, 'command=sleep 100000\nautostart=true']),
);
const cli = process.env.SETUP_PROCESS === 'cli';
const redis = await startRedis();
const supervisord = await startSupervisord({ programs });
const work = await tempDir('setup-');
try {
  const subject = cli ? await cliTriggerer() : await inProcess();
  const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
  const add = (from: number, count: number) =>
    queue.addBulk(
      Array.from({ length: count }, (_, j) => ({
        name: 'trigger',
        data: buildRecord({
          classpath: 'supervisor.ProgramStateTrigger',
          kwargs: { endpoint: 'box', programs: [`p${(from + j) % 50}`], states: ['STOPPED'], interval: '5s' },
        }),
        opts: { jobId: `w-${from + j}` },
      })),
    );
  try {
    await add(0, WARM); // warm-up: the poller and the code paths
    await waitUntil(async () => ((await subject.running()) === WARM ? true : undefined), {
      timeoutMs: 60_000,
    });
    // Added while the queue is paused, so adding them is not measured; resuming releases them at once.
    await queue.pause();
    await add(WARM, n);
    gc();
    const before = process.memoryUsage();
    const cpu0 = subject.cpuSeconds();
    const t0 = performance.now();
    await queue.resume();
    await waitUntil(async () => ((await subject.running()) === n + WARM ? true : undefined), {
      timeoutMs: 300_000,
      // A /metrics scrape of a CLI triggerer costs it milliseconds of CPU: not too often.
      intervalMs: Number(process.env.SETUP_POLL_MS ?? 100),
      what: `${n} watchers`,
    });
    const ms = performance.now() - t0;
    const cpu = subject.cpuSeconds() - cpu0;
    gc();
    const after = process.memoryUsage();
    const perWatcher = (bytes: number) => (bytes / n / 1024).toFixed(1);
    console.log(`${machine()}, N ${n}, ${cli ? 'CLI triggerer process' : 'in-process Triggerer'}`);
    console.log(
      `claimed and watching: ${ms.toFixed(0)} ms; CPU ${cpu.toFixed(2)} s` +
        (cli
          ? ''
          : `; per watcher: heap ${perWatcher(after.heapUsed - before.heapUsed)} KiB, ` +
            `RSS ${perWatcher(after.rss - before.rss)} KiB`),
    );
  } finally {
    await subject.close();
    await queue.close();
  }
} finally {
  await supervisord.stop();
  await redis.stop();
  await work.remove();
}

/** What is measured: watchers running, CPU seconds used so far. */
interface Subject {
  running(): Promise<number>;
  cpuSeconds(): number;
  close(): Promise<void>;
}

async function inProcess(): Promise<Subject> {
  const triggerer = new Triggerer({
    connection: redisOptions(redis.url),
    registry: await TriggerRegistry.withPlugins([]),
    endpoints: await ConnectionResolver.create({
      connections: { box: { url: supervisord.endpoint.url } },
      env: {},
    }),
    capacity: n + WARM,
    logger: pino({ level: 'warn' }),
  });
  await triggerer.start();
  return {
    running: () => Promise.resolve(triggerer.metrics.watching),
    cpuSeconds: () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    },
    close: () => triggerer.close(),
  };
}

async function cliTriggerer(): Promise<Subject> {
  const triggerer = await startTriggerer({
    dir: work.path,
    name: 'setup',
    redisUrl: redis.url,
    members: [{ name: 'box', url: supervisord.endpoint.url }],
    capacity: n + WARM,
    sharePollers: true,
  });
  return {
    running: () => triggerer.running(),
    cpuSeconds: () => triggerer.cpuSeconds(),
    close: () => triggerer.owned.stop(20_000),
  };
}
