/** The cancel marker in Redis: SDK errors, and a marker never cancelling a later trigger reusing the id. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { cancel, defer, TriggerNotFound, waitFor } from '../../src/client/index.js';
import { TRIGGERS_QUEUE } from '../../src/record.js';
import { cancelMarkerKey, parseRequest } from '../../src/triggerer/cancel.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { connect, redisOptions } from '../../src/triggerer/redis.js';
import { TriggerRegistry } from '../../triggers/index.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';

let redis: RedisHandle;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

test('cancel of an unknown trigger is a TriggerNotFound', async () => {
  await assert.rejects(
    cancel('nobody', { connection: redis.url }),
    (e: unknown) => e instanceof TriggerNotFound && /no trigger with id 'nobody'/.test(e.message),
  );
});

test('a marker left by a cancelled trigger does not cancel a new trigger that reuses its id', async () => {
  const record = { classpath: 'time.TimeDeltaTrigger', kwargs: { delta: '100ms' } };
  await defer(record, { connection: redis.url, id: 'reused' });
  const { state, request } = await cancel('reused', { connection: redis.url, reason: 'old' });
  assert.equal(state, 'waiting');
  const client = connect(redisOptions(redis.url));
  const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
  const triggerer = new Triggerer({
    connection: redisOptions(redis.url),
    registry: new TriggerRegistry(),
    endpoints: await ConnectionResolver.create({ connections: {}, env: {} }),
    logger: pino({ level: 'silent' }),
  });
  try {
    assert.deepEqual(parseRequest(await client.get(cancelMarkerKey('reused'))), request);
    // The old job goes away (retention, or an operator) while its marker still lives.
    await queue.remove('reused');
    // A new job is stamped with its creation time in ms: make sure that differs from the old one's.
    await waitUntil(() => (Date.now() > request.jobTimestamp ? true : undefined));
    await defer(record, { connection: redis.url, id: 'reused' });
    await triggerer.start();
    const event = await waitFor('reused', { connection: redis.url, timeoutMs: 10_000, pollMs: 100 });
    assert.equal(event.status, 'fired');
  } finally {
    await triggerer.close();
    await queue.close();
    await client.quit();
  }
});
