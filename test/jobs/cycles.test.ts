/**
 * The always-on loop: check_timeout with healthy programs starts a new watch cycle and leaves them
 * running; restart_on_retrigger and restart_on_initial restart them (their pids change) and without
 * them nothing is restarted (pids kept); stop_on_exit: false and cleanup: false leave the job up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  isAlive,
  jobCli,
  programPid,
  startJobsHarness,
  supervisordOf,
  workingDirOf,
  writeJob,
  type JobsHarness,
} from '../fixtures/jobs.js';

describe('watch cycles', () => {
  let h: JobsHarness;
  before(async () => {
    h = await startJobsHarness('jc-');
  });
  after(() => h?.stop());

  const cycle = (name: string, n: number) =>
    h.runs.until(name, (s) => s.active && s.step === 'watch' && s.cycle === n, {
      what: `watching in cycle ${n}`,
    });

  async function stop(name: string, runId: string) {
    const stopped = await jobCli(h.redis.url, ['stop', name]);
    assert.equal(stopped.code, 0, stopped.stderr);
    await h.runs.ended(name, runId);
  }

  test('check_timeout starts a new cycle and leaves healthy programs running (pids kept); old commits are dropped', async () => {
    await writeJob(h.dir, 'loop', {
      check_interval: '300ms',
      check_timeout: '2s',
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('loop');
    await cycle('loop', 1);
    const pid = await programPid(h.dir, 'loop', 'sleeper');
    const supervisord = supervisordOf(h.dir, 'loop');
    const second = await cycle('loop', 2);
    assert.equal(second.retriggers, 1);
    assert.equal(second.runId, runId);
    await cycle('loop', 3);
    assert.equal(await programPid(h.dir, 'loop', 'sleeper'), pid, 'the program was not restarted');
    // what the steps of cycles long past committed is forgotten: the run's keys stay bounded
    await cycle('loop', 5);
    const store = h.runs.store;
    const committed = await store.redis.hkeys(store.keys.successors(runId));
    const cycles = committed.map((id) => Number(/\.(\d+)\.[a-z-]+$/.exec(id)?.[1]));
    assert.ok(Math.min(...cycles) >= 2, `committed steps kept: ${committed.join(', ')}`);
    assert.equal(supervisordOf(h.dir, 'loop'), supervisord, 'supervisord was not restarted');
    assert.ok(!(await h.runs.status('loop')).events.some((e) => e.step === 'restart-programs'));
    await stop('loop', runId);
  });

  test('restart_on_retrigger restarts the programs on each new cycle (pids change)', async () => {
    await writeJob(h.dir, 'fresh', {
      check_interval: '300ms',
      check_timeout: '2s',
      restart_on_retrigger: true,
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('fresh');
    await cycle('fresh', 1);
    const first = await programPid(h.dir, 'fresh', 'sleeper');
    await cycle('fresh', 2);
    const second = await programPid(h.dir, 'fresh', 'sleeper');
    assert.ok(second > 0 && second !== first, `restarted (${first} → ${second})`);
    assert.equal(isAlive(first), false);
    await stop('fresh', runId);
  });

  test('stop_on_exit: false and cleanup: false leave the job up; restart_on_initial restarts what is left, its absence keeps it', async () => {
    await writeJob(h.dir, 'kept', {
      check_interval: '300ms',
      runtime: '2s',
      stop_on_exit: false,
      cleanup: false,
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const first = await h.runs.ended('kept', await h.start('kept'));
    assert.equal(first.outcome?.reason, 'runtime');
    const supervisord = supervisordOf(h.dir, 'kept');
    assert.ok(supervisord !== undefined && isAlive(supervisord), 'supervisord left running');
    assert.ok(existsSync(workingDirOf(h.dir, 'kept')), 'working dir kept');
    const left = await programPid(h.dir, 'kept', 'sleeper');
    assert.ok(left > 0, 'the program left running');

    await h.runs.ended('kept', await h.start('kept'));
    assert.equal(await programPid(h.dir, 'kept', 'sleeper'), left, 'without restart_on_initial: kept');

    const third = await h.start('kept', ['--set', 'restart_on_initial=true']);
    await h.runs.until('kept', (s) => s.runId === third && s.step === 'watch', { what: 'watching' });
    const restarted = await programPid(h.dir, 'kept', 'sleeper');
    assert.ok(
      restarted > 0 && restarted !== left,
      `restart_on_initial restarted it (${left} → ${restarted})`,
    );
    await h.runs.ended('kept', third);
    assert.equal(supervisordOf(h.dir, 'kept'), supervisord, 'the same supervisord all along');
  });
});
