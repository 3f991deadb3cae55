/**
 * Errors the lifecycle steps raise. Each extends `LifecycleError` and says what is wrong and what to
 * do about it, so the CLI prints the message as is.
 */
import { didYouMean } from '../../config/suggest.js';

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

/** A program name matches no process of the job's supervisord. */
export class UnknownProgram extends LifecycleError {
  override name = 'UnknownProgram';
  constructor(
    /** The names that matched nothing. */
    readonly unknown: string[],
    /** Every process the supervisord has, as `group:name`. */
    readonly known: string[],
  ) {
    super(
      `${unknown.map((name) => `unknown program '${name}'${didYouMean(name, suggestable(known))}`).join('; ')}: ` +
        (known.length ? `the job's programs are ${listNames(known)}` : 'the job has no programs'),
    );
  }
}

/** A step that works on one process (`tail`) got a name that selects several. */
export class AmbiguousProgram extends LifecycleError {
  override name = 'AmbiguousProgram';
  constructor(
    readonly program: string,
    readonly matches: string[],
  ) {
    super(`'${program}' names ${matches.length} processes (${listNames(matches)}): name one of them`);
  }
}

/** The program writes no log on that channel (`redirect_stderr`, or the log file is NONE). */
export class NoProgramLog extends LifecycleError {
  override name = 'NoProgramLog';
  constructor(
    readonly program: string,
    readonly channel: 'stdout' | 'stderr',
  ) {
    super(
      channel === 'stderr'
        ? `${program} has no stderr log (redirect_stderr is set or stderr_logfile is NONE): its stderr is in its stdout log`
        : `${program} has no stdout log (stdout_logfile is NONE)`,
    );
  }
}

/** `web` for `web:web`, else `group:name`: the names a user writes. */
function suggestable(known: string[]): string[] {
  return known.map((name) => {
    const [group, process] = name.split(':');
    return group === process ? group! : name;
  });
}

/** At most 20 names, then how many more. */
function listNames(known: string[]): string {
  const names = suggestable(known);
  const shown = names.slice(0, 20).join(', ');
  return names.length > 20 ? `${shown} and ${names.length - 20} more` : shown;
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
  const why =
    failure.statename === 'EXITED'
      ? `exit status ${failure.exitstatus}`
      : failure.spawnerr || `exit status ${failure.exitstatus}`;
  const tail = failure.logTail.trim();
  const log = tail ? `\n    ${tail.split('\n').slice(-10).join('\n    ')}` : '';
  return `  ${failure.name}: ${failure.statename} (${why})${log}`;
}

/** A condition did not hold before its deadline. */
export class LifecycleTimeout extends LifecycleError {
  override name = 'LifecycleTimeout';
}
