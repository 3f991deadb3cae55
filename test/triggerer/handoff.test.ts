import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import {
  doneWithOffer,
  handOffChannel,
  handOffListKey,
  offerClaims,
  offerSettled,
  parseOffer,
  takeClaims,
  withdrawClaims,
} from '../../src/triggerer/handoff.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';

const claims = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: `job:${i}`, token: `worker-a:${i}` }));

describe('hand-off offers (real Redis)', () => {
  let redis: RedisHandle;
  let client: Redis;
  let listener: Redis;

  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    listener = new Redis(redis.url);
  });

  after(async () => {
    client?.disconnect();
    listener?.disconnect();
    await redis?.stop();
  });

  test('each offered claim goes to exactly one taker; a withdrawal gets exactly the rest', async () => {
    const offered = claims(2500);
    const { listKey, peers } = await offerClaims(client, {
      owner: 'worker-a',
      prefix: 'split',
      claims: offered,
      ttlMs: 10_000,
    });
    assert.equal(listKey, handOffListKey('worker-a', 'split'));
    assert.equal(peers, 0);
    const other = new Redis(redis.url);
    try {
      const [one, two] = await Promise.all([
        takeClaims(client, listKey, 900),
        takeClaims(other, listKey, 900),
      ]);
      const rest = await withdrawClaims(client, listKey);
      const all = [...one, ...two, ...rest];
      assert.equal(one.length + two.length, 1800);
      assert.equal(rest.length, 700);
      assert.deepEqual(all.map((c) => c.id).sort(), offered.map((c) => c.id).sort());
      // Ids and tokens travel intact, ':' and all.
      assert.ok(all.every((c) => c.token === `worker-a:${c.id.slice('job:'.length)}`));
      assert.deepEqual(await takeClaims(client, listKey, 10), []);
    } finally {
      other.disconnect();
    }
  });

  test('the announcement reaches the listeners, who are counted as peers', async () => {
    const heard: string[] = [];
    listener.on('message', (_channel: string, message: string) => heard.push(message));
    await listener.subscribe(handOffChannel('heard'));
    try {
      const { listKey, peers } = await offerClaims(client, {
        owner: 'worker-b',
        prefix: 'heard',
        claims: claims(3),
        ttlMs: 10_000,
      });
      assert.equal(peers, 1);
      await waitUntil(() => (heard.length > 0 ? true : undefined), { what: 'the announcement' });
      assert.equal(parseOffer(heard[0] ?? '', 'heard'), listKey);
    } finally {
      await listener.unsubscribe(handOffChannel('heard'));
    }
  });

  test('an offer is settled when it is empty, when every peer is done, or when its time is up', async () => {
    const offer = (owner: string) =>
      offerClaims(client, { owner, prefix: 'settle', claims: claims(5), ttlMs: 10_000 });
    const empty = await offer('empty');
    await takeClaims(client, empty.listKey, 5);
    await offerSettled(client, empty.listKey, { peers: 2, maxMs: 60_000, pollMs: 5 });

    const done = await offer('done');
    await Promise.all([
      doneWithOffer(client, done.listKey, 10_000),
      doneWithOffer(client, done.listKey, 10_000),
    ]);
    await offerSettled(client, done.listKey, { peers: 2, maxMs: 60_000, pollMs: 5 });
    assert.equal((await withdrawClaims(client, done.listKey)).length, 5);

    // A peer that heard and went silent (crashed): the wait ends at maxMs, the claims are still there.
    const silent = await offer('silent');
    const startedAt = Date.now();
    await offerSettled(client, silent.listKey, { peers: 1, maxMs: 200, pollMs: 5 });
    assert.ok(Date.now() - startedAt >= 200);
    assert.equal((await withdrawClaims(client, silent.listKey)).length, 5);
  });

  test('a malformed or foreign announcement is not an offer', () => {
    assert.equal(parseOffer('not json', 'bull'), undefined);
    assert.equal(parseOffer('{"list": 3}', 'bull'), undefined);
    assert.equal(parseOffer('{"list":"other:st:handoff:w1"}', 'bull'), undefined);
    assert.equal(parseOffer('{"list":"bull:st:handoff:w1","count":2}', 'bull'), 'bull:st:handoff:w1');
  });
});
