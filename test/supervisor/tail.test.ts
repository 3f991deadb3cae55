import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import { SupervisorClient } from '../../src/supervisor/client.js';
import { configure, lastLines, start, startPrograms } from '../../src/supervisor/lifecycle/index.js';
import { runCli } from '../fixtures/cli.js';
import { stopDaemons, watchPidfile, writeJobFile } from '../fixtures/daemon.js';
import { spawnOwned, waitUntil } from '../fixtures/processes.js';
import { tempDir } from '../fixtures/tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');

/** A job whose programs are started, with its file, working dir and a client; stopped after the test. */
async function startedJob(t: TestContext, program: Record<string, unknown>) {
  const dir = await tempDir('tl-');
  const workingDir = join(dir.path, 'wd');
  const file = await writeJobFile(dir.path, { working_dir: workingDir, program });
  watchPidfile(join(workingDir, 'supervisord.pid'));
  t.after(async () => {
    await stopDaemons();
    await dir.remove();
  });
  const job = await resolveJob(await loadJobFiles([file]));
  await configure(job, { pollIntervalMs: 100 });
  await start(job, { pollIntervalMs: 100 });
  await startPrograms(job, { pollIntervalMs: 100 });
  const client = new SupervisorClient(job.endpoint);
  t.after(() => client.close());
  return { file, workingDir, client };
}

test('lastLines keeps the last complete lines, or says there are too few', () => {
  assert.equal(lastLines('a\nb\nc\n', 2), 'b\nc\n');
  assert.equal(lastLines('a\nb\nc', 2), 'b\nc');
  assert.equal(lastLines('a\nb\nc\n', 0), '');
  assert.equal(lastLines('b\nc\n', 2), undefined, 'the first line may be cut: read more');
  assert.equal(lastLines('', 1), undefined);
});

test('tail prints the last lines of a program stdout or stderr log', async (t) => {
  const { file, client } = await startedJob(t, {
    merged: { command: 'sleep 1000', redirect_stderr: true },
    twins: { command: 'sleep 1000', numprocs: 2, process_name: '%(program_name)s_%(process_num)s' },
    talker: {
      command:
        "sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo out $i; done; echo problem >&2; exec sleep 1000'",
    },
  });
  await waitUntil(async () =>
    (await client.tailProcessStderrLog('talker', 0, 100)).text ? true : undefined,
  );
  const out = await runCli(['supervisor', 'tail', file, 'talker']);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(
    out.stdout,
    ['out 3', 'out 4', 'out 5', 'out 6', 'out 7', 'out 8', 'out 9', 'out 10', 'out 11', 'out 12', ''].join(
      '\n',
    ),
  );
  const two = await runCli(['supervisor', 'tail', file, 'talker:talker', '-n', '2']);
  assert.equal(two.stdout, 'out 11\nout 12\n');
  const err = await runCli(['supervisor', 'tail', file, 'talker', '--stderr']);
  assert.equal(err.stdout, 'problem\n');
  const twins = await runCli(['supervisor', 'tail', file, 'twins']);
  assert.equal(twins.code, 2);
  assert.match(twins.stderr, /'twins' names 2 processes \(twins:twins_0, twins:twins_1\): name one of them/);
  const merged = await runCli(['supervisor', 'tail', file, 'merged', '--stderr']);
  assert.equal(merged.code, 1);
  assert.match(merged.stderr, /merged:merged has no stderr log \(redirect_stderr is set/);
  const bad = await runCli(['supervisor', 'tail', file, 'talker', '-n', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /-n expects a number of lines, got 'lots'/);
});

test('tail -f prints lines as the program writes them, goes on after the log is cleared, and ends on Ctrl-C', async (t) => {
  const { file, workingDir, client } = await startedJob(t, {
    ticker: { command: "sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done'" },
  });
  const cli = spawnOwned(
    process.execPath,
    ['--import', 'tsx', MAIN, 'supervisor', 'tail', file, 'ticker', '-f', '-n', '1'],
    { cwd: ROOT },
  );
  t.after(() => cli.stop());
  let stdout = '';
  let stderr = '';
  cli.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  cli.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ticks = () => [...stdout.matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));

  const first = await waitUntil(() => ticks()[0], { what: `a first line from tail -f (stderr: ${stderr})` });
  await waitUntil(() => (ticks().length >= 5 ? true : undefined), { what: 'lines as they are written' });
  assert.deepEqual(
    ticks().slice(0, 5),
    [first, first + 1, first + 2, first + 3, first + 4],
    'no line lost or repeated',
  );

  await client.clearProcessLogs('ticker');
  const log = join(workingDir, 'ticker', 'output.log');
  const afterClear = await waitUntil(async () => /^tick (\d+)$/m.exec(await readFile(log, 'utf8'))?.[1], {
    what: 'a line in the cleared log',
  });
  await waitUntil(() => (ticks().includes(Number(afterClear)) ? true : undefined), {
    what: `tick ${afterClear}, the first line written after the clear`,
  });
  assert.match(stderr, /ticker:ticker: the stdout log started over/);

  cli.child.kill('SIGINT');
  await cli.exited;
  assert.equal(cli.child.exitCode, 0, stderr);
});

test('tail -f prints a burst longer than one look asks for, whole and in order', async (t) => {
  const { file, workingDir } = await startedJob(t, {
    burst: {
      command: "sh -c 'echo ready; while [ ! -e go ]; do sleep 0.05; done; seq 1 3000; exec sleep 1000'",
    },
  });
  const cli = spawnOwned(
    process.execPath,
    ['--import', 'tsx', MAIN, 'supervisor', 'tail', file, 'burst', '-f'],
    { cwd: ROOT },
  );
  t.after(() => cli.stop());
  let stdout = '';
  cli.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  await waitUntil(() => (stdout.startsWith('ready\n') ? true : undefined), { what: 'tail -f to start' });
  await writeFile(join(workingDir, 'burst', 'go'), '');
  await waitUntil(() => (stdout.endsWith('\n3000\n') ? true : undefined), { what: 'the end of the burst' });
  const expected = ['ready', ...Array.from({ length: 3000 }, (_, i) => String(i + 1))].join('\n');
  assert.equal(stdout, `${expected}\n`);
  cli.child.kill('SIGINT');
  await cli.exited;
  assert.equal(cli.child.exitCode, 0);
});

test('tail reads a log whose end starts inside a multi-byte character', async (t) => {
  const dir = await tempDir('tl-script-');
  t.after(() => dir.remove());
  const script = join(dir.path, 'wide.sh');
  // one line of 40,000 two-byte characters: the last 64 KiB of it start in the middle of one
  await writeFile(
    script,
    `awk 'BEGIN { for (i = 0; i < 40000; i++) printf "\\303\\251"; print "" }'\nexec sleep 1000\n`,
  );
  const { file, workingDir } = await startedJob(t, { wide: { command: `sh ${script}` } });
  const log = join(workingDir, 'wide', 'output.log');
  await waitUntil(async () => ((await stat(log)).size === 80_001 ? true : undefined), {
    what: 'the whole line',
  });
  const out = await runCli(['supervisor', 'tail', file, 'wide', '-n', '1']);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, `${'é'.repeat(40_000)}\n`);
});
