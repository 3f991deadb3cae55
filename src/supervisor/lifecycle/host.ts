/** The host interface now lives in src/supervisor/host/; kept here for imports of the old path. */
export type { SupervisorHost, HostProcess, CommandResult, RunOptions } from '../host/host.js';
export { CommandNotFound } from '../host/errors.js';
