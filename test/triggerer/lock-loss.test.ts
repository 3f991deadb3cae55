import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { TriggerRegistry } from '../../triggers/index.js';
import { defer, readTriggerEvent } from '../../src/client/index.js';
import { TRIGGERS_QUEUE, type TriggerEvent } from '../../src/protocol/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer, type TriggererOptions } from '../../src/triggerer/daemon.js';
import { redisOptions } from '../../src/redis/connection.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { spawnOwned, waitUntil } from '../fixtures/processes.js';

/**
 * A triggerer whose job lock expires (its event loop or Redis too slow to renew it) must give the
 * trigger up, so that BullMQ's stalled check returns it to wait and it is watched again, with no
 * resume lost, none doubled, and no capacity slot kept by a watcher that can no longer complete.
 * The lock is made to expire by deleting its key in the real Redis.
 */
describe('a trigger whose job lock is lost', () => {
  let redis: RedisHandle;
  let supervisord: SupervisordHandle;
  let raw: Redis;
  let endpoints: ConnectionResolver;

  before(async () => {
    redis = await startRedis();
    supervisord = await startSupervisord({
      programs: {
        first: 'command=sleep 1000\nautostart=true\nstartsecs=0\nstopsignal=KILL',
        second: 'command=sleep 1000\nautostart=true\nstartsecs=0\nstopsignal=KILL',
      },
    });
    raw = new Redis(redis.url);
    endpoints = await ConnectionResolver.create({
      connections: { box: { url: supervisord.endpoint.url } },
      env: {},
    });
  });

  after(async () => {
    raw?.disconnect();
    await supervisord?.stop();
    await redis?.stop();
  });

  async function startTriggerer(prefix: string, options: Partial<TriggererOptions>) {
    const logLines: string[] = [];
    const triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry: new TriggerRegistry(),
      endpoints,
      prefix,
      defaultIntervalMs: 100,
      logger: pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }),
      ...options,
    });
    await triggerer.start();
    return { triggerer, logLines };
  }

  async function deferWatch(prefix: string, id: string, program: string) {
    await defer(
      {
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: { endpoint: 'box', programs: [program], states: ['STOPPED'], interval: '100ms' },
      },
      { connection: redis.url, id, prefix, continuation: { queue: `${prefix}-tasks`, name: 'resume' } },
    );
  }

  const watching = (lines: string[], id: string) =>
    lines.filter((l) => l.includes(`"triggerId":"${id}"`) && l.includes('"msg":"watching"')).length;

  test('a claim that BullMQ hands out again supersedes the old one; the continuation runs once', async (t) => {
    const prefix = 'supersede';
    // A long lock (renewed rarely) and a quick stalled check: the job returns to wait and is claimed
    // again by the same process before its lock renewal could notice anything.
    const { triggerer, logLines } = await startTriggerer(prefix, {
      lockDurationMs: 20_000,
      stalledIntervalMs: 300,
    });
    const runs: TriggerEvent[] = [];
    const continuation = new Worker(
      `${prefix}-tasks`,
      async (job) => void runs.push(await readTriggerEvent(job)),
      {
        connection: redisOptions(redis.url),
        prefix,
      },
    );
    const triggers = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    t.after(async () => {
      await continuation.close();
      await triggers.close();
      await triggerer.close();
    });

    await deferWatch(prefix, 'lost-1', 'first');
    await waitUntil(() => (watching(logLines, 'lost-1') === 1 ? true : undefined), { what: 'first claim' });
    assert.equal(await raw.del(`${prefix}:${TRIGGERS_QUEUE}:lost-1:lock`), 1);

    await waitUntil(() => (watching(logLines, 'lost-1') === 2 ? true : undefined), {
      what: 'the trigger claimed again',
    });
    await waitUntil(() => (triggerer.running === 1 ? true : undefined), { what: 'one watcher left' });
    assert.match(await triggerer.metrics.render(), /supervisor_triggerer_triggers_lock_lost_total 1\b/);
    assert.equal(runs.length, 0);

    const ctl = spawnOwned('supervisorctl', ['-c', supervisord.configPath, 'stop', 'first']);
    await ctl.exited;
    assert.equal(ctl.child.exitCode, 0, ctl.output());
    await waitUntil(async () => ((await triggers.getJobState('lost-1')) === 'completed' ? true : undefined), {
      what: 'trigger completed',
    });
    await waitUntil(() => (runs.length > 0 ? true : undefined), { what: 'continuation ran' });
    // The superseding claim kept its lock alive by itself past a full lock period would be needed to
    // see a renewal; what matters here: one event, fired, and no watcher left behind.
    assert.equal(runs.length, 1);
    assert.equal(runs[0]?.status, 'fired');
    assert.equal(triggerer.running, 0);
  });

  test('a lock renewal that fails frees the watcher slot at once', async (t) => {
    const prefix = 'renewal';
    // A short lock renewed often, and no stalled check for a minute: only the renewal sees the loss.
    const { triggerer, logLines } = await startTriggerer(prefix, {
      lockDurationMs: 1000,
      stalledIntervalMs: 60_000,
    });
    t.after(() => triggerer.close());
    await deferWatch(prefix, 'lost-2', 'second');
    await waitUntil(() => (watching(logLines, 'lost-2') === 1 ? true : undefined), { what: 'claim' });
    assert.equal(triggerer.running, 1);
    assert.equal(await raw.del(`${prefix}:${TRIGGERS_QUEUE}:lost-2:lock`), 1);
    await waitUntil(() => (triggerer.running === 0 ? true : undefined), { what: 'the watcher to stop' });
    assert.match(await triggerer.metrics.render(), /supervisor_triggerer_triggers_lock_lost_total 1\b/);
    assert.ok(logLines.some((l) => l.includes('lost-2') && l.includes('lost the job lock')));
    // Said once, as a warning by the watcher: not repeated as an error with BullMQ's stack.
    const errors = logLines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
    assert.deepEqual(errors, []);
  });
});
