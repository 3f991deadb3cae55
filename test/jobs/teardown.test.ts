/**
 * Teardown that never leaks and runs that never stay stuck: a job file broken mid-run is still torn
 * down (teardown acts on what configure recorded); a run whose step job failed for good, or whose
 * first step was never queued, ends (through teardown) instead of holding its job forever.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import {
  isAlive,
  jobCli,
  programPid,
  startJobsHarness,
  startWorker,
  supervisordOf,
  workingDirOf,
  writeJob,
  type JobsHarness,
} from '../fixtures/jobs.js';
import { loadJob } from '../../src/jobs/load.js';
import { newRunId, STEP_JOB_OPTIONS, stepJobId } from '../../src/jobs/names.js';
import type { RunData } from '../../src/jobs/run-data.js';
import { redisOptions } from '../../src/redis/connection.js';

describe('teardown and stuck runs', () => {
  let h: JobsHarness;
  before(async () => {
    h = await startJobsHarness('jt-');
  });
  after(() => h?.stop());

  /** Claims a run of the job file `<name>.yaml` as `job start` does, without adding its first step. */
  async function claimOnly(name: string): Promise<{ runId: string; data: RunData; queue: string }> {
    const loaded = await loadJob([join(h.dir, `${name}.yaml`)]);
    const runId = newRunId(loaded.spec.name);
    const referenceTime = new Date().toISOString();
    const claimed = await h.runs.store.claim(loaded.spec, runId, {
      job: loaded.spec.name,
      runId,
      host: loaded.spec.host,
      queue: loaded.spec.queue,
      files: JSON.stringify(loaded.spec.files),
      startedAt: referenceTime,
      referenceTime,
      limits: '{}',
      step: 'configure',
      cycle: '1',
      retriggers: '0',
    });
    assert.equal(claimed, undefined);
    const data: RunData = {
      v: 1,
      job: { name: loaded.spec.name, files: loaded.spec.files, overrides: loaded.spec.overrides },
      runId,
      step: 'configure',
      cycle: 1,
      retriggers: 0,
      referenceTime,
      limits: {},
      watchFailures: 0,
    };
    return { runId, data, queue: loaded.spec.queue };
  }

  test('a job file broken mid-run: job stop still tears down what configure set up', async () => {
    const file = await writeJob(h.dir, 'broken', {
      check_interval: '300ms',
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('broken');
    await h.runs.until('broken', (s) => s.step === 'watch', { what: 'watching' });
    const supervisord = supervisordOf(h.dir, 'broken')!;
    const program = await programPid(h.dir, 'broken', 'sleeper');
    await writeFile(file, 'working_dir: [not, a, path]\nprogram: {}\n');

    const stopped = await jobCli(h.redis.url, ['stop', 'broken', '--timeout', '30s']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, new RegExp(`^${runId.replace(/\./g, '\\.')}: stopped`));
    const ended = await h.runs.status('broken');
    assert.ok(!ended.events.some((e) => /skipped/.test(e.message)), JSON.stringify(ended.events));
    assert.ok(!isAlive(supervisord) && !isAlive(program), 'supervisord and its program stopped');
    assert.ok(!existsSync(workingDirOf(h.dir, 'broken')), 'the working dir removed');
  });

  test('a run whose first step was never queued (its start died): job stop ends it; the job starts again', async () => {
    await writeJob(h.dir, 'unqueued', { program: { sleeper: { command: 'sleep 1000', startsecs: 0 } } });
    const { runId } = await claimOnly('unqueued');
    const stopped = await jobCli(h.redis.url, ['stop', 'unqueued', '--timeout', '10s']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(
      stopped.stdout,
      new RegExp(`^${runId.replace(/\./g, '\\.')}: failed \\(its step .* is gone`),
    );
    assert.equal(await h.runs.store.activeRun('unqueued'), undefined, 'released');
    const again = await h.start('unqueued');
    await h.runs.until('unqueued', (s) => s.runId === again && s.step === 'watch', { what: 'the new run' });
    const done = await jobCli(h.redis.url, ['stop', 'unqueued']);
    assert.equal(done.code, 0, done.stderr);
  });

  test('a step job no worker can read fails for good: the worker ends its run', async () => {
    await writeJob(h.dir, 'unreadable', { program: { sleeper: { command: 'sleep 1000', startsecs: 0 } } });
    const { runId, queue: name } = await claimOnly('unreadable');
    const queue = new Queue(name, { connection: redisOptions(h.redis.url) });
    try {
      await queue.add(
        'configure',
        { v: 1, runId, step: 'bogus' },
        { jobId: stepJobId(runId, 1, 'configure') },
      );
    } finally {
      await queue.close();
    }
    const ended = await h.runs.until('unreadable', (s) => s.runId === runId && !s.active, {
      what: 'the run ended',
      timeoutMs: 15_000,
    });
    assert.equal(ended.outcome?.status, 'failed');
    assert.match(ended.outcome?.message ?? '', /failed for good: not a job run step/);
  });

  test('a step job that failed for good where no worker saw it: job stop tears the run down', async (t) => {
    await writeJob(h.dir, 'crashed', { program: { sleeper: { command: 'sleep 1000', startsecs: 0 } } });
    // no worker of ours runs while the step fails (as when it stalled past the limit)
    await h.worker.stop();
    const { runId, data, queue: name } = await claimOnly('crashed');
    const queue = new Queue(name, { connection: redisOptions(h.redis.url) });
    const taker = new Worker(name, null, { connection: redisOptions(h.redis.url) });
    try {
      await queue.add('configure', data, { ...STEP_JOB_OPTIONS, jobId: stepJobId(runId, 1, 'configure') });
      const job = await taker.getNextJob('test-token');
      assert.equal(job?.id, stepJobId(runId, 1, 'configure'));
      await job!.moveToFailed(new UnrecoverableError('stalled more than allowable limit'), 'test-token');
      assert.equal(await queue.getJobState(job!.id!), 'failed');
    } finally {
      await taker.close();
      await queue.close();
    }
    h.worker = await startWorker(h.redis.url);
    t.after(() => h.worker.stop());

    const stopped = await jobCli(h.redis.url, ['stop', 'crashed', '--timeout', '20s']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /: failed \(configure failed: stalled more than allowable limit\)/);
    const status = await h.runs.status('crashed');
    assert.ok(
      status.events.some((e) => e.step === 'unconfigure'),
      'it went through teardown',
    );
  });
});
