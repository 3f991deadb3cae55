/**
 * Several triggerers on one state directory share its embedded redis-server: real triggerer
 * processes (no REDIS_URL), a real redis-server. Stopping or crashing one never takes the Redis from
 * the others; the last one to stop takes it down, whichever process started it.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../fixtures/cli.js';
import { spawnOwned, waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { tempDir } from '../fixtures/tmp.js';
import { pingRedis } from '../../src/redis/embedded.js';
import { readDiscovery } from '../../src/redis/connection.js';
import { processGone } from '../../src/redis/lease.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('triggerers sharing an embedded redis', () => {
  let dir: { path: string; remove(): Promise<void> };
  let env: NodeJS.ProcessEnv;
  let redisPid: number | undefined;
  const started: OwnedProcess[] = [];

  beforeEach(async () => {
    dir = await tempDir('emb-');
    env = { REDIS_URL: '', SUPERVISOR_TRIGGERER_STATE_DIR: dir.path };
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop()));
    // The redis-server is not this process's child: stop it by the pid its discovery file named.
    if (redisPid !== undefined && !processGone(redisPid)) process.kill(redisPid, 'SIGKILL');
    redisPid = undefined;
    await dir.remove();
  });

  async function startTriggerer(): Promise<OwnedProcess> {
    const proc = spawnOwned(
      process.execPath,
      ['--import', 'tsx', MAIN, 'triggerer', '--metrics-port', 'none'],
      {
        env: { ...process.env, ...env },
      },
    );
    started.push(proc);
    await waitUntil(
      () => {
        if (proc.child.exitCode !== null) throw new Error(`triggerer exited: ${proc.output()}`);
        return proc.output().includes('triggerer ready') ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'triggerer ready' },
    );
    redisPid ??= (await readDiscovery(dir.path))?.pid;
    return proc;
  }

  const socket = () => join(dir.path, 'redis.sock');

  /** A trigger deferred through the CLI fires: the Redis and a triggerer on it both work. */
  async function assertTriggersFire(id: string): Promise<void> {
    const result = await runCli(
      [
        'defer',
        '--classpath',
        'time.TimeDeltaTrigger',
        '--kwargs',
        '{"delta":"100ms"}',
        '--id',
        id,
        '--wait',
      ],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { status: string }).status, 'fired');
  }

  async function assertRedisGone(): Promise<void> {
    assert.ok(redisPid !== undefined);
    await waitUntil(() => (processGone(redisPid!) ? true : undefined), { what: 'the redis-server gone' });
    assert.equal(existsSync(join(dir.path, 'redis.json')), false, 'the discovery file is removed');
  }

  test('stopping the triggerer that started it leaves it to the other; the last one stops it', async () => {
    const first = await startTriggerer();
    const second = await startTriggerer();
    assert.match(second.output(), /"reused":true/);
    await first.stop();
    assert.equal(first.child.exitCode, 0, first.output());
    assert.equal(await pingRedis(socket()), true, 'the redis-server still answers');
    await assertTriggersFire('after-first-stopped');
    await second.stop();
    assert.equal(second.child.exitCode, 0, second.output());
    await assertRedisGone();
  });

  test('a triggerer that crashed does not keep it running: the last live one stops it', async () => {
    const first = await startTriggerer();
    const second = await startTriggerer();
    second.child.kill('SIGKILL');
    await second.exited;
    await first.stop();
    await assertRedisGone();
  });

  test('when the triggerer that started it crashes, the others keep it and the last one stops it', async () => {
    const first = await startTriggerer();
    const second = await startTriggerer();
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal(await pingRedis(socket()), true, 'the redis-server outlives the crash');
    await assertTriggersFire('after-starter-crashed');
    await second.stop();
    await assertRedisGone();
  });

  test('a triggerer whose state directory was removed while it ran still stops its redis-server', async () => {
    const only = await startTriggerer();
    await rm(dir.path, { recursive: true, force: true });
    await only.stop();
    assert.equal(only.child.exitCode, 0, only.output());
    assert.ok(redisPid !== undefined);
    await waitUntil(() => (processGone(redisPid!) ? true : undefined), { what: 'the redis-server gone' });
  });
});
