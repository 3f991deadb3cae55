/**
 * Errors a host raises. Each extends `HostError`, names the host (`ssh deploy@box-3:22`, never a
 * secret) and says what is wrong and what to do about it.
 */

/** Base class of every error a host raises on purpose. */
export class HostError extends Error {
  override name = 'HostError';
  constructor(
    message: string,
    /** The host's name, as in its messages. */
    readonly host: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The executable given to `SupervisorHost.run` does not exist on the host. */
export class CommandNotFound extends HostError {
  override name = 'CommandNotFound';
  constructor(
    readonly command: string,
    host = 'local',
  ) {
    super(
      host === 'local' ? `${command}: command not found` : `${command}: command not found on ${host}`,
      host,
    );
  }
}

/** No SSH session could be set up: connection refused or timed out, name unknown, handshake failed. */
export class HostUnreachable extends HostError {
  override name = 'HostUnreachable';
  constructor(
    message: string,
    host: string,
    /** The system error code when there is one, e.g. `ECONNREFUSED`, `ETIMEDOUT`, `ENOTFOUND`. */
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, host, options);
  }
}

/** The SSH server refused every key offered (identity file or agent). */
export class HostAuthenticationFailed extends HostError {
  override name = 'HostAuthenticationFailed';
}

/** The identity file cannot be used: unreadable, not a key, or its passphrase missing or wrong. */
export class IdentityUnusable extends HostError {
  override name = 'IdentityUnusable';
}

/**
 * The server's host key is not the one expected: unknown (no known_hosts entry), changed (entries
 * exist, none matches), revoked, or not the pinned fingerprint. Never accepted silently.
 */
export class HostKeyRejected extends HostError {
  override name = 'HostKeyRejected';
  constructor(
    message: string,
    host: string,
    /** The offered key's `SHA256:…` fingerprint. */
    readonly fingerprint: string,
    readonly reason: 'unknown' | 'changed' | 'revoked' | 'not-pinned',
  ) {
    super(message, host);
  }
}

/** A remote command or file operation did not finish within its timeout. */
export class RemoteCommandTimeout extends HostError {
  override name = 'RemoteCommandTimeout';
  constructor(
    /** What was running, e.g. `kill -s TERM -- 123` or `sftp write /srv/job/x.conf`. */
    readonly command: string,
    host: string,
    readonly timeoutMs: number,
  ) {
    super(`${command} on ${host} timed out after ${timeoutMs} ms`, host);
  }
}

/** A remote helper command (kill, rm) or file operation failed. */
export class RemoteCommandFailed extends HostError {
  override name = 'RemoteCommandFailed';
}
