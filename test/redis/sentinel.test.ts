/**
 * A Sentinel-managed Redis (primary, replica, three sentinels; a password) named by one
 * `redis+sentinel://` URL: two triggerer processes watch triggers deferred with continuations, the
 * primary is SIGKILLed while they watch and the sentinels promote the replica; every client follows
 * the new primary, and once the condition happens every continuation runs exactly once (counted, as
 * the fault suite counts them: none lost, none doubled).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { defer } from '../../src/client/index.js';
import { TRIGGERS_QUEUE } from '../../src/protocol/index.js';
import { redisOptions } from '../../src/redis/connection.js';
import { runCli } from '../fixtures/cli.js';
import { waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { startRedisSentinel, type RedisSentinelHandle } from '../fixtures/redis-sentinel.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import {
  countContinuations,
  startTriggerer,
  supervisorctl,
  type ContinuationCounter,
} from '../fixtures/triggerers.js';

const PASSWORD = 'sentinel-pw-2b7e41';
const PROGRAM = 'command=sleep 1000\nautostart=true\nstartsecs=0\nstopsignal=KILL';
const N = 40;

describe('a Sentinel-managed primary failover', () => {
  let group: RedisSentinelHandle;
  let supervisord: SupervisordHandle;
  let configPath: string;
  let triggers: Queue;
  /** Every triggerer started, stopped at the end even when a test fails. */
  const everyProc: OwnedProcess[] = [];
  const counters: ContinuationCounter[] = [];

  before(async () => {
    // One after the other: each is assigned as soon as it runs, so `after` stops it if the next fails.
    group = await startRedisSentinel({ password: PASSWORD });
    supervisord = await startSupervisord({ programs: { switched: PROGRAM, killed: PROGRAM } });
    // The default lock (6 s) outlives the failover (about 3 s): the triggers stay with their holders.
    configPath = join(supervisord.dir, 'triggerer.json');
    await writeFile(
      configPath,
      JSON.stringify({
        connections: { box: { url: supervisord.endpoint.url } },
        default_interval: '200ms',
        metrics_port: 'none',
      }),
    );
    triggers = new Queue(TRIGGERS_QUEUE, { connection: redisOptions(group.url) });
    triggers.on('error', () => undefined); // it reconnects through the sentinels
  });

  after(async () => {
    await Promise.all(everyProc.map((p) => p.stop()));
    await Promise.all(counters.map((c) => c.close()));
    await triggers?.close();
    await supervisord?.stop();
    await group?.stop();
  });

  /**
   * Two triggerers watch N triggers deferred with continuations on `program`; `failover` moves the
   * primary; then the program stops and every continuation must run exactly once, fired.
   */
  async function survives(
    scenario: string,
    program: string,
    failover: () => Promise<{ from: number; to: number }>,
  ): Promise<void> {
    const procs: OwnedProcess[] = [];
    for (let i = 0; i < 2; i++) {
      const proc = await startTriggerer(group.url, configPath, ['--capacity', String(N / 2)]);
      procs.push(proc);
      everyProc.push(proc);
    }
    const counter = countContinuations(group.url, `resume-${scenario}`);
    counters.push(counter);
    const ids = Array.from({ length: N }, (_, i) => `${scenario}-${i}`);
    await Promise.all(
      ids.map((id) =>
        defer(
          {
            classpath: 'supervisor.ProgramStateTrigger',
            kwargs: { endpoint: 'box', programs: [program], states: ['STOPPED'] },
          },
          { connection: group.url, id, continuation: { queue: `resume-${scenario}`, name: 'resume' } },
        ),
      ),
    );
    const activeIs = async (n: number) =>
      (await triggers.getJobCounts('active')).active === n ? true : undefined;
    await waitUntil(() => activeIs(N), { timeoutMs: 20_000, what: `${N} triggers watched` });

    const { from, to } = await failover();
    assert.notEqual(from, to);
    assert.equal(await group.primaryPort(), to);
    // Every client follows the new primary: the queue is read there, the triggerers still hold all.
    await waitUntil(() => activeIs(N), {
      timeoutMs: 30_000,
      what: `${N} triggers watched after the failover`,
    });
    for (const proc of procs) assert.equal(proc.child.exitCode, null, proc.output());
    const status = await runCli(['status', '--json'], { env: { REDIS_URL: group.url } });
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { triggerers: unknown[] }).triggerers.length, 2);
    assert.equal(counter.distinct(), 0, 'nothing resumed before the condition');

    await supervisorctl(supervisord.configPath, 'stop', program);
    const resume = new Queue(`resume-${scenario}`, { connection: redisOptions(group.url) });
    resume.on('error', () => undefined);
    try {
      await waitUntil(
        async () => (counter.distinct() === N && (await resume.getCompletedCount()) === N ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 100, what: `${N} continuations after the failover` },
      );
      assert.deepEqual(await triggers.getJobCounts('active', 'waiting', 'delayed'), {
        active: 0,
        waiting: 0,
        delayed: 0,
      });
    } finally {
      await resume.close();
    }
    const lost = ids.filter((id) => (counter.runs.get(`${id}-resume`) ?? []).length === 0);
    const duplicated = ids.filter((id) => (counter.runs.get(`${id}-resume`) ?? []).length > 1);
    assert.deepEqual({ lost, duplicated }, { lost: [], duplicated: [] });
    for (const id of ids) assert.equal(counter.runs.get(`${id}-resume`)?.[0]?.status, 'fired', id);
    await Promise.all(procs.map((p) => p.stop()));
    const output = procs.map((p) => p.output()).join('');
    assert.ok(!output.includes(PASSWORD), 'no triggerer logs the password');
  }

  test('a failover asked of the sentinels while triggers are watched: every continuation runs exactly once', () =>
    survives('switch', 'switched', () => group.switchPrimary()));

  test('the primary killed while triggers are watched: every continuation runs exactly once', () =>
    survives('kill', 'killed', () => group.killPrimary()));
});
