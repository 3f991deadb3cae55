import { pino } from 'pino';
import { TriggerRegistry } from '../../triggers/index.js';
import { liveTriggerers } from '../../src/client/index.js';
import { protocolKeys } from '../../src/protocol/index.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { redisOptions } from '../../src/redis/connection.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import {
  listTriggerers,
  packageVersion,
  startHeartbeat,
  type TriggererLoad,
} from '../../src/redis/heartbeat.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';

const keys = protocolKeys();

describe('heartbeats (real Redis)', () => {
  let redis: RedisHandle;
  let client: Redis;

  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });

  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  test('a started heartbeat appears in the listing with who it is and its load', async () => {
    const load: TriggererLoad = { capacity: 100, running: 2, endpoints: { 'box-1': 2 } };
    const heartbeat = await startHeartbeat({
      redis: client,
      load: () => load,
      id: 'appears',
      intervalMs: 100,
    });
    try {
      const [info, ...others] = (await listTriggerers(client)).filter((t) => t.id === 'appears');
      assert.equal(others.length, 0);
      assert.ok(info);
      assert.equal(info.hostname, hostname());
      assert.equal(info.pid, process.pid);
      assert.equal(info.version, packageVersion());
      assert.notEqual(info.version, 'unknown');
      assert.equal(info.intervalMs, 100);
      assert.ok(!Number.isNaN(Date.parse(info.started)));
      assert.deepEqual(
        { capacity: info.capacity, running: info.running, endpoints: info.endpoints },
        { capacity: 100, running: 2, endpoints: { 'box-1': 2 } },
      );
      const ttl = await client.pttl(keys.triggerer('appears'));
      assert.ok(ttl > 0 && ttl <= 300, `ttl is 3 intervals, got ${ttl}`);
    } finally {
      await heartbeat.stop();
    }
  });

  test('each beat reflects the current load', async () => {
    let running = 0;
    const heartbeat = await startHeartbeat({
      redis: client,
      load: () => ({
        capacity: 10,
        running,
        endpoints: running ? { 'box-2': running } : ({} as Record<string, number>),
      }),
      id: 'load',
      intervalMs: 100,
    });
    try {
      running = 7;
      const info = await waitUntil(
        async () => (await listTriggerers(client)).find((t) => t.id === 'load' && t.running === 7),
        { what: 'a beat with 7 running' },
      );
      assert.deepEqual(info.endpoints, { 'box-2': 7 });
    } finally {
      await heartbeat.stop();
    }
  });

  test('a graceful stop removes the heartbeat at once', async () => {
    const heartbeat = await startHeartbeat({
      redis: client,
      load: () => ({ capacity: 1, running: 0, endpoints: {} }),
      id: 'graceful',
      intervalMs: 100,
    });
    assert.ok((await listTriggerers(client)).some((t) => t.id === 'graceful'));
    await heartbeat.stop();
    assert.ok(!(await listTriggerers(client)).some((t) => t.id === 'graceful'));
    assert.equal(await client.exists(keys.triggerer('graceful')), 0);
    assert.equal(await client.zscore(keys.triggerers, 'graceful'), null);
  });

  test('a triggerer that stops beating expires after its TTL and is pruned from the set', async () => {
    const heartbeat = await startHeartbeat({
      redis: client,
      load: () => ({ capacity: 1, running: 0, endpoints: {} }),
      id: 'crashed',
      intervalMs: 50,
      ttlMs: 150,
    });
    const survivor = await startHeartbeat({
      redis: client,
      load: () => ({ capacity: 1, running: 0, endpoints: {} }),
      id: 'survivor',
      intervalMs: 50,
      ttlMs: 150,
    });
    try {
      await heartbeat.stop({ remove: false }); // as if the process died: no more beats, nothing removed
      assert.ok((await listTriggerers(client)).some((t) => t.id === 'crashed'));
      await waitUntil(
        async () => ((await listTriggerers(client)).some((t) => t.id === 'crashed') ? undefined : true),
        {
          what: 'the crashed heartbeat to expire',
        },
      );
      assert.equal(await client.zscore(keys.triggerers, 'crashed'), null);
      assert.ok(
        (await listTriggerers(client)).some((t) => t.id === 'survivor'),
        'a beating peer stays listed',
      );
    } finally {
      await survivor.stop();
    }
  });

  test('two triggerers are listed separately, and ids default to host-pid-random', async () => {
    const load = () => ({ capacity: 5, running: 1, endpoints: {} });
    const a = await startHeartbeat({ redis: client, load, intervalMs: 100 });
    const b = await startHeartbeat({ redis: client, load, intervalMs: 100 });
    try {
      assert.notEqual(a.id, b.id);
      assert.match(a.id, new RegExp(`^${hostname()}-${process.pid}-[0-9a-f]{6}$`));
      const ids = (await listTriggerers(client)).map((t) => t.id);
      assert.ok(ids.includes(a.id) && ids.includes(b.id));
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test("two triggerer fleets with different prefixes on one Redis never list each other's triggerers", async () => {
    const fleet = (prefix: string) =>
      new Triggerer({
        connection: redisOptions(redis.url),
        registry: new TriggerRegistry(),
        endpoints: { resolve: () => ({ url: 'unix:///nowhere.sock' }) },
        prefix,
        logger: pino({ level: 'silent' }),
      });
    const blue = fleet('blue');
    const green = fleet('green');
    try {
      await blue.start();
      await green.start();
      const listed = async (prefix: string) =>
        (await liveTriggerers({ connection: redis.url, prefix })).map((t) => t.id);
      assert.deepEqual(await listed('blue'), [blue.id]);
      assert.deepEqual(await listed('green'), [green.id]);
      assert.deepEqual(await listed('bull'), [], 'the default prefix has no triggerer');
    } finally {
      await blue.close();
      await green.close();
    }
  });

  test('a TTL not longer than the interval is refused', async () => {
    await assert.rejects(
      startHeartbeat({
        redis: client,
        load: () => ({ capacity: 1, running: 0, endpoints: {} }),
        intervalMs: 100,
        ttlMs: 100,
      }),
      /heartbeat needs interval > 0 and ttl > interval \(got 100 ms, 100 ms\)/,
    );
  });
});
