/**
 * Two real triggerer processes share 100 ProgramStateTriggers on a real supervisord. One of them is
 * stopped (SIGTERM: hand-off) or killed (SIGKILL: lock expiry + stalled check); the other adopts
 * every trigger, and once the program stops each continuation runs exactly once (counted).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { defer } from '../../src/client/index.js';
import { TRIGGERS_QUEUE } from '../../src/protocol/index.js';
import { redisOptions } from '../../src/redis/connection.js';
import { waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import {
  countContinuations,
  programState,
  startTriggerer,
  supervisorctl,
  writeTriggererConfig,
  type ContinuationCounter,
} from '../fixtures/triggerers.js';

const N = 100;
const PROGRAM = 'command=sleep 1000\nautostart=true\nstartsecs=0\nstopsignal=KILL';

describe('two triggerer processes holding 100 triggers', () => {
  let redis: RedisHandle;
  let supervisord: SupervisordHandle;
  let configPath: string;
  let triggers: Queue;
  const procs: OwnedProcess[] = [];
  const counters: ContinuationCounter[] = [];

  before(async () => {
    [redis, supervisord] = await Promise.all([
      startRedis(),
      startSupervisord({ programs: { term: PROGRAM, kill: PROGRAM } }),
    ]);
    configPath = await writeTriggererConfig(supervisord.dir, supervisord.endpoint.url);
    triggers = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(redis.url) });
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(counters.map((c) => c.close()));
    await triggers?.close();
    await supervisord?.stop();
    await redis?.stop();
  });

  /** Defers N triggers on `program`, each twice at once (a duplicate enqueue must stay a no-op). */
  async function deferAll(scenario: string, program: string): Promise<ContinuationCounter> {
    const counter = countContinuations(redis.url, `resume-${scenario}`);
    counters.push(counter);
    const one = (i: number) =>
      defer(
        {
          classpath: 'supervisor.ProgramStateTrigger',
          kwargs: { endpoint: 'box', programs: [program], states: ['STOPPED'], on_cancel: 'stop_programs' },
        },
        {
          connection: redis.url,
          id: `${scenario}-${i}`,
          continuation: { queue: `resume-${scenario}`, name: 'resume' },
        },
      );
    await Promise.all(Array.from({ length: N }, (_, i) => [one(i), one(i)]).flat());
    return counter;
  }

  async function activeIs(n: number): Promise<true | undefined> {
    const counts = await triggers.getJobCounts('active', 'waiting');
    return counts.active === n && counts.waiting === N - n ? true : undefined;
  }

  /** Stops the program and waits until every continuation finished; asserts one run each, `fired`. */
  async function stopAndCount(scenario: string, program: string, counter: ContinuationCounter) {
    await supervisorctl(supervisord.configPath, 'stop', program);
    const resume = new Queue(`resume-${scenario}`, { connection: redisOptions(redis.url) });
    try {
      await waitUntil(
        async () => ((await resume.getCompletedCount()) === N && counter.distinct() === N ? true : undefined),
        { timeoutMs: 20_000, intervalMs: 100, what: `${N} continuations of ${scenario} completed` },
      );
    } finally {
      await resume.close();
    }
    for (let i = 0; i < N; i++) {
      const runs = counter.runs.get(`${scenario}-${i}-resume`) ?? [];
      assert.equal(runs.length, 1, `continuation ${scenario}-${i}-resume ran ${runs.length} times`);
      assert.equal(runs[0]?.status, 'fired');
    }
  }

  test('SIGTERM hands every trigger over at once (no onCancel): the other process adopts them', async (t) => {
    // Each scenario stops its own triggerers, so one that fails leaves the next one a clean queue.
    t.after(() => Promise.all(procs.map((p) => p.stop())));
    const first = await startTriggerer(redis.url, configPath, ['--capacity', '50']);
    procs.push(first);
    const counter = await deferAll('term', 'term');
    await waitUntil(() => activeIs(50), { timeoutMs: 10_000, what: 'the first triggerer full (50)' });
    const second = await startTriggerer(redis.url, configPath, ['--capacity', '150']);
    procs.push(second);
    await waitUntil(() => activeIs(N), { timeoutMs: 10_000, what: `${N} triggers held by two processes` });

    first.child.kill('SIGTERM');
    await waitUntil(() => (first.child.exitCode !== null ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the SIGTERMed triggerer to exit',
    });
    assert.equal(first.child.exitCode, 0, first.output());
    assert.match(
      first.output(),
      /"triggers":50,"toPeers":50,"peers":1,"stoppedMs":\d+,"offeredMs":\d+,"ms":\d+,"msg":"handed the active triggers back to the queue"/,
    );
    // It gave way on the CPU once every claim was offered, before it settled them.
    const givingWay = first.output().indexOf('"nice":19,"msg":"hand-off offered; giving way on the CPU"');
    assert.ok(givingWay >= 0, first.output());
    assert.ok(givingWay < first.output().indexOf('"msg":"handed the active triggers back'), first.output());
    await waitUntil(() => activeIs(N), { timeoutMs: 10_000, what: 'the other triggerer to adopt all' });
    // The adopter says so once every trigger it took is watched again.
    const adopted =
      /"triggers":50,"takenMs":\d+,"watchingMs":\d+,"msg":"adopted triggers from a closing peer"/;
    await waitUntil(() => (adopted.test(second.output()) ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the adopter to log the adoption',
    });
    // Hand-off is not cancellation: the watched program is untouched and nothing resumed.
    assert.equal(await programState(supervisord.configPath, 'term'), 'RUNNING');
    assert.equal(counter.distinct(), 0);

    await stopAndCount('term', 'term', counter);
    await second.stop();
    assert.equal(second.child.exitCode, 0, second.output());
  });

  test('SIGKILL: the locks expire, the stalled check returns the triggers, the other process adopts them', async (t) => {
    t.after(() => Promise.all(procs.map((p) => p.stop())));
    const doomed = await startTriggerer(redis.url, configPath, ['--capacity', '50']);
    procs.push(doomed);
    const counter = await deferAll('kill', 'kill');
    await waitUntil(() => activeIs(50), { timeoutMs: 10_000, what: 'the first triggerer full (50)' });
    const survivor = await startTriggerer(redis.url, configPath, ['--capacity', '100']);
    procs.push(survivor);
    await waitUntil(() => activeIs(N), { timeoutMs: 10_000, what: `${N} triggers held by two processes` });

    doomed.child.kill('SIGKILL');
    await doomed.exited;
    assert.equal(counter.distinct(), 0);
    // Only the survivor can complete them now: all 100 resuming proves the adoption.
    await stopAndCount('kill', 'kill', counter);
    assert.equal(await programState(supervisord.configPath, 'kill'), 'STOPPED');
  });
});
