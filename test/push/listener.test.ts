import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { pushedChanges } from '../../src/push/feed.js';
import { parseListenerLine, type PushedChange } from '../../src/push/lines.js';
import { waitUntil } from '../fixtures/processes.js';
import { startPushJob } from '../fixtures/push-job.js';

const BLIP = { command: 'true', autostart: false, startsecs: 0 };
const SLEEPER = { command: 'sleep 1000', autostart: true };

/** The listener's state lines in its log. */
async function loggedChanges(path: string): Promise<PushedChange[]> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').flatMap((line) => parseListenerLine(line) ?? []);
}

test('configure writes the listener into the working dir and supervisord runs it as st-push', async (t) => {
  const push = await startPushJob(t, { sleeper: SLEEPER });
  const script = await stat(`${push.job.workingDir}/st-push.py`);
  assert.equal(script.mode & 0o777, 0o700);
  const listener = await push.client.getProcessInfo('st-push');
  assert.equal(listener.statename, 'RUNNING');
  const started = await loggedChanges(push.listenerLog);
  assert.equal(started[0]?.event, 'LISTENER_STARTED');
});

test('with nobody following, a burst of state changes leaves the listener RUNNING and logs each one', async (t) => {
  const push = await startPushJob(t, { blip: BLIP });
  const listenerPid = await push.pid('st-push');
  const runs = 20;
  for (let i = 0; i < runs; i++) {
    await push.client.startProcess('blip', false);
    await waitUntil(
      async () => ((await push.client.getProcessInfo('blip')).statename === 'EXITED' ? true : undefined),
      { what: 'blip exited' },
    );
  }
  // STARTING, RUNNING, EXITED per run
  const changes = await waitUntil(
    async () => {
      const found = (await loggedChanges(push.listenerLog)).filter((c) => c.process === 'blip');
      return found.length >= runs * 3 ? found : undefined;
    },
    { what: 'a line for each state change of blip' },
  );
  assert.equal(changes.length, runs * 3);
  const exited = changes.filter((change) => change.event === 'PROCESS_STATE_EXITED');
  assert.equal(exited.length, runs);
  // every event of the listener's pool has its line: no gap in the pool's serials
  const serials = (await loggedChanges(push.listenerLog)).flatMap((c) => c.poolserial ?? []);
  for (let i = 1; i < serials.length; i++) assert.equal(serials[i], (serials[i - 1] ?? 0) + 1);
  const listener = await push.client.getProcessInfo('st-push');
  assert.equal(listener.statename, 'RUNNING', 'the protocol was answered every time');
  assert.equal(listener.pid, listenerPid, 'the listener never died');
});

test('the feed reports a state change from the open stream, and reopens it after it breaks', async (t) => {
  const push = await startPushJob(t, { sleeper: SLEEPER });
  let opened = 0;
  const client = () => ((opened += 1), push.client);
  const feed = pushedChanges({ client, listener: 'st-push', maxRetryMs: 200 });
  const changes: PushedChange[] = [];
  const subscription = feed.subscribe((change) => changes.push(change));
  t.after(() => subscription.unsubscribe());
  const stopped = () => changes.filter((c) => c.process === 'sleeper' && c.event === 'PROCESS_STATE_STOPPED');
  // The stream opens with the end of the log (the listener's start line among it).
  await waitUntil(() => changes.some((c) => c.event === 'LISTENER_STARTED') || undefined, {
    what: 'the stream open',
  });
  await push.client.stopProcess('sleeper');
  const first = await waitUntil(() => stopped()[0], { what: 'the stop pushed' });
  assert.equal(opened, 1);
  // Closing the client destroys its sockets, the stream's too: the feed opens it again.
  push.client.close();
  await waitUntil(() => opened === 2 || undefined, { what: 'the stream opened again' });
  await push.client.startProcess('sleeper');
  await push.client.stopProcess('sleeper');
  const later = await waitUntil(() => stopped().find((c) => (c.serial ?? 0) > (first.serial ?? 0)), {
    what: 'the second stop pushed through a new stream',
  });
  assert.equal(later.group, 'sleeper');
});
