/**
 * Each trigger's own log lines, kept in Redis (src/protocol/trigger-log.ts) so that its task can read
 * them back (`readTriggerLog`, `status ID --logs`). The lines are the ones the triggerer writes for
 * the trigger, made by a second pino logger with the same redaction, and written in batches: a
 * burst of lines is one round trip, and a slow or absent Redis never holds up a trigger.
 */
import type { RedisClient } from '../redis/connection.js';
import type { Logger } from 'pino';
import { protocolKeys, TRIGGER_LOG_LIMITS } from '../protocol/index.js';
import { createLogger, type LogLevel } from './logger.js';

/** How often buffered lines are written. */
const FLUSH_MS = 250;
/** Lines buffered at most (over every trigger) before new ones are dropped. */
const MAX_BUFFERED = 10_000;

/** Buffers trigger log lines and writes them to Redis, capped and expiring. */
export class TriggerLogStore {
  private buffered = new Map<string, string[]>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Triggers that finished and whose lines are not written yet (they expire later). */
  private finishedIds = new Set<string>();
  private readonly keys;

  constructor(
    /** The connection to write with, once there is one (lines wait in the buffer until then). */
    private readonly redis: () => RedisClient | undefined,
    prefix: string,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.keys = protocolKeys(prefix);
  }

  /** A logger whose lines (JSON, with `triggerId`) go to this store, at `level`. */
  logger(level: LogLevel): Logger {
    return createLogger({ level, pretty: false, destination: { write: (line: string) => this.line(line) } });
  }

  /** Keeps `line` (one JSON log line) for its trigger. */
  line(line: string): void {
    let triggerId: unknown;
    try {
      triggerId = (JSON.parse(line) as { triggerId?: unknown }).triggerId;
    } catch {
      return;
    }
    if (typeof triggerId !== 'string' || this.count >= MAX_BUFFERED) return;
    const text = line.endsWith('\n') ? line.slice(0, -1) : line;
    const bounded =
      text.length <= TRIGGER_LOG_LIMITS.maxLineChars ? text : text.slice(0, TRIGGER_LOG_LIMITS.maxLineChars);
    const lines = this.buffered.get(triggerId) ?? [];
    lines.push(bounded);
    this.buffered.set(triggerId, lines);
    this.count += 1;
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** The trigger finished: its lines are kept for `keepAfterMs` from now. */
  finished(triggerId: string): void {
    // A line written after this (by the same flush or a later one) keeps the longer expiry too.
    if (this.finishedIds.size < MAX_BUFFERED) this.finishedIds.add(triggerId);
    void this.flush().then(() =>
      this.connection()
        ?.pexpire(this.keys.triggerLog(triggerId), TRIGGER_LOG_LIMITS.keepAfterMs)
        .catch((error: unknown) => this.onError(error)),
    );
  }

  /** The connection, or undefined while there is none (or none any more: never a throw). */
  private connection(): RedisClient | undefined {
    try {
      return this.redis();
    } catch {
      return undefined;
    }
  }

  /** Writes what is buffered: per trigger, append, cap and set its expiry, in one round trip. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const redis = this.connection();
    if (redis === undefined) {
      if (this.count > 0) this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      return this.writing;
    }
    const batch = this.buffered;
    this.buffered = new Map();
    this.count = 0;
    if (batch.size === 0) return this.writing;
    const pipeline = redis.pipeline();
    for (const [triggerId, lines] of batch) {
      const key = this.keys.triggerLog(triggerId);
      pipeline.rpush(key, ...lines);
      pipeline.ltrim(key, -TRIGGER_LOG_LIMITS.maxLines, -1);
      const finished = this.finishedIds.delete(triggerId);
      pipeline.pexpire(
        key,
        finished ? TRIGGER_LOG_LIMITS.keepAfterMs : TRIGGER_LOG_LIMITS.keepWhileRunningMs,
      );
    }
    this.writing = this.writing.then(() =>
      pipeline.exec().then(
        () => undefined,
        (error: unknown) => this.onError(error),
      ),
    );
    return this.writing;
  }

  /** Writes what is left (what cannot be written, with no connection, is dropped). */
  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
