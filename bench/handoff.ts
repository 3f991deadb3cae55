/**
 * One hand-off, nothing else: K real supervisords (50 programs each), a private redis-server, N
 * `ProgramStateTrigger` records, two triggerer processes (the compiled CLI, capacity N each). The
 * first claims and watches all N, the second starts, the first gets SIGTERM; prints how long until
 * the second holds all N (`triggers_held`) and watches all N (`triggers_running`), and the hand-off
 * lines both log, and the CPU seconds the peer and the supervisords spent until all were watched.
 * Repeats RUNS times with fresh processes.
 * Run: node --import tsx bench/handoff.ts   (N=10000 K=1 RUNS=3 by default)
 */
import { writeFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { buildRecord } from '../src/client/defer.js';
import { TRIGGERS_QUEUE } from '../src/protocol/index.js';
import { redisOptions } from '../src/redis/connection.js';
import { waitUntil } from '../test/fixtures/processes.js';
import { startRedis } from '../test/fixtures/redis.js';
import { tempDir } from '../test/fixtures/tmp.js';
import { programNames, startFleet } from './scale-fleet.js';
import { cpuSeconds, startTriggerer, type TriggererProcess } from './scale-triggerer.js';
import { machine } from './stats.js';

const n = Number(process.env.N ?? 10_000);
const k = Number(process.env.K ?? 1);
const runs = Number(process.env.RUNS ?? 3);
const ADOPTED = 'adopted triggers from a closing peer';

const redis = await startRedis();
const fleet = await startFleet(k);
const work = await tempDir('handoff-');
const programs = programNames();
try {
  console.log(`${machine()}; N ${n} triggers on ${k} supervisord(s)`);
  for (let run = 1; run <= runs; run++) console.log(`run ${run}: ${JSON.stringify(await handOff(run))}`);
} finally {
  await fleet.stop();
  await redis.stop();
  await work.remove();
}

async function handOff(run: number): Promise<Record<string, unknown>> {
  const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
  const live: TriggererProcess[] = [];
  const spawn = async (name: string) => {
    const triggerer = await startTriggerer({
      dir: work.path,
      name: `${name}-${run}`,
      redisUrl: redis.url,
      members: fleet.members,
      capacity: n,
      sharePollers: true,
    });
    live.push(triggerer);
    return triggerer;
  };
  try {
    await queue.obliterate({ force: true });
    await queue.addBulk(
      Array.from({ length: n }, (_, i) => ({
        name: 'trigger',
        data: buildRecord({
          classpath: 'supervisor.ProgramStateTrigger',
          kwargs: {
            endpoint: fleet.members[i % k]?.name,
            programs: [programs[Math.floor(i / k) % programs.length]],
            states: ['STOPPED'],
            interval: '5s',
          },
        }),
        opts: { jobId: `h-${i}` },
      })),
    );
    const victim = await spawn('victim');
    const all = (read: () => Promise<number>) => async () => ((await read()) === n ? true : undefined);
    await waitUntil(all(victim.running), { timeoutMs: 300_000, intervalMs: 200, what: `${n} watched` });
    const peer = await spawn('peer');
    // The peer is idle in its blocking fetch, listening for hand-offs; as in scale.ts, it gets 2 s
    // to settle (a peer has usually been running for a while).
    await waitUntil(async () => ((await peer.held()) === 0 ? true : undefined), { what: 'the peer up' });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const supervisordCpu = () => fleet.members.reduce((sum, m) => sum + cpuSeconds(m.pid), 0);
    const cpu0 = { peer: peer.cpuSeconds(), supervisords: supervisordCpu() };
    const t0 = Date.now();
    victim.owned.child.kill('SIGTERM');
    // Timed from the peer's own log line, written once every trigger it adopted is watched (with
    // the time its taking took), not by scraping its /metrics: a scrape every 50 ms cost the busy
    // peer ~7% of its CPU, and each answer came late by however long the peer was busy.
    const adoption = await waitUntil(() => line(peer, ADOPTED), {
      timeoutMs: 120_000,
      intervalMs: 20,
      what: 'the peer to adopt',
    });
    const cpu = {
      peer: round(peer.cpuSeconds() - cpu0.peer),
      supervisords: round(supervisordCpu() - cpu0.supervisords),
    };
    const watchedMs = Number(adoption.time) - t0;
    const heldMs = watchedMs - Number(adoption.watchingMs) + Number(adoption.takenMs);
    // A claim the peer had no room for (it keeps one slot for its own fetch) comes through the queue.
    await waitUntil(all(peer.running), {
      timeoutMs: 120_000,
      intervalMs: 50,
      what: `${n} watched by the peer`,
    });
    const allWatchedMs = Date.now() - t0;
    await victim.owned.exited;
    // DUMP=PREFIX keeps both sides' output and the signal's time (epoch ms), to line their logs up.
    const dump = process.env.DUMP;
    if (dump) {
      writeFileSync(`${dump}.${run}.peer`, peer.owned.output());
      writeFileSync(`${dump}.${run}.victim`, victim.owned.output());
      writeFileSync(`${dump}.${run}.t0`, String(t0));
    }
    const handed = line(victim, 'handed the active triggers back to the queue');
    return {
      heldMs,
      watchedMs,
      allWatchedMs,
      cpuSeconds: cpu,
      victim: handed && {
        toPeers: handed.toPeers,
        stoppedMs: handed.stoppedMs,
        offeredMs: handed.offeredMs,
        ms: handed.ms,
      },
      adopted: adoption.triggers,
    };
  } finally {
    await Promise.all(live.map((t) => t.owned.stop(20_000)));
    await queue.close();
  }
}

/** The first JSON log line of `t` with message `msg`. */
function line(t: TriggererProcess, msg: string): Record<string, unknown> | undefined {
  return t.logLines(msg)[0];
}

function round(seconds: number): number {
  return Math.round(seconds * 100) / 100;
}
