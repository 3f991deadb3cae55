/**
 * Cancellation across processes. BullMQ's `worker.cancelJob` reaches only its own process, so a
 * cancel is two things in Redis: a durable marker `<prefix>:st:cancel:<triggerId>` (with a TTL) and a
 * message on the channel `<prefix>:st:cancel`. The holder of an active trigger hears the message; a
 * trigger that is waiting, being handed off or being claimed while the message flies is caught by the
 * marker, which every triggerer checks right after it claims a job (after it started listening for
 * that trigger, so no cancel falls in between).
 */
import type { RedisClient } from '../redis/connection.js';
import type { ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import { CancelRequestSchema, DEFAULT_PREFIX, protocolKeys, type CancelRequest } from '../protocol/index.js';
import { closeConnection, connect } from '../redis/connection.js';

export { CANCEL_MARKER_TTL_S, CancelRequestSchema, type CancelRequest } from '../protocol/index.js';

/** The pub/sub channel cancels are announced on. */
export function cancelChannel(prefix = DEFAULT_PREFIX): string {
  return protocolKeys(prefix).cancelChannel;
}

/** The marker key of one trigger's cancel. */
export function cancelMarkerKey(triggerId: string, prefix = DEFAULT_PREFIX): string {
  return protocolKeys(prefix).cancelMarker(triggerId);
}

/** The cancel requests heard for one trigger held here. */
export class CancelListener {
  /** The latest request heard, if any (kept until a callback is set, and after). */
  latest: CancelRequest | undefined;
  private callback: ((request: CancelRequest) => void) | undefined;

  /** Calls `callback` with every request heard from now on, and at once with the latest one. */
  onRequest(callback: (request: CancelRequest) => void): void {
    this.callback = callback;
    if (this.latest) callback(this.latest);
  }

  /** A request for this trigger was heard. */
  hear(request: CancelRequest): void {
    this.latest = request;
    this.callback?.(request);
  }

  /** No more calls. */
  clear(): void {
    this.callback = undefined;
  }
}

/** The triggerer's side: listens on the channel and reads markers. */
export class CancelSignals {
  private readonly listening = new Map<string, CancelListener>();
  /** Markers asked for since the last read, read together on the next turn. */
  private readonly wanted: {
    key: string;
    resolve: (text: string | null) => void;
    reject: (error: unknown) => void;
  }[] = [];
  private subscriber: RedisClient | undefined;
  private reader: RedisClient | undefined;

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to the channel; resolves once subscribed. */
  async start(): Promise<void> {
    // A burst of claims reads thousands of markers in one turn: one write for all of them.
    const errors = { logger: this.logger, what: 'cancel' };
    this.reader = connect(this.connection, { enableAutoPipelining: true }, errors);
    this.subscriber = connect(this.connection, {}, errors);
    this.subscriber.on('message', (_channel: string, message: string) => this.onMessage(message));
    // After a reconnect ioredis re-subscribes, but messages sent meanwhile are lost: re-read markers.
    this.subscriber.on('ready', () => void this.recheck());
    await this.subscriber.subscribe(cancelChannel(this.prefix));
  }

  /**
   * Cancel requests for a trigger this process holds; the latest is kept, so one that arrives
   * before the watcher is set up is not lost. Call {@link release} when the trigger is done here.
   */
  listen(triggerId: string): CancelListener {
    let listener = this.listening.get(triggerId);
    if (!listener) {
      listener = new CancelListener();
      this.listening.set(triggerId, listener);
    }
    return listener;
  }

  /** Stops listening for a trigger. */
  release(triggerId: string): void {
    this.listening.get(triggerId)?.clear();
    this.listening.delete(triggerId);
  }

  /**
   * The cancel marker of this job (matched by creation time), or undefined. The markers asked for in
   * one turn of the event loop (a burst of claims, an adopted batch) are read with one MGET.
   */
  async marker(triggerId: string, jobTimestamp: number): Promise<CancelRequest | undefined> {
    if (!this.reader) return undefined;
    const text = await new Promise<string | null>((resolve, reject) => {
      this.wanted.push({ key: cancelMarkerKey(triggerId, this.prefix), resolve, reject });
      if (this.wanted.length === 1) setImmediate(() => this.readWanted());
    });
    const request = parseRequest(text);
    return request && request.jobTimestamp === jobTimestamp ? request : undefined;
  }

  private readWanted(): void {
    const wanted = this.wanted.splice(0);
    const reader = this.reader;
    if (!reader) {
      for (const w of wanted) w.resolve(null);
      return;
    }
    reader.mget(wanted.map((w) => w.key)).then(
      (texts) => wanted.forEach((w, i) => w.resolve(texts[i] ?? null)),
      (error: unknown) => wanted.forEach((w) => w.reject(error)),
    );
  }

  /** Closes both connections. */
  async close(): Promise<void> {
    for (const listener of this.listening.values()) listener.clear();
    this.listening.clear();
    await Promise.all([this.subscriber, this.reader].map((redis) => redis && closeConnection(redis)));
  }

  private onMessage(message: string): void {
    const request = parseRequest(message);
    if (!request) {
      this.logger.warn('ignoring a malformed cancel message');
      return;
    }
    this.listening.get(request.triggerId)?.hear(request);
  }

  private async recheck(): Promise<void> {
    if (!this.reader || this.listening.size === 0) return;
    const ids = [...this.listening.keys()];
    try {
      const texts = await this.reader.mget(ids.map((id) => cancelMarkerKey(id, this.prefix)));
      // The job timestamp is checked where the request is consumed (the daemon knows its job).
      texts.forEach((text) => {
        const request = parseRequest(text);
        if (request) this.listening.get(request.triggerId)?.hear(request);
      });
    } catch (error) {
      this.logger.warn({ err: error }, 'could not re-read cancel markers');
    }
  }
}

/** Parses a marker or message; undefined when absent or malformed. */
export function parseRequest(text: string | null | undefined): CancelRequest | undefined {
  if (!text) return undefined;
  try {
    const parsed = CancelRequestSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
