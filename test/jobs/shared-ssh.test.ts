/**
 * A job worker closing in a process that goes on (a triggerer in the same process, a library user)
 * leaves the process's shared SSH connections open: it never owned them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostOptions, hostSection } from '../../src/config/host.js';
import { JobWorker } from '../../src/jobs/worker.js';
import { redisOptions } from '../../src/redis/connection.js';
import { closeSshHosts, sshHost } from '../../src/supervisor/host/shared.js';
import { startRedis, type RedisHandle } from '../fixtures/redis.js';
import { startSshd, type SshdHandle } from '../fixtures/sshd.js';

describe('shared SSH connections', () => {
  let redis: RedisHandle;
  let sshd: SshdHandle;
  before(async () => {
    [redis, sshd] = await Promise.all([startRedis(), startSshd()]);
  });
  after(async () => {
    closeSshHosts();
    await Promise.all([redis?.stop(), sshd?.stop()]);
  });

  test('a job worker’s close leaves them open for the rest of the process', async () => {
    const host = sshHost(hostOptions(hostSection.parse(sshd.hostSection())), {});
    const first = await host.run('echo', ['before'], { timeoutMs: 10_000 });
    assert.equal(first.output.trim(), 'before');
    const worker = new JobWorker({
      connection: redisOptions(redis.url),
      queues: ['st-jobs.shared-ssh-test'],
    });
    await worker.start();
    await worker.close();
    const second = await host.run('echo', ['after'], { timeoutMs: 10_000 });
    assert.equal(second.output.trim(), 'after', 'the same connection still serves the host');
  });
});
