/** A run's committed successors and restart marks are forgotten once their cycle is long past. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { stepJobId } from '../../src/jobs/names.js';
import { RunStore } from '../../src/jobs/store.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';

describe('a run’s keys stay bounded', () => {
  let redis: RedisHandle;
  let connection: Redis;
  before(async () => {
    redis = await startRedis();
    connection = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    connection?.disconnect();
    await redis?.stop();
  });

  test('forgetBefore drops the entries of older cycles and keeps the rest of the record', async () => {
    const store = new RunStore(connection, 'sp');
    const runId = 'web.20300101-000000.1';
    await store.record(runId, { step: 'watch', cycle: '10' });
    for (let cycle = 1; cycle <= 10; cycle++) {
      await store.commit(runId, stepJobId(runId, cycle, 'watch'), '{"kind":"none"}');
      await store.commit(runId, stepJobId(runId, cycle, 'evaluate'), '{"kind":"none"}');
      await store.restartMark(runId, stepJobId(runId, cycle, 'restart-programs'), '{"at":0,"pids":{}}');
    }
    await store.forgetBefore(runId, 8);
    const cycles = (fields: string[]) =>
      [...new Set(fields.map((f) => Number(/\.(\d+)\.[a-z-]+$/.exec(f)?.[1])))].sort((a, b) => a - b);
    assert.deepEqual(cycles(await connection.hkeys(store.keys.successors(runId))), [8, 9, 10]);
    const record = await store.readRecord(runId);
    const marks = Object.keys(record!).filter((f) => f.startsWith('restartMark.'));
    assert.deepEqual(cycles(marks), [8, 9, 10]);
    assert.equal(record!.step, 'watch');
    assert.equal(record!.cycle, '10');
  });
});
