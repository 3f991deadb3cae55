import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Job, Queue, Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { ClaimingWorker, type ClaimingWorkerOptions } from '../../src/queue/claims.js';
import { redisOptions } from '../../src/redis/connection.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { waitUntil } from '../fixtures/processes.js';

/** A ClaimingWorker that counts its fetches in flight (moveToActive is BullMQ's claim script). */
class CountingWorker extends ClaimingWorker<{ n: number }, number> {
  inFlight = 0;
  maxInFlight = 0;
  protected override async moveToActive(token: string, name?: string) {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await super.moveToActive(token, name);
    } finally {
      this.inFlight -= 1;
    }
  }
}

/** Jobs held by a processor until released, with the most held at once. */
class Gate {
  held = 0;
  maxHeld = 0;
  private open = false;
  private readonly releases: (() => void)[] = [];
  async hold(job: Job<{ n: number }>): Promise<number> {
    this.held += 1;
    this.maxHeld = Math.max(this.maxHeld, this.held);
    if (!this.open) await new Promise<void>((resolve) => this.releases.push(resolve));
    this.held -= 1;
    return job.data.n * 2;
  }
  /** Lets `count` held jobs end. */
  release(count: number): void {
    for (const resolve of this.releases.splice(0, count)) resolve();
  }
  /** Lets every job end, now and from now on. */
  openUp(): void {
    this.open = true;
    this.release(Infinity);
  }
}

describe('ClaimingWorker (real Redis)', () => {
  let redis: RedisHandle;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    redis = await startRedis();
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
    await redis?.stop();
  });

  async function setUp(
    name: string,
    options: Partial<ClaimingWorkerOptions> = {},
  ): Promise<{ queue: Queue; worker: CountingWorker; gate: Gate }> {
    const queue = new Queue(name, { connection: redisOptions(redis.url) });
    const gate = new Gate();
    const worker = new CountingWorker(name, (job) => gate.hold(job), {
      connection: redisOptions(redis.url),
      concurrency: 50,
      ...options,
    });
    closers.push(
      () => queue.close(),
      async () => {
        gate.openUp();
        await worker.close();
      },
    );
    return { queue, worker, gate };
  }

  const jobs = (count: number) => Array.from({ length: count }, (_, n) => ({ name: 'j', data: { n } }));

  test('claims a burst with several fetches in flight, never more than its lanes', async () => {
    const { queue, worker } = await setUp('burst', { concurrency: 500, claimLanes: 6 });
    await queue.addBulk(jobs(400));
    void worker.run();
    await waitUntil(async () => ((await queue.getActiveCount()) === 400 ? true : undefined), {
      what: '400 jobs active',
    });
    assert.ok(worker.maxInFlight > 1, `fetches in flight at most ${worker.maxInFlight}`);
    assert.ok(worker.maxInFlight <= 6, `fetches in flight up to ${worker.maxInFlight}, lanes 6`);
  });

  test('burstClaimed: a processor waiting on it goes on once the whole burst is claimed', async () => {
    const queue = new Queue('bursts', { connection: redisOptions(redis.url) });
    let entered = 0;
    const enteredWhenFirstPassed: number[] = [];
    const worker: ClaimingWorker<{ n: number }, number> = new ClaimingWorker(
      'bursts',
      async (job) => {
        entered += 1;
        await worker.burstClaimed();
        enteredWhenFirstPassed.push(entered);
        return job.data.n;
      },
      { connection: redisOptions(redis.url), concurrency: 1000 },
    );
    closers.push(
      () => queue.close(),
      () => worker.close(),
    );
    await queue.addBulk(jobs(300));
    void worker.run();
    await waitUntil(async () => ((await queue.getCompletedCount()) === 300 ? true : undefined), {
      what: '300 completed',
    });
    // The first processor to pass saw all 300 claimed (every processor had started).
    assert.equal(enteredWhenFirstPassed[0], 300);
  });

  test('holds at most its concurrency, and claims more as jobs end', async () => {
    const { queue, worker, gate } = await setUp('bounded', { concurrency: 50, claimLanes: 8 });
    await queue.addBulk(jobs(120));
    void worker.run();
    await waitUntil(() => (gate.held === 50 ? true : undefined), { what: '50 held' });
    // Every fetch that was in flight has come back, and none brought a 51st job.
    await waitUntil(() => (worker.inFlight === 0 ? true : undefined), { what: 'no fetch in flight' });
    assert.equal(await queue.getActiveCount(), 50);
    assert.equal(await queue.getWaitingCount(), 70);
    gate.release(10);
    await waitUntil(async () => ((await queue.getCompletedCount()) === 10 ? true : undefined));
    await waitUntil(() => (gate.held === 50 ? true : undefined), { what: '50 held again' });
    assert.equal(await queue.getWaitingCount(), 60);
    gate.openUp();
    await waitUntil(async () => ((await queue.getCompletedCount()) === 120 ? true : undefined), {
      what: 'all 120 completed',
    });
    assert.equal(gate.maxHeld, 50);
  });

  test('completes jobs through BullMQ: return values stored, completed and failed events emitted', async () => {
    const queue = new Queue('outcomes', { connection: redisOptions(redis.url) });
    const completed: string[] = [];
    const failed: string[] = [];
    const worker = new ClaimingWorker<{ n: number }, number>(
      'outcomes',
      async (job) => {
        if (job.data.n < 0) throw new Error(`negative ${job.data.n}`);
        return job.data.n * 2;
      },
      { connection: redisOptions(redis.url), concurrency: 10 },
    );
    closers.push(
      () => queue.close(),
      () => worker.close(),
    );
    worker.on('completed', (job) => completed.push(job.id ?? ''));
    worker.on('failed', (job) => failed.push(job?.id ?? ''));
    void worker.run();
    // Added after the worker waits: it wakes on BullMQ's marker, not a poll.
    await queue.add('j', { n: 21 }, { jobId: 'ok' });
    await queue.add('j', { n: -1 }, { jobId: 'bad' });
    await waitUntil(() => (completed.length === 1 && failed.length === 1 ? true : undefined));
    assert.deepEqual(completed, ['ok']);
    assert.deepEqual(failed, ['bad']);
    assert.equal((await queue.getJob('ok'))?.returnvalue, 42);
    assert.equal((await queue.getJob('bad'))?.failedReason, 'negative -1');
  });

  test('renews each lock from its claim: a burst slower to claim than the lock duration loses none', async () => {
    // BullMQ's own loop starts renewing only when it has claimed every job waiting: claiming 12,000
    // takes longer than a 3 s lock (~3.2 s here with nothing else running), so most of the burst
    // would stall back to wait before it is renewed. Each lock is renewed 0.75-1.5 s after its claim,
    // which leaves room for a loaded machine (a 2 s lock with 6,000 once lost some under CI load).
    const { queue, worker, gate } = await setUp('locks', {
      concurrency: 12_000,
      lockDuration: 3000,
      stalledInterval: 1000,
    });
    const stalled: string[] = [];
    worker.on('stalled', (id) => stalled.push(id));
    await queue.addBulk(jobs(12_000));
    void worker.run();
    await waitUntil(() => (gate.held === 12_000 ? true : undefined), {
      what: '12,000 held',
      timeoutMs: 60_000,
    });
    const tokens = await lockTokens(queue, 12_000);
    // Two lock durations (six stalled checks) more while every job is held.
    const heldAt = Date.now();
    await waitUntil(() => (Date.now() >= heldAt + 6000 ? true : undefined), { what: '6 s held' });
    assert.deepEqual(stalled, []);
    assert.equal(Object.keys(tokens).length, 12_000);
    assert.deepEqual(await lockTokens(queue, 12_000), tokens);
    assert.equal(await queue.getWaitingCount(), 0);
  });

  test('adopt starts jobs claimed elsewhere under their tokens, within the room its concurrency leaves', async () => {
    const name = 'adopt';
    const queue = new Queue(name, { connection: redisOptions(redis.url) });
    // Claimed by hand (BullMQ's manual processing): active, each under a lock token of its own.
    const elsewhere = new Worker(name, null, { connection: redisOptions(redis.url) });
    const processed: number[] = [];
    const worker: ClaimingWorker<{ n: number }, number> = new ClaimingWorker(
      name,
      async (job) => {
        processed.push(job.data.n);
        return job.data.n * 2;
      },
      { connection: redisOptions(redis.url), concurrency: 4 },
    );
    closers.push(
      () => queue.close(),
      () => elsewhere.close(),
      () => worker.close(),
    );
    await queue.addBulk(jobs(6));
    const claims: { id: string; token: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const job = await elsewhere.getNextJob(`hand-${i}`);
      assert.ok(job?.id);
      claims.push({ id: job.id, token: `hand-${i}` });
    }
    const rooms: number[] = [];
    const started = await worker.adopt(async (room) => {
      rooms.push(room);
      const taken = claims.splice(0, room);
      return Promise.all(
        taken.map(async (c) => ({
          job: (await Job.fromId(worker, c.id)) as Job<{ n: number }>,
          token: c.token,
        })),
      );
    });
    assert.deepEqual(rooms, [4]);
    assert.equal(started, 4);
    // Completing needs the lock's token: each adopted job completed under the token it came with.
    await waitUntil(async () => ((await queue.getCompletedCount()) === 4 ? true : undefined), {
      what: '4 adopted jobs completed',
    });
    const done = await queue.getCompleted();
    assert.deepEqual(
      done.map((j) => j.returnvalue).sort((a, b) => a - b),
      processed.map((n) => n * 2).sort((a, b) => a - b),
    );
    assert.equal(await queue.getActiveCount(), 2);
  });

  test('refuses what its loop does not do: rate limits and pause', async () => {
    assert.throws(
      () =>
        new ClaimingWorker('limited', async () => 1, {
          connection: redisOptions(redis.url),
          limiter: { max: 1, duration: 1000 },
        } as ClaimingWorkerOptions),
      /does not support rate limits/,
    );
    const worker = new ClaimingWorker('paused', async () => 1, { connection: redisOptions(redis.url) });
    closers.push(() => worker.close());
    await assert.rejects(worker.pause(), /does not support pause\(\)/);
  });

  test('close waits for the jobs held, and claims nothing after it', async () => {
    const { queue, worker, gate } = await setUp('closing', { concurrency: 5 });
    await queue.addBulk(jobs(8));
    void worker.run();
    await waitUntil(() => (gate.held === 5 ? true : undefined), { what: '5 held' });
    let closed = false;
    const closing = worker.close().then(() => (closed = true));
    // Still open while its jobs run.
    await waitUntil(() => (worker.closing ? true : undefined));
    assert.equal(closed, false);
    gate.openUp();
    await closing;
    assert.equal(await queue.getCompletedCount(), 5);
    assert.equal(await queue.getWaitingCount(), 3);
    assert.equal(gate.maxHeld, 5);
  });
});

/** The lock token of each active job, by id. */
async function lockTokens(queue: Queue, count: number): Promise<Record<string, string | null>> {
  const client = new Redis(queue.opts.connection as RedisOptions);
  try {
    return await tokensOf(client, queue, count);
  } finally {
    client.disconnect();
  }
}

async function tokensOf(client: Redis, queue: Queue, count: number): Promise<Record<string, string | null>> {
  const ids = await queue.getActive(0, count);
  const values = await client.mget(...ids.map((job) => queue.toKey(`${job.id}:lock`)));
  return Object.fromEntries(ids.map((job, i) => [job.id ?? '', values[i] ?? null]));
}
