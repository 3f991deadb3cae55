/** The options of an SSH host and their defaults, applied in one place. */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

/** Where a remote supervisord runs and how to log in there (a job file's `host:` section). */
export interface SshHostOptions {
  /** Name or address of the host. */
  hostname: string;
  /** @default 22 */
  port?: number;
  /** @default the local user's name */
  username?: string;
  /** Private key file on this machine. One of `identityFile` and `agent` is needed. */
  identityFile?: string;
  /** Name of the environment variable that holds the identity file's passphrase. @default none */
  passphraseEnv?: string;
  /** Sign with an ssh-agent: true for `$SSH_AUTH_SOCK`, or the agent's socket path. @default false */
  agent?: boolean | string;
  /** known_hosts file the host key must be in. @default ~/.ssh/known_hosts */
  knownHosts?: string;
  /** The host key's pinned `SHA256:…` fingerprint; known_hosts is then not read. @default none */
  hostKey?: string;
  /**
   * A shell command run before each remote command, in the same shell; the command runs only if it
   * succeeds (e.g. `. /opt/venv/bin/activate`). @default none
   */
  commandPrefix?: string;
  /** How long connecting (TCP, handshake, login) may take. @default 20000 */
  connectTimeoutMs?: number;
  /** How long one remote command or file operation may take. @default 60000 */
  commandTimeoutMs?: number;
  /** Keepalive period on an idle connection; 0 sends none. @default 15000 */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives after which the connection counts as dropped. @default 3 */
  keepaliveCountMax?: number;
  /** Longest wait between two connection attempts after failures (the backoff doubles up to it). @default 5000 */
  reconnectMaxMs?: number;
}

/** The options with every default filled in. */
export type SshHostSettings = Required<
  Omit<SshHostOptions, 'identityFile' | 'passphraseEnv' | 'hostKey' | 'commandPrefix'>
> &
  Pick<SshHostOptions, 'identityFile' | 'passphraseEnv' | 'hostKey' | 'commandPrefix'>;

/** Applies the defaults. */
export function sshSettings(options: SshHostOptions): SshHostSettings {
  return {
    ...options,
    hostname: options.hostname,
    port: options.port ?? 22,
    username: options.username ?? userInfo().username,
    agent: options.agent ?? false,
    knownHosts: options.knownHosts ?? join(homedir(), '.ssh', 'known_hosts'),
    connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 60_000,
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: options.keepaliveCountMax ?? 3,
    reconnectMaxMs: options.reconnectMaxMs ?? 5000,
  };
}

/** `ssh user@host:port`: how messages name the host. */
export function sshName(settings: Pick<SshHostSettings, 'hostname' | 'port' | 'username'>): string {
  const host = settings.hostname.includes(':') ? `[${settings.hostname}]` : settings.hostname;
  return `ssh ${settings.username}@${host}:${settings.port}`;
}
