/**
 * A second SIGTERM while the triggerer hands off forces the exit at once. The hand-off is made to
 * hang for real: the triggerer's redis-server is stopped with SIGSTOP (and continued afterwards).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { defer } from '../../src/client/index.js';
import { TRIGGERS_QUEUE } from '../../src/protocol/index.js';
import { redisOptions } from '../../src/redis/connection.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { tempDir } from '../fixtures/tmp.js';
import { startTriggerer, writeTriggererConfig } from '../fixtures/triggerers.js';

let redis: RedisHandle;
let dir: Awaited<ReturnType<typeof tempDir>>;

before(async () => {
  [redis, dir] = await Promise.all([startRedis(), tempDir('second-signal-')]);
});

after(async () => {
  process.kill(redis.pid, 'SIGCONT');
  await redis?.stop();
  await dir?.remove();
});

test('a second SIGTERM during a hand-off that cannot finish exits at once, with 130', async (t) => {
  // No supervisor is contacted: the trigger only waits for time.
  const configPath = await writeTriggererConfig(dir.path, 'http://127.0.0.1:9/RPC2');
  const triggerer = await startTriggerer(redis.url, configPath);
  t.after(() => triggerer.stop());
  await defer(
    { classpath: 'time.TimeDeltaTrigger', kwargs: { delta: '1h' } },
    { connection: redis.url, id: 'held' },
  );
  const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
  try {
    await waitUntil(async () => ((await queue.getJobState('held')) === 'active' ? true : undefined));
  } finally {
    await queue.close();
  }

  process.kill(redis.pid, 'SIGSTOP');
  t.after(() => process.kill(redis.pid, 'SIGCONT'));
  triggerer.child.kill('SIGTERM');
  await waitUntil(() => (triggerer.output().includes('"msg":"stopping"') ? true : undefined), {
    what: 'the hand-off to begin',
  });
  // Redis answers nothing: the hand-off cannot end by itself.
  assert.equal(triggerer.child.exitCode, null);
  triggerer.child.kill('SIGTERM');
  await triggerer.exited;
  assert.equal(triggerer.child.exitCode, 130, triggerer.output());
  assert.match(triggerer.output(), /SIGTERM again, exiting without hand-off/);
});
