import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowProducer, Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  decodeClaim,
  doneWithOffer,
  handOffChannel,
  handOffListKey,
  jobJson,
  offerClaims,
  offeredJob,
  offerStream,
  type Claim,
  offerSettled,
  parseOffer,
  takeClaims,
  withdrawClaims,
} from '../../src/triggerer/handoff.js';
import { redisOptions } from '../../src/redis/connection.js';
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

  /** Offers `offered` as `owner` on `prefix` (the list lives 10 s). */
  const offerAs = (owner: string, prefix: string, offered: Claim[], onAnnounced?: () => void) =>
    offerClaims(client, {
      owner,
      prefix,
      claims: offered,
      ttlMs: 10_000,
      ...(onAnnounced && { onAnnounced }),
    });

  /** A worker that claims only when asked (`getNextJob`), as a triggerer's claim is made by hand here. */
  const claimingByHand = (queue: string) =>
    new Worker(queue, undefined, { connection: redisOptions(redis.url), autorun: false });

  /** Subscribes a listener to `prefix`'s announcements for the duration of `body`. */
  async function listening<T>(prefix: string, body: (heard: string[]) => Promise<T>): Promise<T> {
    const heard: string[] = [];
    const onMessage = (_channel: string, message: string) => heard.push(message);
    listener.on('message', onMessage);
    await listener.subscribe(handOffChannel(prefix));
    try {
      return await body(heard);
    } finally {
      await listener.unsubscribe(handOffChannel(prefix));
      listener.off('message', onMessage);
    }
  }

  test('each offered claim goes to exactly one taker; a withdrawal gets exactly the rest', async () => {
    const offered = claims(2500);
    await listening('split', async () => {
      const { listKey, peers } = await offerAs('worker-a', 'split', offered);
      assert.equal(listKey, handOffListKey('worker-a', 'split'));
      assert.equal(peers, 1);
      const offer = { list: listKey, streamed: true };
      const other = new Redis(redis.url);
      try {
        const [one, two] = await Promise.all([takeClaims(client, offer, 900), takeClaims(other, offer, 900)]);
        const rest = await withdrawClaims(client, listKey);
        const all = [...one.claims, ...two.claims, ...rest];
        assert.equal(one.claims.length + two.claims.length, 1800);
        assert.ok(one.complete && two.complete, 'offerClaims resolves once the offer is complete');
        assert.equal(rest.length, 700);
        assert.deepEqual(all.map((c) => c.id).sort(), offered.map((c) => c.id).sort());
        // Ids and tokens travel intact, ':' and all.
        assert.ok(all.every((c) => c.token === `worker-a:${c.id.slice('job:'.length)}`));
        assert.deepEqual((await takeClaims(client, offer, 10)).claims, []);
      } finally {
        other.disconnect();
      }
    });
  });

  test('a stream is announced with its first chunk on the list, before its rest is asked for', async () => {
    const prefix = 'lazy';
    const listKey = handOffListKey('worker-a', prefix);
    const offered = claims(30);
    await listening(prefix, async (heard) => {
      let announced = false;
      const seenByRest: { announced: boolean; listed: number }[] = [];
      const result = await offerStream(client, {
        owner: 'worker-a',
        prefix,
        first: offered.slice(0, 10),
        // The offering triggerer stops the watchers of each next chunk only when it is asked for.
        rest: (async function* () {
          for (const chunk of [offered.slice(10, 20), [], offered.slice(20)]) {
            seenByRest.push({ announced, listed: await client.llen(listKey) });
            yield chunk;
          }
        })(),
        ttlMs: 10_000,
        onAnnounced: () => (announced = true),
      });
      assert.equal(result.peers, 1);
      assert.deepEqual(seenByRest, [
        { announced: true, listed: 10 },
        { announced: true, listed: 20 },
        { announced: true, listed: 20 },
      ]);
      await waitUntil(() => (heard.length > 0 ? true : undefined), { what: 'the announcement' });
      assert.deepEqual(parseOffer(heard[0] ?? '', prefix), { list: listKey, streamed: true });
      const taken = await takeClaims(client, { list: listKey, streamed: true }, 100);
      assert.deepEqual(
        taken.claims.map((c) => c.id),
        offered.map((c) => c.id),
      );
      assert.equal(taken.complete, true);
      for (const key of [listKey, `${listKey}:complete`]) await client.del(key);
    });
  });

  test('a chunk Redis refuses to add rejects the offer with its error', async () => {
    const prefix = 'refused';
    const listKey = handOffListKey('worker-a', prefix);
    await listening(prefix, async () => {
      const offered = offerStream(client, {
        owner: 'worker-a',
        prefix,
        first: claims(2),
        rest: (async function* () {
          // Something else has taken the key: the list's push fails inside its MULTI.
          await client.set(listKey, 'not a list');
          yield claims(4).slice(2);
        })(),
        ttlMs: 10_000,
      });
      await assert.rejects(offered, /WRONGTYPE/);
      await client.del(listKey);
    });
  });

  test('a big offer is announced after its first chunk; taking while it grows gets every claim once', async () => {
    const offered = claims(5000);
    await listening('stream', async (heard) => {
      const taken: string[] = [];
      const completeAt: boolean[] = [];
      let taking: Promise<void> | undefined;
      // The taker's rule (as a triggerer's): stop once the offer is complete and a pop came short.
      const takeAll = async (offer: { list: string; streamed: boolean }) => {
        for (;;) {
          const round = await takeClaims(client, offer, 100);
          taken.push(...round.claims.map((c) => c.id));
          completeAt.push(round.complete);
          if (round.complete && round.claims.length < 100) return;
          if (round.claims.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        }
      };
      const { peers } = await offerAs(
        'worker-s',
        'stream',
        offered,
        // On the offering connection, so the first pop is queued before the rest of the list.
        () => {
          taking = takeAll({ list: handOffListKey('worker-s', 'stream'), streamed: true });
        },
      );
      assert.equal(peers, 1);
      await taking;
      assert.equal(taken.length, 5000);
      assert.equal(new Set(taken).size, 5000);
      assert.equal(completeAt[0], false, 'the first pop came before the offer was complete');
      assert.equal(completeAt.at(-1), true);
      await waitUntil(() => (heard.length > 0 ? true : undefined), { what: 'the announcement' });
      assert.deepEqual(parseOffer(heard[0] ?? '', 'stream'), {
        list: handOffListKey('worker-s', 'stream'),
        streamed: true,
      });
      assert.deepEqual(await withdrawClaims(client, handOffListKey('worker-s', 'stream')), []);
    });
  });

  test('a big offer nobody hears stops after its first chunk (nobody can take it)', async () => {
    const { listKey, peers } = await offerAs('worker-n', 'nobody', claims(2000));
    assert.equal(peers, 0);
    const round = await takeClaims(client, { list: listKey, streamed: true }, 5000);
    assert.equal(round.claims.length, 500);
    assert.equal(round.complete, false);
  });

  test('the announcement reaches the listeners, who are counted as peers', async () => {
    await listening('heard', async (heard) => {
      const { listKey, peers } = await offerAs('worker-b', 'heard', claims(3));
      assert.equal(peers, 1);
      await waitUntil(() => (heard.length > 0 ? true : undefined), { what: 'the announcement' });
      // A small offer is whole when announced.
      assert.deepEqual(parseOffer(heard[0] ?? '', 'heard'), { list: listKey, streamed: false });
    });
  });

  test('an offer is settled when it is empty, when every peer is done, or when its time is up', async () => {
    const settleOffer = (owner: string) => offerAs(owner, 'settle', claims(5));
    const empty = await settleOffer('empty');
    await takeClaims(client, { list: empty.listKey, streamed: false }, 5);
    await offerSettled(client, empty.listKey, { peers: 2, maxMs: 60_000, pollMs: 5 });

    const done = await settleOffer('done');
    await Promise.all([
      doneWithOffer(client, done.listKey, 10_000),
      doneWithOffer(client, done.listKey, 10_000),
    ]);
    await offerSettled(client, done.listKey, { peers: 2, maxMs: 60_000, pollMs: 5 });
    assert.equal((await withdrawClaims(client, done.listKey)).length, 5);

    // A peer that heard and went silent (crashed): the wait ends at maxMs, the claims are still there.
    const silent = await settleOffer('silent');
    const startedAt = Date.now();
    await offerSettled(client, silent.listKey, { peers: 1, maxMs: 200, pollMs: 5 });
    assert.ok(Date.now() - startedAt >= 200);
    assert.equal((await withdrawClaims(client, silent.listKey)).length, 5);
  });

  test("a claim offered with its job's copy is the job as claimed; finishing it resumes the flow's parent", async () => {
    const flows = new FlowProducer({ connection: redisOptions(redis.url) });
    const claimant = claimingByHand('copy-triggers');
    const taker = claimingByHand('copy-triggers');
    try {
      const flow = await flows.add({
        name: 'resume',
        queueName: 'copy-resume',
        children: [
          {
            name: 'trigger',
            queueName: 'copy-triggers',
            data: { v: 1, classpath: 'x.Y', kwargs: { programs: ['a:b'] } },
            opts: { jobId: 'with-copy', attempts: 1, ignoreDependencyOnFailure: true, priority: 3 },
          },
        ],
      });
      const token = 'claimant:1';
      const claimed = (await claimant.getNextJob(token)) as Job;
      assert.equal(claimed.id, 'with-copy');
      const { listKey } = await offerAs('claimant', 'bull', [
        { id: 'with-copy', token, job: jobJson(claimed) },
      ]);
      const [claim] = (await takeClaims(client, { list: listKey, streamed: false }, 10)).claims;
      assert.ok(claim?.job, 'the claim carries the copy');
      // The copy is what the claimant held, not a read: a change in Redis since does not show.
      await claimed.updateData({ v: 1, classpath: 'x.Y', kwargs: { programs: ['changed'] } });
      const rebuilt = (await offeredJob(taker, claim)) as Job;
      const fields = (j: Job) => [
        j.id,
        j.name,
        j.data,
        j.opts,
        j.timestamp,
        j.attemptsMade,
        j.attemptsStarted,
        j.processedOn,
        j.parentKey,
        j.parent,
        j.priority,
      ];
      claimed.data = { v: 1, classpath: 'x.Y', kwargs: { programs: ['a:b'] } };
      assert.deepEqual(fields(rebuilt), fields(claimed));
      assert.equal(rebuilt.parentKey, `bull:copy-resume:${flow.job.id}`);
      // Finishing the rebuilt job under the handed-over token is finishing the child of the flow.
      await rebuilt.moveToCompleted({ status: 'fired' }, token, false);
      assert.equal(await Job.fromId(taker, 'with-copy').then((j) => j?.returnvalue?.status), 'fired');
      assert.equal(await flow.job.getState(), 'waiting');
    } finally {
      await Promise.all([flows.close(), claimant.close(), taker.close()]);
    }
  });

  test('a claim without a usable copy of its job is read from Redis', async () => {
    assert.deepEqual(decodeClaim('["j1","t1"]'), { id: 'j1', token: 't1' });
    // A copy of another job, or one missing what Job.fromJSON needs, is dropped, never trusted.
    const copy = {
      id: 'j1',
      name: 'trigger',
      data: '{}',
      opts: {},
      timestamp: 1,
      attemptsMade: 0,
      attemptsStarted: 1,
    };
    assert.deepEqual(decodeClaim(JSON.stringify(['j1', 't1', copy]))?.job, copy);
    assert.deepEqual(decodeClaim(JSON.stringify(['j1', 't1', { ...copy, id: 'j2' }])), {
      id: 'j1',
      token: 't1',
    });
    assert.deepEqual(decodeClaim(JSON.stringify(['j1', 't1', { ...copy, data: {} }])), {
      id: 'j1',
      token: 't1',
    });
    assert.equal(decodeClaim('["j1"]'), undefined);
    assert.equal(decodeClaim('{'), undefined);

    const worker = claimingByHand('read-triggers');
    try {
      await worker.waitUntilReady();
      const flows = new FlowProducer({ connection: redisOptions(redis.url) });
      await flows.add({
        name: 'plain',
        queueName: 'read-triggers',
        data: { n: 7 },
        opts: { jobId: 'no-copy' },
      });
      await flows.close();
      const read = await offeredJob(worker, { id: 'no-copy', token: 't' });
      assert.deepEqual(read?.data, { n: 7 });
      assert.equal(await offeredJob(worker, { id: 'gone', token: 't' }), undefined);
      // A copy whose data is not JSON does not rebuild: the job is read instead.
      const broken = await offeredJob(worker, {
        id: 'no-copy',
        token: 't',
        job: { ...copy, id: 'no-copy', data: '{' } as never,
      });
      assert.deepEqual(broken?.data, { n: 7 });
    } finally {
      await worker.close();
    }
  });

  test('a malformed or foreign announcement is not an offer', () => {
    assert.equal(parseOffer('not json', 'bull'), undefined);
    assert.equal(parseOffer('{"list": 3}', 'bull'), undefined);
    assert.equal(parseOffer('{"list":"other:st:handoff:w1"}', 'bull'), undefined);
    assert.deepEqual(parseOffer('{"list":"bull:st:handoff:w1","count":2}', 'bull'), {
      list: 'bull:st:handoff:w1',
      streamed: false,
    });
    assert.deepEqual(parseOffer('{"list":"bull:st:handoff:w1","streamed":true}', 'bull'), {
      list: 'bull:st:handoff:w1',
      streamed: true,
    });
  });
});
