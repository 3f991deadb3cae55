/**
 * One SSH connection to a host (ssh2), shared by everything in this process that works there: the
 * lifecycle steps' commands and files, and every XML-RPC client's streams to the supervisord. It
 * connects on first use, verifies the host key before anything else, and reconnects on the next use
 * after it drops, with a backoff between failed attempts: a use after a failure waits for the next
 * attempt, which every use waiting meanwhile shares, so a poll every 200 ms does not hammer a host
 * that is down, and the first use after it is back succeeds.
 */
import type { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import type { Client, ClientChannel, ConnectConfig, ServerHostKeyAlgorithm, SFTPWrapper } from 'ssh2';
import type { EndpointTarget, EndpointTunnel } from '../endpoint.js';
import {
  HostError,
  HostUnreachable,
  IdentityUnusable,
  RemoteCommandTimeout,
  type HostKeyRejected,
} from './errors.js';
import type { CommandResult } from './host.js';
import { hostKeyAlgorithms } from './known-hosts.js';
import { channelError, connectError, forwardError } from './ssh-errors.js';
import { agentSocketOf, identityOf, judgeOffered, knownKeysOf } from './ssh-login.js';
import { sshName, type SshHostSettings } from './ssh-options.js';

/** First wait after a failed connection attempt; it doubles up to `reconnectMaxMs`. */
const FIRST_BACKOFF_MS = 250;
/** Output kept of a command (its tail), as the local host keeps it. */
const OUTPUT_KEPT = 20_000;

/** A shared SSH connection; also the tunnel XML-RPC clients reach a remote supervisord through. */
export class SshConnection implements EndpointTunnel {
  /** `ssh user@host:port`. */
  readonly name: string;
  /** Connections made so far: more than one means it reconnected. */
  connects = 0;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private sftpOf: { client: Client; session: Promise<SFTPWrapper> } | undefined;
  private failures = 0;
  private retryAt = 0;
  private closed = false;

  constructor(
    readonly settings: SshHostSettings,
    /** Where the passphrase variable and `SSH_AUTH_SOCK` are read, at each connection. */
    readonly env: NodeJS.ProcessEnv,
  ) {
    this.name = sshName(settings);
  }

  /** Whether `close` was called (a closed connection is never used again). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs `line` through the remote login shell; `what` names it in errors (never a secret). */
  async exec(line: string, { timeoutMs, what }: { timeoutMs: number; what: string }): Promise<CommandResult> {
    const deadline = Date.now() + timeoutMs;
    const client = await this.withTimeout(this.ready(), timeoutMs, what);
    return new Promise((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let settled = false;
      const finish = (error: Error | undefined, result?: CommandResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(result as CommandResult);
      };
      const timer = setTimeout(
        () => {
          // Ask the remote side to kill it, then drop the channel (sshd closes its pipes).
          try {
            channel?.signal('KILL');
            channel?.close();
          } catch {
            // the channel is already gone
          }
          finish(new RemoteCommandTimeout(what, this.name, timeoutMs));
        },
        Math.max(0, deadline - Date.now()),
      );
      const opened = (error: Error | undefined, stream: ClientChannel) => {
        if (error) return finish(channelError(this, error, what));
        channel = stream;
        let output = '';
        const keep = (chunk: Buffer) => {
          output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
        };
        stream.on('data', keep);
        stream.stderr.on('data', keep);
        stream.on('close', (code: number | null | undefined, signal: string | undefined) => {
          if (code === undefined && signal === undefined) {
            finish(
              new HostUnreachable(
                `the connection to ${this.name} was lost while running ${what}`,
                this.name,
                'ECONNRESET',
              ),
            );
            return;
          }
          finish(undefined, { code: code ?? null, signal: signal ?? null, output });
        });
      };
      this.use(client, what, finish, () => client.exec(line, opened));
    });
  }

  /** The SFTP session of the current connection (opened once per connection). */
  async sftp(timeoutMs: number, what: string): Promise<SFTPWrapper> {
    const client = await this.withTimeout(this.ready(), timeoutMs, what);
    if (this.sftpOf?.client !== client) {
      const session = new Promise<SFTPWrapper>((resolve, reject) => {
        this.use(client, what, reject, () =>
          client.sftp((error, sftp) => {
            if (error) return reject(channelError(this, error, 'the SFTP subsystem'));
            sftp.on('close', () => {
              if (this.sftpOf?.client === client) this.sftpOf = undefined;
            });
            resolve(sftp);
          }),
        );
      });
      this.sftpOf = { client, session };
      session.catch(() => {
        if (this.sftpOf?.session === session) this.sftpOf = undefined;
      });
    }
    return this.withTimeout(this.sftpOf.session, timeoutMs, what);
  }

  /** Opens a stream to a unix socket (stream-local forwarding) or a TCP port on the host's side. */
  async open(target: EndpointTarget): Promise<Duplex> {
    const client = await this.ready();
    const what = 'socketPath' in target ? target.socketPath : `${target.host}:${target.port}`;
    return new Promise((resolve, reject) => {
      const opened = (error: Error | undefined, channel: ClientChannel) => {
        if (error) reject(forwardError(this, error, what));
        else resolve(channel);
      };
      this.use(client, `forwarding to ${what}`, reject, () => {
        if ('socketPath' in target) client.openssh_forwardOutStreamLocal(target.socketPath, opened);
        else client.forwardOut('127.0.0.1', 0, target.host, target.port, opened);
      });
    });
  }

  /** Ends the connection; later uses fail. */
  close(): void {
    this.closed = true;
    this.client?.end();
    this.client = undefined;
  }

  toJSON(): string {
    return this.name;
  }

  [inspect.custom](): string {
    return `SshConnection(${this.name})`;
  }

  /** The connected client: the current one, one being made, or a new one once the backoff allows. */
  private ready(): Promise<Client> {
    if (this.closed) {
      return Promise.reject(
        new HostUnreachable(`the connection to ${this.name} is closed`, this.name, undefined),
      );
    }
    if (this.client !== undefined) return Promise.resolve(this.client);
    this.connecting ??= this.attempt().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async attempt(): Promise<Client> {
    const wait = this.retryAt - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (this.closed)
      throw new HostUnreachable(`the connection to ${this.name} is closed`, this.name, undefined);
    try {
      const client = await this.dial();
      this.failures = 0;
      this.retryAt = 0;
      return client;
    } catch (error) {
      const failure =
        error instanceof HostError
          ? error
          : new HostUnreachable(`${this.name}: ${(error as Error).message}`, this.name, undefined, {
              cause: error,
            });
      this.failures += 1;
      const backoffMs = Math.min(this.settings.reconnectMaxMs, FIRST_BACKOFF_MS * 2 ** (this.failures - 1));
      this.retryAt = Date.now() + backoffMs;
      throw failure;
    }
  }

  /** Connects, verifies the host key and logs in. */
  private async dial(): Promise<Client> {
    const { settings } = this;
    // Loaded on first use: it takes ~200 ms, which a process with only local jobs never pays.
    const ssh2 = (await import('ssh2')).default;
    const identity = await identityOf(this, ssh2.utils.parseKey);
    const agent = agentSocketOf(this);
    const known = settings.hostKey === undefined ? await knownKeysOf(this) : [];
    let rejected: HostKeyRejected | undefined;
    const hostVerifier = (offered: Buffer): boolean => {
      rejected = judgeOffered(this, offered, known);
      return rejected === undefined;
    };
    const algorithms = hostKeyAlgorithms(known) as ServerHostKeyAlgorithm[];
    const config: ConnectConfig = {
      host: settings.hostname,
      port: settings.port,
      username: settings.username,
      // ssh2 decrypts the key with the passphrase once, here, and keeps neither.
      ...(identity && { privateKey: identity.key, passphrase: identity.passphrase }),
      ...(agent !== undefined && { agent }),
      hostVerifier,
      readyTimeout: settings.connectTimeoutMs,
      keepaliveInterval: settings.keepaliveIntervalMs,
      keepaliveCountMax: settings.keepaliveCountMax,
      ...(algorithms.length > 0 && { algorithms: { serverHostKey: algorithms } }),
    };
    const client = new ssh2.Client();
    return new Promise((resolve, reject) => {
      let ready = false;
      client.on('ready', () => {
        ready = true;
        // An HTTP request is several small writes: with Nagle on, the second waits for the ACK of
        // the first, which the server delays (~40 ms on every call).
        client.setNoDelay(true);
        void withServerNoDelay(client).then(() => {
          if (this.closed) {
            // Closed while logging in: nobody is to keep this one open.
            client.end();
            reject(new HostUnreachable(`the connection to ${this.name} is closed`, this.name, undefined));
            return;
          }
          this.connects += 1;
          this.client = client;
          resolve(client);
        });
      });
      client.on('error', (error: Error & { level?: string }) => {
        if (!ready) reject(rejected ?? connectError(this, error));
      });
      client.on('close', () => {
        if (this.client === client) this.client = undefined;
        if (this.sftpOf?.client === client) this.sftpOf = undefined;
        if (!ready)
          reject(
            rejected ??
              new HostUnreachable(
                `${this.name} closed the connection while logging in`,
                this.name,
                'ECONNRESET',
              ),
          );
      });
      try {
        client.connect(config);
      } catch (error) {
        reject(new IdentityUnusable(`${this.name}: ${(error as Error).message}`, this.name));
      }
    });
  }

  /**
   * Calls `start` on `client`; a client that dropped since it was handed out throws at once, and
   * that use fails as unreachable (the next use reconnects).
   */
  private use(client: Client, what: string, fail: (error: Error) => void, start: () => void): void {
    try {
      start();
    } catch (error) {
      if (this.client === client) this.client = undefined;
      fail(
        new HostUnreachable(
          `the connection to ${this.name} dropped before ${what} (${(error as Error).message})`,
          this.name,
          'ECONNRESET',
        ),
      );
    }
  }

  private async withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RemoteCommandTimeout(what, this.name, timeoutMs)), timeoutMs);
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Makes sshd send without Nagle on this connection. It sets TCP_NODELAY only for a connection whose
 * first session has a pty (OpenSSH's `ssh_packet_set_interactive`, decided once per connection);
 * otherwise the tail of every response over one TCP segment (a 50-program getAllProcessInfo is
 * ~64 KB) waits for our delayed ACK, ~40 ms per poll. So the first session is a pty that runs
 * `exit`, before any SFTP or command. Resolves when sshd has accepted it, or failed to: without a
 * pty (none on the host, or refused) everything works, only slower.
 */
function withServerNoDelay(client: Client): Promise<void> {
  return new Promise((resolve) => {
    try {
      client.exec('exit 0', { pty: true }, (error, channel) => {
        // Left to end by itself: closed early, its hang-up would kill the login shell in the middle
        // of its rc files (a killed `pyenv init` leaves a lock that stalls every later login).
        if (!error) channel.resume();
        resolve();
      });
    } catch {
      resolve();
    }
  });
}
