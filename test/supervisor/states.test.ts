/** The process-state predicates, on every state, with default and configured exit codes. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PROCESS_STATE_NAMES,
  ProcessState,
  isBad,
  isDone,
  isOk,
  isRunning,
  isStopped,
  qualifiedName,
  type ProcessStateName,
} from '../../src/supervisor/states.js';

const info = (statename: ProcessStateName, exitstatus = 0) => ({ statename, exitstatus });
const holding = (predicate: (i: ReturnType<typeof info>) => boolean, exitstatus = 0) =>
  PROCESS_STATE_NAMES.filter((name) => predicate(info(name, exitstatus)));

describe('process states', () => {
  test('state codes are supervisord 4.2.5 codes', () => {
    assert.deepEqual(ProcessState, {
      STOPPED: 0,
      STARTING: 10,
      RUNNING: 20,
      BACKOFF: 30,
      STOPPING: 40,
      EXITED: 100,
      FATAL: 200,
      UNKNOWN: 1000,
    });
  });

  test('running is RUNNING or STOPPING', () => {
    assert.deepEqual(holding(isRunning), ['RUNNING', 'STOPPING']);
  });

  test('stopped is STOPPED, EXITED or FATAL whatever the exit code', () => {
    assert.deepEqual(holding(isStopped), ['STOPPED', 'EXITED', 'FATAL']);
    assert.deepEqual(holding(isStopped, 3), ['STOPPED', 'EXITED', 'FATAL']);
  });

  test('done is STOPPED, or EXITED with an accepted code', () => {
    assert.deepEqual(holding(isDone), ['STOPPED', 'EXITED']);
    assert.deepEqual(holding(isDone, 2), ['STOPPED']);
    assert.equal(isDone(info('EXITED', 2), [0, 2]), true);
    assert.equal(isDone(info('EXITED', 0), [2]), false);
  });

  test('ok is running or done', () => {
    assert.deepEqual(holding(isOk), ['STOPPED', 'RUNNING', 'STOPPING', 'EXITED']);
    assert.deepEqual(holding(isOk, 1), ['STOPPED', 'RUNNING', 'STOPPING']);
    assert.equal(isOk(info('EXITED', 1), [1]), true);
  });

  test('bad is FATAL, UNKNOWN, or EXITED with an unexpected code', () => {
    assert.deepEqual(holding(isBad), ['FATAL', 'UNKNOWN']);
    assert.deepEqual(holding(isBad, 1), ['EXITED', 'FATAL', 'UNKNOWN']);
    assert.equal(isBad(info('EXITED', 1), [0, 1]), false);
  });

  test('STARTING and BACKOFF are neither ok nor bad', () => {
    for (const name of ['STARTING', 'BACKOFF'] as const) {
      assert.equal(isOk(info(name)), false);
      assert.equal(isBad(info(name)), false);
    }
  });

  test('qualifiedName is group:name', () => {
    assert.equal(qualifiedName({ group: 'g', name: 'p' }), 'g:p');
  });
});
