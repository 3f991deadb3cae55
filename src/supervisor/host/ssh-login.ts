/**
 * What an SSH login checks before and while it connects: the identity file and its passphrase (read
 * from the variable the job names), the agent, and the host key against known_hosts or a pinned
 * fingerprint. An unknown or changed key is refused with its fingerprint, never accepted.
 */
import { readFile } from 'node:fs/promises';
import type { ParsedKey } from 'ssh2';
import { HostKeyRejected, IdentityUnusable } from './errors.js';
import { fingerprint, hostEntryName, judgeHostKey, knownKeysFor } from './known-hosts.js';
import type { SshHostSettings } from './ssh-options.js';

/** What the login's checks read: the host's settings, its name for messages, the environment. */
export interface Login {
  readonly settings: SshHostSettings;
  /** `ssh user@host:port`. */
  readonly name: string;
  /** Where the passphrase variable and `SSH_AUTH_SOCK` are read. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * The identity file and its passphrase (read from the variable the job names), checked to open
 * with it so that a wrong passphrase is a clear error before any connection.
 */
export async function identityOf(
  login: Login,
  parseKey: (key: Buffer, passphrase?: string) => ParsedKey | ParsedKey[] | Error,
): Promise<{ key: Buffer; passphrase: string | undefined } | undefined> {
  const { identityFile, passphraseEnv } = login.settings;
  if (identityFile === undefined) return undefined;
  let text: Buffer;
  try {
    text = await readFile(identityFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new IdentityUnusable(
      `identity_file ${identityFile} for ${login.name}: cannot read it (${code})`,
      login.name,
    );
  }
  let passphrase: string | undefined;
  if (passphraseEnv !== undefined) {
    passphrase = login.env[passphraseEnv];
    if (passphrase === undefined) {
      throw new IdentityUnusable(
        `identity_file ${identityFile} for ${login.name}: passphrase_env ${passphraseEnv} is not set`,
        login.name,
      );
    }
  }
  const parsed = parseKey(text, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || key === undefined || !key.isPrivateKey()) {
    const why = key instanceof Error ? key.message : 'not a private key';
    const hint =
      passphraseEnv === undefined
        ? ' (an encrypted key needs passphrase_env)'
        : ` (passphrase from ${passphraseEnv})`;
    throw new IdentityUnusable(`identity_file ${identityFile} for ${login.name}: ${why}${hint}`, login.name);
  }
  return { key: text, passphrase };
}

/** The agent socket, when the host signs with an agent. */
export function agentSocketOf(login: Login): string | undefined {
  const { agent } = login.settings;
  if (agent === false) return undefined;
  if (typeof agent === 'string') return agent;
  const socket = login.env.SSH_AUTH_SOCK;
  if (!socket) {
    throw new IdentityUnusable(`${login.name}: agent is true but SSH_AUTH_SOCK is not set`, login.name);
  }
  return socket;
}

/** The known_hosts keys for this host (none when the file does not exist). */
export async function knownKeysOf(login: Login): Promise<ReturnType<typeof knownKeysFor>> {
  const file = login.settings.knownHosts;
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      throw new HostKeyRejected(
        `${login.name}: cannot read known_hosts ${file} (${code ?? 'unreadable'})`,
        login.name,
        '',
        'unknown',
      );
    }
  }
  return knownKeysFor(text, login.settings.hostname, login.settings.port);
}

/** Undefined when the offered key is the expected one, else why it is refused. */
export function judgeOffered(
  login: Login,
  offered: Buffer,
  known: ReturnType<typeof knownKeysFor>,
): HostKeyRejected | undefined {
  const { hostKey, knownHosts, hostname, port } = login.settings;
  const print = fingerprint(offered);
  if (hostKey !== undefined) {
    if (print === hostKey) return undefined;
    return new HostKeyRejected(
      `${login.name} offered host key ${print}, not the pinned ${hostKey}: refused (if the host key was ` +
        `changed on purpose, pin the new one in host.host_key)`,
      login.name,
      print,
      'not-pinned',
    );
  }
  const verdict = judgeHostKey(known, offered);
  if (verdict === 'match') return undefined;
  const entry = hostEntryName(hostname, port);
  const messages = {
    unknown:
      `${login.name} offered host key ${print}, which ${knownHosts} does not list for ${entry}: refused. ` +
      `Check the fingerprint with the host's owner, then add it (ssh-keyscan -p ${port} ${hostname} >> ${knownHosts}) ` +
      `or pin it in host.host_key`,
    changed:
      `${login.name} offered host key ${print}, but ${knownHosts} lists another key for ${entry}: refused ` +
      `(the host key changed: someone may be intercepting the connection, or the host was reinstalled)`,
    revoked: `${login.name} offered host key ${print}, which ${knownHosts} marks @revoked: refused`,
  };
  return new HostKeyRejected(messages[verdict], login.name, print, verdict);
}
