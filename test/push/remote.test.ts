/**
 * Push mode on a remote supervisord (the sshd fixture's host, this machine reached over SSH): the
 * listener is the script `configure` wrote there, and its changes come through the SSH tunnel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSshHosts } from '../../src/supervisor/host/index.js';
import { configure, start, stop, unconfigure } from '../../src/supervisor/lifecycle/index.js';
import { stopDaemons } from '../fixtures/daemon.js';
import { waitUntil } from '../fixtures/processes.js';
import { killVictimBetweenPolls, pushHarness } from '../fixtures/push-job.js';
import { writeRemoteJob } from '../fixtures/remote-job.js';
import { startSshd } from '../fixtures/sshd.js';
import { tempDir } from '../fixtures/tmp.js';

test('with push on a remote job, a program killed is seen through the tunnel before its next poll', async (t) => {
  const sshd = await startSshd();
  const dir = await tempDir('pushssh-');
  t.after(async () => {
    closeSshHosts();
    await stopDaemons();
    await sshd.stop();
    await dir.remove();
  });
  const remote = await writeRemoteJob(sshd, dir.path, {
    program: { victim: { command: 'sleep 1000', autostart: true } },
    push: true,
  });
  const job = await remote.load();
  await configure(job, { host: remote.host });
  await start(job, { host: remote.host });
  t.after(async () => {
    await stop(job, { host: remote.host }).catch(() => undefined);
    await unconfigure(job, { host: remote.host }).catch(() => undefined);
  });
  const configured = await remote.load();
  assert.equal(configured.endpoint.push?.listener, 'st-push');
  const client = remote.host.connect(configured.endpoint);
  t.after(() => client.close());
  await waitUntil(
    async () => {
      const infos = await client.getAllProcessInfo();
      return infos.filter((i) => i.statename === 'RUNNING').length === 2 || undefined;
    },
    { timeoutMs: 15_000, what: 'victim and the listener running' },
  );
  const h = await pushHarness(t, remote.file, process.env);
  const watched = h.watchVictim('push-remote', '1h');
  const { nextBeat } = await killVictimBetweenPolls(
    h,
    async () => (await client.getProcessInfo('victim')).pid,
  );
  const { event, at } = await watched;
  assert.equal(event.status, 'fired');
  assert.ok(at < nextBeat, 'pushed through the tunnel, not seen by a poll');
});
