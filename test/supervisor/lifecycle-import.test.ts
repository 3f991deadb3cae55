/**
 * The lifecycle owns only what it creates: an imported job never writes, creates or removes anything
 * in the source's directory, and `unconfigure` removes only what `configure` created.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import { configure, start, startPrograms, stop, unconfigure } from '../../src/supervisor/lifecycle/index.js';
import { runCli } from '../fixtures/cli.js';
import { stopDaemons, watchPidfile, writeJobFile } from '../fixtures/daemon.js';
import { tempDir } from '../fixtures/tmp.js';

const FAST = { pollIntervalMs: 100 };

/** Every file under `dir` with its mode and content, to compare before and after. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const path = join(dir, name);
    const info = await stat(path);
    out[name] = info.isDirectory()
      ? `dir ${(info.mode & 0o777).toString(8)}`
      : `${(info.mode & 0o777).toString(8)} ${await readFile(path, 'utf8')}`;
  }
  return out;
}

async function scratch(t: TestContext) {
  const dir = await tempDir('lci-');
  t.after(async () => {
    await stopDaemons();
    await dir.remove();
  });
  return dir.path;
}

test('import, configure, start, stop and unconfigure leave the source directory exactly as it was', async (t) => {
  const root = await scratch(t);
  const src = join(root, 'etc');
  await mkdir(src);
  await writeFile(
    join(src, 'supervisord.conf'),
    '; hand-written, with comments\n[supervisord]\nloglevel=info\n\n[program:sleeper]\ncommand=sleep 1000\nstartsecs=0\n',
    { mode: 0o644 },
  );
  await writeFile(join(src, 'unrelated.txt'), 'not the job\u2019s\n');
  const before = await snapshot(src);

  const imported = await runCli(['config', 'import', join(src, 'supervisord.conf')], { cwd: root });
  assert.equal(imported.code, 0, imported.stderr);
  const jobFile = join(root, 'job.yaml');
  await writeFile(jobFile, imported.stdout);
  const job = await resolveJob(await loadJobFiles([jobFile]));
  assert.equal(job.workingDir, join(root, 'supervisord-job'));
  watchPidfile(join(job.workingDir, 'supervisord.pid'));

  await configure(job, FAST);
  await start(job, FAST);
  await startPrograms(job, FAST);
  await stop(job, FAST);
  await unconfigure(job, FAST);
  assert.deepEqual(await snapshot(src), before, 'the source directory is untouched');
  await assert.rejects(stat(job.workingDir), /ENOENT/, 'the working dir configure created is gone');
});

test('unconfigure removes only what configure created: a working dir that existed keeps its other files', async (t) => {
  const root = await scratch(t);
  const wd = join(root, 'wd');
  await mkdir(wd);
  await writeFile(join(wd, 'keep.txt'), 'mine\n');
  const file = await writeJobFile(root, { working_dir: wd, program: { a: { command: 'sleep 1000' } } });
  const job = await resolveJob(await loadJobFiles([file]));
  const configured = await configure(job, FAST);
  assert.deepEqual(configured.created.sort(), [join(wd, 'a'), join(wd, 'supervisord.conf')].sort());

  const { removed } = await unconfigure(job, FAST);
  assert.deepEqual(await readdir(wd), ['keep.txt'], 'the working dir and its other files stay');
  assert.ok(removed.includes(join(wd, 'supervisord.conf')) && !removed.includes(wd));
});

test('configure creates nothing outside working_dir unless outside_dirs: create', async (t) => {
  const root = await scratch(t);
  const outside = join(root, 'var', 'log', 'app');
  const job = {
    working_dir: join(root, 'wd'),
    program: { a: { command: 'sleep 1000', stdout_logfile: join(outside, 'a.log') } },
  };
  const refused = await resolveJob(await loadJobFiles([await writeJobFile(root, job)]));
  await assert.rejects(configure(refused, FAST), /missing directories outside working_dir .*var\/log\/app/);
  await assert.rejects(stat(join(root, 'var')), /ENOENT/);
  await assert.rejects(stat(join(root, 'wd')), /ENOENT/, 'nothing is written before the check');

  const allowed = await resolveJob(
    await loadJobFiles([await writeJobFile(root, { ...job, outside_dirs: 'create' })]),
  );
  const configured = await configure(allowed, FAST);
  assert.ok(configured.created.includes(join(root, 'var')), 'the topmost directory it made is recorded');
  await unconfigure(allowed, FAST);
  await assert.rejects(stat(join(root, 'var')), /ENOENT/, 'and removed again');
});
