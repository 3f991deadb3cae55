/**
 * Scale of the triggerer: N ProgramStateTrigger watchers (with continuations) over K real
 * supervisords of 50 programs, checked every 5 s, watched by a triggerer in its own process.
 * Measures its CPU and RSS at steady state, polls per second as the supervisords saw them, the
 * latency from a program being stopped to its continuation starting, the same without shared
 * pollers, and failover after SIGTERM and SIGKILL of one of two triggerers.
 * Run: node --import tsx bench/scale.ts [--quick]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { TRIGGERS_QUEUE } from '../src/protocol/index.js';
import { redisOptions } from '../src/redis/connection.js';
import { waitUntil } from '../test/fixtures/processes.js';
import { startRedis } from '../test/fixtures/redis.js';
import { tempDir } from '../test/fixtures/tmp.js';
import { pollCounter, programNames, startFleet, waitAllRunning, type FleetMember } from './scale-fleet.js';
import { deferWatchers, recordResumes, triggerCounts, watchedBy, type ResumeLog } from './scale-load.js';
import { cpuSeconds, startTriggerer, type TriggererProcess } from './scale-triggerer.js';
import { machine, quantile } from './stats.js';

const quick = process.argv.includes('--quick');
const INTERVAL_MS = 5000;
const WARMUP_MS = quick ? 6000 : 12_000;
const WINDOW_MS = quick ? 10_000 : 30_000;
const SAMPLE = quick ? 40 : 200;
const STOP_SPREAD_MS = quick ? 5000 : 10_000;

interface Scenario {
  n: number;
  k: number;
  share: boolean;
}
/** `SCALE_FLEET=n,k,m` runs that one fleet hand-off scenario and nothing else (for diagnosis). */
const onlyFleet = process.env.SCALE_FLEET?.split(',').map(Number);
/** `SCALE_ONLY=n,k,shared|unshared` runs that one scenario (for diagnosis). */
const only = process.env.SCALE_ONLY?.split(',');
const scenarios: Scenario[] =
  process.env.SCALE_FAILOVER || onlyFleet
    ? []
    : only
      ? [{ n: Number(only[0]), k: Number(only[1]), share: only[2] !== 'unshared' }]
      : quick
        ? [{ n: 200, k: 4, share: true }]
        : [
            { n: 1000, k: 20, share: true },
            { n: 1000, k: 50, share: true },
            { n: 10_000, k: 20, share: true },
            { n: 10_000, k: 50, share: true },
            { n: 1000, k: 20, share: false },
          ];
/** `SCALE_FAILOVER=n,k` runs that one failover scenario and nothing else (for diagnosis). */
const onlyFailover = process.env.SCALE_FAILOVER?.split(',').map(Number);
const failovers = onlyFailover
  ? [{ n: onlyFailover[0] ?? 1000, k: onlyFailover[1] ?? 20 }]
  : quick || only || onlyFleet
    ? []
    : [
        { n: 1000, k: 20 },
        { n: 10_000, k: 50 },
      ];

const programs = programNames();
const redis = await startRedis();
/** `SCALE_REDIS=unix`: everyone talks to Redis over its unix socket instead of TCP on 127.0.0.1. */
const redisUrl = process.env.SCALE_REDIS === 'unix' ? redis.socketUrl : redis.url;
const connection = redisOptions(redisUrl);
const admin = new Redis({ ...connection, maxRetriesPerRequest: null });
const work = await tempDir('scale-run-');
const fleets = onlyFleet
  ? [{ n: onlyFleet[0] ?? 10_000, k: onlyFleet[1] ?? 50, m: onlyFleet[2] ?? 5 }]
  : quick || only || onlyFailover
    ? []
    : [{ n: 10_000, k: 50, m: 5 }];
const fleetSize = Math.max(
  ...scenarios.map((s) => s.k),
  ...failovers.map((f) => f.k),
  ...fleets.map((f) => f.k),
);
const started = Date.now();
const fleet = await startFleet(fleetSize);
log(`fleet of ${fleetSize} supervisords x 50 programs up in ${Date.now() - started} ms`);
const resumes = await recordResumes(connection);
const rows: Record<string, unknown>[] = [];
const failoverRows: Record<string, unknown>[] = [];
const fleetRows: Record<string, unknown>[] = [];
try {
  for (const scenario of scenarios) rows.push(await measure(scenario));
  for (const f of failovers) failoverRows.push(await failover(f.n, f.k));
  for (const f of fleets) fleetRows.push(await fleetHandOff(f.n, f.k, f.m));
} finally {
  await resumes.close();
  await admin.quit();
  await fleet.stop();
  await redis.stop();
  await work.remove();
}
report();

/** One steady-state + latency measurement with a fresh queue and a fresh triggerer. */
async function measure({ n, k, share }: Scenario): Promise<Record<string, unknown>> {
  const members = fleet.members.slice(0, k);
  await admin.flushall();
  const label = `${n} watchers / ${k} supervisors / ${share ? 'shared' : 'NOT shared'}`;
  log(`${label}: deferring`);
  let t = Date.now();
  await deferWatchers(n, members, programs, admin);
  const deferMs = Date.now() - t;
  const triggerer = await startTriggerer({
    dir: work.path,
    name: `t-${n}-${k}-${share}`,
    redisUrl,
    members,
    capacity: n,
    sharePollers: share,
  });
  try {
    t = Date.now();
    await waitUntil(async () => ((await triggerCounts(connection)).active === n ? true : undefined), {
      timeoutMs: 300_000,
      intervalMs: 200,
      what: `${n} active triggers`,
    });
    const claimMs = Date.now() - t;
    log(`${label}: deferred in ${deferMs} ms, all active ${claimMs} ms after start; warming up`);
    await sleep(WARMUP_MS);
    const steady = await steadyState(triggerer, members);
    log(`${label}: ${JSON.stringify(steady)}; stopping ${SAMPLE} programs`);
    const latency = await resumeLatency(n, members, triggerer);
    log(`${label}: ${JSON.stringify(latency)}`);
    return { label, n, k, share, deferMs, claimMs, ...steady, ...latency };
  } finally {
    await triggerer.owned.stop(20_000);
    await keepLogs([triggerer]);
  }
}

/** CPU, RSS and polls over one window with nothing changing. */
async function steadyState(triggerer: TriggererProcess, members: FleetMember[]) {
  const counters = members.map(pollCounter);
  await Promise.all(counters.map((count) => count()));
  const supCpu = () => members.reduce((sum, m) => sum + cpuSeconds(m.pid), 0);
  const [cpu0, sup0, t0] = [triggerer.cpuSeconds(), supCpu(), Date.now()];
  await sleep(WINDOW_MS);
  const [cpu1, sup1, t1] = [triggerer.cpuSeconds(), supCpu(), Date.now()];
  const polls = (await Promise.all(counters.map((count) => count()))).reduce((a, b) => a + b, 0);
  const seconds = (t1 - t0) / 1000;
  return {
    cpuCores: round((cpu1 - cpu0) / seconds, 3),
    rssMiB: round(triggerer.rssMiB(), 1),
    pollsPerSecond: round(polls / seconds, 1),
    supervisordCpuCores: round((sup1 - sup0) / seconds, 3),
  };
}

/** Stops SAMPLE programs spread over STOP_SPREAD_MS; latency = continuation start - stop call. */
async function resumeLatency(n: number, members: FleetMember[], triggerer: TriggererProcess) {
  const sample = Array.from({ length: Math.min(SAMPLE, members.length * programs.length) }, (_, j) => ({
    member: members[j % members.length] as FleetMember,
    program: programs[Math.floor(j / members.length)] as string,
  }));
  const keys = new Set(sample.map(({ member, program }) => `${member.name}/${program}`));
  let expected = 0;
  for (let i = 0; i < n; i++) {
    const { member, program } = watchedBy(i, members, programs);
    if (keys.has(`${member.name}/${program}`)) expected += 1;
  }
  const before = resumes.total;
  resumes.starts.clear();
  resumes.fired.clear();
  resumes.phases.length = 0;
  resumes.statuses.clear();
  const stoppedAt = new Map<string, number>();
  const calls: Promise<unknown>[] = [];
  const pings: number[] = [];
  let pinging = true;
  const pinger = (async () => {
    while (pinging) {
      const t = performance.now();
      await admin.ping();
      pings.push(performance.now() - t);
      await sleep(10);
    }
  })();
  const t0 = Date.now();
  for (const [j, { member, program }] of sample.entries()) {
    const due = t0 + (j * STOP_SPREAD_MS) / sample.length;
    if (due > Date.now()) await sleep(due - Date.now());
    stoppedAt.set(`${member.name}/${program}`, Date.now());
    calls.push(member.client.stopProcess(program, false));
  }
  await Promise.all(calls);
  try {
    await waitUntil(() => (resumes.total - before >= expected ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: `${expected} continuations`,
    });
  } catch (error) {
    pinging = false;
    const counts = await triggerCounts(connection);
    const tail = triggerer.owned.output().split('\n').slice(-15).join('\n');
    throw new Error(
      `${(error as Error).message}: ${resumes.total - before} ran; triggers ${JSON.stringify(counts)}\n${tail}`,
      { cause: error },
    );
  }
  pinging = false;
  await pinger;
  log(
    `redis ping during the stops: p50 ${quantile(pings, 0.5).toFixed(1)} p99 ${quantile(pings, 0.99).toFixed(1)} max ${Math.max(...pings).toFixed(1)} ms`,
  );
  const latencies = latenciesOf(resumes, stoppedAt);
  if (process.env.SCALE_LOG_DIR) {
    await mkdir(process.env.SCALE_LOG_DIR, { recursive: true });
    await writeFile(
      join(process.env.SCALE_LOG_DIR, `phases-${n}-${members.length}.json`),
      JSON.stringify(resumes.phases),
    );
  }
  // Where the time goes: stop -> the triggerer sees it (poll wait + evaluation), and the event's
  // firedAt -> the continuation starts (BullMQ completes the trigger, moves the flow's parent).
  const seen = [...resumes.fired].flatMap(([key, times]) => times.map((t) => t - (stoppedAt.get(key) ?? t)));
  const delivery = [...resumes.fired].flatMap(([key, times]) => {
    const starts = [...(resumes.starts.get(key) ?? [])].sort((a, b) => a - b);
    return [...times].sort((a, b) => a - b).map((t, i) => (starts[i] ?? t) - t);
  });
  await Promise.all(sample.map(({ member, program }) => member.client.startProcess(program, false)));
  await Promise.all(members.map((m) => waitAllRunning(m)));
  return {
    stopped: sample.length,
    resumed: latencies.length,
    statuses: Object.fromEntries(resumes.statuses),
    p50Ms: Math.round(quantile(latencies, 0.5)),
    p99Ms: Math.round(quantile(latencies, 0.99)),
    maxMs: Math.round(Math.max(...latencies)),
    seenP50Ms: Math.round(quantile(seen, 0.5)),
    seenP99Ms: Math.round(quantile(seen, 0.99)),
    deliveryP50Ms: Math.round(quantile(delivery, 0.5)),
    deliveryP99Ms: Math.round(quantile(delivery, 0.99)),
    phases: Object.fromEntries(
      (['finished', 'claimed', 'started'] as const).map((phase) => {
        const values = resumes.phases.map((p) => p[phase]);
        return [phase, [Math.round(quantile(values, 0.5)), Math.round(quantile(values, 0.99))]];
      }),
    ),
  };
}

function latenciesOf(log: ResumeLog, stoppedAt: Map<string, number>): number[] {
  const latencies: number[] = [];
  for (const [key, starts] of log.starts) {
    const at = stoppedAt.get(key);
    if (at === undefined) {
      const statuses = JSON.stringify(Object.fromEntries(log.statuses));
      throw new Error(
        `a continuation of ${key} ran, but that program was not stopped (statuses ${statuses})`,
      );
    }
    for (const start of starts) latencies.push(start - at);
  }
  return latencies;
}

/**
 * Two triggerers; time from a signal to the one holding every trigger until the other holds each
 * trigger (its `triggers_held`) and until it watches each (`triggers_running`). SIGTERM, then
 * SIGKILL of the adopter with a third triggerer waiting.
 */
async function failover(n: number, k: number): Promise<Record<string, unknown>> {
  const members = fleet.members.slice(0, k);
  await admin.flushall();
  await deferWatchers(n, members, programs, admin);
  const spawn = (name: string) =>
    startTriggerer({ dir: work.path, name, redisUrl, members, capacity: n, sharePollers: true });
  const lockKeys = Array.from({ length: n }, (_, i) => `bull:${TRIGGERS_QUEUE}:w-${i}:lock`);
  const live: TriggererProcess[] = [];
  try {
    const first = await spawn(`fo-a-${n}`);
    live.push(first);
    await waitUntil(async () => ((await triggerCounts(connection)).active === n ? true : undefined), {
      timeoutMs: 300_000,
      intervalMs: 200,
      what: `${n} active triggers in the first triggerer`,
    });
    const second = await spawn(`fo-b-${n}`);
    live.push(second);
    await sleep(2000); // let the second one settle into its blocking fetch
    const term = await timeAdoption(first, [second], 'SIGTERM', n, lockKeys);
    log(`failover ${n}: SIGTERM ${JSON.stringify(term)}`);
    const third = await spawn(`fo-c-${n}`);
    live.push(third);
    await sleep(2000);
    const kill = await timeAdoption(second, [third], 'SIGKILL', n, lockKeys);
    log(`failover ${n}: SIGKILL ${JSON.stringify(kill)}`);
    return {
      n,
      k,
      sigtermMs: term.adoptedMs,
      sigtermWatchingMs: term.watchingMs,
      sigtermLogged: term.logged,
      sigtermExitMs: term.exitMs,
      sigtermCpu: term.cpu,
      sigkillMs: kill.adoptedMs,
      sigkillWatchingMs: kill.watchingMs,
      sigkillCpu: kill.cpu,
    };
  } finally {
    await Promise.all(live.map((t) => t.owned.stop(20_000)));
    await keepLogs(live);
  }
}

/** Held / watched from the hand-off's log lines, with how many went to peers when not all. */
function loggedCell(logged: unknown): string {
  if (!logged) return '-';
  const { heldMs, watchedMs } = logged as { heldMs: number; watchedMs: number };
  return `${heldMs} / ${watchedMs}`;
}

/** CPU seconds of a hand-off as `a / b / c`. */
function cpuCell(cpu: unknown, sides: string[]): string {
  return sides.map((side) => (cpu as Record<string, number>)[side]).join(' / ');
}

function peerCpu(peers: TriggererProcess[]): number {
  return peers.reduce((sum, p) => sum + p.cpuSeconds(), 0);
}

/** `SCALE_LOG_DIR=DIR` keeps each triggerer's output there as `<pid>.log` (for diagnosis). */
async function keepLogs(triggerers: TriggererProcess[]): Promise<void> {
  const dir = process.env.SCALE_LOG_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await Promise.all(triggerers.map((t) => writeFile(join(dir, `${t.pid}.log`), t.owned.output())));
  await writeFile(join(dir, 'redis-slowlog.json'), JSON.stringify(await admin.call('SLOWLOG', 'GET', '200')));
  for (const stream of ['bull:scale-resume:events', `bull:${TRIGGERS_QUEUE}:events`]) {
    await writeFile(
      join(dir, `${stream.replace(/:/g, '_')}.json`),
      JSON.stringify(await admin.xrange(stream, '-', '+')),
    );
  }
}

/**
 * A fleet of `m` triggerers (capacity 1.25 n / m each, started together so they share the n
 * triggers); one gets SIGTERM and the others adopt its share, each claiming in parallel.
 */
async function fleetHandOff(n: number, k: number, m: number): Promise<Record<string, unknown>> {
  const members = fleet.members.slice(0, k);
  await admin.flushall();
  const capacity = Math.ceil((1.25 * n) / m);
  const live: TriggererProcess[] = [];
  try {
    live.push(
      ...(await Promise.all(
        Array.from({ length: m }, (_, i) =>
          startTriggerer({
            dir: work.path,
            name: `fleet-${i}`,
            redisUrl,
            members,
            capacity,
            sharePollers: true,
          }),
        ),
      )),
    );
    await deferWatchers(n, members, programs, admin);
    await waitUntil(async () => ((await triggerCounts(connection)).active === n ? true : undefined), {
      timeoutMs: 300_000,
      intervalMs: 200,
      what: `${n} active triggers in ${m} triggerers`,
    });
    await sleep(2000);
    const lockKeys = Array.from({ length: n }, (_, i) => `bull:${TRIGGERS_QUEUE}:w-${i}:lock`);
    const term = await timeAdoption(live[0] as TriggererProcess, live.slice(1), 'SIGTERM', n, lockKeys);
    log(`fleet of ${m}, ${n} triggers: SIGTERM ${JSON.stringify(term)}`);
    return {
      n,
      k,
      m,
      capacity,
      handedOff: term.moved,
      logged: term.logged,
      adoptedMs: term.adoptedMs,
      watchingMs: term.watchingMs,
      exitMs: term.exitMs,
      cpu: term.cpu,
    };
  } finally {
    await Promise.all(live.map((t) => t.owned.stop(20_000)));
    await keepLogs(live);
  }
}

async function timeAdoption(
  victim: TriggererProcess,
  peers: TriggererProcess[],
  signal: NodeJS.Signals,
  n: number,
  lockKeys: string[],
) {
  const before = await admin.mget(lockKeys);
  const missing = before.findIndex((token) => token === null);
  if (missing >= 0) {
    const sample = await admin.keys(`bull:${TRIGGERS_QUEUE}:*lock*`);
    throw new Error(`before ${signal}: ${lockKeys[missing]} is not held (${sample.slice(0, 5).join()})`);
  }
  // The victim's share (what is handed over; all of them with one peer).
  const moved = await victim.held();
  // CPU seconds each side spends on the hand-off: the victim (sampled until it exits), the peers
  // and Redis, from the signal until every trigger is watched again.
  const cpu0 = { victim: victim.cpuSeconds(), peers: peerCpu(peers), redis: cpuSeconds(redis.pid) };
  let victimCpu = cpu0.victim;
  const sampler = setInterval(() => {
    try {
      victimCpu = victim.cpuSeconds();
    } catch {
      clearInterval(sampler); // exited: /proc/<pid> is gone (or a zombie with its last figures)
    }
  }, 20);
  const t0 = Date.now();
  let exitMs = NaN;
  void victim.owned.exited.then(() => (exitMs = Date.now() - t0));
  victim.owned.child.kill(signal);
  // A hand-off first from the processes' own log lines, read without asking the busy peers anything
  // (a /metrics scrape every 50 ms costs a peer ~7% of its CPU, and answers late while it is busy).
  const logged = signal === 'SIGTERM' ? await handOffFromLogs(victim, peers, t0) : undefined;
  // Taken over: the peers hold every trigger (a hand-off gives each claim over with its lock; after a
  // SIGKILL the stalled check returns them to wait and the peers claim them again).
  const sumOf = async (read: (p: TriggererProcess) => Promise<number>) =>
    (await Promise.all(peers.map(read))).reduce((a, b) => a + b, 0);
  await waitUntil(async () => ((await sumOf((p) => p.held())) === n ? true : undefined), {
    timeoutMs: 120_000,
    intervalMs: 50,
    what: `the victim's triggers taken over after ${signal}`,
  });
  const adoptedMs = Date.now() - t0;
  // Watching again: the peers' running gauges add up to every trigger (each watcher set up).
  await waitUntil(async () => ((await sumOf((p) => p.running())) === n ? true : undefined), {
    timeoutMs: 120_000,
    intervalMs: 50,
    what: `all ${n} triggers watched again after ${signal}`,
  });
  const watchingMs = Date.now() - t0;
  const cpu = {
    victim: round(victimCpu - cpu0.victim, 2),
    peers: round(peerCpu(peers) - cpu0.peers, 2),
    redis: round(cpuSeconds(redis.pid) - cpu0.redis, 2),
  };
  await victim.owned.exited;
  clearInterval(sampler);
  // `SCALE_DEBUG_CLAIMS=1`: when the adopters claimed, per 250 ms after the signal (BullMQ's processedOn).
  if (process.env.SCALE_DEBUG_CLAIMS) {
    const pipe = admin.pipeline();
    for (const key of lockKeys) pipe.hget(key.replace(/:lock$/, ''), 'processedOn');
    const buckets = new Map<number, number>();
    for (const [, value] of (await pipe.exec()) ?? []) {
      const bucket = Math.floor((Number(value) - t0) / 250) * 250;
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
    }
    log(
      `claims per 250 ms after ${signal}: ${[...buckets]
        .sort((a, b) => a[0] - b[0])
        .map(([k, v]) => `${k}:${v}`)
        .join(' ')}`,
    );
  }
  const counts = await triggerCounts(connection);
  if (counts.active !== n) throw new Error(`after ${signal}: ${counts.active} active, expected ${n}`);
  return { adoptedMs, watchingMs, exitMs, moved, cpu, logged };
}

/**
 * When the peers held and watched what the victim handed them, from the lines they write: the
 * victim's `handed the active triggers back to the queue` (how many went to peers) and each peer's
 * `adopted triggers from a closing peer` (written once all it took are watched, with the time its
 * taking took). Claims that went through the queue instead are not in these (the gauges count them).
 */
async function handOffFromLogs(
  victim: TriggererProcess,
  peers: TriggererProcess[],
  t0: number,
): Promise<{ heldMs: number; watchedMs: number; toPeers: number }> {
  const since = (t: TriggererProcess, msg: string) =>
    (t.logLines(msg) as Record<string, number>[]).filter((l) => l.time !== undefined && l.time >= t0);
  return waitUntil(
    () => {
      const [handed] = since(victim, 'handed the active triggers back to the queue');
      if (!handed) return undefined;
      const adoptions = peers.flatMap((p) => since(p, 'adopted triggers from a closing peer'));
      if (adoptions.reduce((sum, a) => sum + (a.triggers ?? 0), 0) < (handed.toPeers ?? 0)) return undefined;
      const latest = (at: (a: Record<string, number>) => number) => Math.max(...adoptions.map(at)) - t0;
      return {
        heldMs: latest((a) => (a.time ?? 0) - (a.watchingMs ?? 0) + (a.takenMs ?? 0)),
        watchedMs: latest((a) => a.time ?? 0),
        toPeers: handed.toPeers ?? 0,
      };
    },
    { timeoutMs: 120_000, intervalMs: 20, what: 'the hand-off lines' },
  );
}

function report(): void {
  const version = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  console.log(
    `\n${machine()}, memory ${round(totalmem() / 2 ** 30, 1)} GiB, supervisord ${version('supervisord', ['--version'])}, ${version('redis-server', ['--version']).split(' ').slice(0, 3).join(' ')}`,
  );
  console.log(
    `interval ${INTERVAL_MS} ms, warm-up ${WARMUP_MS} ms, window ${WINDOW_MS} ms, ${SAMPLE} programs stopped over ${STOP_SPREAD_MS} ms\n`,
  );
  const pollers = (r: Record<string, unknown>) => (r.share ? 'shared' : 'not shared');
  table(
    [
      'watchers',
      'supervisors',
      'pollers',
      'triggerer CPU (cores)',
      'RSS MiB',
      'polls/s (supervisord logs)',
      'supervisord CPU (cores, all)',
      'continuations',
      'p50 ms',
      'p99 ms',
      'max ms',
    ],
    rows.map((r) => [
      r.n,
      r.k,
      pollers(r),
      r.cpuCores,
      r.rssMiB,
      r.pollsPerSecond,
      r.supervisordCpuCores,
      r.resumed,
      r.p50Ms,
      r.p99Ms,
      r.maxMs,
    ]),
  );
  table(
    [
      'watchers',
      'supervisors',
      'pollers',
      'stop -> seen p50 ms',
      'p99 ms',
      'seen -> continuation p50 ms',
      'p99 ms',
    ],
    rows.map((r) => [r.n, r.k, pollers(r), r.seenP50Ms, r.seenP99Ms, r.deliveryP50Ms, r.deliveryP99Ms]),
  );
  table(
    [
      'triggers',
      'supervisors',
      'SIGTERM: all held by the peer ms',
      'SIGTERM: all watched again ms',
      'SIGTERM, from the logs: held / watched ms',
      'SIGTERM: victim exited ms',
      'SIGKILL: all held by the peer ms',
      'SIGKILL: all watched again ms',
      'SIGTERM CPU s: victim / peer / Redis',
      'SIGKILL CPU s: peer / Redis',
    ],
    failoverRows.map((r) => [
      r.n,
      r.k,
      r.sigtermMs,
      r.sigtermWatchingMs,
      loggedCell(r.sigtermLogged),
      r.sigtermExitMs,
      r.sigkillMs,
      r.sigkillWatchingMs,
      cpuCell(r.sigtermCpu, ['victim', 'peers', 'redis']),
      cpuCell(r.sigkillCpu, ['peers', 'redis']),
    ]),
  );
  table(
    [
      'triggers',
      'supervisors',
      'triggerers',
      'capacity each',
      'handed off by the SIGTERMed one',
      'all held by peers ms',
      'all watched again ms',
      'from the logs: held / watched ms',
      'victim exited ms',
      'CPU s: victim / peers / Redis',
    ],
    fleetRows.map((r) => [
      r.n,
      r.k,
      r.m,
      r.capacity,
      r.handedOff,
      r.adoptedMs,
      r.watchingMs,
      loggedCell(r.logged),
      r.exitMs,
      cpuCell(r.cpu, ['victim', 'peers', 'redis']),
    ]),
  );
  console.log(`\nraw: ${JSON.stringify({ rows, failoverRows, fleetRows })}`);
}

/** Prints a markdown table (nothing when there are no rows). */
function table(headers: string[], cells: unknown[][]): void {
  if (cells.length === 0) return;
  const line = (values: unknown[]) => `| ${values.map((v) => String(v)).join(' | ')} |`;
  console.log(`\n${line(headers)}\n${line(headers.map(() => '---'))}`);
  for (const row of cells) console.log(line(row));
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

function log(message: string): void {
  console.error(`[scale +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}
