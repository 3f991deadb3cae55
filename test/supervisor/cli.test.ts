import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import { runCli } from '../fixtures/cli.js';
import { daemonPid, isAlive, stopDaemons, watchPidfile, writeJobFile } from '../fixtures/daemon.js';
import { spawnOwned } from '../fixtures/processes.js';
import { tempDir } from '../fixtures/tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');

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
  assert.match(table.stdout, /^NAME +STATE +PID +UPTIME +EXIT +CHECK +DETAIL\n/);
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
  assert.match(help, /start-programs \[PROGRAM\.\.\.\] \[--restart\]/);
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

test('program steps take program names after the job files; an unknown one exits 2 naming the known ones', async (t) => {
  const { file } = await jobFile(t, {
    web: { command: 'sleep 1000' },
    worker: { command: 'sleep 1000' },
    slow: { command: 'sleep 1000', startsecs: 60 },
  });
  const overlay = await writeJobFile(
    dirname(file),
    { program: { worker: { stopwaitsecs: 5 } } },
    'overlay.json',
  );
  for (const step of ['configure', 'start']) assert.equal((await supervisor(step, file)).code, 0);

  const started = await supervisor('start-programs', file, overlay, 'web', '--', 'worker');
  assert.equal(started.code, 0, started.stderr);
  assert.equal(started.stdout, 'web:web RUNNING\nworker:worker RUNNING\n');
  assert.equal(started.stderr, '', 'no progress lines when stderr is not a terminal');
  const stopped = await supervisor('stop-programs', file, 'worker:worker');
  assert.equal(stopped.stdout, 'worker:worker STOPPED\n');

  const unknown = await supervisor('start-programs', file, 'wrker');
  assert.equal(unknown.code, 2);
  assert.equal(
    unknown.stderr,
    "supervisor-triggerer supervisor: unknown program 'wrker' (did you mean 'worker'?): the job's programs are slow, web, worker\n",
  );

  // a program supervisord is still starting: check neither passes nor fails it and exits 3
  const client = new SupervisorClient((await resolveJob(await loadJobFiles([file]))).endpoint);
  t.after(() => client.close());
  await client.startProcess('slow', false);
  const pending = await supervisor('check', file, 'slow', 'web');
  assert.equal(pending.code, 3, pending.stderr);
  assert.match(pending.stdout, /slow:slow +STARTING .* starting\n/);
  assert.match(pending.stdout, /\nstarting: 1\/2 programs ok, 1 starting\n$/);
  const json = JSON.parse((await supervisor('check', file, '--json')).stdout);
  assert.equal(json.verdict, 'starting');
  assert.deepEqual(
    json.programs.map((p: { name: string; verdict: string }) => [p.name, p.verdict]),
    [
      ['slow:slow', 'starting'],
      ['web:web', 'pass'],
      ['worker:worker', 'pass'],
    ],
  );
});

test('start-programs prints each state change on a terminal', async (t) => {
  const { file } = await jobFile(t, { web: { command: 'sleep 1000', startsecs: 1 } });
  for (const step of ['configure', 'start']) assert.equal((await supervisor(step, file)).code, 0);
  // script(1) gives the CLI a pseudo-terminal as stdout and stderr
  const command = [process.execPath, '--import', 'tsx', MAIN, 'supervisor', 'start-programs', file].join(' ');
  const owned = spawnOwned('script', ['-qec', command, '/dev/null'], { cwd: ROOT });
  t.after(() => owned.stop());
  await owned.exited;
  const output = owned.output().replace(/\r/g, '');
  assert.equal(owned.child.exitCode, 0, output);
  assert.match(output, /^web:web: STARTING -> RUNNING$/m);
  assert.match(output, /^waiting for 1 program: web:web$/m);
  assert.match(output, /^web:web RUNNING$/m);
});

test('every step answers --help with its own usage', async () => {
  const steps = [
    'configure',
    'start',
    'start-programs',
    'check',
    'restart-programs',
    'stop-programs',
    'tail',
    'stop',
    'unconfigure',
    'force-kill',
  ];
  for (const step of steps) {
    let out = '';
    const code = await main(['supervisor', step, '--help'], {
      stdout: (text) => (out += text),
      stderr: () => {},
      env: {},
    });
    assert.equal(code, 0, step);
    assert.ok(out.startsWith(`usage: supervisor-triggerer supervisor ${step} JOBFILE...`), out);
  }
});
