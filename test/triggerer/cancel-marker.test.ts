/** The cancel marker in Redis: SDK errors, and a marker never cancelling a later trigger reusing the id. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { cancel, defer, TriggerNotFound, waitFor } from '../../src/client/index.js';
import { TRIGGERS_QUEUE } from '../../src/protocol/index.js';
import { CancelSignals, cancelMarkerKey, parseRequest } from '../../src/triggerer/cancel.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { connect, redisOptions } from '../../src/redis/connection.js';
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

test('the markers asked for in one turn are read with one MGET, each answered with its own', async () => {
  const client = connect(redisOptions(redis.url));
  const signals = new CancelSignals(redisOptions(redis.url), 'batch', pino({ level: 'silent' }));
  try {
    await signals.start();
    const marked = (id: string, jobTimestamp: number) =>
      JSON.stringify({ triggerId: id, requestedAt: new Date().toISOString(), jobTimestamp });
    await client.set(cancelMarkerKey('m-1', 'batch'), marked('m-1', 111));
    await client.set(cancelMarkerKey('m-2', 'batch'), marked('m-2', 999)); // for an older job
    const calls = async (command: string) => {
      const line = (await client.info('commandstats'))
        .split('\r\n')
        .find((l) => l.startsWith(`cmdstat_${command}:`));
      return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0);
    };
    const before = { mget: await calls('mget'), get: await calls('get') };
    const answers = await Promise.all([
      signals.marker('m-1', 111),
      signals.marker('m-2', 222),
      signals.marker('m-3', 333),
    ]);
    assert.deepEqual(
      answers.map((a) => a?.triggerId),
      ['m-1', undefined, undefined],
    );
    assert.deepEqual(
      { mget: await calls('mget'), get: await calls('get') },
      { mget: before.mget + 1, get: before.get },
    );
  } finally {
    await signals.close();
    await client.quit();
  }
});
