/** supervisord process and daemon states, and the predicates the lifecycle and the watchers share. */

/** Process state codes as supervisord reports them in `state`. */
export const ProcessState = {
  STOPPED: 0,
  STARTING: 10,
  RUNNING: 20,
  BACKOFF: 30,
  STOPPING: 40,
  EXITED: 100,
  FATAL: 200,
  UNKNOWN: 1000,
} as const;
export type ProcessStateName = keyof typeof ProcessState;
export type ProcessStateCode = (typeof ProcessState)[ProcessStateName];
export const PROCESS_STATE_NAMES = Object.keys(ProcessState) as ProcessStateName[];

/** supervisord's own state (`getState`). Below RUNNING every call faults with SHUTDOWN_STATE. */
export const SupervisorState = {
  FATAL: 2,
  RUNNING: 1,
  RESTARTING: 0,
  SHUTDOWN: -1,
} as const;
export type SupervisorStateName = keyof typeof SupervisorState;

/** One entry of `getAllProcessInfo` / `getProcessInfo`. */
export interface ProcessInfo {
  name: string;
  group: string;
  description: string;
  /** Unix seconds the process last started (0 if never). */
  start: number;
  /** Unix seconds the process last stopped (0 if never). */
  stop: number;
  /** The server's clock in unix seconds: use `now - start` for uptime. */
  now: number;
  state: number;
  statename: ProcessStateName;
  spawnerr: string;
  exitstatus: number;
  logfile: string;
  stdout_logfile: string;
  stderr_logfile: string;
  /** 0 when not running. */
  pid: number;
}

/** A ProcessInfo with nothing known beyond its name: zeros and empty strings, state STOPPED. */
export function blankProcessInfo(
  group: string,
  name: string,
  fields: Partial<ProcessInfo> = {},
): ProcessInfo {
  return {
    name,
    group,
    description: '',
    start: 0,
    stop: 0,
    now: 0,
    state: 0,
    statename: 'STOPPED',
    spawnerr: '',
    exitstatus: 0,
    logfile: '',
    stdout_logfile: '',
    stderr_logfile: '',
    pid: 0,
    ...fields,
  };
}

/** `group:name`, the fully qualified name supervisord accepts everywhere. */
export function qualifiedName(info: Pick<ProcessInfo, 'group' | 'name'>): string {
  return `${info.group}:${info.name}`;
}

type Info = Pick<ProcessInfo, 'statename' | 'exitstatus'>;
const DEFAULT_EXIT_CODES: readonly number[] = [0];

/** RUNNING or STOPPING. */
export function isRunning(info: Info): boolean {
  return info.statename === 'RUNNING' || info.statename === 'STOPPING';
}

/** STOPPED, EXITED or FATAL. */
export function isStopped(info: Info): boolean {
  return info.statename === 'STOPPED' || info.statename === 'EXITED' || info.statename === 'FATAL';
}

/** STOPPED, or EXITED with an accepted exit code: finished as intended. */
export function isDone(info: Info, exitCodes: readonly number[] = DEFAULT_EXIT_CODES): boolean {
  return info.statename === 'STOPPED' || (info.statename === 'EXITED' && exitCodes.includes(info.exitstatus));
}

/** RUNNING, STOPPING, STOPPED, or EXITED with an accepted exit code. */
export function isOk(info: Info, exitCodes: readonly number[] = DEFAULT_EXIT_CODES): boolean {
  return isRunning(info) || isDone(info, exitCodes);
}

/** FATAL, UNKNOWN, or EXITED with an unexpected exit code. STARTING and BACKOFF are neither ok nor bad. */
export function isBad(info: Info, exitCodes: readonly number[] = DEFAULT_EXIT_CODES): boolean {
  return (
    info.statename === 'FATAL' ||
    info.statename === 'UNKNOWN' ||
    (info.statename === 'EXITED' && !exitCodes.includes(info.exitstatus))
  );
}
