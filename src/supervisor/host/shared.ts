/**
 * The hosts of this process: one `LocalHost`, and one SSH connection per host and login, shared by
 * every `SshHost` made for it (the lifecycle steps, the triggerer's pollers, the always-on jobs).
 */
import type { SupervisorHost } from './host.js';
import { LocalHost } from './local.js';
import { SshConnection } from './ssh-connection.js';
import { sshSettings, type SshHostOptions } from './ssh-options.js';
import { SshHost } from './ssh.js';

let local: LocalHost | undefined;
const connections = new Map<string, SshConnection>();

/** The local host. */
export function localHost(): LocalHost {
  return (local ??= new LocalHost());
}

/**
 * The SSH host `options` name, on this process's shared connection to it. `env` is where the
 * passphrase variable and `SSH_AUTH_SOCK` are read (the first caller's, for a shared connection).
 */
export function sshHost(options: SshHostOptions, env: NodeJS.ProcessEnv = process.env): SshHost {
  const settings = sshSettings(options);
  // The login and its transport name the connection; the command prefix and timeout are the host's.
  const { commandPrefix, commandTimeoutMs, ...login } = settings;
  const key = JSON.stringify(login);
  let connection = connections.get(key);
  if (connection === undefined || connection.isClosed) {
    connection = new SshConnection(settings, env);
    connections.set(key, connection);
  }
  return new SshHost(connection, { commandPrefix, commandTimeoutMs });
}

/** The host a job runs on: its `host:` section's, else this machine. */
export function hostFor(
  job: { host?: SshHostOptions },
  env: NodeJS.ProcessEnv = process.env,
): SupervisorHost {
  return job.host === undefined ? localHost() : sshHost(job.host, env);
}

/** Closes every shared SSH connection (a process that is done with its hosts calls it to exit). */
export function closeSshHosts(): void {
  for (const connection of connections.values()) connection.close();
  connections.clear();
}
