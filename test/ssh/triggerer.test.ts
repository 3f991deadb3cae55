/**
 * A triggerer connection that names a remote job file watches its supervisord through the SSH
 * connection the lifecycle steps use: a trigger fires through the tunnel, outlives sshd being killed
 * and restarted within its unreachable budget, and fails with the host's reason past it.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { TriggerRegistry } from '../../triggers/index.js';
import { defer, waitFor } from '../../src/client/index.js';
import { closeSshHosts } from '../../src/supervisor/host/index.js';
import {
  configure,
  start,
  startPrograms,
  stop,
  stopPrograms,
  unconfigure,
} from '../../src/supervisor/lifecycle/index.js';
import { ConnectionResolver } from '../../src/triggerer/connections.js';
import { Triggerer } from '../../src/triggerer/daemon.js';
import { redisOptions } from '../../src/redis/connection.js';
import { stopDaemons } from '../fixtures/daemon.js';
import { waitUntil } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { writeRemoteJob, type RemoteJob } from '../fixtures/remote-job.js';
import { startSshd, type SshdHandle } from '../fixtures/sshd.js';
import { tempDir } from '../fixtures/tmp.js';

describe('triggers on a remote job', () => {
  let redis: RedisHandle;
  let sshd: SshdHandle;
  before(async () => {
    redis = await startRedis();
    sshd = await startSshd();
  });
  after(async () => {
    closeSshHosts();
    await stopDaemons();
    await sshd?.stop();
    await redis?.stop();
  });

  /** The key with a passphrase, read from this variable (of `env`). */
  const env = () => ({ ...process.env, ST_TRIGGER_KEY_PASSPHRASE: sshd.passphraseKey.passphrase });

  /** A remote job with one running program, torn down after the test. */
  async function runningJob(t: TestContext): Promise<RemoteJob> {
    const dir = await tempDir('sshtrig-');
    const remote = await writeRemoteJob(
      sshd,
      dir.path,
      { program: { sleeper: { command: 'sleep 1000', startsecs: 0, stopwaitsecs: 2 } } },
      {
        host: { identity_file: sshd.passphraseKey.path, passphrase_env: 'ST_TRIGGER_KEY_PASSPHRASE' },
        env: env(),
      },
    );
    const job = await remote.load();
    await configure(job, { host: remote.host });
    await start(job, { host: remote.host });
    await startPrograms(job, { host: remote.host });
    t.after(async () => {
      await stop(job, { host: remote.host }).catch(() => undefined);
      // By pid, before the dir with its pidfile goes, if stop could not.
      await stopDaemons();
      await unconfigure(job, { host: remote.host }).catch(() => undefined);
      await dir.remove();
    });
    return remote;
  }

  async function triggererFor(t: TestContext, file: string, lines: string[] = []) {
    const triggerer = new Triggerer({
      connection: redisOptions(redis.url),
      registry: new TriggerRegistry(),
      endpoints: await ConnectionResolver.create({ connections: { remote: { job: file } }, env: env() }),
      defaultIntervalMs: 200,
      heartbeatIntervalMs: 200,
      logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }),
    });
    t.after(() => triggerer.close());
    await triggerer.start();
    const polls = async (outcome: 'ok' | 'error') => {
      const line = (await triggerer.metrics.render())
        .split('\n')
        .find((l) =>
          l.startsWith(`supervisor_triggerer_polls_total{endpoint="remote",outcome="${outcome}"}`),
        );
      return Number(line?.split(' ')[1] ?? 0);
    };
    return { triggerer, polls };
  }

  const whenStopped = (id: string, budget = '60s') =>
    defer(
      {
        classpath: 'supervisor.ProgramStateTrigger',
        kwargs: {
          endpoint: 'remote',
          programs: ['sleeper'],
          states: ['STOPPED'],
          interval: '200ms',
          unreachable_budget: budget,
        },
      },
      { connection: redis.url, id },
    );

  test('a trigger on a remote program fires through the tunnel, over the connection the steps use', async (t) => {
    const remote = await runningJob(t);
    const { polls } = await triggererFor(t, remote.file);
    await whenStopped('remote-fires');
    await waitUntil(async () => ((await polls('ok')) >= 2 ? true : undefined), {
      what: 'polls through the tunnel',
    });
    await stopPrograms(await remote.load(), { host: remote.host });
    const event = await waitFor('remote-fires', { connection: redis.url, timeoutMs: 20_000 });
    assert.equal(event.status, 'fired', JSON.stringify(event.payload));
    assert.equal(remote.host.connection.connects, 1, 'the steps and the pollers shared one SSH connection');
  });

  test('sshd killed and restarted while a trigger watches: the trigger still fires', async (t) => {
    const remote = await runningJob(t);
    const lines: string[] = [];
    const { polls } = await triggererFor(t, remote.file, lines);
    await whenStopped('remote-survives');
    await waitUntil(async () => ((await polls('ok')) >= 2 ? true : undefined), {
      what: 'polls through the tunnel',
    });
    const connects = remote.host.connection.connects;

    await sshd.kill();
    await waitUntil(async () => ((await polls('error')) >= 2 ? true : undefined), { what: 'failing polls' });
    await sshd.restart();
    const okBefore = await polls('ok');
    await waitUntil(async () => ((await polls('ok')) > okBefore ? true : undefined), {
      timeoutMs: 20_000,
      what: 'polls through a new connection',
    });
    assert.ok(remote.host.connection.connects > connects, 'the shared connection was made again');

    await stopPrograms(await remote.load(), { host: remote.host });
    const event = await waitFor('remote-survives', { connection: redis.url, timeoutMs: 20_000 });
    assert.equal(event.status, 'fired', JSON.stringify(event.payload));
    assert.ok(
      lines.some((line) => line.includes('endpoint poll failing')),
      'the drop was logged',
    );
    const { password } = (await remote.load()).endpoint;
    for (const secret of [password!, sshd.passphraseKey.passphrase]) {
      assert.ok(!lines.some((line) => line.includes(secret)), 'no secret in any log line');
      assert.ok(!JSON.stringify(event).includes(secret), 'no secret in the event');
    }
  });

  test('a host down longer than the unreachable budget fails the trigger with the reason', async (t) => {
    const remote = await runningJob(t);
    const { polls } = await triggererFor(t, remote.file);
    const { password } = (await remote.load()).endpoint;
    await whenStopped('remote-gone', '2s');
    await waitUntil(async () => ((await polls('ok')) >= 1 ? true : undefined), {
      what: 'polls through the tunnel',
    });
    await sshd.kill();
    let event;
    try {
      event = await waitFor('remote-gone', { connection: redis.url, timeoutMs: 20_000 });
    } finally {
      // Up again before the job's teardown, which stops its supervisord over SSH.
      await sshd.restart();
    }
    assert.equal(event.status, 'failed');
    const reason = String(event.payload.error);
    assert.match(reason, new RegExp(`ssh root@127\\.0\\.0\\.1:${sshd.port}`), reason);
    assert.match(reason, /unreachable|lost/, reason);
    const keyLine = (await readFile(sshd.key, 'utf8')).split('\n')[1]!;
    for (const secret of [password!, keyLine]) {
      assert.ok(!JSON.stringify(event).includes(secret), 'no secret in the event');
    }
  });
});
