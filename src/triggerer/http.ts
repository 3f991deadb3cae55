/**
 * The triggerer's health and metrics server: `/metrics` (Prometheus text), `/healthz` (liveness: the
 * event loop answers) and `/readyz` (readiness: Redis connected and the worker claiming), plus the
 * routes it is given (the status page, src/web/). Plain node:http, loopback by default; read-only
 * but for the routes' own token-guarded actions.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from './options.js';
import { TriggererError } from './errors.js';

/** What the daemon reports about itself at each probe. */
export interface HealthStatus {
  /** The process can make progress (false: restart it). */
  live: boolean;
  /** The process can take work: Redis connected and the worker running. */
  ready: boolean;
  /** Why, in a few fields (served as JSON; never credentials). */
  detail?: Record<string, unknown>;
}

/** What `/metrics` serves (TriggererMetrics in production). */
export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

/**
 * More routes on the same server (the status page): tried first, for any method; a request they do
 * not take falls through to /metrics, /healthz and /readyz.
 */
export interface HttpRoutes {
  /** Answers the request and resolves true, or resolves false to leave it to the next routes. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
  /** Ends what they hold open (streams, timers, connections); called when the server closes. */
  close?(): Promise<void>;
}

/** Options for {@link startHealthServer}. */
export interface HealthServerOptions {
  /** TCP port; 0 picks a free one. @default 9464 */
  port?: number;
  /** Address to bind. @default '127.0.0.1' */
  host?: string;
  metrics: MetricsSource;
  health: () => HealthStatus | Promise<HealthStatus>;
  /** Routes tried before the health and metrics ones (the status page). @default none */
  routes?: HttpRoutes;
}

/** A running health server. */
export interface HealthServer {
  /** The bound port (the chosen one when 0 was asked). */
  port: number;
  host: string;
  /** `http://host:port`. */
  url: string;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

/** The port or host cannot be used. */
export class HealthServerError extends TriggererError {
  override name = 'HealthServerError';
}

/** Starts the health and metrics server; resolves once it listens. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const port = options.port ?? DEFAULT_METRICS_PORT;
  const host = options.host ?? DEFAULT_METRICS_HOST;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new HealthServerError(`metrics port must be an integer from 0 to 65535, got ${port}`);
  }
  const server = createServer((request, response) => {
    // Nothing this server answers may be sniffed as another type or framed by another site.
    response.setHeader('X-Content-Type-Options', 'nosniff');
    handle(request, response, options).catch((error: unknown) => {
      send(response, 500, 'text/plain; charset=utf-8', `${(error as Error).message ?? String(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new HealthServerError(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    host,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await options.routes?.close?.();
      await closed;
    },
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  options: HealthServerOptions,
): Promise<void> {
  if (options.routes && (await options.routes.handle(request, response))) return;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  const path = (request.url ?? '/').split('?')[0];
  switch (path) {
    case '/metrics':
      send(response, 200, options.metrics.contentType, await options.metrics.render());
      return;
    case '/healthz':
    case '/readyz': {
      const status = await options.health();
      const ok = path === '/healthz' ? status.live : status.live && status.ready;
      const body = {
        live: status.live,
        ready: status.ready,
        ...(status.detail && { detail: status.detail }),
      };
      send(response, ok ? 200 : 503, 'application/json', `${JSON.stringify(body)}\n`);
      return;
    }
    default:
      send(
        response,
        404,
        'text/plain; charset=utf-8',
        `not found: try ${options.routes ? '/, ' : ''}/metrics, /healthz, /readyz\n`,
      );
  }
}

function send(response: ServerResponse, code: number, type: string, body: string): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  response.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
