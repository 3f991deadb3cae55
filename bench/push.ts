/**
 * Push mode against poll mode, in the same run: the time from a program's death (SIGKILL) to the
 * continuation of the trigger waiting for it starting, and supervisord's CPU with and without the
 * push listener. A real redis-server, two jobs configured and started through the lifecycle (the
 * same programs, one with `push: true`), one triggerer in this process with both as connections,
 * and a BullMQ worker running the continuations.
 * Each round, per mode (alternating): defer a ProgramStateTrigger for `victim` reaching EXITED
 * (interval POLL_INTERVAL; in push mode the endpoint is polled at the reconcile interval instead),
 * wait until a triggerer watches it, a random pause of 0-1.5 s (the death falls anywhere in
 * supervisord's 1 s loop and in the poll interval), SIGKILL the victim, and take the time until
 * the continuation starts; then start the victim again. The CPU window (IDLE_S) comes first, both
 * supervisords idle and each watched by one trigger waiting for a program that does not die.
 * Target: push p99 under 1 s on an idle supervisord.
 * Run: node --import tsx bench/push.ts   (KILLS=30 per mode, POLL_INTERVAL=5s, IDLE_S=60)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { defer, describeTrigger } from '../src/client/index.js';
import { loadJobFiles, resolveJob } from '../src/config/index.js';
import { parseDuration } from '../src/config/duration.js';
import { readTriggerEvent } from '../src/client/continuation.js';
import { redisOptions } from '../src/redis/connection.js';
import { SupervisorClient } from '../src/supervisor/client.js';
import { configure, start } from '../src/supervisor/lifecycle/index.js';
import { ConnectionResolver } from '../src/triggerer/connections.js';
import { Triggerer } from '../src/triggerer/daemon.js';
import { TriggerRegistry } from '../triggers/index.js';
import { daemonPid, stopDaemons, watchPidfile, writeJobFile } from '../test/fixtures/daemon.js';
import { waitUntil } from '../test/fixtures/processes.js';
import { startRedis } from '../test/fixtures/redis.js';
import { tempDir } from '../test/fixtures/tmp.js';
import { machine, quantile } from './stats.js';

const kills = Number(process.env.KILLS ?? 30);
const pollInterval = process.env.POLL_INTERVAL ?? '5s';
const idleMs = Number(process.env.IDLE_S ?? 60) * 1000;
const MODES = ['push', 'poll'] as const;
type Mode = (typeof MODES)[number];

/** supervisord's CPU time in ms (user + system) from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** A job with a victim and a steady program, push mode or not, configured and started. */
async function startJob(dir: string, mode: Mode): Promise<{ client: SupervisorClient; pid: number }> {
  const workingDir = join(dir, `${mode}-wd`);
  watchPidfile(join(workingDir, 'supervisord.pid'));
  const file = await writeJobFile(
    dir,
    {
      working_dir: workingDir,
      push: mode === 'push',
      program: {
        victim: { command: 'sleep 100000', autostart: true, autorestart: false, startsecs: 0 },
        steady: { command: 'sleep 100000', autostart: true, startsecs: 0 },
      },
    },
    `${mode}.yaml`,
  );
  const job = await resolveJob(await loadJobFiles([file]));
  await configure(job, { pollIntervalMs: 100 });
  await start(job, { pollIntervalMs: 100 });
  const client = new SupervisorClient((await resolveJob(await loadJobFiles([file]))).endpoint);
  const wanted = mode === 'push' ? ['victim', 'steady', 'st-push'] : ['victim', 'steady'];
  await waitUntil(
    async () => {
      const infos = await client.getAllProcessInfo();
      return wanted.every((n) => infos.some((i) => i.name === n && i.statename === 'RUNNING')) || undefined;
    },
    { timeoutMs: 15_000, what: `the ${mode} job's programs running` },
  );
  const pid = daemonPid(join(workingDir, 'supervisord.pid'));
  if (pid === undefined) throw new Error(`no supervisord pid for the ${mode} job`);
  return { client, pid };
}

const redis = await startRedis();
const dir = await tempDir('push-bench-');
const closers: (() => Promise<unknown> | void)[] = [];
try {
  const jobs = { push: await startJob(dir.path, 'push'), poll: await startJob(dir.path, 'poll') };
  closers.push(() => Object.values(jobs).forEach((j) => j.client.close()));
  const triggerer = new Triggerer({
    connection: redisOptions(redis.url),
    registry: new TriggerRegistry(),
    endpoints: await ConnectionResolver.create({
      connections: { push: { job: join(dir.path, 'push.yaml') }, poll: { job: join(dir.path, 'poll.yaml') } },
      env: {},
    }),
    logger: pino({ level: 'silent' }),
  });
  await triggerer.start();
  closers.push(() => triggerer.close());
  const started = new Map<string, number>();
  const continuation = new Worker(
    'push-bench',
    async (job) => {
      const at = Date.now();
      started.set((await readTriggerEvent(job)).triggerId, at);
    },
    { connection: redisOptions(redis.url) },
  );
  closers.push(() => continuation.close());

  const watch = (mode: Mode, id: string, program: string) =>
    defer(
      {
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: {
          endpoint: mode,
          programs: [program],
          states: ['EXITED'],
          interval: pollInterval,
          log_tail: false,
        },
      },
      { connection: redis.url, id, continuation: { queue: 'push-bench', name: 'next' } },
    );
  const watched = (id: string) =>
    waitUntil(
      async () =>
        (await describeTrigger(id, { connection: redis.url })).state === 'active' ? true : undefined,
      { timeoutMs: 30_000, what: `${id} watched` },
    );

  // supervisord's CPU, both idle and watched (poll mode: polled every interval; push mode: the
  // listener's wake lines, the logtail stream and the reconcile poll).
  for (const mode of MODES) await watch(mode, `steady-${mode}`, 'steady');
  for (const mode of MODES) await watched(`steady-${mode}`);
  await sleep(1000);
  const before = { push: cpuMs(jobs.push.pid), poll: cpuMs(jobs.poll.pid) };
  const idleStart = performance.now();
  await sleep(idleMs);
  const elapsed = performance.now() - idleStart;
  const cpu = (mode: Mode) => (((cpuMs(jobs[mode].pid) - before[mode]) / elapsed) * 100).toFixed(2);

  const latencies: Record<Mode, number[]> = { push: [], poll: [] };
  for (let round = 0; round < kills; round++) {
    for (const mode of MODES) {
      const { client } = jobs[mode];
      const id = `kill-${mode}-${round}`;
      await watch(mode, id, 'victim');
      await watched(id);
      await sleep(Math.random() * 1500);
      const { pid } = await client.getProcessInfo('victim');
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      const at = await waitUntil(() => started.get(id), {
        timeoutMs: 120_000,
        intervalMs: 5,
        what: `${id}'s continuation`,
      });
      latencies[mode].push(at - killedAt);
      await client.startProcess('victim', true);
    }
  }

  const ms = (xs: number[], q: number) => quantile(xs, q).toFixed(0);
  console.log(`${machine()}, ${new Date().toISOString()}`);
  console.log(
    `${kills} kills per mode, trigger interval ${pollInterval} (${parseDuration(pollInterval)} ms; push: reconcile 30 s), CPU over ${idleMs / 1000} s idle`,
  );
  console.log('| mode | death → continuation p50 ms | p99 ms | max ms | supervisord CPU idle, watched |');
  console.log('|---|---|---|---|---|');
  for (const mode of MODES) {
    const xs = latencies[mode];
    console.log(
      `| ${mode} | ${ms(xs, 0.5)} | ${ms(xs, 0.99)} | ${Math.max(...xs).toFixed(0)} | ${cpu(mode)} % of a core |`,
    );
  }
  const p99 = quantile(latencies.push, 0.99);
  console.log(`push p99 ${p99.toFixed(0)} ms: ${p99 < 1000 ? 'meets' : 'MISSES'} the target (under 1 s)`);
} finally {
  for (const close of closers.reverse()) await close();
  await stopDaemons();
  await redis.stop();
  await dir.remove();
}
