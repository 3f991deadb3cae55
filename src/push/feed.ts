/**
 * The push feed of one endpoint: its listener's log followed through supervisord's
 * `GET /logtail/<listener>/stderr` (the same connection, auth and SSH tunnel as the polls), one
 * {@link PushedChange} per state line. A hint, never the truth: the poll it wakes reads the state.
 */
import { Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import type { SupervisorClient } from '../supervisor/client.js';
import { lineSplitter, parseListenerLine, type PushedChange } from './lines.js';

/** Options of {@link pushedChanges}. */
export interface PushFeedOptions {
  /** The endpoint's client now (it is replaced when the endpoint is reloaded). */
  client: () => SupervisorClient;
  /** The listener's process name. */
  listener: string;
  logger?: Logger;
  /**
   * Silence after which the stream counts as dead and is opened again (the listener writes a wake
   * line several times a second, so a stream this quiet is a dead connection). @default 10000
   */
  staleMs?: number;
  /** Longest wait before opening the stream again after it failed (it doubles from 100 ms). @default 5000 */
  maxRetryMs?: number;
}

/** A stream still bringing lines this long after it opened is a success: the next failure retries at once. */
const HEALTHY_MS = 5000;
/** ... lines no older than this. */
const HEALTHY_DATA_MS = 2000;

/**
 * The changes pushed by an endpoint's listener while subscribed: opens the stream, reopens it when
 * it ends, fails or goes quiet (with backoff), closes it on unsubscribe. Never errors: a feed that
 * cannot be opened costs its watchers their push, not their polls. Each (re)opened stream first
 * replays the end of the log: those lines are news of the past, one spare poll each burst.
 */
export function pushedChanges(options: PushFeedOptions): Observable<PushedChange> {
  const staleMs = options.staleMs ?? 10_000;
  const maxRetryMs = options.maxRetryMs ?? 5000;
  return new Observable<PushedChange>((subscriber) => {
    let closed = false;
    let stream: Readable | undefined;
    let retry: NodeJS.Timeout | undefined;
    let stale: NodeJS.Timeout | undefined;
    let healthy: NodeJS.Timeout | undefined;
    let failures = 0;
    let failing = false;

    const again = (reason: string) => {
      stream = undefined;
      clearTimeout(stale);
      clearTimeout(healthy);
      if (closed) return;
      failures += 1;
      const delay = Math.min(maxRetryMs, 100 * 2 ** Math.min(failures - 1, 16));
      // Once per outage: a listener that is down makes every stream go quiet, again and again.
      if (!failing) options.logger?.warn({ listener: options.listener, reason }, 'push feed lost; reopening');
      failing = true;
      retry = setTimeout(open, delay);
    };

    const open = () => {
      if (closed) return;
      options
        .client()
        .followProcessLog(options.listener, 'stderr')
        .then(
          (response) => {
            if (closed) {
              response.destroy();
              return;
            }
            stream = response;
            let lastData = 0;
            const quiet = () => {
              clearTimeout(stale);
              stale = setTimeout(() => response.destroy(new Error(`no line for ${staleMs} ms`)), staleMs);
            };
            quiet();
            // Healthy once it still brings lines a while after opening (the end of the log that every
            // stream replays first says nothing about the listener being alive).
            healthy = setTimeout(() => {
              if (Date.now() - lastData > HEALTHY_DATA_MS) return;
              if (failing) options.logger?.info({ listener: options.listener }, 'push feed reopened');
              failing = false;
              failures = 0;
            }, HEALTHY_MS);
            const split = lineSplitter((line) => {
              const change = parseListenerLine(line);
              if (change !== undefined) subscriber.next(change);
            });
            response.on('data', (chunk: Buffer) => {
              lastData = Date.now();
              quiet();
              split(chunk);
            });
            let ended = false;
            const end = (reason: string) => {
              if (ended) return;
              ended = true;
              again(reason);
            };
            response.on('end', () => end('the stream ended'));
            response.on('error', (error: Error) => end(error.message));
            response.on('close', () => end('the stream closed'));
          },
          (error: unknown) => again(error instanceof Error ? error.message : String(error)),
        );
    };

    open();
    return () => {
      closed = true;
      clearTimeout(retry);
      clearTimeout(stale);
      clearTimeout(healthy);
      stream?.destroy();
    };
  });
}
