/**
 * The status page's routes on the triggerer's HTTP server: the page and its files at `/`, its
 * read-only JSON API under `/api/`, live updates as Server-Sent Events (`/api/stream`), and two
 * actions that need the token (`POST /api/triggers/<id>/cancel`, `POST /api/jobs/<name>/stop`).
 *
 * A request that reaches the server over loopback must name a loopback or IP address as its Host:
 * a web page elsewhere that points a DNS name of its own at 127.0.0.1 (DNS rebinding) cannot read
 * the page through the operator's browser.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { cancel } from '../client/cancel.js';
import { RedisConnectionError, TriggerAlreadyFinished, TriggerNotFound } from '../client/errors.js';
import { TRIGGER_STATES, type TriggerList, type TriggerState } from '../client/status.js';
import { JobNotRunning } from '../jobs/errors.js';
import { requestStop } from '../jobs/runs.js';
import type { HttpRoutes } from '../triggerer/http.js';
import type { TriggererView } from '../triggerer/view.js';
import { loadAssets, securityHeaders, type Asset } from './assets.js';
import { MAX_NAME_CHARS, redisMessage, StatusReader, type Overview, type TriggerFilter } from './reader.js';
import { LiveStream } from './stream.js';
import { within } from '../util/within.js';
import type { StatusToken } from './token.js';

/** Options for {@link statusPage}. */
export interface StatusPageOptions {
  /** The token the actions require; without one they are always refused. @default none */
  token?: StatusToken;
  /** Period of the live updates in ms. @default 2000 */
  refreshMs?: number;
  /** Live-update listeners at once. @default 32 */
  maxClients?: number;
  /** Polls the page makes at once of endpoints no watcher polls (while someone looks). @default 4 */
  maxPagePolls?: number;
  /** Where actions are logged. @default not logged */
  logger?: Logger;
}

/** How long a tick waits for the page's own endpoint polls. */
const POLL_WAIT_MS = 1000;

/** What each live-update listener gets. */
type TriggersOrError = TriggerList | { error: string };

/** The status page for the triggerer `view` shows, as routes of its HTTP server. */
export function statusPage(options: StatusPageOptions = {}): (view: TriggererView) => HttpRoutes {
  const assets = loadAssets();
  return (view) => new StatusRoutes(view, options, assets);
}

class StatusRoutes implements HttpRoutes {
  private readonly reader: StatusReader;
  private readonly stream: LiveStream<Overview, TriggersOrError, TriggerFilter>;
  private readonly headers = securityHeaders();
  private readonly polling = new Set<string>();
  private readonly refreshMs: number;

  constructor(
    private readonly view: TriggererView,
    private readonly options: StatusPageOptions,
    private readonly assets: Map<string, Asset>,
  ) {
    this.refreshMs = options.refreshMs ?? 2000;
    this.reader = new StatusReader(view);
    this.stream = new LiveStream({
      shared: () => this.overview(),
      own: (filter) => this.triggers(filter),
      keyOf: (filter) => `${filter.state ?? ''}\u0000${filter.endpoint ?? ''}`,
      intervalMs: this.refreshMs,
      maxClients: options.maxClients ?? 32,
      headers: this.headers,
    });
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const url = new URL(request.url ?? '/', 'http://page');
    const path = url.pathname;
    const asset = this.assets.get(path);
    if (!asset && path !== '/api' && !path.startsWith('/api/')) return false;
    if (!hostAllowed(request)) {
      this.json(response, 403, { error: 'refused: a request over loopback must name a loopback or IP host' });
      return true;
    }
    const method = request.method ?? 'GET';
    if (asset) {
      if (method !== 'GET' && method !== 'HEAD') return this.notAllowed(response, 'GET, HEAD');
      this.asset(request, response, asset);
      return true;
    }
    const parts = path.slice('/api/'.length).split('/').map(decodeSegment);
    if (parts.some((part) => part.length > MAX_NAME_CHARS)) {
      this.json(response, 400, { error: `a name or id longer than ${MAX_NAME_CHARS} characters` });
      return true;
    }
    if (method === 'POST') return this.action(request, response, parts);
    if (method !== 'GET' && method !== 'HEAD') return this.notAllowed(response, 'GET, HEAD, POST');
    const [what, id, extra] = parts;
    if (what === 'overview' && id === undefined) {
      this.json(response, 200, await this.overview());
    } else if (what === 'stream' && id === undefined) {
      const filter = filterOf(url);
      if (typeof filter === 'string') this.json(response, 400, { error: filter });
      else if (!this.stream.add(request, response, filter)) {
        this.json(response, 503, { error: 'too many live views open; close one and reload' });
      }
    } else if (what === 'triggers' && id === undefined) {
      const filter = filterOf(url);
      if (typeof filter === 'string') this.json(response, 400, { error: filter });
      else {
        const list = await this.triggers(filter);
        this.json(response, 'error' in list ? 503 : 200, list);
      }
    } else if (what === 'triggers' && id !== undefined && extra === undefined) {
      await this.trigger(response, id);
    } else {
      this.json(response, 404, { error: `no such API path: ${path.slice(0, 200)}` });
    }
    return true;
  }

  async close(): Promise<void> {
    await this.stream.close();
    await this.reader.close();
  }

  /**
   * The overview, after the page's polls of endpoints no watcher polls: waited for a moment, so
   * that a tick shows what they saw unless an endpoint is slow to answer (then the next one does).
   */
  private async overview(): Promise<Overview> {
    await within(Promise.all(this.pollIdleEndpoints()), POLL_WAIT_MS);
    return this.reader.overview(this.options.token !== undefined);
  }

  private async triggers(filter: TriggerFilter): Promise<TriggersOrError> {
    try {
      return await this.reader.triggers(filter);
    } catch (error) {
      return { error: redisMessage(error) };
    }
  }

  private async trigger(response: ServerResponse, id: string): Promise<void> {
    try {
      this.json(response, 200, await this.reader.trigger(id));
    } catch (error) {
      if (error instanceof TriggerNotFound) this.json(response, 404, { error: error.message });
      else this.json(response, 503, { error: redisMessage(error) });
    }
  }

  /**
   * Polls, in the background, the configured endpoints that no watcher of this triggerer polls and
   * that were not polled within a refresh period: the stalest first, at most `maxPagePolls` at once.
   */
  private pollIdleEndpoints(): Promise<void>[] {
    const counters = this.view.pollCounters();
    const lastPoll = new Map(this.view.endpoints().map((row) => [row.name, row.lastPollAt]));
    // Half a period: a poll made at the previous tick is due at this one, whatever the jitter.
    const due = Date.now() - this.refreshMs / 2;
    const idle = this.view
      .endpointNames()
      .filter((name) => !this.polling.has(name) && !(counters[name]?.subscribers ?? 0))
      .filter((name) => (lastPoll.get(name) ?? 0) <= due)
      .sort((a, b) => (lastPoll.get(a) ?? 0) - (lastPoll.get(b) ?? 0));
    const room = (this.options.maxPagePolls ?? 4) - this.polling.size;
    return idle.slice(0, Math.max(0, room)).map((name) => {
      this.polling.add(name);
      return this.view.pollEndpoint(name).finally(() => this.polling.delete(name));
    });
  }

  /** `POST /api/triggers/<id>/cancel` and `POST /api/jobs/<name>/stop`, with the token. */
  private async action(
    request: IncomingMessage,
    response: ServerResponse,
    parts: string[],
  ): Promise<boolean> {
    request.resume();
    const [what, name, verb, extra] = parts;
    const known =
      extra === undefined &&
      name !== undefined &&
      ((what === 'triggers' && verb === 'cancel') || (what === 'jobs' && verb === 'stop'));
    if (!known) {
      this.json(response, 404, { error: 'no such action' });
      return true;
    }
    const { token } = this.options;
    if (!token) {
      this.json(response, 403, {
        error:
          'actions are off: no status token is configured (status_token_file or $SUPERVISOR_TRIGGERER_STATUS_TOKEN)',
      });
      return true;
    }
    if (!token.accepts(request.headers.authorization)) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="supervisor-triggerer"');
      this.json(response, 401, {
        error: 'refused: this action needs the status token (Authorization: Bearer)',
      });
      return true;
    }
    const reason = `${what === 'triggers' ? 'cancelled' : 'stopped'} from the status page`;
    try {
      if (what === 'triggers') {
        const result = await cancel(name, {
          connection: this.reader.connectionOptions,
          prefix: this.view.prefix,
          reason,
        });
        this.options.logger?.info(
          { triggerId: name, state: result.state },
          'trigger cancelled from the status page',
        );
        this.json(response, 202, { triggerId: name, state: result.state, requested: true });
      } else {
        const stop = await requestStop(this.reader.runStore(), this.reader.connectionOptions, name, {
          reason,
          prefix: this.view.prefix,
        });
        this.options.logger?.info(
          { job: name, runId: stop.runId },
          'job stop requested from the status page',
        );
        this.json(response, 202, { job: name, runId: stop.runId, requested: true });
      }
    } catch (error) {
      if (error instanceof TriggerNotFound) this.json(response, 404, { error: error.message });
      else if (error instanceof TriggerAlreadyFinished || error instanceof JobNotRunning) {
        this.json(response, 409, { error: error.message });
      } else if (error instanceof RedisConnectionError) this.json(response, 503, { error: error.message });
      else this.json(response, 500, { error: redisMessage(error) });
    }
    return true;
  }

  private asset(request: IncomingMessage, response: ServerResponse, asset: Asset): void {
    const headers = {
      ...this.headers,
      'Content-Type': asset.type,
      'Cache-Control': 'no-cache',
      ETag: asset.etag,
    };
    if (request.headers['if-none-match'] === asset.etag) {
      response.writeHead(304, headers);
      response.end();
      return;
    }
    response.writeHead(200, { ...headers, 'Content-Length': asset.body.length });
    response.end(request.method === 'HEAD' ? undefined : asset.body);
  }

  private notAllowed(response: ServerResponse, allow: string): true {
    response.setHeader('Allow', allow);
    this.json(response, 405, { error: 'method not allowed' });
    return true;
  }

  private json(response: ServerResponse, code: number, body: unknown): void {
    if (response.headersSent) {
      response.end();
      return;
    }
    response.writeHead(code, {
      ...this.headers,
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
    });
    response.end(response.req.method === 'HEAD' ? undefined : JSON.stringify(body));
  }
}

/** The trigger filter of a query (`state`, `endpoint`), or why it is not one. */
function filterOf(url: URL): TriggerFilter | string {
  const state = url.searchParams.get('state') ?? '';
  const endpoint = url.searchParams.get('endpoint') ?? '';
  if (state !== '' && !(TRIGGER_STATES as readonly string[]).includes(state)) {
    return `unknown state: expected one of ${TRIGGER_STATES.join(', ')}`;
  }
  if (endpoint.length > MAX_NAME_CHARS) return `endpoint name longer than ${MAX_NAME_CHARS} characters`;
  return {
    ...(state !== '' && { state: state as TriggerState }),
    ...(endpoint !== '' && { endpoint }),
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.']);

/** A request that came over loopback names a loopback name or an IP address as its host. */
function hostAllowed(request: IncomingMessage): boolean {
  const local = request.socket.localAddress ?? '';
  const loopback = local === '::1' || local.startsWith('127.') || local.startsWith('::ffff:127.');
  if (!loopback) return true;
  const host = (request.headers.host ?? '').toLowerCase();
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return LOOPBACK_NAMES.has(name) || name.endsWith('.localhost') || isIP(name) !== 0;
}
