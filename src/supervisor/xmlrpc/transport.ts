/**
 * XML-RPC over HTTP to supervisord, on a unix socket or TCP, with our own timeout, status checks and
 * error translation (the `xmlrpc` package ignores timeouts and reports 401/500 as parse errors).
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import type { EndpointTarget, EndpointTunnel, SupervisorEndpoint } from '../endpoint.js';
import {
  AuthenticationError,
  CallTimeout,
  ConnectionLost,
  EndpointUnreachable,
  InvalidEndpoint,
  ProtocolError,
  SupervisorServerError,
  faultFor,
} from '../errors.js';
import { DecodeError, decodeResponse, type XmlRpcValue } from './decode.js';
import { encodeCall, type XmlRpcParam } from './encode.js';
import { TunnelAgent, TunnelOpenError } from './tunnel-agent.js';

/** How the transport talks to the endpoint. */
export interface TransportOptions {
  /**
   * Reuse TCP connections between calls. supervisord never sets TCP_NODELAY, so on a kept-alive TCP
   * connection every response over ~4 KB stalls ~40 ms (Nagle vs delayed ACK); a fresh connection per
   * call is faster for anything but tiny responses (see bench/RESULTS.md). Unix sockets are always
   * kept alive: they have no Nagle. @default false
   */
  tcpKeepAlive?: boolean;
}

/** Per-call options. */
export interface CallOptions {
  /** Safe to repeat: retried once on a connection reset. @default false */
  readOnly?: boolean;
  /** Overrides the endpoint's timeout for this call (for long waiting calls). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * The largest response body read (64 MiB): supervisord's biggest answers (a log read, every
 * process's info) are far smaller; something larger is not supervisord, and is not buffered.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EACCES',
  'ENOTSOCK',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
const RESET = new Set(['ECONNRESET', 'EPIPE']);

type Target = EndpointTarget;

/** Sends XML-RPC calls to one supervisord and turns every failure into a `SupervisorError`. */
export class XmlRpcTransport {
  /** The endpoint URL, safe to log (credentials never appear in it). */
  readonly url: string;
  /** The URL and, for a tunnel, the way through it: what messages name. */
  private readonly where: string;
  private readonly tunnel: EndpointTunnel | undefined;
  private readonly target: Target;
  private readonly path: string;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;
  private readonly keepAlive: boolean;
  private agent: Agent;
  private generation = 0;

  constructor(endpoint: SupervisorEndpoint, options: TransportOptions = {}) {
    const parsed = parseEndpointUrl(endpoint.url);
    this.url = endpoint.url;
    this.tunnel = endpoint.tunnel;
    this.where = this.tunnel === undefined ? this.url : `${this.url} via ${this.tunnel.name}`;
    this.target = parsed.target;
    this.path = parsed.path;
    const timeoutMs = endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new InvalidEndpoint(`timeoutMs must be a positive number, got ${timeoutMs}`, this.url);
    }
    this.timeoutMs = timeoutMs;
    if (endpoint.username !== undefined && endpoint.username !== '') {
      const token = Buffer.from(`${endpoint.username}:${endpoint.password ?? ''}`).toString('base64');
      this.authorization = `Basic ${token}`;
    }
    this.keepAlive = 'socketPath' in this.target || options.tcpKeepAlive === true;
    this.agent = this.newAgent();
  }

  /** Calls `method` and resolves with its decoded result, or rejects with a `SupervisorError`. */
  async call(
    method: string,
    params: readonly XmlRpcParam[] = [],
    options: CallOptions = {},
  ): Promise<XmlRpcValue> {
    const body = encodeCall(method, params);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const generation = this.generation;
    let response: { status: number; text: string };
    try {
      response = await this.post(method, body, timeoutMs);
    } catch (error) {
      const retry =
        options.readOnly === true && error instanceof ConnectionLost && generation === this.generation;
      if (!retry) throw error;
      response = await this.post(method, body, timeoutMs);
    }
    return this.interpret(method, response);
  }

  /**
   * Opens `GET path` (same auth, same way in) and resolves with the response once its head says
   * 200: for supervisord's streams (`/logtail/...`), which never end by themselves. The caller
   * destroys the response to end it; close() ends it too.
   */
  stream(path: string): Promise<IncomingMessage> {
    const headers: Record<string, string> = {};
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    const what = `GET ${path}`;
    return new Promise((resolve, reject) => {
      const req = request({ ...this.target, path, method: 'GET', headers, agent: this.agent }, (res) => {
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        if (status === 200) {
          resolve(res);
          return;
        }
        res.destroy();
        reject(
          status === 401
            ? new AuthenticationError(
                `supervisord at ${this.where} rejected the credentials (HTTP 401)`,
                this.url,
              )
            : new SupervisorServerError(
                `supervisord at ${this.where} answered HTTP ${status} to ${what}`,
                this.url,
                status,
                what,
              ),
        );
      });
      const timer = setTimeout(() => {
        req.destroy(
          new CallTimeout(
            `${what} at ${this.where} timed out after ${this.timeoutMs} ms`,
            this.url,
            what,
            this.timeoutMs,
          ),
        );
      }, this.timeoutMs);
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error instanceof CallTimeout ? error : this.translate(what, error));
      });
      req.end();
    });
  }

  /** Releases every socket. Calls in flight fail; later calls open new connections. */
  close(): void {
    this.generation++;
    this.agent.destroy();
    this.agent = this.newAgent();
  }

  private newAgent(): Agent {
    // Few sockets: supervisord is one single-threaded loop, more connections only queue there.
    const options = { keepAlive: this.keepAlive, maxSockets: 4, maxFreeSockets: 2 };
    return this.tunnel === undefined
      ? new Agent(options)
      : new TunnelAgent(this.tunnel, this.target, options);
  }

  private interpret(method: string, { status, text }: { status: number; text: string }): XmlRpcValue {
    if (status === 401) {
      throw new AuthenticationError(
        `supervisord at ${this.where} rejected the credentials (HTTP 401)`,
        this.url,
      );
    }
    if (status !== 200) {
      throw new SupervisorServerError(
        `supervisord at ${this.where} answered HTTP ${status} to ${method}`,
        this.url,
        status,
        method,
      );
    }
    let decoded;
    try {
      decoded = decodeResponse(text);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      throw new ProtocolError(
        `${method} at ${this.where}: not an XML-RPC response: ${error.message}`,
        this.url,
        {
          cause: error,
        },
      );
    }
    if (decoded.kind === 'fault') throw faultFor(decoded.code, decoded.faultString, this.url, method);
    return decoded.value;
  }

  private post(method: string, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = {
      'content-type': 'text/xml',
      'content-length': String(Buffer.byteLength(body)),
    };
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    if (!this.keepAlive) headers.connection = 'close';
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | undefined, value?: { status: number; text: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(value as { status: number; text: string });
      };
      const req = request(
        { ...this.target, path: this.path, method: 'POST', headers, agent: this.agent },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              finish(
                new ProtocolError(
                  `${method} at ${this.where}: the response is larger than ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB`,
                  this.url,
                ),
              );
              req.destroy();
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            if (!res.complete) {
              finish(
                new ConnectionLost(`${method} at ${this.where}: response cut short`, this.url, 'ECONNRESET'),
              );
              return;
            }
            finish(undefined, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (error) => finish(this.translate(method, error)));
        },
      );
      const timer = setTimeout(() => {
        finish(
          new CallTimeout(
            `${method} at ${this.where} timed out after ${timeoutMs} ms`,
            this.url,
            method,
            timeoutMs,
          ),
        );
        req.destroy();
      }, timeoutMs);
      req.on('error', (error) => finish(this.translate(method, error)));
      req.end(body);
    });
  }

  private translate(method: string, error: Error): Error {
    if (error instanceof TunnelOpenError) {
      return new EndpointUnreachable(
        `supervisord at ${this.where} is unreachable: ${error.message}`,
        this.url,
        error.code,
        { cause: error.cause },
      );
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && RESET.has(code)) {
      return new ConnectionLost(`${method} at ${this.where}: connection lost (${code})`, this.url, code, {
        cause: error,
      });
    }
    const reason = code !== undefined && UNREACHABLE.has(code) ? code : (code ?? error.message);
    return new EndpointUnreachable(
      `supervisord at ${this.where} is unreachable (${reason})`,
      this.url,
      code,
      {
        cause: error,
      },
    );
  }
}

/** Splits an endpoint URL into a socket path or host/port and the HTTP path; refuses credentials. */
function parseEndpointUrl(url: string): { target: Target; path: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidEndpoint(
      `not a URL: expected unix:///abs/path.sock or http://host:port/RPC2`,
      '<invalid url>',
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    const safe = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
    throw new InvalidEndpoint(`credentials are not allowed in the URL ${safe}: use username/password`, safe);
  }
  if (parsed.protocol === 'unix:') {
    const socketPath = decodeURIComponent(parsed.pathname);
    if (!socketPath.startsWith('/') || parsed.host !== '') {
      throw new InvalidEndpoint(
        `a unix endpoint needs an absolute path: unix:///abs/path.sock, got ${url}`,
        url,
      );
    }
    return { target: { socketPath }, path: '/RPC2' };
  }
  if (parsed.protocol === 'http:') {
    const port = parsed.port === '' ? 80 : Number(parsed.port);
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    const path = parsed.pathname === '/' || parsed.pathname === '' ? '/RPC2' : parsed.pathname;
    return { target: { host, port }, path };
  }
  throw new InvalidEndpoint(`unsupported scheme ${parsed.protocol} in ${url}: use unix:// or http://`, url);
}
