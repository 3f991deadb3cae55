import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { NEVER, throwError, timer, map } from 'rxjs';
import { z } from 'zod';
import { defer, readTriggerEvent, waitFor } from '../../src/client/index.js';
import { TRIGGERS_QUEUE, type TriggerEvent } from '../../src/protocol/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer, type TriggererOptions } from '../../src/triggerer/daemon.js';
import { defineTrigger, type TriggerDefinition } from '../../src/triggerer/definition.js';
import { redisOptions } from '../../src/redis/connection.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { waitUntil } from '../fixtures/processes.js';
import { waitForLogLine } from '../fixtures/log-lines.js';

// Test-only definitions: registered in this file's registry, never in the built-in one.
const definitions: TriggerDefinition[] = [
  defineTrigger({
    classpath: 'test.Fire',
    kwargs: z.object({ after_ms: z.number().int().nonnegative().default(0), note: z.string().optional() }),
    run: (kwargs) =>
      timer(kwargs.after_ms).pipe(map(() => ({ status: 'fired' as const, payload: { note: kwargs.note } }))),
  }),
  defineTrigger({ classpath: 'test.Never', kwargs: z.object({}), run: () => NEVER }),
  defineTrigger({
    classpath: 'test.Broken',
    kwargs: z.object({}),
    run: () => throwError(() => new Error('endpoint on fire')),
  }),
  defineTrigger({
    classpath: 'test.OnEndpoint',
    kwargs: z.object({ endpoint: z.string() }),
    run: (kwargs) =>
      timer(0).pipe(map(() => ({ status: 'fired' as const, payload: { endpoint: kwargs.endpoint } }))),
  }),
];
const registry = { get: (classpath: string) => definitions.find((d) => d.classpath === classpath) };

describe('Triggerer (real Redis)', () => {
  let redis: RedisHandle;
  let triggerer: Triggerer;
  let queue: Queue;
  const logLines: string[] = [];
  const workers: Worker[] = [];
  const connection = () => redisOptions(redis.url);

  before(async () => {
    redis = await startRedis();
    const endpoints = await ConnectionResolver.create({
      connections: { 'box-1': { url: 'unix:///nonexistent/supervisor.sock' } },
      env: {},
    });
    triggerer = new Triggerer({
      connection: connection(),
      registry,
      endpoints,
      capacity: 50,
      logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
    });
    await triggerer.start();
    queue = new Queue(TRIGGERS_QUEUE, { connection: connection() });
  });

  after(async () => {
    for (const worker of workers) await worker.close();
    await queue?.close();
    await triggerer?.close();
    await redis?.stop();
  });

  /** A worker on a fresh task queue that records every continuation it runs. */
  function continuationWorker(name: string): { runs: TriggerEvent[] } {
    const seen: { runs: TriggerEvent[] } = { runs: [] };
    const worker = new Worker(
      name,
      async (job) => {
        seen.runs.push(await readTriggerEvent(job));
      },
      { connection: connection() },
    );
    workers.push(worker);
    return seen;
  }

  test('a deferred trigger completes its job with a fired event and its continuation runs once with it', async () => {
    const seen = continuationWorker('task-fire');
    const deferred = await defer(
      { classpath: 'test.Fire', kwargs: { after_ms: 50, note: 'hello' } },
      {
        connection: redis.url,
        id: 'fire-1',
        continuation: { queue: 'task-fire', name: 'resume', data: { step: 2 } },
      },
    );
    assert.equal(deferred.created, true);
    await waitUntil(() => (seen.runs.length > 0 ? true : undefined), { what: 'continuation' });
    const event = seen.runs[0];
    assert.equal(event?.triggerId, 'fire-1');
    assert.equal(event?.status, 'fired');
    assert.deepEqual(event?.payload, { note: 'hello' });
    const again = await waitFor('fire-1', { connection: redis.url, timeoutMs: 5000 });
    assert.deepEqual(again, event);
    const resumeQueue = new Queue('task-fire', { connection: connection() });
    try {
      await waitUntil(async () =>
        (await resumeQueue.getJobState('fire-1-resume')) === 'completed' ? true : undefined,
      );
    } finally {
      await resumeQueue.close();
    }
    assert.equal(seen.runs.length, 1);
  });

  test('deferring an existing trigger id again is a no-op: the continuation still runs exactly once', async () => {
    const seen = continuationWorker('task-dup');
    const options = {
      connection: redis.url,
      id: 'dup-1',
      continuation: { queue: 'task-dup', name: 'resume' },
    };
    const first = await defer({ classpath: 'test.Fire', kwargs: { after_ms: 200 } }, options);
    const second = await defer({ classpath: 'test.Fire', kwargs: { after_ms: 200 } }, options);
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    await waitFor('dup-1', { connection: redis.url, timeoutMs: 5000 });
    const resumeQueue = new Queue('task-dup', { connection: connection() });
    await waitUntil(async () =>
      (await resumeQueue.getJobCounts('completed')).completed === 1 ? true : undefined,
    );
    await resumeQueue.close();
    assert.equal(seen.runs.length, 1);
  });

  test('an error in the watcher completes the trigger with status failed and the reason', async () => {
    await defer({ classpath: 'test.Broken' }, { connection: redis.url, id: 'broken-1' });
    const event = await waitFor('broken-1', { connection: redis.url, timeoutMs: 5000 });
    assert.equal(event.status, 'failed');
    assert.match(String(event.payload.error), /endpoint on fire/);
  });

  test('a trigger past its deadline fires status timeout', async () => {
    await defer({ classpath: 'test.Never' }, { connection: redis.url, id: 'timeout-1', timeout: '300ms' });
    const event = await waitFor('timeout-1', { connection: redis.url, timeoutMs: 5000 });
    assert.equal(event.status, 'timeout');
  });

  test("a deadline beyond setTimeout's 24.8-day limit does not fire early", async () => {
    // A single timer of more than 2^31-1 ms fires after 1 ms in Node.js.
    await defer({ classpath: 'test.Never' }, { connection: redis.url, id: 'far-1', timeout: '30d' });
    await waitUntil(async () => ((await queue.getJobState('far-1')) === 'active' ? true : undefined));
    // A trigger deferred after it fires 200 ms later; by then an early timeout would have fired.
    await defer(
      { classpath: 'test.Fire', kwargs: { after_ms: 200 } },
      { connection: redis.url, id: 'near-1' },
    );
    assert.equal((await waitFor('near-1', { connection: redis.url, timeoutMs: 5000 })).status, 'fired');
    assert.equal(await queue.getJobState('far-1'), 'active');
  });

  test('a trigger adopted after its deadline fires timeout at once, keeping the original deadline', async () => {
    const deadline = new Date(Date.now() - 60_000).toISOString();
    await queue.add('late', { v: 1, classpath: 'test.Never', kwargs: {}, deadline }, { jobId: 'late-1' });
    const event = await waitFor('late-1', { connection: redis.url, timeoutMs: 5000 });
    assert.equal(event.status, 'timeout');
    assert.equal(event.payload.deadline, deadline);
  });

  const badRecords: [string, unknown, RegExp][] = [
    ['not JSON', 'this is {not json', /not JSON/],
    ['not an object', [1, 2, 3], /not a JSON object/],
    ['a wrong version', { v: 2, classpath: 'test.Fire', kwargs: {} }, /unsupported record version 2/],
    [
      'an unknown classpath',
      { v: 1, classpath: 'evil.LoadMe', kwargs: {} },
      /unknown classpath 'evil.LoadMe'/,
    ],
    [
      'invalid kwargs',
      { v: 1, classpath: 'test.Fire', kwargs: { after_ms: 'soon' } },
      /invalid kwargs for test.Fire: after_ms/,
    ],
    [
      'an unknown endpoint',
      { v: 1, classpath: 'test.OnEndpoint', kwargs: { endpoint: 'box-9' } },
      /unknown endpoint 'box-9'/,
    ],
  ];
  for (const [what, data, reason] of badRecords) {
    test(`a record with ${what} fails its job with a clear reason, in the failed set and the log`, async () => {
      const id = `bad-${what.replace(/\W+/g, '-')}`;
      await queue.add('bad', data, { jobId: id, attempts: 1 });
      const job = await waitUntil(
        async () => {
          // Read the job after its state is `failed`: a job read before can predate the failure.
          const state = await queue.getJobState(id);
          return state === 'failed' ? await Job.fromId(queue, id) : undefined;
        },
        { what: `${id} failed` },
      );
      assert.match(job?.failedReason ?? '', reason);
      assert.equal(job?.attemptsMade, 1);
      assert.ok(
        logLines.some((line) => line.includes(id) && reason.test(line)),
        `log mentions ${id}`,
      );
    });
  }

  test('a bad record with a continuation fails the trigger job and the continuation sees a failed event', async () => {
    const seen = continuationWorker('task-bad');
    await defer(
      { classpath: 'test.OnEndpoint', kwargs: { endpoint: 'box-404' } },
      { connection: redis.url, id: 'bad-cont-1', continuation: { queue: 'task-bad', name: 'resume' } },
    );
    await waitUntil(() => (seen.runs.length > 0 ? true : undefined), {
      what: 'continuation of a bad record',
    });
    assert.equal(seen.runs[0]?.triggerId, 'bad-cont-1');
    assert.equal(seen.runs[0]?.status, 'failed');
    assert.match(String(seen.runs[0]?.payload.error), /unknown endpoint 'box-404'/);
  });

  test('the daemon keeps serving after bad records: a good trigger on a known endpoint still fires', async () => {
    await queue.add('bad', 'garbage', { jobId: 'bad-then-good-0' });
    await defer(
      { classpath: 'test.OnEndpoint', kwargs: { endpoint: 'box-1' } },
      { connection: redis.url, id: 'good-1' },
    );
    const event = await waitFor('good-1', { connection: redis.url, timeoutMs: 5000 });
    assert.equal(event.status, 'fired');
    assert.deepEqual(event.payload, { endpoint: 'box-1' });
  });
});

describe('Triggerer hand-off on close (real Redis)', () => {
  let redis: RedisHandle;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('closing a triggerer puts its active triggers back to wait, without an event', async () => {
    const endpoints = await ConnectionResolver.create({ env: {} });
    const triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry,
      endpoints,
      logger: pino({ level: 'silent' }),
    });
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
    try {
      await triggerer.start();
      await defer({ classpath: 'test.Never' }, { connection: redis.url, id: 'held-1' });
      await waitUntil(async () => ((await queue.getJobState('held-1')) === 'active' ? true : undefined));
      await triggerer.close();
      assert.equal(await queue.getJobState('held-1'), 'waiting');
    } finally {
      await triggerer.close();
      await queue.close();
    }
  });

  /** A triggerer on `prefix` that logs into `lines`. */
  async function startOn(
    prefix: string,
    capacity: number,
    lines: string[] = [],
    lockDurationMs?: number,
    onOffered?: TriggererOptions['onOffered'],
  ): Promise<Triggerer> {
    const triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry,
      endpoints: await ConnectionResolver.create({ env: {} }),
      prefix,
      capacity,
      ...(lockDurationMs !== undefined && { lockDurationMs }),
      ...(onOffered && { onOffered }),
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    });
    await triggerer.start();
    return triggerer;
  }

  /** A triggerer on `prefix` watching `count` test.Never triggers, with its log lines. */
  async function holding(prefix: string, count: number, onOffered?: TriggererOptions['onOffered']) {
    const lines: string[] = [];
    const first = await startOn(prefix, Math.max(50, count), lines, undefined, onOffered);
    const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    try {
      await Promise.all(
        ids.map((id) => defer({ classpath: 'test.Never' }, { connection: redis.url, id, prefix })),
      );
      await waitUntil(() => (first.metrics.watching === count ? true : undefined), {
        what: `${count} watched`,
      });
    } catch (error) {
      await first.close();
      throw error;
    }
    /** The hand-off line of the close. */
    const summary = () =>
      lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.triggers === count);
    return { first, ids, summary, lines };
  }

  /** The triggers on `queue` are `active` and `wait` as given, none completed or failed. */
  async function assertJobCounts(queue: Queue, counts: { active: number; wait: number }): Promise<void> {
    assert.deepEqual(await queue.getJobCounts('active', 'wait', 'completed', 'failed'), {
      ...counts,
      completed: 0,
      failed: 0,
    });
  }

  test('closing gives each claim to a listening peer with its lock: no trip through the queue', async () => {
    const prefix = 'transfer';
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    const raw = new Redis(redis.url);
    const { first, ids, summary } = await holding(prefix, 20);
    let second: Triggerer | undefined;
    try {
      const lockKeys = ids.map((id) => `${prefix}:${TRIGGERS_QUEUE}:${id}:lock`);
      const tokens = await raw.mget(lockKeys);
      second = await startOn(prefix, 50);
      await first.close();
      await waitUntil(() => (second?.metrics.watching === ids.length ? true : undefined), {
        what: 'the peer watching all 20',
      });
      // Every claim went over as it was: same lock token (a claim through the queue gets a new one).
      assert.deepEqual(await raw.mget(lockKeys), tokens);
      await assertJobCounts(queue, { active: ids.length, wait: 0 });
      assert.equal(summary()?.toPeers, 20);
      assert.equal(summary()?.peers, 1);
    } finally {
      raw.disconnect();
      await first.close();
      await second?.close();
      await queue.close();
    }
  });

  test('a big hand-off streams: the peer takes every claim with its lock while the rest is offered', async () => {
    const prefix = 'stream';
    const count = 1200;
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    const raw = new Redis(redis.url);
    const { first, ids, summary } = await holding(prefix, count);
    const peerLines: string[] = [];
    let second: Triggerer | undefined;
    try {
      const lockKeys = ids.map((id) => `${prefix}:${TRIGGERS_QUEUE}:${id}:lock`);
      const tokens = await raw.mget(lockKeys);
      second = await startOn(prefix, count + 100, peerLines);
      await first.close();
      const adopted = await waitForLogLine(peerLines, 'adopted triggers from a closing peer');
      // Logged once every adopted trigger is watched: all of them, over more than one chunk.
      assert.equal(adopted.triggers, count);
      assert.equal(second.metrics.watching, count);
      assert.deepEqual(await raw.mget(lockKeys), tokens);
      await assertJobCounts(queue, { active: count, wait: 0 });
      assert.equal(summary()?.toPeers, count);
      // Offered while the closing triggerer still stopped the rest of its watchers.
      const { offeredMs, stoppedMs } = summary() ?? {};
      assert.ok(
        Number(offeredMs) < Number(stoppedMs),
        `offered at ${offeredMs} ms, all stopped at ${stoppedMs}`,
      );
      // The offer is gone once settled. A peer's "done" can come after the withdrawal; it expires.
      const left = await raw.keys(`${prefix}:st:handoff:*`);
      assert.deepEqual(
        left.filter((key) => !key.endsWith(':done')),
        [],
      );
      for (const key of left) assert.ok((await raw.pttl(key)) > 0, `${key} expires`);
    } finally {
      raw.disconnect();
      await first.close();
      await second?.close();
      await queue.close();
    }
  });

  test('onOffered is called once, when every watcher is stopped and every claim offered, before the offer is settled', async () => {
    const prefix = 'offered';
    const count = 1200;
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    const raw = new Redis(redis.url);
    // What the closing triggerer had done when it said so: the watchers it still ran, whether its
    // offer was still up (complete: every claim on it; withdrawn once settled), whether it was done.
    const calls: { watching: number; offerUp: Promise<number>; done: boolean }[] = [];
    const closing: { state?: Awaited<ReturnType<typeof holding>> } = {};
    closing.state = await holding(prefix, count, () =>
      calls.push({
        watching: closing.state?.first.metrics.watching ?? -1,
        offerUp: raw.keys(`${prefix}:st:handoff:*:complete`).then((keys) => keys.length),
        done: closing.state?.summary() !== undefined,
      }),
    );
    const { first, summary } = closing.state;
    const peerLines: string[] = [];
    let second: Triggerer | undefined;
    try {
      second = await startOn(prefix, count + 100, peerLines);
      await first.close();
      await waitForLogLine(peerLines, 'adopted triggers from a closing peer');
      assert.equal(calls.length, 1);
      assert.equal(calls[0]?.watching, 0);
      assert.equal(await calls[0]?.offerUp, 1);
      assert.equal(calls[0]?.done, false);
      // The peer took every claim.
      assert.equal(summary()?.toPeers, count);
      await assertJobCounts(queue, { active: count, wait: 0 });
      await first.close();
      assert.equal(calls.length, 1, 'once, however often close is called');
    } finally {
      raw.disconnect();
      await first.close();
      await second?.close();
      await queue.close();
    }
  });

  test('onOffered is called once by a close with nobody to offer to; the claims go back to wait', async () => {
    const prefix = 'offered-alone';
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    let calls = 0;
    const { first } = await holding(prefix, 5, () => void calls++);
    try {
      await first.close();
      assert.equal(calls, 1);
      await assertJobCounts(queue, { active: 0, wait: 5 });
    } finally {
      await first.close();
      await queue.close();
    }
  });

  test('an offer that cannot be announced: every claim goes back to wait, the unstopped rest too', async () => {
    const prefix = 'refused';
    const count = 1200; // the first chunk is on the list when the announcement fails; the rest still watch
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    const raw = new Redis(redis.url);
    const { first, summary, lines } = await holding(prefix, count);
    try {
      // Redis refuses PUBLISH (an ACL, as a locked-down Redis might): the offer fails at its announcement.
      await raw.call('ACL', 'SETUSER', 'default', '-publish');
      await first.close();
      assert.equal(summary()?.toPeers, 0);
      await assertJobCounts(queue, { active: 0, wait: count });
      assert.ok(
        lines.some((l) => l.includes('hand-off to peers failed') && l.includes('NOPERM')),
        'the failure is logged with its reason',
      );
      // The first chunk, stored before the announcement failed, is taken off the list again.
      assert.deepEqual(await raw.keys(`${prefix}:st:handoff:*`), []);
    } finally {
      await raw.call('ACL', 'SETUSER', 'default', '+publish');
      raw.disconnect();
      await first.close();
      await queue.close();
    }
  });

  test('a big offer nobody listens to: every claim goes back to wait, none left on the list', async () => {
    const prefix = 'unheard';
    const count = 700;
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    const raw = new Redis(redis.url);
    const { first, summary } = await holding(prefix, count);
    try {
      await first.close();
      assert.equal(summary()?.peers, 0);
      assert.equal(summary()?.toPeers, 0);
      await assertJobCounts(queue, { active: 0, wait: count });
      assert.deepEqual(await raw.keys(`${prefix}:st:handoff:*`), []);
    } finally {
      raw.disconnect();
      await first.close();
      await queue.close();
    }
  });

  test('a streamed offer whose offerer goes silent is given up after a lock duration', async () => {
    const prefix = 'silent';
    const lockDurationMs = 600;
    const peer = await startOn(prefix, 10, [], lockDurationMs);
    const raw = new Redis(redis.url);
    try {
      const list = `${prefix}:st:handoff:ghost`;
      // Announced as streamed, and then nothing: the offering process died before adding anything.
      const startedAt = Date.now();
      assert.equal(await raw.publish(`${prefix}:st:handoff`, JSON.stringify({ list, streamed: true })), 1);
      await waitUntil(async () => ((await raw.get(`${list}:done`)) === '1' ? true : undefined), {
        what: 'the peer done with the offer',
      });
      assert.ok(Date.now() - startedAt >= lockDurationMs, 'it kept looking for a lock duration');
      assert.equal(peer.running, 0);
    } finally {
      raw.disconnect();
      await peer.close();
    }
  });

  test('a peer without room for every claim takes what fits; the rest goes back to wait', async () => {
    const prefix = 'full-peer';
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    const { first, summary } = await holding(prefix, 10);
    let second: Triggerer | undefined;
    try {
      second = await startOn(prefix, 4);
      await first.close();
      // The peer keeps room for its own claim in flight, so it takes 3 or 4; none is lost or doubled.
      const toPeer = Number(summary()?.toPeers);
      assert.ok(toPeer >= 3 && toPeer <= 4, `the peer took ${toPeer}`);
      await waitUntil(() => (second?.running === 4 ? true : undefined), { what: 'the peer full' });
      await assertJobCounts(queue, { active: 4, wait: 6 });
    } finally {
      await first.close();
      await second?.close();
      await queue.close();
    }
  });

  test('closing while Redis is away ends, leaving the claims to lock expiry', async () => {
    const own = await startRedis();
    const lines: string[] = [];
    const triggerer = new Triggerer({
      connection: redisOptions(own.url),
      registry,
      endpoints: await ConnectionResolver.create({ env: {} }),
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    });
    try {
      await triggerer.start();
      await defer({ classpath: 'test.Never' }, { connection: own.url, id: 'stranded-1' });
      await waitUntil(() => (triggerer.metrics.watching === 1 ? true : undefined), { what: 'watching' });
      await own.stop();
      // Every Redis command would wait for it forever; closing must not.
      let closed = false;
      void triggerer.close().then(() => (closed = true));
      await waitUntil(() => (closed ? true : undefined), { timeoutMs: 20_000, what: 'close to end' });
      assert.ok(
        lines.some((l) => l.includes('Redis is not connected; the triggers return to wait by lock expiry')),
      );
      assert.ok(lines.some((l) => l.includes('"msg":"triggerer stopped"')));
    } finally {
      await triggerer.close();
      await own.stop();
    }
  });

  test('closing in the middle of a burst of claims hands every one back, none lost or fired', async () => {
    const endpoints = await ConnectionResolver.create({ env: {} });
    const prefix = 'burst';
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    const ids = Array.from({ length: 400 }, (_, i) => `burst-${i}`);
    await Promise.all(
      ids.map((id) => defer({ classpath: 'test.Never' }, { connection: redis.url, id, prefix })),
    );
    const triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry,
      endpoints,
      prefix,
      logger: pino({ level: 'silent' }),
    });
    try {
      await triggerer.start();
      await waitUntil(async () => ((await queue.getActiveCount()) > 0 ? true : undefined));
      await triggerer.close();
      const counts = await queue.getJobCounts('active', 'wait', 'completed', 'failed');
      assert.deepEqual(counts, { active: 0, wait: ids.length, completed: 0, failed: 0 });
    } finally {
      await triggerer.close();
      await queue.close();
    }
  });

  test('hands back the newest claim first, so the next triggerer claims them in their first order', async () => {
    const endpoints = await ConnectionResolver.create({ env: {} });
    const lines: string[] = [];
    const prefix = 'order';
    const triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry,
      endpoints,
      prefix,
      logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }),
    });
    const queue = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url), prefix });
    const raw = new Redis(redis.url);
    try {
      await triggerer.start();
      for (const id of ['first', 'second', 'third']) {
        await defer({ classpath: 'test.Never' }, { connection: redis.url, id, prefix });
        // Claimed and watching (its watcher listens for the hand-off), before the next one.
        const watching = (l: string) => l.includes(`"triggerId":"${id}"`) && l.includes('"msg":"watching"');
        await waitUntil(() => (lines.some(watching) ? true : undefined), { what: `${id} watched` });
      }
      await triggerer.close();
      // BullMQ claims from the right end of the wait list: `first` is claimed first again.
      assert.deepEqual(await raw.lrange(`${prefix}:${TRIGGERS_QUEUE}:wait`, 0, -1), [
        'third',
        'second',
        'first',
      ]);
      assert.deepEqual(await raw.lrange(`${prefix}:${TRIGGERS_QUEUE}:active`, 0, -1), []);
      const summary = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.triggers === 3);
      assert.equal(summary?.msg, 'handed the active triggers back to the queue');
    } finally {
      raw.disconnect();
      await triggerer.close();
      await queue.close();
    }
  });
});
