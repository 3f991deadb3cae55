/**
 * The lifecycle of a job's supervisord on its host (this machine or an SSH host), one idempotent
 * step each:
 * configure → start → start-programs → check → stop-programs → stop → unconfigure, plus
 * restart-programs, force-kill and reading a program's log (tail).
 */
export { configure, type ConfigureResult } from './configure.js';
export { start, type StartResult } from './start.js';
export {
  startPrograms,
  restartPrograms,
  stopPrograms,
  type ProgramsOptions,
  type StartProgramsOptions,
  type StartProgress,
  type ProgramsResult,
} from './programs.js';
export { selectProcesses } from './select.js';
export {
  followProgramLog,
  lastLines,
  tailProgramLog,
  type FollowOptions,
  type LogChannel,
  type LogEnd,
  type TailOptions,
} from './logs.js';
export {
  check,
  formatCheckTable,
  formatUptime,
  type CheckMode,
  type CheckVerdict,
  type ProgramVerdict,
  type CheckOptions,
  type CheckResult,
  type ProgramRow,
} from './check.js';
export { stop, forceKill, type StopResult } from './stop.js';
export { unconfigure, type UnconfigureResult } from './unconfigure.js';
export { contextOf, readPidfile, type LifecycleOptions, type PidfileStatus } from './context.js';
export { pidfilePath, logfilePath, type LifecycleJob } from './job.js';
export { CommandNotFound, type SupervisorHost, type HostProcess, type CommandResult } from './host.js';
export * from './errors.js';
