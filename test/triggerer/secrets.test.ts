/**
 * No secret reaches a log line, an error message or a record kept in Redis: the Redis password of a
 * refused reconnect, a password in a broken triggerer config, a password in a refused record.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { TriggerRegistry } from '../../triggers/index.js';
import { waitFor } from '../../src/client/index.js';
import { TRIGGERS_QUEUE } from '../../src/protocol/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { createLogger } from '../../src/triggerer/logger.js';
import { InvalidTriggererConfig, parseTriggererConfig } from '../../src/triggerer/config-file.js';
import { redisOptions } from '../../src/redis/connection.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';

const REDIS_PASSWORD = 'redis-pw-7f3a9c';
const NEW_REDIS_PASSWORD = 'redis-pw-rotated-22b1';
const RECORD_PASSWORD = 'record-pw-c0ffee';

describe('secrets', () => {
  let redis: RedisHandle;

  before(async () => {
    redis = await startRedis({ password: REDIS_PASSWORD });
  });

  after(async () => {
    await redis?.stop();
  });

  test('a reconnect whose AUTH is refused logs the failure, never the password', async () => {
    const lines: string[] = [];
    const triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry: new TriggerRegistry(),
      endpoints: await ConnectionResolver.create({ env: {} }),
      logger: createLogger({
        destination: { write: (line: string) => void lines.push(line) },
        pretty: false,
      }),
      heartbeatIntervalMs: 200,
    });
    const admin = new Redis(redisOptions(redis.url));
    try {
      await triggerer.start();
      // The password changes under the running triggerer, and its connections drop.
      await admin.config('SET', 'requirepass', NEW_REDIS_PASSWORD);
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await waitUntil(
        () => (lines.some((l) => /WRONGPASS|invalid password|NOAUTH/i.test(l)) ? true : undefined),
        {
          timeoutMs: 20_000,
          what: 'a refused AUTH in the log',
        },
      );
      const leaked = lines.filter((l) => l.includes(REDIS_PASSWORD));
      assert.deepEqual(leaked, [], 'no log line holds the Redis password');
    } finally {
      await admin.config('SET', 'requirepass', REDIS_PASSWORD).catch(() => undefined);
      admin.disconnect();
      await triggerer.close();
    }
  });

  test('a triggerer config that is not YAML is reported without the line that holds a password', () => {
    // The broken line is the one with the password: YAML's own message quotes it.
    const text = `capacity: 5\nredis_url: "redis://:${RECORD_PASSWORD}@box:6379\n`;
    assert.throws(
      () => parseTriggererConfig(text, 'triggerer.yaml'),
      (error: unknown) =>
        error instanceof InvalidTriggererConfig &&
        /triggerer\.yaml/.test(error.message) &&
        !error.message.includes(RECORD_PASSWORD),
    );
  });

  test('a refused record is not kept with the password its kwargs held', async () => {
    const lines: string[] = [];
    const triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry: new TriggerRegistry(),
      endpoints: await ConnectionResolver.create({ env: {} }),
      logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }),
    });
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
    const admin = new Redis(redisOptions(redis.url));
    try {
      await triggerer.start();
      await queue.add(
        'trigger',
        { v: 1, classpath: 'time.TimeDeltaTrigger', kwargs: { delta: '1s', password: RECORD_PASSWORD } },
        { jobId: 'with-password' },
      );
      const event = await waitFor('with-password', { connection: redis.url, timeoutMs: 10_000 });
      assert.equal(event.status, 'failed');
      const stored = await admin.hgetall(`bull:${TRIGGERS_QUEUE}:with-password`);
      assert.ok(!JSON.stringify(stored).includes(RECORD_PASSWORD), 'the job hash no longer holds it');
      assert.ok(!lines.some((l) => l.includes(RECORD_PASSWORD)), 'no log line holds it');
    } finally {
      admin.disconnect();
      await queue.close();
      await triggerer.close();
    }
  });
});
