/**
 * An always-on run end to end: a real redis-server, triggerer and worker processes, supervisords
 * started by the worker through the lifecycle, and the `job` CLI. A program that dies is restarted,
 * one that always crashes fails the run after maxretrigger (its printed lines noted in the run's
 * events), a second start is refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  descendants,
  isAlive,
  jobCli,
  programPid,
  programStateOf,
  startJobsHarness,
  supervisordOf,
  workingDirOf,
  writeJob,
  type JobsHarness,
} from '../fixtures/jobs.js';
import { waitUntil } from '../fixtures/processes.js';
import { requestStop } from '../../src/jobs/runs.js';
import { redisOptions } from '../../src/redis/connection.js';

describe('always-on runs', () => {
  let h: JobsHarness;
  before(async () => {
    h = await startJobsHarness('jr-');
  });
  after(() => h?.stop());

  test('a program that dies is restarted and watched again; job stop leaves no process behind', async () => {
    await writeJob(h.dir, 'dies', {
      check_interval: '300ms',
      program: {
        sleeper: { command: 'sleep 1000', startsecs: 0 },
        steady: { command: 'sleep 1000', startsecs: 0 },
      },
    });
    const runId = await h.start('dies');
    await h.runs.until('dies', (s) => s.step === 'watch' && s.cycle === 1, { what: 'watching' });
    const supervisord = supervisordOf(h.dir, 'dies');
    assert.ok(supervisord, 'supervisord runs');
    const killed = await programPid(h.dir, 'dies', 'sleeper');
    const steady = await programPid(h.dir, 'dies', 'steady');
    assert.ok(killed > 0 && steady > 0);

    process.kill(killed, 'SIGKILL');
    const status = await h.runs.until(
      'dies',
      (s) => s.retriggers === 1 && s.cycle === 2 && s.step === 'watch',
      { what: 'restarted and watching again' },
    );
    assert.equal(status.runId, runId);
    assert.ok(status.events.some((e) => /restarting sleeper:sleeper/.test(e.message)));
    const restarted = await waitUntil(async () => {
      const pid = await programPid(h.dir, 'dies', 'sleeper');
      return pid > 0 && pid !== killed ? pid : undefined;
    });
    assert.equal(await programStateOf(h.dir, 'dies', 'sleeper'), 'RUNNING');
    assert.equal(await programPid(h.dir, 'dies', 'steady'), steady, 'the healthy program is not restarted');

    const programs = descendants(supervisord);
    const stopped = await jobCli(h.redis.url, ['stop', 'dies']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /stopped/);
    const ended = await h.runs.ended('dies', runId);
    assert.equal(ended.outcome?.status, 'stopped');
    for (const pid of [supervisord, restarted, steady, ...programs]) {
      assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
    }
    assert.equal(existsSync(workingDirOf(h.dir, 'dies')), false, 'cleanup removed the working dir');
  });

  test('a program that always crashes ends the run failed after maxretrigger restarts, nothing left running', async () => {
    await writeJob(h.dir, 'crashes', {
      check_interval: '300ms',
      maxretrigger: 2,
      program: {
        crasher: { command: "sh -c 'echo crash-out; echo crash-err >&2; sleep 0.5; exit 3'", startsecs: 0 },
        steady: { command: 'sleep 1000', startsecs: 0 },
      },
    });
    const runId = await h.start('crashes');
    const supervisord = await waitUntil(() => supervisordOf(h.dir, 'crashes'), { what: 'supervisord' });
    const programs = await waitUntil(() => {
      const pids = descendants(supervisord);
      return pids.length > 0 ? pids : undefined;
    });
    const ended = await h.runs.ended('crashes', runId);
    assert.equal(ended.outcome?.status, 'failed');
    assert.equal(ended.outcome?.reason, 'maxretrigger');
    assert.match(ended.outcome?.message ?? '', /crasher.*EXITED 3.*maxretrigger \(2\)/);
    assert.equal(ended.retriggers, 2);
    assert.equal(ended.events.filter((e) => /restarting crasher:crasher/.test(e.message)).length, 2);
    // what the crasher printed is noted in the run (it fails within its start: read when the start
    // fails, or carried by the watch's event when it dies later), and job logs shows it
    const noted = ended.events.find((e) => e.message.startsWith('logs of crasher:crasher'));
    assert.match(
      noted?.message ?? '',
      /crasher:crasher stdout\n(?: {2}\| crash-out\n)+crasher:crasher stderr\n {2}\| crash-err/,
    );
    const logs = await jobCli(h.redis.url, ['logs', 'crashes']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(
      logs.stdout,
      /logs of crasher:crasher when (?:it failed to start|the watch ended):\n\s+crasher:crasher stdout\n\s+\| crash-out\n/,
    );
    for (const pid of [supervisord, ...programs]) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
    assert.equal(existsSync(workingDirOf(h.dir, 'crashes')), false);
  });

  test('job stop while a step runs: the next step tears down, no program is left running', async () => {
    const marker = `${h.dir}/slow-hook.started`;
    await writeJob(h.dir, 'slow', {
      check_interval: '300ms',
      hooks: { before_start_programs: `touch ${marker}; sleep 3` },
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const runId = await h.start('slow');
    await waitUntil(() => (existsSync(marker) ? true : undefined), { what: 'the hook running' });
    const supervisord = supervisordOf(h.dir, 'slow')!;
    // what `job stop` does, without a CLI's start-up time: the hook is still running
    await requestStop(h.runs.store, redisOptions(h.redis.url), 'slow');
    assert.ok(
      existsSync(marker) && (await h.runs.status('slow')).step === 'start-programs',
      'stopped mid-step',
    );
    const ended = await h.runs.ended('slow', runId);
    assert.equal(ended.outcome?.status, 'stopped');
    assert.ok(!ended.events.some((e) => e.step === 'watch'), 'it never watched');
    assert.equal(isAlive(supervisord), false);
    assert.deepEqual(descendants(supervisord), []);
  });

  test('a second job start of a running job is refused with the running run’s id', async () => {
    await writeJob(h.dir, 'once', { program: { sleeper: { command: 'sleep 1000', startsecs: 0 } } });
    const runId = await h.start('once');
    const second = await jobCli(h.redis.url, ['start', `${h.dir}/once.yaml`]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`already running: run ${runId.replace(/\./g, '\\.')}`));
    assert.equal((await h.runs.status('once')).runId, runId, 'the running run is untouched');
    const stopped = await jobCli(h.redis.url, ['stop', 'once', '--no-wait']);
    assert.equal(stopped.code, 0, stopped.stderr);
    await h.runs.ended('once', runId);
  });
});
