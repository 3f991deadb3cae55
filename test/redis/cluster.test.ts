/**
 * Everything against a real Redis Cluster (three masters, with a password): every key of ours and
 * BullMQ's shares the slot of the `{bull}` prefix, the SDK defers with a continuation, triggerer
 * processes fire, cancel and hand a trigger over on SIGTERM, `status` reads them, and an always-on
 * job runs (a worker process restarts its program through a continuation) — all named by one
 * `redis+cluster://` URL given as REDIS_URL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { defer, keyPrefix, waitFor } from '../../src/client/index.js';
import { protocolKeys, TRIGGERS_QUEUE } from '../../src/protocol/index.js';
import { connect, parseRedisUrl, redisConnection, releaseConnection } from '../../src/redis/connection.js';
import { listTriggerers } from '../../src/redis/heartbeat.js';
import { InvalidPrefix } from '../../src/redis/prefix.js';
import { runCli } from '../fixtures/cli.js';
import { stopDaemons } from '../fixtures/daemon.js';
import { jobCli, programPid, RunReader, startJobTriggerer, startWorker, writeJob } from '../fixtures/jobs.js';
import { ownChild, waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { startRedisCluster, type RedisClusterHandle } from '../fixtures/redis-cluster.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { tempDir } from '../fixtures/tmp.js';
import {
  countContinuations,
  programState,
  startTriggerer,
  supervisorctl,
  writeTriggererConfig,
  type ContinuationCounter,
} from '../fixtures/triggerers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const PASSWORD = 'cluster-pw-6c1f0a';
const PROGRAM = 'command=sleep 1000\nautostart=true\nstartsecs=0\nstopsignal=KILL';
const N = 20;

describe('a real Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let supervisord: SupervisordHandle;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let configPath: string;
  let connection: ReturnType<typeof redisConnection>;
  let triggers: Queue;
  const procs: OwnedProcess[] = [];
  const counters: ContinuationCounter[] = [];

  before(async () => {
    // One after the other: each is assigned as soon as it runs, so `after` stops it if the next fails.
    cluster = await startRedisCluster({ password: PASSWORD });
    supervisord = await startSupervisord({ programs: { fire: PROGRAM, stay: PROGRAM, term: PROGRAM } });
    dir = await tempDir('rct-');
    configPath = await writeTriggererConfig(supervisord.dir, supervisord.endpoint.url);
    connection = redisConnection(cluster.url);
    triggers = new Queue(TRIGGERS_QUEUE, { connection, prefix: keyPrefix(cluster.url) });
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(counters.map((c) => c.close()));
    await triggers?.close();
    if (connection) await releaseConnection(connection);
    await stopDaemons();
    await supervisord?.stop();
    await cluster?.stop();
    await dir?.remove();
  });

  const watch = (program: string) => ({
    classpath: 'supervisor.ProgramStateTrigger',
    kwargs: { endpoint: 'box', programs: [program], states: ['STOPPED'] },
  });

  async function activeIs(n: number): Promise<true | undefined> {
    const counts = await triggers.getJobCounts('active', 'waiting');
    return counts.active === n && counts.waiting === 0 ? true : undefined;
  }

  /** Waits until each of `ids` ran on `counter`; asserts each ran exactly once, fired. */
  async function eachOnce(counter: ContinuationCounter, ids: string[]): Promise<void> {
    await waitUntil(() => (counter.distinct() === ids.length ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: `${ids.length} continuations`,
    });
    for (const id of ids) {
      const runs = counter.runs.get(id) ?? [];
      assert.equal(runs.length, 1, `continuation ${id} ran ${runs.length} times`);
      assert.equal(runs[0]?.status, 'fired');
    }
  }

  test('every key of ours and of BullMQ for the prefix {bull} is in one slot (and for bull, not)', async () => {
    const slots = async (prefix: string) => {
      const keys = protocolKeys(prefix);
      const list = keys.handOffList('owner');
      const queue = new Queue(TRIGGERS_QUEUE, { connection, prefix });
      const names = [
        keys.cancelMarker('t1'),
        list,
        keys.handOffDone(list),
        keys.handOffComplete(list),
        keys.triggerers,
        keys.triggerer('a'),
        keys.workers,
        keys.worker('w'),
        keys.jobs.names,
        keys.jobs.activeRun('j'),
        keys.jobs.lastRun('j'),
        keys.jobs.spec('j'),
        keys.jobs.run('r'),
        keys.jobs.events('r'),
        keys.jobs.successors('r'),
        keys.jobs.stop('r'),
        keys.jobs.endpoint('e'),
        ...Object.values(queue.keys).filter(Boolean),
        queue.toKey('t1'),
        `${queue.toKey('t1')}:lock`,
        `${prefix}:resume-queue:t1-resume`,
      ];
      await queue.close();
      return new Set(
        await Promise.all(names.map(async (key) => (await cluster.cli('cluster', 'keyslot', key)).trim())),
      );
    };
    assert.equal((await slots('{bull}')).size, 1);
    assert.ok((await slots('bull')).size > 1, 'an untagged prefix spreads the keys over slots');
  });

  test('the SDK given a Cluster client uses the {bull} prefix: a deferral with a continuation is stored', async () => {
    const target = parseRedisUrl(cluster.url);
    assert.equal(target.kind, 'cluster');
    const client = new Cluster(target.kind === 'cluster' ? target.nodes : [], {
      redisOptions: { password: PASSWORD },
    });
    try {
      const deferred = await defer(watch('stay'), {
        connection: client,
        id: 'given-client',
        continuation: { queue: 'resume-given', name: 'resume' },
      });
      assert.equal(deferred.created, true);
      assert.notEqual(await triggers.getJobState('given-client'), 'unknown');
      await triggers.remove('given-client').catch(() => undefined);
    } finally {
      client.disconnect();
    }
  });

  test('a prefix without a hash tag is refused on a cluster, before anything is written', async () => {
    await assert.rejects(defer(watch('stay'), { connection: cluster.url, prefix: 'app' }), InvalidPrefix);
  });

  test('a triggerer process fires a deferred trigger and its continuation runs once', async () => {
    procs.push(await startTriggerer(cluster.url, configPath));
    const counter = countContinuations(cluster.url, 'resume-fire');
    counters.push(counter);
    await defer(watch('fire'), {
      connection: cluster.url,
      id: 'fire-1',
      continuation: { queue: 'resume-fire', name: 'resume' },
    });
    await waitUntil(() => activeIs(1), { what: 'the trigger watched' });
    await supervisorctl(supervisord.configPath, 'stop', 'fire');
    await eachOnce(counter, ['fire-1-resume']);
  });

  test('cancel from the CLI reaches the triggerer watching the trigger', async () => {
    await defer(watch('stay'), { connection: cluster.url, id: 'cancel-1' });
    await waitUntil(() => activeIs(1), { what: 'the trigger watched' });
    const result = await runCli(['cancel', 'cancel-1', '--reason', 'test'], {
      env: { REDIS_URL: cluster.url },
    });
    assert.equal(result.code, 0, result.stderr);
    const event = await waitFor('cancel-1', { connection: cluster.url, timeoutMs: 10_000 });
    assert.equal(event.status, 'cancelled');
    assert.equal(await programState(supervisord.configPath, 'stay'), 'RUNNING');
  });

  test('status lists the live triggerer and the triggers, and never shows the password', async () => {
    const result = await runCli(['status', '--json'], { env: { REDIS_URL: cluster.url } });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      triggerers: { pid: number }[];
      triggers: { total: { completed: number } };
    };
    assert.deepEqual(
      report.triggerers.map((t) => t.pid),
      procs.map((p) => p.pid),
    );
    assert.ok(report.triggers.total.completed >= 2, result.stdout);
    assert.ok(!`${result.stdout}${result.stderr}`.includes(PASSWORD));
  });

  test("status ID --logs reads a trigger's own log lines from the cluster, under its {bull} prefix", async () => {
    const result = await runCli(['status', 'cancel-1', '--logs', '--json'], {
      env: { REDIS_URL: cluster.url },
    });
    assert.equal(result.code, 0, result.stderr);
    const logs = JSON.parse(result.stdout) as { lines: { msg?: string }[] };
    assert.ok(logs.lines.length > 0, result.stdout);
  });

  test('status --watch reads the cluster with its {bull} prefix: the live triggerers and the triggers', async () => {
    const child = ownChild(
      spawn(process.execPath, ['--import', TSX, MAIN, 'status', '--watch', '--json', '--interval', '300ms'], {
        env: { ...process.env, REDIS_URL: cluster.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const first = await waitUntil(() => out.split('\n').find((line) => line.startsWith('{')), {
      timeoutMs: 15_000,
      what: 'a frame of status --watch',
    });
    child.kill('SIGINT');
    assert.equal(await closed, 0);
    const frame = JSON.parse(first) as { triggerers: { pid: number }[]; counts: { completed: number } };
    assert.deepEqual(frame.triggerers.map((t) => t.pid).sort(), procs.map((p) => p.pid).sort());
    assert.ok(frame.counts.completed >= 2, first);
    assert.ok(!out.includes(PASSWORD));
  });

  test('the heartbeat listing prunes a member whose beat expired (a script on keys of one slot)', async () => {
    const redis = connect(connection);
    try {
      const keys = protocolKeys(keyPrefix(cluster.url));
      await redis.zadd(keys.triggerers, Date.now(), 'ghost');
      const live = await listTriggerers(redis, { prefix: keyPrefix(cluster.url) });
      assert.ok(!live.some((t) => t.id === 'ghost'));
      assert.equal(await redis.zscore(keys.triggerers, 'ghost'), null);
    } finally {
      redis.disconnect();
    }
  });

  test('SIGTERM hands every trigger over to the other triggerer; each continuation runs once', async () => {
    const [first] = procs;
    assert.ok(first);
    const counter = countContinuations(cluster.url, 'resume-term');
    counters.push(counter);
    const ids = Array.from({ length: N }, (_, i) => `term-${i}`);
    await Promise.all(
      ids.map((id) =>
        defer(watch('term'), {
          connection: cluster.url,
          id,
          continuation: { queue: 'resume-term', name: 'resume' },
        }),
      ),
    );
    await waitUntil(() => activeIs(N), { what: `${N} triggers held by the first triggerer` });
    const second = await startTriggerer(cluster.url, configPath);
    procs.push(second);

    first.child.kill('SIGTERM');
    await first.exited;
    assert.equal(first.child.exitCode, 0, first.output());
    assert.match(first.output(), new RegExp(`"triggers":${N},"toPeers":${N},"peers":1,`));
    await waitUntil(
      () =>
        /"triggers":20,.*"msg":"adopted triggers from a closing peer"/.test(second.output())
          ? true
          : undefined,
      {
        what: 'the adoption',
      },
    );
    await waitUntil(() => activeIs(N), { what: 'every trigger watched again' });
    assert.equal(counter.distinct(), 0, 'a hand-off resumes nothing');

    await supervisorctl(supervisord.configPath, 'stop', 'term');
    await eachOnce(
      counter,
      ids.map((id) => `${id}-resume`),
    );
  });

  test('an always-on job runs: its program dies, the worker restarts it through the triggerer; job stop ends it', async () => {
    const triggerer = await startJobTriggerer(cluster.url, dir.path);
    procs.push(triggerer);
    const worker = await startWorker(cluster.url);
    procs.push(worker);
    const runs = new RunReader(cluster.url);
    try {
      await writeJob(dir.path, 'steady', {
        check_interval: '300ms',
        program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
      });
      const started = await jobCli(cluster.url, ['start', join(dir.path, 'steady.yaml')]);
      assert.equal(started.code, 0, started.stderr);
      const runId = started.stdout.trim();
      await runs.until('steady', (s) => s.step === 'watch' && s.cycle === 1, { what: 'watching' });
      process.kill(await programPid(dir.path, 'steady', 'sleeper'), 'SIGKILL');
      await runs.until('steady', (s) => s.retriggers === 1 && s.cycle === 2 && s.step === 'watch', {
        what: 'restarted and watching again',
      });
      const stopped = await jobCli(cluster.url, ['stop', 'steady']);
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.equal((await runs.ended('steady', runId)).outcome?.status, 'stopped');
      const listed = await jobCli(cluster.url, ['list', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /steady/);
    } finally {
      await runs.close();
    }
  });

  test('the status page reads the cluster: its overview lists the live triggerers, with no Redis error', async () => {
    const paged = await startTriggerer(cluster.url, configPath, ['--metrics-port', '0']);
    procs.push(paged);
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"serving the status page/.exec(
      paged.output(),
    )?.[1];
    assert.ok(url, `no status page URL logged:\n${paged.output()}`);
    const overview = await waitUntil(
      async () => {
        const body = (await (await fetch(`${url}/api/overview`)).json()) as {
          redisError?: string;
          triggerers: { pid: number }[];
        };
        return body.triggerers.some((t) => t.pid === paged.pid) ? body : undefined;
      },
      { timeoutMs: 15_000, what: 'the page listing its own triggerer' },
    );
    assert.equal(overview.redisError, undefined);
    assert.ok(!JSON.stringify(overview).includes(PASSWORD));
  });
});
