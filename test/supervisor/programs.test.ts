import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decideWatch } from '../../triggers/program-watch.js';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import {
  check,
  configure,
  formatCheckTable,
  restartPrograms,
  start,
  startPrograms,
  stopPrograms,
  LifecycleTimeout,
  ProgramStartFailed,
  UnknownProgram,
  type LifecycleOptions,
  type StartProgress,
} from '../../src/supervisor/lifecycle/index.js';
import { stopDaemons, watchPidfile, writeJobFile } from '../fixtures/daemon.js';
import { waitUntil } from '../fixtures/processes.js';
import { tempDir } from '../fixtures/tmp.js';

const FAST: LifecycleOptions = { pollIntervalMs: 100 };

/** A job with these programs (and extra keys), configured and its supervisord started; stopped after the test. */
async function runningJob(
  t: TestContext,
  program: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  const dir = await tempDir('lp-');
  const workingDir = join(dir.path, 'wd');
  const file = await writeJobFile(dir.path, { working_dir: workingDir, program, ...extra });
  watchPidfile(join(workingDir, 'supervisord.pid'));
  t.after(async () => {
    await stopDaemons();
    await dir.remove();
  });
  const job = await resolveJob(await loadJobFiles([file]));
  await configure(job, FAST);
  await start(job, FAST);
  const client = new SupervisorClient(job.endpoint);
  t.after(() => client.close());
  return { job, client };
}

/** The check once `name` is EXITED (startPrograms may return while a short program still runs). */
async function checkOnceExited(job: Parameters<typeof check>[0], name: string) {
  return waitUntil(async () => {
    const result = await check(job, FAST);
    return result.programs.find((p) => p.name === name)?.state === 'EXITED' ? result : undefined;
  });
}

test('a batch program that is done within a second ends EXITED 0 by default, and passes', async (t) => {
  const { job, client } = await runningJob(t, { etl: { command: "sh -c 'echo done; exit 0'" } });
  await startPrograms(job, FAST);
  const result = await checkOnceExited(job, 'etl:etl');
  assert.equal(result.verdict, 'ok');
  assert.deepEqual(
    result.programs.map((p) => [p.name, p.state, p.exitstatus, p.verdict]),
    [['etl:etl', 'EXITED', 0, 'pass']],
  );
  assert.equal((await check(job, { ...FAST, mode: 'done' })).verdict, 'ok');
  const watch = decideWatch(await client.getAllProcessInfo(), [0], {}, Date.now());
  assert.equal(watch?.decision, 'stop', 'the always-on watch sees it done');
  assert.equal(watch?.reason, 'done');
});

test('a program that exits 3 is failed with its exit status by start-programs, check and the watch', async (t) => {
  const { job, client } = await runningJob(t, { crash: { command: "sh -c 'echo oops >&2; exit 3'" } });
  await assert.rejects(startPrograms(job, FAST), (error: Error) => {
    assert.ok(error instanceof ProgramStartFailed);
    assert.deepEqual(
      error.failures.map((f) => [f.name, f.statename, f.exitstatus]),
      [['crash:crash', 'EXITED', 3]],
    );
    assert.match(error.message, /crash:crash: EXITED \(exit status 3\)\n {4}oops/);
    return true;
  });
  const result = await check(job, FAST);
  assert.equal(result.verdict, 'failed');
  assert.equal(result.programs[0]?.exitstatus, 3);
  assert.equal(result.programs[0]?.verdict, 'fail');
  assert.match(result.programs[0]?.spawnerr ?? '', /Bad exit code 3/);
  const watch = decideWatch(await client.getAllProcessInfo(), [0], {}, Date.now());
  assert.equal(watch?.decision, 'restart', 'the always-on watch restarts it');
  assert.deepEqual(watch?.bad, ['crash:crash']);
});

test('start-programs names every program that failed, refused or crashed, and starts the rest', async (t) => {
  const { job } = await runningJob(t, {
    good: { command: 'sleep 1000' },
    first: { command: "sh -c 'exit 3'" },
    second: { command: "sh -c 'sleep 0.3; echo second gives up >&2; exit 4'" },
    ghost: { command: '/nonexistent/ghost' },
  });
  await assert.rejects(startPrograms(job, FAST), (error: Error) => {
    assert.ok(error instanceof ProgramStartFailed);
    const failures = error.failures.map((f) => f.name).sort();
    assert.deepEqual(failures, ['first:first', 'ghost:ghost', 'second:second']);
    assert.match(error.message, /^3 programs failed to start:/);
    assert.match(
      error.message,
      /ghost:ghost: STOPPED \(NO_FILE: can't find command '\/nonexistent\/ghost'\)/,
    );
    assert.match(error.message, /first:first: EXITED \(exit status 3\)/);
    assert.match(error.message, /second:second: EXITED \(exit status 4\)\n {4}second gives up/);
    return true;
  });
  const good = (await check(job, FAST)).programs.find((p) => p.name === 'good:good');
  assert.equal(good?.state, 'RUNNING');
});

test('check counts a STARTING program as starting, neither passed nor failed', async (t) => {
  const { job, client } = await runningJob(t, {
    slow: { command: 'sleep 1000', startsecs: 60 },
    steady: { command: 'sleep 1000' },
  });
  await startPrograms(job, { ...FAST, programs: ['steady'] });
  await client.startProcess('slow', false);
  const result = await check(job, FAST);
  assert.equal(result.verdict, 'starting');
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.programs.map((p) => [p.name, p.state, p.verdict, p.pass]),
    [
      ['slow:slow', 'STARTING', 'starting', false],
      ['steady:steady', 'RUNNING', 'pass', true],
    ],
  );
  assert.match(formatCheckTable(result), /slow:slow +STARTING +\d+ +\S+ +- +starting\n/);
  assert.match(formatCheckTable(result), /\nstarting: 1\/2 programs ok, 1 starting\n$/);
  assert.equal((await check(job, { ...FAST, mode: 'running' })).verdict, 'starting');
});

test('check shows the spawn error of a FATAL program and no made-up exit status', async (t) => {
  const { job } = await runningJob(t, {
    quitter: { command: "sh -c 'exit 3'", startsecs: 1, startretries: 0 },
  });
  await assert.rejects(startPrograms(job, FAST), /quitter:quitter: FATAL \(Exited too quickly/);
  const result = await check(job, FAST);
  const row = result.programs[0];
  assert.equal(row?.state, 'FATAL');
  assert.equal(row?.exitstatus, null, 'supervisord knows no exit status of a FATAL program');
  assert.equal(row?.spawnerr, 'Exited too quickly (process log may have details)');
  assert.match(
    formatCheckTable(result),
    /quitter:quitter +FATAL +- +- +- +FAIL +Exited too quickly \(process log may have details\)\n/,
  );
});

test('named programs start, stop and restart alone, and twice does no harm', async (t) => {
  const { job } = await runningJob(
    t,
    {
      a: { command: 'sleep 1000' },
      b: { command: 'sleep 1000' },
      c: { command: 'sleep 1000' },
      d: { command: 'sleep 1000' },
    },
    { group: { pair: { programs: ['c', 'd'] } } },
  );
  const states = async () =>
    Object.fromEntries((await check(job, FAST)).programs.map((p) => [p.name, [p.state, p.pid]]));

  const first = await startPrograms(job, { ...FAST, programs: ['a'] });
  assert.deepEqual(
    first.processes.map((p) => [p.group, p.name, p.statename]),
    [['a', 'a', 'RUNNING']],
  );
  const aPid = first.processes[0]!.pid;
  assert.equal(
    (await startPrograms(job, { ...FAST, programs: ['a:a'] })).processes[0]!.pid,
    aPid,
    'not started twice',
  );
  assert.equal((await states())['b:b']?.[0], 'STOPPED', 'b is left alone');

  await startPrograms(job, { ...FAST, programs: ['pair:*'] });
  const pair = await states();
  assert.equal(pair['pair:c']?.[0], 'RUNNING');
  assert.equal(pair['pair:d']?.[0], 'RUNNING');

  const stopped = await stopPrograms(job, { ...FAST, programs: ['c'] });
  assert.deepEqual(
    stopped.processes.map((p) => [p.group, p.name, p.statename]),
    [['pair', 'c', 'STOPPED']],
  );
  await stopPrograms(job, { ...FAST, programs: ['c'] });
  const after = await states();
  assert.deepEqual(after['pair:d'], pair['pair:d'], 'd keeps running');

  const restarted = await restartPrograms(job, { ...FAST, programs: ['a'] });
  assert.notEqual(restarted.processes[0]!.pid, aPid);
  assert.deepEqual((await states())['pair:d'], pair['pair:d']);

  const scoped = await check(job, { ...FAST, programs: ['pair:*'] });
  assert.deepEqual(
    scoped.programs.map((p) => p.name),
    ['pair:c', 'pair:d'],
  );
});

test('an unknown program name is an error that lists the known ones', async (t) => {
  const { job } = await runningJob(t, { web: { command: 'sleep 1000' }, worker: { command: 'sleep 1000' } });
  for (const step of [startPrograms, stopPrograms, check]) {
    await assert.rejects(step(job, { ...FAST, programs: ['wbe', 'web'] }), (error: Error) => {
      assert.ok(error instanceof UnknownProgram);
      assert.deepEqual(error.unknown, ['wbe']);
      assert.equal(
        error.message,
        "unknown program 'wbe' (did you mean 'web'?): the job's programs are web, worker",
      );
      return true;
    });
  }
  assert.equal(
    (await check(job, FAST)).programs.every((p) => p.state === 'STOPPED'),
    true,
    'nothing started',
  );
});

test('start-programs reports each state change while it waits', async (t) => {
  const { job } = await runningJob(t, { web: { command: 'sleep 1000', startsecs: 1 } });
  const seen: StartProgress[] = [];
  await startPrograms(job, { ...FAST, onProgress: (progress) => seen.push(progress) });
  const changes = seen.flatMap((p) => p.changes.map((c) => `${c.name}: ${c.from} -> ${c.to}`));
  assert.ok(changes.includes('web:web: STARTING -> RUNNING'), changes.join('\n'));
  const starting = seen.find((p) => p.changes.some((c) => c.to === 'STARTING'));
  assert.deepEqual(starting?.waiting, ['web:web'], 'a STARTING program is waited for');
});

test('a program still starting at the deadline is named with the ones that failed, or alone as a timeout', async (t) => {
  const { job } = await runningJob(t, {
    slow: { command: 'sleep 1000', startsecs: 60 },
    crash: { command: "sh -c 'exit 3'" },
  });
  const short = { ...FAST, programsTimeoutMs: 1500 };
  await assert.rejects(startPrograms(job, short), (error: Error) => {
    assert.ok(error instanceof ProgramStartFailed);
    assert.deepEqual(
      error.failures.map((f) => [f.name, f.statename]),
      [
        ['crash:crash', 'EXITED'],
        ['slow:slow', 'STARTING'],
      ],
    );
    assert.match(error.message, /slow:slow: STARTING \(still STARTING after 1500 ms\)/);
    return true;
  });
  await stopPrograms(job, FAST);
  await assert.rejects(startPrograms(job, { ...short, programs: ['slow'] }), (error: Error) => {
    assert.ok(error instanceof LifecycleTimeout);
    assert.match(
      error.message,
      /timed out after 1500 ms waiting for slow:slow \(STARTING\) of .* to be RUNNING/,
    );
    return true;
  });
});
