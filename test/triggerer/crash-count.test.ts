/**
 * A long watch outlives more crashes of its holders than BullMQ's stalled limit, as long as each
 * holder watched it well for a while; a record that kills its holder at once still ends failed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { cancel, defer, waitFor } from '../../src/client/index.js';
import { TRIGGERS_QUEUE } from '../../src/protocol/index.js';
import { redisOptions } from '../../src/redis/connection.js';
import { waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { tempDir } from '../fixtures/tmp.js';
import { startTriggerer } from '../fixtures/triggerers.js';

describe('crash count of a trigger', () => {
  let redis: RedisHandle;
  let client: Redis;
  let triggers: Queue;
  let configPath: string;
  let quickConfigPath: string;
  const settings = {
    lock_duration: '1s',
    stalled_interval: '300ms',
    crash_reset_after: '500ms',
    log_level: 'info',
    metrics_port: 'none',
  };
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const procs: OwnedProcess[] = [];

  before(async () => {
    redis = await startRedis();
    dir = await tempDir('crash-');
    configPath = join(dir.path, 'triggerer.json');
    await writeFile(configPath, JSON.stringify(settings));
    quickConfigPath = join(dir.path, 'no-reset.json');
    await writeFile(quickConfigPath, JSON.stringify({ ...settings, crash_reset_after: '10m' }));
    client = new Redis(redisOptions(redis.url));
    triggers = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await triggers?.close();
    client?.disconnect();
    await redis?.stop();
    await dir?.remove();
  });

  const field = async (id: string, name: string) =>
    Number((await client.hget(`bull:${TRIGGERS_QUEUE}:${id}`, name)) ?? 0);
  /** The crash count (BullMQ's stalled counter) of a trigger. */
  const crashes = (id: string) => field(id, 'stc');
  /** Waits until the trigger has been claimed `count` times (BullMQ's attempts started). */
  const claimed = (id: string, count: number) =>
    waitUntil(async () => ((await field(id, 'ats')) >= count ? true : undefined), {
      timeoutMs: 15_000,
      what: `claim ${count} of ${id}`,
    });

  test('a trigger watched well between crashes survives four SIGKILLs of its holders (one more than the stalled limit) and ends only when cancelled', async (t) => {
    t.after(() => Promise.all(procs.map((p) => p.stop())));
    await defer(
      { classpath: 'time.TimeDeltaTrigger', kwargs: { delta: '10m' } },
      { connection: redis.url, id: 'long-watch' },
    );
    for (let kill = 1; kill <= 4; kill++) {
      const holder = await startTriggerer(redis.url, configPath);
      procs.push(holder);
      await claimed('long-watch', kill);
      if (kill > 1) {
        // The crash before this one was counted, then forgiven once this holder watched for a while.
        await waitUntil(() => (holder.output().includes('count reset') ? true : undefined), {
          timeoutMs: 10_000,
          what: `holder ${kill} resetting the crash count`,
        });
        assert.equal(await crashes('long-watch'), 0);
      }
      holder.child.kill('SIGKILL');
      await holder.exited;
    }
    const last = await startTriggerer(redis.url, configPath);
    procs.push(last);
    await claimed('long-watch', 5);
    await cancel('long-watch', { connection: redis.url, reason: 'done' });
    const event = await waitFor('long-watch', { connection: redis.url, timeoutMs: 15_000 });
    assert.equal(event.status, 'cancelled', JSON.stringify(event.payload));
  });

  test('a trigger whose holders die before it was watched for long still fails after the stalled limit', async () => {
    await defer(
      { classpath: 'time.TimeDeltaTrigger', kwargs: { delta: '10m' } },
      { connection: redis.url, id: 'doomed-watch' },
    );
    for (let kill = 1; kill <= 4; kill++) {
      const holder = await startTriggerer(redis.url, quickConfigPath);
      procs.push(holder);
      await claimed('doomed-watch', kill);
      holder.child.kill('SIGKILL');
      await holder.exited;
    }
    // A live triggerer's stalled check finds the fourth crash.
    procs.push(await startTriggerer(redis.url, quickConfigPath));
    const event = await waitFor('doomed-watch', { connection: redis.url, timeoutMs: 15_000 });
    assert.equal(event.status, 'failed');
    assert.match(String(event.payload.error), /stalled more than allowable limit/);
  });
});
