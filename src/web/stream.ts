/**
 * The page's live updates: Server-Sent Events. While anyone listens, one tick every `intervalMs`
 * reads the overview once for everybody and each distinct trigger filter once for the listeners
 * that share it, and sends each listener one `data:` message. Bounded: at most `maxClients`
 * listeners (one more is refused with 503), and a listener that does not keep up (its unsent data
 * past `maxBufferBytes`) is dropped rather than buffered without end. Ticks never overlap.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What one listener gets at each tick. */
export interface Tick<Shared, Own> {
  shared: Shared;
  own: Own;
}

/** Options for {@link LiveStream}. */
export interface LiveStreamOptions<Shared, Own, Filter> {
  /** Reads what every listener gets (once per tick). */
  shared: () => Promise<Shared>;
  /** Reads what the listeners of one filter get (once per tick and distinct filter). */
  own: (filter: Filter) => Promise<Own>;
  /** The key listeners with the same filter share. */
  keyOf: (filter: Filter) => string;
  /** @default 2000 */
  intervalMs?: number;
  /** @default 32 */
  maxClients?: number;
  /** @default 1 MiB */
  maxBufferBytes?: number;
  /** Headers of the event stream besides its type (the page's security headers). */
  headers?: Record<string, string>;
}

interface Listener<Filter> {
  response: ServerResponse;
  filter: Filter;
}

/** A Server-Sent Events broadcast of a periodic read. */
export class LiveStream<Shared, Own, Filter> {
  private readonly listeners = new Set<Listener<Filter>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private closed = false;
  /** A listener joined during a tick: the next one starts at once. */
  private soon = false;
  private readonly intervalMs: number;
  private readonly maxClients: number;
  private readonly maxBufferBytes: number;

  constructor(private readonly options: LiveStreamOptions<Shared, Own, Filter>) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.maxClients = options.maxClients ?? 32;
    this.maxBufferBytes = options.maxBufferBytes ?? 1 << 20;
  }

  /** Listeners now. */
  get size(): number {
    return this.listeners.size;
  }

  /** Starts sending to `response`; false (nothing sent) when the stream is full or closed. */
  add(request: IncomingMessage, response: ServerResponse, filter: Filter): boolean {
    if (this.closed || this.listeners.size >= this.maxClients) return false;
    response.writeHead(200, {
      ...this.options.headers,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    // The browser reconnects by itself after this long when the connection drops.
    response.write(`retry: ${this.intervalMs}\n\n`);
    const listener = { response, filter };
    this.listeners.add(listener);
    const remove = () => this.listeners.delete(listener);
    request.once('close', remove);
    response.once('close', remove);
    // The first data now, not a whole interval later.
    this.schedule(0);
    return true;
  }

  /** Ends every listener and stops ticking. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const { response } of this.listeners) response.end();
    this.listeners.clear();
    await this.ticking;
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.listeners.size === 0) return;
    if (this.ticking) {
      if (delayMs === 0) this.soon = true;
      return;
    }
    if (this.timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // The readers report their own failures in what they return; anything else skips a tick.
      this.ticking = this.tick()
        .catch(() => undefined)
        .finally(() => {
          this.ticking = undefined;
          const again = this.soon;
          this.soon = false;
          this.schedule(again ? 0 : this.intervalMs);
        });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const listeners = [...this.listeners];
    if (listeners.length === 0) return;
    const shared = await this.options.shared();
    const owns = new Map<string, Promise<Own>>();
    for (const { filter } of listeners) {
      const key = this.options.keyOf(filter);
      if (!owns.has(key)) owns.set(key, this.options.own(filter));
    }
    for (const listener of listeners) {
      if (!this.listeners.has(listener)) continue;
      const own = await owns.get(this.options.keyOf(listener.filter))!;
      this.send(listener, { shared, own });
    }
  }

  private send(listener: Listener<Filter>, tick: Tick<Shared, Own>): void {
    const { response } = listener;
    if (response.writableLength > this.maxBufferBytes) {
      // A listener this far behind would hold ever more memory: it reconnects and starts afresh.
      this.listeners.delete(listener);
      response.destroy();
      return;
    }
    response.write(`data: ${JSON.stringify(tick)}\n\n`);
  }
}
