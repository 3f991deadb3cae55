/**
 * The lifecycle of a job whose supervisord runs on another host, reached through a real sshd: every
 * step over one SSH connection (files over SFTP, commands over exec, XML-RPC through the connection
 * to the supervisord's unix socket), no port opened for it, no secret on any command line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  check,
  configure,
  restartPrograms,
  start,
  startPrograms,
  stop,
  stopPrograms,
  unconfigure,
  SupervisordNotFound,
  type LifecycleOptions,
} from '../../src/supervisor/lifecycle/index.js';
import { loadJobFiles, resolveJob } from '../../src/config/index.js';
import { closeSshHosts, sshHost } from '../../src/supervisor/host/index.js';
import { daemonPid, isAlive, stopDaemons } from '../fixtures/daemon.js';
import { freePort } from '../fixtures/ports.js';
import { allCommandLines, listeningTcpPorts } from '../fixtures/proc-tree.js';
import { writeRemoteJob } from '../fixtures/remote-job.js';
import { startSshd, type SshdHandle } from '../fixtures/sshd.js';
import { tempDir } from '../fixtures/tmp.js';

const PASSPHRASE_ENV = 'ST_TEST_KEY_PASSPHRASE';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('lifecycle over SSH', () => {
  let sshd: SshdHandle;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    closeSshHosts();
    await stopDaemons();
    await sshd?.stop();
  });

  test('configure through unconfigure, restart included, on a unix socket only, with no secret in any argv', async (t) => {
    const dir = await tempDir('sshlc-');
    // Its supervisord is stopped (by pid) before the dir with its pidfile goes.
    t.after(async () => {
      await stopDaemons();
      await dir.remove();
    });
    // The key with a passphrase: read from the variable the job names, never from the job file.
    const env = { ...process.env, [PASSPHRASE_ENV]: sshd.passphraseKey.passphrase };
    const remote = await writeRemoteJob(
      sshd,
      dir.path,
      { program: { sleeper: { command: 'sleep 1000', startsecs: 0 } } },
      { host: { identity_file: sshd.passphraseKey.path, passphrase_env: PASSPHRASE_ENV }, env },
    );
    const options: LifecycleOptions = { host: remote.host, env, pollIntervalMs: 100 };
    const job = await remote.load();
    assert.match(job.endpoint.url, /^unix:\/\//);
    const secrets = [job.endpoint.password!, sshd.passphraseKey.passphrase];
    const noSecretInArgv = (when: string) => {
      for (const { pid, command } of allCommandLines()) {
        for (const secret of secrets) {
          assert.ok(
            !command.includes(secret),
            `${when}: a secret in the argv of pid ${pid}: ${command.slice(0, 80)}`,
          );
        }
      }
    };

    const configured = await configure(job, options);
    assert.equal(configured.changed, true);
    assert.equal(
      (await stat(job.configPath)).mode & 0o777,
      0o600,
      'the config holds the password: owner only',
    );
    assert.equal((await stat(job.statePath)).mode & 0o777, 0o600, 'the state file holds it too');
    assert.equal((await stat(remote.workingDir)).mode & 0o777, 0o700);
    const state = JSON.parse(await readFile(job.statePath, 'utf8')) as { password: string };
    assert.equal(state.password, job.endpoint.password, 'the state file was written on the host');
    assert.equal(
      (await remote.load()).endpoint.password,
      job.endpoint.password,
      'and is read back from there',
    );

    const started = await start(job, options);
    assert.equal(started.action, 'started');
    assert.equal(daemonPid(join(remote.workingDir, 'supervisord.pid')), started.pid);
    noSecretInArgv('after start');
    assert.deepEqual(listeningTcpPorts(started.pid), [], 'supervisord listens on no TCP port');
    const config = await readFile(job.configPath, 'utf8');
    assert.ok(!config.includes('[inet_http_server]'));

    const running = await startPrograms(job, options);
    assert.deepEqual(
      running.processes.map((p) => [p.name, p.statename]),
      [['sleeper', 'RUNNING']],
    );
    const first = running.processes[0]!.pid;
    noSecretInArgv('after start-programs');
    const snapshot = await check(job, options);
    assert.equal(snapshot.ok, true);
    assert.equal(snapshot.programs[0]?.pid, first);

    const restarted = await restartPrograms(job, options);
    const second = restarted.processes[0]!.pid;
    assert.notEqual(second, first, 'restart-programs gave the program a new process');
    assert.equal(isAlive(first), false);

    const stopped = await stopPrograms(job, options);
    assert.equal(stopped.processes[0]?.statename, 'STOPPED');
    assert.equal(isAlive(second), false);

    const down = await stop(job, options);
    assert.equal(down.action, 'shutdown');
    assert.equal(isAlive(started.pid), false, 'supervisord is gone');
    noSecretInArgv('after stop');

    const removed = await unconfigure(job, options);
    assert.ok(removed.removed.includes(remote.workingDir));
    assert.equal(await exists(remote.workingDir), false);
    assert.equal(remote.host.connection.connects, 1, 'every step went over one connection');
  });

  test('the remote supervisord outlives the SSH connection, and stop finds it by its pidfile over the host', async (t) => {
    const dir = await tempDir('sshlc-');
    // Its supervisord is stopped (by pid) before the dir with its pidfile goes.
    t.after(async () => {
      await stopDaemons();
      await dir.remove();
    });
    const remote = await writeRemoteJob(sshd, dir.path, {
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
    });
    const job = await remote.load();
    await configure(job, { host: remote.host });
    const { pid } = await start(job, { host: remote.host });
    const programPid = (await startPrograms(job, { host: remote.host })).processes[0]!.pid;

    // Every connection of this process closed; and sshd's sessions killed with it.
    closeSshHosts();
    await sshd.restart();
    assert.ok(isAlive(pid), 'supervisord survived the SSH session that started it');
    assert.ok(isAlive(programPid));

    // No host given: the job's host section is enough (a new shared connection), to read its
    // state file there and to drive it.
    const reread = await resolveJob(await loadJobFiles([remote.file]));
    assert.equal(reread.endpoint.password, job.endpoint.password);
    const again = await check(reread);
    assert.equal(again.programs[0]?.pid, programPid);
    const down = await stop(job);
    assert.equal(down.pid, pid);
    assert.equal(isAlive(pid), false);
    assert.equal(isAlive(programPid), false);
    await unconfigure(job);
  });

  test('an inet supervisord is reached by TCP forwarding to its loopback port', async (t) => {
    const dir = await tempDir('sshlc-');
    // Its supervisord is stopped (by pid) before the dir with its pidfile goes.
    t.after(async () => {
      await stopDaemons();
      await dir.remove();
    });
    const port = await freePort();
    const remote = await writeRemoteJob(sshd, dir.path, {
      program: { sleeper: { command: 'sleep 1000', startsecs: 0 } },
      inet_http_server: { port: `127.0.0.1:${port}` },
    });
    const job = await remote.load();
    assert.equal(job.endpoint.url, `http://127.0.0.1:${port}/RPC2`);
    const options = { host: remote.host, pollIntervalMs: 100 };
    await configure(job, options);
    const { pid } = await start(job, options);
    assert.deepEqual(listeningTcpPorts(pid), [port], 'its own loopback port, nothing else');
    assert.equal((await startPrograms(job, options)).processes[0]?.statename, 'RUNNING');
    assert.equal((await check(job, options)).ok, true);
    assert.equal((await stop(job, options)).action, 'shutdown');
    await unconfigure(job, options);
  });

  test('a supervisord binary missing on the host is a SupervisordNotFound naming the host', async (t) => {
    const dir = await tempDir('sshlc-');
    // Its supervisord is stopped (by pid) before the dir with its pidfile goes.
    t.after(async () => {
      await stopDaemons();
      await dir.remove();
    });
    const remote = await writeRemoteJob(sshd, dir.path, { program: { sleeper: { command: 'sleep 1000' } } });
    const job = await remote.load();
    await configure(job, { host: remote.host });
    t.after(() => unconfigure(job, { host: remote.host }));
    await assert.rejects(
      start(job, { host: remote.host, supervisordBin: 'supervisord-not-installed' }),
      (error: Error) => {
        assert.ok(error instanceof SupervisordNotFound, String(error));
        assert.equal(error.host, remote.host.name);
        assert.match(
          error.message,
          new RegExp(`'supervisord-not-installed' not found on ssh root@127\\.0\\.0\\.1:${sshd.port}`),
        );
        return true;
      },
    );
  });

  test("the host's command prefix runs before supervisord: a prefix that fails stops the start", async (t) => {
    const dir = await tempDir('sshlc-');
    // Its supervisord is stopped (by pid) before the dir with its pidfile goes.
    t.after(async () => {
      await stopDaemons();
      await dir.remove();
    });
    const remote = await writeRemoteJob(
      sshd,
      dir.path,
      { program: { sleeper: { command: 'sleep 1000' } } },
      { host: { command_prefix: 'export PATH=/nonexistent' } },
    );
    const job = await remote.load();
    // configure uses SFTP only: the prefix does not matter to it.
    await configure(job, { host: remote.host });
    await assert.rejects(start(job, { host: remote.host }), SupervisordNotFound);
    const host = sshHost({ ...job.host!, commandPrefix: undefined });
    await unconfigure(job, { host });
  });
});
