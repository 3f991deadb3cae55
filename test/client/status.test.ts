import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { NEVER, map, timer } from 'rxjs';
import { z } from 'zod';
import {
  defer,
  describeTrigger,
  listTriggers,
  shownValue,
  TriggerNotFound,
  waitFor,
} from '../../src/client/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { defineTrigger, type TriggerDefinition } from '../../src/triggerer/definition.js';
import { redisOptions } from '../../src/redis/connection.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { waitUntil } from '../fixtures/processes.js';

const definitions: TriggerDefinition[] = [
  defineTrigger({
    classpath: 'test.Never',
    kwargs: z.object({ endpoint: z.string().optional() }).passthrough(),
    run: () => NEVER,
  }),
  defineTrigger({
    classpath: 'test.Fire',
    kwargs: z.object({}),
    run: () => timer(0).pipe(map(() => ({ status: 'fired' as const, payload: { note: 'done' } }))),
  }),
];
const registry = { get: (classpath: string) => definitions.find((d) => d.classpath === classpath) };

describe('status of single triggers (real Redis, a triggerer in this process)', () => {
  let redis: RedisHandle;
  let triggerer: Triggerer;
  const huge = {
    endpoint: 'box-1',
    password: 'hunter2',
    nested: { api_token: 'tok-123', fine: 'shown' },
    // As large as a record may be (64 KiB in all): what status shows of it stays small.
    big: 'x'.repeat(60_000),
    list: Array.from({ length: 1000 }, (_, i) => i),
  };

  before(async () => {
    redis = await startRedis();
    triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry,
      endpoints: await ConnectionResolver.create({
        connections: { 'box-1': { url: 'unix:///nonexistent/supervisor.sock' } },
        env: {},
      }),
      capacity: 10,
      heartbeatIntervalMs: 200,
      logger: pino({ level: 'silent' }),
    });
    await triggerer.start();
    const connection = redis.url;
    await defer(
      { classpath: 'test.Never', kwargs: huge },
      {
        connection,
        id: 'st-active',
        timeout: '1h',
        continuation: { queue: 'st-resume', name: 'resume' },
      },
    );
    await defer({ classpath: 'test.Fire' }, { connection, id: 'st-fired' });
    await defer({ classpath: 'test.Unknown' }, { connection, id: 'st-bad' });
    // No triggerer reads this prefix: the trigger stays waiting.
    await defer({ classpath: 'test.Never' }, { connection, id: 'st-waiting', prefix: 'other' });
    await waitFor('st-fired', { connection, timeoutMs: 10_000 });
    await waitFor('st-bad', { connection, timeoutMs: 10_000 });
    await waitUntil(
      async () =>
        (await describeTrigger('st-active', { connection })).state === 'active' ? true : undefined,
      { what: 'st-active claimed' },
    );
  });

  after(async () => {
    await triggerer?.close();
    await redis?.stop();
  });

  test('an active trigger shows its classpath, endpoint, redacted and bounded kwargs, deadline, lock and continuation', async () => {
    const detail = await describeTrigger('st-active', { connection: redis.url });
    assert.equal(detail.state, 'active');
    assert.equal(detail.classpath, 'test.Never');
    assert.equal(detail.endpoint, 'box-1');
    assert.equal(detail.kwargs.password, '[redacted]');
    assert.deepEqual(detail.kwargs.nested, { api_token: '[redacted]', fine: 'shown' });
    assert.ok((detail.kwargs.big as string).length < 300, 'a long string is cut');
    assert.equal((detail.kwargs.list as unknown[]).length, 21, '20 items and a marker');
    assert.ok(detail.deadline && Date.parse(detail.deadline) > Date.now());
    assert.equal(detail.lock?.held, true, 'the triggerer holds its job lock');
    assert.ok((detail.lock?.ttlMs ?? 0) > 0);
    assert.equal(detail.continuation, 'st-resume:st-active-resume');
    assert.ok(detail.claimedAt);
    assert.equal(detail.event, undefined);
    const text = JSON.stringify(detail);
    assert.ok(text.length < 5000, `bounded output (${text.length} characters for ~60 KB of kwargs)`);
    assert.doesNotMatch(text, /hunter2|tok-123/);
  });

  test('an active trigger names the triggerer holding it, also after a hand-off to a peer', async () => {
    const holderIs = (id: string | undefined) =>
      waitUntil(
        async () =>
          (await describeTrigger('st-active', { connection: redis.url })).lock?.holder?.id === id
            ? true
            : undefined,
        { what: `the holder ${id}` },
      );
    await holderIs(triggerer.id);
    const peer = new Triggerer({
      connection: redisOptions(redis.url),
      registry,
      endpoints: await ConnectionResolver.create({
        connections: { 'box-1': { url: 'unix:///nonexistent/supervisor.sock' } },
        env: {},
      }),
      heartbeatIntervalMs: 200,
      logger: pino({ level: 'silent' }),
    });
    try {
      await peer.start();
      await triggerer.close(); // hands st-active to the peer, lock token and all
      await holderIs(peer.id);
      const detail = await describeTrigger('st-active', { connection: redis.url });
      assert.equal(detail.lock?.holder?.pid, process.pid);
    } finally {
      // The suite's own triggerer is closed: the peer takes its place for the tests after this one.
      triggerer = peer;
    }
  });

  test('a finished trigger shows its event; one whose record was bad shows the failure reason', async () => {
    const fired = await describeTrigger('st-fired', { connection: redis.url });
    assert.equal(fired.state, 'completed');
    assert.equal(fired.status, 'fired');
    assert.deepEqual(fired.event?.payload, { note: 'done' });
    assert.ok(fired.finishedAt);
    assert.equal(fired.lock, undefined);
    const bad = await describeTrigger('st-bad', { connection: redis.url });
    assert.equal(bad.state, 'failed');
    assert.equal(bad.event?.status, 'failed');
    assert.match(String(bad.event?.payload.error), /unknown classpath 'test.Unknown'/);
  });

  test('an unknown id is TriggerNotFound', async () => {
    await assert.rejects(
      describeTrigger('st-nobody', { connection: redis.url }),
      (e: unknown) => e instanceof TriggerNotFound && e.triggerId === 'st-nobody',
    );
  });

  test('listTriggers filters by state and endpoint, honours the limit and the prefix', async () => {
    const connection = redis.url;
    const all = await listTriggers({ connection });
    assert.deepEqual(all.triggers.map((t) => [t.triggerId, t.state]).sort(), [
      ['st-active', 'active'],
      ['st-bad', 'failed'],
      ['st-fired', 'completed'],
    ]);
    assert.equal(all.more, false);
    const active = await listTriggers({ connection, states: ['active'] });
    assert.deepEqual(
      active.triggers.map((t) => [t.triggerId, t.lock?.held]),
      [['st-active', true]],
    );
    const finished = await listTriggers({ connection, states: ['completed', 'failed'] });
    assert.deepEqual(finished.triggers.map((t) => t.status).sort(), ['failed', 'fired']);
    const onBox = await listTriggers({ connection, endpoint: 'box-1' });
    assert.deepEqual(
      onBox.triggers.map((t) => t.triggerId),
      ['st-active'],
    );
    const none = await listTriggers({ connection, endpoint: '-' });
    assert.deepEqual(none.triggers.map((t) => t.triggerId).sort(), ['st-bad', 'st-fired']);
    const one = await listTriggers({ connection, limit: 1 });
    assert.equal(one.triggers.length, 1);
    assert.equal(one.more, true);
    const other = await listTriggers({ connection, prefix: 'other' });
    assert.deepEqual(
      other.triggers.map((t) => [t.triggerId, t.state]),
      [['st-waiting', 'waiting']],
    );
  });
});

test('shownValue redacts secret-like keys at any depth and bounds strings, arrays, keys, depth and size', () => {
  assert.deepEqual(
    shownValue({
      Password: 'a',
      db_passwd: 'b',
      auth: 'c',
      author: 'd',
      secretName: 'e',
      x: [{ token: 'f' }],
    }),
    {
      Password: '[redacted]',
      db_passwd: '[redacted]',
      auth: '[redacted]',
      author: 'd',
      secretName: '[redacted]',
      x: [{ token: '[redacted]' }],
    },
  );
  assert.equal(shownValue('abcdef', { stringChars: 3 }), 'abc… (3 more characters)');
  assert.deepEqual(shownValue([1, 2, 3], { arrayItems: 2 }), [1, 2, '… 1 more']);
  assert.deepEqual(shownValue({ a: 1, b: 2, c: 3 }, { objectKeys: 2 }), { a: 1, b: 2, '…': '1 more keys' });
  assert.deepEqual(shownValue({ a: { b: { c: 1 } } }, { depth: 2 }), { a: { b: '{…}' } });
  // 50 keys of 50 items of 50-key objects would be 125,000 values: the whole stays small.
  const wide = Object.fromEntries(
    Array.from({ length: 50 }, (_, i) => [
      `k${i}`,
      Array.from({ length: 50 }, () =>
        Object.fromEntries(Array.from({ length: 50 }, (_, j) => [`f${j}`, j])),
      ),
    ]),
  );
  assert.ok(JSON.stringify(shownValue(wide)).length < 20_000);
});
