/** SSH failures as the host's typed errors, each naming the host and the cause (never a secret). */
import { HostAuthenticationFailed, HostError, HostUnreachable, RemoteCommandFailed } from './errors.js';
import type { Login } from './ssh-login.js';

/** A failed connection or login. */
export function connectError(login: Login, error: Error & { level?: string; code?: string }): HostError {
  const { settings } = login;
  switch (error.level) {
    case 'client-authentication': {
      const offered = [
        settings.identityFile && `identity_file ${settings.identityFile}`,
        settings.agent !== false && 'the agent',
      ].filter(Boolean);
      return new HostAuthenticationFailed(
        `${login.name} refused the key (${offered.join(', ')}): its public key is not in ` +
          `~${settings.username}/.ssh/authorized_keys there`,
        login.name,
        { cause: error },
      );
    }
    case 'client-timeout':
      return new HostUnreachable(
        `${login.name} did not complete the login within ${settings.connectTimeoutMs} ms (connect_timeout)`,
        login.name,
        'ETIMEDOUT',
        { cause: error },
      );
    case 'client-socket':
    case 'client-dns':
      return new HostUnreachable(
        `${login.name} is unreachable (${error.code ?? error.message})`,
        login.name,
        error.code,
        {
          cause: error,
        },
      );
    default:
      return new HostUnreachable(
        `${login.name}: SSH handshake failed (${error.message})`,
        login.name,
        error.code,
        {
          cause: error,
        },
      );
  }
}

/** A channel (exec, sftp) refused by a live connection. */
export function channelError(login: Login, error: Error, what: string): HostError {
  return new RemoteCommandFailed(
    `${login.name} refused a channel for ${what} (${error.message})`,
    login.name,
    {
      cause: error,
    },
  );
}

/** A forwarding refused: nothing listens there (ECONNREFUSED), or sshd forbids forwarding. */
export function forwardError(login: Login, error: Error & { reason?: number }, what: string): Error {
  const prohibited = error.reason === 1;
  const reason = prohibited
    ? `${login.name} does not allow forwarding (sshd: AllowStreamLocalForwarding / AllowTcpForwarding)`
    : `${login.name} could not connect to ${what} (${error.message})`;
  return Object.assign(new HostError(reason, login.name, { cause: error }), {
    code: prohibited ? 'EACCES' : 'ECONNREFUSED',
  });
}
