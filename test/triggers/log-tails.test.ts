/**
 * Log vending: an event about programs carries the end of each affected program's logs, read from a
 * real supervisord when the event is built, bounded and redacted; an unreadable log is said so.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { programLogs, type TriggerOutcome } from '../../src/protocol/index.js';
import { SharedPollers } from '../../src/triggerer/pollers.js';
import { lastBytes } from '../../triggers/log-tails.js';
import { ProgramStateTrigger } from '../../triggers/program-state.js';
import { ProgramWatchTrigger } from '../../triggers/program-watch.js';
import { waitUntil } from '../fixtures/processes.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { tempDir } from '../fixtures/tmp.js';
import { runTrigger, triggerContext } from '../fixtures/trigger-context.js';

const PASSWORD = 'sup3r-s3cret-pw';
const noisy = (dir: string, name: string, script: string) =>
  [
    `command=sh -c '${script}'`,
    'autostart=false',
    'startsecs=0',
    'autorestart=false',
    `stdout_logfile=${join(dir, `${name}.out`)}`,
    `stderr_logfile=${join(dir, `${name}.err`)}`,
    'stdout_logfile_maxbytes=0',
  ].join('\n');

describe('program logs in events', () => {
  let supervisord: SupervisordHandle;
  let pollers: SharedPollers;
  let logs: { path: string; remove(): Promise<void> };
  let dir: string;

  before(async () => {
    logs = await tempDir('logs-');
    dir = logs.path;
    supervisord = await startSupervisord({
      username: 'admin',
      password: PASSWORD,
      programs: {
        crasher: noisy(dir, 'crasher', 'for i in 1 2 3 4 5 6; do echo out-$i; echo err-$i >&2; done; exit 3'),
        leaky: noisy(
          dir,
          'leaky',
          `echo "connecting with password=hunter2 and ${PASSWORD}"; echo "redis://app:hunter3@db:6379" >&2; exit 4`,
        ),
        // not UTF-8: supervisord answers every read of it with HTTP 500
        garbled: noisy(dir, 'garbled', 'printf "ok\\n\\377\\376 not utf-8\\n"; exit 5'),
        huge: noisy(dir, 'huge', 'echo "the last line"; exit 6'),
        steady: 'command=sleep 1000\nautostart=true\nstartsecs=0',
      },
    });
    pollers = new SharedPollers({
      resolveEndpoint: () => ({ ...supervisord.endpoint }),
      defaultIntervalMs: 100,
    });
  });

  after(async () => {
    await pollers?.close();
    await supervisord?.stop();
    await logs?.remove();
  });

  /** Runs `program` until it exits, then resolves with the event of a trigger waiting for that. */
  async function exitedEvent(program: string, logTail?: unknown): Promise<TriggerOutcome> {
    const client = pollers.client('box');
    const before = await client.getProcessInfo(program);
    await client.startProcess(program, false);
    await waitUntil(async () => {
      const info = await client.getProcessInfo(program);
      return info.statename === 'EXITED' && info.start >= before.start && info.stop >= info.start
        ? true
        : undefined;
    });
    const ctx = triggerContext(pollers);
    return runTrigger(
      ProgramStateTrigger,
      {
        endpoint: 'box',
        programs: [program],
        states: ['EXITED'],
        interval: '100ms',
        ...(logTail !== undefined && { log_tail: logTail }),
      },
      ctx,
    );
  }

  test('an event for a crashed program carries the last lines it printed to stdout and stderr', async () => {
    const event = await exitedEvent('crasher');
    const logs = programLogs({ payload: event.payload })['crasher:crasher'];
    assert.equal(logs?.stdout?.text, 'out-1\nout-2\nout-3\nout-4\nout-5\nout-6\n');
    assert.equal(logs?.stderr?.text, 'err-1\nerr-2\nerr-3\nerr-4\nerr-5\nerr-6\n');
    assert.equal(logs?.stdout?.truncated, undefined, 'the whole log fits the default bounds');
  });

  test('the tail keeps the last `lines` lines and says earlier ones were left out', async () => {
    const event = await exitedEvent('crasher', { lines: 2 });
    const logs = programLogs({ payload: event.payload })['crasher:crasher'];
    assert.equal(logs?.stdout?.text, 'out-5\nout-6\n');
    assert.equal(logs?.stdout?.truncated, true);
  });

  test('log_tail: false leaves the logs out', async () => {
    const event = await exitedEvent('crasher', false);
    assert.equal(event.payload.logs, undefined);
  });

  test('a tail never holds the supervisord password nor credentials the redaction knows of', async () => {
    const event = await exitedEvent('leaky');
    const text = JSON.stringify(event.payload.logs);
    assert.ok(!text.includes(PASSWORD), 'the endpoint password is replaced');
    assert.ok(!text.includes('hunter2') && !text.includes('hunter3'));
    const logs = programLogs({ payload: event.payload })['leaky:leaky'];
    assert.match(logs?.stdout?.text ?? '', /password=\[redacted\]/);
    assert.match(logs?.stderr?.text ?? '', /redis:\/\/app:\[redacted\]@db:6379/);
  });

  test('a log that cannot be read makes the event say so, and the event still fires', async () => {
    const event = await exitedEvent('garbled');
    assert.equal(event.status, 'fired');
    const logs = programLogs({ payload: event.payload })['garbled:garbled'];
    assert.match(logs?.stdout?.error ?? '', /could not read the stdout log: .*HTTP 500/);
    assert.equal(logs?.stdout?.text, undefined);
    assert.equal(logs?.stderr?.text, '', 'the other log is read all the same');
  });

  test('a 100 MB log yields a tail within its bounds, ending with the last line', async () => {
    // 100 MB of two-byte characters before what the program prints: the end is read, never the file.
    const file = await open(join(dir, 'huge.out'), 'w');
    const block = Buffer.from('é'.repeat(511) + '\n');
    for (let written = 0; written < 100 * 1024 * 1024; written += block.length) await file.write(block);
    await file.close();
    const event = await exitedEvent('huge', { lines: 1000, bytes: 999 });
    const logs = programLogs({ payload: event.payload })['huge:huge'];
    const text = logs?.stdout?.text ?? '';
    assert.ok(Buffer.byteLength(text) <= 999, `tail of ${Buffer.byteLength(text)} bytes`);
    assert.ok(text.endsWith('the last line\n'));
    assert.ok(!text.includes('\ufffd'), 'no character was cut');
    assert.equal(logs?.stdout?.truncated, true);
  });

  test('a restart decision carries the logs of the programs that made it, not of the healthy ones', async () => {
    const ctx = triggerContext(pollers);
    const event = runTrigger(
      ProgramWatchTrigger,
      { endpoint: 'box', programs: ['crasher', 'steady'], interval: '100ms' },
      ctx,
    );
    await pollers.client('box').startProcess('crasher', false);
    const outcome = await event;
    assert.equal(outcome.payload.decision, 'restart');
    assert.deepEqual(Object.keys(programLogs({ payload: outcome.payload })), ['crasher:crasher']);
  });
});

test('lastBytes keeps whole characters within the bound', () => {
  assert.deepEqual(lastBytes('abc', 5), { text: 'abc', cut: false });
  assert.deepEqual(lastBytes('aéé', 3), { text: 'é', cut: true });
  assert.deepEqual(lastBytes('aéé', 4), { text: 'éé', cut: true });
});
