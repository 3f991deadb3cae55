import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blankProcessInfo, type ProcessInfo, type ProcessStateName } from '../../src/supervisor/states.js';
import { decideWatch } from '../../triggers/program-watch.js';

function program(name: string, statename: ProcessStateName, exitstatus = 0): ProcessInfo {
  return blankProcessInfo(name, name, { statename, exitstatus });
}

const decide = (infos: ProcessInfo[], exitcodes = [0], limits = {}, now = 0) =>
  decideWatch(infos, exitcodes, limits, now);

describe('ProgramWatchTrigger decision', () => {
  test('healthy programs (running, starting, or some already done) keep watching', () => {
    assert.equal(
      decide([program('a', 'RUNNING'), program('b', 'STARTING'), program('c', 'EXITED', 0)]),
      undefined,
    );
    assert.equal(decide([program('a', 'STOPPING')]), undefined);
  });

  test('all done (STOPPED or EXITED with an accepted code) decides stop', () => {
    const decision = decide([program('a', 'STOPPED'), program('b', 'EXITED', 2)], [0, 2]);
    assert.equal(decision?.decision, 'stop');
    assert.equal(decision?.reason, 'done');
  });

  test('per-program exit codes: each program is judged by its own', () => {
    const codes = (info: ProcessInfo) => ({ worker: [3] })[info.group] ?? [0];
    assert.equal(
      decideWatch([program('worker', 'EXITED', 3), program('web', 'RUNNING')], codes, {}, 0),
      undefined,
    );
    const decision = decideWatch([program('worker', 'EXITED', 0), program('web', 'EXITED', 3)], codes, {}, 0);
    assert.deepEqual(decision?.bad, ['worker:worker', 'web:web']);
  });

  test('FATAL, UNKNOWN, BACKOFF and unexpected exit codes decide restart, naming only those', () => {
    const decision = decide([
      program('ok', 'RUNNING'),
      program('f', 'FATAL'),
      program('u', 'UNKNOWN'),
      program('b', 'BACKOFF'),
      program('e', 'EXITED', 1),
    ]);
    assert.equal(decision?.decision, 'restart');
    assert.deepEqual(decision?.bad, ['f:f', 'u:u', 'b:b', 'e:e']);
    assert.match(decision?.message ?? '', /e:e \(EXITED 1\)/);
  });

  test('the endtime and runtime limits come before the health of the programs', () => {
    const failing = [program('f', 'FATAL')];
    assert.equal(decide(failing, [0], { runtimeEndsAt: 10 }, 10)?.reason, 'runtime');
    assert.equal(decide(failing, [0], { runtimeEndsAt: 10, endtime: 5 }, 10)?.reason, 'endtime');
    assert.equal(decide(failing, [0], { runtimeEndsAt: 10 }, 9)?.decision, 'restart');
  });
});
