/**
 * Durability, end to end: a worker SIGKILLed in the middle of a step (start-programs, teardown)
 * leaves the run to the next worker that comes up, which finishes it; SIGTERM of a worker never tears
 * a job down; a triggerer SIGKILLed while the run watches loses nothing.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  isAlive,
  pidsOf,
  programPid,
  startJobsHarness,
  startJobTriggerer,
  startWorker,
  supervisordOf,
  workingDirOf,
  writeJob,
  type JobsHarness,
} from '../fixtures/jobs.js';
import { waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { requestStop } from '../../src/jobs/runs.js';
import { redisOptions } from '../../src/redis/connection.js';

/**
 * A hook that blocks the first time only (a marker file says it ran), so a second worker goes on;
 * `sleep SECONDS` tells its sleep from the other tests' (29.x, each test its own).
 */
const blockOnce = (marker: string, seconds = '29.5') =>
  `if [ ! -e ${marker} ]; then touch ${marker}; sleep ${seconds}; fi`;

describe('durability', () => {
  let h: JobsHarness;
  before(async () => {
    h = await startJobsHarness('jd-');
  });
  after(async () => {
    for (const seconds of ['29.5', '29.4'])
      for (const pid of pidsOf(`sleep ${seconds}`)) process.kill(pid, 'SIGKILL');
    await h?.stop();
  });

  /** Replaces the harness's worker (each test runs with the workers it starts) with a new one. */
  async function newWorker(t: TestContext, args: string[] = []): Promise<OwnedProcess> {
    await h.worker.stop();
    const worker = await startWorker(h.redis.url, args);
    t.after(() => worker.stop());
    return worker;
  }

  test('a worker SIGKILLed during start-programs: the run goes on on the next worker', async (t) => {
    const marker = join(h.dir, 'start-programs.once');
    await writeJob(h.dir, 'midstart', {
      check_interval: '300ms',
      hooks: { before_start_programs: blockOnce(marker) },
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('midstart');
    await waitUntil(() => (existsSync(marker) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the hook running',
    });
    h.worker.child.kill('SIGKILL');
    await h.worker.exited;
    await newWorker(t);
    const watching = await h.runs.until('midstart', (s) => s.step === 'watch', { what: 'watching' });
    assert.equal(watching.runId, runId);
    assert.ok((await programPid(h.dir, 'midstart', 'sleeper')) > 0, 'the program runs');
    const supervisord = supervisordOf(h.dir, 'midstart')!;
    await requestStop(h.runs.store, redisOptions(h.redis.url), 'midstart');
    const ended = await h.runs.ended('midstart', runId);
    assert.equal(ended.outcome?.status, 'stopped', JSON.stringify(ended.outcome));
    assert.equal(ended.events.filter((e) => /^watching every/.test(e.message)).length, 1, 'one watch');
    assert.equal(isAlive(supervisord), false);
  });

  test('a worker SIGKILLed during teardown: the next worker finishes it, nothing left running', async (t) => {
    const marker = join(h.dir, 'stop.once');
    await writeJob(h.dir, 'midstop', {
      check_interval: '300ms',
      runtime: '2s',
      hooks: { before_stop: blockOnce(marker) },
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const current = await newWorker(t);
    const runId = await h.start('midstop');
    const supervisord = await waitUntil(() => supervisordOf(h.dir, 'midstop'), { what: 'supervisord' });
    await waitUntil(() => (existsSync(marker) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the hook running',
    });
    current.child.kill('SIGKILL');
    await current.exited;
    assert.equal((await h.runs.status('midstop')).active, true, 'not ended by the kill');
    await newWorker(t);
    const ended = await h.runs.ended('midstop', runId);
    assert.equal(ended.outcome?.reason, 'runtime');
    assert.equal(isAlive(supervisord), false, 'supervisord stopped');
    assert.equal(existsSync(workingDirOf(h.dir, 'midstop')), false, 'cleaned up');
    assert.equal(await h.runs.store.activeRun('midstop'), undefined, 'the run key released');
  });

  test('SIGTERM of a worker never tears a job down; the next worker carries the run on', async (t) => {
    await writeJob(h.dir, 'calm', {
      check_interval: '300ms',
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const current = await newWorker(t);
    const runId = await h.start('calm');
    await h.runs.until('calm', (s) => s.step === 'watch', { what: 'watching' });
    const supervisord = supervisordOf(h.dir, 'calm')!;
    const pid = await programPid(h.dir, 'calm', 'sleeper');
    await current.stop();
    assert.equal(current.child.exitCode, 0, current.output());
    const status = await h.runs.status('calm');
    assert.deepEqual([status.active, status.step, status.outcome], [true, 'watch', undefined]);
    assert.ok(isAlive(supervisord) && isAlive(pid), 'supervisord and the program still run');

    // the watch went on without any worker; a crash now is handled by the next worker
    process.kill(pid, 'SIGKILL');
    await newWorker(t);
    await h.runs.until('calm', (s) => s.retriggers === 1 && s.step === 'watch', { what: 'restarted' });
    assert.ok((await programPid(h.dir, 'calm', 'sleeper')) > 0);
    assert.equal((await h.runs.status('calm')).runId, runId);
  });

  test('SIGTERM of a worker in the middle of a step: it leaves the step to the next worker, which goes on', async (t) => {
    const marker = join(h.dir, 'sigterm.once');
    await writeJob(h.dir, 'interrupted', {
      check_interval: '300ms',
      hooks: { before_start_programs: blockOnce(marker, '29.4') },
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const current = await newWorker(t, ['--close-grace', '1s']);
    const runId = await h.start('interrupted');
    await waitUntil(() => (existsSync(marker) ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the hook running',
    });
    current.child.kill('SIGTERM');
    await current.exited;
    assert.equal(current.child.exitCode, 0, current.output());
    assert.deepEqual(pidsOf('sleep 29.4'), [], 'its hook was killed');
    const left = await h.runs.status('interrupted');
    assert.deepEqual(
      [left.active, left.step, left.outcome],
      [true, 'start-programs', undefined],
      'not torn down',
    );
    await newWorker(t);
    const watching = await h.runs.until('interrupted', (s) => s.step === 'watch', { what: 'watching' });
    assert.equal(watching.runId, runId);
    assert.ok((await programPid(h.dir, 'interrupted', 'sleeper')) > 0);
  });

  test('a triggerer SIGKILLed while the run watches loses nothing', async (t) => {
    await writeJob(h.dir, 'watched', {
      check_interval: '300ms',
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    await newWorker(t);
    const runId = await h.start('watched');
    const watching = await h.runs.until('watched', (s) => s.step === 'watch', { what: 'watching' });
    h.triggerer.child.kill('SIGKILL');
    await h.triggerer.exited;
    const pid = await programPid(h.dir, 'watched', 'sleeper');
    process.kill(pid, 'SIGKILL');
    const replacement = await startJobTriggerer(h.redis.url, h.dir);
    t.after(() => replacement.stop());
    const restarted = await h.runs.until('watched', (s) => s.retriggers === 1 && s.step === 'watch', {
      what: 'the crash seen by the new triggerer',
    });
    assert.equal(restarted.runId, runId);
    assert.equal(restarted.cycle, watching.cycle + 1);
    assert.ok((await programPid(h.dir, 'watched', 'sleeper')) > 0, 'restarted');
  });
});
