import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import {
  check,
  configure,
  forceKill,
  start,
  startPrograms,
  stop,
  CredentialsRejected,
  JobNotReady,
  PortInUse,
  ProgramStartFailed,
  SupervisordNotFound,
  SupervisordNotRunning,
  type LifecycleOptions,
} from '../../src/supervisor/lifecycle/index.js';
import { daemonPid, isAlive, stopDaemons, watchPidfile, writeJobFile } from '../fixtures/daemon.js';
import { freePort } from '../fixtures/ports.js';
import { spawnOwned } from '../fixtures/processes.js';
import { tempDir } from '../fixtures/tmp.js';

const FAST: LifecycleOptions = { pollIntervalMs: 100 };

/** A configured job in a fresh temp dir whose supervisord is stopped after the test, whatever happens. */
async function configuredJob(t: TestContext, body: Record<string, unknown>) {
  const dir = await tempDir('le-');
  const workingDir = join(dir.path, 'wd');
  const file = await writeJobFile(dir.path, { working_dir: workingDir, ...body });
  const pidfile = join(workingDir, 'supervisord.pid');
  watchPidfile(pidfile);
  t.after(async () => {
    await stopDaemons();
    await dir.remove();
  });
  const load = async (overrides: string[] = []) => resolveJob(await loadJobFiles([file], { overrides }));
  const job = await load();
  await configure(job, FAST);
  return { job, load, pidfile };
}

const SLEEPER = { program: { sleeper: { command: 'sleep 1000', startsecs: 0 } } };

test('a missing supervisord binary is named, by option or by PATH', async (t) => {
  const { job, pidfile } = await configuredJob(t, SLEEPER);
  await assert.rejects(
    start(job, { ...FAST, supervisordBin: '/nonexistent/supervisord' }),
    (error: Error) => {
      assert.ok(error instanceof SupervisordNotFound);
      assert.match(error.message, /'\/nonexistent\/supervisord' not found.*SUPERVISORD_BIN/);
      return true;
    },
  );
  await assert.rejects(start(job, { ...FAST, env: { PATH: '/nonexistent' } }), SupervisordNotFound);
  await assert.rejects(
    start(job, { ...FAST, env: { SUPERVISORD_BIN: '/nope/supervisord' } }),
    /\/nope\/supervisord/,
  );
  assert.equal(daemonPid(pidfile), undefined);
});

test('start before configure says to configure first', async (t) => {
  const { load } = await configuredJob(t, SLEEPER);
  const other = await load(['config_path=/nonexistent-dir/missing.conf']);
  await assert.rejects(start(other, FAST), (error: Error) => {
    assert.ok(error instanceof JobNotReady);
    assert.match(error.message, /missing\.conf does not exist: run 'configure' first/);
    return true;
  });
});

test('a stale pidfile of a dead pid is removed and supervisord starts', async (t) => {
  const { job, pidfile } = await configuredJob(t, SLEEPER);
  const dead = spawnSync('true').pid;
  await writeFile(pidfile, `${dead}\n`);
  const started = await start(job, FAST);
  assert.equal(started.action, 'started');
  assert.match(
    started.notes.join('\n'),
    new RegExp(`stale pidfile .*pid ${dead} is not running: removed it`),
  );
  assert.equal(daemonPid(pidfile), started.pid);
});

test('a stale pidfile naming another live process never gets it signalled', async (t) => {
  const { job, pidfile } = await configuredJob(t, SLEEPER);
  const bystander = spawnOwned('sleep', ['1000']);
  t.after(() => bystander.stop());
  await writeFile(pidfile, `${bystander.pid}\n`);
  const killed = await forceKill(job, FAST);
  assert.equal(killed.action, 'not-running');
  assert.match(killed.notes.join('\n'), /is not a supervisord \(it is 'sleep 1000'\)/);
  await writeFile(pidfile, `${bystander.pid}\n`);
  assert.equal((await stop(job, FAST)).action, 'not-running');
  assert.ok(isAlive(bystander.pid), 'the bystander is untouched');
  assert.equal((await start(job, FAST)).action, 'started');
});

test('a port in use is reported as such', async (t) => {
  const port = await freePort();
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const { job, pidfile } = await configuredJob(t, {
    ...SLEEPER,
    inet_http_server: { port: `127.0.0.1:${port}` },
  });
  await assert.rejects(start(job, FAST), (error: Error) => {
    assert.ok(error instanceof PortInUse);
    assert.match(
      error.message,
      new RegExp(`another program already listens on http://127.0.0.1:${port}/RPC2`),
    );
    return true;
  });
  assert.equal(daemonPid(pidfile), undefined);
});

test('wrong credentials are reported as such, and stop still stops by signal', async (t) => {
  const { job, load } = await configuredJob(t, SLEEPER);
  const { pid } = await start(job, FAST);
  const wrong = await load(['unix_http_server.password=wrong']);
  for (const step of [start, check]) {
    await assert.rejects(step(wrong, FAST), (error: Error) => {
      assert.ok(error instanceof CredentialsRejected);
      assert.match(error.message, /rejected the job's credentials \(HTTP 401\)/);
      assert.doesNotMatch(error.message, /wrong/, 'no password in messages');
      return true;
    });
  }
  const stopped = await stop(wrong, FAST);
  assert.equal(stopped.action, 'terminated');
  assert.equal(isAlive(pid), false);
});

test('a program that cannot spawn fails fast with its name and the reason', async (t) => {
  const { job } = await configuredJob(t, { program: { ghost: { command: '/nonexistent/ghost --serve' } } });
  await start(job, FAST);
  await assert.rejects(startPrograms(job, { ...FAST, programsTimeoutMs: 60_000 }), (error: Error) => {
    assert.ok(error instanceof ProgramStartFailed);
    assert.equal(error.failures[0]?.name, 'ghost:ghost');
    assert.match(error.message, /ghost:ghost: STOPPED \(.*\/nonexistent\/ghost/);
    return true;
  });
});

test('a program that turns FATAL fails with its stderr tail', async (t) => {
  const { job } = await configuredJob(t, {
    program: {
      crasher: { command: "sh -c 'echo boom on stderr >&2; exit 3'", startsecs: 1, startretries: 0 },
    },
  });
  await start(job, FAST);
  await assert.rejects(startPrograms(job, FAST), (error: Error) => {
    assert.ok(error instanceof ProgramStartFailed);
    assert.match(error.message, /crasher:crasher: FATAL \(Exited too quickly/);
    assert.match(error.message, /boom on stderr/);
    return true;
  });
});

test('program steps need a running supervisord', async (t) => {
  const { job } = await configuredJob(t, SLEEPER);
  await assert.rejects(startPrograms(job, FAST), (error: Error) => {
    assert.ok(error instanceof SupervisordNotRunning);
    assert.match(error.message, /is not running \(no pidfile\): run 'start' first/);
    return true;
  });
  await assert.rejects(check(job, FAST), SupervisordNotRunning);
});

test('stop escalates to SIGKILL of supervisord and its programs when it does not exit', async (t) => {
  const { job } = await configuredJob(t, SLEEPER);
  const { pid } = await start(job, FAST);
  const programPid = (await startPrograms(job, FAST)).processes[0]!.pid;
  process.kill(pid, 'SIGSTOP'); // a hung supervisord: answers nothing, exits on nothing but SIGKILL
  const hung = { ...job, endpoint: { ...job.endpoint, timeoutMs: 500 } };
  const stopped = await stop(hung, { ...FAST, shutdownTimeoutMs: 500, killGraceMs: 500 });
  assert.equal(stopped.action, 'killed');
  assert.match(stopped.notes.join('\n'), /did not answer the shutdown call/);
  assert.equal(isAlive(pid), false);
  assert.equal(isAlive(programPid), false);
});
