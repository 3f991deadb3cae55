import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { runCli } from '../fixtures/cli.js';
import { daemonPid, isAlive, stopDaemons, watchPidfile, writeJobFile } from '../fixtures/daemon.js';
import { tempDir } from '../fixtures/tmp.js';

/** A job file in a fresh temp dir whose supervisord is stopped after the test, whatever happens. */
async function jobFile(t: TestContext, program: Record<string, unknown>) {
  const dir = await tempDir('lcli-');
  const workingDir = join(dir.path, 'wd');
  const file = await writeJobFile(dir.path, { working_dir: workingDir, program });
  const pidfile = join(workingDir, 'supervisord.pid');
  watchPidfile(pidfile);
  t.after(async () => {
    await stopDaemons();
    await dir.remove();
  });
  return { file, workingDir, pidfile };
}

const supervisor = (...args: string[]) => runCli(['supervisor', ...args]);

test('the supervisor command runs a job through its lifecycle with exit codes by outcome', async (t) => {
  const { file, workingDir, pidfile } = await jobFile(t, {
    sleeper: { command: 'sleep 1000', startsecs: 0 },
  });
  const ok = async (...args: string[]) => {
    const result = await supervisor(...args);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return result;
  };
  assert.match((await ok('configure', file)).stdout, /^configured .*supervisord\.conf\n$/);
  assert.match((await ok('start', file)).stdout, /^started supervisord \(pid \d+\)/);
  const pid = daemonPid(pidfile);
  assert.ok(pid !== undefined && isAlive(pid));
  assert.match((await ok('start-programs', file)).stdout, /sleeper:sleeper RUNNING/);

  const table = await ok('check', file);
  assert.match(table.stdout, /^NAME +STATE +PID +UPTIME +EXIT +CHECK\n/);
  assert.match(table.stdout, /sleeper:sleeper +RUNNING +\d+ +\d\d:\d\d:\d\d +- +pass/);
  const json = JSON.parse((await ok('check', file, '--running', '--json')).stdout);
  assert.equal(json.ok, true);
  assert.equal(json.mode, 'running');
  assert.equal(json.programs[0].name, 'sleeper:sleeper');
  assert.equal(json.programs[0].state, 'RUNNING');
  const notDone = await supervisor('check', file, '--done');
  assert.equal(notDone.code, 1, 'a running program is not done');
  assert.match(notDone.stdout, /FAIL/);

  assert.match((await ok('stop-programs', file)).stdout, /sleeper:sleeper STOPPED/);
  await ok('check', file, '--done');
  assert.match((await ok('stop', file)).stdout, new RegExp(`supervisord \\(pid ${pid}\\) shut down`));
  assert.equal(isAlive(pid), false);
  await ok('unconfigure', file);
  await assert.rejects(stat(workingDir), /ENOENT/);
});

test('usage problems exit 2 and name the problem', async () => {
  const cases: [string[], RegExp][] = [
    [[], /no step given/],
    [['frobnicate', 'job.yaml'], /unknown step 'frobnicate'/],
    [['start'], /start: give at least one job file/],
    [['start', 'job.yaml', '--restart'], /Unknown option '--restart'/],
    [['check', 'job.yaml', '--running', '--done'], /--running and --done exclude each other/],
  ];
  // in process: the parsing is the same code, and each spawned CLI costs a second of start-up
  for (const [args, message] of cases) {
    let stderr = '';
    const code = await main(['supervisor', ...args], {
      stdout: () => {},
      stderr: (text) => (stderr += text),
      env: {},
    });
    assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, message);
  }
  const unknown = await supervisor('frobnicate', 'job.yaml');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown step 'frobnicate'/);
  let help = '';
  assert.equal(
    await main(['supervisor', '--help'], { stdout: (text) => (help += text), stderr: () => {}, env: {} }),
    0,
  );
  assert.match(help, /start-programs \[--restart\]/);
});

test('failures exit 1 with a clear message', async (t) => {
  const { file } = await jobFile(t, { sleeper: { command: 'sleep 1000' } });
  assert.equal((await supervisor('configure', file)).code, 0);
  const [missing, notRunning] = await Promise.all([
    runCli(['supervisor', 'start', file], { env: { SUPERVISORD_BIN: '/nonexistent/supervisord' } }),
    supervisor('start-programs', file),
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /supervisord executable '\/nonexistent\/supervisord' not found/);
  assert.equal(notRunning.code, 1);
  assert.match(notRunning.stderr, /is not running \(no pidfile\): run 'start' first/);
});
