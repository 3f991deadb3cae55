import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntil } from '../fixtures/processes.js';
import { pushHarness, killVictimBetweenPolls, startPushJob } from '../fixtures/push-job.js';

const VICTIM = { command: 'sleep 1000', autostart: true };
test('with push, a program killed is seen by its watcher long before its next poll', async (t) => {
  const push = await startPushJob(t, { victim: VICTIM });
  const h = await pushHarness(t, push.file);
  const watched = h.watchVictim('push-kill', '1h');
  const { nextBeat } = await killVictimBetweenPolls(h, () => push.pid('victim'));
  const { event, at } = await watched;
  assert.equal(event.status, 'fired');
  assert.deepEqual(event.payload.matched, ['victim:victim']);
  assert.ok(at < nextBeat, 'the event came before the poll interval (1 h) could have elapsed');
  assert.ok((h.pollers.stats().box?.pushed ?? 0) > 0, 'pushed changes were counted');
});

test('a listener killed is restarted by supervisord, and its watchers are pushed to again', async (t) => {
  const push = await startPushJob(t, { victim: VICTIM });
  const h = await pushHarness(t, push.file);
  const before = await push.pid('st-push');
  process.kill(before, 'SIGKILL');
  await waitUntil(
    async () => {
      const info = await push.client.getProcessInfo('st-push');
      return info.statename === 'RUNNING' && info.pid !== before ? true : undefined;
    },
    { timeoutMs: 15_000, what: 'the listener restarted' },
  );
  const watched = h.watchVictim('push-after-listener-kill', '1h');
  const { nextBeat } = await killVictimBetweenPolls(h, () => push.pid('victim'));
  const { event, at } = await watched;
  assert.equal(event.status, 'fired');
  assert.ok(at < nextBeat, 'pushed by the restarted listener, not seen by a poll');
});

test('with the listener down, a death is still seen: by the reconciliation poll', async (t) => {
  const push = await startPushJob(t, { victim: VICTIM }, { reconcile: '1s' });
  const h = await pushHarness(t, push.file);
  await push.client.stopProcess('st-push');
  // the trigger asks for 100 ms: in push mode its endpoint is polled at the reconcile interval
  const watched = h.watchVictim('push-listener-down', '100ms');
  await waitUntil(() => h.polls() >= 1 || undefined, { what: 'the first poll' });
  process.kill(await push.pid('victim'), 'SIGKILL');
  const { event } = await watched;
  assert.equal(event.status, 'fired');
  assert.equal((await push.client.getProcessInfo('st-push')).statename, 'STOPPED');
});
