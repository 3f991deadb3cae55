import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, editDistance } from '../../src/config/suggest.js';
import { ConfigError, loadJobFiles, validateJob } from '../../src/config/index.js';
import { parseTriggererConfig } from '../../src/triggerer/config-file.js';
import { acceptTrigger } from '../../src/triggerer/intake.js';
import { TriggerRegistry } from '../../triggers/index.js';

test('edit distance counts an adjacent swap as one edit', () => {
  assert.equal(editDistance('startsecs', 'startsecs'), 0);
  assert.equal(editDistance('startsec', 'startsecs'), 1);
  assert.equal(editDistance('dleta', 'delta'), 1);
  assert.equal(editDistance('comand', 'command'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('closest suggests a near name only, case-insensitively', () => {
  const keys = ['command', 'startsecs', 'startretries', 'stopsignal', 'directory'];
  assert.equal(closest('startsec', keys), 'startsecs');
  assert.equal(closest('StartSecs', keys), 'startsecs');
  assert.equal(closest('comand', keys), 'command');
  assert.equal(closest('colour', keys), undefined, 'nothing near');
  assert.equal(closest('x', ['y', 'z']), undefined, 'a one-letter key is not near every other');
  assert.equal(closest('startsecs', keys), undefined, 'the name itself is no suggestion');
});

function problems(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return error instanceof ConfigError
      ? error.issues.map((i) => `${i.path}: ${i.message}`).join('\n')
      : String(error);
  }
  return 'no error';
}

test('a job file names each bad key once and suggests the nearest valid key', () => {
  const text = problems(() =>
    validateJob({
      workingdir: '/tmp/x',
      program: { web: { command: 'sleep 1', startsec: 1, colour: 'red' } },
      group: { g: { programz: ['web'] } },
      check_interval: 'often',
    }),
  );
  assert.deepEqual(text.split('\n').sort(), [
    "check_interval: expected a duration like 30s, 5m, 8h, 1h30m, PT5M or a number of seconds, got 'often'",
    'group.g.programs: required',
    "group.g.programz: unknown option (did you mean 'programs'?)",
    'program.web.colour: unknown option',
    "program.web.startsec: unknown option (did you mean 'startsecs'?)",
    'working_dir: required',
    "workingdir: unknown option (did you mean 'working_dir'?)",
  ]);
});

test('the triggerer config names each bad key once and suggests the nearest valid key', () => {
  const error = (text: string) => {
    try {
      parseTriggererConfig(text, 'triggerer.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  assert.equal(error('capcity: 5'), "triggerer.yaml: capcity: unknown option (did you mean 'capacity'?)");
  assert.equal(
    error('metrics_port: lots'),
    'triggerer.yaml: metrics_port: expected a port number 0-65535 or "none"',
  );
  assert.equal(
    error('connections: {box: {url: "unix:///x.sock", timeout: soon}}'),
    "triggerer.yaml: connections.box.timeout: expected a duration like 30s, 5m, 8h, 1h30m, PT5M or a number of seconds, got 'soon'",
  );
  assert.equal(
    error('connections: {box: {url: "unix:///x.sock", timout: 5}}'),
    "triggerer.yaml: connections.box.timout: unknown option (did you mean 'timeout'?)",
  );
});

test('trigger kwargs name each bad key once and suggest the nearest valid key', async () => {
  const registry = await TriggerRegistry.withPlugins([]);
  const endpoints = { resolve: () => ({}) };
  const refusal = (kwargs: Record<string, unknown>, classpath = 'time.TimeDeltaTrigger') => {
    try {
      acceptTrigger({ v: 1, classpath, kwargs }, registry, endpoints);
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };
  assert.equal(
    refusal({ delta: 'soon' }),
    "invalid kwargs for time.TimeDeltaTrigger: delta: expected a duration like 30s, 5m, 8h, 1h30m, PT5M or a number of seconds, got 'soon'",
  );
  assert.equal(
    refusal({ dleta: '5s' }),
    "invalid kwargs for time.TimeDeltaTrigger: delta: required; dleta: unknown option (did you mean 'delta'?)",
  );
  assert.equal(
    refusal({ endpoint: 'box', states: ['RUNING'], intervall: '1s' }, 'supervisor.ProgramStateTrigger'),
    'invalid kwargs for supervisor.ProgramStateTrigger: states[0]: expected one of STOPPED, STARTING, RUNNING, ' +
      "BACKOFF, STOPPING, EXITED, FATAL, UNKNOWN; intervall: unknown option (did you mean 'interval'?)",
  );
});

test('a typo in a layered job file is reported with its suggestion by loadJobFiles', async () => {
  await assert.rejects(
    loadJobFiles(['/dev/null'], {
      env: {},
      overrides: ['working_dir=/tmp/x', 'program.web.command=run', 'program.web.autostrat=true'],
    }),
    (error: Error) => {
      assert.equal(error.message, "program.web.autostrat: unknown option (did you mean 'autostart'?)");
      return true;
    },
  );
});
