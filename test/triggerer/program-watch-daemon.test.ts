import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { TriggerRegistry } from '../../triggers/index.js';
import { defer, readTriggerEvent } from '../../src/client/index.js';
import type { TriggerEvent } from '../../src/protocol/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { redisOptions } from '../../src/redis/connection.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { waitUntil } from '../fixtures/processes.js';

/** The always-on watch end to end: deferred through Redis, decided on a real supervisord's programs. */
describe('ProgramWatchTrigger through the triggerer', () => {
  let redis: RedisHandle;
  let supervisord: SupervisordHandle;
  let triggerer: Triggerer;
  let continuation: Worker;
  const events = new Map<string, TriggerEvent>();

  before(async () => {
    redis = await startRedis();
    const exits = (code: number) =>
      `command=sh -c 'sleep 0.3; exit ${code}'\nautostart=true\nstartsecs=0\nautorestart=false\nexitcodes=0`;
    supervisord = await startSupervisord({
      programs: {
        crasher: exits(3),
        worker_a: exits(0),
        worker_b: exits(0),
        steady: 'command=sleep 1000\nautostart=true\nstartsecs=0',
      },
    });
    triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry: new TriggerRegistry(),
      endpoints: await ConnectionResolver.create({
        connections: { box: { url: supervisord.endpoint.url } },
        env: {},
      }),
      defaultIntervalMs: 100,
      logger: pino({ level: 'silent' }),
    });
    await triggerer.start();
    continuation = new Worker(
      'always-on',
      async (job) => {
        const event = await readTriggerEvent(job);
        events.set(event.triggerId, event);
      },
      { connection: redisOptions(redis.url) },
    );
  });

  after(async () => {
    await continuation?.close();
    await triggerer?.close();
    await supervisord?.stop();
    await redis?.stop();
  });

  async function watch(id: string, programs: string[]): Promise<TriggerEvent> {
    await defer(
      {
        classpath: 'supervisor.ProgramWatchTrigger',
        kwargs: { endpoint: 'box', programs, interval: '100ms' },
      },
      { connection: redis.url, id, continuation: { queue: 'always-on', name: 'decide' } },
    );
    return waitUntil(() => events.get(id), { what: `the continuation of ${id}` });
  }

  test('a program that dies with an unexpected exit code gives decision restart, naming it', async () => {
    const event = await watch('watch-restart', ['crasher', 'steady']);
    assert.equal(event.status, 'fired');
    assert.equal(event.payload.decision, 'restart');
    assert.equal(event.payload.reason, 'unhealthy');
    assert.deepEqual(event.payload.bad, ['crasher:crasher']);
  });

  test('programs that all finish cleanly give decision stop', async () => {
    const event = await watch('watch-done', ['worker_a', 'worker_b']);
    assert.equal(event.status, 'fired');
    assert.equal(event.payload.decision, 'stop');
    assert.equal(event.payload.reason, 'done');
    assert.deepEqual(event.payload.bad, []);
  });
});
