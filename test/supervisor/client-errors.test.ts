/** Fault codes map to the fault classes a caller can `instanceof`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AbnormalTerminationFault,
  AlreadyStartedFault,
  BadArgumentsFault,
  BadNameFault,
  FailedFault,
  FaultCode,
  IncorrectParametersFault,
  NoFileFault,
  NotExecutableFault,
  NotRunningFault,
  ShutdownStateFault,
  SpawnErrorFault,
  SupervisorError,
  SupervisorFault,
  UnknownMethodFault,
  faultFor,
  isFault,
  type FaultName,
} from '../../src/supervisor/errors.js';

test('each fault code becomes its own SupervisorFault subclass with its name', () => {
  const expected: Array<[FaultName, typeof SupervisorFault]> = [
    ['BAD_NAME', BadNameFault],
    ['ALREADY_STARTED', AlreadyStartedFault],
    ['NOT_RUNNING', NotRunningFault],
    ['SPAWN_ERROR', SpawnErrorFault],
    ['ABNORMAL_TERMINATION', AbnormalTerminationFault],
    ['SHUTDOWN_STATE', ShutdownStateFault],
    ['NO_FILE', NoFileFault],
    ['NOT_EXECUTABLE', NotExecutableFault],
    ['FAILED', FailedFault],
    ['BAD_ARGUMENTS', BadArgumentsFault],
    ['INCORRECT_PARAMETERS', IncorrectParametersFault],
    ['UNKNOWN_METHOD', UnknownMethodFault],
  ];
  for (const [name, FaultClass] of expected) {
    const fault = faultFor(FaultCode[name], `${name}: x`, 'unix:///s.sock', 'supervisor.m');
    assert.ok(fault instanceof FaultClass, name);
    assert.ok(fault instanceof SupervisorFault && fault instanceof SupervisorError);
    assert.equal(fault.faultName, name);
    assert.equal(fault.code, FaultCode[name]);
    assert.ok(fault.is(name) && isFault(fault, name));
    assert.match(fault.message, /supervisor\.m failed at unix:\/\/\/s\.sock/);
  }
});

test('an unknown fault code is a plain SupervisorFault named UNKNOWN_FAULT', () => {
  const fault = faultFor(12345, 'weird', 'http://h:1/RPC2', 'm');
  assert.equal(fault.constructor, SupervisorFault);
  assert.equal(fault.faultName, 'UNKNOWN_FAULT');
  assert.equal(isFault(new Error('x'), 'BAD_NAME'), false);
});
