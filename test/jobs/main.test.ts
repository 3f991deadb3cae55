/**
 * The main command's process (`triggerer --worker`, what scripts/start runs): one process with its
 * own embedded redis serves a machine's always-on jobs, triggerer and worker together; the `job` CLI
 * finds that redis from the state directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../fixtures/cli.js';
import { stopDaemons } from '../fixtures/daemon.js';
import { isAlive, programPid, supervisordOf, writeJob } from '../fixtures/jobs.js';
import { spawnOwned, waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { readDiscovery } from '../../src/redis/connection.js';
import { processGone } from '../../src/redis/lease.js';
import { tempDir } from '../fixtures/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

test('one process runs the triggerer and a worker on its embedded redis; a job runs on it end to end', async (t) => {
  const dir = await tempDir('jm-');
  // One hook, in this order: the process (and with it its embedded redis-server), then the
  // supervisords, then the directory they live in.
  const owned: { serve?: OwnedProcess } = {};
  t.after(async () => {
    await owned.serve?.stop(20_000);
    await stopDaemons();
    await dir.remove();
  });
  const stateDir = join(dir.path, 'state');
  const env: NodeJS.ProcessEnv = { ...process.env, SUPERVISOR_TRIGGERER_STATE_DIR: stateDir };
  delete env.REDIS_URL;
  const config = join(dir.path, 'triggerer.json');
  await writeFile(config, JSON.stringify({ default_interval: '200ms', metrics_port: 'none' }));
  const serve = spawnOwned(
    process.execPath,
    ['--import', 'tsx', MAIN, 'triggerer', '--worker', '--config', config],
    {
      env,
    },
  );
  owned.serve = serve;
  await waitUntil(
    () => {
      if (serve.child.exitCode !== null) throw new Error(`exited: ${serve.output()}`);
      return serve.output().includes('worker ready') ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'triggerer and worker ready' },
  );
  assert.match(serve.output(), /triggerer ready/);
  const redisPid = (await readDiscovery(stateDir))?.pid;
  assert.ok(redisPid !== undefined, 'the embedded redis-server is announced');

  const cli = (args: string[]) =>
    runCli(['job', ...args], { env: { SUPERVISOR_TRIGGERER_STATE_DIR: stateDir, REDIS_URL: '' } });
  const file = await writeJob(dir.path, 'solo', {
    check_interval: '300ms',
    program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
  });
  const started = await cli(['start', file]);
  assert.equal(started.code, 0, started.stderr);
  await waitUntil(
    async () => {
      const status = await cli(['status', 'solo', '--json']);
      return status.code === 0 && (JSON.parse(status.stdout) as { step: string }).step === 'watch'
        ? true
        : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'watching' },
  );
  const pid = await programPid(dir.path, 'solo', 'sleeper');
  process.kill(pid, 'SIGKILL');
  await waitUntil(
    async () => {
      const status = await cli(['status', 'solo', '--json']);
      const s = JSON.parse(status.stdout) as { retriggers: number; step: string };
      return s.retriggers === 1 && s.step === 'watch' ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'the crash handled' },
  );
  const supervisord = supervisordOf(dir.path, 'solo')!;
  const stopped = await cli(['stop', 'solo']);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, /stopped/);
  assert.equal(isAlive(supervisord), false);
  // The main command's stop takes its embedded redis-server with it.
  await serve.stop(20_000);
  assert.equal(serve.child.exitCode, 0, serve.output());
  await waitUntil(() => (processGone(redisPid) ? true : undefined), {
    what: 'the embedded redis-server gone',
  });
});
