/** The machines a supervisord runs on: the host interface, the local host and SSH hosts. */
export type { SupervisorHost, HostProcess, CommandResult, RunOptions } from './host.js';
export * from './errors.js';
export { LocalHost } from './local.js';
export { SshHost } from './ssh.js';
export { SshConnection } from './ssh-connection.js';
export { sshSettings, type SshHostOptions, type SshHostSettings } from './ssh-options.js';
export {
  fingerprint,
  knownKeysFor,
  judgeHostKey,
  type KnownHostKey,
  type HostKeyVerdict,
} from './known-hosts.js';
export { localHost, sshHost, hostFor, closeSshHosts } from './shared.js';
