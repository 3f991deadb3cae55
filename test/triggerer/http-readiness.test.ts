import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { listTriggerers } from '../../src/redis/heartbeat.js';
import { TriggererMetrics } from '../../src/triggerer/metrics.js';
import { startObservability } from '../../src/triggerer/observability.js';
import { redisOptions } from '../../src/redis/connection.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';

describe('heartbeat and health server of a triggerer (real Redis)', () => {
  let redis: RedisHandle;
  let client: Redis;
  const metrics = new TriggererMetrics({ capacity: 10, defaultMetrics: false });
  const logger = pino({ level: 'silent' });

  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });

  after(async () => {
    client?.disconnect();
    await redis?.stop();
    metrics.close();
  });

  test('ready while Redis is connected and the worker runs; 503 with the reason when the worker stops', async () => {
    let workerRunning = true;
    const observability = await startObservability({
      connection: redisOptions(redis.url),
      metrics,
      logger,
      load: () => ({ capacity: 10, running: 4, endpoints: { 'box-1': 4 } }),
      workerRunning: () => workerRunning,
      metricsPort: 0,
      heartbeatIntervalMs: 100,
      id: 'obs-1',
    });
    try {
      const url = observability.server?.url ?? assert.fail('no server');
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { live: true, ready: true, detail: { redis: 'ready' } });
      assert.equal((await fetch(`${url}/metrics`)).status, 200);
      const [beat] = (await listTriggerers(client)).filter((t) => t.id === 'obs-1');
      assert.equal(beat?.running, 4);

      workerRunning = false;
      const notReady = await fetch(`${url}/readyz`);
      assert.equal(notReady.status, 503);
      assert.deepEqual(await notReady.json(), {
        live: true,
        ready: false,
        detail: { redis: 'ready', reason: 'worker not running' },
      });
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    } finally {
      await observability.stop();
    }
    assert.ok(!(await listTriggerers(client)).some((t) => t.id === 'obs-1'), 'heartbeat removed on stop');
    await assert.rejects(fetch(`${observability.server?.url}/healthz`), 'server closed on stop');
  });

  test('without a metrics port there is a heartbeat but no server', async () => {
    const observability = await startObservability({
      connection: redisOptions(redis.url),
      metrics,
      logger,
      load: () => ({ capacity: 1, running: 0, endpoints: {} }),
      workerRunning: () => true,
      id: 'obs-quiet',
    });
    try {
      assert.equal(observability.server, undefined);
      assert.ok((await listTriggerers(client)).some((t) => t.id === 'obs-quiet'));
    } finally {
      await observability.stop();
    }
  });

  test('/readyz answers 503 "redis not connected" once Redis goes away', async () => {
    const own = await startRedis();
    let observability;
    try {
      observability = await startObservability({
        connection: redisOptions(own.url),
        metrics,
        logger,
        load: () => ({ capacity: 1, running: 0, endpoints: {} }),
        workerRunning: () => true,
        metricsPort: 0,
        heartbeatIntervalMs: 100,
      });
      const url = observability.server?.url ?? assert.fail('no server');
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      await own.stop();
      const body = await waitUntil(
        async () => {
          const response = await fetch(`${url}/readyz`);
          return response.status === 503
            ? ((await response.json()) as { detail: { reason: string } })
            : undefined;
        },
        { what: '/readyz to answer 503' },
      );
      assert.equal(body.detail.reason, 'redis not connected');
      assert.equal((await fetch(`${url}/healthz`)).status, 200, 'still live: it reconnects on its own');
    } finally {
      await observability?.stop();
      await own.stop();
    }
  });
});
