/**
 * Errors the supervisord client raises. Every one extends `SupervisorError` and carries the endpoint
 * URL (never credentials), so a caller can `instanceof` the class it cares about.
 */

/** Base class of every error the supervisord client raises. */
export class SupervisorError extends Error {
  override name = 'SupervisorError';
  constructor(
    message: string,
    /** The endpoint URL (credentials are never part of it). */
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The endpoint description itself is unusable (bad URL, credentials in the URL, bad timeout). */
export class InvalidEndpoint extends SupervisorError {
  override name = 'InvalidEndpoint';
}

/** A method was called with an argument it cannot send (empty process name, negative offset…). */
export class InvalidArgument extends SupervisorError {
  override name = 'InvalidArgument';
}

/** Nothing answers at the endpoint: connection refused, socket file missing, DNS failure. */
export class EndpointUnreachable extends SupervisorError {
  override name = 'EndpointUnreachable';
  constructor(
    message: string,
    url: string,
    /** The system error code, e.g. `ECONNREFUSED`, `ENOENT`, `ENOTFOUND`. */
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, url, options);
  }
}

/**
 * The connection broke while a call was in flight (reset, broken pipe, closed early). For a call
 * that changes state the outcome is unknown; read-only calls were retried once before this.
 */
export class ConnectionLost extends EndpointUnreachable {
  override name = 'ConnectionLost';
}

/** No complete answer within the call's timeout. */
export class CallTimeout extends SupervisorError {
  override name = 'CallTimeout';
  constructor(
    message: string,
    url: string,
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(message, url);
  }
}

/** HTTP 401: wrong or missing username/password. */
export class AuthenticationError extends SupervisorError {
  override name = 'AuthenticationError';
}

/** Any HTTP status other than 200 and 401 (supervisord answers 500 when a method crashes). */
export class SupervisorServerError extends SupervisorError {
  override name = 'SupervisorServerError';
  constructor(
    message: string,
    url: string,
    readonly status: number,
    readonly method: string,
  ) {
    super(message, url);
  }
}

/** The response is not the XML-RPC, or not the shape, the method promises. */
export class ProtocolError extends SupervisorError {
  override name = 'ProtocolError';
}

/** supervisord's fault codes (supervisor/xmlrpc.py `Faults`). */
export const FaultCode = {
  UNKNOWN_METHOD: 1,
  INCORRECT_PARAMETERS: 2,
  BAD_ARGUMENTS: 3,
  SIGNATURE_UNSUPPORTED: 4,
  SHUTDOWN_STATE: 6,
  BAD_NAME: 10,
  BAD_SIGNAL: 11,
  NO_FILE: 20,
  NOT_EXECUTABLE: 21,
  FAILED: 30,
  ABNORMAL_TERMINATION: 40,
  SPAWN_ERROR: 50,
  ALREADY_STARTED: 60,
  NOT_RUNNING: 70,
  SUCCESS: 80,
  ALREADY_ADDED: 90,
  STILL_RUNNING: 91,
  CANT_REREAD: 92,
} as const;
export type FaultName = keyof typeof FaultCode;

const FAULT_NAMES = new Map<number, FaultName>(
  Object.entries(FaultCode).map(([name, code]) => [code, name as FaultName]),
);

/** An XML-RPC fault returned by supervisord. Subclasses exist for each known fault code. */
export class SupervisorFault extends SupervisorError {
  override name = 'SupervisorFault';
  /** The symbolic name of `code`, or `UNKNOWN_FAULT` for a code supervisord does not define. */
  readonly faultName: FaultName | 'UNKNOWN_FAULT';
  constructor(
    readonly code: number,
    readonly faultString: string,
    url: string,
    /** The method that faulted (inside a multicall: the inner method). */
    readonly method: string,
  ) {
    super(`${method} failed at ${url}: ${faultString} (fault ${code})`, url);
    this.faultName = FAULT_NAMES.get(code) ?? 'UNKNOWN_FAULT';
  }

  /** True when this fault is `faultName`, e.g. `fault.is('BAD_NAME')`. */
  is(faultName: FaultName): boolean {
    return this.faultName === faultName;
  }
}

/** Whether `error` is a supervisord fault named `faultName`. */
export function isFault(error: unknown, faultName: FaultName): error is SupervisorFault {
  return error instanceof SupervisorFault && error.is(faultName);
}

export class UnknownMethodFault extends SupervisorFault {
  override name = 'UnknownMethodFault';
}
export class IncorrectParametersFault extends SupervisorFault {
  override name = 'IncorrectParametersFault';
}
export class BadArgumentsFault extends SupervisorFault {
  override name = 'BadArgumentsFault';
}
export class SignatureUnsupportedFault extends SupervisorFault {
  override name = 'SignatureUnsupportedFault';
}
export class ShutdownStateFault extends SupervisorFault {
  override name = 'ShutdownStateFault';
}
export class BadNameFault extends SupervisorFault {
  override name = 'BadNameFault';
}
export class BadSignalFault extends SupervisorFault {
  override name = 'BadSignalFault';
}
export class NoFileFault extends SupervisorFault {
  override name = 'NoFileFault';
}
export class NotExecutableFault extends SupervisorFault {
  override name = 'NotExecutableFault';
}
export class FailedFault extends SupervisorFault {
  override name = 'FailedFault';
}
export class AbnormalTerminationFault extends SupervisorFault {
  override name = 'AbnormalTerminationFault';
}
export class SpawnErrorFault extends SupervisorFault {
  override name = 'SpawnErrorFault';
}
export class AlreadyStartedFault extends SupervisorFault {
  override name = 'AlreadyStartedFault';
}
export class NotRunningFault extends SupervisorFault {
  override name = 'NotRunningFault';
}
export class AlreadyAddedFault extends SupervisorFault {
  override name = 'AlreadyAddedFault';
}
export class StillRunningFault extends SupervisorFault {
  override name = 'StillRunningFault';
}
export class CantRereadFault extends SupervisorFault {
  override name = 'CantRereadFault';
}

const FAULT_CLASSES: Partial<Record<number, typeof SupervisorFault>> = {
  [FaultCode.UNKNOWN_METHOD]: UnknownMethodFault,
  [FaultCode.INCORRECT_PARAMETERS]: IncorrectParametersFault,
  [FaultCode.BAD_ARGUMENTS]: BadArgumentsFault,
  [FaultCode.SIGNATURE_UNSUPPORTED]: SignatureUnsupportedFault,
  [FaultCode.SHUTDOWN_STATE]: ShutdownStateFault,
  [FaultCode.BAD_NAME]: BadNameFault,
  [FaultCode.BAD_SIGNAL]: BadSignalFault,
  [FaultCode.NO_FILE]: NoFileFault,
  [FaultCode.NOT_EXECUTABLE]: NotExecutableFault,
  [FaultCode.FAILED]: FailedFault,
  [FaultCode.ABNORMAL_TERMINATION]: AbnormalTerminationFault,
  [FaultCode.SPAWN_ERROR]: SpawnErrorFault,
  [FaultCode.ALREADY_STARTED]: AlreadyStartedFault,
  [FaultCode.NOT_RUNNING]: NotRunningFault,
  [FaultCode.ALREADY_ADDED]: AlreadyAddedFault,
  [FaultCode.STILL_RUNNING]: StillRunningFault,
  [FaultCode.CANT_REREAD]: CantRereadFault,
};

/** The most specific fault class for `code`. */
export function faultFor(code: number, faultString: string, url: string, method: string): SupervisorFault {
  const FaultClass = FAULT_CLASSES[code] ?? SupervisorFault;
  return new FaultClass(code, faultString, url, method);
}
