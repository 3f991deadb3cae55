/**
 * Restarts of the restart steps, against a real supervisord and Redis: a step retried after a crash
 * (between its restart and its commit) restarts no program twice, and a program slow to stop
 * (stopwaitsecs past the XML-RPC call timeout) is restarted, not a call that times out.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import { restartOnce } from '../../src/jobs/restart.js';
import { RunStore } from '../../src/jobs/store.js';
import {
  configure,
  start,
  startPrograms,
  type LifecycleOptions,
} from '../../src/supervisor/lifecycle/index.js';
import { stopDaemons, watchPidfile, writeJobFile } from '../fixtures/daemon.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { tempDir } from '../fixtures/tmp.js';

const FAST: LifecycleOptions = { pollIntervalMs: 100, steadyMs: 300 };

describe('restart steps', () => {
  let redis: RedisHandle;
  let connection: Redis;
  let store: RunStore;
  before(async () => {
    redis = await startRedis();
    connection = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    store = new RunStore(connection, 'rt');
  });
  after(async () => {
    connection?.disconnect();
    await redis?.stop();
  });

  /** A job with `program`, configured, its supervisord started (stopped after the test) and programs up. */
  async function running(t: TestContext, program: Record<string, unknown>) {
    const dir = await tempDir('rt-');
    const workingDir = join(dir.path, 'wd');
    const file = await writeJobFile(dir.path, { working_dir: workingDir, program });
    watchPidfile(join(workingDir, 'supervisord.pid'));
    t.after(async () => {
      await stopDaemons();
      await dir.remove();
    });
    const job = await resolveJob(await loadJobFiles([file]));
    await configure(job, FAST);
    await start(job, FAST);
    await startPrograms(job, FAST);
    return job;
  }

  const pidsOf = (result: { processes: { name: string; pid: number }[] }) =>
    Object.fromEntries(result.processes.map((p) => [p.name, p.pid]));

  test('a restart step tried again after a crash restarts no program twice', async (t) => {
    const job = await running(t, {
      a: { command: 'sleep 1000', startsecs: 0 },
      b: { command: 'sleep 1000', startsecs: 0 },
    });
    const before = pidsOf(await startPrograms(job, FAST));
    const step = { store, runId: 'r.1', stepId: 'r.1.2.restart-programs' };
    const first = await restartOnce(job, [], step, FAST);
    const restarted = pidsOf(first);
    assert.notEqual(restarted.a, before.a);
    assert.notEqual(restarted.b, before.b);
    assert.deepEqual(first.skipped, []);

    const retried = await restartOnce(job, [], step, FAST);
    assert.deepEqual(pidsOf(retried), restarted, 'the retry kept the pids of the first attempt');
    assert.deepEqual(retried.skipped.sort(), ['a:a', 'b:b']);

    const nextCycle = await restartOnce(job, ['a:a'], { ...step, stepId: 'r.1.3.restart-programs' }, FAST);
    assert.notEqual(pidsOf(nextCycle).a, restarted.a, 'another step restarts again');
  });

  test('a restart that crashed halfway: the retry restarts only what the first attempt did not', async (t) => {
    const job = await running(t, {
      a: { command: 'sleep 1000', startsecs: 0 },
      b: { command: 'sleep 1000', startsecs: 0 },
    });
    const step = { store, runId: 'r.2', stepId: 'r.2.2.restart-programs' };
    const before = pidsOf(await startPrograms(job, FAST));
    // the first attempt marks how they stood, restarts a, and dies
    const firstA = pidsOf(await restartOnce(job, ['a:a'], { ...step, stepId: 'probe' }, FAST)).a;
    await store.restartMark(
      step.runId,
      step.stepId,
      JSON.stringify({ at: 0, pids: { 'a:a': before.a, 'b:b': before.b } }),
    );
    const retried = await restartOnce(job, [], step, FAST);
    assert.deepEqual(retried.skipped, ['a:a']);
    const now = pidsOf(await startPrograms(job, FAST));
    assert.equal(now.a, firstA, 'a kept its pid');
    assert.notEqual(now.b, before.b, 'b restarted');
    assert.equal(pidsOf(retried).b, now.b);
  });

  test('an unhealthy program slow to stop (stopwaitsecs past the call timeout) is restarted', async (t) => {
    const job = await running(t, {
      stubborn: {
        command: `sh -c "trap '' TERM; while true; do sleep 1; done"`,
        startsecs: 0,
        stopwaitsecs: 12,
        killasgroup: true,
      },
    });
    const before = pidsOf(await startPrograms(job, FAST)).stubborn;
    const step = { store, runId: 'r.3', stepId: 'r.3.2.restart-programs' };
    const result = await restartOnce(job, ['stubborn:stubborn'], step, FAST);
    assert.notEqual(pidsOf(result).stubborn, before);
    assert.equal(result.processes[0]?.statename, 'RUNNING');
  });
});
