/**
 * An always-on job whose supervisord runs on a remote host, reached over a real sshd: a worker
 * told to serve that host runs every step over SSH, the triggerer watches through the tunnel, a
 * program that dies is restarted, `job logs` reads a program's log there, and `job stop` leaves
 * nothing running on the host.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { daemonPid, stopDaemons } from '../fixtures/daemon.js';
import { RunReader, isAlive, jobCli, startJobTriggerer, startWorker } from '../fixtures/jobs.js';
import { waitUntil, type OwnedProcess } from '../fixtures/processes.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { writeRemoteJob, type RemoteJob } from '../fixtures/remote-job.js';
import { startSshd, type SshdHandle } from '../fixtures/sshd.js';
import { tempDir } from '../fixtures/tmp.js';
import { supervisorctl } from '../fixtures/triggerers.js';

describe('an always-on job on a remote host', () => {
  let redis: RedisHandle;
  let sshd: SshdHandle;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let triggerer: OwnedProcess;
  let worker: OwnedProcess;
  let runs: RunReader;
  let job: RemoteJob;

  before(async () => {
    [redis, sshd, dir] = await Promise.all([startRedis(), startSshd(), tempDir('jremote-')]);
    job = await writeRemoteJob(sshd, dir.path, {
      name: 'remote',
      check_interval: '300ms',
      program: {
        web: { command: 'sleep 1000', startsecs: 0 },
        side: { command: "sh -c 'echo side says hello; exec sleep 1000'", startsecs: 0 },
      },
    });
    triggerer = await startJobTriggerer(redis.url, dir.path);
    worker = await startWorker(redis.url, ['--ssh-host', '127.0.0.1']);
    runs = new RunReader(redis.url);
  });

  after(async () => {
    await worker?.stop(30_000);
    await triggerer?.stop(30_000);
    await stopDaemons();
    await runs?.close();
    await Promise.all([redis?.stop(), sshd?.stop()]);
    await dir?.remove();
  });

  test('runs over SSH: a killed program is restarted, job stop tears everything down on the host', async () => {
    const started = await jobCli(redis.url, ['start', job.file]);
    assert.equal(started.code, 0, started.stderr);
    const runId = started.stdout.trim();
    const watching = await runs.until('remote', (s) => s.step === 'watch' && s.programs.length === 2, {
      what: 'watching both programs',
    });
    assert.equal(watching.runId, runId);
    // Its steps went to the remote host's queue, which the local worker serves only by --ssh-host.
    assert.equal(watching.host, 'ssh.127.0.0.1');
    assert.equal(watching.queue, 'st-jobs.ssh.127.0.0.1');
    // The "remote" host is this machine: the job's files and processes can be looked at directly.
    const config = join(job.workingDir, 'supervisord.conf');
    const pidOf = async (program: string) => Number((await supervisorctl(config, 'pid', program)).trim());
    const supervisord = daemonPid(join(job.workingDir, 'supervisord.pid'));
    const web = await pidOf('web');
    const side = await pidOf('side');
    assert.ok(supervisord && web > 0 && side > 0);
    // its log is read on the host, and the CLI exits (its SSH connection closed)
    const logs = await jobCli(redis.url, ['logs', 'remote', 'side', '--lines', '5']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /side says hello/);
    process.kill(web, 'SIGKILL');
    const again = await runs.until(
      'remote',
      (s) => s.retriggers === 1 && s.cycle === 2 && s.step === 'watch',
      { what: 'restarted and watching again' },
    );
    assert.ok(again.events.some((e) => /restarting web:web/.test(e.message)));
    const restarted = await waitUntil(async () => {
      const pid = await pidOf('web');
      return pid > 0 && pid !== web ? pid : undefined;
    });
    assert.equal(await pidOf('side'), side, 'the healthy program kept its pid');

    const stopped = await jobCli(redis.url, ['stop', 'remote']);
    assert.equal(stopped.code, 0, stopped.stderr);
    const ended = await runs.ended('remote', runId);
    assert.equal(ended.outcome?.status, 'stopped', JSON.stringify(ended.outcome));
    assert.ok(!isAlive(supervisord), 'supervisord stopped on the host');
    assert.ok(!isAlive(restarted) && !isAlive(side), 'no program left running');
    assert.ok(!existsSync(job.workingDir), 'the working dir on the host is removed');
  });
});
