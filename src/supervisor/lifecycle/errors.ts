/**
 * Errors the lifecycle steps raise. Each extends `LifecycleError` and says what is wrong and what to
 * do about it, so the CLI prints the message as is.
 */

/** Base class of every error a lifecycle step raises on purpose. */
export class LifecycleError extends Error {
  override name = 'LifecycleError';
}

/** The supervisord executable is not where we looked (PATH or `SUPERVISORD_BIN`, or the remote PATH). */
export class SupervisordNotFound extends LifecycleError {
  override name = 'SupervisordNotFound';
  constructor(
    readonly binary: string,
    /** The host's name: `local`, or `ssh user@host:port`. */
    readonly host = 'local',
  ) {
    super(
      host === 'local'
        ? `supervisord executable '${binary}' not found: install supervisor (Debian: apt-get install supervisor) ` +
            `or set SUPERVISORD_BIN to its path`
        : `supervisord executable '${binary}' not found on ${host}: install supervisor there, or set the job's ` +
            `host.command_prefix so that its environment is active (e.g. '. /opt/supervisor/bin/activate')`,
    );
  }
}

/** supervisord exited instead of coming up; `output` is what it printed or logged. */
export class SupervisordStartFailed extends LifecycleError {
  override name = 'SupervisordStartFailed';
  constructor(
    message: string,
    /** supervisord's own output or the tail of its log file. */
    readonly output: string,
  ) {
    super(output.trim() ? `${message}:\n${output.trim()}` : message);
  }
}

/** Another program listens on the socket or port this job's supervisord is configured to use. */
export class PortInUse extends SupervisordStartFailed {
  override name = 'PortInUse';
}

/** The pidfile names a process that is gone or is not a supervisord. */
export class StalePidfile extends LifecycleError {
  override name = 'StalePidfile';
  constructor(
    readonly pidfile: string,
    readonly pid: number,
    readonly reason: string,
  ) {
    super(`stale pidfile ${pidfile}: pid ${pid} ${reason}`);
  }
}

/** A step that needs supervisord down (unconfigure) found it running. */
export class SupervisordStillRunning extends LifecycleError {
  override name = 'SupervisordStillRunning';
  constructor(
    message: string,
    readonly pid: number | undefined,
  ) {
    super(message);
  }
}

/** A step that needs supervisord up (start-programs, check, ...) found it down. */
export class SupervisordNotRunning extends LifecycleError {
  override name = 'SupervisordNotRunning';
}

/** supervisord answered HTTP 401: the job's credentials are not the ones it was started with. */
export class CredentialsRejected extends LifecycleError {
  override name = 'CredentialsRejected';
}

/** The job cannot be driven as configured (e.g. `supervisord.nodaemon` set, not configured yet). */
export class JobNotReady extends LifecycleError {
  override name = 'JobNotReady';
}

/** One or more programs could not be started; `failures` holds one line per program. */
export class ProgramStartFailed extends LifecycleError {
  override name = 'ProgramStartFailed';
  constructor(readonly failures: ProgramFailure[]) {
    super(
      `${failures.length === 1 ? 'a program' : `${failures.length} programs`} failed to start:\n` +
        failures.map(describeFailure).join('\n'),
    );
  }
}

/** Why one program failed to start. */
export interface ProgramFailure {
  /** `group:name`. */
  name: string;
  statename: string;
  spawnerr: string;
  exitstatus: number;
  /** The last lines of the program's stderr (or stdout) log. */
  logTail: string;
}

function describeFailure(failure: ProgramFailure): string {
  const why = failure.spawnerr || `exit status ${failure.exitstatus}`;
  const tail = failure.logTail.trim();
  const log = tail ? `\n    ${tail.split('\n').slice(-10).join('\n    ')}` : '';
  return `  ${failure.name}: ${failure.statename} (${why})${log}`;
}

/** A condition did not hold before its deadline. */
export class LifecycleTimeout extends LifecycleError {
  override name = 'LifecycleTimeout';
}
