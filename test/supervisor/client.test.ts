/** SupervisorClient against one real supervisord on a unix socket: every method group and its faults. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SupervisorClient } from '../../src/supervisor/client.js';
import {
  AbnormalTerminationFault,
  AlreadyStartedFault,
  BadArgumentsFault,
  BadNameFault,
  BadSignalFault,
  NoFileFault,
  NotExecutableFault,
  NotRunningFault,
  SpawnErrorFault,
  SupervisorFault,
  isFault,
} from '../../src/supervisor/errors.js';
import { startSupervisord, type SupervisordHandle } from '../fixtures/supervisord.js';
import { waitUntil } from '../fixtures/processes.js';

const quick = 'autostart=false\nstartsecs=0\nstopwaitsecs=2';
const PROGRAMS = {
  sleeper: `command=sleep 1000\n${quick}`,
  g1: `command=sleep 1000\n${quick}`,
  g2: `command=sleep 1000\n${quick}`,
  hupper: `command=sh -c 'trap "echo got-hup" HUP; echo ready; while true; do sleep 0.1; done'\n${quick}`,
  talker: `command=sh -c 'echo out-line; echo err-line >&2; printf "caf\\303\\251"; exec sleep 1000'\n${quick}`,
  catter: `command=cat\n${quick}`,
  quitter: 'command=sh -c "exit 3"\nautostart=false\nstartsecs=1\nstartretries=0',
  slowstart: 'command=sleep 1000\nautostart=false\nstartsecs=30\nstopwaitsecs=2',
  nofile: `command=/nonexistent/binary\n${quick}`,
  noexec: `command=/etc/passwd\n${quick}`,
};

let sup: SupervisordHandle;
let client: SupervisorClient;

before(async () => {
  sup = await startSupervisord({ programs: PROGRAMS, extra: '[group:g]\nprograms=g1,g2\n' });
  client = new SupervisorClient(sup.endpoint);
});
after(async () => {
  client?.close();
  await sup?.stop();
});

/** The byte size of a process log, so a test reads only what its own run wrote. */
async function logSize(name: string, stream: 'stdout' | 'stderr'): Promise<number> {
  const read = stream === 'stdout' ? client.readProcessStdoutLog : client.readProcessStderrLog;
  try {
    return Buffer.byteLength(await read.call(client, name, 0, 0));
  } catch (error) {
    if (isFault(error, 'NO_FILE')) return 0; // never started: no log yet
    throw error;
  }
}

async function stateOf(name: string): Promise<string> {
  return (await client.getProcessInfo(name)).statename;
}

describe('supervisord itself', () => {
  test('reports its versions, identification, state and pid', async () => {
    assert.match(await client.getAPIVersion(), /^\d+\.\d+$/);
    assert.equal(await client.getSupervisorVersion(), '4.2.5');
    assert.equal(await client.getIdentification(), 'supervisor');
    assert.deepEqual(await client.getState(), { statecode: 1, statename: 'RUNNING' });
    assert.equal(await client.getPID(), sup.pid);
  });

  test('reads the main log by offset and clears it', async () => {
    const text = await client.readLog(0, 0);
    assert.match(text, /supervisord started/);
    assert.equal(await client.clearLog(), true);
    assert.doesNotMatch(await client.readLog(0, 0), /supervisord started/);
  });
});

describe('process info', () => {
  test('getAllProcessInfo returns every program with typed fields', async () => {
    const all = await client.getAllProcessInfo();
    assert.deepEqual(all.map((p) => `${p.group}:${p.name}`).sort(), [
      'catter:catter',
      'g:g1',
      'g:g2',
      'hupper:hupper',
      'noexec:noexec',
      'nofile:nofile',
      'quitter:quitter',
      'sleeper:sleeper',
      'slowstart:slowstart',
      'talker:talker',
    ]);
    const sleeper = all.find((p) => p.name === 'sleeper');
    assert.ok(sleeper);
    assert.equal(typeof sleeper.now, 'number');
    assert.equal(sleeper.pid, 0);
  });

  test('getProcessInfo accepts name and group:name', async () => {
    assert.equal((await client.getProcessInfo('sleeper')).group, 'sleeper');
    assert.equal((await client.getProcessInfo('g:g1')).name, 'g1');
  });

  test('getAllConfigInfo describes each program', async () => {
    const info = await client.getAllConfigInfo();
    const quitter = info.find((c) => c.name === 'quitter');
    assert.equal(quitter?.command, 'sh -c "exit 3"');
    assert.equal(quitter?.autostart, false);
    assert.equal(quitter?.inuse, true);
  });

  test('an unknown name is a BadNameFault', async () => {
    const error = await client.getProcessInfo('nope').catch((e: unknown) => e);
    assert.ok(error instanceof BadNameFault);
    assert.ok(error instanceof SupervisorFault);
    assert.equal(error.code, 10);
    assert.equal(error.faultName, 'BAD_NAME');
    assert.ok(error.is('BAD_NAME'));
    assert.ok(isFault(error, 'BAD_NAME'));
  });
});

describe('start and stop', () => {
  test('startProcess waits for RUNNING and stopProcess for STOPPED', async () => {
    assert.equal(await client.startProcess('sleeper'), true);
    const info = await client.getProcessInfo('sleeper');
    assert.equal(info.statename, 'RUNNING');
    assert.ok(info.pid > 0);
    assert.equal(await client.stopProcess('sleeper'), true);
    assert.equal(await stateOf('sleeper'), 'STOPPED');
  });

  test('starting a running process is ALREADY_STARTED, stopping a stopped one NOT_RUNNING', async () => {
    await client.startProcess('sleeper');
    await assert.rejects(client.startProcess('sleeper'), AlreadyStartedFault);
    await client.stopProcess('sleeper');
    await assert.rejects(client.stopProcess('sleeper'), NotRunningFault);
  });

  test('startProcess without wait returns at once', async () => {
    assert.equal(await client.startProcess('sleeper', false), true);
    await waitUntil(async () => ((await stateOf('sleeper')) === 'RUNNING' ? true : undefined));
    await client.stopProcess('sleeper');
  });

  test('group calls and group:* act on every process of the group', async () => {
    const started = await client.startProcessGroup('g');
    assert.deepEqual(started.map((s) => [s.name, s.status, s.description]).sort(), [
      ['g1', 80, 'OK'],
      ['g2', 80, 'OK'],
    ]);
    assert.equal(await stateOf('g:g2'), 'RUNNING');
    const stopped = await client.stopProcess('g:*');
    assert.ok(Array.isArray(stopped));
    assert.equal(stopped.length, 2);
    assert.equal(await stateOf('g:g1'), 'STOPPED');
    const again = await client.startProcess('g:*');
    assert.ok(Array.isArray(again));
    const groupStop = await client.stopProcessGroup('g');
    assert.equal(groupStop.length, 2);
  });

  test('startAllProcesses and stopAllProcesses report each process', async () => {
    const started = await client.startAllProcesses(false);
    assert.ok(started.some((s) => s.name === 'sleeper' && s.status === 80));
    assert.ok(started.some((s) => s.name === 'nofile' && s.status !== 80));
    await waitUntil(async () => ((await stateOf('catter')) === 'RUNNING' ? true : undefined));
    const stopped = await client.stopAllProcesses();
    assert.ok(stopped.some((s) => s.name === 'sleeper'));
    const running = (await client.getAllProcessInfo()).filter((p) => p.statename === 'RUNNING');
    assert.deepEqual(running, []);
  });

  test('a missing command is NO_FILE and a non-executable one NOT_EXECUTABLE', async () => {
    await assert.rejects(client.startProcess('nofile'), NoFileFault);
    await assert.rejects(client.startProcess('noexec'), NotExecutableFault);
  });

  test('a program that exits before startsecs is SPAWN_ERROR', async () => {
    await assert.rejects(client.startProcess('quitter'), SpawnErrorFault);
    // BACKOFF turns FATAL on supervisord's next tick (startretries=0).
    await waitUntil(async () => ((await stateOf('quitter')) === 'FATAL' ? true : undefined));
  });

  test('a program stopped while start waits is ABNORMAL_TERMINATION', async () => {
    const starting = client.startProcess('slowstart', true).catch((e: unknown) => e);
    await waitUntil(async () => ((await stateOf('slowstart')) === 'STARTING' ? true : undefined));
    await client.stopProcess('slowstart', false);
    assert.ok((await starting) instanceof AbnormalTerminationFault);
    await waitUntil(async () => ((await stateOf('slowstart')) === 'STOPPED' ? true : undefined));
  });
});

describe('signals and stdin', () => {
  let base = 0; // earlier runs (startAllProcesses) left output in the log
  before(async () => {
    base = await logSize('hupper', 'stdout');
    await client.startProcess('hupper');
    // A HUP before the shell has set its trap would kill it.
    await waitUntil(async () =>
      (await client.readProcessStdoutLog('hupper', base, 0)).includes('ready') ? true : undefined,
    );
  });
  after(() => client.stopProcess('hupper'));

  test('signalProcess, signalProcessGroup and signalAllProcesses deliver the signal', async () => {
    const countHups = async () =>
      (await client.readProcessStdoutLog('hupper', base, 0)).split('got-hup').length - 1;
    assert.equal(await client.signalProcess('hupper', 'HUP'), true);
    await waitUntil(async () => ((await countHups()) >= 1 ? true : undefined));
    const group = await client.signalProcessGroup('hupper', 'SIGHUP');
    assert.deepEqual(
      group.map((s) => [s.name, s.status]),
      [['hupper', 80]],
    );
    await waitUntil(async () => ((await countHups()) >= 2 ? true : undefined));
    const all = await client.signalAllProcesses(1);
    assert.ok(all.some((s) => s.name === 'hupper' && s.status === 80));
    await waitUntil(async () => ((await countHups()) >= 3 ? true : undefined));
  });

  test('an unknown signal is BAD_SIGNAL and signalling a stopped process NOT_RUNNING', async () => {
    await assert.rejects(client.signalProcess('hupper', 'NOPE'), BadSignalFault);
    await assert.rejects(client.signalProcess('sleeper', 'HUP'), NotRunningFault);
  });

  test('sendProcessStdin writes to the process', async () => {
    await client.startProcess('catter');
    try {
      assert.equal(await client.sendProcessStdin('catter', 'hello stdin\n'), true);
      await waitUntil(async () =>
        (await client.readProcessStdoutLog('catter', 0, 0)).includes('hello stdin') ? true : undefined,
      );
    } finally {
      await client.stopProcess('catter');
    }
    await assert.rejects(client.sendProcessStdin('catter', 'x'), NotRunningFault);
  });

  test('sendRemoteCommEvent is accepted', async () => {
    assert.equal(await client.sendRemoteCommEvent('test', 'payload'), true);
  });
});

describe('process logs', () => {
  let out = 0; // earlier runs (startAllProcesses) left output in the logs
  let err = 0;
  before(async () => {
    out = await logSize('talker', 'stdout');
    err = await logSize('talker', 'stderr');
    await client.startProcess('talker');
    await waitUntil(async () =>
      (await client.readProcessStdoutLog('talker', out, 0)).includes('café') ? true : undefined,
    );
  });
  after(() => client.stopProcess('talker'));

  test('reads stdout and stderr by byte offset', async () => {
    assert.equal(await client.readProcessStdoutLog('talker', out, 0), 'out-line\ncafé');
    assert.equal(await client.readProcessStdoutLog('talker', out + 4, 4), 'line');
    assert.equal(await client.readProcessStderrLog('talker', err, 0), 'err-line\n');
  });

  test('tails return the text, the next offset and overflow', async () => {
    // A tail is the last `length` bytes of the file and the offset where the file ends.
    const long = await client.tailProcessStdoutLog('talker', out, 10_000);
    assert.ok(long.text.endsWith('out-line\ncafé'));
    assert.equal(long.offset, out + 14);
    assert.deepEqual(await client.tailProcessStdoutLog('talker', out, 14), {
      text: 'out-line\ncafé',
      offset: out + 14,
      overflow: false,
    });
    // More than `length` bytes since the offset: the last `length` bytes and overflow.
    assert.deepEqual(await client.tailProcessStderrLog('talker', err, 4), {
      text: 'ine\n',
      offset: err + 9,
      overflow: true,
    });
  });

  test('a negative offset with a length is BAD_ARGUMENTS', async () => {
    await assert.rejects(client.readLog(-10, 5), BadArgumentsFault);
  });

  test('clearProcessLogs and clearAllProcessLogs empty the logs', async () => {
    assert.equal(await client.clearProcessLogs('talker'), true);
    assert.equal(await client.readProcessStdoutLog('talker', 0, 0), '');
    const cleared = await client.clearAllProcessLogs();
    assert.ok(cleared.some((s) => s.name === 'talker' && s.status === 80));
  });
});

describe('system methods and multicall', () => {
  test('listMethods, methodHelp and methodSignature describe the API', async () => {
    const methods = await client.listMethods();
    assert.ok(methods.includes('supervisor.getAllProcessInfo'));
    assert.ok(methods.includes('system.multicall'));
    assert.match(await client.methodHelp('supervisor.getState'), /Return current state/);
    assert.deepEqual(await client.methodSignature('supervisor.startProcess'), [
      'boolean',
      'string',
      'boolean',
    ]);
  });

  test('multicall returns each value or its typed fault', async () => {
    const results = await client.multicall([
      { methodName: 'supervisor.getPID' },
      { methodName: 'supervisor.getProcessInfo', params: ['nope'] },
      { methodName: 'supervisor.getState', params: ['extra'] },
      { methodName: 'supervisor.noSuchMethod' },
    ]);
    assert.deepEqual(results[0], { ok: true, value: sup.pid });
    const faults = results.slice(1).map((r) => (r.ok ? 'ok' : r.error.faultName));
    assert.deepEqual(faults, ['BAD_NAME', 'INCORRECT_PARAMETERS', 'UNKNOWN_METHOD']);
    const second = results[1];
    assert.ok(second && !second.ok && second.error instanceof BadNameFault);
    assert.equal(second.error.method, 'supervisor.getProcessInfo');
  });
});
