/**
 * The fault and bad-input suite: real Redis (password, append-only file), real supervisords
 * (password), two real triggerer processes and a continuation worker, put through what production
 * does to them: hostile records, SIGKILL and SIGTERM of triggerers, a Redis restart under load, a
 * supervisord frozen and one killed while watched. Every continuation is counted (lost, duplicated),
 * and every log line, `ps` snapshot, Redis key and `/metrics` scrape is searched for the secrets.
 * The counts are printed as one `fault suite:` line (bench/RESULTS.md keeps them).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { defer, waitFor } from '../../src/client/index.js';
import { TRIGGERS_QUEUE } from '../../src/protocol/index.js';
import { redisOptions } from '../../src/redis/connection.js';
import { freePort } from '../fixtures/ports.js';
import { waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { tempDir } from '../fixtures/tmp.js';
import {
  countContinuations,
  startTriggerer,
  supervisorctl,
  type ContinuationCounter,
} from '../fixtures/triggerers.js';

const REDIS_PASSWORD = 'fault-redis-pw-93b1e7';
const SUPERVISOR_PASSWORD = 'fault-sup-pw-5d2a08';
const SECRETS = [REDIS_PASSWORD, SUPERVISOR_PASSWORD];
const PROGRAM = 'command=sleep 1000\nautostart=true\nstartsecs=0\nstopsignal=KILL';

/** What the suite tried and how it went, printed at the end. */
const counts = { tried: 0, handled: 0, lost: 0, duplicated: 0 };

/** Every command line seen while the suite runs that holds a secret (sampled from /proc). */
const leakedArgv = new Set<string>();
function sampleArgv(): void {
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (SECRETS.some((secret) => line.includes(secret))) leakedArgv.add(line);
    } catch {
      // gone meanwhile
    }
  }
}

describe('fault suite', () => {
  let redis: RedisHandle;
  let supervisord: SupervisordHandle;
  let doomed: SupervisordHandle;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let configPath: string;
  let admin: Redis;
  let triggers: Queue;
  let metricsPort: number;
  let sampler: NodeJS.Timeout;
  const triggerers: OwnedProcess[] = [];
  /** Every triggerer started, for the log scan (a stopped one keeps its output). */
  const everyTriggerer: OwnedProcess[] = [];
  const counters: ContinuationCounter[] = [];

  async function triggerer(args: string[] = []): Promise<OwnedProcess> {
    const proc = await startTriggerer(redis.url, configPath, args);
    triggerers.push(proc);
    everyTriggerer.push(proc);
    return proc;
  }

  before(async () => {
    sampler = setInterval(sampleArgv, 100);
    [redis, supervisord, doomed, dir] = await Promise.all([
      startRedis({ password: REDIS_PASSWORD, appendonly: true }),
      startSupervisord({
        username: 'watcher',
        password: SUPERVISOR_PASSWORD,
        programs: { a: PROGRAM, b: PROGRAM, c: PROGRAM },
      }),
      startSupervisord({ username: 'watcher', password: SUPERVISOR_PASSWORD, programs: { d: PROGRAM } }),
      tempDir('faults-'),
    ]);
    const passwordFile = join(dir.path, 'supervisor-password');
    await writeFile(passwordFile, `${SUPERVISOR_PASSWORD}\n`, { mode: 0o600 });
    const connection = (url: string) => ({ url, username: 'watcher', password_file: passwordFile });
    configPath = join(dir.path, 'triggerer.json');
    await writeFile(
      configPath,
      JSON.stringify({
        connections: { box: connection(supervisord.endpoint.url), doomed: connection(doomed.endpoint.url) },
        default_interval: '200ms',
        lock_duration: '2s',
        stalled_interval: '1s',
        log_level: 'info',
        metrics_port: 'none',
      }),
    );
    admin = new Redis(redisOptions(redis.url));
    triggers = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
    metricsPort = await freePort();
    await triggerer(['--metrics-port', String(metricsPort)]);
    await triggerer();
  });

  after(async () => {
    clearInterval(sampler);
    await Promise.all(triggerers.map((p) => p.stop(30_000)));
    await Promise.all(counters.map((c) => c.close()));
    await triggers?.close();
    admin?.disconnect();
    await Promise.all([supervisord?.stop(), doomed?.stop()]);
    await redis?.stop();
    await dir?.remove();
    // One line for bench/RESULTS.md.
    console.log(`fault suite: ${JSON.stringify(counts)}`);
  });

  /** Defers `n` triggers waiting for `program` to be STOPPED, each with a continuation on `queue`. */
  async function deferWaiting(queue: string, program: string, n: number): Promise<ContinuationCounter> {
    const counter = countContinuations(redis.url, queue);
    counters.push(counter);
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        defer(
          {
            classpath: 'supervisor.ProgramStateTrigger',
            kwargs: { endpoint: 'box', programs: [program], states: ['STOPPED'] },
          },
          { connection: redis.url, id: `${queue}-${i}`, continuation: { queue, name: 'resume' } },
        ),
      ),
    );
    counts.tried += n;
    return counter;
  }

  const activeIs = async (n: number) => ((await triggers.getActiveCount()) === n ? true : undefined);

  /** Waits for every continuation of `counter` and counts the lost and the duplicated. */
  async function settle(counter: ContinuationCounter, queue: string, n: number): Promise<void> {
    try {
      await waitUntil(() => (counter.distinct() === n ? true : undefined), {
        timeoutMs: 30_000,
        what: `${n} continuations on ${queue}`,
      });
    } finally {
      const ran = Array.from({ length: n }, (_, i) => counter.runs.get(`${queue}-${i}-resume`) ?? []);
      counts.lost += ran.filter((runs) => runs.length === 0).length;
      counts.duplicated += ran.filter((runs) => runs.length > 1).length;
      counts.handled += ran.filter((runs) => runs.length === 1 && runs[0]?.status === 'fired').length;
    }
    // A second run would come from a second completion: give none a chance to hide.
    for (let i = 0; i < n; i++) {
      assert.equal(counter.runs.get(`${queue}-${i}-resume`)?.length, 1, `${queue}-${i} ran once`);
      assert.equal(counter.runs.get(`${queue}-${i}-resume`)?.[0]?.status, 'fired');
    }
  }

  test('hostile records each end once, failed, with a bounded reason; the triggerers keep serving', async () => {
    // Written as another producer writes them: the job is added delayed (no triggerer can claim it
    // yet), its data replaced by the raw text, then promoted to wait.
    const raw = async (id: string, data: string) => {
      const job = await triggers.add('trigger', { placeholder: true }, { jobId: id, delay: 3_600_000 });
      await admin.hset(`bull:${TRIGGERS_QUEUE}:${id}`, 'data', data);
      await job.promote();
    };
    const record = (classpath: string, kwargs: Record<string, unknown>) =>
      JSON.stringify({ v: 1, classpath, kwargs });
    const watch = (kwargs: Record<string, unknown>) =>
      record('supervisor.ProgramStateTrigger', { endpoint: 'box', states: ['STOPPED'], ...kwargs });
    const hostile: [id: string, data: string, reason: RegExp][] = [
      ['h-not-json', '{"v": 1, "classpath": ', /not JSON/],
      ['h-array', '[1, 2, 3]', /not a JSON object/],
      ['h-version', JSON.stringify({ v: 2, classpath: 'time.TimeDeltaTrigger', kwargs: {} }), /version 2/],
      ['h-classpath', record('no.SuchTrigger', {}), /unknown classpath/],
      ['h-kwargs', watch({ states: ['NOPE'] }), /states/],
      ['h-endpoint', watch({ endpoint: 'nowhere' }), /unknown endpoint 'nowhere'/],
      ['h-digits', record('time.TimeDeltaTrigger', { delta: '9'.repeat(50_000) }), /at most 64/],
      ['h-huge', record('time.TimeDeltaTrigger', { delta: '1s', pad: 'x'.repeat(5_000_000) }), /characters/],
      ['h-deep', `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`, /nested more than 32/],
      ['h-interval', watch({ interval: '1ms' }), /from 100ms to 24h/],
      ['h-timer', watch({ interval: '1000d' }), /from 100ms to 24h/],
      [
        'h-password',
        record('time.TimeDeltaTrigger', { delta: '1s', password: SUPERVISOR_PASSWORD }),
        /password/,
      ],
    ];
    for (const [id, data] of hostile) await raw(id, data);
    await defer(
      { classpath: 'time.TimeDeltaTrigger', kwargs: { delta: '300ms' } },
      { connection: redis.url, id: 'h-healthy' },
    );
    counts.tried += hostile.length + 1;
    for (const [id, , reason] of hostile) {
      const event = await waitFor(id, { connection: redis.url, timeoutMs: 20_000 });
      assert.equal(event.status, 'failed', id);
      assert.match(String(event.payload.error), reason, id);
      assert.ok(String(event.payload.error).length <= 1000, `${id}: a bounded reason`);
      assert.equal(await admin.hget(`bull:${TRIGGERS_QUEUE}:${id}`, 'ats'), '1', `${id}: claimed once`);
      counts.handled += 1;
    }
    assert.equal((await waitFor('h-healthy', { connection: redis.url, timeoutMs: 20_000 })).status, 'fired');
    counts.handled += 1;
  });

  test('SIGKILL and SIGTERM of triggerers while they watch: every continuation runs exactly once', async () => {
    const n = 40;
    const counter = await deferWaiting('kills', 'a', n);
    await waitUntil(() => activeIs(n), { timeoutMs: 20_000, what: `${n} watched` });
    const [first, second] = triggerers.splice(0, 2);
    first!.child.kill('SIGKILL');
    await first!.exited;
    await triggerer(); // a replacement, which adopts after the lock expiry and the stalled check
    await second!.stop(30_000); // SIGTERM: a hand-off
    assert.equal(second!.child.exitCode, 0, 'a hand-off exits 0');
    await triggerer(['--metrics-port', String(metricsPort)]);
    await waitUntil(() => activeIs(n), { timeoutMs: 30_000, what: `${n} watched again` });
    await supervisorctl(supervisord.configPath, 'stop', 'a');
    await settle(counter, 'kills', n);
  });

  test('Redis restarted (append-only file) while triggers are watched: every continuation runs exactly once', async () => {
    const n = 40;
    const counter = await deferWaiting('restart', 'b', n);
    await waitUntil(() => activeIs(n), { timeoutMs: 20_000, what: `${n} watched` });
    await redis.restart();
    // The triggerers reconnect; their locks may have lapsed meanwhile, and the triggers come back.
    await waitUntil(() => activeIs(n), { timeoutMs: 30_000, what: `${n} watched after the restart` });
    await supervisorctl(supervisord.configPath, 'stop', 'b');
    await settle(counter, 'restart', n);
  });

  test('a supervisord frozen (SIGSTOP) within the unreachable budget: its triggers still fire when it answers again', async () => {
    const n = 10;
    const ids = Array.from({ length: n }, (_, i) => `frozen-${i}`);
    await Promise.all(
      ids.map((id) =>
        defer(
          {
            classpath: 'supervisor.ProgramStateTrigger',
            kwargs: { endpoint: 'box', programs: ['c'], states: ['STOPPED'], unreachable_budget: '60s' },
          },
          { connection: redis.url, id },
        ),
      ),
    );
    counts.tried += n;
    await waitUntil(() => activeIs(n), { timeoutMs: 20_000, what: `${n} watched` });
    process.kill(supervisord.pid, 'SIGSTOP');
    try {
      // Polls hang until the client's timeout; none of the triggers may end meanwhile.
      await waitUntil(
        async () => {
          const failed = await admin.zcard(`bull:${TRIGGERS_QUEUE}:failed`);
          const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
          return /supervisor_triggerer_polls_total\{endpoint="box",outcome="error"\} [1-9]/.test(text)
            ? failed
            : undefined;
        },
        { timeoutMs: 30_000, what: 'a failed poll of the frozen supervisord' },
      );
    } finally {
      process.kill(supervisord.pid, 'SIGCONT');
    }
    await supervisorctl(supervisord.configPath, 'stop', 'c');
    for (const id of ids) {
      const event = await waitFor(id, { connection: redis.url, timeoutMs: 30_000 });
      assert.equal(event.status, 'fired', `${id}: ${JSON.stringify(event.payload)}`);
      counts.handled += 1;
    }
  });

  test('a supervisord killed while watched: its triggers fail with the reason once the budget is spent', async () => {
    const n = 5;
    const ids = Array.from({ length: n }, (_, i) => `killed-${i}`);
    await Promise.all(
      ids.map((id) =>
        defer(
          {
            classpath: 'supervisor.ProgramStateTrigger',
            kwargs: { endpoint: 'doomed', programs: ['d'], states: ['FATAL'], unreachable_budget: '2s' },
          },
          { connection: redis.url, id },
        ),
      ),
    );
    counts.tried += n;
    await waitUntil(() => activeIs(n), { timeoutMs: 20_000, what: `${n} watched` });
    await doomed.stop();
    for (const id of ids) {
      const event = await waitFor(id, { connection: redis.url, timeoutMs: 30_000 });
      assert.equal(event.status, 'failed', id);
      assert.match(String(event.payload.error), /unreachable|ENOENT|ECONNREFUSED/i);
      counts.handled += 1;
    }
  });

  test('no secret in any log line, command line, Redis key or /metrics', async () => {
    const found: string[] = [];
    const look = (where: string, text: string) => {
      for (const secret of SECRETS)
        if (text.includes(secret)) found.push(`${where} holds ${secret.slice(0, 8)}…`);
    };
    everyTriggerer.forEach((proc, i) => look(`triggerer ${i} output`, proc.output()));
    for (const line of leakedArgv) found.push(`argv: ${line.slice(0, 80)}`);
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await admin.type(key);
        const value =
          type === 'string'
            ? await admin.get(key)
            : type === 'hash'
              ? JSON.stringify(await admin.hgetall(key))
              : type === 'list'
                ? JSON.stringify(await admin.lrange(key, 0, -1))
                : type === 'set'
                  ? JSON.stringify(await admin.smembers(key))
                  : type === 'zset'
                    ? JSON.stringify(await admin.zrange(key, '0', '-1'))
                    : type === 'stream'
                      ? JSON.stringify(await admin.xrange(key, '-', '+'))
                      : '';
        look(`redis ${key}`, `${key} ${value ?? ''}`);
      }
    } while (cursor !== '0');
    look('/metrics', await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()));
    assert.deepEqual(found, []);
  });
});
