import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import {
  check,
  configure,
  forceKill,
  restartPrograms,
  start,
  startPrograms,
  stop,
  stopPrograms,
  unconfigure,
  SupervisordStillRunning,
  type LifecycleOptions,
} from '../../src/supervisor/lifecycle/index.js';
import { daemonPid, isAlive, stopDaemons, watchPidfile, writeJobFile } from '../fixtures/daemon.js';
import { waitUntil } from '../fixtures/processes.js';
import { tempDir } from '../fixtures/tmp.js';

const FAST: LifecycleOptions = { pollIntervalMs: 100 };

/** A job file in a fresh temp dir whose supervisord is stopped after the test, whatever happens. */
async function newJob(t: TestContext, program: Record<string, unknown>) {
  const dir = await tempDir('lc-');
  const workingDir = join(dir.path, 'wd');
  const write = (programs: Record<string, unknown>) =>
    writeJobFile(dir.path, { working_dir: workingDir, program: programs });
  const file = await write(program);
  const pidfile = join(workingDir, 'supervisord.pid');
  watchPidfile(pidfile);
  t.after(async () => {
    await stopDaemons();
    await dir.remove();
  });
  return {
    workingDir,
    pidfile,
    rewrite: write,
    load: async (overrides: string[] = []) => resolveJob(await loadJobFiles([file], { overrides })),
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

test('a full lifecycle run leaves no process and no file behind', async (t) => {
  const { load, workingDir, pidfile } = await newJob(t, { sleeper: { command: 'sleep 1000' } });
  const job = await load();

  const configured = await configure(job, FAST);
  assert.equal(configured.changed, true);
  const mode = (await stat(job.configPath)).mode & 0o777;
  assert.equal(mode, 0o600, 'the config holds the password: owner only');
  assert.ok(await exists(join(workingDir, 'sleeper')), 'program directory created');

  const started = await start(job, FAST);
  assert.equal(started.action, 'started');
  assert.equal(daemonPid(pidfile), started.pid);

  const running = await startPrograms(job, FAST);
  assert.deepEqual(
    running.processes.map((p) => [p.name, p.statename]),
    [['sleeper', 'RUNNING']],
  );
  const programPid = running.processes[0]!.pid;
  assert.ok(isAlive(programPid));

  const snapshot = await check(job, FAST);
  assert.equal(snapshot.ok, true);
  assert.equal(snapshot.programs[0]?.state, 'RUNNING');
  assert.equal(snapshot.programs[0]?.pid, programPid);

  const stopped = await stopPrograms(job, FAST);
  assert.equal(stopped.processes[0]?.statename, 'STOPPED');
  assert.equal(isAlive(programPid), false);

  const down = await stop(job, FAST);
  assert.equal(down.action, 'shutdown');
  assert.equal(isAlive(started.pid), false, 'supervisord is gone');

  const removed = await unconfigure(job, FAST);
  assert.ok(removed.removed.includes(workingDir));
  assert.equal(await exists(workingDir), false, 'working dir is gone');
});

test('every step is idempotent: configure, start, stop and unconfigure twice', async (t) => {
  const { load } = await newJob(t, { sleeper: { command: 'sleep 1000', startsecs: 0 } });
  const job = await load();
  await configure(job, FAST);
  assert.equal((await configure(await load(), FAST)).changed, false, 'same job, same file');

  const first = await start(job, FAST);
  const second = await start(await load(), FAST);
  assert.equal(second.action, 'running');
  assert.equal(second.pid, first.pid, 'no second supervisord');

  await startPrograms(job, FAST);
  const again = await startPrograms(job, FAST);
  assert.equal(again.processes[0]?.statename, 'RUNNING', 'an already running program is fine');

  assert.equal((await stop(job, FAST)).action, 'shutdown');
  assert.equal((await stop(job, FAST)).action, 'not-running');
  assert.equal((await stopPrograms(job, FAST)).processes.length, 0);
  assert.equal(isAlive(first.pid), false);

  await unconfigure(job, FAST);
  assert.deepEqual((await unconfigure(job, FAST)).removed, []);
});

test('start applies a changed config to the running supervisord', async (t) => {
  const { load, rewrite } = await newJob(t, { a: { command: 'sleep 1000', startsecs: 0 } });
  const job = await load();
  await configure(job, FAST);
  const first = await start(job, FAST);

  await rewrite({ a: { command: 'sleep 1000', startsecs: 0 }, b: { command: 'sleep 1000', startsecs: 0 } });
  const changed = await load();
  await configure(changed, FAST);
  const applied = await start(changed, FAST);
  assert.equal(applied.action, 'applied');
  assert.equal(applied.pid, first.pid, 'the same supervisord, not a restart');
  assert.deepEqual(applied.changes?.added, ['b']);

  const client = new SupervisorClient(changed.endpoint);
  t.after(() => client.close());
  const names = (await client.getAllProcessInfo()).map((p) => p.name).sort();
  assert.deepEqual(names, ['a', 'b']);
  assert.equal((await start(changed, FAST)).action, 'running', 'nothing more to apply');
});

test('restart-programs gives every program a new process', async (t) => {
  const { load } = await newJob(t, { sleeper: { command: 'sleep 1000', startsecs: 0 } });
  const job = await load();
  await configure(job, FAST);
  await start(job, FAST);
  const before = (await startPrograms(job, FAST)).processes[0]!.pid;
  const after = (await restartPrograms(job, FAST)).processes[0]!.pid;
  assert.notEqual(after, before);
  assert.equal(isAlive(before), false);
  assert.ok(isAlive(after));
});

test('check judges one snapshot by ok, running or done', async (t) => {
  const { load } = await newJob(t, {
    sleeper: { command: 'sleep 1000', startsecs: 0 },
    quick: { command: 'true', startsecs: 0 },
  });
  const job = await load();
  await configure(job, FAST);
  await start(job, FAST);
  await startPrograms(job, FAST);
  // startPrograms may return while quick is still RUNNING: take the snapshot once it has exited
  const ok = await waitUntil(async () => {
    const result = await check(job, FAST);
    return result.programs.find((p) => p.name === 'quick:quick')?.state === 'EXITED' ? result : undefined;
  });
  assert.equal(ok.ok, true, 'RUNNING and EXITED 0 are both ok');
  const quick = ok.programs.find((p) => p.name === 'quick:quick');
  assert.equal(quick?.exitstatus, 0);
  assert.equal((await check(job, { ...FAST, mode: 'running' })).ok, false, 'quick is not running');
  assert.equal((await check(job, { ...FAST, mode: 'done' })).ok, false, 'sleeper is not done');
  await stopPrograms(job, FAST);
  assert.equal((await check(job, { ...FAST, mode: 'done' })).ok, true, 'STOPPED and EXITED 0 are done');
});

test('unconfigure refuses while supervisord runs and keeps the files', async (t) => {
  const { load, workingDir } = await newJob(t, { sleeper: { command: 'sleep 1000' } });
  const job = await load();
  await configure(job, FAST);
  const { pid } = await start(job, FAST);
  await assert.rejects(unconfigure(job, FAST), (error: Error) => {
    assert.ok(error instanceof SupervisordStillRunning);
    assert.equal(error.pid, pid);
    assert.match(error.message, /still running .*run 'stop' before 'unconfigure'/);
    return true;
  });
  assert.ok(await exists(workingDir));
});

test('force-kill kills supervisord and its programs and removes the pidfile', async (t) => {
  const { load, pidfile } = await newJob(t, { sleeper: { command: 'sleep 1000', startsecs: 0 } });
  const job = await load();
  await configure(job, FAST);
  const { pid } = await start(job, FAST);
  const programPid = (await startPrograms(job, FAST)).processes[0]!.pid;
  const killed = await forceKill(job, FAST);
  assert.equal(killed.action, 'killed');
  assert.equal(isAlive(pid), false);
  assert.equal(isAlive(programPid), false, 'the program did not survive its supervisord');
  assert.equal(await exists(pidfile), false);
  assert.equal((await forceKill(job, FAST)).action, 'not-running');
});
