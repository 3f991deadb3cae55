/**
 * Records a producer in any language could write, against one real triggerer: each hostile record
 * ends once, failed, with a bounded reason, while a healthy trigger beside them still fires.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { TriggerRegistry } from '../../triggers/index.js';
import { defer, waitFor } from '../../src/client/index.js';
import { TRIGGERS_QUEUE } from '../../src/protocol/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { jobJson, offeredCopy } from '../../src/triggerer/handoff.js';
import { MAX_REASON_CHARS } from '../../src/triggerer/intake.js';
import { createLogger } from '../../src/triggerer/logger.js';
import { redisOptions } from '../../src/redis/connection.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';

/** `{"a":{"a":...}}` nested `depth` levels, as text: JSON.stringify cannot build it (it recurses). */
function deepText(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

describe('hostile records', () => {
  let redis: RedisHandle;
  let queue: Queue;
  let admin: Redis;
  let triggerer: Triggerer;
  const lines: string[] = [];

  /** Adds a placeholder job, then writes its data field as raw text (what another producer may do). */
  async function addRaw(id: string, data: string): Promise<void> {
    await queue.add('trigger', { placeholder: true }, { jobId: id });
    await admin.hset(`bull:${TRIGGERS_QUEUE}:${id}`, 'data', data);
  }

  before(async () => {
    redis = await startRedis();
    queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
    admin = new Redis(redisOptions(redis.url));
    // The hostile records are in the queue before the triggerer starts: it claims them in one burst.
    await addRaw('not-json', '{"v": 1, "classpath": ');
    await addRaw('deep', deepText(100_000));
    const record = (kwargs: Record<string, unknown>, classpath = 'time.TimeDeltaTrigger') => ({
      v: 1,
      classpath,
      kwargs,
    });
    await queue.add('trigger', record({ delta: '9'.repeat(50_000) }), { jobId: 'long-digits' });
    await addRaw('huge-digits', JSON.stringify(record({ delta: '9'.repeat(10_000_000) })));
    await addRaw(
      'huge-endpoint',
      JSON.stringify(
        record({ endpoint: 'x'.repeat(10_000_000), states: ['STOPPED'] }, 'supervisor.ProgramStateTrigger'),
      ),
    );
    await queue.add('trigger', record({ delta: '300ms' }), { jobId: 'healthy' });
    triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry: new TriggerRegistry(),
      endpoints: await ConnectionResolver.create({ env: {} }),
      logger: createLogger({
        destination: { write: (line: string) => void lines.push(line) },
        pretty: false,
      }),
    });
    await triggerer.start();
  });

  after(async () => {
    await triggerer?.close();
    await queue?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  const refusals: [string, RegExp][] = [
    ['not-json', /record is not JSON/],
    ['deep', /nested more than 32 levels/],
    ['long-digits', /delta: .*at most 64/],
    ['huge-digits', /record is (more than )?\d+ characters/],
    ['huge-endpoint', /record is (more than )?\d+ characters/],
  ];

  for (const [id, reason] of refusals) {
    test(`'${id}' fails once with a bounded reason`, async () => {
      const event = await waitFor(id, { connection: redis.url, timeoutMs: 20_000 });
      assert.equal(event.status, 'failed');
      assert.match(String(event.payload.error), reason);
      const job = await queue.getJob(id).catch(() => undefined);
      const failedReason =
        job?.failedReason ?? (await admin.hget(`bull:${TRIGGERS_QUEUE}:${id}`, 'failedReason'));
      assert.ok(
        (failedReason ?? '').length <= MAX_REASON_CHARS,
        `failedReason of ${failedReason?.length} characters`,
      );
      const started = Number(await admin.hget(`bull:${TRIGGERS_QUEUE}:${id}`, 'ats'));
      assert.equal(started, 1, 'claimed once, not again and again');
    });
  }

  test('a healthy trigger claimed in the same burst still fires', async () => {
    const event = await waitFor('healthy', { connection: redis.url, timeoutMs: 20_000 });
    assert.equal(event.status, 'fired');
  });

  test('no log line grows with a record: every line stays under 4 KB', async () => {
    await waitFor('huge-endpoint', { connection: redis.url, timeoutMs: 20_000 });
    const longest = Math.max(...lines.map((line) => line.length));
    assert.ok(longest < 4096, `a log line of ${longest} characters`);
  });

  test('a defer after the hostile burst is served as usual', async () => {
    await defer(
      { classpath: 'time.TimeDeltaTrigger', kwargs: { delta: '100ms' } },
      { connection: redis.url, id: 'after' },
    );
    assert.equal((await waitFor('after', { connection: redis.url, timeoutMs: 10_000 })).status, 'fired');
  });

  test('a claim of a record nested too deep for JSON.stringify is offered without its copy', () => {
    const job = Job.fromJSON(
      queue,
      { id: 'deep-copy', name: 'trigger', data: deepText(100_000), opts: {} } as never,
      'deep-copy',
    );
    assert.throws(() => jobJson(job), RangeError, 'the copy cannot be written');
    assert.equal(offeredCopy(job), undefined, 'offered as id and token only: the taker reads it back');
  });
});
