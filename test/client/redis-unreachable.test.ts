import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  cancel,
  ClientError,
  defer,
  describeTrigger,
  listTriggers,
  liveTriggerers,
  RedisAuthFailed,
  RedisUnreachable,
  triggerStatus,
  waitFor,
} from '../../src/client/index.js';
import { freePort } from '../fixtures/ports.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis } from '../fixtures/redis.js';
import { tempDir } from '../fixtures/tmp.js';

const SECRET = 'pw-never-shown';

/** Every SDK call that talks to Redis, on one connection. */
function calls(connection: string): [string, () => Promise<unknown>][] {
  return [
    ['defer', () => defer({ classpath: 'x.Y' }, { connection })],
    ['cancel', () => cancel('t-1', { connection })],
    ['waitFor', () => waitFor('t-1', { connection })],
    ['triggerStatus', () => triggerStatus({ connection })],
    ['liveTriggerers', () => liveTriggerers({ connection })],
    ['listTriggers', () => listTriggers({ connection })],
    ['describeTrigger', () => describeTrigger('t-1', { connection })],
  ];
}

test('every SDK call on a closed port fails with RedisUnreachable naming the URL without its password', async () => {
  const port = await freePort();
  for (const [name, call] of calls(`redis://:${SECRET}@127.0.0.1:${port}`)) {
    await assert.rejects(call(), (error: unknown) => {
      assert.ok(error instanceof RedisUnreachable, `${name}: ${String(error)}`);
      assert.ok(error instanceof ClientError);
      assert.equal(error.url, `redis://:***@127.0.0.1:${port}`);
      assert.equal(error.code, 'ECONNREFUSED');
      assert.equal(
        error.message,
        `Redis at redis://:***@127.0.0.1:${port} is unreachable: connect ECONNREFUSED 127.0.0.1:${port}`,
      );
      return true;
    });
  }
});

test('every SDK call on a unix socket that does not exist fails with RedisUnreachable (ENOENT)', async () => {
  const dir = await tempDir('st-');
  try {
    const socket = join(dir.path, 'absent.sock');
    for (const [name, call] of calls(`unix://${socket}`)) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof RedisUnreachable, `${name}: ${String(error)}`);
        assert.equal(error.code, 'ENOENT');
        assert.match(error.message, new RegExp(`^Redis at unix://${socket} is unreachable: connect ENOENT`));
        return true;
      });
    }
  } finally {
    await dir.remove();
  }
});

test('a wrong password is RedisAuthFailed, and neither password appears in it', async () => {
  const redis = await startRedis({ password: SECRET });
  try {
    const wrong = `redis://:wrong-${SECRET}@127.0.0.1:${redis.port}`;
    for (const [name, call] of calls(wrong)) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof RedisAuthFailed, `${name}: ${String(error)}`);
        assert.match(error.message, /refused the credentials: WRONGPASS/);
        assert.doesNotMatch(`${error.message} ${JSON.stringify(error)}`, new RegExp(SECRET));
        return true;
      });
    }
  } finally {
    await redis.stop();
  }
});

test('waitFor fails with RedisUnreachable once Redis has been away for its budget during the wait', async () => {
  const redis = await startRedis();
  try {
    await defer({ classpath: 'x.Y' }, { connection: redis.url, id: 'w-1' });
    const admin = new Redis(redis.port, '127.0.0.1');
    const clients = async () =>
      String(await admin.client('LIST'))
        .trim()
        .split('\n').length;
    const before = await clients();
    const waiting = waitFor('w-1', { connection: redis.url, unreachableBudgetMs: 500, pollMs: 100 });
    const outcome: Promise<unknown> = waiting.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    // The wait is under way: its queue and its event stream are connected.
    await waitUntil(async () => ((await clients()) >= before + 2 ? true : undefined), {
      what: "waitFor's connections",
    });
    admin.disconnect();
    await redis.stop();
    const error = await outcome;
    assert.ok(error instanceof RedisUnreachable, String(error));
    assert.equal(error.url, redis.url);
  } finally {
    await redis.stop();
  }
});
